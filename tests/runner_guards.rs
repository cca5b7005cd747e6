//! The guards the runner keeps under the audit log's lock, against other trainyard processes
//! on the host: an action in flight on a cell, a halt, a lane hold. Another process is played
//! by writing into the same audit log what it would write (`AuditLog::append`); the runner
//! acts on the simulator in this process.

mod common;

use trainyard::model::{ActionKind, CellKey, Holds, World};
use trainyard::ops::audit::{AuditLog, Entry, result};
use trainyard::ops::{self, Action, Outcome, Plan, Runner};
use trainyard::poll;

use common::sim::{self, Demo, assert_refused, assert_sent, running, slow_demo};

fn plan(d: &Demo, world: &World, kind: ActionKind, lane: &str, stage: &str) -> Plan {
    ops::preflight(
        Action::new(kind, lane, stage),
        &d.config.train,
        world,
        &Holds::default(),
        poll::now(),
    )
    .unwrap_or_else(|e| panic!("{kind} {lane} {stage}: {e}"))
}

/// What another trainyard on the host writes into the shared audit log.
fn other_process(
    log: &AuditLog,
    id: &str,
    action: &str,
    cell: (Option<&str>, Option<&str>),
    result: &str,
) {
    log.append(Entry {
        id: id.into(),
        actor: "dana@jump2".into(),
        origin: "ssh from 10.0.0.9".into(),
        action: action.into(),
        lane: cell.0.map(String::from),
        stage: cell.1.map(String::from),
        reason: Some("incident 9".into()),
        result: result.into(),
        ..Entry::default()
    })
    .unwrap();
}

async fn run(runner: &Runner, plan: &Plan) -> Outcome {
    runner.run(plan, false, &|_| {}).await
}

/// Pause `cell` through the runner, planned on `world`.
async fn pause(d: &Demo, runner: &Runner, world: &World, cell: &CellKey) -> Outcome {
    run(
        runner,
        &plan(d, world, ActionKind::Pause, &cell.lane, &cell.stage),
    )
    .await
}

fn assert_paused(outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Done(m) if m.contains("paused")),
        "{outcome:?}"
    );
}

/// Actions of `kind` the simulator received for `cell`.
async fn received(d: &Demo, kind: &str, cell: &CellKey) -> usize {
    d.actions()
        .await
        .iter()
        .filter(|a| a["action"] == kind && a["lane"] == *cell.lane && a["stage"] == *cell.stage)
        .count()
}

/// An attempt another process wrote and has not closed refuses the same cell: nothing is sent
/// or written, and the refusal names who is acting. Another cell goes. Once the other process
/// closes its attempt, the cell goes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_attempt_of_another_process_refuses_that_cell_and_no_other() {
    let d = slow_demo().await;
    let world = d.observe().await;
    let cells = running(&world);
    assert!(cells.len() >= 2, "two rollouts to pause: {cells:?}");
    let (busy, free) = (&cells[0], &cells[1]);
    let (_dir, runner) = d.runner();

    let id = "4242-18f0a1b2c3d-0";
    let busy_cell = (Some(&*busy.lane), Some(&*busy.stage));
    other_process(
        common::sim::audit_file(&runner),
        id,
        "pause",
        busy_cell,
        result::ATTEMPT,
    );

    let outcome = pause(&d, &runner, &world, busy).await;
    assert_refused(&outcome, &["in flight", "dana@jump2"]);
    assert_eq!(
        received(&d, "pause", busy).await,
        0,
        "sent despite the open attempt"
    );
    assert_eq!(
        common::sim::audit_file(&runner).read().unwrap().len(),
        1,
        "nothing written"
    );

    assert_paused(&pause(&d, &runner, &world, free).await);
    assert_eq!(received(&d, "pause", free).await, 1);

    // The other process is done with it (its outcome written): the cell is free again.
    other_process(
        common::sim::audit_file(&runner),
        id,
        "pause",
        busy_cell,
        result::FAILED,
    );
    let world = d.observe().await;
    assert_paused(&pause(&d, &runner, &world, busy).await);
    assert_eq!(received(&d, "pause", busy).await, 1);
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}

