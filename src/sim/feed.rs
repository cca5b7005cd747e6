//! The train as a feed of changes: what `/v1/train` needs for the protocol's extensions
//! (docs/protocol.md, "Paying for change only"). Pure: no clock, no IO.
//!
//! Every cell and metric of the train is an *item*, kept as the bytes it was last served as
//! and the number of the change that made it so. [`Feed::refresh`] renders the scenario,
//! compares each item with what it was and numbers every difference (a new item, a changed
//! one, one that is gone) with the next change number. From that:
//!
//! - the **cursor** `EPOCH-SEQ` names the train after change `SEQ` of this simulator run
//!   (`EPOCH` is different on every start, so a cursor of another run is never taken for one
//!   of this);
//! - the **ETag** names the state of what a client is sent: the last change among the cells,
//!   or among cells and metrics when it takes the metrics;
//! - a **delta** since a cursor is every item changed after it and every item gone after it.
//!   Gone items are remembered (at most [`MAX_GONE`]); a cursor older than the oldest forgotten
//!   one, or of another run, gets the whole train instead.
//!
//! The body of an answer is put together from the kept bytes, so an unchanged item is
//! serialized once, not on every request.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};

use super::scenario::Scenario;

/// Gone items remembered for deltas.
pub(crate) const MAX_GONE: usize = 10_000;

/// What names an item: `[lane, stage]` for a cell, `[lane, stage, name]` for a metric.
pub(crate) type ItemKey = Vec<String>;

struct Item {
    key: ItemKey,
    body: Vec<u8>,
    changed: u64,
}

/// One kind of item (the cells, or the metrics), in the order they are served.
#[derive(Default)]
pub(crate) struct Journal {
    items: Vec<Item>,
    /// Gone items, oldest first: (the change that removed it, its key).
    gone: VecDeque<(u64, ItemKey)>,
    /// A delta since a change before this can't be answered: a gone item was forgotten.
    floor: u64,
    /// The last change of this kind.
    last: u64,
}

impl Journal {
    /// Take the items as they are now (`fresh`, in serving order), numbering each difference
    /// with the next value of `seq`.
    pub(crate) fn update(&mut self, seq: &mut u64, fresh: Vec<(ItemKey, Vec<u8>)>) {
        let mut old: HashMap<ItemKey, Item> = self
            .items
            .drain(..)
            .map(|item| (item.key.clone(), item))
            .collect();
        let mut items = Vec::with_capacity(fresh.len());
        for (key, body) in fresh {
            match old.remove(&key) {
                Some(item) if item.body == body => items.push(item),
                was => {
                    *seq += 1;
                    self.last = *seq;
                    if was.is_none() && !self.gone.is_empty() {
                        // Back again: no longer gone.
                        self.gone.retain(|(_, k)| *k != key);
                    }
                    items.push(Item {
                        key,
                        body,
                        changed: *seq,
                    });
                }
            }
        }
        // What is left was not served this time: gone, in the order it was served before.
        let mut left: Vec<Item> = old.into_values().collect();
        left.sort_by_key(|i| i.changed);
        for item in left {
            *seq += 1;
            self.last = *seq;
            self.gone.push_back((*seq, item.key));
        }
        while self.gone.len() > MAX_GONE {
            if let Some((at, _)) = self.gone.pop_front() {
                self.floor = at;
            }
        }
        self.items = items;
    }

    /// Item `i` is now `body` (a render of the same item, in the same place).
    fn update_at(&mut self, seq: &mut u64, i: usize, body: Vec<u8>) {
        let Some(item) = self.items.get_mut(i) else {
            return;
        };
        if item.body != body {
            *seq += 1;
            self.last = *seq;
            item.body = body;
            item.changed = *seq;
        }
    }

    /// Every item's body, in order.
    fn bodies(&self) -> impl Iterator<Item = &[u8]> {
        self.items.iter().map(|i| i.body.as_slice())
    }

    /// The items changed after `since` and the keys gone after it; `None` when that is
    /// no longer known.
    fn since(&self, since: u64) -> Option<(Vec<&[u8]>, Vec<&ItemKey>)> {
        if since < self.floor {
            return None;
        }
        let changed = self
            .items
            .iter()
            .filter(|i| i.changed > since)
            .map(|i| i.body.as_slice())
            .collect();
        let gone = self
            .gone
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|(_, k)| k)
            .collect();
        Some((changed, gone))
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// The train as served, with its changes numbered.
pub(crate) struct Feed {
    epoch: u64,
    seq: u64,
    cells: Journal,
    metrics: Journal,
    /// The scenario's sample count the metrics were rendered at.
    samples: Option<u64>,
    /// [`Scenario::cell_stamps`] at the last render of the cells.
    stamps: Vec<(u64, bool)>,
}

/// What a `GET /v1/train` is answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The whole train.
    Full { body: Vec<u8>, cells: usize },
    /// What changed since the cursor the client sent.
    Delta {
        body: Vec<u8>,
        cells: usize,
        metrics: usize,
        removed: usize,
    },
}

