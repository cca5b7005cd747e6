//! The HTTP face of the GitHub subset, under `/api/v3` as GitHub Enterprise Server serves it:
//! bearer auth, the primary rate limit (5000 an hour from the first counted request), forced
//! secondary limits, ETags with `304 Not Modified`, the `Link` header, and request counts for
//! tests. What the endpoints answer is `scenario/github.rs`, a projection of the scenario.
//!
//! Rules, as on GitHub: every authenticated answer but a 304 uses one request of the budget
//! (errors too); a 304 carries the ETag and uses none; with the budget gone every request is
//! answered 403 with `retry-after` until the reset; `GET /api/v3/rate_limit` is free. The
//! secondary limit: 900 points in any minute (a GET one point, `304` or not; a write five);
//! a request past it is answered 403 "You have exceeded a secondary rate limit" with
//! `retry-after` (the seconds until enough points have left the minute).
//!
//! Test knobs (no auth, never counted): `GET|POST /api/v3/_sim/rate_limit` reads or sets
//! `{"limit", "remaining", "reset_in" (seconds), "secondary": {"count", "status" (403 or 429),
//! "retry_after"}, "points_per_minute"}` (the next `count` requests are refused as over a
//! secondary limit; `points_per_minute` sets the secondary limit, and the answer says
//! `points_last_minute`);
//! `GET /api/v3/_sim/requests` counts requests per `METHOD /path` (`requests`,
//! `not_modified`, `statuses`) and lists every write (method, path, body, status);
//! `DELETE /api/v3/_sim/requests` clears both.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::scenario::{API_USER, GhReply, GhRequest, etag, gh_error};
use super::server::Shared;

/// The primary limit of a token, per hour.
pub(crate) const DEFAULT_LIMIT: u64 = 5000;
const WINDOW_SECS: i64 = 3600;

/// GitHub's secondary limit for REST: points in any minute.
pub(crate) const POINTS_PER_MINUTE: u32 = 900;

/// The points of the last minute (when, how many), against the secondary limit.
#[derive(Debug)]
struct Points {
    per_minute: u32,
    spent: VecDeque<(Instant, u32)>,
}

impl Points {
    fn prune(&mut self, now: Instant) {
        while self
            .spent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.spent.pop_front();
        }
    }

    fn last_minute(&mut self, now: Instant) -> u32 {
        self.prune(now);
        self.spent.iter().map(|(_, p)| p).sum()
    }

    /// Spend `points` at `now`, or say how many seconds until they fit in the minute.
    fn spend(&mut self, now: Instant, points: u32) -> Result<(), u64> {
        let mut used = self.last_minute(now);
        if used + points <= self.per_minute {
            self.spent.push_back((now, points));
            return Ok(());
        }
        for (t, p) in &self.spent {
            used -= p;
            if used + points <= self.per_minute {
                let free_at = *t + Duration::from_secs(60);
                return Err(free_at.duration_since(now).as_secs().max(1));
            }
        }
        Err(60)
    }
}

/// Requests refused as over a secondary rate limit, on demand.
#[derive(Clone, Debug, PartialEq)]
struct Secondary {
    left: u64,
    status: u16,
    retry_after: u64,
}

/// The primary rate limit: a budget per rolling hour, starting at the first counted request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Budget {
    limit: u64,
    used: u64,
    /// When the window resets (unix seconds); `None` until a request opens one.
    reset: Option<i64>,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: 0,
            reset: None,
        }
    }

    /// A window that has ended gives the whole budget back.
    fn roll(&mut self, now: i64) {
        if self.reset.is_some_and(|r| now >= r) {
            self.used = 0;
            self.reset = None;
        }
    }

    fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    fn reset_at(&self, now: i64) -> i64 {
        self.reset.unwrap_or(now + WINDOW_SECS)
    }

    fn spend(&mut self, now: i64) {
        self.reset.get_or_insert(now + WINDOW_SECS);
        self.used = self.used.saturating_add(1);
    }

    fn headers(&self, now: i64) -> [(&'static str, String); 5] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining().to_string()),
            ("x-ratelimit-used", self.used.min(self.limit).to_string()),
            ("x-ratelimit-reset", self.reset_at(now).to_string()),
            ("x-ratelimit-resource", "core".to_string()),
        ]
    }

    fn json(&self, now: i64) -> Value {
        json!({
            "limit": self.limit,
            "remaining": self.remaining(),
            "used": self.used.min(self.limit),
            "reset": self.reset_at(now),
        })
    }
}

