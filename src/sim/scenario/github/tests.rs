//! The GitHub projection, driven with explicit time: no HTTP, no clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::repository::node_id;
use super::*;
use crate::secrets::base64;
use crate::sim::SimOptions;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T14:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn scenario() -> Scenario {
    Scenario::new(&SimOptions::default(), t0(), "http://127.0.0.1:9")
}

fn call(sc: &mut Scenario, method: &str, path: &str, q: &[(&str, &str)], body: &Value) -> GhReply {
    let q: Vec<(String, String)> = q
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    sc.github(&GhRequest {
        method,
        path,
        query: &q,
        body: &body,
        login: API_USER,
    })
}

/// A GET that must answer 200: its body.
fn get(sc: &mut Scenario, path: &str, q: &[(&str, &str)]) -> Value {
    let r = call(sc, "GET", path, q, &Value::Null);
    assert_eq!(r.status, 200, "GET {path}: {:?}", r.body);
    r.body.unwrap()
}

fn post(sc: &mut Scenario, path: &str, body: Value) -> GhReply {
    call(sc, "POST", path, &[], &body)
}

/// `POST .../actions/runs/{id}/cancel` in repository `acme/{lane}`.
fn cancel(sc: &mut Scenario, lane: &str, id: u64) -> GhReply {
    let path = format!("/repos/acme/{lane}/actions/runs/{id}/cancel");
    post(sc, &path, Value::Null)
}

fn cell(sc: &Scenario, lane: &str, stage: &str) -> Value {
    sc.train_json()["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lane"] == lane && c["stage"] == stage)
        .unwrap()
        .clone()
}

/// The run number in a `/v1` cell's url.
fn cell_run(sc: &Scenario, lane: &str, stage: &str) -> u64 {
    let c = cell(sc, lane, stage);
    c["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The runs of a workflow on the repository's default branch (pricing-engine's is `master`).
fn runs(sc: &mut Scenario, lane: &str, wf: &str) -> Vec<Value> {
    let repo = get(sc, &format!("/repos/acme/{lane}"), &[]);
    let branch = repo["default_branch"].as_str().unwrap().to_string();
    let b = get(
        sc,
        &format!("/repos/acme/{lane}/actions/workflows/{wf}/runs"),
        &[("branch", &branch), ("per_page", "100")],
    );
    b["workflow_runs"].as_array().unwrap().clone()
}

#[test]
fn a_repository_says_its_default_branch_and_lists_runs_on_it_only() {
    let mut sc = scenario();
    for (lane, branch, other) in [
        ("pricing-engine", "master", "main"),
        ("checkout-web", "main", "master"),
    ] {
        let repo = get(&mut sc, &format!("/repos/acme/{lane}"), &[]);
        assert_eq!(repo["default_branch"], branch, "{lane}");
        let path = format!("/repos/acme/{lane}/actions/workflows/ci.yml/runs");
        let on = get(&mut sc, &path, &[("branch", branch)]);
        let off = get(&mut sc, &path, &[("branch", other)]);
        assert!(on["total_count"].as_u64().unwrap() > 0, "{lane}: {on}");
        assert_eq!(off["total_count"], 0, "{lane}: {off}");
    }
}

fn run(sc: &mut Scenario, lane: &str, id: u64) -> Value {
    get(sc, &format!("/repos/acme/{lane}/actions/runs/{id}"), &[])
}

fn deployments(sc: &mut Scenario, lane: &str, env: &str) -> Vec<Value> {
    get(
        sc,
        &format!("/repos/acme/{lane}/deployments"),
        &[("environment", env), ("per_page", "100")],
    )
    .as_array()
    .unwrap()
    .clone()
}

fn statuses(sc: &mut Scenario, lane: &str, deployment: &Value) -> Vec<Value> {
    let id = deployment["id"].as_u64().unwrap();
    get(
        sc,
        &format!("/repos/acme/{lane}/deployments/{id}/statuses"),
        &[],
    )
    .as_array()
    .unwrap()
    .clone()
}

/// The latest status of the newest deployment to `env`: (sha, state).
fn latest(sc: &mut Scenario, lane: &str, env: &str) -> (String, String) {
    let d = deployments(sc, lane, env)[0].clone();
    let st = statuses(sc, lane, &d)[0]["state"]
        .as_str()
        .unwrap()
        .to_string();
    (d["sha"].as_str().unwrap().to_string(), st)
}

fn status_of(run: &Value) -> (String, Value) {
    (
        run["status"].as_str().unwrap().to_string(),
        run["conclusion"].clone(),
    )
}

fn checks(sc: &mut Scenario, lane: &str, reference: &str) -> Vec<(String, String, Value)> {
    let b = get(
        sc,
        &format!("/repos/acme/{lane}/commits/{reference}/check-runs"),
        &[("per_page", "100")],
    );
    assert_eq!(b["total_count"], b["check_runs"].as_array().unwrap().len());
    b["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["conclusion"].clone(),
            )
        })
        .collect()
}

