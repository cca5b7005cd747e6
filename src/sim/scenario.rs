//! The simulated release train, pure: no clock, no IO.
//!
//! A [`Scenario`] is a set of lanes × stages whose cells run operations (builds, rollouts,
//! rollbacks) that finish at known times, plus metrics sampled at fixed intervals. Time moves
//! only through [`Scenario::tick`] / [`Scenario::advance`]: every event between the old and the
//! new time is applied at its own instant, in order, so the train at a given time is the same
//! however often it was looked at in between.
//!
//! Scenario time ("pace") runs `speed` times faster than wall time: at speed 1 a rollout takes
//! 8–20 s, at speed 10 it takes a second or two. Timestamps in the payload are wall time.
//!
//! The payload is built here with `serde_json::json!`, never with trainyard's model types: a
//! parser tested against a server that shares its structs proves nothing.

use std::collections::{HashMap, VecDeque};
use std::f64::consts::TAU;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::SimOptions;
use super::rng::{between, mix, pick, sha, unit};
use super::roster::{LaneSpec, roster};

/// The stages of the simulated train, in order.
pub const STAGES: [&str; 4] = ["build", "staging", "canary", "prod"];
const BUILD: usize = 0;
const STAGING: usize = 1;
const CANARY: usize = 2;
const PROD: usize = 3;

/// The metrics measured at staging, canary and prod: name, unit, threshold max.
pub(crate) const METRICS: [(&str, &str, f64); 3] = [
    ("error_rate", "ratio", 0.01),
    ("latency_p99", "seconds", 0.5),
    ("saturation", "ratio", 0.8),
];
const ERR: usize = 0;
const LAT: usize = 1;
const SAT: usize = 2;
/// Points kept per metric series.
pub const SERIES_LEN: usize = 30;
/// Entries kept per cell history.
const HISTORY_LEN: usize = 10;
/// Build checks and the progress at which each one passes (the last passes at the end).
const BUILD_CHECKS: [(&str, f64); 3] = [
    ("lint", 0.2),
    ("unit-tests", 0.55),
    ("integration-tests", 1.0),
];
const STAGING_CHECK: &str = "e2e-smoke";

const PEOPLE: [&str; 6] = [
    "dana.kim",
    "raj.patel",
    "maria.chen",
    "lee.wong",
    "sam.okafor",
    "ines.alves",
];
const TITLES: [&str; 20] = [
    "add idempotency keys to refunds",
    "bump tokio to 1.54",
    "retry webhook delivery with jitter",
    "cache currency rates for 60s",
    "split settlement job by region",
    "fix N+1 query in order history",
    "drop legacy v1 endpoints",
    "rotate signing keys monthly",
    "structured logs for the batch runner",
    "raise connection pool to 64",
    "feature flag: one-click reorder",
    "migrate sessions to redis cluster",
    "tighten CSP headers",
    "paginate the admin export",
    "upgrade base image to bookworm",
    "trace spans around the payment call",
    "reduce cold start by lazy config",
    "backfill missing sku attributes",
    "rate-limit password reset",
    "handle leap seconds in scheduler",
];

// Hash tags: what a random choice is about.
const T_VER: u64 = 1;
const T_TITLE: u64 = 2;
const T_BAD: u64 = 3;
const T_PR: u64 = 4;
const T_TPL: u64 = 5;
const T_AGE: u64 = 6;
const T_ACTOR: u64 = 7;
const T_BASE: u64 = 8;
const T_NOISE: u64 = 9;
const T_OP: u64 = 10;
const T_BUILD: u64 = 11;
const T_FAIL: u64 = 12;
const T_HIST: u64 = 13;
const T_TOOK: u64 = 14;
const T_NOISE_SHARED: u64 = 15;
/// The part of a metric's noise that canary and prod share.
const SHARED_NOISE: f64 = 0.75;

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Cell states the simulator uses, spelled as the protocol spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Running,
    AwaitingApproval,
    Succeeded,
    Failed,
    Paused,
    RollingBack,
    RolledBack,
    Cancelled,
}

impl St {
    fn as_str(self) -> &'static str {
        match self {
            St::Running => "running",
            St::AwaitingApproval => "awaiting_approval",
            St::Succeeded => "succeeded",
            St::Failed => "failed",
            St::Paused => "paused",
            St::RollingBack => "rolling_back",
            St::RolledBack => "rolled_back",
            St::Cancelled => "cancelled",
        }
    }

    fn words(self) -> &'static str {
        match self {
            St::AwaitingApproval => "awaiting approval",
            St::RollingBack => "rolling back",
            St::RolledBack => "rolled back",
            other => other.as_str(),
        }
    }
}

/// A version of a lane: a commit with a title, good or quietly bad.
#[derive(Clone, Debug)]
struct Ver {
    sha: String,
    title: &'static str,
    pr: i64,
    /// Misbehaves once deployed: its error rate and latency climb.
    bad: bool,
}

impl Ver {
    fn short(&self) -> &str {
        &self.sha[..7]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Build,
    Deploy,
    Rollback,
}

impl OpKind {
    fn as_str(self) -> &'static str {
        match self {
            OpKind::Build => "build",
            OpKind::Deploy => "deploy",
            OpKind::Rollback => "rollback",
        }
    }
}

/// Something moving in a cell: it needs `dur` ms of running time; `done` ms are behind it;
/// `resumed` is when it last started running (None while paused).
#[derive(Clone, Debug)]
struct Op {
    kind: OpKind,
    dur: i64,
    done: i64,
    resumed: Option<i64>,
    /// A build that will fail: the check that fails.
    fails: Option<&'static str>,
}

impl Op {
    fn new(kind: OpKind, dur: i64, now: i64) -> Op {
        Op {
            kind,
            dur: dur.max(1),
            done: 0,
            resumed: Some(now),
            fails: None,
        }
    }

    fn progress(&self, now: i64) -> f64 {
        let ran = self.done + self.resumed.map_or(0, |r| (now - r).max(0));
        (ran as f64 / self.dur as f64).clamp(0.0, 1.0)
    }

    fn due(&self) -> Option<i64> {
        self.resumed.map(|r| r + self.dur - self.done)
    }

    fn pause(&mut self, now: i64) {
        if let Some(r) = self.resumed.take() {
            self.done = (self.done + now - r).min(self.dur);
        }
    }

    fn resume(&mut self, now: i64) {
        self.resumed.get_or_insert(now);
    }
}

