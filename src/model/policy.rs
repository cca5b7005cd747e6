//! The policy engine: for a lane and a stage, may the lane be promoted into it now, and if
//! not, every reason why in words.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::duration::{compact, human, human_delta};
use super::{Cell, CellState, Lane, Timestamp, Train, WindowState, World};

mod facts;
mod kind;
mod lanes;
pub use facts::Facts;
pub use kind::BlockerKind;
pub use lanes::{blockers, lane_blockers, lane_blockers_with};

/// A promotion rule for a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// The version being promoted passed every check at the previous stage.
    ChecksGreen,
    /// Every lane this lane depends on is already at the stage and succeeded.
    Dependencies,
    /// Inside the release window.
    Window,
    /// No freeze is active.
    Freeze,
    /// No approval is pending at the stage.
    Approval,
    /// The version has been succeeded at the previous stage for at least this long.
    Soak(Duration),
    /// Every metric of the lane at the previous stage stayed within its threshold over the
    /// window: the given one (`slo:10m`), or else each metric's own (its series).
    Slo(Option<Duration>),
    /// Canary against stable (Mann-Whitney U, docs/analysis.md) for every metric of the lane
    /// at the previous stage that has a baseline: a `fail` blocks, and so does no verdict.
    Canary,
    /// The data the decision rests on is not stale.
    Fresh,
}

impl Gate {
    /// Gates of a stage that has no `[policy.STAGE]`.
    pub const DEFAULTS: &'static [Gate] = &[
        Gate::ChecksGreen,
        Gate::Dependencies,
        Gate::Approval,
        Gate::Fresh,
    ];

    /// A strict prod: every gate but canary analysis, a half-hour soak, each metric's own SLO.
    #[cfg(test)]
    pub(crate) const STRICT: &'static [Gate] = &[
        Gate::ChecksGreen,
        Gate::Dependencies,
        Gate::Window,
        Gate::Freeze,
        Gate::Approval,
        Gate::Soak(Duration::from_secs(1800)),
        Gate::Slo(None),
        Gate::Fresh,
    ];

    pub const NAMES: &'static [&'static str] = &[
        "checks_green",
        "dependencies",
        "window",
        "freeze",
        "approval",
        "soak:DURATION",
        "slo",
        "slo:DURATION",
        "canary",
        "fresh",
    ];

    pub fn parse(s: &str) -> Result<Gate, String> {
        let s = s.trim();
        Ok(match s {
            "checks_green" => Gate::ChecksGreen,
            "dependencies" => Gate::Dependencies,
            "window" => Gate::Window,
            "freeze" => Gate::Freeze,
            "approval" => Gate::Approval,
            "slo" => Gate::Slo(None),
            "canary" => Gate::Canary,
            "fresh" => Gate::Fresh,
            "soak" => return Err("soak needs a duration, e.g. \"soak:30m\"".into()),
            _ => {
                if let Some(d) = s.strip_prefix("soak:") {
                    Gate::Soak(super::duration::parse(d)?)
                } else if let Some(d) = s.strip_prefix("slo:") {
                    Gate::Slo(Some(super::duration::parse(d)?))
                } else {
                    return Err(format!(
                        "unknown gate {s:?}; known gates: {}",
                        Gate::NAMES.join(", ")
                    ));
                }
            }
        })
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::ChecksGreen => f.write_str("checks_green"),
            Gate::Dependencies => f.write_str("dependencies"),
            Gate::Window => f.write_str("window"),
            Gate::Freeze => f.write_str("freeze"),
            Gate::Approval => f.write_str("approval"),
            Gate::Soak(d) => write!(f, "soak:{}", compact(*d)),
            Gate::Slo(None) => f.write_str("slo"),
            Gate::Slo(Some(d)) => write!(f, "slo:{}", compact(*d)),
            Gate::Canary => f.write_str("canary"),
            Gate::Fresh => f.write_str("fresh"),
        }
    }
}

