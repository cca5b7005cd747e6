//! Grouped measurement: which queries a poll sends (one per metric, side and group for a
//! `[[metrics]]` with `by`, one per cell without), and how a grouped answer's series are
//! matched back to cells by the `by` labels. A series whose labels name no cell of the group
//! (another lane, another stage) is ignored; a cell no series names has no data (not an
//! error); two series for one cell are that cell's error.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::Value;
use serde_json::value::RawValue;

use super::wire::{Data, Keep, Sample, Samples, SeriesList, WholeSeed};
use super::{Answer, QueryError, envelope, warnings};
use crate::config::group::{Group, GroupBy, render_grouped};
use crate::config::{Config, MetricConfig};
use crate::model::text::sanitize;
use crate::model::{CellKey, Threshold};

/// A series' kept labels: the value of each name a [`Keep`] reads, by its position there
/// (strings only; at most [`Labels::MAX`] names are kept). Two values, not a map of names:
/// a poll reads thousands of series.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Labels([Option<Label>; Labels::MAX]);

impl Labels {
    /// The most names a series is read for (a `by` names two).
    pub const MAX: usize = 4;

    /// Keep `value` for the name at `position` of the [`Keep`] (none past [`Labels::MAX`]).
    pub fn set(&mut self, position: usize, value: &str) {
        if let Some(slot) = self.0.get_mut(position) {
            *slot = Some(Label::new(value));
        }
    }

    /// The value of the name at `position` of the [`Keep`], if the series has it.
    pub fn at(&self, position: usize) -> Option<&str> {
        self.0
            .get(position)
            .and_then(Option::as_ref)
            .map(Label::as_str)
    }

    /// How many of the names the series has.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.iter().flatten().count()
    }
}

/// One label's value: in place when it is short (lane and stage names mostly are: a poll
/// reads two for each of thousands of series without allocating), boxed when it is not.
#[derive(Clone, Debug, PartialEq)]
enum Label {
    Short { len: u8, bytes: [u8; Label::SHORT] },
    Long(Box<str>),
}

impl Label {
    const SHORT: usize = 30;

    fn new(value: &str) -> Label {
        if value.len() <= Label::SHORT {
            let mut bytes = [0; Label::SHORT];
            bytes[..value.len()].copy_from_slice(value.as_bytes());
            Label::Short {
                len: value.len() as u8,
                bytes,
            }
        } else {
            Label::Long(value.into())
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Copied whole from a `str`: always UTF-8.
            Label::Short { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Label::Long(s) => s,
        }
    }
}

/// Every series of an answer with its labels.
pub(super) type Grouped<T> = Result<Answer<Vec<(Labels, T)>>, QueryError>;

/// One measurement to make: a metric at the cells one query (per side and kind) covers.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub cells: Vec<CellKey>,
    pub metric: MetricConfig,
    /// What each of its cells' metrics says of it (shared by all of them).
    pub shown: Shown,
    pub query: String,
    pub baseline: Option<String>,
}

/// A metric's name, unit and threshold as every cell's measurement of it carries them: the
/// texts shared, not copied for each cell at each poll.
#[derive(Clone, Debug)]
pub(super) struct Shown {
    pub name: Arc<str>,
    pub unit: Arc<str>,
    pub threshold: Threshold,
}

impl From<&MetricConfig> for Shown {
    fn from(m: &MetricConfig) -> Shown {
        Shown {
            name: m.name.as_str().into(),
            unit: m.unit.as_str().into(),
            threshold: m.threshold,
        }
    }
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
                    shown: Shown::from(m),
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
                vars: lane.and_then(|l| config.lane_vars.get(l)).unwrap_or(&empty),
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
                shown: Shown::from(m),
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

/// The labels a grouped answer is read for: its `by` labels, the lane's first (see
/// [`positions`]).
pub(super) fn by_labels(by: &GroupBy) -> Vec<&str> {
    [&by.lane, &by.stage]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
}

/// Where [`by_labels`] puts the lane's label and the stage's, when `by` names them.
fn positions(by: &GroupBy) -> (Option<usize>, Option<usize>) {
    let lane = by.lane.as_ref().map(|_| 0);
    let stage = by.stage.as_ref().map(|_| usize::from(lane.is_some()));
    (lane, stage)
}

/// The `data` of an answer, its `result` still unparsed.
fn data(data: &RawValue) -> Result<Data<'_>, QueryError> {
    serde_json::from_str(data.get())
        .map_err(|_| QueryError::Answered("answer without data.result".into()))
}

