//! The shared feed's task ([`super::feed`]): one session with the store, the election, the
//! local poller while this process polls, publication and reading of reports.
//!
//! Nothing here blocks on the store for longer than [`STORE_WAIT`]: a store that stops
//! answering counts as lost (its session is dropped, which frees the lock if the server still
//! holds it for us), and a connection is made in a task of its own, so that reports polled
//! here reach the screen while the store is slow or away.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Poller;
use super::feed::{FeedEvent, Role, Shared};
use crate::model::{SourceReport, Train};
use crate::sources::Source;
use crate::store::election::{self, Session};
use crate::store::reports::{self, Known};

/// The longest any one request to the store may take before the store counts as lost.
pub const STORE_WAIT: Duration = Duration::from_secs(10);

/// Reports waiting to be published; past this, a report is dropped (the next one of its
/// source replaces it anyway).
const PUBLISH_QUEUE: usize = 64;

/// The running shared feed. Dropping it stops it.
pub struct Handle {
    asks: mpsc::UnboundedSender<String>,
    task: JoinHandle<()>,
}

impl Handle {
    pub fn poll_now(&self, source: &str) {
        let _ = self.asks.send(source.to_string());
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn spawn(
    shared: Shared,
    sources: &[Arc<dyn Source>],
    train: &Train,
    out: mpsc::UnboundedSender<FeedEvent>,
) -> Handle {
    let (asks, asks_rx) = mpsc::unbounded_channel();
    let shortest = sources
        .iter()
        .map(|s| s.interval())
        .min()
        .unwrap_or(Duration::from_secs(10));
    let feed = Feed {
        names: sources.iter().map(|s| s.name().to_string()).collect(),
        sources: sources.to_vec(),
        known: Known::of(train),
        period: election::retry_period(shortest),
        shared,
        out,
        session: None,
        publisher: None,
        poller: None,
        role: None,
        generation: 0,
        said: None,
        seen: BTreeMap::new(),
    };
    Handle {
        asks,
        task: tokio::spawn(feed.run(asks_rx)),
    }
}

/// The publisher of a poller's session: reports in order, in a task of its own.
struct Publisher {
    queue: mpsc::Sender<(String, String)>,
    task: JoinHandle<()>,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Feed {
    names: Vec<String>,
    sources: Vec<Arc<dyn Source>>,
    known: Known,
    period: Duration,
    shared: Shared,
    out: mpsc::UnboundedSender<FeedEvent>,
    session: Option<Session>,
    /// While this process is the poller.
    publisher: Option<Publisher>,
    /// While this process polls (the poller, or detached): the poller and the channel its
    /// reports come by, which goes with it — a report it made just before it was stopped (a
    /// follower now) is never read, and can't hide the report of the store's poller.
    poller: Option<(Poller, mpsc::UnboundedReceiver<SourceReport>)>,
    /// The role last said.
    role: Option<Role>,
    /// Counts the publishers started.
    generation: u64,
    /// Why the store was last said to be unreachable.
    said: Option<String>,
    /// The last sequence number folded, per source.
    seen: BTreeMap<String, i64>,
}

/// What woke the feed.
enum Wake {
    Local(SourceReport),
    /// A notification: (channel, payload).
    Note((String, String)),
    /// The session ended.
    Ended,
    /// A publisher (its generation) failed (why).
    PublishFailed(u64, String),
    Ask(String),
    Connected(Result<Session, String>),
    Tick,
    Stop,
}

impl Feed {
    async fn run(mut self, mut asks: mpsc::UnboundedReceiver<String>) {
        let (failed_tx, mut failed_rx) = mpsc::unbounded_channel::<(u64, String)>();
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut connecting: Option<JoinHandle<Result<Session, String>>> = None;
        loop {
            let wake = tokio::select! {
                Some(r) = polled(&mut self.poller) => Wake::Local(r),
                n = notes(&mut self.session) => match n {
                    Some(n) => Wake::Note(n),
                    None => Wake::Ended,
                },
                Some((generation, e)) = failed_rx.recv() => Wake::PublishFailed(generation, e),
                a = asks.recv() => match a {
                    Some(a) => Wake::Ask(a),
                    None => Wake::Stop,
                },
                r = joined(&mut connecting) => Wake::Connected(r),
                _ = tick.tick() => Wake::Tick,
            };
            match wake {
                Wake::Stop => break,
                Wake::Local(report) => self.local(report),
                Wake::Note(n) => self.note(n).await,
                Wake::Ended => self.lost("the connection to the store ended".into()),
                // A publisher of an earlier session is no news.
                Wake::PublishFailed(generation, e) => {
                    if generation == self.generation && self.publisher.is_some() {
                        self.lost(e)
                    }
                }
                Wake::Ask(source) => self.ask(&source).await,
                Wake::Connected(Ok(session)) => {
                    connecting = None;
                    self.session = Some(session);
                    self.elect().await;
                }
                Wake::Connected(Err(e)) => {
                    connecting = None;
                    self.lost(e);
                }
                Wake::Tick => {
                    if self.session.is_some() {
                        self.elect().await;
                    } else if connecting.is_none() {
                        let target = self.shared.target.clone();
                        connecting = Some(tokio::spawn(async move {
                            match tokio::time::timeout(STORE_WAIT, Session::open(&target)).await {
                                Ok(r) => r,
                                Err(_) => Err(format!(
                                    "no answer from the store within {}",
                                    crate::model::duration::human(STORE_WAIT)
                                )),
                            }
                        }));
                    }
                }
            }
            self.settle(&failed_tx);
        }
    }

    /// A report polled here: to the engine, and published while this process is the poller.
    fn local(&mut self, report: SourceReport) {
        if let Some(p) = &self.publisher {
            match reports::encode(&report) {
                Ok(body) => {
                    if p.queue.try_send((report.source.clone(), body)).is_err() {
                        tracing::warn!(
                            source = report.source,
                            "the store is slow: a report was not published"
                        );
                    }
                }
                // Too large to share: followers keep the source's last report.
                Err(e) => tracing::warn!("{e}"),
            }
        }
        let _ = self.out.send(FeedEvent::Report { report, via: None });
    }

    /// A notification: a publication (read what is new), or a follower asking for a poll.
    async fn note(&mut self, (channel, payload): (String, String)) {
        match channel.as_str() {
            reports::POLL_NOW_CHANNEL => {
                if let Some((p, _)) = &self.poller {
                    p.poll_now(&payload);
                }
            }
            reports::CHANNEL if self.role == Some(Role::Follower) => {
                // A burst of publications is one read.
                if let Some(s) = &mut self.session {
                    while s.notes.try_recv().is_ok() {}
                }
                self.catch_up().await;
            }
            _ => {}
        }
    }

    /// Fold in every report published past what was folded.
    async fn catch_up(&mut self) {
        let Some(s) = &self.session else { return };
        let client = Arc::clone(&s.client);
        let read = reports::newer(&client, &self.names, &self.seen, &self.known, super::now());
        match tokio::time::timeout(STORE_WAIT, read).await {
            Ok(Ok(published)) => {
                self.said = None;
                for p in published {
                    self.seen.insert(p.report.source.clone(), p.seq);
                    let _ = self.out.send(FeedEvent::Report {
                        report: p.report,
                        via: Some(p.by),
                    });
                }
            }
            Ok(Err(e)) => self.lost(e),
            Err(_) => self.lost("the store did not answer a read of the reports".into()),
        }
    }

    /// Poll a source now: here when this process polls, else by asking the poller.
    async fn ask(&mut self, source: &str) {
        if let Some((p, _)) = &self.poller {
            p.poll_now(source);
            return;
        }
        let Some(s) = &self.session else { return };
        let client = Arc::clone(&s.client);
        match tokio::time::timeout(STORE_WAIT, reports::ask_poll_now(&client, source)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.lost(e),
            Err(_) => self.lost("the store did not answer a request to poll".into()),
        }
    }

    /// Try the poller's lock; a follower that is not yet caught up reads what is new.
    async fn elect(&mut self) {
        let Some(s) = &mut self.session else { return };
        match tokio::time::timeout(STORE_WAIT, s.try_lead()).await {
            Ok(Ok(true)) => self.said = None,
            Ok(Ok(false)) => {
                if self.role != Some(Role::Follower) {
                    // Following from now: stop polling, read what was published meanwhile.
                    self.poller = None;
                    self.role = Some(Role::Follower);
                    tracing::info!("following the store's poller");
                    let _ = self.out.send(FeedEvent::Role(Role::Follower));
                    self.catch_up().await;
                }
            }
            Ok(Err(e)) => self.lost(e),
            Err(_) => self.lost("the store did not answer the election".into()),
        }
    }

    /// The store is lost: drop the session (and the lock with it); poll here meanwhile. Said
    /// once for one reason, however often it is found again.
    fn lost(&mut self, why: String) {
        let why = crate::secrets::redact(&why);
        self.session = None;
        self.publisher = None;
        if self.role != Some(Role::Detached) {
            self.role = Some(Role::Detached);
            let _ = self.out.send(FeedEvent::Role(Role::Detached));
        }
        if self.said.as_ref() != Some(&why) {
            tracing::warn!("the store is unreachable: {why}");
            let _ = self.out.send(FeedEvent::Lost(why.clone()));
            self.said = Some(why);
        }
    }

    /// Make the polling and the publishing match the session: the poller polls and
    /// publishes, a detached process polls, a follower does neither.
    fn settle(&mut self, failed_tx: &mpsc::UnboundedSender<(u64, String)>) {
        let leads = self.session.as_ref().is_some_and(Session::leads);
        if leads && self.role != Some(Role::Poller) {
            tracing::info!("polling for the store's followers");
            self.role = Some(Role::Poller);
            let _ = self.out.send(FeedEvent::Role(Role::Poller));
        }
        if leads && self.publisher.is_none() {
            let client = Arc::clone(&self.session.as_ref().expect("a session").client);
            self.generation += 1;
            self.publisher = Some(publisher(
                client,
                self.shared.identity.clone(),
                self.generation,
                failed_tx.clone(),
            ));
        }
        let polls = self.role.as_ref().is_some_and(Role::polls);
        if polls && self.poller.is_none() {
            // Whole reports: each is published, and a follower reads only a source's latest.
            let (tx, rx) = mpsc::unbounded_channel();
            self.poller = Some((Poller::spawn_whole(&self.sources, tx), rx));
        }
    }
}

/// The session's notifications, or never without one.
async fn notes(session: &mut Option<Session>) -> Option<(String, String)> {
    match session {
        Some(s) => s.notes.recv().await,
        None => std::future::pending().await,
    }
}

/// The next report of the local poller, or never while there is none.
async fn polled(
    poller: &mut Option<(Poller, mpsc::UnboundedReceiver<SourceReport>)>,
) -> Option<SourceReport> {
    match poller {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A connection's outcome, or never while none is being made.
async fn joined(
    connecting: &mut Option<JoinHandle<Result<Session, String>>>,
) -> Result<Session, String> {
    match connecting {
        Some(h) => h
            .await
            .unwrap_or_else(|e| Err(format!("connecting to the store failed: {e}"))),
        None => std::future::pending().await,
    }
}

/// Publish reports (source, body) in order as `by`; the first failure goes to `failed`, with
/// the publisher's generation, and ends it.
fn publisher(
    client: Arc<tokio_postgres::Client>,
    by: String,
    generation: u64,
    failed: mpsc::UnboundedSender<(u64, String)>,
) -> Publisher {
    let (queue, mut rx) = mpsc::channel::<(String, String)>(PUBLISH_QUEUE);
    let task = tokio::spawn(async move {
        while let Some((source, body)) = rx.recv().await {
            let publish = reports::publish(&client, &source, &body, &by);
            let why = match tokio::time::timeout(STORE_WAIT, publish).await {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => e,
                Err(_) => "the store did not answer a publication".into(),
            };
            let _ = failed.send((generation, why));
            break;
        }
    });
    Publisher { queue, task }
}
