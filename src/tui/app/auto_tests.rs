//! `auto_pause` in the running app: a breach report sends one pause as `trainyard-auto`.

use super::*;
use crate::model::{Batch, Metric, Threshold};
use crate::tui::fixture;

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
        source: String::new(),
        error: None,
        warnings: vec![],
    };
    SourceReport {
        source: "sim".into(),
        at: fixture::t(at),
        outcome: Ok(Batch {
            cells: fixture::world()
                .cells()
                .filter(|(k, _)| k.lane == "search-indexer")
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect(),
            metrics: vec![(CellKey::new("search-indexer", "canary"), m)],
            ..Batch::default()
        }),
    }
}

#[test]
fn a_breach_at_an_auto_pause_stage_sends_one_pause_as_trainyard_auto() {
    let mut app = fixture::app();
    app.train.auto_pause.insert("canary".into());
    let cmds = app.update(Msg::Report(breach(0)));
    let [Cmd::Execute(plan)] = cmds.as_slice() else {
        panic!("expected one action, got {cmds:?}");
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
    assert!(app.inflight.contains_key(&a.key()));
    let said = &app.activity.front().unwrap().text;
    assert!(
        said.starts_with("trainyard-auto: pause search-indexer at canary: auto_pause: error_rate"),
        "{said}"
    );
    // The same breach in the next report: nothing more.
    assert!(app.update(Msg::Report(breach(30))).is_empty());
}

#[test]
fn read_only_only_says_what_auto_pause_would_do() {
    let mut app = fixture::app();
    app.readonly = true;
    app.train.auto_pause.insert("canary".into());
    assert!(app.update(Msg::Report(breach(0))).is_empty());
    assert!(app.inflight.is_empty());
    let said = &app.activity.front().unwrap().text;
    assert!(
        said.contains("would pause search-indexer at canary"),
        "{said}"
    );
    assert!(said.ends_with("read-only, nothing done"), "{said}");
}

#[test]
fn without_auto_pause_a_breach_only_blocks() {
    let mut app = fixture::app();
    assert!(app.update(Msg::Report(breach(0))).is_empty());
    assert!(app.inflight.is_empty());
    // The breach is in the app's world (the metrics panel and the slo gate read it).
    let m = app.world.metrics("search-indexer", "canary");
    assert!(m.iter().any(|m| m.name == "error_rate" && !m.ok()), "{m:?}");
}
