//! What every frame asks of an unchanged snapshot, answered once: what the selected cell's
//! action keys would do (the engine judges them when asked: a preflight each) and the widest
//! lane name and team of the train (a look at every lane). Each answer is kept with what it
//! was asked of — the snapshot or the train, by identity, and the selected cell — and asked
//! again as soon as either is another.
//!
//! Identity is held as a `Weak`: it keeps the old snapshot's allocation from being reused by
//! a new one at the same address while it is remembered, without keeping its contents alive.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use crate::engine::Snapshot;
use crate::model::{ActionKind, Train};
use crate::ops::availability::Avail;
use crate::tui::ui::width;

/// The kinds a cell's keys ask about, each with its slot (pause and resume are one key).
const KINDS: usize = 6;

fn slot(kind: ActionKind) -> Option<usize> {
    Some(match kind {
        ActionKind::Promote => 0,
        ActionKind::Pause | ActionKind::Resume => 1,
        ActionKind::Rollback => 2,
        ActionKind::Approve => 3,
        ActionKind::Reject => 4,
        ActionKind::Abort => 5,
        ActionKind::Halt | ActionKind::Unhalt => return None,
    })
}

/// The answers for one cell of one snapshot, each judged the first time it is asked.
struct Answers {
    snap: Weak<Snapshot>,
    cell: (usize, usize),
    kinds: [Option<Option<Avail>>; KINDS],
}

/// The widest lane name and team of a train, in terminal columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Widest {
    pub name: usize,
    pub team: usize,
}

impl Widest {
    fn of(train: &Train) -> Widest {
        let widest = |f: fn(&crate::model::Lane) -> &str| {
            train.lanes.iter().map(|l| width(f(l))).max().unwrap_or(0)
        };
        Widest {
            name: widest(|l| &l.name),
            team: widest(|l| &l.team),
        }
    }
}

#[derive(Default)]
pub struct Memo {
    answers: RefCell<Option<Answers>>,
    widest: RefCell<Option<(Weak<Train>, Widest)>>,
    /// How many times the engine was asked: each answer is judged once.
    judged: Cell<usize>,
}

impl Memo {
    /// What the key for `kind` would do on lane `li` × stage `si` of `snap`: the engine's
    /// answer ([`Snapshot::avail`]), judged once per snapshot and cell.
    pub fn avail(
        &self,
        snap: &Arc<Snapshot>,
        li: usize,
        si: usize,
        kind: ActionKind,
    ) -> Option<Avail> {
        let Some(at) = slot(kind) else {
            return snap.avail(li, si, kind);
        };
        let mut kept = self.answers.borrow_mut();
        // Another snapshot or another cell: what was kept says nothing about it.
        if kept
            .as_ref()
            .is_some_and(|a| a.cell != (li, si) || Weak::as_ptr(&a.snap) != Arc::as_ptr(snap))
        {
            *kept = None;
        }
        let answers = kept.get_or_insert_with(|| Answers {
            snap: Arc::downgrade(snap),
            cell: (li, si),
            kinds: Default::default(),
        });
        answers.kinds[at]
            .get_or_insert_with(|| {
                self.judged.set(self.judged.get() + 1);
                snap.avail(li, si, kind)
            })
            .clone()
    }

    /// The widest lane name and team of `train`, measured once per train.
    pub fn widest(&self, train: &Arc<Train>) -> Widest {
        let mut kept = self.widest.borrow_mut();
        match kept.as_ref() {
            Some((t, w)) if Weak::as_ptr(t) == Arc::as_ptr(train) => *w,
            _ => {
                let w = Widest::of(train);
                *kept = Some((Arc::downgrade(train), w));
                w
            }
        }
    }

    /// How many answers the engine was asked for so far.
    pub fn judged(&self) -> usize {
        self.judged.get()
    }
}

#[cfg(test)]
mod tests;
