//! The snapshot: the train's state and every verdict on it, computed once per change. The
//! screen draws it, `status` prints it, `watch` reports on it and the action commands plan
//! against it; none of them evaluates policy, SLOs or statistics of their own.
//!
//! [`Snapshot::compute`] is a pure function of the state and `now`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::blockers::{Blockers, LaneBlockers};
use crate::model::analysis::{self, MannWhitney};
/// The words of a judgement, for those who show it.
pub use crate::model::analysis::{MIN_SAMPLES, Trend, Verdict as CanaryVerdict};
use crate::model::policy::{self, next_target};
use crate::model::slo::{self, Slo};
use crate::model::{
    ActionKind, Blocker, CellKey, Holds, Lane, Metric, MetricState, Timestamp, Train, World,
};
use crate::ops::availability::{self, Avail, InFlight, Situation};
use crate::ops::{Action, Plan};

/// An action of an earlier run whose end nobody saw (`ops::run::unfinished`), as the snapshot
/// keeps it: its audit record, why it is unfinished, and the whole story in one line.
#[derive(Clone, Debug, PartialEq)]
pub struct UnfinishedAction {
    pub record: crate::ops::audit::Record,
    pub why: String,
    pub text: String,
}

impl UnfinishedAction {
    pub fn of(u: &crate::ops::run::Unfinished) -> UnfinishedAction {
        UnfinishedAction {
            record: u.record.clone(),
            why: u.why.clone(),
            text: u.describe(),
        }
    }
}

/// A metric judged: its state, its SLO over its window, the canary against stable, its trend
/// and the single-series anomaly hint.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricView {
    pub state: MetricState,
    pub slo: Slo,
    /// Canary against stable (docs/analysis.md); `None` without a stable series.
    pub canary: Option<(CanaryVerdict, Option<MannWhitney>)>,
    pub trend: Option<Trend>,
    /// How many standard deviations the newest value is from its recent mean, when that is
    /// worth a look (|z| ≥ 3) and there is no stable side to compare with.
    pub anomaly: Option<f64>,
    /// The error to show (its own, or its source's).
    pub error: Option<String>,
    /// Its source failed or went quiet: the value is the last good one (whatever `state` says
    /// first, an error or staleness).
    pub stale: bool,
}

impl MetricView {
    /// Judge `m` as the world has it at `now`.
    pub fn of(m: &Metric, world: &World, now: Timestamp) -> MetricView {
        let values: Vec<f64> = m.series.iter().map(|(_, v)| *v).collect();
        let canary = m.canary();
        let anomaly = canary
            .is_none()
            .then(|| analysis::ewma_z(&values).filter(|z| z.abs() >= 3.0))
            .flatten();
        MetricView {
            state: MetricState::of(m, world, now),
            slo: slo::evaluate(m, None, now),
            canary,
            trend: analysis::trend(&values),
            anomaly,
            error: world.metric_error(m),
            stale: world.metric_stale(m, now),
        }
    }
}

/// One cell as the engine judged it.
#[derive(Clone, Debug, PartialEq)]
pub struct CellView {
    pub stale: bool,
    pub error: Option<String>,
    /// What blocks this cell: entering it, or problems in it (from the train's list).
    pub blockers: Vec<Blocker>,
    /// One per metric of `World::metrics` at this cell, in its order.
    pub metrics: Vec<MetricView>,
}

/// One lane as the engine judged it.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneView {
    /// The stage its car moves into next.
    pub next: Option<usize>,
    /// A car of the lane is in motion at one of the train's stages
    /// ([`crate::model::CellState::in_motion`]).
    pub moving: bool,
    /// One per stage.
    pub cells: Vec<CellView>,
}

/// The train's state and every verdict on it at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Counts up with every snapshot the engine makes.
    pub seq: u64,
    pub now: Timestamp,
    pub train: Arc<Train>,
    pub world: Arc<World>,
    pub holds: Holds,
    pub readonly: bool,
    /// Every blocker of the train, lane by lane (`policy::blockers`).
    pub blockers: Blockers,
    /// One per lane of the train, in its order (shared with the next snapshot while the lane's
    /// verdicts stay the same).
    pub lanes: Vec<Arc<LaneView>>,
    /// Halt or unhalt the train (`H`).
    pub halt: Avail,
    /// Actions in flight, by [`Action::key`]: this process's and other trainyards'. Of an abort
    /// and the promote or rollback it stops, the abort.
    pub in_flight: BTreeMap<CellKey, InFlight>,
    /// How many actions this trainyard sent that have not ended (an abort beside what it
    /// stops counts apart).
    pub mine_in_flight: usize,
    pub unfinished: Vec<UnfinishedAction>,
    /// Which source each lane × stage reads from.
    pub sources_of: Arc<BTreeMap<CellKey, String>>,
    /// Sources allowed to talk plain http:// off this host.
    pub insecure_http: Arc<Vec<String>>,
    /// The team on the store: who else is here, who acts, whether the store answers.
    pub team: Arc<crate::store::Team>,
}

