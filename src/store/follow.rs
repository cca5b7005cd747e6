//! The ledger from the postgres store, live: a listening connection hears every record
//! appended (`NOTIFY trainyard_audit`) and every trainyard arriving or leaving; on each, and
//! every [`EVERY`] in any case (claims lapse without a word), the records after the last one
//! seen are read — after a reconnect too, so nothing appended meanwhile is missed — and the
//! engine is sent the ledger and the team. This trainyard says it is here every
//! [`presence::BEAT_EVERY`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::postgres::PgStore;
use super::presence::{self, Peer};
use super::{Team, pg};
use crate::engine::Input;
use crate::engine::ledger::LedgerView;
use crate::model::ActionKind;
use crate::ops::Runner;
use crate::ops::availability::InFlight;

/// How often the store is read when nothing is heard.
pub const EVERY: Duration = Duration::from_secs(2);

/// A name for this trainyard among the others: unique across hosts and restarts.
fn presence_id(actor: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{actor}-{}-{nanos:x}", std::process::id())
}

/// Connect and listen; `None` (said in the log) when the store can't be reached now.
async fn listen(pg: &PgStore) -> Option<pg::Notifications> {
    let (client, notes) = match pg::connect_listening(pg.target()).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("the store's notifications: {e}");
            return None;
        }
    };
    let asked = client
        .batch_execute("LISTEN trainyard_audit; LISTEN trainyard_presence")
        .await;
    if let Err(e) = asked {
        tracing::warn!("the store's notifications: {}", pg::describe(&e));
        return None;
    }
    // The client must live as long as the listening: it goes with the task that drains it.
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _client = client;
        let mut notes = notes;
        while let Some(n) = notes.recv().await {
            if tx.send(n).is_err() {
                break;
            }
        }
    });
    Some(rx)
}

/// Follow the store for the engine until the engine is gone. `now` wakes it early (an action
/// of this trainyard ended).
pub fn watch(
    runner: &Arc<Runner>,
    pg: Arc<PgStore>,
    tx: mpsc::UnboundedSender<Input>,
    now: Arc<tokio::sync::Notify>,
) {
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let mut me = Peer {
            id: presence_id(runner.actor()),
            actor: runner.actor().to_string(),
            origin: runner.origin().to_string(),
            since: chrono::Utc::now(),
            poller: false,
        };
        let mut seq = 0u64;
        let mut view = LedgerView::default();
        let mut notes: Option<pg::Notifications> = None;
        let mut beaten: Option<Instant> = None;
        let mut last_problem: Option<String> = None;
        loop {
            if notes.is_none() {
                notes = listen(&pg).await;
            }
            // A change of poller is said at once, not at the next beat.
            let polls = pg.polling();
            if beaten.is_none_or(|b| b.elapsed() >= presence::BEAT_EVERY) || polls != me.poller {
                me.poller = polls;
                // Said on the banner through the store's problem if it fails.
                if pg.beat(&me).await.is_ok() {
                    beaten = Some(Instant::now());
                }
            }
            let read = pg.read_since(seq).await;
            // Not asked again when the store did not answer the first.
            let (claims, peers) = if read.is_ok() {
                (pg.claims().await, pg.present().await)
            } else {
                (Ok(Vec::new()), Ok(Vec::new()))
            };
            if let Ok((records, skipped)) = &read {
                for s in skipped {
                    let text = format!("audit chain in the store {}: {s}", pg.url());
                    if tx.send(Input::Warning(text)).is_err() {
                        return;
                    }
                }
                if let Some(last) = records.last() {
                    seq = last.seq;
                }
                view.extend(records.iter().cloned());
            }
            let problem = pg.problem();
            if problem.is_some() && problem != last_problem {
                tracing::warn!("{}", problem.as_deref().unwrap_or_default());
            }
            last_problem = problem.clone();
            let mut ledger = view.ledger(chrono::Utc::now(), runner.in_flight_window());
            let claims = claims.unwrap_or_default();
            // In flight is what is claimed: a crashed holder's claim lapses, its attempt stays.
            ledger.in_flight = claims
                .iter()
                .filter_map(|c| {
                    let kind = ActionKind::parse(&c.action)?;
                    let f = InFlight {
                        kind,
                        actor: crate::model::text::sanitize(&c.actor, 200),
                        since: c.since,
                        status: "in flight".into(),
                        mine: false,
                    };
                    Some((c.key.clone(), f))
                })
                .collect();
            ledger.team = Arc::new(Team {
                shared: Some(pg.url().to_string()),
                polling: me.poller,
                problem,
                peers: peers
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.id != me.id)
                    .collect(),
                claims,
            });
            if tx.send(Input::Ledger(ledger)).is_err() {
                let _ = pg.leave(&me.id).await;
                return;
            }
            tokio::select! {
                heard = async {
                    match notes.as_mut() {
                        Some(n) => n.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    match heard {
                        // Several at once are read as one.
                        Some(_) => while notes.as_mut().is_some_and(|n| n.try_recv().is_ok()) {},
                        // The connection ended: listen again on the next round.
                        None => notes = None,
                    }
                }
                _ = tokio::time::sleep(EVERY) => {}
                _ = now.notified() => {}
            }
        }
    });
}
