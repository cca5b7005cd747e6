//! The engine at work: polls the sources, reads the ledger, ticks the clock, runs what the
//! engine queues through the runner, and publishes one snapshot per change (coalesced: a burst
//! of reports costs one snapshot) and every event. The screen and `watch` both sit on it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};

use super::{Engine, Event, Input, Snapshot};
use crate::ops::{Outcome, Plan, Runner};
use crate::poll::feed::{Feed, FeedEvent, Role, Running};
use crate::sources::Source;

/// What the engine's users ask of it.
#[derive(Debug)]
pub enum Request {
    /// A plan a person confirmed.
    Submit(Box<Plan>),
}

/// The running engine, as its users hold it. Dropping the requests side stops it.
pub struct Handle {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub requests: mpsc::UnboundedSender<Request>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshots.borrow())
    }

    /// Stop the engine and its poll tasks now.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How often the clock ticks: windows, soak times and staleness move with it.
const TICK: Duration = Duration::from_secs(1);

/// Start the engine: poll `sources`, read the runner's audit log, act through `runner`.
pub fn spawn(engine: Engine, runner: Arc<Runner>, sources: &[Arc<dyn Source>]) -> Handle {
    spawn_with(engine, runner, sources, Feed::Local)
}

/// [`spawn`], with the reports of `sources` from `feed`: this process' polling, or a store's
/// elected poller (`poll::feed`). Actions always go from this process, through `runner`.
pub fn spawn_with(
    mut engine: Engine,
    runner: Arc<Runner>,
    sources: &[Arc<dyn Source>],
    feed: Feed,
) -> Handle {
    let first = engine.snapshot();
    let (snap_tx, snapshots) = watch::channel(Arc::clone(&first));
    let (event_tx, events) = mpsc::unbounded_channel();
    let (requests, mut req_rx) = mpsc::unbounded_channel::<Request>();
    let (report_tx, mut reports) = mpsc::unbounded_channel();
    let (input_tx, mut inputs) = mpsc::unbounded_channel::<Input>();
    let sources = sources.to_vec();
    for e in engine.greeting() {
        let _ = event_tx.send(e);
    }
    // With a store, nothing is the poller before the store says so.
    engine.set_poller(matches!(feed, Feed::Local));
    let task = tokio::spawn(async move {
        let poller = Running::start(feed, &sources, &first.train, report_tx);
        drop(first);
        // Read the ledger at once when an action ended: its record is the hold or halt.
        let ledger_now = Arc::new(tokio::sync::Notify::new());
        super::ledger::watch(&runner, input_tx.clone(), Arc::clone(&ledger_now));
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // When the last snapshot went out, and when the next one is due if news of the sources
        // was folded in since without one (see REPORTS_GAP).
        let mut last_sent = tokio::time::Instant::now();
        let mut due: Option<tokio::time::Instant> = None;
        // The events of news folded in meanwhile: they go out with that snapshot (the
        // activity says what the lanes show, and a screen draws one frame for both).
        let mut pending: Vec<Event> = Vec::new();
        loop {
            let first = tokio::select! {
                Some(r) = reports.recv() => match from_feed(&mut engine, &runner, r) {
                    Some(i) => Some(i),
                    None => continue,
                },
                Some(i) = inputs.recv() => Some(i),
                req = req_rx.recv() => match req {
                    Some(Request::Submit(p)) => Some(Input::Submit(p)),
                    // Nobody holds the engine any more: what was put off still goes out (to
                    // whoever listens to the events).
                    None => {
                        for e in pending.drain(..) {
                            let _ = event_tx.send(e);
                        }
                        break;
                    }
                },
                _ = tick.tick() => Some(Input::Tick(crate::poll::now())),
                _ = tokio::time::sleep_until(due.unwrap_or(last_sent)), if due.is_some() => None,
            };
            // When this round began: the clock's tick is reset from here, so the gap between
            // snapshots counts from here too (a quiet second's tick then never falls short of
            // the gap by the time the round took).
            let woke = tokio::time::Instant::now();
            let Some(first) = first else {
                // The snapshot put off for the sources' news.
                out_snapshot(
                    &mut engine,
                    &event_tx,
                    &snap_tx,
                    std::mem::take(&mut pending),
                );
                (last_sent, due) = (woke, None);
                continue;
            };
            // News of the sources alone (and the clock) may wait for the next snapshot; anything
            // a person or the team did goes out at once.
            let mut news_only = matches!(first, Input::Report(_) | Input::Tick(_));
            // The clock's tick is for a quiet second: a snapshot made for anything else reads
            // the clock too, and the next tick comes a second after it.
            let mut out = Vec::new();
            if !matches!(first, Input::Tick(_)) {
                tick.reset();
                out.extend(engine.fold(Input::Tick(crate::poll::now())));
            }
            let mut ended = matches!(first, Input::Done { .. });
            out.extend(engine.fold(first));
            // Fold in whatever else is waiting: one snapshot for the lot.
            while let Ok(r) = reports.try_recv() {
                if let Some(i) = from_feed(&mut engine, &runner, r) {
                    out.extend(engine.fold(i));
                }
            }
            while let Ok(i) = inputs.try_recv() {
                ended |= matches!(i, Input::Done { .. });
                news_only = false;
                out.extend(engine.fold(i));
            }
            if ended {
                ledger_now.notify_one();
            }
            while let Ok(Request::Submit(p)) = req_rx.try_recv() {
                news_only = false;
                out.extend(engine.fold(Input::Submit(p)));
            }
            for plan in engine.take_execute() {
                spawn_action(&runner, plan, input_tx.clone());
            }
            for s in engine.take_poll_now() {
                poller.poll_now(&s);
            }
            if news_only && woke < last_sent + REPORTS_GAP {
                pending.extend(out);
                due = Some(last_sent + REPORTS_GAP);
                continue;
            }
            pending.extend(out);
            out_snapshot(
                &mut engine,
                &event_tx,
                &snap_tx,
                std::mem::take(&mut pending),
            );
            (last_sent, due) = (woke, None);
        }
        drop(poller);
    });
    Handle {
        snapshots,
        events,
        requests,
        task,
    }
}

