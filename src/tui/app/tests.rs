use super::*;
use crate::engine::{Input, Ledger};
use crate::model::{CellState, SourceReport};
use crate::ops::availability::InFlight;
use crate::ops::{Action, Confirm, Outcome};
use crate::tui::confirm::Field;
use crate::tui::fixture::{self, Rig};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn key(app: &mut Rig, code: KeyCode) -> Vec<Cmd> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut Rig, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

use crate::tui::fixture::select;

/// Enter on Go: the one plan it sends.
fn send(app: &mut Rig) -> Box<Plan> {
    let cmds = key(app, KeyCode::Enter);
    let [Cmd::Submit(p)] = cmds.as_slice() else {
        panic!("not sent: {cmds:?}")
    };
    p.clone()
}

/// Enter on Go, and the plan it sent ends with `outcome`.
fn send_done(app: &mut Rig, outcome: Outcome) {
    let plan = send(app);
    app.input(Input::Done { plan, outcome });
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
    assert_eq!(d.focus, Field::Cancel);
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
    assert!(matches!(cmds.as_slice(), [Cmd::Submit(p)] if p.action.kind == ActionKind::Pause));
    assert!(app.popup.is_none());
    assert!(
        app.snap
            .in_flight
            .contains_key(&CellKey::new("search-indexer", "canary"))
    );
    // A second press while in flight: refused with a message, no dialog, nothing sent.
    let cmds = key(&mut app, KeyCode::Char('s'));
    assert!(cmds.is_empty());
    assert!(app.popup.is_none());
    assert!(app.flash.as_ref().unwrap().0.contains("in flight"));
    // The runner's word on the way shows in the activity; the cell stays in flight.
    app.input(Input::Progress {
        key: CellKey::new("search-indexer", "canary"),
        kind: ActionKind::Pause,
        text: "accepted by sim: pausing".into(),
    });
    assert!(
        app.activity
            .front()
            .unwrap()
            .text
            .contains("accepted by sim")
    );
    key(&mut app, KeyCode::Char('s'));
    assert!(app.flash.as_ref().unwrap().0.contains("in flight"));
    // Verified: done, settled, a fresh poll asked for.
    let plan = app
        .snap
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    app.input(Input::Done {
        plan: Box::new(plan),
        outcome: Outcome::Done("b8ab03a paused".into()),
    });
    assert_eq!(app.engine.take_poll_now(), ["sim"]);
    assert!(app.snap.in_flight.is_empty());
    let a = app.activity.front().unwrap();
    assert!(a.text.contains("done: b8ab03a paused"), "{}", a.text);
    assert_eq!(
        a.command.as_deref(),
        Some("trainyard pause search-indexer --stage canary")
    );
}

/// `X` aborts a rollout where its source can: on an Argo CD canary waiting at a step the
/// dialog starts on Cancel (Enter sends nothing), Go sends one abort; at the protected stage
/// it asks for the lane's name; on a cell of the http protocol no dialog opens, and the
/// reason says what to do instead.
#[test]
fn abort_opens_a_dialog_where_the_source_can_abort_and_says_why_not_elsewhere() {
    let mut app = fixture::argo_app();
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char('X'));
    let d = dialog(&app);
    assert_eq!(d.plan.action.kind, ActionKind::Abort);
    assert_eq!(d.focus, Field::Cancel);
    assert_eq!(d.plan.confirm, Confirm::Dialog);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.popup.is_none(), "Enter on Cancel closes it");
    key(&mut app, KeyCode::Char('X'));
    key(&mut app, KeyCode::Tab);
    let p = send(&mut app);
    assert_eq!(
        p.action,
        Action::new(ActionKind::Abort, "search-indexer", "canary")
    );

    select(&mut app, "ledger", "prod");
    key(&mut app, KeyCode::Char('X'));
    assert_eq!(
        dialog(&app).plan.confirm,
        Confirm::TypeName("ledger".into())
    );

    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    assert_eq!(key(&mut app, KeyCode::Char('X')), []);
    assert!(app.popup.is_none());
    let flash = &app.flash.as_ref().unwrap().0;
    assert!(
        flash
            .contains("trainyard's http protocol has no abort: pause the rollout, or roll it back"),
        "{flash}"
    );
}

