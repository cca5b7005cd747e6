//! The runs of the scenario's cells as GitHub shows them: workflow runs, deployments and
//! their statuses, check runs, pending deployments (see the tables in `github.rs`).

use serde_json::{Value, json};

use super::repository::{links, node_id};
use super::{
    CHECK_RUN_BASE, CHECK_SUITE_BASE, CI_FILE, DEPLOY_FILE, Entry, T_RUN_NUMBER, deployment_id,
    workflow_id,
};
use crate::sim::rng::{between, mix, sha};
use crate::sim::scenario::content::{BUILD_CHECKS, PEOPLE, environment, fail_message};
use crate::sim::scenario::{BUILD, LaneSim, OpKind, PROD, Scenario, St, Ver};

/// One deployment status, before it becomes JSON.
struct DStatus<'a> {
    state: &'static str,
    at: i64,
    creator: &'a str,
    description: String,
}

/// A run's `status` and `conclusion`.
pub(super) fn run_status(state: St) -> (&'static str, Option<&'static str>) {
    match state {
        St::AwaitingApproval => ("waiting", None),
        St::Running | St::RollingBack | St::Paused => ("in_progress", None),
        St::Succeeded | St::RolledBack => ("completed", Some("success")),
        St::Failed => ("completed", Some("failure")),
        St::Cancelled => ("completed", Some("cancelled")),
        // The simulator's cells are never pending or unknown; GitHub would say queued.
        St::Pending | St::Unknown => ("queued", None),
    }
}

/// Who wrote a commit: a person picked by its sha.
fn author(ver: &Ver) -> &'static str {
    let h = u64::from_str_radix(&ver.sha[..15], 16).unwrap_or(0);
    PEOPLE[(h % PEOPLE.len() as u64) as usize]
}

impl Scenario {
    /// `run_number`: the run's place among the runs of its workflow in its repository.
    pub(super) fn run_number(&self, e: &Entry) -> u64 {
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

    /// A scenario actor as a person: `ci` (a build) is the commit's author.
    pub(super) fn person(&self, actor: &str, ver: &Ver) -> String {
        if actor == "ci" {
            author(ver).to_string()
        } else {
            actor.to_string()
        }
    }

    pub(super) fn event(&self, e: &Entry) -> &'static str {
        if e.s == BUILD {
            "push"
        } else {
            "workflow_dispatch"
        }
    }

    pub(super) fn wf_run_json(&self, e: &Entry) -> Value {
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
        let j = json!({
            "id": run,
            "name": if deploy { "Deploy" } else { "CI" },
            "node_id": node_id("WorkflowRun", run),
            "check_suite_id": suite,
            "check_suite_node_id": node_id("CheckSuite", suite),
            "head_branch": self.default_branch(e.li),
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
            "check_suite_url": format!("{api}/check-suites/{suite}"),
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
        });
        let tails = [
            ("jobs_url", "/jobs"),
            ("logs_url", "/logs"),
            ("artifacts_url", "/artifacts"),
            ("cancel_url", "/cancel"),
            ("rerun_url", "/rerun"),
        ];
        links(j, &format!("{api}/actions/runs/{run}"), &tails)
    }

    /// `GET .../pending_deployments`: the environment a waiting run waits for, or nothing.
    pub(super) fn pending_json(&self, e: &Entry) -> Vec<Value> {
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

    pub(super) fn deployment_json(&self, entries: &[Entry], i: usize) -> Value {
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
            "ref": self.default_branch(e.li),
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
    pub(super) fn status_json(&self, entries: &[Entry], i: usize) -> Vec<Value> {
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
    pub(super) fn checks_json(&self, e: &Entry) -> Vec<Value> {
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
}
