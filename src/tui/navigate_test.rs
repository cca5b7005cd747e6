//! Finding your way in a big train: grouping, folding, the "busy only" toggle, the jump
//! prompt and the counts, through the app's keys; and the screens they make (insta, without
//! colour) at 80×24 and 160×48.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Msg};
use super::fixture::{self, Rig, select};
use super::keymap::Mode;
use super::rows::Row;
use super::theme::Theme;

fn key(app: &mut Rig, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn typed(app: &mut Rig, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::ui::draw(f, app, &Theme::PLAIN)).unwrap();
    t.backend().to_string()
}

/// The selected lane's name, or the selected heading as `[team]`.
fn selected(app: &App) -> String {
    match &app.rows()[app.sel_lane] {
        Row::Lane(i) => app.snap.train.lanes[*i].name.clone(),
        Row::Team(h) => format!("[{}]", h.team),
    }
}

/// The rows as the panel lists them: lanes by name, headings as `[team]` (`[+team]` folded).
fn rows(app: &App) -> Vec<String> {
    app.rows()
        .iter()
        .map(|r| match r {
            Row::Lane(i) => app.snap.train.lanes[*i].name.clone(),
            Row::Team(h) if h.folded => format!("[+{}]", h.team),
            Row::Team(h) => format!("[{}]", h.team),
        })
        .collect()
}

#[test]
fn grouping_keeps_the_selection_on_its_lane() {
    let mut app = fixture::teams_app();
    select(&mut app, "inventory", "canary");
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(
        rows(&app),
        [
            "[payments]",
            "ledger",
            "payments-api",
            "[storefront]",
            "checkout-web",
            "inventory",
            "pricing-engine",
            "[platform]",
            "auth-service",
            "notifications",
            "[discovery]",
            "search-indexer",
        ]
    );
    assert_eq!(selected(&app), "inventory");
    assert_eq!(app.selected_key().unwrap().stage.as_ref(), "canary");
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(rows(&app).len(), 8);
    assert_eq!(selected(&app), "inventory");
}

#[test]
fn a_heading_folds_with_space_or_enter_and_its_lane_folds_to_it() {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char('t'));
    select(&mut app, "checkout-web", "build");
    // Space on a lane folds its team: the selection goes to the heading.
    key(&mut app, KeyCode::Char(' '));
    assert_eq!(selected(&app), "[storefront]");
    assert!(rows(&app).contains(&"[+storefront]".to_string()));
    assert!(!rows(&app).contains(&"inventory".to_string()));
    // A heading has no cell: no details, no action.
    assert_eq!(app.selected_lane(), None);
    assert!(app.selected_key().is_none());
    key(&mut app, KeyCode::Char('p'));
    assert_eq!(app.popup, None);
    // Enter on the heading unfolds it, and opens no details.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, None);
    assert_eq!(selected(&app), "[storefront]");
    assert!(rows(&app).contains(&"inventory".to_string()));
    // Down from the heading: its first lane.
    key(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), "checkout-web");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, Some(super::app::Popup::Details));
}

#[test]
fn folding_ungrouped_says_how_to_group() {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char(' '));
    let (text, ..) = app.flash.clone().expect("a flash");
    assert!(text.contains("t groups them"), "{text}");
    assert_eq!(rows(&app).len(), 8);
}

#[test]
fn busy_only_composes_with_the_filter_and_keeps_the_selection() {
    let mut app = fixture::teams_app();
    select(&mut app, "auth-service", "prod");
    key(&mut app, KeyCode::Char('b'));
    // Blocked, moving or held; payments-api waits for ledger, pricing-engine only waits.
    let busy = rows(&app);
    assert!(!busy.contains(&"pricing-engine".to_string()), "{busy:?}");
    for lane in ["ledger", "auth-service", "notifications", "inventory"] {
        assert!(busy.contains(&lane.to_string()), "{lane}: {busy:?}");
    }
    assert_eq!(selected(&app), "auth-service");
    // The filter narrows the busy lanes further.
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "platform");
    key(&mut app, KeyCode::Enter);
    assert_eq!(rows(&app), ["auth-service", "notifications"]);
    assert_eq!(selected(&app), "auth-service");
    // Off again: every lane of the filter.
    key(&mut app, KeyCode::Char('b'));
    assert_eq!(rows(&app), ["auth-service", "notifications"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(rows(&app).len(), 8);
    assert_eq!(selected(&app), "auth-service");
}

#[test]
fn jump_shows_the_best_match_as_typed_and_esc_goes_back() {
    let mut app = fixture::teams_app();
    select(&mut app, "ledger", "prod");
    key(&mut app, KeyCode::Char(':'));
    assert_eq!(app.mode(), Mode::Jump);
    // Typed text is the prompt's: t, b, q type, they don't toggle or quit.
    typed(&mut app, "tq");
    assert!(!app.quit);
    assert_eq!(app.jump.as_ref().unwrap().query, "tq");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "in");
    // inventory (a prefix) before notifications and pricing-engine (they contain it).
    assert_eq!(selected(&app), "inventory");
    key(&mut app, KeyCode::Tab);
    assert_eq!(selected(&app), "search-indexer");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.mode(), Mode::Main);
    assert_eq!(selected(&app), "ledger");
    // Enter keeps the match.
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "pmapi");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Main);
    assert_eq!(selected(&app), "payments-api");
    assert_eq!(app.selected_key().unwrap().stage.as_ref(), "prod");
}