#[test]
fn rollback_needs_the_lane_name_typed() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "canary");
    key(&mut app, KeyCode::Char('r'));
    assert!(matches!(dialog(&app).plan.confirm, Confirm::TypeName(ref n) if n == "inventory"));
    // Typing while Cancel has the focus types nothing.
    typed(&mut app, "inv");
    assert_eq!(dialog(&app).typed, "");
    key(&mut app, KeyCode::BackTab);
    assert_eq!(dialog(&app).focus, Field::Name);
    typed(&mut app, "invent");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    assert_eq!(dialog(&app).focus, Field::Go);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.popup.is_some(), "a wrong name keeps the dialog open");
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("type the lane's name")
    );
    key(&mut app, KeyCode::BackTab);
    key(&mut app, KeyCode::BackTab);
    typed(&mut app, "ory");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::Submit(p)] if p.action.kind == ActionKind::Rollback));
}

#[test]
fn rollback_offers_every_good_version() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "canary");
    key(&mut app, KeyCode::Char('r'));
    let first = dialog(&app).plan.to_version.clone();
    assert_eq!(dialog(&app).plan.choices.len(), 2);
    key(&mut app, KeyCode::Down);
    let second = dialog(&app).plan.to_version.clone();
    assert_ne!(first, second);
    assert!(
        dialog(&app).plan.summary.contains("earlier good"),
        "{}",
        dialog(&app).plan.summary
    );
    key(&mut app, KeyCode::Down);
    assert_eq!(dialog(&app).plan.to_version, first, "wraps around");
}

#[test]
fn a_blocked_action_can_be_forced_only_with_a_reason() {
    let mut app = fixture::app();
    select(&mut app, "payments-api", "canary");
    key(&mut app, KeyCode::Char('p'));
    assert!(dialog(&app).forcing());
    // To Go, past the name field: no reason, no name: nothing sent.
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.flash.as_ref().unwrap().0.contains("give a reason"));
    // Reason, then the name (prod is the last stage), then Go.
    key(&mut app, KeyCode::Tab);
    assert_eq!(dialog(&app).focus, Field::Reason);
    typed(&mut app, "ledger verified by hand");
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "payments-api");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    let p = send(&mut app);
    assert!(p.forced());
    assert_eq!(p.action.reason.as_deref(), Some("ledger verified by hand"));
    assert!(app.activity.front().unwrap().text.contains("FORCED"));
}

#[test]
fn halt_needs_a_reason_and_shows_the_banner_when_done() {
    let mut app = fixture::app();
    key(&mut app, KeyCode::Char('H'));
    assert_eq!(dialog(&app).plan.action.kind, ActionKind::Halt);
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.flash.as_ref().unwrap().0.contains("needs a reason"));
    key(&mut app, KeyCode::Tab);
    typed(&mut app, "incident 42");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    send_done(&mut app, Outcome::Done("halted".into()));
    assert_eq!(app.snap.holds.halt.as_ref().unwrap().reason, "incident 42");
    // Now every promotion is refused: a halt can't be forced, so no dialog opens.
    select(&mut app, "checkout-web", "staging");
    key_press_refused(&mut app, 'p', "halt can't be forced");
    let words: Vec<_> = crate::tui::footer::footer_keys(&app);
    assert!(!words.contains(&("p", "promote")), "{words:?}");
    assert!(words.contains(&("H", "unhalt")), "{words:?}");
}

#[test]
fn s_on_an_idle_cell_holds_the_lane() {
    let mut app = fixture::app();
    select(&mut app, "inventory", "canary");
    assert_eq!(pause_word(&app), "hold lane");
    key(&mut app, KeyCode::Char('s'));
    let d = dialog(&app);
    assert_eq!(
        d.plan.action.scope(),
        crate::ops::Scope::Lane("inventory".into())
    );
    key(&mut app, KeyCode::Tab);
    send_done(&mut app, Outcome::Done("held".into()));
    assert!(app.snap.holds.lanes.contains_key("inventory"));
    assert_eq!(pause_word(&app), "release");
    // The details say who holds the lane, since when and why, first.
    let text: Vec<String> = crate::tui::details::lines(&app, &crate::tui::theme::Theme::PLAIN)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|l| l.contains("‖ held by dana@jump for 0s: no reason given")),
        "{text:#?}"
    );
}

#[test]
fn blocked_promotion_sends_nothing_without_force() {
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
    key(&mut app, KeyCode::BackTab);
    typed(&mut app, "payments-api");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter), []);
    assert!(app.flash.as_ref().unwrap().0.contains("blocked by policy"));
}

