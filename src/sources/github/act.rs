//! What the `github` source does: approve and reject through a waiting run's pending
//! deployments, promote and roll back by dispatching the deploy workflow (then followed),
//! pause by cancelling the deploy run. docs/sources/github.md has the table.

use serde_json::{Value, json};

use super::client::GhError;
use super::map::WorkflowRuns;
use super::{Dispatched, GhTarget, GithubSource, Waiting, enc};
use crate::model::text::sanitize;
use crate::model::{ActionKind, CellKey};
use crate::sources::{ActionAck, ActionError, ActionRequest};

impl GithubSource {
    fn dispatch_body(&self, t: &GhTarget, env: &str, version: &str) -> Result<Value, ActionError> {
        Ok(json!({
            "ref": self.branch_of(t).map_err(ActionError::Failed)?,
            "inputs": { self.version_input.clone(): version, self.environment_input.clone(): env },
            "return_run_details": true,
        }))
    }

    /// The request an action becomes: method, path and body.
    pub(super) fn plan_request(&self, req: &ActionRequest) -> Result<(String, Value), ActionError> {
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
            ActionKind::Abort => Err(ActionError::Unsupported(
                crate::sources::unsupported("github", req.kind).unwrap_or_default(),
            )),
            ActionKind::Halt | ActionKind::Unhalt => {
                Err(ActionError::Unsupported("not a source action".into()))
            }
        }
    }

    pub(super) async fn send(&self, req: &ActionRequest) -> Result<ActionAck, ActionError> {
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
            self.read_default_branches(true).await;
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
                .client
                .get(&format!(
                    "/repos/{}/actions/workflows/{}/runs?branch={}&per_page=30",
                    t.repo,
                    enc(wf),
                    enc(&branch)
                ))
                .await
                .map_err(|e| ActionError::Failed(e.to_string()))?;
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
            self.wake(&CellKey::new(&req.lane, &req.stage), &t.repo);
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
        // What was acted on is read at the next poll, whatever its pace was.
        if let Some(t) = self.target(&req.lane, &req.stage) {
            self.wake(&CellKey::new(&req.lane, &req.stage), &t.repo);
        }
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
