//! The runner: the one path every action takes after the user confirmed it.
//!
//! refuse what can't go (read-only, blocked without force, forced without reason) → audit
//! "attempt" (refused if another action on the cell is in flight, in this or any process) →
//! the source acts → trainyard watches the cell until it is where it should be → audit
//! "outcome". A dry run stops after the audit, with the request it would have sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;

use super::audit::{self, AuditLog, Entry, Record};
use super::{Action, Plan, Scope};
use crate::config::{Config, Target};
use crate::model::duration::human;
use crate::model::policy::describe;
use crate::model::{ActionKind, Blocker, BlockerKind, Cell, CellKey, CellState, Timestamp};
use crate::sources::{ActionError, ActionRequest, Source};

/// How an action ended. Each has its exit code on the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Done and verified: the cell is where it should be.
    Done(String),
    /// Nothing sent: this is what would have been.
    DryRun(String),
    /// Policy says no (and it was not forced).
    Blocked(Vec<Blocker>),
    /// trainyard would not send it: read-only, no reason, another action in flight.
    Refused(String),
    /// The source said no.
    Rejected(String),
    /// The source could not be reached, or the cell failed.
    Failed(String),
    /// The source accepted, but the cell did not get there in time.
    TimedOut(String),
}

impl Outcome {
    /// 0 done, 3 blocked by policy, 4 rejected or failed at the source, 5 verification timed
    /// out, 6 refused by trainyard (read-only, missing reason, another action in flight).
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Done(_) | Outcome::DryRun(_) => 0,
            Outcome::Blocked(_) => 3,
            Outcome::Rejected(_) | Outcome::Failed(_) => 4,
            Outcome::TimedOut(_) => 5,
            Outcome::Refused(_) => 6,
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Done(_) => "done",
            Outcome::DryRun(_) => "dry_run",
            Outcome::Blocked(_) => "blocked",
            Outcome::Refused(_) => "refused",
            Outcome::Rejected(_) => "rejected",
            Outcome::Failed(_) => "failed",
            Outcome::TimedOut(_) => "timeout",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Outcome::Done(m)
            | Outcome::DryRun(m)
            | Outcome::Refused(m)
            | Outcome::Rejected(m)
            | Outcome::Failed(m)
            | Outcome::TimedOut(m) => m.clone(),
            Outcome::Blocked(b) => {
                let reasons: Vec<String> = b.iter().map(|b| b.message.clone()).collect();
                format!("blocked by policy: {}", reasons.join("; "))
            }
        }
    }
}

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
            Running | Succeeded => Check::Failed(format!(
                "{v} went ahead instead ({}): someone approved it",
                describe(c)
            )),
            _ => pending(),
        },
        ActionKind::Halt | ActionKind::Unhalt => Check::Reached("done".into()),
    }
}

/// What the audit log, read under its lock, says against starting an action now: another
/// action in flight on the cell, or a halt or hold made by another trainyard meanwhile.
pub fn refuse_against_log(
    records: &[Record],
    action: &Action,
    now: Timestamp,
    window: Duration,
) -> Result<(), String> {
    if let Some(r) = open_attempt(records, action, now, window) {
        return Err(format!(
            "{} already has an action in flight: {} by {} at {} (wait for it to finish)",
            action.describe(),
            r.action,
            r.actor,
            r.ts
        ));
    }
    let moves = matches!(
        action.kind,
        ActionKind::Promote | ActionKind::Approve | ActionKind::Resume
    );
    if moves && matches!(action.scope(), Scope::Cell(_)) {
        let holds = super::holds_from(records);
        if let Some(h) = &holds.halt {
            return Err(format!(
                "the train is halted by {}: {} (unhalt first)",
                h.by, h.reason
            ));
        }
        if action.kind == ActionKind::Promote
            && let Some(h) = holds.lanes.get(&action.lane)
        {
            return Err(format!(
                "{} is on hold by {}: {} (resume it first)",
                action.lane, h.by, h.reason
            ));
        }
    }
    Ok(())
}

/// How long after its attempt an action may still be running: the longest send, the
/// verification, one more poll, a pause between polls, and a margin.
pub fn in_flight_window<'a>(
    sources: impl IntoIterator<Item = &'a Arc<dyn Source>>,
    verify_timeout: Duration,
) -> Duration {
    let deadline = sources
        .into_iter()
        .map(|s| s.deadline())
        .max()
        .unwrap_or_default();
    deadline * 2 + verify_timeout + Duration::from_secs(65)
}

