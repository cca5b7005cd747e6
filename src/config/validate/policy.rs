//! `[policy.STAGE]`: the gates a stage requires, each once, and `auto_pause`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use toml::Spanned;

use crate::config::MetricConfig;
use crate::config::diag::{Diagnostics, list_hint};
use crate::config::raw::{RawPolicy, Str};
use crate::model::{Gate, duration};

/// The gates per stage, and the stages that pause a lane on an SLO breach.
pub(super) fn policy(
    raw: BTreeMap<Str, Spanned<RawPolicy>>,
    stages: &[&str],
    metrics: &[MetricConfig],
    d: &mut Diagnostics,
) -> (BTreeMap<String, Vec<Gate>>, BTreeSet<String>) {
    let mut out = BTreeMap::new();
    let mut auto_pause = BTreeSet::new();
    for (stage, table) in raw {
        let known_stage = stages.contains(&stage.get_ref().as_str());
        if !known_stage {
            let hint = list_hint("stages", stage.get_ref(), stages);
            d.error_hint(
                stage.span(),
                format!("unknown stage {:?} in policy", stage.get_ref()),
                hint,
            );
        }
        let span = table.span();
        let stage = stage.into_inner();
        let table = table.into_inner();
        if table.auto_pause && known_stage {
            auto_pause.insert(stage.clone());
        }
        let Some(require) = table.require else {
            let hint =
                "e.g. `require = [\"checks_green\", \"approval\"]`; `require = []` means no gates";
            d.error_hint(span, format!("[policy.{stage}] has no require list"), hint);
            continue;
        };
        let mut gates: Vec<(Gate, &str)> = Vec::new();
        for g in &require {
            let Some(gate) = gate(d, g, &stage) else {
                continue;
            };
            if let Gate::Slo(Some(w)) = gate {
                slo_window_fits(d, g, w, &stage, stages, metrics);
            }
            let text = g.get_ref().trim();
            let same_kind =
                |(x, _): &&(Gate, &str)| std::mem::discriminant(x) == std::mem::discriminant(&gate);
            match gates.iter().find(same_kind) {
                Some((_, first)) if *first == text => {
                    d.error(
                        g.span(),
                        format!("gate {text:?} is listed twice in policy.{stage}.require"),
                    );
                }
                Some((_, first)) => {
                    d.error(
                        g.span(),
                        format!("gate {text:?} repeats {first:?} in policy.{stage}.require"),
                    );
                }
                None => gates.push((gate, text)),
            }
        }
        let gates: Vec<Gate> = gates.into_iter().map(|(g, _)| g).collect();
        if known_stage {
            out.insert(stage, gates);
        }
    }
    (out, auto_pause)
}

/// `slo:D` looks at the previous stage's series: a metric measured there over a shorter window
/// would let the gate see less than it says.
pub(super) fn slo_window_fits(
    d: &mut Diagnostics,
    g: &Str,
    w: Duration,
    stage: &str,
    stages: &[&str],
    metrics: &[MetricConfig],
) {
    let Some(i) = stages.iter().position(|s| *s == stage).filter(|i| *i > 0) else {
        return;
    };
    let from = stages[i - 1];
    for m in metrics
        .iter()
        .filter(|m| m.stages.iter().any(|s| s == from))
    {
        if m.window < w {
            d.error_hint(
                g.span(),
                format!(
                    "gate {:?} looks back {} but metric {:?} is measured over {} at {from}",
                    g.get_ref().trim(),
                    duration::compact(w),
                    m.name,
                    duration::compact(m.window)
                ),
                format!(
                    "set `window = \"{}\"` on metric {:?}, or shorten the gate",
                    duration::compact(w),
                    m.name
                ),
            );
        }
    }
}

pub(super) fn gate(d: &mut Diagnostics, g: &Str, stage: &str) -> Option<Gate> {
    let text = g.get_ref().trim();
    match Gate::parse(text) {
        Ok(gate) => Some(gate),
        Err(e) if text == "soak" || text.starts_with("soak:") => {
            let hint = "write soak:DURATION, e.g. \"soak:30m\"";
            d.error_hint(g.span(), format!("invalid gate {text:?}: {e}"), hint);
            None
        }
        Err(e) if text.starts_with("slo:") => {
            let hint =
                "write slo:DURATION, e.g. \"slo:10m\", or plain \"slo\" for each metric's window";
            d.error_hint(g.span(), format!("invalid gate {text:?}: {e}"), hint);
            None
        }
        Err(_) => {
            let hint = list_hint("gates", text, Gate::NAMES);
            d.error_hint(
                g.span(),
                format!("unknown gate {text:?} in policy.{stage}.require"),
                hint,
            );
            None
        }
    }
}
