//! What the GitHub client keeps per URL for conditional requests: the answer's validators
//! (`ETag`, `Last-Modified`), its body and its next page, so that a `304` costs nothing against
//! the hourly budget. Its keys name runs, deployments and commits, which come and go over a
//! long watch: an answer not asked for in [`IDLE`] goes (a URL trainyard stopped asking is not
//! worth its memory; asking it again is a plain GET), swept at most every [`SWEEP_EVERY`], and
//! never more than [`MAX`] are kept.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use std::sync::Arc;

/// URLs whose answers are kept, at most.
pub const MAX: usize = 4096;
/// An answer not asked for this long goes.
pub const IDLE: Duration = Duration::from_secs(600);
/// How often idle answers are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// One URL's last answer.
#[derive(Clone, Debug)]
pub struct Cached {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// As GitHub sent it (JSON), shared with whoever reads it.
    pub body: Arc<[u8]>,
    /// The `Link: <…>; rel="next"` of the answer, as a path under the base.
    pub next: Option<String>,
}

/// The kept answers, by path.
#[derive(Debug)]
pub struct Validators {
    kept: HashMap<String, (Cached, Instant)>,
    swept: Instant,
}

impl Validators {
    pub fn new(now: Instant) -> Validators {
        Validators {
            kept: HashMap::new(),
            swept: now,
        }
    }

    /// The validators to send for `path` (etag, last-modified), when an answer is kept.
    pub fn ask(&self, path: &str) -> Option<(Option<String>, Option<String>)> {
        let (c, _) = self.kept.get(path)?;
        Some((c.etag.clone(), c.last_modified.clone()))
    }

    /// The kept answer of `path` after a `304`: asked for now.
    pub fn hit(&mut self, path: &str, now: Instant) -> Option<Cached> {
        let (c, used) = self.kept.get_mut(path)?;
        *used = now;
        Some(c.clone())
    }

    /// A new answer of `path`, with a validator.
    pub fn put(&mut self, path: &str, answer: Cached, now: Instant) {
        if now.duration_since(self.swept) >= SWEEP_EVERY {
            self.kept
                .retain(|_, (_, used)| now.duration_since(*used) < IDLE);
            self.swept = now;
        }
        if self.kept.len() >= MAX && !self.kept.contains_key(path) {
            self.kept.clear();
        }
        self.kept.insert(path.to_string(), (answer, now));
    }

    /// `path`'s answer goes (a new one came without a validator: the old must not be sent
    /// again).
    pub fn forget(&mut self, path: &str) {
        self.kept.remove(path);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(etag: Option<&str>) -> Cached {
        Cached {
            etag: etag.map(String::from),
            last_modified: None,
            body: Arc::from(&b"null"[..]),
            next: None,
        }
    }

    #[test]
    fn answers_not_asked_for_go_and_those_asked_for_stay() {
        let t0 = Instant::now();
        let mut v = Validators::new(t0);
        v.put("/runs/1", answer(Some("a")), t0);
        v.put("/runs/2", answer(Some("b")), t0);
        assert_eq!(v.ask("/runs/1"), Some((Some("a".into()), None)));
        // /runs/1 is asked for again (a 304) late; /runs/2 never is.
        let late = t0 + IDLE - Duration::from_secs(1);
        assert!(v.hit("/runs/1", late).is_some());
        v.put(
            "/runs/3",
            answer(Some("c")),
            t0 + IDLE + Duration::from_secs(1),
        );
        assert_eq!(v.len(), 2, "the idle one went");
        assert!(v.ask("/runs/2").is_none());
        assert!(v.ask("/runs/1").is_some() && v.ask("/runs/3").is_some());
        // Swept at most every SWEEP_EVERY: right after a sweep nothing more goes.
        v.put(
            "/runs/4",
            answer(Some("d")),
            t0 + IDLE + Duration::from_secs(2),
        );
        assert_eq!(v.len(), 3);
        // An answer without a validator drops the old one.
        v.forget("/runs/1");
        assert!(v.ask("/runs/1").is_none());
    }

    #[test]
    fn never_more_than_max() {
        let t0 = Instant::now();
        let mut v = Validators::new(t0);
        for i in 0..MAX + 10 {
            v.put(&format!("/p/{i}"), answer(Some("e")), t0);
        }
        assert!(v.len() <= MAX);
    }
}
