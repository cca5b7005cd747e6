//! End to end: a team on one PostgreSQL store, in real terminals (tmux) — alice and bob each
//! with the train open, on homes of their own. Each screen lists the other; bob's halt from
//! the command line is on alice's open screen at once and refuses her promotion; the store
//! going away puts a banner on her screen (the train stays live) that goes when it is back.
//!
//! Needs tmux and PostgreSQL's server (`.ci/run` installs both).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::bin::{BIN, trainyard};
use common::pg::{PASSWORD, Pg};
use common::tmux::{self, Options, Tmux};

/// `who`'s config in `dir`: the simulator's train, the team's store.
fn config(dir: &Path, sim: &common::sim::SimProcess, pg: &Pg, who: &str) -> PathBuf {
    let path = dir.join(format!("{}.toml", who.split('@').next().unwrap()));
    std::fs::write(
        &path,
        format!(
            "identity = \"{who}\"\n{}\n[store]\nkind = \"postgres\"\nurl = \"{}\"\npassword_cmd = \"echo {PASSWORD}\"\n",
            sim.config,
            pg.url()
        ),
    )
    .unwrap();
    path
}

fn screen_of(name: &str, config: &Path) -> Tmux {
    let t = Tmux::start(
        name,
        Options {
            width: 160,
            height: 40,
            env: vec![("NO_COLOR".into(), "1".into())],
            ..Options::default()
        },
    );
    t.run(&format!(
        "{BIN} --config {} --log-file {}",
        config.display(),
        t.path("trainyard.log").display()
    ));
    t
}

#[test]
fn two_people_share_the_halt_and_see_each_other() {
    if !tmux::available("the team's end-to-end test")
        || !common::pg::available("the team's end-to-end test")
    {
        return;
    }
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    // No GitLab lane: its budget would take the header's room that names the team.
    let sim = common::sim::spawn(dir.path(), &["--gitlab-lanes", "0"]);
    let alice_cfg = config(dir.path(), &sim, &pg, "alice@jump-1");
    let bob_cfg = config(dir.path(), &sim, &pg, "bob@jump-2");

    let alice = screen_of("team-alice", &alice_cfg);
    alice.wait_for("alice's screen on the store", |s| s.contains("team: you"));
    let bob = screen_of("team-bob", &bob_cfg);
    // Each lists the other, and one of them polls the sources for both.
    let polls = |s: &str, other: &str| {
        s.contains(&format!("team: you (polling), {other}"))
            || s.contains(&format!("team: you, {other} (polling)"))
    };
    bob.wait_for("bob's screen lists alice, and who polls", |s| {
        polls(s, "alice@jump-1")
    });
    alice.wait_for("alice's screen lists bob, and who polls", |s| {
        polls(s, "bob@jump-2")
    });

    // Bob halts from a shell of his own; alice's open screen shows it at once (the store
    // tells every listening screen; it is not read on a timer).
    let halted = trainyard(
        dir.path(),
        &bob_cfg,
        &["halt", "--reason", "incident 12", "--yes"],
    );
    assert_eq!(halted.code, 0, "{halted}");
    alice.wait_within(
        "bob's halt on alice's screen",
        Duration::from_secs(3),
        |s| s.contains("TRAIN HALTED by bob@jump-2") && s.contains("incident 12"),
    );
    // Her promotion from the command line is refused, naming him.
    let lane = "payments-api";
    let refused = trainyard(
        dir.path(),
        &alice_cfg,
        &["promote", lane, "--yes", "--json"],
    );
    assert_ne!(refused.code, 0, "{refused}");
    assert!(
        refused.json()["result"] == "blocked" || refused.json()["result"] == "refused",
        "{refused}"
    );
    let said = refused.json();
    assert!(
        said["message"]
            .as_str()
            .unwrap()
            .contains("halted by bob@jump-2"),
        "{refused}"
    );

    // The store goes away: a banner, the train still drawn; back on its own when it returns.
    pg.stop();
    let down = alice.wait_for("the store's banner", |s| {
        s.contains("TEAM STORE UNREACHABLE")
    });
    assert!(down.contains("Lanes"), "{down}");
    pg.restart();
    alice.wait_for("the banner gone once the store answers", |s| {
        !s.contains("TEAM STORE UNREACHABLE") && s.contains("TRAIN HALTED by bob@jump-2")
    });
    // And the chain both wrote is one, and intact.
    let verified = trainyard(dir.path(), &alice_cfg, &["audit", "verify"]);
    assert_eq!(verified.code, 0, "{verified}");
}