#[test]
fn readonly_refuses_actions_with_a_message() {
    let mut app = fixture::readonly_app();
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
        .map(|&i| app.snap.train.lanes[i].name.as_str())
        .collect();
    assert_eq!(names, ["payments-api"]);
    // Team names match too.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "identity");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_key().unwrap().lane.as_ref(), "auth-service");
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
    let mut c = app.snap.world.cell("ledger", "build").unwrap().clone();
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
    app.input(Input::Report(report(c.clone(), fixture::t(1))));
    assert!(app.activity.is_empty());
    c.state = CellState::Failed;
    app.input(Input::Report(report(c, fixture::t(2))));
    assert!(
        app.activity
            .front()
            .unwrap()
            .text
            .contains("ledger build: ✗"),
        "{:?}",
        app.activity
    );
    app.input(Input::Report(SourceReport {
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

#[test]
fn a_rejected_or_timed_out_action_is_settled_and_said_loudly() {
    for (outcome, word) in [
        (
            Outcome::Rejected("sim rejected it: 409 conflict: busy".into()),
            "rejected",
        ),
        (
            Outcome::TimedOut("did not get there within 10m".into()),
            "TIMEOUT",
        ),
    ] {
        let mut app = fixture::app();
        select(&mut app, "search-indexer", "canary");
        key(&mut app, KeyCode::Char('s'));
        key(&mut app, KeyCode::Tab);
        send_done(&mut app, outcome);
        assert!(app.snap.in_flight.is_empty());
        let (flash, tone, _) = app.flash.clone().unwrap();
        assert!(flash.contains(word), "{flash}");
        assert_eq!(tone, Tone::Bad);
    }
}

#[test]
fn confirming_after_the_train_moved_sends_nothing_and_shows_the_new_plan() {
    let mut app = fixture::app();
    select(&mut app, "checkout-web", "staging");
    key(&mut app, KeyCode::Char('p'));
    key(&mut app, KeyCode::Tab);
    // While the dialog is open, staging gets a newer version.
    let mut c = app
        .snap
        .world
        .cell("checkout-web", "staging")
        .unwrap()
        .clone();
    c.version = Some("f00dfeedf00dfeedf00d".into());
    app.input(Input::Report(SourceReport {
        source: "sim".into(),
        at: app.now,
        outcome: Ok(crate::model::Batch {
            cells: vec![(CellKey::new("checkout-web", "staging"), c)],
            ..Default::default()
        }),
    }));
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "a stale plan must not be sent");
    let d = dialog(&app);
    assert_eq!(d.plan.to_version.as_deref(), Some("f00dfeedf00dfeedf00d"));
    assert_eq!(d.focus, Field::Cancel, "back to the safe default");
    assert!(app.flash.as_ref().unwrap().0.contains("the train moved"));
}

#[test]
fn scrolling_stops_at_the_ends() {
    let mut app = fixture::app();
    let now = app.now;
    for i in 0..5 {
        app.activity.push_front(Activity {
            at: now,
            tone: Tone::Info,
            text: format!("e{i}"),
            command: None,
            url: None,
        });
    }
    app.focus = Panel::Activity;
    for _ in 0..20 {
        key(&mut app, KeyCode::Down);
    }
    assert_eq!(app.activity_scroll, 4);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.activity_scroll, 3);
}

#[test]
fn footer_offers_only_what_applies() {
    use crate::tui::footer::footer_keys;
    let mut app = fixture::app();
    let words = |app: &App| footer_keys(app).iter().map(|(_, w)| *w).collect::<Vec<_>>();
    select(&mut app, "auth-service", "prod");
    let w = words(&app);
    assert!(w.contains(&"approve") && w.contains(&"reject"), "{w:?}");
    assert!(!w.contains(&"promote"), "prod is the last stage: {w:?}");
    select(&mut app, "notifications", "staging");
    assert!(words(&app).contains(&"resume"));
    select(&mut app, "search-indexer", "canary");
    assert!(words(&app).contains(&"pause"));
    assert!(!words(&app).contains(&"approve"));
    let mut app = fixture::readonly_app();
    select(&mut app, "search-indexer", "canary");
    let w = words(&app);
    assert!(!w.contains(&"pause") && !w.contains(&"promote"), "{w:?}");
}

#[test]
fn the_ledger_brings_holds_and_other_processes_actions() {
    let mut app = fixture::app();
    let holds = crate::model::Holds {
        halt: Some(crate::model::LaneHold {
            reason: "incident 42".into(),
            by: "bob".into(),
            at: app.now,
        }),
        ..Default::default()
    };
    let key = CellKey::new("search-indexer", "canary");
    let theirs = InFlight {
        kind: ActionKind::Pause,
        actor: "carol@jump2".into(),
        since: app.now,
        status: "in flight".into(),
        mine: false,
    };
    app.input(Input::Ledger(Ledger {
        holds,
        in_flight: vec![(key.clone(), theirs)],
        auto_pauses: vec![],
        team: Default::default(),
    }));
    assert!(app.snap.holds.halt.is_some());
    assert!(app.activity.front().unwrap().text.contains("halted by bob"));
    select(&mut app, "search-indexer", "canary");
    key_press_refused(&mut app, 's', "in flight by carol@jump2");
}

fn key_press_refused(app: &mut Rig, c: char, why: &str) {
    assert!(key(app, KeyCode::Char(c)).is_empty());
    assert!(app.popup.is_none());
    assert!(
        app.flash.as_ref().unwrap().0.contains(why),
        "{:?}",
        app.flash
    );
}

#[test]
fn quitting_with_an_action_in_flight_asks_twice() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter).len(), 1);
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert!(!app.quit);
    assert!(app.flash.as_ref().unwrap().0.contains("still in flight"));
    assert_eq!(key(&mut app, KeyCode::Char('q')), [Cmd::Quit]);
}

