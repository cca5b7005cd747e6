//! The state table of docs/sources/argocd.md, pinned on Argo CD's and Argo Rollouts' own
//! payloads (tests/fixtures/argocd, with their source in its SOURCE file).

use serde_json::{Value, json};

use super::map::{self, Application, Rollout};
use crate::model::CellState;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/argocd");

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{path}"))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rollout(name: &str) -> Rollout {
    serde_json::from_value(fixture(&format!("rollouts/{name}"))).expect(name)
}

fn velero() -> Value {
    fixture("application-velero.json")
}

fn app(v: &Value) -> Application {
    map::application(v).unwrap()
}

/// Every Rollout of Argo CD's health tests: our state agrees with the health Argo CD itself
/// gives it (health_test.json is Argo CD's expectation, converted).
#[test]
fn rollout_states_agree_with_argo_cds_own_health_checks() {
    let expected = fixture("rollouts/health_test.json");
    let cases = expected.as_array().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for case in cases {
        let file = case["file"].as_str().unwrap();
        let health = case["status"].as_str().unwrap();
        let got = map::rollout_state(&rollout(file)).map(|(s, ..)| s);
        let ok = match health {
            "Healthy" => got.is_none(),
            "Progressing" => got == Some(CellState::Running),
            "Degraded" => matches!(got, Some(CellState::Failed | CellState::Cancelled)),
            "Suspended" => matches!(got, Some(CellState::Paused | CellState::AwaitingApproval)),
            other => panic!("{file}: unexpected health {other}"),
        };
        assert!(ok, "{file}: Argo CD says {health}, we say {got:?}");
    }
}

#[test]
fn a_canary_paused_at_a_step_waits_for_a_promotion_with_its_step_and_weight() {
    let r = rollout("suspended_v1.0_pausedRollout.json");
    let (state, message, progress, approval) = map::rollout_state(&r).unwrap();
    assert_eq!(state, CellState::AwaitingApproval);
    assert_eq!(
        message,
        "paused at a canary step: promote to go on, abort to stop (step 2/8, canary at 21%)"
    );
    assert_eq!(progress, Some(1.0 / 8.0));
    assert_eq!(
        approval.unwrap().environment.as_deref(),
        Some("the canary, step 2/8, canary at 21%")
    );
    let s = map::step(&r).unwrap();
    assert!(s.indefinite_pause);
}

#[test]
fn pauses_aborts_and_degraded_rollouts_in_words() {
    let (state, message, ..) = map::rollout_state(&rollout("suspended_userPause.json")).unwrap();
    assert_eq!(state, CellState::Paused);
    assert_eq!(message, "paused (PausedByUser) (step 2/2, canary at 20%)");

    let (state, message, ..) =
        map::rollout_state(&rollout("degraded_abortedRollout.json")).unwrap();
    assert_eq!(state, CellState::Cancelled);
    assert_eq!(
        message,
        "rollout aborted: traffic is back on the stable version"
    );

    let (state, message, ..) =
        map::rollout_state(&rollout("degraded_statusPhaseMessage.json")).unwrap();
    assert_eq!(state, CellState::Failed);
    assert!(
        message.starts_with("rollout degraded: InvalidSpec"),
        "{message}"
    );

    let (state, message, progress, _) =
        map::rollout_state(&rollout("canary_progressing_setWeightStep.json")).unwrap();
    assert_eq!(state, CellState::Running);
    assert!(
        message.starts_with("rolling out: more replicas"),
        "{message}"
    );
    assert!(progress.is_some());

    assert!(map::rollout_state(&rollout("healthy_newWorkloadGeneration.json")).is_none());
    let (state, message, ..) =
        map::rollout_state(&rollout("progressing_newGeneration.json")).unwrap();
    assert_eq!(state, CellState::Running);
    assert!(
        message.starts_with("waiting for the rollout's new spec"),
        "{message}"
    );
}

#[test]
fn a_settled_application_is_succeeded_at_its_deployed_revision_with_its_history() {
    let a = app(&velero());
    let c = map::app_cell(&a, None, "argo");
    assert_eq!(c.state, CellState::Succeeded);
    assert_eq!(
        c.version.as_deref(),
        Some("ea8759964626a583667a2bfd08f334ec2070040a")
    );
    assert_eq!(c.actor.as_deref(), Some("foo@example.com"));
    assert_eq!(c.message.as_deref(), Some("healthy"));
    assert_eq!(
        c.updated_at.map(|t| t.to_rfc3339()),
        Some("2024-03-05T07:33:04+00:00".into())
    );
    // Ten syncs of the same revision: history, but nothing else to roll back to.
    assert_eq!(c.history.len(), 10);
    assert_eq!(
        c.history[0].at.map(|t| t.to_rfc3339()),
        Some("2024-03-05T07:33:04+00:00".into())
    );
    assert!(c.last_good().is_none());
    assert!(!map::automated(&a));
    assert!(map::rollout_of(&a).is_none());
    assert_eq!(map::history_id(&a, "ea87599"), Some(23));
    assert_eq!(map::history_id(&a, "ea875"), None, "too short a prefix");
}