/// The `result` of an answer's `data`, read as a list of series: each one's `keep` labels
/// and its `field` as `T`.
fn series<T>(data: &Data, keep: Keep, field: &'static str) -> Result<Vec<(Labels, T)>, QueryError>
where
    T: for<'de> Deserialize<'de> + Default,
{
    let result = data
        .result
        .ok_or_else(|| QueryError::Answered("answer without data.result".into()))?;
    let mut de = serde_json::Deserializer::from_str(result.get());
    SeriesList::new(keep, field)
        .room_for(result.get().len())
        .deserialize(&mut de)
        .and_then(|list| de.end().map(|()| list))
        .map_err(|_| {
            let kind = data.result_type.as_ref().and_then(Value::as_str);
            QueryError::Answered(format!(
                "the data.result of a {} is not a list of series",
                sanitize(kind.unwrap_or("?"), 20)
            ))
        })
}

/// A successful grouped answer read in one pass (a poll reads megabytes of them): its series'
/// `keep` labels and `field` as `T`, when its `data.resultType` is `kind` (any, for `None`).
/// `None` for anything else, to be read the long way ([`envelope`], [`data`], [`series`]),
/// which says what is wrong with it.
fn at_once<T>(
    body: &[u8],
    keep: Keep,
    field: &'static str,
    kind: Option<&str>,
) -> Option<Answer<Vec<(Labels, T)>>>
where
    T: for<'de> Deserialize<'de> + Default,
{
    let mut de = serde_json::Deserializer::from_slice(body);
    let whole = WholeSeed(SeriesList::new(keep, field).room_for(body.len()))
        .deserialize(&mut de)
        .ok()?;
    de.end().ok()?;
    let expected = kind.is_none_or(|k| whole.result_type.as_deref() == Some(k));
    Some(Answer {
        data: whole.result.filter(|_| whole.success && expected)?,
        warnings: warnings(whole.warnings.as_ref()),
    })
}

/// A grouped instant answer: every series' labels and value (none for NaN).
pub(super) fn parse_instant_all(status: u16, body: &[u8], keep: Keep) -> Grouped<Option<f64>> {
    let Answer { data, warnings } = match at_once::<Sample>(body, keep, "value", Some("vector")) {
        Some(answer) => answer,
        None => instant_the_long_way(status, body, keep)?,
    };
    let data = data
        .into_iter()
        .map(|(labels, s)| (labels, s.0.map(|(_, v)| v)))
        .collect();
    Ok(Answer { data, warnings })
}

/// An instant answer [`at_once`] could not read, read part by part: what is wrong with it.
fn instant_the_long_way(status: u16, body: &[u8], keep: Keep) -> Grouped<Sample> {
    let (raw, warnings) = envelope(status, body)?;
    let data = data(raw)?;
    match data.result_type.as_ref().and_then(Value::as_str) {
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
    let data = series::<Sample>(&data, keep, "value")?;
    Ok(Answer { data, warnings })
}

/// A grouped range answer: every series' labels and samples.
pub(super) fn parse_range_all(status: u16, body: &[u8], keep: Keep) -> Grouped<Samples> {
    if let Some(answer) = at_once(body, keep, "values", None) {
        return Ok(answer);
    }
    let (raw, warnings) = envelope(status, body)?;
    let data = series::<Samples>(&data(raw)?, keep, "values")?;
    Ok(Answer { data, warnings })
}

/// Which side of a metric an answer is: the stable side (the baseline) may drop the stage
/// label (`sum by (service) (…{env="stable"})`), its series then being the lane's stable side
/// at every stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    Measured,
    Stable,
}

/// A grouped answer indexed by the cells its series name, so that finding a cell's series
/// costs a lookup, not a scan: a poll of 2,000 lanes matches 6,000 cells.
pub(super) struct Split<'a, T> {
    answer: &'a Grouped<T>,
    by: &'a GroupBy,
    /// (lane, stage) → the series; a part is `None` where `by` names no label for it, or (the
    /// stage) where the series lacks the label.
    index: HashMap<(Option<&'a str>, Option<&'a str>), Found<'a, T>, Fnv>,
}

