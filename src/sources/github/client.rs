//! A GitHub REST client that stays within the rate limit: conditional requests (a 304 costs
//! nothing), the budget read from every answer, `retry-after` honoured, pagination only as far
//! as asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::text::sanitize;
use crate::model::world::{RateLimit, RequestRate};
use crate::secrets::Secret;
use crate::sources::http::{describe_reqwest, send_failure};

use super::budget::MinuteBudget;
use super::map;
use super::validators::{Cached, Validators};
use crate::sources::forge::{self, ApiError, Limits};
pub use crate::sources::forge::{Budget, next_link};

/// Counts of one poll, for the arithmetic of the next interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub requests: u64,
    pub not_modified: u64,
}

/// A request's error: see [`ApiError`].
pub type GhError = ApiError;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
    cache: Mutex<Validators>,
    /// The budget last announced, the hold GitHub asked for, the token's requests a minute.
    limits: Limits,
    /// Why requests are held, in words: which limit, and what GitHub asked.
    held_why: Mutex<String>,
    counts: Mutex<Counts>,
    /// Reads in flight at once, at most [`MAX_IN_FLIGHT`].
    permits: tokio::sync::Semaphore,
}

tokio::task_local! {
    /// The requests reserved for the read of one cell (see [`Ticket`]).
    static TICKET: Arc<Ticket>;
}

/// Requests reserved in the token's budget for one read (a cell's runs and checks, its
/// deployments and their statuses), so that a read begun is finished: its first request
/// reserves the whole estimate (when it is about to be sent, so that reads waiting for their
/// turn don't hold budget), the others are sent without asking again, and what was reserved
/// and not sent is given back.
#[derive(Debug)]
pub struct Ticket {
    estimate: u32,
    /// `None` until the first request reserved the estimate; then what is left of it.
    left: Mutex<Option<u32>>,
    used: std::sync::atomic::AtomicU32,
}

impl Ticket {
    /// Requests sent under this ticket.
    pub fn used(&self) -> u32 {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// May one more request of this read be sent? The first reserves the estimate in
    /// `minute` (or is refused); past the estimate, requests are sent and counted.
    fn admit(&self, minute: &MinuteBudget, now: Instant) -> bool {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        let l = match *left {
            Some(l) => l,
            None if minute.try_reserve(self.estimate.max(1), now) => self.estimate.max(1),
            None => return false,
        };
        if l == 0 {
            minute.take(now);
        }
        *left = Some(l.saturating_sub(1));
        self.used.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        true
    }

    /// The reservation not used.
    fn unused(&self) -> u32 {
        self.left
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(0)
    }
}

/// Reads one source sends at once, at most: a poll of a long train is hundreds of requests,
/// and GitHub refuses more than 100 concurrent ones per user (a secondary limit).
pub const MAX_IN_FLIGHT: usize = 20;

/// The budget kept back for actions and for the rest of the hour.
const RESERVE: f64 = 0.1;

impl Client {
    /// A client of the GitHub API at the source's `api_url`, built by
    /// [`crate::sources::client::build`] (timeouts, ca_file, proxies, https only).
    pub fn new(cfg: &crate::config::SourceConfig, token: Option<Secret>) -> Result<Client, String> {
        let http = crate::sources::client::build(cfg)?;
        let limits = Limits::new(cfg, token.as_ref());
        Ok(Client {
            http,
            base: cfg.url.trim_end_matches('/').to_string(),
            token,
            cache: Mutex::new(Validators::new(Instant::now())),
            limits,
            held_why: Mutex::new(String::new()),
            counts: Mutex::new(Counts::default()),
            permits: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t.expose());
        }
        rb
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.limits.rate_limit()
    }

