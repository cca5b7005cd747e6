//! A GitHub REST subset as a projection of the scenario: the same cells, seen the way GitHub
//! Actions and GitHub deployments show a release. Pure like the scenario: no clock, no IO; the
//! HTTP side (auth, rate limit, ETags, the `Link` header) is in `github_server.rs`.
//!
//! Every lane is the repository `acme/{lane}` with two workflows: `ci.yml` (the build stage)
//! and `deploy.yml`, which deploys into the environments `staging`, `canary` and `production`
//! (the stages staging, canary and prod). A cell and each entry of its history is one workflow
//! run; at an environment stage it is also one deployment. Ids are derived from the scenario's
//! run numbers, so they are deterministic under the seed and stable while the train moves:
//!
//! | thing              | id                                                  |
//! |--------------------|-----------------------------------------------------|
//! | workflow run       | the scenario's run number (the `/runs/N` of `/v1`)  |
//! | deployment         | `1_900_000_000 + run`                               |
//! | deployment status  | `deployment * 8 + k` (k-th status, oldest first)    |
//! | check run          | `30_000_000_000 + run * 8 + k` (k-th check)         |
//! | environment        | `161_000_000 + lane * 4 + stage`                    |
//!
//! How scenario states look on GitHub:
//!
//! | scenario state      | run `status` / `conclusion` | latest deployment status       |
//! |---------------------|-----------------------------|--------------------------------|
//! | `awaiting_approval` | `waiting` / null            | `queued` (+ pending deployment)|
//! | `running`           | `in_progress` / null        | `in_progress`                  |
//! | `paused`            | `in_progress` / null        | `in_progress` (GitHub has no pause) |
//! | `rolling_back`      | `in_progress` / null        | `in_progress` (a new deployment of the old sha) |
//! | `succeeded`         | `completed` / `success`     | `success`; `inactive` once a newer deployment to the same non-production environment succeeded (GitHub's `auto_inactive`) |
//! | `failed`            | `completed` / `failure`     | `failure`                      |
//! | `cancelled`         | `completed` / `cancelled`   | `error` (cancelled, or rejected by a reviewer) |
//! | `rolled_back`       | `completed` / `success`     | `inactive`                     |
//!
//! Every deployment starts with a `queued` status (for a deploy into a guarded production,
//! "waiting for approval"), then `in_progress` once it runs, then its outcome. Check runs
//! (of the build cell, by commit): passed → `completed`/`success`, failed →
//! `completed`/`failure`, pending → `in_progress`/null (`completed`/`cancelled` when the build
//! was cancelled).
//!
//! Acting: approving or rejecting a pending deployment is the scenario's `approve` / `reject`;
//! a `deploy.yml` dispatch of the version at the previous stage is `promote`, of a good
//! earlier version of the environment `rollback`; cancelling a run is [`Scenario::cancel`].
//! The acting user is the token's user ([`API_USER`]).
//!
//! This file routes a request to its handler and finds things (repositories, workflows, runs,
//! deployments); `projection.rs` shapes the runs, deployments, statuses and check runs,
//! `repository.rs` the repository and what surrounds it (people, workflows, environments,
//! ids), and `actions.rs` acts (review, dispatch, cancel).

mod actions;
mod projection;
mod repository;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{BUILD, OpKind, Run, STAGES, Scenario, St, Ver};
use projection::run_status;
use repository::login;

/// The organisation every simulated repository belongs to.
pub(crate) const OWNER: &str = "acme";
/// The user every token belongs to: who approves, dispatches and cancels.
pub(crate) const API_USER: &str = "release-manager";
const CI_FILE: &str = "ci.yml";
const DEPLOY_FILE: &str = "deploy.yml";
const DEPLOYMENT_BASE: u64 = 1_900_000_000;
const CHECK_RUN_BASE: u64 = 30_000_000_000;
const CHECK_SUITE_BASE: u64 = 25_000_000_000;
const ENV_BASE: u64 = 161_000_000;
const WORKFLOW_BASE: u64 = 80_000_000;
const REPO_BASE: u64 = 600_000_000;
const T_RUN_NUMBER: u64 = 101;
/// The environments of the stages after build.
const ENVIRONMENTS: [&str; 3] = ["staging", "canary", "production"];

/// A request to the API, its path without the `/api/v3` prefix.
pub(crate) struct GhRequest<'a> {
    pub method: &'a str,
    /// `/repos/acme/ledger/deployments`: percent-encoded as it came.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// The login of the token's user.
    pub login: &'a str,
}

/// An answer: the status, the JSON body (none for 204/202 without one) and, for a list that
/// has more than one page, which page this is and which is the last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GhReply {
    pub status: u16,
    pub body: Option<Value>,
    pub pages: Option<(u64, u64)>,
}

