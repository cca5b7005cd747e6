//! `GET /v1/train` of the `http` protocol: `trainyard::sources::http::parse_train`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trainyard::model::CellKey;
use trainyard::sources::NameMap;
use trainyard::sources::http::parse_train;

mod common;

fuzz_target!(|data: &[u8]| {
    // Serve every lane × stage the document names, so that every entry is read (an entry of
    // a cell the config doesn't have is skipped before it is parsed).
    let mut names = NameMap::default();
    if let Ok(doc) = serde_json::from_slice::<Value>(data) {
        for list in ["cells", "metrics"] {
            for e in doc
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(l), Some(s)) = (
                    e.get("lane").and_then(Value::as_str),
                    e.get("stage").and_then(Value::as_str),
                ) {
                    names.insert(CellKey::new(l, s), l.to_string(), s.to_string());
                }
            }
        }
    }
    match parse_train(data, &names) {
        Ok(batch) => {
            for (_, c) in &batch.cells {
                common::assert_cell(c);
            }
            for (_, e) in &batch.cell_errors {
                common::assert_error("cell error", e);
            }
            for (_, m) in &batch.metrics {
                common::assert_clean("metric name", &m.name);
                common::assert_clean("metric unit", &m.unit);
                assert!(m.value.is_none_or(f64::is_finite));
                assert!(m.series.iter().all(|(_, v)| v.is_finite()));
                let _ = (m.ok(), m.threshold_text(), m.canary());
            }
        }
        Err(e) => common::assert_error("parse_train", &e),
    }
});
