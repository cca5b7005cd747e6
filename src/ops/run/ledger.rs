//! The audit log as a ledger of actions: what it says against starting one now (another
//! action in flight on the cell, a halt or hold made meanwhile), which attempts are still
//! open, and which actions an earlier run left without a known end.

use std::sync::Arc;
use std::time::Duration;

use crate::model::{ActionKind, Timestamp};
use crate::ops::audit::{self, Record};
use crate::ops::{Action, Scope};
use crate::sources::Source;

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
    refuse_held(records, action, now)
}

/// What the halt and the holds, as the records leave them, say against starting an action
/// now: a hold or the halt someone else made meanwhile is not overwritten, and nothing moves
/// through a halt or into a held lane.
pub fn refuse_held(records: &[Record], action: &Action, now: Timestamp) -> Result<(), String> {
    // A hold or the halt as someone else left it meanwhile: not overwritten.
    if !matches!(action.scope(), Scope::Cell(_))
        && let Some(e) = crate::ops::hold_conflict(action, &crate::ops::holds_from(records), now)
    {
        return Err(e);
    }
    let moves = matches!(
        action.kind,
        ActionKind::Promote | ActionKind::Approve | ActionKind::Resume
    );
    if moves && matches!(action.scope(), Scope::Cell(_)) {
        let holds = crate::ops::holds_from(records);
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

/// The attempt still open for the cell an action is for that it may not go beside (an abort
/// goes beside the promote or rollback it stops, [`ActionKind::stops`]).
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
        .filter(|a| a.lane == lane && a.stage == stage)
        .find(|a| !ActionKind::parse(&a.action).is_some_and(|k| action.kind.stops(k)))
}
