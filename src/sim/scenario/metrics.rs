//! The metrics of the simulated train: every lane's error rate, p99 latency and saturation at
//! staging, canary and prod, sampled as time moves. A slow swell like daily traffic, noise that
//! canary and prod mostly share, and a bad version's climb under production traffic.

use std::collections::VecDeque;
use std::f64::consts::TAU;
use std::time::Duration;

use super::{
    CANARY, MIN, PROD, SEC, STAGES, STAGING, Scenario, St, T_NOISE, T_NOISE_SHARED, clamp_speed,
};
use crate::sim::rng::{mix, unit};

/// The metrics measured at staging, canary and prod: name, unit, threshold max.
pub(crate) const METRICS: [(&str, &str, f64); 3] = [
    ("error_rate", "ratio", 0.01),
    ("latency_p99", "seconds", 0.5),
    ("saturation", "ratio", 0.8),
];
const ERR: usize = 0;
const LAT: usize = 1;
const SAT: usize = 2;
/// Points kept per metric series.
pub const SERIES_LEN: usize = 30;
/// The part of a metric's noise that canary and prod share.
const SHARED_NOISE: f64 = 0.75;

/// Scenario ms between two metric samples: one per 5 s of scenario time, but never more than
/// one per wall second (series points carry whole unix seconds).
pub(super) fn sample_every(speed: f64) -> i64 {
    (5 * SEC).max((1000.0 * speed).ceil() as i64)
}

/// The wall time a metric series spans at `speed`: [`SERIES_LEN`] samples (150 s at speed 1,
/// 37.5 s at speed 4, 30 s from speed 5 on). The demo's metrics look back this far.
pub fn series_span(speed: f64) -> Duration {
    let speed = clamp_speed(speed);
    let ms = SERIES_LEN as f64 * sample_every(speed) as f64 / speed;
    Duration::from_millis(ms.round() as u64)
}

/// One metric series of one lane × stage (see [`Scenario::metric_series`]).
pub(crate) struct MetricSeries<'a> {
    /// The metric's name in `/v1/train` (`error_rate`, `latency_p99`, `saturation`).
    pub name: &'static str,
    pub lane: &'a str,
    pub stage: &'static str,
    /// The stable side (the baseline of a canary) rather than the stage's own version.
    pub stable: bool,
    /// (unix seconds, value), oldest first.
    pub points: &'a VecDeque<(i64, f64)>,
}

impl Scenario {
    pub(super) fn sample(&mut self) {
        let t = self.now;
        let stamp = self.wall(t).timestamp();
        let k = t.div_euclid(self.sample_every) as u64;
        self.samples += 1;
        for li in 0..self.lanes.len() {
            for s in STAGING..=PROD {
                for (m, &(_, unit, _)) in METRICS.iter().enumerate() {
                    let target = self.metric_target(li, s, m, t, k);
                    let series = &mut self.lanes[li].series[(s - 1) * 3 + m];
                    let v = match series.back() {
                        Some(&(_, prev)) => 0.5 * prev + 0.5 * target,
                        None => target,
                    };
                    let v = if unit == "ratio" {
                        v.clamp(0.0, 1.0)
                    } else {
                        v.max(0.0)
                    };
                    let v = (v * 1e5).round() / 1e5;
                    if series.len() == SERIES_LEN {
                        series.pop_front();
                    }
                    series.push_back((stamp, v));
                }
            }
        }
    }

    fn metric_target(&self, li: usize, s: usize, m: usize, t: i64, k: u64) -> f64 {
        const STAGE_FACTOR: [[f64; 3]; 4] =
            [[0.0; 3], [0.7, 0.85, 0.5], [1.0, 1.0, 0.9], [1.0, 1.0, 1.0]];
        let lane = &self.lanes[li];
        let cell = &lane.cells[s];
        let base = lane.base[m] * STAGE_FACTOR[s][m];
        // A slow daily-traffic-like swell, compressed to ten minutes.
        let wave =
            1.0 + 0.12 * (TAU * (t as f64 / (10 * MIN) as f64 + lane.phase + m as f64 * 0.3)).sin();
        let amp = [0.25, 0.06, 0.03][m] * if s == STAGING { 1.6 } else { 1.0 };
        let own = unit(mix(self.seed, &[T_NOISE, lane.idx, s as u64, m as u64, k]));
        // Canary and prod serve the same traffic: most of their ups and downs are shared, so a
        // healthy canary looks like its stable side and canary analysis doesn't cry wolf.
        let u = if s >= CANARY {
            let shared = unit(mix(self.seed, &[T_NOISE_SHARED, lane.idx, m as u64, k]));
            SHARED_NOISE * shared + (1.0 - SHARED_NOISE) * own
        } else {
            own
        };
        let noise = 1.0 + amp * (2.0 * u - 1.0);
        let mut v = base * wave * noise;
        // A bad version shows under production traffic only: it passed staging.
        if s >= CANARY
            && cell.ver.bad
            && matches!(cell.state, St::Running | St::Succeeded | St::Paused)
        {
            let secs = (t - cell.started).max(0) as f64 / 1000.0;
            v += match m {
                ERR => (0.00008 * secs).min(0.04),
                LAT => (0.0015 * secs).min(0.4),
                _ => (0.0006 * secs).min(0.15),
            };
        }
        if cell.op.is_some() && m == SAT {
            v += 0.04;
        }
        v
    }

    /// Every metric series, as the Prometheus face shows them: grouped by metric (in
    /// [`METRICS`] order), then lane and stage; at canary the stable side (the baseline, prod's
    /// series) follows the canary side.
    pub(crate) fn metric_series(&self) -> Vec<MetricSeries<'_>> {
        let mut out = Vec::new();
        for (m, &(name, _, _)) in METRICS.iter().enumerate() {
            for lane in &self.lanes {
                for (s, stage) in STAGES.iter().enumerate().skip(STAGING) {
                    let series = |s: usize| &lane.series[(s - 1) * 3 + m];
                    out.push(MetricSeries {
                        name,
                        lane: &lane.spec.name,
                        stage,
                        stable: false,
                        points: series(s),
                    });
                    if s == CANARY {
                        out.push(MetricSeries {
                            name,
                            lane: &lane.spec.name,
                            stage,
                            stable: true,
                            points: series(PROD),
                        });
                    }
                }
            }
        }
        out
    }
}
