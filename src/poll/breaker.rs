//! A circuit breaker per source, with jittered exponential backoff.
//!
//! Closed: polls at the source's interval. After [`TRIP_AFTER`] failures in a row it opens:
//! no requests at all for a cool-down that doubles with every failed probe (interval × 2ⁿ, at
//! most [`MAX_COOLDOWN`]), each wait jittered ±20 % so that many trainyards on a jump host do
//! not hammer a recovering server in step. When the cool-down ends one probe goes out
//! (half-open): success closes the circuit, failure opens it again for longer. Pure: the poll
//! task feeds it results and the clock.

use std::time::Duration;

use crate::model::duration::human;

/// Failures in a row that open the circuit.
pub const TRIP_AFTER: u32 = 3;
/// The longest wait between two tries of a failing source.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    /// No requests until the cool-down ends; then one probe.
    Open,
    /// The probe is out.
    HalfOpen,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    interval: Duration,
    failures: u32,
    state: State,
    /// A small xorshift state for the jitter (seeded per source: no two in step).
    rng: u64,
}

impl Breaker {
    pub fn new(interval: Duration, seed: &str) -> Breaker {
        // FNV-1a of the seed and the time: different per source and per process.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Breaker {
            interval,
            failures: 0,
            state: State::Closed,
            rng: (h ^ u64::from(nanos)) | 1,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The interval may change (a rate limit stretches it).
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    /// A poll is about to go out.
    pub fn before_poll(&mut self) {
        if self.state == State::Open {
            self.state = State::HalfOpen;
        }
    }

    /// The poll's result: how long to wait before the next one.
    pub fn after_poll(&mut self, ok: bool) -> Duration {
        if ok {
            self.failures = 0;
            self.state = State::Closed;
            return self.interval;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures < TRIP_AFTER && self.state == State::Closed {
            return self.jitter(self.interval);
        }
        self.state = State::Open;
        self.jitter(self.cooldown())
    }

    /// The wait while open: interval × 2ⁿ for the n-th failure past the trip, capped.
    fn cooldown(&self) -> Duration {
        let n = self.failures.saturating_sub(TRIP_AFTER - 1).min(8);
        self.interval
            .saturating_mul(1 << n)
            .min(MAX_COOLDOWN.max(self.interval))
    }

    /// ±20 %.
    fn jitter(&mut self, d: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        d.mul_f64(0.8 + 0.4 * unit)
    }

    /// Words for the source's error while the circuit is open: "3 failures in a row; next try
    /// in 40s".
    pub fn describe(&self, wait: Duration) -> Option<String> {
        (self.state == State::Open).then(|| {
            format!(
                "{} failures in a row, circuit open: next try in {}",
                self.failures,
                human(wait)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(d: Duration, expected: Duration) -> bool {
        let (lo, hi) = (expected.mul_f64(0.8), expected.mul_f64(1.2));
        d >= lo && d <= hi
    }

    #[test]
    fn opens_after_failures_backs_off_with_jitter_and_closes_on_success() {
        let i = Duration::from_secs(5);
        let mut b = Breaker::new(i, "gh");
        b.before_poll();
        assert!(within(b.after_poll(false), i));
        assert_eq!(b.state(), State::Closed);
        b.before_poll();
        assert!(within(b.after_poll(false), i));
        // The third failure in a row opens it: 10s, then 20s, 40s, capped at 60s.
        b.before_poll();
        let w = b.after_poll(false);
        assert_eq!(b.state(), State::Open);
        assert!(within(w, Duration::from_secs(10)), "{w:?}");
        assert!(
            b.describe(w)
                .unwrap()
                .starts_with("3 failures in a row, circuit open")
        );
        for expected in [20, 40, 60, 60] {
            b.before_poll();
            assert_eq!(b.state(), State::HalfOpen, "one probe when the wait ends");
            let w = b.after_poll(false);
            assert!(
                within(w, Duration::from_secs(expected)),
                "{w:?} vs {expected}"
            );
        }
        // Recovery: one good probe closes it and the interval is back.
        b.before_poll();
        assert_eq!(b.after_poll(true), i);
        assert_eq!((b.state(), b.failures()), (State::Closed, 0));
        assert_eq!(b.describe(i), None);
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let mut b = Breaker::new(Duration::from_secs(10), "x");
        let waits: std::collections::BTreeSet<u128> = (0..50)
            .map(|_| b.jitter(Duration::from_secs(10)).as_millis())
            .collect();
        assert!(waits.len() > 40, "{waits:?}");
        assert!(waits.iter().all(|w| (8000..=12000).contains(w)));
    }

    #[test]
    fn a_slow_interval_is_never_polled_faster() {
        let slow = Duration::from_secs(120);
        let mut b = Breaker::new(slow, "s");
        for _ in 0..6 {
            b.before_poll();
            let w = b.after_poll(false);
            assert!(w >= slow.mul_f64(0.8), "{w:?}");
        }
    }
}
