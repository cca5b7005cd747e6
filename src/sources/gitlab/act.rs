//! What the `gitlab` source does, each from the environment's deployments as GitLab has them
//! when the action is taken: promote plays the manual deploy job of the version, or, for a
//! stage with `promote = "pipeline"`, creates a pipeline on the stage's branch with the
//! configured variables (a version already blocked there is approved instead); approve and reject decide the blocked
//! deployment, rollback re-runs the deploy job of an earlier successful deployment (GitLab's
//! re-deploy), pause cancels the running deployment's pipeline (the runner holds the lane).
//! docs/sources/gitlab.md has the table.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::client::GlError;
use super::map::Deployment;
use super::{ACT_DEPLOYMENTS, GitlabSource, GlTarget, enc};
use crate::config::placeholders::fill;
use crate::model::cell::short_version;
use crate::model::text::sanitize;
use crate::model::{ActionKind, CellKey};
use crate::sources::{ActionAck, ActionError, ActionRequest};

/// One request an action becomes.
struct Plan {
    path: String,
    body: Value,
    /// What it does, in words: "play job deploy (664) of a91957a".
    what: String,
}

fn matches(sha: &str, version: &str) -> bool {
    !version.is_empty() && (sha.starts_with(version) || version.starts_with(sha))
}

fn conflict(message: String) -> ActionError {
    ActionError::Rejected {
        status: 409,
        code: "conflict".into(),
        message,
    }
}

/// The deployment the environment runs or is about to: the newest that was played.
fn current(list: &[Deployment]) -> Option<&Deployment> {
    list.iter().find(|d| d.status != "created")
}

impl GitlabSource {
    fn target_of(&self, req: &ActionRequest) -> Result<(&GlTarget, &str), ActionError> {
        let t = self.target(&req.lane, &req.stage).ok_or_else(|| {
            ActionError::Failed(format!(
                "{} {} is not read from source {}",
                req.lane, req.stage, self.name
            ))
        })?;
        let env = t.environment.as_deref().ok_or_else(|| {
            ActionError::Unsupported(format!(
                "{} {} is the build stage (the branch's pipeline): it has no environment to act on",
                req.lane, req.stage
            ))
        })?;
        Ok((t, env))
    }

    fn decide(&self, t: &GlTarget, d: &Deployment, approve: bool, req: &ActionRequest) -> Plan {
        let verb = if approve { "approved" } else { "rejected" };
        let mut comment = format!("{verb} with trainyard by {}", req.actor);
        if let Some(r) = &req.reason {
            comment.push_str(&format!(": {r}"));
        }
        Plan {
            path: format!(
                "/projects/{}/deployments/{}/approval",
                enc(&t.project),
                d.id
            ),
            body: json!({"status": verb, "comment": comment}),
            what: format!(
                "{} deployment {} of {}",
                if approve { "approve" } else { "reject" },
                d.id,
                short_version(&sanitize(&d.sha, 200))
            ),
        }
    }

