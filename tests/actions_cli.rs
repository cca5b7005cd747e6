//! The actions' command-line twins against a real `trainyard sim` over loopback HTTP: exit
//! codes, nothing fired twice, dry runs that send nothing, forced actions that need a reason,
//! read-only, the halt surviving a restart, and the audit log's chain.

mod common;

use std::path::Path;

use common::bin::{Run, Trainyard, trainyard};
use common::sim::{self, SimProcess};
use common::status;
use serde_json::Value;

/// A sim (10× pace) and a config with its audit log in `dir`.
fn setup(dir: &Path, extra: &str) -> (SimProcess, std::path::PathBuf) {
    let sim = sim::spawn(dir, &["--speed", "10"]);
    let audit = dir.join("audit.jsonl");
    let config = sim.write_config(
        dir,
        &format!("[audit]\npath = {:?}\n{extra}", audit.display().to_string()),
    );
    (sim, config)
}

fn audit(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A cell that is rolling out at t≈0 in the seeded scenario: ledger's canary.
const RUNNING: [&str; 4] = ["ledger", "--stage", "canary", "--yes"];

#[test]
fn a_dry_run_sends_nothing_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let r = trainyard(
        dir.path(),
        &config,
        &[
            "pause",
            "ledger",
            "--stage",
            "canary",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["result"], "dry_run");
    let request = v["request"].as_str().unwrap();
    assert!(
        request.starts_with("POST http://127.0.0.1:") && request.contains("\"action\":\"pause\""),
        "{request}"
    );
    // A blocked one: the verdict in the exit code, still nothing sent.
    let r = trainyard(
        dir.path(),
        &config,
        &["promote", "payments-api", "--to", "canary", "--dry-run"],
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("BLOCKED") && r.stderr.contains("needs ledger at canary"),
        "{}",
        r.stderr
    );
    // The source's warning about a cell reaches the prompt.
    let r = trainyard(
        dir.path(),
        &config,
        &["rollback", "payments-api", "--stage", "prod", "--dry-run"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("warning: auto sync is on for production"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(last good, deployed"), "{}", r.stderr);
    assert!(sim.actions().is_empty(), "a dry run sent something");
    let records = audit(dir.path());
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .all(|r| r["result"] == "dry_run" && r["dry_run"] == true)
    );
}

#[test]
fn concurrent_commands_on_one_cell_send_exactly_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    trainyard(
                        dir.path(),
                        &config,
                        &["pause", RUNNING[0], RUNNING[1], RUNNING[2], RUNNING[3]],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let done = runs.iter().filter(|r| r.code == 0).count();
    assert_eq!(
        done,
        1,
        "{:#?}",
        runs.iter()
            .map(|r| (r.code, &r.stdout, &r.stderr))
            .collect::<Vec<_>>()
    );
    // The others were refused (in flight) or found nothing left to pause.
    for r in runs.iter().filter(|r| r.code != 0) {
        assert!(
            (r.code == 6
                && (r.stdout.contains("in flight")
                    || r.stdout.contains("changed since you confirmed")))
                || (r.code == 2 && r.stderr.contains("nothing to pause")),
            "{} {} {}",
            r.code,
            r.stdout,
            r.stderr
        );
    }
    let sent: Vec<Value> = sim
        .actions()
        .into_iter()
        .filter(|a| a["action"] == "pause")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    // Pressing again once it is done: nothing to pause, nothing sent.
    let r = trainyard(
        dir.path(),
        &config,
        &["pause", RUNNING[0], RUNNING[1], RUNNING[2], RUNNING[3]],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(sim.actions().len(), 1);
}

#[test]
fn a_blocked_action_is_refused_and_forcing_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let promote = ["promote", "payments-api", "--to", "canary", "--yes"];
    let r = trainyard(dir.path(), &config, &promote);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("blocked") && r.stdout.contains("needs ledger at canary"),
        "{}",
        r.stdout
    );
    let r = trainyard(dir.path(), &config, &[&promote[..], &["--force"]].concat());
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("needs a reason"), "{}", r.stdout);
    assert!(sim.actions().is_empty());
    let r = trainyard(
        dir.path(),
        &config,
        &[
            &promote[..],
            &["--force", "--reason", "ledger checked by hand", "--json"],
        ]
        .concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v = r.json();
    assert_eq!(v["result"], "done");
    assert_eq!(v["forced"], true);
    let sent = sim.actions();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["reason"], "ledger checked by hand");
    let records = audit(dir.path());
    let last = records.last().unwrap();
    assert_eq!(last["result"], "done");
    assert_eq!(last["forced"], true);
    assert!(
        last["actor"].as_str().unwrap().starts_with("tester@"),
        "{last}"
    );
    assert_eq!(last["origin"], "local");
}

#[test]
fn readonly_refuses_every_action_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let commands: [&[&str]; 8] = [
        &["promote", "search-indexer", "--yes"],
        &["pause", "ledger", "--stage", "canary", "--yes"],
        &["resume", "ledger", "--stage", "canary", "--yes"],
        &["rollback", "ledger", "--stage", "prod", "--yes"],
        &["approve", "checkout-web", "--stage", "prod", "--yes"],
        &["reject", "checkout-web", "--stage", "prod", "--yes"],
        &["halt", "--reason", "x", "--yes"],
        &["unhalt", "--reason", "x", "--yes"],
    ];
    for c in commands {
        let r = trainyard(dir.path(), &config, &[&["--readonly"], c].concat());
        assert_eq!(r.code, 6, "{c:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("read-only"), "{c:?}: {}", r.stdout);
    }
    assert!(sim.actions().is_empty());
    assert!(audit(dir.path()).is_empty());
}

#[test]
fn audit_lists_what_happened_since_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, config) = setup(dir.path(), "");
    let r = trainyard(
        dir.path(),
        &config,
        &["halt", "--yes", "--reason", "incident 42"],
    );
    assert_eq!(r.code, 0);
    let r = trainyard(dir.path(), &config, &["audit", "--since", "1h"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("halt: attempt") && r.stdout.contains("halt: done — \"incident 42\""),
        "{}",
        r.stdout
    );
    let r = trainyard(dir.path(), &config, &["audit", "--json"]);
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for field in [
        "seq",
        "ts",
        "actor",
        "origin",
        "action",
        "lane",
        "stage",
        "from",
        "to",
        "reason",
        "forced",
        "dry_run",
        "result",
        "error",
        "prev_hash",
        "hash",
    ] {
        assert!(
            lines[1].get(field).is_some(),
            "record lacks {field}: {}",
            lines[1]
        );
    }
    let r = trainyard(dir.path(), &config, &["audit", "--since", "soon"]);
    assert_eq!(r.code, 2);
}

#[test]
fn without_a_terminal_and_without_yes_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let r = trainyard(
        dir.path(),
        &config,
        &["pause", "ledger", "--stage", "canary"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    assert!(sim.actions().is_empty());
}

#[test]
fn the_halt_survives_a_restart_and_unhalt_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    let r = trainyard(dir.path(), &config, &["halt", "--yes"]);
    assert_eq!(r.code, 6, "{}", r.stdout);
    let r = trainyard(
        dir.path(),
        &config,
        &["halt", "--yes", "--reason", "incident 42"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // A new process: the halt is back, from the audit log.
    let status = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert_eq!(status["train"]["halted"], true);
    assert!(
        status["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["kind"] == "halt")
    );
    let r = trainyard(
        dir.path(),
        &config,
        &["promote", "search-indexer", "--to", "staging", "--yes"],
    );
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("halted by tester"), "{}", r.stdout);
    // The halt can't be forced.
    let r = trainyard(
        dir.path(),
        &config,
        &[
            "promote",
            "search-indexer",
            "--to",
            "staging",
            "--yes",
            "--force",
            "--reason",
            "urgent",
        ],
    );
    assert_eq!(r.code, 6, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("can't be forced"), "{}", r.stdout);
    let r = trainyard(dir.path(), &config, &["unhalt", "--yes"]);
    assert_eq!(r.code, 6);
    let r = trainyard(
        dir.path(),
        &config,
        &["unhalt", "--yes", "--reason", "fixed"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let status = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert_eq!(status["train"]["halted"], false);
    assert!(
        sim.actions().is_empty(),
        "the halt is trainyard's own: nothing goes to a source"
    );
    // A lane hold works the same way.
    let r = trainyard(
        dir.path(),
        &config,
        &["pause", "search-indexer", "--yes", "--reason", "flaky"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let status = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert!(
        status::blocked(&status, "hold", "search-indexer"),
        "{status}"
    );
}

#[test]
fn a_rejection_exits_4_and_a_slow_cell_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    // search-indexer's staging is read under a name the simulator doesn't know: the source
    // says 404 when asked to act on it. And verification gives up after 1s.
    let sim = sim::spawn(dir.path(), &[]);
    let audit_path = dir.path().join("audit.jsonl");
    let text = sim.config.replace(
        "name = \"search-indexer\"",
        "name = \"search-indexer\"\nstages.canary = { source = \"sim\", stage = \"no-such-stage\" }",
    );
    assert_ne!(text, sim.config);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{text}\n[audit]\npath = {:?}\n[actions]\nverify_timeout = \"1s\"\n",
            audit_path.display().to_string()
        ),
    )
    .unwrap();
    let r = trainyard(
        dir.path(),
        &config,
        &[
            "promote",
            "search-indexer",
            "--to",
            "canary",
            "--yes",
            "--force",
            "--reason",
            "test",
        ],
    );
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("rejected") && r.stdout.contains("404"),
        "{}",
        r.stdout
    );
    // ledger's canary takes minutes at this pace: pausing is quick, a rollback of prod is not.
    let r = trainyard(
        dir.path(),
        &config,
        &["rollback", "ledger", "--stage", "prod", "--yes"],
    );
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("timeout") && r.stdout.contains("within 1s"),
        "{}",
        r.stdout
    );
    let results: Vec<String> = audit(dir.path())
        .iter()
        .map(|r| r["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results, ["attempt", "rejected", "attempt", "timeout"]);
}

#[test]
fn two_processes_appending_together_leave_a_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, config) = setup(dir.path(), "");
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..8 {
                    // A lane hold's dry run: valid whatever the scenario does meanwhile.
                    let r = trainyard(dir.path(), &config, &["pause", "ledger", "--dry-run"]);
                    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
                }
            });
        }
    });
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("intact: 16 records"), "{}", r.stdout);
}

