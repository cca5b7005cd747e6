//! The `http` source: trainyard's own protocol (docs/protocol.md).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::http_doc::{Entry, key_of, known_cells, metric_names, parse_doc};
use super::http_kept::{Kept, Refused};
use super::retry_after::RetryAfter;
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, NameMap, Source};
use crate::config::SourceConfig;
use crate::model::text::sanitize;
use crate::model::{
    Approval, Batch, Cell, CellState, Check, CheckState, History, HistoryEntry, Metric, Threshold,
    Timestamp,
};
use crate::secrets::{self, Secret};

const MAX_TEXT: usize = 200;

pub struct HttpSource {
    name: String,
    base: String,
    interval: Duration,
    timeout: Duration,
    token: Option<Secret>,
    names: NameMap,
    /// Whether the payload's metrics are taken (`metrics = false` leaves them out).
    metrics: bool,
    client: reqwest::Client,
    /// A 429 or 503 with `retry-after`: nothing is sent before it has passed.
    retry: RetryAfter,
    /// The last train, its cursor and ETag. Locked for a whole poll: one poll at a time
    /// (the poller's and an action's verification may ask together).
    kept: tokio::sync::Mutex<Kept>,
    /// The server refused the query the extensions add (`400` to `?since=` or
    /// `?metrics=false`): it is asked without them from then on.
    plain: std::sync::atomic::AtomicBool,
}

/// What one request for the train came to.
enum Got {
    /// The answer was taken into what is kept (or it was a 304).
    Taken,
    /// A delta that did not follow the kept train: ask again for the whole one.
    Resync(String),
    /// The server refused the extensions' query with 400: ask again without it.
    Plain,
}

impl HttpSource {
    pub fn new(cfg: &SourceConfig, token: Option<Secret>, names: NameMap) -> Result<Self, String> {
        let client = super::client::build(cfg)?;
        Ok(HttpSource {
            name: cfg.name.clone(),
            base: cfg.url.trim_end_matches('/').to_string(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            token,
            names,
            metrics: cfg.metrics,
            client,
            retry: RetryAfter::new(),
            kept: tokio::sync::Mutex::new(Kept::default()),
            plain: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t.expose());
        }
        rb
    }

    /// One poll: the train, asked for what changed since the kept one (docs/protocol.md,
    /// "Paying for change only"), merged into it; reported whole, or with `changes` what
    /// changed since the last such report (`Kept::changes`).
    async fn fetch(&self, changes: bool) -> Result<Batch, String> {
        if let Some(refused) = self.retry.refusal("the source") {
            return Err(refused);
        }
        let mut kept = self.kept.lock().await;
        let mut got = self.fetch_into(&mut kept).await;
        if matches!(got, Ok(Got::Plain)) {
            got = self.fetch_into(&mut kept).await;
        }
        if let Ok(Got::Resync(why)) = &got {
            tracing::info!("source {}: {why}: asking for the whole train", self.name);
            kept.forget();
            got = self.fetch_into(&mut kept).await;
        }
        match got? {
            Got::Taken if changes => Ok(kept.changes()),
            Got::Taken => Ok(kept.whole()),
            Got::Resync(why) => Err(format!("GET /v1/train: {why}")),
            Got::Plain => Err("GET /v1/train: HTTP 400 Bad Request".to_string()),
        }
    }

    /// The path and query of the next request: the cursor to merge a delta into, and
    /// `metrics=false` when the payload's metrics are left out anyway.
    fn train_path(&self, kept: &Kept) -> (String, bool) {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut extended = false;
        if !self.plain.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(cursor) = kept.since() {
                query.append_pair("since", cursor);
                extended = true;
            }
            if !self.metrics {
                query.append_pair("metrics", "false");
                extended = true;
            }
        }
        let query = query.finish();
        if query.is_empty() {
            ("/v1/train".to_string(), false)
        } else {
            (format!("/v1/train?{query}"), extended)
        }
    }

