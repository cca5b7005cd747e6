//! What each action would do on a cell now, or why not. One answer, asked by the footer, the
//! help, the details popup, the confirmation dialog, the command line and `auto_pause`: a key
//! is offered only where its action can go, or can be forced.
//!
//! The rules that live here and nowhere else:
//! - what "pause" and "resume" mean on a cell: a moving rollout is paused at its source, a
//!   paused one resumed; on any other cell they hold or release the whole lane ([`pause_or_hold`],
//!   [`resume_or_release`], [`toggle_pause`]);
//! - read-only refuses everything ([`readonly_refusal`]);
//! - one action in flight per cell ([`InFlight`]; an abort may go beside the promote or
//!   rollback it stops, [`ActionKind::stops`]);
//! - the halt and holds can't be forced ([`unforceable`]);
//! - the train moved while the user was deciding ([`recheck`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Plan, preflight};
use crate::model::{
    ActionKind, BlockerKind, Cell, CellKey, CellState, Holds, Timestamp, Train, World,
};

/// An action on its way: sent, and not yet verified, rejected or timed out. No second action
/// goes to the same cell meanwhile, from this process or any other.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub kind: ActionKind,
    /// Who sent it: this user, `trainyard-auto`, or another trainyard's user.
    pub actor: String,
    pub since: Timestamp,
    /// The latest word from the runner ("accepted", "running 45%").
    pub status: String,
    /// Sent by this process.
    pub mine: bool,
}

/// Everything availability looks at.
#[derive(Clone, Copy)]
pub struct Situation<'a> {
    pub train: &'a Train,
    pub world: &'a World,
    pub holds: &'a Holds,
    pub now: Timestamp,
    pub readonly: bool,
    /// By the action's key ([`Action::key`]): a cell, a lane (no stage) or the train (neither).
    pub in_flight: &'a BTreeMap<CellKey, InFlight>,
}

/// What an action would do now.
#[derive(Clone, Debug, PartialEq)]
pub enum Avail {
    /// It can go: a confirmation, then the source. (What it will do in words is the plan's,
    /// made when the key is pressed: `Snapshot::plan`.)
    Ready { action: Action },
    /// Policy blocks it: it goes only forced, with a reason.
    Forceable {
        action: Action,
        blockers: Vec<crate::model::Blocker>,
    },
    /// It won't go at all, and why: nothing to do, read-only, already in flight, or a halt or
    /// hold (those can't be forced).
    No(String),
}

impl Avail {
    /// Offered on a key: it can go, or be forced.
    pub fn offered(&self) -> bool {
        !matches!(self, Avail::No(_))
    }

    pub fn action(&self) -> Option<&Action> {
        match self {
            Avail::Ready { action, .. } | Avail::Forceable { action, .. } => Some(action),
            Avail::No(_) => None,
        }
    }
}

/// The words read-only answers with, wherever an action is refused for it.
pub fn readonly_refusal(kind: ActionKind) -> String {
    format!("read-only: {kind} is disabled (started with --readonly or readonly = true)")
}

fn moving(cell: Option<&Cell>) -> bool {
    cell.is_some_and(|c| matches!(c.state, CellState::Running | CellState::RollingBack))
}

/// "Pause" on a cell: a rollout moving there is paused at its source; anything else holds the
/// whole lane (nothing promotes it until someone releases it).
pub fn pause_or_hold(world: &World, lane: &str, stage: &str) -> Action {
    if moving(world.cell(lane, stage)) {
        Action::new(ActionKind::Pause, lane, stage)
    } else {
        Action::lane(ActionKind::Pause, lane)
    }
}

/// "Resume" on a cell: a paused rollout resumes at its source; anything else releases the
/// lane's hold.
pub fn resume_or_release(world: &World, lane: &str, stage: &str) -> Action {
    let paused = world
        .cell(lane, stage)
        .is_some_and(|c| c.state == CellState::Paused);
    if paused {
        Action::new(ActionKind::Resume, lane, stage)
    } else {
        Action::lane(ActionKind::Resume, lane)
    }
}

/// The one key for both (`s`): resume what is paused, release a held lane whose cell is not
/// moving, pause or hold anything else.
pub fn toggle_pause(world: &World, holds: &Holds, lane: &str, stage: &str) -> Action {
    let cell = world.cell(lane, stage);
    let paused = cell.is_some_and(|c| c.state == CellState::Paused);
    if paused || (!moving(cell) && holds.lanes.contains_key(lane)) {
        resume_or_release(world, lane, stage)
    } else {
        pause_or_hold(world, lane, stage)
    }
}

