//! The headers the GitHub client reads: `Link` (pagination), `x-ratelimit-*`, `retry-after`,
//! and the interval arithmetic they feed. Input: lines `link`, `limit`, `remaining`, `reset`,
//! `retry-after`, `status`.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};
use trainyard::sources::github::client::{budget_of, next_link, retry_after, stretch};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == b'\n');
    let mut next = || parts.next().unwrap_or_default();
    let link = String::from_utf8_lossy(next()).into_owned();
    if let Some(url) = next_link(&link) {
        assert!(link.contains(url.as_str()));
    }
    let mut h = HeaderMap::new();
    for k in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    ] {
        if let Ok(v) = HeaderValue::from_bytes(next()) {
            h.insert(k, v);
        }
    }
    let status = String::from_utf8_lossy(next())
        .trim()
        .parse::<u16>()
        .unwrap_or(429);
    if let Some(d) = retry_after(status, &h) {
        assert!(status == 403 || status == 429);
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(3600));
    }
    if let Some(b) = budget_of(&h) {
        for now in [0, i64::MIN, i64::MAX, b.reset, 1_764_165_600] {
            for cost in [0, 1, 20, u64::MAX] {
                let d = stretch(Duration::from_secs(5), cost, b, now);
                assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(3600));
            }
        }
    }
});
