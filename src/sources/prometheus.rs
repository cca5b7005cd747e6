//! The `prometheus` source: the `[[metrics]]` of the config, measured per lane × stage. The
//! current value comes from `/api/v1/query` (an instant query at the poll's "now"), the series
//! from `/api/v1/query_range` over the metric's window, ending at the same "now"; a baseline
//! (the stable side) is measured as a series too. Prometheus' error envelope becomes the
//! metric's error; its `warnings` are shown with the metric without failing it.
//!
//! A grouped job's range queries ask for the span since the last poll only, merged into the
//! series kept from the polls before (`kept`): a poll every 5 s over a window of 30 points
//! asks for 2 or 3 points a series instead of 31.
//!
//! Every query is a form POST with the source's auth and timeouts. A poll runs its queries
//! concurrently but never more than the source's `max_in_flight` at once, within a time budget that ends
//! before the poller's deadline: a slow Prometheus costs the metrics it could not answer in
//! time (each says so), not the whole poll.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::{OptionFuture, join_all};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::Semaphore;
use tokio::time::Instant;

mod grouped;
mod kept;
mod wire;

use grouped::{Job, Shown, Side, Split};
use kept::{KeptRange, Resumed, Span};
use wire::Keep;

use super::http::describe_reqwest;
use super::retry_after::RetryAfter;
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, SourceConfig};
use crate::model::text::sanitize;
use crate::model::{Batch, CellKey, Metric};
use crate::secrets::Secret;

/// Points of a series, at most.
const POINTS: i64 = 30;
/// The finest step of a series: Prometheus itself rarely scrapes faster.
const MIN_STEP_MS: i64 = 1000;
/// How requests authenticate; `Debug` shows `***` for the secrets ([`Secret`]).
#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
}

/// Why a query has no result.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryError {
    /// Prometheus answered, with its error envelope (`bad_data`, `execution`, `timeout`) or a
    /// result trainyard can't use (several series).
    Answered(String),
    /// No Prometheus answer: the connection failed, timed out, or something else answered
    /// (a proxy's HTML page, a 401).
    Unreached(String),
}

impl QueryError {
    fn text(&self) -> &str {
        match self {
            QueryError::Answered(e) | QueryError::Unreached(e) => e,
        }
    }

    /// The same failure, in other words: Prometheus words one `bad_data` differently for
    /// `query` and `query_range`, so Prometheus' errors compare by their `errorType`.
    fn same_kind(&self, other: &QueryError) -> bool {
        let kind = |e: &str| e.split_once(": ").map_or(e, |(k, _)| k).to_string();
        match (self, other) {
            (QueryError::Answered(a), QueryError::Answered(b)) => kind(a) == kind(b),
            (a, b) => a == b,
        }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// A successful answer: its data and the envelope's `warnings`.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer<T> {
    pub data: T,
    pub warnings: Vec<String>,
}

/// A series, oldest first: (unix seconds, value).
type Series = Vec<(i64, f64)>;
type SeriesResult = Result<Answer<Series>, QueryError>;

/// What one poll shares among its queries: its "now", the in-flight limit and the time budget.
struct PollCtx {
    now_ms: i64,
    permits: Semaphore,
    deadline: Instant,
}

pub struct PrometheusSource {
    name: String,
    base: String,
    interval: Duration,
    timeout: Duration,
    auth: Auth,
    jobs: Vec<Job>,
    max_in_flight: usize,
    client: reqwest::Client,
    /// A 429 or 503 with `retry-after` (the proxy in front of Prometheus): the queries not
    /// yet sent are not sent before it has passed.
    retry: RetryAfter,
    /// The series of each grouped job's range queries (by job and side: stable or not), as
    /// the last poll left them: taken by a poll, given back when it is done with them.
    kept: std::sync::Mutex<std::collections::HashMap<(usize, bool), KeptRange>>,
}

impl PrometheusSource {
    pub fn new(cfg: &SourceConfig, token: Option<Secret>, config: &Config) -> Result<Self, String> {
        let auth = match (super::resolve_basic(cfg)?, token) {
            (Some((user, pass)), _) => Auth::Basic(user, pass),
            (None, Some(t)) => Auth::Bearer(t),
            (None, None) => Auth::None,
        };
        let client = super::client::build(cfg)?;
        let jobs = grouped::jobs(&cfg.name, config);
        Ok(PrometheusSource {
            name: cfg.name.clone(),
            base: cfg.url.trim_end_matches('/').to_string(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            auth,
            jobs,
            max_in_flight: cfg.max_in_flight.max(1),
            client,
            retry: RetryAfter::new(),
            kept: Default::default(),
        })
    }

    /// How long one poll may spend on its queries: it answers before the poller gives up on
    /// it, with what it measured by then.
    fn budget(&self) -> Duration {
        self.deadline().saturating_sub(Duration::from_secs(1))
    }

    /// One form POST to the query API, within the poll's limit and budget.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        p: &PollCtx,
    ) -> Result<(u16, Vec<u8>), QueryError> {
        let late = || {
            QueryError::Unreached(format!(
                "not measured: the poll ran out of time ({} queries at once, {} s)",
                self.max_in_flight,
                self.budget().as_secs()
            ))
        };
        let _permit = tokio::time::timeout_at(p.deadline, p.permits.acquire())
            .await
            .map_err(|_| late())?
            .map_err(|_| late())?;
        if let Some(refused) = self.retry.refusal("Prometheus (or its proxy)") {
            return Err(QueryError::Unreached(refused));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let mut rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        rb = match &self.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t.expose()),
            Auth::Basic(u, p) => rb.basic_auth(u, Some(p.expose())),
        };
        let exchange = async {
            let resp = rb.send().await.map_err(|e| describe_reqwest(&e))?;
            let status = resp.status().as_u16();
            self.retry.note(status, resp.headers());
            let bytes = super::client::read_capped(resp).await?;
            Ok::<_, String>((status, bytes))
        };
        match tokio::time::timeout_at(p.deadline, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(QueryError::Unreached(e)),
            Err(_) => Err(late()),
        }
    }