/// A cell's earlier run: what it ran, how it ended, when and by whom.
#[derive(Clone, Debug)]
struct Hist {
    ver: Ver,
    state: St,
    at: i64,
    actor: String,
    /// The run that did it.
    run: u64,
    /// When it started running (or, if it never ran, when it was created).
    started: i64,
    /// It ran at all (a deploy rejected while waiting for approval never did).
    ran: bool,
    message: String,
    checks: Vec<(&'static str, &'static str)>,
}

#[derive(Clone, Debug)]
struct CellSim {
    ver: Ver,
    state: St,
    started: i64,
    updated: i64,
    run: u64,
    actor: String,
    /// The message of a settled or paused cell; moving cells describe their progress.
    message: String,
    /// Checks of a settled cell (a running build derives its checks from its progress).
    checks: Vec<(&'static str, &'static str)>,
    awaiting_reviewers: Vec<String>,
    history: Vec<Hist>,
    op: Option<Op>,
    /// The current run started running (false while it waits for approval, and after a
    /// rejection).
    ran: bool,
}

impl CellSim {
    /// The cell as a history entry, as it stands.
    fn snapshot(&self) -> Hist {
        Hist {
            ver: self.ver.clone(),
            state: self.state,
            at: self.updated,
            actor: self.actor.clone(),
            run: self.run,
            started: self.started,
            ran: self.ran,
            message: self.message.clone(),
            checks: self.checks.clone(),
        }
    }

    fn push_history(&mut self, h: Hist) {
        self.history.insert(0, h);
        self.history.truncate(HISTORY_LEN);
    }
}

struct LaneSim {
    spec: LaneSpec,
    idx: u64,
    cells: Vec<CellSim>,
    /// Versions made so far (the next build is version number `builds`).
    builds: u64,
    next_build: i64,
    /// The next build is the fix for the failing one: it passes.
    fix_next: bool,
    base: [f64; 3],
    phase: f64,
    /// Per (stage - 1) * 3 + metric: (unix seconds, value), oldest first.
    series: Vec<VecDeque<(i64, f64)>>,
}

struct Run {
    lane: usize,
    stage: usize,
    sha: String,
    kind: OpKind,
    started: i64,
    actor: String,
}

/// An accepted action: answered `202` with `{"accepted": true, "id", "message"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ack {
    pub id: Option<String>,
    pub message: String,
}

impl Ack {
    pub fn to_json(&self) -> Value {
        json!({"accepted": true, "id": self.id, "message": self.message})
    }
}

/// A refused action: an HTTP status, a protocol error code and a message for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Reject {
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

fn invalid(m: impl Into<String>) -> Reject {
    Reject {
        status: 400,
        code: "invalid",
        message: m.into(),
    }
}
fn not_found(m: impl Into<String>) -> Reject {
    Reject {
        status: 404,
        code: "not_found",
        message: m.into(),
    }
}
fn conflict(m: impl Into<String>) -> Reject {
    Reject {
        status: 409,
        code: "conflict",
        message: m.into(),
    }
}
fn unsupported(m: impl Into<String>) -> Reject {
    Reject {
        status: 422,
        code: "unsupported",
        message: m.into(),
    }
}

/// How a cell starts out.
#[derive(Clone, Copy)]
enum Init {
    /// Succeeded this many seconds ago.
    Ok(i64),
    /// Moving: this far along an operation of this many seconds.
    Run(f64, i64),
    /// Failed this many seconds ago, on this check.
    Fail(i64, &'static str),
    /// Waiting for approval since this many seconds ago.
    Approval(i64),
}

/// How a lane starts out: which of its versions 0..=4 sits at each stage, in what state.
struct Template {
    vers: [u64; 4],
    init: [Init; 4],
    bad: Option<u64>,
    first_build: i64,
    fix_next: bool,
}

fn template(seed: u64, i: usize) -> Template {
    use Init::*;
    let t = |vers, init, first_build| Template {
        vers,
        init,
        bad: None,
        first_build,
        fix_next: false,
    };
    let m = 60;
    let h = 3600;
    let d = 86400;
    match i {
        // ledger: a slow canary rollout (schema migration) that payments-api waits for.
        0 => t(
            [4, 4, 4, 3],
            [Ok(30 * m), Ok(25 * m), Run(0.2, 180), Ok(2 * d)],
            420,
        ),
        // payments-api: through staging, held back from canary by ledger.
        1 => t(
            [3, 3, 2, 2],
            [Ok(40 * m), Ok(20 * m), Ok(d), Ok(d + 2 * h)],
            480,
        ),
        // checkout-web: waiting for approval at prod.
        2 => t(
            [2, 2, 2, 2],
            [Ok(4 * h), Ok(3 * h), Ok(50 * m), Approval(6 * m)],
            540,
        ),
        // auth-service: the new build failed its integration tests; a fix arrives later.
        3 => Template {
            fix_next: true,
            ..t(
                [4, 3, 3, 3],
                [
                    Fail(4 * m, "integration-tests"),
                    Ok(2 * h),
                    Ok(90 * m),
                    Ok(40 * m),
                ],
                150,
            )
        },
        // search-indexer: a build about to finish.
        4 => t(
            [4, 3, 3, 3],
            [Run(0.6, 40), Ok(5 * h), Ok(4 * h), Ok(3 * h)],
            75,
        ),
        // notifications: a canary rollout of a version whose error rate will climb.
        5 => Template {
            bad: Some(3),
            ..t(
                [3, 3, 3, 2],
                [Ok(50 * m), Ok(35 * m), Run(0.35, 30), Ok(d)],
                600,
            )
        },
        // inventory: soaking at canary, ready for prod in a minute or so.
        6 => t(
            [3, 3, 3, 2],
            [Ok(70 * m), Ok(30 * m), Ok(50), Ok(2 * d)],
            260,
        ),
        // pricing-engine: a staging rollout under way.
        7 => t(
            [4, 4, 3, 3],
            [Ok(12 * m), Run(0.25, 24), Ok(h), Ok(50 * m)],
            120,
        ),
        _ => {
            let r = |k: u64, lo: i64, hi: i64| between(mix(seed, &[T_TPL, i as u64, k]), lo, hi);
            let a = r(1, 10 * m, 6 * h);
            let first = r(2, 45, 400);
            match r(0, 0, 3) {
                0 => t(
                    [3, 3, 3, 3],
                    [Ok(a + 3 * h), Ok(a + 2 * h), Ok(a + h), Ok(a)],
                    first,
                ),
                1 => t(
                    [4, 4, 3, 3],
                    [Ok(a + 20 * m), Ok(a), Ok(a + 2 * h), Ok(a + h)],
                    first,
                ),
                2 => {
                    let p = r(3, 10, 80) as f64 / 100.0;
                    t(
                        [4, 3, 3, 3],
                        [Run(p, r(4, 30, 60)), Ok(a + 2 * h), Ok(a + h), Ok(a)],
                        first.max(90),
                    )
                }
                _ => t(
                    [3, 3, 3, 2],
                    [Ok(a + h), Ok(a), Ok(r(5, 20, 600)), Ok(a + d)],
                    first,
                ),
            }
        }
    }
}

/// The pace of the simulation, within what it supports.
fn clamp_speed(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(0.01, 1000.0)
    } else {
        1.0
    }
}