#[test]
fn node_ids_and_logins_look_like_githubs() {
    // The fixture's deployment 1 has node id MDEwOkRlcGxveW1lbnQx.
    assert_eq!(node_id("Deployment", 1), "MDEwOkRlcGxveW1lbnQx");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(login("dana.kim"), "dana-kim");
    assert_eq!(login("alice@jump1"), "alice-jump1");
    assert_eq!(login("..."), "ghost");
    assert_eq!(percent_decode("ci%2Eyml"), "ci.yml");
    assert_eq!(percent_decode("100%"), "100%");
}

#[test]
fn the_starting_train_as_github_sees_it() {
    let mut sc = scenario();

    // checkout-web waits for approval at prod: a waiting deploy run with a pending
    // deployment, the very run the /v1 cell links to.
    let waiting = get(
        &mut sc,
        "/repos/acme/checkout-web/actions/runs",
        &[("status", "waiting")],
    );
    assert_eq!(waiting["total_count"], 1);
    let w = &waiting["workflow_runs"][0];
    assert_eq!(w["status"], "waiting");
    assert_eq!(w["conclusion"], Value::Null);
    assert_eq!(w["path"], ".github/workflows/deploy.yml");
    assert_eq!(w["id"], cell_run(&sc, "checkout-web", "prod"));
    assert_eq!(w["head_sha"], cell(&sc, "checkout-web", "prod")["version"]);
    let id = w["id"].as_u64().unwrap();
    let pending = get(
        &mut sc,
        &format!("/repos/acme/checkout-web/actions/runs/{id}/pending_deployments"),
        &[],
    );
    let p = &pending[0];
    assert_eq!(p["environment"]["name"], "production");
    assert_eq!(p["current_user_can_approve"], true);
    let reviewers: Vec<(&str, &str)> = p["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let who = r["reviewer"]["login"]
                .as_str()
                .or(r["reviewer"]["slug"].as_str())
                .unwrap();
            (r["type"].as_str().unwrap(), who)
        })
        .collect();
    assert_eq!(
        reviewers,
        [("User", "maria-chen"), ("Team", "storefront-leads")]
    );
    let (sha, state) = latest(&mut sc, "checkout-web", "production");
    assert_eq!(sha, cell(&sc, "checkout-web", "prod")["version"]);
    assert_eq!(state, "queued");
    // Nobody else waits.
    let none = get(
        &mut sc,
        "/repos/acme/ledger/actions/runs",
        &[("status", "waiting")],
    );
    assert_eq!(none["total_count"], 0);

    // ledger's canary rollout is in progress.
    let canary = cell(&sc, "ledger", "canary");
    let id = cell_run(&sc, "ledger", "canary");
    let r = run(&mut sc, "ledger", id);
    assert_eq!(status_of(&r), ("in_progress".into(), Value::Null));
    assert_eq!(
        latest(&mut sc, "ledger", "canary"),
        (
            canary["version"].as_str().unwrap().into(),
            "in_progress".into()
        )
    );

    // Older successful deployments to staging went inactive; production keeps `success`.
    let staging = deployments(&mut sc, "ledger", "staging");
    assert!(staging.len() >= 3);
    assert_eq!(
        statuses(&mut sc, "ledger", &staging[0])[0]["state"],
        "success"
    );
    for d in &staging[1..] {
        let st = statuses(&mut sc, "ledger", d);
        assert_eq!(st[0]["state"], "inactive");
        assert_eq!(st[1]["state"], "success");
    }
    let prod = deployments(&mut sc, "ledger", "production");
    for d in &prod {
        assert_eq!(statuses(&mut sc, "ledger", d)[0]["state"], "success");
        assert_eq!(d["production_environment"], true);
    }
    assert_eq!(staging[0]["production_environment"], false);

    // auth-service's build failed on integration-tests.
    let ci = runs(&mut sc, "auth-service", "ci.yml");
    assert_eq!(status_of(&ci[0]), ("completed".into(), json!("failure")));
    assert_eq!(ci[0]["event"], "push");
    assert_eq!(status_of(&ci[1]), ("completed".into(), json!("success")));
    let sha = ci[0]["head_sha"].as_str().unwrap().to_string();
    let c = checks(&mut sc, "auth-service", &sha);
    assert_eq!(
        c,
        [
            ("lint".into(), "completed".into(), json!("success")),
            ("unit-tests".into(), "completed".into(), json!("success")),
            (
                "integration-tests".into(),
                "completed".into(),
                json!("failure")
            ),
        ]
    );
    // A short sha and the branch name find the same commit.
    assert_eq!(checks(&mut sc, "auth-service", &sha[..7]), c);
    assert_eq!(checks(&mut sc, "auth-service", "main"), c);

    // search-indexer's build is running: two checks passed, integration-tests runs.
    let ci = runs(&mut sc, "search-indexer", "ci.yml");
    assert_eq!(status_of(&ci[0]), ("in_progress".into(), Value::Null));
    let c = checks(&mut sc, "search-indexer", "main");
    assert_eq!(
        c[2],
        (
            "integration-tests".into(),
            "in_progress".into(),
            Value::Null
        )
    );
    assert_eq!(c[0].2, json!("success"));
}

