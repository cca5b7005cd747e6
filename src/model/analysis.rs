//! Canary analysis: is the canary's metric worse than the stable side's, by more than chance?
//! Pure statistics with known answers in the tests (checked against SciPy). docs/analysis.md
//! explains the method, the verdict and the limits.

/// Which way a metric is bad: up (error rate, latency) or down (availability, throughput).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worse {
    Higher,
    Lower,
}

/// The Mann-Whitney U test of `x` (canary) against `y` (stable).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U of `x`: how many (x, y) pairs have x > y (ties count a half).
    pub u: f64,
    /// P(a canary sample > a stable sample) + half the ties: 0.5 is "no difference".
    pub effect: f64,
    /// The one-sided p-value for "x is worse than y" (normal approximation, tie and continuity
    /// corrected).
    pub p_worse: f64,
    /// The two-sided p-value.
    pub p_two_sided: f64,
}

impl MannWhitney {
    /// The one-sided p-value in words: "p<0.001", "p=0.012".
    pub fn p_text(&self) -> String {
        if self.p_worse < 0.001 {
            "p<0.001".into()
        } else {
            format!("p={:.3}", self.p_worse)
        }
    }

    /// P(worse): the effect seen from the bad side (one minus it for a metric bad when low).
    pub fn p_bad(&self, worse: Worse) -> f64 {
        match worse {
            Worse::Higher => self.effect,
            Worse::Lower => 1.0 - self.effect,
        }
    }
}

/// Standard normal upper tail, P(Z > z). erfc per Numerical Recipes (`erfcc`), relative error
/// below 1.2e-7 everywhere.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Mann-Whitney U of canary `x` against stable `y`; `None` without samples on both sides.
pub fn mann_whitney(x: &[f64], y: &[f64], worse: Worse) -> Option<MannWhitney> {
    rank_test(x.iter().copied(), y.iter().copied(), worse)
}

/// [`mann_whitney`] of the values `x` and `y` yield, read where they lie (one allocation: the
/// ranking).
fn rank_test(
    x: impl ExactSizeIterator<Item = f64> + Clone,
    y: impl ExactSizeIterator<Item = f64> + Clone,
    worse: Worse,
) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 || x.clone().chain(y.clone()).any(|v| !v.is_finite()) {
        return None;
    }
    // Rank everything together, ties sharing their average rank.
    let mut all: Vec<(f64, bool)> = Vec::with_capacity(n1 + n2);
    all.extend(x.map(|v| (v, true)));
    all.extend(y.map(|v| (v, false)));
    // Unstable: a tie's rank is its group's average whatever the order inside it.
    all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut rank_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_x += all[i..=j].iter().filter(|(_, is_x)| *is_x).count() as f64 * avg;
        i = j + 1;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u = rank_x - n1f * (n1f + 1.0) / 2.0;
    let mu = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let effect = u / (n1f * n2f);
    if var <= 0.0 {
        // Every value the same: no evidence either way.
        return Some(MannWhitney {
            u,
            effect,
            p_worse: 1.0,
            p_two_sided: 1.0,
        });
    }
    let sigma = var.sqrt();
    // "Worse" is x above y for Higher, below for Lower; continuity-corrected toward the mean.
    let z_up = (u - mu - 0.5) / sigma;
    let z_down = (u - mu + 0.5) / sigma;
    let p_up = normal_sf(z_up);
    let p_down = 1.0 - normal_sf(z_down);
    let p_worse = match worse {
        Worse::Higher => p_up,
        Worse::Lower => p_down,
    };
    let z = ((u - mu).abs() - 0.5).max(0.0) / sigma;
    let p_two_sided = (2.0 * normal_sf(z)).min(1.0);
    Some(MannWhitney {
        u,
        effect,
        p_worse,
        p_two_sided,
    })
}

/// The verdict on a canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    /// Too few samples on a side to say anything.
    NoData,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Marginal => "marginal",
            Verdict::Fail => "fail",
            Verdict::NoData => "no data",
        }
    }

    /// The verdict as screens and lines say it: FAIL loud, the rest quiet.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Fail => "FAIL",
            other => other.as_str(),
        }
    }

    /// The word where room is short: "FAIL", "marg", "pass", "n/a".
    pub fn short(self) -> &'static str {
        match self {
            Verdict::Fail => "FAIL",
            Verdict::Marginal => "marg",
            Verdict::Pass => "pass",
            Verdict::NoData => "n/a",
        }
    }
}

/// Fewer samples than this on either side: no verdict.
pub const MIN_SAMPLES: usize = 5;

