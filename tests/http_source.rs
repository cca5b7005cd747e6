//! The `http` source against real servers on loopback: the simulator, and small hand-made
//! servers that misbehave (bad payloads, errors, a hang).

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;

use trainyard::config::{self, Config};
use trainyard::model::{ActionKind, CellState};
use trainyard::ops::{self, Action, Outcome};
use trainyard::poll;
use trainyard::sources;

use common::sim::{self, Body, fixed_server, observe as world_of, opts};

#[tokio::test]
async fn polls_every_configured_cell_from_the_simulator() {
    let d = sim::demo(opts()).await;
    let (config, world) = (&d.config, d.observe().await);
    for lane in &config.train.lanes {
        for stage in &config.train.stages {
            let c = world
                .cell(&lane.name, stage)
                .unwrap_or_else(|| panic!("no cell {} {stage}", lane.name));
            assert!(!world.is_stale(c, poll::now()));
            assert_eq!(c.source, config.target(&lane.name, stage).unwrap().source);
        }
    }
    // The demo's metrics: 3 per lane at staging, canary and prod, measured through the
    // simulator's Prometheus API (its http source leaves the payload's out).
    let metrics: Vec<&str> = config
        .train
        .lanes
        .iter()
        .flat_map(|l| config.train.stages.iter().map(move |s| (l, s)))
        .flat_map(|(l, s)| world.metrics(&l.name, s))
        .map(|m| &*m.source)
        .collect();
    assert_eq!(metrics.len(), config.train.lanes.len() * 3 * 3);
    assert!(metrics.iter().all(|s| *s == "prom"), "{metrics:?}");
    d.handle.shutdown().await;
}