#[test]
fn lists_are_newest_first_with_chronological_ids() {
    let mut sc = scenario();
    for lane in ["ledger", "checkout-web", "inventory"] {
        let all = get(
            &mut sc,
            &format!("/repos/acme/{lane}/actions/runs"),
            &[("per_page", "100")],
        );
        let list = all["workflow_runs"].as_array().unwrap();
        assert_eq!(all["total_count"], list.len());
        // One run per cell and per entry of its history; a deployment per environment's.
        let sizes: Vec<usize> = ["build", "staging", "canary", "prod"]
            .iter()
            .map(|s| 1 + cell(&sc, lane, s)["history"].as_array().unwrap().len())
            .collect();
        assert_eq!(list.len(), sizes.iter().sum::<usize>(), "{lane}");
        for pair in list.windows(2) {
            assert!(pair[0]["id"].as_u64() > pair[1]["id"].as_u64());
            assert!(pair[0]["created_at"].as_str() >= pair[1]["created_at"].as_str());
        }
        let deploys = get(
            &mut sc,
            &format!("/repos/acme/{lane}/deployments"),
            &[("per_page", "100")],
        );
        let deploys = deploys.as_array().unwrap();
        assert_eq!(deploys.len(), sizes[1..].iter().sum::<usize>());
        for pair in deploys.windows(2) {
            assert!(pair[0]["id"].as_u64() > pair[1]["id"].as_u64());
        }
        let numbers: Vec<u64> = runs(&mut sc, lane, "ci.yml")
            .iter()
            .map(|r| r["run_number"].as_u64().unwrap())
            .collect();
        assert!(numbers.windows(2).all(|w| w[0] == w[1] + 1), "{numbers:?}");
    }
}