/// The state a snapshot is computed from.
pub struct State<'a> {
    pub seq: u64,
    pub train: &'a Arc<Train>,
    pub world: &'a Arc<World>,
    pub holds: &'a Holds,
    pub readonly: bool,
    pub in_flight: BTreeMap<CellKey, InFlight>,
    pub mine_in_flight: usize,
    pub unfinished: &'a [UnfinishedAction],
    pub sources_of: &'a Arc<BTreeMap<CellKey, String>>,
    pub insecure_http: &'a Arc<Vec<String>>,
    pub team: &'a Arc<crate::store::Team>,
}

impl State<'_> {
    /// What availability looks at, at `now`.
    pub(super) fn situation(&self, now: Timestamp) -> Situation<'_> {
        Situation {
            train: self.train,
            world: self.world,
            holds: self.holds,
            now,
            readonly: self.readonly,
            in_flight: &self.in_flight,
        }
    }
}

impl Snapshot {
    /// Judge everything once, from scratch.
    pub fn compute(state: State, now: Timestamp) -> Snapshot {
        let situation = state.situation(now);
        let (lanes, blockers) = state
            .train
            .lanes
            .iter()
            .map(|lane| {
                let (view, blockers) = judge_lane(&situation, lane, None);
                (view, LaneBlockers::from(blockers))
            })
            .unzip();
        Snapshot::assemble(state, now, lanes, blockers)
    }

    /// The snapshot of `state` with its lanes judged already (`lanes`, and `blockers`: each
    /// lane's, in the train's order).
    pub(super) fn assemble(
        state: State,
        now: Timestamp,
        lanes: Vec<Arc<LaneView>>,
        blockers: Vec<LaneBlockers>,
    ) -> Snapshot {
        let halt_kind = if state.holds.halt.is_some() {
            ActionKind::Unhalt
        } else {
            ActionKind::Halt
        };
        let halt = availability::assess(Action::train(halt_kind, None), &state.situation(now));
        Snapshot {
            seq: state.seq,
            now,
            train: Arc::clone(state.train),
            world: Arc::clone(state.world),
            holds: state.holds.clone(),
            readonly: state.readonly,
            blockers: Blockers::new(blockers),
            lanes,
            halt,
            in_flight: state.in_flight,
            mine_in_flight: state.mine_in_flight,
            unfinished: state.unfinished.to_vec(),
            sources_of: Arc::clone(state.sources_of),
            insecure_http: Arc::clone(state.insecure_http),
            team: Arc::clone(state.team),
        }
    }

    /// The view of the cell at lane `li` × stage `si` of the train.
    pub fn cell(&self, li: usize, si: usize) -> Option<&CellView> {
        self.lanes.get(li)?.cells.get(si)
    }

    /// The view of the cell at `lane` × `stage`, by name.
    pub fn cell_named(&self, lane: &str, stage: &str) -> Option<&CellView> {
        let li = self.train.lanes.iter().position(|l| l.name == lane)?;
        self.cell(li, self.train.stage_index(stage)?)
    }

    /// The metrics of a cell with their judgement, side by side.
    pub fn metrics(&self, li: usize, si: usize) -> impl Iterator<Item = (&Metric, &MetricView)> {
        let (lane, stage) = (&self.train.lanes[li].name, &self.train.stages[si]);
        self.world.metrics(lane, stage).iter().zip(
            self.cell(li, si)
                .map(|c| c.metrics.as_slice())
                .unwrap_or(&[]),
        )
    }

    /// What the key for `kind` would do on the cell at lane `li` × stage `si` now (pause and
    /// resume are one key: `s` resumes what is paused, releases a held lane, else pauses or
    /// holds). Judged when asked — only the selected cell's keys are — from this snapshot's
    /// state alone, so it is the same answer wherever it is asked. `None` for the train's keys
    /// (halt: [`Snapshot::halt`]) and outside the train.
    pub fn avail(&self, li: usize, si: usize, kind: ActionKind) -> Option<Avail> {
        let lane = &self.train.lanes.get(li)?.name;
        let stage = self.train.stages.get(si)?;
        let s = Situation {
            train: &self.train,
            world: &self.world,
            holds: &self.holds,
            now: self.now,
            readonly: self.readonly,
            in_flight: &self.in_flight,
        };
        Some(match kind {
            ActionKind::Pause | ActionKind::Resume => availability::assess(
                availability::toggle_pause(&self.world, &self.holds, lane, stage),
                &s,
            ),
            ActionKind::Halt | ActionKind::Unhalt => return None,
            k => availability::assess_at(k, &s, lane, stage),
        })
    }

