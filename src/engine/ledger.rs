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

/// What `records` say at `now`: holds and the halt, and the attempts still open within
/// `window` (other processes' actions in flight).
pub fn ledger_of(records: &[Record], now: Timestamp, window: Duration) -> Ledger {
    let in_flight = crate::ops::run::open_attempts(records, now, window)
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
        .collect();
    Ledger {
        holds: crate::ops::holds_from(records),
        in_flight,
    }
}

/// Read the runner's audit log every [`EVERY`] and send what it says to the engine; a log
/// that can't be read is said (once per distinct error): holds and other trainyards' actions
/// are unknown meanwhile. Ends when the engine is gone.
pub fn watch(runner: &Arc<Runner>, tx: mpsc::UnboundedSender<Input>) {
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let mut last_problem: Option<String> = None;
        loop {
            let log = runner.audit().clone();
            let window = runner.in_flight_window();
            let path = log.path().display().to_string();
            let read = tokio::task::spawn_blocking(move || log.read()).await;
            let records = match read {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let problem = records
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
            if let Ok(records) = records {
                let ledger = ledger_of(&records, chrono::Utc::now(), window);
                if tx.send(Input::Ledger(ledger)).is_err() {
                    break;
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