#[test]
fn a_tampered_or_truncated_log_fails_verify_at_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, config) = setup(dir.path(), "");
    for reason in ["one", "two", "three"] {
        let r = trainyard(
            dir.path(),
            &config,
            &[
                "pause",
                "ledger",
                "--stage",
                "canary",
                "--dry-run",
                "--reason",
                reason,
            ],
        );
        assert_eq!(r.code, 0);
    }
    let path = dir.path().join("audit.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Edited: line 2's reason.
    std::fs::write(&path, good.replace("\"two\"", "\"routine\"")).unwrap();
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("audit.jsonl:2: chain broken") && r.stdout.contains("edited"),
        "{}",
        r.stdout
    );

    // Removed: line 2.
    let lines: Vec<&str> = good.lines().collect();
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("audit.jsonl:2: chain broken"),
        "{}",
        r.stdout
    );

    // Torn: a write cut off mid-line is reported, and the next append leaves a valid chain.
    std::fs::write(&path, format!("{good}{{\"seq\":4,\"ts\":")).unwrap();
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("audit.jsonl:4: warning: torn last line"),
        "{}",
        r.stdout
    );
    let r = trainyard(
        dir.path(),
        &config,
        &["pause", "ledger", "--stage", "canary", "--dry-run"],
    );
    assert_eq!(r.code, 0);
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("intact: 5 records"), "{}", r.stdout);
    let r = trainyard(dir.path(), &config, &["audit"]);
    assert!(
        r.stdout.contains("repaired") && r.stdout.contains("torn last line"),
        "{}",
        r.stdout
    );
}

