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

use trainyard::model::{ActionKind, Batch, CellKey, CellState, Holds, Metric, SourceReport, World};
use trainyard::ops::{self, Action, Outcome};
use trainyard::poll;
use trainyard::sim::ChaosSpec;
use trainyard::sources::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use trainyard::status;

use common::bin::{Trainyard, trainyard};
use common::sim::{self, Demo, opts};
use common::wait::{ok_if, until, until_async};

/// Far longer than any fault should take to be noticed: hitting it is the failure.
const OUTER: Duration = Duration::from_secs(120);

/// The timeout of `sources` set to 1 s in a config's text, so that faults show quickly.
fn quick_for<'a>(names: &'a [&'a str]) -> impl FnOnce(String) -> String + 'a {
    move |text| {
        let mut out = String::new();
        for line in text.lines() {
            out.push_str(line);
            out.push('\n');
            let name = line
                .strip_prefix("[sources.")
                .and_then(|r| r.strip_suffix(']'));
            if name.is_some_and(|n| names.is_empty() || names.contains(&n)) {
                out.push_str("timeout = \"1s\"\n");
            }
            // Every GitHub cell read at every poll (2 s), settled or not: a fault shows at
            // the next poll.
            if name == Some("gh") {
                out.push_str("settled_interval = \"2s\"\n");
            }
        }
        out
    }
}

/// Every source's timeout at 1 s (and the gh source's settled cells read every poll).
fn quick(text: String) -> String {
    quick_for(&[])(text)
}

/// The simulator in-process with the demo's three sources (http, github, prometheus), every
/// one of them quick to time out.
async fn demo() -> Demo {
    sim::demo_edited(opts(), quick).await
}

fn spec(s: &str) -> ChaosSpec {
    ChaosSpec::parse(s).unwrap()
}

async fn poll_round(sources: &[Arc<dyn Source>]) -> Vec<SourceReport> {
    tokio::time::timeout(OUTER, poll::poll_once(sources))
        .await
        .expect("a poll round never finished: a source is not bounded by its deadline")
}

/// The kinds of fault the simulator counts (`GET /_sim/chaos`, `faults`).
const FAULTS: [&str; 7] = [
    "latency",
    "hang",
    "ratelimit",
    "errors",
    "drop",
    "malformed",
    "slow",
];

/// Requests the simulator counted since the spec was set, per API and in all.
fn requests(state: &Value, api: &str) -> u64 {
    state["requests"][api].as_u64().unwrap()
}

fn all_requests(state: &Value) -> u64 {
    ["http", "github", "prometheus"]
        .iter()
        .map(|a| requests(state, a))
        .sum()
}

/// The simulator injected `kind` into `injured` requests and nothing else into any.
fn assert_only_fault(state: &Value, kind: &str, injured: u64) {
    for f in FAULTS {
        let n = state["faults"][f].as_u64().unwrap();
        if f == kind {
            assert_eq!(n, injured, "{kind}: {state}");
        } else {
            assert_eq!(n, 0, "{kind}: no {f} expected: {state}");
        }
    }
}

/// Every metric the config measures with `source`, each with a value and no error.
fn assert_all_measured(config: &trainyard::config::Config, world: &World, source: &str) {
    let mut n = 0;
    for m in config.metrics.iter().filter(|m| m.source == source) {
        for lane in &config.train.lanes {
            for stage in &m.stages {
                let got: Vec<&Metric> = world
                    .metrics(&lane.name, stage)
                    .iter()
                    .filter(|x| *x.name == *m.name)
                    .collect();
                assert_eq!(got.len(), 1, "{} {} {stage}", m.name, lane.name);
                assert!(
                    got[0].value.is_some() && got[0].error.is_none(),
                    "{} {} {stage}: {:?}",
                    m.name,
                    lane.name,
                    got[0]
                );
                n += 1;
            }
        }
    }
    assert!(n > 0, "{source} measures nothing");
}

/// Every cell of the lanes `source` reads, with a version.
fn assert_cells_of(config: &trainyard::config::Config, world: &World, source: &str) {
    let cells: Vec<_> = config.targets_of(source).collect();
    assert!(!cells.is_empty(), "{source} reads no cell");
    for (k, _) in cells {
        let c = world
            .cell(&k.lane, &k.stage)
            .unwrap_or_else(|| panic!("{source}: no {k}"));
        assert_eq!(c.source, source, "{k}");
        assert!(c.version.is_some(), "{k}: {c:?}");
    }
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
    let world = std::cell::RefCell::new(d.config.empty_world());
    // A good round: every source answered and ledger@canary measured whole (a poll's budget
    // may cut Prometheus short on a busy machine: then the next round is awaited).
    until_async("a round with every source answering", OUTER, || {
        let (round, world) = (poll_round(&d.sources), &world);
        async move {
            let reports = round.await;
            let ok = reports.iter().all(|r| r.outcome.is_ok());
            let said = format!("{reports:?}");
            let mut world = world.borrow_mut();
            for r in reports {
                world.apply(r);
            }
            let metrics = world.metrics("ledger", "canary");
            let measured = !metrics.is_empty()
                && metrics
                    .iter()
                    .all(|m| m.value.is_some() && m.error.is_none());
            ok_if(ok && measured, || said)
        }
    })
    .await;
    let mut world = world.into_inner();
    let before: BTreeMap<CellKey, (Option<String>, CellState)> = world
        .cells()
        .map(|(k, c)| (k.clone(), (c.version.clone(), c.state)))
        .collect();
    assert!(before.len() >= 32, "the demo's train: {}", before.len());
    let metric_before = world.metrics("ledger", "canary").to_vec();
    assert!(!metric_before.is_empty());

    d.handle.set_chaos(spec(mode));
    // The next poll of the gh source: its cells are due again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
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
    // What the simulator did: the mode's fault, to every request of the round (a 429 storm:
    // the first request of each API, then every request during the storm), and no other.
    let injected = d.chaos().await;
    let kind = mode.split(['=', ',']).next().unwrap();
    let storm: u64 = ["http", "github", "prometheus"]
        .iter()
        .map(|a| injected["during_storm"][a].as_u64().unwrap())
        .sum();
    assert!(all_requests(&injected) > 0, "{mode}: {injected}");
    assert_only_fault(&injected, kind, all_requests(&injected) - storm);
    for api in ["http", "github", "prometheus"] {
        assert!(
            requests(&injected, api) > 0,
            "{mode}: no {api} request: {injected}"
        );
    }

    // The fault ends: the data comes back without anyone doing anything.
    d.handle.set_chaos(ChaosSpec::default());
    let world = std::cell::RefCell::new(world);
    until_async(
        &format!("the data to come back after {mode}"),
        OUTER,
        || {
            let (round, world) = (poll_round(&d.sources), &world);
            async move {
                let reports = round.await;
                no_panic(&reports);
                let mut world = world.borrow_mut();
                for r in reports {
                    world.apply(r);
                }
                let now = poll::now();
                let mut wrong: Vec<String> = world
                    .cells()
                    .filter(|(_, c)| world.is_stale(c, now) || world.cell_error(c).is_some())
                    .map(|(k, c)| format!("{k}: {:?}", world.cell_error(c)))
                    .collect();
                wrong.extend(
                    world
                        .metrics("ledger", "canary")
                        .iter()
                        .filter(|m| world.metric_stale(m, now) || m.error.is_some())
                        .map(|m| format!("ledger canary {}: {:?}", m.name, m.error)),
                );
                ok_if(wrong.is_empty(), || wrong.join("\n"))
            }
        },
    )
    .await;
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

/// Every request is late, but within the sources' (default) timeouts: the whole train comes
/// in — every cell with its version, every metric measured — and the simulator delayed every
/// request it got, and did nothing else to any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_within_the_timeout_is_only_slower() {
    let d = sim::demo(opts()).await;
    d.handle.set_chaos(spec("latency=100ms"));
    let reports = poll_round(&d.sources).await;
    let mut world = d.config.empty_world();
    for r in reports {
        assert!(r.outcome.is_ok(), "{}: {:?}", r.source, r.outcome);
        world.apply(r);
    }
    assert_cells_of(&d.config, &world, "sim");
    assert_cells_of(&d.config, &world, "gh");
    assert_all_measured(&d.config, &world, "prom");
    let now = poll::now();
    assert!(world.cells().all(|(_, c)| !world.is_stale(c, now)));
    let state = d.chaos().await;
    assert_only_fault(&state, "latency", all_requests(&state));
    for api in ["http", "github", "prometheus"] {
        assert!(requests(&state, api) > 0, "no {api} request: {state}");
    }
    d.handle.shutdown().await;
}

/// Only one API misbehaves: its source fails, saying it timed out, while the others bring
/// their whole part of the train; the simulator hung every GitHub request and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_api_leaves_the_other_sources_updating() {
    let d = sim::demo_edited(opts(), quick_for(&["gh"])).await;
    d.handle.set_chaos(spec("hang=1,only=github"));
    let reports = poll_round(&d.sources).await;
    let by: BTreeMap<&str, &SourceReport> =
        reports.iter().map(|r| (r.source.as_str(), r)).collect();
    assert!(by["sim"].outcome.is_ok(), "{:?}", by["sim"].outcome);
    assert!(by["prom"].outcome.is_ok(), "{:?}", by["prom"].outcome);
    let e = by["gh"].outcome.as_ref().unwrap_err();
    assert!(
        e.contains("timed out") || e.contains("no answer"),
        "gh: {e}"
    );
    let mut world = d.config.empty_world();
    for r in reports {
        world.apply(r);
    }
    assert_cells_of(&d.config, &world, "sim");
    assert_all_measured(&d.config, &world, "prom");
    let state = d.chaos().await;
    assert!(requests(&state, "github") > 0, "{state}");
    assert!(
        requests(&state, "http") > 0 && requests(&state, "prometheus") > 0,
        "{state}"
    );
    assert_only_fault(&state, "hang", requests(&state, "github"));
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
    let state = d.chaos().await;
    // One request to the http API in all; Prometheus' first wave (8 in flight at most), not
    // the ~200 queries of a poll, and the Argo CD list (its `/api/v1/` paths count as
    // Prometheus' here); GitHub's first round of concurrent requests.
    assert_eq!(state["requests"]["http"], 1, "{state}");
    let prom = state["requests"]["prometheus"].as_u64().unwrap();
    assert!(
        prom <= trainyard::config::DEFAULT_MAX_IN_FLIGHT as u64 + 1,
        "{state}"
    );
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
    let (_dir, runner) = d.runner();
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
    until_async("the pause to reach the simulator", OUTER, || async {
        let actions = d.actions().await;
        ok_if(actions.iter().any(|a| a["action"] == "pause"), || {
            format!("{actions:#?}")
        })
    })
    .await;
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
    let pauses = d
        .actions()
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
    let handle = sim::start_with_chaos(opts(), spec("errors=1")).await;
    let base = handle.base_url();
    let client = sim::client();
    let train = |c: &reqwest::Client| c.get(format!("{base}/v1/train")).send();
    let r = train(&client).await.unwrap();
    assert!(r.status().is_server_error(), "{}", r.status());
    let chaos_state = |base: String| {
        tokio::task::spawn_blocking(move || common::http::get_json(&base, "/_sim/chaos"))
    };
    let state = chaos_state(base.clone()).await.unwrap();
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
    assert_eq!(
        chaos_state(base.clone()).await.unwrap()["spec"],
        "errors=1",
        "unchanged"
    );

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
        let handle = sim::start_with_chaos(opts(), spec(&format!("errors=0.5,seed={seed}"))).await;
        let client = sim::client();
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
    const TIMEOUT: &[&str] = &["timed out", "no answer", "ran out of time"];
    const MODES: [(&str, &[&str]); 7] = [
        ("errors=1", &["HTTP 500", "HTTP 503"]),
        ("hang=1", TIMEOUT),
        ("slow=1", TIMEOUT),
        ("drop=1", &["connection closed", "reset", "request failed"]),
        (
            "malformed=1",
            &["not JSON", "no \"cells\" array", "unexpected shape"],
        ),
        ("ratelimit=1,retry_after=1s", &["429", "rate limit"]),
        ("latency=4s", TIMEOUT),
    ];
    let threads: Vec<_> = MODES
        .iter()
        .map(|(mode, says)| std::thread::spawn(move || status_under(mode, says)))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn status_under(mode: &str, says: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--chaos", mode]);
    let path = dir.path().join("config.toml");
    std::fs::write(&path, quick(sim.config.clone())).unwrap();
    let run = trainyard(dir.path(), &path, &["status", "--json"]);
    assert_eq!(run.code, 1, "{mode}: {run}");
    assert!(!run.stderr.contains("panicked"), "{mode}: {}", run.stderr);
    let v: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{mode}: {e}: {}", run.stdout));
    let sources = v["sources"].as_array().unwrap();
    let sim_src = sources.iter().find(|s| s["name"] == "sim").unwrap();
    assert_eq!(sim_src["ok"], false, "{mode}: {sim_src}");
    let e = sim_src["error"].as_str().unwrap_or_default();
    assert!(
        says.iter().any(|w| e.contains(w)),
        "{mode}: sim says {e:?}, expected one of {says:?}"
    );
    assert_eq!(v["lanes"].as_array().unwrap().len(), 9, "the whole train");
    let cell = &v["lanes"][0]["cells"][0];
    assert_eq!(cell["stale"], true, "{mode}: {cell}");
    assert!(
        cell["error"].as_str().unwrap().starts_with("source sim: "),
        "{mode}: {cell}"
    );

    // The fault ends (the simulator's knob), and the train is whole again.
    sim.set_chaos("");
    let v = until(
        &format!("status to be whole again after {mode}"),
        OUTER,
        || {
            let run = trainyard(dir.path(), &path, &["status", "--json"]);
            ok_if(run.code == 0, || run.to_string()).map(|()| run.json())
        },
    );
    assert!(
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true),
        "{v}"
    );
    assert_eq!(v["lanes"][0]["cells"][0]["stale"], false);
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
    let sim = sim::spawn(dir.path(), &[]);
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
            let _ = tx.send(trainyard(&dir, &config, &["status", "--json"]));
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
    let lane = |n: &str| common::status::lane(&v, n).clone();
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
            vec!["sim", "--chaos", "only=gitea"],
            "unknown API \"gitea\"",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let r = Trainyard::new(dir.path()).args(&args).run();
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains(says), "{args:?}: {r}");
    }
}
