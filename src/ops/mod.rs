//! Actions: one path for every action, whether a key press or a command built it.
//!
//! preflight (policy) → confirmation (the caller: a dialog or a prompt, by [`confirm_rule`])
//! → audit "attempt" → execution at the source → verification → audit "outcome", all in
//! [`run::Runner::run`]. Nothing else calls a source's `act`.

pub mod audit;
pub mod auto;
pub mod availability;
pub mod run;

pub use run::{Outcome, Runner};

use crate::model::policy::{self, describe};
use crate::model::text::sanitize;
use crate::model::{
    ActionKind, Blocker, CellKey, CellState, HistoryEntry, Holds, LaneHold, Timestamp, Train, World,
};

/// One thing the user wants done: to a cell, to a whole lane (a trainyard hold), or to the
/// whole train (halt).
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    /// Empty for the whole train.
    pub lane: String,
    /// Empty for a whole lane or the whole train. For promote: the stage to promote into.
    pub stage: String,
    /// For rollback: the version to restore (default: the last good one).
    pub version: Option<String>,
    pub reason: Option<String>,
    /// Go ahead although policy blocks it (needs a reason; marked in the audit log).
    pub force: bool,
    /// Who asks, when it is not the person at this terminal: `trainyard-auto` for
    /// `auto_pause`. `None`: the runner's actor (config `identity`, else user@host).
    pub actor: Option<String>,
}

/// What an action is aimed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Cell(CellKey),
    /// A trainyard hold on a lane (pause / resume without a stage).
    Lane(String),
    /// The halt of the whole train.
    Train,
}

impl Action {
    pub fn new(kind: ActionKind, lane: &str, stage: &str) -> Self {
        Action {
            kind,
            lane: lane.into(),
            stage: stage.into(),
            version: None,
            reason: None,
            force: false,
            actor: None,
        }
    }

    /// Pause (hold) or resume (release) a whole lane.
    pub fn lane(kind: ActionKind, lane: &str) -> Self {
        Action::new(kind, lane, "")
    }

    /// Halt or unhalt the train.
    pub fn train(kind: ActionKind, reason: Option<String>) -> Self {
        Action {
            reason,
            ..Action::new(kind, "", "")
        }
    }

    pub fn scope(&self) -> Scope {
        if matches!(self.kind, ActionKind::Halt | ActionKind::Unhalt) {
            Scope::Train
        } else if self.stage.is_empty() {
            Scope::Lane(self.lane.clone())
        } else {
            Scope::Cell(CellKey::new(&self.lane, &self.stage))
        }
    }

    /// The cell this action is for (what "one action in flight per cell" counts): a lane
    /// action counts as the lane with no stage, the halt as the train.
    pub fn key(&self) -> CellKey {
        CellKey::new(&self.lane, &self.stage)
    }

    pub fn lane_opt(&self) -> Option<String> {
        (!self.lane.is_empty()).then(|| self.lane.clone())
    }

    pub fn stage_opt(&self) -> Option<String> {
        (!self.stage.is_empty()).then(|| self.stage.clone())
    }

    /// Halt, unhalt and forced actions must say why.
    pub fn needs_reason(&self) -> bool {
        self.force || matches!(self.kind, ActionKind::Halt | ActionKind::Unhalt)
    }

    /// "promote payments-api → canary", "hold ledger", "halt the train".
    pub fn describe(&self) -> String {
        match (self.scope(), self.kind) {
            (Scope::Train, k) => format!("{k} the train"),
            (Scope::Lane(l), ActionKind::Pause) => format!("hold {l}"),
            (Scope::Lane(l), ActionKind::Resume) => format!("release the hold on {l}"),
            (Scope::Lane(l), k) => format!("{k} {l}"),
            (Scope::Cell(k), ActionKind::Promote) => format!("promote {} → {}", k.lane, k.stage),
            (Scope::Cell(k), kind) => format!("{kind} {} at {}", k.lane, k.stage),
        }
    }

    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let mut s = match self.scope() {
            Scope::Train => format!("trainyard {}", self.kind),
            Scope::Lane(l) => format!("trainyard {} {l}", self.kind),
            Scope::Cell(k) if self.kind == ActionKind::Promote => {
                format!("trainyard promote {} --to {}", k.lane, k.stage)
            }
            Scope::Cell(k) => format!("trainyard {} {} --stage {}", self.kind, k.lane, k.stage),
        };
        if let (ActionKind::Rollback, Some(v)) = (self.kind, &self.version) {
            s.push_str(&format!(" --to {v}"));
        }
        if self.force {
            s.push_str(" --force");
        }
        if let Some(r) = &self.reason {
            s.push_str(&format!(" --reason {r:?}"));
        }
        s
    }
}

