//! The team on one PostgreSQL store (a real server on loopback, started by the test): two
//! trainyards with different people share one halt, one action in flight per cell (claims,
//! with a crashed holder's lapsing), one audit chain that `audit verify` checks and that
//! `audit export` / `audit import` carry; a store that goes away refuses actions with words
//! and lets them go again when it is back; a running engine hears the other's halt live.

mod common;

use std::time::Duration;

use trainyard::config::Config;
use trainyard::model::{ActionKind, CellKey, Holds, World};
use trainyard::ops::{self, Action, Outcome, Plan, Runner};
use trainyard::poll;
use trainyard::store::Store;

use common::pg::{PASSWORD, Pg};
use common::sim::{Demo, assert_refused, assert_sent, running, slow_demo};

/// The demo's config as `who` on `pg`'s store.
fn config_of(d: &Demo, pg: &Pg, who: &str) -> Config {
    let text = format!(
        "identity = \"{who}\"\n{}\n[store]\nkind = \"postgres\"\nurl = \"{}\"\npassword_cmd = \"echo {PASSWORD}\"\n",
        d.config_text,
        pg.url()
    );
    trainyard::config::parse(&text, "<team>").unwrap_or_else(|e| panic!("{e}"))
}

/// A runner as `who`, on the demo's sources and `pg`'s store.
fn runner_of(d: &Demo, pg: &Pg, who: &str) -> Runner {
    let config = config_of(d, pg, who);
    let store = tokio::task::block_in_place(|| Store::open(&config));
    assert!(matches!(store, Store::Postgres(_)));
    Runner::new(&config, &d.sources, store, false)
}

/// A PostgreSQL of the test's own, the slow demo and its train as first read; `None` (the
/// test skipped) where PostgreSQL's server is missing outside CI.
async fn team() -> Option<(Pg, Demo, World)> {
    if !common::pg::available("the team store's tests") {
        return None;
    }
    let pg = Pg::start();
    let d = slow_demo().await;
    let world = d.observe().await;
    Some((pg, d, world))
}

fn plan(d: &Demo, world: &World, action: Action) -> Plan {
    ops::preflight(
        action,
        &d.config.train,
        world,
        &Holds::default(),
        poll::now(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn pause(d: &Demo, world: &World, cell: &CellKey) -> Plan {
    plan(
        d,
        world,
        Action::new(ActionKind::Pause, &cell.lane, &cell.stage),
    )
}

async fn run(runner: &Runner, plan: &Plan) -> Outcome {
    runner.run(plan, false, &|_| {}).await
}

/// Attempts in the store's chain for `cell`.
fn attempts(pg: &Pg, cell: &CellKey) -> usize {
    let n = pg.psql(&format!(
        "SELECT count(*) FROM trainyard_audit WHERE line::jsonb->>'result' = 'attempt' \
         AND line::jsonb->>'lane' = '{}' AND line::jsonb->>'stage' = '{}'",
        cell.lane, cell.stage
    ));
    n.trim().parse().unwrap()
}

/// A halt by alice on one host refuses bob's promotion on another, naming her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halt_from_one_person_refuses_the_others_promotion() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let alice = runner_of(&d, &pg, "alice@jump-1");
    let bob = runner_of(&d, &pg, "bob@jump-2");

    let halt = plan(
        &d,
        &world,
        Action::train(ActionKind::Halt, Some("incident 7".into())),
    );
    let halted = run(&alice, &halt).await;
    assert!(matches!(halted, Outcome::Done(_)), "{halted:?}");

    // Bob planned on what his screen showed: no halt yet (and forced past whatever else
    // policy says). The store says otherwise.
    let lane = &d.config.train.lanes[0].name;
    let mut promote = plan(&d, &world, Action::new(ActionKind::Promote, lane, "prod"));
    promote.action.force = true;
    promote.action.reason = Some("hotfix".into());
    let refused = run(&bob, &promote).await;
    assert_refused(&refused, &["halted by alice@jump-1", "incident 7"]);
    let chain = pg.psql("SELECT count(*) FROM trainyard_audit");
    assert_eq!(
        chain.trim(),
        "2",
        "halt attempt and outcome; nothing of bob's"
    );
}

/// Both pressing rollback on one cell at the same moment: exactly one attempt is written, and
/// the other is told who holds the cell and what they do. (A rollback at the slow demo's pace
/// stays in flight until its verification gives up, a second: the other press meets the
/// claim however late it comes; a pause is verified at once, and a press that came after it
/// ended would meet the cell changed instead.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_acting_on_one_cell_at_once_leave_one_attempt() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let cell = running(&world)[0].clone();
    let alice = runner_of(&d, &pg, "alice@jump-1");
    let bob = runner_of(&d, &pg, "bob@jump-2");
    // Both connected first: the race is the actions', not the connections'.
    for r in [&alice, &bob] {
        trainyard::commands::ledger(r.store()).await;
    }
    let p = plan(
        &d,
        &world,
        Action::new(ActionKind::Rollback, &cell.lane, &cell.stage),
    );
    let (a, b) = tokio::join!(run(&alice, &p), run(&bob, &p));
    let (went, refused, holder) = match (&a, &b) {
        (Outcome::Refused(_), _) => (&b, &a, "bob@jump-2"),
        _ => (&a, &b, "alice@jump-1"),
    };
    assert_sent(went);
    assert_refused(
        refused,
        &[
            holder,
            &format!("is rolling back {} at {}", cell.lane, cell.stage),
        ],
    );
    assert_eq!(attempts(&pg, &cell), 1);
    // Its outcome released the claim: the cell is free again.
    assert_eq!(pg.psql("SELECT count(*) FROM trainyard_claims").trim(), "0");
}

/// A claim its holder stopped renewing (the process crashed) lapses: the next person acts. A
/// live one refuses, naming its holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holders_claim_lapses_and_a_live_one_refuses() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let cells = running(&world);
    let bob = runner_of(&d, &pg, "bob@jump-2");
    // Bob's first use migrates the schema; a status read does.
    assert!(matches!(
        trainyard::commands::ledger(bob.store()).await.len(),
        0
    ));
    let claim = |cell: &CellKey, expires: &str| {
        pg.psql(&format!(
            "INSERT INTO trainyard_claims (lane, stage, audit_id, action, actor, origin, claimed_at, expires_at) \
             VALUES ('{}', '{}', 'x-{}', 'pause', 'carol@jump-3', 'ssh from 10.0.0.3', now() - interval '20 seconds', {expires})",
            cell.lane, cell.stage, cell.lane
        ))
    };
    claim(&cells[0], "now() - interval '1 second'");
    claim(&cells[1], "now() + interval '1 minute'");
    assert_sent(&run(&bob, &pause(&d, &world, &cells[0])).await);
    let refused = run(&bob, &pause(&d, &world, &cells[1])).await;
    assert_refused(
        &refused,
        &[&format!(
            "carol@jump-3 is pausing {} at {}, 20s",
            cells[1].lane, cells[1].stage
        )],
    );
    assert_eq!(attempts(&pg, &cells[1]), 0);
}

