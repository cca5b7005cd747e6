//! The PostgreSQL store as a running trainyard holds it: one connection, made when first
//! needed and again after it is lost (the store restarted, the network dropped), with the
//! schema brought up to date on each. What went wrong last is kept, in words, for the banner
//! and for refusing actions; it clears on its own when the store answers again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::audit as chain;
use super::claims::{self, Claim};
use super::pg::{self, Target};
use super::presence::{self, Peer};
use crate::ops::audit::{AppendError, Entry, Record, Skipped, Verification};

pub struct PgStore {
    target: Target,
    /// Why no connection can ever be made (the password could not be read): said on every
    /// use instead of trying.
    broken: Option<String>,
    client: tokio::sync::Mutex<Option<Client>>,
    problem: Mutex<Option<String>>,
    /// The last failed attempt to connect: the next waits [`RECONNECT_AFTER`], so that a store
    /// that is down costs one timeout now and then, not one per use.
    failed_at: Mutex<Option<Instant>>,
    /// This process polls the sources for the team (it holds the poller's lock).
    polling: AtomicBool,
}

/// How long after a failed connection the next is tried; meanwhile uses fail at once with
/// the last reason.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(2);

fn io(e: String) -> AppendError {
    AppendError::Io(std::io::Error::other(e))
}

impl PgStore {
    pub fn new(target: Target, broken: Option<String>) -> PgStore {
        PgStore {
            target,
            broken,
            client: tokio::sync::Mutex::new(None),
            problem: Mutex::new(None),
            failed_at: Mutex::new(None),
            polling: AtomicBool::new(false),
        }
    }

    /// The store's URL (it never holds a password).
    pub fn url(&self) -> &str {
        &self.target.url
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Whether this process polls for the team now (said to the others with its presence).
    pub fn polling(&self) -> bool {
        self.polling.load(Ordering::Relaxed)
    }

    pub fn set_polling(&self, polls: bool) {
        self.polling.store(polls, Ordering::Relaxed);
    }

    /// What went wrong the last time the store was used, if it did.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note(&self, problem: Option<String>) {
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = problem;
    }

    /// Run `op` on the connection (made first if there is none), recording how it went. A
    /// lost connection is dropped, so that the next use makes a new one.
    async fn with<R>(
        &self,
        op: impl AsyncFnOnce(&mut Client) -> Result<R, AppendError>,
    ) -> Result<R, AppendError> {
        if let Some(why) = &self.broken {
            self.note(Some(why.clone()));
            return Err(io(why.clone()));
        }
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            let waited = self
                .failed_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none_or(|at| at.elapsed() >= RECONNECT_AFTER);
            if !waited && let Some(why) = self.problem() {
                return Err(io(why));
            }
            let made = async {
                let mut c = pg::connect(&self.target).await?;
                pg::migrate(&mut c).await?;
                Ok::<_, String>(c)
            }
            .await;
            match made {
                Ok(c) => {
                    *slot = Some(c);
                    *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                Err(e) => {
                    let why = format!("the store {} is unreachable: {e}", self.target.url);
                    self.note(Some(why.clone()));
                    *self.failed_at.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(Instant::now());
                    return Err(io(why));
                }
            }
        }
        let Some(client) = slot.as_mut() else {
            return Err(io("no connection to the store".into()));
        };
        let result = op(client).await;
        match &result {
            Err(AppendError::Io(e)) => {
                if client.is_closed() {
                    *slot = None;
                }
                self.note(Some(format!("the store {}: {e}", self.target.url)));
            }
            _ => self.note(None),
        }
        result
    }

    /// Append `entry` if `check` agrees, taking `claim` with it (`store::audit::append_if`).
    pub async fn append_if(
        &self,
        check: impl FnOnce(&[Record]) -> Result<(), String>,
        entry: Entry,
        claim: Option<&Claim>,
    ) -> Result<Record, AppendError> {
        self.with(async move |c| chain::append_if(c, check, entry, claim).await)
            .await
    }

    pub async fn read_since(&self, seq: u64) -> Result<(Vec<Record>, Vec<Skipped>), AppendError> {
        self.with(async move |c| chain::read_since(c, seq).await)
            .await
    }

    pub async fn export(&self) -> Result<Vec<u8>, AppendError> {
        self.with(async move |c| chain::export(c).await).await
    }

    pub async fn verify(&self) -> Result<Verification, AppendError> {
        self.with(async move |c| chain::verify(c).await).await
    }

    pub async fn import(&self, file: &[u8]) -> Result<usize, AppendError> {
        self.with(async move |c| chain::import(c, file).await).await
    }

    /// Keep a running action's claim alive; false once it lapsed.
    pub async fn renew(&self, audit_id: &str) -> Result<bool, AppendError> {
        self.with(async move |c| claims::renew(c, audit_id).await.map_err(io))
            .await
    }

    pub async fn claims(&self) -> Result<Vec<Claim>, AppendError> {
        self.with(async move |c| claims::alive(c).await.map_err(io))
            .await
    }

    pub async fn beat(&self, me: &Peer) -> Result<(), AppendError> {
        self.with(async move |c| presence::beat(c, me).await.map_err(io))
            .await
    }

    pub async fn leave(&self, id: &str) -> Result<(), AppendError> {
        self.with(async move |c| presence::leave(c, id).await.map_err(io))
            .await
    }

    pub async fn present(&self) -> Result<Vec<Peer>, AppendError> {
        self.with(async move |c| presence::present(c).await.map_err(io))
            .await
    }
}
