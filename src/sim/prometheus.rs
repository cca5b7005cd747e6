//! The Prometheus face of the simulator: the scenario's metric series as a scrape target
//! (`GET /metrics`, text exposition format 0.0.4) and as a query API (`/api/v1/query`,
//! `/api/v1/query_range`, GET or form POST) with Prometheus' envelopes.
//!
//! Series: `trainyard_sim_error_rate`, `trainyard_sim_latency_p99_seconds` and
//! `trainyard_sim_saturation_ratio`, labelled `lane`, `stage` (staging, canary, prod) and `side`:
//! `canary` is the version deployed at the stage (every stage has it), `stable` the baseline a
//! canary is compared with (at canary only; it is prod's series). The numbers are those of
//! `/v1/train`'s `metrics`.
//!
//! PromQL subset: one vector selector, a metric name and/or a brace list of label matchers
//! with `=` or `!=` (`foo{lane="a",side!="stable"}`, `{__name__="foo"}`). A label a matcher
//! names but a series lacks counts as empty, as in Prometheus. Anything else is `bad_data`.
//! Evaluation at time `t` takes the last sample at or before `t`, within 5 minutes (Prometheus'
//! default lookback).
//!
//! A test knob: `POST /api/v1/_sim/fail` with `type=execution|timeout` (and `count=N`, default
//! 1; `count=0` clears) makes the next N queries fail with that envelope (422 or 503).
//! `GET /api/v1/_sim/requests` counts the queries answered: `{"query", "query_range",
//! "total"}`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::scenario::MetricSeries;
use super::server::{Inner, Shared};

/// The simulator's metric names (as in `/v1/train`), their Prometheus names and help texts.
const NAMES: [(&str, &str, &str); 3] = [
    (
        "error_rate",
        "trainyard_sim_error_rate",
        "Ratio of failed requests (0..1) of a lane at a stage; side=\"stable\" is a canary's baseline.",
    ),
    (
        "latency_p99",
        "trainyard_sim_latency_p99_seconds",
        "99th percentile request latency in seconds of a lane at a stage; side=\"stable\" is a canary's baseline.",
    ),
    (
        "saturation",
        "trainyard_sim_saturation_ratio",
        "Saturation (0..1) of a lane at a stage; side=\"stable\" is a canary's baseline.",
    ),
];

/// Prometheus' default lookback delta: an instant value is the last sample within it.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;
/// Prometheus' limit on points per series of a range query.
const MAX_POINTS: i64 = 11_000;

/// The Prometheus name and help text of a metric of `/v1/train`.
pub(crate) fn prom_name(name: &str) -> Option<(&'static str, &'static str)> {
    NAMES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, p, h)| (p, h))
}

/// The labels of a series, `__name__` first. Borrowed: a query looks at every series.
fn labels<'a>(s: &MetricSeries<'a>) -> Option<[(&'static str, &'a str); 4]> {
    let (name, _) = prom_name(s.name)?;
    Some([
        ("__name__", name),
        ("lane", s.lane),
        ("stage", s.stage),
        ("side", if s.stable { "stable" } else { "canary" }),
    ])
}

/// A sample value as Prometheus writes it (Go's shortest `'f'` formatting, `NaN`, `±Inf`).
pub(crate) fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// A label value escaped for the text exposition format: `\`, `"` and newline.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A `# HELP` text escaped: `\` and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The current value of every series in the text exposition format (version 0.0.4): one
/// `# HELP` and `# TYPE … gauge` per metric, then its samples, without timestamps.
pub(crate) fn exposition(series: &[MetricSeries<'_>]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for s in series {
        let Some((name, help)) = prom_name(s.name) else {
            continue;
        };
        let Some(&(_, v)) = s.points.back() else {
            continue;
        };
        if current != Some(name) {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
            let _ = writeln!(out, "# TYPE {name} gauge");
            current = Some(name);
        }
        let _ = writeln!(
            out,
            "{name}{{lane=\"{}\",stage=\"{}\",side=\"{}\"}} {}",
            escape_label(s.lane),
            escape_label(s.stage),
            if s.stable { "stable" } else { "canary" },
            fmt_value(v)
        );
    }
    out
}