/// How far back the audit log is searched for unfinished actions at start.
pub const UNFINISHED_SINCE: Duration = Duration::from_secs(24 * 3600);

/// Attempts without an outcome, oldest first (whatever their age).
fn unclosed(records: &[Record]) -> Vec<&Record> {
    let closed: std::collections::HashSet<(&str, &Option<String>, &Option<String>)> = records
        .iter()
        .filter(|r| r.result != audit::result::ATTEMPT)
        .map(|r| (r.id.as_str(), &r.lane, &r.stage))
        .collect();
    records
        .iter()
        .filter(|r| r.result == audit::result::ATTEMPT)
        .filter(|a| !closed.contains(&(a.id.as_str(), &a.lane, &a.stage)))
        .collect()
}

/// Every attempt still open: an attempt without an outcome, not older than `window`.
pub fn open_attempts(records: &[Record], now: Timestamp, window: Duration) -> Vec<&Record> {
    unclosed(records)
        .into_iter()
        .filter(|a| {
            a.time()
                .is_some_and(|t| (now - t).to_std().unwrap_or_default() <= window)
        })
        .collect()
}

/// An action of an earlier run whose end nobody saw: sent and then trainyard was stopped, or
/// an attempt that never got an outcome (a crash, a killed process, a lost machine).
#[derive(Clone, Debug, PartialEq)]
pub struct Unfinished<'a> {
    pub record: &'a Record,
    /// In words: "sent to gh, outcome unknown: trainyard was stopped by signal 1".
    pub why: String,
}

impl Unfinished<'_> {
    /// "promote payments-api → prod by dana@jump at 14:02 UTC: sent to gh, outcome unknown: …"
    pub fn describe(&self) -> String {
        let r = self.record;
        let what = match (r.lane.as_deref(), r.stage.as_deref()) {
            (Some(l), Some(s)) if r.action == "promote" => format!("promote {l} → {s}"),
            (Some(l), Some(s)) => format!("{} {l} at {s}", r.action),
            (Some(l), None) => format!("{} {l}", r.action),
            _ => format!("{} the train", r.action),
        };
        let at = r
            .time()
            .map(|t| t.format(" at %Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        // The audit log is a file anyone who can act may have written: shown clean.
        crate::model::text::sanitize(&format!("{what} by {}{at}: {}", r.actor, self.why), 1000)
    }
}

/// Actions of the last `since` that never got a known end, for the user to check at their
/// source: outcomes `unknown`, and attempts without an outcome past their in-flight `window`.
/// A later attempt on the same cell means someone has dealt with it.
pub fn unfinished(
    records: &[Record],
    now: Timestamp,
    since: Duration,
    window: Duration,
) -> Vec<Unfinished<'_>> {
    let age = |r: &Record| r.time().map(|t| (now - t).to_std().unwrap_or_default());
    let recent = |r: &Record| age(r).is_some_and(|a| a <= since);
    let superseded = |r: &Record| {
        records.iter().any(|o| {
            o.seq > r.seq
                && o.result == audit::result::ATTEMPT
                && o.id != r.id
                && o.lane == r.lane
                && o.stage == r.stage
        })
    };
    let mut out: Vec<Unfinished> = Vec::new();
    for a in unclosed(records) {
        if recent(a) && age(a).is_some_and(|x| x > window) && !superseded(a) {
            out.push(Unfinished {
                record: a,
                why: "no outcome was recorded (trainyard stopped without closing it); check the cell at its source".into(),
            });
        }
    }
    for r in records
        .iter()
        .filter(|r| r.result == audit::result::UNKNOWN && recent(r) && !superseded(r))
    {
        out.push(Unfinished {
            record: r,
            why: r.error.clone().unwrap_or_else(|| "outcome unknown".into()),
        });
    }
    out.sort_by_key(|u| u.record.seq);
    out
}

/// The attempt still open for the cell an action is for.
pub fn open_attempt<'a>(
    records: &'a [Record],
    action: &Action,
    now: Timestamp,
    window: Duration,
) -> Option<&'a Record> {
    let (lane, stage) = (action.lane_opt(), action.stage_opt());
    open_attempts(records, now, window)
        .into_iter()
        .rev()
        .find(|a| a.lane == lane && a.stage == stage)
}