/// An abort goes beside the promote it stops (carol's live claim on the cell), and only one
/// at a time: carol's live abort refuses bob's next one, naming her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_goes_beside_the_promote_it_stops_and_one_at_a_time() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let bob = runner_of(&d, &pg, "bob@jump-2");
    trainyard::commands::ledger(bob.store()).await;
    let cell = CellKey::new("auth-service", "canary");
    let claim = |action: &str, stops: bool| {
        pg.psql(&format!(
            "INSERT INTO trainyard_claims (lane, stage, stops, audit_id, action, actor, origin, claimed_at, expires_at) \
             VALUES ('auth-service', 'canary', {stops}, 'x-{action}', '{action}', 'carol@jump-3', 'ssh from 10.0.0.3', now() - interval '20 seconds', now() + interval '1 minute')"
        ))
    };
    claim("promote", false);
    let abort = plan(
        &d,
        &world,
        Action::new(ActionKind::Abort, &cell.lane, &cell.stage),
    );
    assert_sent(&run(&bob, &abort).await);
    assert_eq!(attempts(&pg, &cell), 1);
    // A promote on the cell is still refused by carol's claim.
    let promote = Plan {
        action: Action::new(ActionKind::Promote, &cell.lane, &cell.stage),
        ..abort.clone()
    };
    assert_refused(
        &run(&bob, &promote).await,
        &["carol@jump-3 is promoting auth-service → canary"],
    );
    claim("abort", true);
    assert_refused(
        &run(&bob, &abort).await,
        &["carol@jump-3 is aborting auth-service at canary, 20s"],
    );
    assert_eq!(attempts(&pg, &cell), 1, "bob's abort, and nothing after it");
}

/// The store going away: actions are refused with the reason, nothing reaches the source and
/// nothing is written anywhere else; when it is back, actions go again on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_goes_away_refuses_actions_and_they_go_when_it_is_back() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let cells = running(&world);
    let alice = runner_of(&d, &pg, "alice@jump-1");
    assert_sent(&run(&alice, &pause(&d, &world, &cells[0])).await);
    let sent = d.actions().await.len();

    pg.stop();
    let refused = run(&alice, &pause(&d, &world, &cells[1])).await;
    assert_refused(&refused, &["not sent", "the team's store", "127.0.0.1"]);
    assert_eq!(d.actions().await.len(), sent, "nothing reached the source");
    assert!(alice.store().problem().is_some());

    pg.restart();
    // A store that failed is tried again a moment later (not on every use): the action
    // goes within a few tries.
    let mut outcome = run(&alice, &pause(&d, &world, &cells[1])).await;
    for _ in 0..20 {
        if !matches!(&outcome, Outcome::Refused(m) if m.contains("the team's store")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        outcome = run(&alice, &pause(&d, &world, &cells[1])).await;
    }
    assert_sent(&outcome);
    assert_eq!(alice.store().problem(), None);
    assert_eq!(attempts(&pg, &cells[1]), 1);
}

