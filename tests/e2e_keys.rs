//! End to end: `[keys]` in a real terminal (tmux). With `promote = "P"` the footer and the
//! help say `P promote`, `P` opens the promote dialog and `p` does nothing; a config whose
//! `[keys]` is wrong stops with the place of each mistake.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use common::bin::Trainyard;
use common::sim;
use common::tmux::{self, Tmux};

/// The train on screen.
const TRAIN: &str = "Lanes 9";

fn footer(screen: &str) -> &str {
    screen.trim_end().lines().last().unwrap_or("")
}

#[test]
fn promote_on_shift_p_opens_the_dialog_and_shows_as_mapped() {
    if !tmux::available("the end-to-end tests") {
        return;
    }
    let t = Tmux::shell("keys", &[]);
    let sim = sim::spawn(t.dir(), &["--speed", "4"]);
    let (config, _audit) = sim.write_audited_config(t.dir(), "\n[keys]\npromote = \"P\"\n");
    t.run_tui(&config);
    t.wait_for("the train", |s| s.contains(TRAIN) && s.contains("data "));

    // search-indexer's build: once it has succeeded, promoting it is on offer, under P.
    t.keys(&["/", "s", "e", "a", "r", "c", "h", "Enter"]);
    let s = t.wait_for("promote on offer, as P", |s| {
        footer(s).contains("P promote")
    });
    assert!(!footer(&s).contains("p promote"), "{s}");

    // p is no key now: the help opened after it shows, and no dialog came before it.
    t.keys(&["p", "?"]);
    let s = t.wait_for("the help", |s| s.contains("this help"));
    assert!(!s.contains("Confirm promote"), "p opened the dialog:\n{s}");
    assert!(s.contains("P      promote to the next stage"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("the help to close", |s| !s.contains("this help"));

    // P opens the dialog; Esc cancels it, and nothing is sent.
    t.keys(&["P"]);
    let s = t.wait_for("the promote dialog", |s| s.contains("Confirm promote"));
    assert!(
        s.contains("▶[ Cancel ]"),
        "Cancel must be the default:\n{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the cancel", |s| s.contains("cancelled"));
    let sent: Vec<_> = sim
        .actions()
        .into_iter()
        .filter(|a| a["action"] == "promote")
        .collect();
    assert!(sent.is_empty(), "a cancelled promote was sent: {sent:?}");

    t.keys(&["q"]);
    t.assert_restored("0", TRAIN);
}

#[test]
fn a_wrong_keys_table_is_refused_with_its_places() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\n\
         [keys]\npromote = \"s\"\npress = \"y\"\n",
    )
    .unwrap();
    let r = Trainyard::new(dir.path())
        .config(&config)
        .args(["config", "check"])
        .run();
    assert_eq!(r.code, 2, "{r}");
    let at = config.display().to_string();
    assert!(
        r.stdout.contains(&format!(
            "{at}:14:11: \"s\" is both promote's key and pause's default key on the main view"
        )) && r.stdout.contains("remap pause as well, e.g. pause = \"S\""),
        "{r}"
    );
    assert!(
        r.stdout.contains(&format!(
            "{at}:15:9: \"y\" is not a key of the confirmation dialog"
        )),
        "{r}"
    );
}
