//! A `GET /v1/train` payload as it is read: its top level, with every list's entries left as
//! their JSON text ([`RawValue`]) to be read one by one — a bad entry marks only its cell, and
//! nothing of the document is built as a `serde_json::Value` (a delta of a hundred cells a
//! second would otherwise cost a tree of maps and strings each time). Lenient as a `Value`
//! is: a field of the wrong type reads as absent.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::NameMap;
use crate::model::CellKey;
use crate::model::text::sanitize;

/// One entry of a list, unread.
pub type Entry<'a> = &'a RawValue;

/// The top level of a payload: what the protocol names, each left unread.
#[derive(Debug, Default, Deserialize)]
pub struct Doc<'a> {
    #[serde(borrow, default)]
    delta: Option<&'a RawValue>,
    #[serde(borrow, default)]
    since: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cursor: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cells: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metrics: Option<&'a RawValue>,
    #[serde(borrow, default)]
    removed: Option<&'a RawValue>,
}

/// The lists of a delta's `removed`.
#[derive(Default, Deserialize)]
struct Removed<'a> {
    #[serde(borrow, default)]
    cells: Option<&'a RawValue>,
    #[serde(borrow, default)]
    metrics: Option<&'a RawValue>,
}

/// What names an entry: its lane, stage and (a metric's) name, each read only if a string.
#[derive(Default, Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    lane: Option<&'a RawValue>,
    #[serde(borrow, default)]
    stage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
}

/// A JSON string's text; anything else is none.
fn string(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let json = raw?.get();
    // Borrowed where it has no escapes; else the text they stand for.
    serde_json::from_str::<&str>(json)
        .map(Cow::Borrowed)
        .or_else(|_| serde_json::from_str::<String>(json).map(Cow::Owned))
        .ok()
}

/// A list's entries: `Some` for an array (its entries), `None` for any other value; JSON
/// that can't be read (nested past serde_json's limit) fails the document.
fn entries(raw: &RawValue) -> Result<Option<Vec<Entry<'_>>>, String> {
    match serde_json::from_str(raw.get()) {
        Ok(list) => Ok(Some(list)),
        Err(e) if e.classify() == serde_json::error::Category::Data => Ok(None),
        Err(e) => Err(not_json(&e)),
    }
}

fn not_json(e: &serde_json::Error) -> String {
    format!("payload is not JSON: {}", sanitize(&e.to_string(), 120))
}

/// Absent or null: no list.
fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| r.get() != "null")
}

/// A payload as JSON: a document that is not JSON (or not an object) fails the whole poll.
pub fn parse_doc(body: &[u8]) -> Result<Doc<'_>, String> {
    serde_json::from_slice(body).map_err(|e| not_json(&e))
}

impl<'a> Doc<'a> {
    /// `"delta": true`.
    pub fn is_delta(&self) -> bool {
        self.delta
            .and_then(|r| serde_json::from_str::<bool>(r.get()).ok())
            == Some(true)
    }

    /// The delta's `since`, when a string.
    pub fn since(&self) -> Option<Cow<'a, str>> {
        string(self.since)
    }

    /// The train's `cursor`, when a string.
    pub fn cursor(&self) -> Option<Cow<'a, str>> {
        string(self.cursor)
    }

    /// The `cells` array of a whole train: `Ok(None)` when it has none.
    pub fn cells(&self) -> Result<Option<Vec<Entry<'a>>>, String> {
        self.cells.map_or(Ok(None), entries)
    }

    /// The `metrics` array: none when absent or not an array.
    pub fn metrics(&self) -> Result<Vec<Entry<'a>>, String> {
        Ok(self.metrics.map_or(Ok(None), entries)?.unwrap_or_default())
    }

    /// A delta's list (see [`List`]): absent or null is empty; anything but an array is a
    /// broken delta.
    pub fn delta_list(&self, list: List) -> Result<Vec<Entry<'a>>, String> {
        let raw = match list {
            List::Cells => self.cells,
            List::Metrics => self.metrics,
            List::RemovedCells | List::RemovedMetrics => {
                let removed: Removed<'a> = match present(self.removed) {
                    None => Removed::default(),
                    Some(r) => serde_json::from_str(r.get())
                        .map_err(|_| "the delta's \"removed\" is not an object".to_string())?,
                };
                if list == List::RemovedCells {
                    removed.cells
                } else {
                    removed.metrics
                }
            }
        };
        match present(raw) {
            None => Ok(Vec::new()),
            Some(r) => entries(r)?
                .ok_or_else(|| format!("the delta's \"{}\" is not an array", list.name())),
        }
    }
}

