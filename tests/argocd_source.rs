//! The `argocd` source against the simulator's Argo CD API (`trainyard demo --argocd`):
//! ledger's and notifications' deploy stages are Applications, their canaries Argo Rollouts.
//! Reading (one list per poll, and the moving Rollouts), every action through the runner with
//! the exact request checked at the server, the automated-sync rollback refused before
//! anything is sent, a disabled action, 401 and 403 in words, and hostile strings.

mod common;

use serde_json::{Value, json};

use trainyard::model::{ActionKind, CellState, World};
use trainyard::ops::{Action, Outcome, Plan, Runner};
use trainyard::poll;
use trainyard::sim::SimOptions;
use trainyard::sources::{ActionError, ActionRequest};

use common::sim::{self, Demo, poll_into};

async fn demo(speed: f64) -> Demo {
    demo_with(speed, false, |t| t).await
}

/// The demo with the Argo CD source's token replaced by `token`.
async fn demo_with_token(token: &str) -> Demo {
    demo_with(1.0, false, |t| {
        t.replace(
            "token_cmd = \"echo trainyard-demo\"\ninterval = \"2s\"\n\n[[lanes]]",
            &format!("token_cmd = \"echo {token}\"\ninterval = \"2s\"\n\n[[lanes]]"),
        )
    })
    .await
}

async fn demo_with(speed: f64, hostile: bool, edit: impl FnOnce(String) -> String) -> Demo {
    sim::demo_edited(
        SimOptions {
            speed,
            hostile,
            argocd: true,
            ..sim::opts()
        },
        edit,
    )
    .await
}

async fn observe(d: &Demo) -> World {
    let mut w = d.config.empty_world();
    poll_into(&mut w, &d.sources).await;
    w
}

/// Every request the simulator's Argo CD API received, in order.
async fn requests(d: &Demo) -> Vec<Value> {
    let (status, v) = sim::get(
        &sim::client(),
        format!("{}/api/v1/_sim/argocd/requests", d.url()),
    )
    .await;
    assert_eq!(status, 200);
    v["requests"].as_array().unwrap().clone()
}

async fn clear(d: &Demo) {
    sim::client()
        .delete(format!("{}/api/v1/_sim/argocd/requests", d.url()))
        .send()
        .await
        .unwrap();
}

/// The writes among the requests: what an action sent.
async fn writes(d: &Demo) -> Vec<Value> {
    requests(d)
        .await
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .collect()
}

fn plan(d: &Demo, runner: &Runner, world: &World, a: Action) -> Plan {
    let holds = trainyard::ops::holds_from(&sim::audit_file(runner).read().unwrap());
    trainyard::ops::preflight(a, &d.config.train, world, &holds, poll::now()).unwrap()
}

/// The demo's `argo` source.
fn argo_of(d: &Demo) -> &dyn trainyard::sources::Source {
    d.sources
        .iter()
        .find(|s| s.name() == "argo")
        .expect("the demo has an argo source")
        .as_ref()
}

/// What the `argo` source says when asked directly to do what it must refuse.
async fn refusal(
    d: &Demo,
    kind: ActionKind,
    lane: &str,
    stage: &str,
    version: Option<String>,
) -> ActionError {
    argo_of(d)
        .act(&request(kind, lane, stage, version))
        .await
        .expect_err("the source refuses it")
}

fn request(kind: ActionKind, lane: &str, stage: &str, version: Option<String>) -> ActionRequest {
    ActionRequest {
        id: format!("{kind}-{lane}-{stage}"),
        kind,
        lane: lane.into(),
        stage: stage.into(),
        version,
        reason: None,
        actor: "tester".into(),
        force: false,
    }
}

fn rollout_query(lane: &str) -> Value {
    json!({"namespace": format!("{lane}-canary"), "resourceName": lane, "version": "v1alpha1",
           "group": "argoproj.io", "kind": "Rollout"})
}