/// The shortest time between two snapshots made for news of the sources alone: several
/// sources polling at their own intervals (the `http` one every second, GitHub's, GitLab's and
/// Argo CD's every two, Prometheus' every five) cost one snapshot (and frame) a second, not one
/// per report, as k9s or the Argo CD UI refresh. A person's action, its end, the ledger (a
/// halt, a hold, the team) and a change of poller go out at once.
const REPORTS_GAP: Duration = Duration::from_millis(1000);

/// Send `events`, what [notify] asks to hear of (judged on the state as it is now) and the
/// snapshot of that state.
fn out_snapshot(
    engine: &mut Engine,
    event_tx: &mpsc::UnboundedSender<Event>,
    snap_tx: &watch::Sender<Arc<Snapshot>>,
    mut events: Vec<Event>,
) {
    events.extend(engine.notices());
    for e in events {
        // Nobody listening (a status round): the snapshot still goes out.
        let _ = event_tx.send(e);
    }
    snap_tx.send_replace(engine.snapshot());
}

/// What the feed says, as the engine takes it: a report (and who polled it), or this
/// process' role (the poller runs `auto_pause`; losing the store is said).
fn from_feed(engine: &mut Engine, runner: &Runner, e: FeedEvent) -> Option<Input> {
    match e {
        FeedEvent::Report { report, via } => {
            engine.set_via(&report.source, via);
            Some(Input::Report(report))
        }
        FeedEvent::Role(role) => {
            engine.set_poller(role == Role::Poller);
            // Told to the others with this trainyard's presence.
            if let crate::store::Store::Postgres(pg) = runner.store() {
                pg.set_polling(role == Role::Poller);
            }
            None
        }
        FeedEvent::Lost(why) => Some(Input::Warning(format!(
            "the store is unreachable ({why}): this screen polls its sources itself until it is back"
        ))),
    }
}

/// Run an action through the runner in a task; what it says on the way and its outcome come
/// back as inputs, even if the task panics.
fn spawn_action(runner: &Arc<Runner>, plan: Plan, tx: mpsc::UnboundedSender<Input>) {
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let (key, kind) = (plan.action.key(), plan.action.kind);
        let progress_tx = tx.clone();
        let progress = move |text: String| {
            let _ = progress_tx.send(Input::Progress {
                key: key.clone(),
                kind,
                text,
            });
        };
        let run = std::panic::AssertUnwindSafe(runner.run(&plan, false, &progress))
            .catch_unwind()
            .await;
        let outcome = run.unwrap_or_else(|_| {
            Outcome::Failed("internal error: the action task failed; see the log".into())
        });
        let _ = tx.send(Input::Done {
            plan: Box::new(plan),
            outcome,
        });
    });
}
