//! A GitLab REST subset as a projection of the scenario: the same cells, seen the way GitLab
//! CI/CD shows a release. Pure like the scenario: no clock, no IO; the HTTP side (the token,
//! the `RateLimit-*` headers, the request log) is in `gitlab_server.rs`. Built from the
//! scenario's own state with `serde_json::json!`, never with the `gitlab` source's types.
//!
//! Every lane is the project `acme/{lane}` (id `1000 + lane`, default branch `main`). Each
//! build of the lane is a pipeline on `main` whose jobs are the build's checks (stage `test`)
//! and three manual deploy jobs, `deploy-staging`, `deploy-canary` and `deploy-production`
//! (stage `deploy`), for the environments `staging`, `canary` and `production`. Each run of a
//! deploy stage is a deployment; a rollback is the retry of an earlier deployment's job (a new
//! job in the same pipeline). Ids:
//!
//! | thing                                   | id                                   |
//! |-----------------------------------------|--------------------------------------|
//! | pipeline                                | the build's run number               |
//! | job: k-th check of pipeline P           | `P * 16 + k`                         |
//! | job: the manual deploy job of P to s    | `P * 16 + 10 + s` (s = 1, 2, 3)      |
//! | job: a re-deploy (rollback) run R       | `R * 16 + 15`                        |
//! | deployment of run R                     | `2_000_000 + R`                      |
//! | deployment of a manual job not played   | `3_000_000 + P * 4 + s`              |
//!
//! | scenario state          | deployment status | deploy job status |
//! |-------------------------|-------------------|-------------------|
//! | `awaiting_approval`     | `blocked`         | `manual`          |
//! | `running`, `paused`, `rolling_back` | `running` | `running`     |
//! | `succeeded`, `rolled_back` | `success`      | `success`         |
//! | `failed`                | `failed`          | `failed`          |
//! | `cancelled`             | `canceled`        | `canceled`        |
//!
//! A deploy job is `manual` (playable) when the stage before has its version and succeeded
//! and the stage does not run it yet: then the environment also lists a `created` deployment
//! for it, as GitLab does for a manual job not played. Otherwise a job not played is `created`
//! (it waits), or `skipped` in a pipeline that failed. Blocked deployments (a guarded
//! production) carry Premium's approval fields: one rule, the group `{lane}-approvers`.
//!
//! Lists (pipelines, a pipeline's jobs, deployments) come in pages as GitLab's offset
//! pagination has them: `per_page` (default 20, at most 100) and `page`; the HTTP side writes
//! the `X-Page`, `X-Next-Page`, … and `Link` headers.
//!
//! Acting: playing a manual deploy job is the scenario's `promote`, and so is creating a
//! pipeline with the variables `DEPLOY_ENVIRONMENT` and `DEPLOY_VERSION`; approving or rejecting a
//! blocked deployment its `approve` / `reject`; retrying a deploy job of an earlier successful
//! deployment its `rollback`; cancelling a pipeline cancels its runs ([`Scenario::cancel`]).

use serde_json::{Value, json};

use super::content::{build_checks, environment};
use super::{BUILD, OpKind, STAGES, Scenario, St, Ver};

pub(crate) const GITLAB_PREFIX: &str = "/gitlab/api/v4";
const PROJECT_BASE: u64 = 1000;
const DEPLOYMENT_BASE: u64 = 2_000_000;
const CREATED_BASE: u64 = 3_000_000;
const ENVIRONMENTS: [&str; 3] = ["staging", "canary", "production"];

/// A request to the API, its path without the prefix.
pub(crate) struct GlRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// The username of the token's user.
    pub user: &'a str,
    /// Who may approve for the user: members of `{lane}-approvers`.
    pub approver: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GlReply {
    pub status: u16,
    pub body: Value,
    /// A list's page, for the pagination headers.
    pub pages: Option<Pages>,
}

/// Which page of a list an answer is, as GitLab's `X-Page`, `X-Per-Page` and `X-Total` say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pages {
    pub page: usize,
    pub per_page: usize,
    pub total: usize,
}

impl Pages {
    pub(crate) fn last(&self) -> usize {
        self.total.div_ceil(self.per_page).max(1)
    }
}

fn ok(body: Value) -> GlReply {
    GlReply {
        status: 200,
        body,
        pages: None,
    }
}

