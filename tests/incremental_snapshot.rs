//! The engine's snapshot judges again only the lanes whose verdicts may have changed
//! (`engine::incremental`): after every report, tick, ledger and failed poll of a simulated
//! train it must be the snapshot judged from scratch, verdict for verdict. The train runs
//! through what moves verdicts with the clock: soaks, staleness of a quiet or failed source,
//! holds and the halt, the release window closing, a freeze starting.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};

use trainyard::config;
use trainyard::engine::snapshot::State;
use trainyard::engine::{Engine, Input, Ledger, Setup, Snapshot};
use trainyard::model::{Batch, Holds, LaneHold, SourceReport, Timestamp};
use trainyard::sim::{self, Scenario, SimOptions};
use trainyard::sources::{NameMap, http::parse_train};

fn from_scratch(snap: &Snapshot) -> Snapshot {
    Snapshot::compute(
        State {
            seq: snap.seq,
            train: &snap.train,
            world: &snap.world,
            holds: &snap.holds,
            readonly: snap.readonly,
            in_flight: snap.in_flight.clone(),
            mine_in_flight: snap.mine_in_flight,
            unfinished: &snap.unfinished,
            sources_of: &snap.sources_of,
            insecure_http: &snap.insecure_http,
            team: &snap.team,
        },
        snap.now,
    )
}

/// The engine of the config `text` at `t0` (not read-only, no store), with the names of its
/// `sim` source.
fn engine_of(text: &str, t0: Timestamp) -> (config::Config, NameMap, Engine) {
    let config = config::parse(text, "<test>").unwrap();
    let names = NameMap::for_source(&config, "sim");
    let engine = Engine::new(Setup::from_config(
        &config,
        &[],
        std::time::Duration::ZERO,
        false,
        t0,
    ));
    (config, names, engine)
}

fn hold(by: &str, at: Timestamp) -> LaneHold {
    LaneHold {
        reason: "db migration".into(),
        by: by.into(),
        at,
    }
}

/// Runs the simulated train for a while with `edit` applied to its config; returns how many
/// lanes were kept from the snapshot before over the run.
fn run(edit: impl Fn(String) -> String) -> usize {
    run_with(edit, false)
}

/// Every metric of `batch` fifty times what it was: over every threshold.
fn spike(batch: &mut trainyard::model::Batch) {
    for (_, m) in &mut batch.metrics {
        m.value = m.value.map(|v| v * 50.0);
        for (_, v) in &mut m.series {
            *v *= 50.0;
        }
    }
}

/// [`run`]; with `spikes`, every sixth second the source sends again what it sent the second
/// before, its metrics spiked: the metrics alone change, and back.
fn run_with(edit: impl Fn(String) -> String, spikes: bool) -> usize {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    let opts = SimOptions {
        lanes: 20,
        seed: 7,
        speed: 1.0,
        ..Default::default()
    };
    let mut scenario = Scenario::new(&opts, t0, "http://127.0.0.1:7878");
    let text = edit(sim::demo_config("http://127.0.0.1:7878", &opts, t0));
    let (config, names, mut engine) = engine_of(&text, t0);
    let lane = |i: usize| config.train.lanes[i].name.clone();
    let mut now = t0;
    let mut kept = 0;
    let mut before: Option<Arc<Snapshot>> = None;
    // The payload sent last.
    let mut sent = Vec::new();
    for step in 0..180 {
        now += match step {
            // The window closes (it is open for three hours from t0).
            100 => TimeDelta::hours(3) + TimeDelta::seconds(50),
            // A freeze starts (two days on).
            150 => TimeDelta::days(2),
            _ => TimeDelta::seconds(1),
        };
        scenario.tick(now);
        // A quiet source between 40 and 60 (its data goes stale), one that vouches for its data
        // from 61 to 79 (the data stays fresh), a failing one at 80–84.
        let quiet = (40..60).contains(&step) || step % 7 == 3;
        if (80..85).contains(&step) {
            engine.fold(Input::Report(SourceReport {
                source: "sim".into(),
                at: now,
                outcome: Err("connection refused".into()),
            }));
        } else if (61..80).contains(&step) && step % 10 != 0 {
            // A source that sends only what changed, vouching for the rest (nothing changed):
            // the data stays fresh while the cells' fetch grows old.
            engine.fold(Input::Report(SourceReport {
                source: "sim".into(),
                at: now,
                outcome: Ok(Batch {
                    partial: true,
                    ..Batch::default()
                }),
            }));
        } else if spikes && step % 6 == 5 && !sent.is_empty() {
            let mut batch = parse_train(&sent, &names).unwrap();
            spike(&mut batch);
            engine.fold(Input::Report(SourceReport {
                source: "sim".into(),
                at: now,
                outcome: Ok(batch),
            }));
        } else if !quiet {
            let payload = serde_json::to_vec(&scenario.train_json()).unwrap();
            sent.clone_from(&payload);
            engine.fold(Input::Report(SourceReport {
                source: "sim".into(),
                at: now,
                outcome: Ok(parse_train(&payload, &names).unwrap()),
            }));
        }
        // A lane held for a while, then the train halted, then both released.
        let ledger = match step {
            20 => Some(Holds {
                halt: None,
                lanes: [(lane(2), hold("bob", now))].into(),
            }),
            30 => Some(Holds {
                halt: Some(hold("alice", now)),
                lanes: [(lane(2), hold("bob", now - TimeDelta::seconds(10)))].into(),
            }),
            36 => Some(Holds::default()),
            _ => None,
        };
        if let Some(holds) = ledger {
            engine.fold(Input::Ledger(Ledger {
                holds,
                ..Ledger::default()
            }));
        }
        engine.fold(Input::Tick(now));
        let snap = engine.snapshot();
        let scratch = from_scratch(&snap);
        assert_eq!(snap.blockers, scratch.blockers, "blockers at step {step}");
        for (i, (a, b)) in snap.lanes.iter().zip(&scratch.lanes).enumerate() {
            assert_eq!(a, b, "lane {} at step {step}", lane(i));
        }
        assert_eq!(snap.lanes.len(), scratch.lanes.len());
        assert_eq!(snap.halt, scratch.halt, "halt at step {step}");
        if let Some(b) = &before {
            kept += snap
                .lanes
                .iter()
                .zip(&b.lanes)
                .filter(|(x, y)| Arc::ptr_eq(x, y))
                .count();
        }
        before = Some(snap);
    }
    kept
}

