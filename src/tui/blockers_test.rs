//! The blockers panel at the sizes people use (80×24 over SSH, 100×30, 120×40): the first screen
//! of the fixed train, which carries the demo's story, names the failed check, the waiting
//! reviewers and the lane and stage a lane waits for — beside the metrics panel too.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Msg, Panel};
use super::blockers;
use super::fixture::{self, Rig, select};
use super::theme::Theme;
use super::ui;
use crate::model::{Batch, Blocker, BlockerKind, CellKey, Check, CheckState, Facts, SourceReport};

fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app, &Theme::PLAIN)).unwrap();
    terminal.backend().to_string()
}

/// The rows of the blockers panel, from its title down to its bottom border, each cut to the
/// panel's columns (it starts at the screen's left edge).
fn panel(screen: &str) -> Vec<String> {
    let rows: Vec<&str> = screen.lines().collect();
    let top = rows
        .iter()
        .position(|r| r.contains("┌ Blockers") || r.contains("┏▸ Blockers"))
        .unwrap_or_else(|| panic!("no blockers panel:\n{screen}"));
    let width = rows[top]
        .trim_start_matches('"')
        .chars()
        .skip(1)
        .position(|c| c == '┐' || c == '┓')
        .unwrap()
        + 2;
    rows[top..]
        .iter()
        .map(|r| r.trim_start_matches('"').chars().take(width).collect())
        .take_while(|r: &String| !r.starts_with('└') && !r.starts_with('┗'))
        .collect()
}

