//! Durations and gates as written in the config and on the command line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trainyard::model::Gate;
use trainyard::model::duration::{MAX, compact, parse};

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse(s) {
        Ok(d) => {
            assert!(d <= MAX);
            assert_eq!(parse(&compact(d)), Ok(d), "compact form {:?}", compact(d));
        }
        Err(e) => common::assert_error("duration", &e),
    }
    for g in [s.to_string(), format!("soak:{s}"), format!("slo:{s}")] {
        if let Ok(gate) = Gate::parse(&g) {
            assert_eq!(Gate::parse(&gate.to_string()), Ok(gate));
        }
    }
});
