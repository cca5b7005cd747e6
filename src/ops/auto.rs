//! `auto_pause`: at a stage whose `[policy.STAGE]` says `auto_pause = true`, a lane whose
//! metrics breach their SLO there is paused by the actor `trainyard-auto` — through the same
//! runner, audit log and verification as a person's pause.
//!
//! What "paused" means: a rollout still moving at that stage is paused at its source (the
//! traffic shift stops); a cell already deployed gets a trainyard hold on its lane (nobody
//! promotes it further until a person releases the hold). One breach acts once: a person who
//! resumes during the same breach is not overruled; the next breach (after the metrics were
//! back within their SLOs) acts again.

use std::collections::BTreeSet;
use std::time::Duration;

use super::audit::Record;
use super::{Action, Plan, preflight};
use crate::model::slo::{self, Slo};
use crate::model::{CellKey, Holds, Timestamp, Train, World};

/// The actor of automatic actions in the audit log.
pub const ACTOR: &str = "trainyard-auto";

/// How far back the audit log is read at start for breaches already acted on.
const REMEMBER: Duration = Duration::from_secs(3600);

/// Whether `r` is a pause `trainyard-auto` made within [`REMEMBER`] before `now`: a breach
/// already acted on.
pub fn recent_pause(r: &Record, now: Timestamp) -> bool {
    let since = now - chrono::Duration::from_std(REMEMBER).unwrap_or_default();
    r.actor == ACTOR && r.action == "pause" && r.time().is_some_and(|t| t >= since)
}

/// One automatic pause to carry out, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoAction {
    pub plan: Plan,
    pub why: String,
    /// The lane × stage that breaches.
    pub breach: CellKey,
}

/// The breaches acted on, by lane × stage, so that one breach pauses once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoPause {
    acted: BTreeSet<CellKey>,
}

impl AutoPause {
    /// Breaches `trainyard-auto` acted on in the last hour, from the audit log: a restart in
    /// the middle of a breach does not pause again what a person may have resumed.
    pub fn from_log(train: &Train, records: &[Record], now: Timestamp) -> AutoPause {
        let mut auto = AutoPause::default();
        auto.learn(train, records, now);
        auto
    }

    /// What `trainyard-auto` did in the last hour, from audit records (the log at start, and
    /// what other trainyards write while this one runs — a `watch` and a screen on one train
    /// must not pause one breach twice).
    pub fn learn<'a>(
        &mut self,
        train: &Train,
        records: impl IntoIterator<Item = &'a Record>,
        now: Timestamp,
    ) {
        for r in records.into_iter().filter(|r| recent_pause(r, now)) {
            let Some(lane) = &r.lane else { continue };
            match &r.stage {
                Some(stage) => {
                    self.acted.insert(CellKey::new(lane, stage));
                }
                None => self
                    .acted
                    .extend(train.auto_pause.iter().map(|s| CellKey::new(lane, s))),
            }
        }
    }

    /// A breach found but not acted on (its cell was busy): it is still to act on.
    pub fn forget(&mut self, breach: &CellKey) {
        self.acted.remove(breach);
    }

    /// Look at the train once more: the pauses to make now. Breaches that ended are forgotten
    /// (a metric with no data or an error neither starts nor ends one).
    pub fn step(
        &mut self,
        train: &Train,
        world: &World,
        holds: &Holds,
        now: Timestamp,
    ) -> Vec<AutoAction> {
        let mut out = Vec::new();
        for stage in &train.auto_pause {
            for lane in &train.lanes {
                let key = CellKey::new(&lane.name, stage);
                let metrics = world.metrics(&lane.name, stage);
                let judged: Vec<(String, Slo)> = metrics
                    .iter()
                    .map(|m| {
                        let s = slo::evaluate(m, None, now);
                        (slo::blocker_text(m, stage, &s).unwrap_or_default(), s)
                    })
                    .collect();
                let breach: Vec<&str> = judged
                    .iter()
                    .filter(|(_, s)| matches!(s, Slo::Breaching { .. }))
                    .map(|(t, _)| t.as_str())
                    .collect();
                if breach.is_empty() {
                    let clear = !judged.is_empty()
                        && judged
                            .iter()
                            .all(|(_, s)| matches!(s, Slo::Ok { .. } | Slo::Recovered { .. }));
                    if clear {
                        self.acted.remove(&key);
                    }
                    continue;
                }
                if !self.acted.insert(key) {
                    continue;
                }
                let why = format!("auto_pause: {}", breach.join("; "));
                if let Some(plan) = plan_pause(train, world, holds, now, &lane.name, stage, &why) {
                    out.push(AutoAction {
                        plan,
                        why,
                        breach: CellKey::new(&lane.name, stage),
                    });
                }
            }
        }
        out
    }
}

