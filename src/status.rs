//! `trainyard status`: the train as a table or as the documented JSON object.

use serde_json::{Value, json};

use crate::config::Config;
use crate::engine::Snapshot;
use crate::engine::snapshot::{CellView, MetricView};
use crate::model::text::{fit, pad, width};
use crate::model::{Cell, CellState, Metric, Timestamp, World};

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn cell_json(
    world: &World,
    source: Option<&str>,
    stage: &str,
    cell: Option<(&Cell, &CellView)>,
    now: Timestamp,
) -> Value {
    let Some((c, view)) = cell else {
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
        "stale": view.stale,
        "age_seconds": world.age(c, now).map(|a| a.as_secs()),
        "error": view.error,
        "message": c.message,
        "metrics": [],
    })
}

/// One metric: DESIGN.md's fields, plus where it came from, whether it is stale and how old
/// (its source failed or went quiet: the value is the last good one, the error its source's),
/// its warnings and, with a stable side, the canary verdict (docs/analysis.md).
fn metric_json(world: &World, m: &Metric, view: &MetricView, now: Timestamp) -> Value {
    // `p_value` is the test's one-sided p-value and `prob_worse` the probability that a canary
    // sample is worse than a stable one; `p_worse` and `effect` are their first names, kept
    // for the scripts that read them (fields are never renamed).
    let canary = view.canary.as_ref().map(|(verdict, test)| {
        json!({"verdict": verdict.as_str(),
               "p_value": test.map(|t| t.p_worse),
               "prob_worse": test.map(|t| t.p_bad(m.worse())),
               "p_worse": test.map(|t| t.p_worse),
               "effect": test.map(|t| t.effect)})
    });
    json!({"name": m.name, "value": m.value, "unit": m.unit,
           "threshold": m.threshold, "baseline": m.baseline,
           "ok": m.ok(), "error": view.error, "source": m.source,
           "stale": view.stale,
           "state": view.state.word().to_lowercase(),
           "age_seconds": world.metric_age(m, now).map(|a| a.as_secs()),
           "warnings": m.warnings, "canary": canary})
}

