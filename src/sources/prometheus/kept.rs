//! What the Prometheus source keeps of a grouped range query between polls, so that the next
//! poll asks only for the span since (docs/sources/prometheus.md, "What a poll asks for"):
//! each cell's series, the step they were evaluated at and the newest instant of their grid.
//! A poll resumes one step before that instant (the newest point is asked again: it may have
//! been evaluated before all its samples were in); what it brings for a cell replaces the
//! cell's kept points from its start on, and the points older than the window go. Pure: no IO.

use super::grouped::{Grouped, Side, Split};
use super::wire::Samples;
use super::{Answer, QueryError, Series};
use crate::config::group::GroupBy;
use crate::model::CellKey;

/// A grouped range query's series, kept: one per cell of its job, in the job's order.
#[derive(Debug, Default, PartialEq)]
pub(super) struct KeptRange {
    /// The step the points were evaluated at (ms).
    step: i64,
    /// The newest instant of their grid (ms): every point is a whole number of steps
    /// before it.
    last: i64,
    series: Flat,
}

/// Series one after the other in one buffer (a poll keeps thousands: one allocation, not
/// one each): the `n`th is `points[ends[n - 1]..ends[n]]`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Flat {
    points: Vec<(i64, f64)>,
    ends: Vec<usize>,
}

impl Flat {
    /// Room for `series` series of `points` points in all, made at once: a poll's buffer is
    /// not grown by doubling through the heap (hundreds of kilobytes at 500 lanes).
    pub fn with_room(series: usize, points: usize) -> Flat {
        Flat {
            points: Vec::with_capacity(points),
            ends: Vec::with_capacity(series),
        }
    }

    /// How many points, all series together.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// The next series.
    pub fn push(&mut self, series: &[(i64, f64)]) {
        self.points.extend_from_slice(series);
        self.ends.push(self.points.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The series at `index`, none past the last.
    pub fn get(&self, index: usize) -> &[(i64, f64)] {
        let Some(&end) = self.ends.get(index) else {
            return &[];
        };
        let start = index.checked_sub(1).map_or(0, |i| self.ends[i]);
        &self.points[start..end]
    }
}

impl From<Vec<Series>> for Flat {
    fn from(all: Vec<Series>) -> Flat {
        let mut flat = Flat::with_room(all.len(), all.iter().map(Vec::len).sum());
        all.iter().for_each(|s| flat.push(s));
        flat
    }
}

/// One range query: from `start` to `end` every `step` (ms).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Span {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// Where the window starts (ms): older points go.
    pub window_start: i64,
}

impl KeptRange {
    /// Where the next range query of `step` starts: one step before the newest kept instant,
    /// when it is on the same step and still inside the window (`window_start`, the start of
    /// a query of the whole window); `None` when the whole window is to be asked for.
    pub fn resume(&self, window_start: i64, step: i64) -> Option<i64> {
        (self.step == step && self.last - step >= window_start).then_some(self.last - step)
    }

    /// The kept series of the cell at `index` of the job.
    pub fn series(&self, index: usize) -> &[(i64, f64)] {
        self.series.get(index)
    }

    /// What is kept after `span`: each cell's merged series, in the job's order.
    pub fn after(span: Span, series: impl Into<Flat>) -> KeptRange {
        let last = span.start + (span.end - span.start).div_euclid(span.step) * span.step;
        KeptRange {
            step: span.step,
            last,
            series: series.into(),
        }
    }
}

/// A cell's series after `span`: the `kept` points (when the query resumed from them) before
/// the span's start, then the `fresh` ones the answer brought, without the points older than
/// the window. When the answer has nothing for the cell, its kept points stay (the older part
/// of the window is what a whole query would answer).
pub(super) fn merge(kept: &[(i64, f64)], fresh: &[(i64, f64)], span: Span) -> Series {
    let has_fresh = !fresh.is_empty();
    let oldest = span.window_start.div_euclid(1000);
    let from = span.start.div_euclid(1000);
    let old = kept
        .iter()
        .copied()
        .filter(|&(t, _)| t >= oldest && (!has_fresh || t < from));
    let new = fresh.iter().copied().filter(|&(t, _)| t >= oldest);
    let mut out: Series = Vec::with_capacity(kept.len() + fresh.len());
    out.extend(old.chain(new));
    out
}

/// A grouped range answer for a span, picked cell by cell (in the job's order) and merged into
/// the series kept for them; what to keep for the next poll when it is done.
pub(super) struct Resumed<'a> {
    split: Split<'a, Samples>,
    span: Span,
    kept: Option<KeptRange>,
    next: Flat,
    /// Every cell had its series: what is kept is whole (after an error, a cell's series
    /// would lack its older points: the next poll asks for the whole window).
    whole: bool,
}