    /// Counts since the last call (one poll's worth).
    pub fn take_counts(&self) -> Counts {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The token's requests in the last minute, and how many it allows.
    pub fn request_rate(&self) -> RequestRate {
        self.limits.request_rate()
    }

    /// Run the read `f` with `estimate` requests reserved in the token's budget when its
    /// first request is sent (see [`Ticket`]); the ticket says what was sent.
    pub async fn reserved<F: std::future::Future>(
        &self,
        estimate: u32,
        f: F,
    ) -> (F::Output, Arc<Ticket>) {
        let ticket = Arc::new(Ticket {
            estimate,
            left: Mutex::new(None),
            used: 0.into(),
        });
        let out = TICKET.scope(Arc::clone(&ticket), f).await;
        self.limits.minute.refund(ticket.unused());
        (out, ticket)
    }

    /// The stretch the token's budget puts on every interval now (see [`super::budget`]).
    pub fn stretch_factor(&self) -> f64 {
        self.limits.stretch_factor()
    }

    /// How long GitHub asked to wait before the next request (retry-after, a spent budget).
    pub fn waiting(&self) -> Option<Duration> {
        self.limits.waiting()
    }

    /// Hold every request for `d`, for the reason `why` (said while the hold lasts).
    fn hold_for(&self, d: Duration, why: String) {
        let longer = self.limits.waiting().is_none_or(|w| w < d);
        self.limits.hold.hold(d);
        if longer {
            *self.held_why.lock().unwrap_or_else(|e| e.into_inner()) = why;
        }
    }

    /// A request not sent because GitHub asked to wait: which limit, and how long is left.
    fn limited(&self, w: Duration) -> GhError {
        let why = self
            .held_why
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        GhError::Limited(format!(
            "rate limited ({why}): not asking GitHub again for {}s",
            w.as_secs().max(1)
        ))
    }

    /// Read the budget headers; hold requests when GitHub says to.
    fn note(&self, resp: &reqwest::Response) {
        let h = resp.headers();
        let mut spent = None;
        if let Some(b) = budget_of(h) {
            self.limits.keep(b);
            if b.remaining == 0 {
                let wait = until_reset(b.reset, chrono::Utc::now().timestamp());
                let why = format!("the hourly budget of {} requests is spent", b.limit);
                self.hold_for(Duration::from_secs(wait), why.clone());
                spent = Some(why);
            }
        }
        let status = resp.status().as_u16();
        if let Some(d) = retry_after(status, h) {
            let why = spent.unwrap_or_else(|| {
                format!(
                    "a secondary rate limit: GitHub answered {status} with retry-after {}s",
                    d.as_secs()
                )
            });
            self.hold_for(d, why);
        }
    }

    /// GET a JSON document, conditionally (a 304 reads the kept body and costs nothing), read
    /// as `T` straight from its bytes.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, GhError> {
        let (body, _) = self.get_page(path).await?;
        map::decode_json(&body).map_err(GhError::Failed)
    }

    /// GET a list and its next pages (`Link: rel="next"`), at most `max_pages`: the items of
    /// every page, under `key` when the list is inside an object (`check_runs`), read as `T`.
    /// A list of one page is read straight from its bytes.
    pub async fn get_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        key: Option<&str>,
        max_pages: usize,
    ) -> Result<T, GhError> {
        let (body, mut next) = self.get_page(path).await?;
        if next.is_none() || max_pages <= 1 {
            return map::decode_json(&body).map_err(GhError::Failed);
        }
        let mut first = json_value(&body)?;
        let mut pages = 1;
        while let Some(n) = next.take().filter(|_| pages < max_pages) {
            let (page, after) = self.get_page(&n).await?;
            let page = json_value(&page)?;
            let items = key
                .map_or(Some(&page), |k| page.get(k))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let target = match key {
                Some(k) => first.get_mut(k),
                None => Some(&mut first),
            };
            if let Some(Value::Array(list)) = target {
                list.extend(items);
            }
            next = after;
            pages += 1;
        }
        map::decode(first).map_err(GhError::Failed)
    }

