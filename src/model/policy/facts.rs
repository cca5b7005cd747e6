//! What a blocker's sentence is made of, as data: the names and figures that decide (which
//! check failed, whom an approval waits for, which lane is needed where, a metric's value
//! against its bound, when a freeze ends, who holds a lane and why). A narrow screen builds
//! its own short words from these instead of cutting the sentence; the sentence itself (the
//! details popup, `status`) stays the blocker's `message`.

use super::LaneHold;
use crate::model::duration::{human, human_delta};
use crate::model::slo::{Slo, breach_text};
use crate::model::{Cell, Metric, Timestamp, World};

/// The deciding parts of one blocker. Every text in here is already sanitized (it comes from
/// the model, whose payload text passed `text::sanitize`) or is a config name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Facts {
    /// Nothing beyond the message: the message is its own short form.
    #[default]
    Message,
    /// `version` failed at stage `at`; `checks`: the failed checks by name (none: the run or
    /// deployment itself failed).
    Failed {
        version: String,
        at: String,
        checks: Vec<String>,
    },
    /// Waiting for approval of `environment`, by any of `reviewers` (none named: anyone
    /// allowed).
    Approval {
        environment: String,
        reviewers: Vec<String>,
    },
    /// Needs `lane` at `stage` first; `there`: the version it has there and its state
    /// ("d6b799e", "running 23%"), or nothing yet.
    Needs {
        lane: String,
        stage: String,
        there: Option<(String, String)>,
    },
    /// The release window opens in `delta` (`opens`), or closed `delta` ago; `at`: when, UTC.
    Window {
        opens: bool,
        delta: String,
        at: String,
    },
    /// A freeze that ends at `ends`, `left` from now.
    Freeze {
        reason: String,
        ends: Timestamp,
        left: String,
    },
    /// Soaking at `at`: `done` of `need`, `left` to go.
    Soak {
        at: String,
        done: String,
        need: String,
        left: String,
    },
    /// A metric at `at` outside its SLO now: `value` against `bound` ("1.36%", "> 1.00%"),
    /// for `since` (none: just now).
    Breach {
        metric: String,
        at: String,
        value: String,
        bound: String,
        since: Option<String>,
    },
    /// A metric at `at` within its SLO again after a breach `ago` (its worst: `peak`
    /// `bound`); the window is clean in `clean_in` (none: already).
    Recovered {
        metric: String,
        at: String,
        peak: String,
        bound: String,
        ago: String,
        clean_in: Option<String>,
    },
    /// No data at `at`: for this metric, or (none) no metric at all.
    NoData { metric: Option<String>, at: String },
    /// The canary side of `metric` at `at` is worse than stable: `canary` vs `stable`.
    Canary {
        metric: String,
        at: String,
        canary: String,
        stable: String,
    },
    /// No canary verdict at `at`: too few samples of this metric, or (none) no metric with a
    /// stable baseline.
    NoCanary { metric: Option<String>, at: String },
    /// Held by `by` for `since`, because `why`: the train's halt or a lane hold (the kind
    /// says which).
    Hold {
        by: String,
        since: String,
        why: String,
    },
    /// `version`'s rollout is paused at `at`.
    Paused { version: String, at: String },
    /// The data of the cell at `at` (or of `metric` there) is stale: `age` old, or (none)
    /// never received.
    Stale {
        at: String,
        metric: Option<String>,
        age: Option<String>,
    },
    /// `what` ("canary", "error_rate at canary") can't be read: `error`.
    Error { what: String, error: String },
}

impl Facts {
    /// The same facts with every stage name written by `label` (a protected stage with its
    /// mark, `Train::stage_label`).
    pub fn label_stages(&mut self, label: impl Fn(&str) -> String) {
        let at = match self {
            Facts::Failed { at, .. }
            | Facts::Soak { at, .. }
            | Facts::Breach { at, .. }
            | Facts::Recovered { at, .. }
            | Facts::NoData { at, .. }
            | Facts::Canary { at, .. }
            | Facts::NoCanary { at, .. }
            | Facts::Paused { at, .. }
            | Facts::Stale { at, .. } => at,
            Facts::Needs { stage, .. } => stage,
            Facts::Message
            | Facts::Approval { .. }
            | Facts::Window { .. }
            | Facts::Freeze { .. }
            | Facts::Hold { .. }
            | Facts::Error { .. } => return,
        };
        *at = label(at);
    }

    pub(super) fn error(what: &str, error: String) -> Facts {
        Facts::Error {
            what: what.to_string(),
            error,
        }
    }

    pub(super) fn stale(world: &World, stage: &str, cell: &Cell, now: Timestamp) -> Facts {
        Facts::Stale {
            at: stage.to_string(),
            metric: None,
            age: world.age(cell, now).map(human),
        }
    }