#[test]
fn etags_hold_still_until_something_changes() {
    let paths = [
        "/repos/acme/checkout-web/deployments",
        "/repos/acme/checkout-web/actions/workflows/deploy.yml/runs",
        "/repos/acme/ledger/deployments",
        "/repos/acme/ledger/actions/workflows/ci.yml/runs",
        "/repos/acme/search-indexer/commits/main/check-runs",
        "/repos/acme/checkout-web/actions/runs",
    ];
    let tags = |sc: &mut Scenario| -> Vec<String> {
        paths
            .iter()
            .map(|p| etag(&serde_json::to_vec(&get(sc, p, &[])).unwrap()))
            .collect()
    };
    let mut sc = scenario();
    let before = tags(&mut sc);
    // Another simulator with the same seed says the same, byte for byte.
    assert_eq!(tags(&mut scenario()), before);
    // Time passes, metrics are sampled, nothing GitHub shows changes.
    sc.advance(Duration::from_secs(1));
    assert_eq!(tags(&mut sc), before);
    sc.advance(Duration::from_secs(5));
    assert_eq!(tags(&mut sc), before);

    // An approval changes checkout-web's views and nothing of ledger's.
    let id = cell_run(&sc, "checkout-web", "prod");
    let env = get(
        &mut sc,
        &format!("/repos/acme/checkout-web/actions/runs/{id}/pending_deployments"),
        &[],
    )[0]["environment"]["id"]
        .clone();
    let r = post(
        &mut sc,
        &format!("/repos/acme/checkout-web/actions/runs/{id}/pending_deployments"),
        json!({"environment_ids": [env], "state": "approved", "comment": "ship it"}),
    );
    assert_eq!(r.status, 200);
    let after = tags(&mut sc);
    assert_ne!(after[0], before[0]);
    assert_ne!(after[1], before[1]);
    assert_eq!(after[2], before[2]);
    assert_eq!(after[3], before[3]);
    assert_ne!(after[5], before[5]);

    // search-indexer's build finishes its last check: its check runs change.
    sc.advance(Duration::from_secs(20));
    assert_ne!(tags(&mut sc)[4], before[4]);
}

#[test]
fn approve_and_reject_release_the_scenario_cell() {
    let mut sc = scenario();
    let id = cell_run(&sc, "checkout-web", "prod");
    let path = format!("/repos/acme/checkout-web/actions/runs/{id}/pending_deployments");
    let env = get(&mut sc, &path, &[])[0]["environment"]["id"]
        .as_u64()
        .unwrap();

    // Wrong environment, bad bodies: GitHub's 422/400, nothing changes.
    for (body, status) in [
        (
            json!({"environment_ids": [env + 1], "state": "approved", "comment": "x"}),
            422,
        ),
        (
            json!({"environment_ids": [env], "state": "maybe", "comment": "x"}),
            422,
        ),
        (json!({"environment_ids": [env], "state": "approved"}), 422),
        (json!({"state": "approved", "comment": "x"}), 422),
        (json!(["nope"]), 422),
    ] {
        let r = post(&mut sc, &path, body.clone());
        assert_eq!(r.status, status, "{body}");
        let b = r.body.unwrap();
        assert!(
            b["message"].is_string() && b["documentation_url"].is_string(),
            "{b}"
        );
    }
    let bad = sc.github(&GhRequest {
        method: "POST",
        path: &path,
        query: &[],
        body: b"{not json",
        login: API_USER,
    });
    assert_eq!(bad.status, 400);
    assert_eq!(
        cell(&sc, "checkout-web", "prod")["state"],
        "awaiting_approval"
    );

    let r = post(
        &mut sc,
        &path,
        json!({"environment_ids": [env], "state": "approved", "comment": "ship it (trainyard: alice)"}),
    );
    assert_eq!(r.status, 200);
    let deps = r.body.unwrap();
    assert_eq!(deps[0]["environment"], "production");
    let c = cell(&sc, "checkout-web", "prod");
    assert_eq!(c["state"], "running");
    assert_eq!(c["actor"], API_USER);
    assert_eq!(
        status_of(&run(&mut sc, "checkout-web", id)),
        ("in_progress".into(), Value::Null)
    );
    let d = deployments(&mut sc, "checkout-web", "production")[0].clone();
    let st = statuses(&mut sc, "checkout-web", &d);
    assert_eq!(st[0]["state"], "in_progress");
    assert_eq!(st[0]["creator"]["login"], API_USER);
    assert_eq!(st[1]["state"], "queued");
    // Nothing waits any more; a second review is refused.
    assert_eq!(get(&mut sc, &path, &[]), json!([]));
    let again = post(
        &mut sc,
        &path,
        json!({"environment_ids": [env], "state": "approved", "comment": "again"}),
    );
    assert_eq!(again.status, 422);
    // The deploy finishes: the run and the deployment succeed.
    sc.advance(Duration::from_secs(25));
    assert_eq!(
        status_of(&run(&mut sc, "checkout-web", id)),
        ("completed".into(), json!("success"))
    );
    assert_eq!(latest(&mut sc, "checkout-web", "production").1, "success");

    // Rejecting instead: the cell is cancelled, the run too, the deployment ends in error.
    let mut sc = scenario();
    let r = post(
        &mut sc,
        &path,
        json!({"environment_ids": [env], "state": "rejected", "comment": "not during the sale"}),
    );
    assert_eq!(r.status, 200);
    let c = cell(&sc, "checkout-web", "prod");
    assert_eq!(c["state"], "cancelled");
    let says = c["message"].as_str().unwrap();
    assert!(says.contains("not during the sale"), "{says}");
    assert_eq!(
        status_of(&run(&mut sc, "checkout-web", id)),
        ("completed".into(), json!("cancelled"))
    );
    let d = deployments(&mut sc, "checkout-web", "production")[0].clone();
    let st = statuses(&mut sc, "checkout-web", &d);
    assert_eq!(st[0]["state"], "error");
    assert_eq!(st.len(), 2, "it never ran: queued, then error");
}