/// Scenario ms between two metric samples: one per 5 s of scenario time, but never more than
/// one per wall second (series points carry whole unix seconds).
fn sample_every(speed: f64) -> i64 {
    (5 * SEC).max((1000.0 * speed).ceil() as i64)
}

/// The wall time a metric series spans at `speed`: [`SERIES_LEN`] samples (150 s at speed 1,
/// 37.5 s at speed 4, 30 s from speed 5 on). The demo's metrics look back this far.
pub fn series_span(speed: f64) -> Duration {
    let speed = clamp_speed(speed);
    let ms = SERIES_LEN as f64 * sample_every(speed) as f64 / speed;
    Duration::from_millis(ms.round() as u64)
}

/// One metric series of one lane × stage (see [`Scenario::metric_series`]).
pub(crate) struct MetricSeries<'a> {
    /// The metric's name in `/v1/train` (`error_rate`, `latency_p99`, `saturation`).
    pub name: &'static str,
    pub lane: &'a str,
    pub stage: &'static str,
    /// The stable side (the baseline of a canary) rather than the stage's own version.
    pub stable: bool,
    /// (unix seconds, value), oldest first.
    pub points: &'a VecDeque<(i64, f64)>,
}

/// The simulated release train.
pub struct Scenario {
    seed: u64,
    speed: f64,
    t0: DateTime<Utc>,
    /// Scenario time in ms since `t0` ("pace"; runs `speed` times faster than the wall).
    now: i64,
    base_url: String,
    lanes: Vec<LaneSim>,
    sample_every: i64,
    next_sample: i64,
    serial: u64,
    first_run: u64,
    runs: Vec<Run>,
    accepted: HashMap<String, Ack>,
    /// Serve attack strings (`--hostile`, see `hostile.rs`).
    hostile: bool,
}

impl Scenario {
    /// A train mid-flight at wall time `t0`. `base_url` is where run links point.
    pub fn new(opts: &SimOptions, t0: DateTime<Utc>, base_url: &str) -> Scenario {
        let speed = clamp_speed(opts.speed);
        let sample_every = sample_every(speed);
        let seed = opts.seed;
        let mut sc = Scenario {
            seed,
            speed,
            t0,
            now: 0,
            base_url: base_url.trim_end_matches('/').to_string(),
            lanes: Vec::new(),
            sample_every,
            next_sample: 0,
            serial: 0,
            first_run: 4100 + seed % 900,
            runs: Vec::new(),
            accepted: HashMap::new(),
            hostile: opts.hostile,
        };
        for (i, spec) in roster(opts.lanes).into_iter().enumerate() {
            sc.add_lane(i, spec);
        }
        sc.renumber_runs();
        // Metrics come with a past: fill the series up to now.
        for k in -(SERIES_LEN as i64 - 1)..=0 {
            sc.now = k * sample_every;
            sc.sample();
        }
        sc.now = 0;
        sc.next_sample = sample_every;
        sc
    }

    fn add_lane(&mut self, i: usize, spec: LaneSpec) {
        let seed = self.seed;
        let idx = i as u64;
        let tpl = template(seed, i);
        let h = |tag: u64, k: u64| mix(seed, &[tag, idx, k]);
        let base = [
            0.001 + 0.003 * unit(h(T_BASE, 0)),
            0.12 + 0.2 * unit(h(T_BASE, 1)),
            0.3 + 0.3 * unit(h(T_BASE, 2)),
        ];
        let mut lane = LaneSim {
            spec,
            idx,
            cells: Vec::with_capacity(STAGES.len()),
            builds: 5,
            next_build: tpl.first_build * SEC,
            fix_next: tpl.fix_next,
            base,
            phase: unit(h(T_BASE, 3)),
            series: vec![VecDeque::with_capacity(SERIES_LEN); 3 * METRICS.len()],
        };
        let li = self.lanes.len();
        for s in 0..STAGES.len() {
            let k = tpl.vers[s];
            let ver = make_ver(seed, idx, k, tpl.bad == Some(k));
            let actor = if s == BUILD {
                "ci".to_string()
            } else {
                pick(h(T_ACTOR, s as u64), &PEOPLE).to_string()
            };
            let (state, started, updated, op, message, checks) = match tpl.init[s] {
                Init::Ok(ago) => {
                    let updated = -ago * SEC;
                    let took = between(h(T_AGE, s as u64), 40, 300) * SEC;
                    (
                        St::Succeeded,
                        updated - took,
                        updated,
                        None,
                        done_message(s, &ver, pods(s)),
                        settled_checks(s, None),
                    )
                }
                Init::Run(p, dur) => {
                    let kind = if s == BUILD {
                        OpKind::Build
                    } else {
                        OpKind::Deploy
                    };
                    let dur = dur * SEC;
                    let done = (p * dur as f64) as i64;
                    let op = Op {
                        kind,
                        dur,
                        done,
                        resumed: Some(0),
                        fails: None,
                    };
                    (
                        St::Running,
                        -done,
                        -done,
                        Some(op),
                        String::new(),
                        Vec::new(),
                    )
                }
                Init::Fail(ago, check) => {
                    let updated = -ago * SEC;
                    (
                        St::Failed,
                        updated - 6 * MIN,
                        updated,
                        None,
                        fail_message(check),
                        settled_checks(s, Some(check)),
                    )
                }
                Init::Approval(ago) => {
                    let at = -ago * SEC;
                    (
                        St::AwaitingApproval,
                        at,
                        at,
                        None,
                        "waiting for approval of production".to_string(),
                        Vec::new(),
                    )
                }
            };
            let mut history = Vec::new();
            let mut at = started;
            for j in (k.saturating_sub(3)..k).rev() {
                at -= between(mix(seed, &[T_HIST, idx, s as u64, j]), 18 * HOUR, 40 * HOUR);
                let took = between(mix(seed, &[T_TOOK, idx, s as u64, j]), 40, 300) * SEC;
                let who = if s == BUILD {
                    "ci"
                } else {
                    pick(mix(seed, &[T_ACTOR, idx, s as u64, j]), &PEOPLE)
                };
                let ver = make_ver(seed, idx, j, tpl.bad == Some(j));
                let kind = if s == BUILD {
                    OpKind::Build
                } else {
                    OpKind::Deploy
                };
                let run = self.new_run(li, s, &ver.sha, kind, at - took, who);
                history.push(Hist {
                    message: done_message(s, &ver, pods(s)),
                    ver,
                    state: St::Succeeded,
                    at,
                    actor: who.to_string(),
                    run,
                    started: at - took,
                    ran: true,
                    checks: settled_checks(s, None),
                });
            }
            let awaiting_reviewers = if state == St::AwaitingApproval {
                lane.spec.prod_reviewers.clone()
            } else {
                vec![]
            };
            let kind = match &op {
                Some(op) => op.kind,
                None if s == BUILD => OpKind::Build,
                None => OpKind::Deploy,
            };
            let run = self.new_run(li, s, &ver.sha, kind, started, &actor);
            lane.cells.push(CellSim {
                ran: state != St::AwaitingApproval,
                ver,
                state,
                started,
                updated,
                run,
                actor,
                message,
                checks,
                awaiting_reviewers,
                history,
                op,
            });
        }
        self.lanes.push(lane);
    }

