//! The poll scheduler: every source on its own interval in its own task. A source that errors
//! backs off behind a circuit breaker (`breaker`); one that hangs is cut off by a timeout; one
//! that asked for a pause (`retry-after`) is not polled before it is over. None of them delays
//! the UI or other sources.

pub mod breaker;
pub mod feed;
pub mod shared;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::model::duration::human;
use crate::model::{SourceReport, Timestamp};
use crate::sources::Source;

/// Poll one source once, never longer than its deadline: everything it knows.
pub async fn poll_source(src: &dyn Source) -> SourceReport {
    report(src, src.poll()).await
}

/// Poll one source once for the poller, whose reports are all folded into one world: what
/// changed since its last such poll, at the source's choice ([`Source::poll_changes`]).
pub async fn poll_source_changes(src: &dyn Source) -> SourceReport {
    report(src, src.poll_changes()).await
}

async fn report(
    src: &dyn Source,
    poll: crate::sources::BoxFuture<'_, Result<crate::model::Batch, String>>,
) -> SourceReport {
    let limit = src.deadline();
    let poll = std::panic::AssertUnwindSafe(poll).catch_unwind();
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
    /// Poll for one engine: a source may report only what changed since its last report.
    pub fn spawn(sources: &[Arc<dyn Source>], tx: mpsc::UnboundedSender<SourceReport>) -> Poller {
        Poller::start(sources, tx, false)
    }

    /// Poll for reports that others read too (the team's poller publishes each one, and a
    /// follower keeps only a source's latest): every report whole.
    pub fn spawn_whole(
        sources: &[Arc<dyn Source>],
        tx: mpsc::UnboundedSender<SourceReport>,
    ) -> Poller {
        Poller::start(sources, tx, true)
    }

    fn start(
        sources: &[Arc<dyn Source>],
        tx: mpsc::UnboundedSender<SourceReport>,
        whole: bool,
    ) -> Poller {
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
                    let mut report = if whole {
                        poll_source(src.as_ref()).await
                    } else {
                        poll_source_changes(src.as_ref()).await
                    };
                    let now = std::time::Instant::now();
                    // The source asked for a pause (retry-after, a spent budget): polling
                    // sooner would only be refused again, and count against it. A refusal
                    // it explains is no failure of the source.
                    let delay = breaker.after_poll(report.outcome.is_ok(), src.held_for(), now);
                    if let Err(e) = &mut report.outcome {
                        tracing::warn!(
                            source = src.name(),
                            failures = breaker.failures(),
                            "poll failed: {e}"
                        );
                        if let Some(open) = breaker.describe(delay) {
                            e.push_str(&format!(" ({open})"));
                        } else if breaker.held(now).is_some() {
                            e.push_str(&format!(" (next try in {})", human(delay)));
                        }
                    }
                    if tx.send(report).is_err() {
                        break;
                    }
                    let mut next = tokio::time::Instant::from_std(now + delay);
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(next) => break,
                            _ = notify.notified() => {
                                // Asked for now: now, or as soon as a hold allows.
                                let wake = tokio::time::Instant::now()
                                    + breaker.wake(std::time::Instant::now());
                                next = next.min(wake);
                            }
                        }
                    }
                }
            });
        }
        Poller { wake, tasks }
    }

    /// Poll a source now instead of at its next interval (after an action, say); a source that
    /// asked for a pause (`retry-after`) is polled when the pause is over, not before.
    pub fn poll_now(&self, source: &str) {
        if let Some(n) = self.wake.get(source) {
            n.notify_one();
        }
    }

    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::Batch;
    use crate::sources::{ActionAck, ActionError, ActionRequest, BoxFuture};

    /// A source rate limited until `until`: every poll before is refused, with the wait left
    /// as its `held_for`.
    struct Limited {
        interval: Duration,
        until: Mutex<Option<Instant>>,
        hold: Duration,
        /// Keep refusing: every poll starts a new hold.
        storm: bool,
    }

    impl Limited {
        fn source(interval: Duration, hold: Duration, storm: bool) -> Arc<dyn Source> {
            Arc::new(Limited {
                interval,
                until: Mutex::new(None),
                hold,
                storm,
            })
        }
    }

    impl Source for Limited {
        fn name(&self) -> &str {
            "gh"
        }
        fn kind(&self) -> &'static str {
            "github"
        }
        fn interval(&self) -> Duration {
            self.interval
        }
        fn timeout(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn held_for(&self) -> Option<Duration> {
            let until = (*self.until.lock().unwrap())?;
            until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
        }
        fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
            Box::pin(async move {
                let mut until = self.until.lock().unwrap();
                let now = Instant::now();
                match *until {
                    Some(u) if u > now => Err("rate limited: waiting".into()),
                    Some(_) if !self.storm => Ok(Batch::default()),
                    _ => {
                        *until = Some(now + self.hold);
                        Err("rate limited (429, retry-after)".into())
                    }
                }
            })
        }
        fn act<'a>(
            &'a self,
            _: &'a ActionRequest,
        ) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
            Box::pin(async { Err(ActionError::Unsupported("no".into())) })
        }
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<SourceReport>) -> SourceReport {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a report")
            .expect("the poller runs")
    }

    /// A poll asked for while the source is held would only be refused again: it goes out
    /// when the hold is over, not before (and not only at the next interval either).
    #[tokio::test]
    async fn poll_now_waits_out_a_retry_after() {
        let hold = Duration::from_millis(1500);
        let src = Limited::source(Duration::from_secs(60), hold, false);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let poller = Poller::spawn(&[src], tx);
        assert!(next(&mut rx).await.outcome.is_err());
        let started = Instant::now();
        poller.poll_now("gh");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            rx.try_recv().is_err(),
            "a held source was polled on request before its hold ended"
        );
        let second = next(&mut rx).await;
        assert!(second.outcome.is_ok(), "{:?}", second.outcome);
        assert!(started.elapsed() >= hold - Duration::from_millis(100));
    }

    /// A rate limit storm is no outage: refusals with retry-after never open the circuit.
    #[tokio::test]
    async fn refusals_with_retry_after_never_open_the_circuit() {
        let src = Limited::source(Duration::from_millis(10), Duration::from_millis(40), true);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _poller = Poller::spawn(&[src], tx);
        for _ in 0..5 {
            let e = next(&mut rx).await.outcome.unwrap_err();
            assert!(!e.contains("circuit open"), "{e}");
        }
    }
}
