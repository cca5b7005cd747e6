//! The audit log read back: `verify_bytes`, `records_of` (what `read` returns) and what is
//! replayed from the records.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use trainyard::ops::audit::{records_of, verify_bytes};

fuzz_target!(|data: &[u8]| {
    let v = verify_bytes(data);
    let segments = data.split(|b| *b == b'\n').count();
    assert!(v.records <= segments);
    if let Some((line, why)) = &v.first_bad {
        assert!(*line >= 1 && *line <= segments && !why.is_empty());
    }
    let records = records_of(data);
    if v.intact() {
        assert_eq!(records.len(), v.records);
        assert_eq!(v.head.as_ref(), records.last().map(|r| &r.hash));
    }
    let now = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
    let _ = trainyard::ops::holds_from(&records);
    let _ = trainyard::ops::run::open_attempts(&records, now, Duration::from_secs(600));
    for r in &records {
        let _ = (r.time(), r.compute_hash());
    }
});