    async fn fetch_into(&self, kept: &mut Kept) -> Result<Got, String> {
        let (path, extended) = self.train_path(kept);
        let sent_since = kept.since().map(str::to_string);
        let mut rb = self.request(reqwest::Method::GET, &path);
        if let Some(tag) = kept.if_none_match() {
            rb = rb.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        let resp = rb.send().await.map_err(|e| describe_reqwest(&e))?;
        let status = resp.status();
        let wait = self.retry.note(status.as_u16(), resp.headers());
        if status == reqwest::StatusCode::NOT_MODIFIED {
            if kept.has_train() {
                return Ok(Got::Taken);
            }
            kept.forget();
            return Err("GET /v1/train: 304 Not Modified with no train kept".to_string());
        }
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = super::client::read_capped(resp).await?;
        if status == reqwest::StatusCode::BAD_REQUEST && extended {
            tracing::info!(
                "source {}: the server refused the protocol's extensions (HTTP 400): asking without them",
                self.name
            );
            self.plain.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(Got::Plain);
        }
        if !status.is_success() {
            let asked = wait
                .map(|w| format!(" (retry-after {}s: not asked again before)", w.as_secs()))
                .unwrap_or_default();
            return Err(format!(
                "GET /v1/train: HTTP {status}{}{asked}",
                error_suffix(&body)
            ));
        }
        let doc = parse_doc(&body).inspect_err(|_| kept.forget())?;
        match kept.take(&doc, etag, sent_since.as_deref(), &self.names, self.metrics) {
            Ok(()) => Ok(Got::Taken),
            Err(Refused::Resync(why)) => Ok(Got::Resync(why)),
            Err(Refused::Broken(why)) => {
                kept.forget();
                Err(why)
            }
        }
    }

    /// The body of `POST /v1/actions` for a request, in the source's own names.
    fn action_body(&self, req: &ActionRequest) -> Result<Value, ActionError> {
        // Not in the protocol: planning refuses it first; never sent should it get here.
        if let Some(why) = super::unsupported("http", req.kind) {
            return Err(ActionError::Unsupported(why));
        }
        let (lane, stage) = self
            .names
            .remote(&req.lane, &req.stage)
            .cloned()
            .ok_or_else(|| {
                ActionError::Failed(format!(
                    "{} {} is not served by source {}",
                    req.lane, req.stage, self.name
                ))
            })?;
        let mut body = serde_json::json!({
            "id": req.id,
            "action": req.kind.as_str(),
            "lane": lane,
            "stage": stage,
            "actor": req.actor,
        });
        if let Some(v) = &req.version {
            body["version"] = Value::String(v.clone());
        }
        if let Some(r) = &req.reason {
            body["reason"] = Value::String(r.clone());
        }
        Ok(body)
    }

    async fn send_action(&self, req: &ActionRequest) -> Result<ActionAck, ActionError> {
        let body = self.action_body(req)?;
        // Nothing was sent: a plain failure, safe to try again later.
        if let Some(refused) = self.retry.refusal("the source") {
            return Err(ActionError::Failed(refused));
        }
        let resp = self
            .request(reqwest::Method::POST, "/v1/actions")
            .json(&body)
            .send()
            .await
            .map_err(|e| send_failure(&e, ActionError::Unanswered, ActionError::Failed))?;
        let status = resp.status();
        self.retry.note(status.as_u16(), resp.headers());
        // The status says what happened; a body cut short only loses the message.
        let bytes = super::client::read_capped(resp).await.unwrap_or_default();
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            let message = json
                .as_ref()
                .and_then(|j| j.get("message"))
                .and_then(Value::as_str)
                .map(|m| sanitize(m, MAX_TEXT))
                .unwrap_or_else(|| format!("accepted ({status})"));
            return Ok(ActionAck { message });
        }
        let err = json.as_ref().and_then(|j| j.get("error"));
        let code = err
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .map(|c| sanitize(c, 40))
            .unwrap_or_else(|| "http".into());
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(|m| sanitize(m, MAX_TEXT))
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(ActionError::Rejected {
            status: status.as_u16(),
            code,
            message,
        })
    }
}

