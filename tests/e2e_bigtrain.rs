//! End to end: finding your way in a big train, in a real terminal (tmux) at 80×24.
//! `trainyard demo --lanes 40`: the header counts the lanes blocked and moving; `t` groups the
//! lanes by team; `:` jumps to a lane by name; Space folds its team under a heading with its
//! counts; `b` shows only the busy lanes; a jump to a lane the toggle hides shows it again.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use common::bin::BIN;
use common::tmux::{self, Tmux};

/// The lanes panel's title line.
fn title(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains(" Lanes "))
        .unwrap_or_default()
}

fn footer(screen: &str) -> &str {
    screen.trim_end().lines().last().unwrap_or("")
}

/// How many lanes the title says are shown: "Lanes 12/40 · …" gives 12.
fn shown(screen: &str) -> Option<usize> {
    let t = title(screen);
    let after = &t[t.find("Lanes ")? + 6..];
    let (n, _) = after.split_once('/')?;
    n.trim().parse().ok()
}

#[test]
fn group_fold_busy_only_and_jump_in_a_train_of_forty() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("bigtrain", &[]);
    t.run(&format!(
        "{BIN} demo --lanes 40 --log-file {}",
        t.path("trainyard.log").display()
    ));
    // The header counts the train at 80 columns: blocked and moving, whatever the form.
    let s = t.wait_for("the train of 40 with its counts", |s| {
        s.contains("Lanes 40")
            && s.contains("data ")
            && s.lines().next().unwrap_or("").contains(" moving")
    });
    let head = s.lines().next().unwrap();
    assert!(head.contains(" blocked"), "{s}");

    // Grouped by team: the headings with their counts.
    t.keys(&["t"]);
    let s = t.wait_for("the lanes grouped by team", |s| {
        title(s).contains("by team") && s.contains("- core-banking  1 lane")
    });
    assert!(
        s.contains("▸- core-banking") || s.contains("▸ledger"),
        "{s}"
    );

    // Jump to a generated lane by name: svc-09 is the platform team's second lane.
    t.keys(&[":", "s", "v", "c", "-", "0", "9"]);
    t.wait_for("the prompt offering svc-09", |s| {
        footer(s).contains("jump to lane: svc-09") && footer(s).contains("→ svc-09")
    });
    t.keys(&["Enter"]);
    t.wait_for("svc-09 selected", |s| s.contains("▸svc-09"));

    // Space folds its team: the heading, selected, says it is folded and counts its lanes.
    t.keys(&["Space"]);
    let s = t.wait_for("the platform team folded", |s| {
        s.lines()
            .any(|l| l.contains("▸+ platform  ") && l.contains(" lanes"))
    });
    assert!(!s.contains("svc-09"), "{s}");
    assert!(footer(&s).contains("fold"), "{s}");

    // Only the busy lanes: fewer than forty, and the title says why.
    t.keys(&["b"]);
    let s = t.wait_for("only the busy lanes", |s| title(s).contains("busy only"));
    let n = shown(&s).expect("a count in the title");
    assert!(n < 40, "{s}");

    // A jump to svc-09 unfolds its team and shows it even if the toggle hid it.
    t.keys(&[":", "s", "v", "c", "-", "0", "9", "Enter"]);
    let s = t.wait_for("svc-09 shown and selected", |s| s.contains("▸svc-09"));
    assert!(s.contains("- platform  "), "{s}");

    // Esc on the prompt goes back to where the selection was.
    t.keys(&[":", "l", "e", "d", "g"]);
    t.wait_for("ledger offered", |s| footer(s).contains("→ ledger"));
    t.keys(&["Escape"]);
    t.wait_for("back on svc-09", |s| {
        s.contains("▸svc-09") && !footer(s).contains("jump to lane")
    });
    t.keys(&["q"]);
}