#[tokio::test]
async fn argo_lanes_show_their_true_states_beside_the_other_sources_with_one_list_per_poll() {
    let d = demo(1.0).await;
    let w = observe(&d).await;
    // ledger's canary waits at a pause step; notifications' walks its steps.
    let canary = w.cell("ledger", "canary").unwrap();
    assert_eq!(canary.source, "argo");
    assert_eq!(canary.state, CellState::AwaitingApproval, "{canary:?}");
    assert_eq!(
        canary.approval.as_ref().unwrap().environment.as_deref(),
        Some("the canary, step 2/6, canary at 20%")
    );
    assert_eq!(
        w.cell("notifications", "canary").unwrap().state,
        CellState::Running
    );
    // Versions flow from CI: ledger's canary runs the version its staging has.
    let staging = w.cell("ledger", "staging").unwrap();
    assert_eq!(staging.state, CellState::Succeeded);
    assert_eq!(staging.version, canary.version);
    assert!(!staging.history.is_empty());
    assert!(
        staging
            .url
            .as_deref()
            .unwrap()
            .ends_with("/applications/ledger-staging")
    );
    // An Application without a Rollout can't be paused at Argo CD: refused, with what to do.
    assert!(
        staging
            .refusal(ActionKind::Pause)
            .unwrap()
            .starts_with("ledger-staging manages no Argo Rollout: Argo CD can't pause a sync")
    );
    assert!(canary.refusal(ActionKind::Pause).is_none());
    // Automated sync at notifications' prod: said before any action.
    let prod = w.cell("notifications", "prod").unwrap();
    assert!(
        prod.warnings
            .iter()
            .any(|m| m.contains("automated sync is on")),
        "{:?}",
        prod.warnings
    );
    // The other sources' lanes are there as before.
    assert_eq!(w.cell("ledger", "build").unwrap().source, "sim");
    assert_eq!(w.cell("checkout-web", "prod").unwrap().source, "gh");

    // One list per poll, projected and restricted to the train's projects; the three canaries'
    // Rollouts (ledger's, notifications' and auth-service's: none is healthy) each cost their
    // manifest and their actions.
    clear(&d).await;
    observe(&d).await;
    let r = requests(&d).await;
    let lists: Vec<&Value> = r
        .iter()
        .filter(|r| r["path"] == "/api/v1/applications")
        .collect();
    assert_eq!(lists.len(), 1, "{r:#?}");
    assert!(
        lists[0]["query"]["fields"]
            .as_str()
            .unwrap()
            .contains("items.status.history")
    );
    assert_eq!(r.len(), 7, "{r:#?}");
    assert!(r.iter().all(|r| r["status"] == 200), "{r:#?}");
    d.handle.shutdown().await;
}

#[tokio::test]
async fn promote_resumes_the_canary_waiting_at_a_step_on_that_version() {
    let d = demo(4.0).await;
    let (_dir, runner) = d.runner();
    let w = observe(&d).await;
    clear(&d).await;
    // The version at staging waits at canary's pause step: promoting it resumes the Rollout,
    // which then walks its timed steps to the end.
    let p = plan(
        &d,
        &runner,
        &w,
        Action::new(ActionKind::Promote, "ledger", "canary"),
    );
    // Looked at once more before sending: another version than the one confirmed is not
    // aborted; a state moved on meanwhile is (what is aborted moves).
    let mut other = p.clone();
    other.seen.as_mut().unwrap().0 = Some("0000000".into());
    let o = runner.run(&other, false, &|_| {}).await;
    assert!(
        matches!(&o, Outcome::Refused(m) if m.contains("changed since you confirmed")),
        "{o:?}"
    );
    let mut p = p;
    p.seen.as_mut().unwrap().1 = CellState::AwaitingApproval;
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        sent[0]["path"],
        "/api/v1/applications/ledger-canary/resource/actions"
    );
    assert_eq!(sent[0]["query"], rollout_query("ledger"));
    assert_eq!(sent[0]["body"], "resume");
    let w = observe(&d).await;
    assert_eq!(
        w.cell("ledger", "canary").unwrap().state,
        CellState::Succeeded
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn pause_and_resume_are_the_rollouts_own() {
    let d = demo(1.0).await;
    let (_dir, runner) = d.runner();
    let w = observe(&d).await;
    assert_eq!(
        w.cell("notifications", "canary").unwrap().state,
        CellState::Running
    );
    clear(&d).await;
    let p = plan(
        &d,
        &runner,
        &w,
        Action::new(ActionKind::Pause, "notifications", "canary"),
    );
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let w = observe(&d).await;
    let c = w.cell("notifications", "canary").unwrap();
    assert_eq!(c.state, CellState::Paused, "{c:?}");
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .starts_with("paused (PausedByUser)")
    );
    let p = plan(
        &d,
        &runner,
        &w,
        Action::new(ActionKind::Resume, "notifications", "canary"),
    );
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    let bodies: Vec<Value> = sent.iter().map(|r| r["body"].clone()).collect();
    assert_eq!(bodies, [json!("pause"), json!("resume")]);
    assert!(
        sent.iter()
            .all(|r| r["query"] == rollout_query("notifications"))
    );
    // A Rollout's pause is Argo's own: trainyard holds no lane for it.
    let holds = trainyard::ops::holds_from(&sim::audit_file(&runner).read().unwrap());
    assert!(holds.lanes.is_empty(), "{holds:?}");
    assert!(sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}

#[tokio::test]
async fn abort_stops_the_waiting_canary_and_a_disabled_action_is_refused_with_argos_word() {
    let d = demo(1.0).await;
    let (_dir, runner) = d.runner();
    let w = observe(&d).await;
    clear(&d).await;
    let p = plan(
        &d,
        &runner,
        &w,
        Action::new(ActionKind::Abort, "ledger", "canary"),
    );
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["body"], "abort");
    assert_eq!(sent[0]["query"], rollout_query("ledger"));
    let w = observe(&d).await;
    let c = w.cell("ledger", "canary").unwrap();
    assert_eq!(c.state, CellState::Cancelled);
    assert!(c.message.as_deref().unwrap().starts_with("rollout aborted"));
    // An aborted Rollout can't be paused or aborted again: Argo CD lists both as disabled,
    // the cell says so (planning refuses them with that reason), and the source refuses
    // without sending anything.
    assert_eq!(
        c.refusal(ActionKind::Pause),
        Some(
            "Argo CD lists the action pause of Rollout ledger as disabled (the Rollout's state \
             does not allow it now)"
        )
    );
    assert_eq!(
        c.refusal(ActionKind::Abort),
        Some(
            "Argo CD lists the action abort of Rollout ledger as disabled (the Rollout's state \
             does not allow it now)"
        )
    );
    assert!(c.refusal(ActionKind::Reject).is_some());
    assert!(c.refusal(ActionKind::Rollback).is_none());
    clear(&d).await;
    let e = refusal(&d, ActionKind::Pause, "ledger", "canary", c.version.clone()).await;
    assert!(
        matches!(&e, ActionError::Unsupported(m) if m.contains("lists the action pause of Rollout ledger as disabled")),
        "{e:?}"
    );
    assert!(requests(&d).await.is_empty());
    d.handle.shutdown().await;
}

