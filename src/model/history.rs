//! A cell's history: the earlier versions at its stage, newest first. One list shared by
//! every copy of the cell — the source's kept train, the batch it reports, the world and its
//! snapshots — until one of them changes it: a big train holds thousands of entries, and a
//! poll copies its cells.

use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cell::TextFn;
use super::{CellState, Timestamp};

/// The earlier versions at a stage, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct History(Arc<[HistoryEntry]>);

/// One earlier version at a stage. `Eq`, so that two histories compare by pointer first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub version: String,
    pub state: CellState,
    pub at: Option<Timestamp>,
    pub actor: Option<String>,
}

impl HistoryEntry {
    /// How long before `now` it happened ("3m"), when the source said when.
    pub fn ago(&self, now: Timestamp) -> Option<String> {
        self.at.map(|t| super::duration::human_delta(now - t))
    }

    /// " by alice" when the source said who; empty otherwise.
    pub fn by(&self) -> String {
        self.actor
            .as_ref()
            .map(|a| format!(" by {a}"))
            .unwrap_or_default()
    }
}

impl Deref for History {
    type Target = [HistoryEntry];

    fn deref(&self) -> &[HistoryEntry] {
        &self.0
    }
}

impl From<Vec<HistoryEntry>> for History {
    fn from(v: Vec<HistoryEntry>) -> Self {
        History(v.into())
    }
}

impl FromIterator<HistoryEntry> for History {
    fn from_iter<I: IntoIterator<Item = HistoryEntry>>(iter: I) -> Self {
        History(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a HistoryEntry;
    type IntoIter = std::slice::Iter<'a, HistoryEntry>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl History {
    /// The newest `n` entries only.
    pub fn truncate(&mut self, n: usize) {
        if self.0.len() > n {
            self.0 = self.0[..n].into();
        }
    }

    /// The entries to change in place: this copy's own from now on.
    pub fn make_mut(&mut self) -> &mut [HistoryEntry] {
        Arc::make_mut(&mut self.0)
    }

    /// A text pass ([`super::Cell::texts_mut`]): the list is copied only when a text changes.
    pub fn texts_mut(&mut self, f: &mut TextFn) {
        for i in 0..self.0.len() {
            let HistoryEntry {
                version,
                state: _,
                at: _,
                actor,
            } = &self.0[i];
            let version = f(version);
            let actor = actor.as_deref().and_then(&mut *f);
            if version.is_none() && actor.is_none() {
                continue;
            }
            let e = &mut self.make_mut()[i];
            if let Some(v) = version {
                e.version = v;
            }
            if actor.is_some() {
                e.actor = actor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: &str) -> HistoryEntry {
        HistoryEntry {
            version: v.into(),
            state: CellState::Succeeded,
            at: None,
            actor: Some("ci".into()),
        }
    }

    #[test]
    fn copies_share_the_list_until_one_changes_it() {
        let a: History = vec![entry("v2"), entry("v1")].into();
        let mut b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        // A pass that changes nothing copies nothing.
        b.texts_mut(&mut |_| None);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        b.texts_mut(&mut |s| (s == "ci").then(|| "[redacted]".to_string()));
        assert!(!Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(b[1].actor.as_deref(), Some("[redacted]"));
        assert_eq!(b[1].version, "v1");
        assert_eq!(
            a[1].actor.as_deref(),
            Some("ci"),
            "the other copy is untouched"
        );
    }

    #[test]
    fn truncate_keeps_the_newest_and_serializes_as_a_list() {
        let mut h: History = (0..5).map(|i| entry(&format!("v{i}"))).collect();
        h.truncate(9);
        assert_eq!(h.len(), 5);
        h.truncate(2);
        let versions: Vec<&str> = h.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(versions, ["v0", "v1"]);
        // A cut is a list of its own: the long one goes with its last holder.
        let long: History = (0..1000).map(|i| entry(&format!("v{i}"))).collect();
        let mut cut = long.clone();
        cut.truncate(20);
        assert!(!Arc::ptr_eq(&long.0, &cut.0));
        assert_eq!((long.len(), cut.len()), (1000, 20));
        assert_eq!(Arc::strong_count(&long.0), 1, "the cut holds none of it");
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json[1]["version"], "v1");
        assert_eq!(serde_json::from_value::<History>(json).unwrap(), h);
    }
}