/// Compare canary with stable (see docs/analysis.md): fail when the canary is worse with
/// p < 0.01 and a large effect (P(worse) ≥ 0.75); marginal when p < 0.1 and the effect leans
/// the bad way (≥ 0.6); pass otherwise.
pub fn canary_verdict(
    canary: &[f64],
    stable: &[f64],
    worse: Worse,
) -> (Verdict, Option<MannWhitney>) {
    canary_verdict_of(canary.iter().copied(), stable.iter().copied(), worse)
}

/// [`canary_verdict`] of the values `canary` and `stable` yield, read where they lie.
pub fn canary_verdict_of(
    canary: impl ExactSizeIterator<Item = f64> + Clone,
    stable: impl ExactSizeIterator<Item = f64> + Clone,
    worse: Worse,
) -> (Verdict, Option<MannWhitney>) {
    if canary.len() < MIN_SAMPLES || stable.len() < MIN_SAMPLES {
        return (Verdict::NoData, None);
    }
    let Some(t) = rank_test(canary, stable, worse) else {
        return (Verdict::NoData, None);
    };
    // The effect seen from "worse": P(canary worse than stable).
    let bad = match worse {
        Worse::Higher => t.effect,
        Worse::Lower => 1.0 - t.effect,
    };
    let verdict = if t.p_worse < 0.01 && bad >= 0.75 {
        Verdict::Fail
    } else if t.p_worse < 0.1 && bad >= 0.6 {
        Verdict::Marginal
    } else {
        Verdict::Pass
    };
    (verdict, Some(t))
}

/// An anomaly hint for one series: how many standard deviations the newest value is from an
/// exponentially weighted mean of the ones before (alpha 0.3). `None` below 5 values.
pub fn ewma_z(series: &[f64]) -> Option<f64> {
    let (last, before) = series.split_last()?;
    if before.len() < 4 {
        return None;
    }
    const ALPHA: f64 = 0.3;
    let mut mean = before[0];
    let mut var = 0.0;
    for v in &before[1..] {
        let d = v - mean;
        mean += ALPHA * d;
        var = (1.0 - ALPHA) * (var + ALPHA * d * d);
    }
    let sd = var.sqrt();
    if sd <= f64::EPSILON * mean.abs().max(1.0) {
        return Some(if (last - mean).abs() <= f64::EPSILON {
            0.0
        } else {
            f64::INFINITY.copysign(last - mean)
        });
    }
    Some((last - mean) / sd)
}

/// Which way a series is heading lately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    Rising,
    Falling,
    Flat,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Rising => "rising",
            Trend::Falling => "falling",
            Trend::Flat => "flat",
        }
    }
}

/// How many of the newest values [`trend`] looks at.
pub const TREND_WINDOW: usize = 10;

