//! Protected stages outside the screen: `status` marks them, `status --json` lists them, and
//! the command line says so before it asks for the lane's name. `[train] protected` decides
//! which; without it, the last stage.

mod common;

use common::bin::{Trainyard, trainyard};
use common::sim;
use serde_json::{Value, json};

/// The simulator's config with `protected` put into its `[train]` table (`None`: as it is).
fn config(
    sim: &sim::SimProcess,
    dir: &std::path::Path,
    protected: Option<&str>,
) -> std::path::PathBuf {
    let text = match protected {
        None => sim.config.clone(),
        Some(list) => {
            sim.config
                .replacen("[train]\n", &format!("[train]\nprotected = {list}\n"), 1)
        }
    };
    assert!(
        protected.is_none() || text != sim.config,
        "no [train] in the config"
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The table's heading row: LANE and the stages.
fn heading(table: &str) -> &str {
    table
        .lines()
        .find(|l| l.starts_with("LANE"))
        .unwrap_or_else(|| panic!("{table}"))
}

#[test]
fn status_marks_the_last_stage_unless_the_config_names_others() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);

    let path = config(&sim, dir.path(), None);
    let v: Value = trainyard(dir.path(), &path, &["status", "--json"]).json();
    assert_eq!(v["train"]["protected"], json!(["prod"]));
    let r = trainyard(dir.path(), &path, &["status"]);
    let head = heading(&r.stdout);
    assert!(
        head.contains("prod ◆") && !head.contains("canary ◆"),
        "{head}"
    );
    // A blocker into prod names it with its mark.
    for line in r.stdout.lines().filter(|l| l.contains(" → prod")) {
        assert!(line.contains(" → prod ◆: "), "{line}");
    }

    let path = config(&sim, dir.path(), Some("[\"staging\", \"canary\"]"));
    let v: Value = trainyard(dir.path(), &path, &["status", "--json"]).json();
    assert_eq!(v["train"]["protected"], json!(["staging", "canary"]));
    let r = trainyard(dir.path(), &path, &["status"]);
    let head = heading(&r.stdout);
    assert!(
        head.contains("staging ◆") && head.contains("canary ◆") && !head.contains("prod ◆"),
        "{head}"
    );

    let path = config(&sim, dir.path(), Some("[]"));
    let v: Value = trainyard(dir.path(), &path, &["status", "--json"]).json();
    assert_eq!(v["train"]["protected"], json!([]));
    assert!(
        !trainyard(dir.path(), &path, &["status"])
            .stdout
            .contains('◆')
    );
}

/// On the command line the plan says first that the stage is protected, and the confirmation
/// asks for the lane's name (no terminal here: it says what it would ask, and refuses).
#[test]
fn the_command_line_says_a_stage_is_protected_before_it_asks() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    let path = config(&sim, dir.path(), None);
    // A rollback at prod always has a plan: the lane's earlier good versions.
    let r = Trainyard::new(dir.path())
        .config(&path)
        .log_file(&dir.path().join("cli.log"))
        .args(["rollback", "ledger", "--stage", "prod"])
        .run();
    let first = r.stderr.lines().next().unwrap_or_default();
    assert_eq!(first, "◆ prod is a protected stage", "{r}");

    let r = Trainyard::new(dir.path())
        .config(&path)
        .log_file(&dir.path().join("cli.log"))
        .args(["rollback", "ledger", "--stage", "canary"])
        .run();
    assert!(!r.stderr.contains("protected"), "{r}");
}
