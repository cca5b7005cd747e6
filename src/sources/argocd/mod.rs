//! The `argocd` source: Argo CD Applications, one per lane × stage, read with one list per
//! poll (and the live Rollout of those that manage one and are moving), acted on through the
//! Argo CD API: sync, rollback, and the Rollout's resource actions. docs/sources/argocd.md
//! has the table and the arithmetic.

mod act;
pub mod client;
pub mod map;
mod rbac;
mod read;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use self::client::Client;
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, SourceConfig};
use crate::model::{Batch, CellKey};
// A query or path component, percent-encoded.
use crate::sources::path_segment as enc;

/// Where one lane × stage lives in Argo CD.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgoTarget {
    pub application: String,
    pub project: Option<String>,
    pub app_namespace: Option<String>,
}

/// An Application as Argo CD tells it apart: its app namespace (none: Argo CD's own) and name.
pub type AppId = (Option<String>, String);

impl ArgoTarget {
    /// Which Application this is: two app namespaces may each have a `web`.
    pub fn id(&self) -> AppId {
        (self.app_namespace.clone(), self.application.clone())
    }
}

/// A Rollout an Application manages, as its resource actions address it.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutRef {
    pub name: String,
    pub namespace: String,
    pub version: String,
}

/// What the last poll saw of one Application: what its actions need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// Automated sync is on: Argo CD refuses a rollback.
    pub automated: bool,
    /// History entries, oldest first: (id, revision).
    pub history: Vec<(i64, String)>,
    pub rollout: Option<RolloutRef>,
    /// The Rollout waits at a canary step without a duration (for a promotion).
    pub rollout_at_step: bool,
    /// Resource actions Argo CD lists as disabled on the Rollout, by name.
    pub disabled: Vec<String>,
    /// A sync (or rollback) is running now: what an abort of an Application without a
    /// Rollout terminates.
    pub sync_running: bool,
}

pub struct ArgoSource {
    name: String,
    interval: Duration,
    timeout: Duration,
    client: Client,
    targets: Vec<(CellKey, ArgoTarget)>,
    seen: Mutex<BTreeMap<CellKey, Seen>>,
    /// Each Application's sync windows as last read (when, and why a sync can't go now), read
    /// again every [`WINDOWS_EVERY`].
    windows: Mutex<std::collections::HashMap<AppId, (std::time::Instant, Option<String>)>>,
    /// What Argo CD's RBAC said the account may do, per RBAC object and action (rbac.rs).
    rbac: Mutex<rbac::Kept>,
}

/// How often an Application's sync windows are read: they open and close by the minute.
pub const WINDOWS_EVERY: Duration = Duration::from_secs(60);

impl ArgoSource {
    pub fn new(
        cfg: &SourceConfig,
        token: Option<crate::secrets::Secret>,
        config: &Config,
    ) -> Result<Self, String> {
        let client = Client::new(cfg, token)?;
        let targets = config
            .targets_of(&cfg.name)
            .map(|(k, t)| {
                (
                    k.clone(),
                    ArgoTarget {
                        application: t.application.clone().unwrap_or_default(),
                        project: t.project.clone(),
                        app_namespace: t.app_namespace.clone(),
                    },
                )
            })
            .collect();
        Ok(ArgoSource {
            name: cfg.name.clone(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            client,
            targets,
            seen: Mutex::new(BTreeMap::new()),
            windows: Mutex::new(std::collections::HashMap::new()),
            rbac: Mutex::new(rbac::Kept::new()),
        })
    }

    fn target(&self, lane: &str, stage: &str) -> Option<&ArgoTarget> {
        let key = CellKey::new(lane, stage);
        self.targets.iter().find(|(k, _)| *k == key).map(|(_, t)| t)
    }

    fn seen(&self, key: &CellKey) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }
}

impl Source for ArgoSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "argocd"
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    /// A poll is the list, then the moving Rollouts' manifests and actions at once.
    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(4) + Duration::from_secs(1)
    }
    fn held_for(&self) -> Option<Duration> {
        self.client.waiting()
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.read())
    }
    fn preview(&self, req: &ActionRequest) -> String {
        match self.plan_request(req) {
            Ok(p) if p.body.is_null() => format!("{} {}", p.method, self.client.url(&p.path)),
            Ok(p) => format!("{} {} {}", p.method, self.client.url(&p.path), p.body),
            Err(e) => e.to_string(),
        }
    }
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(self.send(req))
    }
}

#[cfg(test)]
mod tests;
