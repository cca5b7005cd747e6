//! The `github` source's request economy against the simulator's GitHub (which keeps
//! GitHub's secondary limit of 900 points a minute): settled cells are read at
//! `settled_interval`, finished answers never again, waiting runs once per repository, and
//! the token's `requests_per_minute` is never passed — reads are put off and intervals
//! stretched instead. docs/sources/github.md has the arithmetic.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use trainyard::model::{CellKey, World};
use trainyard::sim::SimOptions;
use trainyard::sources::Source;

use common::sim::{Demo, demo_edited, poll_into};

/// `lanes` lanes, all read through the simulator's GitHub, slow enough that nothing changes
/// between two polls; the gh source polls every second, its other keys as `extra` says.
async fn demo(lanes: usize, extra: &str) -> Demo {
    let opts = SimOptions {
        lanes,
        github_lanes: Some(lanes),
        speed: 0.01,
        ..SimOptions::default()
    };
    let extra = extra.to_string();
    demo_edited(opts, move |text| {
        let edited = text.replacen(
            "token_cmd = \"echo trainyard-demo\"\ninterval = \"2s\"",
            &format!("token_cmd = \"echo trainyard-demo\"\ninterval = \"1s\"\n{extra}"),
            1,
        );
        assert_ne!(
            edited, text,
            "the demo's gh source is where the test expects it"
        );
        edited
    })
    .await
}

fn gh(d: &Demo) -> Vec<Arc<dyn Source>> {
    d.sources
        .iter()
        .filter(|s| s.name() == "gh")
        .cloned()
        .collect()
}

async fn knob(d: &Demo, method: reqwest::Method, what: &str, body: Option<Value>) -> Value {
    let url = format!("{}/_sim/{what}", d.handle.github_api_url());
    let mut req = common::sim::client().request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    if resp.status() == 204 {
        return Value::Null;
    }
    resp.json().await.unwrap()
}

/// The requests the simulator's GitHub counted since the last call, by `METHOD /path`, and
/// every status it answered them with; the counts start again.
async fn counted(d: &Demo) -> (BTreeMap<String, u64>, BTreeSet<String>) {
    let r = knob(d, reqwest::Method::GET, "requests", None).await;
    knob(d, reqwest::Method::DELETE, "requests", None).await;
    let paths = r["paths"].as_object().unwrap();
    let requests = paths
        .iter()
        .map(|(k, v)| (k.clone(), v["requests"].as_u64().unwrap()))
        .collect();
    let statuses = paths
        .values()
        .flat_map(|v| v["statuses"].as_object().unwrap().keys().cloned())
        .collect();
    (requests, statuses)
}

/// [`counted`]'s requests.
async fn requests(d: &Demo) -> BTreeMap<String, u64> {
    counted(d).await.0
}

/// Settled and moving cells of the gh source after a poll, with their repositories.
fn cells(d: &Demo, world: &World) -> Vec<(CellKey, String, bool, bool)> {
    d.config
        .targets_of("gh")
        .filter_map(|(key, t)| {
            let cell = world.cell(&key.lane, &key.stage)?;
            let moving = trainyard::sources::github::pace::moving(cell);
            Some((
                key.clone(),
                t.repo.clone().unwrap(),
                t.environment.is_some(),
                moving,
            ))
        })
        .collect()
}

