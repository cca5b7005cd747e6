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
//! This file is the engine: the cells, their operations and the clock that finishes them. The
//! rest of the scenario: `content.rs` (the built-in lanes' story, people, checks and messages),
//! `metrics.rs` (the series sampled as time moves), `actions.rs` (what each action does to a
//! cell), `wire.rs` (the `http` protocol's JSON: the train, runs, action requests and answers)
//! and `github.rs` (the same cells as GitHub shows them).
//!
//! The payloads are built with `serde_json::json!`, never with trainyard's model types: a
//! parser tested against a server that shares its structs proves nothing.

mod actions;
mod argocd;
mod content;
mod github;
mod gitlab;
mod metrics;
mod wire;

pub use argocd::{ACCOUNT as ARGO_ACCOUNT, READONLY_TOKEN as ARGO_READONLY_TOKEN};
pub(crate) use argocd::{
    ARGO_LANES, ARGO_STAGES, ArgoSim, DEMO_ARGO_LANES, READONLY_TOKEN, argo_error,
};
pub(crate) use github::{API_USER, GhReply, GhRequest, etag, gh_error};
pub(crate) use gitlab::{GITLAB_PREFIX, GlRequest, Pages};
pub(crate) use metrics::{METRICS, MetricSeries};
pub use metrics::{SERIES_LEN, series_span};
pub use wire::{Ack, Reject};

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::SimOptions;
use super::rng::{between, mix, pick, unit};
use super::roster::{LaneSpec, roster};
use content::{done_message, fail_message, make_ver, pods, settled_checks};
use metrics::sample_every;

/// The stages of the simulated train, in order.
pub const STAGES: [&str; 4] = ["build", "staging", "canary", "prod"];
const BUILD: usize = 0;
const STAGING: usize = 1;
const CANARY: usize = 2;
const PROD: usize = 3;
/// Entries kept per cell history.
const HISTORY_LEN: usize = 10;

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

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// Cell states as the protocol spells them (`as_str`) and says them (`words`): the
/// simulator uses all but pending and unknown.
use crate::model::CellState as St;

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
    /// Moves whenever the lane's cells may have changed ([`Scenario::lane_mut`]): a cell of a
    /// lane whose `rev` stood still, with nothing moving in it, is served as it was.
    rev: u64,
}

struct Run {
    lane: usize,
    stage: usize,
    sha: String,
    kind: OpKind,
    started: i64,
    actor: String,
}

/// The pace of the simulation, within what it supports.
fn clamp_speed(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(0.01, 1000.0)
    } else {
        1.0
    }
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
    /// Metric samples taken so far: the metrics change only when this does.
    samples: u64,
    serial: u64,
    first_run: u64,
    runs: Vec<Run>,
    accepted: HashMap<String, Ack>,
    /// Serve attack strings (`--hostile`, see `hostile.rs`).
    hostile: bool,
    /// Serve the `http` protocol's extensions (`SimOptions::extensions`).
    extensions: bool,
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
            samples: 0,
            serial: 0,
            first_run: 4100 + seed % 900,
            runs: Vec::new(),
            accepted: HashMap::new(),
            hostile: opts.hostile,
            extensions: opts.extensions,
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

    /// The seed every random choice comes from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether `/v1/train` serves the protocol's extensions (`SimOptions::extensions`).
    pub fn extensions(&self) -> bool {
        self.extensions
    }

    /// How many metric samples were taken: the metrics of `/v1/train` and of the Prometheus
    /// face change only when this does.
    pub fn samples(&self) -> u64 {
        self.samples
    }

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
        let cell = &mut self.lane_mut(li).cells[s];
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
        let lane = self.lane_mut(li);
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
        self.lane_mut(li).cells[BUILD].run = run;
    }

    /// A lane to change: every change of a lane's cells goes through here, so that the
    /// `/v1/train` feed knows which lanes to render again ([`Scenario::cell_stamps`]).
    fn lane_mut(&mut self, li: usize) -> &mut LaneSim {
        let lane = &mut self.lanes[li];
        lane.rev += 1;
        lane
    }

    /// For every cell of `/v1/train`, in order: its lane's revision and whether something
    /// moves in it (its JSON then changes with time alone). A cell whose stamp is the same as
    /// at the last render, and which does not move, renders the same.
    pub(crate) fn cell_stamps(&self) -> Vec<(u64, bool)> {
        self.lanes
            .iter()
            .flat_map(|l| {
                l.cells
                    .iter()
                    .map(|c| (l.rev, c.op.as_ref().is_some_and(|op| op.resumed.is_some())))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
