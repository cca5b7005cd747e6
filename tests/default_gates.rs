//! A stage with no `[policy.STAGE]` gets the default gates the documentation names
//! (config.example.toml, docs/design.md): `checks_green`, `dependencies`, `approval`, `fresh`.
//! A train is read from a server on loopback on which every gate there is would block `api`
//! into `staging` — a failed check, a dependency not there, an approval waiting, the release
//! window closed, a freeze on, no soak, metrics over their threshold — and the blockers that
//! result are those of the default gates, and only those.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use trainyard::config::{self, Config};
use trainyard::model::policy::{self, BlockerKind};
use trainyard::model::{Gate, Holds, World};
use trainyard::poll;
use trainyard::sources;

use common::bin::Trainyard;
use common::sim::{Body, fixed_server, poll_into};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The gates a document lists as the default, in its own words: the text between `after`
/// and `until`, read as a list of gate names.
fn documented(file: &str, after: &str, until: char) -> Vec<Gate> {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let (_, rest) = text
        .split_once(after)
        .unwrap_or_else(|| panic!("{file} no longer says {after:?}"));
    let list = &rest[..rest.find(until).unwrap()];
    list.split(',')
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .map(|w| Gate::parse(w).unwrap_or_else(|e| panic!("{file}: {w:?}: {e}")))
        .collect()
}

/// `api` at build succeeded with a failed check; `api` waits for approval at staging; `db`,
/// which `api` depends on, has nothing at staging; `api`'s error rate at build is far over its
/// threshold, with no stable side; everything was updated just now.
fn train_json() -> String {
    let now = chrono::Utc::now().to_rfc3339();
    serde_json::json!({
        "protocol": 1,
        "cells": [
            {"lane": "api", "stage": "build", "state": "succeeded", "version": "a2a2a2a",
             "updated_at": now,
             "checks": [{"name": "unit", "state": "passed"}, {"name": "lint", "state": "failed"}]},
            {"lane": "api", "stage": "staging", "state": "awaiting_approval", "version": "a1a1a1a",
             "updated_at": now,
             "approval": {"environment": "staging", "reviewers": ["octocat"]}},
            {"lane": "db", "stage": "build", "state": "succeeded", "version": "d9d9d9d",
             "updated_at": now}
        ],
        "metrics": [
            {"lane": "api", "stage": "build", "name": "error_rate", "unit": "ratio",
             "value": 0.5, "threshold": {"max": 0.01}}
        ]
    })
    .to_string()
}

/// The train of `api` and `db` from the server at `url`, its window closed long ago and a
/// freeze on until long after; `policy` appended.
fn config_text(url: &str, policy: &str) -> String {
    format!(
        r#"
[train]
name = "t"
stages = ["build", "staging", "prod"]
window = {{ opens = "2020-01-06T10:00:00Z", closes = "2020-01-06T12:00:00Z" }}
freezes = [{{ starts = "2020-01-01T00:00:00Z", ends = "2099-01-01T00:00:00Z", reason = "forever" }}]

[sources.ci]
kind = "http"
url = "{url}"
timeout = "1s"

[[lanes]]
name = "api"
source = "ci"
depends_on = ["db"]

[[lanes]]
name = "db"
source = "ci"
{policy}
"#
    )
}

