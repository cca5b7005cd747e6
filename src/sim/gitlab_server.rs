//! The HTTP face of the GitLab subset, under `/gitlab/api/v4` as a self-managed instance at a
//! relative URL root serves it: the token (`PRIVATE-TOKEN`, or `Authorization: Bearer` for an
//! OAuth token), `RateLimit-*` headers on every answer (2000 requests a minute, gitlab.com's
//! limit for an authenticated user), forced 429s with `Retry-After`, and a log of every
//! request for tests. What the endpoints answer is `scenario/gitlab.rs`, a projection of the
//! scenario.
//!
//! Tokens: any non-empty token is the user `release-manager`, an allowed approver with the
//! `api` scope; a token containing `viewer` is the user `viewer`, who may not approve; a
//! token containing `read` has only the `read_api` scope (every write is refused 403
//! `insufficient_scope`). No token: 401.
//!
//! Lists are paged as GitLab pages them: `X-Page`, `X-Per-Page`, `X-Total`, `X-Total-Pages`,
//! `X-Next-Page` and `X-Prev-Page` (empty on the last and first page) and a `Link` header with
//! `next`, `prev`, `first` and `last`.
//!
//! Test knobs (no token, never counted): `POST /gitlab/api/v4/_sim/throttle` with
//! `{"count", "retry_after"}` answers the next `count` requests 429 with that `Retry-After`;
//! `POST /gitlab/api/v4/_sim/per_page` with `{"max": n}` pages every list by at most `n`
//! whatever `per_page` asks (`{"max": null}`: as asked), so that a short list spans pages;
//! `GET /gitlab/api/v4/_sim/requests` lists every request (method, path with query, body,
//! status, and how the token came: `private-token`, `bearer` or `none`);
//! `DELETE` clears the list.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::github_server::link_header;
use super::scenario::{API_USER, GITLAB_PREFIX, GlRequest, Pages};
use super::server::Shared;

/// Requests a minute a user may send, as on gitlab.com.
const PER_MINUTE: usize = 2000;

#[derive(Debug, Default)]
pub(crate) struct GlState {
    /// When each request of the last minute came.
    recent: VecDeque<Instant>,
    /// Requests still to answer 429, and the `Retry-After` to send.
    throttle: Option<(u64, u64)>,
    /// The most items a page holds, whatever `per_page` asks.
    max_per_page: Option<usize>,
    log: Vec<Value>,
}

fn token(h: &HeaderMap) -> Option<String> {
    if let Some(t) = h.get("private-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string()).filter(|t| !t.is_empty());
    }
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn reply(status: u16, headers: Vec<(&'static str, String)>, body: &Value) -> Response {
    let mut r = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.body(Body::from(serde_json::to_vec(body).unwrap_or_default()))
        .unwrap_or_default()
}

pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix(GITLAB_PREFIX)
        .unwrap_or("/")
        .to_string();
    let full = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let mut query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let wall = shared.now();
    let mut guard = shared.lock();
    let inner = &mut *guard;
    if let Some(knob) = path.strip_prefix("/_sim/") {
        let gl = &mut inner.gl;
        return match (&method, knob) {
            (&Method::GET, "requests") => reply(200, vec![], &json!({"requests": gl.log})),
            (&Method::DELETE, "requests") => {
                gl.log.clear();
                reply(200, vec![], &json!({"requests": []}))
            }
            (&Method::POST, "throttle") => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let count = v["count"].as_u64().unwrap_or(1);
                let retry = v["retry_after"].as_u64().unwrap_or(1);
                gl.throttle = Some((count, retry));
                reply(200, vec![], &json!({"count": count, "retry_after": retry}))
            }
            (&Method::POST, "per_page") => {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                gl.max_per_page = v["max"]
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n > 0);
                reply(200, vec![], &json!({"max": gl.max_per_page}))
            }
            _ => reply(404, vec![], &json!({"message": "404 Not Found"})),
        };
    }
    let now = Instant::now();
    let gl = &mut inner.gl;
    while gl
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        gl.recent.pop_front();
    }
    gl.recent.push_back(now);
    let used = gl.recent.len();
    let reset = wall.timestamp() + 60;
    let mut out: Vec<(&'static str, String)> = vec![
        ("ratelimit-limit", PER_MINUTE.to_string()),
        ("ratelimit-observed", used.to_string()),
        (
            "ratelimit-remaining",
            PER_MINUTE.saturating_sub(used).to_string(),
        ),
        ("ratelimit-reset", reset.to_string()),
    ];
    let auth = if headers.contains_key("private-token") {
        "private-token"
    } else if headers.contains_key("authorization") {
        "bearer"
    } else {
        "none"
    };
    let (status, answer) = 'answer: {
        let Some(tok) = token(&headers) else {
            break 'answer (401, json!({"message": "401 Unauthorized"}));
        };
        if let Some((left, retry)) = gl.throttle.filter(|(left, _)| *left > 0) {
            gl.throttle = Some((left - 1, retry));
            out.push(("retry-after", retry.to_string()));
            break 'answer (429, json!({"message": "Retry later"}));
        }
        if used > PER_MINUTE {
            out.push(("retry-after", "60".into()));
            break 'answer (429, json!({"message": "Retry later"}));
        }
        let write = method != Method::GET;
        if write && tok.contains("read") {
            break 'answer (
                403,
                json!({
                    "error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided by the access token.",
                    "scope": "api",
                }),
            );
        }
        if let Some(max) = gl.max_per_page {
            let asked = query
                .iter()
                .find(|(k, _)| k == "per_page")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(20);
            query.retain(|(k, _)| k != "per_page");
            query.push(("per_page".into(), asked.min(max).to_string()));
        }
        let viewer = tok.contains("viewer");
        let user = if viewer { "viewer" } else { API_USER };
        let req = GlRequest {
            method: method.as_str(),
            path: &path,
            query: &query,
            body: &body,
            user,
            approver: !viewer,
        };
        let r = inner.scenario.gitlab(&req);
        if let Some(p) = r.pages {
            out.extend(page_headers(
                &format!("{}{path}", inner.scenario.gitlab_api_base()),
                &query,
                p,
            ));
        }
        (r.status, r.body)
    };
    let gl = &mut inner.gl;
    gl.log.push(json!({
        "method": method.as_str(),
        "path": full,
        "body": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
        "status": status,
        "auth": auth,
    }));
    reply(status, out, &answer)
}

/// GitLab's pagination headers for page `p` of a list at `url` asked with `query`.
fn page_headers(url: &str, query: &[(String, String)], p: Pages) -> Vec<(&'static str, String)> {
    let last = p.last();
    let or_empty = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    vec![
        ("x-page", p.page.to_string()),
        ("x-per-page", p.per_page.to_string()),
        ("x-total", p.total.to_string()),
        ("x-total-pages", last.to_string()),
        (
            "x-next-page",
            or_empty(Some(p.page + 1).filter(|&n| n <= last)),
        ),
        (
            "x-prev-page",
            or_empty(p.page.checked_sub(1).filter(|&n| n >= 1)),
        ),
        ("link", link_header(url, query, p.page as u64, last as u64)),
    ]
}
