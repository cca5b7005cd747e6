//! What trainyard has observed: the last good data of every cell and metric, and the health
//! of every source. Reports from sources are folded in; nothing is ever lost to a bad poll.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{Cell, CellState, Metric, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub lane: String,
    pub stage: String,
}

impl CellKey {
    pub fn new(lane: impl Into<String>, stage: impl Into<String>) -> Self {
        CellKey {
            lane: lane.into(),
            stage: stage.into(),
        }
    }
}

/// A cell's key as borrowed names: the maps keyed by [`CellKey`] are searched with a lane and
/// a stage without building a key (two strings) for each look-up.
trait KeyRef {
    fn names(&self) -> (&str, &str);
}

impl KeyRef for CellKey {
    fn names(&self) -> (&str, &str) {
        (&self.lane, &self.stage)
    }
}

impl KeyRef for (&str, &str) {
    fn names(&self) -> (&str, &str) {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn KeyRef + 'a> for CellKey {
    fn borrow(&self) -> &(dyn KeyRef + 'a) {
        self
    }
}

// Ordered as `CellKey` derives it: by lane, then stage.
impl PartialEq for dyn KeyRef + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.names() == other.names()
    }
}

impl Eq for dyn KeyRef + '_ {}

impl PartialOrd for dyn KeyRef + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyRef + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.names().cmp(&other.names())
    }
}

impl std::fmt::Display for CellKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.lane, self.stage)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub remaining: u64,
    pub limit: u64,
}

/// A request-rate budget: the requests sent in the last minute and how many a minute the
/// source allows itself (GitHub: per token, below its secondary limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRate {
    pub used: u32,
    pub per_minute: u32,
}

/// One poll's worth of data from one source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub cells: Vec<(CellKey, Cell)>,
    pub metrics: Vec<(CellKey, Metric)>,
    /// Cells whose part of the payload could not be understood: their last good data stays.
    pub cell_errors: Vec<(CellKey, String)>,
    pub rate_limit: Option<RateLimit>,
    pub request_rate: Option<RequestRate>,
    /// When the source will poll next (a rate limit may stretch its interval): data is not
    /// stale before three of these have passed.
    pub next_poll_in: Option<Duration>,
}

/// The most characters a string from a source keeps in the model, whatever the source: the
/// sources cut their own values shorter (200 for most).
pub const MAX_SOURCE_TEXT: usize = 1000;

fn clean(s: &mut String) {
    // Most strings are clean already (the source sanitized them): don't reallocate those.
    let cleaned = super::text::sanitize(s, MAX_SOURCE_TEXT);
    if cleaned != *s {
        *s = cleaned;
    }
}

impl Batch {
    /// Every string of the batch through [`super::text::sanitize`]. Each source sanitizes what
    /// it parses; this runs once more where every source's report passes
    /// (`poll::poll_source`), so that no source, present or future, can put a raw string on
    /// the screen by forgetting to.
    pub fn sanitize(&mut self) {
        self.texts_mut(&mut clean);
    }

    /// Every string of the batch that came from the source (cells, metrics, cell errors):
    /// see [`Cell::texts_mut`].
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        for (_, c) in &mut self.cells {
            c.texts_mut(f);
        }
        for (_, m) in &mut self.metrics {
            m.texts_mut(f);
        }
        for (_, e) in &mut self.cell_errors {
            f(e);
        }
    }
}

