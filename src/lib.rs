//! trainyard: a terminal cockpit for release managers.
//!
//! The layers only look down: `model` imports nothing of trainyard but itself; `sources` and
//! `config` know `model`; `ops` knows `sources` and `model`; `engine` knows `ops`, `poll` and
//! `model`; `tui`, `status` and `watch` read the engine's snapshots; `main.rs` wires them.
//! `keymap` (the key table and the keys in force) and `secrets` are leaves every layer may use.

pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod exit;
pub mod keymap;
pub mod manual;
pub mod model;
pub mod ops;
pub mod poll;
pub mod secrets;
pub mod signals;
pub mod sim;
pub mod sources;
pub mod status;
pub mod store;
pub mod tui;
pub mod watch;
