//! Which reads a poll makes: a cell in motion (a run or deployment under way, a deployment
//! waiting for approval, a run trainyard dispatched and follows) is read every `interval`; a
//! settled cell (its run or deployment finished) every `settled_interval`, its last answer
//! standing in between. A repository's waiting runs are read every `interval` while one of
//! its environment cells moves, else every [`BRANCH_EVERY`] (a deployment held for approval
//! shows in its environment's deployments first); its default branch every [`BRANCH_EVERY`].
//! Every period is stretched by the token's request-rate budget ([`super::budget`]). A poll's
//! reads are folded into its batch by [`Fold`] (the `github` and `gitlab` sources alike).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use crate::model::{Batch, Cell, CellKey, CellState};

/// How often a repository's default branch is read again (it is named once and rarely
/// renamed), and the waiting runs of a repository whose environments are all settled.
pub const BRANCH_EVERY: Duration = Duration::from_secs(600);

/// Something may change in this cell soon without anyone outside acting on it: it is read at
/// the quick pace. A cell never read, or read with an error, is read at the next poll anyway
/// (it has no due time).
pub fn moving(cell: &Cell) -> bool {
    matches!(
        cell.state,
        CellState::Pending
            | CellState::Running
            | CellState::AwaitingApproval
            | CellState::RollingBack
            | CellState::Unknown
    )
}

/// The intervals of a source, and the stretch its token's budget puts on them now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    pub interval: Duration,
    pub settled: Duration,
    pub factor: f64,
}

impl Pace {
    /// How long after a read `key` is read again, before any stretch: `interval` after a
    /// read that found it in motion, else `settled_interval` spread over its last quarter by
    /// key, so that the cells read together in a first poll don't all come due in the same
    /// later one.
    pub fn base<K: Hash>(&self, key: &K, moving: bool) -> Duration {
        if moving {
            self.interval
        } else {
            self.settled.mul_f64(spread(key))
        }
    }

    /// `base` stretched by the budget as it is now (never quicker than `interval`).
    pub fn stretched(&self, base: Duration) -> Duration {
        base.mul_f64(self.factor.max(1.0)).max(self.interval)
    }
}

/// What one due cell's read came to: the cell as read (`None`: nothing there yet), or why
/// there is no answer.
pub type Read = Result<Option<Cell>, Unread>;

/// Why a due cell was not read.
pub enum Unread {
    /// Put off by the request budget: asked again at the next poll.
    Deferred(String),
    /// The read failed.
    Failed(String),
}

/// A poll's reads folded into its batch, against the cells kept between polls: each cell's
/// last answer and when it is read next.
pub struct Fold<'a> {
    last: &'a mut HashMap<CellKey, Option<Cell>>,
    due: &'a mut Schedule<CellKey>,
    now: Instant,
    pace: Pace,
    batch: &'a mut Batch,
    attempted: usize,
    errors: Vec<String>,
}

impl<'a> Fold<'a> {
    pub fn new(
        last: &'a mut HashMap<CellKey, Option<Cell>>,
        due: &'a mut Schedule<CellKey>,
        now: Instant,
        pace: Pace,
        batch: &'a mut Batch,
    ) -> Self {
        Fold {
            last,
            due,
            now,
            pace,
            batch,
            attempted: 0,
            errors: Vec::new(),
        }
    }

    /// One cell's read (`None`: it was not due) into the batch. A cell read is kept and read
    /// again at the pace `moving` says it needs; a read put off by the budget lets the last
    /// answer stand (a cell never read says why it is empty); a failed read is the cell's
    /// error. The cell's answer as it stands now joins the batch and is returned (none after
    /// a failure, or when there is nothing there).
    pub fn cell(
        &mut self,
        key: &CellKey,
        read: Option<Read>,
        moving: impl FnOnce(Option<&Cell>) -> bool,
    ) -> Option<&Cell> {
        self.attempted += usize::from(read.is_some());
        match read {
            Some(Ok(cell)) => {
                let base = self.pace.base(key, moving(cell.as_ref()));
                self.due.read(key, self.now, base);
                self.last.insert(key.clone(), cell);
            }
            Some(Err(Unread::Deferred(why))) if !self.last.contains_key(key) => {
                self.batch.cell_errors.push((key.clone(), why));
            }
            Some(Err(Unread::Deferred(_))) | None => {}
            Some(Err(Unread::Failed(e))) => {
                self.batch.cell_errors.push((key.clone(), e.clone()));
                self.errors.push(e);
                return None;
            }
        }
        let cell = self.last.get(key).cloned().flatten()?;
        self.batch.cells.push((key.clone(), cell));
        self.batch.cells.last().map(|(_, c)| c)
    }

    /// The poll's failure when every read it attempted failed (a bad token, a limit, an
    /// unreachable API: the source is down), in the first read's words.
    pub fn finish(self) -> Option<String> {
        (self.attempted > 0 && self.errors.len() == self.attempted)
            .then(|| self.errors.into_iter().next())
            .flatten()
    }
}

/// A number in [0.75, 1] that depends only on `key`.
fn spread<K: Hash>(key: &K) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    0.75 + 0.25 * (h.finish() % 1024) as f64 / 1023.0
}

/// When each key (a cell, a repository) was read, and after how long (unstretched) it is to
/// be read again. The stretch is applied when asked, so that a budget that eases shortens
/// the waits already scheduled.
#[derive(Debug)]
pub struct Schedule<K> {
    read: HashMap<K, (Instant, Duration)>,
}

