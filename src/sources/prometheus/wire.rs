//! Prometheus' answers read without a JSON tree: the envelope with its `data` left as the text
//! it is (borrowed from the body), and a grouped answer's series straight into labels and
//! samples. A grouped range answer for 2,000 cells (30 points each) weighs about 10 MB as a
//! `serde_json::Value` and about 1 MB this way; a poll may hold several at once.
//!
//! As lenient as the tree was: a sample that is not `[number, "string"]` or whose value is NaN
//! or infinite is skipped, a label whose value is not a string is left out.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use smallvec::SmallVec;

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

/// The labels a caller reads (a metric's `by` labels): a series' other labels are skipped
/// unread, and only string values are kept.
#[derive(Clone, Copy)]
pub(super) struct Keep<'k>(pub &'k [&'k str]);

/// A `result` list, each series read as its kept labels and its `field` (`values` for a
/// range answer, `value` for an instant one) as `T`.
pub(super) struct SeriesList<'k, T> {
    keep: Keep<'k>,
    field: &'static str,
    /// How many series to make room for at once (the list's text says roughly how many).
    room: usize,
    of: PhantomData<T>,
}

impl<'k, T> SeriesList<'k, T> {
    pub fn new(keep: Keep<'k>, field: &'static str) -> Self {
        SeriesList {
            keep,
            field,
            room: 0,
            of: PhantomData,
        }
    }

    /// Room for the series of a list of `bytes` of text at once, counting 60 bytes a series
    /// (a grouped answer's series names its metric and its `by` labels and has a sample or
    /// more): the list is made once rather than grown by doubling through the heap, and a big
    /// one is mapped apart and given back whole. A list of smaller series still grows.
    pub fn room_for(self, bytes: usize) -> Self {
        SeriesList {
            room: (bytes / 60).min(1 << 16),
            ..self
        }
    }
}

/// One series of a [`SeriesList`].
struct OneSeries<'k, T>(Keep<'k>, &'static str, PhantomData<T>);

/// `[unix seconds, "value"]`: `None` when it is anything else, or the value is not finite.
#[derive(Default)]
pub(super) struct Sample(pub Option<(i64, f64)>);

/// Samples a range series holds in place before it takes a list.
const INLINE_SAMPLES: usize = 4;

/// A range series' samples, the good ones, oldest first: in place up to [`INLINE_SAMPLES`] (a
/// poll that resumes brings two or three a series: thousands of series read without an
/// allocation each), in a list past that.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Samples(SmallVec<[(i64, f64); INLINE_SAMPLES]>);

impl Samples {
    pub fn as_slice(&self) -> &[(i64, f64)] {
        &self.0
    }
}

/// Any JSON value, read as what it is for a sample or a label and skipped otherwise (a text
/// borrowed from the body where it has no escapes).
#[derive(Default)]
enum Loose<'a> {
    Number(f64),
    Text(Cow<'a, str>),
    #[default]
    Other,
}

