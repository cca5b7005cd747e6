//! End to end, in tmux: the themes as a terminal receives them, and the protected stage's
//! mark when there is no colour at all.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use common::bin::BIN;
use common::sim;
use common::tmux::{self, Tmux};

/// The train on screen.
const TRAIN: &str = "Lanes 9";

fn have_tmux() -> bool {
    tmux::available("the theme end-to-end tests")
}

/// The lanes' heading row of a screen.
fn heading(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains(" LANE "))
        .unwrap_or_else(|| panic!("no lanes heading:\n{screen}"))
}

/// The SGR sequences (`ESC [ … m`) in a styled capture.
fn sgr(styled: &str) -> Vec<&str> {
    styled
        .split('\x1b')
        .filter_map(|s| s.strip_prefix('['))
        .filter_map(|s| s.split_once('m').map(|(p, _)| p))
        .collect()
}

/// The colours an SGR's parameters set: `"32"` for one of the 16 (30-37, 90-97, and the
/// backgrounds 40-47, 100-107), `"38;5;28"` for the 256-colour palette, `"38;2;R;G;B"` for
/// 24-bit (48 for backgrounds).
fn colours(params: &str) -> Vec<String> {
    let p: Vec<&str> = params.split(';').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i].parse::<u16>().unwrap_or(0) {
            38 | 48 => {
                let take = if p.get(i + 1) == Some(&"5") { 3 } else { 5 };
                out.push(p[i..(i + take).min(p.len())].join(";"));
                i += take;
                continue;
            }
            n @ (30..=37 | 40..=47 | 90..=97 | 100..=107) => out.push(n.to_string()),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Every colour set in a styled capture.
fn all_colours(styled: &str) -> Vec<String> {
    sgr(styled).into_iter().flat_map(colours).collect()
}

/// NO_COLOR: not one colour reaches the terminal, and prod still stands out by its mark, in
/// the header's stages and the lanes' heading.
#[test]
fn no_color_demo_marks_the_protected_stage() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("theme-nocolor", &[("NO_COLOR", "1")]);
    // NO_COLOR wins over --theme too.
    t.run(&format!(
        "{BIN} demo --theme light --log-file {log}",
        log = t.path("trainyard.log").display()
    ));
    let s = t.wait_for("the demo's train", |s| {
        s.contains(TRAIN) && s.contains("data ")
    });
    let head = heading(&s);
    assert!(head.contains("PROD ◆"), "{head}");
    for stage in ["BUILD ◆", "STAGING ◆", "CANARY ◆"] {
        assert!(!head.contains(stage), "{head}");
    }
    assert!(s.contains("canary›prod ◆"), "{s}");
    let styled = t.styled_screen();
    let coloured = all_colours(&styled);
    assert!(
        coloured.is_empty(),
        "colour with NO_COLOR set: {coloured:?}"
    );
    t.keys(&["q"]);
    t.assert_restored("0", TRAIN);
}

/// `[ui] theme = "light"`: the 256-colour palette's dark shades reach the terminal (ok green
/// 28, protected purple 90), and none of the dark theme's 16 colours for the same roles.
#[test]
fn a_light_theme_from_the_config_draws_its_palette() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("theme-light", &[]);
    let sim = sim::spawn(t.dir(), &[]);
    let config = sim.write_config(t.dir(), "[ui]\ntheme = \"light\"\n");
    t.run_tui(&config);
    t.wait_for("the train", |s| s.contains(TRAIN) && s.contains("data "));
    let styled = t.wait_for_styled("the light palette", |s| {
        let c = all_colours(s);
        c.iter().any(|x| x == "38;5;28") && c.iter().any(|x| x == "38;5;90")
    });
    // The dark theme's green (32), yellow (33) and light magenta (95) are not drawn.
    let found = all_colours(&styled);
    for dark in ["32", "33", "95"] {
        assert!(
            !found.iter().any(|c| c == dark),
            "SGR {dark} drawn in the light theme: {found:?}"
        );
    }
    t.keys(&["q"]);
    t.assert_restored("0", TRAIN);
}

trait Styled {
    fn wait_for_styled(&self, what: &str, f: impl Fn(&str) -> bool) -> String;
}

impl Styled for Tmux {
    /// Wait until the screen with its escape sequences satisfies `f`.
    fn wait_for_styled(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        common::wait::until(what, common::wait::PATIENCE, || {
            let s = self.styled_screen();
            if f(&s) { Ok(s) } else { Err(s) }
        })
    }
}