/// One reason, in words, why a lane can't move into a stage now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub lane: String,
    pub stage: String,
    pub kind: BlockerKind,
    /// The whole sentence: details, `status`, `watch`.
    pub message: String,
    /// What the sentence is made of, for short forms on a narrow screen.
    #[serde(skip)]
    pub facts: Facts,
}

/// A hold trainyard keeps itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneHold {
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
}

impl LaneHold {
    /// "by bob@jump for 12m: db migration" — the same words for the halt and lane holds.
    pub fn words(&self, now: Timestamp) -> String {
        let why = if self.reason.trim().is_empty() {
            "no reason given"
        } else {
            self.reason.as_str()
        };
        format!(
            "by {} for {}: {why}",
            self.by,
            super::duration::human_delta(now - self.at)
        )
    }
}

/// Lane holds and the global halt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holds {
    pub halt: Option<LaneHold>,
    pub lanes: BTreeMap<String, LaneHold>,
}

/// May `lane` be promoted into `stage` now?
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub lane: String,
    pub stage: String,
    /// The stage the version comes from.
    pub from_stage: Option<String>,
    /// The version that would be promoted.
    pub version: Option<String>,
    pub allowed: bool,
    pub blockers: Vec<Blocker>,
}

struct Ctx<'a> {
    world: &'a World,
    now: Timestamp,
    lane: &'a Lane,
    stage: &'a str,
    out: Vec<Blocker>,
}

impl Ctx<'_> {
    fn block(&mut self, kind: BlockerKind, message: String) {
        self.block_with(kind, message, Facts::Message);
    }

    fn block_with(&mut self, kind: BlockerKind, message: String, facts: Facts) {
        let b = Blocker {
            lane: self.lane.name.clone(),
            stage: self.stage.to_string(),
            kind,
            message,
            facts,
        };
        if !self.out.contains(&b) {
            self.out.push(b);
        }
    }

    fn fresh(&mut self, stage: &str, cell: &Cell) {
        if let Some(err) = self.world.cell_error(cell) {
            self.block_with(
                BlockerKind::SourceError,
                format!("{stage}: {err}"),
                Facts::error(stage, err),
            );
        }
        if self.world.is_stale(cell, self.now) {
            self.block_with(
                BlockerKind::Stale,
                stale_message(self.world, stage, cell, self.now),
                Facts::stale(self.world, stage, cell, self.now),
            );
        }
    }
}

/// "data for canary is stale (2m 10s old, source sim)".
fn stale_message(world: &World, stage: &str, cell: &Cell, now: Timestamp) -> String {
    let age = world
        .age(cell, now)
        .map(|a| format!("{} old", human(a)))
        .unwrap_or_else(|| "never received".into());
    format!("data for {stage} is stale ({age}, source {})", cell.source)
}

/// "error_rate at canary is stale (measured 2m 10s ago; source prom: HTTP 503)".
fn metric_stale_message(world: &World, m: &super::Metric, stage: &str, now: Timestamp) -> String {
    let age = world
        .metric_age(m, now)
        .map(|a| format!("measured {} ago", human(a)))
        .unwrap_or_else(|| "never measured".into());
    let why = world
        .metric_error(m)
        .unwrap_or_else(|| format!("source {}", m.source));
    format!("{} at {stage} is stale ({age}; {why})", m.name)
}

/// Describe a cell's state for a message: "running 45%", "awaiting approval".
pub fn describe(cell: &Cell) -> String {
    cell.describe()
}

/// A metric's canary analysis ([`super::Metric::canary`]), or the caller's, judged already.
pub type CanaryOf<'a> = &'a dyn Fn(&super::Metric) -> Option<super::cell::CanaryResult>;

/// Evaluate every gate of `stage` for promoting `lane` into it.
pub fn verdict(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
    lane: &Lane,
    stage_idx: usize,
) -> Verdict {
    verdict_with(
        train,
        world,
        holds,
        now,
        lane,
        stage_idx,
        &super::Metric::canary,
    )
}

