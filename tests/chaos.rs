//! Faults never freeze trainyard (docs/chaos.md): the simulator's chaos modes against the real
//! sources, the poller, the action runner and `trainyard status --json`.
//!
//! Every wait here has a generous outer limit so that a regression fails instead of hanging;
//! nothing asserts how long anything took.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use trainyard::config::{self, Config};
use trainyard::model::{ActionKind, Batch, CellKey, CellState, Holds, SourceReport};
use trainyard::ops::audit::AuditLog;
use trainyard::ops::{self, Action, Outcome, Runner};
use trainyard::poll;
use trainyard::sim::{self, ChaosSpec, SimOptions};
use trainyard::sources::{self, ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use trainyard::status;

/// Far longer than any fault should take to be noticed: hitting it is the failure.
const OUTER: Duration = Duration::from_secs(120);

fn opts() -> SimOptions {
    SimOptions {
        lanes: 8,
        seed: 7,
        speed: 1.0,
        ..Default::default()
    }
}

/// A config with every source's timeout at 1 s, so that faults show quickly.
fn quick(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("[sources.") {
            out.push_str("timeout = \"1s\"\n");
        }
    }
    out
}

struct Demo {
    handle: sim::SimHandle,
    config: Config,
    sources: Vec<Arc<dyn Source>>,
}

/// The simulator in-process with the demo's three sources (http, github, prometheus).
async fn demo() -> Demo {
    let handle = sim::start("127.0.0.1:0".parse().unwrap(), opts())
        .await
        .unwrap();
    let text = quick(&sim::demo_config(
        &handle.base_url(),
        &opts(),
        chrono::Utc::now(),
    ));
    let config = config::parse(&text, "<demo>").unwrap();
    let sources = sources::build(&config);
    Demo {
        handle,
        config,
        sources,
    }
}

fn spec(s: &str) -> ChaosSpec {
    ChaosSpec::parse(s).unwrap()
}

async fn poll_round(sources: &[Arc<dyn Source>]) -> Vec<SourceReport> {
    tokio::time::timeout(OUTER, poll::poll_once(sources))
        .await
        .expect("a poll round never finished: a source is not bounded by its deadline")
}

