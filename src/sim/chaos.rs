//! Fault injection (`--chaos SPEC`): the simulator misbehaves the way real servers, proxies and
//! networks do, on every API it serves (trainyard's `http` protocol under `/v1` and `/runs`,
//! the GitHub subset under `/api/v3`, the Prometheus subset under `/api/v1` and `/metrics`,
//! the GitLab subset under `/gitlab/api/v4`).
//!
//! A spec is a comma-separated list of `fault=value` (docs/chaos.md):
//!
//! | fault | value | what a request gets |
//! | --- | --- | --- |
//! | `latency` | duration | a delay before anything, ±50 % jitter |
//! | `hang` | share | never an answer (the connection closes when the fault ends) |
//! | `ratelimit` | share | a 429 with `retry-after` that starts a storm: every request to that API is refused until it is over (GitHub: 429, a secondary-limit 403, or an exhausted budget) |
//! | `errors` | share | a 500 or a 503 in the API's own error shape (or a proxy's HTML page) |
//! | `drop` | share | the request is handled, then the connection closed (FIN or RST) without a byte of answer |
//! | `malformed` | share | a broken body: JSON cut in half, the right fields with the wrong types, or a proxy's HTML page |
//! | `slow` | share | headers at once, then the body one byte every [`SLOW_BYTE_EVERY`] |
//! | `retry_after` | duration | how long a 429 storm lasts (default 5s) |
//! | `seed` | integer | which requests fail (default: the simulator's seed) |
//! | `only` | `http+github+prometheus+gitlab` | the APIs that misbehave (default: all four) |
//!
//! A share is a number from 0 to 1 or a percentage (`0.3`, `30%`); a bare name is a share of 1
//! (`hang` = `hang=1`). Each share is an independent draw, checked in the order of the table;
//! the first that fires decides. The draws are a hash of the seed and of the request's number
//! since the spec was set: the same spec and seed fail the same requests. `""`, `off` or `none`
//! is no chaos.
//!
//! The simulator's own knobs (every path with `/_sim`) are never touched, so that a test can
//! always reach `POST /_sim/chaos` (the body is a spec; an empty body ends the fault) and
//! `GET /_sim/chaos` (the spec and what was injected since it was set).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::chaos_conn::Conn;
use super::rng::{mix, unit};

mod answers;
use answers::{hang_up, malformed, rate_limited, server_error, trickle};

/// How fast a `slow` body trickles: one byte this often.
pub const SLOW_BYTE_EVERY: Duration = Duration::from_millis(50);
/// The longest a hung request is held (unless the fault ends sooner).
pub const HANG_MAX: Duration = Duration::from_secs(600);
/// How long a 429 storm lasts unless the spec says (`retry_after`).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest latency or storm a spec may ask for.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How many APIs the simulator serves.
const APIS: usize = 4;

/// One of the APIs the simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Api {
    /// trainyard's own protocol: `/v1/...`, `/runs/N`.
    Http,
    /// The GitHub subset: `/api/v3/...`.
    Github,
    /// The Prometheus subset: `/api/v1/...`, `/metrics`.
    Prometheus,
    /// The GitLab subset: `/gitlab/api/v4/...`.
    Gitlab,
}

impl Api {
    pub const ALL: [Api; APIS] = [Api::Http, Api::Github, Api::Prometheus, Api::Gitlab];

    pub fn as_str(self) -> &'static str {
        match self {
            Api::Http => "http",
            Api::Github => "github",
            Api::Prometheus => "prometheus",
            Api::Gitlab => "gitlab",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The API a path belongs to; `None` for the simulator's knobs (`/_sim`) and the index.
    pub fn of(path: &str) -> Option<Api> {
        if path.contains("/_sim") {
            return None;
        }
        if path == "/api/v3" || path.starts_with("/api/v3/") {
            Some(Api::Github)
        } else if path.starts_with("/api/v1/") || path == "/metrics" {
            Some(Api::Prometheus)
        } else if path.starts_with("/v1/") || path.starts_with("/runs/") {
            Some(Api::Http)
        } else if path.starts_with("/gitlab/api/v4/") {
            Some(Api::Gitlab)
        } else {
            None
        }
    }

    fn parse(s: &str) -> Option<Api> {
        match s {
            "http" => Some(Api::Http),
            "github" | "gh" => Some(Api::Github),
            "prometheus" | "prom" => Some(Api::Prometheus),
            "gitlab" | "gl" => Some(Api::Gitlab),
            _ => None,
        }
    }
}

/// What the simulator does wrong, parsed from `--chaos` (see the module's documentation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChaosSpec {
    pub latency: Option<Duration>,
    pub hang: f64,
    pub ratelimit: f64,
    pub errors: f64,
    pub drop: f64,
    pub malformed: f64,
    pub slow: f64,
    /// How long a 429 storm lasts (`retry-after`); [`DEFAULT_RETRY_AFTER`] when `None`.
    pub retry_after: Option<Duration>,
    pub seed: Option<u64>,
    /// The APIs that misbehave; all when empty.
    pub only: BTreeSet<Api>,
}

