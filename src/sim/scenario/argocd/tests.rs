//! The simulated Argo CD's own behaviour: canaries that wait or walk, syncs, terminations,
//! rollbacks under automated sync, RBAC's answers.

use super::*;
use crate::sim::SimOptions;

fn sim() -> (ArgoSim, DateTime<Utc>) {
    let t0 = DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let sc = Scenario::new(&SimOptions::default(), t0, "http://127.0.0.1:1");
    (sc.argo_sim(), t0)
}

fn get(a: &mut ArgoSim, now: DateTime<Utc>, path: &str, q: &[(&str, &str)]) -> Value {
    let q: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (s, v) = a.answer(now, "GET", path, &q, &Value::Null, false);
    assert_eq!(s, 200, "{v}");
    v
}

/// A write (`POST`, `DELETE`) with no query, as the demo's account: its status and answer.
fn write(
    a: &mut ArgoSim,
    now: DateTime<Utc>,
    method: &str,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    a.answer(now, method, path, &[], body, false)
}

#[test]
fn the_ledger_canary_waits_at_a_step_until_resumed_then_walks_to_the_end() {
    let (mut a, t0) = sim();
    let list = get(&mut a, t0, "/api/v1/applications", &[]);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 9, "{names:?}");
    let q = [
        ("namespace", "ledger-canary"),
        ("resourceName", "ledger"),
        ("version", "v1alpha1"),
        ("group", "argoproj.io"),
        ("kind", "Rollout"),
    ];
    let m = get(
        &mut a,
        t0,
        "/api/v1/applications/ledger-canary/resource",
        &q,
    );
    let r: Value = serde_json::from_str(m["manifest"].as_str().unwrap()).unwrap();
    assert_eq!(r["status"]["phase"], "Paused");
    assert_eq!(
        r["status"]["pauseConditions"][0]["reason"],
        "CanaryPauseStep"
    );
    assert_eq!(r["status"]["currentStepIndex"], 1);
    // It waits however long nobody promotes it.
    let later = t0 + TimeDelta::minutes(10);
    let m = get(
        &mut a,
        later,
        "/api/v1/applications/ledger-canary/resource",
        &q,
    );
    assert!(m["manifest"].as_str().unwrap().contains("CanaryPauseStep"));
    let qs: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (s, _) = a.answer(
        later,
        "POST",
        "/api/v1/applications/ledger-canary/resource/actions",
        &qs,
        &json!("resume"),
        true,
    );
    assert_eq!(s, 403, "a read-only token can't act");
    let (s, _) = a.answer(
        later,
        "POST",
        "/api/v1/applications/ledger-canary/resource/actions",
        &qs,
        &json!("resume"),
        false,
    );
    assert_eq!(s, 200);
    let m = get(
        &mut a,
        later + TimeDelta::minutes(1),
        "/api/v1/applications/ledger-canary/resource",
        &q,
    );
    let r: Value = serde_json::from_str(m["manifest"].as_str().unwrap()).unwrap();
    assert_eq!(r["status"]["phase"], "Healthy", "{r}");
    assert_eq!(r["status"]["stableRS"], r["status"]["currentPodHash"]);
}

