//! What the `http` source keeps between polls, so that a poll pays for change only
//! (docs/protocol.md, "Paying for change only"): the last train it was sent, merged from whole
//! trains and deltas, its cursor and its ETag. Pure: no IO.
//!
//! - A whole train replaces what is kept.
//! - A delta is merged into it: its `removed` cells and metrics go first, then each cell and
//!   metric it carries replaces the one of the same name (or is new).
//! - A `304 Not Modified` means the kept train is current: it is reported again, fresh.
//! - A cell the server no longer lists (gone from a whole train, or `removed` by a delta) is
//!   reported as an error on that cell until the server lists it again: trainyard marks it
//!   and keeps its last data, rather than letting it age quietly.
//! - A poll reports the whole kept train ([`Kept::whole`]); the poller's polls, whose reports
//!   all go into one world, report it whole the first time, then only what changed since
//!   ([`Kept::changes`], a partial batch, [`Batch::partial`]): the cells and metrics a delta or
//!   a whole train brought that differ from the kept ones, the cells gone, the metrics
//!   removed. The world keeps the rest, fresh as of the report.
//!
//! Only the configured cells are kept (entries of other lanes and stages are dropped as they
//! arrive); metrics only when the source takes them.

use std::collections::{BTreeMap, BTreeSet};

use super::NameMap;
use super::http::{cell_entry, metric_entry};
use super::http_doc::{Doc, Entry, List, key_of, known_cells, metric_names};
use crate::model::text::sanitize;
use crate::model::{Batch, Cell, CellKey, History, Metric};

/// A kept cell's history and the id of its text, for the next answer to take as it is.
fn kept_history((_, cell, id): &(CellKey, Result<Cell, String>, u64)) -> Option<(&History, u64)> {
    cell.as_ref().ok().map(|c| (&c.history, *id))
}

/// Why an answer could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A delta that does not follow what is kept (a delta since another cursor, or with
    /// nothing kept to merge it into): ask again for the whole train.
    Resync(String),
    /// A document that can't be read: the poll fails.
    Broken(String),
}

/// The error a cell gets when the server no longer lists it.
pub const GONE: &str = "no longer in the source's train: the server stopped listing this cell";

/// A cell as the server names it.
type Remote = (String, String);
/// A metric as the server names it: lane, stage, name.
type MetricId = (String, String, String);

#[derive(Debug, Default)]
pub struct Kept {
    /// Whether a train was taken at all (a 304 needs one).
    has_train: bool,
    /// With the id of the history's text ([`cell_entry`]).
    cells: BTreeMap<Remote, (CellKey, Result<Cell, String>, u64)>,
    /// By (lane, stage, name); the number orders them as the server first sent them.
    metrics: BTreeMap<MetricId, (u64, CellKey, Metric)>,
    next_order: u64,
    /// Configured cells the server listed once and no longer does.
    gone: BTreeMap<Remote, CellKey>,
    cursor: Option<String>,
    etag: Option<String>,
    /// A report of changes was made: the next reports only what changed since.
    reported: bool,
    /// Since the last report of changes: cells taken that differ from the kept ones, or gone.
    dirty_cells: BTreeSet<Remote>,
    /// Since the last report of changes: metrics taken that differ from the kept ones.
    dirty_metrics: BTreeSet<MetricId>,
    /// Since the last report of changes: metrics removed (their cell as configured, their
    /// name).
    removed_metrics: BTreeMap<MetricId, CellKey>,
}