/// The `status --json` object of DESIGN.md.
pub fn to_json(config: &Config, snap: &Snapshot) -> Value {
    let (world, holds, now) = (&*snap.world, &snap.holds, snap.now);
    let train = &config.train;
    let window = train.window.map(|w| {
        json!({"opens": rfc3339(w.opens), "closes": rfc3339(w.closes), "state": w.state(now).as_str()})
    });
    let lanes: Vec<Value> = train
        .lanes
        .iter()
        .enumerate()
        .map(|(li, lane)| {
            let cells: Vec<Value> = train
                .stages
                .iter()
                .enumerate()
                .map(|(si, stage)| {
                    let source = config.target(&lane.name, stage).map(|t| t.source.as_str());
                    let cell = world.cell(&lane.name, stage).zip(snap.cell(li, si));
                    let mut v = cell_json(world, source, stage, cell, now);
                    let metrics: Vec<Value> = snap
                        .metrics(li, si)
                        .map(|(m, view)| metric_json(world, m, view, now))
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
        .map(|s| json!({"name": s.name, "kind": s.kind, "ok": s.ok, "error": s.error, "rate_limit": s.rate_limit, "request_rate": s.request_rate,
                        "insecure_http": insecure(config, &s.name)}))
        .collect();
    json!({
        "train": {
            "name": train.name,
            "stages": train.stages,
            "protected": train.stages.iter().filter(|s| train.is_protected(s)).collect::<Vec<_>>(),
            "window": window,
            "freeze": train.active_freeze(now).map(|f| json!({"starts": rfc3339(f.starts), "ends": rfc3339(f.ends), "reason": f.reason})),
            "halted": holds.halt.is_some(),
            "halt": holds.halt.as_ref().map(|h| hold_json(None, h)),
        },
        "lanes": lanes,
        "blockers": snap.blockers,
        "holds": holds.lanes.iter().map(|(lane, h)| hold_json(Some(lane), h)).collect::<Vec<_>>(),
        "sources": sources,
        "unfinished_actions": snap.unfinished.iter().map(|u| {
            let r = &u.record;
            json!({"seq": r.seq, "ts": r.ts, "actor": r.actor, "action": r.action,
                   "lane": r.lane, "stage": r.stage, "result": r.result, "message": u.why})
        }).collect::<Vec<_>>(),
        "generated_at": rfc3339(now),
    })
}

/// Who holds a lane (or halted the train), since when and why.
fn hold_json(lane: Option<&str>, h: &crate::model::LaneHold) -> Value {
    let mut v = json!({"by": h.by, "at": rfc3339(h.at), "reason": h.reason});
    if let Some(l) = lane {
        v["lane"] = json!(l);
    }
    v
}

/// Whether a source may talk plain http:// off this host.
fn insecure(config: &Config, source: &str) -> bool {
    config.sources.get(source).is_some_and(|c| c.insecure())
}

/// A plain table for people; legible without colour.
pub fn to_table(config: &Config, snap: &Snapshot) -> String {
    use std::fmt::Write;
    let (world, holds, now) = (&*snap.world, &snap.holds, snap.now);
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
        let _ = write!(out, "  {}", pad(&train.stage_label(s), 18));
    }
    out.push('\n');
    for (li, lane) in train.lanes.iter().enumerate() {
        let _ = write!(out, "{}", pad(&lane.name, name_w));
        for (si, s) in train.stages.iter().enumerate() {
            let text = match world.cell(&lane.name, s).zip(snap.cell(li, si)) {
                Some((c, view)) => {
                    let mark = if view.error.is_some() {
                        " ERR"
                    } else if view.stale {
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
    let bl = &snap.blockers;
    let _ = writeln!(out, "\nBLOCKERS ({})", bl.len());
    for b in bl {
        let _ = writeln!(
            out,
            "  {} → {}: [{}] {}",
            b.lane,
            train.stage_label(&b.stage),
            b.kind.as_str(),
            b.message
        );
    }
    if !snap.unfinished.is_empty() {
        let _ = writeln!(
            out,
            "\nUNFINISHED ACTIONS ({}) — check these at their source",
            snap.unfinished.len()
        );
        for u in &snap.unfinished {
            let _ = writeln!(out, "  {}", u.text);
        }
    }
    if let Some(h) = &holds.halt {
        let _ = writeln!(out, "\nHALTED {}", h.words(now));
    }
    if !holds.lanes.is_empty() {
        let _ = writeln!(out, "\nHOLDS ({})", holds.lanes.len());
        for (lane, h) in &holds.lanes {
            let _ = writeln!(out, "  {lane} held {}", h.words(now));
        }
    }
    let _ = writeln!(out, "\nSOURCES");
    for s in world.sources() {
        let state = match &s.error {
            Some(e) => format!("FAILED: {e}"),
            None => "ok".into(),
        };
        // GitLab's budget is a minute's, GitHub's an hour's.
        let window = if s.kind == "gitlab" {
            "this minute"
        } else {
            "this hour"
        };
        let mut budget = s
            .rate_limit
            .map(|r| format!(", rate limit {}/{} left {window}", r.remaining, r.limit))
            .unwrap_or_default();
        if let Some(r) = s.request_rate {
            budget.push_str(&format!(
                ", {}/{} requests in the last minute",
                r.used, r.per_minute
            ));
        }
        // An interval a budget stretched is said: it is why the data comes slower.
        let configured = config.sources.get(&s.name).map(|c| c.interval);
        if let Some(i) = s.interval.filter(|i| configured.is_some_and(|c| *i > c)) {
            budget.push_str(&format!(
                ", polled every {} (stretched)",
                crate::model::duration::human(i)
            ));
        }
        let insecure = if insecure(config, &s.name) {
            "  [INSECURE http: allow_insecure_http = true]"
        } else {
            ""
        };
        let _ = writeln!(out, "  {} ({}): {state}{budget}{insecure}", s.name, s.kind);
    }
    out
}
