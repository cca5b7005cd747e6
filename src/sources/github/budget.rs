//! The request-rate budget of a token: GitHub refuses more than 900 points a minute of REST
//! (a GET is one point, `304` or not) with a secondary-limit `403`, so every source that
//! talks to the same API with the same token shares one budget of `requests_per_minute`
//! (600 by default). Two things keep within it:
//!
//! - **stretching**: every request is recorded with the stretch in force when it was sent,
//!   so the requests of the last minute say what the sources would send unstretched; when
//!   that is more than [`TARGET`] of the budget, every source's intervals stretch by the same
//!   factor (evenly: a lane's share doesn't depend on which source reads it);
//! - **a hard cap**: a read that would pass the budget within a rolling minute is not sent
//!   (the cell keeps its last answer and is read when there is room); actions are always sent,
//!   and counted.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::secrets::Secret;

/// The rolling window of the budget.
pub const MINUTE: Duration = Duration::from_secs(60);

/// The share of the budget the stretch aims at: the rest absorbs bursts (a poll's settled
/// cells coming due together) without reads being put off.
pub const TARGET: f64 = 0.85;

/// The most the stretch lengthens intervals: past it, reads are put off by the cap instead.
const MAX_FACTOR: f64 = 60.0;

#[derive(Debug)]
struct Inner {
    /// Requests of the last minute: when, and the stretch in force then.
    sent: VecDeque<(Instant, f64)>,
    /// The stretch in force.
    factor: f64,
}

/// Every budget of the process, by API and token (hashed).
type Registry = HashMap<(String, u64), Arc<MinuteBudget>>;

/// One token's budget of requests a minute (see the module's words).
#[derive(Debug)]
pub struct MinuteBudget {
    per_minute: AtomicU32,
    inner: Mutex<Inner>,
}

impl MinuteBudget {
    pub fn new(per_minute: u32) -> MinuteBudget {
        MinuteBudget {
            per_minute: AtomicU32::new(per_minute.max(1)),
            inner: Mutex::new(Inner {
                sent: VecDeque::new(),
                factor: 1.0,
            }),
        }
    }

    /// The budget shared by every source of this process that talks to `api` with `token`
    /// (the smallest `per_minute` any of them asks for).
    pub fn shared(api: &str, token: Option<&Secret>, per_minute: u32) -> Arc<MinuteBudget> {
        static ALL: OnceLock<Mutex<Registry>> = OnceLock::new();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        token.map(Secret::expose).hash(&mut h);
        let key = (api.trim_end_matches('/').to_string(), h.finish());
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = all
            .entry(key)
            .or_insert_with(|| Arc::new(MinuteBudget::new(per_minute)));
        entry
            .per_minute
            .fetch_min(per_minute.max(1), Ordering::Relaxed);
        entry.clone()
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A read may be sent at `now`: it is counted. `false`: the minute's budget is spent.
    pub fn try_take(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        prune(&mut inner.sent, now);
        if inner.sent.len() >= self.per_minute() as usize {
            return false;
        }
        record(&mut inner, now);
        true
    }

    /// Room for `n` requests of one read, counted now; `false` (nothing counted) when the
    /// minute hasn't room for all of them: a read begun is never cut off halfway.
    pub fn try_reserve(&self, n: u32, now: Instant) -> bool {
        let mut inner = self.lock();
        prune(&mut inner.sent, now);
        if inner.sent.len() + n as usize > self.per_minute() as usize {
            return false;
        }
        for _ in 0..n {
            record(&mut inner, now);
        }
        true
    }

    /// `n` requests reserved and not sent: given back.
    pub fn refund(&self, n: u32) {
        let mut inner = self.lock();
        for _ in 0..n {
            inner.sent.pop_back();
        }
    }

    /// An action was sent: always counted, never refused.
    pub fn take(&self, now: Instant) {
        let mut inner = self.lock();
        prune(&mut inner.sent, now);
        record(&mut inner, now);
    }

    /// Requests sent in the minute before `now`.
    pub fn used(&self, now: Instant) -> u32 {
        let mut inner = self.lock();
        prune(&mut inner.sent, now);
        inner.sent.len() as u32
    }

    /// The stretch for the intervals of every source of this token, computed again from the
    /// last minute ([`stretch_factor`]).
    pub fn factor(&self, now: Instant) -> f64 {
        let mut inner = self.lock();
        prune(&mut inner.sent, now);
        let weights: f64 = inner.sent.iter().map(|(_, f)| f).sum();
        inner.factor = stretch_factor(weights, self.per_minute());
        inner.factor
    }
}

fn prune(sent: &mut VecDeque<(Instant, f64)>, now: Instant) {
    while sent
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) >= MINUTE)
    {
        sent.pop_front();
    }
}