#[test]
fn q_in_a_popup_asks_twice_too_with_an_action_in_flight() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char('s'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(key(&mut app, KeyCode::Enter).len(), 1);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, Some(Popup::Details));
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert!(!app.quit);
    assert!(app.flash.as_ref().unwrap().0.contains("still in flight"));
    assert_eq!(key(&mut app, KeyCode::Char('q')), [Cmd::Quit]);
}

#[test]
fn a_warning_is_said_in_the_activity_and_the_footer() {
    let mut app = fixture::app();
    app.input(Input::Warning(
        "audit log /x unreadable: permission denied".into(),
    ));
    assert!(app.activity.front().unwrap().text.contains("unreadable"));
    assert_eq!(app.flash.as_ref().unwrap().1, Tone::Bad);
}

fn selected_name(app: &App) -> String {
    app.selected_key().unwrap().lane.to_string()
}

#[test]
fn m_opens_the_metrics_view_where_j_k_move_lanes_and_esc_or_m_leave_it() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    // Whatever panel had the focus, in the view j/k move the lane (the charts follow).
    app.focus = Panel::Activity;
    key(&mut app, KeyCode::Char('m'));
    assert_eq!(app.view, View::Metrics);
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(selected_name(&app), "auth-service");
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(selected_name(&app), "notifications");
    // Stages move too.
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.selected_key().unwrap().stage.as_ref(), "prod");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Train);
    assert_eq!(
        app.focus,
        Panel::Activity,
        "Esc left the view, nothing else"
    );
    key(&mut app, KeyCode::Char('m'));
    assert_eq!(app.view, View::Metrics);
    key(&mut app, KeyCode::Char('m'));
    assert_eq!(app.view, View::Train);
}

#[test]
fn esc_in_the_view_leaves_it_before_clearing_the_filter() {
    let mut app = fixture::app();
    typed(&mut app, "/search");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('m'));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Train);
    assert_eq!(app.filter, "search");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.filter, "");
}

#[test]
fn brackets_and_tab_cycle_the_metric_of_the_view() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char('m'));
    assert_eq!(
        app.metric_names(),
        ["error_rate", "latency_p99", "saturation"]
    );
    let chosen = |app: &App| app.chosen_metric().unwrap();
    assert_eq!(chosen(&app), "error_rate");
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(chosen(&app), "latency_p99");
    key(&mut app, KeyCode::Char(']'));
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(chosen(&app), "error_rate", "wraps around");
    key(&mut app, KeyCode::Char('['));
    assert_eq!(chosen(&app), "saturation");
    // Tab and Shift-Tab do the same in the view, and leave the panel focus alone.
    let focus = app.focus;
    key(&mut app, KeyCode::Tab);
    assert_eq!(chosen(&app), "error_rate");
    key(&mut app, KeyCode::BackTab);
    assert_eq!(chosen(&app), "saturation");
    assert_eq!(app.focus, focus);
    // Another lane without that metric: the choice stays, since the stage has it elsewhere.
    select(&mut app, "ledger", "canary");
    assert_eq!(
        app.metric_names(),
        ["error_rate", "latency_p99", "saturation"]
    );
    assert_eq!(chosen(&app), "saturation");
    // A stage without metrics: nothing to choose, and the keys do nothing.
    select(&mut app, "ledger", "build");
    assert_eq!(app.chosen_metric(), None);
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(app.chosen_metric(), None);
    // Back at canary, the choice is still there.
    select(&mut app, "ledger", "canary");
    assert_eq!(chosen(&app), "saturation");
}