fn config(url: &str, policy: &str) -> Config {
    config::parse(&config_text(url, policy), "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The kinds of what blocks `api` into `staging` under `config`'s policy.
fn kinds(config: &Config, world: &World) -> BTreeSet<BlockerKind> {
    let lane = config.train.lane("api").unwrap();
    policy::verdict(
        &config.train,
        world,
        &Holds::default(),
        poll::now(),
        lane,
        1,
    )
    .blockers
    .iter()
    .map(|b| b.kind)
    .collect()
}

#[test]
fn the_default_gates_are_the_documented_ones() {
    let want = [
        Gate::ChecksGreen,
        Gate::Dependencies,
        Gate::Approval,
        Gate::Fresh,
    ];
    assert_eq!(Gate::DEFAULTS, want);
    assert_eq!(
        documented(
            "config.example.toml",
            "A stage without a [policy.*] table uses\n#",
            ';'
        ),
        want
    );
    assert_eq!(
        documented(
            "docs/design.md",
            "a stage without `[policy.STAGE]` requires",
            '.'
        ),
        want
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_without_policy_is_blocked_by_the_default_gates_and_no_other() {
    use BlockerKind::*;
    let body: Body = Arc::new(Mutex::new((200, train_json())));
    let url = fixed_server(Arc::clone(&body)).await;
    let defaults = config(&url, "");
    assert_eq!(defaults.train.gates("staging"), Gate::DEFAULTS);
    let others = config(
        &url,
        "[policy.staging]\nrequire = [\"window\", \"freeze\", \"soak:1h\", \"slo\", \"canary\"]\n",
    );
    let none = config(&url, "[policy.staging]\nrequire = []\n");

    let sources = sources::build(&defaults);
    let mut world = defaults.empty_world();
    poll_into(&mut world, &sources).await;
    assert!(world.source("ci").unwrap().ok);

    // The default gates: the failed check, the dependency, the approval; not the window, the
    // freeze, the soak or the metrics, though each of them would block.
    assert_eq!(
        kinds(&defaults, &world),
        BTreeSet::from([CheckFailed, AwaitingApproval, Dependency])
    );
    let lane = defaults.train.lane("api").unwrap();
    let v = policy::verdict(
        &defaults.train,
        &world,
        &Holds::default(),
        poll::now(),
        lane,
        1,
    );
    let said: Vec<&str> = v.blockers.iter().map(|b| b.message.as_str()).collect();
    for words in [
        "checks failed on a2a2a2a at build (lint failed)",
        "needs db at staging first",
        "waiting for approval of staging (reviewers: octocat)",
    ] {
        assert!(
            said.iter().any(|m| m.contains(words)),
            "{words:?}: {said:#?}"
        );
    }
    // Those the defaults leave out do block where they are asked for; and nothing blocks
    // where no gate is asked for.
    assert_eq!(
        kinds(&others, &world),
        BTreeSet::from([WindowClosed, Freeze, Soak, Slo])
    );
    assert_eq!(kinds(&none, &world), BTreeSet::new());

    // `fresh`: the source fails, and its data (kept) is stale with the source's error.
    *body.lock().unwrap() = (503, r#"{"error":{"code":"busy","message":"down"}}"#.into());
    poll_into(&mut world, &sources).await;
    assert!(!world.source("ci").unwrap().ok);
    assert_eq!(
        kinds(&defaults, &world),
        BTreeSet::from([
            CheckFailed,
            AwaitingApproval,
            Dependency,
            Stale,
            SourceError
        ])
    );
    assert_eq!(kinds(&none, &world), BTreeSet::new());
}

/// The same through the command line: `promote api --to staging` on a config without a
/// policy is blocked by the default gates' reasons, and by none of the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_without_policy_says_the_default_gates_reasons_and_no_other() {
    let body: Body = Arc::new(Mutex::new((200, train_json())));
    let url = fixed_server(body).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_text(&url, "")).unwrap();
    let run = tokio::task::spawn_blocking(move || {
        Trainyard::new(dir.path())
            .config(&path)
            .args(["promote", "api", "--to", "staging", "--dry-run"])
            .run()
    })
    .await
    .unwrap();
    assert_eq!(run.code, 3, "{run}");
    for words in [
        "BLOCKED",
        "checks failed on a2a2a2a at build (lint failed)",
        "needs db at staging first",
        "waiting for approval of staging (reviewers: octocat)",
    ] {
        assert!(run.stderr.contains(words), "{words:?}: {run}");
    }
    for not in ["release window", "freeze (", "soak", "error_rate"] {
        assert!(!run.stderr.contains(not), "{not:?}: {run}");
    }
}
