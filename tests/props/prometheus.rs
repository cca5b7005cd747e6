//! `trainyard::sources::prometheus::parse_range` and `parse_instant`: Prometheus' `query_range`
//! and `query` answers (and the error envelope) to the samples of one series, or one value.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use trainyard::sources::prometheus::{parse_instant, parse_range};

/// `parse_range`'s samples, or its error in words.
fn range(status: u16, body: &[u8]) -> Result<Vec<(i64, f64)>, String> {
    parse_range(status, body)
        .map(|a| a.data)
        .map_err(|e| e.to_string())
}

/// `parse_instant`'s value, or its error in words.
fn instant(status: u16, body: &[u8]) -> Result<Option<f64>, String> {
    parse_instant(status, body)
        .map(|a| a.data)
        .map_err(|e| e.to_string())
}

use crate::mutate::{self, error_message, hostile_string};

/// A sample value as Prometheus writes it: a float in a string, `NaN`, `+Inf`, `-Inf` too.
fn sample_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => select(&["NaN", "+Inf", "-Inf", "1e999", "-1e999", "0", "-0", "1e-320"][..])
            .prop_map(str::to_string),
    ]
}

/// A sample time: Prometheus writes float seconds; any finite float or integer here.
fn sample_time() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1_500_000_000.0f64..2_000_000_000.0).prop_map(|t| json!(t)),
        any::<i64>().prop_map(|t| json!(t)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|t| json!(t)),
    ]
}

fn labels() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{1,8}", hostile_string(), 0..3).prop_map(|m| json!(m))
}

/// A successful matrix answer with one series.
fn matrix() -> impl Strategy<Value = (Value, Vec<(Value, String)>)> {
    (
        labels(),
        prop::collection::vec((sample_time(), sample_value()), 0..60),
    )
        .prop_map(|(metric, samples)| {
            let values: Vec<Value> = samples.iter().map(|(t, v)| json!([t, v])).collect();
            let doc = json!({
                "status": "success",
                "data": {"resultType": "matrix", "result": [{"metric": metric, "values": values}]},
                "warnings": ["one warning"],
            });
            (doc, samples)
        })
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![select(&[200u16, 400, 422, 503, 502][..]), any::<u16>()]
}

fn check_any(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    match range(status, body) {
        Ok(samples) => {
            for (_, v) in samples {
                prop_assert!(v.is_finite(), "sample {v}");
            }
        }
        Err(e) => error_message("parse_range", &e)?,
    }
    match instant(status, body) {
        Ok(v) => prop_assert!(v.is_none_or(f64::is_finite), "value {v:?}"),
        Err(e) => error_message("parse_instant", &e)?,
    }
    Ok(())
}

proptest! {
    #![proptest_config(mutate::config(128))]

    /// A valid matrix gives exactly its finite samples, in order, times in whole seconds.
    #[test]
    fn valid_matrices_give_their_finite_samples(
        (doc, samples) in matrix(),
        status in status(),
    ) {
        let body = serde_json::to_vec(&doc).unwrap();
        let got = range(status, &body).map_err(TestCaseError::fail)?;
        // The times as serde_json reads them back (its float parsing may land one unit in the
        // last place away from what was written).
        let read: Value = serde_json::from_slice(&body).unwrap();
        let times = read["data"]["result"][0]["values"].as_array().unwrap();
        let want: Vec<(i64, f64)> = samples
            .iter()
            .zip(times)
            .filter_map(|((_, v), t)| {
                let v: f64 = v.parse().ok()?;
                v.is_finite().then_some((t[0].as_f64()? as i64, v))
            })
            .collect();
        prop_assert_eq!(got, want);
    }

    /// An error envelope of any words is an error in clean words.
    #[test]
    fn error_envelopes_are_clean_errors(
        kind in prop_oneof![select(&["bad_data", "execution", "timeout", "canceled"][..]).prop_map(str::to_string), hostile_string()],
        message in hostile_string(),
        status in status(),
    ) {
        let body = serde_json::to_vec(&json!({"status": "error", "errorType": kind, "error": message})).unwrap();
        let e = range(status, &body).expect_err("an error envelope");
        error_message("parse_range", &e)?;
    }

    /// Several series are refused with a count; none is no data.
    #[test]
    fn result_counts(n in 0usize..20) {
        let result: Vec<Value> = (0..n).map(|i| json!({"metric": {"i": i.to_string()}, "values": [[1, "1"]]})).collect();
        let body = serde_json::to_vec(&json!({"status": "success", "data": {"resultType": "matrix", "result": result}})).unwrap();
        match (n, range(200, &body)) {
            (0, Ok(s)) => prop_assert!(s.is_empty()),
            (1, Ok(s)) => prop_assert_eq!(s, vec![(1, 1.0)]),
            (n, Err(e)) if n > 1 => prop_assert!(e.contains(&format!("{n} series")), "{}", e),
            (n, r) => prop_assert!(false, "{n} series: {r:?}"),
        }
    }

    /// Valid answers and error envelopes, mutated as trees and bytes.
    #[test]
    fn mutated_answers_never_panic(
        (doc, _) in matrix(),
        error in any::<bool>(),
        edits in mutate::edits(),
        bytes in mutate::byte_edits(),
        status in status(),
    ) {
        let doc = if error {
            json!({"status": "error", "errorType": "bad_data", "error": "parse error"})
        } else {
            doc
        };
        check_any(status, &mutate::mutated(&doc, &edits, &bytes))?;
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), status in status()) {
        check_any(status, &body)?;
    }
}

/// Every prefix of a real answer is an error with words.
#[test]
fn every_truncation_is_an_error() {
    let body = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"lane":"api"},"values":[[1700000000,"0.01"],[1700000030.5,"0.02"],[1700000060,"NaN"]]}]},"warnings":["x"]}"#;
    assert_eq!(range(200, body).unwrap().len(), 2);
    for cut in 0..body.len() {
        let e = range(200, &body[..cut]).expect_err("a cut answer");
        assert!(!e.is_empty(), "{cut}");
    }
}

#[test]
fn deep_nesting_is_an_error() {
    let body = mutate::deeply_nested(
        "{\"status\":\"success\",\"data\":{\"result\":[{\"values\":",
        200_000,
        "}]}}",
    );
    assert!(range(200, &body).is_err());
}

/// Times beyond i64 and values beyond f64 are clamped or dropped, not a panic.
#[test]
fn out_of_range_samples() {
    let body = br#"{"status":"success","data":{"result":[{"values":[[1e300,"1"],[-1e300,"2"],[0,"1e999"],[5,"-0"],[6,"0x10"],[7,""]]}]}}"#;
    assert_eq!(
        range(200, body).unwrap(),
        vec![(i64::MAX, 1.0), (i64::MIN, 2.0), (5, -0.0)]
    );
}

/// The instant query's answers: a vector of one, none, a scalar; several series and a matrix
/// are errors in words; every prefix of an answer is an error.
#[test]
fn instant_answers() {
    let one = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.25"]}]}}"#;
    assert_eq!(instant(200, one).unwrap(), Some(0.25));
    let none = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    assert_eq!(instant(200, none).unwrap(), None);
    let scalar =
        br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#;
    assert_eq!(instant(200, scalar).unwrap(), Some(42.0));
    let two = br#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]}}"#;
    assert!(instant(200, two).unwrap_err().contains("2 series"));
    let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
    assert!(instant(200, matrix).is_err());
    for cut in 0..one.len() {
        assert!(instant(200, &one[..cut]).is_err(), "{cut}");
    }
}
