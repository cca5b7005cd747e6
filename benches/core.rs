//! What one poll and one frame cost: parsing the simulator's payload, folding it into the
//! world, computing every blocker, the engine's snapshot (every verdict, once per change),
//! and drawing the whole screen from it.
//!
//! `cargo bench` (numbers in the README). Lanes: the default 8, and 200, the most `--lanes`
//! allows.

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

const LANES: &[usize] = &[8, 200];

struct Setup {
    config: Config,
    payload: Vec<u8>,
    names: NameMap,
}

fn setup(lanes: usize) -> Setup {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 26, 15, 0, 0).unwrap();
    let opts = SimOptions {
        lanes,
        seed: 42,
        speed: 1.0,
        ..Default::default()
    };
    let mut scenario = Scenario::new(&opts, t0, "http://127.0.0.1:7878");
    scenario.tick(t0 + chrono::TimeDelta::seconds(90));
    let payload = serde_json::to_vec(&scenario.train_json()).unwrap();
    let text = sim::demo_config("http://127.0.0.1:7878", &opts, t0);
    let config = config::parse(&text, "<bench>").unwrap();
    let names = NameMap::for_source(&config, "sim");
    Setup {
        config,
        payload,
        names,
    }
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

#[divan::bench(args = LANES)]
fn draw_frame_160x48(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    let mut app = App::new(trainyard::engine::judge(&s.config, world(&s), now));
    app.sel_stage = 2;
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    bencher.bench_local(|| {
        terminal.draw(|f| ui::draw(f, &app, &Theme::PLAIN)).unwrap();
    });
}

#[divan::bench(args = LANES)]
fn snapshot(bencher: divan::Bencher, lanes: usize) {
    let s = setup(lanes);
    let w = world(&s);
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 1, 31).unwrap();
    bencher.bench(|| trainyard::engine::judge(&s.config, w.clone(), now));
}
