//! What one poll and one frame cost: parsing the simulator's payload, folding it into the
//! world, computing every blocker, the engine's snapshot (every verdict, once per change),
//! and drawing the whole screen from it.
//!
//! `cargo bench --bench core` (numbers in the README). Lanes: the default 8, 200, and 1,000
//! (the simulator serves up to 2,000).

use chrono::{TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use trainyard::config::{self, Config};
use trainyard::model::policy;
use trainyard::model::{SourceReport, World};
use trainyard::sim::{self, Scenario, SimOptions};
use trainyard::sources::{NameMap, http::parse_train};
use trainyard::tui::{app::App, theme::Theme, ui};

fn main() {
    divan::main();
}

const LANES: &[usize] = &[8, 200, 1000];

struct Setup {
    config: Config,
    payload: Vec<u8>,
    names: NameMap,
}

fn setup(lanes: usize) -> Setup {
    let (config, names, mut scenario) = scenario(lanes);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    scenario.tick(t0 + chrono::TimeDelta::seconds(90));
    let payload = serde_json::to_vec(&scenario.train_json()).unwrap();
    Setup {
        config,
        payload,
        names,
    }
}

/// The simulator's train of `lanes` lanes at its start, its config and the names of its
/// `http` source.
fn scenario(lanes: usize) -> (Config, NameMap, Scenario) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    let opts = SimOptions {
        lanes,
        seed: 42,
        speed: 1.0,
        ..Default::default()
    };
    let scenario = Scenario::new(&opts, t0, "http://127.0.0.1:7878");
    let text = sim::demo_config("http://127.0.0.1:7878", &opts, t0);
    let config = config::parse(&text, "<bench>").unwrap();
    let names = NameMap::for_source(&config, "sim");
    (config, names, scenario)
}

fn world(s: &Setup) -> World {
    let mut w = s.config.empty_world();
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 30).unwrap();
    w.apply(SourceReport {
        source: "sim".into(),
        at,
        outcome: Ok(parse_train(&s.payload, &s.names).unwrap()),
    });
    w
}

#[divan::bench(args = LANES)]
fn parse_payload(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    bencher
        .counter(divan::counter::BytesCount::new(s.payload.len()))
        .bench(|| parse_train(divan::black_box(&s.payload), &s.names).unwrap());
}

#[divan::bench(args = LANES)]
fn fold_report(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    let batch = parse_train(&s.payload, &s.names).unwrap();
    let mut w = world(&s);
    let at = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    bencher.bench_local(|| {
        w.apply(SourceReport {
            source: "sim".into(),
            at,
            outcome: Ok(batch.clone()),
        });
    });
}

#[divan::bench(args = LANES)]
fn all_blockers(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    let w = world(&s);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    bencher.bench(|| policy::blockers(&s.config.train, &w, &Default::default(), now));
}

/// One whole frame of the train view, drawn from the engine's snapshot.
fn draw_frame(bencher: divan::Bencher, lanes: usize, (w, h): (u16, u16)) {
    let s = setup(lanes);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    let mut app = App::new(trainyard::engine::judge(&s.config, world(&s), now));
    app.sel_stage = 2;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    bencher.bench_local(|| {
        terminal.draw(|f| ui::draw(f, &app, &Theme::PLAIN)).unwrap();
    });
}

#[divan::bench(args = LANES)]
fn draw_frame_160x48(bencher: divan::Bencher, lanes: usize) {
    draw_frame(bencher, lanes, (160, 48));
}

#[divan::bench(args = LANES)]
fn draw_frame_200x60(bencher: divan::Bencher, lanes: usize) {
    draw_frame(bencher, lanes, (200, 60));
}

/// The engine's snapshot after a report: every verdict, from scratch.
#[divan::bench(args = LANES)]
fn snapshot(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    let w = world(&s);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    bencher.bench(|| trainyard::engine::judge(&s.config, w.clone(), now));
}

