use super::*;
use crate::model::{Batch, Cell, HistoryEntry, Lane, SourceReport};
use chrono::TimeZone;
use std::time::Duration;

fn t(s: i64) -> Timestamp {
    chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

fn train() -> Train {
    Train {
        name: "t".into(),
        stages: ["build", "staging", "canary", "prod"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        window: None,
        freezes: vec![],
        lanes: vec![Lane {
            name: "api".into(),
            team: "x".into(),
            depends_on: vec![],
        }],
        policy: Default::default(),
        auto_pause: Default::default(),
    }
}

fn world(cells: &[(&str, &str, CellState)]) -> World {
    let mut w = World::new([("sim", "http", Duration::from_secs(30))]);
    let cells = cells
        .iter()
        .map(|(stage, v, st)| {
            let mut c = Cell::new("sim", *st);
            c.version = Some(v.to_string());
            c.history = vec![
                HistoryEntry {
                    version: v.to_string(),
                    state: *st,
                    at: Some(t(0)),
                    actor: Some("ci".into()),
                },
                HistoryEntry {
                    version: "aaaaaaaaaaaaaaaa".into(),
                    state: CellState::Succeeded,
                    at: Some(t(-7200)),
                    actor: Some("ci".into()),
                },
                HistoryEntry {
                    version: "bbbbbbbbbbbbbbbb".into(),
                    state: CellState::Succeeded,
                    at: Some(t(-90_000)),
                    actor: Some("bob".into()),
                },
            ];
            (CellKey::new("api", *stage), c)
        })
        .collect();
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(0),
        outcome: Ok(Batch {
            cells,
            ..Batch::default()
        }),
    });
    w
}

#[test]
fn promote_plans_the_exact_move() {
    let w = world(&[
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "aaaaaaaaaaaaaaaa", CellState::Succeeded),
    ]);
    let p = preflight(
        Action::new(ActionKind::Promote, "api", "canary"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap();
    assert!(p.allowed(), "{:?}", p.blockers);
    assert_eq!(p.summary, "staging → canary: aaaaaaa → ccccccc");
    assert_eq!(p.to_version.as_deref(), Some("cccccccccccccccc"));
    assert_eq!(p.confirm, Confirm::Dialog);
    let p = preflight(
        Action::new(ActionKind::Promote, "api", "prod"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap();
    assert_eq!(
        p.confirm,
        Confirm::TypeName("api".into()),
        "the last stage asks for the name"
    );
}

#[test]
fn promote_refuses_what_makes_no_sense() {
    let w = world(&[
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "cccccccccccccccc", CellState::Succeeded),
    ]);
    let e = preflight(
        Action::new(ActionKind::Promote, "api", "canary"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap_err();
    assert!(e.contains("already at canary"), "{e}");
    let e = preflight(
        Action::new(ActionKind::Promote, "nope", "canary"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap_err();
    assert!(e.contains("no lane"), "{e}");
    let e = preflight(
        Action::new(ActionKind::Promote, "api", "qa"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap_err();
    assert!(e.contains("stages are build, staging, canary, prod"), "{e}");
}

#[test]
fn blocked_promotion_carries_its_blockers() {
    let w = world(&[("staging", "cccccccccccccccc", CellState::Failed)]);
    let p = preflight(
        Action::new(ActionKind::Promote, "api", "canary"),
        &train(),
        &w,
        &Holds::default(),
        t(1),
    )
    .unwrap();
    assert!(!p.allowed());
    assert_eq!(p.blockers[0].kind, crate::model::BlockerKind::CheckFailed);
}

#[test]
fn rollback_targets_last_good_or_a_chosen_one() {
    let w = world(&[("prod", "3a1b2c4d5e6f7a8b", CellState::Failed)]);
    let p = preflight(
        Action::new(ActionKind::Rollback, "api", "prod"),
        &train(),
        &w,
        &Holds::default(),
        t(0),
    )
    .unwrap();
    assert_eq!(
        p.summary,
        "prod: 3a1b2c4 → aaaaaaa (last good, deployed 2h ago by ci)"
    );
    assert_eq!(p.confirm, Confirm::TypeName("api".into()));
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("bbbb".into());
    let p = preflight(a, &train(), &w, &Holds::default(), t(0)).unwrap();
    assert_eq!(
        p.summary,
        "prod: 3a1b2c4 → bbbbbbb (earlier good, deployed 1d 1h ago by bob)"
    );
    assert_eq!(p.to_version.as_deref(), Some("bbbbbbbbbbbbbbbb"));
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("ffff".into());
    assert!(
        preflight(a, &train(), &w, &Holds::default(), t(0))
            .unwrap_err()
            .contains("not an earlier good version")
    );
    // Too short, or the current (failed) version itself: refused.
    for want in ["a", "3a1b2c4d5e6f7a8b"] {
        let mut a = Action::new(ActionKind::Rollback, "api", "prod");
        a.version = Some(want.into());
        assert!(
            preflight(a, &train(), &w, &Holds::default(), t(0)).is_err(),
            "{want}"
        );
    }
}

#[test]
fn pause_resume_approve_need_the_right_state() {
    let w = world(&[
        ("canary", "cccccccccccccccc", CellState::Running),
        ("prod", "aaaaaaaaaaaaaaaa", CellState::AwaitingApproval),
    ]);
    let h = Holds::default();
    assert!(
        preflight(
            Action::new(ActionKind::Pause, "api", "canary"),
            &train(),
            &w,
            &h,
            t(0)
        )
        .is_ok()
    );
    let e = preflight(
        Action::new(ActionKind::Resume, "api", "canary"),
        &train(),
        &w,
        &h,
        t(0),
    )
    .unwrap_err();
    assert!(e.contains("is running, not paused"), "{e}");
    assert!(
        preflight(
            Action::new(ActionKind::Approve, "api", "prod"),
            &train(),
            &w,
            &h,
            t(0)
        )
        .is_ok()
    );
    assert!(
        preflight(
            Action::new(ActionKind::Approve, "api", "canary"),
            &train(),
            &w,
            &h,
            t(0)
        )
        .is_err()
    );
}

#[test]
fn command_lines() {
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("abc".into());
    assert_eq!(
        a.command_line(),
        "trainyard rollback api --stage prod --to abc"
    );
    assert_eq!(
        Action::new(ActionKind::Promote, "api", "prod").command_line(),
        "trainyard promote api --to prod"
    );
}