impl<'a> Resumed<'a> {
    pub fn new(
        answer: &'a Grouped<Samples>,
        by: &'a GroupBy,
        span: Span,
        kept: Option<KeptRange>,
        cells: usize,
    ) -> Self {
        // What was kept, and for each cell the points of the span (a resumed query's: two
        // or three).
        let per_cell = (span.end - span.start).div_euclid(span.step.max(1)).max(0) as usize + 2;
        let points = kept.as_ref().map_or(0, |k| k.series.points()) + per_cell * cells;
        Resumed {
            split: Split::new(answer, by),
            span,
            kept,
            next: Flat::with_room(cells, points),
            whole: answer.is_ok(),
        }
    }

    /// The series of the cell at `index` of the job (`key`): the answer's for the span,
    /// after the kept points before it.
    pub fn pick(
        &mut self,
        index: usize,
        key: &CellKey,
        side: Side,
    ) -> Result<Answer<Series>, QueryError> {
        debug_assert_eq!(self.next.len(), index, "cells in the job's order");
        match self.split.find(key, side) {
            Ok((fresh, warnings)) => {
                let kept = self.kept.as_ref().map_or(&[][..], |k| k.series(index));
                let data = merge(kept, fresh.map_or(&[][..], Samples::as_slice), self.span);
                self.next.push(&data);
                Ok(Answer {
                    data,
                    warnings: warnings.to_vec(),
                })
            }
            Err(e) => {
                self.whole = false;
                self.next.push(&[]);
                Err(e)
            }
        }
    }

    /// What to keep for the next poll: nothing after an error.
    pub fn done(self) -> Option<KeptRange> {
        self.whole.then(|| KeptRange::after(self.span, self.next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(from: i64, to: i64, step: i64, v: f64) -> Series {
        (0..)
            .map(|i| from + i * step)
            .take_while(|t| *t <= to)
            .map(|t| (t, v))
            .collect()
    }

    #[test]
    fn a_resumed_answer_replaces_the_kept_points_from_its_start_and_the_window_slides() {
        // The whole window: 100 s to 160 s every 10 s.
        let span = |start: i64, end: i64| Span {
            start,
            end,
            step: 10_000,
            window_start: end - 60_000,
        };
        let whole = span(100_000, 160_000);
        let first = KeptRange::after(whole, vec![points(100, 160, 10, 1.0)]);
        assert_eq!(first.series(0).len(), 7);
        assert_eq!(first.series(5), &[], "no such cell: nothing kept");
        // Five seconds on: the next query starts a step before the newest instant.
        assert_eq!(first.resume(165_000 - 60_000, 10_000), Some(150_000));
        // Another step, or the newest instant out of the window: the whole window again.
        assert_eq!(first.resume(165_000 - 60_000, 5_000), None);
        assert_eq!(first.resume(300_000 - 60_000, 10_000), None);
        // At 175 s: points at 150, 160 and 170 s, evaluated again (and changed) or new;
        // from 115 s (the window's start) on, 120, 130 and 140 are kept.
        let next = span(150_000, 175_000);
        let a = merge(first.series(0), &points(150, 170, 10, 3.0), next);
        assert_eq!(
            a,
            [
                (120, 1.0),
                (130, 1.0),
                (140, 1.0),
                (150, 3.0),
                (160, 3.0),
                (170, 3.0)
            ]
        );
        assert_eq!(KeptRange::after(next, vec![a]).last, 170_000);
        // A cell the answer has nothing for keeps its older points; one that had none gets
        // the answer's.
        let b = merge(first.series(0), &[], next);
        assert_eq!(b, points(120, 160, 10, 1.0));
        assert_eq!(merge(&[], &points(170, 170, 10, 4.0), next), [(170, 4.0)]);
        // All its points out of the window: none.
        let later = span(160_000, 235_000);
        assert_eq!(merge(&b, &[], later), []);
    }

    #[test]
    fn flat_series_come_back_as_they_went_in_empty_ones_too() {
        let all = vec![points(1, 3, 1, 1.0), vec![], points(5, 5, 1, 2.0), vec![]];
        let flat = Flat::from(all.clone());
        assert_eq!(flat.len(), 4);
        for (i, s) in all.iter().enumerate() {
            assert_eq!(flat.get(i), s.as_slice(), "series {i}");
        }
        assert_eq!(flat.get(4), &[], "past the last");
        assert_eq!(Flat::default().get(0), &[]);
    }

    #[test]
    fn a_whole_answer_is_kept_within_the_window_on_its_grid() {
        let whole = Span {
            start: 90_000,
            end: 165_000,
            step: 10_000,
            window_start: 100_000,
        };
        let s = merge(&[], &points(90, 160, 10, 1.0), whole);
        assert_eq!(s, points(100, 160, 10, 1.0));
        assert_eq!(KeptRange::after(whole, vec![s]).last, 160_000);
    }
}
