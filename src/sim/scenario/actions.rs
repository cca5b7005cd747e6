//! What each action does to a cell: the scenario's state machine. Promote starts a deploy
//! (or waits for approval at a guarded prod), pause and resume stop and restart a rollout,
//! rollback restores an earlier good version, approve and reject settle a waiting deploy,
//! cancel stops a run where it is. A refusal says why, as the protocol's error codes.

use super::content::{build_checks, environment, pods, pods_done, short};
use super::wire::{Reject, conflict, invalid, not_found, unsupported};
use super::{BUILD, CellSim, Hist, Op, OpKind, PROD, SEC, STAGES, Scenario, St, T_OP, Ver};
use crate::sim::rng::{between, mix};

impl Scenario {
    pub(super) fn name(&self, li: usize, s: usize) -> String {
        format!("{} {}", self.lanes[li].spec.name, STAGES[s])
    }

    /// What an action needs of a cell: the time, the cell's name for messages, and the cell.
    fn cell_at(&mut self, li: usize, s: usize) -> (i64, String, &mut CellSim) {
        let name = self.name(li, s);
        (self.now, name, &mut self.lane_mut(li).cells[s])
    }

    fn op_duration(&mut self, li: usize, s: usize, lo: i64, hi: i64) -> i64 {
        self.serial += 1;
        between(
            mix(
                self.seed,
                &[T_OP, self.lanes[li].idx, s as u64, self.serial],
            ),
            lo,
            hi,
        ) * SEC
    }

    pub(super) fn promote(
        &mut self,
        li: usize,
        s: usize,
        version: Option<String>,
        actor: &str,
    ) -> Result<String, Reject> {
        deployed(
            s,
            "nothing is promoted into build: versions arrive there from CI",
        )?;
        let now = self.now;
        let version =
            version.ok_or_else(|| invalid("promote needs `version`: the version to deploy"))?;
        let from = STAGES[s - 1];
        let prev = &self.lanes[li].cells[s - 1];
        if prev.ver.sha != version {
            return Err(conflict(format!(
                "{} has {} ({}), not {}: promote the version at {from}",
                self.name(li, s - 1),
                prev.ver.short(),
                prev.state.words(),
                short(&version)
            )));
        }
        if prev.state != St::Succeeded {
            return Err(conflict(format!(
                "{} is {} at {from}, not succeeded",
                prev.ver.short(),
                prev.state.words()
            )));
        }
        let ver = prev.ver.clone();
        let target = &self.lanes[li].cells[s];
        let busy = match target.state {
            St::Running => Some("is already rolling out"),
            St::RollingBack => Some("is rolling back to"),
            St::Paused => Some("has a paused rollout (resume or roll back first) of"),
            St::AwaitingApproval => Some("is waiting for approval of"),
            St::Succeeded if target.ver.sha == version => Some("already runs"),
            _ => None,
        };
        if let Some(what) = busy {
            return Err(conflict(format!(
                "{} {what} {}",
                self.name(li, s),
                target.ver.short()
            )));
        }
        let reviewers = if s == PROD {
            self.lanes[li].spec.prod_reviewers.clone()
        } else {
            vec![]
        };
        let op = if reviewers.is_empty() {
            Some(Op::new(OpKind::Deploy, self.op_duration(li, s, 8, 20), now))
        } else {
            None
        };
        let run = self.new_run(li, s, &ver.sha, OpKind::Deploy, now, actor);
        let cell = &mut self.lane_mut(li).cells[s];
        let short_v = ver.short().to_string();
        let moving = op.is_some();
        cell.start(cell.snapshot(), ver, run, op, now, actor);
        Ok(if moving {
            cell.state = St::Running;
            cell.awaiting_reviewers = vec![];
            format!("promoting {short_v} to {}", STAGES[s])
        } else {
            cell.state = St::AwaitingApproval;
            cell.message = format!("waiting for approval of {}", environment(s));
            cell.awaiting_reviewers = reviewers;
            format!(
                "promoting {short_v} to {}: waiting for approval of {}",
                STAGES[s],
                environment(s)
            )
        })
    }