/// Stopped by a signal after the request went out (the SSH session died, Ctrl-C): the audit
/// log says "sent, outcome unknown" with the signal, the exit code is 128 + n, and the next
/// `status` lists the action as unfinished until someone acts on that cell again.
#[test]
fn a_signal_after_sending_leaves_sent_outcome_unknown_and_status_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup(dir.path(), "");
    for (signal, code, lane) in [("HUP", 129, "ledger"), ("INT", 130, "payments-api")] {
        // A rollback of prod takes minutes at this pace: verification is still going on.
        let running = Trainyard::new(dir.path())
            .config(&config)
            .args(["rollback", lane, "--stage", "prod", "--yes"])
            .spawn();
        // The source accepted it, and the runner is watching the cell: stop it now.
        running.wait_for_stderr("the rollback to be accepted", |s| {
            s.contains("accepted by sim")
        });
        let sent = |a: &Value| a["lane"] == lane && a["action"] == "rollback";
        assert!(sim.actions().iter().any(sent), "{:#?}", sim.actions());
        running.signal(signal);
        let run = running.finish();
        assert_eq!(run.code, code, "{run}");
        assert!(
            run.stderr.contains(&format!("stopped by SIG{signal}")),
            "{run}"
        );
        let last = audit(dir.path()).pop().unwrap();
        assert_eq!(last["result"], "unknown", "{last}");
        assert_eq!(last["lane"], lane);
        let error = last["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!(
                "sent to sim, outcome unknown: trainyard was stopped by SIG{signal}"
            )),
            "{error}"
        );
    }
    let r = trainyard(dir.path(), &config, &["status"]);
    assert!(r.stdout.contains("UNFINISHED ACTIONS (2)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("rollback ledger at prod by tester"),
        "{}",
        r.stdout
    );
    let v = trainyard(dir.path(), &config, &["status", "--json"]).json();
    let unfinished = v["unfinished_actions"].as_array().unwrap();
    assert_eq!(unfinished.len(), 2, "{v}");
    assert_eq!(unfinished[0]["result"], "unknown");
    assert!(
        unfinished[1]["message"]
            .as_str()
            .unwrap()
            .contains("SIGINT (Ctrl-C)")
    );
    // A new action on ledger's prod means someone dealt with it: no longer listed.
    let r = trainyard(
        dir.path(),
        &config,
        &["rollback", "ledger", "--stage", "prod", "--yes"],
    );
    assert!(r.code == 0 || r.code == 4, "{}{}", r.stdout, r.stderr);
    let r = trainyard(dir.path(), &config, &["status"]);
    assert!(r.stdout.contains("UNFINISHED ACTIONS (1)"), "{}", r.stdout);
    assert!(!r.stdout.contains("rollback ledger"), "{}", r.stdout);
}