#[tokio::test]
async fn promote_syncs_to_the_version_and_rollback_goes_to_its_history_entry() {
    let d = demo(4.0).await;
    let (_dir, runner) = d.runner();
    let w = observe(&d).await;
    let before = w.cell("ledger", "prod").unwrap().version.clone().unwrap();
    clear(&d).await;
    // Into prod, past the soak and the canary's wait, forced with a reason.
    let mut a = Action::new(ActionKind::Promote, "ledger", "prod");
    a.force = true;
    a.reason = Some("schema migration verified by hand".into());
    let mut p = plan(&d, &runner, &w, a.clone());
    p.action = a;
    let want = p.to_version.clone().unwrap();
    assert_ne!(want, before);
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["path"], "/api/v1/applications/ledger-prod/sync");
    assert_eq!(
        sent[0]["body"],
        json!({"revision": want, "prune": false, "dryRun": false})
    );
    let w = observe(&d).await;
    let prod = w.cell("ledger", "prod").unwrap();
    assert_eq!(prod.version.as_deref(), Some(want.as_str()));
    assert_eq!(prod.actor.as_deref(), Some(trainyard::sim::ARGO_ACCOUNT));

    // Rolled back to the version before: Argo CD's rollback to the newest history entry
    // that deployed it.
    let app: Value = sim::client()
        .get(format!("{}/api/v1/applications/ledger-prod", d.url()))
        .bearer_auth("trainyard-demo")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = app["status"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|h| h["revision"] == before.as_str())
        .map(|h| h["id"].clone())
        .unwrap();
    clear(&d).await;
    let p = plan(
        &d,
        &runner,
        &w,
        Action::new(ActionKind::Rollback, "ledger", "prod"),
    );
    assert_eq!(p.to_version.as_deref(), Some(before.as_str()));
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["path"], "/api/v1/applications/ledger-prod/rollback");
    assert_eq!(
        sent[0]["body"],
        json!({"id": id, "prune": false, "dryRun": false})
    );
    let w = observe(&d).await;
    assert_eq!(
        w.cell("ledger", "prod").unwrap().version.as_deref(),
        Some(before.as_str())
    );
    assert!(sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}

