//! The engine: `auto_pause` without any screen, one action per cell, the ledger, the snapshot
//! as the one answer on what each key would do.

use super::*;
use crate::model::{ActionKind, Batch, Metric, Threshold};
use crate::ops::availability::Avail;
use crate::ops::{self, Action};
use crate::tui::fixture;

/// The fixture train with `auto_pause` at canary, as read-only or not.
fn engine(auto: bool, readonly: bool) -> Engine {
    let mut train = fixture::train();
    if auto {
        train.auto_pause.insert("canary".into());
    }
    Engine::new(Setup {
        readonly,
        ..fixture::setup(train, fixture::world())
    })
}

fn texts(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.text.as_str()).collect()
}

/// A report of search-indexer's canary (rolling out) with its error rate over 1% for 3 minutes.
fn breach(at: i64) -> SourceReport {
    let series: Vec<(i64, f64)> = (0..6)
        .map(|i| {
            (
                fixture::t(at - 300 + i * 60).timestamp(),
                if i < 3 { 0.004 } else { 0.03 },
            )
        })
        .collect();
    let m = Metric {
        name: "error_rate".into(),
        unit: "ratio".into(),
        value: series.last().map(|(_, v)| *v),
        threshold: Threshold {
            min: None,
            max: Some(0.01),
        },
        baseline: None,
        baseline_series: vec![],
        series,
        source: "".into(),
        error: None,
        warnings: vec![],
    };
    SourceReport {
        source: "sim".into(),
        at: fixture::t(at),
        outcome: Ok(Batch {
            cells: fixture::world()
                .cells()
                .filter(|(k, _)| &*k.lane == "search-indexer")
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect(),
            metrics: vec![(CellKey::new("search-indexer", "canary"), m)],
            ..Batch::default()
        }),
    }
}

#[test]
fn a_breach_at_an_auto_pause_stage_sends_one_pause_as_trainyard_auto() {
    let mut e = engine(true, false);
    let said = e.fold(Input::Report(breach(0)));
    let sent = e.take_execute();
    let [plan] = sent.as_slice() else {
        panic!("expected one action, got {sent:?}");
    };
    let a = &plan.action;
    assert_eq!(
        (a.kind, a.lane.as_str(), a.stage.as_str()),
        (ActionKind::Pause, "search-indexer", "canary")
    );
    assert_eq!(a.actor.as_deref(), Some(ops::auto::ACTOR));
    assert_eq!(
        a.reason.as_deref(),
        Some("auto_pause: error_rate 3.00% > 1.00% at canary for the last 2m")
    );
    let snap = e.snapshot();
    let f = snap.in_flight.get(&a.key()).expect("in flight");
    assert_eq!((f.actor.as_str(), f.mine), (ops::auto::ACTOR, true));
    assert!(
        texts(&said).iter().any(|t| t
            .starts_with("trainyard-auto: pause search-indexer at canary: auto_pause: error_rate")),
        "{said:?}"
    );
    // The same breach in the next report: nothing more.
    e.fold(Input::Report(breach(30)));
    assert!(e.take_execute().is_empty());
}

#[test]
fn read_only_only_says_what_auto_pause_would_do() {
    let mut e = engine(true, true);
    let said = e.fold(Input::Report(breach(0)));
    assert!(e.take_execute().is_empty());
    assert!(e.snapshot().in_flight.is_empty());
    let said = texts(&said)
        .into_iter()
        .find(|t| t.contains("would pause search-indexer at canary"))
        .expect("said what it would do");
    assert!(said.ends_with("read-only, nothing done"), "{said}");
}

/// One pause per breach for a team on a store: a process that follows the store's poller
/// leaves `auto_pause` to it, and acts itself once it is the poller.
#[test]
fn only_the_poller_runs_auto_pause() {
    let mut e = engine(true, false);
    e.set_poller(false);
    let said = e.fold(Input::Report(breach(0)));
    assert!(e.take_execute().is_empty());
    assert!(
        !texts(&said).iter().any(|t| t.contains("trainyard-auto")),
        "{said:?}"
    );
    e.set_poller(true);
    e.fold(Input::Report(breach(30)));
    let sent = e.take_execute();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].action.kind, ActionKind::Pause);
}