/// The shares in the order they are drawn.
const SHARES: [&str; 6] = ["hang", "ratelimit", "errors", "drop", "malformed", "slow"];
const OPTIONS: [&str; 4] = ["latency", "retry_after", "seed", "only"];

impl ChaosSpec {
    /// Parse a spec; the error names the part that is wrong.
    pub fn parse(text: &str) -> Result<ChaosSpec, String> {
        let mut spec = ChaosSpec::default();
        let text = text.trim();
        if matches!(text, "" | "off" | "none") {
            return Ok(spec);
        }
        let mut seen = BTreeSet::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (part, None),
            };
            if !seen.insert(name.to_string()) && (SHARES.contains(&name) || OPTIONS.contains(&name))
            {
                return Err(format!("{part:?}: {name} is given twice"));
            }
            let bad = |why: String| format!("{part:?}: {why}");
            match name {
                "latency" => {
                    let v = value.ok_or_else(|| {
                        bad("latency needs a duration, e.g. latency=500ms".into())
                    })?;
                    spec.latency = Some(wait(v).map_err(bad)?);
                }
                "retry_after" => {
                    let v = value.ok_or_else(|| {
                        bad("retry_after needs a duration, e.g. retry_after=10s".into())
                    })?;
                    let d = wait(v).map_err(bad)?;
                    if d < Duration::from_secs(1) {
                        return Err(bad(
                            "retry_after is at least 1s (retry-after counts seconds)".into(),
                        ));
                    }
                    spec.retry_after = Some(d);
                }
                "seed" => {
                    let v = value.ok_or_else(|| bad("seed needs a number, e.g. seed=7".into()))?;
                    spec.seed = Some(
                        v.parse()
                            .map_err(|_| bad(format!("{v:?} is not a whole number")))?,
                    );
                }
                "only" => {
                    let v = value.ok_or_else(|| {
                        bad("only needs APIs, e.g. only=github or only=http+prometheus".into())
                    })?;
                    for api in v.split('+').map(str::trim) {
                        let a = Api::parse(api).ok_or_else(|| {
                            bad(format!(
                                "unknown API {api:?} (known: http, github, prometheus, gitlab)"
                            ))
                        })?;
                        spec.only.insert(a);
                    }
                }
                share if SHARES.contains(&share) => {
                    let p = match value {
                        None => 1.0,
                        Some(v) => parse_share(v).map_err(bad)?,
                    };
                    *spec.share_mut(share) = p;
                }
                other => {
                    return Err(format!(
                        "{part:?}: unknown fault {other:?} (known: latency, hang, ratelimit, errors, drop, malformed, slow; options: retry_after, seed, only)"
                    ));
                }
            }
        }
        Ok(spec)
    }

    fn share_mut(&mut self, name: &str) -> &mut f64 {
        match name {
            "hang" => &mut self.hang,
            "ratelimit" => &mut self.ratelimit,
            "errors" => &mut self.errors,
            "drop" => &mut self.drop,
            "malformed" => &mut self.malformed,
            _ => &mut self.slow,
        }
    }

    fn share(&self, name: &str) -> f64 {
        match name {
            "hang" => self.hang,
            "ratelimit" => self.ratelimit,
            "errors" => self.errors,
            "drop" => self.drop,
            "malformed" => self.malformed,
            _ => self.slow,
        }
    }

    /// No fault at all.
    pub fn is_off(&self) -> bool {
        self.latency.is_none_or(|l| l.is_zero()) && SHARES.iter().all(|s| self.share(s) <= 0.0)
    }

    pub fn applies_to(&self, api: Api) -> bool {
        self.only.is_empty() || self.only.contains(&api)
    }

    pub fn retry_after(&self) -> Duration {
        self.retry_after.unwrap_or(DEFAULT_RETRY_AFTER)
    }
}