/// [`verdict`], the canary analysis of a metric as `canary` has it.
fn verdict_with(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
    lane: &Lane,
    stage_idx: usize,
    canary: CanaryOf,
) -> Verdict {
    let stage = train.stages[stage_idx].as_str();
    let mut cx = Ctx {
        world,
        now,
        lane,
        stage,
        out: Vec::new(),
    };

    if let Some(h) = &holds.halt {
        cx.block_with(
            BlockerKind::Halt,
            format!(
                "the train is halted by {} {} ago: {}",
                h.by,
                human_delta(now - h.at),
                h.reason
            ),
            Facts::hold(h, now),
        );
    }
    if let Some(h) = holds.lanes.get(&lane.name) {
        cx.block_with(
            BlockerKind::Hold,
            format!(
                "{} is on hold by {} {} ago: {}",
                lane.name,
                h.by,
                human_delta(now - h.at),
                h.reason
            ),
            Facts::hold(h, now),
        );
    }

    let from_stage = stage_idx.checked_sub(1).map(|i| train.stages[i].as_str());
    let Some(from_stage) = from_stage else {
        cx.block(
            BlockerKind::NotReady,
            format!("{stage} is the first stage: versions arrive there from CI, not by promotion"),
        );
        return finish(cx, None, None);
    };
    let prev = world.cell(&lane.name, from_stage);
    let target = world.cell(&lane.name, stage);
    let version = prev.and_then(|c| c.version.clone());

    match prev {
        None => cx.block(
            BlockerKind::NotReady,
            format!("nothing at {from_stage} yet to promote"),
        ),
        Some(p) if p.version.is_none() => cx.block(
            BlockerKind::NotReady,
            format!("nothing at {from_stage} yet to promote"),
        ),
        Some(p) => match p.state {
            CellState::Succeeded => {}
            CellState::Failed => cx.block_with(
                BlockerKind::CheckFailed,
                format!(
                    "{} failed at {from_stage}{}",
                    p.short_version(),
                    failed_list(p)
                ),
                Facts::failed(p, from_stage),
            ),
            _ => cx.block(
                BlockerKind::NotReady,
                format!("{} is {} at {from_stage}", p.short_version(), describe(p)),
            ),
        },
    }

    // The stage's source refuses to take a version now (an Argo CD sync window that denies
    // syncs): a blocker in its words, whatever the gates.
    if let Some(why) = target.and_then(|c| c.refusal(super::ActionKind::Promote)) {
        cx.block(BlockerKind::SourceRefuses, why.to_string());
    }

    for gate in train.gates(stage) {
        match *gate {
            Gate::ChecksGreen => {
                if let Some(p) = prev {
                    if p.state != CellState::Failed && p.failed_checks().next().is_some() {
                        cx.block_with(
                            BlockerKind::CheckFailed,
                            format!(
                                "checks failed on {} at {from_stage}{}",
                                p.short_version(),
                                failed_list(p)
                            ),
                            Facts::failed(p, from_stage),
                        );
                    }
                    let pending: Vec<&str> = p
                        .checks
                        .iter()
                        .filter(|c| c.state == super::CheckState::Pending)
                        .map(|c| c.name.as_str())
                        .collect();
                    if !pending.is_empty() {
                        cx.block(
                            BlockerKind::NotReady,
                            format!(
                                "checks still running on {} at {from_stage}: {}",
                                p.short_version(),
                                pending.join(", ")
                            ),
                        );
                    }
                }
            }
            Gate::Dependencies => {
                for dep in &lane.depends_on {
                    match world.cell(dep, stage) {
                        Some(c) if c.state == CellState::Succeeded && c.version.is_some() => {}
                        Some(c) if c.version.is_some() => cx.block_with(
                            BlockerKind::Dependency,
                            format!(
                                "needs {dep} at {stage} first ({dep} {} is {} there)",
                                c.short_version(),
                                describe(c)
                            ),
                            Facts::Needs {
                                lane: dep.clone(),
                                stage: stage.to_string(),
                                there: Some((c.short_version(), describe(c))),
                            },
                        ),
                        _ => cx.block_with(
                            BlockerKind::Dependency,
                            format!("needs {dep} at {stage} first ({dep} has nothing there yet)"),
                            Facts::Needs {
                                lane: dep.clone(),
                                stage: stage.to_string(),
                                there: None,
                            },
                        ),
                    }
                }
            }
            Gate::Window => {
                if let Some(w) = &train.window {
                    let (opens, delta, at) = match w.state(now) {
                        WindowState::Open => continue,
                        WindowState::NotYetOpen => (true, human_delta(w.opens - now), w.opens),
                        WindowState::Closed => (false, human_delta(now - w.closes), w.closes),
                    };
                    let at = at.format("%a %H:%M").to_string();
                    let message = if opens {
                        format!("release window opens in {delta} ({at} UTC)")
                    } else {
                        format!("release window closed {delta} ago ({at} UTC)")
                    };
                    let facts = Facts::Window { opens, delta, at };
                    cx.block_with(BlockerKind::WindowClosed, message, facts);
                }
            }
            Gate::Freeze => {
                if let Some(f) = train.active_freeze(now) {
                    cx.block_with(
                        BlockerKind::Freeze,
                        format!(
                            "freeze ({}) until {} UTC, ends in {}",
                            f.reason,
                            f.ends.format("%a %Y-%m-%d %H:%M"),
                            human_delta(f.ends - now)
                        ),
                        Facts::Freeze {
                            reason: f.reason.clone(),
                            ends: f.ends,
                            left: human_delta(f.ends - now),
                        },
                    );
                }
            }
            Gate::Approval => {
                if let Some(t) = target.filter(|t| t.state == CellState::AwaitingApproval) {
                    cx.block_with(
                        BlockerKind::AwaitingApproval,
                        approval_message(stage, t),
                        Facts::approval(stage, t),
                    );
                }
            }
            Gate::Soak(need) => {
                if let Some(p) = prev.filter(|p| p.state == CellState::Succeeded) {
                    let since = p.updated_at.map(|t| (now - t).to_std().unwrap_or_default());
                    match since {
                        Some(s) if s >= need => {}
                        Some(s) => cx.block_with(
                            BlockerKind::Soak,
                            format!(
                                "soaking at {from_stage}: {} of {}, {} left",
                                human(s),
                                human(need),
                                human(need - s)
                            ),
                            Facts::Soak {
                                at: from_stage.to_string(),
                                done: human(s),
                                need: human(need),
                                left: human(need - s),
                            },
                        ),
                        None => cx.block(
                            BlockerKind::Soak,
                            format!("soak of {} at {from_stage} can't be measured: the source gives no time", human(need)),
                        ),
                    }
                }
            }
            Gate::Slo(window) => {
                let metrics = world.metrics(&lane.name, from_stage);
                if metrics.is_empty() {
                    // Required SLOs without data are not met: a source that stopped sending
                    // metrics must not open the gate.
                    cx.block_with(
                        BlockerKind::Slo,
                        format!("no metrics reported for {} at {from_stage}", lane.name),
                        Facts::NoData {
                            metric: None,
                            at: from_stage.to_string(),
                        },
                    );
                }
                for m in metrics {
                    // A measurement from a source that failed or went quiet can't show the SLO
                    // is met now (what it last showed is still said).
                    if world.metric_stale(m, now) {
                        cx.block_with(
                            BlockerKind::Stale,
                            metric_stale_message(world, m, from_stage, now),
                            Facts::metric_stale(world, m, from_stage, now),
                        );
                    }
                    let slo = super::slo::evaluate(m, window, now);
                    if let Some(text) = super::slo::blocker_text(m, from_stage, &slo) {
                        let kind = match slo {
                            super::slo::Slo::Error(_) => BlockerKind::SourceError,
                            _ => BlockerKind::Slo,
                        };
                        cx.block_with(kind, text, Facts::slo(m, from_stage, &slo));
                    }
                }
            }
            Gate::Canary => {
                let metrics = world.metrics(&lane.name, from_stage);
                let mut compared = 0;
                for m in metrics {
                    let Some((verdict, test)) = canary(m) else {
                        continue;
                    };
                    compared += 1;
                    if world.metric_stale(m, now) {
                        cx.block_with(
                            BlockerKind::Stale,
                            metric_stale_message(world, m, from_stage, now),
                            Facts::metric_stale(world, m, from_stage, now),
                        );
                    }
                    if let Some((text, facts)) = canary_blocker(m, from_stage, verdict, test) {
                        cx.block_with(BlockerKind::Slo, text, facts);
                    }
                }
                if compared == 0 {
                    cx.block_with(
                        BlockerKind::Slo,
                        format!(
                            "no canary analysis for {} at {from_stage}: no metric there has a stable baseline",
                            lane.name
                        ),
                        Facts::NoCanary {
                            metric: None,
                            at: from_stage.to_string(),
                        },
                    );
                }
            }
            Gate::Fresh => {
                if let Some(p) = prev {
                    cx.fresh(from_stage, p);
                }
                if let Some(t) = target {
                    cx.fresh(stage, t);
                }
            }
        }
    }
    finish(cx, Some(from_stage.to_string()), version)
}

