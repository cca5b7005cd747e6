//! What Argo CD's RBAC lets the account do, asked before a key is pressed: `GET
//! /api/v1/account/can-i/applications/{action}/{project}/{app}` answers `{"value": "yes"|"no"}`
//! for `sync` (a sync, a rollback, terminating a sync). Argo CD's can-i takes only the plain
//! actions (get, create, update, delete, sync, override) and answers 400 to a resource action
//! such as `action/argoproj.io/Rollout/resume`, so a Rollout's pause, resume, abort and
//! promote-full are not asked: Argo CD refuses them at send time, in words. Asked per
//! Application at most every [`CAN_I_EVERY`], all at once; a "no" becomes the cells' refusals,
//! in words with the policy line that would allow it. `get` is asked too: the account reads the Application, so a "no"
//! to it means the server did not understand the question (a proxy or gateway that decodes
//! the path differently), and that Application's answers are not trusted. An Argo CD without
//! the endpoint, or an error, changes nothing: Argo CD still refuses at send time, in words.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;

use super::{ArgoSource, ArgoTarget, Seen, enc};
use crate::model::text::sanitize;
use crate::model::{ActionKind, Refusal};

/// How often an Application's permissions are asked again: RBAC changes rarely.
pub const CAN_I_EVERY: Duration = Duration::from_secs(60);

/// The RBAC actions asked of every Application: `get` (the check) and `sync`; the only ones
/// of trainyard's that Argo CD's can-i answers.
pub const ASKED: [&str; 2] = ["get", "sync"];

/// Answers kept: (RBAC object, RBAC action) → when asked, and the answer (`None`: unknown).
/// By object (`PROJECT/[NAMESPACE/]APP`), not name: two app namespaces may each have a `web`.
pub type Kept = HashMap<(String, String), (Instant, Option<bool>)>;

/// An Application's project as Argo CD names it, when it is a Kubernetes name (letters,
/// digits, '-', '.', '_'); anything else from the server is not used.
pub fn project_name(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    ok.then(|| s.to_string())
}

/// The RBAC object of an Application: `PROJECT/APP`, or `PROJECT/NAMESPACE/APP` for one outside
/// Argo CD's own namespace.
pub fn object(project: &str, t: &ArgoTarget) -> String {
    match &t.app_namespace {
        Some(ns) => format!("{project}/{ns}/{}", t.application),
        None => format!("{project}/{}", t.application),
    }
}

/// `GET /api/v1/account/can-i/applications/{action}/{object}`, each part one encoded segment.
pub fn path(action: &str, object: &str) -> String {
    format!(
        "/api/v1/account/can-i/applications/{}/{}",
        enc(action),
        enc(object)
    )
}

/// `{"value": "yes"}` → allowed, `"no"` → denied, anything else → unknown.
pub fn answer(v: &Value) -> Option<bool> {
    match v.get("value").and_then(Value::as_str) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

/// Why the account may not do `action` on `app`, with the policy line that would let it.
pub fn denial(action: &str, app: &str, object: &str) -> String {
    sanitize(
        &format!(
            "Argo CD's RBAC does not let this account {action} {app} (policy line: p, ROLE, \
             applications, {action}, {object}, allow)"
        ),
        600,
    )
}

/// The asked RBAC action that each of trainyard's actions needs on this Application, as act.rs
/// plans it; `None` when it sends something can-i cannot be asked about, or nothing. A promote
/// into a stage whose Rollout waits at a step resumes it when the version is the one waiting
/// (a resource action) and syncs another: the version is not known until the key is pressed,
/// and a "no" to sync alone leaves the resume, so it is not refused beforehand.
pub fn needed(kind: ActionKind, seen: &Seen) -> Option<&'static str> {
    match kind {
        ActionKind::Promote if seen.rollout_at_step => None,
        ActionKind::Promote | ActionKind::Rollback => Some("sync"),
        ActionKind::Abort if seen.rollout.is_none() => Some("sync"),
        _ => None,
    }
}

/// The refusals RBAC's answers make of one Application's cell: none unless `get` was
/// answered yes.
pub fn refusals(
    seen: &Seen,
    app: &str,
    object: &str,
    said: &dyn Fn(&str) -> Option<bool>,
) -> Vec<Refusal> {
    if said("get") != Some(true) {
        return Vec::new();
    }
    [
        ActionKind::Promote,
        ActionKind::Rollback,
        ActionKind::Abort,
        ActionKind::Reject,
        ActionKind::Pause,
        ActionKind::Resume,
        ActionKind::Approve,
    ]
    .into_iter()
    .filter_map(|kind| {
        let action = needed(kind, seen)?;
        (said(action) == Some(false)).then(|| Refusal {
            action: kind,
            reason: denial(action, app, object),
        })
    })
    .collect()
}

impl ArgoSource {
    /// Ask what is due (never asked, or asked longer than [`CAN_I_EVERY`] ago), all at once. An
    /// answer that can't be had leaves the last one standing, or none.
    pub(super) async fn read_rbac(&self, apps: &[(&ArgoTarget, String)]) {
        let now = Instant::now();
        let due: Vec<(String, String)> = {
            let kept = self.rbac.lock().unwrap_or_else(|e| e.into_inner());
            apps.iter()
                .flat_map(|(t, project)| {
                    let object = object(project, t);
                    ASKED.map(|a| (object.clone(), a.to_string()))
                })
                .filter(|key| {
                    kept.get(key)
                        .is_none_or(|(at, _)| now.duration_since(*at) >= CAN_I_EVERY)
                })
                .collect()
        };
        let read = join_all(due.into_iter().map(|(object, action)| async move {
            let said = self.client.get(&path(&action, &object)).await;
            ((object, action), said.ok().as_ref().and_then(answer))
        }))
        .await;
        let mut kept = self.rbac.lock().unwrap_or_else(|e| e.into_inner());
        for (key, said) in read {
            let last = kept.get(&key).and_then(|k| k.1);
            kept.insert(key, (now, said.or(last)));
        }
    }