/// A halt another process made after these plans were made: approve, resume and promote are
/// refused (forced or not: the halt can't be forced), and say who halted and why; pause,
/// reject and rollback go to their sources. Then a lane hold: promote refused, rollback not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_or_hold_made_meanwhile_stops_moves_but_not_pause_reject_or_rollback() {
    let d = slow_demo().await;
    let (_dir, runner) = d.runner();
    let world = d.observe().await;
    let cells = running(&world);
    assert!(cells.len() >= 2, "two rollouts to pause: {cells:?}");
    let (paused, pause_later) = (&cells[0], &cells[1]);
    // One rollout paused before the halt, to have something to resume.
    assert_paused(&pause(&d, &runner, &world, paused).await);
    let world = d.observe().await;

    // Every plan is made now, with no halt and no hold: policy has nothing against them.
    let approve = plan(&d, &world, ActionKind::Approve, "checkout-web", "prod");
    let reject = plan(&d, &world, ActionKind::Reject, "checkout-web", "prod");
    let resume = plan(&d, &world, ActionKind::Resume, &paused.lane, &paused.stage);
    let pause = plan(
        &d,
        &world,
        ActionKind::Pause,
        &pause_later.lane,
        &pause_later.stage,
    );
    let rollback_ledger = plan(&d, &world, ActionKind::Rollback, "ledger", "prod");
    let rollback_payments = plan(&d, &world, ActionKind::Rollback, "payments-api", "prod");
    let mut promote = plan(&d, &world, ActionKind::Promote, "payments-api", "canary");
    promote.action.force = true;
    promote.action.reason = Some("ledger checked by hand".into());
    for p in [&approve, &reject, &resume, &pause, &rollback_ledger] {
        assert!(p.allowed(), "{p:?}");
    }

    // Another trainyard halts the train.
    other_process(
        common::sim::audit_file(&runner),
        "77-1-0",
        "halt",
        (None, None),
        result::ATTEMPT,
    );
    other_process(
        common::sim::audit_file(&runner),
        "77-1-0",
        "halt",
        (None, None),
        result::DONE,
    );
    let halted = ["halted by dana@jump2", "incident 9", "unhalt first"];
    assert_refused(&run(&runner, &approve).await, &halted);
    assert_refused(&run(&runner, &resume).await, &halted);
    assert_refused(&run(&runner, &promote).await, &halted);
    let sent_before = d.actions().await.len();
    assert_eq!(
        sent_before,
        1,
        "only the first pause: {:#?}",
        d.actions().await
    );
    assert!(
        sim::github_writes(&d.url()).is_empty(),
        "nothing went to GitHub: {:#?}",
        sim::github_writes(&d.url())
    );

    assert_sent(&run(&runner, &pause).await);
    assert_eq!(received(&d, "pause", pause_later).await, 1);
    assert_sent(&run(&runner, &reject).await);
    let writes = sim::github_writes(&d.url());
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert!(
        writes[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/pending_deployments")
            && writes[0]["body"]["state"] == "rejected",
        "{writes:#?}"
    );
    assert_sent(&run(&runner, &rollback_ledger).await);
    assert_eq!(
        received(&d, "rollback", &CellKey::new("ledger", "prod")).await,
        1
    );

    // The halt ends; payments-api is held instead.
    other_process(
        common::sim::audit_file(&runner),
        "77-2-0",
        "unhalt",
        (None, None),
        result::DONE,
    );
    other_process(
        common::sim::audit_file(&runner),
        "77-3-0",
        "pause",
        (Some("payments-api"), None),
        result::DONE,
    );
    assert_refused(
        &run(&runner, &promote).await,
        &[
            "payments-api is on hold by dana@jump2",
            "incident 9",
            "resume it first",
        ],
    );
    assert_eq!(
        received(&d, "promote", &CellKey::new("payments-api", "canary")).await,
        0
    );
    assert_sent(&run(&runner, &rollback_payments).await);
    assert_eq!(
        received(&d, "rollback", &CellKey::new("payments-api", "prod")).await,
        1
    );
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}