// ------------------------------------------------------------------ the selector

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MatchOp {
    Eq,
    Ne,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// A vector selector: the metric name, if written before the braces, and the matchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Selector {
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// Whether a series with these labels is selected (a missing label is empty).
    pub(crate) fn matches(&self, labels: &[(&str, &str)]) -> bool {
        let get = |k: &str| labels.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| *v);
        if let Some(name) = &self.name
            && get("__name__") != name
        {
            return false;
        }
        self.matchers.iter().all(|m| match m.op {
            MatchOp::Eq => get(&m.name) == m.value,
            MatchOp::Ne => get(&m.name) != m.value,
        })
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// `line:col: parse error: msg`, as Prometheus words it (1-based, in characters).
    fn err_at(&self, at: usize, msg: impl std::fmt::Display) -> String {
        let before = &self.src[..at];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{line}:{col}: parse error: {msg}")
    }

    fn err(&self, msg: impl std::fmt::Display) -> String {
        self.err_at(self.pos, msg)
    }

    fn unexpected(&self, context: &str) -> String {
        match self.peek() {
            None => self.err(format!("unexpected end of input{context}")),
            Some(c) => self.err(format!("unexpected character{context}: {c:?}")),
        }
    }

    fn ident(&mut self, metric: bool) -> Option<String> {
        let start = self.pos;
        let first = |c: char| c.is_ascii_alphabetic() || c == '_' || (metric && c == ':');
        let rest = |c: char| c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':');
        if !self.peek().is_some_and(first) {
            return None;
        }
        while self.peek().is_some_and(rest) {
            self.bump();
        }
        Some(self.src[start..self.pos].to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        let quote = match self.peek() {
            Some(q @ ('"' | '\'' | '`')) => q,
            _ => return Err(self.unexpected(" in label matching, expected string")),
        };
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') if quote != '`' => {
                    return Err(self.err_at(start, "unterminated quoted string"));
                }
                None => return Err(self.err_at(start, "unterminated raw string")),
                Some(c) if c == quote => return Ok(out),
                Some('\\') if quote != '`' => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some(c @ ('\\' | '"' | '\'')) => out.push(c),
                    Some(c) => {
                        return Err(self.err(format!("unknown escape sequence {c:?}")));
                    }
                    None => return Err(self.err_at(start, "unterminated quoted string")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn matchers(&mut self) -> Result<Vec<Matcher>, String> {
        // After '{'.
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(out);
            }
            let Some(name) = self.ident(false) else {
                return Err(self.unexpected(" inside braces"));
            };
            self.skip_ws();
            let op_at = self.pos;
            let op = match (self.bump(), self.peek()) {
                (Some('='), Some('~')) | (Some('!'), Some('~')) => {
                    return Err(self.err(
                        "regular expression matchers (=~, !~) are not supported by the simulator",
                    ));
                }
                (Some('='), _) => MatchOp::Eq,
                (Some('!'), Some('=')) => {
                    self.bump();
                    MatchOp::Ne
                }
                _ => {
                    self.pos = op_at;
                    return Err(
                        self.unexpected(" in label matching, expected label matching operator")
                    );
                }
            };
            self.skip_ws();
            let value = self.string()?;
            out.push(Matcher { name, op, value });
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {}
                _ => return Err(self.unexpected(" in label matching, expected \",\" or \"}\"")),
            }
        }
    }
}

