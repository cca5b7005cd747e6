//! What trainyard has observed: the last good data of every cell and metric, and the health
//! of every source. Reports from sources are folded in; nothing is ever lost to a bad poll.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{Cell, CellState, Metric, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub lane: Arc<str>,
    pub stage: Arc<str>,
}

impl CellKey {
    pub fn new(lane: impl AsRef<str>, stage: impl AsRef<str>) -> Self {
        CellKey {
            lane: lane.as_ref().into(),
            stage: stage.as_ref().into(),
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

/// The entry of `map` for the cell `lane` × `stage`, found without building a [`CellKey`].
pub fn by_names<'m, V>(map: &'m BTreeMap<CellKey, V>, lane: &str, stage: &str) -> Option<&'m V> {
    map.get(&(lane, stage) as &dyn KeyRef)
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
    /// The batch carries only what changed since the source's last report, and vouches for
    /// the rest: every cell of the source without an error of its own is as it was, and
    /// fresh as of this report; metrics not named stay; `removed_metrics` go. A whole batch
    /// (`false`) is everything the source has: its metrics replace all of the source's.
    pub partial: bool,
    /// In a partial batch: metrics the source no longer has, by cell and name.
    pub removed_metrics: Vec<(CellKey, String)>,
}

/// The most characters a string from a source keeps in the model, whatever the source: the
/// sources cut their own values shorter (200 for most).
pub const MAX_SOURCE_TEXT: usize = 1000;

fn clean(s: &str) -> Option<String> {
    // Most strings are clean already (the source sanitized them): don't reallocate those.
    if super::text::is_plain(s, MAX_SOURCE_TEXT) {
        return None;
    }
    let cleaned = super::text::sanitize(s, MAX_SOURCE_TEXT);
    (cleaned != s).then_some(cleaned)
}

impl Batch {
    /// Every string of the batch through [`super::text::sanitize`]. Each source sanitizes what
    /// it parses; this runs once more where every source's report passes (`poll::poll_source`
    /// and `poll::poll_source_changes`), so that no source, present or future, can put a raw
    /// string on the screen by forgetting to.
    pub fn sanitize(&mut self) {
        self.texts_mut(&mut clean);
    }

