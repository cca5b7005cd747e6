//! Grouped Prometheus queries against the simulator's Prometheus stand-in, counted where they
//! arrive: the demo's metrics (`by = { lane = "lane", stage = "stage" }`) cost the same
//! queries per poll at 8 lanes as at 200 and 500 (one instant and one range query per metric, and one
//! range query for its stable side), and every cell gets its own series' numbers.

mod common;

use std::sync::Arc;

use trainyard::sim::SimOptions;
use trainyard::sources::Source;

/// The queries the stand-in has answered so far.
async fn queries(url: &str) -> u64 {
    let (status, v) = common::sim::get(
        &common::sim::client(),
        format!("{url}/api/v1/_sim/requests"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["total"].as_u64().unwrap()
}

fn prom(demo: &common::sim::Demo) -> Arc<dyn Source> {
    demo.sources
        .iter()
        .find(|s| s.name() == "prom")
        .expect("the demo's prometheus source")
        .clone()
}

/// One poll of the demo's prometheus source: the queries it cost and what it measured.
async fn one_poll(demo: &common::sim::Demo) -> (u64, trainyard::model::Batch) {
    let source = prom(demo);
    let before = queries(&demo.url()).await;
    let batch = source.poll().await.expect("the prometheus source answers");
    (queries(&demo.url()).await - before, batch)
}

fn opts(lanes: usize) -> SimOptions {
    SimOptions {
        lanes,
        ..common::sim::opts()
    }
}

#[tokio::test]
async fn grouped_queries_cost_the_same_at_any_number_of_lanes() {
    for lanes in [8, 200, 500] {
        let demo = common::sim::demo(opts(lanes)).await;
        let (sent, batch) = one_poll(&demo).await;
        // 3 metrics × (instant + range + the stable side's range).
        assert_eq!(sent, 9, "{lanes} lanes");
        // Every lane at every measured stage got its metrics, matched by its labels.
        let lanes_seen: std::collections::BTreeSet<&str> =
            batch.metrics.iter().map(|(k, _)| &*k.lane).collect();
        assert_eq!(lanes_seen.len(), demo.config.train.lanes.len());
        assert_eq!(batch.metrics.len(), demo.config.train.lanes.len() * 3 * 3);
        for (k, m) in &batch.metrics {
            assert!(m.error.is_none(), "{k:?} {m:?}");
        }
        demo.handle.shutdown().await;
    }
}

#[tokio::test]
async fn grouped_and_per_cell_queries_measure_the_same_cells() {
    // The same train with the demo's metrics written per cell: a query per lane, stage,
    // metric, side and kind.
    let per_cell = common::sim::demo_edited(opts(8), |text| {
        text.replace("by = { lane = \"lane\", stage = \"stage\" }\n", "")
            .replace("{side=", "{lane=\"{lane}\",stage=\"{stage}\",side=")
    })
    .await;
    let (sent, per_cell_batch) = one_poll(&per_cell).await;
    assert_eq!(sent, 8 * 3 * 3 * 3);
    per_cell.handle.shutdown().await;

    let grouped = common::sim::demo(opts(8)).await;
    let (sent, grouped_batch) = one_poll(&grouped).await;
    assert_eq!(sent, 9);
    grouped.handle.shutdown().await;

    // Each simulator starts its scenario afresh: the same cells, with values and the stable
    // side where the per-cell queries found them.
    let shape = |b: &trainyard::model::Batch| -> Vec<(String, String, String, bool, bool)> {
        let mut v: Vec<_> = b
            .metrics
            .iter()
            .map(|(k, m)| {
                (
                    k.lane.to_string(),
                    k.stage.to_string(),
                    m.name.to_string(),
                    m.value.is_some(),
                    m.baseline.is_some(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(shape(&grouped_batch), shape(&per_cell_batch));
    assert!(
        grouped_batch
            .metrics
            .iter()
            .any(|(k, m)| &*k.stage == "canary" && m.baseline.is_some())
    );
}

#[tokio::test]
async fn an_error_answer_marks_every_cell_of_the_metric() {
    let demo = common::sim::demo(opts(8)).await;
    let client = common::sim::client();
    // The poll's nine queries fail: each metric's error is every one of its cells'.
    let resp = client
        .post(format!("{}/api/v1/_sim/fail", demo.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("type=execution&count=9")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, batch) = one_poll(&demo).await;
    for (k, m) in &batch.metrics {
        let e = m.error.as_deref().unwrap_or_else(|| panic!("{k:?} {m:?}"));
        assert!(e.starts_with("execution:"), "{k:?}: {e}");
    }
    demo.handle.shutdown().await;
}

/// A series by lane, stage, metric and side (stable or not).
type SeriesById = std::collections::BTreeMap<(String, String, String, bool), Vec<(i64, f64)>>;

/// Every series of a batch, by cell and metric (the measured side, then the stable side).
fn series_of(b: &trainyard::model::Batch) -> SeriesById {
    let mut out = std::collections::BTreeMap::new();
    for (k, m) in &b.metrics {
        for (stable, s) in [(false, &m.series), (true, &m.baseline_series)] {
            let id = (
                k.lane.to_string(),
                k.stage.to_string(),
                m.name.to_string(),
                stable,
            );
            out.insert(id, s.clone());
        }
    }
    out
}

#[tokio::test]
async fn a_second_poll_asks_for_the_span_since_and_keeps_the_window() {
    let demo = common::sim::demo(opts(8)).await;
    let window = demo.config.metrics[0].window.as_secs() as i64;
    let step = window / 30;
    let (_, first) = one_poll(&demo).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (sent, second) = one_poll(&demo).await;
    assert_eq!(sent, 9, "the same queries, each for a shorter span");
    let (first, second) = (series_of(&first), series_of(&second));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    let now = chrono::Utc::now().timestamp();
    let mut measured = 0;
    for (id, s) in &second {
        let before = &first[id];
        if before.is_empty() {
            continue;
        }
        measured += 1;
        // The kept points and the new ones make one series on one grid, inside the window,
        // as long as the whole window's (give or take the point that left it).
        let gaps: Vec<i64> = s.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(
            gaps.iter().all(|g| (step - 1..=step + 1).contains(g)),
            "{id:?}: {s:?}"
        );
        assert!(s[0].0 >= now - window - 1, "{id:?}: {s:?}");
        assert!(s.len() + 1 >= before.len(), "{id:?}: {before:?} then {s:?}");
        assert!(s.last().unwrap().0 >= before.last().unwrap().0);
        // The points both polls have are the same points (but the newest ones, asked again
        // in case their samples were not all in).
        let settled = before.last().unwrap().0 - 2 * step;
        for p in s.iter().filter(|p| p.0 < settled) {
            if let Some(q) = before.iter().find(|q| q.0 == p.0) {
                assert_eq!(p, q, "{id:?}");
            }
        }
    }
    assert!(measured > 0, "the demo's metrics have series");
    demo.handle.shutdown().await;
}
