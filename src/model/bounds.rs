//! How much of what a source sends the world keeps: every list of a cell and of a metric has a
//! ceiling, whatever the source, so that a long session (or a server that sends without end)
//! costs bounded memory. The world applies them to every report it folds in
//! ([`super::World::apply`]); the sources stay well inside them (a Prometheus series has about
//! 30 points, the simulator's history 10 entries).

use super::{Cell, Metric};

/// Earlier versions a cell keeps, newest first: more than a rollback picker shows.
pub const MAX_HISTORY: usize = 20;
/// Checks a cell keeps (a monorepo's commit may carry many).
pub const MAX_CHECKS: usize = 100;
/// Warnings a cell or a metric keeps.
pub const MAX_WARNINGS: usize = 10;
/// Reviewers an approval names.
pub const MAX_REVIEWERS: usize = 20;
/// Points a series keeps, the newest: a metric's series is its window, replaced with every
/// poll (Prometheus: about 30 points over the window), never accumulated.
pub const MAX_POINTS: usize = 240;
/// Metrics one cell keeps.
pub const MAX_METRICS: usize = 32;

impl Cell {
    /// Cut every list of the cell to its ceiling: the newest history, the first checks,
    /// warnings and reviewers.
    pub fn bound(&mut self) {
        self.history.truncate(MAX_HISTORY);
        self.checks.truncate(MAX_CHECKS);
        self.warnings.truncate(MAX_WARNINGS);
        if let Some(a) = &mut self.approval {
            a.reviewers.truncate(MAX_REVIEWERS);
        }
        shrink(&mut self.checks);
    }
}

impl Metric {
    /// Cut the series to their newest [`MAX_POINTS`] and the warnings to [`MAX_WARNINGS`].
    pub fn bound(&mut self) {
        keep_newest(&mut self.series);
        keep_newest(&mut self.baseline_series);
        self.warnings.truncate(MAX_WARNINGS);
    }
}

/// The newest [`MAX_POINTS`] of a series (oldest first).
fn keep_newest(series: &mut Vec<(i64, f64)>) {
    if series.len() > MAX_POINTS {
        series.drain(..series.len() - MAX_POINTS);
        series.shrink_to_fit();
    }
}

/// Give back what a cut left unused.
fn shrink<T>(v: &mut Vec<T>) {
    if v.capacity() > v.len() * 2 {
        v.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Approval, CellState, Check, CheckState, HistoryEntry};

    fn entry(i: usize) -> HistoryEntry {
        HistoryEntry {
            version: format!("v{i}"),
            state: CellState::Succeeded,
            at: None,
            actor: None,
        }
    }

    #[test]
    fn a_cell_keeps_its_newest_history_and_bounded_lists() {
        let mut c = Cell::new("sim", CellState::Running);
        c.history = (0..1000).map(entry).collect();
        c.checks = (0..1000)
            .map(|i| Check {
                name: format!("check {i}"),
                state: CheckState::Passed,
                url: None,
            })
            .collect();
        c.warnings = vec!["careful".into(); 50];
        c.approval = Some(Approval {
            environment: None,
            reviewers: vec!["octocat".into(); 500],
        });
        c.bound();
        assert_eq!(c.history.len(), MAX_HISTORY);
        assert_eq!(c.history[0].version, "v0", "newest first: the newest stay");
        assert_eq!(
            c.history[MAX_HISTORY - 1].version,
            format!("v{}", MAX_HISTORY - 1)
        );
        assert_eq!(c.checks.len(), MAX_CHECKS);
        assert_eq!(c.warnings.len(), MAX_WARNINGS);
        assert_eq!(c.approval.unwrap().reviewers.len(), MAX_REVIEWERS);
    }

    #[test]
    fn a_series_longer_than_its_ceiling_keeps_its_newest_points() {
        let mut m = Metric {
            series: (0..10_000).map(|t| (t, t as f64)).collect(),
            baseline_series: (0..300).map(|t| (t, 0.0)).collect(),
            warnings: vec!["w".into(); 30],
            ..Metric::default()
        };
        m.bound();
        assert_eq!(m.series.len(), MAX_POINTS);
        assert_eq!(m.series.first().unwrap().0, 10_000 - MAX_POINTS as i64);
        assert_eq!(m.series.last().unwrap().0, 9_999, "the newest point stays");
        assert!(m.series.capacity() < 10_000);
        assert_eq!(m.baseline_series.len(), MAX_POINTS);
        assert_eq!(m.baseline_series.last().unwrap().0, 299);
        assert_eq!(m.warnings.len(), MAX_WARNINGS);
    }

    #[test]
    fn lists_inside_their_ceilings_are_untouched() {
        let mut c = Cell::new("sim", CellState::Running);
        c.history = (0..3).map(entry).collect();
        let before = c.clone();
        c.bound();
        assert_eq!(c, before);
        let mut m = Metric {
            series: vec![(1, 0.1), (2, 0.2)],
            ..Metric::default()
        };
        let before = m.clone();
        m.bound();
        assert_eq!(m, before);
    }
}