#[test]
fn an_incremental_snapshot_is_the_snapshot_from_scratch() {
    let kept = run(|text| text);
    // And it does keep lanes: most lanes are unchanged most seconds while the window is open.
    assert!(kept > 20 * 40, "only {kept} lanes kept over the run");
}

#[test]
fn slos_over_a_window_of_time_are_judged_at_every_tick() {
    run(|text| text.replace("\"slo\",", "\"slo:90s\","));
}

#[test]
fn metrics_judged_before_stand_only_while_nothing_changes_them() {
    // The payload's own metrics (a report of cells alone leaves them shared between worlds),
    // with an SLO over a window too: the views taken from the lane judged before must be the
    // views judged from scratch, step by step.
    let metrics = |text: String| text.replace("metrics = false", "metrics = true");
    run(metrics);
    run(|text| metrics(text).replace("\"slo\",", "\"slo:90s\","));
}

#[test]
fn a_lane_whose_metrics_alone_change_is_judged_again_as_its_gates_read_them() {
    // The metrics jump over their thresholds and back, the cells as they were: the SLO and
    // canary gates of prod block and unblock, the lanes bound elsewhere keep their blockers.
    let metrics = |text: String| text.replace("metrics = false", "metrics = true");
    run_with(metrics, true);
}

#[test]
fn an_answer_from_a_clock_behind_is_judged_as_old_as_it_is() {
    // One lane at rest, judged calm from a fresh answer; then the same answer again from a
    // clock forty seconds behind: its data is that old, stale from scratch, and so here.
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    let text = r#"
[train]
name = "t"
stages = ["build", "prod"]

[sources.sim]
kind = "http"
url = "http://127.0.0.1:7878"
interval = "1s"
stale_after = "10s"

[[lanes]]
name = "api"
source = "sim"
"#;
    let (_, names, mut engine) = engine_of(text, t0);
    let payload = br#"{"cells": [
        {"lane": "api", "stage": "build", "state": "succeeded", "version": "v1"},
        {"lane": "api", "stage": "prod", "state": "succeeded", "version": "v1"}
    ]}"#;
    let report = |at| {
        Input::Report(SourceReport {
            source: "sim".into(),
            at,
            outcome: Ok(parse_train(payload, &names).unwrap()),
        })
    };
    for step in 0..5 {
        let now = t0 + TimeDelta::seconds(step);
        let at = if step == 3 {
            now - TimeDelta::seconds(40)
        } else {
            now
        };
        engine.fold(report(at));
        engine.fold(Input::Tick(now));
        let snap = engine.snapshot();
        let scratch = from_scratch(&snap);
        assert_eq!(snap.lanes, scratch.lanes, "at step {step}");
        assert_eq!(snap.blockers, scratch.blockers, "at step {step}");
        assert_eq!(snap.lanes[0].cells[0].stale, step == 3, "at step {step}");
    }
}