    /// Give the runs of the starting train ids in the order they started, as a CI system
    /// would have: a later run has a larger id, and so do the runs made from here on.
    fn renumber_runs(&mut self) {
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_by_key(|&i| {
            let r = &self.runs[i];
            (r.started, r.lane, r.stage, i)
        });
        let mut pos = vec![0u64; order.len()];
        for (new, &old) in order.iter().enumerate() {
            pos[old] = new as u64;
        }
        let first = self.first_run;
        let renum = |id: &mut u64| *id = first + pos[(*id - first) as usize];
        let mut old: Vec<Option<Run>> = std::mem::take(&mut self.runs)
            .into_iter()
            .map(Some)
            .collect();
        self.runs = order.iter().filter_map(|&i| old[i].take()).collect();
        for lane in &mut self.lanes {
            for cell in &mut lane.cells {
                renum(&mut cell.run);
                for h in &mut cell.history {
                    renum(&mut h.run);
                }
            }
        }
    }

    fn new_run(
        &mut self,
        lane: usize,
        stage: usize,
        sha: &str,
        kind: OpKind,
        started: i64,
        actor: &str,
    ) -> u64 {
        self.runs.push(Run {
            lane,
            stage,
            sha: sha.to_string(),
            kind,
            started,
            actor: actor.to_string(),
        });
        self.first_run + self.runs.len() as u64 - 1
    }

    // ---------------------------------------------------------------- time

    /// The wall time the scenario has reached.
    pub fn now(&self) -> DateTime<Utc> {
        self.wall(self.now)
    }

    fn wall(&self, pace: i64) -> DateTime<Utc> {
        self.t0 + TimeDelta::milliseconds((pace as f64 / self.speed).round() as i64)
    }

    fn ts(&self, pace: i64) -> String {
        self.wall(pace).to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Move to wall time `now`, applying every event on the way. Time never goes backwards.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        let wall_ms = (now - self.t0).num_milliseconds();
        self.advance_to((wall_ms as f64 * self.speed) as i64);
    }

    /// Move `dt` of wall time forward.
    pub fn advance(&mut self, dt: Duration) {
        let pace = (dt.as_millis() as f64 * self.speed) as i64;
        self.advance_to(self.now.saturating_add(pace));
    }

    fn advance_to(&mut self, target: i64) {
        loop {
            let next = self.next_event();
            if next > target {
                break;
            }
            self.now = self.now.max(next);
            self.fire();
        }
        self.now = self.now.max(target);
    }

    fn next_event(&self) -> i64 {
        let mut t = self.next_sample;
        for lane in &self.lanes {
            t = t.min(lane.next_build);
            for c in &lane.cells {
                if let Some(d) = c.op.as_ref().and_then(Op::due) {
                    t = t.min(d);
                }
            }
        }
        t
    }

    /// Apply everything due at `self.now`: finished operations, new builds, then a metrics
    /// sample (which sees the state after the changes of the same instant).
    fn fire(&mut self) {
        let now = self.now;
        for li in 0..self.lanes.len() {
            for s in 0..STAGES.len() {
                if self.lanes[li].cells[s]
                    .op
                    .as_ref()
                    .and_then(Op::due)
                    .is_some_and(|d| d <= now)
                {
                    self.finish(li, s);
                }
            }
        }
        for li in 0..self.lanes.len() {
            if self.lanes[li].next_build <= now {
                self.new_build(li);
            }
        }
        if self.next_sample <= now {
            self.sample();
            self.next_sample += self.sample_every;
        }
    }

    fn finish(&mut self, li: usize, s: usize) {
        let now = self.now;
        let cell = &mut self.lanes[li].cells[s];
        let Some(op) = cell.op.take() else { return };
        cell.updated = now;
        match (op.kind, op.fails) {
            (OpKind::Build, Some(check)) => {
                cell.state = St::Failed;
                cell.message = fail_message(check);
                cell.checks = settled_checks(s, Some(check));
            }
            (OpKind::Rollback, _) => {
                cell.state = St::Succeeded;
                let n = pods(s);
                cell.message = format!("rolled back to {}: {n}/{n} pods ready", cell.ver.short());
                cell.checks = settled_checks(s, None);
            }
            _ => {
                cell.state = St::Succeeded;
                cell.message = done_message(s, &cell.ver, pods(s));
                cell.checks = settled_checks(s, None);
            }
        }
    }

