//! The `prometheus` source over real loopback HTTP against a small server that answers like
//! Prometheus' query API (`query`, `query_range`, the error envelope, `warnings`): templates
//! filled per lane and stage, the value from the instant query and the series from the range
//! query at the same "now", baselines, errors and warnings on the metric, the `slo` gate on the
//! numbers, and a poll that keeps at most 8 queries in flight and answers within its deadline.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::net::TcpListener;

use trainyard::config;
use trainyard::model::{BlockerKind, CellState, Holds, policy};
use trainyard::poll;
use trainyard::sources;

#[derive(Default)]
struct Fake {
    /// "PATH AUTH QUERY" of every query.
    seen: Mutex<Vec<String>>,
    /// The `time` of instant queries and the `end` of range queries.
    times: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// How long every query takes.
    delay: Mutex<Duration>,
    /// When not empty: only queries naming one of these are answered; every other one waits
    /// forever for its answer.
    answer_only: Mutex<Vec<&'static str>>,
}

type Shared = Arc<Fake>;

fn envelope_error(status: StatusCode, kind: &str, msg: &str) -> Response {
    let e = json!({"status": "error", "errorType": kind, "error": msg});
    (status, e.to_string()).into_response()
}

async fn handle(State(fake): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if uri.path() == "/v1/train" {
        let cell = |stage: &str, v: &str| json!({"lane": "api", "stage": stage, "state": "succeeded", "version": v, "updated_at": "2026-01-01T00:00:00Z"});
        return json!({"cells": [cell("build", "v2"), cell("canary", "v2"), cell("prod", "v1")]})
            .to_string()
            .into_response();
    }
    let held = {
        let only = fake.answer_only.lock().unwrap();
        let text = String::from_utf8_lossy(&body);
        !only.is_empty() && !only.iter().any(|name| text.contains(name))
    };
    if held {
        std::future::pending::<()>().await;
    }
    let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    fake.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *fake.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let r = answer(&fake, &uri, &headers, &body);
    fake.in_flight.fetch_sub(1, Ordering::SeqCst);
    r
}

fn answer(fake: &Fake, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let query = get("query");
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    fake.seen
        .lock()
        .unwrap()
        .push(format!("{} {auth} {query}", uri.path()));
    let instant = match uri.path() {
        "/api/v1/query" if !get("time").is_empty() => true,
        "/api/v1/query_range" if !get("step").is_empty() => false,
        _ => return (StatusCode::NOT_FOUND, "").into_response(),
    };
    fake.times
        .lock()
        .unwrap()
        .push(get(if instant { "time" } else { "end" }));
    if query.contains("broken") {
        return envelope_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "1:1: parse error: unexpected identifier \"broken\"",
        );
    }
    if instant && query.contains("heavy") {
        return envelope_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            "query processing would load too many samples into memory in query execution",
        );
    }
    let warnings: Vec<&str> = if query.contains("partial") {
        vec!["remote read of store eu-2 failed: connection refused"]
    } else {
        vec![]
    };
    let (base, slope) = if query.contains("stable") {
        (0.002, 0.0)
    } else {
        (0.004, 0.001)
    };
    let data = if instant {
        // "Now" is a little worse than the newest point of the series: the value must be this.
        let t: f64 = get("time").parse().unwrap();
        json!({"resultType": "vector", "result": [{"metric": {}, "value": [t, format!("{}", base + slope * 10.0)]}]})
    } else {
        let now = chrono::Utc::now().timestamp();
        let values: Vec<serde_json::Value> = (0..10)
            .map(|i| json!([now - 300 + i * 30, format!("{}", base + slope * i as f64)]))
            .collect();
        json!({"resultType": "matrix", "result": [{"metric": {}, "values": values}]})
    };
    json!({"status": "success", "data": data, "warnings": warnings})
        .to_string()
        .into_response()
}

async fn server() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new().fallback(handle).with_state(Arc::clone(&fake));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

