//! `trainyard status`: the train as a table or as the documented JSON object.

use serde_json::{Value, json};

use crate::config::Config;
use crate::model::policy::blockers;
use crate::model::text::{fit, pad, width};
use crate::model::{Cell, CellState, Holds, Metric, Timestamp, World};
use crate::ops::run::Unfinished;

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn cell_json(
    world: &World,
    source: Option<&str>,
    stage: &str,
    cell: Option<&Cell>,
    now: Timestamp,
) -> Value {
    let Some(c) = cell else {
        // Never received: say from where, and why when the source said.
        let error = source
            .and_then(|s| world.source(s))
            .and_then(|s| s.error.as_ref().map(|e| format!("source {}: {e}", s.name)))
            .unwrap_or_else(|| "no data received for this cell".into());
        return json!({
            "stage": stage, "version": null, "state": CellState::Unknown, "progress": null,
            "updated_at": null, "url": null, "source": source, "stale": true, "error": error,
            "age_seconds": null, "message": null, "metrics": [],
        });
    };
    json!({
        "stage": stage,
        "version": c.version,
        "state": c.state,
        "progress": c.progress,
        "updated_at": c.updated_at.map(rfc3339),
        "url": c.url,
        "source": c.source,
        "stale": world.is_stale(c, now),
        "age_seconds": world.age(c, now).map(|a| a.as_secs()),
        "error": world.cell_error(c),
        "message": c.message,
        "metrics": [],
    })
}

/// One metric: DESIGN.md's fields, plus where it came from, whether it is stale and how old
/// (its source failed or went quiet: the value is the last good one, the error its source's),
/// its warnings and, with a stable side, the canary verdict (docs/analysis.md).
fn metric_json(world: &World, m: &Metric, now: Timestamp) -> Value {
    let canary = m.canary().map(|(verdict, test)| {
        json!({"verdict": verdict.as_str(), "p_worse": test.map(|t| t.p_worse),
               "effect": test.map(|t| t.effect)})
    });
    json!({"name": m.name, "value": m.value, "unit": m.unit,
           "threshold": m.threshold, "baseline": m.baseline,
           "ok": m.ok(), "error": world.metric_error(m), "source": m.source,
           "stale": world.metric_stale(m, now),
           "age_seconds": world.metric_age(m, now).map(|a| a.as_secs()),
           "warnings": m.warnings, "canary": canary})
}

/// The `status --json` object of DESIGN.md.
pub fn to_json(
    config: &Config,
    world: &World,
    holds: &Holds,
    unfinished: &[Unfinished],
    now: Timestamp,
) -> Value {
    let train = &config.train;
    let window = train.window.map(|w| {
        json!({"opens": rfc3339(w.opens), "closes": rfc3339(w.closes), "state": w.state(now).as_str()})
    });
    let lanes: Vec<Value> = train
        .lanes
        .iter()
        .map(|lane| {
            let cells: Vec<Value> = train
                .stages
                .iter()
                .map(|stage| {
                    let source = config.target(&lane.name, stage).map(|t| t.source.as_str());
                    let cell = world.cell(&lane.name, stage);
                    let mut v = cell_json(world, source, stage, cell, now);
                    let metrics: Vec<Value> = world
                        .metrics(&lane.name, stage)
                        .iter()
                        .map(|m| metric_json(world, m, now))
                        .collect();
                    v["metrics"] = Value::Array(metrics);
                    v
                })
                .collect();
            json!({"name": lane.name, "team": lane.team, "depends_on": lane.depends_on, "cells": cells})
        })
        .collect();
    let sources: Vec<Value> = world
        .sources()
        .map(|s| json!({"name": s.name, "kind": s.kind, "ok": s.ok, "error": s.error, "rate_limit": s.rate_limit,
                        "insecure_http": insecure(config, &s.name)}))
        .collect();
    json!({
        "train": {
            "name": train.name,
            "stages": train.stages,
            "window": window,
            "freeze": train.active_freeze(now).map(|f| json!({"starts": rfc3339(f.starts), "ends": rfc3339(f.ends), "reason": f.reason})),
            "halted": holds.halt.is_some(),
        },
        "lanes": lanes,
        "blockers": blockers(train, world, holds, now),
        "sources": sources,
        "unfinished_actions": unfinished.iter().map(|u| {
            let r = u.record;
            json!({"seq": r.seq, "ts": r.ts, "actor": r.actor, "action": r.action,
                   "lane": r.lane, "stage": r.stage, "result": r.result, "message": u.why})
        }).collect::<Vec<_>>(),
        "generated_at": rfc3339(now),
    })
}