/// Parse the simulator's PromQL subset; the error reads like Prometheus' (`1:5: parse error:
/// …`).
pub(crate) fn parse_selector(src: &str) -> Result<Selector, String> {
    let mut p = Parser { src, pos: 0 };
    p.skip_ws();
    if p.peek().is_none() {
        return Err(p.err("no expression found in input"));
    }
    let name = p.ident(true);
    p.skip_ws();
    let matchers = if p.peek() == Some('{') {
        p.bump();
        p.matchers()?
    } else {
        Vec::new()
    };
    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.unexpected(""));
    }
    if name.is_some() && matchers.iter().any(|m| &*m.name == "__name__") {
        return Err(p.err_at(0, "metric name must not be set twice"));
    }
    let names_a_metric = name.is_some()
        || matchers
            .iter()
            .any(|m| m.op == MatchOp::Eq && !m.value.is_empty());
    if !names_a_metric {
        return Err(p.err_at(
            0,
            "vector selector must contain at least one non-empty matcher",
        ));
    }
    Ok(Selector { name, matchers })
}

// ------------------------------------------------------------------ evaluation

/// The value of a series at `t_ms`: the last sample at or before it, within the lookback.
fn sample_at(points: &VecDeque<(i64, f64)>, t_ms: i64) -> Option<f64> {
    points
        .iter()
        .rev()
        .find(|&&(ts, _)| ts.saturating_mul(1000) <= t_ms)
        .filter(|&&(ts, _)| t_ms - ts.saturating_mul(1000) < LOOKBACK_MS)
        .map(|&(_, v)| v)
}