#[test]
fn without_auto_pause_a_breach_only_blocks() {
    let mut e = engine(false, false);
    e.fold(Input::Report(breach(0)));
    assert!(e.take_execute().is_empty());
    // The breach is in the snapshot (the metrics panel and the slo gate read it).
    let snap = e.snapshot();
    let li = snap
        .train
        .lanes
        .iter()
        .position(|l| l.name == "search-indexer")
        .unwrap();
    let si = snap.train.stage_index("canary").unwrap();
    assert!(
        snap.metrics(li, si)
            .any(|(m, v)| &*m.name == "error_rate" && v.state == crate::model::MetricState::Breach)
    );
}

#[test]
fn a_second_submit_on_a_busy_cell_is_refused_in_words() {
    let mut e = engine(false, false);
    let plan = e
        .snapshot()
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    let said = e.fold(Input::Submit(Box::new(plan.clone())));
    assert_eq!(e.take_execute().len(), 1);
    assert!(
        texts(&said)[0].starts_with("pause search-indexer at canary"),
        "{said:?}"
    );
    let said = e.fold(Input::Submit(Box::new(plan.clone())));
    assert!(e.take_execute().is_empty(), "one action per cell");
    assert!(
        texts(&said)[0].contains("already has a pause in flight by dana@jump"),
        "{said:?}"
    );
    // The key says so too, before anything is sent.
    let snap = e.snapshot();
    let pause = avail(&snap, "search-indexer", "canary", ActionKind::Pause);
    assert!(matches!(&pause, Avail::No(why) if why.contains("in flight")));
    // Done: free again, and the source is polled at once.
    let said = e.fold(Input::Done {
        plan: Box::new(plan),
        outcome: ops::Outcome::Done("paused".into()),
    });
    assert!(said[0].loud && said[0].text.contains("done: paused"));
    assert_eq!(e.take_poll_now(), ["sim"]);
    assert!(e.snapshot().in_flight.is_empty());
}

/// An abort goes beside the promote it stops (else it would wait for what it is meant to
/// stop); nothing else does, and a second abort waits for the first.
#[test]
fn an_abort_goes_beside_the_promote_in_flight_on_its_cell() {
    let mut e = engine(false, false);
    let pause = e
        .snapshot()
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    let of = |kind| {
        let mut p = pause.clone();
        p.action.kind = kind;
        Box::new(p)
    };
    e.fold(Input::Submit(of(ActionKind::Promote)));
    let said = e.fold(Input::Submit(of(ActionKind::Abort)));
    assert_eq!(e.take_execute().len(), 2, "{said:?}");
    let key = CellKey::new("search-indexer", "canary");
    assert_eq!(e.snapshot().in_flight[&key].kind, ActionKind::Abort);
    for kind in [ActionKind::Abort, ActionKind::Pause, ActionKind::Promote] {
        let said = e.fold(Input::Submit(of(kind)));
        assert!(texts(&said)[0].contains("in flight"), "{kind}: {said:?}");
    }
    assert!(e.take_execute().is_empty());
    // What the runner says reaches the action it is about.
    e.fold(Input::Progress {
        key: key.clone(),
        kind: ActionKind::Promote,
        text: "syncing".into(),
    });
    assert_eq!(
        e.snapshot().in_flight[&key].status,
        "sent",
        "the abort's own"
    );
    // The abort's end leaves the promote in flight, until its own end.
    e.fold(Input::Done {
        plan: of(ActionKind::Abort),
        outcome: ops::Outcome::Done("aborted".into()),
    });
    let promote = &e.snapshot().in_flight[&key];
    assert_eq!(
        (promote.kind, promote.status.as_str()),
        (ActionKind::Promote, "syncing")
    );
    e.fold(Input::Done {
        plan: of(ActionKind::Promote),
        outcome: ops::Outcome::Failed("cancelled".into()),
    });
    assert!(e.snapshot().in_flight.is_empty());
}