    /// `query` at the poll's "now": the current value(s), read by `parse`.
    async fn instant<T>(
        &self,
        query: &str,
        p: &PollCtx,
        parse: impl Fn(u16, &[u8]) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let form = [("query", query.to_string()), ("time", secs(p.now_ms))];
        let (status, body) = self.post("/api/v1/query", &form, p).await?;
        parse(status, &body)
    }

    /// `query_range` over the window, ending at the poll's "now" (the newest point is that
    /// instant): the samples, oldest first, read by `parse`.
    async fn range<T>(
        &self,
        query: &str,
        window: Duration,
        p: &PollCtx,
        parse: fn(u16, &[u8]) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let (start, step) = range_params(p.now_ms, window);
        self.range_from(query, start, step, p, parse).await
    }

    /// A grouped `query_range` over the window, asking only for the span since the series
    /// kept for `id` (the job and side): the answer, the span it covers and what was kept
    /// (taken out; [`PrometheusSource::keep`] puts back what the poll makes of it).
    async fn range_since(
        &self,
        id: (usize, bool),
        query: &str,
        window: Duration,
        p: &PollCtx,
        keep: Keep<'_>,
    ) -> (grouped::Grouped<wire::Samples>, Span, Option<KeptRange>) {
        let (window_start, step) = range_params(p.now_ms, window);
        let kept = self.kept.lock().ok().and_then(|mut k| k.remove(&id));
        let resume = kept.as_ref().and_then(|k| k.resume(window_start, step));
        let span = Span {
            start: resume.unwrap_or(window_start),
            end: p.now_ms,
            step,
            window_start,
        };
        let answer = self
            .range_from(query, span.start, step, p, |status, body: &[u8]| {
                grouped::parse_range_all(status, body, keep)
            })
            .await;
        (answer, span, resume.and(kept))
    }

    /// Keep the series a poll made of a range query for the next poll; none after an error.
    fn keep(&self, id: (usize, bool), kept: Option<KeptRange>) {
        if let Ok(mut all) = self.kept.lock()
            && let Some(k) = kept
        {
            all.insert(id, k);
        }
    }

    /// `query_range` from `start` to the poll's "now" every `step` (ms).
    async fn range_from<T>(
        &self,
        query: &str,
        start: i64,
        step: i64,
        p: &PollCtx,
        parse: impl Fn(u16, &[u8]) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let form = [
            ("query", query.to_string()),
            ("start", secs(start)),
            ("end", secs(p.now_ms)),
            ("step", step_text(step)),
        ];
        let (status, body) = self.post("/api/v1/query_range", &form, p).await?;
        parse(status, &body)
    }