/// How the user must confirm an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// A dialog whose default button is Cancel.
    Dialog,
    /// The dialog also asks the user to type this (the lane's name).
    TypeName(String),
}

/// Rollback, and anything aimed at a protected stage (`[train] protected`, by default the
/// last stage), asks for the lane's name.
pub fn confirm_rule(train: &Train, action: &Action) -> Confirm {
    if action.scope() != Scope::Cell(action.key()) {
        Confirm::Dialog
    } else if action.kind == ActionKind::Rollback || train.is_protected(&action.stage) {
        Confirm::TypeName(action.lane.clone())
    } else {
        Confirm::Dialog
    }
}

/// An action checked against the train: what exactly it will do, and what stands against it.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub action: Action,
    /// The version the cell has now, and the version it will have.
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    /// One line: "canary: 3a1b2c4 → 91aa0f2".
    pub summary: String,
    /// Why policy says no; empty when allowed.
    pub blockers: Vec<Blocker>,
    pub confirm: Confirm,
    /// For a rollback: every good version the user may pick, newest first.
    pub choices: Vec<HistoryEntry>,
    /// What the source wants the user to know before this goes ("auto sync is on ...").
    pub warnings: Vec<String>,
    /// When the cell last changed as planned: verification tells an old result from a new one.
    pub baseline: Option<Timestamp>,
    /// The cell's version and state the plan was made from: checked again at the source just
    /// before sending, so that nothing goes on a picture that has changed.
    pub seen: Option<(Option<String>, CellState)>,
}

impl Plan {
    pub fn allowed(&self) -> bool {
        self.blockers.is_empty()
    }

    /// Policy blocks it, and the user forces it anyway.
    pub fn forced(&self) -> bool {
        !self.allowed() && self.action.force
    }
}

fn short(v: Option<&str>) -> String {
    v.map(crate::model::cell::short_version)
        .unwrap_or_else(|| "nothing".into())
}

