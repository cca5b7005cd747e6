//! The snapshot's lanes judged again only where something changed: the engine keeps each lane's
//! view and blockers, and judges a lane again when
//!
//! - its cells or metrics changed (the time a cell was fetched aside), or a cell of a lane it
//!   depends on did (the `dependencies` gate reads them). When only its metrics changed, its
//!   metrics are judged again and its blockers and cells' verdicts stand, unless a gate of its
//!   next move reads metrics (SLOs, canary analysis); when only its cells did, its metrics'
//!   views stand;
//! - the holds, the halt or a source's health changed (every lane; the actions in flight and
//!   read-only weigh only on what a key would do, which the snapshot answers when asked:
//!   `Snapshot::avail`);
//! - its verdicts move with the clock: then it is judged at every tick while they do.
//!
//! What moves with the clock, and so makes a lane *volatile*: the train halted,
//! the lane held (their ages are in the words), the release window not open or a freeze on (for
//! every lane), a cell or metric of the lane stale (its age is in the words), a cell that
//! succeeded less than the next stage's `soak` ago, a metric breaching or recovered (how long is in
//! the words), and any metric when a gate judges SLOs over a window of time (`slo:10m`). A lane
//! that was volatile when it was judged, or is now, is judged again; one that was not and is not
//! has the same verdicts as before: nothing in them reads the clock but these.
//!
//! The result is the same as [`super::Snapshot::compute`]'s from scratch (the tests check it).

use std::sync::Arc;
use std::time::Duration;

use smallvec::SmallVec;

use super::blockers::LaneBlockers;
use super::snapshot::{LaneView, State, judge_lane, judge_metrics};
use crate::model::policy::Gate;
use crate::model::{
    Cell, CellState, Holds, Lane, SourceHealth, Timestamp, Train, WindowState, World,
};
use crate::ops::availability::Situation;

/// One lane as it was judged.
struct Judged {
    view: Arc<LaneView>,
    blockers: LaneBlockers,
    /// Its verdicts moved with the clock when it was judged.
    volatile: bool,
    /// What could stir it, when it was calm (not volatile).
    calm: Calm,
}

/// What could make a calm lane's verdicts move with the clock with nothing new told to the
/// engine: its data growing stale, or its metrics' source going quiet. (Anything else that
/// stirs a lane is news: a cell that changed, the holds, a source's health. A calm lane can't
/// start soaking without a cell that changed.) Looked at for every calm lane at every
/// snapshot, in place of walking its cells: when it says the lane may stir, the cells are
/// walked (`lane_volatile`).
#[derive(Default)]
struct Calm {
    /// By source (its place among the world's sources): the moment the lane's oldest data
    /// from it counts from (`World::fresh_since`). Data fetched or vouched for since is
    /// newer: the lane stirs no sooner than this says (an answer older than the source's last
    /// judges every lane again).
    since: SmallVec<[(usize, Timestamp); 2]>,
    /// The sources of the lane's metrics (at the train's stages), by place.
    metrics: SmallVec<[usize; 2]>,
}

impl Calm {
    /// What could stir `lane` in `world`, judged calm: its cells' sources and how fresh their
    /// data is, its metrics' sources.
    fn of(world: &World, train: &Train, clocks: &[Clock], lane: &Lane) -> Calm {
        let place = |source: &str| clocks.iter().position(|c| c.name == source);
        let mut calm = Calm::default();
        for (_, c) in world.lane_cells(&lane.name) {
            // A cell of a source the world doesn't know is stale for good or never (it is
            // calm, so never).
            let (Some(p), Some(t)) = (place(&c.source), world.fresh_since(c)) else {
                continue;
            };
            match calm.since.iter_mut().find(|(q, _)| *q == p) {
                Some((_, oldest)) => *oldest = (*oldest).min(t),
                None => calm.since.push((p, t)),
            }
        }
        for (stage, metrics) in world.lane_metrics(&lane.name) {
            if train.stage_index(stage).is_none() {
                continue;
            }
            for m in metrics {
                if let Some(p) = place(&m.source).filter(|p| !calm.metrics.contains(p)) {
                    calm.metrics.push(p);
                }
            }
        }
        calm
    }

    /// What could stir a lane judged so: nothing to look at when it is `volatile` (judged
    /// again at every snapshot while it is), else `calm()`.
    fn unless(volatile: bool, calm: impl FnOnce() -> Calm) -> Calm {
        if volatile { Calm::default() } else { calm() }
    }