impl Source for HttpSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "http"
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.fetch(false))
    }
    fn poll_changes(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.fetch(true))
    }
    fn held_for(&self) -> Option<Duration> {
        self.retry.waiting()
    }
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(self.send_action(req))
    }
    fn preview(&self, req: &ActionRequest) -> String {
        match self.action_body(req) {
            Ok(body) => format!("POST {}/v1/actions {body}", self.base),
            Err(e) => e.to_string(),
        }
    }
}

/// Whether a request that failed may still have reached the server: anything but a failed
/// connection (or a request that could not be built). A timeout after connecting, a connection
/// closed or reset before the answer: the server may have done the work and the answer was
/// lost. For an action that means "watch the cell", never "nothing was done".
pub fn may_have_arrived(e: &reqwest::Error) -> bool {
    !(e.is_connect() || e.is_builder())
}

/// A request that failed, in words: `unanswered` when it [may have arrived](may_have_arrived),
/// else `failed`.
pub fn send_failure<E>(
    e: &reqwest::Error,
    unanswered: fn(String) -> E,
    failed: fn(String) -> E,
) -> E {
    let words = describe_reqwest(e);
    if may_have_arrived(e) {
        unanswered(words)
    } else {
        failed(words)
    }
}

/// Where a transport error's fix names the source: [`super::Guarded`] puts the name in
/// ("on source gh").
pub const THIS_SOURCE: &str = "on this source";

/// Words for a transport error, without the URL's query or anything secret; certificate
/// problems in plain words with the fix.
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    if let Some(words) = certificate_problem(e) {
        return words;
    }
    let mut detail = String::new();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        // trainyard's own words (a refused redirect) are not cut.
        if let Some(r) = s.downcast_ref::<super::client::RedirectRefused>() {
            return secrets::redact(&r.to_string());
        }
        detail = s.to_string();
        src = s.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect not followed"
    } else if e.is_decode() || e.is_body() {
        "bad response body"
    } else {
        "request failed"
    };
    if detail.is_empty() {
        what.to_string()
    } else {
        // Redacted before it is cut: a secret cut in half would no longer be recognised.
        format!("{what}: {}", sanitize(&secrets::redact(&detail), 160))
    }
}

/// A certificate the TLS layer refused, in words with the fix.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = find_rustls(err) {
            return tls_words(r);
        }
        cur = err.source();
    }
    None
}

/// The rustls error in `err`, looking inside `io::Error`s (whose `source` skips what they
/// wrap), however deep.
fn find_rustls<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(r) = err.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    let inner = err.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls(inner)
}

/// The words for a TLS error that is about the server's certificate.
pub fn tls_words(e: &rustls::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return None;
    };
    let when = |secs: u64| {
        chrono::DateTime::from_timestamp(secs as i64, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| format!("{secs} (unix)"))
    };
    let words = match c {
        C::UnknownIssuer | C::BadSignature => format!(
            "certificate not trusted: the server's certificate is not signed by a CA trainyard \
             trusts (a corporate CA, or a self-signed certificate): set \
             ca_file = \"/path/to/corp-ca.pem\" {THIS_SOURCE}"
        ),
        C::Expired => "certificate expired: the server's certificate has expired: the server \
                       must renew it (or this host's clock is wrong)"
            .to_string(),
        C::ExpiredContext { time, not_after } => format!(
            "certificate expired: the server's certificate expired at {}, it is now {}: the \
             server must renew it (or this host's clock is wrong)",
            when(not_after.as_secs()),
            when(time.as_secs())
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "certificate not valid yet: the server's certificate is not valid yet: check this \
             host's clock"
                .to_string()
        }
        C::NotValidForName => "certificate for another name: the server's certificate is not \
                               for the host name in the source's url: use the name it was issued for"
            .to_string(),
        C::NotValidForNameContext { expected, presented } => format!(
            "certificate for another name: the server's certificate is not for {:?} but for {}: \
             use a name it was issued for in the source's url",
            expected.to_str(),
            if presented.is_empty() {
                "no name at all".to_string()
            } else {
                let names: Vec<&str> = presented
                    .iter()
                    .map(|p| {
                        p.strip_prefix("DnsName(\"")
                            .and_then(|r| r.strip_suffix("\")"))
                            .unwrap_or(p)
                    })
                    .collect();
                sanitize(&names.join(", "), 120)
            }
        ),
        C::Revoked => "certificate revoked: the server's certificate was revoked".to_string(),
        C::Other(o) if o.to_string().contains("CaUsedAsEndEntity") => {
            "certificate not usable: the server presents a CA certificate as its own (a \
             self-signed certificate made with CA:TRUE), which TLS never accepts, even with \
             ca_file: the server needs a certificate signed by that CA"
                .to_string()
        }
        other => format!(
            "certificate refused: {}",
            sanitize(&other.to_string(), 120)
        ),
    };
    Some(words)
}

