use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::engine::Input;
use crate::model::{ActionKind, Batch, CellKey, CellState, SourceReport};
use crate::tui::app::App;
use crate::tui::fixture::{self, select};
use crate::tui::keymap::Command;
use crate::tui::theme::Theme;

fn frame(app: &App) {
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|f| crate::tui::ui::draw(f, app, &Theme::PLAIN))
        .unwrap();
}

/// The engine's own answer for the selected cell, asked directly.
fn judged_now(app: &App, kind: ActionKind) -> Option<crate::ops::availability::Avail> {
    app.snap
        .avail(app.selected_lane().unwrap(), app.sel_stage, kind)
}

#[test]
fn frames_of_one_snapshot_judge_the_keys_once() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "staging");
    frame(&app);
    let after_one = app.memo.judged();
    assert!(after_one > 0, "the footer asks what the keys would do");
    frame(&app);
    frame(&app);
    assert_eq!(
        app.memo.judged(),
        after_one,
        "asked again of the same snapshot"
    );
    // The details popup asks too: the footer's answer serves it.
    app.popup = Some(crate::tui::app::Popup::Details);
    frame(&app);
    assert_eq!(app.memo.judged(), after_one);
}

#[test]
fn another_cell_is_judged_again() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "staging");
    let first = app.avail(Command::Promote);
    assert_eq!(first, judged_now(&app, ActionKind::Promote));
    select(&mut app, "auth-service", "build");
    let second = app.avail(Command::Promote);
    assert_eq!(second, judged_now(&app, ActionKind::Promote));
    assert_ne!(first, second, "the two cells answer differently");
    // The same lane at another stage is another cell.
    select(&mut app, "auth-service", "prod");
    assert_eq!(
        app.avail(Command::Promote),
        judged_now(&app, ActionKind::Promote)
    );
    assert_ne!(app.avail(Command::Promote), second);
}

#[test]
fn a_new_snapshot_is_judged_again() {
    let mut app = fixture::app();
    select(&mut app, "payments-api", "canary");
    let before = app.avail(Command::Promote);
    let old = Arc::clone(&app.snap);
    // The selected cell's version fails there: the same cell, another answer.
    let mut cell = app.selected_cell().unwrap().clone();
    cell.state = CellState::Failed;
    app.input(Input::Report(SourceReport {
        source: "sim".into(),
        at: fixture::t(0),
        outcome: Ok(Batch {
            cells: vec![(CellKey::new("payments-api", "canary"), cell)],
            partial: true,
            ..Batch::default()
        }),
    }));
    assert!(!Arc::ptr_eq(&old, &app.snap), "a new snapshot");
    let after = app.avail(Command::Promote);
    assert_eq!(after, judged_now(&app, ActionKind::Promote));
    assert_ne!(before, after, "the new snapshot answers differently");
}

#[test]
fn the_widest_lane_is_measured_again_for_another_train() {
    let mut app = fixture::app();
    let widest = app.widest();
    let longest = app.snap.train.lanes.iter().map(|l| l.name.len()).max();
    assert_eq!(Some(widest.name), longest);
    let mut train = fixture::train();
    train.lanes[0].name = "a-much-longer-lane-name".into();
    train.lanes[0].team = "a-team-of-its-own".into();
    let mut rig = crate::tui::fixture::Rig::new(fixture::setup(train, fixture::world()));
    // The same app state shown a snapshot of another train.
    std::mem::swap(&mut rig.app.snap, &mut app.app.snap);
    assert_eq!(app.widest().name, "a-much-longer-lane-name".len());
    assert_eq!(app.widest().team, "a-team-of-its-own".len());
}