/// Pause what moves at the stage, else hold the lane (`availability::pause_or_hold`); nothing
/// if that is already done (the lane already held).
fn plan_pause(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: Timestamp,
    lane: &str,
    stage: &str,
    why: &str,
) -> Option<Plan> {
    let action = Action {
        reason: Some(why.to_string()),
        actor: Some(ACTOR.to_string()),
        ..super::availability::pause_or_hold(world, lane, stage)
    };
    preflight(action, train, world, holds, now).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ActionKind;
    use crate::model::{Batch, Cell, CellState, Lane, Metric, SourceReport, Threshold};
    use chrono::TimeZone;

    fn t(s: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn train() -> Train {
        Train {
            name: "2026.48".into(),
            stages: ["build", "canary", "prod"].map(String::from).to_vec(),
            window: None,
            freezes: vec![],
            lanes: ["api", "web"]
                .map(|n| Lane {
                    name: n.into(),
                    team: "t".into(),
                    depends_on: vec![],
                })
                .to_vec(),
            policy: Default::default(),
            auto_pause: ["canary".to_string()].into(),
            protected: ["prod".to_string()].into(),
            lane_index: Default::default(),
        }
    }

    /// api at canary in `state`, its error rate `rate` (max 1%) over the last minutes.
    fn world(state: CellState, rate: &[f64]) -> World {
        let mut w = World::new([("sim", "http", Duration::from_secs(30))]);
        let mut c = Cell::new("sim", state);
        c.version = Some("a1b2c3d4".into());
        let n = rate.len() as i64;
        let m = Metric {
            name: "error_rate".into(),
            unit: "ratio".into(),
            value: rate.last().copied(),
            threshold: Threshold {
                min: None,
                max: Some(0.01),
            },
            baseline: None,
            baseline_series: vec![],
            series: rate
                .iter()
                .enumerate()
                .map(|(i, v)| (t(0).timestamp() - (n - 1 - i as i64) * 60, *v))
                .collect(),
            source: "prom".into(),
            error: None,
            warnings: vec![],
        };
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(0),
            outcome: Ok(Batch {
                cells: vec![(CellKey::new("api", "canary"), c)],
                metrics: vec![(CellKey::new("api", "canary"), m)],
                ..Batch::default()
            }),
        });
        w
    }

    #[test]
    fn a_breach_pauses_a_moving_rollout_once_as_trainyard_auto() {
        let tr = train();
        let mut auto = AutoPause::default();
        let bad = world(CellState::Running, &[0.002, 0.02, 0.03]);
        let out = auto.step(&tr, &bad, &Holds::default(), t(0));
        assert_eq!(out.len(), 1, "{out:#?}");
        let a = &out[0].plan.action;
        assert_eq!(
            (a.kind, a.lane.as_str(), a.stage.as_str()),
            (ActionKind::Pause, "api", "canary")
        );
        assert_eq!(a.actor.as_deref(), Some(ACTOR));
        assert_eq!(
            a.reason.as_deref(),
            Some("auto_pause: error_rate 3.00% > 1.00% at canary for the last 1m")
        );
        // The same breach: nothing more, even if a person resumed meanwhile.
        assert!(auto.step(&tr, &bad, &Holds::default(), t(0)).is_empty());
        // Back within the SLO, then a new breach: acts again.
        let good = world(CellState::Running, &[0.002, 0.003]);
        assert!(auto.step(&tr, &good, &Holds::default(), t(0)).is_empty());
        assert_eq!(auto.step(&tr, &bad, &Holds::default(), t(0)).len(), 1);
    }

    #[test]
    fn a_deployed_canary_gets_a_lane_hold_and_a_held_lane_nothing() {
        let tr = train();
        let bad = world(CellState::Succeeded, &[0.05]);
        let out = AutoPause::default().step(&tr, &bad, &Holds::default(), t(0));
        assert_eq!(out.len(), 1);
        let a = &out[0].plan.action;
        assert_eq!((a.kind, a.stage.as_str()), (ActionKind::Pause, ""));
        assert_eq!(
            out[0].plan.summary,
            "hold api: no promotion of it until resumed"
        );
        let mut holds = Holds::default();
        crate::ops::apply_hold(&mut holds, a, ACTOR, t(0));
        assert!(
            AutoPause::default()
                .step(&tr, &bad, &holds, t(0))
                .is_empty()
        );
    }

    #[test]
    fn stages_without_auto_pause_and_missing_data_do_nothing() {
        let mut tr = train();
        let bad = world(CellState::Running, &[0.05]);
        tr.auto_pause.clear();
        assert!(
            AutoPause::default()
                .step(&tr, &bad, &Holds::default(), t(0))
                .is_empty()
        );
        let tr = train();
        let none = world(CellState::Running, &[]);
        let mut auto = AutoPause::default();
        auto.acted.insert(CellKey::new("api", "canary"));
        assert!(auto.step(&tr, &none, &Holds::default(), t(0)).is_empty());
        // No data does not end a breach.
        assert!(auto.acted.contains(&CellKey::new("api", "canary")));
    }

    #[test]
    fn a_restart_remembers_recent_auto_pauses_from_the_log() {
        let tr = train();
        let rec = |actor: &str, stage: Option<&str>, ts: &str| Record {
            ts: ts.into(),
            actor: actor.into(),
            stage: stage.map(String::from),
            ..Record::sample()
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let key = CellKey::new("api", "canary");
        // A lane hold by trainyard-auto 10 minutes ago: the breach was acted on.
        let a = AutoPause::from_log(&tr, &[rec(ACTOR, None, "2026-11-26T14:50:00Z")], now);
        assert!(a.acted.contains(&key));
        // A person's pause, or an old one, is not.
        let a = AutoPause::from_log(
            &tr,
            &[rec("dana@jump", Some("canary"), "2026-11-26T14:50:00Z")],
            now,
        );
        assert!(a.acted.is_empty());
        let a = AutoPause::from_log(
            &tr,
            &[rec(ACTOR, Some("canary"), "2026-11-26T12:00:00Z")],
            now,
        );
        assert!(a.acted.is_empty());
    }
}
