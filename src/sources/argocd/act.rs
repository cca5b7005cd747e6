//! What the `argocd` source does: promote syncs the Application to the version (or resumes its
//! Rollout waiting at a canary step on that version), pause / resume / approve / reject / abort
//! are the Rollout's `pause`, `resume`, `resume`, `abort` and `abort` actions (an abort of an
//! Application without a Rollout terminates its running sync), rollback is Argo CD's rollback
//! to the history entry of the version. docs/sources/argocd.md has the table.

use serde_json::{Value, json};

use super::client::ArgoError;
use super::{ArgoSource, ArgoTarget, Seen, enc};
use crate::model::cell::short_version;
use crate::model::{ActionKind, CellKey};
use crate::sources::{ActionAck, ActionError, ActionRequest};

/// One request an action becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub method: &'static str,
    pub path: String,
    pub body: Value,
    /// What to say once Argo CD took it.
    pub done: String,
}

/// Why a rollback can't go while automated sync is on, and what to do: the cell's warning,
/// its refusal, and the source's answer should one be asked anyway.
pub fn auto_sync_refusal(app: &str) -> String {
    format!(
        "automated sync is on for {app}: Argo CD refuses a rollback while it is on (turn it off \
         first: argocd app set {app} --sync-policy none, or promote the earlier version through \
         git)"
    )
}

/// Why a Rollout action Argo CD lists as disabled is not sent.
pub fn disabled_refusal(action: &str, rollout: &str) -> String {
    format!(
        "Argo CD lists the action {action} of Rollout {rollout} as disabled (the Rollout's state \
         does not allow it now)"
    )
}

/// Why an abort of an Application without a Rollout can't go: no sync of it runs.
pub fn nothing_running_refusal(app: &str) -> String {
    format!("no sync of {app} is running: nothing to abort")
}

/// Why an action on a Rollout can't go to an Application that manages none.
pub fn no_rollout_refusal(app: &str, kind: ActionKind) -> String {
    format!(
        "{app} manages no Argo Rollout: Argo CD can't {kind} a sync (hold the lane instead: \
         pause LANE)"
    )
}

fn same_version(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && (a == b || (a.len() >= 7 && b.starts_with(a)))
}

