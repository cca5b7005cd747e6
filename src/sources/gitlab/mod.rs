//! The `gitlab` source: a project's pipelines and jobs (the build stage), its environments'
//! deployments and their approvals (the deploy stages), on gitlab.com or a self-managed
//! instance, read within a request budget and acted on through the REST API: play a manual
//! deploy job (or create a pipeline with variables), approve or reject a blocked deployment,
//! cancel a pipeline, re-run an earlier deployment's job. docs/sources/gitlab.md has the mapping and the arithmetic.

mod act;
pub mod client;
pub mod map;
mod read;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use self::client::Client;
use super::github::pace::{Pace, Schedule};
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, SourceConfig};
use crate::model::{Batch, Cell, CellKey};

/// Deployments of an environment read per poll: the newest is the cell, the others its
/// rollback history (and the manual jobs waiting among them).
const DEPLOYMENTS: usize = 10;

/// Pipelines of the branch read per poll: the newest is the build cell, the others history.
const PIPELINES: usize = 10;

/// Deployments of an environment an action looks through (the newest first) for the one to
/// play, approve, cancel or re-run.
const ACT_DEPLOYMENTS: usize = 500;

/// The most pages of one list read (100 items a page at the most): a longer list is cut.
const LIST_PAGES: usize = 5;

/// How often a project's default branch is read again, for lanes that name none.
const BRANCH_EVERY: Duration = Duration::from_secs(600);

/// A project's default branch as read, and when; or why it could not be read.
type BranchRead = (Instant, Result<String, String>);

#[derive(Clone, Debug)]
struct GlTarget {
    project: String,
    /// `None`: the build stage, the branch's newest pipeline.
    environment: Option<String>,
    /// `None`: the project's default branch.
    branch: Option<String>,
    /// Promote creates a pipeline with these variables (as configured, placeholders unfilled)
    /// instead of playing the manual job.
    pipeline_variables: Option<BTreeMap<String, String>>,
}

pub struct GitlabSource {
    name: String,
    interval: Duration,
    timeout: Duration,
    settled_interval: Duration,
    client: Client,
    targets: Vec<(CellKey, GlTarget)>,
    /// Each project's default branch and when it was read, or why it could not be.
    default_branches: Mutex<BTreeMap<String, BranchRead>>,
    cells_due: Mutex<Schedule<CellKey>>,
    /// The last answer of each cell read: it stands while the cell is not due.
    last: Mutex<HashMap<CellKey, Option<Cell>>>,
    /// The stretch of the request budget at the last poll (`f64` bits).
    factor: AtomicU64,
}

use crate::sources::path_segment as enc;

impl GlTarget {
    /// Whether the stage reads or runs pipelines on a branch: the build stage, or a deploy
    /// stage that promotes by creating a pipeline.
    fn needs_branch(&self) -> bool {
        self.environment.is_none() || self.pipeline_variables.is_some()
    }
}

impl GitlabSource {
    pub fn new(
        cfg: &SourceConfig,
        token: Option<crate::secrets::Secret>,
        config: &Config,
    ) -> Result<Self, String> {
        let client = Client::new(cfg, token)?;
        let targets = super::targets::of(config, &cfg.name, |t| GlTarget {
            project: t.project.clone().unwrap_or_default(),
            environment: t.environment.clone(),
            branch: t.branch.clone(),
            pipeline_variables: t.pipeline_variables.clone(),
        });
        Ok(GitlabSource {
            name: cfg.name.clone(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            settled_interval: cfg.settled_interval,
            client,
            targets,
            default_branches: Mutex::new(BTreeMap::new()),
            cells_due: Mutex::new(Schedule::default()),
            last: Mutex::new(HashMap::new()),
            factor: AtomicU64::new(1f64.to_bits()),
        })
    }

    fn target(&self, lane: &str, stage: &str) -> Option<&GlTarget> {
        super::targets::find(&self.targets, lane, stage)
    }

    fn pace(&self) -> Pace {
        Pace {
            interval: self.interval,
            settled: self.settled_interval,
            factor: f64::from_bits(self.factor.load(Ordering::Relaxed)),
        }
    }

    /// The cell is read at the next poll (an action touched it).
    fn wake(&self, key: &CellKey) {
        self.cells_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake(key);
    }
}

impl Source for GitlabSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "gitlab"
    }
    /// The configured interval, stretched so that the requests a minute stay within
    /// `requests_per_minute`.
    fn interval(&self) -> Duration {
        self.pace().stretched(self.interval)
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    /// A poll is up to three rounds of requests (default branches, lists, details).
    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(6) + Duration::from_secs(1)
    }
    fn native_pause(&self) -> bool {
        false
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.fetch())
    }
    fn held_for(&self) -> Option<Duration> {
        self.client.waiting()
    }
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(self.send(req))
    }
    fn preview(&self, req: &ActionRequest) -> String {
        self.describe(req)
    }
}
