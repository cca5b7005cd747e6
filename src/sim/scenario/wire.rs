//! The scenario in trainyard's own `http` protocol (docs/protocol.md): `GET /v1/train`, what
//! a cell's run link shows, and `POST /v1/actions` (the request read, the answer an [`Ack`]
//! or a [`Reject`]). Built with `serde_json::json!`, never with trainyard's model types.

use serde_json::{Value, json};

use super::content::{STAGING_CHECK, build_checks, environment, live_message};
use super::metrics::METRICS;
use super::{CANARY, CellSim, LaneSim, OpKind, PROD, STAGES, STAGING, Scenario, St};

/// An accepted action: answered `202` with `{"accepted": true, "id", "message"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ack {
    pub id: Option<String>,
    pub message: String,
}

impl Ack {
    pub fn to_json(&self) -> Value {
        json!({"accepted": true, "id": self.id, "message": self.message})
    }
}

/// A refused action: an HTTP status, a protocol error code and a message for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Reject {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Reject {
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

pub(super) fn invalid(m: impl Into<String>) -> Reject {
    Reject {
        status: 400,
        code: "invalid",
        message: m.into(),
    }
}
pub(super) fn not_found(m: impl Into<String>) -> Reject {
    Reject {
        status: 404,
        code: "not_found",
        message: m.into(),
    }
}
pub(super) fn conflict(m: impl Into<String>) -> Reject {
    Reject {
        status: 409,
        code: "conflict",
        message: m.into(),
    }
}
pub(super) fn unsupported(m: impl Into<String>) -> Reject {
    Reject {
        status: 422,
        code: "unsupported",
        message: m.into(),
    }
}

impl Scenario {
    /// `GET /v1/train` at the scenario's current time.
    pub fn train_json(&self) -> Value {
        json!({
            "protocol": 1,
            "generated_at": self.generated_at(),
            "cells": self.cells_json(),
            "metrics": self.metrics_json(),
        })
    }

    /// The train's `generated_at`: the scenario's current time.
    pub(crate) fn generated_at(&self) -> String {
        self.ts(self.now)
    }

    /// Every cell of `/v1/train`, in train order (dressed with `--hostile`).
    pub(crate) fn cells_json(&self) -> Vec<Value> {
        let mut cells = Vec::with_capacity(self.lanes.len() * STAGES.len());
        self.each_cell_json(|c| cells.push(c));
        cells
    }

    /// [`Scenario::cells_json`] one cell at a time: a big train is never all in memory as
    /// JSON values at once (unless dressed with `--hostile`, which sees the whole train).
    pub(crate) fn each_cell_json(&self, mut f: impl FnMut(Value)) {
        if self.hostile {
            self.dressed_cells().into_iter().for_each(f);
            return;
        }
        for lane in &self.lanes {
            for (s, c) in lane.cells.iter().enumerate() {
                f(self.cell_json(lane, s, c));
            }
        }
    }

    /// Cell `i` of [`Scenario::cells_json`] (undressed: with `--hostile`, render them all).
    pub(crate) fn cell_json_at(&self, i: usize) -> Option<Value> {
        let lane = self.lanes.get(i / STAGES.len())?;
        let s = i % STAGES.len();
        Some(self.cell_json(lane, s, lane.cells.get(s)?))
    }

