//! Acting through the GitHub API: reviewing a pending deployment (the scenario's approve and
//! reject), dispatching `deploy.yml` (promote, or rollback to a good earlier version) and
//! cancelling a run. Bodies are checked as GitHub checks them, with its words for a refusal.

use serde_json::{Map, Value, json};

use super::projection::run_status;
use super::{GhReply, OWNER, env_id, env_stage, gh_error, not_found};
use crate::sim::scenario::{Reject, STAGES, Scenario, St};

/// What an action answers: `Err` is a refusal, GitHub's error reply.
type Answer = Result<GhReply, GhReply>;

impl Scenario {
    /// `POST .../actions/runs/{id}/pending_deployments`: approve or reject.
    pub(super) fn review(&mut self, li: usize, id: &str, body: &[u8], user: &str) -> Answer {
        const DOC: &str = "/actions/workflow-runs#review-pending-deployments-for-a-workflow-run";
        let (s, i) = self.find_run(li, id).ok_or_else(not_found)?;
        let obj = body_object(body)?;
        let ids: Vec<u64> = field(&obj, "environment_ids", "an array of integers", DOC, |v| {
            let a = v.as_array().filter(|a| a.iter().all(Value::is_u64))?;
            Some(a.iter().filter_map(Value::as_u64).collect())
        })?;
        let approve = match obj.get("state").and_then(Value::as_str) {
            Some("approved") => true,
            Some("rejected") => false,
            Some(other) => {
                return Err(gh_error(
                    422,
                    format!(
                        "Invalid request.\n\nFor 'properties/state', \"{other}\" is not one of [\"approved\", \"rejected\"]."
                    ),
                    DOC,
                ));
            }
            None => return Err(invalid_missing("state", DOC)),
        };
        let comment = field(&obj, "comment", "a string", DOC, text)?;
        let idx = self.lanes[li].idx;
        if i != 0 || self.lanes[li].cells[s].state != St::AwaitingApproval {
            return Err(gh_error(
                422,
                format!("No pending deployment requests to review for run {id}"),
                DOC,
            ));
        }
        let expected = env_id(idx, s);
        if ids.is_empty() || ids.iter().any(|&e| e != expected) {
            return Err(gh_error(
                422,
                format!(
                    "Environment ids {ids:?} are not waiting for review on run {id} (waiting: [{expected}])"
                ),
                DOC,
            ));
        }
        let done = if approve {
            self.approve(li, s, user)
        } else {
            let reason = (!comment.trim().is_empty()).then_some(comment.as_str());
            self.reject(li, s, user, reason)
        };
        done.map_err(|e| refused(e, DOC))?;
        let entries = self.entries(li, s);
        Ok(GhReply::ok(json!([self.deployment_json(&entries, 0)])))
    }

    /// `POST .../actions/workflows/{wf}/dispatches`: deploy.yml with `version` and
    /// `environment` inputs promotes or rolls back.
    pub(super) fn dispatch(&mut self, li: usize, deploy: bool, body: &[u8], user: &str) -> Answer {
        const DOC: &str = "/actions/workflows#create-a-workflow-dispatch-event";
        let obj = body_object(body)?;
        if !deploy {
            return Err(gh_error(
                422,
                "Workflow does not have 'workflow_dispatch' trigger",
                DOC,
            ));
        }
        let reference = field(&obj, "ref", "a string", DOC, text)?;
        let branch = self.default_branch(li);
        if reference != branch && reference != format!("refs/heads/{branch}") {
            return Err(gh_error(422, format!("No ref found for: {reference}"), DOC));
        }
        let empty = Map::new();
        let inputs = match obj.get("inputs") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => &empty,
            Some(_) => return Err(not_a("inputs", "an object", DOC)),
        };
        let unexpected: Vec<&String> = inputs
            .keys()
            .filter(|k| !matches!(k.as_str(), "version" | "environment"))
            .collect();
        if !unexpected.is_empty() {
            return Err(gh_error(
                422,
                format!("Unexpected inputs provided: {unexpected:?}"),
                DOC,
            ));
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
        let (version, env) = (
            input("version")?.to_ascii_lowercase(),
            input("environment")?,
        );
        let Some(s) = env_stage(&env) else {
            return Err(gh_error(
                422,
                format!(
                    "Provided value '{env}' for input 'environment' not in the list of allowed values"
                ),
                DOC,
            ));
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
            return Err(gh_error(
                422,
                format!(
                    "version {version} is neither the version at {} nor a good earlier deployment to {env}",
                    STAGES[s - 1]
                ),
                DOC,
            ));
        };
        done.map_err(|e| refused(e, DOC))?;
        Ok(
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
            },
        )
    }

    /// `POST .../actions/runs/{id}/cancel`.
    pub(super) fn cancel_run(&mut self, li: usize, id: &str, user: &str) -> Answer {
        const DOC: &str = "/actions/workflow-runs#cancel-a-workflow-run";
        let (s, i) = self.find_run(li, id).ok_or_else(not_found)?;
        let state = self.entries(li, s)[i].state;
        if i != 0 || run_status(state).0 == "completed" {
            let message = "Cannot cancel a workflow run that is completed.";
            return Err(gh_error(409, message, DOC));
        }
        self.cancel(li, s, user).map_err(|e| refused(e, DOC))?;
        Ok(GhReply {
            status: 202,
            body: Some(json!({})),
            pages: None,
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

/// A field a request body must have, read by `read`; GitHub's words when it is missing, or
/// when `read` finds it is not `what` ("a string").
fn field<T>(
    obj: &Map<String, Value>,
    field: &str,
    what: &str,
    doc: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<T, GhReply> {
    let value = obj.get(field).ok_or_else(|| invalid_missing(field, doc))?;
    read(value).ok_or_else(|| not_a(field, what, doc))
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A field of the wrong type.
fn not_a(field: &str, what: &str, doc: &str) -> GhReply {
    gh_error(
        422,
        format!("Invalid request.\n\nFor 'properties/{field}', the value is not {what}."),
        doc,
    )
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
