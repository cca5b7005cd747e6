//! A GitLab REST client: the token as `PRIVATE-TOKEN` (or `Authorization: Bearer` for an OAuth
//! token), the `RateLimit-*` headers read where GitLab sends them, `Retry-After` honoured on a
//! 429, and the source's requests a minute kept within `requests_per_minute`. GitLab has no
//! conditional requests: every request is a whole one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::text::sanitize;
use crate::model::world::{RateLimit, RequestRate};
use crate::secrets::Secret;
use crate::sources::forge::{self, ApiError, Budget, Limits, next_link};
use crate::sources::http::{describe_reqwest, send_failure};

/// A request's error: see [`ApiError`].
pub type GlError = ApiError;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
    oauth: bool,
    limits: Limits,
    /// Requests sent since the last [`Client::take_count`].
    sent: Mutex<u64>,
}

/// How long a 429 without `Retry-After` holds requests: GitLab's limits are per minute.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(cfg: &crate::config::SourceConfig, token: Option<Secret>) -> Result<Client, String> {
        let http = crate::sources::client::build(cfg)?;
        let limits = Limits::new(cfg, token.as_ref());
        Ok(Client {
            http,
            base: cfg.url.trim_end_matches('/').to_string(),
            token,
            oauth: cfg.oauth_token,
            limits,
            sent: Mutex::new(0),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) if self.oauth => rb.bearer_auth(t.expose()),
            Some(t) => rb.header("PRIVATE-TOKEN", t.expose()),
            None => rb,
        }
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.limits.rate_limit()
    }

    pub fn request_rate(&self) -> RequestRate {
        self.limits.request_rate()
    }

    /// The stretch the request budget puts on every interval now.
    pub fn stretch_factor(&self) -> f64 {
        self.limits.stretch_factor()
    }

    /// How long GitLab asked to wait before the next request.
    pub fn waiting(&self) -> Option<Duration> {
        self.limits.waiting()
    }

    /// Requests sent since the last call.
    pub fn take_count(&self) -> u64 {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn limited(&self) -> Option<GlError> {
        self.limits.waiting().map(|w| {
            GlError::Limited(format!(
                "rate limited: GitLab asked to wait (retry-after); not asking again for {}s",
                w.as_secs_f64().ceil().max(1.0) as u64
            ))
        })
    }

    /// Read the budget headers; a 429 (or a spent budget) holds every request.
    fn note(&self, status: u16, h: &HeaderMap) {
        *self.sent.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        if let Some(b) = budget_of(h) {
            self.limits.keep(b);
            if b.remaining == 0 {
                let wait = b.reset.saturating_sub(chrono::Utc::now().timestamp());
                self.limits
                    .hold
                    .hold(Duration::from_secs(wait.clamp(1, 3600) as u64));
            }
        }
        if status == 429 && self.limits.hold.note(status, h).is_none() {
            self.limits.hold.hold(DEFAULT_WAIT);
        }
    }

    /// GET a JSON document, read as `T` where it lies.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GlError> {
        let (body, _) = self.get_page(path).await?;
        serde_json::from_slice(&body).map_err(|e| unreadable(&body, &e, false))
    }

    /// GET a list and its next pages until it has `want` items, there is no next page, or
    /// `max_pages` were read: the items in order, each read as `T`.
    pub async fn get_list<T: DeserializeOwned>(
        &self,
        path: &str,
        want: usize,
        max_pages: usize,
    ) -> Result<Vec<T>, GlError> {
        let mut items = Vec::new();
        let mut at = Some(path.to_string());
        let mut pages = 0;
        while let Some(p) = at.take() {
            let (body, next) = self.get_page(&p).await?;
            // A page is read whole (an item past `want` that can't be read fails the list).
            let list: Vec<T> =
                serde_json::from_slice(&body).map_err(|e| unreadable(&body, &e, true))?;
            items.extend(list);
            pages += 1;
            if items.len() < want && pages < max_pages {
                at = next;
            }
        }
        items.truncate(want);
        Ok(items)
    }

    /// One answer: its body, and the path of the next page when it is a list's.
    async fn get_page(&self, path: &str) -> Result<(Vec<u8>, Option<String>), GlError> {
        if let Some(e) = self.limited() {
            return Err(e);
        }
        if !self.limits.minute.try_take(Instant::now()) {
            return Err(GlError::Deferred(format!(
                "not read yet: the {} requests a minute this source allows itself (requests_per_minute) are spent; read when there is room",
                self.limits.minute.per_minute()
            )));
        }
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .map_err(|e| GlError::Failed(describe_reqwest(&e)))?;
        let status = resp.status().as_u16();
        self.note(status, resp.headers());
        let next = next_page(path, resp.headers(), &self.base);
        let bytes = crate::sources::client::read_capped(resp)
            .await
            .map_err(GlError::Failed)?;
        if !(200..300).contains(&status) {
            return Err(error_of(status, &bytes));
        }
        Ok((bytes, next))
    }

    /// POST JSON; the answer's status and body (`null` when empty or lost).
    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), GlError> {
        if let Some(e) = self.limited() {
            return Err(e);
        }
        self.limits.minute.take(Instant::now());
        let resp = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .map_err(|e| send_failure(&e, GlError::Unanswered, GlError::Failed))?;
        let status = resp.status().as_u16();
        self.note(status, resp.headers());
        let bytes = crate::sources::client::read_capped(resp)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("GitLab answered {status}, but its body was lost: {e}");
                Vec::new()
            });
        if !(200..300).contains(&status) {
            return Err(error_of(status, &bytes));
        }
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

