//! Property tests over every parser of untrusted input (issue "Hardening for the worst hour",
//! item 6): the `http` protocol, GitHub's payloads and headers, Prometheus' answers, the
//! config file, durations and gates, and the audit log.
//!
//! Each parser gets valid inputs built to the right shape (from the fixtures, the simulator
//! and generators), those inputs mutated (fields deleted, types swapped, hostile numbers and
//! strings, deep nesting, invalid UTF-8, truncation), and plain random bytes. No input may
//! panic; an error is typed and has words; valid inputs keep parsing, to the same values; and
//! what a parser lets through to the screen is clean.
//!
//! Case counts fit CI on two cores; `PROPTEST_CASES=5000 cargo test --test props` runs longer.
//! docs/fuzzing.md has this and the cargo-fuzz targets.

mod audit;
mod config;
mod duration;
mod github;
mod http;
mod mutate;
mod prometheus;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use trainyard::model::{Cell, Metric};

use mutate::clean;

/// The longest a payload string may be once parsed (200 characters, an ellipsis, and the
/// few words some fields add, like "team ").
const MAX_FIELD: usize = 210;

/// Everything of a cell that can reach the screen is clean, and the numbers are sane.
pub fn check_cell(c: &Cell) -> Result<(), TestCaseError> {
    for (what, s) in [
        ("version", &c.version),
        ("url", &c.url),
        ("actor", &c.actor),
        ("message", &c.message),
        ("error", &c.error),
    ] {
        if let Some(s) = s {
            clean(what, s, MAX_FIELD)?;
        }
    }
    if let Some(p) = c.progress {
        prop_assert!((0.0..=1.0).contains(&p), "progress {p}");
    }
    for ch in &c.checks {
        clean("check name", &ch.name, MAX_FIELD)?;
        if let Some(u) = &ch.url {
            clean("check url", u, MAX_FIELD)?;
        }
    }
    if let Some(a) = &c.approval {
        if let Some(e) = &a.environment {
            clean("approval environment", e, MAX_FIELD)?;
        }
        for r in &a.reviewers {
            clean("reviewer", r, MAX_FIELD)?;
        }
    }
    for h in &c.history {
        clean("history version", &h.version, MAX_FIELD)?;
        if let Some(a) = &h.actor {
            clean("history actor", a, MAX_FIELD)?;
        }
    }
    for w in &c.warnings {
        clean("warning", w, MAX_FIELD)?;
    }
    Ok(())
}

/// A metric's words are clean and its numbers finite; the helpers that draw it don't panic.
pub fn check_metric(m: &Metric) -> Result<(), TestCaseError> {
    clean("metric name", &m.name, MAX_FIELD)?;
    clean("metric unit", &m.unit, MAX_FIELD)?;
    if let Some(e) = &m.error {
        mutate::error_message("metric error", e)?;
    }
    for v in m.value.iter().chain(m.baseline.iter()) {
        prop_assert!(v.is_finite(), "value {v}");
    }
    for (_, v) in m.series.iter().chain(m.baseline_series.iter()) {
        prop_assert!(v.is_finite(), "sample {v}");
    }
    let _ = (m.ok(), m.threshold_text(), m.threshold_short(), m.canary());
    Ok(())
}