/// An action command that policy and trainyard let through: sent, and done or still being
/// verified when `verify_timeout` ran out (exit 0 or 5).
fn assert_sent(r: &Run) {
    assert!(
        (r.code == 0 && r.stdout.starts_with("done: "))
            || (r.code == 5 && r.stdout.starts_with("timeout: ")),
        "{r}"
    );
}

/// Refused by policy (exit 3) saying every one of `words`, and refused when forced too (exit
/// 6: neither a halt nor a hold can be forced).
fn assert_blocked_even_forced(dir: &Path, config: &Path, args: &[&str], words: &[&str]) {
    let r = trainyard(dir, config, args);
    assert_eq!(r.code, 3, "{args:?}: {r}");
    assert!(r.stdout.starts_with("blocked: "), "{args:?}: {r}");
    for w in words {
        assert!(r.stdout.contains(w), "{args:?}: no {w:?} in {r}");
    }
    let forced = [args, &["--force", "--reason", "urgent"]].concat();
    let r = trainyard(dir, config, &forced);
    assert_eq!(r.code, 6, "{forced:?}: {r}");
    assert!(r.stdout.contains("can't be forced"), "{forced:?}: {r}");
}

/// The simulator (its own pace: ledger's canary rolls out for minutes) and a config whose
/// verification gives up after a second: what matters is what was sent.
fn setup_for_holds(dir: &Path) -> (SimProcess, std::path::PathBuf) {
    let sim = sim::spawn(dir, &[]);
    let config = sim.write_config(
        dir,
        &format!(
            "[audit]\npath = {:?}\n[actions]\nverify_timeout = \"1s\"\n",
            dir.join("audit.jsonl").display().to_string()
        ),
    );
    (sim, config)
}