/// The demo's Argo lane: auth-service's canary Rollout waits at a step for a promotion (a
/// minute later still), on its canary's version; its prod stays on the version before.
#[test]
fn auth_services_canary_waits_at_a_step_and_prod_has_the_version_before() {
    let (mut a, t0) = sim();
    let q = [
        ("namespace", "auth-service-canary"),
        ("resourceName", "auth-service"),
        ("version", "v1alpha1"),
        ("group", "argoproj.io"),
        ("kind", "Rollout"),
    ];
    let later = t0 + TimeDelta::minutes(1);
    let path = "/api/v1/applications/auth-service-canary/resource";
    let r: Value =
        serde_json::from_str(get(&mut a, later, path, &q)["manifest"].as_str().unwrap()).unwrap();
    assert_eq!(r["status"]["phase"], "Paused", "{r}");
    assert_eq!(
        r["status"]["pauseConditions"][0]["reason"],
        "CanaryPauseStep"
    );
    assert_eq!(r["status"]["currentStepIndex"], 1);
    assert_ne!(r["status"]["stableRS"], r["status"]["currentPodHash"]);
    let app = |a: &mut ArgoSim, name: &str| {
        get(a, later, &format!("/api/v1/applications/{name}"), &[])["status"]["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["revision"]
            .clone()
    };
    let canary = app(&mut a, "auth-service-canary");
    let prod = app(&mut a, "auth-service-prod");
    assert_ne!(canary, prod, "prod is on the version before the canary's");
}

#[test]
fn rollback_is_refused_under_automated_sync_and_a_sync_finishes() {
    let (mut a, t0) = sim();
    let (s, v) = write(
        &mut a,
        t0,
        "POST",
        "/api/v1/applications/notifications-prod/rollback",
        &json!({"id": 1}),
    );
    assert_eq!(
        (s, v["message"].as_str()),
        (
            400,
            Some("rollback cannot be initiated when auto-sync is enabled")
        )
    );
    let (s, _) = write(
        &mut a,
        t0,
        "POST",
        "/api/v1/applications/ledger-staging/sync",
        &json!({"revision": "abc1234"}),
    );
    assert_eq!(s, 200);
    let (s, _) = write(
        &mut a,
        t0,
        "POST",
        "/api/v1/applications/ledger-staging/sync",
        &json!({"revision": "abc1234"}),
    );
    assert_eq!(s, 400, "one operation at a time");
    let app = get(
        &mut a,
        t0 + TimeDelta::seconds(30),
        "/api/v1/applications/ledger-staging",
        &[],
    );
    assert_eq!(app["status"]["operationState"]["phase"], "Succeeded");
    assert_eq!(
        app["status"]["history"].as_array().unwrap().last().unwrap()["revision"],
        "abc1234"
    );
    assert_eq!(
        app["status"]["operationState"]["operation"]["initiatedBy"]["username"],
        ACCOUNT
    );
}

/// A sync of an Application without a Rollout runs long enough to be terminated; `DELETE
/// …/operation` makes it terminating, then failed with Argo CD's words, the version where
/// it was; with nothing running, Argo CD's refusal.
#[test]
fn a_running_sync_is_terminated_and_nothing_running_is_refused() {
    let (mut a, t0) = sim();
    let path = "/api/v1/applications/ledger-staging";
    let before = get(&mut a, t0, path, &[])["status"]["sync"]["revision"].clone();
    let (s, v) = write(
        &mut a,
        t0,
        "DELETE",
        &format!("{path}/operation"),
        &Value::Null,
    );
    assert_eq!(
        (s, v["message"].as_str()),
        (
            400,
            Some("Unable to terminate operation. No operation is in progress")
        )
    );
    let (s, _) = write(
        &mut a,
        t0,
        "POST",
        &format!("{path}/sync"),
        &json!({"revision": "abc1234"}),
    );
    assert_eq!(s, 200);
    let t1 = t0 + TimeDelta::seconds(8);
    assert_eq!(
        get(&mut a, t1, path, &[])["status"]["operationState"]["phase"],
        "Running",
        "still running after 8 s"
    );
    let (s, _) = a.answer(
        t1,
        "DELETE",
        &format!("{path}/operation"),
        &[],
        &Value::Null,
        true,
    );
    assert_eq!(s, 403, "a read-only token can't terminate");
    let (s, _) = write(
        &mut a,
        t1,
        "DELETE",
        &format!("{path}/operation"),
        &Value::Null,
    );
    assert_eq!(s, 200);
    let op = &get(&mut a, t1, path, &[])["status"]["operationState"];
    assert_eq!(op["phase"], "Terminating", "{op}");
    let app = get(&mut a, t1 + TimeDelta::seconds(30), path, &[]);
    let op = &app["status"]["operationState"];
    assert_eq!(
        (op["phase"].as_str(), op["message"].as_str()),
        (Some("Failed"), Some("Operation terminated"))
    );
    assert_eq!(app["status"]["sync"]["revision"], before, "never deployed");
}

/// can-i: yes to what the token may do, no to what RBAC denies (and to everything but
/// `get` for the read-only token); the action and object are one encoded segment each.
#[test]
fn can_i_answers_the_policy() {
    let (mut a, t0) = sim();
    let ask = |a: &mut ArgoSim, path: &str, readonly: bool| {
        let (s, v) = a.answer(t0, "GET", path, &[], &Value::Null, readonly);
        (s, v["value"].as_str().unwrap_or("").to_string())
    };
    let sync = "/api/v1/account/can-i/applications/sync/core-banking%2Fledger-prod";
    assert_eq!(ask(&mut a, sync, false), (200, "yes".into()));
    assert_eq!(ask(&mut a, sync, true), (200, "no".into()));
    let get = "/api/v1/account/can-i/applications/get/core-banking%2Fledger-prod";
    assert_eq!(ask(&mut a, get, true), (200, "yes".into()));
    let other = "/api/v1/account/can-i/applications/sync/messaging%2Fledger-prod";
    assert_eq!(
        ask(&mut a, other, false),
        (200, "no".into()),
        "not its project"
    );
    let raw = "/api/v1/account/can-i/applications/sync/core-banking/ledger-prod";
    assert_eq!(ask(&mut a, raw, false).0, 404);
    let resource_action = "/api/v1/account/can-i/applications/action%2Fargoproj.io%2FRollout%2Fresume/core-banking%2Fledger-canary";
    assert_eq!(
        ask(&mut a, resource_action, false).0,
        400,
        "Argo CD's can-i answers only the plain actions"
    );
    assert!(a.set_rbac("ledger-prod", "sync", true));
    assert!(!a.set_rbac("nope", "sync", true));
    assert_eq!(ask(&mut a, sync, false), (200, "no".into()));
    let (s, v) = write(
        &mut a,
        t0,
        "POST",
        "/api/v1/applications/ledger-prod/sync",
        &json!({"revision": "abc1234"}),
    );
    assert_eq!(s, 403);
    assert!(
        v["message"].as_str().unwrap().starts_with(
            "permission denied: applications, sync, core-banking/ledger-prod, sub: trainyard,"
        ),
        "{v}"
    );
    assert!(a.set_rbac("ledger-prod", "sync", false));
    assert_eq!(ask(&mut a, sync, false), (200, "yes".into()));
}
