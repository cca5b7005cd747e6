//! The runner: the one path every action takes after the user confirmed it.
//!
//! refuse what can't go (read-only, blocked without force, forced without reason) → audit
//! "attempt" (refused if another action on the cell is in flight, in this or any process) →
//! the source acts → trainyard watches the cell until it is where it should be → audit
//! "outcome". A dry run stops after the audit, with the request it would have sent.
//!
//! Watching the cell is `verify`; what the audit log says against starting an action, and
//! which actions an earlier run left unfinished, is `ledger`.

mod ledger;
mod verify;

pub use ledger::{
    UNFINISHED_SINCE, Unfinished, in_flight_window, open_attempt, open_attempts,
    refuse_against_log, refuse_held, unfinished,
};
pub use verify::{Check, check_expected};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;

use super::audit::{self, Entry, Record};
use super::{Action, Plan, Scope};
use crate::config::{Config, Target};
use crate::model::duration::human;
use crate::model::{ActionKind, Blocker, CellKey, Timestamp};
use crate::sources::{ActionError, ActionRequest, Source};
use crate::store::Store;
use crate::store::claims::{Claim, RENEW_EVERY};

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
    /// How the command that ran it exits.
    pub fn exit(&self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            Outcome::Done(_) | Outcome::DryRun(_) => Exit::Ok,
            Outcome::Blocked(_) => Exit::Blocked,
            Outcome::Rejected(_) | Outcome::Failed(_) => Exit::AtSource,
            Outcome::TimedOut(_) => Exit::TimedOut,
            Outcome::Refused(_) => Exit::Refused,
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

/// Carries actions out. One per process; shared by the TUI's tasks and the CLI.
pub struct Runner {
    sources: BTreeMap<String, Arc<dyn Source>>,
    targets: BTreeMap<CellKey, Target>,
    store: Store,
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
        store: Store,
        readonly: bool,
    ) -> Runner {
        Runner {
            sources: sources
                .iter()
                .map(|s| (s.name().to_string(), Arc::clone(s)))
                .collect(),
            targets: config.targets.clone(),
            store,
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

    /// Where actions are recorded, and the ledger read from.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Who this trainyard is to the others on the store, and where it runs from.
    pub fn origin(&self) -> &str {
        &self.origin
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

    /// Append `entry`; with `check`, only if the store agrees that the action may start now
    /// (nothing else in flight on its cell, no halt or hold meanwhile). On the postgres store,
    /// "in flight" is a claim, taken with the attempt; on the file, an attempt still open.
    async fn append(
        &self,
        entry: Entry,
        check: Option<(Action, Timestamp, Duration)>,
    ) -> Result<Record, audit::AppendError> {
        let Some((action, now, window)) = check else {
            return self.store.append(entry).await;
        };
        match &self.store {
            Store::File(_) => {
                let check =
                    move |records: &[Record]| refuse_against_log(records, &action, now, window);
                self.store.append_if(check, entry, None).await
            }
            Store::Postgres(_) => {
                let claim = matches!(action.scope(), Scope::Cell(_)).then(|| Claim {
                    key: action.key(),
                    audit_id: entry.id.clone(),
                    action: entry.action.clone(),
                    actor: entry.actor.clone(),
                    origin: entry.origin.clone(),
                    since: now,
                });
                let check = move |records: &[Record]| refuse_held(records, &action, now);
                self.store.append_if(check, entry, claim).await
            }
        }
    }

    /// Append from a thread that may block (trainyard is stopping): the file directly, the
    /// database on the runtime this runs beside.
    fn append_blocking(&self, entry: Entry) -> Result<Record, audit::AppendError> {
        match &self.store {
            Store::File(log) => log.append(entry),
            Store::Postgres(_) => match tokio::runtime::Handle::try_current() {
                Ok(rt) => rt.block_on(self.store.append(entry)),
                Err(_) => Err(audit::AppendError::Io(std::io::Error::other(
                    "no runtime to reach the store from",
                ))),
            },
        }
    }

    /// Keep the claim of the attempt `id` alive while its action runs (postgres store only);
    /// dropping the guard stops it.
    fn keep_claim(&self, id: &str) -> Option<KeepAlive> {
        let Store::Postgres(pg) = &self.store else {
            return None;
        };
        let (pg, id) = (Arc::clone(pg), id.to_string());
        Some(KeepAlive(tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                match pg.renew(&id).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            "the claim of {id} lapsed: another trainyard may act on its cell"
                        );
                        break;
                    }
                    Err(e) => tracing::warn!("the claim of {id} could not be renewed: {e}"),
                }
            }
        })))
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
            match self.append_blocking(self.entry(&plan, &id, result, Some(error))) {
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
            force: a.force,
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
        // runtime lets the blocking write finish before the process ends). Already closed as
        // abandoned (trainyard is stopping): that outcome stands, no second one.
        let closed = self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
            .is_none();
        if closed {
            return outcome;
        }
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
            return Outcome::Refused(super::availability::readonly_refusal(a.kind));
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
        if let Some(why) = super::availability::unforceable(plan) {
            return Outcome::Refused(why);
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
            // The team's chain can't be written: nothing goes (a record kept elsewhere would
            // split it), and it is no failure at the source.
            Err(audit::AppendError::Io(e)) if matches!(self.store, Store::Postgres(_)) => {
                return Outcome::Refused(format!(
                    "not sent: the team's store can't record it ({e}); actions wait until the store answers"
                ));
            }
            Err(audit::AppendError::Io(e)) => {
                return Outcome::Failed(format!(
                    "not sent: the audit log could not be written: {e}"
                ));
            }
        }
        let _claim = self.keep_claim(&id);
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
        // plan was being confirmed. Send only what the user saw. (Not when the source asked to
        // be left alone: that poll would only be refused.)
        if let Some(seen) = &plan.seen
            && source.held_for().is_none()
            && let Some(now) = verify::look_at(source.as_ref(), &a.key()).await
            // Compared with what the user saw: both were sanitized on their way in. An abort
            // stops something moving: its state may move on meanwhile, its version may not.
            && (now.version != seen.0 || (a.kind != ActionKind::Abort && now.state != seen.1))
        {
            let v = now
                .version
                .as_deref()
                .map(crate::model::cell::short_version)
                .unwrap_or_default();
            let o = Outcome::Refused(format!(
                "not sent: {} {} changed since you confirmed (now {v} {}); look again",
                a.lane,
                a.stage,
                now.state.words()
            ));
            return self.outcome(plan, &id, o).await;
        }
        // Marked as sent before it goes; closed as abandoned meanwhile (trainyard is
        // stopping, and the log says "not sent"): it does not go.
        match self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            Some(open) => open.1 = Some(source.name().to_string()),
            None => return Outcome::Failed("not sent: trainyard is stopping".into()),
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
            // Like any hold: an attempt, refused if someone holds the lane already (their hold
            // stays as they made it), then its outcome.
            let hold_id = self.new_id();
            let check = (
                hold.action.clone(),
                chrono::Utc::now(),
                self.in_flight_window(),
            );
            let attempt = self.entry(&hold, &hold_id, audit::result::ATTEMPT, None);
            let held = match self.append(attempt, Some(check)).await {
                Ok(_) => {
                    self.append(self.entry(&hold, &hold_id, audit::result::DONE, None), None)
                        .await
                }
                Err(e) => Err(e),
            };
            match held {
                Ok(_) => progress(format!(
                    "{} held: promotions refused until it is resumed",
                    a.lane
                )),
                Err(audit::AppendError::Refused(m)) => {
                    progress(format!("the lane is not held again: {m}"))
                }
                Err(audit::AppendError::Io(e)) => {
                    progress(format!("the lane hold could not be written: {e}"))
                }
            }
        }
        let verified = self.verify(plan, source.as_ref(), progress).await;
        self.outcome(plan, &id, verified).await
    }
}

/// Renews a claim until dropped.
struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
