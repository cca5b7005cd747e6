//! The scenario, driven with explicit time: no HTTP, no clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::sim::SimOptions;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T14:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn scenario(opts: SimOptions) -> Scenario {
    Scenario::new(&opts, t0(), "http://127.0.0.1:9")
}

fn default() -> Scenario {
    scenario(SimOptions::default())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn cell(sc: &Scenario, lane: &str, stage: &str) -> Value {
    let j = sc.train_json();
    j["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lane"] == lane && c["stage"] == stage)
        .unwrap_or_else(|| panic!("no cell {lane} {stage}"))
        .clone()
}

fn metric(sc: &Scenario, lane: &str, stage: &str, name: &str) -> Value {
    let j = sc.train_json();
    j["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["lane"] == lane && m["stage"] == stage && m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} of {lane} {stage}"))
        .clone()
}

fn state(sc: &Scenario, lane: &str, stage: &str) -> String {
    cell(sc, lane, stage)["state"].as_str().unwrap().to_string()
}

fn version(sc: &Scenario, lane: &str, stage: &str) -> String {
    cell(sc, lane, stage)["version"]
        .as_str()
        .unwrap()
        .to_string()
}

fn act(
    sc: &mut Scenario,
    action: &str,
    lane: &str,
    stage: &str,
    version: Option<&str>,
) -> Result<Ack, Reject> {
    let mut req = json!({"action": action, "lane": lane, "stage": stage, "actor": "alice@jump1", "reason": "release 2026.48"});
    if let Some(v) = version {
        req["version"] = json!(v);
    }
    sc.act(&req)
}

/// The error rate of notifications' canary: the bad version's climb.
fn notifications_canary_error_rate(sc: &Scenario) -> f64 {
    metric(sc, "notifications", "canary", "error_rate")["value"]
        .as_f64()
        .unwrap()
}

/// Whether a list (checks, history) has an entry in `state`.
fn any_in_state(list: &Value, state: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|e| e["state"] == state))
}

const CONFLICT: (u16, &str) = (409, "conflict");

/// How `act` refuses "ACTION LANE STAGE [VERSION]".
fn refusal(sc: &mut Scenario, request: &str) -> (u16, &'static str) {
    let w: Vec<&str> = request.split(' ').collect();
    code(act(sc, w[0], w[1], w[2], w.get(3).copied()))
}

fn code(r: Result<Ack, Reject>) -> (u16, &'static str) {
    let e = r.expect_err("should be refused");
    (e.status, e.code)
}

/// Run the scenario in steps until `f` holds; `None` if it never does within `limit`.
fn until(
    sc: &mut Scenario,
    step: u64,
    limit: u64,
    mut f: impl FnMut(&Scenario) -> bool,
) -> Option<u64> {
    let mut t = 0;
    while t <= limit {
        if f(sc) {
            return Some(t);
        }
        sc.advance(secs(step));
        t += step;
    }
    None
}