fn error_suffix(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(|m| format!(": {}", sanitize(m, MAX_TEXT)))
        })
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct WireCell<'a> {
    state: String,
    version: Option<String>,
    progress: Option<f64>,
    updated_at: Option<Timestamp>,
    started_at: Option<Timestamp>,
    url: Option<String>,
    actor: Option<String>,
    message: Option<String>,
    #[serde(default)]
    checks: Vec<WireCheck>,
    approval: Option<WireApproval>,
    /// Read only when it differs from the history the cell had (see [`cell_entry`]).
    #[serde(borrow)]
    history: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct WireCheck {
    name: String,
    state: CheckState,
    url: Option<String>,
}

#[derive(Deserialize)]
struct WireApproval {
    environment: Option<String>,
    #[serde(default)]
    reviewers: Vec<String>,
}

#[derive(Deserialize)]
struct WireHistory {
    version: String,
    state: String,
    at: Option<Timestamp>,
    actor: Option<String>,
}

#[derive(Deserialize)]
struct WireMetric {
    name: String,
    unit: Option<String>,
    value: Option<f64>,
    #[serde(default)]
    threshold: Threshold,
    baseline: Option<f64>,
    #[serde(default)]
    series: Vec<(i64, f64)>,
    #[serde(default)]
    baseline_series: Vec<(i64, f64)>,
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|s| sanitize(&s, MAX_TEXT))
}

fn state(s: &str) -> Result<CellState, String> {
    CellState::parse(s).ok_or_else(|| format!("unknown state {:?}", sanitize(s, 40)))
}

