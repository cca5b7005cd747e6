//! What Argo CD's RBAC lets the account do, asked before a key is pressed: `GET
//! /api/v1/account/can-i/applications/{action}/{project}/{app}` answers `{"value": "yes"|"no"}`
//! for `sync` (a sync, a rollback, terminating a sync) and a Rollout's resource actions
//! (`action/argoproj.io/Rollout/resume`, …). Asked per Application at most every
//! [`CAN_I_EVERY`], all at once; a "no" becomes the cells' refusals, in words with the policy
//! line that would allow it. `get` is asked too: the account reads the Application, so a "no"
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

/// The Rollout resource actions trainyard sends (act.rs).
const ROLLOUT_ACTIONS: [&str; 4] = ["pause", "resume", "abort", "promote-full"];

/// Answers kept: (RBAC object, RBAC action) → when asked, and the answer (`None`: unknown).
/// By object (`PROJECT/[NAMESPACE/]APP`), not name: two app namespaces may each have a `web`.
pub type Kept = HashMap<(String, String), (Instant, Option<bool>)>;

/// The RBAC action of a Rollout resource action.
fn rollout_action(name: &str) -> String {
    format!("action/argoproj.io/Rollout/{name}")
}

/// The RBAC actions asked of an Application: `get` (the check), `sync`, and with a Rollout its
/// resource actions.
pub fn asked(has_rollout: bool) -> Vec<String> {
    let mut a = vec!["get".to_string(), "sync".to_string()];
    if has_rollout {
        a.extend(ROLLOUT_ACTIONS.iter().map(|n| rollout_action(n)));
    }
    a
}

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
    let what = match action.strip_prefix("action/argoproj.io/Rollout/") {
        Some(name) => format!("run the Rollout action {name} of {app}"),
        None => format!("{action} {app}"),
    };
    sanitize(
        &format!(
            "Argo CD's RBAC does not let this account {what} (policy line: p, ROLE, \
             applications, {action}, {object}, allow)"
        ),
        600,
    )
}

/// The RBAC actions that would let each of trainyard's actions go on this Application, as
/// act.rs plans it (any one of them is enough; none: not a request to Argo CD here). A promote
/// into a stage whose Rollout waits at a step resumes it when the version is the one waiting,
/// and syncs another: the version is not known until the key is pressed, so either will do.
pub fn needed(kind: ActionKind, seen: &Seen) -> Vec<String> {
    let rollout = seen.rollout.is_some();
    let one = |a: String| vec![a];
    match kind {
        ActionKind::Promote if seen.rollout_at_step => {
            vec![rollout_action("resume"), "sync".into()]
        }
        ActionKind::Promote | ActionKind::Rollback => one("sync".into()),
        ActionKind::Abort if !rollout => one("sync".into()),
        ActionKind::Abort | ActionKind::Reject if rollout => one(rollout_action("abort")),
        ActionKind::Pause if rollout => one(rollout_action("pause")),
        ActionKind::Resume if rollout => one(rollout_action("resume")),
        ActionKind::Approve if seen.rollout_at_step => one(rollout_action("resume")),
        _ => Vec::new(),
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
        let ways = needed(kind, seen);
        let first = ways.first()?;
        ways.iter()
            .all(|a| said(a) == Some(false))
            .then(|| Refusal {
                action: kind,
                reason: denial(first, app, object),
            })
    })
    .collect()
}

impl ArgoSource {
    /// Ask what is due (never asked, or asked longer than [`CAN_I_EVERY`] ago), all at once. An
    /// answer that can't be had leaves the last one standing, or none.
    pub(super) async fn read_rbac(&self, apps: &[(&ArgoTarget, String, bool)]) {
        let now = Instant::now();
        let due: Vec<(String, String)> = {
            let kept = self.rbac.lock().unwrap_or_else(|e| e.into_inner());
            apps.iter()
                .flat_map(|(t, project, has_rollout)| {
                    let object = object(project, t);
                    asked(*has_rollout)
                        .into_iter()
                        .map(move |a| (object.clone(), a))
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
            path(
                "action/argoproj.io/Rollout/resume",
                "payments/payments-prod"
            ),
            "/api/v1/account/can-i/applications/action%2Fargoproj.io%2FRollout%2Fresume/payments%2Fpayments-prod"
        );
        assert_eq!(answer(&json!({"value": "yes"})), Some(true));
        assert_eq!(answer(&json!({"value": "no"})), Some(false));
        assert_eq!(answer(&json!({"value": "maybe"})), None);
        assert_eq!(answer(&json!(["yes"])), None);
        assert_eq!(asked(false), ["get", "sync"]);
        assert_eq!(asked(true).len(), 6);
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
        let p = path(
            "action/argoproj.io/Rollout/re\u{1b}[2Jsume",
            "p\u{202e}/a?b#c%2F",
        );
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
        let w = denial(
            "action/argoproj.io/Rollout/\u{1b}]52;c;AAAA\u{7}",
            "app\u{202e}",
            "p\u{9b}31m/app",
        );
        assert!(
            !w.chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{w:?}"
        );
        assert!(w.starts_with("Argo CD's RBAC does not let this account run the Rollout action"));
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
        // A canary waiting at a step: approve and resume are the Rollout's resume; promote
        // resumes the version waiting or syncs another, so a "no" to resume alone leaves it.
        let waiting = Seen {
            rollout: Some(RolloutRef {
                name: "payments".into(),
                namespace: "payments".into(),
                version: "v1alpha1".into(),
            }),
            rollout_at_step: true,
            ..Seen::default()
        };
        let no_resume = |a: &str| Some(a != "action/argoproj.io/Rollout/resume");
        let r = refusals(&waiting, "payments-canary", "p/payments-canary", &no_resume);
        let kinds: Vec<ActionKind> = r.iter().map(|r| r.action).collect();
        assert_eq!(kinds, [ActionKind::Resume, ActionKind::Approve]);
        assert!(
            r[0].reason.starts_with(
                "Argo CD's RBAC does not let this account run the Rollout action resume of \
                 payments-canary (policy line: p, ROLE, applications, \
                 action/argoproj.io/Rollout/resume, p/payments-canary, allow)"
            ),
            "{}",
            r[0].reason
        );
        let neither = |a: &str| Some(a == "get");
        let r = refusals(&waiting, "payments-canary", "p/payments-canary", &neither);
        assert_eq!(r[0].action, ActionKind::Promote, "no way left to promote");
        // Unknown answers, or a server that says no even to reading: nothing refused.
        assert!(refusals(&plain, "a", "p/a", &|_| None).is_empty());
        assert!(refusals(&plain, "a", "p/a", &|_| Some(false)).is_empty());
    }
}
