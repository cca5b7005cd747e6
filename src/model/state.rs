//! The closed set of cell states, each legible without colour: a glyph and a word.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    Pending,
    Running,
    AwaitingApproval,
    Succeeded,
    Failed,
    Paused,
    RollingBack,
    RolledBack,
    Cancelled,
    Unknown,
}

impl CellState {
    pub const ALL: [CellState; 10] = [
        CellState::Pending,
        CellState::Running,
        CellState::AwaitingApproval,
        CellState::Succeeded,
        CellState::Failed,
        CellState::Paused,
        CellState::RollingBack,
        CellState::RolledBack,
        CellState::Cancelled,
        CellState::Unknown,
    ];

    /// The word used in JSON, the config and the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::Pending => "pending",
            CellState::Running => "running",
            CellState::AwaitingApproval => "awaiting_approval",
            CellState::Succeeded => "succeeded",
            CellState::Failed => "failed",
            CellState::Paused => "paused",
            CellState::RollingBack => "rolling_back",
            CellState::RolledBack => "rolled_back",
            CellState::Cancelled => "cancelled",
            CellState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<CellState> {
        CellState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// One glyph, one column wide in every common terminal font.
    pub fn glyph(self) -> &'static str {
        match self {
            CellState::Pending => "○",
            CellState::Running => "▶",
            CellState::AwaitingApproval => "!",
            CellState::Succeeded => "✓",
            CellState::Failed => "✗",
            CellState::Paused => "‖",
            CellState::RollingBack => "↺",
            CellState::RolledBack => "↩",
            CellState::Cancelled => "⊘",
            CellState::Unknown => "?",
        }
    }

    /// A short word (at most 5 columns) for the lanes matrix.
    pub fn short(self) -> &'static str {
        match self {
            CellState::Pending => "wait",
            CellState::Running => "run",
            CellState::AwaitingApproval => "appr",
            CellState::Succeeded => "ok",
            CellState::Failed => "FAIL",
            CellState::Paused => "pause",
            CellState::RollingBack => "rb..",
            CellState::RolledBack => "rbkd",
            CellState::Cancelled => "cncl",
            CellState::Unknown => "?",
        }
    }

    /// Human words for details and messages.
    pub fn words(self) -> &'static str {
        match self {
            CellState::Pending => "pending",
            CellState::Running => "running",
            CellState::AwaitingApproval => "awaiting approval",
            CellState::Succeeded => "succeeded",
            CellState::Failed => "failed",
            CellState::Paused => "paused",
            CellState::RollingBack => "rolling back",
            CellState::RolledBack => "rolled back",
            CellState::Cancelled => "cancelled",
            CellState::Unknown => "unknown",
        }
    }

    /// Something is moving in this cell right now.
    pub fn is_active(self) -> bool {
        matches!(self, CellState::Running | CellState::RollingBack)
    }

    /// The cell's car is in motion: moving, or stopped on its way (waiting for an approval,
    /// paused). The header's "moving" count and the busy-lanes filter count these.
    pub fn in_motion(self) -> bool {
        matches!(
            self,
            CellState::Running
                | CellState::RollingBack
                | CellState::AwaitingApproval
                | CellState::Paused
        )
    }
}

impl std::fmt::Display for CellState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_and_is_distinct_without_colour() {
        let mut glyphs = std::collections::HashSet::new();
        let mut shorts = std::collections::HashSet::new();
        for st in CellState::ALL {
            assert_eq!(CellState::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).unwrap();
            assert_eq!(json, format!("\"{}\"", st.as_str()));
            assert!(glyphs.insert(st.glyph()), "glyph of {st} repeats");
            assert!(shorts.insert(st.short()), "short word of {st} repeats");
            assert!(unicode_width::UnicodeWidthStr::width(st.glyph()) == 1);
            assert!(st.short().len() <= 5);
        }
        assert_eq!(CellState::parse("nope"), None);
    }

    #[test]
    fn in_motion_is_four_states() {
        let moving: Vec<CellState> = CellState::ALL
            .iter()
            .copied()
            .filter(|s| s.in_motion())
            .collect();
        assert_eq!(
            moving,
            [
                CellState::Running,
                CellState::AwaitingApproval,
                CellState::Paused,
                CellState::RollingBack
            ]
        );
    }
}