/// A text, borrowed from the body where it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
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

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose<'de>, E> {
                Ok(Loose::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose<'de>, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose<'de>, E> {
                Ok(Loose::Number(v as f64))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Loose<'de>, E> {
                Ok(Loose::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose<'de>, E> {
                Ok(Loose::Text(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose<'de>, E> {
                Ok(Loose::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Loose<'de>, E> {
                Ok(Loose::Other)
            }
            otherwise_default!(@seq Loose<'de>);
            otherwise_default!(@map Loose<'de>);
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
                let mut out = Samples::default();
                while let Some(Sample(s)) = seq.next_element::<Sample>()? {
                    out.0.extend(s);
                }
                Ok(out)
            }
            otherwise_default!(Samples);
            otherwise_default!(@map Samples);
        }
        d.deserialize_any(V)
    }
}

impl<'de> DeserializeSeed<'de> for Keep<'_> {
    type Value = Labels;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Labels, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keep<'_> {
    type Value = Labels;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the labels of a series")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
        let mut labels = Labels::default();
        while let Some(Text(k)) = map.next_key::<Text>()? {
            let named = |n: &&str| *n == k.as_ref();
            if !self.0.iter().any(named) {
                map.next_value::<IgnoredAny>()?;
            } else if let Loose::Text(v) = map.next_value::<Loose>()? {
                // A label named twice (`by` naming one label for both lane and stage) is kept
                // at both places.
                for (at, _) in self.0.iter().enumerate().filter(|(_, n)| named(n)) {
                    labels.set(at, &v);
                }
            }
        }
        Ok(labels)
    }
    otherwise_default!(Labels);
    otherwise_default!(@seq Labels);
}

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for SeriesList<'_, T> {
    type Value = Vec<(Labels, T)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for SeriesList<'_, T> {
    type Value = Vec<(Labels, T)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096).max(self.room));
        while let Some(s) = seq.next_element_seed(OneSeries(self.keep, self.field, PhantomData))? {
            out.push(s);
        }
        Ok(out)
    }
}

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for OneSeries<'_, T> {
    type Value = (Labels, T);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for OneSeries<'_, T> {
    type Value = (Labels, T);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut labels, mut data) = (Labels::default(), T::default());
        while let Some(Text(k)) = map.next_key::<Text>()? {
            if k == "metric" {
                labels = map.next_value_seed(self.0)?;
            } else if k == self.1 {
                data = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((labels, data))
    }
}

/// A whole answer read in one pass: what a successful grouped answer is made of. Whatever it
/// lacks (or a field named twice) is for the caller to send the long way ([`Envelope`], then
/// [`Data`], then the result), which says what is wrong.
pub(super) struct Whole<T> {
    /// `status` is `"success"`.
    pub success: bool,
    pub warnings: Option<Value>,
    /// `data.resultType`, when it is a text.
    pub result_type: Option<String>,
    /// `data.result`, read as the [`SeriesList`] reads it.
    pub result: Option<Vec<(Labels, T)>>,
}

/// Reads a [`Whole`] answer, its `data.result` as the list says.
pub(super) struct WholeSeed<'k, T>(pub SeriesList<'k, T>);

/// The `data` of a [`Whole`] answer: its type and its result.
struct DataSeed<'k, T>(SeriesList<'k, T>);

type DataParts<T> = (Option<String>, Option<Vec<(Labels, T)>>);

