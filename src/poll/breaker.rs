//! A circuit breaker per source, with jittered exponential backoff, and the pauses a source
//! asks for.
//!
//! Closed: polls at the source's interval. After [`TRIP_AFTER`] failures in a row it is open:
//! no requests at all for a cool-down that doubles with every failed probe (interval × 2ⁿ, at
//! most [`MAX_COOLDOWN`]), each wait jittered ±20 % so that many trainyards on a jump host do
//! not hammer a recovering server in step. When the cool-down ends one probe goes out
//! (half-open): success closes the circuit, failure opens it again for longer. The state is a
//! function of the failures in a row, nothing else.
//!
//! A refusal with `retry-after` (a rate limit) is no failure: the server is up and said when
//! to come back. It holds the source until then ([`Breaker::hold`]) without counting towards
//! the trip, and nothing wakes a held source early ([`Breaker::wake`]). Pure: the poll task
//! feeds it results and the clock.

use std::time::{Duration, Instant};

use crate::model::duration::human;

/// Failures in a row that open the circuit.
pub const TRIP_AFTER: u32 = 3;
/// The longest wait between two tries of a failing source.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    /// No requests until the cool-down ends; then one probe (half-open), whose result closes
    /// it or opens it for longer.
    Open,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    interval: Duration,
    failures: u32,
    /// No poll before this: a pause the source asked for. Never shortened.
    held_until: Option<Instant>,
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
            held_until: None,
            rng: (h ^ u64::from(nanos)) | 1,
        }
    }

    /// Open from the [`TRIP_AFTER`]-th failure in a row until a poll succeeds.
    pub fn state(&self) -> State {
        if self.failures >= TRIP_AFTER {
            State::Open
        } else {
            State::Closed
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The interval may change (a rate limit stretches it).
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    /// No poll before `until` (a hold already longer stays).
    pub fn hold(&mut self, until: Instant) {
        if self.held_until.is_none_or(|u| u < until) {
            self.held_until = Some(until);
        }
    }

    /// How long the source is still held at `now`.
    pub fn held(&self, now: Instant) -> Option<Duration> {
        self.held_until
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Someone asks for a poll now (after an action): how long to wait first. Zero unless the
    /// source is held; then the rest of the hold (polled sooner, it would only be refused
    /// again, and count against the limit).
    pub fn wake(&self, now: Instant) -> Duration {
        self.held(now).unwrap_or_default()
    }

    /// The poll's result at `now`, and how long the source asked not to be asked again
    /// after it (`Source::held_for`): how long to wait before the next poll. A failure while
    /// the source is held is the refusal the hold explains: it waits out the hold and is not
    /// counted (the failures before it stand).
    pub fn after_poll(&mut self, ok: bool, held_for: Option<Duration>, now: Instant) -> Duration {
        if let Some(h) = held_for {
            self.hold(now + h);
        }
        let wait = match (ok, held_for) {
            (true, _) => {
                self.failures = 0;
                self.interval
            }
            (false, Some(_)) => self.failing_wait(),
            (false, None) => {
                self.failures = self.failures.saturating_add(1);
                self.failing_wait()
            }
        };
        wait.max(self.held(now).unwrap_or_default())
    }

    /// The wait after a poll that did not succeed: the interval while closed (jittered), the
    /// cool-down while open.
    fn failing_wait(&mut self) -> Duration {
        match self.state() {
            State::Closed if self.failures == 0 => self.interval,
            State::Closed => self.jitter(self.interval),
            State::Open => self.jitter(self.cooldown()),
        }
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
        (self.state() == State::Open).then(|| {
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

    fn poll(b: &mut Breaker, ok: bool) -> Duration {
        b.after_poll(ok, None, Instant::now())
    }

    #[test]
    fn opens_after_failures_backs_off_with_jitter_and_closes_on_success() {
        let i = Duration::from_secs(5);
        let mut b = Breaker::new(i, "gh");
        assert!(within(poll(&mut b, false), i));
        assert_eq!(b.state(), State::Closed);
        assert!(within(poll(&mut b, false), i));
        // The third failure in a row opens it: 10s, then 20s, 40s, capped at 60s.
        let w = poll(&mut b, false);
        assert_eq!(b.state(), State::Open);
        assert!(within(w, Duration::from_secs(10)), "{w:?}");
        assert!(
            b.describe(w)
                .unwrap()
                .starts_with("3 failures in a row, circuit open")
        );
        for expected in [20, 40, 60, 60] {
            // One probe when the wait ends; its failure opens it for longer.
            let w = poll(&mut b, false);
            assert_eq!(b.state(), State::Open);
            assert!(
                within(w, Duration::from_secs(expected)),
                "{w:?} vs {expected}"
            );
        }
        // Recovery: one good probe closes it and the interval is back.
        assert_eq!(poll(&mut b, true), i);
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
            let w = poll(&mut b, false);
            assert!(w >= slow.mul_f64(0.8), "{w:?}");
        }
    }

    /// A rate limit is a pause the server asked for, not a server that is down: however many
    /// refusals in a row, the circuit stays closed, and each waits out the retry-after.
    #[test]
    fn refusals_with_retry_after_wait_and_never_open_the_circuit() {
        let i = Duration::from_secs(5);
        let mut b = Breaker::new(i, "gh");
        let t0 = Instant::now();
        for n in 0..5u64 {
            let now = t0 + Duration::from_secs(100 * n);
            let w = b.after_poll(false, Some(Duration::from_secs(30)), now);
            assert_eq!(w, Duration::from_secs(30));
            assert_eq!((b.state(), b.failures()), (State::Closed, 0));
            assert_eq!(b.describe(w), None);
        }
        // A short retry-after still waits the interval.
        let now = t0 + Duration::from_secs(1000);
        assert_eq!(b.after_poll(false, Some(Duration::from_secs(1)), now), i);
        // Real failures before a refusal stand: the next real one still counts on from them.
        poll(&mut b, false);
        poll(&mut b, false);
        b.after_poll(false, Some(Duration::from_secs(1)), Instant::now());
        assert_eq!(b.failures(), 2);
        poll(&mut b, false);
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn a_wake_waits_out_a_hold() {
        let mut b = Breaker::new(Duration::from_secs(5), "gh");
        let t0 = Instant::now();
        assert_eq!(b.wake(t0), Duration::ZERO, "nothing held: poll now");
        b.after_poll(false, Some(Duration::from_secs(30)), t0);
        assert_eq!(b.held(t0), Some(Duration::from_secs(30)));
        assert_eq!(
            b.wake(t0 + Duration::from_secs(10)),
            Duration::from_secs(20)
        );
        // A shorter hold does not cut it short; a good poll does not lift it either (a spent
        // budget is held until its reset even though the answer was good).
        b.hold(t0 + Duration::from_secs(5));
        assert_eq!(b.held(t0), Some(Duration::from_secs(30)));
        assert_eq!(
            b.after_poll(true, None, t0 + Duration::from_secs(1)),
            Duration::from_secs(29)
        );
        assert_eq!(b.wake(t0 + Duration::from_secs(30)), Duration::ZERO);
    }
}