    /// Every string of the batch that came from the source (cells, metrics, cell errors):
    /// see [`Cell::texts_mut`].
    pub fn texts_mut(&mut self, f: &mut super::cell::TextFn) {
        for (_, c) in &mut self.cells {
            c.texts_mut(f);
        }
        let mut shared = super::cell::SharedTexts::default();
        for (_, m) in &mut self.metrics {
            m.texts_mut(f, &mut shared);
        }
        for (_, e) in &mut self.cell_errors {
            super::cell::put(f, e);
        }
        for (_, name) in &mut self.removed_metrics {
            super::cell::put(f, name);
        }
    }
}

impl SourceReport {
    /// The report with every string sanitized: the batch ([`Batch::sanitize`]) or the error.
    pub fn sanitized(mut self) -> SourceReport {
        match &mut self.outcome {
            Ok(b) => b.sanitize(),
            Err(e) => super::cell::put(&mut clean, e),
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
    /// The last partial batch: it vouched for every cell of the source without an error of
    /// its own (their data is as fresh as this).
    #[serde(skip)]
    pub vouched_at: Option<Timestamp>,
    /// A batch of the source has brought metrics: the world may hold some of its. (A source
    /// that never did has none to replace when its whole batch brings none: the world's
    /// metrics are not searched for them at every poll.)
    #[serde(skip)]
    pub sent_metrics: bool,
}

impl SourceHealth {
    /// Data of this age from this source is stale: the source failed on its last attempt, or
    /// the data is older than `stale_after` (at least three intervals: a source that polls
    /// less often, a stretched interval, is not stale for it). No data is stale.
    fn stale(&self, age: Option<Duration>) -> bool {
        match self.stale_limit() {
            None => true,
            Some(limit) => age.is_none_or(|a| a > limit),
        }
    }

    /// Data of this source older than this is stale now; `None` when all of it is (the
    /// source failed on its last attempt).
    pub fn stale_limit(&self) -> Option<Duration> {
        self.ok.then(|| {
            self.stale_after
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
            vouched_at: None,
            sent_metrics: false,
        }
    }

    /// "via alice@jump-1's poll" when another trainyard polls this source for this one.
    pub fn via_words(&self) -> Option<String> {
        self.via.as_ref().map(|by| format!("via {by}'s poll"))
    }
}

/// Whether two indexes of lanes share `lane`'s entries (or neither has any).
/// How old `cell`'s data is at `now`: since it was fetched, or since `src` (its source)
/// last vouched for it unchanged, whichever is later (never for a cell with an error of its
/// own).
fn age_by(src: Option<&SourceHealth>, cell: &Cell, now: Timestamp) -> Option<Duration> {
    fresh_since(src, cell).map(|t| age(t, now))
}

/// When `cell`'s data counts from: when it was fetched, or when `src` last vouched for it
/// unchanged, whichever is later.
fn fresh_since(src: Option<&SourceHealth>, cell: &Cell) -> Option<Timestamp> {
    let vouched = cell.error.is_none().then(|| src?.vouched_at).flatten();
    cell.fetched_at.max(vouched)
}

/// How long ago `t` was at `now` (nothing, for a moment after it).
pub fn age(t: Timestamp, now: Timestamp) -> Duration {
    (now - t).to_std().unwrap_or_default()
}

/// Into `out`, the lanes of `a` and `b` whose entries are not shared: one walk of both lane
/// indexes (sorted by name), side by side.
fn lanes_not_shared<'a, T>(a: &'a ByLane<T>, b: &'a ByLane<T>, out: &mut BTreeSet<&'a str>) {
    use std::cmp::Ordering;
    if Arc::ptr_eq(a, b) {
        return;
    }
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let order = match (ia.peek(), ib.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            // Copies of one world share their lanes' names: equal without reading them.
            (Some((ka, _)), Some((kb, _))) if Arc::ptr_eq(ka, kb) => Ordering::Equal,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match order {
            Ordering::Less => out.extend(ia.next().map(|(k, _)| &**k)),
            Ordering::Greater => out.extend(ib.next().map(|(k, _)| &**k)),
            Ordering::Equal => {
                let ((k, x), (_, y)) = (ia.next().expect("peeked"), ib.next().expect("peeked"));
                if !Arc::ptr_eq(x, y) {
                    out.insert(&**k);
                }
            }
        }
    }
}

fn shares_lane<T>(a: &ByLane<T>, b: &ByLane<T>, lane: &str) -> bool {
    Arc::ptr_eq(a, b)
        || match (a.get(lane), b.get(lane)) {
            (None, None) => true,
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        }
}

/// A cell changed between two reports: the raw material of the activity panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: CellKey,
    pub before: Option<(Option<String>, CellState)>,
    pub after: (Option<String>, CellState),
}

/// One lane's entries (its cells, or its metrics by cell), shared between copies of the world
/// until a report changes that lane.
type Lane<T> = Arc<BTreeMap<CellKey, T>>;
/// Every lane's entries, by lane name: a copy shares every lane, a report copies the lanes
/// it changes (and the index of lanes), not the others.
type ByLane<T> = Arc<BTreeMap<Arc<str>, Lane<T>>>;
/// One lane's metrics, by cell, as a report makes them.
type LaneMetrics = BTreeMap<CellKey, Vec<Metric>>;

#[derive(Clone, Debug, Default)]
pub struct World {
    /// Shared between copies of the world until a report changes them: a report of cells
    /// copies no metrics, one of metrics no cells, and either only the lanes it changes —
    /// and of a lane it changes, the cells it brings (the others are shared too).
    cells: ByLane<Arc<Cell>>,
    metrics: ByLane<Vec<Metric>>,
    sources: BTreeMap<String, SourceHealth>,
}

/// The lane `lane` of `all`, to change: copied when shared, made when new.
fn lane_mut<'a, T: Clone>(
    all: &'a mut BTreeMap<Arc<str>, Lane<T>>,
    lane: &str,
) -> &'a mut BTreeMap<CellKey, T> {
    if !all.contains_key(lane) {
        all.insert(Arc::from(lane), Arc::default());
    }
    Arc::make_mut(all.get_mut(lane).expect("inserted above"))
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
        if batch.partial {
            health.vouched_at = Some(at);
        }
        if batch.rate_limit.is_some() {
            health.rate_limit = batch.rate_limit;
        }
        if batch.request_rate.is_some() {
            health.request_rate = batch.request_rate;
        }
        if batch.next_poll_in.is_some() {
            health.interval = batch.next_poll_in;
        }
        let had_metrics = health.sent_metrics;
        health.sent_metrics |= !batch.metrics.is_empty();