/// `field` met twice in one object.
fn twice<E: de::Error>(field: &'static str) -> E {
    E::duplicate_field(field)
}

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for WholeSeed<'_, T> {
    type Value = Whole<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Whole<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for WholeSeed<'_, T> {
    type Value = Whole<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus answer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Whole<T>, A::Error> {
        let mut list = Some(self.0);
        let (mut status, mut warnings, mut data) = (None, None, None);
        while let Some(Text(k)) = map.next_key::<Text>()? {
            match k.as_ref() {
                "status" if status.is_some() => return Err(twice("status")),
                "status" => status = Some(map.next_value::<Loose>()?),
                "warnings" if warnings.is_some() => return Err(twice("warnings")),
                "warnings" => warnings = Some(map.next_value::<Value>()?),
                "data" => {
                    let list = list.take().ok_or_else(|| twice("data"))?;
                    data = Some(map.next_value_seed(DataSeed(list))?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let (result_type, result) = data.unwrap_or_default();
        Ok(Whole {
            success: matches!(status, Some(Loose::Text(s)) if s == "success"),
            warnings: warnings.filter(|w| !w.is_null()),
            result_type,
            result,
        })
    }
}

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for DataSeed<'_, T> {
    type Value = DataParts<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DataParts<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for DataSeed<'_, T> {
    type Value = DataParts<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the data of an answer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataParts<T>, A::Error> {
        let mut list = Some(self.0);
        let (mut kind, mut result) = (None, None);
        while let Some(Text(k)) = map.next_key::<Text>()? {
            match k.as_ref() {
                "resultType" if kind.is_some() => return Err(twice("resultType")),
                "resultType" => kind = Some(map.next_value::<Loose>()?),
                "result" => {
                    let list = list.take().ok_or_else(|| twice("result"))?;
                    result = Some(map.next_value_seed(list)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let kind = match kind {
            Some(Loose::Text(t)) => Some(t.into_owned()),
            _ => None,
        };
        Ok((kind, result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_labels_asked_for_are_kept_escaped_or_not() {
        let doc = r#"[{"metric":{"__name__":"x","lane":"a\u0062","stage":"prod","pod":"p-1"},
                       "values":[[1,"0.5"]],"extra":{"deep":[1,2]}}]"#;
        let mut de = serde_json::Deserializer::from_str(doc);
        let d = SeriesList::<Samples>::new(Keep(&["lane", "stage"]), "values")
            .deserialize(&mut de)
            .unwrap();
        assert_eq!(d.len(), 1);
        let labels = &d[0].0;
        assert_eq!((labels.at(0), labels.at(1)), (Some("ab"), Some("prod")));
        assert_eq!(labels.len(), 2, "nothing else kept");
        assert_eq!(d[0].1.as_slice(), [(1, 0.5)]);
    }

    #[test]
    fn samples_stay_in_place_up_to_four_and_in_a_list_past_that() {
        let mut s = Samples::default();
        assert!(s.as_slice().is_empty());
        for i in 0..INLINE_SAMPLES as i64 {
            s.0.push((i, i as f64));
        }
        assert!(!s.0.spilled());
        s.0.push((9, 9.0));
        assert!(s.0.spilled());
        assert_eq!(
            s.as_slice(),
            [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0), (9, 9.0)]
        );
        // Read from JSON, the same either way.
        let read = |doc: &str| serde_json::from_str::<Samples>(doc).unwrap();
        assert_eq!(
            read(r#"[[1,"1"],[2,"2"]]"#).as_slice(),
            [(1, 1.0), (2, 2.0)]
        );
        let long: Vec<String> = (0..40).map(|i| format!(r#"[{i},"{i}"]"#)).collect();
        let many = read(&format!("[{}]", long.join(",")));
        assert_eq!(many.as_slice().len(), 40);
        assert_eq!(many.as_slice()[39], (39, 39.0));
    }

    #[test]
    fn samples_and_labels_are_read_leniently() {
        let doc = r#"[
            {"metric":{"service":"a","n":3,"deep":{"x":1}},
             "values":[[1,"0.5"],[2.9,"NaN"],[3,"+Inf"],[4,0.5],["5","0.5"],{"t":6},[7,"bad"],[8,"1e3",9],null]},
            {"values":[[1,"2"]]},
            {"metric":[],"values":"none"}
        ]"#;
        let keep = Keep(&["service", "n", "deep", "env"]);
        let read = |doc: &str, field| {
            let mut de = serde_json::Deserializer::from_str(doc);
            SeriesList::<Samples>::new(keep, field)
                .deserialize(&mut de)
                .unwrap()
        };
        let d = read(doc, "values");
        let a = &d[0];
        assert_eq!(a.0.len(), 1, "only string labels");
        assert_eq!(a.0.at(0), Some("a"));
        assert_eq!(a.1.as_slice(), [(1, 0.5), (8, 1000.0)]);
        assert_eq!(d[1].0.len(), 0);
        assert_eq!(d[1].1.as_slice(), [(1, 2.0)]);
        assert_eq!(d[2].0.len(), 0);
        assert!(d[2].1.as_slice().is_empty());
        let mut de = serde_json::Deserializer::from_str(
            r#"[{"metric":{"env":"prod"},"value":[1,"0.25"]},{"value":[1,"NaN"]},{}]"#,
        );
        let d = SeriesList::<Sample>::new(keep, "value")
            .deserialize(&mut de)
            .unwrap();
        let values: Vec<Option<(i64, f64)>> = d.iter().map(|s| s.1.0).collect();
        assert_eq!(values, [Some((1, 0.25)), None, None]);
        assert_eq!(d[0].0.at(3), Some("prod"));
        // One label named for both the lane and the stage.
        let mut de =
            serde_json::Deserializer::from_str(r#"[{"metric":{"x":"a"},"value":[1,"1"]}]"#);
        let d = SeriesList::<Sample>::new(Keep(&["x", "x"]), "value")
            .deserialize(&mut de)
            .unwrap();
        assert_eq!((d[0].0.at(0), d[0].0.at(1)), (Some("a"), Some("a")));
    }
}
