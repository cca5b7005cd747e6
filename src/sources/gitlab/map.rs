//! GitLab payloads → cells. Pure: the source fetches, this maps; tests feed it GitLab's
//! documented examples (tests/fixtures/gitlab) and the simulator's answers.
//!
//! The mapping is documented in docs/sources/gitlab.md; keep the two in step.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::text::sanitize;
use crate::model::{Approval, Cell, CellState, Check, CheckState, HistoryEntry, Timestamp};

const MAX_TEXT: usize = 200;

fn text(s: &str) -> String {
    sanitize(s, MAX_TEXT)
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub username: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    #[serde(default)]
    pub iid: Option<u64>,
    pub status: String,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    pub sha: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub user: Option<User>,
}

impl Pipeline {
    /// A merge request's pipeline (its ref is `refs/merge-requests/…`, its source
    /// `merge_request_event`): not the train's, whatever its branch.
    pub fn from_merge_request(&self) -> bool {
        self.source.as_deref() == Some("merge_request_event")
            || self
                .git_ref
                .as_deref()
                .is_some_and(|r| r.starts_with("refs/merge-requests/"))
    }
}

/// The pipeline a job or deployable belongs to, as GitLab nests it.
#[derive(Clone, Debug, Deserialize)]
pub struct PipelineRef {
    pub id: u64,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub web_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Job {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub stage: Option<String>,
    pub status: String,
    #[serde(default)]
    pub allow_failure: bool,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub tag: bool,
    #[serde(default)]
    pub pipeline: Option<PipelineRef>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EnvironmentRef {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ApprovalEntry {
    #[serde(default)]
    pub user: Option<User>,
    pub status: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ApprovalRule {
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub access_level: Option<u64>,
    #[serde(default)]
    pub access_level_description: Option<String>,
    #[serde(default)]
    pub required_approvals: u64,
    #[serde(default)]
    pub deployment_approvals: Vec<ApprovalEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ApprovalSummary {
    #[serde(default)]
    pub rules: Vec<ApprovalRule>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub iid: Option<u64>,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    pub sha: String,
    pub status: String,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub environment: Option<EnvironmentRef>,
    #[serde(default)]
    pub deployable: Option<Job>,
    /// Premium: the approvals still needed (unified approval setting).
    #[serde(default)]
    pub pending_approval_count: Option<u64>,
    #[serde(default)]
    pub approvals: Vec<ApprovalEntry>,
    /// Premium: the approval rules and who approved under each (multiple approval rules).
    #[serde(default)]
    pub approval_summary: Option<ApprovalSummary>,
}

impl Deployment {
    /// The job that deploys it (the one to play, retry, or whose pipeline to cancel).
    pub fn job_id(&self) -> Option<u64> {
        self.deployable.as_ref().map(|j| j.id)
    }

    pub fn pipeline_id(&self) -> Option<u64> {
        self.deployable
            .as_ref()
            .and_then(|j| j.pipeline.as_ref())
            .map(|p| p.id)
    }
}

/// A GitLab answer (already JSON) as one of the payloads above, or in words why it is not one
/// (the source reads its answers from their bytes, `client::Client::get`, with the same words;
/// the tests read fixtures this way).
pub fn decode<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| {
        format!(
            "GitLab answered an unexpected shape: {}",
            sanitize(&e.to_string(), 160)
        )
    })
}

/// A pipeline's status as a cell state. `manual`: the pipeline waits on a manual job that
/// blocks it (`allow_failure: false`), everything before it passed: the build is done.
pub fn pipeline_state(status: &str) -> CellState {
    match status {
        "success" | "manual" => CellState::Succeeded,
        "failed" => CellState::Failed,
        "canceled" | "canceling" | "skipped" => CellState::Cancelled,
        "running" => CellState::Running,
        "created" | "waiting_for_resource" | "preparing" | "pending" | "scheduled" => {
            CellState::Pending
        }
        _ => CellState::Unknown,
    }
}

/// A deployment's status as a cell state.
pub fn deployment_state(status: &str) -> CellState {
    match status {
        "success" => CellState::Succeeded,
        "failed" => CellState::Failed,
        "canceled" | "skipped" => CellState::Cancelled,
        "running" => CellState::Running,
        // The manual job behind it was never played.
        "created" => CellState::Pending,
        // Held by a protected environment until approved (Premium).
        "blocked" => CellState::AwaitingApproval,
        _ => CellState::Unknown,
    }
}

/// A job of the build pipeline as a check; `None` for a job that is not one: a manual job
/// (what a promotion plays), a skipped or scheduled one, or one still `created` in a pipeline
/// that will not run it (it waits behind a manual job).
pub fn check(job: &Job, pipeline_moving: bool) -> Option<Check> {
    let state = match job.status.as_str() {
        "success" => CheckState::Passed,
        "failed" if job.allow_failure => CheckState::Passed,
        "failed" | "canceled" | "canceling" => CheckState::Failed,
        "created" if !pipeline_moving => return None,
        "running" | "pending" | "created" | "preparing" | "waiting_for_resource" => {
            CheckState::Pending
        }
        _ => return None,
    };
    let name = if job.status == "failed" && job.allow_failure {
        format!("{} (failed, allowed to fail)", text(&job.name))
    } else {
        text(&job.name)
    };
    Some(Check {
        name,
        state,
        url: job.web_url.as_deref().map(text),
    })
}

/// The cell of the build stage: the branch's newest pipeline and its jobs, older pipelines as
/// history.
pub fn ci_cell(pipelines: &[Pipeline], jobs: &[Job]) -> Option<Cell> {
    let latest = pipelines.first()?;
    let state = pipeline_state(&latest.status);
    let mut cell = Cell::new(String::new(), state);
    cell.version = Some(text(&latest.sha));
    cell.started_at = latest.created_at;
    cell.updated_at = latest.updated_at;
    cell.url = latest.web_url.as_deref().map(text);
    cell.actor = latest.user.as_ref().map(|u| text(&u.username));
    let moving = matches!(state, CellState::Pending | CellState::Running);
    cell.checks = jobs.iter().filter_map(|j| check(j, moving)).collect();
    let mut notes: Vec<String> = Vec::new();
    match (&latest.name, latest.iid) {
        (Some(n), _) if !n.is_empty() => notes.push(text(n)),
        (_, Some(iid)) => notes.push(format!("pipeline #{iid}")),
        _ => notes.push(format!("pipeline {}", latest.id)),
    }
    let manual: Vec<String> = jobs
        .iter()
        .filter(|j| j.status == "manual")
        .map(|j| text(&j.name))
        .collect();
    if !manual.is_empty() {
        notes.push(format!("manual: {}", manual.join(", ")));
    }
    cell.message = Some(notes.join("; "));
    cell.history = pipelines
        .iter()
        .map(|p| HistoryEntry {
            version: text(&p.sha),
            state: pipeline_state(&p.status),
            at: p.updated_at.or(p.created_at),
            actor: p.user.as_ref().map(|u| text(&u.username)),
        })
        .collect();
    Some(cell)
}

/// What a deployment shows as its version: the tag when its job ran for one, else the commit.
pub fn deployment_version(d: &Deployment) -> String {
    match (&d.git_ref, d.deployable.as_ref().is_some_and(|j| j.tag)) {
        (Some(r), true) if !r.is_empty() => text(r),
        _ => text(&d.sha),
    }
}

fn short(v: &str) -> String {
    crate::model::cell::short_version(v)
}

/// The cell of an environment stage from its deployments, newest first: the newest one that
/// was played (a `created` deployment is a manual job no one played: the version it would
/// deploy is ready, the environment still runs what it ran). `detail` is the newest
/// deployment read on its own, for its approvals (Premium), when it is blocked.
pub fn deploy_cell(deployments: &[Deployment], detail: Option<&Deployment>) -> Option<Cell> {
    let played: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| d.status != "created")
        .collect();
    let latest = *played.first()?;
    let mut cell = Cell::new(String::new(), deployment_state(&latest.status));
    cell.version = Some(deployment_version(latest));
    cell.started_at = latest.created_at;
    cell.updated_at = latest.updated_at.or(latest.created_at);
    cell.actor = latest
        .user
        .as_ref()
        .or(latest.deployable.as_ref().and_then(|j| j.user.as_ref()))
        .map(|u| text(&u.username));
    cell.url = latest
        .deployable
        .as_ref()
        .and_then(|j| {
            j.web_url
                .as_deref()
                .or(j.pipeline.as_ref().and_then(|p| p.web_url.as_deref()))
        })
        .map(text);
    let mut notes: Vec<String> = Vec::new();
    if let Some(j) = &latest.deployable {
        notes.push(format!("job {} ({})", text(&j.name), j.id));
    }
    if latest.status == "blocked" {
        let d = detail.filter(|d| d.id == latest.id).unwrap_or(latest);
        let (approval, words) = approval_of(d);
        cell.approval = Some(approval);
        notes.push(words);
    }
    // A manual job newer than what runs, for another version: what a promotion plays.
    if let Some(ready) = deployments
        .iter()
        .find(|d| d.status == "created" && d.id > latest.id && d.sha != latest.sha)
    {
        let job = ready
            .deployable
            .as_ref()
            .map(|j| format!("{} ", text(&j.name)))
            .unwrap_or_default();
        notes.push(format!(
            "manual job {job}for {} ready to play",
            short(&deployment_version(ready))
        ));
    }
    cell.message = Some(notes.join("; "));
    cell.history = played
        .iter()
        .map(|d| HistoryEntry {
            version: deployment_version(d),
            state: deployment_state(&d.status),
            at: d.updated_at.or(d.created_at),
            actor: d.user.as_ref().map(|u| text(&u.username)),
        })
        .collect();
    Some(cell)
}

/// Who may still approve a blocked deployment, and the words for it: the rules with approvals
/// left (multiple approval rules), else the count left (the unified setting).
pub fn approval_of(d: &Deployment) -> (Approval, String) {
    let environment = d.environment.as_ref().map(|e| text(&e.name));
    let mut reviewers = Vec::new();
    let mut left_total = 0;
    if let Some(summary) = &d.approval_summary {
        for r in &summary.rules {
            let given = r
                .deployment_approvals
                .iter()
                .filter(|a| a.status == "approved")
                .count() as u64;
            let left = r.required_approvals.saturating_sub(given);
            if left == 0 {
                continue;
            }
            left_total += left;
            let who = match (&r.access_level_description, r.group_id, r.user_id) {
                (Some(n), _, _) if !n.is_empty() => text(n),
                (_, Some(g), _) => format!("group {g}"),
                (_, _, Some(u)) => format!("user {u}"),
                _ => "an approver".to_string(),
            };
            reviewers.push(format!("{who} ({left} more)"));
        }
    }
    if reviewers.is_empty()
        && let Some(n) = d.pending_approval_count
    {
        left_total = n;
    }
    let approved: Vec<String> = d
        .approvals
        .iter()
        .chain(
            d.approval_summary
                .iter()
                .flat_map(|s| s.rules.iter().flat_map(|r| r.deployment_approvals.iter())),
        )
        .filter(|a| a.status == "approved")
        .filter_map(|a| a.user.as_ref().map(|u| text(&u.username)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut words = match left_total {
        0 => "blocked: waiting for approval".to_string(),
        1 => "blocked: 1 approval left".to_string(),
        n => format!("blocked: {n} approvals left"),
    };
    if !reviewers.is_empty() {
        words.push_str(&format!(" ({})", reviewers.join(", ")));
    }
    if !approved.is_empty() {
        words.push_str(&format!("; approved by {}", approved.join(", ")));
    }
    (
        Approval {
            environment,
            reviewers,
        },
        words,
    )
}

#[cfg(test)]
mod tests;
