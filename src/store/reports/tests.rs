use super::*;
use crate::model::{CellState, Lane, Train};

fn train() -> Train {
    Train {
        name: "t".into(),
        stages: vec!["staging".into(), "prod".into()],
        window: None,
        freezes: Vec::new(),
        lanes: vec![Lane {
            name: "api".into(),
            team: "core".into(),
            depends_on: Vec::new(),
        }],
        policy: Default::default(),
        auto_pause: Default::default(),
        protected: Default::default(),
        lane_index: Default::default(),
    }
}

fn report() -> SourceReport {
    let mut cell = Cell::new("gh", CellState::Running);
    cell.version = Some("3a1b2c4".into());
    cell.progress = Some(0.5);
    cell.message = Some("rolling out 3/8".into());
    let metric = Metric {
        name: "error_rate".into(),
        unit: "ratio".into(),
        value: Some(0.004),
        series: vec![(1, 0.1), (2, 0.2)],
        source: "gh".into(),
        ..Metric::default()
    };
    SourceReport {
        source: "gh".into(),
        at: "2026-11-26T14:00:00Z".parse().unwrap(),
        outcome: Ok(Batch {
            cells: vec![(CellKey::new("api", "prod"), cell)],
            metrics: vec![(CellKey::new("api", "staging"), metric)],
            cell_errors: vec![(CellKey::new("api", "staging"), "bad payload".into())],
            rate_limit: Some(RateLimit {
                remaining: 4312,
                limit: 5000,
            }),
            request_rate: Some(RequestRate {
                used: 12,
                per_minute: 450,
            }),
            next_poll_in: Some(Duration::from_millis(2500)),
            partial: false,
            removed_metrics: Vec::new(),
        }),
    }
}

#[test]
fn a_report_comes_back_as_it_went() {
    let known = Known::of(&train());
    let r = report();
    let body = encode(&r).unwrap();
    assert!(body.starts_with("{\"v\":1,"), "{body}");
    assert_eq!(decode("gh", &body, &known).unwrap(), r);
    let failed = SourceReport {
        outcome: Err("no answer within 10s".into()),
        ..report()
    };
    let body = encode(&failed).unwrap();
    assert_eq!(decode("gh", &body, &known).unwrap(), failed);
}

#[test]
fn a_reader_keeps_only_its_own_trains_cells_and_clean_text() {
    let mut r = report();
    let Ok(b) = &mut r.outcome else { panic!() };
    b.cells[0].1.message = Some("\u{1b}]0;pwned\u{7}rolling".into());
    b.cells.push((
        CellKey::new("other", "prod"),
        Cell::new("gh", CellState::Failed),
    ));
    b.metrics
        .push((CellKey::new("api", "qa"), Metric::default()));
    let got = decode("gh", &encode(&r).unwrap(), &Known::of(&train())).unwrap();
    let b = got.outcome.unwrap();
    assert_eq!(b.cells.len(), 1, "{:?}", b.cells);
    assert_eq!(b.metrics.len(), 1);
    let msg = b.cells[0].1.message.as_deref().unwrap();
    assert!(!msg.contains('\u{1b}') && !msg.contains('\u{7}'), "{msg:?}");
}

#[test]
fn what_is_not_a_report_is_said_in_words() {
    let known = Known::of(&train());
    let e = decode("gh", "{\"v\":1,\"source\":", &known).unwrap_err();
    assert!(e.starts_with("not a report"), "{e}");
    let e = decode("gh", "{\"v\":9,\"source\":\"gh\",\"shape\":[]}", &known).unwrap_err();
    assert!(e.contains("version 9"), "{e}");
    let body = encode(&report()).unwrap();
    let e = decode("prom", &body, &known).unwrap_err();
    assert!(e.contains("another source"), "{e}");
    let neither = "{\"v\":1,\"source\":\"gh\",\"at\":\"2026-11-26T14:00:00Z\"}";
    assert!(
        decode("gh", neither, &known)
            .unwrap_err()
            .contains("neither")
    );
    let huge = " ".repeat(MAX_BODY + 1);
    assert!(decode("gh", &huge, &known).unwrap_err().contains("MiB"));
}

#[test]
fn a_report_too_large_for_the_store_is_refused_when_published() {
    let mut r = report();
    let Ok(b) = &mut r.outcome else { panic!() };
    let mut cell = Cell::new("gh", CellState::Running);
    cell.message = Some("x".repeat(1000));
    for i in 0..20_000 {
        b.cells
            .push((CellKey::new(format!("lane-{i}"), "prod"), cell.clone()));
    }
    let e = encode(&r).unwrap_err();
    assert!(e.contains("more than the store takes"), "{e}");
}
