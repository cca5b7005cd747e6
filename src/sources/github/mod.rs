//! The `github` source: GitHub Actions runs, deployments and environments (github.com or
//! GitHub Enterprise Server), read within the rate limit and acted on through the REST API.
//! docs/sources/github.md has the mapping and the arithmetic.

mod act;
pub mod budget;
pub mod client;
pub mod map;
mod memo;
pub mod pace;
mod read;
mod validators;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use self::client::Client;
use self::map::WorkflowRun;
use self::pace::{Pace, Schedule};
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, SourceConfig};
use crate::model::{ActionKind, Batch, Cell, CellKey};

/// Pages followed at most for lists that must be whole (check runs, waiting runs).
const MAX_PAGES: usize = 10;

/// How many deployments of an environment are read (the newest is the cell, the others its
/// rollback history).
const DEPLOYMENTS: usize = 5;

#[derive(Clone, Debug)]
struct GhTarget {
    repo: String,
    workflow: Option<String>,
    environment: Option<String>,
    /// The branch the config names; `None`: the repository's default branch.
    branch: Option<String>,
}

/// A deployment waiting for approval, as needed to decide it.
#[derive(Clone, Debug)]
struct Waiting {
    run_id: u64,
    environment_id: u64,
    sha: String,
}

/// A dispatched deploy run, followed.
#[derive(Clone, Debug)]
struct Dispatched {
    run_id: u64,
    version: String,
}

/// A followed run and what GitHub said of it this poll.
type Followed = (Dispatched, Result<WorkflowRun, String>);

pub struct GithubSource {
    name: String,
    interval: Duration,
    timeout: Duration,
    client: Client,
    targets: Vec<(CellKey, GhTarget)>,
    version_input: String,
    environment_input: String,
    waiting: Mutex<BTreeMap<CellKey, Waiting>>,
    /// The default branch of each repository whose lanes name none (`GET /repos/{repo}`, read
    /// again every [`pace::BRANCH_EVERY`]), or why it could not be read.
    default_branches: Mutex<BTreeMap<String, Result<String, String>>>,
    /// How often a settled cell is read.
    settled_interval: Duration,
    /// When each cell, each repository's waiting runs and each default branch are read next.
    cells_due: Mutex<Schedule<CellKey>>,
    repos_due: Mutex<Schedule<String>>,
    branches_due: Mutex<Schedule<String>>,
    /// The last answer of each cell read (`None`: nothing there yet): it stands while the
    /// cell is not due.
    last: Mutex<HashMap<CellKey, Option<Cell>>>,
    /// Each repository's waiting runs as last read, or why they could not be.
    last_waiting: Mutex<HashMap<String, Result<read::WaitingRuns, String>>>,
    /// Answers that can't change.
    memo: memo::Memo,
    /// The requests each cell's last read sent: what its next read reserves.
    costs: Mutex<HashMap<CellKey, u32>>,
    /// The stretch of the token's request budget at the last poll (`f64` bits).
    factor: AtomicU64,
    /// Runs trainyard dispatched (promote, rollback) and follows until their deployment shows:
    /// a run that fails before it deploys fails the cell at once, instead of a silent wait.
    dispatched: Mutex<BTreeMap<CellKey, Dispatched>>,
    /// Requests that were not 304 in the last poll: what the next one will likely cost.
    last_cost: AtomicU64,
    /// Polls so far: the first fills the cache and says nothing about the cost of the next.
    polls: AtomicU64,
    /// Where GitHub shows this API's repositories (`map::web_base`): cells link their commit.
    web: Option<String>,
}

use crate::sources::path_segment as enc;

impl GithubSource {
    pub fn new(
        cfg: &SourceConfig,
        token: Option<crate::secrets::Secret>,
        config: &Config,
    ) -> Result<Self, String> {
        let client = Client::new(cfg, token)?;
        let targets = super::targets::of(config, &cfg.name, |t| GhTarget {
            repo: t.repo.clone().unwrap_or_default(),
            workflow: t.workflow.clone(),
            environment: t.environment.clone(),
            branch: t.branch.clone(),
        });
        Ok(GithubSource {
            name: cfg.name.clone(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            client,
            targets,
            version_input: cfg.version_input.clone(),
            environment_input: cfg.environment_input.clone(),
            waiting: Mutex::new(BTreeMap::new()),
            default_branches: Mutex::new(BTreeMap::new()),
            dispatched: Mutex::new(BTreeMap::new()),
            settled_interval: cfg.settled_interval,
            cells_due: Mutex::new(Schedule::default()),
            repos_due: Mutex::new(Schedule::default()),
            branches_due: Mutex::new(Schedule::default()),
            last: Mutex::new(HashMap::new()),
            last_waiting: Mutex::new(HashMap::new()),
            memo: memo::Memo::default(),
            costs: Mutex::new(HashMap::new()),
            factor: AtomicU64::new(1f64.to_bits()),
            last_cost: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            web: map::web_base(&cfg.url),
        })
    }

    /// The page of commit `sha` of the target's repository, when there is one to form.
    fn commit_url(&self, t: &GhTarget, sha: &str) -> Option<String> {
        map::commit_url(self.web.as_deref()?, &t.repo, sha)
    }

    fn target(&self, lane: &str, stage: &str) -> Option<&GhTarget> {
        super::targets::find(&self.targets, lane, stage)
    }

    /// The intervals, stretched as the token's request budget says at the last poll.
    fn pace(&self) -> Pace {
        Pace {
            interval: self.interval,
            settled: self.settled_interval,
            factor: f64::from_bits(self.factor.load(Ordering::Relaxed)),
        }
    }

    fn store_factor(&self, f: f64) {
        self.factor.store(f.to_bits(), Ordering::Relaxed);
    }
}

impl Source for GithubSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "github"
    }
    /// The configured interval, stretched so the hourly budget lasts until it resets and
    /// the token's requests a minute stay within `requests_per_minute`.
    fn interval(&self) -> Duration {
        let hourly = self
            .client
            .stretch(self.interval, self.last_cost.load(Ordering::Relaxed));
        hourly.max(self.pace().stretched(self.interval))
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    /// A poll is a few rounds of concurrent requests (waiting runs, then each stage's list,
    /// then the details), each bounded by the client's timeout.
    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(8) + Duration::from_secs(1)
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
        if req.kind == ActionKind::Pause {
            return format!(
                "POST {} (the run of {} {} in progress)",
                self.client.url("/repos/…/actions/runs/{id}/cancel"),
                req.lane,
                req.stage
            );
        }
        match self.plan_request(req) {
            Ok((path, body)) => format!("POST {} {body}", self.client.url(&path)),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