/// The canonical spec: `parse(spec.to_string()) == spec`; `off` for none.
impl fmt::Display for ChaosSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(l) = self.latency.filter(|l| !l.is_zero()) {
            parts.push(format!("latency={}ms", l.as_millis()));
        }
        for s in SHARES {
            let p = self.share(s);
            if p > 0.0 {
                parts.push(format!("{s}={p}"));
            }
        }
        if let Some(r) = self.retry_after {
            parts.push(format!("retry_after={}ms", r.as_millis()));
        }
        if let Some(seed) = self.seed {
            parts.push(format!("seed={seed}"));
        }
        if !self.only.is_empty() {
            let apis: Vec<&str> = self.only.iter().map(|a| a.as_str()).collect();
            parts.push(format!("only={}", apis.join("+")));
        }
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

fn parse_share(v: &str) -> Result<f64, String> {
    let (num, scale) = match v.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (v, 1.0),
    };
    let p: f64 = num
        .parse()
        .map_err(|_| format!("{v:?} is not a share (a number from 0 to 1, or 0% to 100%)"))?;
    let p = p / scale;
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!(
            "{v:?} is out of range: a share goes from 0 to 1 (or 0% to 100%)"
        ))
    }
}

fn wait(v: &str) -> Result<Duration, String> {
    let d = crate::model::duration::parse(v)?;
    if d > MAX_WAIT {
        return Err(format!("{v:?} is too long (at most 1h)"));
    }
    Ok(d)
}

/// What was injected since the spec was set.
#[derive(Default)]
struct Stats {
    requests: [u64; APIS],
    latency: u64,
    hang: u64,
    ratelimit: u64,
    /// Requests that came while a storm was on (they did not wait for `retry-after`).
    during_storm: [u64; APIS],
    errors: u64,
    drop: u64,
    malformed: u64,
    slow: u64,
}