impl Feed {
    /// An empty feed; `epoch` tells this run's cursors from another's.
    pub(crate) fn new(epoch: u64) -> Feed {
        Feed {
            epoch,
            seq: 0,
            cells: Journal::default(),
            metrics: Journal::default(),
            samples: None,
            stamps: Vec::new(),
        }
    }

    /// Bring the feed up to the scenario as it is now, its metrics too when `metrics` (a
    /// client that takes them is answered). The metrics are rendered again only after a new
    /// sample, and only for such a client: they are most of the train.
    pub(crate) fn refresh(&mut self, sc: &Scenario, metrics: bool) {
        let stamps = sc.cell_stamps();
        if sc.hostile() || stamps.len() != self.stamps.len() || stamps.len() != self.cells.len() {
            // Dressed cells are dressed as a whole train; a first render has nothing kept.
            let mut cells = Vec::with_capacity(stamps.len());
            sc.each_cell_json(|c| cells.push((key(&c, &["lane", "stage"]), bytes(&c))));
            self.cells.update(&mut self.seq, cells);
        } else {
            // Only the cells of lanes that changed, and those that move.
            for (i, (now, before)) in stamps.iter().zip(&self.stamps).enumerate() {
                if now.1 || now != before {
                    let Some(c) = sc.cell_json_at(i) else {
                        continue;
                    };
                    self.cells.update_at(&mut self.seq, i, bytes(&c));
                }
            }
        }
        self.stamps = stamps;
        if metrics && self.samples != Some(sc.samples()) {
            let mut metrics = Vec::with_capacity(self.metrics.len());
            sc.each_metric_json(|m| metrics.push((key(&m, &["lane", "stage", "name"]), bytes(&m))));
            self.metrics.update(&mut self.seq, metrics);
            self.samples = Some(sc.samples());
        }
    }

    /// The cursor of the train as it is now.
    pub(crate) fn cursor(&self) -> String {
        format!("{:x}-{}", self.epoch, self.seq)
    }

    /// The change number a cursor of this run names; `None` for one of another run, one from
    /// the future, or anything else.
    pub(crate) fn parse_cursor(&self, cursor: &str) -> Option<u64> {
        let (epoch, seq) = cursor.split_once('-')?;
        let epoch = u64::from_str_radix(epoch, 16).ok()?;
        let seq: u64 = seq.parse().ok()?;
        (epoch == self.epoch && seq <= self.seq).then_some(seq)
    }

    /// The ETag of what a client that takes the metrics (or not) is sent now: weak, since it
    /// names the train's state, whichever form (whole, delta, gzip) carries it.
    pub(crate) fn etag(&self, metrics: bool) -> String {
        if metrics {
            let last = self.cells.last.max(self.metrics.last);
            format!("W/\"{:x}-a{last}\"", self.epoch)
        } else {
            format!("W/\"{:x}-c{}\"", self.epoch, self.cells.last)
        }
    }

    /// The answer to a request with `since` (a cursor, if the client sent one) that takes the
    /// metrics or not: a delta when the cursor is one this feed can answer, else the whole
    /// train.
    pub(crate) fn answer(&self, since: Option<&str>, metrics: bool, generated_at: &str) -> Answer {
        let delta = since.and_then(|c| {
            let seq = self.parse_cursor(c)?;
            let (cells, gone_cells) = self.cells.since(seq)?;
            let (ms, gone_metrics) = if metrics {
                self.metrics.since(seq)?
            } else {
                (Vec::new(), Vec::new())
            };
            Some((c, cells, gone_cells, ms, gone_metrics))
        });
        let Some((since, cells, gone_cells, ms, gone_metrics)) = delta else {
            let metrics: Vec<&[u8]> = if metrics {
                self.metrics.bodies().collect()
            } else {
                Vec::new()
            };
            let head = json!({
                "protocol": 1,
                "generated_at": generated_at,
                "cursor": self.cursor(),
            });
            return Answer::Full {
                body: document(&head, self.cells.bodies(), metrics.into_iter(), None),
                cells: self.cells.len(),
            };
        };
        let head = json!({
            "protocol": 1,
            "generated_at": generated_at,
            "delta": true,
            "since": since,
            "cursor": self.cursor(),
        });
        let removed = json!({
            "cells": gone_cells
                .iter()
                .map(|k| json!({"lane": k[0], "stage": k[1]}))
                .collect::<Vec<_>>(),
            "metrics": gone_metrics
                .iter()
                .map(|k| json!({"lane": k[0], "stage": k[1], "name": k[2]}))
                .collect::<Vec<_>>(),
        });
        Answer::Delta {
            cells: cells.len(),
            metrics: ms.len(),
            removed: gone_cells.len() + gone_metrics.len(),
            body: document(&head, cells.into_iter(), ms.into_iter(), Some(&removed)),
        }
    }
}