/// The protocol's metrics: taken from the payload by default (canary with its stable side),
/// left out with `metrics = false`.
#[tokio::test]
async fn the_payload_metrics_are_taken_unless_the_source_says_metrics_false() {
    let handle = sim::start(opts()).await;
    for metrics in [None, Some(false), Some(true)] {
        let text = format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"staging\", \"canary\", \"prod\"]\n\
             [sources.sim]\nkind = \"http\"\nurl = \"{}\"\n{}\n\
             [[lanes]]\nname = \"notifications\"\nsource = \"sim\"\n",
            handle.base_url(),
            metrics.map_or(String::new(), |m| format!("metrics = {m}"))
        );
        let config = config::parse(&text, "t.toml").unwrap();
        let sources = sources::build(&config);
        let world = world_of(&config, &sources).await;
        assert!(world.cell("notifications", "canary").is_some());
        let m = world.metrics("notifications", "canary");
        if metrics == Some(false) {
            assert!(m.is_empty(), "{m:?}");
            continue;
        }
        let names: Vec<&str> = m.iter().map(|m| &*m.name).collect();
        assert_eq!(
            names,
            ["error_rate", "latency_p99", "saturation"],
            "{metrics:?}"
        );
        let e = &m[0];
        assert_eq!(&*e.source, "sim");
        assert!(e.value.is_some() && e.series.len() == trainyard::sim::SERIES_LEN);
        assert_eq!(e.baseline_series.len(), trainyard::sim::SERIES_LEN);
        assert_eq!(world.metrics("notifications", "prod").len(), 3);
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn actions_reach_the_simulator_are_verified_and_rejections_say_why() {
    let d = sim::demo(opts()).await;
    let (config, sources) = (&d.config, &d.sources);
    let world = d.observe().await;
    let (_dir, runner) = d.runner();
    let holds = Default::default();
    let now = poll::now();

    // Find a running cell and pause it: accepted, then verified paused.
    let (lane, stage) = world
        .cells()
        .find(|(_, c)| c.state == CellState::Running)
        .map(|(k, _)| (k.lane.clone(), k.stage.clone()))
        .expect("the demo has something running");
    let plan = ops::preflight(
        Action::new(ActionKind::Pause, &lane, &stage),
        &config.train,
        &world,
        &holds,
        now,
    )
    .unwrap();
    let outcome = runner.run(&plan, false, &|_| {}).await;
    assert!(
        matches!(outcome, Outcome::Done(ref m) if m.contains("paused")),
        "{outcome:?}"
    );

    // Approving something that awaits no approval is refused by the source with its reason.
    let mut bogus = plan.clone();
    bogus.action.kind = ActionKind::Approve;
    // A hand-made plan with no picture of the cell: only the source can judge it.
    bogus.seen = None;
    match runner.run(&bogus, false, &|_| {}).await {
        Outcome::Rejected(m) => assert!(m.contains("409") && m.contains("conflict"), "{m}"),
        other => panic!("expected a rejection, got {other:?}"),
    }

    // The pause shows up in the next poll.
    let world = world_of(config, sources).await;
    assert_eq!(world.cell(&lane, &stage).unwrap().state, CellState::Paused);

    // The simulator counted exactly the two requests; the audit log has both, and verifies.
    assert_eq!(d.actions().await.len(), 2);
    let records = common::sim::audit_file(&runner).read().unwrap();
    let results: Vec<&str> = records.iter().map(|r| r.result.as_str()).collect();
    assert_eq!(results, ["attempt", "done", "attempt", "rejected"]);
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());

    // The same pause again, planned before the first: the cell changed at the source since,
    // so nothing is sent and the attempt is closed as refused.
    let outcome = runner.run(&plan, false, &|_| {}).await;
    assert!(
        matches!(outcome, Outcome::Refused(ref m) if m.contains("changed since")),
        "{outcome:?}"
    );
    assert_eq!(d.actions().await.len(), 2);
    assert_eq!(
        common::sim::audit_file(&runner)
            .read()
            .unwrap()
            .last()
            .unwrap()
            .result,
        "refused"
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn readonly_runner_sends_nothing() {
    let d = sim::demo(opts()).await;
    let world = d.observe().await;
    let (lane, stage) = world
        .cells()
        .find(|(_, c)| c.state == CellState::Running)
        .map(|(k, _)| (k.lane.clone(), k.stage.clone()))
        .unwrap();
    let plan = ops::preflight(
        Action::new(ActionKind::Pause, &lane, &stage),
        &d.config.train,
        &world,
        &Default::default(),
        poll::now(),
    )
    .unwrap();
    let (_dir, runner) = sim::runner(&d.config, &d.sources, true);
    let outcome = runner.run(&plan, false, &|_| {}).await;
    assert!(
        matches!(outcome, Outcome::Refused(ref m) if m.contains("read-only")),
        "{outcome:?}"
    );
    assert!(d.actions().await.is_empty());
    assert!(common::sim::audit_file(&runner).read().unwrap().is_empty());
    d.handle.shutdown().await;
}

fn one_lane_config(url: &str, extra: &str) -> Config {
    let text = format!(
        r#"
[train]
name = "t"
stages = ["build", "prod"]

[sources.pipe]
kind = "http"
url = "{url}"
timeout = "1s"
{extra}

[[lanes]]
name = "api"
source = "pipe"
"#
    );
    config::parse(&text, "test.toml").unwrap()
}

#[tokio::test]
async fn a_malformed_cell_keeps_its_last_good_data_and_the_rest_updates() {
    let good = r#"{"cells":[{"lane":"api","stage":"build","state":"succeeded","version":"v1"},
                             {"lane":"api","stage":"prod","state":"running","version":"v0","progress":0.5}]}"#;
    let body: Body = Arc::new(std::sync::Mutex::new((200, good.to_string())));
    let url = fixed_server(Arc::clone(&body)).await;
    let config = one_lane_config(&url, "");
    let sources = sources::build(&config);
    let mut world = world_of(&config, &sources).await;

    *body.lock().unwrap() = (
        200,
        r#"{"cells":[{"lane":"api","stage":"build","state":"exploded","version":"v2"},
                     {"lane":"api","stage":"prod","state":"succeeded","version":"v0"}]}"#
            .into(),
    );
    for r in poll::poll_once(&sources).await {
        world.apply(r);
    }
    let build = world.cell("api", "build").unwrap();
    assert_eq!(build.version.as_deref(), Some("v1"), "last good data stays");
    assert!(
        build
            .error
            .as_deref()
            .unwrap()
            .contains("unknown state \"exploded\"")
    );
    assert_eq!(
        world.cell("api", "prod").unwrap().state,
        CellState::Succeeded,
        "other cells update"
    );

    // A server error fails the whole poll: cells keep their data, marked stale with the error.
    *body.lock().unwrap() = (
        503,
        r#"{"error":{"code":"busy","message":"deploy db is down"}}"#.into(),
    );
    for r in poll::poll_once(&sources).await {
        world.apply(r);
    }
    let prod = world.cell("api", "prod").unwrap();
    assert_eq!(prod.state, CellState::Succeeded);
    assert!(world.is_stale(prod, poll::now()));
    let err = world.cell_error(prod).unwrap();
    assert!(
        err.contains("503") && err.contains("deploy db is down"),
        "{err}"
    );
}

