//! Sources: the systems trainyard reads and acts on. Each kind turns its API's payloads into
//! model observations ([`Batch`]) and carries out actions.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::model::{ActionKind, Batch, CellKey};

pub mod github;
pub mod http;
pub mod prometheus;
pub mod retry_after;

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
    /// The source could not be reached or answered nonsense: nothing was done.
    Failed(String),
    /// The request went out and no answer came back: it may or may not have been done.
    Unanswered(String),
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
            ActionError::Unanswered(m) => write!(f, "no answer: {m}"),
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
    /// The longest one poll or one action may take before it counts as failed.
    fn deadline(&self) -> Duration {
        self.timeout().saturating_mul(2) + Duration::from_secs(1)
    }
    /// One poll: every cell and metric this source knows, in config names.
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>>;
    /// How long the source itself asked not to be asked again (a `retry-after` still
    /// running, a spent rate limit): the poller waits at least that long.
    fn held_for(&self) -> Option<Duration> {
        None
    }
    /// Whether the source can pause a rollout itself. Where it can't, a pause cancels the
    /// rollout and trainyard holds the lane.
    fn native_pause(&self) -> bool {
        true
    }
    /// What `act` would send, for a dry run: method, URL and body, never a token.
    fn preview(&self, req: &ActionRequest) -> String {
        format!(
            "{} {} {} (source {})",
            req.kind,
            req.lane,
            req.stage,
            self.name()
        )
    }
    /// Ask the source to act on one cell.
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>>;
}

/// Where each configured lane × stage lives in one source: config key ↔ remote names.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    to_remote: BTreeMap<CellKey, (String, String)>,
    from_remote: BTreeMap<(String, String), CellKey>,
    /// Every lane × stage of the train, whichever source reads its cell: a source may
    /// measure metrics of cells it doesn't read.
    train: std::collections::BTreeSet<CellKey>,
}

impl NameMap {
    pub fn for_source(config: &Config, source: &str) -> NameMap {
        let mut map = NameMap::default();
        for (key, target) in config.targets_of(source) {
            map.insert(key.clone(), target.lane.clone(), target.stage.clone());
        }
        map.train = config.targets.keys().cloned().collect();
        map
    }

    /// Where a metric of `remote_lane` at `remote_stage` belongs: the cell this source reads
    /// under those names, else the train's cell of those names.
    pub fn metric_cell(&self, remote_lane: &str, remote_stage: &str) -> Option<CellKey> {
        self.local(remote_lane, remote_stage).cloned().or_else(|| {
            let key = CellKey::new(remote_lane, remote_stage);
            self.train.contains(&key).then_some(key)
        })
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

/// How long `token_cmd` may take (a password manager may want a prompt it can't get).
const TOKEN_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Read a source's token from the environment or a command. The token itself never appears
/// in an error.
pub fn resolve_token(src: &SourceConfig) -> Result<Option<String>, String> {
    if let Some(var) = &src.token_env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!("environment variable {var} (token_env) is not set")),
        };
    }
    let Some(cmd) = &src.token_cmd else {
        return Ok(None);
    };
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("token_cmd could not run: {e}"))?;
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < TOKEN_CMD_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "token_cmd did not finish within {}s (does it wait for input?)",
                    TOKEN_CMD_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("token_cmd: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("token_cmd: {e}"))?;
    if !out.status.success() {
        return Err(format!("token_cmd exited with {}", out.status));
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if token.is_empty() {
        return Err("token_cmd printed nothing".into());
    }
    Ok(Some(token))
}

/// A source that could not be set up (no token, say): every poll and action fails with the
/// reason, so the train still shows, with this source's cells marked.
pub struct Broken {
    name: String,
    kind: &'static str,
    error: String,
}

impl Source for Broken {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn interval(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        let e = self.error.clone();
        Box::pin(async move { Err(e) })
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        let e = self.error.clone();
        Box::pin(async move { Err(ActionError::Failed(e)) })
    }
}

/// Build every configured source. One that can't be set up becomes a [`Broken`] source that
/// reports why on every poll; it never stops the others.
pub fn build(config: &Config) -> Vec<Arc<dyn Source>> {
    config
        .sources
        .values()
        .map(|src| {
            let built = resolve_token(src).and_then(|token| match src.kind {
                SourceKind::Http => {
                    let names = NameMap::for_source(config, &src.name);
                    http::HttpSource::new(src, token, names).map(|s| Arc::new(s) as Arc<dyn Source>)
                }
                SourceKind::Github => github::GithubSource::new(src, token, config)
                    .map(|s| Arc::new(s) as Arc<dyn Source>),
                SourceKind::Prometheus => prometheus::PrometheusSource::new(src, token, config)
                    .map(|s| Arc::new(s) as Arc<dyn Source>),
            });
            built.unwrap_or_else(|error| {
                tracing::warn!(source = %src.name, "source can't be set up: {error}");
                Arc::new(Broken {
                    name: src.name.clone(),
                    kind: src.kind.as_str(),
                    error,
                })
            })
        })
        .collect()
}