        let mut changes = Vec::new();
        if !batch.cells.is_empty() || !batch.cell_errors.is_empty() {
            self.apply_cells(&source, at, batch.cells, batch.cell_errors, &mut changes);
        }
        if batch.partial {
            self.patch_metrics(&source, batch.metrics, batch.removed_metrics);
        } else if had_metrics || !batch.metrics.is_empty() {
            self.replace_metrics(&source, batch.metrics);
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
            let lane = lane_mut(all, &key.lane);
            let before = lane.get(&key).map(|c| (c.version.clone(), c.state));
            let after = (cell.version.clone(), cell.state);
            if before.as_ref() != Some(&after) {
                changes.push(Change {
                    key: key.clone(),
                    before,
                    after,
                });
            }
            lane.insert(key, Arc::new(cell));
        }
        for (key, error) in errors {
            let lane = all.get(&*key.lane);
            let cell = lane.and_then(|l| l.get(&key));
            if cell.is_some_and(|c| c.error.as_ref() == Some(&error)) {
                // Said before: the lane stays shared.
                continue;
            }
            let cell = lane_mut(all, &key.lane)
                .entry(key)
                .or_insert_with(|| Arc::new(Cell::new(source, CellState::Unknown)));
            Arc::make_mut(cell).error = Some(error);
        }
    }

    /// A whole batch's metrics: all of the source's, replacing those it had. A source that has
    /// none and sends none leaves them as they are; a lane whose metrics come out the same
    /// stays as it was (shared with earlier copies of the world).
    fn replace_metrics(&mut self, source: &str, metrics: Vec<(CellKey, Metric)>) {
        let had = |m: &Metric| *m.source == *source;
        let shared: Arc<str> = source.into();
        let mut by_lane: BTreeMap<Arc<str>, LaneMetrics> = BTreeMap::new();
        for (key, metric) in metrics {
            let lane = match by_lane.get_mut(&*key.lane) {
                Some(l) => l,
                None => by_lane.entry(key.lane.clone()).or_default(),
            };
            lane.entry(key).or_default().push(metric);
        }
        let stale: Vec<Arc<str>> = self
            .metrics
            .iter()
            .filter(|(lane, cells)| {
                !by_lane.contains_key(&lane[..]) && cells.values().flatten().any(had)
            })
            .map(|(lane, _)| Arc::clone(lane))
            .collect();
        if by_lane.is_empty() && stale.is_empty() {
            return;
        }
        for lane in stale {
            by_lane.insert(lane, BTreeMap::new());
        }
        let mut next: Vec<(Arc<str>, Option<LaneMetrics>)> = Vec::new();
        for (lane, mut fresh) in by_lane {
            let old = self.metrics.get(&*lane);
            // The lane's metrics of other sources stay, in front of this source's, as the
            // lists are rebuilt below.
            let mut built = LaneMetrics::new();
            if let Some(old) = old {
                for (key, list) in old.iter() {
                    let others: Vec<Metric> = list.iter().filter(|m| !had(m)).cloned().collect();
                    if !others.is_empty() {
                        built.insert(key.clone(), others);
                    }
                }
            }
            for (key, list) in std::mem::take(&mut fresh) {
                let kept = built.entry(key).or_default();
                for mut metric in list {
                    if kept.len() < super::bounds::MAX_METRICS {
                        metric.bound();
                        metric.source = Arc::clone(&shared);
                        kept.push(metric);
                    }
                }
            }
            built.retain(|_, v| !v.is_empty());
            let same = match old {
                Some(old) => **old == built,
                None => built.is_empty(),
            };
            if !same {
                next.push((lane, (!built.is_empty()).then_some(built)));
            }
        }
        if next.is_empty() {
            return;
        }
        let all = Arc::make_mut(&mut self.metrics);
        for (lane, built) in next {
            match built {
                Some(b) => {
                    all.insert(lane, Arc::new(b));
                }
                None => {
                    all.remove(&*lane);
                }
            }
        }
    }

    /// A partial batch's metrics: each replaces the source's metric of its name at its cell
    /// (or comes after the cell's others); the removed ones go.
    fn patch_metrics(
        &mut self,
        source: &str,
        metrics: Vec<(CellKey, Metric)>,
        removed: Vec<(CellKey, String)>,
    ) {
        if metrics.is_empty() && removed.is_empty() {
            return;
        }
        let all = Arc::make_mut(&mut self.metrics);
        for (key, name) in removed {
            let mine = |m: &Metric| *m.source == *source && *m.name == *name;
            let present = all
                .get(&*key.lane)
                .and_then(|l| l.get(&key))
                .is_some_and(|list| list.iter().any(mine));
            if !present {
                continue;
            }
            let lane = lane_mut(all, &key.lane);
            if let Some(list) = lane.get_mut(&key) {
                list.retain(|m| !mine(m));
                if list.is_empty() {
                    lane.remove(&key);
                }
            }
            if lane.is_empty() {
                all.remove(&*key.lane);
            }
        }
        let shared: Arc<str> = source.into();
        for (key, mut metric) in metrics {
            metric.bound();
            metric.source = Arc::clone(&shared);
            let lane = lane_mut(all, &key.lane);
            let list = lane.entry(key).or_default();
            let at = list
                .iter()
                .position(|m| m.source == metric.source && m.name == metric.name);
            match at {
                Some(i) => list[i] = metric,
                None if list.len() < super::bounds::MAX_METRICS => list.push(metric),
                None => {}
            }
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

    /// Both worlds share the cells of `lane` (or neither has any): nothing of them changed.
    pub fn shares_lane_cells(&self, other: &World, lane: &str) -> bool {
        shares_lane(&self.cells, &other.cells, lane)
    }

    /// Both worlds share the metrics of `lane`, as [`World::shares_lane_cells`].
    pub fn shares_lane_metrics(&self, other: &World, lane: &str) -> bool {
        shares_lane(&self.metrics, &other.metrics, lane)
    }

    /// The lanes whose cells or metrics this world and `other` don't share (a report changed
    /// them since one was copied from the other): every other lane is the same in both.
    pub fn lanes_not_shared<'a>(&'a self, other: &'a World) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        lanes_not_shared(&self.cells, &other.cells, &mut out);
        lanes_not_shared(&self.metrics, &other.metrics, &mut out);
        out
    }

    pub fn cell(&self, lane: &str, stage: &str) -> Option<&Cell> {
        by_names(self.cells.get(lane)?, lane, stage).map(|c| &**c)
    }

    /// The cells of `lane`, by stage name: one look-up of the lane for all of them.
    pub fn lane_cells(&self, lane: &str) -> impl Iterator<Item = (&str, &Cell)> {
        self.cells
            .get(lane)
            .into_iter()
            .flat_map(|l| l.iter().map(|(k, c)| (&*k.stage, &**c)))
    }

    /// The metrics of `lane`, by stage name, as [`World::lane_cells`].
    pub fn lane_metrics(&self, lane: &str) -> impl Iterator<Item = (&str, &[Metric])> {
        self.metrics
            .get(lane)
            .into_iter()
            .flat_map(|l| l.iter().map(|(k, m)| (&*k.stage, m.as_slice())))
    }

    /// Every cell, by lane then stage name.
    pub fn cells(&self) -> impl Iterator<Item = (&CellKey, &Cell)> {
        self.cells
            .values()
            .flat_map(|l| l.iter().map(|(k, c)| (k, &**c)))
    }

    pub fn metrics(&self, lane: &str, stage: &str) -> &[Metric] {
        self.metrics
            .get(lane)
            .and_then(|l| by_names(l, lane, stage))
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

    /// How old the data of a cell is: since it was fetched, or since its source last vouched
    /// for it (a partial batch vouches for every cell of its source without an error).
    pub fn age(&self, cell: &Cell, now: Timestamp) -> Option<Duration> {
        age_by(self.sources.get(&cell.source), cell, now)
    }

    /// When `cell`'s data counts from, as [`World::is_stale`] reads it (its fetch, or its
    /// source vouching for it since); `None` for a cell never fetched.
    pub fn fresh_since(&self, cell: &Cell) -> Option<Timestamp> {
        fresh_since(self.sources.get(&cell.source), cell)
    }

    /// Stale: its source failed on the last attempt, or the data is older than the source's
    /// `stale_after`.
    pub fn is_stale(&self, cell: &Cell, now: Timestamp) -> bool {
        let Some(src) = self.sources.get(&cell.source) else {
            return cell.fetched_at.is_none();
        };
        src.stale(age_by(Some(src), cell, now))
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
        self.metrics_stale(&m.source, now)
    }

    /// Every metric of the source named `source` is stale (see [`World::metric_stale`]): a
    /// metric's staleness is its source's.
    pub fn metrics_stale(&self, source: &str, now: Timestamp) -> bool {
        let Some(src) = self.sources.get(source) else {
            return false;
        };
        src.stale(src.last_ok.map(|t| age(t, now)))
    }

    /// How old a metric's measurement is (its source's last good poll).
    pub fn metric_age(&self, m: &Metric, now: Timestamp) -> Option<Duration> {
        let t = self.sources.get(&*m.source)?.last_ok?;
        Some(age(t, now))
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
            .filter_map(|s| s.last_ok.map(|t| age(t, now)))
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
                    name: format!("m{i}").into(),
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
        assert_eq!(&*kept[0].name, "m0");
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
        assert_eq!(w.metrics("api", "canary")[0].source.as_ref(), "sim");
        // Another source's whole batches without metrics leave them be; the source's own
        // takes them away (it has none now).
        let empty = |source: &str, at| SourceReport {
            source: source.into(),
            at: t(at),
            outcome: Ok(Batch::default()),
        };
        let before = w.clone();
        w.apply(empty("gh", 1));
        assert!(w.shares_metrics(&before), "nothing of the metrics touched");
        assert!(!w.source("gh").unwrap().sent_metrics);
        assert!(w.source("sim").unwrap().sent_metrics);
        w.apply(empty("sim", 2));
        assert!(w.metrics("api", "canary").is_empty());
        assert!(
            w.source("sim").unwrap().sent_metrics,
            "it may send some again"
        );
    }
    #[test]
    fn a_partial_batch_changes_what_it_carries_and_vouches_for_the_rest() {
        let mut w = World::new([("sim", "http", Duration::from_secs(10))]);
        let (api, web) = (CellKey::new("api", "build"), CellKey::new("web", "build"));
        let m = |name: &str, v: f64| Metric {
            name: name.into(),
            value: Some(v),
            ..Default::default()
        };
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(0),
            outcome: Ok(Batch {
                cells: vec![
                    (api.clone(), cell("v1", CellState::Running)),
                    (web.clone(), cell("w1", CellState::Succeeded)),
                ],
                metrics: vec![
                    (api.clone(), m("errors", 0.1)),
                    (api.clone(), m("p99", 0.2)),
                ],
                ..Batch::default()
            }),
        });
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(1),
            outcome: Ok(Batch {
                cell_errors: vec![(web.clone(), "malformed cell".into())],
                ..Batch::default()
            }),
        });
        let before = w.clone();
        let partial = |at, cells, metrics, removed_metrics| SourceReport {
            source: "sim".into(),
            at: t(at),
            outcome: Ok(Batch {
                cells,
                metrics,
                removed_metrics,
                partial: true,
                ..Batch::default()
            }),
        };
        // Nothing changed (a 304): the lanes stay shared, the good cell is fresh as of now,
        // the cell with an error of its own is not vouched for.
        assert!(w.apply(partial(8, vec![], vec![], vec![])).is_empty());
        assert!(w.shares_cells(&before) && w.shares_metrics(&before));
        let (a, b) = (
            w.cell("api", "build").unwrap(),
            w.cell("web", "build").unwrap(),
        );
        assert_eq!(w.age(a, t(12)), Some(Duration::from_secs(4)));
        assert!(!w.is_stale(a, t(12)));
        assert_eq!(w.age(b, t(12)), Some(Duration::from_secs(12)));
        assert!(w.is_stale(b, t(12)));
        // One cell and one metric changed, one metric removed: only api's lane is copied.
        let ch = w.apply(partial(
            9,
            vec![(api.clone(), cell("v2", CellState::Running))],
            vec![(api.clone(), m("p99", 0.3))],
            vec![(api.clone(), "errors".into())],
        ));
        assert_eq!(ch.len(), 1);
        assert!(!w.shares_lane_cells(&before, "api") && w.shares_lane_cells(&before, "web"));
        assert!(!w.shares_lane_metrics(&before, "api"));
        assert_eq!(w.lanes_not_shared(&before), BTreeSet::from(["api"]));
        assert_eq!(before.lanes_not_shared(&w), BTreeSet::from(["api"]));
        assert!(w.lanes_not_shared(&w.clone()).is_empty());
        assert_eq!(
            w.lanes_not_shared(&World::default()),
            BTreeSet::from(["api", "web"]),
            "lanes on one side only"
        );
        assert_eq!(
            w.metrics("api", "build"),
            [Metric {
                source: "sim".into(),
                ..m("p99", 0.3)
            }]
        );
        assert_eq!(
            w.cell("web", "build").unwrap().version.as_deref(),
            Some("w1")
        );
        assert_eq!(
            w.cell("web", "build").unwrap().error.as_deref(),
            Some("malformed cell")
        );
        // A whole batch of the same metrics leaves the lane as it was; another value copies it.
        let whole = |v| SourceReport {
            source: "sim".into(),
            at: t(10),
            outcome: Ok(Batch {
                metrics: vec![(api.clone(), m("p99", v))],
                ..Batch::default()
            }),
        };
        let now = w.clone();
        w.apply(whole(0.3));
        assert!(w.shares_metrics(&now));
        w.apply(whole(0.4));
        assert!(!w.shares_lane_metrics(&now, "api"));
        assert_eq!(w.metrics("api", "build")[0].value, Some(0.4));
    }
}