#[tokio::test]
async fn a_rollback_under_automated_sync_is_refused_before_anything_is_sent() {
    let d = demo(1.0).await;
    let w = observe(&d).await;
    clear(&d).await;
    // Planning refuses it, with the reason and what to do: no dialog, no request.
    let holds = Default::default();
    let e = trainyard::ops::preflight(
        Action::new(ActionKind::Rollback, "notifications", "prod"),
        &d.config.train,
        &w,
        &holds,
        poll::now(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        "rollback notifications at prod: automated sync is on for notifications-prod: Argo CD \
         refuses a rollback while it is on (turn it off first: argocd app set notifications-prod \
         --sync-policy none, or promote the earlier version through git)"
    );
    // So does availability, which the keys, the help and the CLI ask.
    let avail = trainyard::ops::availability::assess(
        Action::new(ActionKind::Rollback, "notifications", "prod"),
        &trainyard::ops::availability::Situation {
            train: &d.config.train,
            world: &w,
            holds: &holds,
            now: poll::now(),
            readonly: false,
            in_flight: &Default::default(),
        },
    );
    assert!(
        matches!(&avail, trainyard::ops::availability::Avail::No(m) if m.contains("automated sync is on")),
        "{avail:?}"
    );
    // Every other action's dialog says it too.
    let prod = w.cell("notifications", "prod").unwrap();
    assert!(
        prod.warnings
            .iter()
            .any(|m| m.contains("automated sync is on"))
    );
    // And the source itself refuses it, should it be asked.
    let e = refusal(
        &d,
        ActionKind::Rollback,
        "notifications",
        "prod",
        prod.version.clone(),
    )
    .await;
    assert!(
        matches!(&e, ActionError::Unsupported(m) if m.contains("Argo CD refuses a rollback")),
        "{e:?}"
    );
    assert!(requests(&d).await.is_empty(), "nothing was sent");
    d.handle.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_and_rbac_are_said_in_words() {
    // RBAC: a read-only account reads, and an action is rejected with Argo CD's reason.
    let d = demo_with_token(trainyard::sim::ARGO_READONLY_TOKEN).await;
    let w = observe(&d).await;
    let canary = w.cell("ledger", "canary").unwrap();
    assert_eq!(canary.state, CellState::AwaitingApproval);
    // Argo CD's can-i said no to sync before any key: planning refuses a promote into
    // staging with the policy line.
    let e = trainyard::ops::preflight(
        Action::new(ActionKind::Promote, "ledger", "staging"),
        &d.config.train,
        &w,
        &Default::default(),
        poll::now(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        "promote ledger at staging: Argo CD's RBAC does not let this account sync \
         ledger-staging (policy line: p, ROLE, applications, sync, core-banking/ledger-staging, \
         allow)"
    );
    // The Rollout's resume can't be asked of can-i (Argo CD answers only plain actions): the
    // approve is not refused beforehand ...
    assert!(canary.refusal(ActionKind::Approve).is_none());
    // ... and when sent, Argo CD's own refusal is said in words.
    clear(&d).await;
    let e = refusal(
        &d,
        ActionKind::Approve,
        "ledger",
        "canary",
        canary.version.clone(),
    )
    .await;
    match &e {
        ActionError::Rejected { status, message, .. } => assert!(
            *status == 403
                && message.contains("permission denied by Argo CD's RBAC (permission denied: applications, action/argoproj.io/Rollout/resume, core-banking/ledger-canary"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    d.handle.shutdown().await;

    // An expired token: the poll fails, in words, with what to do.
    let d = demo_with_token("expired").await;
    let argo = argo_of(&d);
    let e = argo.poll().await.unwrap_err();
    assert!(
        e.contains("Argo CD answered 401: the token was refused")
            && e.contains("argocd account generate-token"),
        "{e}"
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn hostile_strings_from_argo_cd_never_reach_the_cells() {
    let d = demo_with(1.0, true, |t| t).await;
    // The payload does carry them.
    let raw = sim::client()
        .get(format!("{}/api/v1/applications", d.url()))
        .bearer_auth("trainyard-demo")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let odd = |ch: char| {
        ch.is_control()
            || matches!(ch, '\u{200b}' | '\u{feff}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    assert!(raw.contains("\\u001b") || raw.chars().any(odd), "{raw}");
    let w = observe(&d).await;
    let mut seen = 0;
    for lane in ["ledger", "notifications"] {
        for stage in ["staging", "canary", "prod"] {
            let Some(c) = w.cell(lane, stage) else {
                continue;
            };
            let mut c = c.clone();
            c.texts_mut(&mut |s| {
                assert!(
                    !s.chars()
                        .any(|ch| ch.is_control() || ('\u{202a}'..='\u{202e}').contains(&ch)),
                    "{lane} {stage}: {s:?}"
                );
                seen += 1;
                None
            });
        }
    }
    assert!(seen > 20);
    // A sync terminated while the server's messages carry attacks: the cell says it in its own
    // words.
    let argo = argo_of(&d);
    argo.act(&request(
        ActionKind::Promote,
        "ledger",
        "staging",
        Some("0123456789abcdef0123456789abcdef01234567".into()),
    ))
    .await
    .unwrap();
    observe(&d).await;
    argo.act(&request(ActionKind::Abort, "ledger", "staging", None))
        .await
        .unwrap();
    let mut staging = None;
    for _ in 0..50 {
        let w = observe(&d).await;
        let c = w.cell("ledger", "staging").unwrap().clone();
        if c.state != CellState::Running {
            staging = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let c = staging.expect("the terminated sync settles");
    assert_eq!(c.state, CellState::Cancelled, "{c:?}");
    assert_eq!(
        c.message.as_deref(),
        Some("sync terminated: it was stopped before it finished")
    );
    d.handle.shutdown().await;
}

/// The simulator's config written beside an audit log of its own: (the log, the config).
fn with_audit(
    sim: &sim::SimProcess,
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let audit = dir.join("audit.jsonl");
    let config = sim.write_config(
        dir,
        &format!("[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    (audit, config)
}

/// What the simulator's Argo CD was asked to change, in order (its GETs left out).
fn argo_writes(sim: &sim::SimProcess) -> Vec<Value> {
    common::http::get_json(&sim.base_url, "/api/v1/_sim/argocd/requests")["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .cloned()
        .collect()
}

/// The command-line twins against `trainyard sim --argocd`, with the audit log: promote (the
/// Rollout's resume), a dry run that shows the sync it would send, and the automated-sync
/// rollback refused with its reason.
#[test]
fn from_the_command_line_with_the_audit_log() {
    use common::bin::trainyard;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--argocd", "--speed", "4"]);
    let (audit, config) = with_audit(&sim, dir.path());
    let argo_writes = || argo_writes(&sim);

    let status = trainyard(dir.path(), &config, &["status", "--json"]).json();
    let lanes = status["lanes"].as_array().unwrap();
    let ledger = lanes.iter().find(|l| l["name"] == "ledger").unwrap();
    let canary = ledger["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stage"] == "canary")
        .unwrap();
    assert_eq!(canary["source"], "argo");
    assert_eq!(canary["state"], "awaiting_approval");

    let r = trainyard(
        dir.path(),
        &config,
        &[
            "promote",
            "ledger",
            "--to",
            "prod",
            "--force",
            "--reason",
            "migration checked",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let request = r.json()["request"].as_str().unwrap().to_string();
    assert!(
        request.starts_with("POST http://127.0.0.1:")
            && request.contains("/api/v1/applications/ledger-prod/sync {\"dryRun\":false,\"prune\":false,\"revision\":\""),
        "{request}"
    );
    assert!(argo_writes().is_empty(), "a dry run sends nothing");

    let r = trainyard(
        dir.path(),
        &config,
        &["promote", "ledger", "--to", "canary", "--yes"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sent = argo_writes();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["body"], "resume");

    let r = trainyard(
        dir.path(),
        &config,
        &["rollback", "notifications", "--stage", "prod", "--yes"],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("automated sync is on for notifications-prod: Argo CD refuses a rollback"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(argo_writes().len(), 1, "the refused rollback sent nothing");

    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let promote: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["action"] == "promote" && r["dry_run"] == false)
        .map(|r| (r["stage"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(promote, [("canary", "attempt"), ("canary", "done")]);
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// The default `trainyard sim` (as `trainyard demo` plays it) reads auth-service's deploy stages
/// through its Argo CD API: the canary a Rollout waiting at a step, prod on the version before,
/// the build from the simulator's CI; the other lanes read as they always did.
#[test]
fn the_default_demo_has_an_argo_lane_whose_canary_waits_at_a_step() {
    use common::bin::trainyard;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    let config = sim.write_config(dir.path(), "");
    let v = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert_eq!(v["lanes"].as_array().unwrap().len(), 9);
    let cell = |lane: &str, stage: &str| common::status::cell(&v, lane, stage).clone();
    let waiting = cell("auth-service", "canary");
    assert_eq!(waiting["source"], "argo", "{waiting}");
    assert_eq!(waiting["state"], "awaiting_approval", "{waiting}");
    assert!(
        waiting["message"]
            .as_str()
            .unwrap()
            .starts_with("paused at a canary step: promote to go on, abort to stop (step 2/6"),
        "{waiting}"
    );
    let (staging, prod) = (
        cell("auth-service", "staging"),
        cell("auth-service", "prod"),
    );
    assert_eq!(
        (&staging["source"], &prod["source"]),
        (&"argo".into(), &"argo".into())
    );
    assert_ne!(prod["version"], waiting["version"], "{prod}");
    assert_eq!(cell("auth-service", "build")["source"], "sim");
    for lane in ["ledger", "notifications", "payments-api", "search-indexer"] {
        assert_eq!(cell(lane, "canary")["source"], "sim", "{lane}");
    }
    assert!(
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "argo" && s["ok"] == true),
        "{v}"
    );
}

/// Promote forced on a canary Rollout waiting at a step (auth-service's, in the default demo)
/// is the Rollout's `promote-full`: past every remaining step at once, verified and audited as
/// forced; the dry run shows the same request.
#[test]
fn a_forced_promote_of_a_canary_waiting_at_a_step_is_promote_full() {
    use common::bin::trainyard;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "4"]);
    let (audit, config) = with_audit(&sim, dir.path());
    let argo_writes = || argo_writes(&sim);
    let args = [
        "promote",
        "auth-service",
        "--to",
        "canary",
        "--force",
        "--reason",
        "the fix is verified",
        "--yes",
    ];
    let r = trainyard(
        dir.path(),
        &config,
        &[&args[..], &["--dry-run", "--json"]].concat(),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let request = r.json()["request"].as_str().unwrap().to_string();
    assert!(
        request.contains("/api/v1/applications/auth-service-canary/resource/actions?")
            && request.ends_with(" \"promote-full\""),
        "{request}"
    );
    assert!(argo_writes().is_empty(), "a dry run sends nothing");

    let r = trainyard(dir.path(), &config, &args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sent = argo_writes();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["body"], "promote-full");
    assert_eq!(sent[0]["query"], rollout_query("auth-service"));
    let v = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert_eq!(
        common::status::cell(&v, "auth-service", "canary")["state"],
        "succeeded"
    );
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done = records
        .iter()
        .find(|r| r["action"] == "promote" && r["result"] == "done" && r["dry_run"] == false)
        .unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(done["reason"], "the fix is verified");
}

/// `trainyard abort` against `trainyard sim --argocd`: the Rollout's `abort` exactly as Argo CD
/// takes it, verified and audited with its reason; a second abort is refused before sending
/// (Argo CD lists it as disabled now), and so is an abort of a lane read through trainyard's
/// http protocol, with what to do instead.
#[test]
fn abort_from_the_command_line_sends_the_rollouts_abort_with_the_audit_log() {
    use common::bin::trainyard;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--argocd", "--speed", "4"]);
    let (audit, config) = with_audit(&sim, dir.path());
    let argo_writes = || argo_writes(&sim);

    let r = trainyard(
        dir.path(),
        &config,
        &[
            "abort",
            "ledger",
            "--stage",
            "canary",
            "--yes",
            "--reason",
            "error budget spent",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = r.json();
    assert_eq!(out["action"], "abort");
    assert_eq!(out["result"], "done");
    let sent = argo_writes();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["method"], "POST");
    assert_eq!(
        sent[0]["path"],
        "/api/v1/applications/ledger-canary/resource/actions"
    );
    assert_eq!(sent[0]["query"], rollout_query("ledger"));
    assert_eq!(sent[0]["body"], "abort");
    assert_eq!(sent[0]["status"], 200);

    let r = trainyard(
        dir.path(),
        &config,
        &["abort", "ledger", "--stage", "canary", "--yes"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "abort ledger at canary: Argo CD lists the action abort of Rollout ledger as disabled"
        ),
        "{}",
        r.stderr
    );
    let r = trainyard(
        dir.path(),
        &config,
        &["abort", "payments-api", "--stage", "build", "--yes"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "abort payments-api at build: trainyard's http protocol has no abort: pause the \
             rollout, or roll it back"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(argo_writes().len(), 1, "the refused aborts sent nothing");

    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let aborts: Vec<(&str, &str, &str)> = records
        .iter()
        .filter(|r| r["action"] == "abort")
        .map(|r| {
            (
                r["lane"].as_str().unwrap(),
                r["result"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        aborts,
        [
            ("ledger", "attempt", "error budget spent"),
            ("ledger", "done", "error budget spent")
        ]
    );
    let r = trainyard(dir.path(), &config, &["audit", "verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

/// A deny sync window open on ledger-prod: promote (and rollback) are refused with it before
/// anything is sent, and the cell says syncs are refused, not just that it is healthy.
#[tokio::test]
async fn a_sync_window_that_forbids_syncs_refuses_promote_in_words() {
    let d = demo(1.0).await;
    let r = sim::client()
        .post(format!("{}/api/v1/_sim/argocd/windows", d.url()))
        .body(r#"{"application": "ledger-prod", "deny": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let w = observe(&d).await;
    let prod = w.cell("ledger", "prod").unwrap();
    assert_eq!(prod.state, CellState::Succeeded);
    assert!(
        prod.message
            .as_deref()
            .unwrap()
            .ends_with("; syncs refused by a sync window now"),
        "{prod:?}"
    );
    clear(&d).await;
    let mut a = Action::new(ActionKind::Promote, "ledger", "prod");
    a.force = true;
    a.reason = Some("hotfix".into());
    let e = trainyard::ops::preflight(a, &d.config.train, &w, &Default::default(), poll::now())
        .unwrap_err();
    assert_eq!(
        e,
        "promote ledger at prod: a sync window forbids syncing ledger-prod now (deny window \"0 22 * * *\" for 8h): Argo CD refuses a sync until it lets one through"
    );
    assert!(
        w.cell("ledger", "staging")
            .unwrap()
            .refusal(ActionKind::Promote)
            .is_none()
    );
    // A blocker of ledger's move into prod, in the window's words: the blockers panel, status
    // --json and the notices say it, not only a refused key.
    let ledger = d.config.train.lane("ledger").unwrap();
    let v = trainyard::model::policy::verdict(
        &d.config.train,
        &w,
        &Default::default(),
        poll::now(),
        ledger,
        3,
    );
    let b = v
        .blockers
        .iter()
        .find(|b| b.kind == trainyard::model::BlockerKind::SourceRefuses)
        .unwrap_or_else(|| panic!("{:?}", v.blockers));
    assert_eq!(b.kind.as_str(), "source_refuses");
    assert_eq!((b.lane.as_str(), b.stage.as_str()), ("ledger", "prod"));
    assert!(
        b.message
            .starts_with("a sync window forbids syncing ledger-prod now (deny window"),
        "{}",
        b.message
    );
    assert!(writes(&d).await.is_empty());
    d.handle.shutdown().await;
}

/// Abort of an Application without a Rollout terminates its running sync: refused in words
/// while nothing runs (nothing sent), planned and sent as Argo CD's `DELETE …/operation` while
/// a sync runs, audited, and the cell shows the sync terminated after.
#[tokio::test]
async fn abort_of_a_running_sync_without_a_rollout_terminates_it() {
    let d = demo(1.0).await;
    let (_dir, runner) = d.runner();
    let w = observe(&d).await;
    let staging = w.cell("ledger", "staging").unwrap();
    assert_eq!(
        staging.refusal(ActionKind::Abort),
        Some("no sync of ledger-staging is running: nothing to abort")
    );
    let argo = argo_of(&d);
    clear(&d).await;
    let e = refusal(&d, ActionKind::Abort, "ledger", "staging", None).await;
    assert!(
        matches!(&e, ActionError::Unsupported(m) if m == "no sync of ledger-staging is running: nothing to abort"),
        "{e:?}"
    );
    assert!(writes(&d).await.is_empty(), "nothing was sent");

    // A sync starts (to the build's version); the cell runs, and abort is offered.
    let to = w.cell("ledger", "build").unwrap().version.clone().unwrap();
    argo.act(&request(
        ActionKind::Promote,
        "ledger",
        "staging",
        Some(to.clone()),
    ))
    .await
    .unwrap();
    let w = observe(&d).await;
    let staging = w.cell("ledger", "staging").unwrap();
    assert_eq!(staging.state, CellState::Running, "{staging:?}");
    assert!(staging.refusal(ActionKind::Abort).is_none());
    assert!(
        staging
            .refusal(ActionKind::Pause)
            .unwrap()
            .starts_with("ledger-staging manages no Argo Rollout")
    );
    clear(&d).await;
    let mut a = Action::new(ActionKind::Abort, "ledger", "staging");
    a.reason = Some("wrong build".into());
    let p = plan(&d, &runner, &w, a.clone());
    assert_eq!(
        argo.preview(&request(ActionKind::Abort, "ledger", "staging", None)),
        format!(
            "DELETE {}/api/v1/applications/ledger-staging/operation",
            d.url()
        )
    );
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let sent = writes(&d).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["method"], "DELETE");
    assert_eq!(
        sent[0]["path"],
        "/api/v1/applications/ledger-staging/operation"
    );
    assert_eq!(sent[0]["query"], json!({}));
    assert_eq!(sent[0]["body"], Value::Null);
    assert_eq!(sent[0]["status"], 200);

    let w = observe(&d).await;
    let staging = w.cell("ledger", "staging").unwrap();
    assert_eq!(staging.state, CellState::Cancelled, "{staging:?}");
    assert_eq!(
        staging.message.as_deref(),
        Some("sync terminated: it was stopped before it finished")
    );
    assert_eq!(
        staging.refusal(ActionKind::Abort),
        Some("no sync of ledger-staging is running: nothing to abort")
    );
    let records = sim::audit_file(&runner).read().unwrap();
    let aborts: Vec<(&str, &str, Option<&str>)> = records
        .iter()
        .filter(|r| r.action == "abort")
        .map(|r| {
            (
                r.stage.as_deref().unwrap(),
                r.result.as_str(),
                r.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        aborts,
        [
            ("staging", "attempt", Some("wrong build")),
            ("staging", "done", Some("wrong build"))
        ]
    );
    assert!(sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}

/// `trainyard abort ledger --stage staging` while a sync of ledger-staging runs: the exact
/// `DELETE` at Argo CD, audited; a second abort finds nothing running and sends nothing.
#[test]
fn abort_from_the_command_line_terminates_a_running_sync() {
    use common::bin::trainyard;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--argocd"]);
    let (audit, config) = with_audit(&sim, dir.path());
    // A sync of ledger-staging started at Argo CD (as its UI would), with the demo's token.
    let body = r#"{"revision":"0123456789abcdef0123456789abcdef01234567"}"#;
    let started = {
        use std::io::{Read, Write};
        let addr = sim.base_url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /api/v1/applications/ledger-staging/sync HTTP/1.0\r\nHost: {addr}\r\n\
             Authorization: Bearer trainyard-demo\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    assert!(started.starts_with("HTTP/1.0 200"), "{started}");
    let r = trainyard(
        dir.path(),
        &config,
        &[
            "abort",
            "ledger",
            "--stage",
            "staging",
            "--yes",
            "--reason",
            "wrong build",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let sent = argo_writes(&sim);
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(
        (&sent[1]["method"], &sent[1]["path"], &sent[1]["status"]),
        (
            &json!("DELETE"),
            &json!("/api/v1/applications/ledger-staging/operation"),
            &json!(200)
        )
    );
    let v = trainyard(dir.path(), &config, &["status", "--json"]).json();
    assert_eq!(
        common::status::cell(&v, "ledger", "staging")["state"],
        "cancelled"
    );
    let r = trainyard(
        dir.path(),
        &config,
        &["abort", "ledger", "--stage", "staging", "--yes"],
    );
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("abort ledger at staging:"),
        "{}",
        r.stderr
    );
    assert_eq!(argo_writes(&sim).len(), 2, "the refused abort sent nothing");
    let records: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let aborts: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["action"] == "abort")
        .map(|r| (r["stage"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(aborts, [("staging", "attempt"), ("staging", "done")]);
}

/// Argo CD's RBAC read before any key: a sync denied to the account on ledger-prod (can-i
/// says no) makes promote and rollback there unavailable with the policy line that would allow
/// them, and nothing is sent; the answers are asked once (not again on the next poll), with
/// the exact question at the server.
#[tokio::test]
async fn a_sync_rbac_denies_is_unavailable_before_the_key_with_the_policy_line() {
    let d = demo(1.0).await;
    let r = sim::client()
        .post(format!("{}/api/v1/_sim/argocd/rbac", d.url()))
        .body(r#"{"application": "ledger-prod", "action": "sync", "deny": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    clear(&d).await;
    let w = observe(&d).await;
    let asked: Vec<String> = requests(&d)
        .await
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.starts_with("/api/v1/account/can-i/"))
        .map(String::from)
        .collect();
    for want in [
        "/api/v1/account/can-i/applications/sync/core-banking%2Fledger-prod",
        "/api/v1/account/can-i/applications/get/core-banking%2Fledger-prod",
        "/api/v1/account/can-i/applications/sync/core-banking%2Fledger-canary",
    ] {
        assert!(asked.iter().any(|p| p == want), "{want} not in {asked:#?}");
    }
    assert!(
        asked.iter().all(|p| !p.contains("/action%2F")),
        "Argo CD's can-i answers no resource action: {asked:#?}"
    );
    let words = "Argo CD's RBAC does not let this account sync ledger-prod (policy line: p, ROLE, \
                 applications, sync, core-banking/ledger-prod, allow)";
    let prod = w.cell("ledger", "prod").unwrap();
    assert_eq!(prod.refusal(ActionKind::Promote), Some(words));
    assert_eq!(prod.refusal(ActionKind::Rollback), Some(words));
    assert!(
        w.cell("ledger", "staging")
            .unwrap()
            .refusal(ActionKind::Promote)
            .is_none(),
        "only ledger-prod is denied"
    );
    let mut a = Action::new(ActionKind::Promote, "ledger", "prod");
    a.force = true;
    a.reason = Some("hotfix".into());
    let e = trainyard::ops::preflight(
        a.clone(),
        &d.config.train,
        &w,
        &Default::default(),
        poll::now(),
    )
    .unwrap_err();
    assert_eq!(e, format!("promote ledger at prod: {words}"));
    let avail = trainyard::ops::availability::assess(
        a,
        &trainyard::ops::availability::Situation {
            train: &d.config.train,
            world: &w,
            holds: &Default::default(),
            now: poll::now(),
            readonly: false,
            in_flight: &Default::default(),
        },
    );
    assert!(
        matches!(&avail, trainyard::ops::availability::Avail::No(m) if m.contains(words)),
        "{avail:?}"
    );
    // Fresh answers are not asked again on the next poll.
    clear(&d).await;
    observe(&d).await;
    assert!(
        !requests(&d).await.iter().any(|r| r["path"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/account/can-i/")),
        "asked again while fresh"
    );
    assert!(writes(&d).await.is_empty(), "nothing was sent");
    d.handle.shutdown().await;
}