    /// CI produces a new version of a lane: a build starts at the build stage.
    fn new_build(&mut self, li: usize) {
        let (seed, now) = (self.seed, self.now);
        let lane = &mut self.lanes[li];
        let idx = lane.idx;
        let n = lane.builds;
        let h = |tag: u64| mix(seed, &[tag, idx, n]);
        if lane.cells[BUILD].op.is_some() {
            // CI is still busy with the previous build of this lane: queue.
            lane.next_build = now + 30 * SEC;
            return;
        }
        lane.builds += 1;
        lane.next_build = now + between(h(T_BUILD), 90, 300) * SEC;
        let mut ver = make_ver(seed, idx, n, unit(h(T_BAD)) < 0.08);
        let fails = if lane.fix_next {
            lane.fix_next = false;
            ver.title = "fix race in TokenRefreshTest";
            None
        } else if unit(h(T_FAIL)) < 0.15 {
            Some(pick(
                h(T_FAIL) >> 8,
                &[
                    "unit-tests",
                    "integration-tests",
                    "integration-tests",
                    "lint",
                ],
            ))
        } else {
            None
        };
        let mut op = Op::new(OpKind::Build, between(h(T_OP), 20, 45) * SEC, now);
        op.fails = fails;
        let cell = &mut lane.cells[BUILD];
        let old = cell.snapshot();
        cell.push_history(old);
        let sha = ver.sha.clone();
        *cell = CellSim {
            ver,
            state: St::Running,
            started: now,
            updated: now,
            run: 0,
            actor: "ci".into(),
            message: String::new(),
            checks: Vec::new(),
            awaiting_reviewers: vec![],
            history: std::mem::take(&mut cell.history),
            op: Some(op),
            ran: true,
        };
        let run = self.new_run(li, BUILD, &sha, OpKind::Build, now, "ci");
        self.lanes[li].cells[BUILD].run = run;
    }

    // ---------------------------------------------------------------- metrics

    fn sample(&mut self) {
        let t = self.now;
        let stamp = self.wall(t).timestamp();
        let k = t.div_euclid(self.sample_every) as u64;
        for li in 0..self.lanes.len() {
            for s in STAGING..=PROD {
                for (m, &(_, unit, _)) in METRICS.iter().enumerate() {
                    let target = self.metric_target(li, s, m, t, k);
                    let series = &mut self.lanes[li].series[(s - 1) * 3 + m];
                    let v = match series.back() {
                        Some(&(_, prev)) => 0.5 * prev + 0.5 * target,
                        None => target,
                    };
                    let v = if unit == "ratio" {
                        v.clamp(0.0, 1.0)
                    } else {
                        v.max(0.0)
                    };
                    let v = (v * 1e5).round() / 1e5;
                    if series.len() == SERIES_LEN {
                        series.pop_front();
                    }
                    series.push_back((stamp, v));
                }
            }
        }
    }

    fn metric_target(&self, li: usize, s: usize, m: usize, t: i64, k: u64) -> f64 {
        const STAGE_FACTOR: [[f64; 3]; 4] =
            [[0.0; 3], [0.7, 0.85, 0.5], [1.0, 1.0, 0.9], [1.0, 1.0, 1.0]];
        let lane = &self.lanes[li];
        let cell = &lane.cells[s];
        let base = lane.base[m] * STAGE_FACTOR[s][m];
        // A slow daily-traffic-like swell, compressed to ten minutes.
        let wave =
            1.0 + 0.12 * (TAU * (t as f64 / (10 * MIN) as f64 + lane.phase + m as f64 * 0.3)).sin();
        let amp = [0.25, 0.06, 0.03][m] * if s == STAGING { 1.6 } else { 1.0 };
        let own = unit(mix(self.seed, &[T_NOISE, lane.idx, s as u64, m as u64, k]));
        // Canary and prod serve the same traffic: most of their ups and downs are shared, so a
        // healthy canary looks like its stable side and canary analysis doesn't cry wolf.
        let u = if s >= CANARY {
            let shared = unit(mix(self.seed, &[T_NOISE_SHARED, lane.idx, m as u64, k]));
            SHARED_NOISE * shared + (1.0 - SHARED_NOISE) * own
        } else {
            own
        };
        let noise = 1.0 + amp * (2.0 * u - 1.0);
        let mut v = base * wave * noise;
        // A bad version shows under production traffic only: it passed staging.
        if s >= CANARY
            && cell.ver.bad
            && matches!(cell.state, St::Running | St::Succeeded | St::Paused)
        {
            let secs = (t - cell.started).max(0) as f64 / 1000.0;
            v += match m {
                ERR => (0.00008 * secs).min(0.04),
                LAT => (0.0015 * secs).min(0.4),
                _ => (0.0006 * secs).min(0.15),
            };
        }
        if cell.op.is_some() && m == SAT {
            v += 0.04;
        }
        v
    }