    /// One metric of the cells of a job: their current values, their series and the stable
    /// side's, all at once: the same three queries (at most) for one cell or for every cell
    /// of a group. The flag says whether Prometheus answered any of them. `index`: the job's,
    /// for the series kept of it.
    async fn measure(&self, index: usize, job: &Job, p: &PollCtx) -> Vec<(CellKey, Metric, bool)> {
        let m = &job.metric;
        let Some(by) = &m.by else {
            let baseline: OptionFuture<_> = job
                .baseline
                .as_ref()
                .map(|q| self.range(q, m.window, p, parse_range))
                .into();
            let (now, series, stable) = tokio::join!(
                self.instant(&job.query, p, parse_instant),
                self.range(&job.query, m.window, p, parse_range),
                baseline
            );
            let reached = any_answered(&now, &series, stable.as_ref());
            let metric = combine(&job.shown, now, series, stable);
            return job
                .cells
                .iter()
                .map(|k| (k.clone(), metric.clone(), reached))
                .collect();
        };
        // Only the `by` labels of each series are read.
        let labels = grouped::by_labels(by);
        let keep = Keep(&labels);
        let baseline: OptionFuture<_> = job
            .baseline
            .as_ref()
            .map(|q| self.range_since((index, true), q, m.window, p, keep))
            .into();
        let (now, (series, span, kept), stable) = tokio::join!(
            self.instant(&job.query, p, |status, body: &[u8]| {
                grouped::parse_instant_all(status, body, keep)
            }),
            self.range_since((index, false), &job.query, m.window, p, keep),
            baseline
        );
        let reached = any_answered(&now, &series, stable.as_ref().map(|(s, _, _)| s));
        let now = Split::new(&now, by);
        let n = job.cells.len();
        let mut measured = Resumed::new(&series, by, span, kept, n);
        let (stable, stable_kept) = match stable {
            Some((answer, span, kept)) => (Some(answer), Some((span, kept))),
            None => (None, None),
        };
        let mut stable = stable
            .as_ref()
            .zip(stable_kept)
            .map(|(s, (span, kept))| Resumed::new(s, by, span, kept, n));
        let out = job
            .cells
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let metric = combine(
                    &job.shown,
                    now.pick(k, Side::Measured),
                    measured.pick(i, k, Side::Measured),
                    stable.as_mut().map(|s| s.pick(i, k, Side::Stable)),
                );
                (k.clone(), metric, reached)
            })
            .collect();
        self.keep((index, false), measured.done());
        self.keep((index, true), stable.and_then(Resumed::done));
        out
    }

    /// Measure every metric as of `now`.
    pub(crate) async fn measure_at(&self, now: DateTime<Utc>) -> Result<Batch, String> {
        let p = PollCtx {
            now_ms: now.timestamp_millis(),
            permits: Semaphore::new(self.max_in_flight),
            deadline: Instant::now() + self.budget(),
        };
        let measured = self.jobs.iter().enumerate();
        let results: Vec<_> = join_all(measured.map(|(i, j)| self.measure(i, j, &p)))
            .await
            .into_iter()
            .flatten()
            .collect();
        // Not one query reached Prometheus: the source is down (or the token is wrong), and
        // that is the source's error rather than every metric's.
        if !results.iter().any(|(_, _, reached)| *reached)
            && let Some((_, m, _)) = results.first()
        {
            return Err(m.error.clone().unwrap_or_default());
        }
        Ok(Batch {
            metrics: results.into_iter().map(|(k, m, _)| (k, m)).collect(),
            ..Batch::default()
        })
    }
}

/// Whether Prometheus answered any of a job's queries (an error envelope is an answer).
fn any_answered<A, B, C>(
    now: &Result<A, QueryError>,
    series: &Result<B, QueryError>,
    stable: Option<&Result<C, QueryError>>,
) -> bool {
    [now.as_ref().err(), series.as_ref().err()]
        .into_iter()
        .chain(stable.map(|s| s.as_ref().err()))
        .any(|e| !matches!(e, Some(QueryError::Unreached(_))))
}

