//! `trainyard::sources::http::parse_train`: the `http` protocol's `GET /v1/train`
//! (docs/protocol.md).

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use trainyard::model::{CellKey, CellState};
use trainyard::sim::{Scenario, SimOptions};
use trainyard::sources::NameMap;
use trainyard::sources::http::parse_train;

use crate::mutate::{self, clean, error_message, hostile_string, rfc3339};
use crate::{check_cell, check_metric};

/// A lane and a stage.
type Names = (&'static str, &'static str);

/// Remote (lane, stage) → the config's cell. `api` at `prod` has other names at the source.
const CELLS: &[(Names, Names)] = &[
    (("api", "build"), ("api", "build")),
    (("api", "canary"), ("api", "canary")),
    (("api-remote", "production"), ("api", "prod")),
    (("web", "build"), ("web", "build")),
    (("web", "canary"), ("web", "canary")),
    (("web", "prod"), ("web", "prod")),
    (("db", "prod"), ("db", "prod")),
];

/// Any of the protocol's state words (the model's closed set).
fn state_word() -> impl Strategy<Value = &'static str> {
    select(CellState::ALL.map(CellState::as_str).to_vec())
}

fn names() -> NameMap {
    let mut m = NameMap::default();
    for ((rl, rs), (l, s)) in CELLS {
        m.insert(CellKey::new(*l, *s), rl.to_string(), rs.to_string());
    }
    m
}

fn local(remote: (&str, &str)) -> CellKey {
    let (_, (l, s)) = CELLS.iter().find(|(r, _)| *r == remote).expect("known");
    CellKey::new(*l, *s)
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.6, s)
}

fn check() -> impl Strategy<Value = Value> {
    (
        hostile_string(),
        select(&["passed", "failed", "pending"][..]),
        opt(hostile_string()),
    )
        .prop_map(|(name, state, url)| json!({"name": name, "state": state, "url": url}))
}

fn history() -> impl Strategy<Value = Value> {
    (
        hostile_string(),
        state_word(),
        opt(rfc3339()),
        opt(hostile_string()),
    )
        .prop_map(|(version, state, at, actor)| {
            json!({"version": version, "state": state, "at": at, "actor": actor})
        })
}

/// A cell as the protocol documents it: every field of the right type, any value of it.
fn cell() -> impl Strategy<Value = Value> {
    let head = (
        select(CELLS).prop_map(|(r, _)| r),
        state_word(),
        opt(hostile_string()),
        opt(any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite())),
        opt(rfc3339()),
        opt(rfc3339()),
    );
    let tail = (
        opt(hostile_string()),
        opt(hostile_string()),
        opt(hostile_string()),
        prop::collection::vec(check(), 0..4),
        opt((
            opt(hostile_string()),
            prop::collection::vec(hostile_string(), 0..4),
        )),
        prop::collection::vec(history(), 0..4),
        prop::collection::vec(hostile_string(), 0..8),
    );
    (head, tail).prop_map(
        |(
            ((lane, stage), state, version, progress, updated_at, started_at),
            (url, actor, message, checks, approval, history, warnings),
        )| {
            json!({
                "lane": lane, "stage": stage, "state": state, "version": version,
                "progress": progress, "updated_at": updated_at, "started_at": started_at,
                "url": url, "actor": actor, "message": message, "checks": checks,
                "approval": approval.map(|(environment, reviewers)| {
                    json!({"environment": environment, "reviewers": reviewers})
                }),
                "history": history, "warnings": warnings,
                "field_from_a_newer_server": {"ignored": [1, 2, 3]},
            })
        },
    )
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite())
}

fn metric() -> impl Strategy<Value = Value> {
    (
        select(CELLS).prop_map(|(r, _)| r),
        hostile_string(),
        opt(hostile_string()),
        opt(finite()),
        (opt(finite()), opt(finite())),
        opt(finite()),
        prop::collection::vec((any::<i64>(), finite()), 0..40),
        prop::collection::vec((any::<i64>(), finite()), 0..40),
    )
        .prop_map(
            |((lane, stage), name, unit, value, (min, max), baseline, series, baseline_series)| {
                json!({
                    "lane": lane, "stage": stage, "name": name, "unit": unit, "value": value,
                    "threshold": {"min": min, "max": max}, "baseline": baseline,
                    "series": series, "baseline_series": baseline_series,
                })
            },
        )
}

