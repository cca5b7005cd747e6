//! Verification: after the source accepted an action, trainyard watches the cell until it is
//! where the action should take it, it went somewhere else, or `actions.verify_timeout` ran
//! out.
//!
//! The cell is read the way the poller reads it ([`crate::poll::poll_source`]: within the
//! source's deadline, a panic caught, every text sanitized), and a source that asked to be
//! left alone (`retry-after`, a spent rate limit: [`Source::held_for`]) is not asked before
//! its wait is over.

use std::time::Duration;

use super::{Outcome, Runner};
use crate::model::duration::human;
use crate::model::policy::describe;
use crate::model::{ActionKind, Cell, CellKey, CellState};
use crate::ops::Plan;
use crate::sources::Source;

/// Where a cell stands against what an action should make of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Reached(String),
    /// Not yet; what it is doing now.
    Pending(String),
    /// It went somewhere else: it won't get there.
    Failed(String),
}

/// Has the cell become what the action should make of it? Pure: the verification loop and
/// its tests share it.
///
/// `native_pause`: whether the source pauses a rollout itself. Where it can't, it cancels it,
/// and the rollout stopping (cancelled, or failed as GitHub shows a cancelled deploy) is the
/// pause reached.
pub fn check_expected(plan: &Plan, cell: Option<&Cell>, native_pause: bool) -> Check {
    let Some(c) = cell else {
        return Check::Pending("no data for the cell yet".into());
    };
    let want = plan.to_version.as_deref();
    let same = c.version.as_deref() == want;
    let v = c.short_version();
    // The cell has not changed since the plan: whatever it shows is the old result.
    let unchanged = plan.baseline.is_some()
        && c.updated_at == plan.baseline
        && plan
            .seen
            .as_ref()
            .is_none_or(|(v, st)| *v == c.version && *st == c.state);
    let pending = || Check::Pending(format!("{v} {}", describe(c)));
    use CellState::*;
    match plan.action.kind {
        ActionKind::Promote | ActionKind::Rollback => match c.state {
            Succeeded if same => Check::Reached(format!("{v} succeeded at {}", plan.action.stage)),
            AwaitingApproval if same && plan.action.kind == ActionKind::Promote => Check::Reached(
                format!("{v} is at {} and waits for approval", plan.action.stage),
            ),
            Failed | Cancelled | RolledBack if same && !unchanged => {
                Check::Failed(format!("{v} {} at {}", c.state.words(), plan.action.stage))
            }
            _ => pending(),
        },
        ActionKind::Pause => match c.state {
            Paused => Check::Reached(format!("{v} paused")),
            Cancelled | Failed
                if !native_pause && plan.seen.as_ref().is_none_or(|(_, st)| *st != c.state) =>
            {
                Check::Reached(format!("{v}: the rollout was cancelled"))
            }
            Running | RollingBack | Pending | Unknown => pending(),
            other => Check::Failed(format!("{v} is {} instead of paused", other.words())),
        },
        ActionKind::Resume => match c.state {
            Running | RollingBack | Succeeded => Check::Reached(format!("{v} {}", describe(c))),
            Failed | Cancelled | RolledBack if !unchanged => {
                Check::Failed(format!("{v} {} after resuming", c.state.words()))
            }
            _ => pending(),
        },
        ActionKind::Approve => match c.state {
            Running | Succeeded => Check::Reached(format!("{v} approved: {}", describe(c))),
            Cancelled | Failed | RolledBack if !unchanged => {
                Check::Failed(format!("{v} {} instead of going ahead", c.state.words()))
            }
            _ => pending(),
        },
        ActionKind::Reject => match c.state {
            Cancelled => Check::Reached(format!("{v} rejected: cancelled")),
            // GitHub ends a run whose review was rejected with conclusion `failure`, and its
            // deployment with status `failure`: that is the rejection, once the cell has left
            // the waiting it was planned on.
            Failed if plan.seen.as_ref().is_none_or(|(_, st)| *st != Failed) => {
                Check::Reached(format!("{v} rejected: {}", describe(c)))
            }
            Running | Succeeded => Check::Failed(format!(
                "{v} went ahead instead ({}): someone approved it",
                describe(c)
            )),
            _ => pending(),
        },
        // An aborted rollout stops with its traffic back on the stable version: Argo shows it
        // cancelled (or degraded); finishing instead means the abort came too late.
        ActionKind::Abort => match c.state {
            Cancelled | RolledBack => Check::Reached(format!("{v} aborted: {}", describe(c))),
            Failed if plan.seen.as_ref().is_none_or(|(_, st)| *st != Failed) => {
                Check::Reached(format!("{v} aborted: {}", describe(c)))
            }
            Succeeded if !unchanged => Check::Failed(format!(
                "{v} finished its rollout before the abort took ({})",
                describe(c)
            )),
            _ => pending(),
        },
        ActionKind::Halt | ActionKind::Unhalt => Check::Reached("done".into()),
    }
}

/// The cell as its source shows it now, polled as the poller polls it; `None` when the poll
/// failed or says nothing of the cell.
pub(super) async fn look_at(source: &dyn Source, key: &CellKey) -> Option<Cell> {
    let report = crate::poll::poll_source(source).await;
    report
        .outcome
        .ok()?
        .cells
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, c)| c)
}

impl Runner {
    /// Watch the cell at its source until it is where the action should take it.
    pub(super) async fn verify(
        &self,
        plan: &Plan,
        source: &dyn Source,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Outcome {
        let key = plan.action.key();
        let started = tokio::time::Instant::now();
        // At the source's own pace (a rate limit may have stretched it), within reason.
        let every = source
            .interval()
            .clamp(Duration::from_millis(200), Duration::from_secs(60));
        let mut last = String::new();
        let timed_out = |last: &str| {
            Outcome::TimedOut(format!(
                "accepted, but {} {} did not get there within {}: last seen {last}",
                key.lane,
                key.stage,
                human(self.verify_timeout)
            ))
        };
        loop {
            // A source that asked to be left alone is not polled: that poll would only be
            // refused, and count against it. Wait it out, within the verification's time.
            if let Some(wait) = source.held_for() {
                let left = self.verify_timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return timed_out(&last);
                }
                progress(format!(
                    "{} asked not to be polled for {}: waiting",
                    source.name(),
                    human(wait)
                ));
                tokio::time::sleep(wait.min(left)).await;
                continue;
            }
            let cell = look_at(source, &key).await;
            match check_expected(plan, cell.as_ref(), source.native_pause()) {
                Check::Reached(m) => return Outcome::Done(m),
                Check::Failed(m) => {
                    return Outcome::Failed(format!("the source accepted, but {m}"));
                }
                Check::Pending(m) => {
                    if m != last {
                        progress(m.clone());
                        last = m;
                    }
                }
            }
            if started.elapsed() >= self.verify_timeout {
                return timed_out(&last);
            }
            tokio::time::sleep(every).await;
        }
    }
}
