//! Prometheus' `query_range` answer: `trainyard::sources::prometheus::parse_range`. The first
//! two bytes are the HTTP status.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (200, data),
    };
    match trainyard::sources::prometheus::parse_range(status, body) {
        Ok(samples) => assert!(samples.iter().all(|(_, v)| v.is_finite())),
        Err(e) => common::assert_error("parse_range", &e),
    }
});