/// Carol's promote (from the ledger) and this trainyard's abort on one cell: the abort is what
/// the cell shows (it refuses everything else), the ledger's copy of it is not counted twice,
/// and when it ends carol's promote shows again.
#[test]
fn an_abort_beside_anothers_promote_is_what_the_cell_shows() {
    let mut e = engine(false, false);
    let key = CellKey::new("search-indexer", "canary");
    let f = |kind, actor: &str, mine| InFlight {
        kind,
        actor: actor.into(),
        since: fixture::t(0),
        status: "in flight".into(),
        mine,
    };
    let ledger = |in_flight| {
        Input::Ledger(Ledger {
            holds: Holds::default(),
            in_flight,
            auto_pauses: vec![],
            team: Default::default(),
        })
    };
    let carol = (key.clone(), f(ActionKind::Promote, "carol@jump2", false));
    e.fold(ledger(vec![carol.clone()]));
    let mut abort = e
        .snapshot()
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    abort.action.kind = ActionKind::Abort;
    e.fold(Input::Submit(Box::new(abort.clone())));
    assert_eq!(e.take_execute().len(), 1, "beside carol's promote");
    // The ledger reads this trainyard's abort back from the log, after carol's promote.
    let mine_read = (key.clone(), f(ActionKind::Abort, "dana@jump", false));
    e.fold(ledger(vec![mine_read, carol.clone()]));
    let snap = e.snapshot();
    assert_eq!(snap.in_flight[&key].kind, ActionKind::Abort);
    assert!(snap.in_flight[&key].mine, "this trainyard's own");
    assert_eq!(snap.mine_in_flight, 1);
    let again = avail(&snap, "search-indexer", "canary", ActionKind::Abort);
    assert!(
        matches!(&again, Avail::No(why) if why.contains("in flight")),
        "{again:?}"
    );
    e.fold(Input::Done {
        plan: Box::new(abort),
        outcome: ops::Outcome::Done("aborted".into()),
    });
    e.fold(ledger(vec![carol.clone()]));
    let snap = e.snapshot();
    assert_eq!(snap.in_flight[&key].actor, "carol@jump2");
    assert_eq!(snap.mine_in_flight, 0);
    // Two others, the abort read first: still the abort.
    let erin = (key.clone(), f(ActionKind::Abort, "erin@jump3", false));
    e.fold(ledger(vec![erin, carol]));
    assert_eq!(e.snapshot().in_flight[&key].actor, "erin@jump3");
}

#[test]
fn the_ledger_brings_the_halt_and_others_actions_into_the_snapshot() {
    let mut e = engine(false, false);
    let holds = Holds {
        halt: Some(crate::model::LaneHold {
            reason: "incident 42".into(),
            by: "bob".into(),
            at: fixture::t(0),
        }),
        ..Default::default()
    };
    let theirs = InFlight {
        kind: ActionKind::Promote,
        actor: "carol@jump2".into(),
        since: fixture::t(0),
        status: "in flight".into(),
        mine: false,
    };
    let said = e.fold(Input::Ledger(Ledger {
        holds,
        in_flight: vec![(CellKey::new("checkout-web", "canary"), theirs)],
        auto_pauses: vec![],
        team: Default::default(),
    }));
    assert_eq!(texts(&said), ["the train was halted by bob: incident 42"]);
    let snap = e.snapshot();
    // Promotion: not even forceable under a halt.
    let promote = avail(&snap, "checkout-web", "build", ActionKind::Promote);
    assert!(
        matches!(&promote, Avail::No(why) if why.contains("can't be forced")),
        "{promote:?}"
    );
    // Unhalt is what H offers.
    assert!(matches!(&snap.halt, Avail::Ready { action, .. } if action.kind == ActionKind::Unhalt));
    // Another trainyard's promote occupies its target cell.
    let promote = avail(&snap, "checkout-web", "staging", ActionKind::Promote);
    assert!(
        matches!(&promote, Avail::No(why) if why.contains("carol@jump2")),
        "{promote:?}"
    );
}

/// What the key for `kind` would do on `lane` × `stage` of `snap`.
fn avail(snap: &Snapshot, lane: &str, stage: &str, kind: ActionKind) -> Avail {
    let li = snap.train.lane_position(lane).unwrap();
    let si = snap.train.stage_index(stage).unwrap();
    snap.avail(li, si, kind).unwrap()
}

#[test]
fn a_snapshot_is_computed_once_per_change() {
    let mut e = engine(false, false);
    let a = e.snapshot();
    let b = e.snapshot();
    assert!(Arc::ptr_eq(&a, &b), "nothing changed: the same snapshot");
    e.fold(Input::Tick(fixture::t(5)));
    let c = e.snapshot();
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(c.seq, a.seq + 1);
    assert_eq!(c.now, fixture::t(5));
}

