//! The `http` protocol's extensions (docs/protocol.md, "Paying for change only") between
//! trainyard's `http` source and real servers on loopback: the simulator, counted at the
//! simulator (`GET /v1/_sim/traffic`); the simulator as a plain protocol v1 server
//! (`--no-extensions`); and small scripted servers (a strict old one, a gzip bomb).

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use trainyard::config::{self, Config};
use trainyard::model::{Batch, CellKey, CellState, SourceReport};
use trainyard::poll;
use trainyard::sim::SimOptions;
use trainyard::sources::{self, NameMap, Source, http::parse_train};

use common::sim::{self, Reply, opts, scripted_server};
use common::wait::{PATIENCE, ok_if, until_async};

/// A blocking call (the hand-written HTTP of the harness) off this runtime, so that a
/// simulator on it can answer meanwhile.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// What the simulator at `base` sent for `GET /v1/train`, one entry per answer.
async fn answers(base: &str) -> Vec<Value> {
    let base = base.to_string();
    blocking(move || sim::traffic(&base)["recent"].as_array().unwrap().clone()).await
}

async fn clock(base: &str, what: &'static str) {
    let base = base.to_string();
    blocking(move || sim::set_clock(&base, what)).await
}

/// The demo's `sim` source (the `http` one) and the demo.
async fn demo_sim(opts: SimOptions) -> (sim::Demo, Arc<dyn Source>) {
    let d = sim::demo(opts).await;
    let src = d
        .sources
        .iter()
        .find(|s| s.name() == "sim")
        .cloned()
        .expect("the demo has an http source named sim");
    (d, src)
}

/// One poll as the poller makes it: after the first, only what changed.
async fn poll_ok(src: &dyn Source) -> (SourceReport, Batch) {
    let report = poll::poll_source_changes(src).await;
    let batch = report
        .outcome
        .clone()
        .unwrap_or_else(|e| panic!("the poll failed: {e}"));
    (report, batch)
}

/// A batch's cells, in key order, as text that names everything they hold.
fn cells_of(b: &Batch) -> Vec<(CellKey, String)> {
    let mut cells: Vec<(CellKey, String)> = b
        .cells
        .iter()
        .map(|(k, c)| (k.clone(), format!("{c:?}")))
        .collect();
    cells.sort();
    cells
}