/// A running engine on the store hears another person's halt (LISTEN/NOTIFY), and sees who
/// else has the train open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_screen_hears_the_others_halt_and_sees_who_is_here() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    let bob = config_of(&d, &pg, "bob@jump-2");
    let store = tokio::task::block_in_place(|| Store::open(&bob));
    let (_runner, engine) = trainyard::commands::start_engine(&bob, false, store).await;
    let alice_config = config_of(&d, &pg, "alice@jump-1");
    let alice_store = tokio::task::block_in_place(|| Store::open(&alice_config));
    let (alice, _alice_engine) =
        trainyard::commands::start_engine(&alice_config, false, alice_store).await;

    let mut snaps = engine.snapshots.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let seen_alice = loop {
        let snap = snaps.borrow_and_update().clone();
        if snap.team.peers.iter().any(|p| p.actor == "alice@jump-1") {
            break true;
        }
        if tokio::time::timeout_at(deadline, snaps.changed())
            .await
            .is_err()
        {
            break false;
        }
    };
    assert!(
        seen_alice,
        "bob's screen lists alice: {:?} {:?}",
        engine.snapshot().team,
        pg.psql("SELECT * FROM trainyard_presence")
    );

    let halt = plan(
        &d,
        &world,
        Action::train(ActionKind::Halt, Some("incident 8".into())),
    );
    assert!(matches!(run(&alice, &halt).await, Outcome::Done(_)));
    let halted = loop {
        let snap = snaps.borrow_and_update().clone();
        if let Some(h) = &snap.holds.halt {
            break Some(h.clone());
        }
        if tokio::time::timeout_at(deadline, snaps.changed())
            .await
            .is_err()
        {
            break None;
        }
    };
    let h = halted.expect("bob's screen shows alice's halt");
    assert_eq!(h.by, "alice@jump-1");
    assert_eq!(h.reason, "incident 8");
    let snap = engine.snapshot();
    assert_eq!(snap.team.shared.as_deref(), Some(pg.url().as_str()));
    assert_eq!(snap.team.problem, None);
}

/// The role docs/team.md gives the team (its `sql role` block, run as written): it acts —
/// the chain grows, claims and presence work — and can't edit or delete the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_least_privilege_role_of_the_docs_acts_and_cannot_edit_the_chain() {
    let Some((pg, d, world)) = team().await else {
        return;
    };
    // The owner creates the schema.
    let owner = runner_of(&d, &pg, "owner");
    trainyard::commands::ledger(owner.store()).await;
    let docs = std::fs::read_to_string("docs/team.md").unwrap();
    let block = docs
        .split("```sql role\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/team.md has a ```sql role block");
    let sql: String = block.lines().map(str::trim).collect::<Vec<_>>().join("\n");
    pg.psql(&sql);

    let text = format!(
        "identity = \"bob@jump-2\"\n{}\n[store]\nkind = \"postgres\"\nurl = \"{}\"\npassword_cmd = \"echo team-secret\"\n",
        d.config_text,
        pg.url().replace("trainyard@", "trainyard_team@")
    );
    let config = trainyard::config::parse(&text, "<team>").unwrap();
    let store = tokio::task::block_in_place(|| Store::open(&config));
    let bob = Runner::new(&config, &d.sources, store, false);
    let cell = running(&world)[0].clone();
    assert_sent(&run(&bob, &pause(&d, &world, &cell)).await);
    assert_eq!(bob.store().problem(), None);
    let Store::Postgres(team) = bob.store() else {
        unreachable!()
    };
    let me = trainyard::store::presence::Peer {
        id: "bob-1".into(),
        actor: "bob@jump-2".into(),
        origin: "local".into(),
        since: chrono::Utc::now(),
        poller: false,
    };
    team.beat(&me).await.expect("presence works");
    assert_eq!(team.present().await.unwrap().len(), 1);

    let target = trainyard::store::pg::Target {
        password: Some(trainyard::secrets::Secret::new("team-secret")),
        ..team.target().clone()
    };
    let c = trainyard::store::pg::connect(&target).await.unwrap();
    for edit in [
        "UPDATE trainyard_audit SET line = 'x' WHERE seq = 1",
        "DELETE FROM trainyard_audit",
        "TRUNCATE trainyard_audit",
    ] {
        let e = c.batch_execute(edit).await.unwrap_err();
        assert!(
            trainyard::store::pg::describe(&e).contains("permission denied"),
            "{edit}: {e}"
        );
    }
    assert_eq!(attempts(&pg, &cell), 1);
}
