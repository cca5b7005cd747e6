//! The `prometheus` source against a real Prometheus (Debian's package, installed by .ci/run),
//! started here on 127.0.0.1 with a temporary data dir and a config that scrapes itself and the
//! simulator: real instant vectors and scalars for the current value, real range vectors for
//! the series, a real `bad_data` for broken PromQL, and a real warning (a remote-read store on
//! a loopback port where nothing listens, asked only by selectors that name it).
//!
//! Without the `prometheus` binary the test fails under CI=true and is skipped with a message
//! otherwise.

mod common;

use std::process::{Child, Command, Stdio};

use trainyard::{config, poll, sources};

use common::wait::{PATIENCE, ok_if, until};

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary() -> Option<String> {
    common::installed(
        "prometheus",
        "--version",
        "the test against a real Prometheus",
    )
    .then(|| "prometheus".into())
}

/// A plain GET on loopback; the body when the status is 200.
fn get(port: u16, path: &str) -> Option<String> {
    common::http::request(&format!("127.0.0.1:{port}"), "GET", path, "")
        .ok()
        .filter(|a| a.status == 200)
        .map(|a| a.body)
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    until(what, PATIENCE, || ok_if(f(), || "not yet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_series_and_a_real_bad_data_error() {
    let Some(bin) = binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // The simulator too: Prometheus scrapes its /metrics.
    let sim = common::sim::start(common::sim::opts()).await;
    let yml = dir.path().join("prometheus.yml");
    // Prometheus turns a failing remote-read store into a warning on the answer: one on a port
    // where nothing listens, read only for selectors with store="remote".
    let nobody = common::free_port();
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n  - job_name: sim\n    static_configs:\n      - targets: ['{}']\nremote_read:\n  - url: http://127.0.0.1:{nobody}/read\n    read_recent: true\n    required_matchers:\n      store: remote\n",
            sim.addr
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let _prom = Prometheus(child);
    wait_for("Prometheus to be ready", || get(port, "/-/ready").is_some());
    wait_for("samples of up", || {
        get(port, "/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D")
            .is_some_and(|b| b.contains("\"value\""))
    });
    wait_for("samples scraped from the simulator", || {
        get(port, "/api/v1/query?query=trainyard_sim_error_rate")
            .is_some_and(|b| b.contains("\"value\""))
    });

    // A lane named after the job, so that {lane} fills the selector; its cells come from a
    // pipeline that isn't there (only the metrics matter here).
    let dead = common::free_port();
    let text = format!(
        r#"
[train]
name = "t"
stages = ["build", "canary", "prod"]

[sources.pipe]
kind = "http"
url = "http://127.0.0.1:{dead}"

[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:{port}"

[[lanes]]
name = "prometheus"
source = "pipe"

[[lanes]]
name = "notifications"
source = "pipe"

# A regex metacharacter in a lane's name: escaped in the grouped query's matcher, it must not
# match "notifications".
[[lanes]]
name = "notification."
source = "pipe"

[[metrics]]
name = "error_rate"
query = 'max(trainyard_sim_error_rate{{lane="{{lane}}",stage="{{stage}}",side="canary"}})'
baseline = 'max(trainyard_sim_error_rate{{lane="{{lane}}",stage="{{stage}}",side="stable"}})'
threshold = {{ max = 0.01 }}
window = "1m"
stages = ["canary"]

[[metrics]]
name = "up"
query = 'max(up{{job="{{lane}}"}})'
threshold = {{ min = 1 }}
window = "1m"
stages = ["prod"]

# The same numbers two ways: one query per cell, and one grouped query for every lane and
# stage, its series matched back to cells by their lane and stage labels.
[[metrics]]
name = "error_cell"
query = 'max(trainyard_sim_error_rate{{lane="{{lane}}",stage="{{stage}}",side="canary"}})'
threshold = {{ max = 0.01 }}
window = "1m"
stages = ["canary", "prod"]

[[metrics]]
name = "error_grouped"
query = 'max by (lane, stage) (trainyard_sim_error_rate{{lane="{{lane}}",stage="{{stage}}",side="canary"}})'
baseline = 'max by (lane, stage) (trainyard_sim_error_rate{{lane="{{lane}}",side="stable"}})'
by = {{ lane = "lane", stage = "stage" }}
threshold = {{ max = 0.01 }}
window = "1m"
stages = ["canary", "prod"]

[[metrics]]
name = "broken"
query = 'max(up{{job="{{lane}}"}}'
threshold = {{ max = 1 }}
stages = ["prod"]

[[metrics]]
name = "clock"
query = 'time()'
unit = "count"
threshold = {{ min = 0 }}
window = "1m"
stages = ["prod"]

[[metrics]]
name = "targets"
query = 'count(up)'
unit = "count"
threshold = {{ max = 1 }}
window = "1m"
stages = ["canary"]

[[metrics]]
name = "partial"
query = 'max(up{{job="{{lane}}"}} or up{{job="{{lane}}",store="remote"}})'
threshold = {{ min = 1 }}
window = "1m"
stages = ["prod"]
"#
    );
    let config = config::parse(&text, "t.toml").unwrap();
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    let before = chrono::Utc::now().timestamp() as f64;
    for r in poll::poll_once(&sources).await {
        world.apply(r);
    }
    let after = chrono::Utc::now().timestamp() as f64;
    assert!(
        world.source("prom").unwrap().ok,
        "{:?}",
        world.source("prom").unwrap().error
    );
    let metrics = world.metrics("prometheus", "prod");
    // A real instant vector: the current value, and no warning.
    let up = metrics.iter().find(|m| &*m.name == "up").unwrap();
    assert_eq!(up.value, Some(1.0), "{up:?}");
    assert!(!up.series.is_empty());
    assert!(up.ok() && up.warnings.is_empty(), "{up:?}");
    // A real scalar, evaluated at the poll's "now".
    let clock = metrics.iter().find(|m| &*m.name == "clock").unwrap();
    let t = clock.value.unwrap();
    assert!(
        t >= before - 1.0 && t <= after + 1.0,
        "{before} {t} {after}"
    );
    assert!(
        clock.warnings.is_empty() && clock.series.len() > 10,
        "{clock:?}"
    );
    // A real bad_data, from the instant and the range query alike (said once).
    let broken = metrics.iter().find(|m| &*m.name == "broken").unwrap();
    let err = broken.error.as_deref().unwrap();
    assert!(
        err.starts_with("bad_data:") && err.contains("parse error") && !err.contains("series:"),
        "{err}"
    );
    assert_eq!(broken.value, None);
    // A real warning: shown on the metric, which still counts.
    let partial = metrics.iter().find(|m| &*m.name == "partial").unwrap();
    assert_eq!(partial.value, Some(1.0), "{partial:?}");
    assert!(partial.error.is_none() && partial.ok(), "{partial:?}");
    assert_eq!(partial.warnings.len(), 1, "{partial:?}");
    let w = &partial.warnings[0];
    assert!(
        w.starts_with("warning: remote_read:") && w.contains(&format!("127.0.0.1:{nobody}")),
        "{w}"
    );

    // The slo gate's words over a real series: two scrape targets against a maximum of one,
    // breaching for as long as Prometheus has samples.
    let canary = world.metrics("prometheus", "canary");
    let targets = canary.iter().find(|m| &*m.name == "targets").unwrap();
    assert_eq!(targets.value, Some(2.0), "{targets:?}");
    let now = chrono::Utc::now();
    let judged = trainyard::model::slo::evaluate(targets, None, now);
    let text = trainyard::model::slo::blocker_text(targets, "canary", &judged).unwrap();
    assert!(text.starts_with("targets 2 > 1 at canary "), "{text}");
    assert!(
        text.contains("for the last ") || text.ends_with(" now"),
        "{text}"
    );
    // Through the gate: prod's slo gate reads canary's metrics.
    let mut train = config.train.clone();
    train
        .policy
        .insert("prod".into(), vec![trainyard::model::Gate::Slo(None)]);
    let mut w = world.clone();
    for stage in ["build", "canary"] {
        let mut c = trainyard::model::Cell::new("pipe", trainyard::model::CellState::Succeeded);
        c.version = Some("abc1234".into());
        c.updated_at = Some(now);
        w.apply(trainyard::model::SourceReport {
            source: "pipe".into(),
            at: now,
            outcome: Ok(trainyard::model::Batch {
                cells: vec![(trainyard::model::CellKey::new("prometheus", stage), c)],
                ..Default::default()
            }),
        });
    }
    let v = trainyard::model::policy::verdict(
        &train,
        &w,
        &Default::default(),
        now,
        train.lane("prometheus").unwrap(),
        2,
    );
    assert!(
        v.blockers
            .iter()
            .any(|b| b.kind == trainyard::model::BlockerKind::Slo
                && b.message.starts_with("targets 2 > 1 at canary ")),
        "{:?}",
        v.blockers
    );

    // The simulator's numbers, scraped by Prometheus, measured by the source: canary and the
    // stable baseline.
    let m = world.metrics("notifications", "canary");
    let e = m.iter().find(|m| &*m.name == "error_rate").unwrap();
    assert!(e.value.is_some() && !e.series.is_empty(), "{e:?}");
    assert!(
        e.baseline.is_some() && !e.baseline_series.is_empty(),
        "{e:?}"
    );

    // Grouped: the same value and series as the query of each cell, matched by labels; a
    // cell the answer doesn't mention has no data, and no error.
    for stage in ["canary", "prod"] {
        for lane in ["notifications", "notification.", "prometheus"] {
            let m = world.metrics(lane, stage);
            let one = m.iter().find(|m| &*m.name == "error_cell").unwrap();
            let all = m.iter().find(|m| &*m.name == "error_grouped").unwrap();
            assert!(
                all.error.is_none() && one.error.is_none(),
                "{all:?} {one:?}"
            );
            assert_eq!(all.value, one.value, "{lane} {stage}");
            assert_eq!(all.series, one.series, "{lane} {stage}");
            assert_eq!(all.value.is_some(), lane == "notifications", "{all:?}");
        }
    }
    // The stable side, grouped by lane and stage too: only canary has one.
    let grouped = |stage: &str| {
        world
            .metrics("notifications", stage)
            .iter()
            .find(|m| &*m.name == "error_grouped")
            .unwrap()
    };
    assert!(
        grouped("canary").baseline.is_some(),
        "{:?}",
        grouped("canary")
    );
    assert!(grouped("prod").baseline.is_none(), "{:?}", grouped("prod"));
    sim.shutdown().await;
}