/// A cell's history as the server sent it, known by a hash of its text.
fn history_id(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn to_cell(w: WireCell, kept: Option<(&History, u64)>) -> Result<(Cell, u64), String> {
    let mut cell = Cell::new(String::new(), state(&w.state)?);
    cell.version = text(w.version);
    cell.progress = w
        .progress
        .filter(|p| p.is_finite())
        .map(|p| p.clamp(0.0, 1.0));
    cell.updated_at = w.updated_at;
    cell.started_at = w.started_at;
    cell.url = text(w.url);
    cell.actor = text(w.actor);
    cell.message = text(w.message);
    cell.checks = w
        .checks
        .into_iter()
        .map(|c| Check {
            name: sanitize(&c.name, 80),
            state: c.state,
            url: text(c.url),
        })
        .collect();
    cell.approval = w.approval.map(|a| Approval {
        environment: text(a.environment),
        reviewers: a.reviewers.iter().map(|r| sanitize(r, 60)).collect(),
    });
    cell.warnings = w
        .warnings
        .iter()
        .take(5)
        .map(|m| sanitize(m, MAX_TEXT))
        .collect();
    let raw = w.history.map_or("", |h| h.get());
    let id = history_id(raw);
    cell.history = match kept {
        Some((history, was)) if was == id => history.clone(),
        _ if raw.is_empty() => History::default(),
        _ => serde_json::from_str::<Vec<WireHistory>>(raw)
            .map_err(|e| format!("history: {e}"))?
            .into_iter()
            .map(|h| {
                Ok(HistoryEntry {
                    version: sanitize(&h.version, MAX_TEXT),
                    state: state(&h.state)?,
                    at: h.at,
                    actor: text(h.actor),
                })
            })
            .collect::<Result<_, String>>()?,
    };
    Ok((cell, id))
}

/// One entry of a payload's `cells`: the cell, or the words that mark it malformed; and the
/// id of its history's text. `kept`, the history the cell had and its id: taken as it is when
/// the text is the same (a cell in motion is sent again every second, its history rarely
/// changes), so that it is neither read again nor copied.
pub(crate) fn cell_entry(
    entry: Entry,
    kept: Option<(&History, u64)>,
) -> (Result<Cell, String>, u64) {
    match serde_json::from_str::<WireCell>(entry.get())
        .map_err(|e| e.to_string())
        .and_then(|w| to_cell(w, kept))
    {
        Ok((cell, id)) => (Ok(cell), id),
        Err(e) => (Err(format!("malformed cell: {}", sanitize(&e, 160))), 0),
    }
}

/// One entry of a payload's `metrics`: a malformed one is a metric with an error.
pub(crate) fn metric_entry(entry: Entry) -> Metric {
    match serde_json::from_str::<WireMetric>(entry.get()) {
        Ok(m) => Metric {
            name: sanitize(&m.name, 60).into(),
            unit: m
                .unit
                .map(|u| sanitize(&u, 20))
                .map_or_else(|| "ratio".into(), Into::into),
            value: m.value.filter(|v| v.is_finite()),
            threshold: m.threshold,
            baseline: m.baseline.filter(|v| v.is_finite()),
            baseline_series: m
                .baseline_series
                .into_iter()
                .filter(|(_, v)| v.is_finite())
                .collect(),
            series: m
                .series
                .into_iter()
                .filter(|(_, v)| v.is_finite())
                .collect(),
            source: "".into(),
            error: None,
            warnings: vec![],
        },
        Err(e) => {
            let name = metric_names(entry)
                .and_then(|n| n.2)
                .unwrap_or_else(|| "?".into());
            Metric {
                name: sanitize(&name, 60).into(),
                unit: "ratio".into(),
                value: None,
                threshold: Threshold::default(),
                baseline: None,
                baseline_series: vec![],
                series: vec![],
                source: "".into(),
                error: Some(format!(
                    "malformed metric: {}",
                    sanitize(&e.to_string(), 120)
                )),
                warnings: vec![],
            }
        }
    }
}

/// Parse `GET /v1/train`. A broken document is an error; a broken entry marks its cell.
pub fn parse_train(body: &[u8], names: &NameMap) -> Result<Batch, String> {
    let doc = parse_doc(body)?;
    let cells = doc
        .cells()?
        .ok_or_else(|| "payload has no \"cells\" array".to_string())?;
    let mut batch = Batch::default();
    for (entry, _, key) in known_cells(&cells, names) {
        match cell_entry(entry, None).0 {
            Ok(cell) => batch.cells.push((key.clone(), cell)),
            Err(e) => batch.cell_errors.push((key.clone(), e)),
        }
    }
    for entry in doc.metrics()? {
        let Some((lane, stage)) = key_of(entry) else {
            continue;
        };
        let Some(key) = names.metric_cell(&lane, &stage) else {
            continue;
        };
        batch.metrics.push((key, metric_entry(entry)));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CellKey;

    fn names() -> NameMap {
        let mut m = NameMap::default();
        m.insert(CellKey::new("api", "canary"), "api".into(), "canary".into());
        m.insert(
            CellKey::new("api", "prod"),
            "api-remote".into(),
            "production".into(),
        );
        m
    }

    #[test]
    fn parses_cells_and_remaps_names() {
        let body = br#"{"protocol":1,"cells":[
            {"lane":"api","stage":"canary","state":"running","version":"abc","progress":0.5,
             "updated_at":"2026-11-26T14:00:00Z","checks":[{"name":"e2e","state":"failed"}],
             "history":[{"version":"old","state":"succeeded"}],"extra":"ignored",
             "warnings":["auto sync is on\u001b[31m"]},
            {"lane":"api-remote","stage":"production","state":"awaiting_approval",
             "approval":{"environment":"production","reviewers":["octocat"]}},
            {"lane":"other","stage":"canary","state":"running"}],
            "metrics":[{"lane":"api","stage":"canary","name":"error_rate","value":0.02,"threshold":{"max":0.01},"series":[[1,0.01],[2,0.02]]}]}"#;
        let b = parse_train(body, &names()).unwrap();
        assert_eq!(b.cells.len(), 2);
        let (k, c) = &b.cells[0];
        assert_eq!(k, &CellKey::new("api", "canary"));
        assert_eq!(c.state, CellState::Running);
        assert_eq!(c.progress, Some(0.5));
        assert_eq!(c.checks[0].state, CheckState::Failed);
        assert_eq!(c.history[0].version, "old");
        assert_eq!(c.warnings, ["auto sync is on"]);
        assert_eq!(b.cells[1].0, CellKey::new("api", "prod"));
        assert_eq!(
            b.cells[1].1.approval.as_ref().unwrap().reviewers,
            ["octocat"]
        );
        assert_eq!(b.metrics[0].1.value, Some(0.02));
        assert!(!b.metrics[0].1.ok());
    }

    #[test]
    fn a_bad_entry_marks_only_its_cell() {
        let body = br#"{"cells":[
            {"lane":"api","stage":"canary","state":"exploded"},
            {"lane":"api-remote","stage":"production","state":"succeeded","progress":"half"}]}"#;
        let b = parse_train(body, &names()).unwrap();
        assert!(b.cells.is_empty());
        assert_eq!(b.cell_errors.len(), 2);
        assert!(
            b.cell_errors[0].1.contains("unknown state \"exploded\""),
            "{}",
            b.cell_errors[0].1
        );
        assert!(
            b.cell_errors[1].1.contains("malformed cell"),
            "{}",
            b.cell_errors[1].1
        );
    }

    #[test]
    fn a_broken_document_is_an_error() {
        assert!(
            parse_train(b"<html>", &names())
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            parse_train(b"{\"cells\":3}", &names())
                .unwrap_err()
                .contains("cells")
        );
    }

    #[test]
    fn certificate_errors_in_words() {
        use rustls::CertificateError as C;
        let words = |c: C| tls_words(&rustls::Error::InvalidCertificate(c)).unwrap();
        let w = words(C::UnknownIssuer);
        assert!(
            w.starts_with("certificate not trusted: ")
                && w.ends_with("set ca_file = \"/path/to/corp-ca.pem\" on this source"),
            "{w}"
        );
        let w = words(C::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                1_700_000_000,
            )),
        });
        assert!(
            w.contains("expired at 2023-11-14T22:13:20Z, it is now 2027-01-15T08:00:00Z"),
            "{w}"
        );
        let w = words(C::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("deploy.corp")
                .unwrap()
                .to_owned(),
            presented: vec!["DnsName(\"a.corp\")".into(), "DnsName(\"b.corp\")".into()],
        });
        assert!(
            w.contains("not for \"deploy.corp\" but for a.corp, b.corp"),
            "{w}"
        );
        #[derive(Debug)]
        struct CaUsedAsEndEntity;
        impl std::fmt::Display for CaUsedAsEndEntity {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("CaUsedAsEndEntity")
            }
        }
        impl std::error::Error for CaUsedAsEndEntity {}
        let w = words(C::Other(rustls::OtherError(std::sync::Arc::new(
            CaUsedAsEndEntity,
        ))));
        assert!(w.starts_with("certificate not usable: "), "{w}");
        assert_eq!(tls_words(&rustls::Error::DecryptError), None);
    }

    #[test]
    fn hostile_strings_are_sanitized() {
        let body = "{\"cells\":[{\"lane\":\"api\",\"stage\":\"canary\",\"state\":\"failed\",\
            \"message\":\"boom\\u001b[2J\\u001b]0;pwned\\u0007 now\",\"version\":\"v\\u0000\\u009b1\"}]}";
        let b = parse_train(body.as_bytes(), &names()).unwrap();
        assert_eq!(b.cells[0].1.message.as_deref(), Some("boom␛ now"));
        assert_eq!(b.cells[0].1.version.as_deref(), Some("v�␛"));
    }
}
