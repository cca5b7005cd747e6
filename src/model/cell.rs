//! What a lane has at a stage, and the metrics measured there.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::history::{History, HistoryEntry};
use super::{ActionKind, CellState, Timestamp};

/// A pass over a value's texts (`texts_mut`): given each text, the one to put in its place
/// when it changes.
pub type TextFn<'a> = dyn FnMut(&str) -> Option<String> + 'a;

/// `f`'s replacement of the text `s`, put in its place (a shared text: [`SharedTexts::put`]).
pub(crate) fn put(f: &mut TextFn, s: &mut String) {
    if let Some(new) = f(s) {
        *s = new;
    }
}

/// A text pass's answers for the shared texts it met (`Arc<str>` held by more than one value:
/// a Prometheus job's metric name and unit, a batch's source name): each is read once per pass
/// and every copy gets the one replacement, so the copies stay shared. Holding the text keeps
/// its address its own for the whole pass.
#[derive(Default)]
pub struct SharedTexts(Vec<(Arc<str>, Option<Arc<str>>)>);

impl SharedTexts {
    /// Shared texts remembered at most: a pass over more distinct ones reads the rest each time.
    const MOST: usize = 64;

    /// [`put`] for a text that may be shared.
    pub fn put(&mut self, f: &mut TextFn, s: &mut Arc<str>) {
        if let Some((_, new)) = self.0.iter().find(|(seen, _)| Arc::ptr_eq(seen, s)) {
            if let Some(new) = new {
                *s = Arc::clone(new);
            }
            return;
        }
        let new: Option<Arc<str>> = f(s).map(Into::into);
        if Arc::strong_count(s) > 1 && self.0.len() < Self::MOST {
            self.0.push((Arc::clone(s), new.clone()));
        }
        if let Some(new) = new {
            *s = new;
        }
    }
}

/// One cell of the matrix: what a lane has at a stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub version: Option<String>,
    pub state: CellState,
    /// 0.0 ..= 1.0 while something moves.
    pub progress: Option<f64>,
    pub updated_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    /// The run or deployment behind the cell, where its source links one.
    pub url: Option<String>,
    /// The web page of the cell's commit, where its source can form one (GitHub).
    #[serde(default)]
    pub commit_url: Option<String>,
    /// Name of the configured source this cell came from.
    pub source: String,
    /// Who or what last changed the cell ("ci", a user).
    pub actor: Option<String>,
    /// A one-line note from the source ("rolling out 3/8 pods").
    pub message: Option<String>,
    pub checks: Vec<Check>,
    pub approval: Option<Approval>,
    /// Earlier versions at this stage, newest first (shared between the cell's copies).
    pub history: History,
    /// What the source wants a user to know before acting on this cell ("auto sync is on and
    /// may undo this"): shown in every confirmation for it.
    pub warnings: Vec<String>,
    /// Actions the source says it can't take on this cell now, each with its reason ("automated
    /// sync is on: Argo CD refuses a rollback"): planning refuses them before anything is sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
    /// When trainyard last received good data for this cell.
    pub fetched_at: Option<Timestamp>,
    /// The last poll of this cell's source failed or this cell's payload was malformed;
    /// the rest of the cell is the last good data.
    pub error: Option<String>,
}

impl Cell {
    /// Every string of the cell that came from a source, for a pass over them all (secrets are
    /// scrubbed this way). Exhaustive on purpose: a new field must say whether it is text.
    pub fn texts_mut(&mut self, f: &mut TextFn) {
        let Cell {
            version,
            state: _,
            progress: _,
            updated_at: _,
            started_at: _,
            url,
            commit_url,
            source,
            actor,
            message,
            checks,
            approval,
            history,
            warnings,
            refused,
            fetched_at: _,
            error,
        } = self;
        for s in [version, url, commit_url, actor, message, error]
            .into_iter()
            .flatten()
        {
            put(f, s);
        }
        put(f, source);
        for Check {
            name,
            state: _,
            url,
        } in checks
        {
            put(f, name);
            if let Some(u) = url {
                put(f, u);
            }
        }
        if let Some(Approval {
            environment,
            reviewers,
        }) = approval
        {
            if let Some(e) = environment {
                put(f, e);
            }
            reviewers.iter_mut().for_each(|r| put(f, r));
        }
        history.texts_mut(f);
        warnings.iter_mut().for_each(|w| put(f, w));
        for Refusal { action: _, reason } in refused {
            put(f, reason);
        }
    }

    /// Why the source can't take `kind` on this cell now, if it says so.
    pub fn refusal(&self, kind: ActionKind) -> Option<&str> {
        self.refused
            .iter()
            .find(|r| r.action == kind)
            .map(|r| r.reason.as_str())
    }

