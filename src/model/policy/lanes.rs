//! Every blocker of the train, lane by lane: what stops each lane's next move (the gates of
//! the stage it moves into), then what is wrong in its cells.

use super::{
    Blocker, BlockerKind, CanaryOf, Facts, Holds, approval_message, failed_list, next_target,
    stale_message, verdict_with,
};
use crate::model::{CellState, Lane, Metric, Timestamp, Train, World};

/// Every current blocker of the train, lane by lane in train order: for each lane, what
/// stops its next move, then what is wrong in its cells anywhere (a failed deploy, an
/// approval waiting, stale data).
pub fn blockers(train: &Train, world: &World, holds: &Holds, now: Timestamp) -> Vec<Blocker> {
    train
        .lanes
        .iter()
        .flat_map(|lane| lane_blockers(train, world, holds, now, lane))
        .collect()
}

/// The blockers of one lane, as [`blockers`] lists them: what stops its next move, then what
/// is wrong in its cells. They depend on the lane's own cells and metrics, its dependencies'
/// cells, the holds, the train and `now`, nothing else.
pub fn lane_blockers(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
    lane: &Lane,
) -> Vec<Blocker> {
    lane_blockers_with(train, world, holds, now, lane, &Metric::canary)
}

/// [`lane_blockers`], the canary analysis of a metric as `canary` has it (the snapshot's,
/// judged with the metric's view).
pub fn lane_blockers_with(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
    lane: &Lane,
    canary: CanaryOf,
) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = Vec::new();
    let push = |b: Blocker, out: &mut Vec<Blocker>| {
        if !out
            .iter()
            .any(|o| o.lane == b.lane && o.kind == b.kind && o.message == b.message)
        {
            out.push(b);
        }
    };
    if let Some(j) = next_target(train, world, &lane.name) {
        let cur = world.cell(&lane.name, &train.stages[j]);
        let prev = world.cell(&lane.name, &train.stages[j - 1]);
        // A car that is moving into the stage is not blocked: it is on its way.
        let moving = cur.is_some_and(|c| {
            c.state.is_active() && c.version == prev.and_then(|p| p.version.clone())
        });
        // A car still building or deploying at the previous stage is not blocked either:
        // "not ready" is progress, not a blocker.
        if !moving {
            for b in verdict_with(train, world, holds, now, lane, j, canary).blockers {
                if b.kind != BlockerKind::NotReady {
                    push(b, &mut out);
                }
            }
        }
    } else if holds.halt.is_some() || holds.lanes.contains_key(&lane.name) {
        let last = train.stages.len() - 1;
        for b in verdict_with(train, world, holds, now, lane, last, canary)
            .blockers
            .into_iter()
            .filter(|b| matches!(b.kind, BlockerKind::Halt | BlockerKind::Hold))
        {
            push(b, &mut out);
        }
    }
    let mut data_problem = false;
    for stage in &train.stages {
        let Some(c) = world.cell(&lane.name, stage) else {
            continue;
        };
        let mk = |kind, message, facts| Blocker {
            lane: lane.name.clone(),
            stage: stage.clone(),
            kind,
            message,
            facts,
        };
        match c.state {
            CellState::Failed => push(
                mk(
                    BlockerKind::CheckFailed,
                    format!("{} failed at {stage}{}", c.short_version(), failed_list(c)),
                    Facts::failed(c, stage),
                ),
                &mut out,
            ),
            CellState::AwaitingApproval => push(
                mk(
                    BlockerKind::AwaitingApproval,
                    approval_message(stage, c),
                    Facts::approval(stage, c),
                ),
                &mut out,
            ),
            CellState::Paused => push(
                mk(
                    BlockerKind::Hold,
                    format!("{} is paused at {stage}", c.short_version()),
                    Facts::Paused {
                        version: c.short_version(),
                        at: stage.clone(),
                    },
                ),
                &mut out,
            ),
            _ => {}
        }
        // One line per lane for data problems: a dead source would otherwise fill the
        // panel with a line per cell.
        if data_problem {
            continue;
        }
        if let Some(err) = world.cell_error(c) {
            data_problem = true;
            push(
                mk(
                    BlockerKind::SourceError,
                    format!("{stage}: {err}"),
                    Facts::error(stage, err),
                ),
                &mut out,
            );
        } else if world.is_stale(c, now) {
            data_problem = true;
            push(
                mk(
                    BlockerKind::Stale,
                    stale_message(world, stage, c, now),
                    Facts::stale(world, stage, c, now),
                ),
                &mut out,
            );
        }
    }
    out
}