fn secs(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn metric_json(labels: &[(&str, &str)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// An instant query's `data`.
pub(crate) fn instant(series: &[MetricSeries<'_>], sel: &Selector, t_ms: i64) -> Value {
    let mut result = Vec::new();
    for s in series {
        let Some(labels) = labels(s) else { continue };
        if !sel.matches(&labels) {
            continue;
        }
        if let Some(v) = sample_at(s.points, t_ms) {
            result
                .push(json!({"metric": metric_json(&labels), "value": [secs(t_ms), fmt_value(v)]}));
        }
    }
    json!({"resultType": "vector", "result": result})
}

/// A range query's `data`: every series evaluated at `start`, `start + step`, … `end`.
pub(crate) fn range(
    series: &[MetricSeries<'_>],
    sel: &Selector,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
) -> Value {
    let mut result = Vec::new();
    for s in series {
        let Some(labels) = labels(s) else { continue };
        if !sel.matches(&labels) {
            continue;
        }
        let mut values = Vec::new();
        let mut t = start_ms;
        while t <= end_ms {
            if let Some(v) = sample_at(s.points, t) {
                values.push(json!([secs(t), fmt_value(v)]));
            }
            t += step_ms;
        }
        if !values.is_empty() {
            result.push(json!({"metric": metric_json(&labels), "values": values}));
        }
    }
    json!({"resultType": "matrix", "result": result})
}

// ------------------------------------------------------------------ parameters

/// A timestamp parameter as Prometheus takes it: unix seconds (a float) or RFC 3339; in ms.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return (f.is_finite() && f.abs() < 1e13).then(|| (f * 1000.0).round() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A step parameter: seconds (a float) or a Prometheus duration (`15s`, `1m30s`, `500ms`); in
/// ms.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(f) = s.parse::<f64>() {
        return (f.is_finite() && f.abs() < 1e13).then(|| (f * 1000.0).round() as i64);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(ms)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Request parameters: a form POST body first, then the URL's query string (as Go's
/// `FormValue`).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    fn new(method: &Method, uri: &Uri, body: &[u8]) -> Params {
        let mut all: Vec<(String, String)> = Vec::new();
        if method == Method::POST {
            all.extend(url::form_urlencoded::parse(body).into_owned());
        }
        if let Some(q) = uri.query() {
            all.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        Params(all)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The parameters of a request: its form body (POST) and its query string.
impl<S: Send + Sync> axum::extract::FromRequest<S> for Params {
    type Rejection = axum::extract::rejection::BytesRejection;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Params, Self::Rejection> {
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let body = Bytes::from_request(req, state).await?;
        Ok(Params::new(&method, &uri, &body))
    }
}

// ------------------------------------------------------------------ HTTP

/// The failure the next queries answer with (the test knob), and the queries answered so
/// far (`GET /api/v1/_sim/requests`: what a poll costs a Prometheus).
#[derive(Default)]
pub(crate) struct PromState {
    fail: Option<(Fail, u32)>,
    queries: u64,
    range_queries: u64,
}

#[derive(Clone, Copy)]
enum Fail {
    Execution,
    Timeout,
}

fn prom_error(status: StatusCode, kind: &str, msg: impl Into<String>) -> Response {
    let body = json!({"status": "error", "errorType": kind, "error": msg.into()});
    (status, axum::Json(body)).into_response()
}

fn bad_data(msg: impl Into<String>) -> Response {
    prom_error(StatusCode::BAD_REQUEST, "bad_data", msg)
}

fn success(data: Value) -> Response {
    axum::Json(json!({"status": "success", "data": data})).into_response()
}

fn bad_param(name: &str, value: &str, what: &str) -> String {
    format!("invalid parameter {name:?}: cannot parse {value:?} to a valid {what}")
}

fn selector(params: &Params) -> Result<Selector, String> {
    parse_selector(params.get("query").unwrap_or(""))
        .map_err(|e| format!("invalid parameter \"query\": {e}"))
}

/// `--hostile`: the one query that fails, with an error message that attacks the terminal.
fn hostile_answer(inner: &Inner, params: &Params) -> Option<Response> {
    if !inner.scenario.hostile() {
        return None;
    }
    let msg = super::hostile::prom_error(params.get("query").unwrap_or(""))?;
    Some(prom_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "execution",
        msg,
    ))
}

/// What a query answers: an armed failure first, then the `--hostile` error, else `data` of
/// the scenario as it is now.
fn evaluate(shared: &Shared, params: &Params, data: impl FnOnce(&Inner) -> Value) -> Response {
    let mut inner = shared.lock();
    if let Some(r) = take_failure(&mut inner.prom) {
        return r;
    }
    if let Some(r) = hostile_answer(&inner, params) {
        return r;
    }
    let data = data(&inner);
    answer(&inner, params, data)
}

/// A successful answer; under `--hostile`, with a warning that attacks the terminal.
fn answer(inner: &Inner, params: &Params, data: Value) -> Response {
    if !inner.scenario.hostile() {
        return success(data);
    }
    let warning = super::hostile::prom_warning(params.get("query").unwrap_or(""));
    axum::Json(json!({"status": "success", "data": data, "warnings": [warning]})).into_response()
}

/// Take one armed failure, if any.
fn take_failure(state: &mut PromState) -> Option<Response> {
    let (kind, left) = state.fail.take()?;
    if left > 1 {
        state.fail = Some((kind, left - 1));
    }
    Some(match kind {
        Fail::Execution => prom_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            "query processing would load too many samples into memory in query execution",
        ),
        Fail::Timeout => prom_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "query timed out in expression evaluation",
        ),
    })
}

pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    let text = exposition(&inner.scenario.metric_series());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

pub(crate) async fn query(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    shared.lock().prom.queries += 1;
    let sel = match selector(&params) {
        Ok(s) => s,
        Err(e) => return bad_data(e),
    };
    let at = match params.get("time") {
        None | Some("") => None,
        Some(t) => match parse_time(t) {
            Some(t) => Some(t),
            None => return bad_data(bad_param("time", t, "timestamp")),
        },
    };
    evaluate(&shared, &params, |inner| {
        let t_ms = at.unwrap_or_else(|| inner.scenario.now().timestamp_millis());
        instant(&inner.scenario.metric_series(), &sel, t_ms)
    })
}

pub(crate) async fn query_range(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    shared.lock().prom.range_queries += 1;
    let sel = match selector(&params) {
        Ok(s) => s,
        Err(e) => return bad_data(e),
    };
    let time = |name: &str| {
        let v = params.get(name).unwrap_or("");
        parse_time(v).ok_or_else(|| bad_param(name, v, "timestamp"))
    };
    let (start, end) = match (time("start"), time("end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return bad_data(e),
    };
    if end < start {
        return bad_data("end timestamp must not be before start time");
    }
    let step_s = params.get("step").unwrap_or("");
    let Some(step) = parse_duration(step_s) else {
        return bad_data(bad_param("step", step_s, "duration"));
    };
    if step <= 0 {
        return bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        );
    }
    if (end - start) / step >= MAX_POINTS {
        return bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    evaluate(&shared, &params, |inner| {
        range(&inner.scenario.metric_series(), &sel, start, end, step)
    })
}

/// `POST /api/v1/_sim/fail`: `type=execution|timeout`, `count=N` (default 1, 0 clears).
pub(crate) async fn sim_fail(State(shared): State<Arc<Shared>>, params: Params) -> Response {
    let count = match params.get("count").map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad_data("count must be a non-negative integer"),
    };
    let kind = match params.get("type") {
        Some("execution") => Fail::Execution,
        Some("timeout") => Fail::Timeout,
        other => {
            return bad_data(format!(
                "type must be \"execution\" or \"timeout\", not {:?}",
                other.unwrap_or("")
            ));
        }
    };
    let mut inner = shared.lock();
    inner.prom.fail = (count > 0).then_some((kind, count));
    success(json!({"armed": count}))
}

/// `GET /api/v1/_sim/requests`: the instant and range queries answered so far.
pub(crate) async fn sim_requests(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    let (q, r) = (inner.prom.queries, inner.prom.range_queries);
    axum::Json(json!({"query": q, "query_range": r, "total": q + r})).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn eq(name: &str, value: &str) -> Matcher {
        Matcher {
            name: name.into(),
            op: MatchOp::Eq,
            value: value.into(),
        }
    }

    #[test]
    fn selectors_parse_with_and_without_matchers() {
        assert_eq!(
            parse_selector("trainyard_sim_error_rate").unwrap(),
            Selector {
                name: Some("trainyard_sim_error_rate".into()),
                matchers: vec![],
            }
        );
        assert_eq!(
            parse_selector(
                " trainyard_sim_error_rate { lane = \"payments-api\" , stage='canary',side=\"stable\", } "
            )
            .unwrap(),
            Selector {
                name: Some("trainyard_sim_error_rate".into()),
                matchers: vec![
                    eq("lane", "payments-api"),
                    eq("stage", "canary"),
                    eq("side", "stable")
                ],
            }
        );
        let s = parse_selector(r#"{__name__="x:y", side!="stable", lane="a\"b\\c"}"#).unwrap();
        assert_eq!(s.name, None);
        assert_eq!(s.matchers[0], eq("__name__", "x:y"));
        assert_eq!(s.matchers[1].op, MatchOp::Ne);
        assert_eq!(s.matchers[2], eq("lane", "a\"b\\c"));
        assert_eq!(parse_selector("m{}").unwrap().matchers, vec![]);
        assert_eq!(
            parse_selector("m{lane=`raw\\n`}").unwrap().matchers,
            vec![eq("lane", "raw\\n")]
        );
    }

    #[test]
    fn everything_else_is_a_parse_error_with_a_position() {
        for (q, want) in [
            ("", "1:1: parse error: no expression found in input"),
            ("   ", "1:4: parse error: no expression found in input"),
            ("rate(m[5m])", "1:5: parse error: unexpected character: '('"),
            ("m{lane=~\"a.*\"}", "1:8: parse error: regular expression"),
            ("m{lane=\"a\"", "1:11: parse error: unexpected end of input"),
            (
                "m{lane=\"a}",
                "1:8: parse error: unterminated quoted string",
            ),
            (
                "m{lane}",
                "1:7: parse error: unexpected character in label matching",
            ),
            (
                "m{lane=a}",
                "1:8: parse error: unexpected character in label matching",
            ),
            (
                "m{1=\"a\"}",
                "1:3: parse error: unexpected character inside braces",
            ),
            ("m + 1", "1:3: parse error: unexpected character: '+'"),
            (
                "m{a=\"b\"} x",
                "1:10: parse error: unexpected character: 'x'",
            ),
            ("{}", "1:1: parse error: vector selector must contain"),
            (
                "{lane!=\"a\"}",
                "1:1: parse error: vector selector must contain",
            ),
            (
                "m{__name__=\"n\"}",
                "1:1: parse error: metric name must not be set twice",
            ),
            (
                "m\n{a=\"b\" !}",
                "2:8: parse error: unexpected character in label matching",
            ),
            ("m{a=\"\\q\"}", "parse error: unknown escape sequence"),
        ] {
            let err = parse_selector(q).expect_err(q);
            assert!(err.contains(want), "{q:?}: {err:?} lacks {want:?}");
        }
    }

    #[test]
    fn matching_treats_missing_labels_as_empty() {
        let labels = [("__name__", "m"), ("lane", "a"), ("side", "canary")];
        let yes = |q: &str| parse_selector(q).unwrap().matches(&labels);
        assert!(yes("m"));
        assert!(yes("m{lane=\"a\"}"));
        assert!(yes("{__name__=\"m\",side!=\"stable\"}"));
        assert!(yes("m{stage=\"\"}"));
        assert!(!yes("m{stage!=\"\"}"));
        assert!(!yes("n"));
        assert!(!yes("m{lane=\"b\"}"));
        assert!(!yes("m{side!=\"canary\"}"));
    }

    #[test]
    fn exposition_groups_by_metric_and_escapes_labels() {
        let a: VecDeque<(i64, f64)> = [(100, 0.5), (105, 0.0123)].into();
        let b: VecDeque<(i64, f64)> = [(105, 0.25)].into();
        let empty = VecDeque::new();
        let s = |name, lane, stage, stable, points| MetricSeries {
            name,
            lane,
            stage,
            stable,
            points,
        };
        let series = [
            s("error_rate", "we\"ird\\lane\n", "canary", false, &a),
            s("error_rate", "x", "canary", true, &b),
            s("error_rate", "y", "prod", false, &empty),
            s("latency_p99", "x", "prod", false, &b),
            s("unknown", "x", "prod", false, &b),
        ];
        let text = exposition(&series);
        let expected = "\
# HELP trainyard_sim_error_rate Ratio of failed requests (0..1) of a lane at a stage; side=\"stable\" is a canary's baseline.
# TYPE trainyard_sim_error_rate gauge
trainyard_sim_error_rate{lane=\"we\\\"ird\\\\lane\\n\",stage=\"canary\",side=\"canary\"} 0.0123
trainyard_sim_error_rate{lane=\"x\",stage=\"canary\",side=\"stable\"} 0.25
# HELP trainyard_sim_latency_p99_seconds 99th percentile request latency in seconds of a lane at a stage; side=\"stable\" is a canary's baseline.
# TYPE trainyard_sim_latency_p99_seconds gauge
trainyard_sim_latency_p99_seconds{lane=\"x\",stage=\"prod\",side=\"canary\"} 0.25
";
        assert_eq!(text, expected);
    }

    #[test]
    fn values_and_parameters_as_prometheus_writes_and_reads_them() {
        assert_eq!(fmt_value(0.0123), "0.0123");
        assert_eq!(fmt_value(1.0), "1");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(f64::NAN), "NaN");
        assert_eq!(fmt_value(f64::INFINITY), "+Inf");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-Inf");

        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.25"), Some(1_700_000_000_250));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        for bad in ["", "now", "NaN", "inf", "1e400"] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration("15"), Some(15_000));
        assert_eq!(parse_duration("0.5"), Some(500));
        assert_eq!(parse_duration("15s"), Some(15_000));
        assert_eq!(parse_duration("1m30s"), Some(90_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("1h"), Some(3_600_000));
        for bad in ["", "s", "5x", "1.5m", "m5"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn evaluation_takes_the_last_sample_within_the_lookback() {
        let p: VecDeque<(i64, f64)> = [(100, 1.0), (105, 2.0), (110, 3.0)].into();
        assert_eq!(sample_at(&p, 99_999), None);
        assert_eq!(sample_at(&p, 100_000), Some(1.0));
        assert_eq!(sample_at(&p, 104_999), Some(1.0));
        assert_eq!(sample_at(&p, 107_500), Some(2.0));
        assert_eq!(sample_at(&p, 110_000 + LOOKBACK_MS - 1), Some(3.0));
        assert_eq!(sample_at(&p, 110_000 + LOOKBACK_MS), None);

        let series = [MetricSeries {
            name: "saturation",
            lane: "a",
            stage: "canary",
            stable: false,
            points: &p,
        }];
        let sel = parse_selector("trainyard_sim_saturation_ratio{lane=\"a\"}").unwrap();
        let v = instant(&series, &sel, 106_000);
        assert_eq!(
            v,
            json!({"resultType": "vector", "result": [{
                "metric": {"__name__": "trainyard_sim_saturation_ratio", "lane": "a",
                           "stage": "canary", "side": "canary"},
                "value": [106.0, "2"],
            }]})
        );
        let r = range(&series, &sel, 95_000, 112_500, 2_500);
        assert_eq!(
            r["result"][0]["values"],
            json!([
                [100.0, "1"],
                [102.5, "1"],
                [105.0, "2"],
                [107.5, "2"],
                [110.0, "3"],
                [112.5, "3"]
            ])
        );
        let none = parse_selector("trainyard_sim_saturation_ratio{lane=\"b\"}").unwrap();
        assert_eq!(instant(&series, &none, 106_000)["result"], json!([]));
        assert_eq!(
            range(&series, &none, 95_000, 112_500, 2_500)["result"],
            json!([])
        );
    }
}

/// The Prometheus view of a scenario driven with explicit time.
#[cfg(test)]
mod scenario_tests {
    use std::time::Duration;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::sim::{Scenario, SimOptions};

    #[test]
    fn the_demo_canary_error_rate_climbs_past_stable_and_its_threshold() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-26T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut sc = Scenario::new(&SimOptions::default(), t0, "http://127.0.0.1:9");
        sc.advance(Duration::from_secs(180));
        let now = sc.now().timestamp_millis();
        let series = sc.metric_series();
        let q = "trainyard_sim_error_rate{lane=\"notifications\",stage=\"canary\"}";
        let sel = parse_selector(q).unwrap();
        let m = range(&series, &sel, now - 150_000, now, 5_000);
        let result = m["result"].as_array().unwrap();
        assert_eq!(result.len(), 2);
        let values = |side: &str| -> Vec<f64> {
            let r = result.iter().find(|r| r["metric"]["side"] == side).unwrap();
            r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[1].as_str().unwrap().parse().unwrap())
                .collect()
        };
        let (canary, stable) = (values("canary"), values("stable"));
        assert!(canary.len() >= 20);
        let last = *canary.last().unwrap();
        assert!(last > 0.01, "past the 1% threshold: {canary:?}");
        assert!(last > 2.0 * canary[0], "climbing: {canary:?}");
        assert!(last > 2.0 * stable.last().unwrap(), "{stable:?}");

        // The current values, in /metrics, are those of /v1/train.
        let text = exposition(&series);
        let train = sc.train_json();
        for m in train["metrics"].as_array().unwrap() {
            let (prom, _) = prom_name(m["name"].as_str().unwrap()).unwrap();
            let line = format!(
                "{prom}{{lane=\"{}\",stage=\"{}\",side=\"canary\"}} {}\n",
                m["lane"].as_str().unwrap(),
                m["stage"].as_str().unwrap(),
                fmt_value(m["value"].as_f64().unwrap())
            );
            assert!(text.contains(&line), "{line}");
        }
    }
}