impl<K: Hash + Eq + Clone> Default for Schedule<K> {
    fn default() -> Self {
        Schedule {
            read: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Schedule<K> {
    /// Is `key` to be read by a poll at `now`? Never read: yes. Due within half an interval:
    /// yes, rather than a whole poll late.
    pub fn is_due(&self, key: &K, now: Instant, pace: &Pace) -> bool {
        self.read
            .get(key)
            .is_none_or(|(at, base)| *at + pace.stretched(*base) <= now + pace.interval / 2)
    }

    /// `key` was read at `now`: next after `base` (stretched as the budget will say then).
    pub fn read(&mut self, key: &K, now: Instant, base: Duration) {
        self.read.insert(key.clone(), (now, base));
    }

    /// Read `key` at the next poll (something says it changed, an action touched it).
    pub fn wake(&mut self, key: &K) {
        self.read.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(state: CellState) -> Cell {
        Cell::new(String::new(), state)
    }

    #[test]
    fn runs_under_way_move_and_finished_ones_are_settled() {
        for st in [
            CellState::Pending,
            CellState::Running,
            CellState::AwaitingApproval,
            CellState::RollingBack,
            CellState::Unknown,
        ] {
            assert!(moving(&cell(st)), "{st}");
        }
        for st in [
            CellState::Succeeded,
            CellState::Failed,
            CellState::Cancelled,
            CellState::RolledBack,
            CellState::Paused,
        ] {
            assert!(!moving(&cell(st)), "{st}");
        }
    }

    #[test]
    fn settled_cells_wait_longer_and_the_budget_stretches_both() {
        let p = Pace {
            interval: Duration::from_secs(5),
            settled: Duration::from_secs(60),
            factor: 1.0,
        };
        assert_eq!(p.base(&"a", true), Duration::from_secs(5));
        let s = p.base(&"a", false);
        assert!((45..=60).contains(&s.as_secs()), "{s:?}");
        // The same key, the same period; keys spread.
        assert_eq!(p.base(&"a", false), s);
        let spread: std::collections::BTreeSet<u64> = (0..50)
            .map(|i| p.base(&format!("lane-{i}"), false).as_millis() as u64)
            .collect();
        assert!(spread.len() > 25, "{spread:?}");
        assert_eq!(p.stretched(s), s);
        let stretched = Pace { factor: 2.5, ..p };
        assert_eq!(
            stretched.stretched(p.interval),
            Duration::from_millis(12_500)
        );
        assert_eq!(stretched.stretched(s), s.mul_f64(2.5));
        // Never quicker than the interval, whatever the factor or the spread say.
        let odd = Pace { factor: 0.1, ..p };
        assert_eq!(odd.stretched(p.interval), Duration::from_secs(5));
        assert_eq!(p.stretched(Duration::from_secs(1)), Duration::from_secs(5));
    }

    /// A read cell is kept and scheduled; a deferred read lets the last answer stand (or says
    /// why a cell is empty); a failed one is the cell's error; all failed, the poll failed.
    #[test]
    fn a_fold_keeps_answers_through_deferred_reads_and_names_failures() {
        let p = Pace {
            interval: Duration::from_secs(5),
            settled: Duration::from_secs(60),
            factor: 1.0,
        };
        let (a, b, c) = (
            CellKey::new("a", "prod"),
            CellKey::new("b", "prod"),
            CellKey::new("c", "prod"),
        );
        let mut last = HashMap::new();
        let mut due = Schedule::default();
        let t0 = Instant::now();
        let mut batch = Batch::default();
        let mut f = Fold::new(&mut last, &mut due, t0, p, &mut batch);
        let kept = f.cell(&a, Some(Ok(Some(cell(CellState::Running)))), |c| {
            c.is_some_and(moving)
        });
        assert_eq!(kept.map(|c| c.state), Some(CellState::Running));
        assert!(
            f.cell(&b, Some(Err(Unread::Deferred("later".into()))), |_| true)
                .is_none()
        );
        assert!(
            f.cell(&c, Some(Err(Unread::Failed("HTTP 500".into()))), |_| true)
                .is_none()
        );
        assert_eq!(f.finish(), None, "one read came back");
        assert_eq!(batch.cells.len(), 1);
        assert_eq!(
            batch.cell_errors,
            [
                (b.clone(), "later".to_string()),
                (c.clone(), "HTTP 500".to_string())
            ]
        );
        assert!(!due.is_due(&a, t0 + Duration::from_secs(1), &p));

        // Next poll: a is not due and b is put off again: a's answer stands, b says nothing.
        let mut batch = Batch::default();
        let mut f = Fold::new(&mut last, &mut due, t0, p, &mut batch);
        assert!(f.cell(&a, None, |_| true).is_some());
        f.cell(&b, Some(Err(Unread::Failed("HTTP 401".into()))), |_| true);
        assert_eq!(f.finish().as_deref(), Some("HTTP 401"), "every read failed");
        assert_eq!(batch.cells.len(), 1);
    }

    #[test]
    fn a_schedule_reads_what_is_due_and_what_was_woken() {
        let p = Pace {
            interval: Duration::from_secs(5),
            settled: Duration::from_secs(60),
            factor: 1.0,
        };
        let mut s: Schedule<String> = Schedule::default();
        let t0 = Instant::now();
        let k = "checkout build".to_string();
        assert!(s.is_due(&k, t0, &p), "never read");
        s.read(&k, t0, Duration::from_secs(60));
        assert!(!s.is_due(&k, t0 + Duration::from_secs(5), &p));
        assert!(
            s.is_due(&k, t0 + Duration::from_secs(58), &p),
            "within half an interval"
        );
        // A stretch lengthens the wait already scheduled, and its easing shortens it again.
        let busy = Pace { factor: 3.0, ..p };
        assert!(!s.is_due(&k, t0 + Duration::from_secs(100), &busy));
        assert!(s.is_due(&k, t0 + Duration::from_secs(100), &p));
        s.wake(&k);
        assert!(s.is_due(&k, t0 + Duration::from_secs(5), &p));
    }
}