/// A whole `GET /v1/train` document, plus cells of lanes this source does not serve.
fn train() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(cell(), 0..6),
        prop::collection::vec(metric(), 0..4),
    )
        .prop_map(|(mut cells, metrics)| {
            cells.push(json!({"lane": "elsewhere", "stage": "prod", "state": "running"}));
            json!({"protocol": 1, "generated_at": "2026-11-26T14:02:11Z",
                   "cells": cells, "metrics": metrics})
        })
}

fn key_of(entry: &Value) -> Option<(&str, &str)> {
    Some((entry["lane"].as_str()?, entry["stage"].as_str()?))
}

/// Whatever the bytes, `parse_train` answers, and what it answers is clean.
fn check_any(body: &[u8]) -> Result<(), TestCaseError> {
    match parse_train(body, &names()) {
        Ok(b) => {
            for (_, c) in &b.cells {
                check_cell(c)?;
            }
            for (_, e) in &b.cell_errors {
                error_message("cell error", e)?;
            }
            for (_, m) in &b.metrics {
                check_metric(m)?;
            }
        }
        Err(e) => error_message("parse_train", &e)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(mutate::config(128))]

    /// Valid documents parse, every served cell and metric lands in its config cell, no
    /// errors, the numbers within their ranges, the strings clean.
    #[test]
    fn valid_trains_parse_to_their_cells(doc in train()) {
        let body = serde_json::to_vec(&doc).unwrap();
        let b = parse_train(&body, &names()).map_err(TestCaseError::fail)?;
        // The document as serde_json reads it back: its float parsing may land one unit in the
        // last place away from what was written.
        let doc: Value = serde_json::from_slice(&body).unwrap();
        prop_assert!(b.cell_errors.is_empty(), "{:?}", b.cell_errors);
        let cells: Vec<&Value> = doc["cells"].as_array().unwrap().iter()
            .filter(|c| c["lane"] != "elsewhere").collect();
        prop_assert_eq!(b.cells.len(), cells.len());
        for ((key, cell), entry) in b.cells.iter().zip(&cells) {
            prop_assert_eq!(key, &local(key_of(entry).unwrap()));
            prop_assert_eq!(Some(cell.state), CellState::parse(entry["state"].as_str().unwrap()));
            prop_assert_eq!(cell.checks.len(), entry["checks"].as_array().unwrap().len());
            prop_assert_eq!(cell.history.len(), entry["history"].as_array().unwrap().len());
            prop_assert!(cell.warnings.len() <= 5);
            if let Some(p) = entry["progress"].as_f64() {
                prop_assert_eq!(cell.progress, Some(p.clamp(0.0, 1.0)));
            }
            check_cell(cell)?;
        }
        prop_assert_eq!(b.metrics.len(), doc["metrics"].as_array().unwrap().len());
        for (_, m) in &b.metrics {
            prop_assert!(m.error.is_none(), "{:?}", m.error);
            check_metric(m)?;
        }
    }

    /// Valid documents mutated as trees and as bytes: no panic, an error with words or a
    /// clean batch.
    #[test]
    fn mutated_trains_never_panic(
        doc in train(),
        edits in mutate::edits(),
        bytes in mutate::byte_edits(),
    ) {
        check_any(&mutate::mutated(&doc, &edits, &bytes))?;
    }

    /// One broken cell entry marks at most that cell: every other cell still parses.
    #[test]
    fn a_broken_entry_spoils_only_its_cell(
        doc in train(),
        which in any::<prop::sample::Index>(),
        edits in mutate::edits(),
    ) {
        let mut doc = doc;
        let cells = doc["cells"].as_array_mut().unwrap();
        let victim = which.index(cells.len());
        mutate::apply(&mut cells[victim], &edits);
        let body = serde_json::to_vec(&doc).unwrap();
        let b = match parse_train(&body, &names()) {
            Ok(b) => b,
            // Nesting past serde_json's recursion limit anywhere refuses the whole document.
            Err(e) if e.contains("recursion limit") => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e)),
        };
        for (i, entry) in doc["cells"].as_array().unwrap().iter().enumerate() {
            if i == victim || entry["lane"] == "elsewhere" {
                continue;
            }
            let key = local(key_of(entry).unwrap());
            prop_assert!(b.cells.iter().any(|(k, _)| *k == key), "{key:?} lost");
        }
        check_any(&body)?;
    }

    /// What the simulator serves (the demo's payloads, at any moment of its scenario) parses
    /// whole.
    #[test]
    fn the_simulators_trains_parse_whole(
        seed in any::<u64>(),
        lanes in 1usize..12,
        minutes in 0u64..180,
    ) {
        let opts = SimOptions {
            lanes,
            seed,
            speed: 1.0,
            ..Default::default()
        };
        let t0 = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
        let mut sc = Scenario::new(&opts, t0, "http://127.0.0.1:1");
        sc.advance(std::time::Duration::from_secs(minutes * 60));
        let doc = sc.train_json();
        let mut names = NameMap::default();
        for c in doc["cells"].as_array().unwrap() {
            let (l, s) = key_of(c).unwrap();
            names.insert(CellKey::new(l, s), l.into(), s.into());
        }
        let b = parse_train(&serde_json::to_vec(&doc).unwrap(), &names)
            .map_err(TestCaseError::fail)?;
        prop_assert!(b.cell_errors.is_empty(), "{:?}", b.cell_errors);
        prop_assert_eq!(b.cells.len(), doc["cells"].as_array().unwrap().len());
        for (_, m) in &b.metrics {
            prop_assert!(m.error.is_none(), "{:?}", m.error);
            check_metric(m)?;
        }
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_any(&body)?;
    }

    /// Random text that looks a little like a payload.
    #[test]
    fn random_json_ish_text_never_panics(body in "[{}\\[\\]\",:0-9a-z_ .eE+-]{0,300}") {
        check_any(body.as_bytes())?;
    }
}

