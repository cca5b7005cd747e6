//! The engine's view of the audit log: holds, the halt and actions in flight in any trainyard,
//! read every few seconds off the engine's loop (a halt from the command line reaches a
//! running screen within seconds).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Input, Ledger};
use crate::model::{ActionKind, CellKey, Timestamp};
use crate::ops::Runner;
use crate::ops::audit::Record;
use crate::ops::availability::InFlight;

/// How often the audit log is read for holds and actions of other trainyards.
pub const EVERY: Duration = Duration::from_secs(2);

/// Other processes' actions in flight: the attempts of `records` still open at `now` within
/// `window`.
pub fn in_flight_of(
    records: &[Record],
    now: Timestamp,
    window: Duration,
) -> Vec<(CellKey, InFlight)> {
    crate::ops::run::open_attempts(records, now, window)
        .into_iter()
        .filter_map(|r| {
            let kind = ActionKind::parse(&r.action)?;
            let key = CellKey::new(
                r.lane.clone().unwrap_or_default(),
                r.stage.clone().unwrap_or_default(),
            );
            let f = InFlight {
                kind,
                actor: crate::model::text::sanitize(&r.actor, 200),
                since: r.time().unwrap_or(now),
                status: "in flight".into(),
                mine: false,
            };
            Some((key, f))
        })
        .collect()
}

/// The ledger as the records so far leave it, kept up to date record by record: the log is
/// read from where the last read stopped, never again from its start (unless it was
/// replaced or cut).
#[derive(Clone, Debug, Default)]
pub struct LedgerView {
    holds: crate::model::Holds,
    /// Attempts without an outcome yet, by (id, lane, stage), as `ops::run` pairs them.
    open: std::collections::BTreeMap<(String, Option<String>, Option<String>), Record>,
    /// The pauses `trainyard-auto` made, whoever ran it (kept for an hour).
    auto: Vec<Record>,
}

impl LedgerView {
    /// Fold in records appended after the ones seen.
    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        for r in records {
            crate::ops::replay_hold(&mut self.holds, &r);
            let key = (r.id.clone(), r.lane.clone(), r.stage.clone());
            if r.actor == crate::ops::auto::ACTOR && r.result != crate::ops::audit::result::ATTEMPT
            {
                self.auto.push(r.clone());
            }
            if r.result == crate::ops::audit::result::ATTEMPT {
                self.open.insert(key, r);
            } else {
                self.open.remove(&key);
            }
        }
    }

    /// What the records say at `now` (attempts open within `window` are in flight).
    pub fn ledger(&mut self, now: Timestamp, window: Duration) -> Ledger {
        let open: Vec<Record> = self.open.values().cloned().collect();
        self.auto.retain(|r| crate::ops::auto::recent_pause(r, now));
        Ledger {
            holds: self.holds.clone(),
            in_flight: in_flight_of(&open, now, window),
            auto_pauses: self.auto.clone(),
            team: Default::default(),
        }
    }
}

/// Read the runner's audit log every [`EVERY`] (the postgres store: `store::follow`) — only what was appended since the last read —
/// and send what it says to the engine. A log that can't be read is said (once per distinct
/// error): holds and other trainyards' actions are unknown meanwhile. A line that is not a
/// record is said too, loudly when it names a halt or a hold (the halt may then be wrong).
/// Ends when the engine is gone.
/// `now` wakes it early (an action ended: its record may be a hold or the halt).
pub fn watch(
    runner: &Arc<Runner>,
    tx: mpsc::UnboundedSender<Input>,
    now: Arc<tokio::sync::Notify>,
) {
    let log = match runner.store() {
        crate::store::Store::File(log) => log.clone(),
        crate::store::Store::Postgres(pg) => {
            return crate::store::follow::watch(runner, Arc::clone(pg), tx, now);
        }
    };
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let mut last_problem: Option<String> = None;
        let mut cursor = crate::ops::audit::Cursor::default();
        let mut view = LedgerView::default();
        loop {
            let log = log.clone();
            let window = runner.in_flight_window();
            let path = log.path().display().to_string();
            let read = tokio::task::spawn_blocking(move || log.read_from(cursor)).await;
            let tail = match read {
                Ok(Ok(t)) => Ok(t),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let problem = tail
                .as_ref()
                .err()
                .map(|e| format!("audit log {path} unreadable: {e}"));
            if problem != last_problem {
                if let Some(p) = &problem
                    && tx.send(Input::Warning(p.clone())).is_err()
                {
                    break;
                }
                last_problem = problem;
            }
            if let Ok(tail) = tail {
                if tail.restarted {
                    view = LedgerView::default();
                }
                for s in &tail.skipped {
                    tracing::warn!("audit log {path}: {s}");
                    if tx
                        .send(Input::Warning(format!("audit log {path}: {s}")))
                        .is_err()
                    {
                        return;
                    }
                }
                view.extend(tail.records);
                cursor = tail.next;
                let ledger = view.ledger(chrono::Utc::now(), window);
                if tx.send(Input::Ledger(ledger)).is_err() {
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = now.notified() => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::audit::{AuditLog, Entry, result};

    fn entry(id: &str, action: &str, lane: Option<&str>, stage: Option<&str>, res: &str) -> Entry {
        Entry {
            id: id.into(),
            actor: "bob@jump".into(),
            origin: "local".into(),
            action: action.into(),
            lane: lane.map(str::to_string),
            stage: stage.map(str::to_string),
            from: None,
            to: None,
            reason: Some("why".into()),
            forced: false,
            dry_run: false,
            result: res.into(),
            error: None,
        }
    }

    #[test]
    fn read_piece_by_piece_the_ledger_is_what_a_whole_read_gives() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        let window = Duration::from_secs(600);
        let mut view = LedgerView::default();
        let mut cursor = crate::ops::audit::Cursor::default();
        let steps: Vec<Vec<Entry>> = vec![
            vec![entry("h", "halt", None, None, result::DONE)],
            vec![
                entry("a", "promote", Some("api"), Some("prod"), result::ATTEMPT),
                entry("l", "pause", Some("web"), None, result::DONE),
            ],
            vec![
                entry("a", "promote", Some("api"), Some("prod"), result::DONE),
                entry("u", "unhalt", None, None, result::DONE),
                entry("b", "rollback", Some("db"), Some("canary"), result::ATTEMPT),
            ],
        ];
        for step in steps {
            for e in step {
                log.append(e).unwrap();
            }
            let tail = log.read_from(cursor).unwrap();
            assert!(!tail.restarted);
            view.extend(tail.records);
            cursor = tail.next;
            let now = chrono::Utc::now();
            // The same as replaying the whole log each time.
            let all = log.read().unwrap();
            let l = view.ledger(now, window);
            assert_eq!(l.holds, crate::ops::holds_from(&all));
            assert_eq!(l.in_flight, in_flight_of(&all, now, window));
        }
        let l = view.ledger(chrono::Utc::now(), window);
        assert!(l.holds.halt.is_none());
        assert!(l.holds.lanes.contains_key("web"));
        let keys: Vec<_> = l.in_flight.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, [CellKey::new("db", "canary").to_string()]);
    }
}