    /// One page: its body (JSON, as GitHub sent it) and the path of the next one.
    async fn get_page(&self, path: &str) -> Result<(Arc<[u8]>, Option<String>), GhError> {
        // Held until the answer is read; a limit that arrived meanwhile is checked after.
        let _permit = self.permits.acquire().await;
        if let Some(w) = self.waiting() {
            return Err(self.limited(w));
        }
        let now = Instant::now();
        let allowed = match TICKET.try_with(Arc::clone) {
            Ok(t) => t.admit(&self.limits.minute, now),
            Err(_) => self.limits.minute.try_take(now),
        };
        if !allowed {
            return Err(GhError::Deferred(format!(
                "not read yet: this token's {} requests a minute (requests_per_minute) are spent; read when there is room",
                self.limits.minute.per_minute()
            )));
        }
        let validators = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(path);
        let mut rb = self.request(reqwest::Method::GET, path);
        if let Some((etag, modified)) = &validators {
            if let Some(e) = etag {
                rb = rb.header(reqwest::header::IF_NONE_MATCH, e);
            }
            if let Some(m) = modified {
                rb = rb.header(reqwest::header::IF_MODIFIED_SINCE, m);
            }
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| GhError::Failed(describe_reqwest(&e)))?;
        self.note(&resp);
        let status = resp.status();
        {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            c.requests += 1;
            if status == reqwest::StatusCode::NOT_MODIFIED {
                c.not_modified += 1;
            }
        }
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return self
                .cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .hit(path, Instant::now())
                .map(|c| (c.body, c.next))
                .ok_or_else(|| GhError::Failed("304 without a cached copy".into()));
        }
        let header = |k: reqwest::header::HeaderName| {
            resp.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let next = header(reqwest::header::LINK)
            .and_then(|l| next_link(&l))
            .and_then(|u| self.path_of(&u));
        let bytes = crate::sources::client::read_capped(resp)
            .await
            .map_err(GhError::Failed)?;
        if !status.is_success() {
            return Err(self.failed(status.as_u16(), &bytes));
        }
        // JSON, or not kept: parsed once here to tell (a copy to keep for 304s, then the
        // caller's read into its payload).
        is_json(&bytes)?;
        let body: Arc<[u8]> = bytes.into();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if etag.is_some() || last_modified.is_some() {
            let answer = Cached {
                etag,
                last_modified,
                body: Arc::clone(&body),
                next: next.clone(),
            };
            cache.put(path, answer, Instant::now());
        } else {
            // An answer without a validator: an old one must not be sent again.
            cache.forget(path);
        }
        drop(cache);
        Ok((body, next))
    }

    /// A URL GitHub gave (a `Link`) as a path under the base; none for another host.
    fn path_of(&self, url: &str) -> Option<String> {
        url.strip_prefix(&self.base).map(str::to_string)
    }

    /// POST JSON; the answer's status and body (an empty body is `null`).
    pub async fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), GhError> {
        if let Some(w) = self.waiting() {
            return Err(self.limited(w));
        }
        self.limits.minute.take(Instant::now());
        let resp = self
            .request(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .map_err(|e| send_failure(&e, GhError::Unanswered, GhError::Failed))?;
        self.note(&resp);
        let status = resp.status().as_u16();
        // The status says what happened; a body lost on the way only loses details (the run
        // to follow a dispatch by): said in the log.
        let bytes = crate::sources::client::read_capped(resp)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("GitHub answered {status}, but its body was lost: {e}");
                Vec::new()
            });
        if !(200..300).contains(&status) {
            return Err(self.failed(status, &bytes));
        }
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// How long to wait before the next poll so that the budget lasts until it resets: never
    /// shorter than `interval`, stretched when the last poll's cost × the polls left would
    /// spend more than what remains (less a reserve for actions).
    pub fn stretch(&self, interval: Duration, cost: u64) -> Duration {
        let Some(b) = self.limits.budget() else {
            return interval;
        };
        let now = chrono::Utc::now().timestamp();
        stretch(interval, cost, b, now)
    }
}

/// The pure arithmetic of [`Client::stretch`].
pub fn stretch(interval: Duration, cost: u64, b: Budget, now: i64) -> Duration {
    let left = until_reset(b.reset, now) as f64;
    let spendable = b.remaining as f64 - RESERVE * b.limit as f64;
    if cost == 0 {
        return interval;
    }
    if spendable <= cost as f64 {
        // Nothing to spare: wait for the reset.
        return Duration::from_secs_f64(left).max(interval);
    }
    let polls = spendable / cost as f64;
    Duration::from_secs_f64(left / polls).max(interval)
}

