//! A simulated Argo Rollout (canary): its steps walked on a timer, a user's pause, an abort,
//! its live manifest and the resource actions Argo CD lists for it, shaped like the real ones.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::ts;

/// Replicas of every simulated Rollout.
const REPLICAS: i64 = 4;

/// A replica set's pod hash for a revision, as the Rollouts controller would name it.
fn pod_hash(rev: &str) -> String {
    let h = rev.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    format!("{:010x}", h & 0xff_ffff_ffff)
}

#[derive(Clone, Debug)]
pub(super) struct Ro {
    pub(super) name: String,
    pub(super) namespace: String,
    pub(super) steps: Vec<Value>,
    pub(super) step: usize,
    pub(super) step_since: DateTime<Utc>,
    /// Time already spent in the current step before a user's pause.
    pub(super) banked: TimeDelta,
    pub(super) user_paused: bool,
    pub(super) abort: bool,
    pub(super) stable: String,
    pub(super) current: String,
    pub(super) generation: i64,
}

impl Ro {
    pub(super) fn promoted(&self) -> bool {
        self.stable == self.current
    }

    /// Paused at a pause step (by the controller).
    pub(super) fn at_pause_step(&self) -> bool {
        !self.promoted()
            && !self.abort
            && self
                .steps
                .get(self.step)
                .is_some_and(|s| s.get("pause").is_some())
    }

    pub(super) fn paused(&self) -> bool {
        self.user_paused || self.at_pause_step()
    }

    pub(super) fn weight(&self) -> i64 {
        if self.promoted() || self.step >= self.steps.len() {
            return 100;
        }
        if self.abort {
            return 0;
        }
        self.steps[..=self.step]
            .iter()
            .filter_map(|s| s.get("setWeight").and_then(Value::as_i64))
            .next_back()
            .unwrap_or(0)
    }

    /// `(phase, message)` as the Rollouts controller reports them.
    pub(super) fn phase(&self) -> (&'static str, String) {
        if self.abort {
            let m = format!(
                "RolloutAborted: Rollout aborted update to revision {}",
                self.generation
            );
            ("Degraded", m)
        } else if self.user_paused {
            ("Paused", "manually paused".into())
        } else if self.at_pause_step() {
            ("Paused", "CanaryPauseStep".into())
        } else if !self.promoted() {
            ("Progressing", "more replicas need to be updated".into())
        } else {
            ("Healthy", String::new())
        }
    }

    /// How long a step takes at speed 1, `None` for a pause that waits for a promotion.
    pub(super) fn step_length(step: &Value) -> Option<TimeDelta> {
        if step.get("setWeight").is_some() {
            return Some(TimeDelta::seconds(3));
        }
        let d = step.get("pause")?.get("duration")?;
        let secs = match d {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim_end_matches('s').parse().ok(),
            _ => None,
        }?;
        Some(TimeDelta::seconds(secs))
    }

    /// Walk the steps up to `now`.
    pub(super) fn advance(&mut self, now: DateTime<Utc>, speed: f64) {
        while !self.user_paused && !self.abort && !self.promoted() {
            let Some(step) = self.steps.get(self.step) else {
                self.stable = self.current.clone();
                break;
            };
            let Some(len) = Self::step_length(step) else {
                break;
            };
            let len = TimeDelta::milliseconds((len.num_milliseconds() as f64 / speed) as i64);
            let due = self.step_since + len - self.banked;
            if now < due {
                break;
            }
            self.step += 1;
            self.step_since = due;
            self.banked = TimeDelta::zero();
        }
    }

    pub(super) fn json(&self) -> Value {
        let (phase, message) = self.phase();
        let mut status = json!({
            "phase": phase,
            "message": message,
            "observedGeneration": self.generation.to_string(),
            "currentPodHash": pod_hash(&self.current),
            "stableRS": pod_hash(&self.stable),
            "currentStepIndex": self.step,
            "replicas": REPLICAS,
            "updatedReplicas": REPLICAS,
            "readyReplicas": REPLICAS,
            "availableReplicas": REPLICAS,
            "canary": {"weights": {"canary": {"podTemplateHash": pod_hash(&self.current), "weight": self.weight()},
                                   "stable": {"podTemplateHash": pod_hash(&self.stable), "weight": 100 - self.weight()}}},
            "selector": format!("app={}", self.name),
        });
        if self.at_pause_step() && !self.user_paused {
            status["pauseConditions"] =
                json!([{"reason": "CanaryPauseStep", "startTime": ts(self.step_since)}]);
            status["controllerPause"] = json!(true);
        }
        if self.abort {
            status["abort"] = json!(true);
            status["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "RolloutAborted",
                                           "message": format!("Rollout aborted update to revision {}", self.generation)}]);
        }
        let mut spec = json!({"replicas": REPLICAS, "strategy": {"canary": {"steps": self.steps}},
                              "selector": {"matchLabels": {"app": self.name}}});
        if self.user_paused {
            spec["paused"] = json!(true);
        }
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": self.name, "namespace": self.namespace, "generation": self.generation},
            "spec": spec,
            "status": status,
        })
    }

    /// The actions Argo CD lists for this Rollout, disabled as its discovery script says.
    pub(super) fn actions(&self) -> Vec<(&'static str, bool)> {
        let promoted = self.promoted();
        vec![
            ("restart", false),
            ("resume", !self.paused()),
            ("abort", promoted || self.abort),
            ("retry", promoted || !self.abort),
            ("pause", promoted || self.abort || self.user_paused),
            ("promote-full", promoted),
            ("skip-current-step", self.step >= self.steps.len()),
        ]
    }

    pub(super) fn health(&self) -> (&'static str, String) {
        match self.phase() {
            ("Degraded", m) => ("Degraded", m),
            ("Paused", m) => ("Suspended", m),
            ("Progressing", m) => ("Progressing", m),
            _ => ("Healthy", String::new()),
        }
    }
}
