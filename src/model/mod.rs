//! The pure core: train, lanes, cells, metrics and the policy engine.
//!
//! Nothing in here reads a clock, a file or the network: every function takes the data it
//! needs, including `now`, and returns data. That is what makes it easy to test and to trust.

pub mod action;
pub mod analysis;
pub mod bounds;
pub mod cell;
pub mod duration;
pub mod history;
pub mod judged;
pub mod policy;
pub mod slo;
pub mod state;
pub mod text;
pub mod train;
pub mod world;

pub use action::ActionKind;
pub use cell::{Approval, Cell, Check, CheckState, Metric, Refusal, Threshold};
pub use history::{History, HistoryEntry};
pub use judged::MetricState;
pub use policy::{Blocker, BlockerKind, Facts, Gate, Holds, LaneHold, Verdict};
pub use state::CellState;
pub use train::{Freeze, Lane, Train, Window, WindowState};
pub use world::{Batch, CellKey, SourceHealth, SourceReport, World};

/// Every timestamp in trainyard is UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