impl SourceReport {
    /// The report with every string sanitized: the batch ([`Batch::sanitize`]) or the error.
    pub fn sanitized(mut self) -> SourceReport {
        match &mut self.outcome {
            Ok(b) => b.sanitize(),
            Err(e) => clean(e),
        }
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceReport {
    pub source: String,
    pub at: Timestamp,
    pub outcome: Result<Batch, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceHealth {
    pub name: String,
    pub kind: String,
    pub ok: bool,
    pub error: Option<String>,
    #[serde(skip)]
    pub last_ok: Option<Timestamp>,
    #[serde(skip)]
    pub last_attempt: Option<Timestamp>,
    /// Data older than this is stale.
    #[serde(skip)]
    pub stale_after: Duration,
    pub rate_limit: Option<RateLimit>,
    pub request_rate: Option<RequestRate>,
    /// The interval the source polls at now, when it said (stretched for a rate limit).
    #[serde(rename = "interval_seconds", serialize_with = "secs")]
    pub interval: Option<Duration>,
    /// Who polls this source for this process when another trainyard does (the store's
    /// elected poller, "alice@jump-1"); `None` when this process polls it itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl SourceHealth {
    /// Data of this age from this source is stale: the source failed on its last attempt, or
    /// the data is older than `stale_after` (at least three intervals: a source that polls
    /// less often, a stretched interval, is not stale for it). No data is stale.
    fn stale(&self, age: Option<Duration>) -> bool {
        if !self.ok {
            return true;
        }
        age.is_none_or(|a| {
            a > self
                .stale_after
                .max(self.interval.map_or(Duration::ZERO, |i| i * 3))
        })
    }
}

fn secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

impl SourceHealth {
    /// A source that has not been polled yet.
    pub fn new(name: &str, kind: &str, stale_after: Duration) -> Self {
        SourceHealth {
            name: name.to_string(),
            kind: kind.to_string(),
            ok: true,
            error: None,
            last_ok: None,
            last_attempt: None,
            stale_after,
            rate_limit: None,
            request_rate: None,
            interval: None,
            via: None,
        }
    }

    /// "via alice@jump-1's poll" when another trainyard polls this source for this one.
    pub fn via_words(&self) -> Option<String> {
        self.via.as_ref().map(|by| format!("via {by}'s poll"))
    }
}

/// A cell changed between two reports: the raw material of the activity panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: CellKey,
    pub before: Option<(Option<String>, CellState)>,
    pub after: (Option<String>, CellState),
}

#[derive(Clone, Debug, Default)]
pub struct World {
    /// Shared between copies of the world until a report changes them: a report of cells
    /// copies no metrics, one of metrics no cells.
    cells: Arc<BTreeMap<CellKey, Cell>>,
    metrics: Arc<BTreeMap<CellKey, Vec<Metric>>>,
    sources: BTreeMap<String, SourceHealth>,
}

impl World {
    /// A world that knows its sources (name, kind, stale after) and has seen nothing yet.
    pub fn new<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str, Duration)>) -> Self {
        let sources = sources
            .into_iter()
            .map(|(name, kind, stale_after)| {
                (name.to_string(), SourceHealth::new(name, kind, stale_after))
            })
            .collect();
        World {
            cells: Arc::default(),
            metrics: Arc::default(),
            sources,
        }
    }

    /// Fold one report in. Returns the cells whose version or state changed.
    pub fn apply(&mut self, report: SourceReport) -> Vec<Change> {
        let SourceReport {
            source,
            at,
            outcome,
        } = report;
        let health = self
            .sources
            .entry(source.clone())
            .or_insert_with(|| SourceHealth::new(&source, "unknown", Duration::from_secs(60)));
        health.last_attempt = Some(at);
        let batch = match outcome {
            Err(e) => {
                health.ok = false;
                health.error = Some(e);
                return Vec::new();
            }
            Ok(batch) => batch,
        };
        health.ok = true;
        health.error = None;
        health.last_ok = Some(at);
        if batch.rate_limit.is_some() {
            health.rate_limit = batch.rate_limit;
        }
        if batch.request_rate.is_some() {
            health.request_rate = batch.request_rate;
        }
        if batch.next_poll_in.is_some() {
            health.interval = batch.next_poll_in;
        }

        let mut changes = Vec::new();
        if !batch.cells.is_empty() || !batch.cell_errors.is_empty() {
            self.apply_cells(&source, at, batch.cells, batch.cell_errors, &mut changes);
        }
        // Metrics sources replace all their metrics with every good poll: a source that has
        // none and sends none leaves them as they are.
        let had = |m: &Metric| m.source == source;
        if !batch.metrics.is_empty() || self.metrics.values().flatten().any(had) {
            let metrics = Arc::make_mut(&mut self.metrics);
            for list in metrics.values_mut() {
                list.retain(|m| !had(m));
            }
            for (key, mut metric) in batch.metrics {
                let list = metrics.entry(key).or_default();
                if list.len() < super::bounds::MAX_METRICS {
                    metric.bound();
                    metric.source = source.clone();
                    list.push(metric);
                }
            }
            metrics.retain(|_, v| !v.is_empty());
        }
        changes
    }