    /// Plan `action` against this snapshot: what it will do exactly, and what stands against it
    /// (`ops::preflight`).
    pub fn plan(&self, action: Action) -> Result<Plan, String> {
        crate::ops::preflight(action, &self.train, &self.world, &self.holds, self.now)
    }
}

/// One lane judged at `s.now`: its view and its blockers, as the train's list has them (a
/// protected stage labelled with its mark). `metrics_of`: the lane's view when it was last
/// judged, when its metrics have not changed since and their views can't have moved with the
/// clock (see `incremental`): they are taken from it, not judged again.
pub(super) fn judge_lane(
    s: &Situation,
    lane: &Lane,
    metrics_of: Option<&LaneView>,
) -> (Arc<LaneView>, Vec<Blocker>) {
    let train = s.train;
    // The metrics first: the canary gate reads their canary analysis as judged here.
    let mut metrics: Vec<Vec<MetricView>> = train
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| match metrics_of.and_then(|v| v.cells.get(i)) {
            Some(judged) => judged.metrics.clone(),
            None => metric_views(s, &lane.name, stage),
        })
        .collect();
    let canary = |m: &Metric| {
        // A metric of the lane is one of the world's lists at its stage: its view is at the
        // same place in the views of that stage.
        train
            .stages
            .iter()
            .zip(&metrics)
            .find_map(|(stage, views)| {
                let list = s.world.metrics(&lane.name, stage);
                let at = list.iter().position(|x| std::ptr::eq(x, m))?;
                views.get(at).map(|v| v.canary)
            })
            .unwrap_or_else(|| m.canary())
    };
    let mut blockers = policy::lane_blockers_with(train, s.world, s.holds, s.now, lane, &canary);
    // The short forms name a protected stage with its mark: labelled once, here.
    for b in &mut blockers {
        b.facts.label_stages(|st| train.stage_label(st));
    }
    let view = LaneView {
        next: next_target(train, s.world, &lane.name),
        moving: s
            .world
            .lane_cells(&lane.name)
            .any(|(st, c)| c.state.in_motion() && train.stage_index(st).is_some()),
        cells: train
            .stages
            .iter()
            .zip(metrics.iter_mut())
            .map(|(stage, m)| cell_view(s, &blockers, &lane.name, stage, std::mem::take(m)))
            .collect(),
    };
    (Arc::new(view), blockers)
}

/// `before` (the lane's view) with its metrics judged again at `s.now`: its next move, its
/// cells' verdicts and blockers as they were (`incremental` knows when they stand).
pub(super) fn judge_metrics(s: &Situation, lane: &Lane, before: &LaneView) -> Arc<LaneView> {
    let cells = s.train.stages.iter().zip(&before.cells);
    Arc::new(LaneView {
        next: before.next,
        moving: before.moving,
        cells: cells
            .map(|(stage, c)| CellView {
                stale: c.stale,
                error: c.error.clone(),
                blockers: c.blockers.clone(),
                metrics: metric_views(s, &lane.name, stage),
            })
            .collect(),
    })
}

/// The metrics of the cell at `lane` × `stage`, judged at `s.now`.
fn metric_views(s: &Situation, lane: &str, stage: &str) -> Vec<MetricView> {
    s.world
        .metrics(lane, stage)
        .iter()
        .map(|m| MetricView::of(m, s.world, s.now))
        .collect()
}

/// The view of one cell; `blockers`: its lane's, at least.
fn cell_view(
    s: &Situation,
    blockers: &[Blocker],
    lane: &str,
    stage: &str,
    metrics: Vec<MetricView>,
) -> CellView {
    let world = s.world;
    let cell = world.cell(lane, stage);
    CellView {
        stale: cell.is_some_and(|c| world.is_stale(c, s.now)),
        error: cell.and_then(|c| world.cell_error(c)),
        blockers: blockers
            .iter()
            .filter(|b| b.lane == lane && b.stage == stage)
            .cloned()
            .collect(),
        metrics,
    }
}