/// The trend of the newest [`TREND_WINDOW`] values: the least-squares slope, called rising or
/// falling only when the fitted change over the window is both clear of the noise (|t| ≥ 2 for
/// the slope) and worth a look (at least 5% of the window's mean, or of its range when the
/// mean is about zero). `None` below 3 values or with values that are not finite.
pub fn trend(series: &[f64]) -> Option<Trend> {
    let ys = &series[series.len().saturating_sub(TREND_WINDOW)..];
    let n = ys.len();
    if n < 3 || ys.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let nf = n as f64;
    let mean_x = (nf - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxx += dx * dx;
        sxy += dx * (y - mean_y);
    }
    let slope = sxy / sxx;
    let change = slope * (nf - 1.0);
    let rss: f64 = ys
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let fit = mean_y + slope * (i as f64 - mean_x);
            (y - fit) * (y - fit)
        })
        .sum();
    // The slope's standard error; zero for a perfect line.
    let se = (rss / (nf - 2.0) / sxx).sqrt();
    let clear = slope.abs() >= 2.0 * se;
    let (lo, hi) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let scale = mean_y.abs().max(hi - lo).max(f64::MIN_POSITIVE);
    let big = change.abs() >= 0.05 * scale;
    Some(if !(clear && big) {
        Trend::Flat
    } else if change > 0.0 {
        Trend::Rising
    } else {
        Trend::Falling
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1e-12) + 1e-9
    }

    /// Known answers from SciPy 1.x: `scipy.stats.mannwhitneyu(x, y, method="asymptotic",
    /// use_continuity=True, alternative=...)`.
    #[test]
    fn mann_whitney_matches_scipy() {
        let t = mann_whitney(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &[6.0, 7.0, 8.0, 9.0, 10.0],
            Worse::Higher,
        )
        .unwrap();
        assert_eq!(t.u, 0.0);
        assert!(close(t.p_two_sided, 0.012185780355344813), "{t:?}");
        let canary = [0.011, 0.012, 0.013, 0.012, 0.014, 0.015, 0.013];
        let stable = [0.010, 0.011, 0.010, 0.012, 0.011, 0.010, 0.011];
        let t = mann_whitney(&canary, &stable, Worse::Higher).unwrap();
        assert_eq!(t.u, 45.5);
        assert!(close(t.p_worse, 0.0037268968754279887), "{t:?}");
        // With ties across both samples.
        let t = mann_whitney(
            &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
            &[2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0],
            Worse::Higher,
        )
        .unwrap();
        assert_eq!(t.u, 11.0);
        assert!(close(t.p_two_sided, 0.04988443697992588), "{t:?}");
    }

    #[test]
    fn normal_tail() {
        assert!(close(normal_sf(0.0), 0.5));
        assert!((normal_sf(1.959_963_985) - 0.025).abs() < 1e-8);
        assert!((normal_sf(-3.0) - 0.998_650_101_968_37).abs() < 1e-8);
    }

    #[test]
    fn verdicts() {
        let stable: Vec<f64> = (0..30)
            .map(|i| 0.002 + 0.0001 * ((i * 7) % 5) as f64)
            .collect();
        let same: Vec<f64> = (0..30)
            .map(|i| 0.002 + 0.0001 * ((i * 3) % 5) as f64)
            .collect();
        let worse: Vec<f64> = (0..30).map(|i| 0.01 + 0.0001 * (i % 5) as f64).collect();
        assert_eq!(
            canary_verdict(&same, &stable, Worse::Higher).0,
            Verdict::Pass
        );
        assert_eq!(
            canary_verdict(&worse, &stable, Worse::Higher).0,
            Verdict::Fail
        );
        // A canary with a higher availability is not worse.
        assert_eq!(
            canary_verdict(&worse, &stable, Worse::Lower).0,
            Verdict::Pass
        );
        assert_eq!(
            canary_verdict(&worse[..3], &stable, Worse::Higher).0,
            Verdict::NoData
        );
        // Identical flat series: no evidence, a pass.
        assert_eq!(
            canary_verdict(&[1.0; 10], &[1.0; 10], Worse::Higher).0,
            Verdict::Pass
        );
        assert!(mann_whitney(&[f64::NAN], &[1.0], Worse::Higher).is_none());
    }

    #[test]
    fn ewma_flags_a_jump() {
        let mut s: Vec<f64> = (0..20).map(|i| 0.002 + 0.0001 * (i % 3) as f64).collect();
        assert!(ewma_z(&s).unwrap().abs() < 3.0);
        s.push(0.02);
        assert!(ewma_z(&s).unwrap() > 3.0);
        assert_eq!(ewma_z(&[1.0, 2.0]), None);
        assert_eq!(ewma_z(&[1.0; 6]), Some(0.0));
    }

    #[test]
    fn trends() {
        let up: Vec<f64> = (0..30).map(|i| 0.002 + 0.0004 * i as f64).collect();
        assert_eq!(trend(&up), Some(Trend::Rising));
        let down: Vec<f64> = up.iter().rev().copied().collect();
        assert_eq!(trend(&down), Some(Trend::Falling));
        // A drift of under 5% over the window is flat, however clean.
        let drift: Vec<f64> = (0..30).map(|i| 0.003 + 0.00001 * i as f64).collect();
        assert_eq!(trend(&drift), Some(Trend::Flat));
        // Noise that goes up and down is flat; the same noise on a clear climb is not.
        let noise = [0.0, 0.3, -0.2, 0.25, -0.3, 0.1, -0.1, 0.3, -0.25, 0.05];
        let noisy: Vec<f64> = noise.iter().map(|e| 1.0 + e).collect();
        assert_eq!(trend(&noisy), Some(Trend::Flat));
        let climbing: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(i, e)| 1.0 + 0.3 * i as f64 + e)
            .collect();
        assert_eq!(trend(&climbing), Some(Trend::Rising));
        // Only the newest values count: an old climb then a plateau is flat.
        let mut plateau = up.clone();
        plateau.extend([0.02; 10]);
        assert_eq!(trend(&plateau), Some(Trend::Flat));
        // Around zero the range is the scale.
        assert_eq!(trend(&[-1.0, -0.5, 0.0, 0.5, 1.0]), Some(Trend::Rising));
        assert_eq!(trend(&[1.0; 6]), Some(Trend::Flat));
        assert_eq!(trend(&[1.0, 2.0]), None);
        assert_eq!(trend(&[1.0, f64::NAN, 2.0]), None);
    }
}