/// The engine's snapshot after a tick of the clock (once a second), the source reporting the
/// same train every few seconds meanwhile (outside the time measured), as it does every second
/// (its data stays fresh): the lanes whose verdicts don't move with the clock are kept.
#[divan::bench(args = LANES)]
fn snapshot_tick(bencher: divan::Bencher, lanes: usize) {
    use std::cell::RefCell;
    use trainyard::engine::{Engine, Input, Setup};
    let s = setup(lanes);
    let batch = parse_train(&s.payload, &s.names).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    let mut setup = Setup::from_config(&s.config, &[], std::time::Duration::ZERO, false, now);
    setup.world = world(&s);
    let engine = RefCell::new(Engine::new(setup));
    engine.borrow_mut().snapshot();
    let mut t = now;
    bencher
        .with_inputs(|| {
            t += chrono::TimeDelta::seconds(1);
            if t.timestamp() % 4 == 0 {
                let mut e = engine.borrow_mut();
                e.fold(Input::Report(SourceReport {
                    source: "sim".into(),
                    at: t,
                    outcome: Ok(batch.clone()),
                }));
                e.snapshot();
            }
            Input::Tick(t)
        })
        .bench_local_values(|tick| {
            let mut e = engine.borrow_mut();
            e.fold(tick);
            e.snapshot()
        });
}

/// The engine's snapshot after a typical report: the simulator's train one second on (a few
/// cells moved), folded in as the `http` source reports it (the cells that changed, a partial
/// batch; the metrics come from the Prometheus source, every five seconds, outside the time
/// measured), then judged. The reports alternate between two such seconds, so that each one
/// changes something.
#[divan::bench(args = LANES)]
fn snapshot_report(bencher: divan::Bencher, lanes: usize) {
    use std::cell::RefCell;
    use trainyard::engine::{Engine, Input, Setup};
    let (config, names, mut scenario) = scenario(lanes);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    let mut batches = Vec::new();
    for s in [90, 91] {
        scenario.tick(t0 + chrono::TimeDelta::seconds(s));
        let payload = serde_json::to_vec(&scenario.train_json()).unwrap();
        batches.push(parse_train(&payload, &names).unwrap());
    }
    let metrics = trainyard::model::Batch {
        metrics: std::mem::take(&mut batches[0].metrics),
        ..Default::default()
    };
    batches[1].metrics.clear();
    // What the source reports after its first poll: the cells that differ.
    let changed =
        |from: &trainyard::model::Batch, to: &trainyard::model::Batch| trainyard::model::Batch {
            cells: to
                .cells
                .iter()
                .filter(|c| !from.cells.contains(c))
                .cloned()
                .collect(),
            partial: true,
            ..Default::default()
        };
    let steps = [
        changed(&batches[1], &batches[0]),
        changed(&batches[0], &batches[1]),
    ];
    let now = t0 + chrono::TimeDelta::seconds(91);
    let report = |source: &str, batch: &trainyard::model::Batch, at| {
        Input::Report(SourceReport {
            source: source.into(),
            at,
            outcome: Ok(batch.clone()),
        })
    };
    let engine = RefCell::new(Engine::new(Setup::from_config(
        &config,
        &[],
        std::time::Duration::ZERO,
        false,
        now,
    )));
    for batch in &batches {
        engine.borrow_mut().fold(report("sim", batch, now));
    }
    engine.borrow_mut().fold(report("prom", &metrics, now));
    engine.borrow_mut().snapshot();
    let mut i = 0;
    bencher
        .with_inputs(|| {
            i += 1;
            let at = now + chrono::TimeDelta::seconds(i as i64);
            if i % 5 == 0 {
                let mut e = engine.borrow_mut();
                e.fold(report("prom", &metrics, at));
                e.snapshot();
            }
            report("sim", &steps[(i + 1) % 2], at)
        })
        .bench_local_values(|input| {
            let mut e = engine.borrow_mut();
            e.fold(input);
            e.snapshot()
        });
}
