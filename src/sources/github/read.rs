//! How the `github` source reads the train: each poll reads the cells that are due
//! ([`super::pace`]) — a CI stage from its workflow's runs and the newest run's checks, an
//! environment from its deployments, their statuses and the repository's waiting runs — and
//! lets the last answer of every other cell stand. What can't change is never asked again
//! ([`super::memo`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::future::{join, join_all};
use serde_json::Value;

use super::client::GhError;
use super::map::{
    self, CheckRuns, Deployment, DeploymentStatus, PendingDeployment, WorkflowRun, WorkflowRuns,
};
use super::pace::{self, BRANCH_EVERY};
use super::{DEPLOYMENTS, Followed, GhTarget, GithubSource, MAX_PAGES, Waiting, enc};
use crate::model::text::sanitize;
use crate::model::{Batch, Cell, CellKey};

/// A repository's waiting runs and their pending deployments.
pub(super) type WaitingRuns = Vec<(WorkflowRun, Vec<PendingDeployment>)>;

/// What one target's read came to in a poll: `None` when it was not due (its last answer
/// stands).
type Read = Option<Result<Option<Cell>, GhError>>;

impl GithubSource {
    /// The waiting runs of a repository: one request, and the pending deployments of a run
    /// not seen before (or changed since).
    async fn waiting_runs(&self, repo: &str) -> Result<WaitingRuns, GhError> {
        let path = format!("/repos/{repo}/actions/runs?status=waiting&per_page=50");
        let runs: WorkflowRuns = self
            .client
            .get_pages(&path, Some("workflow_runs"), MAX_PAGES)
            .await?;
        let pending = join_all(runs.workflow_runs.iter().map(|run| async move {
            if let Some(p) = self.memo.pending(repo, run) {
                return Ok(p);
            }
            let path = format!("/repos/{repo}/actions/runs/{}/pending_deployments", run.id);
            let p = self.client.get::<Vec<PendingDeployment>>(&path).await?;
            self.memo.keep_pending(repo, run, &p);
            Ok(p)
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
    pub(super) fn branch_of(&self, t: &GhTarget) -> Result<String, String> {
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

    /// Read the default branch of every repository whose lanes name no branch, when it is
    /// due (every [`BRANCH_EVERY`]) or `now_all`. A repository that can't be read keeps what
    /// was read before.
    pub(super) async fn read_default_branches(&self, now_all: bool) {
        let now = Instant::now();
        let pace = self.pace();
        let repos: BTreeSet<&str> = {
            let due = self.branches_due.lock().unwrap_or_else(|e| e.into_inner());
            self.targets
                .iter()
                .filter(|(_, t)| t.branch.is_none())
                .map(|(_, t)| t.repo.as_str())
                .filter(|r| now_all || due.is_due(&r.to_string(), now, &pace))
                .collect()
        };
        let read = join_all(repos.iter().map(|r| async move {
            let repo: Value = self.client.get(&format!("/repos/{r}")).await?;
            match repo["default_branch"].as_str() {
                Some(b) if !b.is_empty() => Ok(sanitize(b, 200)),
                _ => Err(GhError::Failed(format!("/repos/{r} has no default_branch"))),
            }
        }))
        .await;
        let mut known = self
            .default_branches
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut due = self.branches_due.lock().unwrap_or_else(|e| e.into_inner());
        for (r, b) in repos.into_iter().zip(read) {
            match b {
                Ok(b) => {
                    due.read(&r.to_string(), now, BRANCH_EVERY);
                    known.insert(r.to_string(), Ok(b));
                }
                // Put off by the budget: asked at the next poll.
                Err(GhError::Deferred(_)) => {}
                // A branch read before stays through a failed read; the failure is said
                // otherwise.
                Err(e) => {
                    if !matches!(known.get(r), Some(Ok(_))) {
                        known.insert(r.to_string(), Err(e.to_string()));
                    }
                }
            }
        }
    }

    async fn ci_cell(&self, t: &GhTarget, workflow: &str) -> Result<Option<Cell>, GhError> {
        let branch = self.branch_of(t).map_err(GhError::Failed)?;
        let runs: WorkflowRuns = self
            .client
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
        let checks = match self.memo.checks(&t.repo, latest) {
            Some(c) => c,
            None => {
                let path = format!(
                    "/repos/{}/commits/{}/check-runs?per_page=100",
                    t.repo,
                    enc(&latest.head_sha)
                );
                let c: CheckRuns = self
                    .client
                    .get_pages(&path, Some("check_runs"), MAX_PAGES)
                    .await?;
                self.memo.keep_checks(&t.repo, latest, &c);
                c
            }
        };
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

    /// The newest status of a deployment (`None`: it has none yet), asked only while it can
    /// still change.
    async fn deployment_status(
        &self,
        repo: &str,
        d: &Deployment,
    ) -> Result<Option<DeploymentStatus>, GhError> {
        if let Some(s) = self.memo.status(repo, d) {
            return Ok(Some(s));
        }
        let path = format!("/repos/{repo}/deployments/{}/statuses?per_page=1", d.id);
        let s = self.client.get::<Vec<DeploymentStatus>>(&path).await?;
        let s = s.into_iter().next();
        if let Some(s) = &s {
            self.memo.keep_status(repo, d, s);
        }
        Ok(s)
    }

    async fn deploy_cell(
        &self,
        key: &CellKey,
        t: &GhTarget,
        env: &str,
        waiting: &[(WorkflowRun, Vec<PendingDeployment>)],
    ) -> Result<Option<Cell>, GhError> {
        let deployments: Vec<Deployment> = self
            .client
            .get(&format!(
                "/repos/{}/deployments?environment={}&per_page={DEPLOYMENTS}",
                t.repo,
                enc(env)
            ))
            .await?;
        let deployments: Vec<Deployment> = deployments.into_iter().take(DEPLOYMENTS).collect();
        let statuses = join_all(
            deployments
                .iter()
                .map(|d| self.deployment_status(&t.repo, d)),
        )
        .await;
        let mut pairs = Vec::new();
        for (d, st) in deployments.into_iter().zip(statuses) {
            pairs.push((d, st?));
        }
        let deployed = map::deploy_cell(&pairs).map(|mut c| {
            c.commit_url = pairs.first().and_then(|(d, _)| self.commit_url(t, &d.sha));
            c
        });
        let branch = self.branch_of(t).map_err(GhError::Failed)?;
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

    /// Is the cell of `key` due at `now`: never read, woken, in motion and its interval
    /// passed, settled and its `settled_interval` passed, or a run trainyard dispatched for it
    /// is followed?
    fn cell_due(&self, key: &CellKey, now: Instant) -> bool {
        self.cells_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_due(key, now, &self.pace())
            || self.followed(key)
    }

    fn followed(&self, key: &CellKey) -> bool {
        self.dispatched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(key)
    }

    /// The waiting runs of the repositories with environments whose read is due; the others'
    /// as last read. A repository whose waiting runs changed wakes its environment cells.
    async fn read_waiting(&self, now: Instant) -> BTreeMap<String, Result<WaitingRuns, String>> {
        let pace = self.pace();
        let repos: BTreeSet<&str> = self
            .targets
            .iter()
            .filter(|(_, t)| t.environment.is_some())
            .map(|(_, t)| t.repo.as_str())
            .collect();
        let due: Vec<&str> = {
            let s = self.repos_due.lock().unwrap_or_else(|e| e.into_inner());
            repos
                .iter()
                .copied()
                .filter(|r| s.is_due(&r.to_string(), now, &pace))
                .collect()
        };
        // Concurrently: a poll takes as long as its longest chain of requests, not their sum.
        let read = join_all(due.iter().map(|r| self.waiting_runs(r))).await;
        let mut last = self.last_waiting.lock().unwrap_or_else(|e| e.into_inner());
        for (repo, result) in due.into_iter().zip(read) {
            match result {
                Ok(runs) => {
                    let marks = |w: &WaitingRuns| -> Vec<_> {
                        w.iter().map(|(r, _)| super::memo::RunMark::of(r)).collect()
                    };
                    let changed = match last.get(repo) {
                        Some(Ok(before)) => marks(before) != marks(&runs),
                        _ => true,
                    };
                    if changed {
                        self.wake_repo(repo);
                    }
                    last.insert(repo.to_string(), Ok(runs));
                }
                // Put off by the budget: what was read before stands, asked next poll.
                Err(GhError::Deferred(_)) if last.contains_key(repo) => {}
                Err(e) => {
                    last.insert(repo.to_string(), Err(e.to_string()));
                }
            }
        }
        repos
            .into_iter()
            .filter_map(|r| last.get(r).map(|w| (r.to_string(), w.clone())))
            .collect()
    }

    /// Every environment cell of `repo` is read at the next poll.
    fn wake_repo(&self, repo: &str) {
        let mut due = self.cells_due.lock().unwrap_or_else(|e| e.into_inner());
        for (key, t) in &self.targets {
            if t.repo == repo && t.environment.is_some() {
                due.wake(key);
            }
        }
    }

    /// A cell (and its repository's waiting runs) is read at the next poll: an action was
    /// taken on it.
    pub(super) fn wake(&self, key: &CellKey, repo: &str) {
        self.cells_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake(key);
        self.repos_due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .wake(&repo.to_string());
    }

    /// One target's read, if it is due.
    async fn read_target(
        &self,
        key: &CellKey,
        t: &GhTarget,
        waiting: &BTreeMap<String, Result<WaitingRuns, String>>,
        now: Instant,
    ) -> Read {
        if !self.cell_due(key, now) {
            return None;
        }
        let cell = async {
            match (&t.environment, &t.workflow) {
                (Some(env), _) => match waiting.get(&t.repo) {
                    Some(Ok(w)) => self.deploy_cell(key, t, env, w).await,
                    // Without the waiting runs, an approval could be missed: no picture.
                    Some(Err(e)) => Err(GhError::Failed(format!(
                        "could not read the runs waiting for approval: {e}"
                    ))),
                    None => self.deploy_cell(key, t, env, &[]).await,
                },
                (None, Some(wf)) => self.ci_cell(t, wf).await,
                (None, None) => Err(GhError::Failed(
                    "the config names neither a workflow nor an environment".into(),
                )),
            }
        };
        // A run trainyard dispatched for the cell is read alongside the cell's own requests,
        // not after them.
        let read = join(cell, self.dispatched_run(key, t));
        let ((cell, run), ticket) = self.client.reserved(self.estimate(key, t), read).await;
        if ticket.used() > 0 {
            self.costs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.clone(), ticket.used());
        }
        Some(cell.and_then(|cell| {
            self.follow_dispatch(key, run, cell)
                .map_err(GhError::Failed)
        }))
    }

    /// The requests the next read of a cell will likely send: what its last read sent, or
    /// before the first, all of them (a CI stage's runs and checks; an environment's
    /// deployments and each one's status); a followed run is one more.
    fn estimate(&self, key: &CellKey, t: &GhTarget) -> u32 {
        let first = if t.environment.is_some() {
            1 + DEPLOYMENTS as u32
        } else {
            2
        };
        let last = self
            .costs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied();
        last.unwrap_or(first) + u32::from(self.followed(key))
    }

    pub(super) async fn fetch(&self) -> Result<Batch, String> {
        let now = Instant::now();
        let pace = self.pace();
        let mut batch = Batch::default();
        self.read_default_branches(false).await;
        let waiting = self.read_waiting(now).await;
        let results = join_all(
            self.targets
                .iter()
                .map(|(key, t)| self.read_target(key, t, &waiting, now)),
        )
        .await;
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = self.cells_due.lock().unwrap_or_else(|e| e.into_inner());
        // Repositories with an environment cell in motion: their waiting runs at the quick pace.
        let mut quick: BTreeSet<&str> = BTreeSet::new();
        let mut fold = pace::Fold::new(&mut last, &mut due, now, pace, &mut batch);
        for ((key, t), result) in self.targets.iter().zip(results) {
            let followed = self.followed(key);
            // Put off by the budget: the last answer stands, and it is read next poll.
            let read = result.map(|r| {
                r.map_err(|e| match e {
                    GhError::Deferred(why) => pace::Unread::Deferred(why),
                    e => pace::Unread::Failed(e.to_string()),
                })
            });
            let failed = matches!(read, Some(Err(pace::Unread::Failed(_))));
            let kept = fold.cell(key, read, |c| c.is_some_and(pace::moving) || followed);
            if !failed && t.environment.is_some() && (kept.is_some_and(pace::moving) || followed) {
                quick.insert(&t.repo);
            }
        }
        let down = fold.finish();
        drop(due);
        drop(last);
        {
            let mut repos = self.repos_due.lock().unwrap_or_else(|e| e.into_inner());
            // A repository whose waiting runs could not be read is asked again next poll.
            let read: BTreeSet<&str> = waiting
                .iter()
                .filter(|(_, w)| w.is_ok())
                .map(|(r, _)| r.as_str())
                .collect();
            for repo in read {
                let key = repo.to_string();
                let is_quick = quick.contains(repo);
                if repos.is_due(&key, now, &pace) {
                    // A repository whose environments are all settled has nothing waiting: a
                    // deployment held for approval shows in the environment's deployments
                    // first (status `waiting` or `queued`), which makes its cell move. Read
                    // now and then all the same.
                    let period = if is_quick {
                        pace.base(&key, true)
                    } else {
                        BRANCH_EVERY
                    };
                    repos.read(&key, now, period);
                } else if is_quick {
                    // A cell of it started moving: its waiting runs at the quick pace now.
                    repos.wake(&key);
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
        self.store_factor(self.client.stretch_factor());
        batch.rate_limit = self.client.rate_limit();
        batch.request_rate = Some(self.client.request_rate());
        batch.next_poll_in = Some(crate::sources::Source::interval(self));
        // Every read failed: the source is down (bad token, rate limited, unreachable).
        if let Some(e) = down {
            return Err(e);
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
            .client
            .get(&format!("/repos/{}/actions/runs/{}", t.repo, d.run_id))
            .await
            .map_err(|e| e.to_string());
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
}