/// The budget an answer announces in `x-ratelimit-limit|remaining|reset`: all three, or none.
pub fn budget_of(h: &HeaderMap) -> Option<Budget> {
    forge::budget_of(h, "x-ratelimit-")
}

/// How long a 403 or 429 asks to hold requests: its `retry-after` seconds, between 1 s and an
/// hour. A secondary limit (429) without retry-after: GitHub asks for at least a minute. (A 403
/// is that only when its message says so: see `Client::failed`.)
pub fn retry_after(status: u16, h: &HeaderMap) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    match forge::header_num(h, "retry-after") {
        Some(secs) => Some(Duration::from_secs(secs.clamp(1, 3600) as u64)),
        None if status == 429 => Some(Duration::from_secs(60)),
        None => None,
    }
}

/// Seconds until a reset GitHub announced, between 1 and an hour (its window): a bogus value
/// never stalls the source for longer.
fn until_reset(reset: i64, now: i64) -> u64 {
    reset.saturating_sub(now).clamp(1, 3600) as u64
}

impl Client {
    /// An error answer; a 403 whose message speaks of a rate limit holds requests a minute
    /// when GitHub gave no time (its advice for secondary limits).
    fn failed(&self, status: u16, body: &[u8]) -> GhError {
        let e = error_of(status, body);
        if let GhError::Status(403, m) = &e
            && m.to_lowercase().contains("rate limit")
            && self.waiting().is_none()
        {
            let why = "GitHub answered 403 \"rate limit\" without retry-after: waiting a minute, as it advises";
            self.hold_for(Duration::from_secs(60), why.into());
        }
        e
    }
}

/// GitHub's error body `{"message": ...}` in words.
fn error_of(status: u16, body: &[u8]) -> GhError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(Value::as_str)
                .map(|m| sanitize(m, 200))
        })
        .unwrap_or_else(|| "no message".into());
    GhError::Status(status, message)
}

/// A body `get_page` read as a JSON tree (it was checked to be JSON).
fn json_value(body: &[u8]) -> Result<Value, GhError> {
    serde_json::from_slice(body).map_err(|e| not_json(&e.to_string()))
}

/// Whether `body` is JSON ([`forge::not_json`]), or why not.
fn is_json(body: &[u8]) -> Result<(), GhError> {
    forge::not_json(body).map_or(Ok(()), |e| Err(not_json(&e)))
}

fn not_json(e: &str) -> GhError {
    GhError::Failed(format!(
        "GitHub answered something that is not JSON: {}",
        sanitize(e, 120)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_is_kept_for_304s() {
        assert!(is_json(br#" {"workflow_runs": [{"id": 1, "name": "ci"}]} "#).is_ok());
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"{\"name\": \"\xff\"}",
            b"",
        ] {
            let Err(GhError::Failed(m)) = is_json(body) else {
                panic!("{body:?} taken for JSON");
            };
            assert!(
                m.starts_with("GitHub answered something that is not JSON: "),
                "{m}"
            );
        }
    }

    #[test]
    fn link_headers() {
        let h = r#"<https://api.github.com/repositories/1/check-runs?page=2>; rel="next", <https://api.github.com/repositories/1/check-runs?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/check-runs?page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn the_budget_stretches_the_interval() {
        let i = Duration::from_secs(10);
        let b = |remaining| Budget {
            limit: 5000,
            remaining,
            reset: 3600,
        };
        // Plenty: 4500 spendable, 20 per poll → 225 polls in an hour: 16s apart.
        let d = stretch(i, 20, b(5000), 0);
        assert!((15..=17).contains(&d.as_secs()), "{d:?}");
        // A cheap poll (everything 304) keeps the configured pace.
        assert_eq!(stretch(i, 0, b(100), 0), i);
        assert_eq!(stretch(i, 1, b(5000), 0), i);
        // Nearly spent: wait for the reset.
        assert_eq!(stretch(i, 20, b(400), 0), Duration::from_secs(3600));
        // Never faster than configured.
        assert_eq!(
            stretch(Duration::from_secs(60), 1, b(5000), 3599),
            Duration::from_secs(60)
        );
    }
}