#[test]
fn brackets_outside_the_view_say_where_they_work() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    key(&mut app, KeyCode::Char(']'));
    assert_eq!(app.chosen_metric, None);
    let (text, _, _) = app.flash.as_ref().unwrap();
    assert!(text.contains("press m"), "{text}");
    // Tab still cycles the panels there.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Panel::Blockers);
}

#[test]
fn the_footer_of_the_view_says_how_to_leave_and_pick_a_metric() {
    let mut app = fixture::app();
    let keys = crate::tui::footer::footer_keys(&app);
    assert!(keys.contains(&("m", "charts")), "{keys:?}");
    key(&mut app, KeyCode::Char('m'));
    let keys = crate::tui::footer::footer_keys(&app);
    assert!(keys.contains(&("m", "back")), "{keys:?}");
    assert!(keys.contains(&("[ ]", "metric")), "{keys:?}");
    assert!(!keys.contains(&("m", "charts")), "{keys:?}");
}

#[test]
fn the_trend_of_the_fixture_metrics() {
    use crate::engine::snapshot::Trend;
    let app = fixture::app();
    let trend = |lane: &str, name: &str| {
        let li = app
            .snap
            .train
            .lanes
            .iter()
            .position(|l| l.name == lane)
            .unwrap();
        let si = app.snap.train.stage_index("canary").unwrap();
        app.snap
            .metrics(li, si)
            .find(|(m, _)| *m.name == *name)
            .unwrap()
            .1
            .trend
    };
    assert_eq!(trend("search-indexer", "error_rate"), Some(Trend::Rising));
    assert_eq!(trend("payments-api", "error_rate"), Some(Trend::Flat));
    assert_eq!(trend("ledger", "error_rate"), Some(Trend::Flat));
}

#[test]
fn charts_follow_the_locale() {
    use crate::tui::theme::Charts;
    let with = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Charts::from_locale(move |k| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        })
    };
    assert_eq!(with(&[("LANG", "en_US.UTF-8")]), Charts::Braille);
    assert_eq!(with(&[("LANG", "C.utf8")]), Charts::Braille);
    assert_eq!(
        with(&[("LC_CTYPE", "de_DE.UTF8"), ("LANG", "C")]),
        Charts::Braille
    );
    // LC_ALL wins over the others; an empty one does not count.
    assert_eq!(
        with(&[("LC_ALL", "C"), ("LANG", "en_US.UTF-8")]),
        Charts::Dot
    );
    assert_eq!(
        with(&[("LC_ALL", ""), ("LANG", "en_US.UTF-8")]),
        Charts::Braille
    );
    // Not UTF-8, or no locale at all (the C locale): dots.
    assert_eq!(with(&[("LANG", "ja_JP.eucJP")]), Charts::Dot);
    assert_eq!(with(&[("LANG", "POSIX")]), Charts::Dot);
    assert_eq!(with(&[]), Charts::Dot);
}

/// What `s` would do on the selected cell, in the footer's word.
fn pause_word(app: &App) -> &'static str {
    let avail = app.avail(Command::PauseResume).unwrap();
    crate::tui::footer::pause_word(avail.action().unwrap())
}

#[test]
fn the_activity_keeps_its_newest_entries_however_long_the_session() {
    let mut app = fixture::app();
    for i in 0..ACTIVITY_KEEP + 300 {
        let e = crate::engine::events::warning(fixture::t(i as i64), &format!("event {i}"));
        app.update(Msg::Event(Box::new(e)));
    }
    assert_eq!(app.activity.len(), ACTIVITY_KEEP);
    let newest = ACTIVITY_KEEP + 299;
    assert_eq!(app.activity[0].text, format!("event {newest}"));
    assert_eq!(
        app.activity[ACTIVITY_KEEP - 1].text,
        format!("event {}", newest + 1 - ACTIVITY_KEEP)
    );
}

/// A snapshot moves the screen's clock as a tick does (the screen's tick waits a second after
/// each snapshot, so with a report every second a tick may never come): a flash goes with it.
#[test]
fn a_snapshot_moves_the_clock_and_a_flash_goes_with_it() {
    let mut app = fixture::app();
    select(&mut app, "ledger", "prod");
    key(&mut app, KeyCode::Char('p'));
    assert!(app.flash.is_some());
    let shown = app.now;
    app.input(Input::Tick(shown + chrono::TimeDelta::seconds(2)));
    assert!(app.flash.is_some(), "shown 2 s: still there");
    assert_eq!(app.now, shown + chrono::TimeDelta::seconds(2));
    app.input(Input::Tick(shown + chrono::TimeDelta::seconds(7)));
    assert_eq!(
        app.flash, None,
        "gone after 6 s, with no tick of the screen's own"
    );
}