#[test]
fn dispatch_promotes_and_rolls_back() {
    let mut sc = scenario();
    let path = "/repos/acme/inventory/actions/workflows/deploy.yml/dispatches";
    let v = cell(&sc, "inventory", "canary")["version"]
        .as_str()
        .unwrap()
        .to_string();
    let refusals = [
        json!({"ref": "main", "inputs": {"version": "0000000", "environment": "production"}}),
        json!({"ref": "main", "inputs": {"version": v, "environment": "prod"}}),
        json!({"ref": "main", "inputs": {"version": v}}),
        json!({"ref": "main", "inputs": {"version": v, "environment": "production", "force": "yes"}}),
        json!({"ref": "release", "inputs": {"version": v, "environment": "production"}}),
        json!({"inputs": {"version": v, "environment": "production"}}),
        // The version at canary is not the one at staging.
        json!({"ref": "main", "inputs": {"version": v, "environment": "staging"}}),
    ];
    for body in refusals {
        let r = post(&mut sc, path, body.clone());
        assert_eq!(r.status, 422, "{body}");
        assert!(r.body.unwrap()["message"].is_string());
    }
    let ci = post(
        &mut sc,
        "/repos/acme/inventory/actions/workflows/ci.yml/dispatches",
        json!({"ref": "main", "inputs": {"version": v, "environment": "production"}}),
    );
    assert_eq!(ci.status, 422);
    assert_eq!(cell(&sc, "inventory", "prod")["state"], "succeeded");

    // Promote: the canary's version into production.
    let r = post(
        &mut sc,
        path,
        json!({"ref": "main", "inputs": {"version": v, "environment": "production"}, "return_run_details": true}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    let details = r.body.unwrap();
    let id = details["workflow_run_id"].as_u64().unwrap();
    assert_eq!(id, cell_run(&sc, "inventory", "prod"));
    assert!(
        details["run_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v3/repos/acme/inventory/actions/runs/{id}"))
    );
    let c = cell(&sc, "inventory", "prod");
    assert_eq!(
        (c["state"].as_str(), c["version"].as_str()),
        (Some("running"), Some(v.as_str()))
    );
    let r = run(&mut sc, "inventory", id);
    assert_eq!(status_of(&r), ("in_progress".into(), Value::Null));
    assert_eq!(r["event"], "workflow_dispatch");
    assert_eq!(r["actor"]["login"], API_USER);
    assert_eq!(runs(&mut sc, "inventory", "deploy.yml")[0]["id"], id);
    assert_eq!(
        latest(&mut sc, "inventory", "production"),
        (v.clone(), "in_progress".into())
    );

    // Roll back notifications' canary (a bad version rolling out) to its last good version.
    let path = "/repos/acme/notifications/actions/workflows/deploy.yml/dispatches";
    let bad = cell(&sc, "notifications", "canary")["version"]
        .as_str()
        .unwrap()
        .to_string();
    let good = cell(&sc, "notifications", "canary")["history"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        &mut sc,
        path,
        json!({"ref": "refs/heads/main", "inputs": {"version": good, "environment": "canary"}}),
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.body, None);
    let c = cell(&sc, "notifications", "canary");
    assert_eq!(
        (c["state"].as_str(), c["version"].as_str()),
        (Some("rolling_back"), Some(good.as_str()))
    );
    let deps = deployments(&mut sc, "notifications", "canary");
    assert_eq!(deps[0]["sha"], good.as_str());
    assert!(
        deps[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Roll back canary")
    );
    assert_eq!(
        statuses(&mut sc, "notifications", &deps[0])[0]["state"],
        "in_progress"
    );
    assert_eq!(deps[1]["sha"], bad.as_str());
    assert_eq!(
        statuses(&mut sc, "notifications", &deps[1])[0]["state"],
        "inactive"
    );
    sc.advance(Duration::from_secs(10));
    assert_eq!(
        latest(&mut sc, "notifications", "canary"),
        (good, "success".into())
    );
}

#[test]
fn cancel_stops_a_running_deploy() {
    let mut sc = scenario();
    let id = cell_run(&sc, "pricing-engine", "staging");
    let r = cancel(&mut sc, "pricing-engine", id);
    assert_eq!(r.status, 202);
    let c = cell(&sc, "pricing-engine", "staging");
    assert_eq!(c["state"], "cancelled");
    assert_eq!(c["actor"], API_USER);
    assert_eq!(
        status_of(&run(&mut sc, "pricing-engine", id)),
        ("completed".into(), json!("cancelled"))
    );
    assert_eq!(latest(&mut sc, "pricing-engine", "staging").1, "error");
    // It stays cancelled: nothing finishes it later.
    sc.advance(Duration::from_secs(60));
    assert_eq!(cell(&sc, "pricing-engine", "staging")["state"], "cancelled");
    // A completed run can't be cancelled.
    let again = cancel(&mut sc, "pricing-engine", id);
    assert_eq!(again.status, 409);
    let old = runs(&mut sc, "pricing-engine", "deploy.yml")
        .last()
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let r = cancel(&mut sc, "pricing-engine", old);
    assert_eq!(r.status, 409);

    // Cancelling a running build keeps the checks that passed.
    let id = cell_run(&sc, "search-indexer", "build");
    let mut sc = scenario();
    let r = cancel(&mut sc, "search-indexer", id);
    assert_eq!(r.status, 202);
    let c = checks(&mut sc, "search-indexer", "main");
    assert_eq!(c[0].2, json!("success"));
    assert_eq!(
        c[2],
        (
            "integration-tests".into(),
            "completed".into(),
            json!("cancelled")
        )
    );
    assert_eq!(cell(&sc, "search-indexer", "build")["state"], "cancelled");
}

#[test]
fn actions_through_v1_show_through_github() {
    let mut sc = scenario();
    let v = cell(&sc, "inventory", "canary")["version"]
        .as_str()
        .unwrap()
        .to_string();
    sc.act(&json!({"action": "promote", "lane": "inventory", "stage": "prod", "version": v, "actor": "alice@jump1"}))
        .unwrap();
    let newest = runs(&mut sc, "inventory", "deploy.yml")[0].clone();
    assert_eq!(newest["id"], cell_run(&sc, "inventory", "prod"));
    assert_eq!(newest["actor"]["login"], "alice-jump1");
    assert_eq!(status_of(&newest), ("in_progress".into(), Value::Null));
    // A pause is not a GitHub state: the run stays in progress.
    sc.act(&json!({"action": "pause", "lane": "inventory", "stage": "prod"}))
        .unwrap();
    let id = newest["id"].as_u64().unwrap();
    assert_eq!(
        status_of(&run(&mut sc, "inventory", id)),
        ("in_progress".into(), Value::Null)
    );
    // CI keeps building: a new build shows as the newest ci.yml run.
    let before = runs(&mut sc, "ledger", "ci.yml")[0]["id"].as_u64().unwrap();
    sc.advance(Duration::from_secs(430));
    let after = runs(&mut sc, "ledger", "ci.yml");
    assert!(after[0]["id"].as_u64().unwrap() > before);
    assert_eq!(
        after[0]["head_sha"],
        cell(&sc, "ledger", "build")["version"]
    );
}

#[test]
fn pages_and_errors() {
    let mut sc = scenario();
    let path = "/repos/acme/ledger/actions/workflows/deploy.yml/runs";
    let r = call(&mut sc, "GET", path, &[("per_page", "5")], &Value::Null);
    assert_eq!(r.pages, Some((1, 7)));
    let b = r.body.unwrap();
    // Three environments, each with its deploy and the ten before it.
    assert_eq!(b["total_count"], 33);
    assert_eq!(b["workflow_runs"].as_array().unwrap().len(), 5);
    let r = call(
        &mut sc,
        "GET",
        path,
        &[("per_page", "5"), ("page", "7")],
        &Value::Null,
    );
    assert_eq!(r.pages, Some((7, 7)));
    assert_eq!(
        r.body.unwrap()["workflow_runs"].as_array().unwrap().len(),
        3
    );
    let r = call(&mut sc, "GET", path, &[("per_page", "500")], &Value::Null);
    assert_eq!(r.pages, None);
    // By workflow id too.
    let wf = get(
        &mut sc,
        "/repos/acme/ledger/actions/workflows/deploy.yml",
        &[],
    )["id"]
        .as_u64()
        .unwrap();
    let by_id = get(
        &mut sc,
        &format!("/repos/acme/ledger/actions/workflows/{wf}/runs"),
        &[],
    );
    assert_eq!(by_id["total_count"], 33);
    // Other branches have no runs.
    let other = get(&mut sc, path, &[("branch", "feature")]);
    assert_eq!(other["total_count"], 0);

    let build_run = cell_run(&sc, "ledger", "build");
    for p in [
        "/repos/acme/nope/deployments".to_string(),
        "/repos/other/ledger/deployments".to_string(),
        "/repos/acme/ledger/actions/runs/1".to_string(),
        format!("/repos/acme/payments-api/actions/runs/{build_run}"),
        format!(
            "/repos/acme/ledger/deployments/{}",
            1_900_000_000 + build_run
        ),
        "/repos/acme/ledger/actions/workflows/release.yml/runs".to_string(),
        "/repos/acme/ledger/teleport".to_string(),
        "/user".to_string(),
    ] {
        let r = call(&mut sc, "GET", &p, &[], &Value::Null);
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(r.body.as_ref().unwrap()["message"], "Not Found");
        assert!(r.body.unwrap()["documentation_url"].is_string());
    }
    let r = call(
        &mut sc,
        "GET",
        "/repos/acme/ledger/commits/abcdef0123/check-runs",
        &[],
        &Value::Null,
    );
    assert_eq!(r.status, 422);
    // An environment nobody deploys to has no deployments.
    assert_eq!(deployments(&mut sc, "ledger", "qa"), Vec::<Value>::new());
    let envs = get(&mut sc, "/repos/acme/payments-api/environments", &[]);
    assert_eq!(envs["total_count"], 3);
    assert_eq!(
        envs["environments"][2]["protection_rules"][0]["type"],
        "required_reviewers"
    );
}