    pub fn new(source: impl Into<String>, state: CellState) -> Self {
        Cell {
            version: None,
            state,
            progress: None,
            updated_at: None,
            started_at: None,
            url: None,
            commit_url: None,
            source: source.into(),
            actor: None,
            message: None,
            checks: Vec::new(),
            approval: None,
            history: History::default(),
            warnings: Vec::new(),
            refused: Vec::new(),
            fetched_at: None,
            error: None,
        }
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.state == CheckState::Failed)
    }

    /// A short version for the matrix: git SHAs are cut to 7 characters.
    /// The state for a message: "running 45%", "awaiting approval".
    pub fn describe(&self) -> String {
        match (self.state, self.progress) {
            (CellState::Running | CellState::RollingBack, Some(p)) => {
                format!("{} {:.0}%", self.state.words(), p * 100.0)
            }
            (st, _) => st.words().to_string(),
        }
    }

    /// "waiting for approval of production (reviewers: octocat)".
    pub fn approval_text(&self, stage: &str) -> String {
        let env = self
            .approval
            .as_ref()
            .and_then(|a| a.environment.clone())
            .unwrap_or_else(|| stage.to_string());
        let reviewers = self
            .approval
            .as_ref()
            .map(|a| a.reviewers.join(", "))
            .unwrap_or_default();
        if reviewers.is_empty() {
            format!("waiting for approval of {env}")
        } else {
            format!("waiting for approval of {env} (reviewers: {reviewers})")
        }
    }

    pub fn short_version(&self) -> String {
        short_version(self.version.as_deref().unwrap_or("-"))
    }

    /// The state in one short word for a matrix: "45%" while moving with progress, else the
    /// state's short word ("ok", "FAIL", "appr").
    pub fn state_word(&self) -> String {
        match (self.state.is_active(), self.progress) {
            (true, Some(p)) => format!("{:.0}%", p * 100.0),
            _ => self.state.short().to_string(),
        }
    }

    /// Earlier versions at this stage that succeeded, newest first: what a rollback may pick.
    pub fn good_versions(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.history.iter().filter(|h| {
            h.state == CellState::Succeeded && Some(&h.version) != self.version.as_ref()
        })
    }

    /// The newest earlier version at this stage that succeeded (the rollback target).
    pub fn last_good(&self) -> Option<&HistoryEntry> {
        self.good_versions().next()
    }
}

pub fn short_version(v: &str) -> String {
    let is_sha = v.len() >= 12 && v.chars().all(|c| c.is_ascii_hexdigit());
    if is_sha {
        v[..7].to_string()
    } else {
        v.to_string()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Passed,
    Failed,
    Pending,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The environment or gate waiting for approval, as the source names it.
    pub environment: Option<String>,
    pub reviewers: Vec<String>,
}

/// An action a source can't take on a cell now, and the source's reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub action: ActionKind,
    pub reason: String,
}

/// A metric threshold: the value must be `<= max` and `>= min` where given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Threshold {
    pub fn admits(&self, v: f64) -> bool {
        self.max.is_none_or(|m| v <= m) && self.min.is_none_or(|m| v >= m)
    }
}

/// A canary analysis: the verdict, and the test it rests on (none without enough samples).
pub type CanaryResult = (
    super::analysis::Verdict,
    Option<super::analysis::MannWhitney>,
);

/// One metric of a lane at a stage, with a recent series for the sparkline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: Arc<str>,
    /// `ratio`, `seconds`, `percent`, `count`, `rps`, or what the source says.
    pub unit: Arc<str>,
    pub value: Option<f64>,
    pub threshold: Threshold,
    /// The same metric on the stable (non-canary) side, when the source knows it.
    pub baseline: Option<f64>,
    /// The stable side's recent series, for canary analysis; empty when unknown.
    #[serde(default)]
    pub baseline_series: Vec<(i64, f64)>,
    /// (unix seconds, value), oldest first.
    pub series: Vec<(i64, f64)>,
    pub source: Arc<str>,
    pub error: Option<String>,
    /// What the source noted while measuring that is not an error (Prometheus' `warnings`, a
    /// current value taken from the series): shown with the metric, which still counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Metric {
    /// Every string of the metric, as [`Cell::texts_mut`]; its names through `shared`.
    pub fn texts_mut(&mut self, f: &mut TextFn, shared: &mut SharedTexts) {
        let Metric {
            name,
            unit,
            value: _,
            threshold: _,
            baseline: _,
            baseline_series: _,
            series: _,
            source,
            error,
            warnings,
        } = self;
        shared.put(f, name);
        shared.put(f, unit);
        shared.put(f, source);
        if let Some(e) = error {
            put(f, e);
        }
        warnings.iter_mut().for_each(|w| put(f, w));
    }

    /// Which way this metric is bad: down for one with only a minimum, else up.
    pub fn worse(&self) -> super::analysis::Worse {
        if self.threshold.max.is_none() && self.threshold.min.is_some() {
            super::analysis::Worse::Lower
        } else {
            super::analysis::Worse::Higher
        }
    }

    /// Canary against stable over the series both sides have (docs/analysis.md): `None`
    /// without a baseline series.
    pub fn canary(&self) -> Option<CanaryResult> {
        if self.baseline_series.is_empty() {
            return None;
        }
        Some(super::analysis::canary_verdict_of(
            self.series.iter().map(|(_, v)| *v),
            self.baseline_series.iter().map(|(_, v)| *v),
            self.worse(),
        ))
    }

    /// Within threshold. A metric with no value (or an error) is not ok.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.value.is_some_and(|v| self.threshold.admits(v))
    }

    pub fn format_value(&self, v: f64) -> String {
        format_value(&self.unit, v)
    }

    /// "≤1.00%" / "≥99.0%" / "200ms–1.00s": the compact form for narrow panels.
    pub fn threshold_short(&self) -> String {
        self.threshold_in(["≤", "≥", "-"])
    }

    /// "max 1.00%" / "min 99.0%" / "0.20s–1.00s".
    pub fn threshold_text(&self) -> String {
        self.threshold_in(["max ", "min ", "no threshold"])
    }

    /// The threshold with the words for an upper bound, a lower bound and none; both bounds
    /// read as a range.
    fn threshold_in(&self, [max, min, none]: [&str; 3]) -> String {
        match (self.threshold.min, self.threshold.max) {
            (Some(lo), Some(hi)) => format!("{}–{}", self.format_value(lo), self.format_value(hi)),
            (None, Some(hi)) => format!("{max}{}", self.format_value(hi)),
            (Some(lo), None) => format!("{min}{}", self.format_value(lo)),
            (None, None) => none.into(),
        }
    }
}