impl GhReply {
    fn ok(body: Value) -> GhReply {
        GhReply {
            status: 200,
            body: Some(body),
            pages: None,
        }
    }
}

/// GitHub's error body: `{"message", "documentation_url", "status"}`.
pub(crate) fn gh_error(status: u16, message: impl Into<String>, doc: &str) -> GhReply {
    GhReply {
        status,
        body: Some(json!({
            "message": message.into(),
            "documentation_url": format!("https://docs.github.com/rest{doc}"),
            "status": status.to_string(),
        })),
        pages: None,
    }
}

fn not_found() -> GhReply {
    gh_error(404, "Not Found", "")
}

/// A weak ETag of a body, as GitHub sends them: `W/"<sha256 hex>"`.
pub(crate) fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

/// One run of a cell, current or from its history: what the GitHub views are made of.
#[derive(Clone, Copy)]
struct Entry<'a> {
    li: usize,
    s: usize,
    run: u64,
    ver: &'a Ver,
    state: St,
    /// When the run (and its deployment) was created.
    created: i64,
    /// When it started running; `ran` says whether it ever did.
    started: i64,
    ran: bool,
    updated: i64,
    /// Who acted on it last (approver, canceller, ...).
    actor: &'a str,
    /// Who started the run.
    trigger: &'a str,
    kind: OpKind,
    message: &'a str,
    checks: &'a [(&'static str, &'static str)],
    /// The live operation of the current cell.
    op: Option<&'a super::Op>,
}

fn env_stage(env: &str) -> Option<usize> {
    ENVIRONMENTS.iter().position(|e| *e == env).map(|i| i + 1)
}

fn deployment_id(run: u64) -> u64 {
    DEPLOYMENT_BASE + run
}

fn env_id(idx: u64, s: usize) -> u64 {
    ENV_BASE + idx * 4 + s as u64
}

fn workflow_id(idx: u64, deploy: bool) -> u64 {
    WORKFLOW_BASE + idx * 2 + deploy as u64
}

fn query<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// One page of a list: `per_page` (default 30, at most 100) and `page` (from 1).
fn paginate(items: Vec<Value>, q: &[(String, String)]) -> (Vec<Value>, Option<(u64, u64)>) {
    let per_page = query(q, "per_page")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(30)
        .min(100);
    let page = query(q, "page")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let total = items.len() as u64;
    let last = total.div_ceil(per_page).max(1);
    let from = ((page - 1).saturating_mul(per_page)).min(total) as usize;
    let to = (from as u64 + per_page).min(total) as usize;
    let pages = (last > 1 || page > 1).then_some((page, last));
    (
        items.into_iter().skip(from).take(to - from).collect(),
        pages,
    )
}

