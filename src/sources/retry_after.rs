//! `retry-after`: a server (or the proxy in front of it) that answers 429 or 503 with a time
//! to wait is not asked again before that time has passed. In a 429 storm, every request sent
//! anyway is one more refused and may lengthen the storm; a poll that knows it would be
//! refused fails at once instead, and says how long is left.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest wait a server can impose: an hour (a bogus value never stalls a source for
/// longer).
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// When a source may be asked again.
#[derive(Debug, Default)]
pub struct RetryAfter {
    until: Mutex<Option<Instant>>,
}

impl RetryAfter {
    pub fn new() -> RetryAfter {
        RetryAfter::default()
    }

    /// How long is left to wait, if the server asked for a wait that has not passed.
    pub fn waiting(&self) -> Option<Duration> {
        let until = (*self.until.lock().unwrap_or_else(|e| e.into_inner()))?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// Read an answer: a 429 or a 503 with `retry-after` holds requests until then. Returns
    /// the wait it imposed.
    pub fn note(&self, status: u16, headers: &reqwest::header::HeaderMap) -> Option<Duration> {
        if status != 429 && status != 503 {
            return None;
        }
        let value = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())?;
        let wait = parse(value, chrono::Utc::now())?;
        self.hold(wait);
        Some(wait)
    }

    /// Hold requests for `wait` from now — never shortening a wait already imposed (a quick
    /// retry-after on one answer must not cut a spent budget's hour short).
    pub fn hold(&self, wait: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let new = Instant::now() + wait;
        if until.is_none_or(|u| u < new) {
            *until = Some(new);
        }
    }

    /// The words for a request not sent: "rate limited: the server asked to wait 4s more".
    pub fn refusal(&self, what: &str) -> Option<String> {
        self.waiting().map(|w| {
            format!(
                "rate limited: {what} asked to wait {}s more (retry-after); not asked again before",
                w.as_secs_f64().ceil().max(1.0) as u64
            )
        })
    }
}

/// A `retry-after` value: delay-seconds or an HTTP date, between 1 s and [`MAX_WAIT`].
pub fn parse(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    let secs = match v.parse::<u64>() {
        Ok(s) => s,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
            (at.timestamp() - now.timestamp()).max(0) as u64
        }
    };
    Some(Duration::from_secs(secs).clamp(Duration::from_secs(1), MAX_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn seconds_and_dates_within_bounds() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now), Some(Duration::from_secs(1)));
        assert_eq!(parse("99999999", now), Some(MAX_WAIT));
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse("soon", now), None);
    }

    #[test]
    fn only_429_and_503_hold_and_a_hold_is_never_shortened() {
        let r = RetryAfter::new();
        assert_eq!(r.note(500, &headers("30")), None);
        assert_eq!(r.note(200, &headers("30")), None);
        assert!(r.waiting().is_none());
        assert_eq!(r.note(429, &HeaderMap::new()), None);
        assert_eq!(r.note(429, &headers("30")), Some(Duration::from_secs(30)));
        let w = r.waiting().unwrap();
        assert!(w > Duration::from_secs(25) && w <= Duration::from_secs(30));
        r.note(503, &headers("2"));
        assert!(r.waiting().unwrap() > Duration::from_secs(25));
        assert!(
            r.refusal("the server")
                .unwrap()
                .starts_with("rate limited: the server asked to wait 3")
        );
    }

    #[test]
    fn a_short_wait_never_cuts_a_long_one() {
        let r = RetryAfter::new();
        r.hold(Duration::from_secs(3600));
        r.hold(Duration::from_secs(5));
        assert!(r.waiting().unwrap() > Duration::from_secs(3000));
        // A 429 with a short retry-after doesn't either.
        r.note(429, &headers("5"));
        assert!(r.waiting().unwrap() > Duration::from_secs(3000));
    }
}
