//! `trainyard::model::duration::parse` and the gates built on it (`soak:D`, `slo:D`).

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

use trainyard::model::Gate;
use trainyard::model::duration::{self, MAX, compact, parse};

use crate::mutate::{self, clean, hostile_string};

const UNITS: &[(&str, u128)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

proptest! {
    #![proptest_config(mutate::config(512))]

    /// Any text: an error with words, or a duration no longer than the maximum.
    #[test]
    fn any_text_is_a_bounded_duration_or_an_error(s in prop_oneof![
        hostile_string(),
        "[0-9dhms ]{0,30}",
        "[0-9]{15,30}[dhms]{0,2}",
    ]) {
        match parse(&s) {
            Ok(d) => prop_assert!(d <= MAX, "{d:?}"),
            // The error repeats the text as written (escaped): as long as the text is.
            Err(e) => {
                prop_assert!(!e.is_empty());
                clean("duration error", &e, usize::MAX)?;
            }
        }
        let _ = Gate::parse(&format!("soak:{s}"));
        let _ = Gate::parse(&format!("slo:{s}"));
        let _ = Gate::parse(&s);
    }

    /// Numbers with units, any size: exactly their sum when it fits, "too long" when not,
    /// never an overflow.
    #[test]
    fn sums_of_parts_are_exact(
        parts in prop::collection::vec(
            (prop_oneof![0u64..100_000, any::<u64>()], select(UNITS)),
            1..6,
        ),
        spaces in any::<bool>(),
    ) {
        let text: String = parts.iter().map(|(n, (u, _))| format!("{n}{u}")).collect();
        let text = if spaces { format!("  {text}\t") } else { text };
        let total: u128 = parts.iter().map(|(n, (_, ms))| *n as u128 * ms).sum();
        match parse(&text) {
            Ok(d) => prop_assert_eq!(d.as_millis(), total),
            Err(e) => {
                prop_assert!(total > MAX.as_millis(), "{text}: {e}");
                prop_assert!(e.contains("too long"), "{}", e);
            }
        }
    }

    /// The compact form of every duration trainyard accepts (to the millisecond) reads back
    /// as itself, and so does a gate written with one.
    #[test]
    fn compact_round_trips(
        ms in prop_oneof![0..=MAX.as_millis() as u64, (0..=MAX.as_secs()).prop_map(|s| s * 1000)],
    ) {
        let d = Duration::from_millis(ms);
        prop_assert_eq!(parse(&compact(d)), Ok(d));
        for gate in [Gate::Soak(d), Gate::Slo(Some(d))] {
            prop_assert_eq!(Gate::parse(&gate.to_string()), Ok(gate));
        }
        let _ = (duration::human(d), duration::human_delta(chrono::TimeDelta::milliseconds(ms as i64)));
    }
}

#[test]
fn odd_durations() {
    for s in [
        "", "ms", "1", "+1", "-1", "1.5s", "1e3s", "٣s", "1h 30m", "1mss", "0", "3650d", "3650d1ms",
    ] {
        match parse(s) {
            Ok(d) => assert!(d <= MAX, "{s:?}"),
            Err(e) => assert!(!e.is_empty(), "{s:?}"),
        }
    }
    assert!(parse("3650d1ms").unwrap_err().contains("too long"));
}