/// Check an action against the train. `Err` means it makes no sense at all (nothing to
/// pause, no such lane); blockers in the plan mean policy refuses it now.
pub fn preflight(
    action: Action,
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
) -> Result<Plan, String> {
    match action.scope() {
        Scope::Train => return preflight_hold(action, train, holds, now),
        Scope::Lane(name) => {
            train
                .lane(&name)
                .ok_or_else(|| format!("no lane named {name:?}"))?;
            return preflight_hold(action, train, holds, now);
        }
        Scope::Cell(_) => {}
    }
    let lane = train
        .lane(&action.lane)
        .ok_or_else(|| format!("no lane named {:?}", action.lane))?;
    let stage_idx = train.stage_index(&action.stage).ok_or_else(|| {
        format!(
            "no stage named {:?}; stages are {}",
            action.stage,
            train.stages.join(", ")
        )
    })?;
    let cell = world.cell(&action.lane, &action.stage);
    // The source can't do this at all, or said it can't here now: nothing is planned, and
    // nothing sent.
    let kind_refusal = cell
        .and_then(|c| world.source(&c.source))
        .and_then(|s| crate::sources::unsupported(&s.kind, action.kind));
    if let Some(why) = kind_refusal
        .as_deref()
        .or_else(|| cell.and_then(|c| c.refusal(action.kind)))
    {
        return Err(format!(
            "{} {} at {}: {why}",
            action.kind, action.lane, action.stage
        ));
    }
    let current = cell.and_then(|c| c.version.clone());
    let at = &action.stage;
    let mut blockers = Vec::new();
    let mut choices = Vec::new();
    let (to_version, summary) = match action.kind {
        ActionKind::Promote => {
            let v = policy::verdict(train, world, holds, now, lane, stage_idx);
            if let (Some(c), Some(ver)) = (cell, &v.version) {
                if c.version.as_ref() == Some(ver) && c.state == CellState::Succeeded {
                    return Err(format!(
                        "{} is already at {at} ({})",
                        action.lane,
                        short(Some(ver))
                    ));
                }
                if c.version.as_ref() == Some(ver) && c.state.is_active() {
                    return Err(format!(
                        "{} {} is already on its way to {at} ({})",
                        action.lane,
                        short(Some(ver)),
                        describe(c)
                    ));
                }
            }
            blockers = v.blockers;
            let from = v.from_stage.unwrap_or_default();
            let summary = format!(
                "{from} → {at}: {} → {}",
                short(current.as_deref()),
                short(v.version.as_deref())
            );
            (v.version, summary)
        }
        ActionKind::Rollback => {
            let c = cell
                .filter(|c| c.version.is_some())
                .ok_or_else(|| format!("nothing at {at} to roll back"))?;
            if c.state == CellState::RollingBack {
                return Err(format!(
                    "{} at {at} is already rolling back ({}): wait for it",
                    action.lane,
                    describe(c)
                ));
            }
            let target = match &action.version {
                Some(want) => {
                    pick_version(c, want).map_err(|e| format!("{e} ({} at {at})", action.lane))?
                }
                None => c.last_good().ok_or_else(|| {
                    format!(
                        "{} has no earlier good version at {at} to roll back to",
                        action.lane
                    )
                })?,
            };
            let when = target
                .ago(now)
                .map(|a| format!(", deployed {a} ago"))
                .unwrap_or_default();
            let by = target.by();
            let label = if Some(target) == c.last_good() {
                "last good"
            } else {
                "earlier good"
            };
            let summary = format!(
                "{at}: {} → {} ({label}{when}{by})",
                short(current.as_deref()),
                short(Some(&target.version))
            );
            choices = c.good_versions().cloned().collect();
            (Some(target.version.clone()), summary)
        }
        ActionKind::Pause
        | ActionKind::Resume
        | ActionKind::Approve
        | ActionKind::Reject
        | ActionKind::Abort => {
            let (need, verb): (&[CellState], &str) = match action.kind {
                ActionKind::Pause => (&[CellState::Running, CellState::RollingBack], "running"),
                ActionKind::Resume => (&[CellState::Paused], "paused"),
                // A rollout under way: moving, paused, or waiting at a step to be promoted.
                ActionKind::Abort => (
                    &[
                        CellState::Running,
                        CellState::Paused,
                        CellState::AwaitingApproval,
                    ],
                    "rolling out",
                ),
                _ => (&[CellState::AwaitingApproval], "awaiting approval"),
            };
            match cell {
                Some(c) if need.contains(&c.state) => {}
                Some(c) => {
                    return Err(format!(
                        "{} at {at} is {}, not {verb}: nothing to {}",
                        action.lane,
                        describe(c),
                        action.kind
                    ));
                }
                None => return Err(format!("{} has nothing at {at}", action.lane)),
            }
            if let Some(h) = &holds.halt
                && matches!(action.kind, ActionKind::Resume | ActionKind::Approve)
            {
                blockers.push(Blocker {
                    lane: action.lane.clone(),
                    stage: action.stage.clone(),
                    kind: crate::model::BlockerKind::Halt,
                    message: format!("the train is halted by {}: {}", h.by, h.reason),
                    facts: crate::model::policy::Facts::hold(h, now),
                });
            }
            let summary = if action.kind == ActionKind::Abort {
                format!(
                    "{at}: stop rolling out {}, its traffic back on the stable version",
                    short(current.as_deref())
                )
            } else {
                format!("{at}: {} {}", action.kind, short(current.as_deref()))
            };
            (current.clone(), summary)
        }
        ActionKind::Halt | ActionKind::Unhalt => unreachable!("train scope handled above"),
    };
    let confirm = confirm_rule(train, &action);
    let warnings = cell.map(|c| c.warnings.clone()).unwrap_or_default();
    Ok(Plan {
        action,
        from_version: current,
        to_version,
        summary,
        blockers,
        confirm,
        choices,
        warnings,
        baseline: cell.and_then(|c| c.updated_at),
        seen: cell.map(|c| (c.version.clone(), c.state)),
    })
}

fn plain_plan(action: Action, train: &Train, summary: String) -> Plan {
    let confirm = confirm_rule(train, &action);
    Plan {
        action,
        from_version: None,
        to_version: None,
        summary,
        blockers: Vec::new(),
        confirm,
        choices: Vec::new(),
        warnings: Vec::new(),
        baseline: None,
        seen: None,
    }
}

/// Why a hold, release, halt or unhalt has nothing to do with `holds` as they are ("already
/// on hold by bob: …", "the train is not halted"): asked when planning, and again under the
/// audit log's lock, so that nobody's hold is overwritten by a second one.
pub fn hold_conflict(action: &Action, holds: &Holds, now: Timestamp) -> Option<String> {
    match (action.scope(), action.kind) {
        (Scope::Train, ActionKind::Halt) => holds.halt.as_ref().map(|h| {
            format!(
                "the train is already halted (by {} {} ago: {})",
                h.by,
                crate::model::duration::human_delta(now - h.at),
                h.reason
            )
        }),
        (Scope::Train, ActionKind::Unhalt) if holds.halt.is_none() => {
            Some("the train is not halted".into())
        }
        (Scope::Lane(l), ActionKind::Pause) => holds
            .lanes
            .get(&l)
            .map(|h| format!("{l} is already on hold (by {}: {})", h.by, h.reason)),
        (Scope::Lane(l), ActionKind::Resume) if !holds.lanes.contains_key(&l) => {
            Some(format!("{l} is not on hold"))
        }
        _ => None,
    }
}