/// The lists of a delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Cells,
    Metrics,
    RemovedCells,
    RemovedMetrics,
}

impl List {
    /// Where it is in the document.
    pub fn name(self) -> &'static str {
        match self {
            List::Cells => "cells",
            List::Metrics => "metrics",
            List::RemovedCells => "removed.cells",
            List::RemovedMetrics => "removed.metrics",
        }
    }
}

/// An entry's lane and stage, when both are strings.
pub(crate) fn key_of<'a>(entry: Entry<'a>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let n: Names<'a> = serde_json::from_str(entry.get()).ok()?;
    Some((string(n.lane)?, string(n.stage)?))
}

/// A metric entry's lane and stage (both strings) and its name (when a string).
pub(crate) type MetricNames<'a> = (Cow<'a, str>, Cow<'a, str>, Option<String>);

/// A metric entry's names: see [`MetricNames`].
pub(crate) fn metric_names(entry: Entry<'_>) -> Option<MetricNames<'_>> {
    let n: Names = serde_json::from_str(entry.get()).ok()?;
    let name = string(n.name).map(Cow::into_owned);
    Some((string(n.lane)?, string(n.stage)?, name))
}

/// The entries of a payload's `cells` that name a cell of this train: each with its remote
/// lane and stage and the local cell. An entry without lane or stage is skipped, with a
/// warning; one for a cell the train doesn't carry, silently.
pub(crate) fn known_cells<'a>(
    cells: &'a [Entry<'a>],
    names: &'a NameMap,
) -> impl Iterator<Item = (Entry<'a>, (String, String), &'a CellKey)> + 'a {
    cells.iter().filter_map(move |entry| {
        let Some((lane, stage)) = key_of(entry) else {
            tracing::warn!("http source: a cell without lane/stage was skipped");
            return None;
        };
        let key = names.local(&lane, &stage)?;
        Some((*entry, (lane.into_owned(), stage.into_owned()), key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_is_read_leniently_and_its_lists_entry_by_entry() {
        let body = br#"{"delta": true, "since": "e-1", "cursor": 7, "cells": [{"lane": "a", "stage": "b"}, {"lane": 1}], "removed": null}"#;
        let d = parse_doc(body).unwrap();
        assert!(d.is_delta());
        assert_eq!(d.since().as_deref(), Some("e-1"));
        assert_eq!(d.cursor(), None, "a number is no cursor");
        let cells = d.cells().unwrap().unwrap();
        assert_eq!(cells.len(), 2);
        let k = key_of(cells[0]).unwrap();
        assert_eq!((&*k.0, &*k.1), ("a", "b"));
        assert!(key_of(cells[1]).is_none(), "a lane that is not a string");
        assert!(d.delta_list(List::RemovedCells).unwrap().is_empty());
        assert!(d.delta_list(List::Metrics).unwrap().is_empty());
        let bad = parse_doc(br#"{"metrics": {"x": 1}, "removed": {"cells": 3}}"#).unwrap();
        assert_eq!(
            bad.delta_list(List::Metrics).unwrap_err(),
            "the delta's \"metrics\" is not an array"
        );
        assert_eq!(
            bad.delta_list(List::RemovedCells).unwrap_err(),
            "the delta's \"removed.cells\" is not an array"
        );
        assert!(!parse_doc(br#"{"delta": "yes"}"#).unwrap().is_delta());
        assert!(
            parse_doc(b"{")
                .unwrap_err()
                .starts_with("payload is not JSON")
        );
        // Escaped strings are read as JSON has them.
        let d = parse_doc(br#"{"cells": [{"lane": "a\u0041", "stage": "b\"c"}]}"#).unwrap();
        let k = key_of(d.cells().unwrap().unwrap()[0]).unwrap();
        assert_eq!((&*k.0, &*k.1), ("aA", "b\"c"));
    }
}