impl ArgoSource {
    /// The request an action becomes, or why it can't be sent (nothing is sent then).
    pub(super) fn plan_request(&self, req: &ActionRequest) -> Result<Planned, ActionError> {
        let t = self.target(&req.lane, &req.stage).ok_or_else(|| {
            ActionError::Failed(format!(
                "{} {} is not read from source {}",
                req.lane, req.stage, self.name
            ))
        })?;
        let seen = self
            .seen(&CellKey::new(&req.lane, &req.stage))
            .unwrap_or_default();
        let app = &t.application;
        let version = req.version.as_deref().unwrap_or_default();
        let deployed = seen.history.last().map(|(_, r)| r.as_str()).unwrap_or("");
        match req.kind {
            // Forced: past every remaining step and analysis at once.
            ActionKind::Promote if seen.rollout_at_step && same_version(version, deployed) => {
                let action = if req.force { "promote-full" } else { "resume" };
                self.rollout_action(t, &seen, action)
            }
            ActionKind::Promote => {
                if version.is_empty() {
                    return Err(ActionError::Failed(
                        "promote needs the version to sync to".into(),
                    ));
                }
                let mut body = json!({"revision": version, "prune": false, "dryRun": false});
                if let Some(ns) = &t.app_namespace {
                    body["appNamespace"] = json!(ns);
                }
                Ok(Planned {
                    method: "POST",
                    path: format!("/api/v1/applications/{}/sync", enc(app)),
                    body,
                    done: format!("sync of {app} to {} started", short_version(version)),
                })
            }
            ActionKind::Rollback => {
                if seen.automated {
                    return Err(ActionError::Unsupported(auto_sync_refusal(app)));
                }
                let id = seen
                    .history
                    .iter()
                    .rev()
                    .find(|(_, r)| same_version(version, r))
                    .map(|(id, _)| *id)
                    .ok_or_else(|| ActionError::Rejected {
                        status: 409,
                        code: "no_history".into(),
                        message: format!(
                            "{app}'s history has no deployment of {}",
                            short_version(version)
                        ),
                    })?;
                let mut body = json!({"id": id, "prune": false, "dryRun": false});
                if let Some(ns) = &t.app_namespace {
                    body["appNamespace"] = json!(ns);
                }
                Ok(Planned {
                    method: "POST",
                    path: format!("/api/v1/applications/{}/rollback", enc(app)),
                    body,
                    done: format!(
                        "rollback of {app} to history entry {id} ({}) started",
                        short_version(version)
                    ),
                })
            }
            ActionKind::Pause => self.rollout_action(t, &seen, "pause"),
            ActionKind::Resume => self.rollout_action(t, &seen, "resume"),
            ActionKind::Approve if seen.rollout_at_step => self.rollout_action(t, &seen, "resume"),
            ActionKind::Approve => Err(ActionError::Rejected {
                status: 409,
                code: "conflict".into(),
                message: format!("no Rollout of {app} waits at a canary step"),
            }),
            // Without a Rollout, an abort terminates the running sync (Argo CD's "terminate").
            ActionKind::Abort if seen.rollout.is_none() => {
                if !seen.sync_running {
                    return Err(ActionError::Unsupported(nothing_running_refusal(app)));
                }
                let mut path = format!("/api/v1/applications/{}/operation", enc(app));
                if let Some(ns) = &t.app_namespace {
                    path.push_str(&format!("?appNamespace={}", enc(ns)));
                }
                Ok(Planned {
                    method: "DELETE",
                    path,
                    body: Value::Null,
                    done: format!("the running sync of {app} is being terminated"),
                })
            }
            ActionKind::Reject | ActionKind::Abort => self.rollout_action(t, &seen, "abort"),
            ActionKind::Halt | ActionKind::Unhalt => {
                Err(ActionError::Unsupported("not a source action".into()))
            }
        }
    }

    /// A resource action on the Application's Rollout: refused before sending when the
    /// Application manages none, or when Argo CD lists the action as disabled.
    fn rollout_action(
        &self,
        t: &ArgoTarget,
        seen: &Seen,
        action: &str,
    ) -> Result<Planned, ActionError> {
        let app = &t.application;
        let Some(r) = &seen.rollout else {
            return Err(ActionError::Unsupported(format!(
                "{app} manages no Argo Rollout: Argo CD can't {action} a sync (hold the lane \
                 instead: pause LANE)"
            )));
        };
        if seen.disabled.iter().any(|d| d == action) {
            return Err(ActionError::Unsupported(disabled_refusal(action, &r.name)));
        }
        Ok(Planned {
            method: "POST",
            path: format!(
                "/api/v1/applications/{}/resource/actions?{}",
                enc(app),
                Self::rollout_query(t, r)
            ),
            body: json!(action),
            done: format!("Rollout {}: {action} sent", r.name),
        })
    }

    pub(super) async fn send(&self, req: &ActionRequest) -> Result<ActionAck, ActionError> {
        let p = self.plan_request(req)?;
        let answer = match p.method {
            "DELETE" => self.client.delete(&p.path).await,
            _ => self.client.post(&p.path, &p.body).await,
        };
        match answer {
            Ok(_) => Ok(ActionAck { message: p.done }),
            Err(ArgoError::Status(status, message)) => Err(ActionError::Rejected {
                status,
                code: "argocd".into(),
                message,
            }),
            Err(ArgoError::Unanswered(m)) => Err(ActionError::Unanswered(m)),
            Err(ArgoError::Failed(m)) => Err(ActionError::Failed(m)),
        }
    }
}