/// The protocol's own example (docs/protocol.md) cut at every byte: each strict prefix is an
/// error with words, never a panic.
#[test]
fn every_truncation_of_the_documented_example_is_an_error() {
    let doc = include_str!("../../docs/protocol.md");
    let start = doc.find("```json\n{\n  \"protocol\"").expect("example") + 8;
    let end = start + doc[start..].find("\n```").expect("end of example");
    let example = &doc.as_bytes()[start..end];
    let whole = parse_train(example, &names()).expect("the example parses");
    assert!(whole.cell_errors.is_empty());
    for cut in 0..example.len() {
        let e = parse_train(&example[..cut], &names()).expect_err("a cut document");
        assert!(!e.is_empty() && !e.contains('\u{1b}'), "{e:?}");
    }
}

/// Nesting far past serde_json's recursion limit never overflows the stack, and spoils no
/// more than where it is: the document (an error), a cell entry (skipped, as any entry that is
/// not an object), a cell's checks (that cell marked), a metric's series (that metric marked).
#[test]
fn deep_nesting_spoils_only_where_it_is_never_the_stack() {
    let deep =
        |prefix, suffix| parse_train(&mutate::deeply_nested(prefix, 200_000, suffix), &names());
    assert!(deep("", "").is_err(), "a document that is not an object");
    let b = deep("{\"cells\":", "}").expect("a list of one entry that is no cell");
    assert!(b.cells.is_empty() && b.cell_errors.is_empty(), "{b:?}");
    let b = deep(
        "{\"cells\":[{\"lane\":\"api\",\"stage\":\"canary\",\"state\":\"running\",\"checks\":",
        "}]}",
    )
    .unwrap();
    assert_eq!(b.cell_errors.len(), 1, "{b:?}");
    assert!(b.cell_errors[0].1.starts_with("malformed cell"), "{b:?}");
    let b = deep(
        "{\"cells\":[],\"metrics\":[{\"lane\":\"api\",\"stage\":\"canary\",\"name\":\"x\",\"series\":",
        "}]}",
    )
    .unwrap();
    assert_eq!(b.metrics.len(), 1, "{b:?}");
    assert!(
        b.metrics[0]
            .1
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("malformed metric")),
        "{b:?}"
    );
}

/// Hostile text in every field comes out clean and visibly marked (the invariant the properties check, on one
/// input that has all of it).
#[test]
fn escapes_in_every_field_are_stripped() {
    let evil = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\0y";
    let doc = json!({"cells": [{
        "lane": "api", "stage": "canary", "state": "running", "version": evil, "url": evil,
        "actor": evil, "message": evil, "checks": [{"name": evil, "state": "failed", "url": evil}],
        "approval": {"environment": evil, "reviewers": [evil]},
        "history": [{"version": evil, "state": "succeeded", "actor": evil}],
        "warnings": [evil],
    }], "metrics": [{"lane": "api", "stage": "canary", "name": evil, "unit": evil}]});
    let b = parse_train(&serde_json::to_vec(&doc).unwrap(), &names()).unwrap();
    let c = &b.cells[0].1;
    // Escape sequences with their payloads become one visible ␛, other controls and the bidi
    // override one � (docs/security.md, "Hostile payloads").
    assert_eq!(c.version.as_deref(), Some("x␛�y"));
    check_cell(c).unwrap();
    check_metric(&b.metrics[0].1).unwrap();
    clean("name", &b.metrics[0].1.name, 10).unwrap();
}
