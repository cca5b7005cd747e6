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

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::content::{BUILD_CHECKS, PEOPLE, environment, fail_message};
use super::{BUILD, LaneSim, OpKind, PROD, Reject, Run, STAGES, Scenario, St, Ver};
use crate::sim::rng::{between, mix, sha};

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

/// One deployment status, before it becomes JSON.
struct DStatus<'a> {
    state: &'static str,
    at: i64,
    creator: &'a str,
    description: String,
}

/// A run's `status` and `conclusion`.
fn run_status(state: St) -> (&'static str, Option<&'static str>) {
    match state {
        St::AwaitingApproval => ("waiting", None),
        St::Running | St::RollingBack | St::Paused => ("in_progress", None),
        St::Succeeded | St::RolledBack => ("completed", Some("success")),
        St::Failed => ("completed", Some("failure")),
        St::Cancelled => ("completed", Some("cancelled")),
    }
}

fn env_stage(env: &str) -> Option<usize> {
    ENVIRONMENTS.iter().position(|e| *e == env).map(|i| i + 1)
}

/// A GitHub login from a scenario actor: `dana.kim` → `dana-kim`, `alice@jump1` →
/// `alice-jump1`.
fn login(actor: &str) -> String {
    let mut out = String::new();
    for c in actor.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_end_matches('-');
    if t.is_empty() { "ghost" } else { t }.to_string()
}

/// FNV-1a: ids of users and teams from their names.
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn user_id(login: &str) -> u64 {
    10_000 + name_hash(login) % 90_000_000
}

fn team_id(slug: &str) -> u64 {
    1_000 + name_hash(slug) % 900_000
}

