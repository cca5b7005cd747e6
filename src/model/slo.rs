//! A metric against its SLO over a window: is it breaching now, since when, or did it breach
//! earlier in the window — and the words for it ("error_rate 2.30% > 1.00% at canary for the
//! last 7m"). Used by the `slo` gate and by `auto_pause`.

use std::time::Duration;

use super::duration::human;
use super::{Metric, Timestamp};

/// What the samples of a metric inside a window say about its threshold.
#[derive(Clone, Debug, PartialEq)]
pub enum Slo {
    /// Every sample in the window is within the threshold.
    Ok { samples: usize },
    /// The newest value breaches. `since`: how long the breach has lasted without a break (from
    /// its first sample); `whole_window` when it goes back to the first sample there is.
    Breaching {
        value: f64,
        peak: f64,
        since: Duration,
        whole_window: bool,
    },
    /// Within the threshold now, but a sample `ago` breached (the worst was `peak`); the window
    /// is clean again in `to_go`.
    Recovered {
        peak: f64,
        ago: Duration,
        to_go: Duration,
    },
    /// No value at all, or none inside the window.
    NoData,
    /// The source could not measure it.
    Error(String),
}

/// How `v` breaches `m`'s threshold, e.g. "> 1.00%"; `None` when it doesn't.
pub fn breach_text(m: &Metric, v: f64) -> Option<String> {
    if m.threshold.admits(v) {
        return None;
    }
    match (m.threshold.max, m.threshold.min) {
        (Some(hi), _) if v > hi || v.is_nan() => Some(format!("> {}", m.format_value(hi))),
        (_, Some(lo)) => Some(format!("< {}", m.format_value(lo))),
        _ => Some("out of range".into()),
    }
}

/// The worse of two breaching values for this threshold (higher for a maximum).
fn worse(m: &Metric, a: f64, b: f64) -> f64 {
    let low_is_bad = m.worse() == super::analysis::Worse::Lower;
    if low_is_bad == (a < b) { a } else { b }
}

/// Judge `m` over the last `window` before `now` (`None`: every sample the source gave, which
/// for a `prometheus` metric is the metric's own window). The metric's current value counts
/// as the newest sample.
pub fn evaluate(m: &Metric, window: Option<Duration>, now: Timestamp) -> Slo {
    if let Some(e) = &m.error {
        return Slo::Error(e.clone());
    }
    let now_s = now.timestamp();
    let from = window.map(|w| now_s - w.as_secs() as i64);
    // The samples inside the window, walked where they lie (no copy: this runs for every
    // metric of every lane judged).
    let inside = |&&(t, _): &&(i64, f64)| from.is_none_or(|f| t >= f);
    let newest_kept = m.series.iter().rev().find(inside).copied();
    // The current value (an instant query, say) is the newest sample, unless the series
    // already ends with it.
    let extra = m
        .value
        .filter(|&v| newest_kept.is_none_or(|(_, last)| last != v))
        .map(|v| (newest_kept.map_or(now_s, |(t, _)| t.max(now_s)), v));
    let samples = || m.series.iter().filter(inside).copied().chain(extra);
    let newest_first = || {
        extra
            .into_iter()
            .chain(m.series.iter().rev().filter(inside).copied())
    };
    let count = m.series.iter().filter(inside).count() + usize::from(extra.is_some());
    let Some((_, value)) = extra.or(newest_kept) else {
        return Slo::NoData;
    };
    let first = samples().next().map_or(now_s, |(t, _)| t);
    let secs = |s: i64| Duration::from_secs(s.max(0) as u64);
    let breaching = |v: f64| !m.threshold.admits(v);
    if breaching(value) {
        let (mut run, mut start, mut peak) = (0usize, now_s, value);
        for (t, v) in newest_first().take_while(|(_, v)| breaching(*v)) {
            run += 1;
            start = t;
            peak = worse(m, peak, v);
        }
        return Slo::Breaching {
            value,
            peak,
            since: secs(now_s - start),
            whole_window: run == count && run > 1,
        };
    }
    let last_bad = newest_first().find(|(_, v)| breaching(*v));
    match last_bad {
        None => Slo::Ok { samples: count },
        Some((t, _)) => {
            let peak = samples()
                .map(|(_, v)| v)
                .filter(|v| breaching(*v))
                .reduce(|p, v| worse(m, p, v))
                .unwrap_or(f64::NAN);
            let span = window.unwrap_or_else(|| secs(now_s - first));
            let ago = secs(now_s - t);
            Slo::Recovered {
                peak,
                ago,
                to_go: span.saturating_sub(ago),
            }
        }
    }
}

