//! A GitHub lane without `branch` uses its repository's default branch, read from
//! `GET /repos/{owner}/{repo}`: the simulator's pricing-engine repository is on `master`.

mod common;

use common::bin::trainyard;
use common::{sim, status};

#[test]
fn a_lane_without_branch_reads_and_dispatches_on_the_default_branch() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    assert!(
        !sim.config.contains("branch"),
        "the demo's GitHub lanes name no branch"
    );
    let config = sim.write_config(dir.path(), "");
    // CI runs on master are found: the build cell has a version.
    let r = trainyard(dir.path(), &config, &["status", "--json"]);
    assert_eq!(r.code, 0, "{r}");
    let v = r.json();
    let build = status::cell(&v, "pricing-engine", "build");
    assert!(build["version"].is_string(), "{build}");
    assert_ne!(build["state"], "unknown", "{build}");
    // A dispatch names master as its ref.
    let r = trainyard(
        dir.path(),
        &config,
        &[
            "rollback",
            "pricing-engine",
            "--stage",
            "prod",
            "--dry-run",
            "--json",
        ],
    );
    let out = r.json();
    let request = out["request"].as_str().unwrap_or_default();
    assert!(request.contains("\"ref\":\"master\""), "{out}");
}