/// The simulator's chaos: the spec in force, the draws, the storms and the counts.
pub(crate) struct Chaos {
    spec: Mutex<ChaosSpec>,
    /// The simulator's seed: the default of the spec's.
    seed: u64,
    /// Requests since the spec was set: the number each draw hashes.
    requests: AtomicU64,
    /// Bumped when the spec changes (and at shutdown): hung requests and slow bodies let go.
    generation: watch::Sender<u64>,
    /// When each API's 429 storm ends.
    storms: Mutex<[Option<Instant>; APIS]>,
    stats: Mutex<Stats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Chaos {
    pub(crate) fn new(spec: ChaosSpec, seed: u64) -> Chaos {
        Chaos {
            spec: Mutex::new(spec),
            seed,
            requests: AtomicU64::new(0),
            generation: watch::Sender::new(0),
            storms: Mutex::new([None; APIS]),
            stats: Mutex::new(Stats::default()),
        }
    }

    pub(crate) fn spec(&self) -> ChaosSpec {
        lock(&self.spec).clone()
    }

    /// Put a new spec in force: counts, draws and storms start over; whatever the old one
    /// held (hung requests, slow bodies, latency) lets go.
    pub(crate) fn set(&self, spec: ChaosSpec) {
        *lock(&self.spec) = spec;
        *lock(&self.storms) = [None; APIS];
        *lock(&self.stats) = Stats::default();
        self.requests.store(0, Ordering::SeqCst);
        self.release();
    }

    /// Let go of every hung request, slow body and delay (the spec stays).
    pub(crate) fn release(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Resolves at the next [`Chaos::set`] or [`Chaos::release`] after the call.
    fn changed(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.generation.subscribe();
        async move {
            let _ = rx.changed().await;
        }
    }

    /// The API's storm, if one is on: how long it has left.
    fn storm(&self, api: Api) -> Option<Duration> {
        let until = lock(&self.storms)[api.index()]?;
        until.checked_duration_since(Instant::now())
    }

    fn start_storm(&self, api: Api, d: Duration) {
        lock(&self.storms)[api.index()] = Some(Instant::now() + d);
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }

    /// The spec and what was injected since it was set, for `GET /_sim/chaos`.
    pub(crate) fn state_json(&self) -> Value {
        let spec = self.spec();
        let s = lock(&self.stats);
        let per_api = |v: &[u64; APIS]| {
            let mut m = serde_json::Map::new();
            for api in Api::ALL {
                m.insert(api.as_str().into(), json!(v[api.index()]));
            }
            Value::Object(m)
        };
        json!({
            "spec": spec.to_string(),
            "seed": spec.seed.unwrap_or(self.seed),
            "requests": per_api(&s.requests),
            "during_storm": per_api(&s.during_storm),
            "faults": {
                "latency": s.latency, "hang": s.hang, "ratelimit": s.ratelimit,
                "errors": s.errors, "drop": s.drop, "malformed": s.malformed, "slow": s.slow,
            },
        })
    }
}

/// The router with `/_sim/chaos` added and every request passing through the chaos.
pub(crate) fn wrap(app: Router, chaos: Arc<Chaos>) -> Router {
    let knob = Router::new()
        .route("/_sim/chaos", get(show).post(set))
        .with_state(Arc::clone(&chaos));
    app.merge(knob)
        .layer(axum::middleware::from_fn_with_state(chaos, inject))
}

async fn show(State(chaos): State<Arc<Chaos>>) -> Response {
    axum::Json(chaos.state_json()).into_response()
}

/// `POST /_sim/chaos` with a spec as the body (`""` ends the fault).
async fn set(State(chaos): State<Arc<Chaos>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match ChaosSpec::parse(&text) {
        Ok(spec) => {
            tracing::info!("trainyard sim: chaos now {spec}");
            chaos.set(spec);
            axum::Json(chaos.state_json()).into_response()
        }
        Err(e) => {
            let body = json!({"error": {"code": "bad_chaos", "message": format!("invalid chaos spec: {e}")}});
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    }
}

/// Draw tags: one independent draw per fault and request.
mod tag {
    pub const LATENCY: u64 = 1;
    pub const HANG: u64 = 2;
    pub const RATELIMIT: u64 = 3;
    pub const ERRORS: u64 = 4;
    pub const DROP: u64 = 5;
    pub const MALFORMED: u64 = 6;
    pub const SLOW: u64 = 7;
    pub const VARIANT: u64 = 8;
}

/// Resolves when the fault ends (the spec changes) or the simulator stops.
type Ended = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The middleware: decide the request's fate, then serve it, spoil it, or never answer.
async fn inject(State(chaos): State<Arc<Chaos>>, req: Request, next: Next) -> Response {
    let Some(api) = Api::of(req.uri().path()) else {
        return next.run(req).await;
    };
    let spec = chaos.spec();
    chaos.count(|s| s.requests[api.index()] += 1);
    if spec.is_off() || !spec.applies_to(api) {
        return next.run(req).await;
    }
    // Subscribed before anything waits: a change from here on lets go.
    let mut changed: Ended = Box::pin(chaos.changed());
    let n = chaos.requests.fetch_add(1, Ordering::SeqCst);
    let seed = spec.seed.unwrap_or(chaos.seed);
    let draw = |t: u64| unit(mix(seed, &[n, t]));
    let fires = |t: u64, share: f64| share > 0.0 && draw(t) < share;
    let conn = req
        .extensions()
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    let variant = mix(seed, &[n, tag::VARIANT]);

    if let Some(l) = spec.latency.filter(|l| !l.is_zero()) {
        chaos.count(|s| s.latency += 1);
        let d = l.mul_f64(0.5 + draw(tag::LATENCY));
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = &mut changed => {}
        }
    }
    if let Some(left) = chaos.storm(api) {
        chaos.count(|s| s.during_storm[api.index()] += 1);
        return rate_limited(api, left, variant);
    }
    if fires(tag::HANG, spec.hang) {
        chaos.count(|s| s.hang += 1);
        tokio::select! {
            _ = tokio::time::sleep(HANG_MAX) => {}
            _ = &mut changed => {}
        }
        return hang_up(conn.as_ref(), variant);
    }
    if fires(tag::RATELIMIT, spec.ratelimit) {
        chaos.count(|s| s.ratelimit += 1);
        let d = spec.retry_after();
        chaos.start_storm(api, d);
        return rate_limited(api, d, variant);
    }
    if fires(tag::ERRORS, spec.errors) {
        chaos.count(|s| s.errors += 1);
        return server_error(api, variant);
    }
    if fires(tag::DROP, spec.drop) {
        chaos.count(|s| s.drop += 1);
        // The work is done; the answer is lost on the way (the nasty case for an action).
        let _ = next.run(req).await;
        return hang_up(conn.as_ref(), variant);
    }
    if fires(tag::MALFORMED, spec.malformed) {
        chaos.count(|s| s.malformed += 1);
        return malformed(next.run(req).await, variant).await;
    }
    if fires(tag::SLOW, spec.slow) {
        chaos.count(|s| s.slow += 1);
        return trickle(next.run(req).await, changed).await;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::answers::confuse;
    use super::*;

    #[test]
    fn specs_parse_print_and_parse_back() {
        let s = ChaosSpec::parse(
            "latency=2s, errors=0.3,malformed=20%,drop=0.1,slow=0.2,ratelimit=0.5,hang,retry_after=10s,seed=9,only=github+prom",
        )
        .unwrap();
        assert_eq!(s.latency, Some(Duration::from_secs(2)));
        assert_eq!(
            (s.errors, s.malformed, s.drop, s.slow, s.ratelimit, s.hang),
            (0.3, 0.2, 0.1, 0.2, 0.5, 1.0)
        );
        assert_eq!(s.retry_after(), Duration::from_secs(10));
        assert_eq!(s.seed, Some(9));
        assert_eq!(
            s.only,
            [Api::Github, Api::Prometheus]
                .into_iter()
                .collect::<BTreeSet<_>>()
        );
        assert_eq!(ChaosSpec::parse(&s.to_string()).unwrap(), s);
        for off in ["", "  ", "off", "none"] {
            let o = ChaosSpec::parse(off).unwrap();
            assert!(o.is_off(), "{off:?}");
            assert_eq!(o.to_string(), "off");
        }
        assert!(ChaosSpec::parse("retry_after=3s").unwrap().is_off());
        assert!(!ChaosSpec::parse("latency=10ms").unwrap().is_off());
    }

    #[test]
    fn a_bad_spec_names_the_bad_part() {
        for (spec, says) in [
            ("errors=1.5", "\"errors=1.5\": \"1.5\" is out of range"),
            ("errors=lots", "\"errors=lots\": \"lots\" is not a share"),
            ("errors=0.1,bogus=1", "\"bogus=1\": unknown fault \"bogus\""),
            ("latency", "\"latency\": latency needs a duration"),
            ("latency=fast", "\"latency=fast\": unexpected 'f'"),
            ("latency=2h", "\"latency=2h\": \"2h\" is too long"),
            ("retry_after=500ms", "retry_after is at least 1s"),
            ("only=gitea", "unknown API \"gitea\""),
            ("hang=1,hang=0", "\"hang=0\": hang is given twice"),
            ("seed=x", "\"seed=x\": \"x\" is not a whole number"),
            ("drop=150%", "out of range"),
        ] {
            let e = ChaosSpec::parse(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }

    #[test]
    fn paths_belong_to_their_api_and_the_knobs_to_none() {
        assert_eq!(Api::of("/v1/train"), Some(Api::Http));
        assert_eq!(Api::of("/runs/4"), Some(Api::Http));
        assert_eq!(
            Api::of("/api/v3/repos/acme/x/deployments"),
            Some(Api::Github)
        );
        assert_eq!(Api::of("/api/v3"), Some(Api::Github));
        assert_eq!(Api::of("/api/v1/query"), Some(Api::Prometheus));
        assert_eq!(Api::of("/metrics"), Some(Api::Prometheus));
        assert_eq!(
            Api::of("/gitlab/api/v4/projects/acme%2Fledger/deployments"),
            Some(Api::Gitlab)
        );
        assert_eq!(Api::of("/gitlab/api/v4/_sim/requests"), None);
        for knob in [
            "/_sim/chaos",
            "/v1/_sim/actions",
            "/api/v1/_sim/fail",
            "/api/v3/_sim/rate_limit",
            "/",
        ] {
            assert_eq!(Api::of(knob), None, "{knob}");
        }
    }

    #[test]
    fn wrong_types_keep_the_fields_and_break_their_types() {
        let v = confuse(
            json!({"protocol": 1, "cells": [{"lane": "a"}], "ok": true, "x": null, "o": {"k": 1}}),
        );
        assert_eq!(
            v,
            json!({"protocol": "1", "cells": {"items": [{"lane": "a"}]}, "ok": "yes", "x": [], "o": [1]})
        );
        assert_eq!(confuse(json!([1, 2])), json!({"items": [1, 2]}));
    }
}