    fn dressed_cells(&self) -> Vec<Value> {
        let mut cells = Vec::with_capacity(self.lanes.len() * STAGES.len());
        for lane in &self.lanes {
            for (s, c) in lane.cells.iter().enumerate() {
                cells.push(self.cell_json(lane, s, c));
            }
        }
        let mut doc = json!({ "cells": cells });
        crate::sim::hostile::dress_train(&mut doc);
        match doc {
            Value::Object(mut map) => match map.remove("cells") {
                Some(Value::Array(cells)) => cells,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Every metric of `/v1/train`, in train order. They change only when a sample is taken
    /// ([`Scenario::samples`]).
    pub(crate) fn metrics_json(&self) -> Vec<Value> {
        let mut metrics = Vec::new();
        self.each_metric_json(|m| metrics.push(m));
        metrics
    }

    /// [`Scenario::metrics_json`] one metric at a time.
    pub(crate) fn each_metric_json(&self, mut f: impl FnMut(Value)) {
        for lane in &self.lanes {
            for (s, stage) in STAGES.iter().enumerate().skip(STAGING) {
                for (m, (name, unit, max)) in METRICS.iter().enumerate() {
                    let series = &lane.series[(s - 1) * 3 + m];
                    let mut j = json!({
                        "lane": lane.spec.name,
                        "stage": stage,
                        "name": name,
                        "unit": unit,
                        "value": series.back().map(|p| p.1),
                        "threshold": {"max": max},
                        "series": series.iter().map(|&(t, v)| json!([t, v])).collect::<Vec<_>>(),
                    });
                    if s == CANARY {
                        let stable = &lane.series[(PROD - 1) * 3 + m];
                        j["baseline"] = json!(stable.back().map(|p| p.1));
                        j["baseline_series"] = json!(
                            stable
                                .iter()
                                .map(|&(t, v)| json!([t, v]))
                                .collect::<Vec<_>>()
                        );
                    }
                    f(j);
                }
            }
        }
    }

    /// Whether the simulator serves attack strings (`--hostile`).
    pub fn hostile(&self) -> bool {
        self.hostile
    }

    fn run_url(&self, run: u64) -> String {
        format!("{}/runs/{run}", self.base_url)
    }

    fn cell_json(&self, lane: &LaneSim, s: usize, c: &CellSim) -> Value {
        let url = self.run_url(c.run);
        let progress =
            c.op.as_ref()
                .map(|op| (op.progress(self.now) * 1000.0).round() / 1000.0);
        let message = match (&c.op, c.state) {
            (Some(op), St::Running | St::RollingBack) => {
                live_message(s, op, &c.ver, op.progress(self.now))
            }
            _ => c.message.clone(),
        };
        let checks = match &c.op {
            Some(op) if op.kind == OpKind::Build => build_checks(op, op.progress(self.now)),
            Some(_) if s == STAGING => vec![(STAGING_CHECK, "pending")],
            _ => c.checks.clone(),
        };
        let checks: Vec<Value> = checks
            .into_iter()
            .map(|(name, st)| json!({"name": name, "state": st, "url": format!("{url}#{name}")}))
            .collect();
        let approval = if c.state == St::AwaitingApproval {
            json!({"environment": environment(s), "reviewers": c.awaiting_reviewers})
        } else {
            Value::Null
        };
        let history: Vec<Value> = c
            .history
            .iter()
            .map(|h| json!({"version": h.ver.sha, "state": h.state.as_str(), "at": self.ts(h.at), "actor": h.actor}))
            .collect();
        // A source may warn about acting on a cell: payments-api's production deploys are
        // synced from git, so a rollback may not stick.
        let warnings: Vec<&str> = if s == PROD && lane.spec.name == "payments-api" {
            vec!["auto sync is on for production: the next sync may undo a rollback or pause"]
        } else {
            vec![]
        };
        json!({
            "lane": lane.spec.name,
            "stage": STAGES[s],
            "warnings": warnings,
            "version": c.ver.sha,
            "state": c.state.as_str(),
            "progress": progress,
            "updated_at": self.ts(c.updated),
            "started_at": self.ts(c.started),
            "url": url,
            "actor": c.actor,
            "message": message,
            "checks": checks,
            "approval": approval,
            "history": history,
        })
    }

    /// What the simulator knows about run `n` (the target of a cell's `url`).
    pub fn run_json(&self, n: u64) -> Option<Value> {
        let i = n.checked_sub(self.first_run)? as usize;
        let r = self.runs.get(i)?;
        Some(json!({
            "run": n,
            "kind": r.kind.as_str(),
            "lane": self.lanes[r.lane].spec.name,
            "stage": STAGES[r.stage],
            "version": r.sha,
            "started_at": self.ts(r.started),
            "actor": r.actor,
        }))
    }

    /// `POST /v1/actions` with a raw body.
    pub fn act_bytes(&mut self, body: &[u8]) -> Result<Ack, Reject> {
        let req: Value = serde_json::from_slice(body)
            .map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
        self.act(&req)
    }

    /// `POST /v1/actions` with a parsed body, at the scenario's current time.
    pub fn act(&mut self, req: &Value) -> Result<Ack, Reject> {
        if !self.hostile {
            return self.act_plain(req);
        }
        // Versions come back as they were served; refusals say something hostile.
        let mut req = req.clone();
        if let Some(Value::String(v)) = req.get_mut("version") {
            *v = crate::sim::hostile::unversion(v);
        }
        match self.act_plain(&req) {
            Ok(mut ack) => {
                ack.message = crate::sim::hostile::with_attack(&ack.message);
                Ok(ack)
            }
            Err(mut r) => {
                r.message = crate::sim::hostile::with_attack(&r.message);
                Err(r)
            }
        }
    }

    fn act_plain(&mut self, req: &Value) -> Result<Ack, Reject> {
        let obj = req
            .as_object()
            .ok_or_else(|| invalid("the body must be a JSON object"))?;
        let text = |k: &str| -> Result<Option<String>, Reject> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("`{k}` must be a string"))),
            }
        };
        let id = text("id")?;
        if let Some(ack) = id.as_ref().and_then(|id| self.accepted.get(id)) {
            // A duplicate delivery: answer as before, do nothing again.
            return Ok(ack.clone());
        }
        let action = text("action")?.ok_or_else(|| invalid("missing field `action`"))?;
        let lane = text("lane")?.ok_or_else(|| invalid("missing field `lane`"))?;
        let stage = text("stage")?.ok_or_else(|| invalid("missing field `stage`"))?;
        let version = text("version")?;
        let reason = text("reason")?.filter(|r| !r.trim().is_empty());
        let actor = text("actor")?
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "trainyard".into());
        const ACTIONS: [&str; 6] = [
            "promote", "pause", "resume", "rollback", "approve", "reject",
        ];
        if !ACTIONS.contains(&action.as_str()) {
            return Err(invalid(format!(
                "unknown action {action:?}; known actions: {}",
                ACTIONS.join(", ")
            )));
        }
        let li = self
            .lanes
            .iter()
            .position(|l| l.spec.name == lane)
            .ok_or_else(|| not_found(format!("no lane named {lane:?}")))?;
        let s = STAGES.iter().position(|&st| st == stage).ok_or_else(|| {
            not_found(format!(
                "no stage named {stage:?} (stages: {})",
                STAGES.join(", ")
            ))
        })?;
        let message = match action.as_str() {
            "promote" => self.promote(li, s, version, &actor),
            "pause" => self.pause(li, s, &actor, reason.as_deref()),
            "resume" => self.resume(li, s, &actor),
            "rollback" => self.rollback(li, s, version, &actor),
            "approve" => self.approve(li, s, &actor),
            _ => self.reject(li, s, &actor, reason.as_deref()),
        }?;
        let ack = Ack {
            id: id.clone(),
            message,
        };
        if let Some(id) = id {
            self.accepted.insert(id, ack.clone());
        }
        Ok(ack)
    }
}