/// The panel's words as one text: borders gone, a line broken by the layout joined again.
fn said(screen: &str) -> String {
    let text: Vec<String> = panel(screen)[1..]
        .iter()
        .map(|r| r.trim_matches(|c| c == '│' || c == '┃').trim().to_string())
        .collect();
    text.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a person must read on the first screen, whatever its size.
fn assert_deciding_words(screen: &str) {
    let text = panel(screen).join("\n");
    for words in [
        // The dependency: which lane, at which stage.
        "payments-api",
        "needs ledger at prod",
        // The failed check by name.
        "checkout-web",
        "integration-tests",
        // The approval and whom it waits for.
        "auth-service",
        "approval",
        "octocat, dana",
    ] {
        assert!(text.contains(words), "{words:?} missing:\n{screen}");
    }
    // Nothing of them is cut.
    assert!(!text.contains('…'), "a blocker is cut:\n{screen}");
}

#[test]
fn first_screen_80x24() {
    let app = fixture::app();
    let screen = render(&app, 80, 24);
    assert_deciding_words(&screen);
    insta::assert_snapshot!(screen);
}

#[test]
fn first_screen_100x30() {
    let app = fixture::app();
    let screen = render(&app, 100, 30);
    assert_deciding_words(&screen);
    // The room to say more: where the check failed, what ledger is doing there.
    let text = panel(&screen).join("\n");
    assert!(
        text.contains("integration-tests failed at build"),
        "{screen}"
    );
    assert!(text.contains("running 40%"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn first_screen_120x40() {
    let app = fixture::app();
    let screen = render(&app, 120, 40);
    assert_deciding_words(&screen);
    // Every blocker fits, each whole.
    assert!(screen.contains("┌ Blockers 7 "), "{screen}");
    insta::assert_snapshot!(screen);
}

/// With a cell whose metrics have something to say, the blockers get half the width: the
/// words still decide, on a second line where one isn't enough, and the title says which
/// blockers are shown.
#[test]
fn beside_the_metrics_panel_80x24_the_words_still_decide() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    let screen = render(&app, 80, 24);
    let rows = panel(&screen);
    assert!(rows[0].contains("Blockers 1–3 of 7"), "{screen}");
    let text = rows.join("\n");
    for words in ["needs ledger at prod", "integration-tests", "octocat, dana"] {
        assert!(text.contains(words), "{words:?} missing:\n{screen}");
    }
    assert!(!text.contains('…'), "{screen}");
}

/// A GitHub check's name is long ("ci / integration-tests (ubuntu-latest, stable)"): at 120×40
/// beside the metrics panel it is said whole, and the other failed checks are counted.
#[test]
fn a_github_check_name_is_said_whole_at_120x40() {
    let mut world = fixture::world();
    let name = |n: &str| format!("ci / {n} (ubuntu-latest, stable)");
    let mut cell = world.cell("checkout-web", "build").unwrap().clone();
    cell.checks = ["integration-tests", "e2e-smoke", "unit-tests"]
        .iter()
        .map(|n| Check {
            name: name(n),
            state: CheckState::Failed,
            url: None,
        })
        .collect();
    world.apply(SourceReport {
        source: "gh".into(),
        at: fixture::t(-1),
        outcome: Ok(Batch {
            cells: vec![(CellKey::new("checkout-web", "build"), cell)],
            ..Batch::default()
        }),
    });
    let mut app = Rig::new(fixture::setup(fixture::train(), world));
    select(&mut app, "search-indexer", "canary");
    let screen = render(&app, 120, 40);
    let text = said(&screen);
    assert!(
        text.contains("ci / integration-tests (ubuntu-latest, stable) +2 more"),
        "{screen}"
    );
    assert!(!text.contains('…'), "{screen}");
}

/// Scrolling the focused panel moves by whole blockers, and the title follows.
#[test]
fn scrolling_shows_the_next_blockers_whole() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    while app.focus != Panel::Blockers {
        app.update(Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    }
    app.update(Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    app.update(Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    let screen = render(&app, 80, 24);
    let rows = panel(&screen);
    assert!(rows[0].contains("Blockers 3–"), "{screen}");
    // The approval comes first now, with its lane said again.
    assert!(rows[1].contains("! auth-service"), "{screen}");
    assert!(rows.join("\n").contains("octocat, dana"), "{screen}");
}

fn approval(lane: &str, reviewers: &[&str]) -> Blocker {
    Blocker {
        lane: lane.into(),
        stage: "prod".into(),
        kind: BlockerKind::AwaitingApproval,
        message: "waiting for approval of production".into(),
        facts: Facts::Approval {
            environment: "production".into(),
            reviewers: reviewers.iter().map(|r| r.to_string()).collect(),
        },
    }
}

fn text(lines: &[ratatui::text::Line]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

/// The last row takes a shorter form that still says it all ("+1 more"), rather than staying
/// empty; a blocker that can't be said whole there waits for a scroll.
#[test]
fn the_last_row_takes_a_shorter_form_or_nothing() {
    let list = [
        approval("payments-api", &["octocat"]),
        approval("checkout-web", &["maria-chen", "team storefront-leads"]),
    ];
    let list: Vec<&Blocker> = list.iter().collect();
    let theme = Theme::PLAIN;
    // Room for both whole: the second on two lines, every reviewer named.
    let (lines, shown) = blockers::rows(&list, None, 38, 3, &theme);
    assert_eq!(shown, 2);
    assert_eq!(
        text(&lines),
        [
            " ! payments-api approval: octocat",
            " ! checkout-web approval: maria-chen,",
            "    team storefront-leads",
        ]
    );
    // One row left for the second: its reviewers counted.
    let (lines, shown) = blockers::rows(&list, None, 44, 2, &theme);
    assert_eq!(shown, 2);
    assert_eq!(
        text(&lines)[1],
        " ! checkout-web approval: maria-chen +1 more"
    );
    // Too narrow for even that on one row: not drawn cut.
    let (lines, shown) = blockers::rows(&list, None, 38, 4, &theme);
    let (narrow, narrow_shown) = blockers::rows(&list, None, 38, 2, &theme);
    assert_eq!(shown, 2);
    assert_eq!((narrow_shown, narrow.len()), (1, 1), "{:?}", text(&lines));
}