    /// Every metric series, as the Prometheus face shows them: grouped by metric (in
    /// [`METRICS`] order), then lane and stage; at canary the stable side (the baseline, prod's
    /// series) follows the canary side.
    pub(crate) fn metric_series(&self) -> Vec<MetricSeries<'_>> {
        let mut out = Vec::new();
        for (m, &(name, _, _)) in METRICS.iter().enumerate() {
            for lane in &self.lanes {
                for (s, stage) in STAGES.iter().enumerate().skip(STAGING) {
                    let series = |s: usize| &lane.series[(s - 1) * 3 + m];
                    out.push(MetricSeries {
                        name,
                        lane: &lane.spec.name,
                        stage,
                        stable: false,
                        points: series(s),
                    });
                    if s == CANARY {
                        out.push(MetricSeries {
                            name,
                            lane: &lane.spec.name,
                            stage,
                            stable: true,
                            points: series(PROD),
                        });
                    }
                }
            }
        }
        out
    }

    // ---------------------------------------------------------------- the payload

    /// `GET /v1/train` at the scenario's current time.
    pub fn train_json(&self) -> Value {
        let mut cells = Vec::new();
        let mut metrics = Vec::new();
        for lane in &self.lanes {
            for (s, c) in lane.cells.iter().enumerate() {
                cells.push(self.cell_json(lane, s, c));
            }
            for (s, stage) in STAGES.iter().enumerate().skip(STAGING) {
                for (m, (name, unit, max)) in METRICS.iter().enumerate() {
                    let series = &lane.series[(s - 1) * 3 + m];
                    let mut j = json!({
                        "lane": lane.spec.name,
                        "stage": stage,
                        "name": name,
                        "unit": unit,
                        "value": series.back().map(|p| p.1),
                        "threshold": {"max": max},
                        "series": series.iter().map(|&(t, v)| json!([t, v])).collect::<Vec<_>>(),
                    });
                    if s == CANARY {
                        let stable = &lane.series[(PROD - 1) * 3 + m];
                        j["baseline"] = json!(stable.back().map(|p| p.1));
                        j["baseline_series"] = json!(
                            stable
                                .iter()
                                .map(|&(t, v)| json!([t, v]))
                                .collect::<Vec<_>>()
                        );
                    }
                    metrics.push(j);
                }
            }
        }
        let mut doc = json!({
            "protocol": 1,
            "generated_at": self.ts(self.now),
            "cells": cells,
            "metrics": metrics,
        });
        if self.hostile {
            super::hostile::dress_train(&mut doc);
        }
        doc
    }

    /// Whether the simulator serves attack strings (`--hostile`).
    pub fn hostile(&self) -> bool {
        self.hostile
    }

    fn run_url(&self, run: u64) -> String {
        format!("{}/runs/{run}", self.base_url)
    }

    fn cell_json(&self, lane: &LaneSim, s: usize, c: &CellSim) -> Value {
        let url = self.run_url(c.run);
        let progress =
            c.op.as_ref()
                .map(|op| (op.progress(self.now) * 1000.0).round() / 1000.0);
        let message = match (&c.op, c.state) {
            (Some(op), St::Running | St::RollingBack) => {
                live_message(s, op, &c.ver, op.progress(self.now))
            }
            _ => c.message.clone(),
        };
        let checks: Vec<Value> = match &c.op {
            Some(op) if op.kind == OpKind::Build => {
                let p = op.progress(self.now);
                BUILD_CHECKS
                    .iter()
                    .map(|&(name, at)| {
                        let passed = at < 1.0 && p >= at && op.fails != Some(name);
                        (name, if passed { "passed" } else { "pending" })
                    })
                    .map(|(name, st)| json!({"name": name, "state": st, "url": format!("{url}#{name}")}))
                    .collect()
            }
            Some(_) if s == STAGING => vec![json!({"name": STAGING_CHECK, "state": "pending", "url": format!("{url}#{STAGING_CHECK}")})],
            _ => c
                .checks
                .iter()
                .map(|&(name, st)| json!({"name": name, "state": st, "url": format!("{url}#{name}")}))
                .collect(),
        };
        let approval = if c.state == St::AwaitingApproval {
            json!({"environment": environment(s), "reviewers": c.awaiting_reviewers})
        } else {
            Value::Null
        };
        let history: Vec<Value> = c
            .history
            .iter()
            .map(|h| json!({"version": h.ver.sha, "state": h.state.as_str(), "at": self.ts(h.at), "actor": h.actor}))
            .collect();
        // A source may warn about acting on a cell: payments-api's production deploys are
        // synced from git, so a rollback may not stick.
        let warnings: Vec<&str> = if s == PROD && lane.spec.name == "payments-api" {
            vec!["auto sync is on for production: the next sync may undo a rollback or pause"]
        } else {
            vec![]
        };
        json!({
            "lane": lane.spec.name,
            "stage": STAGES[s],
            "warnings": warnings,
            "version": c.ver.sha,
            "state": c.state.as_str(),
            "progress": progress,
            "updated_at": self.ts(c.updated),
            "started_at": self.ts(c.started),
            "url": url,
            "actor": c.actor,
            "message": message,
            "checks": checks,
            "approval": approval,
            "history": history,
        })
    }

    /// What the simulator knows about run `n` (the target of a cell's `url`).
    pub fn run_json(&self, n: u64) -> Option<Value> {
        let i = n.checked_sub(self.first_run)? as usize;
        let r = self.runs.get(i)?;
        Some(json!({
            "run": n,
            "kind": r.kind.as_str(),
            "lane": self.lanes[r.lane].spec.name,
            "stage": STAGES[r.stage],
            "version": r.sha,
            "started_at": self.ts(r.started),
            "actor": r.actor,
        }))
    }

    // ---------------------------------------------------------------- actions

    /// `POST /v1/actions` with a raw body.
    pub fn act_bytes(&mut self, body: &[u8]) -> Result<Ack, Reject> {
        let req: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
        self.act(&req)
    }

    /// `POST /v1/actions` with a parsed body, at the scenario's current time.
    pub fn act(&mut self, req: &Value) -> Result<Ack, Reject> {
        if !self.hostile {
            return self.act_plain(req);
        }
        // Versions come back as they were served; refusals say something hostile.
        let mut req = req.clone();
        if let Some(Value::String(v)) = req.get_mut("version") {
            *v = super::hostile::unversion(v);
        }
        match self.act_plain(&req) {
            Ok(mut ack) => {
                ack.message = super::hostile::with_attack(&ack.message);
                Ok(ack)
            }
            Err(mut r) => {
                r.message = super::hostile::with_attack(&r.message);
                Err(r)
            }
        }
    }

    fn act_plain(&mut self, req: &Value) -> Result<Ack, Reject> {
        let obj = req
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        let text = |k: &str| -> Result<Option<String>, Reject> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("`{k}` must be a string"))),
            }
        };
        let id = text("id")?;
        if let Some(ack) = id.as_ref().and_then(|id| self.accepted.get(id)) {
            // A duplicate delivery: answer as before, do nothing again.
            return Ok(ack.clone());
        }
        let action = text("action")?.ok_or_else(|| invalid("missing field `action`"))?;
        let lane = text("lane")?.ok_or_else(|| invalid("missing field `lane`"))?;
        let stage = text("stage")?.ok_or_else(|| invalid("missing field `stage`"))?;
        let version = text("version")?;
        let reason = text("reason")?.filter(|r| !r.trim().is_empty());
        let actor = text("actor")?
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "trainyard".into());
        const ACTIONS: [&str; 6] = [
            "promote", "pause", "resume", "rollback", "approve", "reject",
        ];
        if !ACTIONS.contains(&action.as_str()) {
            return Err(invalid(format!(
                "unknown action {action:?}; known actions: {}",
                ACTIONS.join(", ")
            )));
        }
        let li = self
            .lanes
            .iter()
            .position(|l| l.spec.name == lane)
            .ok_or_else(|| not_found(format!("no lane named {lane:?}")))?;
        let s = STAGES.iter().position(|&st| st == stage).ok_or_else(|| {
            not_found(format!(
                "no stage named {stage:?} (stages: {})",
                STAGES.join(", ")
            ))
        })?;
        let message = match action.as_str() {
            "promote" => self.promote(li, s, version, &actor),
            "pause" => self.pause(li, s, &actor, reason.as_deref()),
            "resume" => self.resume(li, s, &actor),
            "rollback" => self.rollback(li, s, version, &actor),
            "approve" => self.approve(li, s, &actor),
            _ => self.reject(li, s, &actor, reason.as_deref()),
        }?;
        let ack = Ack {
            id: id.clone(),
            message,
        };
        if let Some(id) = id {
            self.accepted.insert(id, ack.clone());
        }
        Ok(ack)
    }

    fn name(&self, li: usize, s: usize) -> String {
        format!("{} {}", self.lanes[li].spec.name, STAGES[s])
    }

    fn op_duration(&mut self, li: usize, s: usize, lo: i64, hi: i64) -> i64 {
        self.serial += 1;
        between(
            mix(
                self.seed,
                &[T_OP, self.lanes[li].idx, s as u64, self.serial],
            ),
            lo,
            hi,
        ) * SEC
    }

    fn promote(
        &mut self,
        li: usize,
        s: usize,
        version: Option<String>,
        actor: &str,
    ) -> Result<String, Reject> {
        let now = self.now;
        if s == BUILD {
            return Err(unsupported(
                "nothing is promoted into build: versions arrive there from CI",
            ));
        }
        let version =
            version.ok_or_else(|| invalid("promote needs `version`: the version to deploy"))?;
        let from = STAGES[s - 1];
        let prev = &self.lanes[li].cells[s - 1];
        if prev.ver.sha != version {
            return Err(conflict(format!(
                "{} has {} ({}), not {}: promote the version at {from}",
                self.name(li, s - 1),
                prev.ver.short(),
                prev.state.words(),
                short(&version)
            )));
        }
        if prev.state != St::Succeeded {
            return Err(conflict(format!(
                "{} is {} at {from}, not succeeded",
                prev.ver.short(),
                prev.state.words()
            )));
        }
        let ver = prev.ver.clone();
        let target = &self.lanes[li].cells[s];
        let busy = match target.state {
            St::Running => Some("is already rolling out"),
            St::RollingBack => Some("is rolling back to"),
            St::Paused => Some("has a paused rollout (resume or roll back first) of"),
            St::AwaitingApproval => Some("is waiting for approval of"),
            St::Succeeded if target.ver.sha == version => Some("already runs"),
            _ => None,
        };
        if let Some(what) = busy {
            return Err(conflict(format!(
                "{} {what} {}",
                self.name(li, s),
                target.ver.short()
            )));
        }
        let reviewers = if s == PROD {
            self.lanes[li].spec.prod_reviewers.clone()
        } else {
            vec![]
        };
        let op = if reviewers.is_empty() {
            Some(Op::new(OpKind::Deploy, self.op_duration(li, s, 8, 20), now))
        } else {
            None
        };
        let run = self.new_run(li, s, &ver.sha, OpKind::Deploy, now, actor);
        let cell = &mut self.lanes[li].cells[s];
        let old = cell.snapshot();
        cell.push_history(old);
        let short_v = ver.short().to_string();
        cell.ver = ver;
        cell.started = now;
        cell.updated = now;
        cell.run = run;
        cell.actor = actor.to_string();
        cell.checks.clear();
        cell.ran = op.is_some();
        Ok(if let Some(op) = op {
            cell.state = St::Running;
            cell.op = Some(op);
            cell.awaiting_reviewers = vec![];
            format!("promoting {short_v} to {}", STAGES[s])
        } else {
            cell.state = St::AwaitingApproval;
            cell.op = None;
            cell.message = format!("waiting for approval of {}", environment(s));
            cell.awaiting_reviewers = reviewers;
            format!(
                "promoting {short_v} to {}: waiting for approval of {}",
                STAGES[s],
                environment(s)
            )
        })
    }

    fn pause(
        &mut self,
        li: usize,
        s: usize,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        let cell = &mut self.lanes[li].cells[s];
        let (St::Running, Some(op)) = (cell.state, cell.op.as_mut()) else {
            return Err(conflict(format!(
                "{name} is {}: only a running rollout can be paused",
                cell.state.words()
            )));
        };
        op.pause(now);
        let p = op.progress(now);
        let at = match op.kind {
            OpKind::Build => format!("{:.0}%", p * 100.0),
            _ => format!("{}/{} pods", pods_done(s, p), pods(s)),
        };
        cell.state = St::Paused;
        cell.updated = now;
        cell.actor = actor.to_string();
        cell.message = match reason {
            Some(r) => format!("paused at {at} by {actor}: {r}"),
            None => format!("paused at {at} by {actor}"),
        };
        Ok(format!("pausing {name} at {at}"))
    }

    fn resume(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        let cell = &mut self.lanes[li].cells[s];
        let (St::Paused, Some(op)) = (cell.state, cell.op.as_mut()) else {
            return Err(conflict(format!(
                "{name} is {}, not paused",
                cell.state.words()
            )));
        };
        op.resume(now);
        cell.state = if op.kind == OpKind::Rollback {
            St::RollingBack
        } else {
            St::Running
        };
        cell.updated = now;
        cell.actor = actor.to_string();
        Ok(format!("resuming {name}"))
    }

    fn rollback(
        &mut self,
        li: usize,
        s: usize,
        version: Option<String>,
        actor: &str,
    ) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        if s == BUILD {
            return Err(unsupported(
                "builds are not deployed: there is nothing to roll back at build",
            ));
        }
        let cell = &self.lanes[li].cells[s];
        if cell.state == St::RollingBack {
            return Err(conflict(format!(
                "{name} is already rolling back to {}",
                cell.ver.short()
            )));
        }
        let pos = match &version {
            Some(v) if *v == cell.ver.sha && cell.state == St::Succeeded => {
                return Err(conflict(format!("{name} already runs {}", short(v))));
            }
            Some(v) => cell
                .history
                .iter()
                .position(|h| h.ver.sha == *v)
                .ok_or_else(|| {
                    not_found(format!("{} is not in the history of {name}", short(v)))
                })?,
            None => cell
                .history
                .iter()
                .position(|h| h.state == St::Succeeded && h.ver.sha != cell.ver.sha)
                .ok_or_else(|| {
                    conflict(format!(
                        "{name} has no earlier good version to roll back to"
                    ))
                })?,
        };
        let dur = self.op_duration(li, s, 4, 8);
        let target_sha = self.lanes[li].cells[s].history[pos].ver.sha.clone();
        let run = self.new_run(li, s, &target_sha, OpKind::Rollback, now, actor);
        let cell = &mut self.lanes[li].cells[s];
        let target = cell.history.remove(pos);
        let never_deployed = matches!(cell.state, St::AwaitingApproval | St::Cancelled);
        let old = Hist {
            state: if never_deployed {
                St::Cancelled
            } else {
                St::RolledBack
            },
            at: now,
            actor: actor.to_string(),
            message: match cell.state {
                // Rejected or cancelled before: that is how it ended.
                St::Cancelled => cell.message.clone(),
                St::AwaitingApproval => {
                    format!(
                        "cancelled by {actor}: rolled back to {}",
                        target.ver.short()
                    )
                }
                _ => format!("rolled back by {actor} to {}", target.ver.short()),
            },
            ..cell.snapshot()
        };
        let from = cell.ver.short().to_string();
        cell.push_history(old);
        cell.ver = target.ver;
        cell.ran = true;
        cell.state = St::RollingBack;
        cell.op = Some(Op::new(OpKind::Rollback, dur, now));
        cell.started = now;
        cell.updated = now;
        cell.run = run;
        cell.actor = actor.to_string();
        cell.checks.clear();
        cell.awaiting_reviewers = vec![];
        Ok(format!(
            "rolling back {name} from {from} to {}",
            cell.ver.short()
        ))
    }

    fn approve(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        if self.lanes[li].cells[s].state != St::AwaitingApproval {
            let st = self.lanes[li].cells[s].state;
            return Err(conflict(format!(
                "{name} is {}, not waiting for approval",
                st.words()
            )));
        }
        let dur = self.op_duration(li, s, 8, 20);
        let cell = &mut self.lanes[li].cells[s];
        cell.state = St::Running;
        cell.ran = true;
        cell.op = Some(Op::new(OpKind::Deploy, dur, now));
        cell.started = now;
        cell.updated = now;
        cell.actor = actor.to_string();
        cell.awaiting_reviewers = vec![];
        Ok(format!(
            "approved {} for {}: deploying",
            cell.ver.short(),
            environment(s)
        ))
    }

    fn reject(
        &mut self,
        li: usize,
        s: usize,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        let cell = &mut self.lanes[li].cells[s];
        if cell.state != St::AwaitingApproval {
            return Err(conflict(format!(
                "{name} is {}, not waiting for approval",
                cell.state.words()
            )));
        }
        cell.state = St::Cancelled;
        cell.updated = now;
        cell.actor = actor.to_string();
        cell.awaiting_reviewers = vec![];
        cell.message = match reason {
            Some(r) => format!("rejected by {actor}: {r}"),
            None => format!("rejected by {actor}"),
        };
        Ok(format!(
            "rejected {} for {}",
            cell.ver.short(),
            environment(s)
        ))
    }

    /// Cancel the run of a cell: a build, rollout or rollback in progress (running or paused)
    /// or a deploy waiting for approval stops where it is and the cell is `cancelled`. Not
    /// part of the `http` protocol (whose `pause` keeps the rollout resumable): GitHub's
    /// `POST .../actions/runs/{id}/cancel` does this.
    fn cancel(&mut self, li: usize, s: usize, actor: &str) -> Result<String, Reject> {
        let now = self.now;
        let name = self.name(li, s);
        let cell = &mut self.lanes[li].cells[s];
        if !matches!(
            cell.state,
            St::Running | St::RollingBack | St::Paused | St::AwaitingApproval
        ) {
            return Err(conflict(format!(
                "{name} is {}: there is no run in progress to cancel",
                cell.state.words()
            )));
        }
        if let Some(op) = cell.op.take() {
            if op.kind == OpKind::Build {
                // The checks that passed stay passed; the others never finish.
                let p = op.progress(now);
                cell.checks = BUILD_CHECKS
                    .iter()
                    .map(|&(name, at)| {
                        let passed = at < 1.0 && p >= at && op.fails != Some(name);
                        (name, if passed { "passed" } else { "pending" })
                    })
                    .collect();
            } else {
                cell.checks.clear();
            }
        }
        let was = cell.state;
        cell.state = St::Cancelled;
        cell.updated = now;
        cell.actor = actor.to_string();
        cell.awaiting_reviewers = vec![];
        cell.message = format!("cancelled by {actor}");
        Ok(format!(
            "cancelled {} of {} at {name} ({} until now)",
            if s == BUILD {
                "the build"
            } else {
                "the deploy"
            },
            cell.ver.short(),
            was.words()
        ))
    }
}