/// The metric from its three answers. The instant query gives the value; when it failed and
/// the series didn't, the series' newest point stands in, and the metric says so. A failed
/// series or baseline leaves the value standing, with a warning.
fn combine(
    m: &Shown,
    now: Result<Answer<Option<f64>>, QueryError>,
    series: SeriesResult,
    stable: Option<SeriesResult>,
) -> Metric {
    let mut warnings = Vec::new();
    let mut note = |w: String| {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    };
    let (series, series_error) = match series {
        Ok(a) => {
            a.warnings.into_iter().for_each(&mut note);
            (a.data, None)
        }
        Err(e) => (Vec::new(), Some(e)),
    };
    let (value, error) = match now {
        Ok(a) => {
            a.warnings.into_iter().for_each(&mut note);
            if let Some(e) = &series_error {
                note(format!("no series: {e}"));
            }
            (a.data, None)
        }
        Err(e) => match (series.last(), series_error) {
            (Some(&(t, v)), _) => {
                note(format!(
                    "current value failed ({e}); showing the series' newest point, of {}",
                    clock(t)
                ));
                (Some(v), None)
            }
            (None, Some(se)) if !se.same_kind(&e) => (None, Some(format!("{e}; series: {se}"))),
            (None, _) => (None, Some(e.to_string())),
        },
    };
    let baseline_series = match stable {
        None => Vec::new(),
        Some(Ok(a)) => {
            a.warnings.into_iter().for_each(&mut note);
            a.data
        }
        Some(Err(e)) => {
            note(format!("stable side: {e}"));
            Vec::new()
        }
    };
    Metric {
        name: Arc::clone(&m.name),
        unit: Arc::clone(&m.unit),
        value,
        threshold: m.threshold,
        baseline: baseline_series.last().map(|(_, v)| *v),
        baseline_series,
        series,
        source: "".into(),
        error,
        warnings,
    }
}

/// `HH:MM:SS` UTC of a unix time.
fn clock(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map_or_else(|| t.to_string(), |d| d.format("%H:%M:%SZ").to_string())
}

/// Unix seconds with milliseconds, as Prometheus reads times.
fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// A step in seconds: "5", "1.25".
fn step_text(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// The start and step (ms) of a range ending at `end_ms` over `window`: about [`POINTS`]
/// points, a step of at least [`MIN_STEP_MS`], and the start a whole number of steps before
/// the end, so that the newest point is evaluated at the end itself.
pub fn range_params(end_ms: i64, window: Duration) -> (i64, i64) {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 4);
    let step = (window_ms / POINTS).max(MIN_STEP_MS);
    let steps = (window_ms / step).max(1);
    (end_ms - steps * step, step)
}

/// The `data` of a successful envelope, unparsed, and its warnings; or the error in words.
fn envelope(status: u16, body: &[u8]) -> Result<(&RawValue, Vec<String>), QueryError> {
    let not_prometheus =
        || QueryError::Unreached(format!("HTTP {status}: not a Prometheus answer"));
    let v: wire::Envelope = serde_json::from_slice(body).map_err(|_| not_prometheus())?;
    let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_string);
    match v.status.as_ref().and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = text(&v.error_type).unwrap_or_else(|| "error".into());
            let msg = text(&v.error).unwrap_or_else(|| "no message".into());
            return Err(QueryError::Answered(format!(
                "{}: {}",
                sanitize(&kind, 40),
                sanitize(&msg, 200)
            )));
        }
        _ => return Err(not_prometheus()),
    }
    let warnings = warnings(v.warnings.as_ref());
    let data = v
        .data
        .ok_or_else(|| QueryError::Answered("answer without data".into()))?;
    Ok((data, warnings))
}

/// The envelope's `warnings`, in words (the first five).
fn warnings(w: Option<&Value>) -> Vec<String> {
    w.and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(|s| format!("warning: {}", sanitize(s, 200)))
                .take(5)
                .collect()
        })
        .unwrap_or_default()
}

/// The `data` of an answer as a JSON tree, for the answers of one cell (small).
fn tree(data: &RawValue) -> Value {
    serde_json::from_str(data.get()).unwrap_or(Value::Null)
}

fn one_series_error(n: usize) -> QueryError {
    QueryError::Answered(format!(
        "the query returns {n} series; aggregate it to one (sum, max, …)"
    ))
}

/// A sample value as Prometheus writes it: a string; NaN and infinities are no value.
fn sample(p: &Value) -> Option<(i64, f64)> {
    let t = p.get(0)?.as_f64()? as i64;
    let v: f64 = p.get(1)?.as_str()?.parse().ok()?;
    v.is_finite().then_some((t, v))
}

/// A Prometheus answer to `query_range`: the one series' samples, or the error in words.
/// Several series (a query that didn't aggregate) are an error: which one would it be?
pub fn parse_range(status: u16, body: &[u8]) -> Result<Answer<Series>, QueryError> {
    let (data, warnings) = envelope(status, body)?;
    let data = tree(data);
    let result = data
        .get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| QueryError::Answered("answer without data.result".into()))?;
    let data = match result.as_slice() {
        [] => Vec::new(),
        [one] => one
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| QueryError::Answered("series without values".into()))?
            .iter()
            .filter_map(sample)
            .collect(),
        many => return Err(one_series_error(many.len())),
    };
    Ok(Answer { data, warnings })
}