    /// The last answer about `action` on the RBAC `object` (see [`object`]).
    pub(super) fn rbac_said(&self, object: &str, action: &str) -> Option<bool> {
        self.rbac
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(object.to_string(), action.to_string()))
            .and_then(|k| k.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::argocd::RolloutRef;
    use serde_json::json;

    fn target(app: &str, ns: Option<&str>) -> ArgoTarget {
        ArgoTarget {
            application: app.into(),
            project: None,
            app_namespace: ns.map(String::from),
        }
    }

    #[test]
    fn the_question_and_the_answer() {
        let t = target("payments-prod", None);
        assert_eq!(object("payments", &t), "payments/payments-prod");
        assert_eq!(
            object("payments", &target("web", Some("team-a"))),
            "payments/team-a/web"
        );
        assert_eq!(
            path("sync", "payments/team-a/web"),
            "/api/v1/account/can-i/applications/sync/payments%2Fteam-a%2Fweb"
        );
        assert_eq!(answer(&json!({"value": "yes"})), Some(true));
        assert_eq!(answer(&json!({"value": "no"})), Some(false));
        assert_eq!(answer(&json!({"value": "maybe"})), None);
        assert_eq!(answer(&json!(["yes"])), None);
        assert_eq!(ASKED, ["get", "sync"], "what Argo CD's can-i answers");
    }

    /// Hostile strings: a project from the server that is not a Kubernetes name is not used;
    /// whatever the parts, the question is one path of plain segments, a strange answer is
    /// unknown, and the words carry no control or bidi characters.
    #[test]
    fn hostile_strings_in_the_question_the_answer_and_the_words() {
        for bad in [
            "",
            "core\u{1b}]52;c;AAAA\u{7}",
            "a/b",
            "core\u{202e}gnik",
            "x y",
            "../etc",
        ] {
            assert_eq!(project_name(bad), None, "{bad:?}");
        }
        assert_eq!(
            project_name("core-banking").as_deref(),
            Some("core-banking")
        );
        let p = path("sy\u{1b}[2Jnc/x", "p\u{202e}/a?b#c%2F");
        let rest = p
            .strip_prefix("/api/v1/account/can-i/applications/")
            .unwrap();
        assert_eq!(rest.split('/').count(), 2, "{p}");
        assert!(
            p.chars().all(|c| c.is_ascii_graphic()),
            "{p:?}: only printable ASCII"
        );
        for v in [
            json!({"value": "yes\u{1b}[0m"}),
            json!({"value": " yes"}),
            json!({"value": true}),
            json!({"value": null}),
            json!("yes"),
        ] {
            assert_eq!(answer(&v), None, "{v}");
        }
        let w = denial("sync\u{1b}]52;c;AAAA\u{7}", "app\u{202e}", "p\u{9b}31m/app");
        assert!(
            !w.chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{w:?}"
        );
        assert!(
            w.starts_with("Argo CD's RBAC does not let this account sync"),
            "{w}"
        );
    }

    /// Each action needs what act.rs sends: a sync, or the Rollout's own action; a "no" is a
    /// refusal with the policy line; nothing is refused unless `get` was answered yes.
    #[test]
    fn a_no_is_a_refusal_with_the_policy_line() {
        let plain = Seen::default();
        let no_sync = |a: &str| match a {
            "get" => Some(true),
            "sync" => Some(false),
            _ => Some(true),
        };
        let r = refusals(&plain, "payments-prod", "payments/payments-prod", &no_sync);
        let kinds: Vec<ActionKind> = r.iter().map(|r| r.action).collect();
        assert_eq!(
            kinds,
            [ActionKind::Promote, ActionKind::Rollback, ActionKind::Abort]
        );
        assert_eq!(
            r[0].reason,
            "Argo CD's RBAC does not let this account sync payments-prod (policy line: p, ROLE, \
             applications, sync, payments/payments-prod, allow)"
        );
        // A canary waiting at a step: approve, resume, pause and abort are the Rollout's
        // resource actions, which can-i does not answer; promote resumes the version waiting
        // or syncs another, so a "no" to sync alone refuses nothing beforehand.
        let waiting = Seen {
            rollout: Some(RolloutRef {
                name: "payments".into(),
                namespace: "payments".into(),
                version: "v1alpha1".into(),
            }),
            rollout_at_step: true,
            ..Seen::default()
        };
        let r = refusals(&waiting, "payments-canary", "p/payments-canary", &no_sync);
        let kinds: Vec<ActionKind> = r.iter().map(|r| r.action).collect();
        assert_eq!(
            kinds,
            [ActionKind::Rollback],
            "only the rollback syncs for sure"
        );
        let moving = Seen {
            rollout_at_step: false,
            ..waiting.clone()
        };
        let r = refusals(&moving, "payments-canary", "p/payments-canary", &no_sync);
        let kinds: Vec<ActionKind> = r.iter().map(|r| r.action).collect();
        assert_eq!(kinds, [ActionKind::Promote, ActionKind::Rollback]);
        // Unknown answers, or a server that says no even to reading: nothing refused.
        assert!(refusals(&plain, "a", "p/a", &|_| None).is_empty());
        assert!(refusals(&plain, "a", "p/a", &|_| Some(false)).is_empty());
    }
}