/// Whether a source may talk plain http:// off this host.
fn insecure(config: &Config, source: &str) -> bool {
    config.sources.get(source).is_some_and(|c| c.insecure())
}

/// A plain table for people; legible without colour.
pub fn to_table(
    config: &Config,
    world: &World,
    holds: &Holds,
    unfinished: &[Unfinished],
    now: Timestamp,
) -> String {
    use std::fmt::Write;
    let train = &config.train;
    let mut out = String::new();
    let window = match train.window {
        Some(w) => w.describe(now),
        None => "no release window".into(),
    };
    let _ = writeln!(
        out,
        "train {}  ·  {window}{}",
        train.name,
        if holds.halt.is_some() {
            "  ·  HALTED"
        } else {
            ""
        }
    );
    if let Some(f) = train.active_freeze(now) {
        let _ = writeln!(out, "FREEZE: {} until {}", f.reason, rfc3339(f.ends));
    }
    let name_w = train
        .lanes
        .iter()
        .map(|l| width(&l.name))
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = write!(out, "\n{}", pad("LANE", name_w));
    for s in &train.stages {
        let _ = write!(out, "  {}", pad(s, 18));
    }
    out.push('\n');
    for lane in &train.lanes {
        let _ = write!(out, "{}", pad(&lane.name, name_w));
        for s in &train.stages {
            let text = match world.cell(&lane.name, s) {
                Some(c) => {
                    let mark = if world.cell_error(c).is_some() {
                        " ERR"
                    } else if world.is_stale(c, now) {
                        " STALE"
                    } else {
                        ""
                    };
                    let word = c.state_word();
                    // The version gives way when the column is narrow; state and mark stay.
                    let room = 18usize
                        .saturating_sub(3 + width(&word) + width(mark))
                        .max(3);
                    format!(
                        "{} {} {word}{mark}",
                        c.state.glyph(),
                        fit(&c.short_version(), room)
                    )
                }
                None => "·".into(),
            };
            let _ = write!(out, "  {}", pad(&text, 18));
        }
        out.push('\n');
    }
    let bl = blockers(train, world, holds, now);
    let _ = writeln!(out, "\nBLOCKERS ({})", bl.len());
    for b in &bl {
        let _ = writeln!(
            out,
            "  {} → {}: [{}] {}",
            b.lane,
            b.stage,
            b.kind.as_str(),
            b.message
        );
    }
    if !unfinished.is_empty() {
        let _ = writeln!(
            out,
            "\nUNFINISHED ACTIONS ({}) — check these at their source",
            unfinished.len()
        );
        for u in unfinished {
            let _ = writeln!(out, "  {}", u.describe());
        }
    }
    let _ = writeln!(out, "\nSOURCES");
    for s in world.sources() {
        let state = match &s.error {
            Some(e) => format!("FAILED: {e}"),
            None => "ok".into(),
        };
        let budget = s
            .rate_limit
            .map(|r| format!(", rate limit {}/{}", r.remaining, r.limit))
            .unwrap_or_default();
        let insecure = if insecure(config, &s.name) {
            "  [INSECURE http: allow_insecure_http = true]"
        } else {
            ""
        };
        let _ = writeln!(out, "  {} ({}): {state}{budget}{insecure}", s.name, s.kind);
    }
    out
}
