//! The poll scheduler: every source on its own interval in its own task. A source that errors
//! backs off behind a circuit breaker (`breaker`); one that hangs is cut off by a timeout; one
//! that asked for a pause (`retry-after`) is not polled before it is over. None of them delays
//! the UI or other sources.

pub mod breaker;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::model::duration::human;
use crate::model::{SourceReport, Timestamp};
use crate::sources::Source;

/// Poll one source once, never longer than its deadline.
pub async fn poll_source(src: &dyn Source) -> SourceReport {
    let limit = src.deadline();
    let poll = std::panic::AssertUnwindSafe(src.poll()).catch_unwind();
    let outcome = match tokio::time::timeout(limit, poll).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err("internal error while polling; see the log".to_string()),
        Err(_) => Err(format!("no answer within {}", human(limit))),
    };
    // Every source sanitizes what it parses; this is the second line, for all of them.
    SourceReport {
        source: src.name().to_string(),
        at: now(),
        outcome,
    }
    .sanitized()
}

/// One round: every source polled concurrently; reports in source order.
pub async fn poll_once(sources: &[Arc<dyn Source>]) -> Vec<SourceReport> {
    let mut set = JoinSet::new();
    for (i, src) in sources.iter().enumerate() {
        let src = Arc::clone(src);
        set.spawn(async move { (i, poll_source(src.as_ref()).await) });
    }
    let mut out: Vec<(usize, SourceReport)> = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(pair) => out.push(pair),
            // poll_source catches panics; only a task torn down can end here. Say so.
            Err(e) => tracing::error!("a poll task ended without a report: {e}"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

pub fn now() -> Timestamp {
    chrono::Utc::now()
}

/// The running poll tasks. Dropping it stops them.
pub struct Poller {
    wake: BTreeMap<String, Arc<Notify>>,
    tasks: JoinSet<()>,
}

impl Poller {
    pub fn spawn(sources: &[Arc<dyn Source>], tx: mpsc::UnboundedSender<SourceReport>) -> Poller {
        let mut tasks = JoinSet::new();
        let mut wake = BTreeMap::new();
        for src in sources {
            let notify = Arc::new(Notify::new());
            wake.insert(src.name().to_string(), Arc::clone(&notify));
            let src = Arc::clone(src);
            let tx = tx.clone();
            tasks.spawn(async move {
                let mut breaker = breaker::Breaker::new(src.interval(), src.name());
                loop {
                    breaker.set_interval(src.interval());
                    breaker.before_poll();
                    let mut report = poll_source(src.as_ref()).await;
                    let mut delay = breaker.after_poll(report.outcome.is_ok());
                    // The source asked for a pause (retry-after): polling sooner would only be
                    // refused again, and count against it.
                    let held = src.held_for().filter(|h| *h > delay);
                    if let Some(h) = held {
                        delay = h;
                    }
                    if let Err(e) = &mut report.outcome {
                        tracing::warn!(
                            source = src.name(),
                            failures = breaker.failures(),
                            "poll failed: {e}"
                        );
                        if let Some(open) = breaker.describe(delay) {
                            e.push_str(&format!(" ({open})"));
                        } else if let Some(h) = held {
                            e.push_str(&format!(" (next try in {})", human(h)));
                        }
                    }
                    if tx.send(report).is_err() {
                        break;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = notify.notified() => {}
                    }
                }
            });
        }
        Poller { wake, tasks }
    }

    /// Poll a source now instead of at its next interval (after an action, say).
    pub fn poll_now(&self, source: &str) {
        if let Some(n) = self.wake.get(source) {
            n.notify_one();
        }
    }

    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}
