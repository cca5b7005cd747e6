//! End to end, links and copy: the real binary in tmux, its raw output recorded
//! (`Tmux::record`, tmux `pipe-pane -O`). The details of a GitHub cell write OSC 8 links to
//! its run and its commit; `y` writes the OSC 52 copy of its version, which tmux (with
//! `set-clipboard on`) puts in its paste buffer; `[ui] links = false` writes no OSC 8 at all.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use common::bin::BIN;
use common::sim;
use common::tmux::{self, Options, Tmux};
use common::wait::{PATIENCE, until};

use trainyard::tui::osc;

/// The demo's own words for its train being on screen.
const TRAIN: &str = "Lanes 9";

fn have_tmux() -> bool {
    tmux::available("the end-to-end tests of links and copy")
}

/// A 120×40 pane whose tmux takes OSC 52 into its paste buffers, recording what the program
/// writes into `pty.raw`.
fn terminal(name: &str) -> Tmux {
    let t = Tmux::start(
        name,
        Options {
            width: 120,
            height: 40,
            ..Options::default()
        },
    );
    t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    t.record("pty.raw");
    t
}

/// The value of a labelled row of the details popup ("url", "version"): the text after the
/// label, to the popup's border.
fn field(screen: &str, label: &str) -> String {
    let row = screen
        .lines()
        .find_map(|l| l.split_once(&format!("┃{label:<10}")).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no {label} row:\n{screen}"));
    row.split('┃').next().unwrap().trim().to_string()
}

/// Open the details of checkout-web's build (a GitHub lane; the third row) once its URL shows.
fn details_of_checkout_web(t: &Tmux) -> String {
    t.keys(&["j", "j", "Enter"]);
    t.wait_for("the details of checkout-web @ build with its URL", |s| {
        s.contains("checkout-web @ build") && s.contains("┃url       http")
    })
}

/// The run of a GitHub cell and its commit are links in the details; `y` copies its version
/// through OSC 52, and tmux's paste buffer then holds it.
#[test]
fn details_link_a_github_run_and_its_commit_and_y_copies_the_version() {
    if !have_tmux() {
        return;
    }
    let t = terminal("links");
    t.run(&format!(
        "{BIN} demo --log-file {}",
        t.path("trainyard.log").display()
    ));
    t.wait_for("the demo to draw the train", |s| {
        s.contains(TRAIN) && s.contains("data ")
    });
    let s = details_of_checkout_web(&t);
    let url = field(&s, "url");
    let version = field(&s, "version");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/acme/checkout-web/actions/runs/"),
        "{url}"
    );
    assert!(
        version.len() == 40 && version.bytes().all(|b| b.is_ascii_hexdigit()),
        "{version}"
    );
    let base = url.split("/acme/").next().unwrap();
    let commit = format!("{base}/acme/checkout-web/commit/{version}");
    // The sequences as trainyard writes them, built here by hand: ESC ] 8 ; ; URI ESC \.
    let open = |u: &str| format!("\u{1b}]8;;{u}\u{1b}\\");
    t.wait_for_recorded("pty.raw", "OSC 8 links to the run and the commit", |raw| {
        raw.contains(&open(&url)) && raw.contains(&open(&commit))
    });

    t.keys(&["y"]);
    let s = t.wait_for("the flash of the copy", |s| {
        s.contains(&format!(
            "copied {version} (version of checkout-web @ build)"
        ))
    });
    assert!(
        s.contains("checkout-web @ build"),
        "the details closed:\n{s}"
    );
    let b64 = base64_of(&version);
    let raw = t.wait_for_recorded("pty.raw", "the OSC 52 copy of the version", |raw| {
        raw.contains(&format!("\u{1b}]52;c;{b64}\u{1b}\\"))
    });
    assert_eq!(
        raw.matches("\u{1b}]52;").count(),
        1,
        "one copy, one sequence"
    );
    assert_eq!(osc::copy(&version), format!("\u{1b}]52;c;{b64}\u{1b}\\"));
    // tmux took it: its paste buffer holds the version.
    until("tmux's paste buffer to hold the version", PATIENCE, || {
        let buffer = t.tmux(&["show-buffer"]);
        if buffer == version {
            Ok(())
        } else {
            Err(format!("show-buffer: {buffer:?}"))
        }
    });

    t.keys(&["Escape", "q"]);
    t.assert_restored("0", TRAIN);
}

/// `[ui] links = false`: the same details and activity, and not one OSC 8 written; copying
/// still works.
#[test]
fn links_off_writes_no_hyperlink() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "4"]);
    let config = sim.write_config(dir.path(), "[ui]\nlinks = false");
    let t = terminal("nolinks");
    t.run(&format!(
        "{BIN} --config {} --log-file {}",
        config.display(),
        t.path("trainyard.log").display()
    ));
    t.wait_for("the train", |s| s.contains(TRAIN) && s.contains("data "));
    let s = details_of_checkout_web(&t);
    let version = field(&s, "version");
    t.keys(&["y"]);
    t.wait_for("the flash of the copy", |s| s.contains("copied "));
    t.wait_for_recorded("pty.raw", "the OSC 52 copy", |raw| {
        raw.contains(&format!("\u{1b}]52;c;{}", base64_of(&version)))
    });
    // Some changes in the activity meanwhile (they would be links).
    t.keys(&["Escape"]);
    t.wait_for("a change in the activity", |s| {
        s.contains(" started") || s.contains(" succeeded")
    });
    t.keys(&["q"]);
    t.assert_restored("0", TRAIN);
    let raw = until("the recording up to the exit", PATIENCE, || {
        let raw = t.recorded("pty.raw");
        if raw.contains("EXIT=") {
            Ok(raw)
        } else {
            Err(format!("{} bytes", raw.len()))
        }
    });
    assert!(
        !raw.contains("\u{1b}]8;"),
        "an OSC 8 was written with links = false"
    );
}

/// Standard base64 of `text`, as OSC 52 carries it.
fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
