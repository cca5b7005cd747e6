//! Sources: the systems trainyard reads and acts on. Each kind turns its API's payloads into
//! model observations ([`Batch`]) and carries out actions.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::model::{ActionKind, Batch, CellKey};

pub mod http;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What trainyard asks a source to do, in config names (the source maps them to its own).
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRequest {
    /// Unique per request, so that a source can drop a duplicate delivery.
    pub id: String,
    pub kind: ActionKind,
    pub lane: String,
    pub stage: String,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
}

/// The source took the action and is working on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionAck {
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionError {
    /// The source answered and said no.
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The source could not be reached or answered nonsense.
    Failed(String),
    /// This source can't do that at all.
    Unsupported(String),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::Rejected {
                status,
                code,
                message,
            } => {
                write!(f, "rejected ({status} {code}): {message}")
            }
            ActionError::Failed(m) => write!(f, "failed: {m}"),
            ActionError::Unsupported(m) => write!(f, "unsupported: {m}"),
        }
    }
}

/// A system trainyard polls and acts on.
pub trait Source: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> &'static str;
    /// How often to poll, and how long one poll may take before it counts as failed.
    fn interval(&self) -> Duration;
    fn timeout(&self) -> Duration;
    /// One poll: every cell and metric this source knows, in config names.
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>>;
    /// Ask the source to act on one cell.
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>>;
}

/// Where each configured lane × stage lives in one source: config key ↔ remote names.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    to_remote: BTreeMap<CellKey, (String, String)>,
    from_remote: BTreeMap<(String, String), CellKey>,
}

impl NameMap {
    pub fn for_source(config: &Config, source: &str) -> NameMap {
        let mut map = NameMap::default();
        for (key, target) in config.targets_of(source) {
            map.insert(key.clone(), target.lane.clone(), target.stage.clone());
        }
        map
    }

    pub fn insert(&mut self, key: CellKey, remote_lane: String, remote_stage: String) {
        self.from_remote
            .insert((remote_lane.clone(), remote_stage.clone()), key.clone());
        self.to_remote.insert(key, (remote_lane, remote_stage));
    }

    pub fn local(&self, remote_lane: &str, remote_stage: &str) -> Option<&CellKey> {
        self.from_remote
            .get(&(remote_lane.to_string(), remote_stage.to_string()))
    }

    pub fn remote(&self, lane: &str, stage: &str) -> Option<&(String, String)> {
        self.to_remote.get(&CellKey::new(lane, stage))
    }
}

/// Read a source's token from the environment or a command. The token itself never appears
/// in an error.
pub fn resolve_token(src: &SourceConfig) -> Result<Option<String>, String> {
    if let Some(var) = &src.token_env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!(
                "source {}: environment variable {var} (token_env) is not set",
                src.name
            )),
        };
    }
    if let Some(cmd) = &src.token_cmd {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("source {}: token_cmd could not run: {e}", src.name))?;
        if !out.status.success() {
            return Err(format!(
                "source {}: token_cmd exited with {}",
                src.name, out.status
            ));
        }
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if token.is_empty() {
            return Err(format!("source {}: token_cmd printed nothing", src.name));
        }
        return Ok(Some(token));
    }
    Ok(None)
}

/// Build every configured source.
pub fn build(config: &Config) -> Result<Vec<Arc<dyn Source>>, String> {
    config
        .sources
        .values()
        .map(|src| {
            let token = resolve_token(src)?;
            let names = NameMap::for_source(config, &src.name);
            let source: Arc<dyn Source> = match src.kind {
                SourceKind::Http => Arc::new(http::HttpSource::new(src, token, names)?),
            };
            Ok(source)
        })
        .collect()
}