#[tokio::test]
async fn metrics_are_measured_per_lane_and_stage_and_gate_the_promotion() {
    let (url, fake) = server().await;
    let text = format!(
        r#"
[train]
name = "t"
stages = ["build", "canary", "prod"]

[sources.pipe]
kind = "http"
url = "{url}"

[sources.prom]
kind = "prometheus"
url = "{url}"
token_cmd = "echo pr0m"

[[lanes]]
name = "api"
source = "pipe"
vars = {{ service = "api-svc" }}

[[metrics]]
name = "error_rate"
query = 'sum(rate(errors{{service="{{service}}",env="{{stage}}"}}[5m]))'
baseline = 'sum(rate(errors{{service="{{service}}",env="stable"}}[5m]))'
threshold = {{ max = 0.01 }}
window = "5m"
stages = ["canary"]

[[metrics]]
name = "broken_metric"
query = 'broken{{lane="{{lane}}"}}'
threshold = {{ max = 1 }}
stages = ["canary"]

[[metrics]]
name = "heavy"
query = 'heavy{{lane="{{lane}}"}}'
threshold = {{ max = 1 }}
stages = ["canary"]

[[metrics]]
name = "partial"
query = 'partial{{lane="{{lane}}"}}'
threshold = {{ max = 1 }}
stages = ["canary"]

[policy.prod]
require = ["slo"]
"#
    );
    let config = config::parse(&text, "t.toml").unwrap();
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    for r in poll::poll_once(&sources).await {
        assert!(r.outcome.is_ok(), "{:?}", r.outcome);
        world.apply(r);
    }
    let seen = fake.seen.lock().unwrap().clone();
    for path in ["/api/v1/query ", "/api/v1/query_range "] {
        assert!(
            seen.iter().any(|s| s.starts_with(path)
                && s.contains("Bearer pr0m")
                && s.contains(r#"errors{service="api-svc",env="canary"}"#)),
            "{path}: {seen:#?}"
        );
    }
    // One "now" per poll: every instant query's time is every range query's end.
    let times = fake.times.lock().unwrap().clone();
    assert!(times.len() >= 8, "{times:?}");
    assert!(times.iter().all(|t| *t == times[0]), "{times:?}");

    let metrics = world.metrics("api", "canary");
    let err = metrics.iter().find(|m| &*m.name == "error_rate").unwrap();
    assert_eq!(&*err.source, "prom");
    assert_eq!(err.series.len(), 10);
    // The value is the instant query's, not the series' newest point (0.013).
    assert!((err.value.unwrap() - 0.014).abs() < 1e-9, "{err:?}");
    assert_eq!(err.baseline, Some(0.002));
    assert_eq!(err.baseline_series.len(), 10);
    assert!(err.warnings.is_empty(), "{err:?}");
    assert!(!err.ok(), "0.014 is over max 0.01");
    let broken = metrics
        .iter()
        .find(|m| &*m.name == "broken_metric")
        .unwrap();
    assert!(
        broken
            .error
            .as_deref()
            .unwrap()
            .starts_with("bad_data: 1:1: parse error"),
        "{broken:?}"
    );
    // The instant query failed, the range worked: a value, and the metric says where from.
    let heavy = metrics.iter().find(|m| &*m.name == "heavy").unwrap();
    assert_eq!(heavy.error, None, "{heavy:?}");
    assert!((heavy.value.unwrap() - 0.013).abs() < 1e-9, "{heavy:?}");
    assert!(
        heavy.warnings.len() == 1
            && heavy.warnings[0].starts_with(
                "current value failed (execution: query processing would load too many samples"
            )
            && heavy.warnings[0].contains("showing the series' newest point"),
        "{heavy:?}"
    );
    // Prometheus' warnings: shown once, the metric still counts.
    let partial = metrics.iter().find(|m| &*m.name == "partial").unwrap();
    assert_eq!(
        partial.warnings,
        ["warning: remote read of store eu-2 failed: connection refused"]
    );
    assert!(partial.error.is_none() && partial.ok(), "{partial:?}");
    assert_eq!(
        world.cell("api", "canary").unwrap().state,
        CellState::Succeeded
    );

    // The slo gate of prod reads canary's metrics: the numbers are in the blocker.
    let v = policy::verdict(
        &config.train,
        &world,
        &Holds::default(),
        poll::now(),
        &config.train.lanes[0],
        2,
    );
    let slo: Vec<&str> = v
        .blockers
        .iter()
        .filter(|b| b.kind == BlockerKind::Slo)
        .map(|b| b.message.as_str())
        .collect();
    assert!(
        slo.iter()
            .any(|m| m.starts_with("error_rate 1.40% > 1.00% at canary ")),
        "{:?}",
        v.blockers
    );
    assert!(
        v.blockers
            .iter()
            .any(|b| b.kind == BlockerKind::SourceError && b.message.contains("broken_metric"))
    );
    // Warnings don't block.
    assert!(
        !v.blockers
            .iter()
            .any(|b| b.message.contains("heavy") || b.message.contains("partial")),
        "{:?}",
        v.blockers
    );
}

/// `lanes` lanes, one metric with a baseline at two stages: 3 queries per lane and stage.
fn many_lanes(url: &str, lanes: usize, timeout: &str) -> config::Config {
    many_lanes_with(url, lanes, timeout, "")
}

/// [`many_lanes`] with `extra` keys for the prometheus source.
fn many_lanes_with(url: &str, lanes: usize, timeout: &str, extra: &str) -> config::Config {
    let mut text = format!(
        r#"
[train]
name = "t"
stages = ["canary", "prod"]

[sources.pipe]
kind = "http"
url = "{url}"

[sources.prom]
kind = "prometheus"
url = "{url}"
timeout = "{timeout}"
{extra}

[[metrics]]
name = "error_rate"
query = 'sum(errors{{lane="{{lane}}",env="{{stage}}"}})'
baseline = 'sum(errors{{lane="{{lane}}",env="stable"}})'
threshold = {{ max = 0.01 }}
"#
    );
    for i in 0..lanes {
        text.push_str(&format!(
            "\n[[lanes]]\nname = \"svc-{i:03}\"\nsource = \"pipe\"\n"
        ));
    }
    config::parse(&text, "t.toml").unwrap()
}

fn prom(sources: &[Arc<dyn trainyard::sources::Source>]) -> Arc<dyn trainyard::sources::Source> {
    sources.iter().find(|s| s.name() == "prom").unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_keeps_at_most_eight_queries_in_flight() {
    let (url, fake) = server().await;
    *fake.delay.lock().unwrap() = Duration::from_millis(20);
    let config = many_lanes(&url, 20, "5s");
    let prom = prom(&sources::build(&config));
    let report = poll::poll_source(prom.as_ref()).await;
    let batch = report.outcome.unwrap();
    assert_eq!(batch.metrics.len(), 40);
    assert!(batch.metrics.iter().all(|(_, m)| m.error.is_none()));
    assert_eq!(fake.seen.lock().unwrap().len(), 120);
    let most = fake.most_in_flight.load(Ordering::SeqCst);
    assert!(
        most <= trainyard::config::DEFAULT_MAX_IN_FLIGHT,
        "{most} in flight"
    );
    assert!(
        most > 1,
        "queries go concurrently: {most} at most in flight"
    );
}

/// `max_in_flight` of the source bounds the queries in flight instead of the default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_bounds_the_queries_at_once() {
    let (url, fake) = server().await;
    *fake.delay.lock().unwrap() = Duration::from_millis(20);
    let config = many_lanes_with(&url, 10, "5s", "max_in_flight = 2");
    assert_eq!(config.sources["prom"].max_in_flight, 2);
    let prom = prom(&sources::build(&config));
    let batch = poll::poll_source(prom.as_ref()).await.outcome.unwrap();
    assert!(batch.metrics.iter().all(|(_, m)| m.error.is_none()));
    assert_eq!(fake.seen.lock().unwrap().len(), 60);
    assert_eq!(fake.most_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_prometheus_costs_the_metrics_it_could_not_answer_not_the_poll() {
    let (url, fake) = server().await;
    // Prometheus answers the queries of the first two lanes — the first twelve a poll sends —
    // and never answers another. 300 queries, 8 at a time: the held ones keep their places
    // until their timeout, the rest wait for a place until the poll's budget is spent.
    *fake.answer_only.lock().unwrap() = vec!["svc-000", "svc-001"];
    let config = many_lanes(&url, 50, "2s");
    let prom = prom(&sources::build(&config));
    // poll_source cuts at the deadline; the source must answer before it with what it has
    // (the late metrics below say so), not be cut off with nothing.
    let report = poll::poll_source(prom.as_ref()).await;
    let batch = report
        .outcome
        .expect("the poll answers with what it measured");
    assert_eq!(batch.metrics.len(), 100);
    let measured: Vec<String> = batch
        .metrics
        .iter()
        .filter(|(_, m)| m.error.is_none() && m.value.is_some())
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(
        measured,
        [
            "svc-000 canary",
            "svc-000 prod",
            "svc-001 canary",
            "svc-001 prod"
        ]
    );
    let late: Vec<&str> = batch
        .metrics
        .iter()
        .filter_map(|(_, m)| m.error.as_deref())
        .collect();
    assert_eq!(late.len(), 96, "{late:?}");
    // Each says why: its query never got its turn within the budget, or got no answer in time.
    assert!(
        late.iter().all(
            |e| e.contains("not measured: the poll ran out of time") || e.contains("timed out")
        ),
        "{late:?}"
    );
    assert!(
        late.iter()
            .any(|e| e.starts_with("not measured: the poll ran out of time")),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_prometheus_that_is_not_there_fails_the_source() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let config = many_lanes(&url, 3, "1s");
    let prom = prom(&sources::build(&config));
    let report = poll::poll_source(prom.as_ref()).await;
    let e = report.outcome.unwrap_err();
    assert!(e.contains("connect") || e.contains("refused"), "{e}");
}
