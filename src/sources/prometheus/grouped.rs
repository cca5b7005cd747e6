//! Grouped measurement: which queries a poll sends (one per metric, side and group for a
//! `[[metrics]]` with `by`, one per cell without), and how a grouped answer's series are
//! matched back to cells by the `by` labels. A series whose labels name no cell of the group
//! (another lane, another stage) is ignored; a cell no series names has no data (not an
//! error); two series for one cell are that cell's error.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Answer, QueryError, Series, envelope, sample};
use crate::config::group::{Group, GroupBy, render_grouped};
use crate::config::{Config, MetricConfig};
use crate::model::CellKey;
use crate::model::text::sanitize;

/// A series' labels.
pub(super) type Labels = BTreeMap<String, String>;
/// Every series of an answer with its labels.
pub(super) type Grouped<T> = Result<Answer<Vec<(Labels, T)>>, QueryError>;

/// One measurement to make: a metric at the cells one query (per side and kind) covers.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub cells: Vec<CellKey>,
    pub metric: MetricConfig,
    pub query: String,
    pub baseline: Option<String>,
}

/// The jobs of the source named `source`: per metric, one per group or one per cell.
pub(super) fn jobs(source: &str, config: &Config) -> Vec<Job> {
    let empty = BTreeMap::new();
    let lanes: Vec<&str> = config.train.lanes.iter().map(|l| l.name.as_str()).collect();
    let mut out = Vec::new();
    for m in config.metrics.iter().filter(|m| m.source == source) {
        let stages: Vec<&str> = m.stages.iter().map(String::as_str).collect();
        if let Some(by) = &m.by
            && let Some(grouped) = group_jobs(m, by, &lanes, &stages, config)
        {
            out.extend(grouped);
            continue;
        }
        for lane in &lanes {
            let vars = config.lane_vars.get(*lane).unwrap_or(&empty);
            for stage in &stages {
                out.push(Job {
                    cells: vec![CellKey::new(*lane, *stage)],
                    metric: m.clone(),
                    query: m.render(&m.query, lane, stage, vars),
                    baseline: m.baseline.as_ref().map(|b| m.render(b, lane, stage, vars)),
                });
            }
        }
    }
    out
}

/// The groups of a metric with `by`: all lanes at once unless `by` names no lane label (then
/// one group per lane), likewise for stages. `None` when a template can't be grouped (the
/// config check refuses that before).
fn group_jobs(
    m: &MetricConfig,
    by: &GroupBy,
    lanes: &[&str],
    stages: &[&str],
    config: &Config,
) -> Option<Vec<Job>> {
    let empty = BTreeMap::new();
    let lane_groups: Vec<Option<&str>> = match by.lane {
        Some(_) => vec![None],
        None => lanes.iter().copied().map(Some).collect(),
    };
    let stage_groups: Vec<Option<&str>> = match by.stage {
        Some(_) => vec![None],
        None => stages.iter().copied().map(Some).collect(),
    };
    let mut out = Vec::new();
    for lane in &lane_groups {
        for stage in &stage_groups {
            let g = Group {
                lanes,
                stages,
                lane: *lane,
                stage: *stage,
                vars: lane
                    .and_then(|l| config.lane_vars.get(l))
                    .unwrap_or(&empty),
            };
            let cells = lanes
                .iter()
                .filter(|l| lane.is_none_or(|x| x == **l))
                .flat_map(|l| {
                    stages
                        .iter()
                        .filter(|s| stage.is_none_or(|x| x == **s))
                        .map(|s| CellKey::new(*l, *s))
                })
                .collect();
            out.push(Job {
                cells,
                metric: m.clone(),
                query: render_grouped(&m.query, by, &g).ok()?,
                baseline: match &m.baseline {
                    Some(b) => Some(render_grouped(b, by, &g).ok()?),
                    None => None,
                },
            });
        }
    }
    Some(out)
}

/// A series' labels (`metric`), as strings.
fn labels(series: &Value) -> Labels {
    series
        .get("metric")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn result(data: &Value) -> Result<&Vec<Value>, QueryError> {
    data.get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| QueryError::Answered("answer without data.result".into()))
}

/// A grouped instant answer: every series' labels and value (none for NaN).
pub(super) fn parse_instant_all(status: u16, body: &[u8]) -> Grouped<Option<f64>> {
    let (data, warnings) = envelope(status, body)?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {}
        Some(other) => {
            return Err(QueryError::Answered(format!(
                "the query returns a {}, not a vector with the `by` labels",
                sanitize(other, 20)
            )));
        }
        None => {
            return Err(QueryError::Answered(
                "answer without data.resultType".into(),
            ));
        }
    }
    let data = result(&data)?
        .iter()
        .map(|s| (labels(s), s.get("value").and_then(sample).map(|(_, v)| v)))
        .collect();
    Ok(Answer { data, warnings })
}

/// A grouped range answer: every series' labels and samples.
pub(super) fn parse_range_all(status: u16, body: &[u8]) -> Grouped<Series> {
    let (data, warnings) = envelope(status, body)?;
    let data = result(&data)?
        .iter()
        .map(|s| {
            let points = s
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(sample).collect())
                .unwrap_or_default();
            (labels(s), points)
        })
        .collect();
    Ok(Answer { data, warnings })
}

/// `key`'s part of a grouped answer: the one series whose `by` labels name it, nothing when
/// none does; an error answer is every cell's error.
pub(super) fn pick<T: Clone + Default>(
    answer: &Grouped<T>,
    by: &GroupBy,
    key: &CellKey,
) -> Result<Answer<T>, QueryError> {
    let a = answer.as_ref().map_err(Clone::clone)?;
    let names = |l: &Labels| {
        let is = |label: &Option<String>, want: &str| {
            label
                .as_ref()
                .is_none_or(|n| l.get(n).map(String::as_str) == Some(want))
        };
        is(&by.lane, &key.lane) && is(&by.stage, &key.stage)
    };
    let mut found = a.data.iter().filter(|(l, _)| names(l));
    let data = match (found.next(), found.count()) {
        (None, _) => T::default(),
        (Some((_, d)), 0) => d.clone(),
        (Some(_), more) => {
            let by_labels: Vec<&str> = [&by.lane, &by.stage]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            return Err(QueryError::Answered(format!(
                "the query returns {} series for {} at {}; aggregate it by the `by` labels \
                 (sum by ({}) (…))",
                more + 1,
                key.lane,
                key.stage,
                by_labels.join(", ")
            )));
        }
    };
    Ok(Answer {
        data,
        warnings: a.warnings.clone(),
    })
}