#[test]
fn the_footer_never_offers_what_preflight_refuses() {
    // Every cell of the fixture: an offered key has a plan; a refused one says why.
    let mut e = engine(false, false);
    let snap = e.snapshot();
    for (li, lane) in snap.train.lanes.iter().enumerate() {
        for (si, stage) in snap.train.stages.iter().enumerate() {
            for kind in [
                ActionKind::Promote,
                ActionKind::Pause,
                ActionKind::Rollback,
                ActionKind::Approve,
                ActionKind::Reject,
            ] {
                match snap.avail(li, si, kind).unwrap() {
                    Avail::Ready { action, .. } | Avail::Forceable { action, .. } => {
                        assert!(snap.plan(action).is_ok(), "{kind} at {} {stage}", lane.name);
                    }
                    Avail::No(why) => assert!(!why.is_empty()),
                }
            }
        }
    }
    // The case that drifted once: a lane whose version is already on its way to the next
    // stage (ledger's canary version rolls out at prod) is not offered promote.
    let promote = avail(&snap, "ledger", "canary", ActionKind::Promote);
    assert!(
        matches!(&promote, Avail::No(why) if why.contains("already on its way to prod")),
        "{promote:?}"
    );
    assert!(
        matches!(avail(&snap, "search-indexer", "canary", ActionKind::Pause), Avail::Ready { ref action, .. } if action.kind == ActionKind::Pause && !action.stage.is_empty())
    );
    // Outside the train, and for the train's own key: no answer.
    assert_eq!(
        snap.avail(snap.train.lanes.len(), 0, ActionKind::Promote),
        None
    );
    assert_eq!(snap.avail(0, 0, ActionKind::Halt), None);
}

#[test]
fn a_breach_on_a_busy_cell_is_acted_on_once_the_cell_is_free() {
    let mut e = engine(true, false);
    // A person's pause of the canary is in flight when the breach comes.
    let plan = e
        .snapshot()
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    e.fold(Input::Submit(Box::new(plan.clone())));
    assert_eq!(e.take_execute().len(), 1);
    e.fold(Input::Report(breach(0)));
    assert!(e.take_execute().is_empty(), "the cell is busy");
    // It ended without pausing (rejected); the breach goes on: trainyard-auto acts now.
    e.fold(Input::Done {
        plan: Box::new(plan),
        outcome: ops::Outcome::Rejected("busy".into()),
    });
    e.fold(Input::Report(breach(30)));
    let sent = e.take_execute();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].action.actor.as_deref(), Some(ops::auto::ACTOR));
}

#[test]
fn a_pause_another_trainyard_made_for_the_breach_is_not_made_again() {
    let mut e = engine(true, false);
    let record = crate::ops::audit::Record {
        ts: fixture::t(-10).to_rfc3339(),
        id: "w".into(),
        actor: ops::auto::ACTOR.into(),
        origin: "watch@jump".into(),
        lane: Some("search-indexer".into()),
        stage: Some("canary".into()),
        ..crate::ops::audit::Record::sample()
    };
    e.fold(Input::Ledger(Ledger {
        auto_pauses: vec![record],
        ..Default::default()
    }));
    e.fold(Input::Report(breach(0)));
    assert!(e.take_execute().is_empty(), "the watch already paused it");
}

#[test]
fn the_ledger_says_holds_set_and_released_and_the_same_halt_once() {
    let mut e = engine(false, false);
    let hold = |by: &str, at: i64| crate::model::LaneHold {
        reason: "db migration".into(),
        by: by.into(),
        at: fixture::t(at),
    };
    let mut holds = Holds {
        halt: Some(hold("bob", 0)),
        ..Default::default()
    };
    holds.lanes.insert("ledger".into(), hold("carol", 0));
    let said = e.fold(Input::Ledger(Ledger {
        holds: holds.clone(),
        ..Default::default()
    }));
    assert_eq!(
        texts(&said),
        [
            "the train was halted by bob: db migration",
            "ledger was put on hold by carol for 0s: db migration"
        ]
    );
    // The same holds, their times to the millisecond: nothing new.
    holds.halt = Some(hold("bob", 1));
    let said = e.fold(Input::Ledger(Ledger {
        holds: holds.clone(),
        ..Default::default()
    }));
    assert!(said.is_empty(), "{said:?}");
    holds.lanes.clear();
    let said = e.fold(Input::Ledger(Ledger {
        holds,
        ..Default::default()
    }));
    assert_eq!(texts(&said), ["ledger's hold was released"]);
}
