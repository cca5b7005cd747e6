//! The train: its stages, window, freezes, lanes and per-stage gates.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Gate, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub struct Train {
    pub name: String,
    pub stages: Vec<String>,
    pub window: Option<Window>,
    pub freezes: Vec<Freeze>,
    pub lanes: Vec<Lane>,
    /// Gates that must pass to enter a stage. A stage without an entry uses
    /// [`Gate::DEFAULTS`].
    pub policy: BTreeMap<String, Vec<Gate>>,
    /// Stages whose `[policy.STAGE]` says `auto_pause = true`: a lane whose metrics breach
    /// there is paused by `trainyard-auto`.
    pub auto_pause: BTreeSet<String>,
    /// Stages where a mistake costs most (`[train] protected`, by default the last stage):
    /// every view marks them with [`PROTECTED_MARK`], and an action aimed at one asks for
    /// the lane's name (`ops::confirm_rule`).
    pub protected: BTreeSet<String>,
    /// Lanes by name, for [`Train::lane`] (a cache: `LaneIndex::default()` in a new train).
    pub lane_index: LaneIndex,
}

/// Where each lane is in [`Train::lanes`], by name: built at the first look-up. A lane the
/// index doesn't place (lanes changed since it was built) is looked for one by one.
#[derive(Clone, Debug, Default)]
pub struct LaneIndex(std::sync::OnceLock<std::collections::HashMap<String, usize>>);

/// A cache: every index is the same as far as the train is concerned.
impl PartialEq for LaneIndex {
    fn eq(&self, _: &LaneIndex) -> bool {
        true
    }
}

/// The mark after a protected stage's name, wherever it is shown: narrow, in every common
/// font, and legible without colour.
pub const PROTECTED_MARK: char = '◆';

#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub name: String,
    pub team: String,
    pub depends_on: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub opens: Timestamp,
    pub closes: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    NotYetOpen,
    Open,
    Closed,
}

impl WindowState {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::NotYetOpen => "not_yet_open",
            WindowState::Open => "open",
            WindowState::Closed => "closed",
        }
    }
}

impl Window {
    /// "window open, closes in 2h 10m" / "window opens in 45m" / "window closed 5m ago".
    pub fn describe(&self, now: Timestamp) -> String {
        use super::duration::human_delta;
        match self.state(now) {
            WindowState::NotYetOpen => format!("window opens in {}", human_delta(self.opens - now)),
            WindowState::Open => {
                format!("window open, closes in {}", human_delta(self.closes - now))
            }
            WindowState::Closed => format!("window closed {} ago", human_delta(now - self.closes)),
        }
    }

    pub fn state(&self, now: Timestamp) -> WindowState {
        if now < self.opens {
            WindowState::NotYetOpen
        } else if now < self.closes {
            WindowState::Open
        } else {
            WindowState::Closed
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Freeze {
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub reason: String,
}

impl Freeze {
    pub fn active(&self, now: Timestamp) -> bool {
        self.starts <= now && now < self.ends
    }
}

impl Train {
    pub fn stage_index(&self, stage: &str) -> Option<usize> {
        self.stages.iter().position(|s| s == stage)
    }

    /// Where the lane called `name` is in `lanes` (through an index built at first use).
    pub fn lane_position(&self, name: &str) -> Option<usize> {
        let index = self.lane_index.0.get_or_init(|| {
            self.lanes
                .iter()
                .enumerate()
                .map(|(i, l)| (l.name.clone(), i))
                .collect()
        });
        index
            .get(name)
            .copied()
            .filter(|&i| self.lanes.get(i).is_some_and(|l| l.name == name))
            .or_else(|| self.lanes.iter().position(|l| l.name == name))
    }

    pub fn lane(&self, name: &str) -> Option<&Lane> {
        self.lane_position(name).and_then(|i| self.lanes.get(i))
    }

    /// Whether `stage` is one of `[train] protected`.
    pub fn is_protected(&self, stage: &str) -> bool {
        self.protected.contains(stage)
    }

    /// How a stage is named to people: "prod ◆" when it is protected, else its name.
    /// What a dialog or a plan says first about an action at `stage`, when it is protected.
    pub fn protected_note(&self, stage: &str) -> Option<String> {
        self.is_protected(stage)
            .then(|| format!("{PROTECTED_MARK} {stage} is a protected stage"))
    }

    pub fn stage_label(&self, stage: &str) -> String {
        if self.is_protected(stage) {
            format!("{stage} {PROTECTED_MARK}")
        } else {
            stage.to_string()
        }
    }

    pub fn gates(&self, stage: &str) -> &[Gate] {
        self.policy
            .get(stage)
            .map(Vec::as_slice)
            .unwrap_or(Gate::DEFAULTS)
    }

    pub fn active_freeze(&self, now: Timestamp) -> Option<&Freeze> {
        self.freezes.iter().find(|f| f.active(now))
    }

    /// The next freeze that has not started yet.
    pub fn next_freeze(&self, now: Timestamp) -> Option<&Freeze> {
        self.freezes
            .iter()
            .filter(|f| f.starts > now)
            .min_by_key(|f| f.starts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_stage_is_labelled_with_its_mark() {
        let train = Train {
            name: "t".into(),
            stages: vec!["canary".into(), "prod".into()],
            window: None,
            freezes: vec![],
            lanes: vec![],
            policy: BTreeMap::new(),
            auto_pause: BTreeSet::new(),
            protected: BTreeSet::from(["prod".to_string()]),
            lane_index: LaneIndex::default(),
        };
        assert!(train.is_protected("prod"));
        assert!(!train.is_protected("canary"));
        assert!(!train.is_protected("qa"));
        assert_eq!(train.stage_label("prod"), "prod ◆");
        assert_eq!(train.stage_label("canary"), "canary");
    }
}