/// The application with one field changed at a time: each status Argo CD documents.
#[test]
fn the_state_table() {
    type Edit = fn(&mut Value);
    let rows: &[(&str, Edit, CellState, &str)] = &[
        (
            "operation running",
            |v| v["status"]["operationState"]["phase"] = json!("Running"),
            CellState::Running,
            "syncing: successfully synced (all tasks run)",
        ),
        (
            "operation terminating",
            |v| {
                v["status"]["operationState"]["phase"] = json!("Terminating");
                v["status"]["operationState"]["message"] = json!("");
            },
            CellState::Running,
            "terminating the sync",
        ),
        (
            "operation failed",
            |v| {
                v["status"]["operationState"]["phase"] = json!("Failed");
                v["status"]["operationState"]["message"] =
                    json!("one or more objects failed to apply");
            },
            CellState::Failed,
            "sync failed: one or more objects failed to apply",
        ),
        (
            "operation error",
            |v| v["status"]["operationState"]["phase"] = json!("Error"),
            CellState::Failed,
            "sync error: successfully synced (all tasks run)",
        ),
        (
            "progressing",
            |v| v["status"]["health"] = json!({"status": "Progressing"}),
            CellState::Running,
            "progressing",
        ),
        (
            "degraded",
            |v| {
                v["status"]["health"] =
                    json!({"status": "Degraded", "message": "Deployment has timed out"})
            },
            CellState::Failed,
            "degraded: Deployment has timed out",
        ),
        (
            "suspended",
            |v| v["status"]["health"] = json!({"status": "Suspended"}),
            CellState::Paused,
            "suspended",
        ),
        (
            "missing",
            |v| v["status"]["health"] = json!({"status": "Missing"}),
            CellState::Pending,
            "missing: its resources are not deployed",
        ),
        (
            "unknown",
            |v| v["status"]["health"] = json!({"status": "Unknown"}),
            CellState::Unknown,
            "health unknown",
        ),
        (
            "out of sync",
            |v| {
                v["status"]["sync"]["status"] = json!("OutOfSync");
                v["status"]["sync"]["revision"] = json!("91aa0f2c0c3e5b9b8f1de1e1d1a7b0c4d5e6f701");
            },
            CellState::Succeeded,
            "healthy; out of sync (source at 91aa0f2)",
        ),
        (
            "no operation yet",
            |v| {
                v["status"]
                    .as_object_mut()
                    .unwrap()
                    .remove("operationState");
            },
            CellState::Succeeded,
            "healthy",
        ),
    ];
    for (what, edit, state, message) in rows {
        let mut v = velero();
        edit(&mut v);
        let c = map::app_cell(&app(&v), None, "argo");
        assert_eq!(c.state, *state, "{what}");
        assert_eq!(c.message.as_deref(), Some(*message), "{what}");
    }
}

