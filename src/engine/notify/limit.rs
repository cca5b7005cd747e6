//! The rate limit on notifications: at most one per `at_most_every`, and none while the person
//! types (a dialog, the filter line). What comes meanwhile waits, and goes out as one: the most
//! important of it "and 3 more". Nothing is dropped without a word.

use std::time::Duration;

use super::Notice;
use crate::config::NoticeKind;
use crate::model::Timestamp;

/// Notices waiting to go out.
#[derive(Clone, Debug)]
pub struct Limiter {
    every: Duration,
    /// When the last notification went out.
    last: Option<Timestamp>,
    /// The most important notice waiting (the first of equals).
    best: Option<Notice>,
    /// How many wait, `best` included.
    waiting: usize,
}

/// One notification to give: a notice, and how many more came with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub notice: Notice,
    pub more: usize,
}

impl Batch {
    /// "approval waits for you: … (and 3 more)".
    pub fn text(&self) -> String {
        match self.more {
            0 => self.notice.text.clone(),
            n => format!("{} (and {n} more)", self.notice.text),
        }
    }
}

/// Which notice speaks for a batch: lower first.
fn rank(kind: NoticeKind) -> u8 {
    match kind {
        NoticeKind::Approval => 0,
        NoticeKind::Breach => 1,
        NoticeKind::Action => 2,
        NoticeKind::Source => 3,
        NoticeKind::Blocker => 4,
    }
}

impl Limiter {
    pub fn new(every: Duration) -> Limiter {
        Limiter {
            every,
            last: None,
            best: None,
            waiting: 0,
        }
    }

    /// One more notice to give.
    pub fn push(&mut self, n: Notice) {
        self.waiting += 1;
        if self
            .best
            .as_ref()
            .is_none_or(|b| rank(n.kind) < rank(b.kind))
        {
            self.best = Some(n);
        }
    }

    /// How many notices wait.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// The notification to give at `now`, if one is due: none while `hold` (the person types)
    /// or sooner than `every` after the last one; else everything waiting, as one.
    pub fn take(&mut self, now: Timestamp, hold: bool) -> Option<Batch> {
        if hold || self.best.is_none() {
            return None;
        }
        // A clock that stepped back does not hold notifications up until it catches up.
        let due = self.last.is_none_or(|last| {
            (now - last)
                .to_std()
                .map_or(true, |gone| gone >= self.every)
        });
        if !due {
            return None;
        }
        self.last = Some(now);
        let notice = self.best.take()?;
        let more = std::mem::take(&mut self.waiting).saturating_sub(1);
        Some(Batch { notice, more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Tone;

    fn at(s: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn n(kind: NoticeKind, text: &str, s: i64) -> Notice {
        Notice {
            at: at(s),
            kind,
            tone: Tone::Bad,
            lane: None,
            stage: None,
            text: text.into(),
        }
    }

    #[test]
    fn the_first_goes_at_once_then_at_most_one_per_interval() {
        let mut l = Limiter::new(Duration::from_secs(30));
        assert_eq!(l.take(at(0), false), None, "nothing waits");
        l.push(n(NoticeKind::Breach, "a", 0));
        let b = l.take(at(0), false).unwrap();
        assert_eq!((b.text(), b.more), ("a".to_string(), 0));
        // Within 30 s of it, the next ones wait...
        l.push(n(NoticeKind::Blocker, "b", 1));
        l.push(n(NoticeKind::Blocker, "c", 2));
        l.push(n(NoticeKind::Blocker, "d", 3));
        assert_eq!(l.take(at(29), false), None);
        assert_eq!(l.waiting(), 3);
        // ...and go out together at 30 s: the first of them, and how many more.
        let b = l.take(at(30), false).unwrap();
        assert_eq!(b.text(), "b (and 2 more)");
        assert_eq!(l.waiting(), 0);
        assert_eq!(l.take(at(90), false), None, "nothing left");
    }

    #[test]
    fn the_most_important_speaks_for_the_batch() {
        let mut l = Limiter::new(Duration::from_secs(30));
        l.push(n(NoticeKind::Blocker, "blocker", 0));
        l.push(n(NoticeKind::Source, "source", 0));
        l.push(n(NoticeKind::Approval, "approval", 0));
        l.push(n(NoticeKind::Breach, "breach", 0));
        l.push(n(NoticeKind::Approval, "second approval", 0));
        assert_eq!(
            l.take(at(0), false).unwrap().text(),
            "approval (and 4 more)"
        );
    }

    #[test]
    fn nothing_goes_out_while_the_person_types_and_nothing_is_lost() {
        let mut l = Limiter::new(Duration::from_secs(30));
        l.push(n(NoticeKind::Breach, "a", 0));
        l.push(n(NoticeKind::Action, "b", 0));
        for s in [0, 10, 100, 1000] {
            assert_eq!(l.take(at(s), true), None);
        }
        assert_eq!(l.waiting(), 2);
        assert_eq!(l.take(at(1001), false).unwrap().text(), "a (and 1 more)");
    }

    #[test]
    fn a_clock_stepping_back_does_not_hold_notifications_up() {
        let mut l = Limiter::new(Duration::from_secs(30));
        l.push(n(NoticeKind::Breach, "a", 0));
        assert!(l.take(at(100), false).is_some());
        l.push(n(NoticeKind::Breach, "b", 0));
        assert_eq!(l.take(at(50), false).unwrap().text(), "b");
    }
}