/// A hold, release, halt or unhalt: of the train or a lane, never of a cell.
fn preflight_hold(
    action: Action,
    train: &Train,
    holds: &Holds,
    now: Timestamp,
) -> Result<Plan, String> {
    if let Some(e) = hold_conflict(&action, holds, now) {
        return Err(e);
    }
    let summary = if action.scope() == Scope::Train {
        match (action.kind, &holds.halt) {
            (ActionKind::Halt, _) => format!("stop every promotion of train {}", train.name),
            (ActionKind::Unhalt, Some(h)) => {
                format!(
                    "let train {} move again (halted by {}: {})",
                    train.name, h.by, h.reason
                )
            }
            (k, _) => return Err(format!("{k} needs a lane")),
        }
    } else {
        let lane = &action.lane;
        match (action.kind, holds.lanes.get(lane)) {
            (ActionKind::Pause, _) => format!("hold {lane}: no promotion of it until resumed"),
            (ActionKind::Resume, Some(h)) => {
                format!("release {lane} (held by {}: {})", h.by, h.reason)
            }
            (k, _) => return Err(format!("{k} needs a stage: --stage STAGE")),
        }
    };
    Ok(plain_plan(action, train, summary))
}

/// What a done hold, release, halt or unhalt changes. The TUI applies it when such an action
/// is done; [`holds_from`] replays the audit log with it at start.
pub fn apply_hold(holds: &mut Holds, action: &Action, by: &str, at: Timestamp) {
    let hold = || LaneHold {
        reason: action.reason.clone().unwrap_or_default(),
        by: by.to_string(),
        at,
    };
    match (action.scope(), action.kind) {
        (Scope::Train, ActionKind::Halt) => holds.halt = Some(hold()),
        (Scope::Train, ActionKind::Unhalt) => holds.halt = None,
        (Scope::Lane(l), ActionKind::Pause) => {
            holds.lanes.insert(l, hold());
        }
        (Scope::Lane(l), ActionKind::Resume) => {
            holds.lanes.remove(&l);
        }
        _ => {}
    }
}

/// Holds and the halt as the audit log leaves them: every done hold, release, halt and
/// unhalt replayed in order. This is how they survive a restart.
pub fn holds_from(records: &[audit::Record]) -> Holds {
    let mut holds = Holds::default();
    for r in records {
        replay_hold(&mut holds, r);
    }
    holds
}

/// One audit record's part in the holds and the halt: a done hold, release, halt or unhalt
/// applies; anything else changes nothing.
pub fn replay_hold(holds: &mut Holds, r: &audit::Record) {
    if r.result != audit::result::DONE || r.dry_run {
        return;
    }
    let Some(kind) = ActionKind::parse(&r.action) else {
        return;
    };
    let mut action = Action::new(
        kind,
        r.lane.as_deref().unwrap_or(""),
        r.stage.as_deref().unwrap_or(""),
    );
    // Reasons and names were typed by people (`--reason "$(...)"`): shown clean.
    action.reason = r.reason.as_deref().map(|s| sanitize(s, 500));
    let by = sanitize(&r.actor, 200);
    apply_hold(holds, &action, &by, r.time().unwrap_or_default());
}

/// The good version of a cell's history that `want` names: the whole version, or a prefix of
/// at least 4 characters that names exactly one.
fn pick_version<'a>(
    c: &'a crate::model::Cell,
    want: &str,
) -> Result<&'a crate::model::HistoryEntry, String> {
    let good = || c.good_versions();
    if let Some(h) = good().find(|h| h.version == want) {
        return Ok(h);
    }
    if want.len() < 4 {
        return Err(format!(
            "{want:?} is too short to name a version: give at least 4 characters"
        ));
    }
    let matches: Vec<_> = good().filter(|h| h.version.starts_with(want)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "{want} is not an earlier good version in the history"
        )),
        many => Err(format!(
            "{want} names {} versions: {}",
            many.len(),
            many.iter()
                .map(|h| h.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The actor name: config `identity`, else `user@host`.
pub fn actor(identity: Option<&str>) -> String {
    if let Some(id) = identity {
        return id.to_string();
    }
    let home_name = || {
        std::env::var("HOME").ok().and_then(|h| {
            std::path::Path::new(&h)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
    };
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .or_else(home_name)
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod test_fixture;
#[cfg(test)]
mod tests;

/// Where the user sits: `ssh from 10.1.2.3` when SSH_CONNECTION says so, else `local`.
pub fn origin() -> String {
    match std::env::var("SSH_CONNECTION") {
        Ok(v) => match v.split_whitespace().next() {
            Some(ip) => format!("ssh from {ip}"),
            None => "ssh".into(),
        },
        Err(_) => "local".into(),
    }
}