    /// The lane may have stirred by `now`: data from a source is older than the source allows
    /// (or the source failed), or its metrics' source is quiet (`clocks`: the world's sources
    /// at `now`, by place).
    fn may_stir(&self, clocks: &[Clock], now: Timestamp) -> bool {
        self.since.iter().any(|&(p, t)| {
            clocks[p]
                .limit
                .is_none_or(|limit| crate::model::world::age(t, now) > limit)
        }) || self.metrics.iter().any(|&p| clocks[p].metrics_stale)
    }
}

/// A source at one snapshot, for [`Calm::may_stir`] (by its place among the world's sources).
struct Clock<'a> {
    name: &'a str,
    /// Its data older than this is stale (none: all of it is).
    limit: Option<Duration>,
    /// Its metrics are stale.
    metrics_stale: bool,
}

/// What a source's health changes in the verdicts (not the time of its last poll nor the
/// interval it polls at: those move staleness only, which is looked at every time; a GitHub
/// source stretches its interval a little at nearly every poll).
#[derive(Clone, Debug, PartialEq)]
struct SourceFacts {
    name: String,
    ok: bool,
    error: Option<String>,
    stale_after: Duration,
}

impl SourceFacts {
    fn of(world: &World) -> Vec<SourceFacts> {
        world
            .sources()
            .map(|s: &SourceHealth| SourceFacts {
                name: s.name.clone(),
                ok: s.ok,
                error: s.error.clone(),
                stale_after: s.stale_after,
            })
            .collect()
    }
}

/// What is known of the train itself, once.
struct TrainFacts {
    /// The train these facts are of.
    train: Arc<Train>,
    /// By lane: the lanes that depend on it.
    dependents: Vec<Vec<usize>>,
    /// By stage: the longest `soak` a gate of the next stage asks of it.
    soak: Vec<Option<Duration>>,
    /// Some stage has a `soak`.
    any_soak: bool,
    /// A gate judges SLOs over a window of time: every metric's verdict moves with the clock.
    windowed_slo: bool,
    /// By stage: a gate of it reads the metrics of the stage before (SLOs, canary analysis).
    reads_metrics: Vec<bool>,
}

impl TrainFacts {
    fn of(train: &Arc<Train>) -> TrainFacts {
        let mut dependents = vec![Vec::new(); train.lanes.len()];
        for (i, lane) in train.lanes.iter().enumerate() {
            for dep in &lane.depends_on {
                if let Some(d) = train.lane_position(dep.as_str()) {
                    dependents[d].push(i);
                }
            }
        }
        let soak: Vec<_> = (0..train.stages.len())
            .map(|i| {
                let next = train.stages.get(i + 1)?;
                train
                    .gates(next)
                    .iter()
                    .filter_map(|g| match g {
                        Gate::Soak(d) => Some(*d),
                        _ => None,
                    })
                    .max()
            })
            .collect();
        let any_soak = soak.iter().any(Option::is_some);
        TrainFacts {
            train: Arc::clone(train),
            dependents,
            soak,
            any_soak,
            windowed_slo: train
                .stages
                .iter()
                .flat_map(|s| train.gates(s))
                .any(|g| matches!(g, Gate::Slo(Some(_)))),
            reads_metrics: train
                .stages
                .iter()
                .map(|s| {
                    train
                        .gates(s)
                        .iter()
                        .any(|g| matches!(g, Gate::Slo(_) | Gate::Canary))
                })
                .collect(),
        }
    }
}

/// The lanes judged so far, and what they were judged on.
#[derive(Default)]
pub struct Lanes {
    train: Option<TrainFacts>,
    world: Option<Arc<World>>,
    holds: Holds,
    sources: Vec<SourceFacts>,
    /// By source: when it last answered and last vouched for its data, as judged.
    answered: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    judged: Vec<Judged>,
}