/// A Prometheus answer to an instant `query`: the value of its one sample (none for an empty
/// vector or NaN), or the error in words.
pub fn parse_instant(status: u16, body: &[u8]) -> Result<Answer<Option<f64>>, QueryError> {
    let (data, warnings) = envelope(status, body)?;
    let data = tree(data);
    let result = data.get("result");
    let data = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => match result.and_then(Value::as_array).map(Vec::as_slice) {
            Some([]) => None,
            Some([one]) => one.get("value").and_then(sample).map(|(_, v)| v),
            Some(many) => return Err(one_series_error(many.len())),
            None => return Err(QueryError::Answered("answer without data.result".into())),
        },
        Some("scalar") => result.and_then(sample).map(|(_, v)| v),
        Some(other) => {
            return Err(QueryError::Answered(format!(
                "the query returns a {}, not a number",
                sanitize(other, 20)
            )));
        }
        None => {
            return Err(QueryError::Answered(
                "answer without data.resultType".into(),
            ));
        }
    };
    Ok(Answer { data, warnings })
}

impl Source for PrometheusSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "prometheus"
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    /// The queries share a budget of a second less (see `max_in_flight`).
    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(4) + Duration::from_secs(1)
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.measure_at(Utc::now()))
    }
    fn held_for(&self) -> Option<Duration> {
        self.retry.waiting()
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(async {
            Err(ActionError::Unsupported(
                "prometheus measures; it does not act".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(e: &str) -> QueryError {
        QueryError::Answered(e.into())
    }

    #[test]
    fn parses_a_matrix_and_the_error_envelope() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"0.01"],[1700000030.5,"0.02"],[1700000060,"NaN"]]}]}}"#;
        let a = parse_range(200, ok).unwrap();
        assert_eq!(a.data, vec![(1_700_000_000, 0.01), (1_700_000_030, 0.02)]);
        assert!(a.warnings.is_empty());
        let empty = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(parse_range(200, empty).unwrap().data, vec![]);
        let bad = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \u001b[31m"}"#;
        let e = parse_range(400, bad).unwrap_err();
        assert!(matches!(e, QueryError::Answered(_)), "{e:?}");
        assert!(
            e.text().starts_with("bad_data: 1:5: parse error") && !e.text().contains('\u{1b}'),
            "{e}"
        );
        let two = br#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[]},{"values":[]}]}}"#;
        assert!(
            parse_range(200, two)
                .unwrap_err()
                .text()
                .contains("2 series")
        );
        let html = parse_range(502, b"<html>").unwrap_err();
        assert_eq!(
            html,
            QueryError::Unreached("HTTP 502: not a Prometheus answer".into())
        );
        // JSON, but not Prometheus' (a proxy's error): not an answer either.
        assert!(matches!(
            parse_range(401, br#"{"message":"unauthorized"}"#),
            Err(QueryError::Unreached(_))
        ));
    }

    #[test]
    fn parses_instant_vectors_scalars_and_warnings() {
        let one = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"x"},"value":[1700000000.123,"0.0125"]}]},"warnings":["remote read failed: \u001b[2J connection refused"]}"#;
        let a = parse_instant(200, one).unwrap();
        assert_eq!(a.data, Some(0.0125));
        assert_eq!(
            a.warnings,
            vec!["warning: remote read failed: ␛ connection refused".to_string()]
        );
        let none = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_instant(200, none).unwrap().data, None);
        let nan = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
        assert_eq!(parse_instant(200, nan).unwrap().data, None);
        let scalar =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}"#;
        assert_eq!(parse_instant(200, scalar).unwrap().data, Some(3.0));
        let many = br#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]},{"value":[1,"3"]}]}}"#;
        assert_eq!(
            parse_instant(200, many).unwrap_err(),
            answered("the query returns 3 series; aggregate it to one (sum, max, …)")
        );
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(
            parse_instant(200, matrix).unwrap_err(),
            answered("the query returns a matrix, not a number")
        );
        let timeout = br#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
        assert_eq!(
            parse_instant(503, timeout).unwrap_err(),
            answered("timeout: query timed out in expression evaluation")
        );
        // Warnings come with a range answer too.
        let warned = br#"{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["a","b"]}"#;
        assert_eq!(
            parse_range(200, warned).unwrap().warnings,
            ["warning: a", "warning: b"]
        );
    }

    #[test]
    fn ranges_end_at_now_in_whole_steps() {
        let end = 1_700_000_000_123;
        for (window_ms, back_ms, step_ms) in [
            // 10 minutes: 30 points of 20 s.
            (600_000, 600_000, 20_000),
            // 37.5 s (the demo at speed 4): 30 points of 1.25 s.
            (37_500, 37_500, 1_250),
            // Short windows: steps of a second at least.
            (10_000, 10_000, 1_000),
            // A window that is no whole number of steps starts at the last whole one.
            (61_000, 60_990, 2_033),
        ] {
            assert_eq!(
                range_params(end, Duration::from_millis(window_ms)),
                (end - back_ms, step_ms),
                "{window_ms} ms"
            );
        }
        assert_eq!(secs(end), "1700000000.123");
        assert_eq!(secs(5), "0.005");
        assert_eq!(step_text(1_250), "1.25");
        assert_eq!(step_text(20_000), "20");
    }

    fn config() -> crate::config::MetricConfig {
        crate::config::MetricConfig {
            name: "error_rate".into(),
            source: "prom".into(),
            query: "q".into(),
            baseline: Some("b".into()),
            unit: "ratio".into(),
            threshold: crate::model::Threshold {
                min: None,
                max: Some(0.01),
            },
            window: Duration::from_secs(60),
            stages: vec!["canary".into()],
            by: None,
        }
    }

    fn ok<T>(data: T, warnings: &[&str]) -> Result<Answer<T>, QueryError> {
        Ok(Answer {
            data,
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        })
    }

    #[test]
    fn the_value_comes_from_the_instant_query_and_failures_say_what_is_missing() {
        let m = Shown::from(&config());
        let series = vec![(1_700_000_000, 0.004), (1_700_000_005, 0.006)];
        // All well: the instant value, not the series' last point; warnings once each.
        let x = combine(
            &m,
            ok(Some(0.007), &["warning: w"]),
            ok(series.clone(), &["warning: w"]),
            Some(ok(vec![(1_700_000_005, 0.002)], &["warning: s"])),
        );
        assert_eq!(x.value, Some(0.007));
        assert_eq!(x.series, series);
        assert_eq!(x.baseline, Some(0.002));
        assert_eq!(x.warnings, ["warning: w", "warning: s"]);
        assert!(x.error.is_none() && x.ok());

        // The instant query failed, the series worked: the newest point stands in, and
        // the metric says so without failing.
        let exec = answered("execution: too many samples");
        let x = combine(&m, Err(exec.clone()), ok(series.clone(), &[]), None);
        assert_eq!(x.value, Some(0.006));
        assert!(x.error.is_none());
        assert_eq!(
            x.warnings,
            [
                "current value failed (execution: too many samples); showing the series' newest point, of 22:13:25Z"
            ]
        );

        // Both failed: the error, once when it's the same kind (Prometheus words a bad_data
        // differently for the two endpoints).
        let x = combine(&m, Err(exec.clone()), Err(exec.clone()), None);
        assert_eq!(x.error.as_deref(), Some("execution: too many samples"));
        let x = combine(
            &m,
            Err(answered(
                "bad_data: invalid parameter \"query\": 1:5: parse error",
            )),
            Err(answered("bad_data: 1:5: parse error")),
            None,
        );
        assert_eq!(
            x.error.as_deref(),
            Some("bad_data: invalid parameter \"query\": 1:5: parse error")
        );
        assert_eq!(x.value, None);
        let x = combine(
            &m,
            Err(exec.clone()),
            Err(answered("timeout: query timed out")),
            None,
        );
        assert_eq!(
            x.error.as_deref(),
            Some("execution: too many samples; series: timeout: query timed out")
        );
        // The instant query failed and the series is empty: no value to stand in.
        let x = combine(&m, Err(exec), ok(vec![], &[]), None);
        assert_eq!(x.error.as_deref(), Some("execution: too many samples"));

        // The value came, the series and the stable side didn't: warnings.
        let x = combine(
            &m,
            ok(Some(0.003), &[]),
            Err(answered("timeout: t")),
            Some(Err(QueryError::Unreached("connection refused".into()))),
        );
        assert_eq!(x.value, Some(0.003));
        assert!(x.ok());
        assert_eq!(
            x.warnings,
            ["no series: timeout: t", "stable side: connection refused"]
        );
        assert!(x.baseline.is_none() && x.baseline_series.is_empty());
    }
}
