use super::*;
use crate::tui::fixture;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn select(app: &mut App, lane: &str, stage: &str) {
    app.sel_lane = app
        .visible_lanes()
        .iter()
        .position(|&i| app.train.lanes[i].name == lane)
        .unwrap();
    app.sel_stage = app.train.stage_index(stage).unwrap();
}

fn dialog(app: &App) -> &ConfirmDialog {
    match &app.popup {
        Some(Popup::Confirm(d)) => d,
        other => panic!("expected a confirm dialog, got {other:?}"),
    }
}

#[test]
fn moving_is_clamped_to_the_matrix() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Left);
    assert_eq!((app.sel_lane, app.sel_stage), (0, 0));
    for _ in 0..20 {
        key(&mut app, KeyCode::Char('j'));
        key(&mut app, KeyCode::Char('l'));
    }
    assert_eq!((app.sel_lane, app.sel_stage), (7, 3));
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.sel_lane, 0);
}

#[test]
fn promote_opens_a_dialog_that_defaults_to_cancel() {
    let mut app = fixture::app();
    select(&mut app, "checkout-web", "staging");
    key(&mut app, KeyCode::Char('p'));
    let d = dialog(&app);
    assert_eq!(d.button, Button::Cancel);
    assert_eq!(d.plan.action.stage, "canary");
    // Enter on the default button cancels and sends nothing.
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty());
    assert!(app.popup.is_none());
}

#[test]
fn confirming_sends_exactly_one_action_and_refuses_a_second_while_in_flight() {
    let mut app = fixture::app();
    // search-indexer is rolling out at canary: pause it.
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(dialog(&app).plan.action.kind, ActionKind::Pause);
    key(&mut app, KeyCode::Tab);
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::Execute(p)] if p.action.kind == ActionKind::Pause));
    assert!(app.popup.is_none());
    assert!(
        app.inflight
            .contains_key(&CellKey::new("search-indexer", "canary"))
    );
    // A second press while in flight: refused with a message, no dialog, nothing sent.
    let cmds = key(&mut app, KeyCode::Char('s'));
    assert!(cmds.is_empty());
    assert!(app.popup.is_none());
    assert!(app.flash.as_ref().unwrap().0.contains("in flight"));
    // The answer clears it and asks for a fresh poll.
    let plan = ops::preflight(
        Action::new(ActionKind::Pause, "search-indexer", "canary"),
        &app.train,
        &app.world,
        &app.holds,
        app.now,
    )
    .unwrap();
    let cmds = app.update(Msg::ActionDone {
        plan: Box::new(plan),
        source: Some("sim".into()),
        result: Ok("pausing".into()),
    });
    assert_eq!(cmds, [Cmd::PollNow("sim".into())]);
    assert!(app.inflight.is_empty());
    let a = app.activity.front().unwrap();
    assert!(a.text.contains("accepted by sim"), "{}", a.text);
    assert_eq!(
        a.command.as_deref(),
        Some("trainyard pause search-indexer --stage canary")
    );
}

#[test]
fn rollback_needs_the_lane_name_typed() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "canary");
    key(&mut app, KeyCode::Char('r'));
    assert!(matches!(dialog(&app).plan.confirm, Confirm::TypeName(ref n) if n == "inventory"));
    typed(&mut app, "invent");
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.popup.is_some(), "a wrong name keeps the dialog open");
    typed(&mut app, "ory");
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::Execute(p)] if p.action.kind == ActionKind::Rollback));
}

#[test]
fn blocked_promotion_sends_nothing() {
    let mut app = fixture::app();
    select(&mut app, "payments-api", "canary");
    key(&mut app, KeyCode::Char('p'));
    let d = dialog(&app);
    assert!(!d.plan.allowed());
    assert!(
        d.plan
            .blockers
            .iter()
            .any(|b| b.kind == crate::model::BlockerKind::Dependency)
    );
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "payments-api");
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.flash.as_ref().unwrap().0.contains("blocked by policy"));
}

#[test]
fn readonly_refuses_actions_with_a_message() {
    let mut app = fixture::app();
    app.readonly = true;
    select(&mut app, "search-indexer", "canary");
    for c in ['p', 's', 'r', 'a'] {
        assert!(key(&mut app, KeyCode::Char(c)).is_empty());
        assert!(app.popup.is_none());
        assert!(app.flash.as_ref().unwrap().0.starts_with("read-only"));
    }
}

#[test]
fn senseless_actions_say_why() {
    let mut app = fixture::app();
    select(&mut app, "ledger", "prod");
    key(&mut app, KeyCode::Char('p'));
    assert!(app.flash.as_ref().unwrap().0.contains("last stage"));
    key(&mut app, KeyCode::Char('a'));
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("not awaiting approval"),
        "{:?}",
        app.flash
    );
}

#[test]
fn filter_narrows_lanes_and_esc_clears() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "pay");
    key(&mut app, KeyCode::Enter);
    let names: Vec<&str> = app
        .visible_lanes()
        .iter()
        .map(|&i| app.train.lanes[i].name.as_str())
        .collect();
    assert_eq!(names, ["payments-api"]);
    // Team names match too.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "identity");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_key().unwrap().lane, "auth-service");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.visible_lanes().len(), 8);
}

#[test]
fn popups_open_and_close_and_q_quits() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, Some(Popup::Details));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None);
    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.popup, Some(Popup::Help));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Panel::Blockers);
    assert_eq!(key(&mut app, KeyCode::Char('q')), [Cmd::Quit]);
    assert!(app.quit);
}

#[test]
fn reports_become_activity_after_the_first() {
    let mut app = fixture::app();
    let mut c = app.world.cell("ledger", "build").unwrap().clone();
    c.state = CellState::Succeeded;
    let report = |c: Cell, at| SourceReport {
        source: "sim".into(),
        at,
        outcome: Ok(crate::model::Batch {
            cells: vec![(CellKey::new("ledger", "build"), c)],
            ..Default::default()
        }),
    };
    // The fixture's world was built outside the app: the first report through the app is
    // its first, and is not news.
    app.update(Msg::Report(report(c.clone(), fixture::t(1))));
    assert!(app.activity.is_empty());
    c.state = CellState::Failed;
    app.update(Msg::Report(report(c, fixture::t(2))));
    assert!(
        app.activity
            .front()
            .unwrap()
            .text
            .contains("ledger build: ✗"),
        "{:?}",
        app.activity
    );
    app.update(Msg::Report(SourceReport {
        source: "sim".into(),
        at: fixture::t(3),
        outcome: Err("connection refused".into()),
    }));
    assert!(
        app.activity
            .front()
            .unwrap()
            .text
            .contains("source sim failed: connection refused")
    );
}