/// The action a request means on the cell at `lane` × `stage`: promote aims at the next stage,
/// pause and resume follow [`pause_or_hold`] and [`resume_or_release`], halt and unhalt are the
/// train's.
pub fn action_at(
    train: &Train,
    world: &World,
    kind: ActionKind,
    lane: &str,
    stage: &str,
) -> Result<Action, String> {
    Ok(match kind {
        ActionKind::Halt | ActionKind::Unhalt => Action::train(kind, None),
        ActionKind::Promote => {
            let i = train
                .stage_index(stage)
                .ok_or_else(|| format!("no stage named {stage:?}"))?;
            let next = train.stages.get(i + 1).ok_or_else(|| {
                format!("{stage} is the last stage: select an earlier stage to promote from")
            })?;
            Action::new(kind, lane, next)
        }
        ActionKind::Pause => pause_or_hold(world, lane, stage),
        ActionKind::Resume => resume_or_release(world, lane, stage),
        _ => Action::new(kind, lane, stage),
    })
}

/// Why a plan can't go even forced: the halt and holds mean every promotion, forced or not.
pub fn unforceable(plan: &Plan) -> Option<String> {
    let b = plan
        .blockers
        .iter()
        .find(|b| matches!(b.kind, BlockerKind::Halt | BlockerKind::Hold))?;
    let undo = if b.kind == BlockerKind::Halt {
        "unhalt first"
    } else {
        "release the hold first"
    };
    Some(format!(
        "{}: a {} can't be forced ({undo})",
        b.message,
        b.kind.as_str()
    ))
}

/// Why `action` must wait: another action is in flight on its cell (one per cell, whoever
/// sent it; an abort may stop the promote or rollback in flight, [`ActionKind::stops`]).
pub fn busy(in_flight: &BTreeMap<CellKey, InFlight>, action: &Action) -> Option<String> {
    let f = in_flight
        .get(&action.key())
        .filter(|f| !action.kind.stops(f.kind))?;
    Some(format!(
        "{} already has a {} in flight by {} ({}): wait for it to finish",
        action.describe(),
        f.kind,
        f.actor,
        f.status
    ))
}

/// What `action` would do now, or why not.
pub fn assess(action: Action, s: &Situation) -> Avail {
    if s.readonly {
        return Avail::No(readonly_refusal(action.kind));
    }
    if let Some(why) = busy(s.in_flight, &action) {
        return Avail::No(why);
    }
    match preflight(action, s.train, s.world, s.holds, s.now) {
        Err(e) => Avail::No(e),
        Ok(p) if p.allowed() => Avail::Ready { action: p.action },
        Ok(p) => match unforceable(&p) {
            Some(why) => Avail::No(why),
            None => Avail::Forceable {
                blockers: p.blockers,
                action: p.action,
            },
        },
    }
}

/// What a request of `kind` on the cell at `lane` × `stage` would do now.
pub fn assess_at(kind: ActionKind, s: &Situation, lane: &str, stage: &str) -> Avail {
    match action_at(s.train, s.world, kind, lane, stage) {
        Ok(a) => assess(a, s),
        Err(e) => Avail::No(e),
    }
}

/// The kinds of what blocks a plan: a kind appearing while the user decided means they have
/// not seen it (the messages alone change every second: "12m of 30m").
fn blocker_kinds(p: &Plan) -> BTreeSet<BlockerKind> {
    p.blockers.iter().map(|b| b.kind).collect()
}

/// The train may have moved while the user decided: `fresh` is the same action planned again
/// now. `Ok` when it still means what they confirmed (the same version, nothing new in the
/// way); else why not, and the new plan when there is one to show.
pub fn recheck(
    confirmed: &Plan,
    fresh: Result<Plan, String>,
) -> Result<Plan, (String, Option<Box<Plan>>)> {
    match fresh {
        Err(e) => Err((format!("the train moved: {e}"), None)),
        Ok(p)
            if p.to_version != confirmed.to_version
                || blocker_kinds(&p) != blocker_kinds(confirmed) =>
        {
            Err((
                "the train moved; check the plan again".into(),
                Some(Box::new(p)),
            ))
        }
        Ok(p) => Ok(p),
    }
}

#[cfg(test)]
mod tests;