    fn apply_cells(
        &mut self,
        source: &str,
        at: Timestamp,
        cells: Vec<(CellKey, Cell)>,
        errors: Vec<(CellKey, String)>,
        changes: &mut Vec<Change>,
    ) {
        let all = Arc::make_mut(&mut self.cells);
        for (key, mut cell) in cells {
            cell.bound();
            cell.source = source.to_string();
            cell.fetched_at = Some(at);
            cell.error = None;
            let before = all.get(&key).map(|c| (c.version.clone(), c.state));
            let after = (cell.version.clone(), cell.state);
            if before.as_ref() != Some(&after) {
                changes.push(Change {
                    key: key.clone(),
                    before,
                    after,
                });
            }
            all.insert(key, cell);
        }
        for (key, error) in errors {
            let cell = all
                .entry(key)
                .or_insert_with(|| Cell::new(source, CellState::Unknown));
            cell.error = Some(error);
        }
    }

    /// Both worlds share their cells (neither changed them since one was copied from the
    /// other): a quick "nothing changed" for whoever compares them.
    pub fn shares_cells(&self, other: &World) -> bool {
        Arc::ptr_eq(&self.cells, &other.cells)
    }

    /// Both worlds share their metrics, as [`World::shares_cells`].
    pub fn shares_metrics(&self, other: &World) -> bool {
        Arc::ptr_eq(&self.metrics, &other.metrics)
    }

    pub fn cell(&self, lane: &str, stage: &str) -> Option<&Cell> {
        self.cells.get(&(lane, stage) as &dyn KeyRef)
    }

    pub fn cells(&self) -> impl Iterator<Item = (&CellKey, &Cell)> {
        self.cells.iter()
    }

