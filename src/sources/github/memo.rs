//! Answers that can't change, kept so they are never asked again (a `304` is free against
//! the hourly budget, but GitHub's secondary limit counts it all the same):
//!
//! - the check runs of a commit whose run has completed, once every check has completed (a
//!   re-run changes the run, which reads them again);
//! - a deployment's finished status (`success`, `failure`, `error`, `inactive`) while the
//!   deployment is unchanged: a new status changes its `updated_at` (a `success` that turns
//!   `inactive` when a newer deployment supersedes it, or when it is switched off, is read
//!   again then);
//! - the pending deployments of a waiting run, as long as the run is unchanged.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use super::map::{CheckRuns, Deployment, DeploymentStatus, PendingDeployment, WorkflowRun};
use crate::model::Timestamp;

/// Kept answers of each kind, at most (then forgotten and asked again).
const MAX_KEPT: usize = 4096;

/// What a run's answers depend on: a re-run or a new attempt changes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RunMark {
    id: u64,
    status: Option<String>,
    updated_at: Option<Timestamp>,
}

impl RunMark {
    pub fn of(run: &WorkflowRun) -> RunMark {
        RunMark {
            id: run.id,
            status: run.status.clone(),
            updated_at: run.updated_at,
        }
    }
}

#[derive(Debug)]
struct Kept<K, V>(Mutex<HashMap<K, V>>);

impl<K: Hash + Eq, V: Clone> Kept<K, V> {
    fn new() -> Self {
        Kept(Mutex::new(HashMap::new()))
    }

    fn get(&self, k: &K) -> Option<V> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(k)
            .cloned()
    }

    fn put(&self, k: K, v: V) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= MAX_KEPT && !m.contains_key(&k) {
            m.clear();
        }
        m.insert(k, v);
    }
}

/// The source's kept answers.
#[derive(Debug)]
pub struct Memo {
    /// (repository, commit) → the run they were read for, and the checks.
    checks: Kept<(String, String), (RunMark, CheckRuns)>,
    /// (repository, deployment, its `updated_at`) → its finished status.
    statuses: Kept<(String, u64, Option<Timestamp>), DeploymentStatus>,
    /// (repository, run) → its pending deployments.
    pending: Kept<(String, RunMark), Vec<PendingDeployment>>,
}

impl Default for Memo {
    fn default() -> Self {
        Memo {
            checks: Kept::new(),
            statuses: Kept::new(),
            pending: Kept::new(),
        }
    }
}

/// A run and its checks are done: nothing of them changes until the run does.
pub fn checks_final(run: &WorkflowRun, checks: &CheckRuns) -> bool {
    run.status.as_deref() == Some("completed")
        && checks.total_count <= checks.check_runs.len() as u64
        && checks
            .check_runs
            .iter()
            .all(|c| c.status.as_deref() == Some("completed"))
}

/// A status that ends a deployment: nothing follows it but a supersession or a switch-off,
/// which are statuses of their own (and change the deployment's `updated_at`).
pub fn status_final(status: &DeploymentStatus) -> bool {
    matches!(
        status.state.as_str(),
        "success" | "failure" | "error" | "inactive"
    )
}

impl Memo {
    pub fn checks(&self, repo: &str, run: &WorkflowRun) -> Option<CheckRuns> {
        let (mark, checks) = self.checks.get(&(repo.to_string(), run.head_sha.clone()))?;
        (mark == RunMark::of(run)).then_some(checks)
    }

    pub fn keep_checks(&self, repo: &str, run: &WorkflowRun, checks: &CheckRuns) {
        if checks_final(run, checks) {
            let key = (repo.to_string(), run.head_sha.clone());
            self.checks.put(key, (RunMark::of(run), checks.clone()));
        }
    }

    pub fn status(&self, repo: &str, d: &Deployment) -> Option<DeploymentStatus> {
        self.statuses.get(&(repo.to_string(), d.id, d.updated_at))
    }

    pub fn keep_status(&self, repo: &str, d: &Deployment, s: &DeploymentStatus) {
        if status_final(s) {
            self.statuses
                .put((repo.to_string(), d.id, d.updated_at), s.clone());
        }
    }

