//! Actions: one path for every action, whether a key press or a command built it.
//! preflight (policy) → confirmation rule → execution at the source.

pub mod audit;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Config, Target};
use crate::model::policy::{self, describe};
use crate::model::{ActionKind, Blocker, CellKey, CellState, Holds, Timestamp, Train, World};
use crate::sources::{ActionAck, ActionError, ActionRequest, Source};

/// One thing the user wants done to one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    pub lane: String,
    /// For promote: the stage to promote into.
    pub stage: String,
    /// For rollback: the version to restore (default: the last good one).
    pub version: Option<String>,
    pub reason: Option<String>,
}

impl Action {
    pub fn new(kind: ActionKind, lane: &str, stage: &str) -> Self {
        Action {
            kind,
            lane: lane.into(),
            stage: stage.into(),
            version: None,
            reason: None,
        }
    }

    pub fn key(&self) -> CellKey {
        CellKey::new(&self.lane, &self.stage)
    }

    /// The equivalent command line.
    pub fn command_line(&self) -> String {
        let mut s = match self.kind {
            ActionKind::Promote => format!("trainyard promote {} --to {}", self.lane, self.stage),
            ActionKind::Halt | ActionKind::Unhalt => format!("trainyard {}", self.kind),
            k => format!("trainyard {k} {} --stage {}", self.lane, self.stage),
        };
        if let (ActionKind::Rollback, Some(v)) = (self.kind, &self.version) {
            s.push_str(&format!(" --to {v}"));
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

/// Rollback, and anything aimed at the last stage, asks for the lane's name.
pub fn confirm_rule(train: &Train, action: &Action) -> Confirm {
    let last = train.stages.last().map(String::as_str);
    if action.kind == ActionKind::Rollback || Some(action.stage.as_str()) == last {
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
}

impl Plan {
    pub fn allowed(&self) -> bool {
        self.blockers.is_empty()
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
    let current = cell.and_then(|c| c.version.clone());
    let at = &action.stage;
    let mut blockers = Vec::new();
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
                .at
                .map(|t| {
                    format!(
                        ", deployed {} ago",
                        crate::model::duration::human_delta(now - t)
                    )
                })
                .unwrap_or_default();
            let by = target
                .actor
                .as_ref()
                .map(|a| format!(" by {a}"))
                .unwrap_or_default();
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
            (Some(target.version.clone()), summary)
        }
        ActionKind::Pause | ActionKind::Resume | ActionKind::Approve | ActionKind::Reject => {
            let (need, verb): (&[CellState], &str) = match action.kind {
                ActionKind::Pause => (&[CellState::Running, CellState::RollingBack], "running"),
                ActionKind::Resume => (&[CellState::Paused], "paused"),
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
                });
            }
            (
                current.clone(),
                format!("{at}: {} {}", action.kind, short(current.as_deref())),
            )
        }
        ActionKind::Halt | ActionKind::Unhalt => {
            return Err(format!("{} is not available yet", action.kind));
        }
    };
    let confirm = confirm_rule(train, &action);
    Ok(Plan {
        action,
        from_version: current,
        to_version,
        summary,
        blockers,
        confirm,
    })
}

/// The good version of a cell's history that `want` names: the whole version, or a prefix of
/// at least 4 characters that names exactly one.
fn pick_version<'a>(
    c: &'a crate::model::Cell,
    want: &str,
) -> Result<&'a crate::model::HistoryEntry, String> {
    let good = || {
        c.history
            .iter()
            .filter(|h| h.state == CellState::Succeeded && Some(&h.version) != c.version.as_ref())
    };
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

/// Carries out actions at their sources.
pub struct Executor {
    sources: BTreeMap<String, Arc<dyn Source>>,
    targets: BTreeMap<CellKey, Target>,
    actor: String,
    readonly: bool,
    seq: AtomicU64,
}

impl Executor {
    pub fn new(config: &Config, sources: &[Arc<dyn Source>], readonly: bool) -> Self {
        Executor {
            sources: sources
                .iter()
                .map(|s| (s.name().to_string(), Arc::clone(s)))
                .collect(),
            targets: config.targets.clone(),
            actor: actor(config.identity.as_deref()),
            readonly,
            seq: AtomicU64::new(0),
        }
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The source an action goes to.
    pub fn source_of(&self, action: &Action) -> Option<&str> {
        self.targets.get(&action.key()).map(|t| t.source.as_str())
    }

    /// Send a planned action to its source. Policy blockers must have been dealt with by the
    /// caller (refused, or forced with a reason).
    pub async fn execute(&self, plan: &Plan) -> Result<ActionAck, ActionError> {
        if self.readonly {
            return Err(ActionError::Failed(
                "trainyard is read-only: actions are disabled".into(),
            ));
        }
        let a = &plan.action;
        let source_name = self
            .source_of(a)
            .ok_or_else(|| ActionError::Failed(format!("no source for {} {}", a.lane, a.stage)))?;
        let source = self
            .sources
            .get(source_name)
            .ok_or_else(|| ActionError::Failed(format!("source {source_name} is not running")))?;
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let req = ActionRequest {
            id: format!(
                "ty-{}-{}-{n}",
                std::process::id(),
                chrono::Utc::now().timestamp_millis()
            ),
            kind: a.kind,
            lane: a.lane.clone(),
            stage: a.stage.clone(),
            version: plan.to_version.clone(),
            reason: a.reason.clone(),
            actor: self.actor.clone(),
        };
        tracing::info!(action = %a.kind, lane = %a.lane, stage = %a.stage, "sending action to {source_name}");
        let deadline = source.deadline();
        match tokio::time::timeout(deadline, source.act(&req)).await {
            Ok(r) => r,
            Err(_) => Err(ActionError::Failed(format!(
                "source {source_name} did not answer within {}",
                crate::model::duration::human(deadline)
            ))),
        }
    }
}

/// The actor name: config `identity`, else `user@host`.
pub fn actor(identity: Option<&str>) -> String {
    if let Some(id) = identity {
        return id.to_string();
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests;
