//! The `prometheus` source over real loopback HTTP against a small server that answers like
//! Prometheus' query API (`query_range`, its error envelope): templates filled per lane and
//! stage, series and baselines, errors on the metric, and the `slo` gate on the numbers.

use std::sync::{Arc, Mutex};

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

type Seen = Arc<Mutex<Vec<String>>>;

async fn handle(State(seen): State<Seen>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if uri.path() == "/v1/train" {
        let cell = |stage: &str, v: &str| json!({"lane": "api", "stage": stage, "state": "succeeded", "version": v, "updated_at": "2026-01-01T00:00:00Z"});
        return json!({"cells": [cell("build", "v2"), cell("canary", "v2"), cell("prod", "v1")]})
            .to_string()
            .into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let query = form
        .iter()
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    seen.lock()
        .unwrap()
        .push(format!("{} {auth} {query}", uri.path()));
    if uri.path() != "/api/v1/query_range" || !form.iter().any(|(k, _)| k == "step") {
        return (StatusCode::NOT_FOUND, "").into_response();
    }
    if query.contains("broken") {
        let e = json!({"status": "error", "errorType": "bad_data", "error": "1:1: parse error: unexpected identifier \"broken\""});
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let (base, slope) = if query.contains("stable") {
        (0.002, 0.0)
    } else {
        (0.004, 0.001)
    };
    let values: Vec<serde_json::Value> = (0..10)
        .map(|i| json!([now - 300 + i * 30, format!("{}", base + slope * i as f64)]))
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}})
        .to_string()
        .into_response()
}

async fn server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(handle).with_state(Arc::clone(&seen));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn metrics_are_measured_per_lane_and_stage_and_gate_the_promotion() {
    let (url, seen) = server().await;
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
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().any(|s| s.contains("Bearer pr0m")
            && s.contains(r#"errors{service="api-svc",env="canary"}"#)),
        "{seen:#?}"
    );
    let metrics = world.metrics("api", "canary");
    let err = metrics.iter().find(|m| m.name == "error_rate").unwrap();
    assert_eq!(err.series.len(), 10);
    assert!((err.value.unwrap() - 0.013).abs() < 1e-9, "{err:?}");
    assert_eq!(err.baseline, Some(0.002));
    assert_eq!(err.baseline_series.len(), 10);
    assert!(!err.ok(), "0.013 is over max 0.01");
    let broken = metrics.iter().find(|m| m.name == "broken_metric").unwrap();
    assert!(
        broken
            .error
            .as_deref()
            .unwrap()
            .starts_with("bad_data: 1:1: parse error"),
        "{broken:?}"
    );
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
            .any(|m| m.starts_with("error_rate 1.30% > 1.00% at canary for the last ")),
        "{:?}",
        v.blockers
    );
    assert!(
        v.blockers
            .iter()
            .any(|b| b.kind == BlockerKind::SourceError && b.message.contains("broken_metric"))
    );
}