impl Kept {
    /// The cursor to send as `?since=` (with a train to merge a delta into).
    pub fn since(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|_| self.has_train)
    }

    /// The ETag to send as `If-None-Match` (with a train a 304 would stand for).
    pub fn if_none_match(&self) -> Option<&str> {
        self.etag.as_deref().filter(|_| self.has_train)
    }

    /// Whether there is a train that a `304 Not Modified` stands for.
    pub fn has_train(&self) -> bool {
        self.has_train
    }

    /// Ask for the whole train next time: no cursor, no ETag (what is kept stays, so that
    /// the next whole train still tells which cells went).
    pub fn forget(&mut self) {
        self.cursor = None;
        self.etag = None;
    }

    /// Take an answer of `GET /v1/train`: a whole train or a delta (`"delta": true`) since
    /// `sent_since`, the cursor the request carried. `etag` is the answer's ETag header;
    /// `metrics` whether the source keeps the payload's metrics.
    pub fn take(
        &mut self,
        doc: &Doc,
        etag: Option<String>,
        sent_since: Option<&str>,
        names: &NameMap,
        metrics: bool,
    ) -> Result<(), Refused> {
        if doc.is_delta() {
            let since = doc.since();
            let since = since.as_deref();
            match (sent_since, since) {
                (Some(sent), Some(since)) if sent == since && self.has_train => {}
                (None, _) => {
                    return Err(Refused::Resync(
                        "the server answered with a delta to a request without a cursor".into(),
                    ));
                }
                _ => {
                    return Err(Refused::Resync(format!(
                        "the server answered with a delta since {} where {} was asked",
                        since.map_or("no cursor".to_string(), |s| format!(
                            "{:?}",
                            sanitize(s, 60)
                        )),
                        sent_since.map_or("none".to_string(), |s| format!("{:?}", sanitize(s, 60)))
                    )));
                }
            }
            self.merge_delta(doc, names, metrics)?;
        } else {
            self.replace(doc, names, metrics)?;
        }
        self.has_train = true;
        self.cursor = doc
            .cursor()
            .filter(|c| !c.is_empty() && c.len() <= 1024)
            .map(|c| c.into_owned());
        self.etag = etag.filter(|e| !e.is_empty() && e.len() <= 1024);
        Ok(())
    }

    fn replace(&mut self, doc: &Doc, names: &NameMap, metrics: bool) -> Result<(), Refused> {
        let cells = doc
            .cells()
            .map_err(Refused::Broken)?
            .ok_or_else(|| Refused::Broken("payload has no \"cells\" array".into()))?;
        let before = std::mem::take(&mut self.cells);
        let before_metrics = std::mem::take(&mut self.metrics);
        self.next_order = 0;
        self.put_cells_over(&cells, names, before);
        if metrics {
            let list = doc.metrics().map_err(Refused::Broken)?;
            self.put_metrics(&list, names, &before_metrics);
        }
        for (id, (_, key, _)) in before_metrics {
            if !self.metrics.contains_key(&id) {
                self.remove_metric(id, key);
            }
        }
        Ok(())
    }

    fn merge_delta(&mut self, doc: &Doc, names: &NameMap, metrics: bool) -> Result<(), Refused> {
        let list = |what| doc.delta_list(what).map_err(Refused::Broken);
        let cells = list(List::Cells)?;
        let changed = list(List::Metrics)?;
        let gone_cells = list(List::RemovedCells)?;
        let gone_metrics = list(List::RemovedMetrics)?;
        for entry in gone_cells {
            let Some((lane, stage)) = key_of(entry) else {
                continue;
            };
            let remote = (lane.into_owned(), stage.into_owned());
            if let Some((key, _, _)) = self.cells.remove(&remote) {
                self.dirty_cells.insert(remote.clone());
                self.gone.insert(remote, key);
            }
        }
        for entry in gone_metrics {
            let Some((lane, stage, Some(name))) = metric_names(entry) else {
                continue;
            };
            let id = (lane.into_owned(), stage.into_owned(), name);
            if let Some((_, key, _)) = self.metrics.remove(&id) {
                self.remove_metric(id, key);
            }
        }
        self.put_cells(&cells, names);
        if metrics {
            self.put_metrics(&changed, names, &BTreeMap::new());
        }
        Ok(())
    }

    /// A delta's cells, each over the kept one of its name.
    fn put_cells(&mut self, cells: &[Entry], names: &NameMap) {
        for (entry, remote, key) in known_cells(cells, names) {
            let was = self.cells.get(&remote);
            let (cell, id) = cell_entry(entry, was.and_then(kept_history));
            self.gone.remove(&remote);
            if was.is_none_or(|(_, c, _)| *c != cell) {
                self.dirty_cells.insert(remote.clone());
            }
            self.cells.insert(remote, (key.clone(), cell, id));
        }
    }

    /// A whole train's cells in place of `before`, the cells kept until now: those that
    /// differ are marked changed, those it no longer has gone.
    fn put_cells_over(
        &mut self,
        cells: &[Entry],
        names: &NameMap,
        mut before: BTreeMap<Remote, (CellKey, Result<Cell, String>, u64)>,
    ) {
        for (entry, remote, key) in known_cells(cells, names) {
            let was = before.remove(&remote);
            let (cell, id) = cell_entry(entry, was.as_ref().and_then(kept_history));
            if self.gone.remove(&remote).is_some() || was.is_none_or(|(_, c, _)| c != cell) {
                self.dirty_cells.insert(remote.clone());
            }
            self.cells.insert(remote, (key.clone(), cell, id));
        }
        for (remote, (key, _, _)) in before {
            self.dirty_cells.insert(remote.clone());
            self.gone.insert(remote, key);
        }
    }

    fn remove_metric(&mut self, id: MetricId, key: CellKey) {
        self.dirty_metrics.remove(&id);
        self.removed_metrics.insert(id, key);
    }

    /// Metrics over the kept ones (or, for a whole train, over `before`, what was kept).
    fn put_metrics(
        &mut self,
        list: &[Entry],
        names: &NameMap,
        before: &BTreeMap<MetricId, (u64, CellKey, Metric)>,
    ) {
        for &entry in list {
            let Some((lane, stage, name)) = metric_names(entry) else {
                continue;
            };
            let Some(key) = names.metric_cell(&lane, &stage) else {
                continue;
            };
            let name = name.unwrap_or_else(|| "?".into());
            let metric = metric_entry(entry);
            let id = (lane.into_owned(), stage.into_owned(), name);
            let order = match self.metrics.get(&id) {
                Some((order, _, _)) => *order,
                None => {
                    self.next_order += 1;
                    self.next_order
                }
            };
            let was = self.metrics.get(&id).or_else(|| before.get(&id));
            if was.is_none_or(|(_, _, m)| *m != metric) {
                self.removed_metrics.remove(&id);
                self.dirty_metrics.insert(id.clone());
            }
            self.metrics.insert(id, (order, key, metric));
        }
    }

    /// The kept train as a report to the poller: the first time, all of it
    /// ([`Kept::whole`]); after that, a partial batch of what changed since the last time.
    pub fn changes(&mut self) -> Batch {
        let dirty_cells = std::mem::take(&mut self.dirty_cells);
        let dirty_metrics = std::mem::take(&mut self.dirty_metrics);
        let removed = std::mem::take(&mut self.removed_metrics);
        if !self.reported {
            self.reported = true;
            return self.whole();
        }
        let mut batch = Batch {
            partial: true,
            ..Batch::default()
        };
        for remote in &dirty_cells {
            match (self.cells.get(remote), self.gone.get(remote)) {
                (Some((key, Ok(c), _)), _) => batch.cells.push((key.clone(), c.clone())),
                (Some((key, Err(e), _)), _) => batch.cell_errors.push((key.clone(), e.clone())),
                (None, Some(key)) => batch.cell_errors.push((key.clone(), GONE.to_string())),
                (None, None) => {}
            }
        }
        let mut metrics: Vec<&(u64, CellKey, Metric)> = dirty_metrics
            .iter()
            .filter_map(|id| self.metrics.get(id))
            .collect();
        metrics.sort_by_key(|(order, _, _)| *order);
        batch.metrics = metrics
            .into_iter()
            .map(|(_, key, m)| (key.clone(), m.clone()))
            .collect();
        batch.removed_metrics = removed
            .into_iter()
            .map(|((_, _, name), key)| (key, name))
            .collect();
        batch
    }

    /// The kept train as a poll's report: every kept cell (or its error), every gone cell's
    /// error, every kept metric in the order the server first sent them.
    pub fn whole(&self) -> Batch {
        let mut batch = Batch::default();
        for (key, cell, _) in self.cells.values() {
            match cell {
                Ok(c) => batch.cells.push((key.clone(), c.clone())),
                Err(e) => batch.cell_errors.push((key.clone(), e.clone())),
            }
        }
        for key in self.gone.values() {
            batch.cell_errors.push((key.clone(), GONE.to_string()));
        }
        let mut metrics: Vec<&(u64, CellKey, Metric)> = self.metrics.values().collect();
        metrics.sort_by_key(|(order, _, _)| *order);
        batch.metrics = metrics
            .into_iter()
            .map(|(_, key, m)| (key.clone(), m.clone()))
            .collect();
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CellState;
    use serde_json::{Value, json};

    impl Kept {
        /// [`Kept::take`] of a document written as a `Value`.
        fn take_json(
            &mut self,
            doc: &Value,
            etag: Option<String>,
            sent_since: Option<&str>,
            names: &NameMap,
            metrics: bool,
        ) -> Result<(), Refused> {
            let text = doc.to_string();
            let doc = crate::sources::http_doc::parse_doc(text.as_bytes()).unwrap();
            self.take(&doc, etag, sent_since, names, metrics)
        }
    }

    fn names() -> NameMap {
        let mut m = NameMap::default();
        for (l, s) in [("api", "canary"), ("api", "prod"), ("web", "canary")] {
            m.insert(CellKey::new(l, s), l.into(), s.into());
        }
        m
    }

    fn cell(lane: &str, stage: &str, state: &str, version: &str) -> Value {
        json!({"lane": lane, "stage": stage, "state": state, "version": version})
    }

    fn metric(lane: &str, stage: &str, name: &str, value: f64) -> Value {
        json!({"lane": lane, "stage": stage, "name": name, "value": value})
    }

    fn full() -> Value {
        json!({
            "protocol": 1,
            "cursor": "e-10",
            "cells": [
                cell("api", "canary", "running", "v2"),
                cell("api", "prod", "succeeded", "v1"),
                cell("web", "canary", "succeeded", "w1"),
                cell("elsewhere", "canary", "running", "x"),
            ],
            "metrics": [
                metric("api", "canary", "error_rate", 0.01),
                metric("api", "canary", "latency", 0.2),
            ],
        })
    }

    fn kept() -> Kept {
        let mut k = Kept::default();
        k.take_json(&full(), Some("W/\"e-a10\"".into()), None, &names(), true)
            .unwrap();
        k
    }

    /// (lane stage, state, version) of every cell of a batch.
    fn cells(b: &Batch) -> Vec<(String, CellState, String)> {
        b.cells
            .iter()
            .map(|(k, c)| {
                (
                    k.to_string(),
                    c.state,
                    c.version.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn value(b: &Batch, name: &str) -> Option<f64> {
        b.metrics.iter().find(|(_, m)| *m.name == *name)?.1.value
    }

    #[test]
    fn a_whole_train_is_kept_with_its_cursor_and_etag() {
        let mut k = kept();
        assert_eq!(k.since(), Some("e-10"));
        assert_eq!(k.if_none_match(), Some("W/\"e-a10\""));
        let b = k.changes();
        assert_eq!(b.cells.len(), 3, "the unconfigured cell is not kept");
        assert!(b.cell_errors.is_empty());
        assert_eq!(value(&b, "error_rate"), Some(0.01));
        // Nothing to send before a train was taken.
        let empty = Kept::default();
        assert_eq!((empty.since(), empty.if_none_match()), (None, None));
        assert!(!empty.has_train());
    }

    #[test]
    fn a_delta_changes_a_cell_adds_a_new_one_and_leaves_the_rest() {
        let mut k = kept();
        let mut names = names();
        names.insert(CellKey::new("web", "prod"), "web".into(), "prod".into());
        let delta = json!({
            "delta": true, "since": "e-10", "cursor": "e-14",
            "cells": [cell("api", "canary", "succeeded", "v2"), cell("web", "prod", "running", "w1")],
            "metrics": [metric("api", "canary", "error_rate", 0.03)],
            "removed": {"cells": [], "metrics": []},
        });
        k.take_json(
            &delta,
            Some("W/\"e-a14\"".into()),
            Some("e-10"),
            &names,
            true,
        )
        .unwrap();
        assert_eq!(k.since(), Some("e-14"));
        assert_eq!(k.if_none_match(), Some("W/\"e-a14\""));
        let b = k.changes();
        assert_eq!(
            cells(&b),
            [
                ("api canary".into(), CellState::Succeeded, "v2".into()),
                ("api prod".into(), CellState::Succeeded, "v1".into()),
                ("web canary".into(), CellState::Succeeded, "w1".into()),
                ("web prod".into(), CellState::Running, "w1".into()),
            ]
        );
        assert_eq!(value(&b, "error_rate"), Some(0.03));
        assert_eq!(value(&b, "latency"), Some(0.2), "an unchanged metric stays");
        // In the order the server first sent them.
        let order: Vec<&str> = b.metrics.iter().map(|(_, m)| &*m.name).collect();
        assert_eq!(order, ["error_rate", "latency"]);
    }

    #[test]
    fn a_removed_cell_is_marked_until_it_comes_back_and_a_removed_metric_goes() {
        let mut k = kept();
        let delta = json!({
            "delta": true, "since": "e-10", "cursor": "e-12",
            "cells": [], "metrics": [],
            "removed": {"cells": [{"lane": "api", "stage": "prod"}],
                        "metrics": [{"lane": "api", "stage": "canary", "name": "latency"}]},
        });
        k.take_json(&delta, None, Some("e-10"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert_eq!(b.cells.len(), 2);
        assert_eq!(
            b.cell_errors,
            [(CellKey::new("api", "prod"), GONE.to_string())]
        );
        assert_eq!(value(&b, "latency"), None);
        assert_eq!(b.metrics.len(), 1);
        // No ETag with this answer: none is sent next time.
        assert_eq!(k.if_none_match(), None);
        // It comes back.
        let back = json!({"delta": true, "since": "e-12", "cursor": "e-13",
                          "cells": [cell("api", "prod", "running", "v2")]});
        k.take_json(&back, None, Some("e-12"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert!(b.partial && b.cell_errors.is_empty());
        assert_eq!(
            cells(&b),
            [("api prod".into(), CellState::Running, "v2".into())]
        );
        assert_eq!(k.whole().cells.len(), 3);
    }

    #[test]
    fn a_cell_missing_from_a_whole_train_is_marked_too() {
        let mut k = kept();
        let mut doc = full();
        doc["cells"].as_array_mut().unwrap().remove(2);
        k.take_json(&doc, None, Some("e-10"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert_eq!(
            b.cell_errors,
            [(CellKey::new("web", "canary"), GONE.to_string())]
        );
        assert_eq!(b.cells.len(), 2);
    }

    #[test]
    fn a_delta_that_does_not_follow_the_kept_train_asks_for_the_whole_one() {
        let delta =
            |since: &str| json!({"delta": true, "since": since, "cursor": "e-20", "cells": []});
        // Since another cursor than the one sent.
        let mut k = kept();
        let e = k
            .take_json(&delta("e-5"), None, Some("e-10"), &names(), true)
            .unwrap_err();
        assert!(
            matches!(&e, Refused::Resync(m) if m.contains("since \"e-5\" where \"e-10\" was asked")),
            "{e:?}"
        );
        // Nothing was changed: the next request is still conditional on the kept train.
        assert_eq!(k.since(), Some("e-10"));
        // A delta to a request that had no cursor.
        let e = k
            .take_json(&delta("e-10"), None, None, &names(), true)
            .unwrap_err();
        assert!(matches!(e, Refused::Resync(_)), "{e:?}");
        // A delta with nothing kept to merge into.
        let mut empty = Kept::default();
        let e = empty
            .take_json(&delta("e-10"), None, Some("e-10"), &names(), true)
            .unwrap_err();
        assert!(matches!(e, Refused::Resync(_)), "{e:?}");
        // Then the whole train, which the server sends for a cursor it can't answer.
        k.forget();
        assert_eq!((k.since(), k.if_none_match()), (None, None));
        k.take_json(&full(), None, None, &names(), true).unwrap();
        assert_eq!(k.since(), Some("e-10"));
    }

    #[test]
    fn a_broken_delta_or_train_is_refused_and_changes_nothing() {
        let mut k = kept();
        for doc in [
            json!({"delta": true, "since": "e-10", "cells": 3}),
            json!({"delta": true, "since": "e-10", "removed": {"cells": "x"}}),
            json!({"cursor": "e-11"}),
        ] {
            let e = k
                .take_json(&doc, None, Some("e-10"), &names(), true)
                .unwrap_err();
            assert!(matches!(e, Refused::Broken(_)), "{e:?}");
            assert_eq!(k.since(), Some("e-10"));
            assert_eq!(k.whole().cells.len(), 3);
        }
    }

    #[test]
    fn a_malformed_entry_marks_its_cell_until_a_good_one_replaces_it() {
        let mut k = kept();
        let bad = json!({"delta": true, "since": "e-10", "cursor": "e-11",
                         "cells": [cell("api", "canary", "exploded", "v3")]});
        k.take_json(&bad, None, Some("e-10"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert_eq!(b.cell_errors.len(), 1);
        assert!(
            b.cell_errors[0].1.contains("unknown state"),
            "{:?}",
            b.cell_errors
        );
        // Kept (a whole report has it), reported once: the world keeps the cell's error.
        assert_eq!(k.whole().cell_errors.len(), 1);
        assert_eq!(k.changes(), partial());
        let good = json!({"delta": true, "since": "e-11", "cursor": "e-12",
                          "cells": [cell("api", "canary", "succeeded", "v3")]});
        k.take_json(&good, None, Some("e-11"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert!(b.cell_errors.is_empty());
        assert_eq!(
            cells(&b),
            [("api canary".into(), CellState::Succeeded, "v3".into())]
        );
    }

    fn partial() -> Batch {
        Batch {
            partial: true,
            ..Batch::default()
        }
    }

    #[test]
    fn after_the_first_report_only_what_changed_is_reported() {
        let mut k = kept();
        let first = k.changes();
        assert!(!first.partial, "the first report is whole");
        assert_eq!(first.cells.len(), 3);
        // Nothing taken since (a 304): an empty partial batch, which vouches for the rest.
        assert_eq!(k.changes(), partial());
        // A delta that repeats a cell as it is and changes a metric: only the metric.
        let delta = json!({
            "delta": true, "since": "e-10", "cursor": "e-11",
            "cells": [cell("api", "prod", "succeeded", "v1")],
            "metrics": [metric("api", "canary", "latency", 0.3)],
        });
        k.take_json(&delta, None, Some("e-10"), &names(), true)
            .unwrap();
        // A whole report in between (an action's verification) takes nothing away.
        assert_eq!(k.whole().cells.len(), 3);
        let b = k.changes();
        assert!(b.partial && b.cells.is_empty() && b.cell_errors.is_empty());
        assert_eq!(b.metrics.len(), 1);
        assert_eq!(value(&b, "latency"), Some(0.3));
        // A whole train (an old server's, or after a resync): the cells and metrics that
        // differ from the kept ones, the cell it no longer lists, the metric it dropped.
        let mut doc = full();
        doc["cells"][0] = cell("api", "canary", "succeeded", "v2");
        doc["cells"].as_array_mut().unwrap().remove(2);
        doc["metrics"].as_array_mut().unwrap().remove(1);
        k.take_json(&doc, None, None, &names(), true).unwrap();
        let b = k.changes();
        assert!(b.partial);
        assert_eq!(
            cells(&b),
            [("api canary".into(), CellState::Succeeded, "v2".into())]
        );
        assert_eq!(
            b.cell_errors,
            [(CellKey::new("web", "canary"), GONE.to_string())]
        );
        assert!(b.metrics.is_empty(), "error_rate is as it was");
        assert_eq!(
            b.removed_metrics,
            [(CellKey::new("api", "canary"), "latency".to_string())]
        );
        // The same train again: nothing.
        k.take_json(&doc, None, None, &names(), true).unwrap();
        assert_eq!(k.changes(), partial());
        // A metric removed and back before the next report: reported as it is now.
        let gone = json!({"delta": true, "since": "e-10", "cursor": "e-11",
            "removed": {"metrics": [{"lane": "api", "stage": "canary", "name": "error_rate"}]}});
        k.take_json(&gone, None, Some("e-10"), &names(), true)
            .unwrap();
        let back = json!({"delta": true, "since": "e-11", "cursor": "e-12",
            "metrics": [metric("api", "canary", "error_rate", 0.01)]});
        k.take_json(&back, None, Some("e-11"), &names(), true)
            .unwrap();
        let b = k.changes();
        assert!(b.removed_metrics.is_empty());
        assert_eq!(value(&b, "error_rate"), Some(0.01));
    }

    #[test]
    fn without_metrics_none_are_kept() {
        let mut k = Kept::default();
        k.take_json(&full(), None, None, &names(), false).unwrap();
        assert!(k.changes().metrics.is_empty());
    }

    #[test]
    fn a_history_sent_again_as_it_was_is_the_kept_one_not_a_copy() {
        let with = |progress: f64, history: Value| {
            let mut c = cell("api", "canary", "running", "v2");
            c["progress"] = json!(progress);
            c["history"] = history;
            json!({"protocol": 1, "cursor": "e-1", "cells": [c]})
        };
        let old = json!([{"version": "v1", "state": "succeeded", "actor": "ci"}]);
        let mut k = Kept::default();
        k.take_json(&with(0.2, old.clone()), None, None, &names(), false)
            .unwrap();
        let history = |k: &Kept| k.whole().cells[0].1.history.clone();
        let first = history(&k);
        assert_eq!(first[0].version, "v1");
        // The cell moved; its history is the same text: the same list, not read again.
        k.take_json(&with(0.6, old), None, None, &names(), false)
            .unwrap();
        let second = history(&k);
        assert_eq!(k.whole().cells[0].1.progress, Some(0.6));
        assert!(std::ptr::eq(first.as_ptr(), second.as_ptr()));
        // A history that changed is read.
        let new = json!([
            {"version": "v2-rc", "state": "failed", "actor": "ci"},
            {"version": "v1", "state": "succeeded", "actor": "ci"}
        ]);
        k.take_json(&with(0.6, new), None, None, &names(), false)
            .unwrap();
        let third = history(&k);
        assert_eq!(third.len(), 2);
        assert_eq!(third[0].state, CellState::Failed);
        // And a broken one marks the cell, as any broken part of it does.
        k.take_json(
            &with(0.7, json!([{"version": 3}])),
            None,
            None,
            &names(),
            false,
        )
        .unwrap();
        let b = k.whole();
        assert!(b.cells.is_empty());
        assert!(
            b.cell_errors[0]
                .1
                .starts_with("malformed cell: history: invalid type"),
            "{:?}",
            b.cell_errors
        );
    }
}
