//! End to end: the demo's Argo lane in a real terminal (tmux). auth-service's canary is an Argo
//! Rollout waiting at a step: from its staging cell, `p` opens the promote dialog (Cancel the
//! default), Tab and Enter send it; the simulator's Argo CD receives the Rollout's `resume`,
//! the canary goes on to succeed on screen, and the audit log has the attempt and its outcome.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use serde_json::Value;

use common::sim;
use common::tmux::{self, Tmux};
use common::wait::{PATIENCE, until};

fn row<'a>(screen: &'a str, lane: &str) -> &'a str {
    screen.lines().find(|l| l.contains(lane)).unwrap_or("")
}

/// To auth-service's staging cell (`:` finds the lane, → the stage).
fn to_staging(t: &Tmux) {
    t.keys(&[":", "a", "u", "t", "h", "Enter", "Right"]);
    t.wait_for("auth-service @ staging selected", |s| {
        row(s, "auth-service").contains('▸')
    });
}

#[test]
fn promoting_the_canary_waiting_at_a_step_from_keys_resumes_its_rollout() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("argo", &[("NO_COLOR", "1")]);
    let sim = sim::spawn(t.dir(), &["--speed", "4"]);
    let (config, audit) = sim.write_audited_config(t.dir(), "");
    t.run_tui(&config);
    // The canary waits for approval at its step: `!` and `appr` in the lane's row.
    t.wait_for("auth-service's canary waiting", |s| {
        row(s, "auth-service").contains("appr")
    });

    // From auth-service's staging cell, promote aims at the next stage, the canary.
    to_staging(&t);
    t.keys(&["p"]);
    let s = t.wait_for("the promote dialog", |s| s.contains("Confirm promote"));
    assert!(
        s.contains("▶[ Cancel ]"),
        "Cancel must be the default:\n{s}"
    );
    assert!(s.contains("staging → canary"), "{s}");
    assert!(s.contains("via source argo"), "{s}");
    t.keys(&["Tab", "Enter"]);

    // The Rollout resumed: walking its timed steps, then settled on screen.
    t.wait_for("the canary succeeded", |s| {
        let r = row(s, "auth-service");
        r.contains("✓") && !r.contains("appr")
    });
    let log = common::http::get_json(&sim.base_url, "/api/v1/_sim/argocd/requests");
    let sent: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        sent[0]["path"],
        "/api/v1/applications/auth-service-canary/resource/actions"
    );
    assert_eq!(sent[0]["body"], "resume");
    // Verified by the runner in its own time: the outcome follows the attempt.
    until("the promote's outcome in the audit log", PATIENCE, || {
        let results: Vec<String> = std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["action"] == "promote" && r["lane"] == "auth-service")
            .map(|r| format!("{} {}", r["stage"], r["result"]).replace('"', ""))
            .collect();
        if results == ["canary attempt", "canary done"] {
            Ok(())
        } else {
            Err(format!("{results:?}"))
        }
    });

    // The screen hears the outcome too (nothing of its own in flight): q quits at once.
    t.wait_for("the outcome in the activity", |s| s.contains("done: "));
    t.keys(&["q"]);
    t.assert_restored("0", "Lanes 9");
}

/// A sync running on an Application without a Rollout: `r` rolls auth-service's staging back
/// (a sync to its history entry, 12 s in the simulator), and `X` on the same cell while the
/// rollback is still in flight, confirmed away from Cancel, terminates it (`DELETE
/// …/operation`); the cell reads cancelled and the audit log has both actions.
#[test]
fn abort_from_keys_terminates_a_running_sync() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("argo-abort", &[("NO_COLOR", "1")]);
    let sim = sim::spawn(t.dir(), &["--speed", "1"]);
    let (config, audit) = sim.write_audited_config(t.dir(), "");
    t.run_tui(&config);
    t.wait_for("auth-service's canary waiting", |s| {
        row(s, "auth-service").contains("appr")
    });
    to_staging(&t);
    t.keys(&["r"]);
    t.wait_for("the rollback dialog", |s| s.contains("Confirm rollback"));
    // A rollback asks for the lane's name (BackTab from Cancel), then Roll back.
    t.keys(&["BTab"]);
    t.text("auth-service");
    t.keys(&["Tab", "Tab", "Enter"]);
    // The screen reads the sync running (its next poll): staging in motion.
    t.wait_for("auth-service's staging syncing", |s| {
        row(s, "auth-service").contains('▶')
    });
    t.keys(&["X"]);
    let s = t.wait_for("the abort dialog", |s| s.contains("Confirm abort"));
    assert!(
        s.contains("▶[ Cancel ]"),
        "Cancel must be the default:\n{s}"
    );
    t.keys(&["Tab", "Enter"]);
    until("the sync terminated at the simulator", PATIENCE, || {
        let sent = sent(&sim.base_url);
        let want = [
            (
                "POST".to_string(),
                "/api/v1/applications/auth-service-staging/rollback".to_string(),
            ),
            (
                "DELETE".to_string(),
                "/api/v1/applications/auth-service-staging/operation".to_string(),
            ),
        ];
        if sent == want {
            Ok(())
        } else {
            Err(format!("{sent:?}"))
        }
    });
    until("both outcomes in the audit log", PATIENCE, || {
        let results: Vec<String> = std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["lane"] == "auth-service" && r["stage"] == "staging")
            .map(|r| format!("{} {}", r["action"], r["result"]).replace('"', ""))
            .collect();
        let done = |a: &str| results.iter().any(|r| r == &format!("{a} done"));
        if done("abort") && results.iter().any(|r| r.starts_with("rollback ")) {
            Ok(())
        } else {
            Err(format!("{results:?}"))
        }
    });
    t.wait_for("staging reads cancelled", |s| {
        row(s, "auth-service").contains("⊘ 4c0c83d cncl")
    });
    t.keys(&["q"]);
    t.assert_restored("0", "Lanes 9");
}

/// What the simulator's Argo CD received other than reads: (method, path).
fn sent(base: &str) -> Vec<(String, String)> {
    let log = common::http::get_json(base, "/api/v1/_sim/argocd/requests");
    log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_string(),
                r["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