/// The series of one (lane, stage): one, as a grouped query has it, without a list of its own.
enum Found<'a, T> {
    One([&'a T; 1]),
    More(Vec<&'a T>),
}

impl<'a, T> Found<'a, T> {
    fn add(&mut self, t: &'a T) {
        match self {
            Found::One([first]) => *self = Found::More(vec![*first, t]),
            Found::More(all) => all.push(t),
        }
    }

    fn all(&self) -> &[&'a T] {
        match self {
            Found::One(one) => one,
            Found::More(all) => all,
        }
    }
}

/// FNV-1a: the index's keys are short label values of the answer itself, hashed 30,000 times
/// a minute at 500 lanes; SipHash's defence against chosen keys buys nothing there (a
/// Prometheus that wanted to slow trainyard down could simply answer slowly).
struct FnvHasher(u64);

impl Default for FnvHasher {
    /// FNV's offset basis.
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type Fnv = std::hash::BuildHasherDefault<FnvHasher>;

impl<'a, T: Clone + Default> Split<'a, T> {
    pub(super) fn new(answer: &'a Grouped<T>, by: &'a GroupBy) -> Self {
        let mut index: HashMap<_, Found<T>, Fnv> = HashMap::default();
        let (lane_at, stage_at) = positions(by);
        if let Ok(a) = answer {
            for (labels, data) in &a.data {
                let lane = match lane_at {
                    None => None,
                    Some(i) => match labels.at(i) {
                        Some(v) => Some(v),
                        None => continue,
                    },
                };
                let stage = stage_at.and_then(|i| labels.at(i));
                match index.entry((lane, stage)) {
                    Entry::Occupied(mut o) => o.get_mut().add(data),
                    Entry::Vacant(v) => {
                        v.insert(Found::One([data]));
                    }
                }
            }
        }
        Split { answer, by, index }
    }

    /// `key`'s part of the answer: the one series whose `by` labels name it, nothing when
    /// none does; an error answer is every cell's error.
    pub(super) fn pick(&self, key: &CellKey, side: Side) -> Result<Answer<T>, QueryError> {
        let (data, warnings) = self.find(key, side)?;
        Ok(Answer {
            data: data.cloned().unwrap_or_default(),
            warnings: warnings.to_vec(),
        })
    }

    /// [`Split::pick`] without a copy: `key`'s series (none when no series names it) and the
    /// answer's warnings.
    pub(super) fn find(
        &self,
        key: &CellKey,
        side: Side,
    ) -> Result<(Option<&'a T>, &'a [String]), QueryError> {
        let a = self.answer.as_ref().map_err(Clone::clone)?;
        let lane = self.by.lane.as_ref().map(|_| &*key.lane);
        let none: &[&'a T] = &[];
        let staged = self.index.get(&(lane, Some(&*key.stage)));
        let unstaged = self.index.get(&(lane, None));
        let (one, two) = match (&self.by.stage, side) {
            (None, _) => (unstaged.map_or(none, Found::all), none),
            (Some(_), Side::Measured) => (staged.map_or(none, Found::all), none),
            (Some(_), Side::Stable) => (
                staged.map_or(none, Found::all),
                unstaged.map_or(none, Found::all),
            ),
        };
        match (one, two) {
            ([], []) => Ok((None, &a.warnings)),
            ([x], []) | ([], [x]) => Ok((Some(*x), &a.warnings)),
            _ => Err(QueryError::Answered(format!(
                "the query returns {} series for {} at {}; aggregate it by the `by` labels \
                 (sum by ({}) (…))",
                one.len() + two.len(),
                key.lane,
                key.stage,
                by_labels(self.by).join(", ")
            ))),
        }
    }
}

/// `key`'s part of a grouped answer (see [`Split::pick`]).
#[cfg(test)]
fn pick<T: Clone + Default>(
    answer: &Grouped<T>,
    by: &GroupBy,
    key: &CellKey,
    side: Side,
) -> Result<Answer<T>, QueryError> {
    Split::new(answer, by).pick(key, side)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `by` labels of these answers.
    const KEEP: Keep = Keep(&["service", "env"]);

    fn by() -> GroupBy {
        GroupBy {
            lane: Some("service".into()),
            stage: Some("env".into()),
        }
    }

    fn key(lane: &str, stage: &str) -> CellKey {
        CellKey::new(lane, stage)
    }

    const VECTOR: &[u8] =
        br#"{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":[
        {"metric":{"service":"a","env":"canary"},"value":[1700000000,"0.5"]},
        {"metric":{"service":"b","env":"canary","pod":"x"},"value":[1700000000,"NaN"]},
        {"metric":{"service":"not-a-lane","env":"canary"},"value":[1700000000,"9"]},
        {"metric":{"service":"a","env":"nowhere"},"value":[1700000000,"9"]},
        {"metric":{"env":"prod"},"value":[1700000000,"9"]},
        {"metric":{"service":"c","env":"prod","pod":"1"},"value":[1700000000,"1"]},
        {"metric":{"service":"c","env":"prod","pod":"2"},"value":[1700000000,"2"]}
    ]}}"#;

    #[test]
    fn labels_keep_short_and_long_values_whole() {
        let long = "a-lane-name-longer-than-thirty-bytes";
        let edge = "x".repeat(Label::SHORT);
        let mut labels = Labels::default();
        labels.set(0, "svc-491");
        labels.set(1, long);
        labels.set(2, &edge);
        labels.set(3, "ünïcødé-ståge");
        labels.set(4, "past the last place: not kept");
        assert_eq!(labels.at(0), Some("svc-491"));
        assert_eq!(labels.at(1), Some(long));
        assert_eq!(labels.at(2), Some(edge.as_str()));
        assert_eq!(labels.at(3), Some("ünïcødé-ståge"));
        assert_eq!((labels.at(4), labels.len()), (None, 4));
        assert!(matches!(labels.0[1], Some(Label::Long(_))));
        assert!(matches!(labels.0[2], Some(Label::Short { .. })));
        assert_eq!(Label::new(""), Label::new(""));
        assert_ne!(Label::new("a"), Label::new("b"));
    }

    #[test]
    fn series_are_matched_to_cells_by_their_labels() {
        let answer = parse_instant_all(200, VECTOR, KEEP);
        let got = |lane, stage| pick(&answer, &by(), &key(lane, stage), Side::Measured);
        // Matched by both labels; extra labels don't matter; warnings go to every cell.
        let a = got("a", "canary").unwrap();
        assert_eq!((a.data, a.warnings), (Some(0.5), vec!["warning: w".into()]));
        assert_eq!(got("b", "canary").unwrap().data, None);
        // A cell no series names has no data, which is not an error.
        assert_eq!(got("a", "prod").unwrap().data, None);
        assert_eq!(got("b", "prod").unwrap().data, None);
        // Two series for one cell: that cell's error, and only its.
        let e = got("c", "prod").unwrap_err();
        assert_eq!(
            e,
            QueryError::Answered(
                "the query returns 2 series for c at prod; aggregate it by the `by` labels \
                 (sum by (service, env) (…))"
                    .into()
            )
        );
        // by.stage unset: the group is one stage's, and only the lane label counts.
        let lane_only = GroupBy {
            lane: Some("service".into()),
            stage: None,
        };
        assert_eq!(
            pick(&answer, &lane_only, &key("b", "canary"), Side::Measured)
                .unwrap()
                .data,
            None
        );
        assert!(pick(&answer, &lane_only, &key("a", "canary"), Side::Measured).is_err());
        // The stable side may leave the stage out: its lane's, at every stage. The measured
        // side may not.
        let stable = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"service":"a"},"value":[1700000000,"0.25"]},
            {"metric":{"service":"b","env":"canary"},"value":[1700000000,"0.5"]}
        ]}}"#;
        let stable = parse_instant_all(200, stable, KEEP);
        let side = |lane, stage, side| pick(&stable, &by(), &key(lane, stage), side).unwrap().data;
        assert_eq!(side("a", "prod", Side::Stable), Some(0.25));
        assert_eq!(side("a", "canary", Side::Stable), Some(0.25));
        assert_eq!(side("b", "canary", Side::Stable), Some(0.5));
        assert_eq!(side("b", "prod", Side::Stable), None);
        assert_eq!(side("a", "prod", Side::Measured), None);
    }

    /// A range answer read the long way: envelope, data, then its result.
    fn range_the_long_way(body: &[u8]) -> Grouped<Samples> {
        let (raw, warnings) = envelope(200, body)?;
        let data = series::<Samples>(&data(raw)?, KEEP, "values")?;
        Ok(Answer { data, warnings })
    }

    #[test]
    fn a_good_answer_read_at_once_is_what_the_long_way_reads() {
        // In Prometheus' order, and with every object's fields the other way round.
        let reordered = br#"{"data":{"result":[
            {"values":[[1,"0.1"],[2,"NaN"]],"metric":{"env":"canary","service":"a"}},
            {"metric":{"service":"b"},"extra":[1,{"x":2}],"values":[[3,"3"]]}
            ],"resultType":"matrix"},"warnings":["slow","w\u00e9"],"status":"success"}"#;
        let prometheus = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"service":"a","env":"canary"},"values":[[1,"0.1"],[2,"NaN"]]}]},
            "warnings":null}"#;
        for body in [&reordered[..], prometheus] {
            let read = at_once(body, KEEP, "values", None).expect("read at once");
            assert_eq!(Ok(read.clone()), range_the_long_way(body));
            assert_eq!(Ok(read), parse_range_all(200, body, KEEP));
        }
        let read = at_once::<Samples>(reordered, KEEP, "values", None).unwrap();
        assert_eq!(read.warnings, ["warning: slow", "warning: wé"]);
        assert_eq!(read.data[0].1.as_slice(), [(1, 0.1)]);
        assert_eq!(read.data[1].0.at(0), Some("b"));
        // An instant answer: the same series either way.
        let instant = at_once::<Sample>(VECTOR, KEEP, "value", Some("vector")).unwrap();
        let long = instant_the_long_way(200, VECTOR, KEEP).unwrap();
        assert_eq!(instant.warnings, long.warnings);
        let values = |d: &[(Labels, Sample)]| -> Vec<_> {
            d.iter().map(|(l, s)| (l.clone(), s.0)).collect()
        };
        assert_eq!(values(&instant.data), values(&long.data));
        assert_eq!(values(&instant.data).len(), 7);
    }

    #[test]
    fn an_answer_out_of_order_is_left_to_the_long_way() {
        for body in [
            &br#"{"status":"error","errorType":"execution","error":"too many samples"}"#[..],
            br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#,
            br#"{"status":"success","data":{"resultType":"matrix"}}"#,
            br#"{"status":"success"}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[]}} trailing"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[]},"data":{}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[],"result":[]}}"#,
            br#"{"status":"success","status":"success","data":{"resultType":"vector","result":[]}}"#,
            b"<html>bad gateway</html>",
        ] {
            let text = String::from_utf8_lossy(body);
            assert!(
                at_once::<Sample>(body, KEEP, "value", Some("vector")).is_none(),
                "{text}"
            );
            assert!(parse_instant_all(200, body, KEEP).is_err(), "{text}");
        }
        // A matrix is no instant answer, but is a range answer.
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(at_once::<Sample>(matrix, KEEP, "value", Some("vector")).is_none());
        assert!(at_once::<Samples>(matrix, KEEP, "values", None).is_some());
    }

    #[test]
    fn a_grouped_error_is_every_cells_error_and_scalars_cannot_be_grouped() {
        let bad = br#"{"status":"error","errorType":"execution","error":"too many samples"}"#;
        let answer = parse_range_all(422, bad, KEEP);
        for cell in [key("a", "canary"), key("z", "prod")] {
            assert_eq!(
                pick(&answer, &by(), &cell, Side::Stable).unwrap_err(),
                QueryError::Answered("execution: too many samples".into())
            );
        }
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(
            parse_instant_all(200, scalar, KEEP).unwrap_err(),
            QueryError::Answered(
                "the query returns a scalar, not a vector with the `by` labels".into()
            )
        );
    }

    #[test]
    fn a_grouped_answer_of_another_shape_is_an_error_in_words() {
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(
            parse_range_all(200, scalar, KEEP).unwrap_err(),
            QueryError::Answered("the data.result of a scalar is not a list of series".into())
        );
        for (body, words) in [
            (&br#"{"status":"success"}"#[..], "answer without data"),
            (
                br#"{"status":"success","data":{"resultType":"matrix"}}"#,
                "answer without data.result",
            ),
            (
                br#"{"status":"success","data":[]}"#,
                "answer without data.result",
            ),
        ] {
            assert_eq!(
                parse_range_all(200, body, KEEP).unwrap_err(),
                QueryError::Answered(words.into())
            );
        }
        assert!(matches!(
            parse_range_all(502, b"<html>bad gateway</html>", KEEP).unwrap_err(),
            QueryError::Unreached(_)
        ));
    }

    #[test]
    fn range_answers_split_by_cell() {
        let m = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"service":"a","env":"canary"},"values":[[1,"0.1"],[2,"0.2"]]},
            {"metric":{"service":"b","env":"canary"},"values":[[1,"NaN"],[2,"0.3"]]}
        ]}}"#;
        let answer = parse_range_all(200, m, KEEP);
        let got = |lane| {
            pick(&answer, &by(), &key(lane, "canary"), Side::Measured)
                .unwrap()
                .data
        };
        assert_eq!(got("a").as_slice(), [(1, 0.1), (2, 0.2)]);
        assert_eq!(got("b").as_slice(), [(2, 0.3)]);
        assert_eq!(got("c").as_slice(), []);
    }

    fn config(lanes: usize, by: &str) -> Config {
        let mut text = String::from(
            "[train]\nname = \"t\"\nstages = [\"build\", \"canary\", \"prod\"]\n\n\
             [sources.p]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\n\
             [sources.prom]\nkind = \"prometheus\"\nurl = \"http://127.0.0.1:9\"\n",
        );
        for i in 0..lanes {
            text.push_str(&format!(
                "\n[[lanes]]\nname = \"svc.{i}\"\nsource = \"p\"\n"
            ));
        }
        text.push_str(&format!(
            "\n[[metrics]]\nname = \"e\"\nquery = 'sum by (service, env) (x{{service=\"{{lane}}\",env=\"{{stage}}\"}})'\n\
             baseline = 'sum by (service, env) (x{{service=\"{{lane}}\",env=\"stable\"}})'\n\
             threshold = {{ max = 1 }}\nstages = [\"canary\", \"prod\"]\n{by}\n"
        ));
        crate::config::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn grouped_metrics_cost_the_same_queries_at_any_number_of_lanes() {
        for lanes in [1, 10, 500] {
            let c = config(lanes, "by = { lane = \"service\", stage = \"env\" }");
            let jobs = jobs("prom", &c);
            assert_eq!(jobs.len(), 1, "{lanes} lanes");
            assert_eq!(jobs[0].cells.len(), lanes * 2);
        }
        let c = config(3, "by = { lane = \"service\", stage = \"env\" }");
        let job = &jobs("prom", &c)[0];
        assert_eq!(
            job.query,
            r#"sum by (service, env) (x{service=~"svc\\.0|svc\\.1|svc\\.2",env=~"canary|prod"})"#
        );
        assert_eq!(
            job.baseline.as_deref(),
            Some(r#"sum by (service, env) (x{service=~"svc\\.0|svc\\.1|svc\\.2",env="stable"})"#)
        );
        // By lane only: one query per stage.
        let c = config(3, "by = { lane = \"service\" }");
        let jobs_by_lane = jobs("prom", &c);
        assert_eq!(jobs_by_lane.len(), 2);
        assert!(jobs_by_lane[1].query.contains(r#"env="prod""#));
        assert_eq!(
            jobs_by_lane[1].cells,
            [
                key("svc.0", "prod"),
                key("svc.1", "prod"),
                key("svc.2", "prod")
            ]
        );
        // No `by`: one query per cell, as ever.
        let c = config(3, "");
        let per_cell = jobs("prom", &c);
        assert_eq!(per_cell.len(), 6);
        assert_eq!(
            per_cell[0].query,
            r#"sum by (service, env) (x{service="svc.0",env="canary"})"#
        );
    }
}
