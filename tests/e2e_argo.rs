//! End to end: the demo's Argo lane in a real terminal (tmux). auth-service's canary is an Argo
//! Rollout waiting at a step: from its staging cell, `p` opens the promote dialog (Cancel the
//! default), Tab and Enter send it; the simulator's Argo CD receives the Rollout's `resume`,
//! the canary goes on to succeed on screen, and the audit log has the attempt and its outcome.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use serde_json::Value;

use common::bin::BIN;
use common::sim;
use common::tmux::{self, Tmux};
use common::wait::{PATIENCE, until};

fn row<'a>(screen: &'a str, lane: &str) -> &'a str {
    screen.lines().find(|l| l.contains(lane)).unwrap_or("")
}

#[test]
fn promoting_the_canary_waiting_at_a_step_from_keys_resumes_its_rollout() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("argo", &[("NO_COLOR", "1")]);
    let sim = sim::spawn(t.dir(), &["--speed", "4"]);
    let audit = t.path("audit.jsonl");
    let config = sim.write_config(
        t.dir(),
        &format!("[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    t.run(&format!(
        "{BIN} --config {config} --log-file {log}",
        config = config.display(),
        log = t.path("trainyard.log").display(),
    ));
    // The canary waits for approval at its step: `!` and `appr` in the lane's row.
    t.wait_for("auth-service's canary waiting", |s| {
        row(s, "auth-service").contains("appr")
    });

    // To auth-service's staging cell: promote aims at the next stage, the canary.
    t.keys(&[":", "a", "u", "t", "h", "Enter", "Right"]);
    t.wait_for("auth-service @ staging selected", |s| {
        row(s, "auth-service").contains('▸')
    });
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
    t.assert_restored("0", "Lanes 8");
}