/// The path of a list's next page: the `Link: rel="next"` URL where it is under the API's
/// `base` (keyset pagination gives only that), else `path` with the page `X-Next-Page` names
/// (empty on the last page); none after the last.
pub fn next_page(path: &str, h: &HeaderMap, base: &str) -> Option<String> {
    let linked = h
        .get("link")
        .and_then(|v| v.to_str().ok())
        .and_then(next_link)
        .and_then(|u| u.strip_prefix(base).map(str::to_string))
        .filter(|p| p.starts_with('/'));
    if linked.is_some() {
        return linked;
    }
    let n = forge::header_num(h, "x-next-page").filter(|n| *n > 0)?;
    let (p, query) = path.split_once('?').unwrap_or((path, ""));
    let mut parts: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .collect();
    let page = format!("page={n}");
    parts.push(&page);
    Some(format!("{p}?{}", parts.join("&")))
}

/// The budget an answer announces in `RateLimit-Limit`, `-Remaining` and `-Reset`: all three,
/// or none (gitlab.com leaves them out of some answers).
pub fn budget_of(h: &HeaderMap) -> Option<Budget> {
    forge::budget_of(h, "ratelimit-")
}

/// GitLab's error body in words: `{"message": "..."}` (a string, or an object of fields and
/// their complaints) or `{"error": "...", "error_description": "..."}` (OAuth).
pub fn error_of(status: u16, body: &[u8]) -> GlError {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let message = v.as_ref().and_then(|v| {
        let text = match v.get("message") {
            Some(Value::String(m)) => Some(m.clone()),
            Some(Value::Object(fields)) => Some(
                fields
                    .iter()
                    .map(|(k, v)| match v {
                        Value::Array(a) => format!(
                            "{k} {}",
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        other => format!("{k} {other}"),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => match (v.get("error"), v.get("error_description")) {
                (Some(Value::String(e)), Some(Value::String(d))) => Some(format!("{e}: {d}")),
                (Some(Value::String(e)), _) => Some(e.clone()),
                _ => None,
            },
        }?;
        Some(sanitize(&text, 200))
    });
    let mut message = message.unwrap_or_else(|| "no message".into());
    if status == 401 {
        message.push_str(" (is the token set, valid and unexpired?)");
    }
    GlError::Status(status, message)
}

/// Why `body` could not be read as what was asked (`e`, the reading's error): it is not JSON,
/// not a list where one was asked (`list`), or JSON of another shape.
fn unreadable(body: &[u8], e: &serde_json::Error, list: bool) -> GlError {
    if let Some(e) = forge::not_json(body) {
        return GlError::Failed(format!(
            "GitLab answered something that is not JSON: {}",
            sanitize(&e, 120)
        ));
    }
    if list && body.trim_ascii_start().first() != Some(&b'[') {
        return GlError::Failed("GitLab answered something that is not a list".into());
    }
    GlError::Failed(format!(
        "GitLab answered an unexpected shape: {}",
        sanitize(&e.to_string(), 160)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `body` read as a list of pipelines' ids, or the error in words.
    fn list_of(body: &str) -> String {
        #[derive(serde::Deserialize)]
        struct Id {
            #[allow(dead_code)]
            id: u64,
        }
        match serde_json::from_slice::<Vec<Id>>(body.as_bytes()) {
            Ok(l) => format!("{} items", l.len()),
            Err(e) => match unreadable(body.as_bytes(), &e, true) {
                GlError::Failed(m) => m,
                other => format!("{other:?}"),
            },
        }
    }

    #[test]
    fn an_answer_that_cant_be_read_says_whether_it_is_json_a_list_or_another_shape() {
        assert_eq!(list_of(" [{\"id\": 1}, {\"id\": 2}]"), "2 items");
        let not_json = list_of("<html>502 Bad Gateway</html>");
        assert!(
            not_json.starts_with("GitLab answered something that is not JSON: "),
            "{not_json}"
        );
        assert_eq!(
            list_of(" {\"message\": \"404 Project Not Found\"}"),
            "GitLab answered something that is not a list"
        );
        // Bytes that are not UTF-8, where a reading that skips them would not look.
        let any = serde_json::from_str::<u8>("x").unwrap_err();
        let GlError::Failed(m) = unreadable(b"[{\"id\": 1, \"x\": \"\xff\"}]", &any, true) else {
            panic!("a failure");
        };
        assert!(
            m.starts_with("GitLab answered something that is not JSON: "),
            "{m}"
        );
        let shape = list_of("[{\"id\": \"one\"}]");
        assert!(
            shape.starts_with("GitLab answered an unexpected shape: invalid type"),
            "{shape}"
        );
    }

    #[test]
    fn gitlab_error_bodies_in_words() {
        let e = error_of(400, br#"{"message":"400 Bad request - Unplayable Job"}"#);
        assert_eq!(e.to_string(), "HTTP 400: 400 Bad request - Unplayable Job");
        let e = error_of(400, br#"{"message":{"ref":["is missing"],"sha":["bad"]}}"#);
        assert_eq!(e.to_string(), "HTTP 400: ref is missing; sha bad");
        let e = error_of(
            403,
            br#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}"#,
        );
        assert!(
            e.to_string()
                .starts_with("HTTP 403: insufficient_scope: The request requires"),
            "{e}"
        );
        assert_eq!(error_of(502, b"<html>").to_string(), "HTTP 502: no message");
    }

    fn client() -> Client {
        let text = "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
                    [sources.gl]\nkind = \"gitlab\"\napi_url = \"http://127.0.0.1:9/api/v4\"\n\n\
                    [[lanes]]\nname = \"a\"\nsource = \"gl\"\nproject = \"acme/a\"\n\
                    stages.prod = { environment = \"production\" }\n";
        let config = crate::config::parse(text, "t.toml").unwrap();
        Client::new(&config.sources["gl"], None).unwrap()
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// A spent budget holds requests until its reset; a 429 for its `Retry-After`, or a
    /// minute without one.
    #[test]
    fn a_spent_budget_and_a_429_hold_every_request() {
        let reset = chrono::Utc::now().timestamp() + 30;
        let c = client();
        c.note(
            200,
            &headers(&[
                ("ratelimit-limit", "2000".into()),
                ("ratelimit-remaining", "0".into()),
                ("ratelimit-reset", reset.to_string()),
            ]),
        );
        let w = c.waiting().unwrap().as_secs();
        assert!((28..=30).contains(&w), "{w}");
        assert_eq!(
            c.rate_limit().map(|r| (r.remaining, r.limit)),
            Some((0, 2000))
        );

        let c = client();
        c.note(200, &headers(&[]));
        assert_eq!(c.waiting(), None);
        c.note(429, &headers(&[("retry-after", "5".into())]));
        assert!((4..=5).contains(&c.waiting().unwrap().as_secs()));
        let c = client();
        c.note(429, &headers(&[]));
        assert!((59..=60).contains(&c.waiting().unwrap().as_secs()));
        assert_eq!(c.take_count(), 1);
    }

    /// The next page: the `Link` under the API's base, else `X-Next-Page` in the path's query;
    /// none on the last page or for a link elsewhere without `X-Next-Page`.
    #[test]
    fn the_next_page_from_link_or_x_next_page() {
        let base = "https://gl.example/api/v4";
        let path = "/projects/1/deployments?environment=prod&per_page=10";
        let h = headers(&[(
            "link",
            format!(r#"<{base}/projects/1/deployments?id_after=7&per_page=10>; rel="next""#),
        )]);
        assert_eq!(
            next_page(path, &h, base).as_deref(),
            Some("/projects/1/deployments?id_after=7&per_page=10")
        );
        let h = headers(&[
            (
                "link",
                r#"<https://elsewhere/api/v4/x?page=3>; rel="next""#.into(),
            ),
            ("x-next-page", "3".into()),
        ]);
        assert_eq!(
            next_page(&format!("{path}&page=2"), &h, base).as_deref(),
            Some("/projects/1/deployments?environment=prod&per_page=10&page=3")
        );
        assert_eq!(
            next_page("/projects/1/pipelines/5/jobs", &h, base).as_deref(),
            Some("/projects/1/pipelines/5/jobs?page=3")
        );
        let last = headers(&[("x-next-page", String::new()), ("x-page", "4".into())]);
        assert_eq!(next_page(path, &last, base), None);
        assert_eq!(next_page(path, &HeaderMap::new(), base), None);
    }

    #[test]
    fn budget_headers_are_all_three_or_none() {
        let mut h = HeaderMap::new();
        h.insert("RateLimit-Limit", "2000".parse().unwrap());
        h.insert("RateLimit-Remaining", "1990".parse().unwrap());
        assert_eq!(budget_of(&h), None, "gitlab.com leaves some out");
        h.insert("RateLimit-Reset", "1700000060".parse().unwrap());
        assert_eq!(
            budget_of(&h),
            Some(Budget {
                limit: 2000,
                remaining: 1990,
                reset: 1_700_000_060
            })
        );
    }
}
