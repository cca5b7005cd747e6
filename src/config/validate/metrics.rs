//! `[[metrics]]`: a prometheus source, a query whose placeholders every lane can fill, a known
//! unit, a sane threshold, a window, known stages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use toml::Spanned;

use super::{check_name, positive_duration, tables};
use crate::config::diag::{Diagnostics, list_hint};
use crate::config::raw::{RawMetric, Str};
use crate::config::{MetricConfig, SourceKind};
use crate::model::Threshold;

/// How far back a metric's series goes when the config doesn't say.
pub(super) const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// `[[metrics]]`: a prometheus source, a query whose placeholders every lane can fill, a known
/// unit, a sane threshold, a window, known stages.
pub(super) fn metrics(
    raw: Vec<Spanned<RawMetric>>,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    lane_vars: &BTreeMap<String, BTreeMap<String, String>>,
    d: &mut Diagnostics,
) -> Vec<MetricConfig> {
    const UNITS: &[&str] = &["ratio", "seconds", "percent", "count", "rps"];
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (_, path, span, m) in tables(raw, "metrics") {
        let ok_before = d.len();
        let name = match &m.name {
            Some(n) if check_name(d, "metric", n) => {
                if !names.insert(n.get_ref().clone()) {
                    d.error(n.span(), format!("duplicate metric {:?}", n.get_ref()));
                }
                n.get_ref().clone()
            }
            Some(_) => String::new(),
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no name"),
                    "add `name = \"error_rate\"`",
                );
                String::new()
            }
        };
        let prometheus: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| **k == Some(SourceKind::Prometheus))
            .map(|(n, _)| n.as_str())
            .collect();
        let source = match &m.source {
            Some(s) => {
                let name = s.get_ref();
                let wrong = match kinds.get(name) {
                    Some(Some(SourceKind::Prometheus)) => None,
                    Some(_) => Some(format!("{path}.source {name:?} is not a prometheus source")),
                    None => Some(format!("unknown source {name:?} in {path}.source")),
                };
                match wrong {
                    None => name.clone(),
                    Some(message) => {
                        let hint = list_hint("prometheus sources", name, &prometheus);
                        d.error_hint(s.span(), message, hint);
                        String::new()
                    }
                }
            }
            None => match prometheus.as_slice() {
                [only] => only.to_string(),
                _ => {
                    d.error_hint(
                        span.clone(),
                        format!("{path} names no source"),
                        "add `source = \"prom\"` (a source of kind prometheus)",
                    );
                    String::new()
                }
            },
        };
        let known_vars: BTreeSet<&str> = lane_vars
            .values()
            .flat_map(|v| v.keys().map(String::as_str))
            .collect();
        let check_query = |d: &mut Diagnostics, q: &Str, what: &str| {
            let text = q.get_ref();
            if text.trim().is_empty() {
                d.error(q.span(), format!("{path}.{what} is empty"));
                return;
            }
            // Every {placeholder} is {lane}, {stage}, or a var every lane sets. PromQL's own
            // braces hold label matchers, so look at every '{', not only the outer ones.
            let mut seen = BTreeSet::new();
            for (open, _) in text.match_indices('{') {
                let after = &text[open + 1..];
                let Some(close) = after.find('}') else {
                    continue;
                };
                let name = &after[..close];
                let is_ident =
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !is_ident || name == "lane" || name == "stage" || !seen.insert(name.to_string())
                {
                    continue;
                }
                let missing: Vec<&str> = lane_vars
                    .iter()
                    .filter(|(_, v)| !v.contains_key(name))
                    .map(|(l, _)| l.as_str())
                    .collect();
                if !known_vars.contains(name) {
                    let known: Vec<&str> = ["lane", "stage"]
                        .into_iter()
                        .chain(known_vars.iter().copied())
                        .collect();
                    d.error_hint(
                        q.span(),
                        format!("unknown placeholder {{{name}}} in {path}.{what}"),
                        list_hint("placeholders", name, &known),
                    );
                } else if !missing.is_empty() {
                    d.error_hint(
                        q.span(),
                        format!(
                            "placeholder {{{name}}} in {path}.{what} is not set for lane {:?}",
                            missing[0]
                        ),
                        format!("add `vars = {{ {name} = \"…\" }}` to every lane"),
                    );
                }
            }
        };
        let query = match &m.query {
            Some(q) => {
                check_query(d, q, "query");
                q.get_ref().clone()
            }
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no query"),
                    "add `query = '…PromQL with {lane} and {stage}…'`",
                );
                String::new()
            }
        };
        if let Some(b) = &m.baseline {
            check_query(d, b, "baseline");
        }
        let unit = match &m.unit {
            Some(u) if UNITS.contains(&u.get_ref().as_str()) => u.get_ref().clone(),
            Some(u) => {
                d.error_hint(
                    u.span(),
                    format!("unknown unit {:?}", u.get_ref()),
                    list_hint("units", u.get_ref(), UNITS),
                );
                String::new()
            }
            None => "ratio".into(),
        };
        let threshold = match &m.threshold {
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no threshold"),
                    "add `threshold = { max = 0.01 }` (or `min`)",
                );
                Threshold::default()
            }
            Some(t) => {
                let r = t.get_ref();
                let finite = [r.min, r.max].into_iter().flatten().all(f64::is_finite);
                if r.min.is_none() && r.max.is_none() {
                    d.error_hint(
                        t.span(),
                        format!("{path}.threshold sets neither min nor max"),
                        "e.g. `{ max = 0.01 }`",
                    );
                } else if !finite {
                    d.error(t.span(), format!("{path}.threshold must be finite numbers"));
                } else if let (Some(lo), Some(hi)) = (r.min, r.max)
                    && lo >= hi
                {
                    d.error(
                        t.span(),
                        format!("{path}.threshold: min ({lo}) must be below max ({hi})"),
                    );
                }
                Threshold {
                    min: r.min,
                    max: r.max,
                }
            }
        };
        let window = positive_duration(d, &format!("{path}.window"), m.window.as_ref())
            .unwrap_or(DEFAULT_WINDOW);
        let metric_stages = match &m.stages {
            None => stages.iter().map(|s| s.to_string()).collect(),
            Some(list) => list
                .iter()
                .filter_map(|s| {
                    if stages.contains(&s.get_ref().as_str()) {
                        Some(s.get_ref().clone())
                    } else {
                        d.error_hint(
                            s.span(),
                            format!("unknown stage {:?} in {path}.stages", s.get_ref()),
                            list_hint("stages", s.get_ref(), stages),
                        );
                        None
                    }
                })
                .collect(),
        };
        let by = m.by.as_ref().map(|by| {
            let templates: Vec<(&str, &Str)> = [
                ("query", m.query.as_ref()),
                ("baseline", m.baseline.as_ref()),
            ]
            .into_iter()
            .filter_map(|(w, q)| Some((w, q?)))
            .collect();
            super::group_by::group_by(d, &path, by, &templates)
        });
        if d.len() == ok_before {
            out.push(MetricConfig {
                name,
                source,
                query,
                baseline: m.baseline.map(Spanned::into_inner),
                unit,
                threshold,
                window,
                stages: metric_stages,
                by,
            });
        }
    }
    out
}
