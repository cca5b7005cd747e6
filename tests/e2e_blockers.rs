//! End to end: the blockers `trainyard demo` shows at 80×24, in a real terminal (tmux), read
//! as a person over SSH reads them — the failed check by name, whom the approval waits for,
//! the lane and stage a lane needs, none of it cut; and still so when the metrics panel takes
//! half the width.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use common::bin::BIN;
use common::tmux::{self, Tmux};

/// The rows of the blockers panel (title to bottom border), each cut to the panel's columns.
fn panel(screen: &str) -> Vec<String> {
    let rows: Vec<&str> = screen.lines().collect();
    let Some(top) = rows.iter().position(|r| r.contains("Blockers")) else {
        return Vec::new();
    };
    let width = rows[top]
        .chars()
        .skip(1)
        .position(|c| c == '┐' || c == '┓')
        .map_or(0, |p| p + 2);
    rows[top..]
        .iter()
        .map(|r| r.chars().take(width).collect::<String>())
        .take_while(|r| !r.starts_with('└') && !r.starts_with('┗'))
        .collect()
}

/// The panel's words as one text: a blocker wrapped onto a second row reads on.
fn said(screen: &str) -> String {
    let rows = panel(screen);
    rows.iter()
        .skip(1)
        .map(|r| r.trim_matches(|c| c == '│' || c == '┃').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The demo's deciding words: auth-service's failed build check, the reviewers checkout-web's
/// approval waits for (served by the simulator's GitHub API), and what payments-api needs.
fn deciding(text: &str) -> bool {
    text.contains("integration-tests")
        && text.contains("maria-chen, team storefront-leads")
        && text.contains("needs ledger at canary")
}

#[test]
fn the_first_screen_at_80x24_names_the_failed_check_and_the_reviewers() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("blockers", &[("NO_COLOR", "1")]);
    t.run(&format!(
        "{BIN} demo --log-file {}",
        t.path("trainyard.log").display()
    ));
    let screen = t.wait_for("the blockers' deciding words", |s| deciding(&said(s)));
    let rows = panel(&screen);
    for words in ["integration-tests", "maria-chen", "needs ledger at canary"] {
        let row = rows.iter().find(|r| r.contains(words)).unwrap();
        assert!(!row.contains('…'), "{words:?} is cut:\n{screen}");
    }
    // Each blocker says its lane.
    let text = said(&screen);
    for lane in ["auth-service", "checkout-web", "payments-api"] {
        assert!(text.contains(lane), "{lane} missing:\n{screen}");
    }

    // ledger at canary has metrics: the panel takes half the width, the words still decide
    // (wrapped, never cut; beside nine lanes it has room for the first two blockers).
    t.keys(&["Right", "Right"]);
    let screen = t.wait_for("the metrics panel beside the blockers", |s| {
        let text = said(s);
        s.contains("Metrics · ledger @ canary")
            && text.contains("maria-chen, team storefront-leads")
            && text.contains("needs ledger at canary")
    });
    assert!(!said(&screen).contains('…'), "{screen}");

    t.keys(&["q"]);
    t.wait_for("the shell", |s| s.contains("EXIT=0"));
}