impl Lanes {
    /// Every lane's view and blockers for `state` at `now`: those of the last call where
    /// nothing they rest on changed, the others judged again.
    pub fn judge(
        &mut self,
        state: &State,
        now: Timestamp,
    ) -> (Vec<Arc<LaneView>>, Vec<LaneBlockers>) {
        let train = state.train;
        let world = state.world;
        if self
            .train
            .as_ref()
            .is_none_or(|t| !Arc::ptr_eq(&t.train, train))
        {
            *self = Lanes {
                train: Some(TrainFacts::of(train)),
                ..Lanes::default()
            };
        }
        let sources = SourceFacts::of(world);
        // A source whose answer is older than its last (a clock set back, a peer's poll with
        // a clock behind): its data may be older than a calm lane's `Calm` says.
        let answered: Vec<_> = world.sources().map(|s| (s.last_ok, s.vouched_at)).collect();
        let went_back = self.sources == sources
            && answered
                .iter()
                .zip(&self.answered)
                .any(|(now, before)| now.0 < before.0 || now.1 < before.1);
        let everything = self.judged.len() != train.lanes.len()
            || self.holds != *state.holds
            || self.sources != sources
            || went_back;
        if everything && !self.judged.is_empty() {
            tracing::debug!(
                holds = self.holds != *state.holds,
                sources = self.sources != sources,
                went_back,
                "every lane judged again"
            );
        }
        let facts = self.train.as_ref().expect("set above");
        let mut changed = vec![
            if everything {
                Change::Cells
            } else {
                Change::Nothing
            };
            train.lanes.len()
        ];
        if let Some(before) = self
            .world
            .as_ref()
            .filter(|w| !everything && !Arc::ptr_eq(w, world))
        {
            // A lane both worlds share is the same in both: only the others are compared.
            for name in world.lanes_not_shared(before) {
                let Some(i) = train.lane_position(name) else {
                    continue;
                };
                let change = lane_change(&train.stages, before, world, name);
                changed[i] = changed[i].max(change);
                // A lane's dependents read its cells (the `dependencies` gate), not its metrics.
                if change == Change::Cells {
                    for &d in &facts.dependents[i] {
                        changed[d] = Change::Cells;
                    }
                }
            }
        }
        let situation: Situation = state.situation(now);
        let all_volatile = train_volatile(train, state.holds, now);
        // A metric is stale when its source is: looked up once, not per metric.
        let clocks: Vec<Clock> = world
            .sources()
            .map(|s| Clock {
                name: &s.name,
                limit: s.stale_limit(),
                metrics_stale: world.metrics_stale(&s.name, now),
            })
            .collect();
        let stale_metrics: Vec<&str> = clocks
            .iter()
            .filter_map(|c| c.metrics_stale.then_some(c.name))
            .collect();
        let mut judged = Vec::with_capacity(train.lanes.len());
        let old = std::mem::take(&mut self.judged);
        let mut old = old.into_iter();
        let (mut again, mut metrics_again) = (0usize, 0usize);
        for (i, lane) in train.lanes.iter().enumerate() {
            let before = old.next();
            let walk = || lane_volatile(facts, &situation, &stale_metrics, lane);
            // A calm lane nothing changed in: its cells are walked only when it may have
            // stirred (then what could stir it is taken again, from the world as it is now).
            let change = changed[i];
            let calm = before
                .as_ref()
                .filter(|j| change == Change::Nothing && !j.volatile);
            let looked_again = calm.is_some_and(|j| j.calm.may_stir(&clocks, now));
            let moving = all_volatile
                || match calm {
                    Some(_) => looked_again && walk(),
                    None => walk(),
                };
            match before {
                Some(mut j) if change == Change::Nothing && !j.volatile && !moving => {
                    if looked_again {
                        j.calm = Calm::of(world, train, &clocks, lane);
                    }
                    judged.push(j);
                }
                // Only its metrics changed, in a calm lane whose next move no gate on metrics
                // judges (or that has none to make): its blockers and its cells' verdicts
                // stand, its metrics are judged again.
                Some(j)
                    if change == Change::Metrics
                        && !j.volatile
                        && !moving
                        && j.view.next.is_none_or(|n| !facts.reads_metrics[n]) =>
                {
                    again += 1;
                    metrics_again += 1;
                    let view = judge_metrics(&situation, lane, &j.view);
                    let volatile = verdicts_move(facts, &view);
                    judged.push(Judged {
                        view,
                        blockers: j.blockers,
                        volatile,
                        calm: Calm::unless(volatile, || Calm::of(world, train, &clocks, lane)),
                    });
                }
                before => {
                    // Metrics no report changed, judged when nothing moved with the clock:
                    // their views stand (a cell's news judges its lane again, not its metrics).
                    let metrics_stand = !everything
                        && !moving
                        && before.as_ref().is_some_and(|j| !j.volatile)
                        && self
                            .world
                            .as_ref()
                            .is_some_and(|w| world.shares_lane_metrics(w, &lane.name));
                    let metrics_of = before.as_ref().filter(|_| metrics_stand).map(|j| &*j.view);
                    again += 1;
                    metrics_again += usize::from(metrics_of.is_none());
                    let (view, blockers) = judge_lane(&situation, lane, metrics_of);
                    let volatile = moving || verdicts_move(facts, &view);
                    judged.push(Judged {
                        view,
                        blockers: LaneBlockers::from(blockers),
                        volatile,
                        calm: Calm::unless(volatile, || Calm::of(world, train, &clocks, lane)),
                    });
                }
            }
        }
        tracing::debug!(again, metrics_again, of = judged.len(), "lanes judged");
        self.judged = judged;
        self.world = Some(Arc::clone(world));
        self.holds = state.holds.clone();
        self.sources = sources;
        self.answered = answered;
        self.judged
            .iter()
            .map(|j| (Arc::clone(&j.view), Arc::clone(&j.blockers)))
            .unzip()
    }
}