/// GitLab's error body: `{"message": "404 Project Not Found"}`.
pub(crate) fn gl_error(status: u16, message: impl Into<String>) -> GlReply {
    GlReply {
        status,
        body: json!({ "message": message.into() }),
        pages: None,
    }
}

fn query<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn pipeline_status(state: St) -> &'static str {
    match state {
        St::Running | St::RollingBack | St::Paused => "running",
        St::Succeeded | St::RolledBack => "success",
        St::Failed => "failed",
        St::Cancelled => "canceled",
        St::AwaitingApproval | St::Pending | St::Unknown => "pending",
    }
}

fn deployment_status(state: St) -> &'static str {
    match state {
        St::AwaitingApproval => "blocked",
        St::Running | St::RollingBack | St::Paused => "running",
        St::Succeeded | St::RolledBack => "success",
        St::Failed => "failed",
        St::Cancelled => "canceled",
        St::Pending | St::Unknown => "created",
    }
}

fn job_status(state: St) -> &'static str {
    match state {
        St::AwaitingApproval => "manual",
        other => deployment_status(other),
    }
}

fn check_status(s: &str) -> &'static str {
    match s {
        "passed" => "success",
        "failed" => "failed",
        _ => "running",
    }
}

/// One run of a cell, current (`i == 0`) or from its history.
#[derive(Clone)]
struct Run<'a> {
    s: usize,
    run: u64,
    ver: &'a Ver,
    state: St,
    at: i64,
    actor: &'a str,
    rollback: bool,
    checks: Vec<(&'static str, &'static str)>,
}

impl Scenario {
    /// Where the GitLab API is served: its pagination links point there.
    pub(crate) fn gitlab_api_base(&self) -> String {
        format!("{}{GITLAB_PREFIX}", self.base_url)
    }

    /// Answer one request to the GitLab API at the scenario's current time (dressed with
    /// attacks when the simulator is hostile).
    pub(crate) fn gitlab(&mut self, req: &GlRequest) -> GlReply {
        let mut reply = self.gitlab_plain(req);
        if self.hostile {
            crate::sim::hostile::dress_gitlab(&mut reply.body);
        }
        reply
    }

    fn gitlab_plain(&mut self, req: &GlRequest) -> GlReply {
        let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let ["projects", id, rest @ ..] = segs.as_slice() else {
            return gl_error(404, "404 Not Found");
        };
        let Some(li) = self.gl_project(id) else {
            return gl_error(404, "404 Project Not Found");
        };
        let q = req.query;
        let num = |s: &str| s.parse::<u64>().ok();
        match (req.method, rest) {
            ("GET", []) => ok(self.gl_project_json(li)),
            ("GET", ["pipelines"]) => {
                let r = query(q, "ref");
                let list: Vec<Value> = self
                    .gl_runs(li, BUILD)
                    .iter()
                    .filter(|_| r.is_none_or(|r| r == "main"))
                    .map(|e| self.gl_pipeline_json(li, e))
                    .collect();
                page(list, q)
            }
            ("GET", ["pipelines", p]) => match num(p).and_then(|p| self.gl_pipeline(li, p)) {
                Some(e) => ok(self.gl_pipeline_json(li, &e)),
                None => gl_error(404, "404 Not found"),
            },
            ("GET", ["pipelines", p, "jobs"]) => match num(p).and_then(|p| self.gl_pipeline(li, p))
            {
                Some(e) => page(self.gl_jobs_json(li, &e), q),
                None => gl_error(404, "404 Not found"),
            },
            ("POST", ["pipelines", p, "cancel"]) => match num(p) {
                Some(p) if self.gl_pipeline(li, p).is_some() => self.gl_cancel(li, p, req.user),
                _ => gl_error(404, "404 Not found"),
            },
            ("GET", ["deployments"]) => page(self.gl_deployments(li, q), q),
            ("GET", ["deployments", d]) => match num(d).and_then(|d| self.gl_deployment(li, d)) {
                Some(v) => ok(v),
                None => gl_error(404, "404 Not found"),
            },
            ("POST", ["deployments", d, "approval"]) => match num(d) {
                Some(d) => self.gl_approval(li, d, req),
                None => gl_error(404, "404 Not found"),
            },
            ("POST", ["pipeline"]) => self.gl_create_pipeline(li, req),
            ("POST", ["jobs", j, "play"]) => match num(j) {
                Some(j) => self.gl_play(li, j, req.user),
                None => gl_error(404, "404 Not found"),
            },
            ("POST", ["jobs", j, "retry"]) => match num(j) {
                Some(j) => self.gl_retry(li, j, req.user),
                None => gl_error(404, "404 Not found"),
            },
            _ => gl_error(404, "404 Not Found"),
        }
    }