#[test]
fn a_running_sync_shows_the_revision_it_syncs_to() {
    let mut v = velero();
    let op = &mut v["status"]["operationState"];
    op["phase"] = json!("Running");
    op["operation"]["sync"]["revision"] = json!("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
    op["operation"]["initiatedBy"] = json!({"automated": true});
    let c = map::app_cell(&app(&v), None, "argo");
    assert_eq!(
        c.version.as_deref(),
        Some("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0")
    );
    assert_eq!(c.actor.as_deref(), Some("automated sync"));
}

/// A running sync is what an abort without a Rollout terminates; terminated, Argo CD ends it
/// `Failed` with "Operation terminated": the cell is cancelled (stopped, not broken), while
/// another failure stays a failure.
#[test]
fn a_terminated_sync_is_cancelled_and_only_a_running_one_can_be_terminated() {
    let mut v = velero();
    v["status"]["operationState"]["phase"] = json!("Running");
    assert!(map::sync_running(&app(&v)));
    v["status"]["operationState"]["phase"] = json!("Terminating");
    assert!(!map::sync_running(&app(&v)));
    let c = map::app_cell(&app(&v), None, "argo");
    assert_eq!(
        (c.state, c.message.as_deref()),
        (
            CellState::Running,
            Some("terminating the sync: successfully synced (all tasks run)")
        )
    );
    v["status"]["operationState"]["phase"] = json!("Failed");
    v["status"]["operationState"]["message"] = json!("Operation terminated");
    let c = map::app_cell(&app(&v), None, "argo");
    assert_eq!(
        (c.state, c.message.as_deref()),
        (
            CellState::Cancelled,
            Some("sync terminated: it was stopped before it finished")
        )
    );
    v["status"]["operationState"]["message"] = json!("one or more objects failed to apply");
    let c = map::app_cell(&app(&v), None, "argo");
    assert_eq!(c.state, CellState::Failed);
    assert!(!map::sync_running(&app(&v)));
}

#[test]
fn automated_sync_is_read_even_when_empty() {
    let mut v = velero();
    v["spec"]["syncPolicy"]["automated"] = json!({});
    assert!(map::automated(&app(&v)));
    v["spec"]["syncPolicy"]["automated"] = Value::Null;
    assert!(!map::automated(&app(&v)));
}

#[test]
fn an_application_that_manages_a_rollout_takes_the_rollouts_state() {
    let mut v = velero();
    v["status"]["resources"].as_array_mut().unwrap().push(
        json!({"group": "argoproj.io", "version": "v1alpha1", "kind": "Rollout",
                     "namespace": "test-lla", "name": "rollouts-demo",
                     "health": {"status": "Suspended", "message": "CanaryPauseStep"}}),
    );
    let a = app(&v);
    let r = map::rollout_of(&a).unwrap();
    assert_eq!(
        (r.name.as_str(), r.namespace.as_str()),
        ("rollouts-demo", "test-lla")
    );
    let c = map::app_cell(
        &a,
        Some(&rollout("suspended_v1.0_pausedRollout.json")),
        "argo",
    );
    assert_eq!(c.state, CellState::AwaitingApproval);
    assert!(c.approval.is_some());
    // A running sync comes first: the Rollout has not seen the new spec yet.
    v["status"]["operationState"]["phase"] = json!("Running");
    let c = map::app_cell(
        &app(&v),
        Some(&rollout("suspended_v1.0_pausedRollout.json")),
        "argo",
    );
    assert_eq!(c.state, CellState::Running);
}

#[test]
fn hostile_strings_from_argo_cd_are_neutralized() {
    let mut v = velero();
    v["status"]["operationState"]["phase"] = json!("Failed");
    v["status"]["operationState"]["message"] =
        json!("\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}\u{1b}[2Jfailed \u{202e}evil");
    v["status"]["operationState"]["operation"]["initiatedBy"]["username"] =
        json!("mallory\u{1b}[31m");
    v["status"]["history"][9]["revision"] = json!("v1\u{1b}[2J");
    let c = map::app_cell(&app(&v), None, "argo");
    for s in [
        c.message.as_deref().unwrap(),
        c.actor.as_deref().unwrap(),
        &c.history[0].version,
    ] {
        assert!(
            !s.chars()
                .any(|ch| ch == '\u{1b}' || ch == '\u{7}' || ch == '\u{202e}'),
            "{s:?}"
        );
    }
    let actions =
        map::resource_actions(&json!({"actions": [{"name": "re\u{1b}[2Jsume", "disabled": true}]}));
    assert!(!actions[0].name.contains('\u{1b}'));
}

#[test]
fn lists_and_manifests() {
    assert_eq!(
        map::list_items(&json!({"items": null, "metadata": {}}))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(map::list_items(&json!({"metadata": {}})).unwrap().len(), 0);
    assert!(map::list_items(&json!([1, 2])).is_err());
    assert!(map::application(&json!({"metadata": "nope"})).is_err());
    // A list where a list belongs, else nothing: one odd field costs nothing else.
    let a =
        map::application(&json!({"status": {"history": "nope", "health": {"status": "Healthy"}}}));
    assert_eq!(a.unwrap().status.health.status, "Healthy");
    let manifest = serde_json::to_string(&fixture("rollouts/suspended_userPause.json")).unwrap();
    let r = map::rollout_manifest(&json!({ "manifest": manifest })).unwrap();
    assert!(r.spec.paused);
    assert!(map::rollout_manifest(&json!({})).is_err());
    assert!(map::rollout_manifest(&json!({"manifest": "{"})).is_err());
    let a = map::resource_actions(&json!({"actions": [{"name": "resume", "disabled": false},
                                                       {"name": "pause", "disabled": true}]}));
    assert_eq!(a.len(), 2);
    assert!(a[1].disabled);
    assert!(map::resource_actions(&json!({"actions": 3})).is_empty());
}

#[test]
fn a_sync_window_that_forbids_syncs_is_a_refusal_in_words() {
    // The shape of Argo CD's ApplicationSyncWindowsResponse (server/application/application.proto).
    let deny = json!({"activeWindows": [{"kind": "deny", "schedule": "0 22 * * *", "duration": "8h",
                                          "manualSync": false}],
                      "assignedWindows": [], "canSync": false});
    assert_eq!(
        map::window_refusal("payments-prod", &deny).as_deref(),
        Some(
            "a sync window forbids syncing payments-prod now (deny window \"0 22 * * *\" for 8h): \
             Argo CD refuses a sync until it lets one through"
        )
    );
    let closed_allow = json!({"activeWindows": null, "canSync": false});
    assert!(
        map::window_refusal("a", &closed_allow)
            .unwrap()
            .contains("no allow window is open")
    );
    // A deny window that lets manual syncs through: Argo CD says canSync, and so do we.
    let manual = json!({"activeWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h",
                                            "manualSync": true}], "canSync": true});
    assert!(map::window_refusal("a", &manual).is_none());
    assert!(map::window_refusal("a", &json!({})).is_none());
    assert!(map::window_refusal("a", &json!("nonsense")).is_none());
}