/// Every lane's verdicts move with the clock: the train is halted (its age is in the words),
/// the window is not open, or a freeze is on.
fn train_volatile(train: &Train, holds: &Holds, now: Timestamp) -> bool {
    holds.halt.is_some()
        || train
            .window
            .as_ref()
            .is_some_and(|w| w.state(now) != WindowState::Open)
        || train.active_freeze(now).is_some()
}

/// The lane's verdicts move with the clock now: it is held, a cell or metric of it is stale
/// (`stale_metrics`: the sources whose metrics are), or a cell of it succeeded less than the
/// next stage's soak ago.
fn lane_volatile(facts: &TrainFacts, s: &Situation, stale_metrics: &[&str], lane: &Lane) -> bool {
    if s.holds.lanes.contains_key(&lane.name) {
        return true;
    }
    // Soaking for the next stage's `soak` gate: the words count the time.
    let soaking = |i: usize, c: &Cell| {
        facts.soak[i].is_some_and(|soak| {
            c.state == CellState::Succeeded
                && c.updated_at.is_some_and(|u| {
                    u > s.now || (s.now - u).to_std().is_ok_and(|since| since < soak)
                })
        })
    };
    // The lane's entries are walked once (not looked up stage by stage): this runs for every
    // lane at every snapshot. (A cell of a stage the train no longer has may count as stale:
    // the lane is only judged again.)
    s.world.lane_cells(&lane.name).any(|(stage, c)| {
        s.world.is_stale(c, s.now)
            || (c.state == CellState::Succeeded
                && facts.any_soak
                && s.train.stage_index(stage).is_some_and(|i| soaking(i, c)))
    }) || (!stale_metrics.is_empty()
        && s.world.lane_metrics(&lane.name).any(|(stage, metrics)| {
            s.train.stage_index(stage).is_some()
                && metrics.iter().any(|m| stale_metrics.contains(&&*m.source))
        }))
}

/// The lane's verdicts, as judged, say how long something has lasted: a metric breaching or
/// recovered, or any metric when SLOs are judged over a window of time.
fn verdicts_move(facts: &TrainFacts, view: &LaneView) -> bool {
    use crate::model::slo::Slo;
    view.cells.iter().flat_map(|c| &c.metrics).any(|m| {
        facts.windowed_slo || matches!(m.slo, Slo::Breaching { .. } | Slo::Recovered { .. })
    })
}

/// What changed in a lane, the least first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Nothing,
    /// Its metrics, not its cells.
    Metrics,
    /// Its cells (its metrics too, maybe), or something every lane's verdicts rest on.
    Cells,
}

/// What changed in the lane between two worlds, at the train's stages (a cell fetched aside
/// is no change). A lane no report changed is shared between the worlds: that is the quick
/// answer.
fn lane_change(stages: &[String], a: &World, b: &World, lane: &str) -> Change {
    let same_cells = a.shares_lane_cells(b, lane)
        || stages
            .iter()
            .all(|stage| match (a.cell(lane, stage), b.cell(lane, stage)) {
                (None, None) => true,
                (Some(x), Some(y)) => same_cell(x, y),
                _ => false,
            });
    if !same_cells {
        return Change::Cells;
    }
    let same_metrics = a.shares_lane_metrics(b, lane)
        || stages
            .iter()
            .all(|stage| a.metrics(lane, stage) == b.metrics(lane, stage));
    if same_metrics {
        Change::Nothing
    } else {
        Change::Metrics
    }
}

/// Two cells that differ at most in when they were fetched (which moves staleness only). How
/// far a cell in motion has got counts: a "not ready" blocker says it ("running 62%").
fn same_cell(a: &Cell, b: &Cell) -> bool {
    // Exhaustive: a new field must say whether it counts.
    let Cell {
        version,
        state,
        progress,
        updated_at,
        started_at,
        url,
        commit_url,
        source,
        actor,
        message,
        checks,
        approval,
        history,
        warnings,
        refused,
        fetched_at: _,
        error,
    } = a;
    *version == b.version
        && *state == b.state
        && *progress == b.progress
        && *updated_at == b.updated_at
        && *started_at == b.started_at
        && *url == b.url
        && *commit_url == b.commit_url
        && *source == b.source
        && *actor == b.actor
        && *message == b.message
        && *checks == b.checks
        && *approval == b.approval
        && *history == b.history
        && *warnings == b.warnings
        && *refused == b.refused
        && *error == b.error
}