    pub fn metrics(&self, lane: &str, stage: &str) -> &[Metric] {
        self.metrics
            .get(&(lane, stage) as &dyn KeyRef)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Who polls `source` for this process ([`SourceHealth::via`]).
    pub fn set_via(&mut self, source: &str, via: Option<String>) {
        if let Some(h) = self.sources.get_mut(source) {
            h.via = via;
        }
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceHealth> {
        self.sources.values()
    }

    pub fn source(&self, name: &str) -> Option<&SourceHealth> {
        self.sources.get(name)
    }

    /// How old the data of a cell is.
    pub fn age(&self, cell: &Cell, now: Timestamp) -> Option<Duration> {
        cell.fetched_at
            .map(|t| (now - t).to_std().unwrap_or_default())
    }

    /// Stale: its source failed on the last attempt, or the data is older than the source's
    /// `stale_after`.
    pub fn is_stale(&self, cell: &Cell, now: Timestamp) -> bool {
        let Some(src) = self.sources.get(&cell.source) else {
            return cell.fetched_at.is_none();
        };
        src.stale(self.age(cell, now))
    }

    /// The error to show for a cell: its own payload error, or its source's.
    pub fn cell_error(&self, cell: &Cell) -> Option<String> {
        self.own_or_source_error(&cell.error, &cell.source)
    }

    fn own_or_source_error(&self, own: &Option<String>, source: &str) -> Option<String> {
        if let Some(e) = own {
            return Some(e.clone());
        }
        let src = self.sources.get(source)?;
        src.error
            .as_ref()
            .map(|e| format!("source {}: {e}", src.name))
    }

    /// A metric is stale when its source failed on the last attempt, or has delivered nothing
    /// for longer than its `stale_after` (metrics sources replace all their metrics with every
    /// good poll: the source's last good poll is the metric's). A metric of a source the
    /// world does not know is never stale.
    pub fn metric_stale(&self, m: &Metric, now: Timestamp) -> bool {
        let Some(src) = self.sources.get(&m.source) else {
            return false;
        };
        src.stale(self.metric_age(m, now))
    }

    /// How old a metric's measurement is (its source's last good poll).
    pub fn metric_age(&self, m: &Metric, now: Timestamp) -> Option<Duration> {
        let t = self.sources.get(&m.source)?.last_ok?;
        Some((now - t).to_std().unwrap_or_default())
    }

    /// The error to show for a metric: its own, or its source's when the source failed (the
    /// value is then the last good one).
    pub fn metric_error(&self, m: &Metric) -> Option<String> {
        self.own_or_source_error(&m.error, &m.source)
    }

    /// The age of the oldest data among the sources that delivered any, for the header.
    pub fn data_age(&self, now: Timestamp) -> Option<Duration> {
        self.sources
            .values()
            .filter_map(|s| s.last_ok.map(|t| (now - t).to_std().unwrap_or_default()))
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn cell(v: &str, st: CellState) -> Cell {
        let mut c = Cell::new("sim", st);
        c.version = Some(v.into());
        c
    }

    fn ok(at: i64, cells: Vec<(CellKey, Cell)>) -> SourceReport {
        SourceReport {
            source: "sim".into(),
            at: t(at),
            outcome: Ok(Batch {
                cells,
                ..Batch::default()
            }),
        }
    }

    #[test]
    fn folds_reports_and_reports_changes() {
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        let k = CellKey::new("api", "build");
        let ch = w.apply(ok(0, vec![(k.clone(), cell("v1", CellState::Running))]));
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].before, None);
        let ch = w.apply(ok(1, vec![(k.clone(), cell("v1", CellState::Running))]));
        assert!(ch.is_empty(), "same data is no change");
        let ch = w.apply(ok(2, vec![(k.clone(), cell("v1", CellState::Succeeded))]));
        assert_eq!(ch[0].after.1, CellState::Succeeded);
        assert_eq!(ch[0].before, Some((Some("v1".into()), CellState::Running)));
    }

    #[test]
    fn a_failed_poll_keeps_last_good_data_and_marks_it_stale() {
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        w.apply(ok(
            0,
            vec![(
                CellKey::new("api", "build"),
                cell("v1", CellState::Succeeded),
            )],
        ));
        let c = w.cell("api", "build").unwrap().clone();
        assert!(!w.is_stale(&c, t(5)));
        assert!(
            w.is_stale(&c, t(11)),
            "old data is stale even without an error"
        );
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(6),
            outcome: Err("timed out".into()),
        });
        let c = w.cell("api", "build").unwrap().clone();
        assert_eq!(c.version.as_deref(), Some("v1"));
        assert!(w.is_stale(&c, t(6)));
        assert_eq!(w.cell_error(&c).unwrap(), "source sim: timed out");
        assert_eq!(w.age(&c, t(6)), Some(Duration::from_secs(6)));
    }

    #[test]
    fn a_malformed_cell_keeps_last_good_data_with_an_error() {
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        let k = CellKey::new("api", "prod");
        w.apply(ok(0, vec![(k.clone(), cell("v1", CellState::Succeeded))]));
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(1),
            outcome: Ok(Batch {
                cell_errors: vec![(k.clone(), "state: unknown value \"bogus\"".into())],
                ..Batch::default()
            }),
        });
        let c = w.cell("api", "prod").unwrap();
        assert_eq!(c.version.as_deref(), Some("v1"));
        assert_eq!(c.state, CellState::Succeeded);
        assert!(c.error.as_deref().unwrap().contains("bogus"));
        // The next good payload clears the error.
        w.apply(ok(2, vec![(k, cell("v2", CellState::Running))]));
        assert!(w.cell("api", "prod").unwrap().error.is_none());
    }

    #[test]
    fn metrics_of_a_failed_source_keep_their_value_marked_stale_with_the_error() {
        let mut w = World::new([("prom", "prometheus", Duration::from_secs(10))]);
        let k = CellKey::new("api", "canary");
        let metric = Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value: Some(0.001),
            ..Default::default()
        };
        w.apply(SourceReport {
            source: "prom".into(),
            at: t(0),
            outcome: Ok(Batch {
                metrics: vec![(k.clone(), metric)],
                ..Batch::default()
            }),
        });
        let m = w.metrics("api", "canary")[0].clone();
        assert!(!w.metric_stale(&m, t(5)));
        assert!(w.metric_stale(&m, t(11)), "old measurements are stale");
        assert_eq!(w.metric_error(&m), None);
        w.apply(SourceReport {
            source: "prom".into(),
            at: t(6),
            outcome: Err("HTTP 429".into()),
        });
        let m = w.metrics("api", "canary")[0].clone();
        assert_eq!(m.value, Some(0.001), "the last good value stays");
        assert!(w.metric_stale(&m, t(6)));
        assert_eq!(w.metric_error(&m).unwrap(), "source prom: HTTP 429");
        assert_eq!(w.metric_age(&m, t(6)), Some(Duration::from_secs(6)));
        // A metric of a source the world doesn't know (a test's) is never stale.
        let mut other = m.clone();
        other.source = "elsewhere".into();
        assert!(!w.metric_stale(&other, t(100)));
    }

    #[test]
    fn what_a_report_brings_is_kept_within_the_bounds() {
        use crate::model::HistoryEntry;
        use crate::model::bounds::{MAX_HISTORY, MAX_METRICS, MAX_POINTS};
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        let k = CellKey::new("api", "canary");
        let mut c = cell("v1", CellState::Running);
        c.history = (0..500)
            .map(|i| HistoryEntry {
                version: format!("v{i}"),
                state: CellState::Succeeded,
                at: None,
                actor: None,
            })
            .collect();
        let metrics = (0..100)
            .map(|i| {
                let m = Metric {
                    name: format!("m{i}"),
                    series: (0..5_000).map(|t| (t, 0.1)).collect(),
                    ..Default::default()
                };
                (k.clone(), m)
            })
            .collect();
        // Fed for longer than the bounds, poll after poll: the world stays within them.
        for at in 0..3 {
            w.apply(SourceReport {
                source: "sim".into(),
                at: t(at),
                outcome: Ok(Batch {
                    cells: vec![(k.clone(), c.clone())],
                    metrics: Vec::clone(&metrics),
                    ..Batch::default()
                }),
            });
        }
        assert_eq!(w.cell("api", "canary").unwrap().history.len(), MAX_HISTORY);
        let kept = w.metrics("api", "canary");
        assert_eq!(
            kept.len(),
            MAX_METRICS,
            "the first ones, in the source's order"
        );
        assert_eq!(kept[0].name, "m0");
        assert!(kept.iter().all(|m| m.series.len() == MAX_POINTS));
        assert_eq!(kept[0].series.last().unwrap().0, 4_999, "the newest points");
    }

    #[test]
    fn metrics_are_replaced_per_source() {
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        let m = |v: f64| Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value: Some(v),
            ..Default::default()
        };
        let k = CellKey::new("api", "canary");
        for v in [0.1, 0.2] {
            w.apply(SourceReport {
                source: "sim".into(),
                at: t(0),
                outcome: Ok(Batch {
                    metrics: vec![(k.clone(), m(v))],
                    ..Batch::default()
                }),
            });
        }
        assert_eq!(w.metrics("api", "canary").len(), 1);
        assert_eq!(w.metrics("api", "canary")[0].value, Some(0.2));
        assert_eq!(w.metrics("api", "canary")[0].source, "sim");
    }
}