/// A list's answer: one page of `items` (see [`paginate`]), as a bare array or, under `key`,
/// in an object with the `total_count`.
fn list_reply(items: Vec<Value>, q: &[(String, String)], key: Option<&str>) -> GhReply {
    let total = items.len();
    let (items, pages) = paginate(items, q);
    let body = match key {
        Some(key) => json!({"total_count": total, key: items}),
        None => Value::Array(items),
    };
    GhReply {
        status: 200,
        body: Some(body),
        pages,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const DOC_CHECKS: &str = "/checks/runs#list-check-runs-for-a-git-reference";

impl Scenario {
    /// `{base}/api/v3`: where a `github` source's `api_url` points.
    pub(crate) fn github_api_base(&self) -> String {
        format!("{}/api/v3", self.base_url)
    }

    /// Answer one request to the GitHub API at the scenario's current time.
    pub(crate) fn github(&mut self, req: &GhRequest) -> GhReply {
        let mut reply = self.github_plain(req);
        if self.hostile
            && let Some(body) = reply.body.as_mut()
        {
            crate::sim::hostile::dress_github(body);
        }
        reply
    }

    fn github_plain(&mut self, req: &GhRequest) -> GhReply {
        let segs: Vec<String> = req
            .path
            .trim_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let ["repos", owner, repo, rest @ ..] = segs.as_slice() else {
            return not_found();
        };
        let Some(li) = self.repo(owner, repo) else {
            return not_found();
        };
        let q = req.query;
        match (req.method, rest) {
            ("GET", []) => GhReply::ok(self.repo_json(li)),
            ("GET", ["actions", "workflows"]) => {
                let list: Vec<Value> = [false, true]
                    .iter()
                    .map(|&d| self.workflow_json(li, d))
                    .collect();
                GhReply::ok(json!({"total_count": 2, "workflows": list}))
            }
            ("GET", ["actions", "workflows", wf]) => match self.workflow(li, wf) {
                Some(d) => GhReply::ok(self.workflow_json(li, d)),
                None => not_found(),
            },
            ("GET", ["actions", "workflows", wf, "runs"]) => match self.workflow(li, wf) {
                Some(d) => self.list_runs(li, Some(d), q),
                None => not_found(),
            },
            ("POST", ["actions", "workflows", wf, "dispatches"]) => match self.workflow(li, wf) {
                Some(d) => self
                    .dispatch(li, d, req.body, req.login)
                    .unwrap_or_else(|e| e),
                None => not_found(),
            },
            ("GET", ["actions", "runs"]) => self.list_runs(li, None, q),
            ("GET", ["actions", "runs", id]) => match self.find_run(li, id) {
                Some((s, i)) => GhReply::ok(self.wf_run_json(&self.entries(li, s)[i])),
                None => not_found(),
            },
            ("GET", ["actions", "runs", id, "pending_deployments"]) => {
                match self.find_run(li, id) {
                    Some((s, i)) => {
                        let e = self.entries(li, s)[i];
                        GhReply::ok(Value::Array(self.pending_json(&e)))
                    }
                    None => not_found(),
                }
            }
            ("POST", ["actions", "runs", id, "pending_deployments"]) => self
                .review(li, id, req.body, req.login)
                .unwrap_or_else(|e| e),
            ("POST", ["actions", "runs", id, "cancel"]) => {
                self.cancel_run(li, id, req.login).unwrap_or_else(|e| e)
            }
            ("GET", ["commits", reference, "check-runs"]) => self.check_runs(li, reference, q),
            ("GET", ["deployments"]) => self.list_deployments(li, q),
            ("GET", ["deployments", id]) => match self.find_deployment(li, id) {
                Some((s, i)) => GhReply::ok(self.deployment_json(&self.entries(li, s), i)),
                None => not_found(),
            },
            ("GET", ["deployments", id, "statuses"]) => match self.find_deployment(li, id) {
                Some((s, i)) => list_reply(self.status_json(&self.entries(li, s), i), q, None),
                None => not_found(),
            },
            ("GET", ["environments"]) => {
                let envs: Vec<Value> = (1..STAGES.len())
                    .map(|s| self.environment_json(li, s))
                    .collect();
                GhReply::ok(json!({"total_count": envs.len(), "environments": envs}))
            }
            _ => not_found(),
        }
    }

    /// A repository's default branch: `main`, but `master` for pricing-engine, an older
    /// repository (a lane without `branch` must find it, not assume `main`).
    pub(super) fn default_branch(&self, li: usize) -> &'static str {
        if self.lanes[li].spec.name == "pricing-engine" {
            "master"
        } else {
            "main"
        }
    }

    fn repo(&self, owner: &str, repo: &str) -> Option<usize> {
        if !owner.eq_ignore_ascii_case(OWNER) {
            return None;
        }
        self.lanes
            .iter()
            .position(|l| l.spec.name.eq_ignore_ascii_case(repo))
    }

    /// `ci.yml`, `deploy.yml` or a workflow id: is it the deploy workflow?
    fn workflow(&self, li: usize, wf: &str) -> Option<bool> {
        let idx = self.lanes[li].idx;
        match wf {
            CI_FILE => Some(false),
            DEPLOY_FILE => Some(true),
            _ => {
                let id = wf.parse::<u64>().ok()?;
                [false, true]
                    .into_iter()
                    .find(|&d| workflow_id(idx, d) == id)
            }
        }
    }

    fn run_rec(&self, id: u64) -> Option<&Run> {
        self.runs.get(id.checked_sub(self.first_run)? as usize)
    }

    /// The runs of a cell, newest first: the cell, then its history.
    fn entries(&self, li: usize, s: usize) -> Vec<Entry<'_>> {
        let cell = &self.lanes[li].cells[s];
        // When the run was created, by whom, doing what.
        let rec = |run: u64, started: i64| {
            self.run_rec(run)
                .map_or((started, None, OpKind::Deploy), |r| {
                    (r.started, Some(r.actor.as_str()), r.kind)
                })
        };
        let mut out = Vec::with_capacity(1 + cell.history.len());
        let (created, trigger, kind) = rec(cell.run, cell.started);
        out.push(Entry {
            li,
            s,
            run: cell.run,
            ver: &cell.ver,
            state: cell.state,
            created,
            started: cell.started.max(created),
            ran: cell.ran,
            updated: cell.updated,
            actor: &cell.actor,
            trigger: trigger.unwrap_or(&cell.actor),
            kind,
            message: &cell.message,
            checks: &cell.checks,
            op: cell.op.as_ref(),
        });
        for h in &cell.history {
            let (created, trigger, kind) = rec(h.run, h.started);
            out.push(Entry {
                li,
                s,
                run: h.run,
                ver: &h.ver,
                state: h.state,
                created,
                started: h.started.max(created),
                ran: h.ran,
                updated: h.at,
                actor: &h.actor,
                trigger: trigger.unwrap_or(&h.actor),
                kind,
                message: &h.message,
                checks: &h.checks,
                op: None,
            });
        }
        out
    }

    /// Run `id` of repository `li`: its stage and its place in [`Self::entries`].
    fn find_run(&self, li: usize, id: &str) -> Option<(usize, usize)> {
        let id: u64 = id.parse().ok()?;
        let r = self.run_rec(id)?;
        if r.lane != li {
            return None;
        }
        let i = self.entries(li, r.stage).iter().position(|e| e.run == id)?;
        Some((r.stage, i))
    }

    fn find_deployment(&self, li: usize, id: &str) -> Option<(usize, usize)> {
        let id: u64 = id.parse().ok()?;
        let run = id.checked_sub(DEPLOYMENT_BASE)?;
        let (s, i) = self.find_run(li, &run.to_string())?;
        (s != BUILD).then_some((s, i))
    }

    /// Every run of a lane at some stages, newest (largest id) first.
    fn runs_of(&self, li: usize, deploy: Option<bool>) -> Vec<Entry<'_>> {
        let mut all: Vec<Entry> = (0..STAGES.len())
            .filter(|&s| deploy.is_none_or(|d| d == (s != BUILD)))
            .flat_map(|s| self.entries(li, s))
            .collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.run));
        all
    }

    fn list_runs(&self, li: usize, deploy: Option<bool>, q: &[(String, String)]) -> GhReply {
        let status = query(q, "status");
        let branch = query(q, "branch");
        let event = query(q, "event");
        let head_sha = query(q, "head_sha");
        let actor = query(q, "actor");
        let runs: Vec<Value> = self
            .runs_of(li, deploy)
            .iter()
            .filter(|e| {
                let (st, concl) = run_status(e.state);
                status.is_none_or(|v| v == st || Some(v) == concl)
                    && branch.is_none_or(|b| b == self.default_branch(li))
                    && event.is_none_or(|v| v == self.event(e))
                    && head_sha.is_none_or(|v| v == e.ver.sha)
                    && actor.is_none_or(|v| v == login(&self.person(e.trigger, e.ver)))
            })
            .map(|e| self.wf_run_json(e))
            .collect();
        list_reply(runs, q, Some("workflow_runs"))
    }

    fn check_runs(&self, li: usize, reference: &str, q: &[(String, String)]) -> GhReply {
        let lane = &self.lanes[li];
        let build = &lane.cells[BUILD];
        let sha = match reference {
            "main" | "heads/main" | "refs/heads/main" => build.ver.sha.as_str(),
            r => {
                let known = lane
                    .cells
                    .iter()
                    .flat_map(|c| std::iter::once(&c.ver).chain(c.history.iter().map(|h| &h.ver)));
                let found = known
                    .map(|v| v.sha.as_str())
                    .find(|s| r.len() >= 7 && s.starts_with(&r.to_ascii_lowercase()));
                match found {
                    Some(s) => s,
                    None => {
                        return gh_error(422, format!("No commit found for SHA: {r}"), DOC_CHECKS);
                    }
                }
            }
        };
        let name = query(q, "check_name");
        let status = query(q, "status");
        let entries = self.entries(li, BUILD);
        let checks: Vec<Value> = entries
            .iter()
            .find(|e| e.ver.sha == sha)
            .map(|e| self.checks_json(e))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| name.is_none_or(|n| c["name"] == n))
            .filter(|c| status.is_none_or(|st| c["status"] == st))
            .collect();
        list_reply(checks, q, Some("check_runs"))
    }

    fn list_deployments(&self, li: usize, q: &[(String, String)]) -> GhReply {
        let stages: Vec<usize> = match query(q, "environment") {
            Some(env) => env_stage(env).into_iter().collect(),
            None => (1..STAGES.len()).collect(),
        };
        let sha = query(q, "sha");
        let reference = query(q, "ref");
        let task = query(q, "task");
        let mut all: Vec<(u64, Value)> = Vec::new();
        for s in stages {
            let entries = self.entries(li, s);
            for (i, e) in entries.iter().enumerate() {
                if sha.is_some_and(|v| v != e.ver.sha)
                    || reference.is_some_and(|v| v != "main")
                    || task.is_some_and(|v| v != "deploy")
                {
                    continue;
                }
                all.push((e.run, self.deployment_json(&entries, i)));
            }
        }
        all.sort_by_key(|d| std::cmp::Reverse(d.0));
        list_reply(all.into_iter().map(|(_, v)| v).collect(), q, None)
    }
}

#[cfg(test)]
mod tests;