#[test]
fn jump_shows_a_lane_the_filter_a_fold_or_the_toggle_hid() {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char('t'));
    select(&mut app, "checkout-web", "build");
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char('b'));
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "pay");
    key(&mut app, KeyCode::Enter);
    assert!(!rows(&app).contains(&"pricing-engine".to_string()));
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "pricing");
    key(&mut app, KeyCode::Enter);
    assert_eq!(selected(&app), "pricing-engine");
    assert!(app.filter.is_empty());
    assert!(!app.lanes_opts.busy_only);
    assert!(app.lanes_opts.folded.is_empty());
    assert!(app.lanes_opts.grouped);
    let (text, ..) = app.flash.clone().expect("a flash");
    assert!(text.contains("filter cleared"), "{text}");
}

#[test]
fn jump_to_nothing_says_so() {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "zzz");
    assert!(render(&app, 80, 24).contains("no lane matches"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode(), Mode::Main);
    let (text, ..) = app.flash.clone().expect("a flash");
    assert!(text.contains("no lane matches \"zzz\""), "{text}");
}

#[test]
fn the_counts_follow_each_snapshot() {
    let mut app = fixture::teams_app();
    assert_eq!(app.census.total.held, 1);
    assert_eq!(app.census.total.moving, 4);
    let mut snap = (*app.snap).clone();
    snap.holds.lanes.insert(
        "ledger".into(),
        crate::model::LaneHold {
            reason: "x".into(),
            by: "y".into(),
            at: fixture::t(0),
        },
    );
    snap.holds.lanes.insert(
        "search-indexer".into(),
        crate::model::LaneHold {
            reason: "x".into(),
            by: "y".into(),
            at: fixture::t(0),
        },
    );
    app.update(Msg::Snapshot(std::sync::Arc::new(snap)));
    assert_eq!(app.census.total.held, 3);
    assert!(render(&app, 160, 48).contains("· 3 held"));
}

/// The grouped train with storefront folded, the selection on its heading.
fn grouped() -> Rig {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char('t'));
    select(&mut app, "inventory", "canary");
    key(&mut app, KeyCode::Char(' '));
    app
}

#[test]
fn grouped_80x24() {
    let app = grouped();
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("+ storefront  3 lanes · 2 blocked · 1 held"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn grouped_160x48() {
    let screen = render(&grouped(), 160, 48);
    // The headings name the teams: no column for them.
    assert!(!screen.contains("TEAM"), "{screen}");
    assert!(render(&fixture::teams_app(), 160, 48).contains("TEAM"));
    insta::assert_snapshot!(screen);
}

/// Busy only, filtered to a team, grouped.
fn busy_filtered() -> Rig {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char('b'));
    key(&mut app, KeyCode::Char('/'));
    typed(&mut app, "p");
    key(&mut app, KeyCode::Enter);
    select(&mut app, "notifications", "staging");
    app
}

#[test]
fn busy_filtered_80x24() {
    let app = busy_filtered();
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("by team · busy only · filter \"p\""),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn busy_filtered_160x48() {
    insta::assert_snapshot!(render(&busy_filtered(), 160, 48));
}

#[test]
fn jump_prompt_80x24() {
    let mut app = fixture::teams_app();
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "api");
    let screen = render(&app, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("jump to lane: api"), "{footer}");
    assert!(footer.contains("→ payments-api 1/1"), "{footer}");
    insta::assert_snapshot!(screen);
}

/// Many lanes in few teams: the selection stays in sight below the fold of the panel.
#[test]
fn a_long_grouped_train_scrolls_to_the_selection() {
    let mut train = fixture::train();
    train.lanes = (0..60)
        .map(|i| crate::model::Lane {
            name: format!("svc-{i:02}"),
            team: format!("team-{}", i % 4),
            depends_on: vec![],
        })
        .collect();
    let mut app = Rig::new(fixture::setup(
        train,
        crate::model::World::new([("sim", "http", std::time::Duration::from_secs(30))]),
    ));
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char(':'));
    typed(&mut app, "svc-59");
    key(&mut app, KeyCode::Enter);
    assert_eq!(selected(&app), "svc-59");
    let screen = render(&app, 80, 24);
    assert!(screen.contains("▸svc-59"), "{screen}");
    assert!(
        screen.contains("60 lanes · 0 blocked · 0 moving"),
        "{screen}"
    );
}
