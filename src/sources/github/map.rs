//! GitHub payloads → cells. Pure: the source fetches, this maps; tests feed it the official
//! examples (tests/fixtures/github) and the simulator's answers.
//!
//! The mapping is documented in docs/sources/github.md; keep the two in step.

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
pub struct Login {
    pub login: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    pub head_sha: String,
    #[serde(default)]
    pub head_branch: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub run_started_at: Option<Timestamp>,
    pub actor: Option<Login>,
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
}

impl WorkflowRun {
    /// Started by a pull request: not a run of the train's branch, whatever its name.
    pub fn from_pull_request(&self) -> bool {
        matches!(
            self.event.as_deref(),
            Some("pull_request" | "pull_request_target")
        )
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct WorkflowRuns {
    pub workflow_runs: Vec<WorkflowRun>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CheckRuns {
    #[serde(default)]
    pub total_count: u64,
    pub check_runs: Vec<CheckRun>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    pub creator: Option<Login>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DeploymentStatus {
    pub state: String,
    pub creator: Option<Login>,
    pub description: Option<String>,
    pub created_at: Option<Timestamp>,
    pub log_url: Option<String>,
    pub target_url: Option<String>,
    pub environment_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PendingEnvironment {
    pub id: u64,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Reviewer {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub reviewer: Option<ReviewerName>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ReviewerName {
    /// Users have a login, teams a name (and a slug).
    pub login: Option<String>,
    pub name: Option<String>,
    pub slug: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PendingDeployment {
    pub environment: PendingEnvironment,
    #[serde(default)]
    pub wait_timer: u64,
    pub wait_timer_started_at: Option<Timestamp>,
    #[serde(default)]
    pub current_user_can_approve: bool,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

/// A GitHub answer (JSON, as sent) as one of the payloads above, read where it lies; in words
/// why it is not one, as [`decode`].
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "GitHub answered an unexpected shape: {}",
            sanitize(&e.to_string(), 160)
        )
    })
}

/// A GitHub answer (already JSON) as one of the payloads above, or in words why it is not
/// one: how the source reads a list of several pages, merged (one page: [`decode_json`]);
/// tests and fuzzers call both.
pub fn decode<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| {
        format!(
            "GitHub answered an unexpected shape: {}",
            sanitize(&e.to_string(), 160)
        )
    })
}

/// A workflow run's status and conclusion as a cell state.
pub fn run_state(status: Option<&str>, conclusion: Option<&str>) -> CellState {
    match (status.unwrap_or(""), conclusion) {
        ("completed", Some("success" | "neutral")) => CellState::Succeeded,
        ("completed", Some("failure" | "timed_out" | "startup_failure")) => CellState::Failed,
        ("completed", Some("cancelled" | "skipped")) => CellState::Cancelled,
        ("completed", Some("action_required")) => CellState::AwaitingApproval,
        ("completed", _) => CellState::Unknown,
        ("in_progress", _) => CellState::Running,
        ("waiting", _) => CellState::AwaitingApproval,
        ("queued" | "requested" | "pending", _) => CellState::Pending,
        _ => CellState::Unknown,
    }
}

/// A deployment status's state as a cell state.
pub fn deployment_state(state: &str) -> CellState {
    match state {
        "success" => CellState::Succeeded,
        "failure" | "error" => CellState::Failed,
        "in_progress" => CellState::Running,
        "queued" | "pending" => CellState::Pending,
        // What Actions gives a deployment held by an environment's protection rule.
        "waiting" => CellState::AwaitingApproval,
        // Superseded by a later deployment: it was live, and is not any more.
        "inactive" => CellState::Succeeded,
        _ => CellState::Unknown,
    }
}

/// A check run as a check.
pub fn check(c: &CheckRun) -> Check {
    let state = match (c.status.as_deref(), c.conclusion.as_deref()) {
        (Some("completed"), Some("success" | "neutral" | "skipped")) => CheckState::Passed,
        (Some("completed"), _) => CheckState::Failed,
        _ => CheckState::Pending,
    };
    Check {
        name: text(&c.name),
        state,
        url: c.html_url.as_deref().map(text),
    }
}

/// What a deployment shows as its version: the ref when it names a release tag (`v1.4.2`),
/// else the commit.
pub fn deployment_version(d: &Deployment) -> String {
    match d.git_ref.as_deref() {
        Some(r) if r != d.sha && looks_like_tag(r) => text(r),
        _ => text(&d.sha),
    }
}

fn looks_like_tag(r: &str) -> bool {
    let r = r.strip_prefix("refs/tags/").unwrap_or(r);
    let digits = r.strip_prefix('v').unwrap_or(r);
    digits.chars().next().is_some_and(|c| c.is_ascii_digit()) && digits.contains('.')
}

/// The web address GitHub shows repositories under, from its API's: `https://api.github.com`
/// → `https://github.com` (and `https://api.HOST` → `https://HOST`, GitHub Enterprise Cloud),
/// `https://HOST/api/v3` → `https://HOST` (Enterprise Server). `None` for an API address of
/// another shape: no commit links then, rather than wrong ones.
pub fn web_base(api_url: &str) -> Option<String> {
    let api = url::Url::parse(api_url).ok()?;
    let path = api.path().trim_end_matches('/');
    let mut web = api.clone();
    if let Some(prefix) = path.strip_suffix("/api/v3") {
        web.set_path(prefix);
    } else if path.is_empty() {
        let host = api.host_str()?.strip_prefix("api.")?.to_string();
        web.set_host(Some(&host)).ok()?;
    } else {
        return None;
    }
    web.set_query(None);
    Some(web.as_str().trim_end_matches('/').to_string())
}

/// The page of commit `sha` of `repo` (`owner/name`) under `web` ([`web_base`]), when `sha`
/// is a commit's (hex, 7 to 64 digits): the payload's part of the address is only that.
pub fn commit_url(web: &str, repo: &str, sha: &str) -> Option<String> {
    let is_sha = (7..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit());
    let repo_ok = !repo.is_empty() && repo.bytes().all(|b| b.is_ascii_graphic());
    (is_sha && repo_ok).then(|| format!("{web}/{repo}/commit/{sha}"))
}

/// The cell of a CI stage: the newest run of the workflow, its checks, older runs as history.
pub fn ci_cell(runs: &[WorkflowRun], checks: &[CheckRun]) -> Option<Cell> {
    let latest = runs.first()?;
    let mut cell = Cell::new(
        String::new(),
        run_state(latest.status.as_deref(), latest.conclusion.as_deref()),
    );
    cell.version = Some(text(&latest.head_sha));
    cell.updated_at = latest.updated_at;
    cell.started_at = latest.run_started_at.or(latest.created_at);
    cell.url = latest.html_url.as_deref().map(text);
    cell.actor = latest.actor.as_ref().map(|a| text(&a.login));
    cell.message = latest
        .display_title
        .as_deref()
        .or(latest.name.as_deref())
        .map(text);
    cell.checks = checks.iter().map(check).collect();
    cell.history = runs
        .iter()
        .map(|r| HistoryEntry {
            version: text(&r.head_sha),
            state: run_state(r.status.as_deref(), r.conclusion.as_deref()),
            at: r.updated_at,
            actor: r.actor.as_ref().map(|a| text(&a.login)),
        })
        .collect();
    Some(cell)
}

/// The cell of an environment stage: the newest deployment and its newest status; older
/// deployments (with their newest status, when known) as history.
pub fn deploy_cell(deployments: &[(Deployment, Option<DeploymentStatus>)]) -> Option<Cell> {
    let (latest, status) = deployments.first()?;
    let state = status.as_ref().map_or(CellState::Pending, |s| {
        // The newest deployment can't be superseded: inactive there means switched off.
        match s.state.as_str() {
            "inactive" => CellState::Cancelled,
            other => deployment_state(other),
        }
    });
    let mut cell = Cell::new(String::new(), state);
    cell.version = Some(deployment_version(latest));
    cell.started_at = latest.created_at;
    cell.updated_at = status
        .as_ref()
        .and_then(|s| s.created_at)
        .or(latest.updated_at);
    cell.actor = status
        .as_ref()
        .and_then(|s| s.creator.as_ref())
        .or(latest.creator.as_ref())
        .map(|c| text(&c.login));
    cell.url = status
        .as_ref()
        .and_then(|s| {
            s.log_url
                .as_deref()
                .or(s.target_url.as_deref())
                .or(s.environment_url.as_deref())
        })
        .map(text);
    cell.message = status
        .as_ref()
        .and_then(|s| s.description.as_deref())
        .or(latest.description.as_deref())
        .filter(|m| !m.is_empty())
        .map(text);
    cell.history = deployments
        .iter()
        .map(|(d, s)| HistoryEntry {
            version: deployment_version(d),
            state: s
                .as_ref()
                .map_or(CellState::Unknown, |s| deployment_state(&s.state)),
            at: s.as_ref().and_then(|s| s.created_at).or(d.created_at),
            actor: d.creator.as_ref().map(|c| text(&c.login)),
        })
        .collect();
    Some(cell)
}

/// A waiting run's pending deployment for an environment turns the cell into "awaiting
/// approval": the run's commit, the reviewers, the wait timer, whether this token may approve.
pub fn awaiting_cell(run: &WorkflowRun, pending: &PendingDeployment, now: Timestamp) -> Cell {
    let mut cell = Cell::new(String::new(), CellState::AwaitingApproval);
    cell.version = Some(text(&run.head_sha));
    cell.started_at = run.run_started_at.or(run.created_at);
    cell.updated_at = run.updated_at;
    cell.url = run.html_url.as_deref().map(text);
    cell.actor = run.actor.as_ref().map(|a| text(&a.login));
    let reviewers: Vec<String> = pending
        .reviewers
        .iter()
        .filter_map(|r| {
            let n = r.reviewer.as_ref()?;
            let name = n
                .login
                .as_deref()
                .or(n.slug.as_deref())
                .or(n.name.as_deref())?;
            Some(if r.kind.as_deref() == Some("Team") {
                format!("team {}", text(name))
            } else {
                text(name)
            })
        })
        .collect();
    cell.approval = Some(Approval {
        environment: Some(text(&pending.environment.name)),
        reviewers,
    });
    let mut notes = Vec::new();
    if pending.wait_timer > 0 {
        // GitHub caps wait timers at 30 days; a larger value must not overflow anything.
        let minutes = pending.wait_timer.min(43_200) as i64;
        let ends = pending
            .wait_timer_started_at
            .and_then(|t| t.checked_add_signed(chrono::TimeDelta::minutes(minutes)));
        match ends {
            Some(e) if e > now => notes.push(format!(
                "wait timer: {} left",
                crate::model::duration::human_delta(e - now)
            )),
            _ => notes.push(format!("wait timer of {}m over", pending.wait_timer)),
        }
    }
    notes.push(if pending.current_user_can_approve {
        "this token may approve".to_string()
    } else {
        "this token may NOT approve: ask a reviewer".to_string()
    });
    cell.message = Some(notes.join("; "));
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!(
            "{}/tests/fixtures/github/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn run_states() {
        use CellState::*;
        let cases = [
            ("queued", None, Pending),
            ("in_progress", None, Running),
            ("waiting", None, AwaitingApproval),
            ("completed", Some("success"), Succeeded),
            ("completed", Some("neutral"), Succeeded),
            ("completed", Some("failure"), Failed),
            ("completed", Some("timed_out"), Failed),
            ("completed", Some("cancelled"), Cancelled),
            ("completed", Some("skipped"), Cancelled),
            ("completed", Some("action_required"), AwaitingApproval),
            ("completed", Some("stale"), Unknown),
            ("weird", None, Unknown),
        ];
        for (status, conclusion, want) in cases {
            assert_eq!(
                run_state(Some(status), conclusion),
                want,
                "{status} {conclusion:?}"
            );
        }
        for (s, want) in [
            ("success", Succeeded),
            ("failure", Failed),
            ("error", Failed),
            ("in_progress", Running),
            ("queued", Pending),
            ("pending", Pending),
            ("waiting", AwaitingApproval),
            ("inactive", Succeeded),
            ("nope", Unknown),
        ] {
            assert_eq!(deployment_state(s), want, "{s}");
        }
    }

    #[test]
    fn the_official_run_example_maps_to_a_ci_cell() {
        let runs: WorkflowRuns = fixture("workflow-run-paginated.json");
        let checks: CheckRuns = fixture("check-run-paginated.json");
        let cell = ci_cell(&runs.workflow_runs, &checks.check_runs).unwrap();
        assert_eq!(cell.state, CellState::Pending, "the example run is queued");
        assert_eq!(
            cell.version.as_deref(),
            Some("acb5820ced9479c074f688cc328bf03f341a511d")
        );
        assert_eq!(cell.actor.as_deref(), Some("octocat"));
        assert_eq!(
            cell.url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/30433642")
        );
        assert_eq!(cell.checks[0].name, "mighty_readme");
        assert_eq!(
            cell.checks[0].state,
            CheckState::Passed,
            "neutral counts as passed"
        );
    }

    #[test]
    fn the_official_deployment_examples_map_to_a_deploy_cell() {
        let deployments: Vec<Deployment> = fixture("deployment-items.json");
        let statuses: Vec<DeploymentStatus> = fixture("deployment-status-items.json");
        let pairs = vec![(deployments[0].clone(), statuses.first().cloned())];
        let cell = deploy_cell(&pairs).unwrap();
        assert_eq!(cell.state, CellState::Succeeded);
        assert_eq!(
            cell.version.as_deref(),
            Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"),
            "a branch ref shows the sha"
        );
        assert_eq!(
            cell.message.as_deref(),
            Some("Deployment finished successfully.")
        );
        assert_eq!(
            cell.url.as_deref(),
            Some("https://example.com/deployment/42/output")
        );
        let mut tagged = deployments[0].clone();
        tagged.git_ref = Some("v1.4.2".into());
        assert_eq!(deployment_version(&tagged), "v1.4.2");
    }

    #[test]
    fn the_official_pending_deployment_example_waits_for_approval() {
        let runs: WorkflowRuns = fixture("workflow-run-paginated.json");
        let pending: Vec<PendingDeployment> = fixture("pending-deployment-items.json");
        let now = pending[0].wait_timer_started_at.unwrap() + chrono::TimeDelta::minutes(10);
        let cell = awaiting_cell(&runs.workflow_runs[0], &pending[0], now);
        assert_eq!(cell.state, CellState::AwaitingApproval);
        let a = cell.approval.unwrap();
        assert_eq!(a.environment.as_deref(), Some("staging"));
        assert_eq!(a.reviewers[0], "octocat");
        assert!(
            a.reviewers.iter().any(|r| r.starts_with("team ")),
            "{:?}",
            a.reviewers
        );
        let m = cell.message.unwrap();
        assert!(
            m.contains("wait timer: 20m left") && m.contains("this token may approve"),
            "{m}"
        );
    }

    #[test]
    fn commit_pages_are_formed_for_github_and_enterprise_only() {
        assert_eq!(
            web_base("https://api.github.com").as_deref(),
            Some("https://github.com")
        );
        assert_eq!(
            web_base("https://api.octo.ghe.com/").as_deref(),
            Some("https://octo.ghe.com")
        );
        assert_eq!(
            web_base("https://ghe.example/api/v3").as_deref(),
            Some("https://ghe.example")
        );
        assert_eq!(
            web_base("http://127.0.0.1:8080/api/v3/").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        for other in [
            "https://proxy.example/github",
            "https://ghe.example",
            "not a url",
        ] {
            assert_eq!(web_base(other), None, "{other}");
        }
        // The official run example names its repository's page: the same commit page.
        let v: serde_json::Value = fixture("workflow-run-paginated.json");
        let run = &v["workflow_runs"][0];
        let web = web_base("https://api.github.com").unwrap();
        assert_eq!(
            commit_url(
                &web,
                run["repository"]["full_name"].as_str().unwrap(),
                run["head_sha"].as_str().unwrap()
            )
            .unwrap(),
            format!(
                "{}/commit/{}",
                run["repository"]["html_url"].as_str().unwrap(),
                run["head_sha"].as_str().unwrap()
            )
        );
        // A sha that is not one, from a payload: no link.
        for bad in ["v1.4.2", "abc", "acb5820 \u{241b}]8;;", &"a".repeat(65)] {
            assert_eq!(commit_url(&web, "acme/x", bad), None, "{bad}");
        }
    }

    #[test]
    fn empty_lists_are_no_cell() {
        assert!(ci_cell(&[], &[]).is_none());
        assert!(deploy_cell(&[]).is_none());
    }
}