/// Carries actions out. One per process; shared by the TUI's tasks and the CLI.
pub struct Runner {
    sources: BTreeMap<String, Arc<dyn Source>>,
    targets: BTreeMap<CellKey, Target>,
    audit: AuditLog,
    actor: String,
    origin: String,
    readonly: bool,
    verify_timeout: Duration,
    seq: AtomicU64,
    /// Attempts written and not yet closed by an outcome, by audit id, with the source they
    /// were sent to once sent: closed as abandoned if trainyard has to stop first.
    open: std::sync::Mutex<BTreeMap<String, (Plan, Option<String>)>>,
}

impl Runner {
    pub fn new(
        config: &Config,
        sources: &[Arc<dyn Source>],
        audit: AuditLog,
        readonly: bool,
    ) -> Runner {
        Runner {
            sources: sources
                .iter()
                .map(|s| (s.name().to_string(), Arc::clone(s)))
                .collect(),
            targets: config.targets.clone(),
            audit,
            actor: super::actor(config.identity.as_deref()),
            origin: super::origin(),
            readonly,
            verify_timeout: config.verify_timeout,
            seq: AtomicU64::new(0),
            open: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// How long after its attempt an action may still be running: the longest send, the
    /// verification, one more poll, a pause between polls, and a margin.
    pub fn in_flight_window(&self) -> Duration {
        in_flight_window(self.sources.values(), self.verify_timeout)
    }

    /// A fresh id for an audit attempt: unique across processes and restarts.
    fn new_id(&self) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!(
            "{}-{nanos:x}-{}",
            std::process::id(),
            self.seq.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Append off the async threads: the lock may wait and fsync takes its time.
    async fn append(
        &self,
        entry: Entry,
        check: Option<(Action, Timestamp, Duration)>,
    ) -> Result<Record, audit::AppendError> {
        let log = self.audit.clone();
        let task = tokio::task::spawn_blocking(move || match check {
            Some((action, now, window)) => log.append_if(
                |records| refuse_against_log(records, &action, now, window),
                entry,
            ),
            None => log.append(entry),
        });
        task.await
            .unwrap_or_else(|e| Err(audit::AppendError::Io(std::io::Error::other(e.to_string()))))
    }

    /// Close every attempt still open (trainyard is being stopped before it finished): one
    /// already sent becomes `unknown` ("sent, outcome unknown" — it may well happen), one not
    /// sent yet `failed`. No attempt is left without an outcome; the next start lists the
    /// unknown ones.
    /// Returns what it wrote, in words, for the user.
    pub fn abandon_all(&self, why: &str) -> Vec<String> {
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        let mut said = Vec::new();
        for (id, (plan, sent)) in open {
            let (result, error) = match sent {
                Some(source) => (
                    audit::result::UNKNOWN,
                    format!(
                        "sent to {source}, outcome unknown: {why} before it was verified; check the cell at its source"
                    ),
                ),
                None => (audit::result::FAILED, format!("not sent: {why}")),
            };
            let what = format!("{}: {result}: {error}", plan.action.describe());
            match self
                .audit
                .append(self.entry(&plan, &id, result, Some(error)))
            {
                Ok(_) => said.push(what),
                Err(e) => {
                    tracing::error!("audit: could not close attempt {id}: {e}");
                    said.push(format!(
                        "{what} (could not be written to the audit log: {e})"
                    ));
                }
            }
        }
        said
    }

    /// The source an action goes to (none for holds and the halt).
    pub fn source_of(&self, action: &Action) -> Option<&str> {
        match action.scope() {
            Scope::Cell(k) => self.targets.get(&k).map(|t| t.source.as_str()),
            _ => None,
        }
    }

    fn source(&self, action: &Action) -> Result<&Arc<dyn Source>, String> {
        let name = self
            .source_of(action)
            .ok_or_else(|| format!("no source for {} {}", action.lane, action.stage))?;
        self.sources
            .get(name)
            .ok_or_else(|| format!("source {name} is not running"))
    }

    fn request(&self, plan: &Plan) -> ActionRequest {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        let a = &plan.action;
        ActionRequest {
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
        }
    }

    /// What the source would be sent, for a dry run and the dialog.
    pub fn preview(&self, plan: &Plan) -> String {
        match plan.action.scope() {
            // A preview shows the request, with its version and reason: shown clean.
            Scope::Cell(_) => match self.source(&plan.action) {
                Ok(src) => crate::model::text::sanitize(&src.preview(&self.request(plan)), 2000),
                Err(e) => e,
            },
            _ => format!(
                "nothing is sent to a source: trainyard will {}",
                plan.action.describe()
            ),
        }
    }

    fn entry(&self, plan: &Plan, id: &str, result: &str, error: Option<String>) -> Entry {
        let a = &plan.action;
        Entry {
            id: id.to_string(),
            actor: a.actor.clone().unwrap_or_else(|| self.actor.clone()),
            origin: self.origin.clone(),
            action: a.kind.as_str().to_string(),
            lane: a.lane_opt(),
            stage: a.stage_opt(),
            from: plan.from_version.clone(),
            to: plan.to_version.clone(),
            reason: a.reason.clone(),
            forced: plan.forced(),
            dry_run: result == audit::result::DRY_RUN,
            result: result.to_string(),
            error,
        }
    }

    /// Write an outcome; an audit failure is added to what the user is told.
    async fn outcome(&self, plan: &Plan, id: &str, outcome: Outcome) -> Outcome {
        let (result, error) = match &outcome {
            Outcome::Done(_) => (audit::result::DONE, None),
            Outcome::Rejected(m) => (audit::result::REJECTED, Some(m.clone())),
            Outcome::Failed(m) => (audit::result::FAILED, Some(m.clone())),
            Outcome::TimedOut(m) => (audit::result::TIMEOUT, Some(m.clone())),
            Outcome::Refused(m) => (audit::result::REFUSED, Some(m.clone())),
            _ => return outcome,
        };
        // No longer abandoned if trainyard stops now: this outcome is the one written (the
        // runtime lets the blocking write finish before the process ends).
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let written = self.append(self.entry(plan, id, result, error), None).await;
        match written {
            Ok(_) => outcome,
            Err(e) => Outcome::Failed(format!(
                "{}; and the outcome could not be written to the audit log: {e}",
                outcome.message()
            )),
        }
    }

    /// Everything between the user's "yes" and the verified result. `progress` hears what
    /// happens on the way (sent, accepted, the cell moving).
    pub async fn run(
        &self,
        plan: &Plan,
        dry_run: bool,
        progress: &(dyn Fn(String) + Send + Sync),
    ) -> Outcome {
        let a = &plan.action;
        if self.readonly {
            return Outcome::Refused("trainyard is read-only: actions are disabled".into());
        }
        if a.needs_reason() && a.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            let why = if a.force {
                "a forced action"
            } else {
                "this action"
            };
            return Outcome::Refused(format!("{why} needs a reason (--reason \"...\")"));
        }
        let id = self.new_id();
        if dry_run {
            // Whatever the verdict: show what would be sent, send nothing, keep the record.
            let preview = self.preview(plan);
            return match self
                .append(self.entry(plan, &id, audit::result::DRY_RUN, None), None)
                .await
            {
                Ok(_) => Outcome::DryRun(preview),
                Err(e) => Outcome::Failed(format!("dry run could not be audited: {e}")),
            };
        }
        if !plan.allowed() && !a.force {
            return Outcome::Blocked(plan.blockers.clone());
        }
        // The halt and holds can't be forced: "every promotion refused" means every one.
        if let Some(b) = plan
            .blockers
            .iter()
            .find(|b| matches!(b.kind, BlockerKind::Halt | BlockerKind::Hold))
        {
            return Outcome::Refused(format!("{}: this can't be forced", b.message));
        }
        // The attempt, only if nothing else is in flight on this cell and no halt or hold
        // came meanwhile, in any process: decided and written under the log's lock.
        let check = (a.clone(), chrono::Utc::now(), self.in_flight_window());
        match self
            .append(
                self.entry(plan, &id, audit::result::ATTEMPT, None),
                Some(check),
            )
            .await
        {
            Ok(_) => {}
            Err(audit::AppendError::Refused(m)) => return Outcome::Refused(m),
            Err(audit::AppendError::Io(e)) => {
                return Outcome::Failed(format!(
                    "not sent: the audit log could not be written: {e}"
                ));
            }
        }
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), (plan.clone(), None));
        if !matches!(a.scope(), Scope::Cell(_)) {
            // Holds and the halt are trainyard's own: the audit record is the action.
            return self
                .outcome(plan, &id, Outcome::Done(plan.summary.clone()))
                .await;
        }
        let source = match self.source(a) {
            Ok(s) => Arc::clone(s),
            Err(e) => return self.outcome(plan, &id, Outcome::Failed(e)).await,
        };
        // Look once more, at the source: another trainyard may have acted on the cell while this
        // plan was being confirmed. Send only what the user saw.
        if let Some(seen) = &plan.seen
            && let Ok(Ok(mut batch)) = tokio::time::timeout(source.deadline(), source.poll()).await
        {
            // Compared with what the user saw, which was sanitized on its way in.
            batch.sanitize();
            let key = a.key();
            let now = batch
                .cells
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, c)| (c.version.clone(), c.state));
            if let Some((version, state)) = now.filter(|n| n != seen) {
                let v = version
                    .as_deref()
                    .map(crate::model::cell::short_version)
                    .unwrap_or_default();
                let o = Outcome::Refused(format!(
                    "not sent: {} {} changed since you confirmed (now {v} {}); look again",
                    a.lane,
                    a.stage,
                    state.words()
                ));
                return self.outcome(plan, &id, o).await;
            }
        }
        if let Some(open) = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            open.1 = Some(source.name().to_string());
        }
        progress(format!("sent to {}", source.name()));
        let req = self.request(plan);
        let act = std::panic::AssertUnwindSafe(source.act(&req)).catch_unwind();
        let sent = tokio::time::timeout(source.deadline(), act).await.map(|r| {
            r.unwrap_or_else(|_| {
                Err(ActionError::Failed(
                    "internal error in the source; see the log".into(),
                ))
            })
        });
        let ack = crate::sources::sanitize_answer(sent.unwrap_or_else(|_| {
            Err(ActionError::Unanswered(format!(
                "no answer within {}",
                human(source.deadline())
            )))
        }));
        match ack {
            Ok(ack) => progress(format!("accepted by {}: {}", source.name(), ack.message)),
            Err(e @ ActionError::Rejected { .. }) => {
                let o = Outcome::Rejected(format!("{} rejected it: {e}", source.name()));
                return self.outcome(plan, &id, o).await;
            }
            // It may have arrived: watch the cell rather than call it failed (a retry could
            // fire it twice). The attempt stays open meanwhile.
            Err(ActionError::Unanswered(m)) => {
                progress(format!(
                    "no answer from {} ({m}): watching the cell to see if it happened",
                    source.name()
                ));
            }
            Err(e) => {
                let o = Outcome::Failed(format!("{}: {e}", source.name()));
                return self.outcome(plan, &id, o).await;
            }
        }
        if a.kind == ActionKind::Pause && !source.native_pause() {
            // The source cancels instead of pausing: hold the lane as soon as it accepted, so
            // that nothing moves it until someone resumes it, whatever verification finds.
            let mut hold = plan.clone();
            hold.action = Action::lane(ActionKind::Pause, &a.lane);
            hold.action.reason = Some(format!(
                "{} can't pause: the rollout at {} was cancelled and the lane held{}",
                source.name(),
                a.stage,
                a.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
            let hold_id = self.new_id();
            if let Err(e) = self
                .append(self.entry(&hold, &hold_id, audit::result::DONE, None), None)
                .await
            {
                progress(format!("the lane hold could not be written: {e}"));
            } else {
                progress(format!(
                    "{} held: promotions refused until it is resumed",
                    a.lane
                ));
            }
        }
        let verified = self.verify(plan, source.as_ref(), progress).await;
        self.outcome(plan, &id, verified).await
    }

    /// Watch the cell at its source until it is where the action should take it.
    async fn verify(
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
        loop {
            let polled = tokio::time::timeout(source.deadline(), source.poll()).await;
            let cell = match polled {
                Ok(Ok(mut batch)) => {
                    // What it says goes to the activity: clean, as every poll's data.
                    batch.sanitize();
                    batch
                        .cells
                        .into_iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, c)| c)
                }
                _ => None,
            };
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
                return Outcome::TimedOut(format!(
                    "accepted, but {} {} did not get there within {}: last seen {last}",
                    key.lane,
                    key.stage,
                    human(self.verify_timeout)
                ));
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CellState::*;

    fn plan(kind: ActionKind, to: Option<&str>) -> Plan {
        Plan {
            action: Action::new(kind, "api", "prod"),
            from_version: Some("old".into()),
            to_version: to.map(str::to_string),
            summary: String::new(),
            blockers: vec![],
            confirm: super::super::Confirm::Dialog,
            choices: vec![],
            warnings: vec![],
            baseline: None,
            seen: None,
        }
    }

    fn cell(v: &str, st: CellState) -> Cell {
        let mut c = Cell::new("sim", st);
        c.version = Some(v.into());
        c
    }

    #[test]
    fn promote_is_reached_when_the_version_succeeded_there() {
        let p = plan(ActionKind::Promote, Some("new"));
        assert!(matches!(check_expected(&p, None, true), Check::Pending(_)));
        assert!(matches!(
            check_expected(&p, Some(&cell("old", Succeeded)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("new", Running)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("new", Succeeded)), true),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("new", AwaitingApproval)), true),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("new", Failed)), true),
            Check::Failed(_)
        ));
    }

    #[test]
    fn rollback_pause_resume_approve_reject() {
        let p = plan(ActionKind::Rollback, Some("good"));
        assert!(matches!(
            check_expected(&p, Some(&cell("bad", RollingBack)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("good", Succeeded)), true),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("good", AwaitingApproval)), true),
            Check::Pending(_)
        ));
        let p = plan(ActionKind::Pause, Some("v"));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Running)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Paused)), true),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Succeeded)), true),
            Check::Failed(_)
        ));
        let p = plan(ActionKind::Resume, Some("v"));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Paused)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Running)), true),
            Check::Reached(_)
        ));
        let p = plan(ActionKind::Approve, Some("v"));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", AwaitingApproval)), true),
            Check::Pending(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Running)), true),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Cancelled)), true),
            Check::Failed(_)
        ));
        let p = plan(ActionKind::Reject, Some("v"));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Cancelled)), true),
            Check::Reached(_)
        ));
        assert!(
            matches!(check_expected(&p, Some(&cell("v", Running)), true), Check::Failed(ref m) if m.contains("someone approved")),
            "approved by someone else is not a rejection"
        );
        let p = plan(ActionKind::Resume, Some("v"));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Failed)), true),
            Check::Failed(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Unknown)), true),
            Check::Pending(_)
        ));
    }

    #[test]
    fn without_a_native_pause_the_rollout_stopping_is_the_pause() {
        let mut p = plan(ActionKind::Pause, Some("v"));
        p.seen = Some((Some("v".into()), Running));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Failed)), false),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Cancelled)), false),
            Check::Reached(_)
        ));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Running)), false),
            Check::Pending(_)
        ));
        // A source that can pause must show it paused: a failure is a failure there.
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Failed)), true),
            Check::Failed(_)
        ));
        // Already failed before the pause: that is not the pause.
        p.seen = Some((Some("v".into()), Failed));
        assert!(matches!(
            check_expected(&p, Some(&cell("v", Failed)), false),
            Check::Failed(_)
        ));
    }

    #[test]
    fn an_old_failure_is_not_the_new_result() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut p = plan(ActionKind::Promote, Some("v2"));
        p.baseline = Some(at);
        let mut c = cell("v2", Failed);
        c.updated_at = Some(at);
        assert!(
            matches!(check_expected(&p, Some(&c), true), Check::Pending(_)),
            "the retry has not started yet"
        );
        c.updated_at = Some(at + chrono::TimeDelta::seconds(30));
        assert!(
            matches!(check_expected(&p, Some(&c), true), Check::Failed(_)),
            "failed again"
        );
    }

    #[test]
    fn the_log_refuses_a_second_action_and_anything_against_a_halt_or_hold() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let w = Duration::from_secs(600);
        let promote = Action::new(ActionKind::Promote, "api", "prod");
        assert!(refuse_against_log(&[], &promote, now, w).is_ok());
        let mut halt = rec(1, "h", "done", "", "", "2026-11-26T14:00:00Z");
        halt.action = "halt".into();
        halt.lane = None;
        halt.stage = None;
        halt.reason = Some("incident".into());
        let e = refuse_against_log(&[halt], &promote, now, w).unwrap_err();
        assert!(e.contains("halted") && e.contains("incident"), "{e}");
        let mut hold = rec(1, "l", "done", "api", "", "2026-11-26T14:00:00Z");
        hold.action = "pause".into();
        hold.stage = None;
        let e = refuse_against_log(&[hold.clone()], &promote, now, w).unwrap_err();
        assert!(e.contains("on hold"), "{e}");
        // A hold stops promotion, not a rollback.
        let rollback = Action::new(ActionKind::Rollback, "api", "prod");
        assert!(refuse_against_log(&[hold], &rollback, now, w).is_ok());
        let open = rec(1, "x", "attempt", "api", "prod", "2026-11-26T14:59:00Z");
        assert!(
            refuse_against_log(&[open], &rollback, now, w)
                .unwrap_err()
                .contains("in flight")
        );
    }

    fn rec(seq: u64, id: &str, result: &str, lane: &str, stage: &str, ts: &str) -> Record {
        Record {
            seq,
            ts: ts.into(),
            id: id.into(),
            actor: "a".into(),
            origin: "local".into(),
            action: "promote".into(),
            lane: Some(lane.into()),
            stage: Some(stage.into()),
            from: None,
            to: None,
            reason: None,
            forced: false,
            dry_run: false,
            result: result.into(),
            error: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn an_attempt_without_outcome_is_open_until_its_window_passes() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let a = Action::new(ActionKind::Promote, "api", "prod");
        let w = Duration::from_secs(600);
        let records = vec![rec(
            1,
            "x",
            "attempt",
            "api",
            "prod",
            "2026-11-26T14:58:00Z",
        )];
        assert_eq!(open_attempt(&records, &a, now, w).unwrap().id, "x");
        let other = Action::new(ActionKind::Promote, "api", "canary");
        assert!(
            open_attempt(&records, &other, now, w).is_none(),
            "another cell is free"
        );
        let mut closed = records.clone();
        closed.push(rec(2, "x", "done", "api", "prod", "2026-11-26T14:59:00Z"));
        assert!(open_attempt(&closed, &a, now, w).is_none());
        let old = vec![rec(
            1,
            "y",
            "attempt",
            "api",
            "prod",
            "2026-11-26T14:00:00Z",
        )];
        assert!(
            open_attempt(&old, &a, now, w).is_none(),
            "a crashed process does not block forever"
        );
    }

    #[test]
    fn unfinished_lists_unknown_outcomes_and_attempts_left_open() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let w = Duration::from_secs(600);
        let day = UNFINISHED_SINCE;
        // An attempt an hour old with no outcome: its process is gone.
        let crashed = rec(1, "a", "attempt", "api", "prod", "2026-11-26T14:00:00Z");
        // Sent, then stopped by a signal.
        let sent = rec(2, "b", "attempt", "web", "canary", "2026-11-26T14:10:00Z");
        let mut unknown = rec(3, "b", "unknown", "web", "canary", "2026-11-26T14:10:05Z");
        unknown.error =
            Some("sent to sim, outcome unknown: trainyard was stopped by SIGHUP".into());
        // Still in flight (2 minutes old): not unfinished, in flight.
        let young = rec(4, "c", "attempt", "db", "prod", "2026-11-26T14:58:00Z");
        // Two days old: out of sight.
        let old = rec(5, "d", "attempt", "old", "prod", "2026-11-24T14:58:00Z");
        let records = vec![crashed, sent, unknown, young, old];
        let u = unfinished(&records, now, day, w);
        let ids: Vec<(&str, &str)> = u
            .iter()
            .map(|u| (u.record.id.as_str(), u.record.result.as_str()))
            .collect();
        assert_eq!(ids, [("a", "attempt"), ("b", "unknown")]);
        assert!(u[0].why.starts_with("no outcome was recorded"));
        assert_eq!(
            u[1].describe(),
            "promote web → canary by a at 2026-11-26 14:10 UTC: sent to sim, outcome unknown: trainyard was stopped by SIGHUP"
        );
        // A later attempt on api's prod: someone dealt with it.
        let mut more = records.clone();
        more.push(rec(
            6,
            "e",
            "attempt",
            "api",
            "prod",
            "2026-11-26T14:59:00Z",
        ));
        more.push(rec(7, "e", "done", "api", "prod", "2026-11-26T14:59:30Z"));
        let u = unfinished(&more, now, day, w);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].record.id, "b");
    }
}
