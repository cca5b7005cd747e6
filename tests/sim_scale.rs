//! The simulator at scale, as processes: `trainyard sim --lanes 1000 --github-lanes 30` and
//! `trainyard status --json` against its printed config; `trainyard watch` polling a
//! simulator, counted at the simulator (`GET /v1/_sim/traffic`): 304s while nothing moves,
//! small gzip deltas while it does.

mod common;

use serde_json::Value;

use common::bin::{Trainyard, trainyard};
use common::sim::{self, SimProcess};
use common::wait::{PATIENCE, ok_if, until};

fn answers(sim: &SimProcess) -> Vec<Value> {
    sim::traffic(&sim.base_url)["recent"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn status_json_against_a_thousand_lanes_returns_every_lane() {
    let dir = tempfile::tempdir().unwrap();
    // Twenty GitHub lanes: a first read of a lane (its runs, checks, three environments'
    // deployments and their statuses) is some twenty requests, and the token's default 600 a
    // minute must hold them all in one poll (past it, reads are put off to the next minute).
    let sim = sim::spawn(dir.path(), &["--lanes", "1000", "--github-lanes", "20"]);
    assert_eq!(sim.config.matches("[[lanes]]").count(), 1000);
    assert_eq!(sim.config.matches("source = \"gh\"").count(), 20);
    let path = dir.path().join("config.toml");
    // The printed config as it is: its metrics are grouped, a few queries for the whole train.
    std::fs::write(&path, &sim.config).unwrap();
    let run = trainyard(dir.path(), &path, &["status", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let status = run.json();
    let lanes = status["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 1000);
    assert_eq!(lanes[999]["name"], "svc-991");
    let mut by_source = std::collections::BTreeMap::<String, usize>::new();
    for lane in lanes {
        let cells = lane["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 4, "{}", lane["name"]);
        for c in cells {
            assert_eq!(c["stale"], false, "{} {}", lane["name"], c);
            assert!(c["error"].is_null(), "{} {}", lane["name"], c);
            *by_source
                .entry(c["source"].as_str().unwrap().to_string())
                .or_default() += 4;
        }
    }
    // Counted once per cell, four cells a lane: lanes per source × 16.
    assert_eq!(by_source["gh"], 20 * 16);
    assert_eq!(by_source["sim"], 980 * 16);
    for s in status["sources"].as_array().unwrap() {
        assert_eq!(s["ok"], true, "{s}");
    }
    // The whole train came once, compressed.
    let seen = answers(&sim);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["gzip"], true);
    assert_eq!(seen[0]["cells"], 4000);
}

#[test]
fn a_polling_trainyard_gets_304s_then_small_gzip_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--lanes", "40"]);
    sim::set_clock(&sim.base_url, "stop");
    let path = sim.write_config(dir.path(), "");
    let _watch = Trainyard::new(dir.path())
        .config(&path)
        .args(["watch", "--json"])
        .spawn();
    until("three 304s", PATIENCE, || {
        let seen = answers(&sim);
        let n = seen.iter().filter(|a| a["kind"] == "not_modified").count();
        ok_if(n >= 3, || format!("{seen:?}"))
    });
    sim::set_clock(&sim.base_url, "run");
    let seen = until("two deltas", PATIENCE, || {
        let seen = answers(&sim);
        let n = seen.iter().filter(|a| a["kind"] == "delta").count();
        ok_if(n >= 2, || format!("{seen:?}")).map(|_| seen)
    });
    let full = &seen[0];
    assert_eq!(full["kind"], "full", "{full}");
    assert_eq!(full["gzip"], true, "{full}");
    for a in &seen[1..] {
        match a["kind"].as_str() {
            Some("not_modified") => assert_eq!(a["bytes"], 0, "{a}"),
            Some("delta") => {
                assert!(
                    a["bytes"].as_u64().unwrap() * 5 < full["bytes"].as_u64().unwrap(),
                    "a delta not much smaller than the whole train: {a} vs {full}"
                );
                assert_eq!(a["if_none_match"], true, "{a}");
                assert!(a["since"].is_string(), "{a}");
            }
            _ => panic!("only the first answer is whole: {a}"),
        }
    }
}
