//! A metric judged, in one vocabulary: its state in a glyph and a word, the same on every
//! screen, in `status` and in `watch`.

use super::{Metric, Timestamp, World};

/// Where a metric stands, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricState {
    /// The source could not measure it (its own error, or its source's).
    Error,
    /// Its source failed or went quiet: the value shown is the last good one.
    Stale,
    /// Outside its threshold.
    Breach,
    /// Nothing measured yet.
    NoData,
    /// Within its threshold.
    Ok,
}

impl MetricState {
    pub const ALL: [MetricState; 5] = [
        MetricState::Error,
        MetricState::Stale,
        MetricState::Breach,
        MetricState::NoData,
        MetricState::Ok,
    ];

    /// Judge `m` as the world has it at `now`.
    pub fn of(m: &Metric, world: &World, now: Timestamp) -> MetricState {
        if world.metric_error(m).is_some() {
            MetricState::Error
        } else if world.metric_stale(m, now) {
            MetricState::Stale
        } else if m.value.is_none() {
            MetricState::NoData
        } else if m.ok() {
            MetricState::Ok
        } else {
            MetricState::Breach
        }
    }

    /// The word: loud for what blocks a gate.
    pub fn word(self) -> &'static str {
        match self {
            MetricState::Error => "ERROR",
            MetricState::Stale => "STALE",
            MetricState::Breach => "BREACH",
            MetricState::NoData => "no data",
            MetricState::Ok => "ok",
        }
    }

    /// The glyph before it (`ascii` for terminals without Unicode).
    pub fn glyph(self, ascii: bool) -> &'static str {
        match (self, ascii) {
            (MetricState::Error, _) => "E",
            (MetricState::Stale, _) => "~",
            (MetricState::Breach, false) => "✗",
            (MetricState::Breach, true) => "x",
            (MetricState::NoData, false) => "·",
            (MetricState::NoData, true) => ".",
            (MetricState::Ok, false) => "✓",
            (MetricState::Ok, true) => "v",
        }
    }

    /// Bad news: the gates block on it.
    pub fn is_bad(self) -> bool {
        matches!(
            self,
            MetricState::Error | MetricState::Stale | MetricState::Breach
        )
    }

    /// The value the metric shows in this state: an error has none worth reading.
    pub fn shows_value(self) -> bool {
        !matches!(self, MetricState::Error | MetricState::NoData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Batch, CellKey, SourceReport, Threshold};
    use chrono::TimeZone;
    use std::time::Duration;

    fn t(s: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn metric(value: Option<f64>, error: Option<&str>) -> Metric {
        Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value,
            threshold: Threshold {
                min: None,
                max: Some(0.01),
            },
            source: "prom".into(),
            error: error.map(str::to_string),
            ..Default::default()
        }
    }

    fn world(ok: bool) -> World {
        let mut w = World::new([("prom", "prometheus", Duration::from_secs(30))]);
        w.apply(SourceReport {
            source: "prom".into(),
            at: t(0),
            outcome: Ok(Batch {
                metrics: vec![(CellKey::new("api", "canary"), metric(Some(0.001), None))],
                ..Default::default()
            }),
        });
        if !ok {
            w.apply(SourceReport {
                source: "prom".into(),
                at: t(5),
                outcome: Err("HTTP 503".into()),
            });
        }
        w
    }

    #[test]
    fn each_state_in_its_word() {
        let w = world(true);
        assert_eq!(
            MetricState::of(&metric(Some(0.001), None), &w, t(1)),
            MetricState::Ok
        );
        assert_eq!(
            MetricState::of(&metric(Some(0.02), None), &w, t(1)),
            MetricState::Breach
        );
        assert_eq!(
            MetricState::of(&metric(None, None), &w, t(1)),
            MetricState::NoData
        );
        assert_eq!(
            MetricState::of(&metric(Some(0.001), Some("bad_data")), &w, t(1)),
            MetricState::Error
        );
        // Good data that nobody refreshed for longer than the source's stale_after.
        assert_eq!(
            MetricState::of(&metric(Some(0.001), None), &w, t(300)),
            MetricState::Stale
        );
    }

    #[test]
    fn a_failed_source_makes_its_last_good_value_an_error_not_ok() {
        let w = world(false);
        let m = &w.metrics("api", "canary")[0];
        assert!(m.ok(), "the last good value is within its threshold");
        let st = MetricState::of(m, &w, t(6));
        assert_eq!(st, MetricState::Error);
        assert!(st.is_bad());
        assert_eq!(st.word(), "ERROR");
    }

    #[test]
    fn glyphs_are_ascii_when_asked() {
        for st in MetricState::ALL {
            assert!(st.glyph(true).is_ascii(), "{st:?}");
            assert!(!st.word().is_empty());
        }
    }
}
