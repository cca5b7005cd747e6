//! Where the state a team shares lives: the halt, the holds, claims and the audit chain.
//! By default the audit log's file (nothing to set up: one person, one host); with `[store]
//! kind = "postgres"`, a PostgreSQL database the team already runs (docs/team.md), so that
//! every trainyard on it sees one halt, one set of holds, one chain, and one action in flight
//! per cell. [`pg`] connects and keeps the schema; [`audit`] is the chain in the database;
//! [`claims`] and [`presence`] who acts and who is here; [`postgres`] the connection a
//! running trainyard keeps.

pub mod audit;
pub mod claims;
pub mod election;
pub mod follow;
pub mod pg;
pub mod postgres;
pub mod presence;
pub mod reports;

use std::sync::Arc;

use crate::config::{Config, StoreConfig};
use crate::ops::audit::{AppendError, AuditLog, Entry, Record, Skipped, Verification};
use claims::Claim;
use postgres::PgStore;

/// The store a trainyard writes its actions to and reads the ledger from.
#[derive(Clone)]
pub enum Store {
    File(AuditLog),
    Postgres(Arc<PgStore>),
}

impl Store {
    /// The store `config` names. The postgres store's password and CA file are read here
    /// (blocking IO); what can't be read makes a store that says why on every use (the train
    /// is still shown, actions are refused), never the file instead.
    pub fn open(config: &Config) -> Store {
        match &config.store {
            StoreConfig::File => Store::File(crate::commands::audit_log(config)),
            StoreConfig::Postgres(p) => {
                let password = crate::sources::resolve_secret(
                    "password",
                    p.password_env.as_deref(),
                    p.password_cmd.as_deref(),
                    p.password_file.as_deref(),
                );
                let ca = p.ca_file.as_deref().map(|f| {
                    let path = crate::config::expand_home(f);
                    std::fs::read(&path)
                        .map_err(|e| format!("ca_file {}: cannot read: {e}", path.display()))
                });
                let mut broken = None;
                let password = password.unwrap_or_else(|e| {
                    broken = Some(format!("the store's password: {e}"));
                    None
                });
                let ca_pem = match ca.transpose() {
                    Ok(c) => c,
                    Err(e) => {
                        broken.get_or_insert(format!("the store's {e}"));
                        None
                    }
                };
                let target = pg::Target {
                    url: p.url.clone(),
                    password,
                    ca_pem,
                    connect_timeout: p.connect_timeout,
                };
                Store::Postgres(Arc::new(PgStore::new(target, broken)))
            }
        }
    }

    /// Where it is, for messages: the file's path or the database's URL.
    pub fn place(&self) -> String {
        match self {
            Store::File(log) => log.path().display().to_string(),
            Store::Postgres(pg) => pg.url().to_string(),
        }
    }

    /// What went wrong the last time the store was used (the postgres store only: the file's
    /// problems are said where they happen).
    pub fn problem(&self) -> Option<String> {
        match self {
            Store::File(_) => None,
            Store::Postgres(pg) => pg.problem(),
        }
    }

    /// Append `entry` if `check` agrees with every record so far, under the store's lock;
    /// with the postgres store, `claim` is taken in the same transaction.
    pub async fn append_if(
        &self,
        check: impl FnOnce(&[Record]) -> Result<(), String> + Send + 'static,
        entry: Entry,
        claim: Option<Claim>,
    ) -> Result<Record, AppendError> {
        match self {
            // The file's lock may wait and fsync takes its time: off the async threads.
            Store::File(log) => {
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.append_if(check, entry))
                    .await
                    .unwrap_or_else(|e| Err(AppendError::Io(std::io::Error::other(e.to_string()))))
            }
            Store::Postgres(pg) => pg.append_if(check, entry, claim.as_ref()).await,
        }
    }

    pub async fn append(&self, entry: Entry) -> Result<Record, AppendError> {
        self.append_if(|_| Ok(()), entry, None).await
    }

    /// Every record, and the lines that are not records.
    pub async fn read_checked(&self) -> Result<(Vec<Record>, Vec<Skipped>), String> {
        match self {
            Store::File(log) => {
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.read_checked())
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            Store::Postgres(pg) => pg.read_since(0).await.map_err(|e| e.to_string()),
        }
    }

    pub async fn verify(&self) -> Result<Verification, String> {
        match self {
            Store::File(log) => {
                let log = log.clone();
                tokio::task::spawn_blocking(move || log.verify())
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            Store::Postgres(pg) => pg.verify().await.map_err(|e| e.to_string()),
        }
    }
}

/// The team as this trainyard sees it through the store, for the header and the banner.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Team {
    /// The shared store's URL; `None` on the file (alone).
    pub shared: Option<String>,
    /// This trainyard polls the sources for the team.
    pub polling: bool,
    /// Why the store can't be used now: actions are refused while it lasts.
    pub problem: Option<String>,
    /// The others who have the train open, the longest there first.
    pub peers: Vec<presence::Peer>,
    /// Who acts on which cell now, in every trainyard (this one's too).
    pub claims: Vec<Claim>,
}
