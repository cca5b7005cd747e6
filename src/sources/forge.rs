//! What the `github` and `gitlab` sources share of talking to a forge's REST API: the error of
//! a request, the request budget a forge announces in its answers' headers (`x-ratelimit-*` on
//! GitHub, `ratelimit-*` on GitLab), the next page a `Link` header names, and the limits a
//! client keeps between requests (the budget last announced, the hold a forge asked for, the
//! source's requests a minute), and whether an answer is JSON at all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::model::world::{RateLimit, RequestRate};
use crate::secrets::Secret;
use crate::sources::github::budget::MinuteBudget;
use crate::sources::retry_after::RetryAfter;

/// Whether `body` is JSON, or in words (as serde_json says it) why not. UTF-8 text first:
/// skipping a value, as this check does, doesn't look at its bytes.
pub fn not_json(body: &[u8]) -> Option<String> {
    let json = std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(|t| {
            serde_json::from_str::<serde::de::IgnoredAny>(t)
                .map(drop)
                .map_err(|e| e.to_string())
        });
    json.err()
}

#[derive(Debug)]
pub enum ApiError {
    /// Waiting out a rate limit.
    Limited(String),
    /// The request failed, or its answer was not understood.
    Failed(String),
    /// No answer in time: a request that changes something may have happened.
    Unanswered(String),
    /// The forge answered with this status and message.
    Status(u16, String),
    /// Not sent: the requests of the last minute are as many as `requests_per_minute` allows;
    /// asked again when there is room.
    Deferred(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Limited(m)
            | ApiError::Failed(m)
            | ApiError::Unanswered(m)
            | ApiError::Deferred(m) => f.write_str(m),
            ApiError::Status(s, m) => write!(f, "HTTP {s}: {m}"),
        }
    }
}

/// The budget as the forge last announced it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the budget is full again.
    pub reset: i64,
}

pub fn header_num(h: &HeaderMap, k: &str) -> Option<i64> {
    h.get(k)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// The budget an answer announces in `{prefix}limit`, `{prefix}remaining` and
/// `{prefix}reset`: all three, or none.
pub fn budget_of(h: &HeaderMap, prefix: &str) -> Option<Budget> {
    let num = |k: &str| header_num(h, &format!("{prefix}{k}"));
    Some(Budget {
        limit: num("limit")?.max(0) as u64,
        remaining: num("remaining")?.max(0) as u64,
        reset: num("reset")?,
    })
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// What a client keeps of a forge's limits between its requests.
pub struct Limits {
    budget: Mutex<Option<Budget>>,
    /// No requests before this (a `retry-after`, a spent budget); never shortened.
    pub hold: RetryAfter,
    /// The token's requests a minute, shared with every source of the same API and token.
    pub minute: Arc<MinuteBudget>,
}

impl Limits {
    pub fn new(cfg: &crate::config::SourceConfig, token: Option<&Secret>) -> Limits {
        Limits {
            budget: Mutex::new(None),
            hold: RetryAfter::new(),
            minute: MinuteBudget::shared(&cfg.url, token, cfg.requests_per_minute),
        }
    }

    /// Keep the budget an answer announced. Answers of concurrent requests arrive in any
    /// order: within one window, the smallest remaining is the newest.
    pub fn keep(&self, b: Budget) {
        let mut kept = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        *kept = Some(match *kept {
            Some(k) if k.reset == b.reset && k.limit == b.limit => Budget {
                remaining: k.remaining.min(b.remaining),
                ..b
            },
            _ => b,
        });
    }

    /// The budget as last announced.
    pub fn budget(&self) -> Option<Budget> {
        *self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        let b = self.budget()?;
        Some(RateLimit {
            remaining: b.remaining,
            limit: b.limit,
        })
    }

    /// The token's requests in the last minute, and how many it allows.
    pub fn request_rate(&self) -> RequestRate {
        RequestRate {
            used: self.minute.used(Instant::now()),
            per_minute: self.minute.per_minute(),
        }
    }

    /// The stretch the token's budget puts on every interval now (see
    /// [`crate::sources::github::budget`]).
    pub fn stretch_factor(&self) -> f64 {
        self.minute.factor(Instant::now())
    }

    /// How long the forge asked to wait before the next request.
    pub fn waiting(&self) -> Option<Duration> {
        self.hold.waiting()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_of_either_forge_are_all_three_headers_or_none() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", "2000".parse().unwrap());
        h.insert("ratelimit-remaining", "1990".parse().unwrap());
        assert_eq!(budget_of(&h, "ratelimit-"), None);
        h.insert("ratelimit-reset", "1700000060".parse().unwrap());
        let b = budget_of(&h, "ratelimit-").unwrap();
        assert_eq!((b.limit, b.remaining, b.reset), (2000, 1990, 1_700_000_060));
        assert_eq!(budget_of(&h, "x-ratelimit-"), None);
    }

    #[test]
    fn the_smallest_remaining_of_a_window_is_kept() {
        let text = "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
                    [sources.gl]\nkind = \"gitlab\"\napi_url = \"http://127.0.0.1:9/api/v4\"\n\n\
                    [[lanes]]\nname = \"a\"\nsource = \"gl\"\nproject = \"acme/a\"\n\
                    stages.prod = { environment = \"production\" }\n";
        let config = crate::config::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        let l = Limits::new(&config.sources["gl"], None);
        let b = |remaining, reset| Budget {
            limit: 2000,
            remaining,
            reset,
        };
        l.keep(b(10, 60));
        l.keep(b(12, 60));
        assert_eq!(
            l.budget(),
            Some(b(10, 60)),
            "a late answer of the same window"
        );
        l.keep(b(1990, 120));
        assert_eq!(l.budget(), Some(b(1990, 120)), "a new window");
        assert_eq!(
            l.rate_limit().map(|r| (r.remaining, r.limit)),
            Some((1990, 2000))
        );
    }
}