    pub(super) fn metric_stale(world: &World, m: &Metric, stage: &str, now: Timestamp) -> Facts {
        Facts::Stale {
            at: stage.to_string(),
            metric: Some(m.name.to_string()),
            age: world.metric_age(m, now).map(human),
        }
    }

    pub(crate) fn hold(h: &LaneHold, now: Timestamp) -> Facts {
        Facts::Hold {
            by: h.by.clone(),
            since: human_delta(now - h.at),
            why: h.reason.clone(),
        }
    }

    /// `c`'s version failed at `at`, with its failed checks.
    pub(super) fn failed(c: &Cell, at: &str) -> Facts {
        Facts::Failed {
            version: c.short_version(),
            at: at.to_string(),
            checks: c.failed_checks().map(|c| c.name.clone()).collect(),
        }
    }

    /// `c` waits for approval at `stage`.
    pub(super) fn approval(stage: &str, c: &Cell) -> Facts {
        let a = c.approval.as_ref();
        Facts::Approval {
            environment: a
                .and_then(|a| a.environment.clone())
                .unwrap_or_else(|| stage.to_string()),
            reviewers: a.map(|a| a.reviewers.clone()).unwrap_or_default(),
        }
    }

    /// The facts of [`crate::model::slo::blocker_text`]'s sentence for `m` at `stage`.
    pub fn slo(m: &Metric, stage: &str, slo: &Slo) -> Facts {
        let metric = m.name.clone();
        let at = stage.to_string();
        match slo {
            Slo::Ok { .. } => Facts::Message,
            Slo::Error(e) => Facts::Error {
                what: format!("{metric} at {stage}"),
                error: e.clone(),
            },
            Slo::NoData => Facts::NoData {
                metric: Some(metric.to_string()),
                at,
            },
            Slo::Breaching { value, since, .. } => Facts::Breach {
                bound: breach_text(m, *value).unwrap_or_default(),
                value: m.format_value(*value),
                since: (!since.is_zero()).then(|| human(*since)),
                metric: metric.to_string(),
                at,
            },
            Slo::Recovered { peak, ago, to_go } => Facts::Recovered {
                bound: breach_text(m, *peak).unwrap_or_default(),
                peak: m.format_value(*peak),
                ago: human(*ago),
                clean_in: (!to_go.is_zero()).then(|| human(*to_go)),
                metric: metric.to_string(),
                at,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::slo::tests::{metric, now};
    use crate::model::slo::{blocker_text, evaluate};
    use crate::model::{Approval, CellState, Check, CheckState};

    /// The facts carry the same figures as the sentence.
    #[test]
    fn a_breach_has_the_sentence_s_figures() {
        let m = metric(&[0.004, 0.015, 0.02, 0.023]);
        let slo = evaluate(&m, None, now());
        let sentence = blocker_text(&m, "canary", &slo).unwrap();
        let Facts::Breach {
            metric,
            at,
            value,
            bound,
            since,
        } = Facts::slo(&m, "canary", &slo)
        else {
            panic!("not a breach: {slo:?}");
        };
        assert_eq!(
            (metric.as_str(), at.as_str(), value.as_str(), bound.as_str()),
            ("error_rate", "canary", "2.30%", "> 1.00%")
        );
        assert!(
            sentence.starts_with("error_rate 2.30% > 1.00% at canary"),
            "{sentence}"
        );
        let since = since.unwrap();
        assert!(sentence.contains(&since), "{sentence} / {since}");
        assert_eq!(
            Facts::slo(&m, "canary", &Slo::Ok { samples: 3 }),
            Facts::Message
        );
    }

    #[test]
    fn a_failed_cell_names_its_failed_checks_only() {
        let mut c = Cell::new("gh", CellState::Failed);
        c.version = Some("c6a5c34d5e6f7a8b9c0d".into());
        let check = |name: &str, state| Check {
            name: name.into(),
            state,
            url: None,
        };
        c.checks = vec![
            check("lint", CheckState::Passed),
            check("integration-tests", CheckState::Failed),
            check("e2e", CheckState::Failed),
        ];
        assert_eq!(
            Facts::failed(&c, "build"),
            Facts::Failed {
                version: "c6a5c34".into(),
                at: "build".into(),
                checks: vec!["integration-tests".into(), "e2e".into()],
            }
        );
    }

    #[test]
    fn an_approval_names_its_environment_and_reviewers() {
        let mut c = Cell::new("gh", CellState::AwaitingApproval);
        assert_eq!(
            Facts::approval("prod", &c),
            Facts::Approval {
                environment: "prod".into(),
                reviewers: vec![],
            }
        );
        c.approval = Some(Approval {
            environment: Some("production".into()),
            reviewers: vec!["octocat".into(), "team release".into()],
        });
        assert_eq!(
            Facts::approval("prod", &c),
            Facts::Approval {
                environment: "production".into(),
                reviewers: vec!["octocat".into(), "team release".into()],
            }
        );
    }
}
