//! The config file: `trainyard::config::parse`. Seeds: tests/configs/valid, tests/configs/invalid.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` refuses a file that is not UTF-8 before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match trainyard::config::parse(text, "fuzz.toml") {
        Ok(c) => {
            let _ = (c.empty_world(), c.sources_of());
            for name in c.sources.keys() {
                let _ = trainyard::sources::NameMap::for_source(&c, name);
            }
        }
        Err(errs) => {
            assert!(!errs.0.is_empty());
            let lines: Vec<&str> = text.split('\n').collect();
            for e in &errs.0 {
                assert!(!e.message.trim().is_empty(), "{e}");
                assert!(e.line >= 1 && e.line <= lines.len(), "{e}");
                assert!(
                    e.col >= 1 && e.col <= lines[e.line - 1].chars().count() + 1,
                    "{e}"
                );
            }
        }
    }
});
