//! Where an engine's reports come from: its own polling ([`Feed::Local`]), or a store shared
//! with the team ([`Feed::Shared`]), where one elected trainyard polls for everyone
//! (`store::election`) and the others fold in what it publishes (`store::reports`).
//!
//! With a store, this process is at any moment one of three [`Role`]s, and moves between them
//! on its own, without a restart:
//! - the **poller** holds the store's poller lock: it polls its sources as a lone trainyard
//!   does and publishes every report;
//! - a **follower** polls nothing: it LISTENs for publications and reads the reports past the
//!   last it folded (so a missed notification or a reconnection loses nothing), and tries the
//!   lock every `election::retry_period`;
//! - **detached**: the store can't be reached; it polls its sources itself so that the screen
//!   stays live, and tries the store again every period.
//!
//! Asked to poll a source now (after an action), a follower asks the poller to, through the
//! store (`reports::POLL_NOW_CHANNEL`): the sources see one poll, not one per screen.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Poller;
use crate::model::{SourceReport, Train};
use crate::sources::Source;
use crate::store::pg::Target;

/// Where reports come from.
#[derive(Clone, Debug, Default)]
pub enum Feed {
    /// This process polls its sources (a lone trainyard).
    #[default]
    Local,
    /// The store's elected poller polls for everyone.
    Shared(Shared),
}

/// A store to share polling through.
#[derive(Clone, Debug)]
pub struct Shared {
    pub target: Target,
    /// Who publishes from this process ("alice@jump-1"): what followers show.
    pub identity: String,
}

/// What this process is to the store's polling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// It polls and publishes.
    Poller,
    /// It folds in the poller's reports.
    Follower,
    /// The store is unreachable: it polls on its own meanwhile.
    Detached,
}

impl Role {
    /// Whether this process polls the sources itself.
    pub fn polls(&self) -> bool {
        !matches!(self, Role::Follower)
    }
}

/// What a feed delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedEvent {
    /// A report, and who polled it when another trainyard did.
    Report {
        report: SourceReport,
        via: Option<String>,
    },
    /// This process' role changed.
    Role(Role),
    /// The store is unreachable, why (said once for the same reason).
    Lost(String),
}

/// A running feed. Dropping it stops its polling and closes its session with the store.
pub enum Running {
    Local(Poller),
    Shared(super::shared::Handle),
}

impl Running {
    /// Start `feed` on `sources` for `train`; its reports and role changes go to `tx`.
    pub fn start(
        feed: Feed,
        sources: &[Arc<dyn Source>],
        train: &Train,
        tx: mpsc::UnboundedSender<FeedEvent>,
    ) -> Running {
        match feed {
            Feed::Local => {
                let (local_tx, mut local_rx) = mpsc::unbounded_channel();
                let mut poller = Poller::spawn(sources, local_tx);
                poller.tasks.spawn(async move {
                    while let Some(report) = local_rx.recv().await {
                        if tx.send(FeedEvent::Report { report, via: None }).is_err() {
                            break;
                        }
                    }
                });
                Running::Local(poller)
            }
            Feed::Shared(shared) => {
                Running::Shared(super::shared::spawn(shared, sources, train, tx))
            }
        }
    }

    /// Poll `source` now (an action on its cells ended): here, or by the poller.
    pub fn poll_now(&self, source: &str) {
        match self {
            Running::Local(p) => p.poll_now(source),
            Running::Shared(h) => h.poll_now(source),
        }
    }
}
