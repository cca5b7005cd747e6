//! What the integration tests share: the real binary run as a user runs it (`bin`), a real
//! terminal for the TUI (`tmux`), the simulator in this process or as `trainyard sim`
//! (`sim`), plain HTTP on loopback (`http`), and waiting for a condition (`wait`).
//!
//! Each test file declares `mod common;` and uses what it needs.
#![allow(dead_code)]

pub mod bin;
pub mod http;
pub mod sim;
pub mod tmux;
pub mod wait;