#[tokio::test]
async fn a_hanging_source_times_out_without_holding_up_another() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let good = r#"{"cells":[{"lane":"api","stage":"build","state":"succeeded","version":"v1"}]}"#;
    let fast_url = fixed_server(Arc::new(std::sync::Mutex::new((200, good.to_string())))).await;
    let text = format!(
        r#"
[train]
name = "t"
stages = ["build", "prod"]

[sources.hang]
kind = "http"
url = "{hang_url}"
timeout = "1s"

[sources.fast]
kind = "http"
url = "{fast_url}"

[[lanes]]
name = "api"
source = "fast"
stages.prod = {{ source = "hang" }}
"#
    );
    let config = config::parse(&text, "test.toml").unwrap();
    let sources = sources::build(&config);

    // The scheduler delivers the fast source's report while the other one hangs.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut poller = poll::Poller::spawn(&sources, tx);
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.source, "fast");
    assert!(first.outcome.is_ok());
    let second = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let r = rx.recv().await.unwrap();
            if r.source == "hang" {
                return r;
            }
        }
    })
    .await
    .unwrap();
    let err = second.outcome.unwrap_err();
    assert!(
        err.contains("timed out") || err.contains("no answer"),
        "{err}"
    );
    poller.stop();
}

#[tokio::test]
async fn unreachable_source_is_reported_not_fatal() {
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let config = one_lane_config(&url, "");
    let sources = sources::build(&config);
    let reports = poll::poll_once(&sources).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(err.contains("connection"), "{err}");
}

#[tokio::test]
async fn a_source_that_cannot_be_set_up_reports_why_on_every_poll() {
    let config = one_lane_config(
        "http://127.0.0.1:9",
        "token_env = \"TRAINYARD_TEST_TOKEN_UNSET_X\"",
    );
    let sources = sources::build(&config);
    let reports = poll::poll_once(&sources).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(err.contains("TRAINYARD_TEST_TOKEN_UNSET_X"), "{err}");
}

#[tokio::test]
async fn a_failing_token_cmd_is_reported_and_its_output_never_shown() {
    let config = one_lane_config("http://127.0.0.1:9", "token_cmd = \"exit 3\"");
    let reports = poll::poll_once(&sources::build(&config)).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(err.contains("token_cmd exited"), "{err}");
    let config = one_lane_config(
        "http://127.0.0.1:9",
        "token_cmd = \"echo s3cr3t-t0ken; exit 1\"",
    );
    let reports = poll::poll_once(&sources::build(&config)).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[tokio::test]
async fn the_token_from_token_cmd_is_sent_as_a_bearer_token() {
    use axum::http::HeaderMap;
    let app = Router::new().route(
        "/v1/train",
        get(|headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if auth == "Bearer tok-123" {
                (StatusCode::OK, r#"{"cells":[]}"#.to_string())
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":{"code":"unauthorized","message":"bad token"}}"#.to_string(),
                )
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let config = one_lane_config(&url, "token_cmd = \"echo tok-123\"");
    let reports = poll::poll_once(&sources::build(&config)).await;
    assert!(reports[0].outcome.is_ok(), "{:?}", reports[0].outcome);
    let config = one_lane_config(&url, "token_cmd = \"echo wrong\"");
    let reports = poll::poll_once(&sources::build(&config)).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(
        err.contains("401") && err.contains("bad token") && !err.contains("wrong"),
        "{err}"
    );
}