fn make_ver(seed: u64, lane: u64, n: u64, bad: bool) -> Ver {
    let h = |tag: u64| mix(seed, &[tag, lane, n]);
    Ver {
        sha: sha(h(T_VER)),
        title: pick(h(T_TITLE), &TITLES),
        pr: between(h(T_PR), 1200, 9800),
        bad,
    }
}

fn short(v: &str) -> &str {
    v.get(..7).unwrap_or(v)
}

fn environment(s: usize) -> &'static str {
    if s == PROD { "production" } else { STAGES[s] }
}

/// Pods of a lane's deployment at a stage.
fn pods(s: usize) -> u32 {
    if s == STAGING { 4 } else { 8 }
}

fn pods_done(s: usize, p: f64) -> u32 {
    (p * pods(s) as f64).floor() as u32
}

fn done_message(s: usize, ver: &Ver, n: u32) -> String {
    if s == BUILD {
        format!("build passed: {} (#{})", ver.title, ver.pr)
    } else {
        format!("{n}/{n} pods ready")
    }
}

fn fail_message(check: &str) -> String {
    match check {
        "lint" => "lint failed: 2 clippy warnings denied".into(),
        "unit-tests" => "unit-tests failed: 1 of 861 tests failed".into(),
        _ => format!("{check} failed: 3 of 412 tests failed (TokenRefreshTest)"),
    }
}

fn live_message(s: usize, op: &Op, ver: &Ver, p: f64) -> String {
    match op.kind {
        OpKind::Build => {
            let step = if p < 0.2 {
                "compiling"
            } else if p < 0.55 {
                "running unit-tests"
            } else {
                "running integration-tests"
            };
            format!("{step} · {} (#{})", ver.title, ver.pr)
        }
        OpKind::Deploy => format!("rolling out {}/{} pods", pods_done(s, p), pods(s)),
        OpKind::Rollback => format!(
            "rolling back to {}: {}/{} pods",
            ver.short(),
            pods_done(s, p),
            pods(s)
        ),
    }
}

fn settled_checks(s: usize, failed: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    match s {
        BUILD => BUILD_CHECKS
            .iter()
            .map(|&(name, _)| {
                (
                    name,
                    if failed == Some(name) {
                        "failed"
                    } else {
                        "passed"
                    },
                )
            })
            .collect(),
        STAGING => vec![(STAGING_CHECK, "passed")],
        _ => vec![],
    }
}

#[path = "github.rs"]
mod github;
pub(crate) use github::{API_USER, GhReply, GhRequest, etag, gh_error};

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
