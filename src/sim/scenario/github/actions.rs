//! Acting through the GitHub API: reviewing a pending deployment (the scenario's approve and
//! reject), dispatching `deploy.yml` (promote, or rollback to a good earlier version) and
//! cancelling a run. Bodies are checked as GitHub checks them, with its words for a refusal.

use serde_json::{Map, Value, json};

use super::projection::run_status;
use super::{GhReply, OWNER, env_id, env_stage, gh_error, not_found};
use crate::sim::scenario::{Reject, STAGES, Scenario, St};

impl Scenario {
    /// `POST .../actions/runs/{id}/pending_deployments`: approve or reject.
    pub(super) fn review(&mut self, li: usize, id: &str, body: &[u8], user: &str) -> GhReply {
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
    pub(super) fn dispatch(&mut self, li: usize, deploy: bool, body: &[u8], user: &str) -> GhReply {
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
    pub(super) fn cancel_run(&mut self, li: usize, id: &str, user: &str) -> GhReply {
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
