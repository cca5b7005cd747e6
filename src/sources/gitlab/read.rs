//! How the `gitlab` source reads the train: each poll reads the cells that are due (a cell in
//! motion every `interval`, a settled one every `settled_interval`, see
//! [`crate::sources::github::pace`]) — the build stage from the branch's pipelines and the
//! newest one's jobs, an environment from its deployments (and a blocked one's approvals) —
//! and lets the last answer of every other cell stand.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::Value;

use super::client::GlError;
use super::map::{self, Deployment, Job, Pipeline};
use super::{BRANCH_EVERY, DEPLOYMENTS, GitlabSource, GlTarget, LIST_PAGES, PIPELINES, enc};
use crate::model::text::sanitize;
use crate::model::{Batch, Cell};
use crate::sources::github::pace;

impl GitlabSource {
    /// A list of up to `want` items, following its pages (at most [`LIST_PAGES`]).
    pub(super) async fn get_list<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        want: usize,
    ) -> Result<Vec<T>, GlError> {
        self.client.get_list(path, want, LIST_PAGES).await
    }

    /// The branch of a lane: the config's, else the project's default branch as last read.
    pub(super) fn branch_of(&self, t: &GlTarget) -> Result<String, String> {
        if let Some(b) = &t.branch {
            return Ok(b.clone());
        }
        match self
            .default_branches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&t.project)
        {
            Some((_, Ok(b))) => Ok(b.clone()),
            Some((_, Err(e))) => Err(format!("the default branch of {}: {e}", t.project)),
            None => Err(format!(
                "the default branch of {} is not known yet; set `branch` for the lane to name it",
                t.project
            )),
        }
    }

    /// Read the default branch of every project whose build stage (or deploy stage promoting
    /// with a pipeline) names no branch, when it was never read, could not be, or was read
    /// [`BRANCH_EVERY`] ago.
    pub(super) async fn read_default_branches(&self) {
        let now = Instant::now();
        let projects: BTreeSet<&str> = {
            let known = self
                .default_branches
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            self.targets
                .iter()
                .filter(|(_, t)| t.branch.is_none() && t.needs_branch())
                .map(|(_, t)| t.project.as_str())
                .filter(|p| {
                    known
                        .get(*p)
                        .is_none_or(|(at, r)| r.is_err() || now.duration_since(*at) >= BRANCH_EVERY)
                })
                .collect()
        };
        let read = join_all(projects.iter().map(|p| async move {
            let v: Value = self.client.get(&format!("/projects/{}", enc(p))).await?;
            match v["default_branch"].as_str() {
                Some(b) if !b.is_empty() => Ok(sanitize(b, 200)),
                _ => Err(GlError::Failed(format!(
                    "project {p} has no default_branch (an empty repository?)"
                ))),
            }
        }))
        .await;
        let mut known = self
            .default_branches
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (p, r) in projects.into_iter().zip(read) {
            match r {
                Ok(b) => {
                    known.insert(p.to_string(), (now, Ok(b)));
                }
                Err(GlError::Deferred(_)) => {}
                // A branch read before stays through a failed read.
                Err(e) => {
                    if !matches!(known.get(p), Some((_, Ok(_)))) {
                        known.insert(p.to_string(), (now, Err(e.to_string())));
                    }
                }
            }
        }
    }

    /// The build stage: the branch's pipelines (not a merge request's), the newest one's jobs.
    async fn ci_cell(&self, t: &GlTarget) -> Result<Option<Cell>, GlError> {
        let branch = self.branch_of(t).map_err(GlError::Failed)?;
        let pipelines: Vec<Pipeline> = self
            .get_list(
                &format!(
                    "/projects/{}/pipelines?ref={}&order_by=id&sort=desc&per_page={PIPELINES}",
                    enc(&t.project),
                    enc(&branch)
                ),
                PIPELINES,
            )
            .await?;
        let pipelines: Vec<Pipeline> = pipelines
            .into_iter()
            .filter(|p| !p.from_merge_request())
            .collect();
        let Some(latest) = pipelines.first() else {
            return Ok(None);
        };
        let jobs: Vec<Job> = self
            .get_list(
                &format!(
                    "/projects/{}/pipelines/{}/jobs?per_page=100",
                    enc(&t.project),
                    latest.id
                ),
                usize::MAX,
            )
            .await?;
        Ok(map::ci_cell(&pipelines, &jobs))
    }

    /// An environment's newest `want` deployments, newest first.
    pub(super) async fn deployments(
        &self,
        t: &GlTarget,
        env: &str,
        want: usize,
    ) -> Result<Vec<Deployment>, GlError> {
        self.get_list(
            &format!(
                "/projects/{}/deployments?environment={}&order_by=id&sort=desc&per_page={}",
                enc(&t.project),
                enc(env),
                want.min(100)
            ),
            want,
        )
        .await
    }

    /// A deploy stage: the environment's deployments; a blocked one read on its own for its
    /// approvals (the list leaves them out).
    async fn deploy_cell(&self, t: &GlTarget, env: &str) -> Result<Option<Cell>, GlError> {
        let list = self.deployments(t, env, DEPLOYMENTS).await?;
        let blocked = list
            .iter()
            .find(|d| d.status != "created")
            .filter(|d| d.status == "blocked");
        let detail = match blocked {
            Some(d) => Some(
                self.client
                    .get::<Deployment>(&format!(
                        "/projects/{}/deployments/{}",
                        enc(&t.project),
                        d.id
                    ))
                    .await?,
            ),
            None => None,
        };
        Ok(map::deploy_cell(&list, detail.as_ref()))
    }

    async fn read_target(&self, t: &GlTarget) -> Result<Option<Cell>, GlError> {
        match &t.environment {
            Some(env) => self.deploy_cell(t, env).await,
            None => self.ci_cell(t).await,
        }
    }

    pub(super) async fn fetch(&self) -> Result<Batch, String> {
        let now = Instant::now();
        let pace = self.pace();
        self.read_default_branches().await;
        let due: Vec<bool> = {
            let s = self.cells_due.lock().unwrap_or_else(|e| e.into_inner());
            self.targets
                .iter()
                .map(|(k, _)| s.is_due(k, now, &pace))
                .collect()
        };
        let results = join_all(
            self.targets
                .iter()
                .zip(&due)
                .map(|((_, t), due)| async move {
                    if *due {
                        Some(self.read_target(t).await)
                    } else {
                        None
                    }
                }),
        )
        .await;
        let mut batch = Batch::default();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut schedule = self.cells_due.lock().unwrap_or_else(|e| e.into_inner());
        let mut fold = pace::Fold::new(&mut last, &mut schedule, now, pace, &mut batch);
        for ((key, _), result) in self.targets.iter().zip(results) {
            let read = result.map(|r| {
                r.map_err(|e| match e {
                    GlError::Deferred(why) => pace::Unread::Deferred(why),
                    e => pace::Unread::Failed(e.to_string()),
                })
            });
            fold.cell(key, read, |c| c.is_some_and(pace::moving));
        }
        let down = fold.finish();
        drop(schedule);
        drop(last);
        self.factor
            .store(self.client.stretch_factor().to_bits(), Ordering::Relaxed);
        self.client.take_count();
        batch.rate_limit = self.client.rate_limit();
        batch.request_rate = Some(self.client.request_rate());
        batch.next_poll_in = Some(crate::sources::Source::interval(self));
        // Every read failed: the source is down (bad token, rate limited, unreachable).
        if let Some(e) = down {
            return Err(e);
        }
        Ok(batch)
    }
}