/// Why a canary verdict blocks: a failed comparison, or too few samples to make one.
fn canary_blocker(
    m: &super::Metric,
    stage: &str,
    verdict: super::analysis::Verdict,
    test: Option<super::analysis::MannWhitney>,
) -> Option<(String, Facts)> {
    use super::analysis::Verdict as V;
    let now = |s: &[(i64, f64)]| {
        s.last()
            .map(|(_, v)| m.format_value(*v))
            .unwrap_or_else(|| "?".into())
    };
    match verdict {
        V::Pass | V::Marginal => None,
        V::NoData => Some((
            format!(
                "canary analysis of {} at {stage} has too few samples ({} canary, {} stable; needs {})",
                m.name,
                m.series.len(),
                m.baseline_series.len(),
                super::analysis::MIN_SAMPLES
            ),
            Facts::NoCanary {
                metric: Some(m.name.to_string()),
                at: stage.to_string(),
            },
        )),
        V::Fail => {
            let t = test?;
            let p = t.p_text();
            let bad = t.p_bad(m.worse());
            let (canary, stable) = (now(&m.series), now(&m.baseline_series));
            Some((
                format!(
                    "canary {} at {stage} is worse than stable: {canary} vs {stable} (Mann-Whitney {p}, P(worse) {bad:.2})",
                    m.name,
                ),
                Facts::Canary {
                    metric: m.name.to_string(),
                    at: stage.to_string(),
                    canary,
                    stable,
                },
            ))
        }
    }
}

fn finish(cx: Ctx<'_>, from_stage: Option<String>, version: Option<String>) -> Verdict {
    Verdict {
        lane: cx.lane.name.clone(),
        stage: cx.stage.to_string(),
        from_stage,
        version,
        allowed: cx.out.is_empty(),
        blockers: cx.out,
    }
}

fn failed_list(c: &Cell) -> String {
    let names: Vec<&str> = c.failed_checks().map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({} failed)", names.join(", "))
    }
}

/// "waiting for approval of production (reviewers: octocat)".
pub fn approval_message(stage: &str, c: &Cell) -> String {
    c.approval_text(stage)
}

/// The stage a lane's car moves into next: the first stage whose version differs from the
/// previous stage's, or that holds the previous stage's version but has not finished with it.
pub fn next_target(train: &Train, world: &World, lane: &str) -> Option<usize> {
    (1..train.stages.len()).find(|&j| {
        let prev = world.cell(lane, &train.stages[j - 1]);
        let cur = world.cell(lane, &train.stages[j]);
        match (prev.and_then(|p| p.version.as_ref()), cur) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(c)) => c.version.as_ref() != Some(v) || c.state != CellState::Succeeded,
        }
    })
}

#[cfg(test)]
mod tests;