#[tokio::test]
async fn settled_cells_wait_and_finished_answers_are_never_asked_again() {
    let d = demo(10, "").await;
    let sources = gh(&d);
    let mut world = d.config.empty_world();
    poll_into(&mut world, &sources).await;
    let first = requests(&d).await;
    let cells = cells(&d, &world);
    assert_eq!(cells.len(), 40, "every cell of ten lanes read: {first:#?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    poll_into(&mut world, &sources).await;
    let second = requests(&d).await;
    let asked = |repo: &str, what: &str| {
        second
            .keys()
            .any(|k| k.contains(&format!("/repos/{repo}/")) && k.contains(what))
    };
    let total: u64 = second.values().sum();
    let before: u64 = first.values().sum();
    assert!(total < before / 2, "{total} of {before}: {second:#?}");
    for (key, repo, env, moving) in &cells {
        let what = if *env { "/deployments" } else { "/runs" };
        if *moving {
            assert!(asked(repo, what), "{key} moves: {second:#?}");
        }
    }
    // A repository whose cells are all settled is not asked anything: not its runs, not its
    // deployments, not their statuses, not its check runs, not its waiting runs.
    let repos: BTreeSet<&str> = cells.iter().map(|(_, r, _, _)| r.as_str()).collect();
    let mut quiet = 0;
    for repo in &repos {
        if cells.iter().any(|(_, r, _, m)| r == repo && *m) {
            continue;
        }
        quiet += 1;
        assert!(
            !second
                .keys()
                .any(|k| k.contains(&format!("/repos/{repo}/"))),
            "{repo} is settled: {second:#?}"
        );
    }
    assert!(quiet > 0, "some lane is settled: {cells:#?}");
    // No finished run's checks are read again: check runs only for CI cells in motion.
    let moving_ci: BTreeSet<&str> = cells
        .iter()
        .filter(|(_, _, env, m)| !env && *m)
        .map(|(_, r, _, _)| r.as_str())
        .collect();
    for k in second.keys().filter(|k| k.contains("/check-runs")) {
        assert!(
            moving_ci
                .iter()
                .any(|r| k.contains(&format!("/repos/{r}/"))),
            "{k}: {moving_ci:?}"
        );
    }
    // Waiting runs: one request per repository, at most.
    for (k, n) in &second {
        if k.ends_with("/actions/runs") {
            assert_eq!(*n, 1, "{k}");
        }
    }
    // The settled cells' last answers stand, fresh.
    for (key, _, _, moving) in &cells {
        let cell = world.cell(&key.lane, &key.stage).unwrap();
        assert!(!world.is_stale(cell, trainyard::poll::now()), "{key}");
        assert!(cell.error.is_none() || *moving, "{key}: {:?}", cell.error);
    }
    d.handle.shutdown().await;
}

#[tokio::test]
async fn the_tokens_requests_a_minute_are_never_passed() {
    let d = demo(10, "requests_per_minute = 30").await;
    let sources = gh(&d);
    let mut world = d.config.empty_world();
    poll_into(&mut world, &sources).await;
    // Every answer's status, over the three polls.
    let mut answered = BTreeSet::new();
    let (counts, st) = counted(&d).await;
    answered.extend(st);
    let first: u64 = counts.values().sum();
    // Ten lanes want more than thirty: the reads that fit whole are made, up to the budget.
    assert!((20..=30).contains(&first), "{first}");
    let health = world.source("gh").unwrap();
    assert!(health.ok, "{:?}", health.error);
    let rate = health.request_rate.unwrap();
    assert_eq!((rate.used as u64, rate.per_minute), (first, 30));
    // What was read is shown; a cell put off before its first read says why.
    let gh_cells: Vec<_> = world.cells().filter(|(_, c)| c.source == "gh").collect();
    let read = gh_cells.iter().filter(|(_, c)| c.error.is_none()).count();
    assert!(read > 0 && read < 40, "{read}");
    for (k, c) in &gh_cells {
        if let Some(e) = &c.error {
            assert!(
                e.contains("30 requests a minute (requests_per_minute)"),
                "{k}: {e}"
            );
            assert!(c.version.is_none(), "{k}");
        }
    }
    // The interval is stretched for every source of the token, and what is left of the
    // minute is all the next poll may send.
    assert!(sources[0].interval() > Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(600)).await;
    poll_into(&mut world, &sources).await;
    let (counts, st) = counted(&d).await;
    answered.extend(st);
    let second = counts.values().sum::<u64>();
    assert!(first + second <= 30, "{first} + {second}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    poll_into(&mut world, &sources).await;
    let (counts, st) = counted(&d).await;
    answered.extend(st);
    let third = counts.values().sum::<u64>();
    assert!(first + second + third <= 30, "{first} + {second} + {third}");
    assert!(world.source("gh").unwrap().ok);
    // GitHub was never asked past its limits.
    assert!(answered.contains("200"), "{answered:?}");
    assert!(
        !answered.contains("403") && !answered.contains("429"),
        "{answered:?}"
    );
    // `status` says both budgets.
    let text = trainyard::status::to_table(
        &d.config,
        &trainyard::engine::judge(&d.config, world.clone(), trainyard::poll::now()),
    );
    assert!(
        text.contains(&format!(
            "{}/30 requests in the last minute",
            first + second + third
        )) && text.contains("left this hour")
            && text.contains("(stretched)"),
        "{text}"
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn a_secondary_limit_is_honoured_and_said() {
    let d = demo(3, "settled_interval = \"1s\"").await;
    let sources = gh(&d);
    let mut world = d.config.empty_world();
    poll_into(&mut world, &sources).await;
    requests(&d).await;
    // GitHub's secondary limit, lowered so that the next poll passes it.
    let state = knob(
        &d,
        reqwest::Method::POST,
        "rate_limit",
        Some(json!({"points_per_minute": 1})),
    )
    .await;
    assert_eq!(state["points_per_minute"], 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    poll_into(&mut world, &sources).await;
    let health = world.source("gh").unwrap();
    let err = health.error.clone().unwrap_or_default();
    let cell_errors: Vec<String> = world.cells().filter_map(|(_, c)| c.error.clone()).collect();
    assert!(
        cell_errors
            .iter()
            .chain([&err])
            .any(|e| e.contains("secondary rate limit")),
        "{err} {cell_errors:#?}"
    );
    // Held: nothing is sent until the retry-after has passed.
    let sent = requests(&d).await.values().sum::<u64>();
    assert!(sent >= 1, "{sent}");
    assert!(sources[0].held_for().is_some());
    poll_into(&mut world, &sources).await;
    assert_eq!(requests(&d).await.values().sum::<u64>(), 0);
    let err = world.source("gh").unwrap().error.clone().unwrap();
    assert!(
        err.contains("a secondary rate limit: GitHub answered 403 with retry-after"),
        "{err}"
    );
    // The last good data stays.
    assert!(
        world
            .cells()
            .any(|(_, c)| c.source == "gh" && c.version.is_some())
    );
    d.handle.shutdown().await;
}