fn record(inner: &mut Inner, now: Instant) {
    let f = inner.factor;
    inner.sent.push_back((now, f));
}

/// How much to stretch every interval so that the requests a minute stay at [`TARGET`] of
/// `per_minute`: `weights` is the sum, over the requests of the last minute, of the stretch
/// each was sent under (what they would have been unstretched). A first poll that fills the
/// caches is a burst, not a rate: it counts as what it is, a minute's worth, and the cap
/// keeps it within the budget. Never below 1, never above [`MAX_FACTOR`].
pub fn stretch_factor(weights: f64, per_minute: u32) -> f64 {
    (weights / (TARGET * per_minute.max(1) as f64)).clamp(1.0, MAX_FACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stretch_keeps_the_demand_at_the_target() {
        // Under the target: the configured pace.
        assert_eq!(stretch_factor(300.0, 600), 1.0);
        assert_eq!(stretch_factor(0.0, 600), 1.0);
        // 1,020 a minute wanted, 510 (85% of 600) allowed: every interval twice as long.
        assert!((stretch_factor(1020.0, 600) - 2.0).abs() < 1e-9);
        assert_eq!(stretch_factor(1e9, 600), MAX_FACTOR);
    }

    #[test]
    fn the_cap_refuses_reads_past_the_minute_and_counts_actions() {
        let b = MinuteBudget::new(3);
        let t0 = Instant::now();
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        b.take(t0);
        assert!(
            !b.try_take(t0 + Duration::from_secs(59)),
            "the minute is spent"
        );
        assert_eq!(b.used(t0 + Duration::from_secs(59)), 3);
        // An action still goes.
        b.take(t0 + Duration::from_secs(59));
        assert_eq!(b.used(t0 + Duration::from_secs(59)), 4);
        // A minute later there is room again.
        assert!(b.try_take(t0 + Duration::from_secs(60)));
        assert_eq!(b.used(t0 + Duration::from_secs(60)), 2);
    }

    #[test]
    fn a_read_reserves_its_requests_whole_and_gives_back_what_it_did_not_send() {
        let b = MinuteBudget::new(10);
        let t0 = Instant::now();
        assert!(b.try_reserve(6, t0));
        assert!(!b.try_reserve(5, t0), "no room for all five: none counted");
        assert_eq!(b.used(t0), 6);
        b.refund(4);
        assert_eq!(b.used(t0), 2);
        assert!(b.try_reserve(8, t0));
        assert!(!b.try_take(t0));
    }

    #[test]
    fn requests_sent_stretched_count_for_what_they_stand_for() {
        let b = MinuteBudget::new(10);
        let t0 = Instant::now();
        for _ in 0..17 {
            b.take(t0);
        }
        // 17 in the minute, 8.5 allowed: twice as long.
        let f = b.factor(t0 + Duration::from_secs(10));
        assert!((f - 2.0).abs() < 1e-9, "{f}");
        // One more request, sent stretched, stands for two of them.
        b.take(t0 + Duration::from_secs(20));
        let f2 = b.factor(t0 + Duration::from_secs(20));
        assert!((f2 - 19.0 / 8.5).abs() < 1e-9, "{f2}");
        // Once the minute has passed, only the stretched one is left: 2 a minute, under the
        // 8.5 allowed.
        assert_eq!(b.factor(t0 + Duration::from_secs(70)), 1.0);
        assert_eq!(b.used(t0 + Duration::from_secs(70)), 1);
    }

    #[test]
    fn sources_of_one_token_share_a_budget_and_other_tokens_do_not() {
        let a = Secret::new("tok-a-budget-test");
        let b = Secret::new("tok-b-budget-test");
        let x = MinuteBudget::shared("https://ghe.example/api/v3/", Some(&a), 600);
        let y = MinuteBudget::shared("https://ghe.example/api/v3", Some(&a), 600);
        let z = MinuteBudget::shared("https://ghe.example/api/v3", Some(&b), 600);
        assert!(Arc::ptr_eq(&x, &y));
        assert!(!Arc::ptr_eq(&x, &z));
        // The smaller budget wins, for every source sharing it.
        let w = MinuteBudget::shared("https://ghe.example/api/v3", Some(&a), 100);
        assert!(Arc::ptr_eq(&x, &w));
        assert_eq!(x.per_minute(), 100);
        MinuteBudget::shared("https://ghe.example/api/v3", Some(&a), 600);
        assert_eq!(x.per_minute(), 100);
    }
}
