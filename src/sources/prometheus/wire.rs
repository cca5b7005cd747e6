//! Prometheus' answers read without a JSON tree: the envelope with its `data` left as the text
//! it is (borrowed from the body), and a grouped answer's series straight into labels and
//! samples. A grouped range answer for 2,000 cells (30 points each) weighs about 10 MB as a
//! `serde_json::Value` and about 1 MB this way; a poll may hold several at once.
//!
//! As lenient as the tree was: a sample that is not `[number, "string"]` or whose value is NaN
//! or infinite is skipped, a label whose value is not a string is left out.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::grouped::Labels;

/// The envelope: `status`, the error's words, `warnings`, and `data` unparsed.
#[derive(Deserialize)]
pub(super) struct Envelope<'a> {
    pub status: Option<Value>,
    #[serde(rename = "errorType")]
    pub error_type: Option<Value>,
    pub error: Option<Value>,
    pub warnings: Option<Value>,
    #[serde(borrow)]
    pub data: Option<&'a RawValue>,
}

/// The `data` of an answer: its type, and its `result` unparsed.
#[derive(Deserialize)]
pub(super) struct Data<'a> {
    #[serde(rename = "resultType")]
    pub result_type: Option<Value>,
    #[serde(borrow)]
    pub result: Option<&'a RawValue>,
}

/// One series of a range answer (`matrix`).
#[derive(Deserialize)]
pub(super) struct RangeSeries {
    #[serde(default)]
    pub metric: LabelMap,
    #[serde(default)]
    pub values: Samples,
}

/// One series of an instant answer (`vector`).
#[derive(Deserialize)]
pub(super) struct InstantSeries {
    #[serde(default)]
    pub metric: LabelMap,
    #[serde(default)]
    pub value: Sample,
}

/// A series' labels, the string-valued ones.
#[derive(Default)]
pub(super) struct LabelMap(pub Labels);

/// `[unix seconds, "value"]`: `None` when it is anything else, or the value is not finite.
#[derive(Default)]
pub(super) struct Sample(pub Option<(i64, f64)>);

/// A range series' samples, the good ones, oldest first.
#[derive(Default)]
pub(super) struct Samples(pub Vec<(i64, f64)>);

/// Any JSON value, read as what it is for a sample or a label and skipped otherwise.
#[derive(Default)]
enum Loose {
    Number(f64),
    Text(String),
    #[default]
    Other,
}

/// The visitor methods of a lenient type: a JSON value it does not read is its default
/// (`@seq`, `@map`: arrays, objects, skipped whole).
macro_rules! otherwise_default {
    ($t:ty) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
            Ok(<$t>::default())
        }
        otherwise_default!(@scalars $t);
    };
    (@scalars $t:ty) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
            Ok(<$t>::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
            Ok(<$t>::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
            Ok(<$t>::default())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
            Ok(<$t>::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
            Ok(<$t>::default())
        }
    };
    (@seq $t:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$t, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(<$t>::default())
        }
    };
    (@map $t:ty) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$t, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(<$t>::default())
        }
    };
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
                Ok(Loose::Other)
            }
            otherwise_default!(@seq Loose);
            otherwise_default!(@map Loose);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sample;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample [time, \"value\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
                let t = seq.next_element::<Loose>()?;
                let v = seq.next_element::<Loose>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Sample(match (t, v) {
                    (Some(Loose::Number(t)), Some(Loose::Text(v))) => v
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .map(|v| (t as i64, v)),
                    _ => None,
                }))
            }
            otherwise_default!(Sample);
            otherwise_default!(@map Sample);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Samples;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of samples")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Samples, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(Sample(s)) = seq.next_element::<Sample>()? {
                    out.extend(s);
                }
                Ok(Samples(out))
            }
            otherwise_default!(Samples);
            otherwise_default!(@map Samples);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for LabelMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LabelMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the labels of a series")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LabelMap, A::Error> {
                let mut labels = Labels::new();
                while let Some((k, v)) = map.next_entry::<String, Loose>()? {
                    if let Loose::Text(v) = v {
                        labels.insert(k, v);
                    }
                }
                Ok(LabelMap(labels))
            }
            otherwise_default!(LabelMap);
            otherwise_default!(@seq LabelMap);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_labels_are_read_leniently() {
        let doc = r#"[
            {"metric":{"service":"a","n":3,"deep":{"x":1}},
             "values":[[1,"0.5"],[2.9,"NaN"],[3,"+Inf"],[4,0.5],["5","0.5"],{"t":6},[7,"bad"],[8,"1e3",9],null]},
            {"values":[[1,"2"]]},
            {"metric":[],"values":"none"}
        ]"#;
        let d: Vec<RangeSeries> = serde_json::from_str(doc).unwrap();
        let a = &d[0];
        assert_eq!(a.metric.0.len(), 1, "only string labels");
        assert_eq!(a.metric.0["service"], "a");
        assert_eq!(a.values.0, [(1, 0.5), (8, 1000.0)]);
        assert!(d[1].metric.0.is_empty());
        assert_eq!(d[1].values.0, [(1, 2.0)]);
        assert!(d[2].metric.0.is_empty());
        assert!(d[2].values.0.is_empty());
        let d: Vec<InstantSeries> = serde_json::from_str(
            r#"[{"metric":{"env":"prod"},"value":[1,"0.25"]},{"value":[1,"NaN"]},{}]"#,
        )
        .unwrap();
        let values: Vec<Option<(i64, f64)>> = d.iter().map(|s| s.value.0).collect();
        assert_eq!(values, [Some((1, 0.25)), None, None]);
    }
}