/// `reject` end to end: checkout-web waits for approval at prod, read here through the
/// simulator's `http` protocol; the command sends the rejection with who and why, sees the
/// cell cancelled, and the audit log has the attempt and the outcome.
#[test]
fn reject_reaches_the_source_is_verified_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "10"]);
    let text = sim.config.replace(
        "source = \"gh\"\nrepo = \"acme/checkout-web\"\n\
         stages.build = { workflow = \"ci.yml\" }\n\
         stages.staging = { environment = \"staging\", workflow = \"deploy.yml\" }\n\
         stages.canary = { environment = \"canary\", workflow = \"deploy.yml\" }\n\
         stages.prod = { environment = \"production\", workflow = \"deploy.yml\" }\n",
        "source = \"sim\"\n",
    );
    assert_ne!(
        text, sim.config,
        "checkout-web is read through GitHub by default"
    );
    let r = reject_checkout_web(dir.path(), &text, "release notes missing");
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.starts_with("done: ") && r.stdout.contains("rejected: cancelled"),
        "{r}"
    );
    // What the simulator got: the rejection of that cell, with who and why, accepted (202).
    let sent = sim.actions();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let a = &sent[0];
    assert_eq!(
        (&a["action"], &a["lane"], &a["stage"], &a["status"]),
        (
            &Value::from("reject"),
            &Value::from("checkout-web"),
            &Value::from("prod"),
            &Value::from(202)
        ),
        "{a}"
    );
    assert_eq!(a["reason"], "release notes missing", "{a}");
    assert!(a["actor"].as_str().unwrap().starts_with("tester@"), "{a}");
    assert!(sim.github_writes().is_empty());
    // The audit log: the attempt, then the outcome, one id.
    let records = audit(dir.path());
    assert_eq!(records.len(), 2, "{records:#?}");
    for (rec, result) in records.iter().zip(["attempt", "done"]) {
        assert_eq!(rec["result"], result, "{rec}");
        assert_eq!(rec["action"], "reject", "{rec}");
        assert_eq!(rec["lane"], "checkout-web", "{rec}");
        assert_eq!(rec["stage"], "prod", "{rec}");
        assert_eq!(rec["reason"], "release notes missing", "{rec}");
        assert_eq!(rec["id"], records[0]["id"], "{rec}");
    }
    // The train says so: nothing waits for approval there any more.
    let config = dir.path().join("config.toml");
    let status = trainyard(dir.path(), &config, &["status", "--json"]).json();
    let cell = status::cell(&status, "checkout-web", "prod");
    assert_eq!(cell["state"], "cancelled", "{cell}");
    assert!(
        !status::blocked(&status, "awaiting_approval", "checkout-web"),
        "{status}"
    );
}

/// `trainyard reject checkout-web --stage prod --yes --reason WHY` with the config `text`, its
/// audit log in `dir`.
fn reject_checkout_web(dir: &std::path::Path, text: &str, why: &str) -> common::bin::Run {
    let config = dir.join("config.toml");
    let audit = dir.join("audit.jsonl").display().to_string();
    std::fs::write(&config, format!("{text}\n[audit]\npath = {audit:?}\n")).unwrap();
    trainyard(
        dir,
        &config,
        &[
            "reject",
            "checkout-web",
            "--stage",
            "prod",
            "--yes",
            "--reason",
            why,
        ],
    )
}