/// The simulator's own account of the chaos (`GET /_sim/chaos`).
async fn chaos_state(base: &str) -> Value {
    reqwest::get(format!("{base}/_sim/chaos"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A poll that no panic reached: `poll_source` turns a panic into "internal error while
/// polling".
fn no_panic(reports: &[SourceReport]) {
    for r in reports {
        if let Err(e) = &r.outcome {
            assert!(
                !e.contains("internal error while polling"),
                "{}: {e}",
                r.source
            );
        }
    }
}

/// The heart of item 1, for one fault: a good poll; then the fault, and every source it hits
/// is named with its error while its cells keep their last good data, marked stale with the
/// error (the world, and `status --json` built from it); then the fault ends and the data
/// comes back by itself.
async fn fault_then_recovery(mode: &str, failing: &[&str], says: &[&str]) {
    let d = demo().await;
    let mut world = d.config.empty_world();
    for r in poll_round(&d.sources).await {
        assert!(r.outcome.is_ok(), "{}: {:?}", r.source, r.outcome);
        world.apply(r);
    }
    let before: BTreeMap<CellKey, (Option<String>, CellState)> = world
        .cells()
        .map(|(k, c)| (k.clone(), (c.version.clone(), c.state)))
        .collect();
    assert!(before.len() >= 32, "the demo's train: {}", before.len());
    let metric_before = world.metrics("ledger", "canary").to_vec();
    assert!(!metric_before.is_empty());

    d.handle.set_chaos(spec(mode));
    let reports = poll_round(&d.sources).await;
    no_panic(&reports);
    for r in reports {
        world.apply(r);
    }
    let now = poll::now();
    for name in failing {
        let s = world.source(name).unwrap();
        let e = s.error.clone().unwrap_or_default();
        assert!(!s.ok, "{mode}: source {name} should have failed");
        assert!(
            says.iter().any(|w| e.contains(w)),
            "{mode}: source {name} says {e:?}, expected one of {says:?}"
        );
    }
    for (k, c) in world.cells() {
        if !failing.contains(&c.source.as_str()) {
            continue;
        }
        assert_eq!(
            before.get(k),
            Some(&(c.version.clone(), c.state)),
            "{mode}: {k} lost its last good data"
        );
        assert!(world.is_stale(c, now), "{mode}: {k} is not marked stale");
        let err = world.cell_error(c).unwrap_or_default();
        assert!(
            err.starts_with(&format!("source {}: ", c.source)),
            "{mode}: {k}: {err:?}"
        );
    }
    if failing.contains(&"prom") {
        assert_eq!(
            world.metrics("ledger", "canary").len(),
            metric_before.len(),
            "{mode}: ledger@canary lost metrics"
        );
        for (m, was) in world.metrics("ledger", "canary").iter().zip(&metric_before) {
            assert_eq!(m.value, was.value, "{mode}: {} lost its value", m.name);
            assert!(world.metric_stale(m, now), "{mode}: {} not stale", m.name);
        }
    }

    // status --json says the same: the failed sources with their errors, stale cells with
    // their last good version and the error.
    let json = status::to_json(
        &d.config,
        &trainyard::engine::judge(&d.config, world.clone(), now),
    );
    let sources = json["sources"].as_array().unwrap();
    for name in failing {
        let s = sources
            .iter()
            .find(|s| s["name"] == *name)
            .unwrap_or_else(|| panic!("{mode}: {name} missing from status --json"));
        assert_eq!(s["ok"], false, "{mode}: {s}");
        assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()), "{s}");
    }
    let ledger = &json["lanes"][0];
    assert_eq!(ledger["name"], "ledger");
    let build = &ledger["cells"][0];
    if failing.contains(&"sim") {
        assert_eq!(build["stale"], true, "{mode}: {build}");
        assert!(build["age_seconds"].is_u64(), "{build}");
        assert_eq!(
            build["version"].as_str(),
            before[&CellKey::new("ledger", "build")].0.as_deref()
        );
        assert!(
            build["error"].as_str().unwrap().starts_with("source sim: "),
            "{build}"
        );
    }
    if failing.contains(&"prom") {
        let m = &ledger["cells"][2]["metrics"][0];
        assert_eq!(m["stale"], true, "{mode}: {m}");
        assert!(m["value"].is_number(), "{m}");
        assert!(
            m["error"].as_str().unwrap().starts_with("source prom: "),
            "{m}"
        );
    }
    let injected = chaos_state(&d.handle.base_url()).await;
    let faults: u64 = injected["faults"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(faults > 0, "{mode}: nothing was injected: {injected}");

    // The fault ends: the data comes back without anyone doing anything.
    d.handle.set_chaos(ChaosSpec::default());
    let recovered = tokio::time::timeout(OUTER, async {
        loop {
            let reports = poll::poll_once(&d.sources).await;
            no_panic(&reports);
            let ok = reports.iter().all(|r| r.outcome.is_ok());
            for r in reports {
                world.apply(r);
            }
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(recovered.is_ok(), "{mode}: the data never came back");
    let now = poll::now();
    for (k, c) in world.cells() {
        assert!(!world.is_stale(c, now), "{mode}: {k} still stale");
        assert_eq!(world.cell_error(c), None, "{mode}: {k}");
    }
    for m in world.metrics("ledger", "canary") {
        assert!(!world.metric_stale(m, now) && m.error.is_none(), "{m:?}");
    }
    d.handle.shutdown().await;
}

const ALL: &[&str] = &["sim", "gh", "prom"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_mark_cells_stale_and_recover() {
    // Prometheus answers half of them in its own error envelope: the metrics carry those
    // errors, the source itself still answered.
    fault_then_recovery("errors=1", &["sim", "gh"], &["HTTP 500", "HTTP 503"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_requests_time_out_mark_cells_stale_and_recover() {
    fault_then_recovery(
        "hang=1",
        ALL,
        &["timed out", "no answer", "ran out of time"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_are_cut_by_the_total_timeout_and_recover() {
    // GitHub's conditional requests are answered 304 when nothing changed: no body to
    // trickle, so the gh source may well stay up (as against a real slow link).
    fault_then_recovery(
        "slow=1",
        &["sim", "prom"],
        &["timed out", "no answer", "ran out of time"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_mark_cells_stale_and_recover() {
    fault_then_recovery(
        "drop=1",
        ALL,
        &["connection closed", "reset", "request failed"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_mark_cells_stale_and_recover() {
    fault_then_recovery(
        "malformed=1",
        ALL,
        &[
            "not JSON",
            "no \"cells\" array",
            "unexpected shape",
            "not a Prometheus answer",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_marks_cells_stale_and_recovers_after_retry_after() {
    fault_then_recovery(
        "ratelimit=1,retry_after=2s",
        ALL,
        &["429", "rate limit", "rate limited"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_beyond_the_timeout_marks_cells_stale_and_recovers() {
    fault_then_recovery(
        "latency=4s",
        ALL,
        &["timed out", "no answer", "ran out of time"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_within_the_timeout_is_only_slower() {
    let d = demo().await;
    d.handle.set_chaos(spec("latency=100ms"));
    let reports = poll_round(&d.sources).await;
    for r in &reports {
        assert!(r.outcome.is_ok(), "{}: {:?}", r.source, r.outcome);
    }
    let state = chaos_state(&d.handle.base_url()).await;
    assert!(state["faults"]["latency"].as_u64().unwrap() > 0, "{state}");
    d.handle.shutdown().await;
}

/// Only one API misbehaves: its source fails, the others keep updating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_api_leaves_the_other_sources_updating() {
    let d = demo().await;
    d.handle.set_chaos(spec("hang=1,only=github"));
    let reports = poll_round(&d.sources).await;
    let by: BTreeMap<&str, &SourceReport> =
        reports.iter().map(|r| (r.source.as_str(), r)).collect();
    assert!(by["sim"].outcome.is_ok(), "{:?}", by["sim"].outcome);
    assert!(by["prom"].outcome.is_ok(), "{:?}", by["prom"].outcome);
    assert!(by["gh"].outcome.is_err());
    d.handle.shutdown().await;
}

/// A source whose poll never finishes (not even its own timeouts fire).
struct Stuck;

impl Source for Stuck {
    fn name(&self) -> &str {
        "stuck"
    }
    fn kind(&self) -> &'static str {
        "http"
    }
    fn interval(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn timeout(&self) -> Duration {
        Duration::from_millis(300)
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(std::future::pending())
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(std::future::pending())
    }
}

/// The poller's deadline is the last line of defence: a poll stuck forever (a client without
/// timeouts, a bug) still ends as a failed report, and the poll task delivers it. Fails if
/// `poll_source` loses its timeout.
#[tokio::test]
async fn the_poll_deadline_ends_a_poll_that_never_finishes() {
    let stuck: Arc<dyn Source> = Arc::new(Stuck);
    let report = tokio::time::timeout(OUTER, poll::poll_source(stuck.as_ref()))
        .await
        .expect("poll_source waited forever: the poll deadline is gone");
    let e = report.outcome.unwrap_err();
    assert!(e.starts_with("no answer within"), "{e}");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut poller = poll::Poller::spawn(&[stuck], tx);
    let r = tokio::time::timeout(OUTER, rx.recv())
        .await
        .expect("the poll task never reported")
        .unwrap();
    assert!(r.outcome.unwrap_err().starts_with("no answer within"));
    poller.stop();
}

/// Each source's own HTTP timeouts, without the poller's deadline around them: a hung request
/// and a body that trickles forever both end in a timeout. The trickle only ends by the total
/// timeout (every byte arrives well within the read timeout). Fails if the clients lose their
/// timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_times_out_by_itself_on_a_hang_and_a_trickle() {
    let d = demo().await;
    for mode in ["hang=1", "slow=1"] {
        d.handle.set_chaos(spec(mode));
        for src in &d.sources {
            let r = tokio::time::timeout(OUTER, src.poll())
                .await
                .unwrap_or_else(|_| panic!("{mode}: {} has no timeout of its own", src.name()));
            let e = r
                .err()
                .unwrap_or_else(|| panic!("{mode}: {} succeeded", src.name()));
            assert!(
                e.contains("timed out") || e.contains("ran out of time"),
                "{mode}: {}: {e}",
                src.name()
            );
        }
    }
    d.handle.shutdown().await;
}

/// A 429 storm: each source stops asking until the `retry-after` has passed — the http source
/// sends nothing more, Prometheus' remaining queries are not sent, GitHub waits — and the
/// poller waits at least as long before the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_not_hammered() {
    let d = demo().await;
    d.handle.set_chaos(spec("ratelimit=1,retry_after=60s"));
    for src in &d.sources {
        let e = src.poll().await.unwrap_err();
        assert!(
            e.contains("429") || e.contains("rate limit"),
            "{}: {e}",
            src.name()
        );
        let held = src.held_for().unwrap_or_default();
        assert!(
            held > Duration::from_secs(30),
            "{}: held for {held:?}",
            src.name()
        );
        // Asked again at once: refused without a request.
        let e = src.poll().await.unwrap_err();
        assert!(e.contains("rate limited"), "{}: {e}", src.name());
    }
    let state = chaos_state(&d.handle.base_url()).await;
    // One request to the http API in all; Prometheus' first wave (8 in flight at most), not
    // the ~200 queries of a poll; GitHub's first round of concurrent requests.
    assert_eq!(state["requests"]["http"], 1, "{state}");
    let prom = state["requests"]["prometheus"].as_u64().unwrap();
    assert!(prom <= sources::prometheus::MAX_IN_FLIGHT as u64, "{state}");
    let gh = state["requests"]["github"].as_u64().unwrap();
    assert!(gh <= 10, "{state}");

    // The poller: the next try waits for the storm, and says so.
    let http: Vec<Arc<dyn Source>> = d
        .sources
        .iter()
        .filter(|s| s.name() == "sim")
        .cloned()
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut poller = poll::Poller::spawn(&http, tx);
    let r = tokio::time::timeout(OUTER, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let e = r.outcome.unwrap_err();
    assert!(
        e.contains("rate limited") && e.contains("next try in"),
        "{e}"
    );
    poller.stop();
    d.handle.shutdown().await;
}

fn runner(config: &Config, sources: &[Arc<dyn Source>]) -> (tempfile::TempDir, Runner) {
    let dir = tempfile::tempdir().unwrap();
    let audit = AuditLog::new(dir.path().join("audit.jsonl"));
    (dir, Runner::new(config, sources, audit, false))
}

async fn sim_actions(base: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{base}/v1/_sim/actions"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["actions"].as_array().unwrap().clone()
}

/// The nasty case: the source did the action and the answer was lost (the connection dropped).
/// The runner must not call it failed (a retry could fire it twice): it watches the cell, and
/// when the fault ends it sees the action done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_whose_answer_is_lost_is_watched_and_verified_not_failed() {
    let d = demo().await;
    let mut world = d.config.empty_world();
    for r in poll_round(&d.sources).await {
        world.apply(r);
    }
    let (lane, stage) = world
        .cells()
        .find(|(_, c)| c.state == CellState::Running && c.source == "sim")
        .map(|(k, _)| (k.lane.clone(), k.stage.clone()))
        .expect("the demo has something running");
    let plan = ops::preflight(
        Action::new(ActionKind::Pause, &lane, &stage),
        &d.config.train,
        &world,
        &Holds::default(),
        poll::now(),
    )
    .unwrap();
    let (_dir, runner) = runner(&d.config, &d.sources);
    let runner = Arc::new(runner);
    d.handle.set_chaos(spec("drop=1,only=http"));
    let (tx, mut said) = tokio::sync::mpsc::unbounded_channel::<String>();
    let run = {
        let runner = Arc::clone(&runner);
        tokio::spawn(async move {
            let progress = move |m: String| {
                let _ = tx.send(m);
            };
            runner.run(&plan, false, &progress).await
        })
    };
    // The "look again" poll before sending is dropped too (it only skips that check); then
    // the action goes out, is done by the simulator, and its answer is lost.
    let base = d.handle.base_url();
    let arrived = tokio::time::timeout(OUTER, async {
        loop {
            if sim_actions(&base)
                .await
                .iter()
                .any(|a| a["action"] == "pause")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(arrived.is_ok(), "the pause never reached the simulator");
    let watching = tokio::time::timeout(OUTER, async {
        while let Some(m) = said.recv().await {
            if m.contains("watching the cell") {
                return m;
            }
        }
        String::new()
    })
    .await
    .unwrap();
    assert!(watching.contains("no answer from sim"), "{watching}");
    d.handle.set_chaos(ChaosSpec::default());
    let outcome = tokio::time::timeout(OUTER, run).await.unwrap().unwrap();
    assert!(
        matches!(outcome, Outcome::Done(ref m) if m.contains("paused")),
        "{outcome:?}"
    );
    let pauses = sim_actions(&base)
        .await
        .into_iter()
        .filter(|a| a["action"] == "pause")
        .count();
    assert_eq!(pauses, 1, "sent once, never retried");
    d.handle.shutdown().await;
}

/// The knob: `POST /_sim/chaos` with a spec changes the faults at once, `GET` says what was
/// injected, a bad spec is refused naming the bad part, an empty body ends the fault.
#[tokio::test]
async fn the_chaos_knob_changes_reports_and_refuses_bad_specs() {
    let handle = sim::start_with_chaos("127.0.0.1:0".parse().unwrap(), opts(), spec("errors=1"))
        .await
        .unwrap();
    let base = handle.base_url();
    let client = reqwest::Client::new();
    let train = |c: &reqwest::Client| c.get(format!("{base}/v1/train")).send();
    let r = train(&client).await.unwrap();
    assert!(r.status().is_server_error(), "{}", r.status());
    let state = chaos_state(&base).await;
    assert_eq!(state["spec"], "errors=1");
    assert_eq!(state["faults"]["errors"], 1);
    assert_eq!(state["seed"], 7, "the simulator's seed by default");

    let bad = client
        .post(format!("{base}/_sim/chaos"))
        .body("errors=0.5,explode=1")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("\"explode=1\": unknown fault"), "{msg}");
    assert_eq!(chaos_state(&base).await["spec"], "errors=1", "unchanged");

    let set = client
        .post(format!("{base}/_sim/chaos"))
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(handle.chaos().to_string(), "off");
    assert!(train(&client).await.unwrap().status().is_success());
    handle.shutdown().await;
}

/// The same seed and spec fail the same requests.
#[tokio::test]
async fn which_requests_fail_is_deterministic_under_the_seed() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let handle = sim::start_with_chaos(
            "127.0.0.1:0".parse().unwrap(),
            opts(),
            spec(&format!("errors=0.5,seed={seed}")),
        )
        .await
        .unwrap();
        let client = reqwest::Client::new();
        let mut out = Vec::new();
        for _ in 0..24 {
            let r = client
                .get(format!("{}/v1/train", handle.base_url()))
                .send()
                .await
                .unwrap();
            out.push(r.status().is_success());
        }
        handle.shutdown().await;
        out
    }
    let a = pattern(1).await;
    assert_eq!(a, pattern(1).await);
    assert_ne!(a, pattern(2).await);
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
}

// ---- the real binary ----

/// `trainyard status --json` against a `trainyard sim --chaos MODE` process, for every mode at
/// once: it finishes, exits 1 naming the failed sources with their errors in `sources[]`,
/// prints the whole train, and nothing panics; then the fault is switched off at runtime and
/// the next status is whole again (exit 0).
#[test]
fn status_json_under_every_chaos_mode_names_the_failed_source_and_recovers() {
    let modes = [
        "errors=1",
        "hang=1",
        "slow=1",
        "drop=1",
        "malformed=1",
        "ratelimit=1,retry_after=1s",
        "latency=4s",
    ];
    let threads: Vec<_> = modes
        .iter()
        .map(|mode| {
            let mode = mode.to_string();
            std::thread::spawn(move || status_under(&mode))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn status_under(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sim = common::start_sim(dir.path(), &["--chaos", mode]);
    let path = dir.path().join("config.toml");
    std::fs::write(&path, quick(&sim.config)).unwrap();
    let run = common::trainyard(dir.path(), &path, &["status", "--json"]);
    assert_eq!(run.code, 1, "{mode}: {}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{mode}: {}", run.stderr);
    let v: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{mode}: {e}: {}", run.stdout));
    let sources = v["sources"].as_array().unwrap();
    let sim_src = sources.iter().find(|s| s["name"] == "sim").unwrap();
    assert_eq!(sim_src["ok"], false, "{mode}: {sim_src}");
    assert!(
        sim_src["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{mode}: {sim_src}"
    );
    assert_eq!(v["lanes"].as_array().unwrap().len(), 8, "the whole train");
    let cell = &v["lanes"][0]["cells"][0];
    assert_eq!(cell["stale"], true, "{mode}: {cell}");
    assert!(
        cell["error"].as_str().unwrap().starts_with("source sim: "),
        "{mode}: {cell}"
    );

    // The fault ends (the simulator's knob), and the train is whole again.
    let r = post(&sim.base_url, "/_sim/chaos", "");
    assert!(
        r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200"),
        "{r}"
    );
    let start = std::time::Instant::now();
    loop {
        let run = common::trainyard(dir.path(), &path, &["status", "--json"]);
        if run.code == 0 {
            let v: Value = serde_json::from_str(&run.stdout).unwrap();
            assert!(
                v["sources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|s| s["ok"] == true)
            );
            assert_eq!(v["lanes"][0]["cells"][0]["stale"], false);
            break;
        }
        assert!(
            start.elapsed() < OUTER,
            "{mode}: never recovered: {}",
            run.stdout
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A plain HTTP POST on loopback; the raw answer.
fn post(base_url: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let addr = base_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// A listener that accepts connections and never answers, for as long as the test lives.
fn black_hole() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    url
}

/// `status --json` with a source nothing listens on and three hung ones (one of each kind):
/// it finishes within their timeouts, exits 1, and names each failed source with its error;
/// the simulator's lanes are fresh. Run under an outer limit: a hang fails the test.
#[test]
fn status_json_with_unreachable_and_hung_sources_finishes_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let sim = common::start_sim(dir.path(), &[]);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let hole = black_hole();
    let extra = format!(
        r#"
[sources.dead]
kind = "http"
url = "{dead}"
timeout = "1s"

[sources.hung]
kind = "http"
url = "{hole}"
timeout = "1s"

[sources.hunggh]
kind = "github"
api_url = "{hole}/api/v3"
timeout = "1s"

[sources.hungprom]
kind = "prometheus"
url = "{hole}"
timeout = "1s"

[[lanes]]
name = "orphan"
source = "dead"

[[lanes]]
name = "stuck"
source = "hung"

[[lanes]]
name = "stuckgh"
source = "hunggh"
repo = "acme/stuckgh"
stages.build = {{ workflow = "ci.yml" }}
stages.staging = {{ environment = "staging" }}
stages.canary = {{ environment = "canary" }}
stages.prod = {{ environment = "production" }}

[[metrics]]
name = "hung_rate"
source = "hungprom"
query = 'up{{job="{{lane}}"}}'
threshold = {{ max = 1 }}
stages = ["canary"]
"#
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("{}\n{extra}", sim.config)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let dir = dir.path().to_path_buf();
        let config = config.clone();
        std::thread::spawn(move || {
            let _ = tx.send(common::trainyard(&dir, &config, &["status", "--json"]));
        });
    }
    let run = rx
        .recv_timeout(OUTER)
        .expect("status --json never finished with a hung source");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let sources: BTreeMap<String, Value> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s.clone()))
        .collect();
    for (name, says) in [
        ("dead", "connection"),
        ("hung", "timed out"),
        ("hunggh", "timed out"),
        ("hungprom", "timed out"),
    ] {
        let s = &sources[name];
        assert_eq!(s["ok"], false, "{s}");
        let e = s["error"].as_str().unwrap();
        assert!(e.contains(says), "{name}: {e}");
    }
    for name in ["sim", "gh", "prom"] {
        assert_eq!(sources[name]["ok"], true, "{}", sources[name]);
    }
    let lane = |n: &str| {
        v["lanes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == n)
            .unwrap()
            .clone()
    };
    for (n, src) in [("orphan", "dead"), ("stuck", "hung"), ("stuckgh", "hunggh")] {
        let c = &lane(n)["cells"][0];
        assert_eq!(c["stale"], true, "{c}");
        assert!(
            c["error"]
                .as_str()
                .unwrap()
                .starts_with(&format!("source {src}: ")),
            "{c}"
        );
    }
    assert_eq!(lane("ledger")["cells"][0]["stale"], false);
}

/// A bad `--chaos` is a usage error naming the bad part, for `sim` and `demo` alike.
#[test]
fn a_bad_chaos_spec_is_a_usage_error_naming_the_bad_part() {
    for (args, says) in [
        (
            vec!["sim", "--chaos", "errors=2"],
            "\"errors=2\": \"2\" is out of range",
        ),
        (
            vec!["demo", "--chaos", "latency=1s,bogus"],
            "\"bogus\": unknown fault \"bogus\"",
        ),
        (
            vec!["sim", "--chaos", "only=gitlab"],
            "unknown API \"gitlab\"",
        ),
    ] {
        let out = std::process::Command::new(common::BIN)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