    /// Promote by creating a pipeline on the stage's branch with the configured variables,
    /// their placeholders filled in.
    fn pipeline(
        &self,
        req: &ActionRequest,
        t: &GlTarget,
        env: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Plan, ActionError> {
        let version = req.version.as_deref().unwrap_or_default();
        if version.is_empty() {
            return Err(ActionError::Failed(format!(
                "promote to {env} needs the version to deploy"
            )));
        }
        let branch = self.branch_of(t).map_err(ActionError::Failed)?;
        Ok(Plan {
            path: format!("/projects/{}/pipeline", enc(&t.project)),
            body: json!({"ref": branch, "variables": variables(vars, version, env, req)}),
            what: format!(
                "create a pipeline on {branch} deploying {} to {env}",
                short_version(version)
            ),
        })
    }

    /// The request `req` becomes, from the environment's deployments `list` (newest first).
    fn plan(
        &self,
        req: &ActionRequest,
        t: &GlTarget,
        env: &str,
        list: &[Deployment],
    ) -> Result<Plan, ActionError> {
        let version = req.version.as_deref().unwrap_or_default();
        let project = enc(&t.project);
        let now = current(list);
        let blocked = now.filter(|d| d.status == "blocked");
        let job = |d: &Deployment, verb: &str| -> Result<Plan, ActionError> {
            let j = d.deployable.as_ref().ok_or_else(|| {
                conflict(format!(
                    "deployment {} to {env} has no job to {verb} (it was created through the API)",
                    d.id
                ))
            })?;
            Ok(Plan {
                path: format!("/projects/{project}/jobs/{}/{verb}", j.id),
                body: json!({}),
                what: format!(
                    "{verb} job {} ({}) of {}",
                    sanitize(&j.name, 200),
                    j.id,
                    short_version(&sanitize(&d.sha, 200))
                ),
            })
        };
        match req.kind {
            ActionKind::Approve | ActionKind::Reject => {
                let d = blocked.ok_or_else(|| {
                    conflict(format!(
                        "no deployment of {} is waiting for approval at {}",
                        req.lane, req.stage
                    ))
                })?;
                Ok(self.decide(t, d, req.kind == ActionKind::Approve, req))
            }
            ActionKind::Promote => {
                // The version is already blocked there: promoting it is approving it.
                if let Some(d) = blocked.filter(|d| matches(&d.sha, version)) {
                    return Ok(self.decide(t, d, true, req));
                }
                if let Some(vars) = &t.pipeline_variables {
                    return self.pipeline(req, t, env, vars);
                }
                let ready = list
                    .iter()
                    .find(|d| d.status == "created" && matches(&d.sha, version))
                    .ok_or_else(|| {
                        conflict(format!(
                            "no manual job deploys {} to {env}: GitLab shows one once a pipeline of that version has a manual job for the environment",
                            short_version(version)
                        ))
                    })?;
                job(ready, "play")
            }
            ActionKind::Rollback => {
                let running = now.map(|d| d.sha.as_str()).unwrap_or_default();
                let earlier = list.iter().skip_while(|d| d.status == "created").skip(1);
                let mut good = earlier.filter(|d| d.status == "success");
                let d = if version.is_empty() {
                    good.find(|d| d.sha != running)
                } else {
                    good.find(|d| matches(&d.sha, version))
                };
                let d = d.ok_or_else(|| {
                    conflict(format!(
                        "no earlier successful deployment of {} to {env} among the last {} to re-deploy",
                        if version.is_empty() { "another version".to_string() } else { short_version(version) },
                        ACT_DEPLOYMENTS
                    ))
                })?;
                job(d, "retry")
            }
            ActionKind::Pause => {
                let d = now.filter(|d| d.status == "running").ok_or_else(|| {
                    conflict(format!(
                        "no deployment of {} is running at {} to cancel",
                        req.lane, req.stage
                    ))
                })?;
                let pipeline = d.pipeline_id().ok_or_else(|| {
                    conflict(format!("deployment {} names no pipeline to cancel", d.id))
                })?;
                Ok(Plan {
                    path: format!("/projects/{project}/pipelines/{pipeline}/cancel"),
                    body: json!({}),
                    what: format!(
                        "cancel pipeline {pipeline} deploying {}",
                        short_version(&sanitize(&d.sha, 200))
                    ),
                })
            }
            ActionKind::Resume | ActionKind::Abort | ActionKind::Halt | ActionKind::Unhalt => {
                Err(unsupported(req.kind).unwrap_or_else(|| conflict("not a GitLab action".into())))
            }
        }
    }

    /// What an action would send, without asking GitLab anything.
    pub(super) fn describe(&self, req: &ActionRequest) -> String {
        let (t, env) = match self.target_of(req) {
            Ok(te) => te,
            Err(e) => return e.to_string(),
        };
        let p = enc(&t.project);
        let v = short_version(req.version.as_deref().unwrap_or("?"));
        let url = |path: String| self.client.url(&path);
        match req.kind {
            ActionKind::Promote => match &t.pipeline_variables {
                // The variables as NAME=value: GitLab's `{"key": …}` reads as a secret's shape.
                Some(vars) => format!(
                    "POST {} on {} with {} (approval instead if {v} is blocked at {env})",
                    url(format!("/projects/{p}/pipeline")),
                    self.branch_of(t)
                        .unwrap_or_else(|_| "the default branch".into()),
                    variables(vars, req.version.as_deref().unwrap_or("?"), env, req)
                        .iter()
                        .map(|v| format!(
                            "{}={}",
                            v["key"].as_str().unwrap_or_default(),
                            v["value"].as_str().unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => format!(
                    "POST {} (the manual job deploying {v} to {env}; approval of it if it is blocked there)",
                    url(format!("/projects/{p}/jobs/{{job}}/play"))
                ),
            },
            ActionKind::Approve | ActionKind::Reject => format!(
                "POST {} {{\"status\": \"{}\", \"comment\": \"… with trainyard by {}\"}} (the deployment blocked at {env})",
                url(format!("/projects/{p}/deployments/{{id}}/approval")),
                if req.kind == ActionKind::Approve {
                    "approved"
                } else {
                    "rejected"
                },
                req.actor
            ),
            ActionKind::Rollback => format!(
                "POST {} (the deploy job of the earlier successful deployment of {v} to {env})",
                url(format!("/projects/{p}/jobs/{{job}}/retry"))
            ),
            ActionKind::Pause => format!(
                "POST {} (the pipeline of the deployment running at {env})",
                url(format!("/projects/{p}/pipelines/{{id}}/cancel"))
            ),
            _ => format!(
                "{} {} {}: not a GitLab action",
                req.kind, req.lane, req.stage
            ),
        }
    }

    pub(super) async fn send(&self, req: &ActionRequest) -> Result<ActionAck, ActionError> {
        let (t, env) = self.target_of(req)?;
        if let Some(e) = unsupported(req.kind) {
            return Err(e);
        }
        if req.kind == ActionKind::Promote && t.pipeline_variables.is_some() {
            self.read_default_branches().await;
        }
        let list = self
            .deployments(t, env, ACT_DEPLOYMENTS)
            .await
            .map_err(|e| {
                ActionError::Failed(format!("could not read the deployments to {env}: {e}"))
            })?;
        let plan = self.plan(req, t, env, &list)?;
        let (status, answer) = self
            .client
            .post(&plan.path, &plan.body)
            .await
            .map_err(|e| refusal(e, &plan.what, env))?;
        self.wake(&CellKey::new(&req.lane, &req.stage));
        let url = answer
            .get("web_url")
            .and_then(Value::as_str)
            .map(|u| format!(" {}", sanitize(u, 200)))
            .unwrap_or_default();
        Ok(ActionAck {
            message: format!("GitLab accepted it ({status}): {}{url}", plan.what),
        })
    }
}

/// A pipeline's variables as GitLab takes them, `[{"key", "value"}]`, with `{version}`,
/// `{environment}`, `{lane}` and `{stage}` filled in.
fn variables(
    vars: &BTreeMap<String, String>,
    version: &str,
    env: &str,
    req: &ActionRequest,
) -> Vec<Value> {
    let values = [
        ("version", version),
        ("environment", env),
        ("lane", req.lane.as_str()),
        ("stage", req.stage.as_str()),
    ];
    vars.iter()
        .map(|(k, v)| json!({"key": k, "value": fill(v, &values)}))
        .collect()
}

/// The kinds GitLab has no request for.
fn unsupported(kind: ActionKind) -> Option<ActionError> {
    match kind {
        ActionKind::Resume => Some(ActionError::Unsupported(
            "GitLab can't resume a cancelled pipeline: promote the version again".into(),
        )),
        ActionKind::Abort => {
            crate::sources::unsupported("gitlab", kind).map(ActionError::Unsupported)
        }
        ActionKind::Halt | ActionKind::Unhalt => {
            Some(ActionError::Unsupported("not a source action".into()))
        }
        _ => None,
    }
}

/// GitLab's refusal in words: what was refused, GitLab's message, and what it likely means.
fn refusal(e: GlError, what: &str, env: &str) -> ActionError {
    match e {
        GlError::Status(status, m) => {
            let hint = match status {
                403 if what.starts_with("approve") || what.starts_with("reject") => format!(
                    " (this token's user is not an allowed approver of {env}, or the token lacks the `api` scope)"
                ),
                403 => " (the token lacks the `api` scope, or its user may not deploy here)".into(),
                400 if what.starts_with("create a pipeline") => {
                    " (GitLab made no pipeline: the branch, or the CI configuration's rules for these variables)".into()
                }
                400 if m.contains("Unplayable") => {
                    " (the job is no longer playable: it ran already, or its pipeline moved on)"
                        .into()
                }
                _ => String::new(),
            };
            ActionError::Rejected {
                status,
                code: "gitlab".into(),
                message: format!("GitLab refused to {what}: {m}{hint}"),
            }
        }
        GlError::Unanswered(m) => ActionError::Unanswered(m),
        other => ActionError::Failed(other.to_string()),
    }
}