fn is_sha(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn same_seed_same_train_however_often_it_is_looked_at() {
    let mut a = default();
    let mut b = default();
    let mut c = default();
    for _ in 0..300 {
        a.advance(secs(1));
    }
    b.advance(secs(300));
    // Irregular wall-clock ticks, as the server does them.
    for ms in [
        1, 700, 3_333, 3_334, 42_000, 42_001, 120_500, 299_999, 300_000,
    ] {
        c.tick(t0() + chrono::TimeDelta::milliseconds(ms));
    }
    let ja = a.train_json();
    assert_eq!(ja, b.train_json());
    assert_eq!(ja, c.train_json());
    assert_eq!(ja["generated_at"], "2026-11-26T14:05:00Z");

    let mut fast1 = scenario(SimOptions {
        speed: 3.0,
        ..SimOptions::default()
    });
    let mut fast2 = scenario(SimOptions {
        speed: 3.0,
        ..SimOptions::default()
    });
    for k in 1..=90 {
        fast1.tick(t0() + chrono::TimeDelta::milliseconds(k * 1_111));
    }
    fast2.tick(t0() + chrono::TimeDelta::milliseconds(90 * 1_111));
    assert_eq!(fast1.train_json(), fast2.train_json());
}

#[test]
fn different_seed_different_versions() {
    let a = default().train_json();
    let b = scenario(SimOptions {
        seed: 7,
        ..SimOptions::default()
    })
    .train_json();
    let ca = a["cells"].as_array().unwrap();
    let cb = b["cells"].as_array().unwrap();
    assert_eq!(ca.len(), cb.len());
    for (x, y) in ca.iter().zip(cb) {
        assert_eq!((&x["lane"], &x["stage"]), (&y["lane"], &y["stage"]));
        assert_ne!(x["version"], y["version"]);
    }
}

#[test]
fn lanes_scale_down_and_up() {
    for n in [3usize, 40] {
        let j = scenario(SimOptions {
            lanes: n,
            ..SimOptions::default()
        })
        .train_json();
        let cells = j["cells"].as_array().unwrap();
        assert_eq!(cells.len(), n * 4);
        assert_eq!(j["metrics"].as_array().unwrap().len(), n * 3 * 3);
        let lanes: std::collections::BTreeSet<&str> =
            cells.iter().map(|c| c["lane"].as_str().unwrap()).collect();
        assert_eq!(lanes.len(), n);
        for c in cells {
            assert!(is_sha(&c["version"]), "{c}");
            let state = c["state"].as_str().unwrap();
            assert!(crate::model::CellState::parse(state).is_some(), "{state}");
            let history = c["history"].as_array().unwrap();
            assert!(!history.is_empty(), "no history: {}", c["lane"]);
            assert!(
                history
                    .iter()
                    .all(|h| is_sha(&h["version"]) && h["state"] == "succeeded")
            );
        }
    }
    let three = scenario(SimOptions {
        lanes: 3,
        ..SimOptions::default()
    })
    .train_json();
    let names: Vec<&str> = three["cells"]
        .as_array()
        .unwrap()
        .iter()
        .step_by(4)
        .map(|c| c["lane"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ledger", "payments-api", "checkout-web"]);
}

#[test]
fn the_scripted_situations_are_there_at_the_start() {
    let sc = default();
    let j = sc.train_json();
    assert_eq!(j["protocol"], 1);
    assert_eq!(j["generated_at"], "2026-11-26T14:00:00Z");

    // A failed check at build.
    let auth = cell(&sc, "auth-service", "build");
    assert_eq!(auth["state"], "failed");
    let failed: Vec<&Value> = auth["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["name"], "integration-tests");

    // An approval at prod.
    let checkout = cell(&sc, "checkout-web", "prod");
    assert_eq!(checkout["state"], "awaiting_approval");
    assert_eq!(checkout["approval"]["environment"], "production");
    assert!(
        !checkout["approval"]["reviewers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        checkout["version"],
        cell(&sc, "checkout-web", "canary")["version"]
    );

    // payments-api is through staging, and ledger is not done at canary yet.
    assert_eq!(state(&sc, "payments-api", "staging"), "succeeded");
    assert_ne!(
        version(&sc, "payments-api", "staging"),
        version(&sc, "payments-api", "canary")
    );
    assert_eq!(state(&sc, "ledger", "canary"), "running");

    // Builds and rollouts under way, with progress.
    let building = cell(&sc, "search-indexer", "build");
    assert_eq!(building["state"], "running");
    let p = building["progress"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0);
    assert!(any_in_state(&building["checks"], "pending"));
    let canary = cell(&sc, "notifications", "canary");
    assert_eq!(canary["state"], "running");
    let says = canary["message"].as_str().unwrap();
    assert!(says.starts_with("rolling out "), "{says}");

    // Something soaks at canary.
    assert_eq!(state(&sc, "inventory", "canary"), "succeeded");
    assert_ne!(
        version(&sc, "inventory", "canary"),
        version(&sc, "inventory", "prod")
    );
}

#[test]
fn things_finish_within_seconds_and_the_canary_error_rate_climbs_over_its_threshold() {
    let mut sc = default();
    let err = notifications_canary_error_rate;
    assert!(err(&sc) < 0.01, "already over at the start: {}", err(&sc));
    let building = version(&sc, "search-indexer", "build");
    // Within a minute the build, the staging rollout and the canary rollout have finished.
    sc.advance(secs(60));
    assert_eq!(version(&sc, "search-indexer", "build"), building);
    assert_eq!(state(&sc, "search-indexer", "build"), "succeeded");
    assert_eq!(state(&sc, "pricing-engine", "staging"), "succeeded");
    assert_eq!(state(&sc, "notifications", "canary"), "succeeded");
    until(&mut sc, 5, 120, |sc| err(sc) > 0.01).expect("crosses 0.01 within 3 minutes");
    let m = metric(&sc, "notifications", "canary", "error_rate");
    assert!(m["baseline"].as_f64().unwrap() < 0.01);
    // ...and ledger's slow canary rollout finishes a little later, releasing payments-api.
    until(&mut sc, 5, 300, |sc| {
        state(sc, "ledger", "canary") == "succeeded"
    })
    .expect("ledger canary finishes");
}

#[test]
fn metrics_have_thresholds_baselines_and_series() {
    let mut sc = default();
    sc.advance(secs(17));
    let j = sc.train_json();
    for m in j["metrics"].as_array().unwrap() {
        let series = m["series"].as_array().unwrap();
        assert_eq!(series.len(), SERIES_LEN);
        let ts: Vec<i64> = series.iter().map(|p| p[0].as_i64().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
        assert_eq!(m["value"], series.last().unwrap()[1]);
        assert!(m["threshold"]["max"].as_f64().is_some());
        assert!(["ratio", "seconds"].contains(&m["unit"].as_str().unwrap()));
        assert_eq!(m.get("baseline").is_some(), m["stage"] == "canary");
    }
    assert_eq!(
        metric(&sc, "ledger", "prod", "latency_p99")["unit"],
        "seconds"
    );
}

#[test]
fn promote_rolls_out_then_succeeds() {
    let mut sc = default();
    sc.advance(secs(90));
    let v = version(&sc, "inventory", "canary");
    let old = version(&sc, "inventory", "prod");
    let ack = act(&mut sc, "promote", "inventory", "prod", Some(&v)).unwrap();
    assert_eq!(ack.message, format!("promoting {} to prod", &v[..7]));
    let c = cell(&sc, "inventory", "prod");
    assert_eq!(c["state"], "running");
    assert_eq!(c["version"], v.as_str());
    assert_eq!(c["actor"], "alice@jump1");
    assert_eq!(c["progress"].as_f64(), Some(0.0));
    assert_eq!(c["history"][0]["version"], old.as_str());
    assert_eq!(c["history"][0]["state"], "succeeded");
    assert_eq!(
        refusal(&mut sc, &format!("promote inventory prod {v}")),
        CONFLICT
    );

    sc.advance(secs(4));
    let c = cell(&sc, "inventory", "prod");
    let p = c["progress"].as_f64().unwrap();
    assert!(p > 0.0 && p < 1.0, "{p}");
    assert!(c["message"].as_str().unwrap().ends_with("/8 pods"));
    sc.advance(secs(20));
    let c = cell(&sc, "inventory", "prod");
    assert_eq!(c["state"], "succeeded");
    assert_eq!(c["progress"], Value::Null);
    assert_eq!(c["message"], "8/8 pods ready");
    assert_eq!(
        refusal(&mut sc, &format!("promote inventory prod {v}")),
        CONFLICT
    );
}

#[test]
fn promote_is_refused_when_the_previous_stage_is_not_ready() {
    let mut sc = default();
    // (lane, stage, the stage of the lane whose version is promoted, the refusal)
    let refusals = [
        // The wrong version.
        ("inventory", "prod", Some("prod"), CONFLICT),
        // The previous stage failed.
        ("auth-service", "staging", Some("build"), CONFLICT),
        // The previous stage is still running.
        ("search-indexer", "staging", Some("build"), CONFLICT),
        // The target waits for approval.
        ("checkout-web", "prod", Some("canary"), CONFLICT),
        // No version.
        ("inventory", "prod", None, (400, "invalid")),
        // Into build.
        ("ledger", "build", Some("build"), (422, "unsupported")),
    ];
    for (lane, stage, from, want) in refusals {
        let v = from.map(|from| version(&sc, lane, from));
        let got = code(act(&mut sc, "promote", lane, stage, v.as_deref()));
        assert_eq!(got, want, "promote {lane} to {stage}");
    }
    // The target is already rolling out.
    let v = version(&sc, "pricing-engine", "build");
    let e = act(&mut sc, "promote", "pricing-engine", "staging", Some(&v)).unwrap_err();
    assert_eq!((e.status, e.code), CONFLICT);
    assert!(e.message.contains("already rolling out"), "{}", e.message);
}

#[test]
fn promotions_into_a_guarded_prod_wait_for_approval() {
    let mut sc = default();
    sc.advance(secs(240));
    let v = version(&sc, "payments-api", "staging");
    act(&mut sc, "promote", "payments-api", "canary", Some(&v)).unwrap();
    sc.advance(secs(30));
    assert_eq!(state(&sc, "payments-api", "canary"), "succeeded");
    let ack = act(&mut sc, "promote", "payments-api", "prod", Some(&v)).unwrap();
    assert!(
        ack.message.contains("waiting for approval"),
        "{}",
        ack.message
    );
    let c = cell(&sc, "payments-api", "prod");
    assert_eq!(c["state"], "awaiting_approval");
    assert_eq!(c["approval"]["environment"], "production");
    assert_eq!(c["progress"], Value::Null);
    act(&mut sc, "approve", "payments-api", "prod", None).unwrap();
    assert_eq!(state(&sc, "payments-api", "prod"), "running");
    assert_eq!(cell(&sc, "payments-api", "prod")["approval"], Value::Null);
    sc.advance(secs(30));
    assert_eq!(state(&sc, "payments-api", "prod"), "succeeded");
    assert_eq!(version(&sc, "payments-api", "prod"), v);
}

#[test]
fn pause_freezes_progress_and_resume_continues() {
    let mut sc = default();
    assert_eq!(refusal(&mut sc, "resume pricing-engine staging"), CONFLICT);
    act(&mut sc, "pause", "pricing-engine", "staging", None).unwrap();
    let c = cell(&sc, "pricing-engine", "staging");
    assert_eq!(c["state"], "paused");
    assert_eq!(c["actor"], "alice@jump1");
    assert!(c["message"].as_str().unwrap().contains("release 2026.48"));
    let frozen = c["progress"].as_f64().unwrap();
    assert!(frozen > 0.0 && frozen < 1.0);
    assert_eq!(refusal(&mut sc, "pause pricing-engine staging"), CONFLICT);

    sc.advance(secs(120));
    let c = cell(&sc, "pricing-engine", "staging");
    assert_eq!(c["state"], "paused");
    assert_eq!(c["progress"].as_f64().unwrap(), frozen);

    act(&mut sc, "resume", "pricing-engine", "staging", None).unwrap();
    assert_eq!(state(&sc, "pricing-engine", "staging"), "running");
    sc.advance(secs(2));
    assert!(
        cell(&sc, "pricing-engine", "staging")["progress"]
            .as_f64()
            .unwrap()
            > frozen
    );
    sc.advance(secs(30));
    assert_eq!(state(&sc, "pricing-engine", "staging"), "succeeded");
    assert_eq!(refusal(&mut sc, "pause pricing-engine staging"), CONFLICT);
    assert_eq!(refusal(&mut sc, "resume pricing-engine staging"), CONFLICT);
}

#[test]
fn rollback_restores_the_last_good_version_and_the_metrics_recover() {
    let mut sc = default();
    let err = notifications_canary_error_rate;
    sc.advance(secs(180));
    assert!(err(&sc) > 0.01);
    let bad = version(&sc, "notifications", "canary");
    let good = cell(&sc, "notifications", "canary")["history"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        code(act(
            &mut sc,
            "rollback",
            "notifications",
            "canary",
            Some(&"0".repeat(40))
        )),
        (404, "not_found")
    );
    assert_eq!(
        refusal(&mut sc, "rollback notifications build"),
        (422, "unsupported")
    );
    let ack = act(&mut sc, "rollback", "notifications", "canary", None).unwrap();
    assert!(ack.message.contains(&good[..7]), "{}", ack.message);
    let c = cell(&sc, "notifications", "canary");
    assert_eq!(c["state"], "rolling_back");
    assert_eq!(c["version"], good.as_str());
    assert!(c["progress"].as_f64().is_some());
    assert_eq!(refusal(&mut sc, "rollback notifications canary"), CONFLICT);

    sc.advance(secs(10));
    let c = cell(&sc, "notifications", "canary");
    assert_eq!(c["state"], "succeeded");
    assert_eq!(c["version"], good.as_str());
    assert_eq!(c["history"][0]["version"], bad.as_str());
    assert_eq!(c["history"][0]["state"], "rolled_back");
    assert!(
        c["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["version"] != good.as_str())
    );
    until(&mut sc, 5, 60, |sc| err(sc) < 0.01).expect("error rate recovers after the rollback");

    // An explicit version from the history.
    let older = c["history"][1]["version"].as_str().unwrap().to_string();
    act(&mut sc, "rollback", "notifications", "canary", Some(&older)).unwrap();
    sc.advance(secs(10));
    assert_eq!(version(&sc, "notifications", "canary"), older);
    assert_eq!(state(&sc, "notifications", "canary"), "succeeded");
}

#[test]
fn approve_and_reject() {
    let mut sc = default();
    assert_eq!(refusal(&mut sc, "approve inventory prod"), CONFLICT);
    let v = version(&sc, "checkout-web", "prod");
    act(&mut sc, "approve", "checkout-web", "prod", None).unwrap();
    assert_eq!(state(&sc, "checkout-web", "prod"), "running");
    assert_eq!(refusal(&mut sc, "approve checkout-web prod"), CONFLICT);
    assert_eq!(refusal(&mut sc, "reject checkout-web prod"), CONFLICT);
    sc.advance(secs(30));
    assert_eq!(state(&sc, "checkout-web", "prod"), "succeeded");
    assert_eq!(version(&sc, "checkout-web", "prod"), v);

    let mut sc = default();
    act(&mut sc, "reject", "checkout-web", "prod", None).unwrap();
    let c = cell(&sc, "checkout-web", "prod");
    assert_eq!(c["state"], "cancelled");
    assert_eq!(c["approval"], Value::Null);
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .starts_with("rejected by alice@jump1")
    );
    sc.advance(secs(60));
    assert_eq!(state(&sc, "checkout-web", "prod"), "cancelled");
    assert_eq!(refusal(&mut sc, "reject checkout-web prod"), CONFLICT);
}

#[test]
fn bad_requests_are_400_and_unknown_names_404() {
    let mut sc = default();
    assert_eq!(refusal(&mut sc, "promote nope prod x"), (404, "not_found"));
    assert_eq!(refusal(&mut sc, "pause ledger qa"), (404, "not_found"));
    assert_eq!(refusal(&mut sc, "halt ledger prod"), (400, "invalid"));
    assert_eq!(code(sc.act_bytes(b"{not json")), (400, "invalid"));
    assert_eq!(code(sc.act_bytes(b"[1, 2]")), (400, "invalid"));
    assert_eq!(
        code(sc.act(&json!({"action": "pause", "stage": "prod"}))),
        (400, "invalid")
    );
    assert_eq!(
        code(
            sc.act(&json!({"action": "promote", "lane": "ledger", "stage": "prod", "version": 7}))
        ),
        (400, "invalid")
    );
    let e = sc
        .act(&json!({"action": "pause", "lane": "ledger", "stage": "prod"}))
        .unwrap_err();
    assert_eq!(
        e.to_json(),
        json!({"error": {"code": "conflict", "message": e.message}})
    );
    // A valid body with unknown fields is fine.
    let ack = sc
        .act_bytes(br#"{"id": "ty-1", "action": "pause", "lane": "ledger", "stage": "canary", "extra": [1]}"#)
        .unwrap();
    assert_eq!(ack.to_json()["accepted"], true);
    assert_eq!(ack.to_json()["id"], "ty-1");
}

#[test]
fn a_duplicate_delivery_is_answered_but_not_applied_twice() {
    let mut sc = default();
    let req = json!({"id": "ty-9-1", "action": "pause", "lane": "ledger", "stage": "canary"});
    let first = sc.act(&req).unwrap();
    sc.advance(secs(3));
    assert_eq!(sc.act(&req).unwrap(), first);
    assert_eq!(state(&sc, "ledger", "canary"), "paused");
    let again = json!({"id": "ty-9-2", "action": "pause", "lane": "ledger", "stage": "canary"});
    assert_eq!(code(sc.act(&again)), CONFLICT);
}

#[test]
fn the_train_keeps_moving_on_its_own() {
    let mut sc = default();
    let start = sc.train_json();
    let builds_at_start: Vec<Value> = (0..8)
        .map(|i| start["cells"][i * 4]["version"].clone())
        .collect();
    let mut new_failures = 0;
    let mut seen_running = 0;
    let mut last_state = std::collections::HashMap::new();
    for _ in 0..(30 * 60 / 5) {
        sc.advance(secs(5));
        let j = sc.train_json();
        for c in j["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["stage"] == "build")
        {
            let key = c["lane"].as_str().unwrap().to_string();
            let st = c["state"].as_str().unwrap().to_string();
            let before = last_state.insert(key, (c["version"].clone(), st.clone()));
            if before.as_ref() != Some(&(c["version"].clone(), st.clone())) {
                match st.as_str() {
                    "failed" => new_failures += 1,
                    "running" => seen_running += 1,
                    _ => {}
                }
            }
        }
    }
    let end = sc.train_json();
    for (i, v) in builds_at_start.iter().enumerate() {
        assert_ne!(
            &end["cells"][i * 4]["version"],
            v,
            "lane {i} got no new build in 30 minutes"
        );
        let history = end["cells"][i * 4]["history"].as_array().unwrap();
        assert!(history.len() >= 3);
    }
    assert!(
        seen_running >= 30,
        "only {seen_running} builds in 30 minutes"
    );
    assert!(new_failures >= 1);
    // The auth-service fix passed.
    let auth = end["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lane"] == "auth-service")
        .unwrap();
    assert!(any_in_state(&auth["history"], "failed"));
}

#[test]
fn cells_link_to_runs_of_the_simulator() {
    let mut sc = default();
    let v = version(&sc, "inventory", "canary");
    act(&mut sc, "promote", "inventory", "prod", Some(&v)).unwrap();
    let c = cell(&sc, "inventory", "prod");
    let url = c["url"].as_str().unwrap();
    let n: u64 = url
        .strip_prefix("http://127.0.0.1:9/runs/")
        .unwrap()
        .parse()
        .unwrap();
    let run = sc.run_json(n).unwrap();
    assert_eq!(run["lane"], "inventory");
    assert_eq!(run["stage"], "prod");
    assert_eq!(run["version"], v.as_str());
    assert_eq!(run["actor"], "alice@jump1");
    assert!(sc.run_json(1).is_none());
    assert_eq!(c["started_at"], c["updated_at"]);
}

#[test]
fn speed_makes_things_happen_sooner() {
    let mut fast = scenario(SimOptions {
        speed: 10.0,
        ..SimOptions::default()
    });
    fast.advance(secs(3));
    assert_eq!(state(&fast, "notifications", "canary"), "succeeded");
    assert_eq!(fast.train_json()["generated_at"], "2026-11-26T14:00:03Z");
    let mut slow = default();
    slow.advance(secs(3));
    assert_eq!(state(&slow, "notifications", "canary"), "running");
    // Series points stay at least a second apart.
    let m = metric(&fast, "ledger", "prod", "error_rate");
    let ts: Vec<i64> = m["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_i64().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "{ts:?}");
}

/// `--hostile` serves the same train dressed: wide versions come back from a client as they
/// were served and still name the scenario's versions; refusals carry an attack.
#[test]
fn a_hostile_train_still_acts_on_its_wide_versions() {
    let mut sc = scenario(SimOptions {
        hostile: true,
        ..SimOptions::default()
    });
    let doc = sc.train_json();
    let cell = |doc: &Value, stage: &str| {
        doc["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["lane"] == "ledger" && c["stage"] == stage)
            .unwrap()
            .clone()
    };
    let prod = cell(&doc, "prod");
    let served = prod["history"][1]["version"].as_str().unwrap().to_string();
    assert!(served.starts_with("日本語日本語-"), "{served}");
    assert!(
        prod["message"].as_str().unwrap().contains('\u{1b}')
            || prod["message"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| c > '\u{7f}'),
        "{prod}"
    );
    let ack = sc
        .act(&json!({"action": "rollback", "lane": "ledger", "stage": "prod", "version": served}))
        .unwrap();
    assert!(ack.message.starts_with("rolling back"), "{}", ack.message);
    let doc = sc.train_json();
    assert_eq!(cell(&doc, "prod")["state"], "rolling_back");
    assert_eq!(
        cell(&doc, "prod")["version"].as_str().unwrap(),
        served,
        "the cell shows the version it was asked for, as served"
    );
    let refused = sc
        .act(&json!({"action": "approve", "lane": "ledger", "stage": "build"}))
        .unwrap_err();
    assert_ne!(
        crate::model::text::sanitize(&refused.message, 500),
        refused.message,
        "a refusal carries an attack: {:?}",
        refused.message
    );
}