    pub(super) fn pause(
        &mut self,
        li: usize,
        s: usize,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<String, Reject> {
        let (now, name, cell) = self.cell_at(li, s);
        let (St::Running, Some(op)) = (cell.state, cell.op.as_mut()) else {
            let why = ": only a running rollout can be paused";
            return Err(wrong_state(&name, cell.state, why));
        };
        op.pause(now);
        let p = op.progress(now);
        let at = match op.kind {
            OpKind::Build => format!("{:.0}%", p * 100.0),
            _ => format!("{}/{} pods", pods_done(s, p), pods(s)),
        };
        cell.state = St::Paused;
        cell.touched(now, actor);
        cell.message = match reason {
            Some(r) => format!("paused at {at} by {actor}: {r}"),
            None => format!("paused at {at} by {actor}"),
        };
        Ok(format!("pausing {name} at {at}"))
    }

    pub(super) fn resume(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let (now, name, cell) = self.cell_at(li, s);
        let (St::Paused, Some(op)) = (cell.state, cell.op.as_mut()) else {
            return Err(wrong_state(&name, cell.state, ", not paused"));
        };
        op.resume(now);
        cell.state = if op.kind == OpKind::Rollback {
            St::RollingBack
        } else {
            St::Running
        };
        cell.touched(now, actor);
        Ok(format!("resuming {name}"))
    }

    pub(super) fn rollback(
        &mut self,
        li: usize,
        s: usize,
        version: Option<String>,
        actor: &str,
    ) -> Result<String, Reject> {
        deployed(
            s,
            "builds are not deployed: there is nothing to roll back at build",
        )?;
        let now = self.now;
        let name = self.name(li, s);
        let cell = &self.lanes[li].cells[s];
        if cell.state == St::RollingBack {
            return Err(conflict(format!(
                "{name} is already rolling back to {}",
                cell.ver.short()
            )));
        }
        let pos = match &version {
            Some(v) if *v == cell.ver.sha && cell.state == St::Succeeded => {
                return Err(conflict(format!("{name} already runs {}", short(v))));
            }
            Some(v) => cell
                .history
                .iter()
                .position(|h| h.ver.sha == *v)
                .ok_or_else(|| {
                    not_found(format!("{} is not in the history of {name}", short(v)))
                })?,
            None => cell
                .history
                .iter()
                .position(|h| h.state == St::Succeeded && h.ver.sha != cell.ver.sha)
                .ok_or_else(|| {
                    conflict(format!(
                        "{name} has no earlier good version to roll back to"
                    ))
                })?,
        };
        let dur = self.op_duration(li, s, 4, 8);
        let target_sha = self.lanes[li].cells[s].history[pos].ver.sha.clone();
        let run = self.new_run(li, s, &target_sha, OpKind::Rollback, now, actor);
        let cell = &mut self.lane_mut(li).cells[s];
        let target = cell.history.remove(pos);
        let never_deployed = matches!(cell.state, St::AwaitingApproval | St::Cancelled);
        let old = Hist {
            state: if never_deployed {
                St::Cancelled
            } else {
                St::RolledBack
            },
            at: now,
            actor: actor.to_string(),
            message: match cell.state {
                // Rejected or cancelled before: that is how it ended.
                St::Cancelled => cell.message.clone(),
                St::AwaitingApproval => {
                    format!(
                        "cancelled by {actor}: rolled back to {}",
                        target.ver.short()
                    )
                }
                _ => format!("rolled back by {actor} to {}", target.ver.short()),
            },
            ..cell.snapshot()
        };
        let from = cell.ver.short().to_string();
        let op = Op::new(OpKind::Rollback, dur, now);
        cell.start(old, target.ver, run, Some(op), now, actor);
        cell.state = St::RollingBack;
        cell.awaiting_reviewers = vec![];
        Ok(format!(
            "rolling back {name} from {from} to {}",
            cell.ver.short()
        ))
    }

    pub(super) fn approve(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let state = self.lanes[li].cells[s].state;
        if state != St::AwaitingApproval {
            return Err(wrong_state(&self.name(li, s), state, NOT_WAITING));
        }
        let dur = self.op_duration(li, s, 8, 20);
        let (now, _, cell) = self.cell_at(li, s);
        cell.state = St::Running;
        cell.ran = true;
        cell.op = Some(Op::new(OpKind::Deploy, dur, now));
        cell.started = now;
        cell.touched(now, actor);
        cell.awaiting_reviewers = vec![];
        Ok(format!(
            "approved {} for {}: deploying",
            cell.ver.short(),
            environment(s)
        ))
    }

    pub(super) fn reject(
        &mut self,
        li: usize,
        s: usize,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<String, Reject> {
        let (now, name, cell) = self.cell_at(li, s);
        if cell.state != St::AwaitingApproval {
            return Err(wrong_state(&name, cell.state, NOT_WAITING));
        }
        cell.state = St::Cancelled;
        cell.touched(now, actor);
        cell.awaiting_reviewers = vec![];
        cell.message = match reason {
            Some(r) => format!("rejected by {actor}: {r}"),
            None => format!("rejected by {actor}"),
        };
        Ok(format!(
            "rejected {} for {}",
            cell.ver.short(),
            environment(s)
        ))
    }

    /// Cancel the run of a cell: a build, rollout or rollback in progress (running or paused)
    /// or a deploy waiting for approval stops where it is and the cell is `cancelled`. Not
    /// part of the `http` protocol (whose `pause` keeps the rollout resumable): GitHub's
    /// `POST .../actions/runs/{id}/cancel` does this.
    pub(super) fn cancel(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let (now, name, cell) = self.cell_at(li, s);
        if !matches!(
            cell.state,
            St::Running | St::RollingBack | St::Paused | St::AwaitingApproval
        ) {
            let why = ": there is no run in progress to cancel";
            return Err(wrong_state(&name, cell.state, why));
        }
        if let Some(op) = cell.op.take() {
            if op.kind == OpKind::Build {
                // The checks that passed stay passed; the others never finish.
                cell.checks = build_checks(&op, op.progress(now));
            } else {
                cell.checks.clear();
            }
        }
        let was = cell.state;
        cell.state = St::Cancelled;
        cell.touched(now, actor);
        cell.awaiting_reviewers = vec![];
        cell.message = format!("cancelled by {actor}");
        Ok(format!(
            "cancelled {} of {} at {name} ({} until now)",
            if s == BUILD {
                "the build"
            } else {
                "the deploy"
            },
            cell.ver.short(),
            was.words()
        ))
    }
}

/// Versions arrive at build from CI: nothing is deployed there, so nothing is promoted into it
/// or rolled back at it.
fn deployed(s: usize, refusal: &str) -> Result<(), Reject> {
    if s == BUILD {
        Err(unsupported(refusal))
    } else {
        Ok(())
    }
}

const NOT_WAITING: &str = ", not waiting for approval";

/// A cell in no state for the action: "{name} is {state}{why}".
fn wrong_state(name: &str, state: St, why: &str) -> Reject {
    conflict(format!("{name} is {}{why}", state.words()))
}

impl CellSim {
    /// Changed by `actor` at `now`.
    fn touched(&mut self, now: i64, actor: &str) {
        self.updated = now;
        self.actor = actor.to_string();
    }

    /// A new run of `ver` in the cell, by `actor` at `now`, moving with `op` (or waiting for
    /// approval without one); what the cell was goes to its history as `was`.
    fn start(&mut self, was: Hist, ver: Ver, run: u64, op: Option<Op>, now: i64, actor: &str) {
        self.push_history(was);
        self.ver = ver;
        self.started = now;
        self.run = run;
        self.touched(now, actor);
        self.checks.clear();
        self.ran = op.is_some();
        self.op = op;
    }
}