/// A value in its unit, compact: ratios as percentages, seconds as ms below one second.
pub fn format_value(unit: &str, v: f64) -> String {
    match unit {
        "ratio" => format!("{:.2}%", v * 100.0),
        "percent" => format!("{v:.1}%"),
        "seconds" if v.abs() < 1.0 => format!("{:.0}ms", v * 1000.0),
        "seconds" => format!("{v:.2}s"),
        "count" => format!("{v:.0}"),
        "rps" => format!("{v:.1}/s"),
        _ if v.abs() >= 100.0 => format!("{v:.0}"),
        _ => format!("{v:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_text_is_read_once_a_pass_and_its_copies_stay_shared() {
        let name: Arc<str> = Arc::from("error_rate");
        let mut metrics: Vec<Metric> = (0..3)
            .map(|i| Metric {
                name: Arc::clone(&name),
                unit: "ratio".into(),
                source: Arc::from(format!("prom-{i}")),
                ..Metric::default()
            })
            .collect();
        drop(name);
        let mut asked = Vec::new();
        let mut shared = SharedTexts::default();
        for m in &mut metrics {
            m.texts_mut(
                &mut |s| {
                    asked.push(s.to_string());
                    (s == "error_rate").then(|| "errors".to_string())
                },
                &mut shared,
            );
        }
        let names = asked.iter().filter(|s| *s == "error_rate").count();
        assert_eq!(names, 1, "{asked:?}");
        assert_eq!(
            asked.iter().filter(|s| *s == "ratio").count(),
            3,
            "not shared"
        );
        assert_eq!(asked.iter().filter(|s| s.starts_with("prom-")).count(), 3);
        assert!(metrics.iter().all(|m| &*m.name == "errors"));
        assert!(
            Arc::ptr_eq(&metrics[0].name, &metrics[2].name),
            "one replacement"
        );
    }

    #[test]
    fn thresholds() {
        let t = Threshold {
            min: None,
            max: Some(0.01),
        };
        assert!(t.admits(0.01));
        assert!(!t.admits(0.011));
        let t = Threshold {
            min: Some(0.99),
            max: None,
        };
        assert!(t.admits(0.995));
        assert!(!t.admits(0.9));
        assert!(Threshold::default().admits(1e9));
    }

    #[test]
    fn metric_without_value_is_not_ok() {
        let mut m = Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value: None,
            threshold: Threshold {
                min: None,
                max: Some(0.01),
            },
            source: "sim".into(),
            ..Default::default()
        };
        assert!(!m.ok());
        m.value = Some(0.004);
        assert!(m.ok());
        m.error = Some("query failed".into());
        assert!(!m.ok());
        assert_eq!(m.format_value(0.004), "0.40%");
        assert_eq!(m.threshold_text(), "max 1.00%");
        assert_eq!(m.threshold_short(), "≤1.00%");
    }

    #[test]
    fn short_versions_and_last_good() {
        assert_eq!(short_version("3a1b2c4d5e6f7a8b9c0d"), "3a1b2c4");
        assert_eq!(short_version("v1.4.2"), "v1.4.2");
        let mut c = Cell::new("sim", CellState::Failed);
        c.version = Some("b".into());
        c.history = vec![
            HistoryEntry {
                version: "b".into(),
                state: CellState::Failed,
                at: None,
                actor: None,
            },
            HistoryEntry {
                version: "a".into(),
                state: CellState::Succeeded,
                at: None,
                actor: None,
            },
        ]
        .into();
        assert_eq!(c.last_good().unwrap().version, "a");
    }
}