/// A legacy GraphQL node id: base64 of `"{len:03}:{Type}{id}"` (`MDEwOkRlcGxveW1lbnQx` is
/// `010:Deployment1`).
fn node_id(kind: &str, id: u64) -> String {
    base64(format!("{:03}:{kind}{id}", kind.len()).as_bytes())
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Who wrote a commit: a person picked by its sha.
fn author(ver: &Ver) -> &'static str {
    let h = u64::from_str_radix(&ver.sha[..15], 16).unwrap_or(0);
    PEOPLE[(h % PEOPLE.len() as u64) as usize]
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
                Some(d) => self.dispatch(li, d, req.body, req.login),
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
            ("POST", ["actions", "runs", id, "pending_deployments"]) => {
                self.review(li, id, req.body, req.login)
            }
            ("POST", ["actions", "runs", id, "cancel"]) => self.cancel_run(li, id, req.login),
            ("GET", ["commits", reference, "check-runs"]) => self.check_runs(li, reference, q),
            ("GET", ["deployments"]) => self.list_deployments(li, q),
            ("GET", ["deployments", id]) => match self.find_deployment(li, id) {
                Some((s, i)) => GhReply::ok(self.deployment_json(&self.entries(li, s), i)),
                None => not_found(),
            },
            ("GET", ["deployments", id, "statuses"]) => match self.find_deployment(li, id) {
                Some((s, i)) => {
                    let all = self.status_json(&self.entries(li, s), i);
                    let (items, pages) = paginate(all, q);
                    GhReply {
                        status: 200,
                        body: Some(Value::Array(items)),
                        pages,
                    }
                }
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

    // ------------------------------------------------------------ finding things

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

    /// `run_number`: the run's place among the runs of its workflow in its repository.
    fn run_number(&self, e: &Entry) -> u64 {
        let idx = self.lanes[e.li].idx;
        let deploy = e.s != BUILD;
        let before = self
            .runs
            .iter()
            .take((e.run - self.first_run) as usize + 1)
            .filter(|r| r.lane == e.li && (r.stage != BUILD) == deploy)
            .count() as u64;
        between(mix(self.seed, &[T_RUN_NUMBER, idx, deploy as u64]), 40, 900) as u64 + before
    }

    // ------------------------------------------------------------ reading

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
                    && branch.is_none_or(|b| b == "main")
                    && event.is_none_or(|v| v == self.event(e))
                    && head_sha.is_none_or(|v| v == e.ver.sha)
                    && actor.is_none_or(|v| v == login(&self.person(e.trigger, e.ver)))
            })
            .map(|e| self.wf_run_json(e))
            .collect();
        let total = runs.len();
        let (items, pages) = paginate(runs, q);
        GhReply {
            status: 200,
            body: Some(json!({"total_count": total, "workflow_runs": items})),
            pages,
        }
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
        let total = checks.len();
        let (items, pages) = paginate(checks, q);
        GhReply {
            status: 200,
            body: Some(json!({"total_count": total, "check_runs": items})),
            pages,
        }
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
        let (items, pages) = paginate(all.into_iter().map(|(_, v)| v).collect(), q);
        GhReply {
            status: 200,
            body: Some(Value::Array(items)),
            pages,
        }
    }

    // ------------------------------------------------------------ acting

    /// `POST .../actions/runs/{id}/pending_deployments`: approve or reject.
    fn review(&mut self, li: usize, id: &str, body: &[u8], user: &str) -> GhReply {
        const DOC: &str = "/actions/workflow-runs#review-pending-deployments-for-a-workflow-run";
        let Some((s, i)) = self.find_run(li, id) else {
            return not_found();
        };
        let obj = match body_object(body) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let ids: Vec<u64> = match obj.get("environment_ids") {
            Some(Value::Array(a)) if a.iter().all(Value::is_u64) => {
                a.iter().filter_map(Value::as_u64).collect()
            }
            Some(_) => {
                return gh_error(
                    422,
                    "Invalid request.\n\nFor 'properties/environment_ids', the value is not an array of integers.",
                    DOC,
                );
            }
            None => return invalid_missing("environment_ids", DOC),
        };
        let approve = match obj.get("state").and_then(Value::as_str) {
            Some("approved") => true,
            Some("rejected") => false,
            Some(other) => {
                return gh_error(
                    422,
                    format!(
                        "Invalid request.\n\nFor 'properties/state', \"{other}\" is not one of [\"approved\", \"rejected\"]."
                    ),
                    DOC,
                );
            }
            None => return invalid_missing("state", DOC),
        };
        let comment = match obj.get("comment") {
            Some(Value::String(c)) => c.clone(),
            Some(_) => {
                return gh_error(
                    422,
                    "Invalid request.\n\nFor 'properties/comment', the value is not a string.",
                    DOC,
                );
            }
            None => return invalid_missing("comment", DOC),
        };
        let idx = self.lanes[li].idx;
        if i != 0 || self.lanes[li].cells[s].state != St::AwaitingApproval {
            return gh_error(
                422,
                format!("No pending deployment requests to review for run {id}"),
                DOC,
            );
        }
        let expected = env_id(idx, s);
        if ids.is_empty() || ids.iter().any(|&e| e != expected) {
            return gh_error(
                422,
                format!(
                    "Environment ids {ids:?} are not waiting for review on run {id} (waiting: [{expected}])"
                ),
                DOC,
            );
        }
        let done = if approve {
            self.approve(li, s, user)
        } else {
            let reason = (!comment.trim().is_empty()).then_some(comment.as_str());
            self.reject(li, s, user, reason)
        };
        if let Err(e) = done {
            return refused(e, DOC);
        }
        let entries = self.entries(li, s);
        GhReply::ok(json!([self.deployment_json(&entries, 0)]))
    }

    /// `POST .../actions/workflows/{wf}/dispatches`: deploy.yml with `version` and
    /// `environment` inputs promotes or rolls back.
    fn dispatch(&mut self, li: usize, deploy: bool, body: &[u8], user: &str) -> GhReply {
        const DOC: &str = "/actions/workflows#create-a-workflow-dispatch-event";
        let obj = match body_object(body) {
            Ok(o) => o,
            Err(e) => return e,
        };
        if !deploy {
            return gh_error(
                422,
                "Workflow does not have 'workflow_dispatch' trigger",
                DOC,
            );
        }
        let reference = match obj.get("ref") {
            Some(Value::String(r)) => r.clone(),
            Some(_) => {
                return gh_error(
                    422,
                    "Invalid request.\n\nFor 'properties/ref', the value is not a string.",
                    DOC,
                );
            }
            None => return invalid_missing("ref", DOC),
        };
        if !matches!(reference.as_str(), "main" | "refs/heads/main") {
            return gh_error(422, format!("No ref found for: {reference}"), DOC);
        }
        let empty = Map::new();
        let inputs = match obj.get("inputs") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => &empty,
            Some(_) => {
                return gh_error(
                    422,
                    "Invalid request.\n\nFor 'properties/inputs', the value is not an object.",
                    DOC,
                );
            }
        };
        let unexpected: Vec<&String> = inputs
            .keys()
            .filter(|k| !matches!(k.as_str(), "version" | "environment"))
            .collect();
        if !unexpected.is_empty() {
            return gh_error(
                422,
                format!("Unexpected inputs provided: {unexpected:?}"),
                DOC,
            );
        }
        let input = |k: &str| -> Result<String, GhReply> {
            match inputs.get(k) {
                Some(Value::String(v)) if !v.is_empty() => Ok(v.clone()),
                _ => Err(gh_error(
                    422,
                    format!("Required input '{k}' not provided"),
                    DOC,
                )),
            }
        };
        let (version, env) = match (input("version"), input("environment")) {
            (Ok(v), Ok(e)) => (v.to_ascii_lowercase(), e),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let Some(s) = env_stage(&env) else {
            return gh_error(
                422,
                format!(
                    "Provided value '{env}' for input 'environment' not in the list of allowed values"
                ),
                DOC,
            );
        };
        let matches = |sha: &str| version.len() >= 7 && sha.starts_with(&version);
        let lane = &self.lanes[li];
        let prev = lane.cells[s - 1].ver.sha.clone();
        let good = lane.cells[s]
            .history
            .iter()
            .find(|h| h.state == St::Succeeded && matches(&h.ver.sha))
            .map(|h| h.ver.sha.clone());
        let done = if matches(&prev) {
            match self.promote(li, s, Some(prev), user) {
                Err(_) if good.is_some() => self.rollback(li, s, good, user),
                other => other,
            }
        } else if good.is_some() {
            self.rollback(li, s, good, user)
        } else {
            return gh_error(
                422,
                format!(
                    "version {version} is neither the version at {} nor a good earlier deployment to {env}",
                    STAGES[s - 1]
                ),
                DOC,
            );
        };
        if let Err(e) = done {
            return refused(e, DOC);
        }
        if obj.get("return_run_details") == Some(&Value::Bool(true)) {
            let run = self.lanes[li].cells[s].run;
            let name = &self.lanes[li].spec.name;
            GhReply::ok(json!({
                "workflow_run_id": run,
                "run_url": format!("{}/repos/{OWNER}/{name}/actions/runs/{run}", self.github_api_base()),
                "html_url": format!("{}/{OWNER}/{name}/actions/runs/{run}", self.base_url),
            }))
        } else {
            GhReply {
                status: 204,
                body: None,
                pages: None,
            }
        }
    }

    /// `POST .../actions/runs/{id}/cancel`.
    fn cancel_run(&mut self, li: usize, id: &str, user: &str) -> GhReply {
        const DOC: &str = "/actions/workflow-runs#cancel-a-workflow-run";
        let Some((s, i)) = self.find_run(li, id) else {
            return not_found();
        };
        let state = self.entries(li, s)[i].state;
        if i != 0 || run_status(state).0 == "completed" {
            return gh_error(409, "Cannot cancel a workflow run that is completed.", DOC);
        }
        match self.cancel(li, s, user) {
            Ok(_) => GhReply {
                status: 202,
                body: Some(json!({})),
                pages: None,
            },
            Err(e) => refused(e, DOC),
        }
    }

    // ------------------------------------------------------------ shapes

    fn api_repo(&self, li: usize) -> String {
        format!(
            "{}/repos/{OWNER}/{}",
            self.github_api_base(),
            self.lanes[li].spec.name
        )
    }

    fn html_repo(&self, li: usize) -> String {
        format!("{}/{OWNER}/{}", self.base_url, self.lanes[li].spec.name)
    }

    /// A scenario actor as a person: `ci` (a build) is the commit's author.
    fn person(&self, actor: &str, ver: &Ver) -> String {
        if actor == "ci" {
            author(ver).to_string()
        } else {
            actor.to_string()
        }
    }

    fn event(&self, e: &Entry) -> &'static str {
        if e.s == BUILD {
            "push"
        } else {
            "workflow_dispatch"
        }
    }

    /// A `simple-user`.
    fn user_json(&self, login: &str, kind: &str) -> Value {
        let api = self.github_api_base();
        let html = &self.base_url;
        let id = user_id(login);
        let u = format!("{api}/users/{login}");
        json!({
            "login": login,
            "id": id,
            "node_id": node_id(kind, id),
            "avatar_url": format!("{html}/avatars/u/{id}"),
            "gravatar_id": "",
            "url": u,
            "html_url": format!("{html}/{login}"),
            "followers_url": format!("{u}/followers"),
            "following_url": format!("{u}/following{{/other_user}}"),
            "gists_url": format!("{u}/gists{{/gist_id}}"),
            "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{u}/subscriptions"),
            "organizations_url": format!("{u}/orgs"),
            "repos_url": format!("{u}/repos"),
            "events_url": format!("{u}/events{{/privacy}}"),
            "received_events_url": format!("{u}/received_events"),
            "type": kind,
            "site_admin": false,
        })
    }

    fn actor_json(&self, actor: &str, ver: &Ver) -> Value {
        self.user_json(&login(&self.person(actor, ver)), "User")
    }

    /// A required reviewer: people are users (`raj.patel`), the rest teams
    /// (`payments-oncall`).
    fn reviewer_json(&self, who: &str) -> Value {
        if who.contains('.') || who.contains('@') {
            return json!({"type": "User", "reviewer": self.user_json(&login(who), "User")});
        }
        let api = self.github_api_base();
        let slug = login(who);
        let id = team_id(&slug);
        json!({"type": "Team", "reviewer": {
            "id": id,
            "node_id": node_id("Team", id),
            "url": format!("{api}/teams/{id}"),
            "html_url": format!("{}/orgs/{OWNER}/teams/{slug}", self.base_url),
            "name": who,
            "slug": slug,
            "description": format!("{who} (required reviewers)"),
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "push",
            "members_url": format!("{api}/teams/{id}/members{{/member}}"),
            "repositories_url": format!("{api}/teams/{id}/repos"),
            "parent": null,
        }})
    }

    fn repo_json(&self, li: usize) -> Value {
        let lane = &self.lanes[li];
        let name = &lane.spec.name;
        let id = REPO_BASE + lane.idx;
        let u = self.api_repo(li);
        let html = self.html_repo(li);
        let host = self
            .base_url
            .split("://")
            .nth(1)
            .unwrap_or(&self.base_url)
            .to_string();
        let mut j = json!({
            "id": id,
            "node_id": node_id("Repository", id),
            "name": name,
            "full_name": format!("{OWNER}/{name}"),
            "owner": self.user_json(OWNER, "Organization"),
            "private": true,
            "html_url": html,
            "description": format!("{name} ({} team)", lane.spec.team),
            "fork": false,
            "url": u,
            "git_url": format!("git://{host}/{OWNER}/{name}.git"),
            "ssh_url": format!("git@{host}:{OWNER}/{name}.git"),
        });
        // The hypermedia links of a repository, as GitHub lists them.
        const LINKS: [(&str, &str); 36] = [
            ("archive_url", "/{archive_format}{/ref}"),
            ("assignees_url", "/assignees{/user}"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("branches_url", "/branches{/branch}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("comments_url", "/comments{/number}"),
            ("commits_url", "/commits{/sha}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("contents_url", "/contents/{+path}"),
            ("contributors_url", "/contributors"),
            ("deployments_url", "/deployments"),
            ("downloads_url", "/downloads"),
            ("events_url", "/events"),
            ("forks_url", "/forks"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("issue_events_url", "/issues/events{/number}"),
            ("issues_url", "/issues{/number}"),
            ("keys_url", "/keys{/key_id}"),
            ("labels_url", "/labels{/name}"),
            ("languages_url", "/languages"),
            ("merges_url", "/merges"),
            ("milestones_url", "/milestones{/number}"),
            (
                "notifications_url",
                "/notifications{?since,all,participating}",
            ),
            ("pulls_url", "/pulls{/number}"),
            ("releases_url", "/releases{/id}"),
            ("stargazers_url", "/stargazers"),
            ("statuses_url", "/statuses/{sha}"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("tags_url", "/tags"),
            ("teams_url", "/teams"),
            ("trees_url", "/git/trees{/sha}"),
            ("hooks_url", "/hooks"),
        ];
        for (key, tail) in LINKS {
            j[key] = json!(format!("{u}{tail}"));
        }
        j
    }

    fn workflow_json(&self, li: usize, deploy: bool) -> Value {
        let id = workflow_id(self.lanes[li].idx, deploy);
        let file = if deploy { DEPLOY_FILE } else { CI_FILE };
        let html = self.html_repo(li);
        let born = self.ts(-(400 + self.lanes[li].idx as i64) * 24 * 3600 * 1000);
        json!({
            "id": id,
            "node_id": node_id("Workflow", id),
            "name": if deploy { "Deploy" } else { "CI" },
            "path": format!(".github/workflows/{file}"),
            "state": "active",
            "created_at": born,
            "updated_at": born,
            "url": format!("{}/actions/workflows/{id}", self.api_repo(li)),
            "html_url": format!("{html}/blob/main/.github/workflows/{file}"),
            "badge_url": format!("{html}/workflows/{}/badge.svg", if deploy { "Deploy" } else { "CI" }),
        })
    }

    fn wf_run_json(&self, e: &Entry) -> Value {
        let deploy = e.s != BUILD;
        let (status, conclusion) = run_status(e.state);
        let api = self.api_repo(e.li);
        let html = self.html_repo(e.li);
        let run = e.run;
        let wf = workflow_id(self.lanes[e.li].idx, deploy);
        let suite = CHECK_SUITE_BASE + run;
        let file = if deploy { DEPLOY_FILE } else { CI_FILE };
        let title = match (deploy, e.kind) {
            (false, _) => e.ver.title.to_string(),
            (true, OpKind::Rollback) => {
                format!("Roll back {} to {}", environment(e.s), e.ver.short())
            }
            (true, _) => format!("Deploy {} to {}", e.ver.short(), environment(e.s)),
        };
        let actor = self.actor_json(e.trigger, e.ver);
        let commit_author = author(e.ver);
        json!({
            "id": run,
            "name": if deploy { "Deploy" } else { "CI" },
            "node_id": node_id("WorkflowRun", run),
            "check_suite_id": suite,
            "check_suite_node_id": node_id("CheckSuite", suite),
            "head_branch": "main",
            "head_sha": e.ver.sha,
            "path": format!(".github/workflows/{file}"),
            "run_number": self.run_number(e),
            "event": self.event(e),
            "display_title": title,
            "status": status,
            "conclusion": conclusion,
            "workflow_id": wf,
            "url": format!("{api}/actions/runs/{run}"),
            "html_url": format!("{html}/actions/runs/{run}"),
            "pull_requests": [],
            "created_at": self.ts(e.created),
            "updated_at": self.ts(e.updated.max(e.created)),
            "actor": actor,
            "run_attempt": 1,
            "run_started_at": self.ts(e.created),
            "triggering_actor": actor,
            "jobs_url": format!("{api}/actions/runs/{run}/jobs"),
            "logs_url": format!("{api}/actions/runs/{run}/logs"),
            "check_suite_url": format!("{api}/check-suites/{suite}"),
            "artifacts_url": format!("{api}/actions/runs/{run}/artifacts"),
            "cancel_url": format!("{api}/actions/runs/{run}/cancel"),
            "rerun_url": format!("{api}/actions/runs/{run}/rerun"),
            "workflow_url": format!("{api}/actions/workflows/{wf}"),
            "head_commit": {
                "id": e.ver.sha,
                "tree_id": sha(mix(self.seed, &[u64::from_str_radix(&e.ver.sha[..15], 16).unwrap_or(0)])),
                "message": format!("{} (#{})", e.ver.title, e.ver.pr),
                "timestamp": self.ts(e.created),
                "author": {"name": commit_author, "email": format!("{commit_author}@acme.example")},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
            "repository": self.repo_json(e.li),
            "head_repository": self.repo_json(e.li),
        })
    }

    fn environment_ref_json(&self, li: usize, s: usize) -> Value {
        let id = env_id(self.lanes[li].idx, s);
        let env = environment(s);
        json!({
            "id": id,
            "node_id": node_id("Environment", id),
            "name": env,
            "url": format!("{}/environments/{env}", self.api_repo(li)),
            "html_url": format!("{}/deployments/activity_log?environments_filter={env}", self.html_repo(li)),
        })
    }

    fn environment_json(&self, li: usize, s: usize) -> Value {
        let lane = &self.lanes[li];
        let id = env_id(lane.idx, s);
        let mut j = self.environment_ref_json(li, s);
        let born = self.ts(-(300 + lane.idx as i64) * 24 * 3600 * 1000);
        j["created_at"] = json!(born);
        j["updated_at"] = json!(born);
        let mut rules = vec![json!({
            "id": id * 4 + 3,
            "node_id": node_id("Gate", id * 4 + 3),
            "type": "branch_policy",
        })];
        if s == PROD && !lane.spec.prod_reviewers.is_empty() {
            rules.insert(
                0,
                json!({
                    "id": id * 4 + 1,
                    "node_id": node_id("Gate", id * 4 + 1),
                    "prevent_self_review": false,
                    "type": "required_reviewers",
                    "reviewers": lane.spec.prod_reviewers.iter().map(|r| self.reviewer_json(r)).collect::<Vec<_>>(),
                }),
            );
        }
        j["protection_rules"] = json!(rules);
        j["deployment_branch_policy"] =
            json!({"protected_branches": true, "custom_branch_policies": false});
        j
    }

    /// `GET .../pending_deployments`: the environment a waiting run waits for, or nothing.
    fn pending_json(&self, e: &Entry) -> Vec<Value> {
        let cell = &self.lanes[e.li].cells[e.s];
        if e.state != St::AwaitingApproval || cell.run != e.run {
            return vec![];
        }
        let reviewers: Vec<Value> = cell
            .awaiting_reviewers
            .iter()
            .map(|r| self.reviewer_json(r))
            .collect();
        vec![json!({
            "environment": self.environment_ref_json(e.li, e.s),
            "wait_timer": 0,
            "wait_timer_started_at": self.ts(e.created),
            "current_user_can_approve": true,
            "reviewers": reviewers,
        })]
    }

    /// The statuses of deployment `entries[i]`, oldest first (see the table at the top).
    fn statuses<'a>(&self, entries: &[Entry<'a>], i: usize) -> Vec<DStatus<'a>> {
        let e = &entries[i];
        let lane: &LaneSim = &self.lanes[e.li];
        let env = environment(e.s);
        let gated = e.s == PROD && e.kind == OpKind::Deploy && !lane.spec.prod_reviewers.is_empty();
        let mut out = vec![DStatus {
            state: "queued",
            at: e.created,
            creator: e.trigger,
            description: if gated {
                format!("Waiting for approval of {env}")
            } else {
                format!("Queued: {} to {env}", e.ver.short())
            },
        }];
        if e.ran {
            out.push(DStatus {
                state: "in_progress",
                at: e.started,
                creator: if gated { e.actor } else { e.trigger },
                description: match e.kind {
                    OpKind::Rollback => format!("Rolling back {env} to {}", e.ver.short()),
                    _ => format!("Deploying {} to {env}", e.ver.short()),
                },
            });
        }
        let outcome = match e.state {
            St::Succeeded => Some("success"),
            St::Failed => Some("failure"),
            St::Cancelled => Some("error"),
            St::RolledBack => Some("inactive"),
            _ => None,
        };
        if let Some(state) = outcome {
            out.push(DStatus {
                state,
                at: e.updated,
                creator: e.actor,
                description: if e.message.is_empty() {
                    e.state.words().to_string()
                } else {
                    e.message.to_string()
                },
            });
        }
        // GitHub's auto_inactive: a newer successful deployment to the same environment
        // makes an older successful one inactive, except in production.
        if e.state == St::Succeeded && e.s != PROD {
            let newer = entries[..i].iter().rev().find_map(|n| match n.state {
                St::Succeeded => Some((n, n.updated)),
                St::RolledBack => Some((n, n.started)),
                _ => None,
            });
            if let Some((n, at)) = newer {
                out.push(DStatus {
                    state: "inactive",
                    at: at.max(e.updated),
                    creator: n.trigger,
                    description: format!("Superseded by {}", n.ver.short()),
                });
            }
        }
        out
    }

    fn deployment_json(&self, entries: &[Entry], i: usize) -> Value {
        let e = &entries[i];
        let id = deployment_id(e.run);
        let api = self.api_repo(e.li);
        let env = environment(e.s);
        let last = self
            .statuses(entries, i)
            .last()
            .map_or(e.created, |st| st.at);
        json!({
            "url": format!("{api}/deployments/{id}"),
            "id": id,
            "node_id": node_id("Deployment", id),
            "sha": e.ver.sha,
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": env,
            "environment": env,
            "description": match e.kind {
                OpKind::Rollback => format!("Roll back {env} to {}", e.ver.short()),
                _ => format!("Deploy {} to {env}: {} (#{})", e.ver.short(), e.ver.title, e.ver.pr),
            },
            "creator": self.actor_json(e.trigger, e.ver),
            "created_at": self.ts(e.created),
            "updated_at": self.ts(last),
            "statuses_url": format!("{api}/deployments/{id}/statuses"),
            "repository_url": api,
            "transient_environment": false,
            "production_environment": e.s == PROD,
        })
    }

    /// The statuses of deployment `entries[i]`, newest first.
    fn status_json(&self, entries: &[Entry], i: usize) -> Vec<Value> {
        let e = &entries[i];
        let dep = deployment_id(e.run);
        let api = self.api_repo(e.li);
        let env = environment(e.s);
        let log = format!("{}/actions/runs/{}", self.html_repo(e.li), e.run);
        let lane = &self.lanes[e.li].spec.name;
        let mut out: Vec<Value> = self
            .statuses(entries, i)
            .into_iter()
            .enumerate()
            .map(|(k, st)| {
                let id = dep * 8 + k as u64;
                json!({
                    "url": format!("{api}/deployments/{dep}/statuses/{id}"),
                    "id": id,
                    "node_id": node_id("DeploymentStatus", id),
                    "state": st.state,
                    "creator": self.actor_json(st.creator, e.ver),
                    "description": st.description,
                    "environment": env,
                    "target_url": log,
                    "created_at": self.ts(st.at),
                    "updated_at": self.ts(st.at),
                    "deployment_url": format!("{api}/deployments/{dep}"),
                    "repository_url": api,
                    "environment_url": format!("https://{lane}.{env}.acme.example"),
                    "log_url": log,
                })
            })
            .collect();
        out.reverse();
        out
    }

    /// The check runs of a build entry.
    fn checks_json(&self, e: &Entry) -> Vec<Value> {
        let api = self.api_repo(e.li);
        let html = self.html_repo(e.li);
        let at_of = |name: &str| {
            BUILD_CHECKS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(1.0, |&(_, at)| at)
        };
        // (name, status, conclusion, completed at)
        let rows: Vec<(&str, &str, Option<&str>, Option<i64>)> = match e.op {
            Some(op) if op.kind == OpKind::Build => {
                let p = op.progress(self.now);
                BUILD_CHECKS
                    .iter()
                    .map(|&(name, at)| {
                        if op.has_passed((name, at), p) {
                            // When progress crossed `at` (approximate across a pause).
                            let need = (at * op.dur as f64) as i64;
                            let t = match op.resumed {
                                Some(r) if need >= op.done => r + need - op.done,
                                _ => e.started + need,
                            };
                            (name, "completed", Some("success"), Some(t.min(self.now)))
                        } else {
                            (name, "in_progress", None, None)
                        }
                    })
                    .collect()
            }
            _ => e
                .checks
                .iter()
                .map(|&(name, st)| match st {
                    "passed" => {
                        let t = e.started + (at_of(name) * (e.updated - e.started) as f64) as i64;
                        (name, "completed", Some("success"), Some(t))
                    }
                    "failed" => (name, "completed", Some("failure"), Some(e.updated)),
                    _ if e.state == St::Cancelled => {
                        (name, "completed", Some("cancelled"), Some(e.updated))
                    }
                    _ => (name, "in_progress", None, None),
                })
                .collect(),
        };
        rows.into_iter()
            .enumerate()
            .map(|(k, (name, status, conclusion, done))| {
                let id = CHECK_RUN_BASE + e.run * 8 + k as u64;
                let (title, summary) = match conclusion {
                    Some("success") => (format!("{name} passed"), format!("{name}: all good")),
                    Some("failure") => {
                        let m = fail_message(name);
                        (format!("{name} failed"), m)
                    }
                    Some(_) => (format!("{name} cancelled"), "The run was cancelled".into()),
                    None => (format!("{name} running"), format!("{name} is running")),
                };
                json!({
                    "id": id,
                    "head_sha": e.ver.sha,
                    "node_id": node_id("CheckRun", id),
                    "external_id": "",
                    "url": format!("{api}/check-runs/{id}"),
                    "html_url": format!("{html}/runs/{id}"),
                    "details_url": format!("{html}/runs/{id}"),
                    "status": status,
                    "conclusion": conclusion,
                    "started_at": self.ts(e.started),
                    "completed_at": done.map(|t| self.ts(t)),
                    "output": {
                        "title": title,
                        "summary": summary,
                        "text": "",
                        "annotations_count": 0,
                        "annotations_url": format!("{api}/check-runs/{id}/annotations"),
                    },
                    "name": name,
                    "check_suite": {"id": CHECK_SUITE_BASE + e.run},
                    "app": self.actions_app_json(),
                    "pull_requests": [],
                })
            })
            .collect()
    }

    /// The GitHub Actions app, which owns the check runs of workflows.
    fn actions_app_json(&self) -> Value {
        json!({
            "id": 15368,
            "slug": "github-actions",
            "node_id": "MDM6QXBwMTUzNjg=",
            "owner": self.user_json("github", "Organization"),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": format!("{}/apps/github-actions", self.base_url),
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": {
                "actions": "write",
                "checks": "write",
                "contents": "write",
                "deployments": "write",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "single_file": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "push", "workflow_dispatch"],
        })
    }
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, GhReply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(gh_error(
            422,
            "Invalid request.\n\nThe body is not a JSON object.",
            "",
        )),
        Err(_) => Err(gh_error(400, "Problems parsing JSON", "")),
    }
}

fn invalid_missing(field: &str, doc: &str) -> GhReply {
    gh_error(
        422,
        format!("Invalid request.\n\n\"{field}\" wasn't supplied."),
        doc,
    )
}

/// The scenario refused: GitHub says 422 with the reason.
fn refused(e: Reject, doc: &str) -> GhReply {
    gh_error(422, e.message, doc)
}

#[cfg(test)]
mod tests;