    /// A project by id or path (`acme%2Fledger` or `acme/ledger`).
    fn gl_project(&self, id: &str) -> Option<usize> {
        if let Ok(n) = id.parse::<u64>() {
            return self.lanes.iter().position(|l| PROJECT_BASE + l.idx == n);
        }
        let path = id.replace("%2F", "/").replace("%2f", "/");
        let name = path.strip_prefix("acme/")?;
        self.lanes.iter().position(|l| l.spec.name == name)
    }

    fn gl_web(&self, li: usize) -> String {
        format!("{}/gitlab/acme/{}", self.base_url, self.lanes[li].spec.name)
    }

    fn gl_project_json(&self, li: usize) -> Value {
        let lane = &self.lanes[li];
        json!({
            "id": PROJECT_BASE + lane.idx,
            "name": lane.spec.name,
            "path": lane.spec.name,
            "path_with_namespace": format!("acme/{}", lane.spec.name),
            "default_branch": "main",
            "web_url": self.gl_web(li),
        })
    }

    /// The runs of a cell, newest first.
    fn gl_runs(&self, li: usize, s: usize) -> Vec<Run<'_>> {
        let cell = &self.lanes[li].cells[s];
        let rollback = |run: u64| {
            run.checked_sub(self.first_run)
                .and_then(|i| self.runs.get(i as usize))
                .is_some_and(|r| r.kind == OpKind::Rollback)
        };
        let live = match &cell.op {
            Some(op) if op.kind == OpKind::Build => build_checks(op, op.progress(self.now)),
            _ => cell.checks.clone(),
        };
        let mut out = vec![Run {
            s,
            run: cell.run,
            ver: &cell.ver,
            state: cell.state,
            at: cell.updated,
            actor: &cell.actor,
            rollback: rollback(cell.run),
            checks: live,
        }];
        out.extend(cell.history.iter().map(|h| Run {
            s,
            run: h.run,
            ver: &h.ver,
            state: h.state,
            at: h.at,
            actor: &h.actor,
            rollback: rollback(h.run),
            checks: h.checks.clone(),
        }));
        out
    }

    fn gl_pipeline(&self, li: usize, p: u64) -> Option<Run<'_>> {
        self.gl_runs(li, BUILD).into_iter().find(|e| e.run == p)
    }

    /// The pipeline (build run) of a version, if the build history still has it.
    fn gl_pipeline_of(&self, li: usize, sha: &str) -> Option<u64> {
        self.gl_runs(li, BUILD)
            .iter()
            .find(|e| e.ver.sha == sha)
            .map(|e| e.run)
    }

    fn gl_user(&self, name: &str) -> Value {
        let name = if name == "ci" { "gitlab-ci" } else { name };
        json!({
            "id": 50_000 + name.bytes().map(u64::from).sum::<u64>(),
            "username": name,
            "name": name,
            "state": "active",
            "web_url": format!("{}/gitlab/{name}", self.base_url),
        })
    }

    fn gl_pipeline_json(&self, li: usize, e: &Run) -> Value {
        json!({
            "id": e.run,
            "iid": e.run % 10_000,
            "project_id": PROJECT_BASE + self.lanes[li].idx,
            "status": pipeline_status(e.state),
            "source": "push",
            "ref": "main",
            "sha": e.ver.sha,
            "name": e.ver.title,
            "web_url": format!("{}/-/pipelines/{}", self.gl_web(li), e.run),
            "created_at": self.ts(e.at.min(self.now)),
            "updated_at": self.ts(e.at),
            "user": self.gl_user(e.actor),
        })
    }

    /// Whether the deploy job of pipeline `pipe` (version `sha`) to stage `s` may be played:
    /// the stage before has the version and succeeded, and `s` does not run it.
    fn gl_playable(&self, li: usize, s: usize, sha: &str) -> bool {
        let cells = &self.lanes[li].cells;
        let prev = &cells[s - 1];
        prev.ver.sha == sha && prev.state == St::Succeeded && cells[s].ver.sha != sha
    }

    /// The deploy job to stage `s` of pipeline `e`: its status and the run that played it.
    fn gl_deploy_job(&self, li: usize, s: usize, e: &Run) -> (&'static str, Option<u64>) {
        let played = self
            .gl_runs(li, s)
            .into_iter()
            .find(|r| r.ver.sha == e.ver.sha && !r.rollback);
        match played {
            Some(r) => (job_status(r.state), Some(r.run)),
            None if self.gl_playable(li, s, &e.ver.sha) => ("manual", None),
            None if matches!(e.state, St::Failed | St::Cancelled) => ("skipped", None),
            None => ("created", None),
        }
    }

    fn gl_job_json(
        &self,
        li: usize,
        id: u64,
        name: &str,
        stage: &str,
        status: &str,
        e: &Run,
    ) -> Value {
        json!({
            "id": id,
            "name": name,
            "stage": stage,
            "status": status,
            "allow_failure": stage == "deploy",
            "ref": "main",
            "tag": false,
            "web_url": format!("{}/-/jobs/{id}", self.gl_web(li)),
            "created_at": self.ts(e.at.min(self.now)),
            "pipeline": {
                "id": e.run,
                "project_id": PROJECT_BASE + self.lanes[li].idx,
                "ref": "main",
                "sha": e.ver.sha,
                "status": pipeline_status(e.state),
                "web_url": format!("{}/-/pipelines/{}", self.gl_web(li), e.run),
            },
            "user": self.gl_user(e.actor),
        })
    }

    /// The jobs of pipeline `e`, newest (largest id) first as GitLab lists them.
    fn gl_jobs_json(&self, li: usize, e: &Run) -> Vec<Value> {
        let mut jobs: Vec<Value> = e
            .checks
            .iter()
            .enumerate()
            .map(|(k, (name, st))| {
                self.gl_job_json(li, e.run * 16 + k as u64, name, "test", check_status(st), e)
            })
            .collect();
        for s in 1..STAGES.len() {
            let (status, _) = self.gl_deploy_job(li, s, e);
            let name = format!("deploy-{}", environment(s));
            jobs.push(self.gl_job_json(li, e.run * 16 + 10 + s as u64, &name, "deploy", status, e));
        }
        jobs.reverse();
        jobs
    }

    /// A deployment of run `r` at stage `s` (or, `None` run, of the manual job of `pipe`).
    fn gl_deployment_json(&self, li: usize, d: &Run, created: Option<u64>) -> Value {
        let s = d.s;
        let pipe = created
            .or_else(|| self.gl_pipeline_of(li, &d.ver.sha))
            .unwrap_or(d.run);
        let (id, job, status) = match created {
            Some(p) => (
                CREATED_BASE + p * 4 + s as u64,
                p * 16 + 10 + s as u64,
                "created",
            ),
            None if d.rollback => (
                DEPLOYMENT_BASE + d.run,
                d.run * 16 + 15,
                deployment_status(d.state),
            ),
            None => (
                DEPLOYMENT_BASE + d.run,
                pipe * 16 + 10 + s as u64,
                deployment_status(d.state),
            ),
        };
        let web = self.gl_web(li);
        let env = ENVIRONMENTS[s - 1];
        let idx = self.lanes[li].idx;
        let mut v = json!({
            "id": id,
            "iid": id % 100_000,
            "ref": "main",
            "sha": d.ver.sha,
            "status": status,
            "created_at": self.ts(d.at.min(self.now)),
            "updated_at": self.ts(d.at),
            "user": self.gl_user(d.actor),
            "environment": {"id": 500 + idx * 4 + s as u64, "name": env, "external_url": format!("https://{env}.acme.example")},
            "deployable": {
                "id": job,
                "name": format!("deploy-{env}"),
                "stage": "deploy",
                "status": if created.is_some() { "manual" } else { job_status(d.state) },
                "ref": "main",
                "tag": false,
                "web_url": format!("{web}/-/jobs/{job}"),
                "user": self.gl_user(d.actor),
                "pipeline": {
                    "id": pipe,
                    "ref": "main",
                    "sha": d.ver.sha,
                    "status": "success",
                    "web_url": format!("{web}/-/pipelines/{pipe}"),
                },
            },
        });
        if status == "blocked" {
            v["pending_approval_count"] = json!(1);
            v["approvals"] = json!([]);
            v["approval_summary"] = json!({"rules": [{
                "user_id": null,
                "group_id": 9000 + idx,
                "access_level": null,
                "access_level_description": format!("{}-approvers", self.lanes[li].spec.name),
                "required_approvals": 1,
                "deployment_approvals": [],
            }]});
        }
        v
    }

    /// Every deployment of the project (filtered by `environment` and `status`), newest
    /// (largest id) first unless `sort=asc`.
    fn gl_deployments(&self, li: usize, q: &[(String, String)]) -> Vec<Value> {
        let env = query(q, "environment");
        let status = query(q, "status");
        let mut all: Vec<(u64, Value)> = Vec::new();
        for s in 1..STAGES.len() {
            if env.is_some_and(|e| e != ENVIRONMENTS[s - 1]) {
                continue;
            }
            for d in self.gl_runs(li, s) {
                let v = self.gl_deployment_json(li, &d, None);
                all.push((v["id"].as_u64().unwrap_or(0), v));
            }
            // The manual job of the version waiting at the stage before.
            let prev = &self.lanes[li].cells[s - 1];
            if self.gl_playable(li, s, &prev.ver.sha)
                && let Some(pipe) = self.gl_pipeline_of(li, &prev.ver.sha)
            {
                let d = Run {
                    s,
                    run: pipe,
                    ver: &prev.ver,
                    state: St::Pending,
                    at: prev.updated,
                    actor: "gitlab-ci",
                    rollback: false,
                    checks: vec![],
                };
                let v = self.gl_deployment_json(li, &d, Some(pipe));
                all.push((v["id"].as_u64().unwrap_or(0), v));
            }
        }
        all.retain(|(_, v)| status.is_none_or(|st| v["status"] == st));
        all.sort_by_key(|(id, _)| *id);
        if query(q, "sort") != Some("asc") {
            all.reverse();
        }
        all.into_iter().map(|(_, v)| v).collect()
    }

    fn gl_deployment(&self, li: usize, id: u64) -> Option<Value> {
        self.gl_deployments(li, &[])
            .into_iter()
            .find(|v| v["id"].as_u64() == Some(id))
    }

    /// The stage and version a job deploys, and whether it is a re-deploy's job.
    fn gl_job(&self, li: usize, job: u64) -> Option<(usize, String)> {
        let (run, k) = (job / 16, job % 16);
        if k == 15 {
            return (1..STAGES.len()).find_map(|s| {
                self.gl_runs(li, s)
                    .iter()
                    .find(|r| r.run == run)
                    .map(|r| (s, r.ver.sha.clone()))
            });
        }
        let s = (k as usize)
            .checked_sub(10)
            .filter(|s| (1..STAGES.len()).contains(s))?;
        let e = self.gl_pipeline(li, run)?;
        Some((s, e.ver.sha.clone()))
    }

    /// `POST /jobs/:id/play`: the manual deploy job promotes its version.
    fn gl_play(&mut self, li: usize, job: u64, user: &str) -> GlReply {
        let Some((s, sha)) = self.gl_job(li, job) else {
            return gl_error(404, "404 Not found");
        };
        if job % 16 == 15 || !self.gl_playable(li, s, &sha) {
            return gl_error(400, "400 Bad request - Unplayable Job");
        }
        match self.promote(li, s, Some(sha), user) {
            Ok(_) => self.gl_job_reply(li, s),
            Err(e) => gl_error(400, format!("400 Bad request - {}", e.message)),
        }
    }

    /// `POST /pipeline` with `ref` and `variables`: the project's CI configuration deploys
    /// when `DEPLOY_ENVIRONMENT` names an environment and `DEPLOY_VERSION` a version (a SHA or
    /// its prefix) that the stage before has succeeded with, as playing the manual job does
    /// (the scenario's `promote`); other variables ride along. Answered 201 with the pipeline,
    /// whose id is the deployment's run; its deployment shows the version's own pipeline.
    fn gl_create_pipeline(&mut self, li: usize, req: &GlRequest) -> GlReply {
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        let base = |m: &str| GlReply {
            status: 400,
            body: json!({"message": {"base": [m]}}),
            pages: None,
        };
        let Some(r) = body["ref"].as_str() else {
            return gl_error(400, "400 Bad request - ref is missing");
        };
        if r != "main" {
            return base("Reference not found");
        }
        let var = |k: &str| {
            body["variables"]
                .as_array()?
                .iter()
                .find(|v| v["key"] == k)?["value"]
                .as_str()
        };
        let stage = var("DEPLOY_ENVIRONMENT")
            .and_then(|e| ENVIRONMENTS.iter().position(|n| *n == e))
            .map(|i| i + 1);
        let (Some(s), Some(version)) = (stage, var("DEPLOY_VERSION").filter(|v| !v.is_empty()))
        else {
            return base(
                "Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline.",
            );
        };
        let prev = &self.lanes[li].cells[s - 1].ver.sha;
        let sha = if prev.starts_with(version) {
            prev.clone()
        } else {
            version.to_string()
        };
        if let Err(e) = self.promote(li, s, Some(sha), req.user) {
            return base(&e.message);
        }
        let runs = self.gl_runs(li, s);
        let mut v = self.gl_pipeline_json(li, &runs[0]);
        v["source"] = json!("api");
        GlReply {
            status: 201,
            body: v,
            pages: None,
        }
    }

    /// `POST /jobs/:id/retry`: re-running an earlier successful deployment's job deploys its
    /// version again (a rollback).
    fn gl_retry(&mut self, li: usize, job: u64, user: &str) -> GlReply {
        let Some((s, sha)) = self.gl_job(li, job) else {
            return gl_error(404, "404 Not found");
        };
        let good = self.lanes[li].cells[s]
            .history
            .iter()
            .any(|h| h.ver.sha == sha && h.state == St::Succeeded);
        if !good {
            return gl_error(403, "403 Forbidden - Job is not retryable");
        }
        match self.rollback(li, s, Some(sha), user) {
            Ok(_) => self.gl_job_reply(li, s),
            Err(e) => gl_error(400, format!("400 Bad request - {}", e.message)),
        }
    }

    /// The job now running at stage `s`, as a play or retry answers.
    fn gl_job_reply(&self, li: usize, s: usize) -> GlReply {
        let runs = self.gl_runs(li, s);
        let d = self.gl_deployment_json(li, &runs[0], None);
        ok(d["deployable"].clone())
    }

    /// `POST /pipelines/:id/cancel`: every run of the pipeline still moving stops.
    fn gl_cancel(&mut self, li: usize, pipe: u64, user: &str) -> GlReply {
        let sha = self.gl_pipeline(li, pipe).map(|e| e.ver.sha.clone());
        for s in 0..STAGES.len() {
            let cell = &self.lanes[li].cells[s];
            let ours = if s == BUILD {
                cell.run == pipe
            } else {
                Some(&cell.ver.sha) == sha.as_ref()
            };
            let moving = matches!(
                cell.state,
                St::Running | St::RollingBack | St::Paused | St::AwaitingApproval
            );
            if ours && moving {
                let _ = self.cancel(li, s, user);
            }
        }
        match self.gl_pipeline(li, pipe) {
            Some(e) => ok(self.gl_pipeline_json(li, &e)),
            None => gl_error(404, "404 Not found"),
        }
    }

    /// `POST /deployments/:id/approval` with `status` and `comment`.
    fn gl_approval(&mut self, li: usize, id: u64, req: &GlRequest) -> GlReply {
        let Some(d) = self.gl_deployment(li, id) else {
            return gl_error(404, "404 Not found");
        };
        let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
        let status = body["status"].as_str().unwrap_or_default().to_string();
        if !matches!(status.as_str(), "approved" | "rejected") {
            return gl_error(400, "400 Bad request - status does not have a valid value");
        }
        let comment = body["comment"].as_str().map(str::to_string);
        if d["status"] != "blocked" {
            return gl_error(400, "Deployment is not blocked and does not need approval");
        }
        if !req.approver {
            return gl_error(
                403,
                "You don't have permission to approve this deployment. Contact the project or group owner for help.",
            );
        }
        let s = ENVIRONMENTS
            .iter()
            .position(|e| d["environment"]["name"] == *e)
            .map_or(1, |i| i + 1);
        let done = if status == "approved" {
            self.approve(li, s, req.user)
        } else {
            self.reject(li, s, req.user, comment.as_deref())
        };
        match done {
            Ok(_) => ok(json!({
                "user": self.gl_user(req.user),
                "status": status,
                "created_at": self.ts(self.now),
                "comment": comment,
            })),
            Err(e) => gl_error(400, format!("400 Bad request - {}", e.message)),
        }
    }
}

/// One page of a list: `per_page` (default 20, at most 100) and `page` (from 1), with what the
/// pagination headers say of it.
fn page(items: Vec<Value>, q: &[(String, String)]) -> GlReply {
    let per_page = query(q, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(20)
        .min(100);
    let page = query(q, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let total = items.len();
    let list = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    GlReply {
        status: 200,
        body: Value::Array(list),
        pages: Some(Pages {
            page,
            per_page,
            total,
        }),
    }
}