fn kinds(answers: &[Value]) -> Vec<&str> {
    answers
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_train_is_answered_304_and_its_cells_reported_fresh() {
    let (d, src) = demo_sim(opts()).await;
    let url = d.url();
    clock(&url, "stop").await;
    let mut world = d.config.empty_world();
    let (first, batch) = poll_ok(src.as_ref()).await;
    world.apply(first);
    let served = cells_of(&batch);
    assert_eq!(served.len(), HTTP_CELLS);
    let mut last_at = None;
    for _ in 0..3 {
        let (report, again) = poll_ok(src.as_ref()).await;
        // Nothing changed: a partial batch of nothing, which vouches for the kept train.
        assert!(again.partial, "after the first report, only what changed");
        assert!(again.cells.is_empty() && again.cell_errors.is_empty());
        last_at = Some(report.at);
        world.apply(report);
    }
    let kept: Vec<(CellKey, String)> = world
        .cells()
        .map(|(k, c)| {
            let mut c = c.clone();
            (c.source, c.fetched_at) = (String::new(), None);
            (k.clone(), format!("{c:?}"))
        })
        .collect();
    assert_eq!(
        kept, served,
        "the world keeps the train as the first poll had it"
    );
    // Counted fresh: the data is as old as the last 304, not the first answer.
    let ledger = world.cell("ledger", "canary").unwrap();
    assert_eq!(world.age(ledger, last_at.unwrap()), Some(Duration::ZERO));
    assert!(!world.is_stale(ledger, poll::now()));

    let seen = answers(&url).await;
    assert_eq!(
        kinds(&seen),
        ["full", "not_modified", "not_modified", "not_modified"]
    );
    assert_eq!(
        seen[0]["gzip"], true,
        "the whole train came compressed: {}",
        seen[0]
    );
    assert_eq!(seen[0]["if_none_match"], false);
    assert!(
        seen[1..]
            .iter()
            .all(|a| a["if_none_match"] == true && a["bytes"] == 0)
    );

    // One action changes one cell: the next answer is a delta with that cell only.
    let ack = blocking({
        let url = url.clone();
        move || {
            common::http::post(
                &url,
                "/v1/actions",
                r#"{"action": "rollback", "lane": "ledger", "stage": "prod", "actor": "t"}"#,
            )
        }
    })
    .await;
    assert_eq!(ack.status, 202, "{ack}");
    // A whole poll (as an action's verification makes) has the whole train, and takes
    // nothing away from the poller's next report.
    let whole = poll::poll_source(src.as_ref()).await.outcome.unwrap();
    assert!(!whole.partial);
    assert_eq!(whole.cells.len(), HTTP_CELLS);
    let (report, after) = poll_ok(src.as_ref()).await;
    world.apply(report);
    let seen = answers(&url).await;
    // The delta answered the whole poll; the poller's next was a 304.
    assert_eq!(seen.last().unwrap()["kind"], "not_modified");
    let last = &seen[seen.len() - 2];
    assert_eq!(last["kind"], "delta", "{last}");
    assert_eq!(last["cells"], 1, "{last}");
    assert_eq!(last["if_none_match"], true);
    assert!(last["since"].is_string());
    let prod = after
        .cells
        .iter()
        .find(|(k, _)| *k == CellKey::new("ledger", "prod"))
        .unwrap();
    assert_eq!(prod.1.state, CellState::RollingBack);
    assert_eq!(after.cells.len(), 1, "reported: the one cell that changed");
    assert_eq!(
        world.cells().count(),
        HTTP_CELLS,
        "the rest of the train is still there"
    );
    let prod = world.cell("ledger", "prod").unwrap();
    assert_eq!(prod.state, CellState::RollingBack);
    d.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_carry_only_what_changed_and_merge_into_the_whole_train() {
    let (d, src) = demo_sim(SimOptions {
        lanes: 100,
        speed: 4.0,
        ..opts()
    })
    .await;
    let url = d.url();
    // What the source reports, folded in as the engine does: the whole train first, then
    // what changed.
    let world = Arc::new(std::sync::Mutex::new(d.config.empty_world()));
    let (first, _) = poll_ok(src.as_ref()).await;
    world.lock().unwrap().apply(first);
    // Poll while the train moves until three deltas came.
    until_async("three deltas", PATIENCE, || {
        let (src, url, world) = (Arc::clone(&src), url.clone(), Arc::clone(&world));
        async move {
            let (report, _) = poll_ok(src.as_ref()).await;
            world.lock().unwrap().apply(report);
            let seen = answers(&url).await;
            let deltas = kinds(&seen).iter().filter(|k| **k == "delta").count();
            ok_if(deltas >= 3, || format!("{:?}", kinds(&seen)))
        }
    })
    .await;
    clock(&url, "stop").await;
    let (report, last) = poll_ok(src.as_ref()).await;
    assert!(last.partial && last.cells.len() < 100, "only what changed");
    let mut world = world.lock().unwrap().clone();
    world.apply(report);
    let seen = answers(&url).await;
    let full = &seen[0];
    assert_eq!(full["kind"], "full");
    for delta in seen.iter().filter(|a| a["kind"] == "delta") {
        assert_eq!(delta["gzip"], true, "{delta}");
        let (small, whole) = (
            delta["uncompressed"].as_u64(),
            full["uncompressed"].as_u64(),
        );
        assert!(
            small.unwrap() * 5 < whole.unwrap(),
            "a delta of {small:?} bytes against a train of {whole:?}: {delta}"
        );
        assert!(delta["cells"].as_u64().unwrap() < 100, "{delta}");
    }
    // What the world holds is the train as the simulator now serves it whole.
    let client = sim::client();
    let body = client
        .get(format!("{url}/v1/train?metrics=false"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let names = NameMap::for_source(&d.config, "sim");
    let whole = parse_train(&body, &names).unwrap();
    let held: Vec<(CellKey, String)> = world
        .cells()
        .map(|(k, c)| {
            let mut c = c.clone();
            (c.source, c.fetched_at) = (String::new(), None);
            (k.clone(), format!("{c:?}"))
        })
        .collect();
    assert_eq!(held, cells_of(&whole));
    assert!(whole.cell_errors.is_empty());
    // Three lanes read through GitHub, shipping-api through GitLab, auth-service's deploy
    // stages through Argo CD.
    assert_eq!(held.len(), (100 - 3 - 1) * 4 - 3);
    d.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_protocol_v1_server_still_serves_the_whole_train() {
    let (d, src) = demo_sim(SimOptions {
        extensions: false,
        ..opts()
    })
    .await;
    let url = d.url();
    let mut world = d.config.empty_world();
    for i in 0..3 {
        let (report, batch) = poll_ok(src.as_ref()).await;
        // The whole train every time; reported whole the first time, then what differs.
        assert_eq!(batch.partial, i > 0);
        if i == 0 {
            assert_eq!(cells_of(&batch).len(), HTTP_CELLS);
        }
        assert!(batch.cell_errors.is_empty());
        world.apply(report);
        assert_eq!(world.cells().count(), HTTP_CELLS);
        assert!(world.cells().all(|(_, c)| c.error.is_none()));
    }
    let seen = answers(&url).await;
    assert_eq!(kinds(&seen), ["full", "full", "full"]);
    assert!(
        seen.iter()
            .all(|a| a["gzip"] == false && a["if_none_match"] == false),
        "{seen:?}"
    );
    // Its train has no cursor: none is ever sent back.
    assert!(seen.iter().all(|a| a["since"].is_null()), "{seen:?}");
    d.handle.shutdown().await;
}

fn one_lane_config(url: &str) -> Config {
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.pipe]\nkind = \"http\"\nurl = \"{url}\"\ntimeout = \"2s\"\n\n\
         [[lanes]]\nname = \"api\"\nsource = \"pipe\"\n"
    );
    config::parse(&text, "test.toml").unwrap()
}

fn train(version: &str, cursor: Option<&str>) -> Value {
    let mut doc = json!({"protocol": 1, "cells": [
        {"lane": "api", "stage": "build", "state": "succeeded", "version": version},
        {"lane": "api", "stage": "prod", "state": "running", "version": "v0"},
    ]});
    if let Some(c) = cursor {
        doc["cursor"] = json!(c);
    }
    doc
}

fn version(world: &trainyard::model::World, stage: &str) -> Option<String> {
    world.cell("api", stage).and_then(|c| c.version.clone())
}

/// The demo's cells read through the `http` protocol: its five http lanes, four stages each,
/// but auth-service's deploy stages (read through the Argo CD API).
const HTTP_CELLS: usize = 5 * 4 - 3;
#[tokio::test]
async fn the_etag_is_sent_back_and_a_304_keeps_the_train() {
    let (url, asked) = scripted_server(|asked| {
        let inm = asked.last().unwrap().header("if-none-match").to_string();
        match (asked.len(), inm.as_str()) {
            (1, "") => Reply::json(&train("v1", None)).with("etag", "\"t1\""),
            (2, "\"t1\"") => Reply {
                status: 304,
                ..Reply::default()
            },
            (3, "\"t1\"") => Reply::json(&train("v2", None)).with("etag", "\"t2\""),
            _ => Reply::json(&train("unexpected", None)),
        }
    })
    .await;
    let config = one_lane_config(&url);
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    for want in ["v1", "v1", "v2"] {
        sim::poll_into(&mut world, &sources).await;
        assert_eq!(version(&world, "build").as_deref(), Some(want));
        let prod = world.cell("api", "prod").unwrap();
        assert!(!world.is_stale(prod, poll::now()));
    }
    sim::poll_into(&mut world, &sources).await;
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked[3].header("if-none-match"), "\"t2\"");
    // No cursor was given: none is sent; the payload's metrics are taken: no `metrics=false`.
    assert!(
        asked.iter().all(|a| a.path_and_query == "/v1/train"),
        "{asked:?}"
    );
    assert!(
        asked
            .iter()
            .all(|a| a.header("accept-encoding").contains("gzip"))
    );
}

#[tokio::test]
async fn an_old_server_that_refuses_the_query_is_asked_without_it() {
    let (url, asked) = scripted_server(|asked| {
        if asked.last().unwrap().path_and_query.contains('?') {
            Reply::json(&json!({"error": {"code": "invalid", "message": "unknown parameter"}}))
                .with_status(400)
        } else {
            // A cursor, yet no deltas: a server half-way through adopting the extensions.
            Reply::json(&train(&format!("v{}", asked.len()), Some("c1")))
        }
    })
    .await;
    let config = one_lane_config(&url);
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    for _ in 0..3 {
        sim::poll_into(&mut world, &sources).await;
        let source = world.source("pipe").unwrap();
        assert!(source.ok, "{:?}", source.error);
    }
    let asked: Vec<String> = asked
        .lock()
        .unwrap()
        .iter()
        .map(|a| a.path_and_query.clone())
        .collect();
    assert_eq!(
        asked,
        ["/v1/train", "/v1/train?since=c1", "/v1/train", "/v1/train"]
    );
    assert_eq!(version(&world, "build").as_deref(), Some("v4"));
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_the_cell_marked_and_its_last_good_data_kept() {
    // 24 MiB of JSON that packs into a few dozen KiB: packed once, before the server answers
    // (packing it takes seconds in a debug build, which the source's timeout would count).
    let mut body = br#"{"cells": [], "pad": ""#.to_vec();
    body.resize(24 << 20, b' ');
    body.extend_from_slice(br#""}"#);
    let bomb = Reply {
        status: 200,
        headers: vec![("content-type", "application/json".into())],
        body,
    }
    .gzipped();
    let (url, asked) = scripted_server(move |asked| {
        if asked.len() == 1 {
            return Reply::json(&train("v1", None)).gzipped();
        }
        bomb.clone()
    })
    .await;
    let config = one_lane_config(&url);
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    sim::poll_into(&mut world, &sources).await;
    assert_eq!(
        version(&world, "build").as_deref(),
        Some("v1"),
        "gzip is read"
    );
    sim::poll_into(&mut world, &sources).await;
    let build = world.cell("api", "build").unwrap();
    assert_eq!(
        build.version.as_deref(),
        Some("v1"),
        "the last good data stays"
    );
    assert!(world.is_stale(build, poll::now()), "and is marked");
    let err = world.cell_error(build).unwrap();
    assert!(
        err.contains("payload larger than 16 MiB (counted decompressed)"),
        "{err}"
    );
    let bomb = asked.lock().unwrap().len();
    assert_eq!(bomb, 2);
}

#[tokio::test]
async fn a_cell_the_server_stops_listing_is_marked_whole_train_or_delta() {
    let (url, _) = scripted_server(|asked| {
        let since = asked.last().unwrap().path_and_query.clone();
        match asked.len() {
            1 => Reply::json(&train("v1", Some("c1"))),
            // The whole train again, without api prod.
            2 => {
                let mut doc = train("v1", Some("c2"));
                doc["cells"].as_array_mut().unwrap().pop();
                Reply::json(&doc)
            }
            // Back, in a delta.
            3 if since.ends_with("since=c2") => Reply::json(&json!({
                "delta": true, "since": "c2", "cursor": "c3",
                "cells": [{"lane": "api", "stage": "prod", "state": "succeeded", "version": "v1"}],
            })),
            // Removed by a delta.
            4 if since.ends_with("since=c3") => Reply::json(&json!({
                "delta": true, "since": "c3", "cursor": "c4",
                "removed": {"cells": [{"lane": "api", "stage": "prod"}]},
            })),
            _ => Reply::json(&json!({"error": "unexpected"})).with_status(500),
        }
    })
    .await;
    let config = one_lane_config(&url);
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    let gone = |world: &trainyard::model::World| {
        world
            .cell_error(world.cell("api", "prod").unwrap())
            .filter(|e| e.contains("no longer in the source's train"))
    };
    sim::poll_into(&mut world, &sources).await;
    assert_eq!(gone(&world), None);
    sim::poll_into(&mut world, &sources).await;
    assert!(gone(&world).is_some(), "missing from the whole train");
    assert_eq!(
        version(&world, "prod").as_deref(),
        Some("v0"),
        "its last data stays"
    );
    sim::poll_into(&mut world, &sources).await;
    assert_eq!(gone(&world), None, "listed again");
    assert_eq!(version(&world, "prod").as_deref(), Some("v1"));
    sim::poll_into(&mut world, &sources).await;
    assert!(gone(&world).is_some(), "removed by a delta");
    assert!(world.source("pipe").unwrap().ok);
}