/// The blocker's words for a metric at `stage` that is not within its SLO over the window;
/// `None` when it is.
pub fn blocker_text(m: &Metric, stage: &str, slo: &Slo) -> Option<String> {
    Some(match slo {
        Slo::Ok { .. } => return None,
        Slo::Error(e) => format!("{} at {stage}: {e}", m.name),
        Slo::NoData => format!("{} at {stage} has no data", m.name),
        Slo::Breaching {
            value,
            peak,
            since,
            whole_window,
        } => {
            let how = breach_text(m, *value).unwrap_or_default();
            let when = if since.is_zero() {
                "now".to_string()
            } else if *whole_window {
                format!("for the last {} (the whole window)", human(*since))
            } else {
                format!("for the last {}", human(*since))
            };
            let peak = if m.format_value(*peak) != m.format_value(*value) {
                format!(" (peak {})", m.format_value(*peak))
            } else {
                String::new()
            };
            format!(
                "{} {} {how} at {stage} {when}{peak}",
                m.name,
                m.format_value(*value)
            )
        }
        Slo::Recovered { peak, ago, to_go } => {
            let how = breach_text(m, *peak).unwrap_or_default();
            let wait = if to_go.is_zero() {
                String::new()
            } else {
                format!("; clean again in {}", human(*to_go))
            };
            format!(
                "{} at {stage} breached {} ago ({} {how}), within its SLO since{wait}",
                m.name,
                human(*ago),
                m.format_value(*peak)
            )
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Threshold;

    pub(crate) fn now() -> Timestamp {
        chrono::DateTime::from_timestamp(1_000_000, 0).unwrap()
    }

    /// An error-rate metric (max 1%) with one sample a minute, the newest at `now`.
    pub(crate) fn metric(values: &[f64]) -> Metric {
        let n = values.len() as i64;
        Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value: values.last().copied(),
            threshold: Threshold {
                min: None,
                max: Some(0.01),
            },
            baseline: None,
            baseline_series: Vec::new(),
            series: values
                .iter()
                .enumerate()
                .map(|(i, v)| (1_000_000 - (n - 1 - i as i64) * 60, *v))
                .collect(),
            source: "prom".into(),
            error: None,
            warnings: vec![],
        }
    }

    fn text(m: &Metric, window: Option<Duration>) -> Option<String> {
        blocker_text(m, "canary", &evaluate(m, window, now()))
    }

    #[test]
    fn a_breach_says_the_value_the_slo_and_how_long() {
        // Fine for 3 minutes, then 8 samples over: the breach began 7 minutes ago.
        let m = metric(&[
            0.004, 0.005, 0.004, 0.015, 0.02, 0.021, 0.022, 0.03, 0.025, 0.024, 0.023,
        ]);
        assert_eq!(
            text(&m, None).unwrap(),
            "error_rate 2.30% > 1.00% at canary for the last 7m (peak 3.00%)"
        );
    }

    #[test]
    fn a_breach_over_the_whole_window_says_so() {
        let m = metric(&[0.02, 0.02, 0.02]);
        assert_eq!(
            text(&m, None).unwrap(),
            "error_rate 2.00% > 1.00% at canary for the last 2m (the whole window)"
        );
    }

    #[test]
    fn a_breach_in_the_window_blocks_until_it_leaves_it() {
        let m = metric(&[0.004, 0.03, 0.004, 0.004, 0.004]);
        let slo = evaluate(&m, Some(Duration::from_secs(600)), now());
        assert_eq!(
            slo,
            Slo::Recovered {
                peak: 0.03,
                ago: Duration::from_secs(180),
                to_go: Duration::from_secs(420)
            }
        );
        assert_eq!(
            blocker_text(&m, "canary", &slo).unwrap(),
            "error_rate at canary breached 3m ago (3.00% > 1.00%), within its SLO since; clean again in 7m"
        );
        // A window that no longer reaches the breach: ok.
        let short = evaluate(&m, Some(Duration::from_secs(120)), now());
        assert_eq!(short, Slo::Ok { samples: 3 });
    }

    #[test]
    fn clean_series_and_missing_data() {
        assert_eq!(
            evaluate(&metric(&[0.001, 0.002]), None, now()),
            Slo::Ok { samples: 2 }
        );
        assert_eq!(evaluate(&metric(&[]), None, now()), Slo::NoData);
        // Samples older than the window are no data for it.
        let old = metric(&[0.001, 0.002, 0.003, 0.001, 0.001, 0.001]);
        let mut m = old.clone();
        for s in &mut m.series {
            s.0 -= 3600;
        }
        m.value = None;
        assert_eq!(
            evaluate(&m, Some(Duration::from_secs(600)), now()),
            Slo::NoData
        );
        let mut e = old;
        e.error = Some("bad_data: parse error".into());
        assert_eq!(
            text(&e, None).unwrap(),
            "error_rate at canary: bad_data: parse error"
        );
    }

    #[test]
    fn a_value_without_series_is_judged_as_one_sample() {
        let mut m = metric(&[]);
        m.value = Some(0.05);
        assert_eq!(
            text(&m, None).unwrap(),
            "error_rate 5.00% > 1.00% at canary now"
        );
        m.value = Some(0.001);
        assert_eq!(text(&m, None), None);
    }

    #[test]
    fn a_current_value_newer_than_the_series_counts() {
        // The range ends fine but the instant value breaches.
        let mut m = metric(&[0.001, 0.002]);
        m.value = Some(0.04);
        assert!(matches!(
            evaluate(&m, None, now()),
            Slo::Breaching { value, .. } if value == 0.04
        ));
    }

    #[test]
    fn a_minimum_breach_reads_the_other_way() {
        let mut m = metric(&[0.999, 0.95, 0.97]);
        m.name = "availability".into();
        m.threshold = Threshold {
            min: Some(0.99),
            max: None,
        };
        assert_eq!(
            text(&m, None).unwrap(),
            "availability 97.00% < 99.00% at canary for the last 1m (peak 95.00%)"
        );
    }
}