#[derive(Default, Debug)]
struct PathCount {
    requests: u64,
    not_modified: u64,
    statuses: BTreeMap<u16, u64>,
}

/// Everything the GitHub face keeps between requests.
pub(crate) struct GhState {
    budget: Budget,
    secondary: Option<Secondary>,
    points: Points,
    counts: BTreeMap<String, PathCount>,
    writes: Vec<Value>,
    served: u64,
}

impl GhState {
    pub(crate) fn new() -> GhState {
        GhState {
            budget: Budget::new(DEFAULT_LIMIT),
            secondary: None,
            points: Points {
                per_minute: POINTS_PER_MINUTE,
                spent: VecDeque::new(),
            },
            counts: BTreeMap::new(),
            writes: Vec::new(),
            served: 0,
        }
    }
}

/// Does `If-None-Match` name this ETag? (Weak comparison, lists and `*`.)
pub(crate) fn etag_matches(if_none_match: &str, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let ours = bare(tag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == ours)
}

/// The `Link` header of page `page` of `last`: GitHub's `prev`, `next`, `last`, `first`.
pub(crate) fn link_header(url: &str, query: &[(String, String)], page: u64, last: u64) -> String {
    let at = |p: u64| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        let mut replaced = false;
        for (k, v) in query {
            if k == "page" {
                if !replaced {
                    ser.append_pair("page", &p.to_string());
                    replaced = true;
                }
            } else {
                ser.append_pair(k, v);
            }
        }
        if !replaced {
            ser.append_pair("page", &p.to_string());
        }
        format!("<{url}?{}>", ser.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", at((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", at(page + 1)));
        links.push(format!("{}; rel=\"last\"", at(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", at(1)));
    }
    links.join(", ")
}

/// The token of `Authorization: Bearer <token>` (or GitHub's older `token <token>`).
fn token(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    let t = rest.trim();
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    (known && !t.is_empty()).then(|| t.to_string())
}

fn respond(status: u16, headers: Vec<(&'static str, String)>, body: Option<Vec<u8>>) -> Response {
    let mut resp = Response::new(Body::from(body.clone().unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if body.is_some() {
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Everything under `/api/v3`.
pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api/v3")
        .unwrap_or("/")
        .to_string();
    let path = if path.is_empty() { "/".into() } else { path };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(knob) = path.strip_prefix("/_sim/") {
        return sim_knob(&shared, &method, knob, &body);
    }
    let now = shared.now().timestamp();
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let gh = &mut inner.gh;
    gh.budget.roll(now);
    gh.served += 1;
    let key = format!("{method} {}", uri.path());
    let mut out: Vec<(&'static str, String)> = vec![
        ("x-github-api-version-selected", "2022-11-28".into()),
        ("x-github-media-type", "github.v3; format=json".into()),
        ("x-github-request-id", format!("51D0:{:06X}", gh.served)),
    ];

    let (status, body_out): (u16, Option<Vec<u8>>) = 'answer: {
        if path == "/rate_limit" && method == Method::GET {
            let core = gh.budget.json(now);
            let b = json!({"resources": {"core": core}, "rate": core});
            break 'answer (200, Some(json_bytes(&b)));
        }
        if token(&headers).is_none() {
            let r = gh_error(401, "Bad credentials", "");
            break 'answer (401, r.body.as_ref().map(json_bytes));
        }
        if let Some(sec) = gh.secondary.as_mut().filter(|s| s.left > 0) {
            sec.left -= 1;
            out.push(("retry-after", sec.retry_after.to_string()));
            let r = gh_error(
                sec.status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            break 'answer (sec.status, r.body.as_ref().map(json_bytes));
        }
        let points = if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
            1
        } else {
            5
        };
        if let Err(wait) = gh.points.spend(Instant::now(), points) {
            out.push(("retry-after", wait.to_string()));
            let r = gh_error(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            );
            break 'answer (403, r.body.as_ref().map(json_bytes));
        }
        if gh.budget.remaining() == 0 {
            let reset = gh.budget.reset_at(now);
            out.push(("retry-after", (reset - now).max(1).to_string()));
            let r = gh_error(
                403,
                format!(
                    "API rate limit exceeded for user {API_USER}. Wait for the reset at {reset} or use conditional requests."
                ),
                "/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
            );
            break 'answer (403, r.body.as_ref().map(json_bytes));
        }
        let req = GhRequest {
            method: method.as_str(),
            path: &path,
            query: &query,
            body: &body,
            login: API_USER,
        };
        let GhReply {
            status,
            body: reply,
            pages,
        } = inner.scenario.github(&req);
        let bytes = reply.as_ref().map(json_bytes);
        if method == Method::GET && status == 200 {
            let tag = etag(bytes.as_deref().unwrap_or_default());
            out.push(("etag", tag.clone()));
            out.push(("cache-control", "private, max-age=60, s-maxage=60".into()));
            out.push(("vary", "Accept, Authorization, Cookie, X-GitHub-OTP".into()));
            let inm = headers
                .get("if-none-match")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if etag_matches(inm, &tag) {
                break 'answer (304, None);
            }
            if let Some((page, last)) = pages {
                let url = format!("{}{path}", inner.scenario.github_api_base());
                out.push(("link", link_header(&url, &query, page, last)));
            }
        }
        gh.budget.spend(now);
        if method != Method::GET {
            let sent = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => v,
                Err(_) if body.is_empty() => Value::Null,
                Err(_) => json!({"raw": String::from_utf8_lossy(&body)}),
            };
            let at = inner
                .scenario
                .now()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            gh.writes.push(json!({
                "method": method.as_str(),
                "path": uri.path(),
                "query": uri.query(),
                "body": sent,
                "status": status,
                "received_at": at,
            }));
        }
        (status, bytes)
    };

    let c = gh.counts.entry(key).or_default();
    c.requests += 1;
    *c.statuses.entry(status).or_default() += 1;
    if status == 304 {
        c.not_modified += 1;
    }
    out.extend(gh.budget.headers(now));
    respond(status, out, body_out)
}

fn sim_knob(shared: &Shared, method: &Method, knob: &str, body: &[u8]) -> Response {
    let now = shared.now().timestamp();
    let mut guard = shared.lock();
    let gh = &mut guard.gh;
    gh.budget.roll(now);
    let ok = |v: Value| respond(200, vec![], Some(json_bytes(&v)));
    let bad = |m: String| respond(400, vec![], Some(json_bytes(&json!({"message": m}))));
    match (method.as_str(), knob) {
        ("GET", "rate_limit") => ok(rate_json(gh, now)),
        ("POST", "rate_limit") => {
            let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
                return bad("the body must be a JSON object".into());
            };
            let num = |k: &str| req.get(k).and_then(Value::as_u64);
            if let Some(limit) = num("limit") {
                gh.budget.limit = limit;
            }
            if let Some(remaining) = num("remaining") {
                gh.budget.used = gh.budget.limit.saturating_sub(remaining);
                gh.budget.reset.get_or_insert(now + WINDOW_SECS);
            }
            if let Some(secs) = num("reset_in") {
                gh.budget.reset = Some(now + secs as i64);
            }
            if let Some(p) = num("points_per_minute") {
                gh.points.per_minute = p.min(u32::MAX as u64) as u32;
            }
            if let Some(sec) = req.get("secondary") {
                let count = sec.get("count").and_then(Value::as_u64).unwrap_or(1);
                let status = sec.get("status").and_then(Value::as_u64).unwrap_or(403);
                if status != 403 && status != 429 {
                    return bad(format!("secondary.status must be 403 or 429, not {status}"));
                }
                gh.secondary = Some(Secondary {
                    left: count,
                    status: status as u16,
                    retry_after: sec.get("retry_after").and_then(Value::as_u64).unwrap_or(60),
                });
            }
            ok(rate_json(gh, now))
        }
        ("GET", "requests") => {
            let paths: BTreeMap<&String, Value> = gh
                .counts
                .iter()
                .map(|(k, c)| {
                    let statuses: BTreeMap<String, u64> =
                        c.statuses.iter().map(|(s, n)| (s.to_string(), *n)).collect();
                    (
                        k,
                        json!({"requests": c.requests, "not_modified": c.not_modified, "statuses": statuses}),
                    )
                })
                .collect();
            ok(json!({
                "total": gh.counts.values().map(|c| c.requests).sum::<u64>(),
                "not_modified": gh.counts.values().map(|c| c.not_modified).sum::<u64>(),
                "paths": paths,
                "writes": gh.writes,
            }))
        }
        ("DELETE", "requests") => {
            gh.counts.clear();
            gh.writes.clear();
            respond(204, vec![], None)
        }
        _ => respond(
            404,
            vec![],
            Some(json_bytes(
                &json!({"message": format!("no simulator knob {method} {knob}")}),
            )),
        ),
    }
}

fn rate_json(gh: &mut GhState, now: i64) -> Value {
    let mut j = gh.budget.json(now);
    j["points_per_minute"] = json!(gh.points.per_minute);
    j["points_last_minute"] = json!(gh.points.last_minute(Instant::now()));
    j["secondary"] = match &gh.secondary {
        Some(s) if s.left > 0 => {
            json!({"count": s.left, "status": s.status, "retry_after": s.retry_after})
        }
        _ => Value::Null,
    };
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secondary_limit_counts_points_over_a_rolling_minute() {
        let mut p = Points {
            per_minute: 10,
            spent: VecDeque::new(),
        };
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(p.spend(t0, 1), Ok(()));
        }
        // A write is five points: it fits once.
        assert_eq!(p.spend(t0 + Duration::from_secs(20), 5), Ok(()));
        // The minute is full: the next fits when the first five points leave it.
        assert_eq!(p.spend(t0 + Duration::from_secs(30), 1), Err(30));
        assert_eq!(p.spend(t0 + Duration::from_secs(30), 6), Err(50));
        assert_eq!(p.spend(t0 + Duration::from_secs(30), 11), Err(60));
        assert_eq!(p.last_minute(t0 + Duration::from_secs(30)), 10);
        assert_eq!(p.spend(t0 + Duration::from_secs(60), 5), Ok(()));
        assert_eq!(p.last_minute(t0 + Duration::from_secs(60)), 10);
    }

    #[test]
    fn the_budget_rolls_over_an_hour_after_first_use() {
        let mut b = Budget::new(3);
        assert_eq!(b.reset_at(100), 3700);
        b.spend(100);
        b.spend(200);
        assert_eq!(b.remaining(), 1);
        assert_eq!(b.reset_at(5000), 3700, "the window opened at the first use");
        b.spend(300);
        assert_eq!(b.remaining(), 0);
        b.roll(3699);
        assert_eq!(b.remaining(), 0);
        b.roll(3700);
        assert_eq!(b.remaining(), 3);
        assert_eq!(b.reset, None);
        let h = b.headers(4000);
        assert_eq!(h[0], ("x-ratelimit-limit", "3".to_string()));
        assert_eq!(h[3], ("x-ratelimit-reset", "7600".to_string()));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = "W/\"abc\"";
        assert!(etag_matches("W/\"abc\"", tag));
        assert!(etag_matches("\"abc\"", tag));
        assert!(etag_matches("\"x\", W/\"abc\"", tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches("\"abd\"", tag));
        assert!(!etag_matches("", tag));
    }

    #[test]
    fn links_name_the_neighbouring_pages() {
        let q = vec![
            ("branch".to_string(), "main".to_string()),
            ("per_page".to_string(), "2".to_string()),
        ];
        let l = link_header("http://h/api/v3/x", &q, 1, 3);
        assert_eq!(
            l,
            "<http://h/api/v3/x?branch=main&per_page=2&page=2>; rel=\"next\", \
             <http://h/api/v3/x?branch=main&per_page=2&page=3>; rel=\"last\""
        );
        let mut q2 = q.clone();
        q2.push(("page".into(), "3".into()));
        let l = link_header("http://h/api/v3/x", &q2, 3, 3);
        assert_eq!(
            l,
            "<http://h/api/v3/x?branch=main&per_page=2&page=2>; rel=\"prev\", \
             <http://h/api/v3/x?branch=main&per_page=2&page=1>; rel=\"first\""
        );
    }
}