/// `reject` through GitHub: the review is rejected, GitHub ends the run with `failure` and the
/// deployment with status `failure`, and that is the rejection verified — not a wait for the
/// verification timeout.
#[test]
fn reject_through_github_is_verified_by_the_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "10"]);
    // A rejection not seen for what it is would wait out this timeout and exit 5.
    let text = format!("{}\n[actions]\nverify_timeout = \"60s\"\n", sim.config);
    let r = reject_checkout_web(dir.path(), &text, "not today");
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.starts_with("done: ") && r.stdout.contains("rejected"),
        "{r}"
    );
    // The review went to GitHub's API, as a rejection.
    let writes = sim.github_writes();
    assert!(
        writes.iter().any(|w| w.to_string().contains("rejected")),
        "{writes:#?}"
    );
    let records = audit(dir.path());
    let results: Vec<_> = records
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["attempt", "done"], "{records:#?}");
}

/// With the train halted, approve and resume are blocked, forced or not, and say by whom and
/// why; pause, reject and rollback go to their sources.
#[test]
fn the_halt_blocks_approve_and_resume_not_pause_reject_or_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup_for_holds(dir.path());
    let (d, c) = (dir.path(), config.as_path());
    let r = trainyard(d, c, &["halt", "--yes", "--reason", "incident 7"]);
    assert_eq!(r.code, 0, "{r}");
    let halted = ["halted by tester@", "incident 7"];

    let approve = ["approve", "checkout-web", "--stage", "prod", "--yes"];
    assert_blocked_even_forced(d, c, &approve, &halted);
    assert_sent(&trainyard(
        d,
        c,
        &["pause", "ledger", "--stage", "canary", "--yes"],
    ));
    let resume = ["resume", "ledger", "--stage", "canary", "--yes"];
    assert_blocked_even_forced(d, c, &resume, &halted);
    assert_sent(&trainyard(
        d,
        c,
        &["reject", "checkout-web", "--stage", "prod", "--yes"],
    ));
    assert_sent(&trainyard(
        d,
        c,
        &["rollback", "payments-api", "--stage", "prod", "--yes"],
    ));

    // At the sources: the pause and the rollback, the rejection; no resume, no approval.
    let sent: Vec<(String, String, String)> = sim
        .actions()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("action"), s("lane"), s("stage"))
        })
        .collect();
    let want = |a: &str, l: &str, s: &str| (a.to_string(), l.to_string(), s.to_string());
    assert_eq!(
        sent,
        [
            want("pause", "ledger", "canary"),
            want("rollback", "payments-api", "prod")
        ]
    );
    let reviews: Vec<String> = sim
        .github_writes()
        .iter()
        .map(|w| w["body"]["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(reviews, ["rejected"]);
    // Nothing blocked was attempted.
    let attempted: Vec<String> = audit(d)
        .iter()
        .filter(|r| r["result"] == "attempt")
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(attempted, ["halt", "pause", "reject", "rollback"]);
}

/// With a lane held, its promotion is blocked, forced or not, and says by whom and why; a
/// rollback of it goes to the source.
#[test]
fn a_held_lane_refuses_promote_but_not_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, config) = setup_for_holds(dir.path());
    let (d, c) = (dir.path(), config.as_path());
    let r = trainyard(
        d,
        c,
        &["pause", "ledger", "--yes", "--reason", "schema check"],
    );
    assert_eq!(r.code, 0, "{r}");

    let promote = ["promote", "ledger", "--to", "prod", "--yes"];
    assert_blocked_even_forced(
        d,
        c,
        &promote,
        &["ledger is on hold by tester@", "schema check"],
    );
    assert_sent(&trainyard(
        d,
        c,
        &["rollback", "ledger", "--stage", "prod", "--yes"],
    ));
    let sent: Vec<(String, String)> = sim
        .actions()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["lane"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(sent, [("rollback".to_string(), "ledger".to_string())]);
}