/// `{...head, "cells": [..], "metrics": [..], "removed": ..}` from serialized items.
fn document<'a>(
    head: &Value,
    cells: impl Iterator<Item = &'a [u8]>,
    metrics: impl Iterator<Item = &'a [u8]>,
    removed: Option<&Value>,
) -> Vec<u8> {
    let mut out = bytes(head);
    // Reopen the head object: it ends with `}`.
    out.pop();
    out.extend_from_slice(b",\"cells\":");
    array(&mut out, cells);
    out.extend_from_slice(b",\"metrics\":");
    array(&mut out, metrics);
    if let Some(removed) = removed {
        out.extend_from_slice(b",\"removed\":");
        out.extend_from_slice(&bytes(removed));
    }
    out.push(b'}');
    out
}

fn array<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a [u8]>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn key(v: &Value, fields: &[&str]) -> ItemKey {
    fields
        .iter()
        .map(|f| v.get(*f).and_then(Value::as_str).unwrap_or("").to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimOptions;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn k(lane: &str, stage: &str) -> ItemKey {
        vec![lane.to_string(), stage.to_string()]
    }

    fn items(list: &[(&str, &str, &str)]) -> Vec<(ItemKey, Vec<u8>)> {
        list.iter()
            .map(|(l, s, body)| (k(l, s), body.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_journal_numbers_changes_new_and_gone_items() {
        let mut seq = 0;
        let mut j = Journal::default();
        j.update(&mut seq, items(&[("a", "x", "1"), ("b", "x", "1")]));
        assert_eq!((seq, j.last), (2, 2));
        // Nothing changed: no change number used.
        j.update(&mut seq, items(&[("a", "x", "1"), ("b", "x", "1")]));
        assert_eq!(seq, 2);
        let (changed, gone) = j.since(2).unwrap();
        assert!(changed.is_empty() && gone.is_empty());
        // a changes, b goes, c comes.
        j.update(&mut seq, items(&[("a", "x", "2"), ("c", "x", "1")]));
        assert_eq!(seq, 5);
        let (changed, gone) = j.since(2).unwrap();
        assert_eq!(changed, [b"2".as_slice(), b"1".as_slice()]);
        assert_eq!(gone, [&k("b", "x")]);
        // Since the change that made c: only b's going is later.
        let (changed, gone) = j.since(4).unwrap();
        assert!(changed.is_empty());
        assert_eq!(gone.len(), 1);
        // b comes back: it is no longer listed as gone.
        j.update(
            &mut seq,
            items(&[("a", "x", "2"), ("c", "x", "1"), ("b", "x", "1")]),
        );
        let (changed, gone) = j.since(2).unwrap();
        assert_eq!(changed.len(), 3);
        assert!(gone.is_empty());
    }

    #[test]
    fn a_journal_that_forgot_a_gone_item_refuses_older_cursors() {
        let mut seq = 0;
        let mut j = Journal::default();
        let many: Vec<(ItemKey, Vec<u8>)> = (0..MAX_GONE + 5)
            .map(|i| (k(&format!("l{i}"), "s"), b"x".to_vec()))
            .collect();
        j.update(&mut seq, many);
        let before = seq;
        j.update(&mut seq, Vec::new());
        assert_eq!(j.gone.len(), MAX_GONE);
        assert!(j.floor > before);
        assert!(j.since(before).is_none(), "too old: the whole train");
        assert!(j.since(j.floor).is_some());
    }

    const STAGES_OF_TEST: [&str; 4] = crate::sim::STAGES;

    /// The items of an answer by name, as a client would keep them.
    type Kept = BTreeMap<Vec<String>, Value>;

    fn doc(answer: &Answer) -> Value {
        let (Answer::Full { body, .. } | Answer::Delta { body, .. }) = answer;
        serde_json::from_slice(body).expect("the answer is JSON")
    }

    fn put(kept: &mut Kept, list: &Value, fields: &[&str]) {
        for item in list.as_array().unwrap() {
            kept.insert(key(item, fields), item.clone());
        }
    }

    fn whole(feed: &Feed) -> (Kept, Kept) {
        let d = doc(&feed.answer(None, true, "now"));
        let (mut cells, mut metrics) = (Kept::new(), Kept::new());
        put(&mut cells, &d["cells"], &["lane", "stage"]);
        put(&mut metrics, &d["metrics"], &["lane", "stage", "name"]);
        (cells, metrics)
    }

    /// The train rendered from scratch, not through the feed.
    fn rendered(sc: &Scenario) -> (Kept, Kept) {
        let (mut cells, mut metrics) = (Kept::new(), Kept::new());
        put(
            &mut cells,
            &Value::from(sc.cells_json()),
            &["lane", "stage"],
        );
        put(
            &mut metrics,
            &Value::from(sc.metrics_json()),
            &["lane", "stage", "name"],
        );
        (cells, metrics)
    }

    #[test]
    fn deltas_of_a_moving_train_merge_into_the_whole_train() {
        let t0 = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
        let opts = SimOptions {
            lanes: 20,
            ..SimOptions::default()
        };
        let mut sc = Scenario::new(&opts, t0, "http://127.0.0.1:9");
        let mut feed = Feed::new(0x1f);
        feed.refresh(&sc, true);
        let first = feed.answer(None, true, "now");
        assert!(matches!(first, Answer::Full { cells: 80, .. }));
        let (mut cells, mut metrics) = whole(&feed);
        let mut cursor = doc(&first)["cursor"].as_str().unwrap().to_string();
        // Nothing moved: an empty delta, the same ETag.
        let tag = feed.etag(true);
        feed.refresh(&sc, true);
        assert_eq!(feed.etag(true), tag);
        let empty = feed.answer(Some(&cursor), true, "now");
        assert!(matches!(
            empty,
            Answer::Delta {
                cells: 0,
                metrics: 0,
                removed: 0,
                ..
            }
        ));
        let mut changed_cells = 0;
        let actions = [
            "promote", "pause", "resume", "rollback", "approve", "reject",
        ];
        for step in 0..40usize {
            sc.advance(Duration::from_secs(3));
            // And people act on it, through either face: refused or not, what they changed
            // shows in the next delta.
            let lane = &whole(&feed).0.keys().nth(step * 7 % 80).unwrap()[0].clone();
            let _ = sc.act(&json!({
                "action": actions[step % actions.len()],
                "lane": lane,
                "stage": STAGES_OF_TEST[1 + step % 3],
            }));
            feed.refresh(&sc, true);
            let answer = feed.answer(Some(&cursor), true, "now");
            let Answer::Delta { cells: n, .. } = &answer else {
                panic!("a cursor of this run gets a delta");
            };
            assert!(*n < 80, "only what changed: {n}");
            changed_cells += n;
            let d = doc(&answer);
            assert_eq!(d["delta"], true);
            assert_eq!(d["since"], cursor.as_str());
            put(&mut cells, &d["cells"], &["lane", "stage"]);
            put(&mut metrics, &d["metrics"], &["lane", "stage", "name"]);
            assert_eq!((&cells, &metrics), (&whole(&feed).0, &whole(&feed).1));
            let (fresh_cells, fresh_metrics) = rendered(&sc);
            assert!(
                cells == fresh_cells,
                "the merged cells are the train as it is"
            );
            assert!(metrics == fresh_metrics, "and so are the metrics");
            cursor = d["cursor"].as_str().unwrap().to_string();
        }
        assert!(changed_cells > 0, "the train moved");
        // Without the metrics: a delta of cells only.
        sc.advance(Duration::from_secs(10));
        feed.refresh(&sc, true);
        let d = doc(&feed.answer(Some(&cursor), false, "now"));
        assert_eq!(d["metrics"], json!([]));
    }

    #[test]
    fn a_cursor_of_another_run_or_none_at_all_gets_the_whole_train() {
        let t0 = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
        let sc = Scenario::new(&SimOptions::default(), t0, "http://127.0.0.1:9");
        let mut feed = Feed::new(0x1f);
        feed.refresh(&sc, true);
        let now = feed.cursor();
        assert!(now.starts_with("1f-"), "{now}");
        assert!(matches!(
            feed.answer(Some(&now), true, "t"),
            Answer::Delta { .. }
        ));
        for cursor in ["2f-1", "1f-999999", "1f", "x-1", "", "1f--1"] {
            assert!(
                matches!(feed.answer(Some(cursor), true, "t"), Answer::Full { .. }),
                "{cursor:?}"
            );
        }
        // The ETag of the cells alone, and of cells and metrics, name their kind and epoch.
        assert!(feed.etag(false).starts_with("W/\"1f-c"));
        assert!(feed.etag(true).starts_with("W/\"1f-a"));
    }
}
