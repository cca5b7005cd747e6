//! The `github` source: GitHub Actions runs, deployments and environments (github.com or
//! GitHub Enterprise Server), read within the rate limit and acted on through the REST API.
//! docs/sources/github.md has the mapping and the arithmetic.

pub mod client;
pub mod map;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::{join, join_all};
use serde_json::{Value, json};

use self::client::{Client, GhError};
use self::map::{
    CheckRuns, Deployment, DeploymentStatus, PendingDeployment, WorkflowRun, WorkflowRuns,
};
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, SourceConfig};
use crate::model::text::sanitize;
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
    /// again every poll: a 304 while it has not changed), or why it could not be read.
    default_branches: Mutex<BTreeMap<String, Result<String, String>>>,
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

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn gh_error(e: GhError) -> String {
    e.to_string()
}

impl GithubSource {
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
                    GhTarget {
                        repo: t.repo.clone().unwrap_or_default(),
                        workflow: t.workflow.clone(),
                        environment: t.environment.clone(),
                        branch: t.branch.clone(),
                    },
                )
            })
            .collect();
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
        let key = CellKey::new(lane, stage);
        self.targets.iter().find(|(k, _)| *k == key).map(|(_, t)| t)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        self.decode(self.client.get(path).await.map_err(gh_error)?)
    }

    /// A list and its next pages, as far as `max_pages` (see [`Client::get_pages`]).
    async fn get_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: Option<&str>,
        max_pages: usize,
    ) -> Result<T, String> {
        self.decode(
            self.client
                .get_pages(path, key, max_pages)
                .await
                .map_err(gh_error)?,
        )
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, v: Value) -> Result<T, String> {
        map::decode(v)
    }

    /// The waiting runs of a repository and their pending deployments.
    async fn waiting_runs(
        &self,
        repo: &str,
    ) -> Result<Vec<(WorkflowRun, Vec<PendingDeployment>)>, String> {
        let path = format!("/repos/{repo}/actions/runs?status=waiting&per_page=50");
        let runs: WorkflowRuns = self
            .get_pages(&path, Some("workflow_runs"), MAX_PAGES)
            .await?;
        let pending = join_all(runs.workflow_runs.iter().map(|run| async move {
            let path = format!("/repos/{repo}/actions/runs/{}/pending_deployments", run.id);
            self.get::<Vec<PendingDeployment>>(&path).await
        }))
        .await;
        runs.workflow_runs
            .into_iter()
            .zip(pending)
            .map(|(run, p)| Ok((run, p?)))
            .collect()
    }

    /// The branch of a lane's runs and dispatches: the config's, else the repository's default
    /// branch as the last poll read it.
    fn branch_of(&self, t: &GhTarget) -> Result<String, String> {
        if let Some(b) = &t.branch {
            return Ok(b.clone());
        }
        match self
            .default_branches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.repo)
        {
            Some(Ok(b)) => Ok(b.clone()),
            Some(Err(e)) => Err(format!("the default branch of {}: {e}", t.repo)),
            None => Err(format!(
                "the default branch of {} is not known yet (GET /repos/{} has not answered); set `branch` for the lane to name it",
                t.repo, t.repo
            )),
        }
    }

    /// Read the default branch of every repository whose lanes name no branch (a 304 after the
    /// first time). A repository that can't be read keeps what was read before.
    async fn read_default_branches(&self) {
        let repos: BTreeSet<&str> = self
            .targets
            .iter()
            .filter(|(_, t)| t.branch.is_none())
            .map(|(_, t)| t.repo.as_str())
            .collect();
        let read = join_all(repos.iter().map(|r| async move {
            let repo: Value = self.get(&format!("/repos/{r}")).await?;
            match repo["default_branch"].as_str() {
                Some(b) if !b.is_empty() => Ok(sanitize(b, 200)),
                _ => Err(format!("/repos/{r} has no default_branch")),
            }
        }))
        .await;
        let mut known = self
            .default_branches
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (r, b) in repos.into_iter().zip(read) {
            // A branch read before stays through a failed read; the failure is said otherwise.
            if b.is_ok() || !matches!(known.get(r), Some(Ok(_))) {
                known.insert(r.to_string(), b);
            }
        }
    }

    async fn ci_cell(&self, t: &GhTarget, workflow: &str) -> Result<Option<Cell>, String> {
        let branch = self.branch_of(t)?;
        let runs: WorkflowRuns = self
            .get(&format!(
                "/repos/{}/actions/workflows/{}/runs?branch={}&per_page=20",
                t.repo,
                enc(workflow),
                enc(&branch)
            ))
            .await?;
        // Runs of pull requests (a fork's branch may be called main too) are not the train.
        let runs: Vec<WorkflowRun> = runs
            .workflow_runs
            .into_iter()
            .filter(|r| !r.from_pull_request())
            .collect();
        let Some(latest) = runs.first() else {
            return Ok(None);
        };
        let path = format!(
            "/repos/{}/commits/{}/check-runs?per_page=100",
            t.repo,
            enc(&latest.head_sha)
        );
        let checks: CheckRuns = self.get_pages(&path, Some("check_runs"), MAX_PAGES).await?;
        let mut cell = map::ci_cell(&runs, &checks.check_runs);
        if let Some(c) = cell.as_mut() {
            c.commit_url = self.commit_url(t, &latest.head_sha);
        }
        if let Some(c) = cell.as_mut()
            && checks.total_count > checks.check_runs.len() as u64
        {
            // More than a page of checks: say so rather than call the rest green.
            c.checks.push(crate::model::Check {
                name: format!(
                    "{} more checks not read",
                    checks.total_count - checks.check_runs.len() as u64
                ),
                state: crate::model::CheckState::Pending,
                url: None,
            });
        }
        Ok(cell)
    }

    async fn deploy_cell(
        &self,
        key: &CellKey,
        t: &GhTarget,
        env: &str,
        waiting: &[(WorkflowRun, Vec<PendingDeployment>)],
    ) -> Result<Option<Cell>, String> {
        let deployments: Vec<Deployment> = self
            .get(&format!(
                "/repos/{}/deployments?environment={}&per_page={DEPLOYMENTS}",
                t.repo,
                enc(env)
            ))
            .await?;
        let deployments: Vec<Deployment> = deployments.into_iter().take(DEPLOYMENTS).collect();
        let statuses = join_all(deployments.iter().map(|d| async move {
            let path = format!("/repos/{}/deployments/{}/statuses?per_page=1", t.repo, d.id);
            self.get::<Vec<DeploymentStatus>>(&path).await
        }))
        .await;
        let mut pairs = Vec::new();
        for (d, st) in deployments.into_iter().zip(statuses) {
            pairs.push((d, st?.into_iter().next()));
        }
        let deployed = map::deploy_cell(&pairs).map(|mut c| {
            c.commit_url = pairs.first().and_then(|(d, _)| self.commit_url(t, &d.sha));
            c
        });
        let branch = self.branch_of(t)?;
        // A run of this lane's deploy workflow on its branch, waiting on this environment's
        // protection rules: the cell awaits approval. (Other runs, a pull request's, say, are
        // not this train's.)
        let pending = waiting
            .iter()
            .filter(|(run, _)| {
                run.head_branch.as_deref() == Some(branch.as_str())
                    && !run.from_pull_request()
                    && t.workflow
                        .as_deref()
                        .is_none_or(|wf| run.path.as_deref().is_none_or(|p| p.contains(wf)))
            })
            .find_map(|(run, pending)| {
                pending
                    .iter()
                    .find(|p| p.environment.name == env)
                    .map(|p| (run, p))
            });
        let mut waiting_map = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match pending {
            Some((run, p)) => {
                waiting_map.insert(
                    key.clone(),
                    Waiting {
                        run_id: run.id,
                        environment_id: p.environment.id,
                        sha: run.head_sha.clone(),
                    },
                );
                let mut cell = map::awaiting_cell(run, p, chrono::Utc::now());
                cell.commit_url = self.commit_url(t, &run.head_sha);
                cell.history = deployed.map(|d| d.history).unwrap_or_default();
                Ok(Some(cell))
            }
            None => {
                waiting_map.remove(key);
                Ok(deployed)
            }
        }
    }

    async fn fetch(&self) -> Result<Batch, String> {
        let mut batch = Batch::default();
        self.read_default_branches().await;
        let repos: Vec<&str> = self
            .targets
            .iter()
            .filter(|(_, t)| t.environment.is_some())
            .map(|(_, t)| t.repo.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Concurrently: a poll takes as long as its longest chain of requests, not their sum.
        let waiting_results = join_all(repos.iter().map(|r| self.waiting_runs(r))).await;
        let waiting: BTreeMap<&str, Result<Vec<_>, String>> =
            repos.into_iter().zip(waiting_results).collect();
        let results = join_all(self.targets.iter().map(|(key, t)| async {
            let cell = async {
                match (&t.environment, &t.workflow) {
                    (Some(env), _) => match waiting.get(t.repo.as_str()) {
                        Some(Ok(w)) => self.deploy_cell(key, t, env, w).await,
                        // Without the waiting runs, an approval could be missed: no picture.
                        Some(Err(e)) => {
                            Err(format!("could not read the runs waiting for approval: {e}"))
                        }
                        None => self.deploy_cell(key, t, env, &[]).await,
                    },
                    (None, Some(wf)) => self.ci_cell(t, wf).await,
                    (None, None) => {
                        Err("the config names neither a workflow nor an environment".into())
                    }
                }
            };
            // A run trainyard dispatched for the cell is read alongside the cell's own
            // requests, not after them.
            let (cell, run) = join(cell, self.dispatched_run(key, t)).await;
            match cell {
                Ok(cell) => self.follow_dispatch(key, run, cell),
                e => e,
            }
        }))
        .await;
        let mut errors: Vec<String> = Vec::new();
        for ((key, _), result) in self.targets.iter().zip(results) {
            match result {
                Ok(Some(cell)) => batch.cells.push((key.clone(), cell)),
                Ok(None) => {}
                Err(e) => {
                    batch.cell_errors.push((key.clone(), e.clone()));
                    errors.push(e);
                }
            }
        }
        let counts = self.client.take_counts();
        if self.polls.fetch_add(1, Ordering::Relaxed) > 0 {
            self.last_cost.store(
                counts.requests.saturating_sub(counts.not_modified),
                Ordering::Relaxed,
            );
        }
        batch.rate_limit = self.client.rate_limit();
        batch.next_poll_in = Some(self.interval());
        // Nothing read at all: the source is down (bad token, rate limited, unreachable).
        if errors.len() == self.targets.len() && !self.targets.is_empty() {
            return Err(errors
                .into_iter()
                .next()
                .unwrap_or_else(|| "no data".into()));
        }
        Ok(batch)
    }

    /// The run trainyard dispatched for this cell and follows, if any, as GitHub has it now.
    async fn dispatched_run(&self, key: &CellKey, t: &GhTarget) -> Option<Followed> {
        let d = self
            .dispatched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()?;
        let run = self
            .get(&format!("/repos/{}/actions/runs/{}", t.repo, d.run_id))
            .await;
        Some((d, run))
    }

    /// A run trainyard dispatched for this cell: until its deployment shows, its own state
    /// speaks for the cell (a run that failed before deploying fails the cell). A run that
    /// can't be read leaves the cell as read, with a warning that says so.
    fn follow_dispatch(
        &self,
        key: &CellKey,
        followed: Option<Followed>,
        cell: Option<Cell>,
    ) -> Result<Option<Cell>, String> {
        let Some((d, run)) = followed else {
            return Ok(cell);
        };
        let forget = || {
            self.dispatched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(key);
        };
        let arrived = cell.as_ref().is_some_and(|c| {
            c.version
                .as_deref()
                .is_some_and(|v| d.version.starts_with(v) || v.starts_with(&d.version))
        });
        let run = match run {
            Ok(r) => r,
            Err(_) if arrived => {
                forget();
                return Ok(cell);
            }
            Err(e) => {
                let why = format!(
                    "could not follow deploy run {} of {}: {e}",
                    d.run_id,
                    crate::model::cell::short_version(&sanitize(&d.version, 200))
                );
                // The cell's own data is good: it stays, and the run is read again next poll.
                return match cell {
                    Some(mut c) => {
                        c.warnings.push(format!(
                            "{why} (had it failed before deploying, this cell would not show it yet)"
                        ));
                        Ok(Some(c))
                    }
                    None => Err(why),
                };
            }
        };
        let state = map::run_state(run.status.as_deref(), run.conclusion.as_deref());
        if run.status.as_deref() == Some("completed") {
            forget();
        }
        match state {
            crate::model::CellState::Failed | crate::model::CellState::Cancelled if !arrived => {
                let mut failed = cell.unwrap_or_else(|| Cell::new(String::new(), state));
                failed.state = state;
                failed.version = Some(sanitize(&d.version, 200));
                failed.updated_at = run.updated_at;
                failed.url = run.html_url.as_deref().map(|u| sanitize(u, 200));
                failed.message = Some(format!(
                    "deploy run {} {} before deploying",
                    run.id,
                    state.words()
                ));
                Ok(Some(failed))
            }
            _ => Ok(cell),
        }
    }

    fn dispatch_body(&self, t: &GhTarget, env: &str, version: &str) -> Result<Value, ActionError> {
        Ok(json!({
            "ref": self.branch_of(t).map_err(ActionError::Failed)?,
            "inputs": { self.version_input.clone(): version, self.environment_input.clone(): env },
            "return_run_details": true,
        }))
    }

    /// The request an action becomes: method, path and body.
    fn plan_request(&self, req: &ActionRequest) -> Result<(String, Value), ActionError> {
        let t = self.target(&req.lane, &req.stage).ok_or_else(|| {
            ActionError::Failed(format!(
                "{} {} is not read from source {}",
                req.lane, req.stage, self.name
            ))
        })?;
        let waiting = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&CellKey::new(&req.lane, &req.stage))
            .cloned();
        let decide = |w: &Waiting, state: &str| {
            let verb = if state == "approved" {
                "approved"
            } else {
                "rejected"
            };
            let mut comment = format!("{verb} with trainyard by {}", req.actor);
            if let Some(r) = &req.reason {
                comment.push_str(&format!(": {r}"));
            }
            (
                format!(
                    "/repos/{}/actions/runs/{}/pending_deployments",
                    t.repo, w.run_id
                ),
                json!({"environment_ids": [w.environment_id], "state": state, "comment": comment}),
            )
        };
        let none_waiting = || ActionError::Rejected {
            status: 409,
            code: "conflict".into(),
            message: format!(
                "no deployment of {} is waiting for approval at {}",
                req.lane, req.stage
            ),
        };
        let dispatch = |version: &str| -> Result<(String, Value), ActionError> {
            let env = t.environment.as_deref().ok_or_else(|| {
                ActionError::Unsupported(format!(
                    "{} {} is a CI stage: it has no environment to deploy to",
                    req.lane, req.stage
                ))
            })?;
            let wf = t.workflow.as_deref().ok_or_else(|| {
                ActionError::Unsupported(format!(
                    "no deploy workflow configured for {} {} (stages.{} = {{ workflow = \"deploy.yml\" }})",
                    req.lane, req.stage, req.stage
                ))
            })?;
            Ok((
                format!("/repos/{}/actions/workflows/{}/dispatches", t.repo, enc(wf)),
                self.dispatch_body(t, env, version)?,
            ))
        };
        match req.kind {
            ActionKind::Approve => waiting
                .as_ref()
                .map(|w| decide(w, "approved"))
                .ok_or_else(none_waiting),
            ActionKind::Reject => waiting
                .as_ref()
                .map(|w| decide(w, "rejected"))
                .ok_or_else(none_waiting),
            ActionKind::Promote => {
                let version = req.version.as_deref().unwrap_or_default();
                match &waiting {
                    // The version is already waiting at the stage: promoting is approving it.
                    Some(w)
                        if !version.is_empty()
                            && (w.sha.starts_with(version) || version.starts_with(&w.sha)) =>
                    {
                        Ok(decide(w, "approved"))
                    }
                    _ => dispatch(version),
                }
            }
            ActionKind::Rollback => dispatch(req.version.as_deref().unwrap_or_default()),
            ActionKind::Pause => Err(ActionError::Failed(
                "pause is a cancel here; see act".into(),
            )),
            ActionKind::Resume => Err(ActionError::Unsupported(
                "GitHub can't resume a cancelled run: promote the version again".into(),
            )),
            ActionKind::Halt | ActionKind::Unhalt => {
                Err(ActionError::Unsupported("not a source action".into()))
            }
        }
    }

    async fn send(&self, req: &ActionRequest) -> Result<ActionAck, ActionError> {
        let to_action_error = |e: GhError| match e {
            GhError::Status(status, message) => ActionError::Rejected {
                status,
                code: "github".into(),
                message,
            },
            GhError::Unanswered(m) => ActionError::Unanswered(m),
            other => ActionError::Failed(other.to_string()),
        };
        // An action before any poll read the repository's default branch: read it now.
        if self
            .target(&req.lane, &req.stage)
            .is_some_and(|t| self.branch_of(t).is_err())
        {
            self.read_default_branches().await;
        }
        if req.kind == ActionKind::Pause {
            // No pause on GitHub: cancel the deploy run of this version that hasn't finished
            // (the runner also holds the lane). Only a run of exactly this version: never
            // another environment's deploy.
            let t = self
                .target(&req.lane, &req.stage)
                .ok_or_else(|| ActionError::Failed("no such target".into()))?;
            let wf = t.workflow.as_deref().ok_or_else(|| {
                ActionError::Unsupported("no deploy workflow configured to cancel".into())
            })?;
            let version = req.version.as_deref().unwrap_or_default();
            let branch = self.branch_of(t).map_err(ActionError::Failed)?;
            let runs: WorkflowRuns = self
                .get(&format!(
                    "/repos/{}/actions/workflows/{}/runs?branch={}&per_page=30",
                    t.repo,
                    enc(wf),
                    enc(&branch)
                ))
                .await
                .map_err(ActionError::Failed)?;
            let run = runs
                .workflow_runs
                .iter()
                .find(|r| {
                    r.status.as_deref() != Some("completed")
                        && !version.is_empty()
                        && r.head_sha.starts_with(version)
                })
                .ok_or_else(|| ActionError::Rejected {
                    status: 409,
                    code: "conflict".into(),
                    message: format!(
                        "no run of {wf} for {} is in progress to cancel",
                        crate::model::cell::short_version(version)
                    ),
                })?;
            self.client
                .post(
                    &format!("/repos/{}/actions/runs/{}/cancel", t.repo, run.id),
                    &json!({}),
                )
                .await
                .map_err(to_action_error)?;
            return Ok(ActionAck {
                message: format!("cancelling run {} of {wf}", run.id),
            });
        }
        let (path, body) = self.plan_request(req)?;
        let (status, answer) = self
            .client
            .post(&path, &body)
            .await
            .map_err(to_action_error)?;
        // A dispatch answers with its run (return_run_details): follow it.
        if let Some(run_id) = answer.get("workflow_run_id").and_then(Value::as_u64) {
            let version = req.version.clone().unwrap_or_default();
            self.dispatched
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    CellKey::new(&req.lane, &req.stage),
                    Dispatched { run_id, version },
                );
            let url = answer
                .get("html_url")
                .and_then(Value::as_str)
                .map(|u| sanitize(u, 200))
                .unwrap_or_default();
            return Ok(ActionAck {
                message: format!("deploy run {run_id} started {url}")
                    .trim()
                    .to_string(),
            });
        }
        Ok(ActionAck {
            message: format!("GitHub accepted it ({status})"),
        })
    }
}

impl Source for GithubSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "github"
    }
    /// The configured interval, stretched so the rate limit lasts until it resets.
    fn interval(&self) -> Duration {
        self.client
            .stretch(self.interval, self.last_cost.load(Ordering::Relaxed))
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