    pub fn pending(&self, repo: &str, run: &WorkflowRun) -> Option<Vec<PendingDeployment>> {
        self.pending.get(&(repo.to_string(), RunMark::of(run)))
    }

    pub fn keep_pending(&self, repo: &str, run: &WorkflowRun, p: &[PendingDeployment]) {
        self.pending
            .put((repo.to_string(), RunMark::of(run)), p.to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(status: &str, updated: &str) -> WorkflowRun {
        serde_json::from_value(json!({
            "id": 7, "head_sha": "abc1234", "status": status, "conclusion": null,
            "html_url": null, "created_at": null, "updated_at": updated,
            "run_started_at": null, "actor": null
        }))
        .unwrap()
    }

    fn checks(states: &[&str], total: u64) -> CheckRuns {
        serde_json::from_value(json!({
            "total_count": total,
            "check_runs": states.iter().map(|s| json!({"name": "unit", "status": s, "conclusion": "success"})).collect::<Vec<_>>()
        }))
        .unwrap()
    }

    fn status(state: &str) -> DeploymentStatus {
        serde_json::from_value(json!({"state": state})).unwrap()
    }

    #[test]
    fn finished_checks_are_kept_until_the_run_changes() {
        let m = Memo::default();
        let done = run("completed", "2026-12-01T10:00:00Z");
        m.keep_checks("o/r", &done, &checks(&["completed", "completed"], 2));
        assert_eq!(m.checks("o/r", &done).unwrap().check_runs.len(), 2);
        assert!(m.checks("o/other", &done).is_none());
        // Re-run: the run's status and time change, the checks are read again.
        let rerun = run("in_progress", "2026-12-01T10:05:00Z");
        assert!(m.checks("o/r", &rerun).is_none());
        let again = run("completed", "2026-12-01T10:09:00Z");
        assert!(m.checks("o/r", &again).is_none());
    }

    #[test]
    fn unfinished_checks_or_runs_are_not_kept() {
        let m = Memo::default();
        let running = run("in_progress", "2026-12-01T10:00:00Z");
        m.keep_checks("o/r", &running, &checks(&["completed"], 1));
        assert!(m.checks("o/r", &running).is_none());
        let done = run("completed", "2026-12-01T10:00:00Z");
        m.keep_checks("o/r", &done, &checks(&["completed", "queued"], 2));
        assert!(
            m.checks("o/r", &done).is_none(),
            "an external check still runs"
        );
        m.keep_checks("o/r", &done, &checks(&["completed"], 140));
        assert!(
            m.checks("o/r", &done).is_none(),
            "more checks than were read"
        );
    }

    fn deployment(updated: &str) -> Deployment {
        serde_json::from_value(json!({
            "id": 9, "sha": "abc1234", "ref": "main", "environment": "production",
            "creator": null, "created_at": null, "updated_at": updated, "description": null
        }))
        .unwrap()
    }

    #[test]
    fn finished_statuses_are_kept_while_the_deployment_is_unchanged() {
        for (state, kept) in [
            ("success", true),
            ("failure", true),
            ("error", true),
            ("inactive", true),
            ("in_progress", false),
            ("queued", false),
            ("waiting", false),
            ("pending", false),
        ] {
            let m = Memo::default();
            let d = deployment("2026-12-01T10:00:00Z");
            m.keep_status("o/r", &d, &status(state));
            assert_eq!(m.status("o/r", &d).is_some(), kept, "{state}");
            // A new status (superseded, switched off) changes the deployment: read again.
            let later = deployment("2026-12-01T10:30:00Z");
            assert!(m.status("o/r", &later).is_none(), "{state}");
            assert!(m.status("o/other", &d).is_none(), "{state}");
        }
    }

    #[test]
    fn pending_deployments_are_kept_for_the_same_run() {
        let m = Memo::default();
        let waiting = run("waiting", "2026-12-01T10:00:00Z");
        m.keep_pending("o/r", &waiting, &[]);
        assert_eq!(m.pending("o/r", &waiting).map(|p| p.len()), Some(0));
        let moved = run("waiting", "2026-12-01T10:03:00Z");
        assert!(m.pending("o/r", &moved).is_none());
    }
}
