//! Durations as people write them ("30m", "1h30m", "45s", "2d") and as people read them.

use std::time::Duration;

/// The longest duration trainyard accepts anywhere: ten years. Longer is a typo, and keeping
/// durations bounded keeps every sum and product of them far from overflowing.
pub const MAX: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Parse `1d2h30m15s500ms`-style durations; a bare number is seconds.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let too_long = || format!("duration {s:?} is too long (at most 3650d)");
    if let Ok(n) = s.parse::<u64>() {
        let d = Duration::from_secs(n);
        return if d > MAX { Err(too_long()) } else { Ok(d) };
    }
    let mut total_ms: u64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let (unit, ms_per) = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            ("ms", 1)
        } else {
            match c {
                'd' => ("d", 86_400_000),
                'h' => ("h", 3_600_000),
                'm' => ("m", 60_000),
                's' => ("s", 1_000),
                // Debug: a control character is written escaped, not sent to the terminal.
                _ => return Err(format!("unexpected {c:?} in duration {s:?}")),
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("missing number before '{unit}' in duration {s:?}"))?;
        num.clear();
        total_ms = n
            .checked_mul(ms_per)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(too_long)?;
    }
    if !num.is_empty() {
        return Err(format!(
            "duration {s:?} needs a unit after every number (d, h, m, s, ms), e.g. \"30m\""
        ));
    }
    let d = Duration::from_millis(total_ms);
    if d > MAX { Err(too_long()) } else { Ok(d) }
}

/// "3d 4h", "2h 10m", "12m 5s", "45s": the two largest units, for people.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86_400, (s / 3_600) % 24, (s / 60) % 60, s % 60);
    if days > 0 {
        if hours > 0 {
            format!("{days}d {hours}h")
        } else {
            format!("{days}d")
        }
    } else if hours > 0 {
        if mins > 0 {
            format!("{hours}h {mins}m")
        } else {
            format!("{hours}h")
        }
    } else if mins > 0 {
        if secs > 0 {
            format!("{mins}m {secs}s")
        } else {
            format!("{mins}m")
        }
    } else {
        format!("{secs}s")
    }
}

/// Like [`human`] for a signed chrono delta; negative deltas count as zero.
pub fn human_delta(d: chrono::TimeDelta) -> String {
    human(d.to_std().unwrap_or_default())
}

/// Canonical compact form, as accepted by [`parse`]: "1h30m".
pub fn compact(d: Duration) -> String {
    let (s, ms) = (d.as_secs(), u64::from(d.subsec_millis()));
    if s == 0 && ms == 0 {
        return "0s".into();
    }
    let parts = [
        (s / 86_400, "d"),
        ((s / 3_600) % 24, "h"),
        ((s / 60) % 60, "m"),
        (s % 60, "s"),
        (ms, "ms"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1s500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("500ms30s").unwrap(), Duration::from_millis(30_500));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("").is_err());
        assert!(parse("m").is_err());
        assert!(parse("10x").is_err());
        assert!(parse("1h30").is_err());
        assert!(parse("thirty minutes").is_err());
        assert!(parse("99999999999999999999d").is_err());
        assert!(
            parse("18446744073709551615d")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse("3651d").unwrap_err().contains("too long"));
        assert!(parse("999999999999").unwrap_err().contains("too long"));
        assert_eq!(
            parse("30x").unwrap_err(),
            "unexpected 'x' in duration \"30x\""
        );
    }

    /// Found by tests/props (duration): the character that did not fit was written raw, so a
    /// config or `--since` could send an escape sequence to the terminal through the error.
    #[test]
    fn errors_carry_no_control_characters() {
        let e = parse("5\u{1b}[2J").unwrap_err();
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert_eq!(e, r#"unexpected '\u{1b}' in duration "5\u{1b}[2J""#);
    }

    #[test]
    fn humanises() {
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(725)), "12m 5s");
        assert_eq!(human(Duration::from_secs(7_800)), "2h 10m");
        assert_eq!(
            human(Duration::from_secs(3 * 86_400 + 4 * 3_600 + 60)),
            "3d 4h"
        );
        assert_eq!(human_delta(chrono::TimeDelta::seconds(-5)), "0s");
        assert_eq!(compact(Duration::from_secs(5400)), "1h30m");
        assert_eq!(compact(Duration::from_secs(86_400 + 5)), "1d5s");
        assert_eq!(compact(Duration::ZERO), "0s");
    }

    /// Found by the `duration` fuzz target: milliseconds were dropped, so `soak:1500ms` read
    /// back as `soak:1s` and a `stale_after = "900ms"` was reported as "not 0s".
    #[test]
    fn compact_keeps_milliseconds() {
        assert_eq!(compact(Duration::from_millis(500)), "500ms");
        assert_eq!(compact(Duration::from_millis(93_784_500)), "1d2h3m4s500ms");
        for s in ["1ms", "250ms", "1d2h3m4s500ms", "3650d"] {
            assert_eq!(parse(&compact(parse(s).unwrap())), parse(s), "{s}");
        }
    }
}
