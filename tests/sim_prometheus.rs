//! The simulator's Prometheus face over real HTTP on 127.0.0.1: `/metrics` in the text
//! exposition format, `/api/v1/query` and `/api/v1/query_range` with Prometheus' envelopes, and
//! the same numbers as `/v1/train`'s metrics.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;
use trainyard::sim::{SimHandle, SimOptions};

use common::sim::get;

const NAMES: [(&str, &str); 3] = [
    ("error_rate", "trainyard_sim_error_rate"),
    ("latency_p99", "trainyard_sim_latency_p99_seconds"),
    ("saturation", "trainyard_sim_saturation_ratio"),
];

async fn sim() -> (SimHandle, reqwest::Client) {
    let handle = common::sim::start(SimOptions::default()).await;
    (handle, common::sim::client())
}

fn form(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

async fn api(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    get(client, format!("{base}/api/v1/{path}?{}", form(params))).await
}

async fn api_post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/api/v1/{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(params))
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

async fn train(client: &reqwest::Client, base: &str) -> Value {
    let (status, t) = get(client, format!("{base}/v1/train")).await;
    assert_eq!(status, 200);
    t
}

fn metric<'a>(train: &'a Value, lane: &str, stage: &str, name: &str) -> &'a Value {
    train["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["lane"] == lane && m["stage"] == stage && m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} at {lane} {stage}"))
}

/// `[[t, v], ...]` of a `/v1/train` series.
fn points(m: &Value) -> Vec<(i64, f64)> {
    m["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

/// One sample line of the text format: `name{k="v",...} value`.
fn parse_sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let brace = line
        .find('{')
        .unwrap_or_else(|| panic!("no labels: {line:?}"));
    let name = &line[..brace];
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit()),
        "metric name {name:?}"
    );
    let mut labels = BTreeMap::new();
    let mut chars = line[brace + 1..].chars();
    loop {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {key:?} in {line:?}"
        );
        assert_eq!(chars.next(), Some('"'), "{line:?}");
        let mut value = String::new();
        loop {
            match chars.next().expect("a closed label value") {
                '"' => break,
                '\\' => match chars.next() {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                '\n' => panic!("raw newline in {line:?}"),
                c => value.push(c),
            }
        }
        assert!(
            labels.insert(key, value).is_none(),
            "duplicate label in {line:?}"
        );
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            other => panic!("unexpected {other:?} in {line:?}"),
        }
    }
    let rest: String = chars.collect();
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no value in {line:?}"));
    assert!(
        !value.contains(' '),
        "a timestamp or junk after the value: {line:?}"
    );
    let v = value
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("value {value:?} in {line:?}"));
    (name.to_string(), labels, v)
}

/// Every sample of `/metrics`, by (name, lane, stage, side).
async fn scrape(
    client: &reqwest::Client,
    base: &str,
) -> BTreeMap<(String, String, String, String), f64> {
    let resp = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with('\n'));
    let mut typed: Vec<String> = Vec::new();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(!typed.iter().any(|n| n == name), "HELP twice for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge", "{line}");
            assert!(!typed.iter().any(|n| n == name), "TYPE twice for {name}");
            typed.push(name.to_string());
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (name, labels, v) = parse_sample(line);
            // Samples of a family follow its TYPE, all together.
            assert_eq!(typed.last(), Some(&name), "{line}");
            assert_eq!(
                labels.keys().collect::<Vec<_>>(),
                ["lane", "side", "stage"],
                "{line}"
            );
            let key = (
                name,
                labels["lane"].clone(),
                labels["stage"].clone(),
                labels["side"].clone(),
            );
            assert!(out.insert(key, v).is_none(), "duplicate series: {line}");
        }
    }
    assert_eq!(
        typed,
        NAMES.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>()
    );
    out
}

#[tokio::test]
async fn metrics_is_valid_text_format_with_every_lane_and_stage_and_the_train_numbers() {
    let (handle, client) = sim().await;
    let base = handle.base_url();
    let before = train(&client, &base).await;
    let samples = scrape(&client, &base).await;
    let after = train(&client, &base).await;
    let lanes: Vec<&str> = before["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["stage"] == "build")
        .map(|c| c["lane"].as_str().unwrap())
        .collect();
    assert_eq!(lanes.len(), 9);
    // Three stages with metrics plus the stable side at canary, for three metrics.
    assert_eq!(samples.len(), lanes.len() * 4 * 3);
    for (name, prom) in NAMES {
        for lane in &lanes {
            for stage in ["staging", "canary", "prod"] {
                let key = |side: &str| {
                    (
                        prom.to_string(),
                        lane.to_string(),
                        stage.to_string(),
                        side.to_string(),
                    )
                };
                let got = samples[&key("canary")];
                // A sample may land between the requests: the value is one of the two.
                let want = |t: &Value| metric(t, lane, stage, name)["value"].as_f64().unwrap();
                assert!(
                    got == want(&before) || got == want(&after),
                    "{prom} {lane} {stage}: {got}"
                );
                let stable = samples.get(&key("stable"));
                if stage == "canary" {
                    let base =
                        |t: &Value| metric(t, lane, stage, name)["baseline"].as_f64().unwrap();
                    let got = *stable.expect("a stable side at canary");
                    assert!(got == base(&before) || got == base(&after));
                } else {
                    assert!(stable.is_none());
                }
            }
        }
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn instant_queries_answer_a_vector_with_the_train_numbers() {
    let (handle, client) = sim().await;
    let base = handle.base_url();
    let t = train(&client, &base).await;
    let m = metric(&t, "notifications", "canary", "error_rate");
    let pts = points(m);
    let (ts, v) = *pts.last().unwrap();
    let prod = points(metric(&t, "notifications", "prod", "error_rate"));
    let time = ts.to_string();

    let q = r#"trainyard_sim_error_rate{lane="notifications",stage="canary"}"#;
    let (status, body) = api(&client, &base, "query", &[("query", q), ("time", &time)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2, "canary and stable: {body}");
    for r in result {
        assert_eq!(r["metric"]["__name__"], "trainyard_sim_error_rate");
        assert_eq!(r["metric"]["lane"], "notifications");
        assert_eq!(r["metric"]["stage"], "canary");
        let value = r["value"].as_array().unwrap();
        assert_eq!(value[0].as_f64(), Some(ts as f64));
        let s = value[1].as_str().expect("the value as a string");
        let want = if r["metric"]["side"] == "stable" {
            prod.iter().find(|p| p.0 == ts).unwrap().1
        } else {
            assert_eq!(r["metric"]["side"], "canary");
            v
        };
        assert_eq!(s.parse::<f64>().unwrap(), want, "{r}");
    }

    // The same as a form POST, with an RFC 3339 time; one side only.
    let rfc = chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .to_rfc3339();
    let q = r#"trainyard_sim_error_rate{lane="notifications",stage="canary",side="stable"}"#;
    let (status, post) = api_post(&client, &base, "query", &[("query", q), ("time", &rfc)]).await;
    assert_eq!(status, 200, "{post}");
    let result = post["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0]["metric"]["side"], "stable");

    // Without a time: now; every series of a metric.
    let (status, all) = api(
        &client,
        &base,
        "query",
        &[("query", "trainyard_sim_saturation_ratio")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(all["data"]["result"].as_array().unwrap().len(), 9 * 4);

    // An unknown metric is no error, just nothing.
    let (status, none) = api(&client, &base, "query", &[("query", "no_such_metric")]).await;
    assert_eq!(status, 200);
    assert_eq!(none["status"], "success");
    assert_eq!(none["data"]["result"], Value::Array(vec![]));
    handle.shutdown().await;
}

#[tokio::test]
async fn range_queries_answer_a_matrix_sampled_from_the_train_series() {
    let (handle, client) = sim().await;
    let base = handle.base_url();
    let t = train(&client, &base).await;
    for (name, prom) in NAMES {
        let pts = points(metric(&t, "ledger", "canary", name));
        // From the second point: the oldest may drop out if a sample lands meanwhile.
        let (start, end) = (pts[1].0.to_string(), pts.last().unwrap().0.to_string());
        let q = format!(r#"{prom}{{lane="ledger",stage="canary",side="canary"}}"#);
        let (status, body) = api(
            &client,
            &base,
            "query_range",
            &[
                ("query", &q),
                ("start", &start),
                ("end", &end),
                ("step", "1s"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "success");
        assert_eq!(body["data"]["resultType"], "matrix");
        let result = body["data"]["result"].as_array().unwrap();
        assert_eq!(result.len(), 1);
        assert_eq!(result[0]["metric"]["__name__"], prom);
        let values = result[0]["values"].as_array().unwrap();
        let (s, e) = (pts[1].0, pts.last().unwrap().0);
        assert_eq!(values.len() as i64, e - s + 1);
        let mut seen = 0;
        for pair in values {
            let at = pair[0].as_f64().unwrap();
            let v: f64 = pair[1].as_str().unwrap().parse().unwrap();
            // Every train point shows at its own second.
            if let Some(p) = pts.iter().find(|p| p.0 as f64 == at) {
                assert_eq!(v, p.1, "{prom} at {at}");
                seen += 1;
            }
        }
        assert_eq!(seen, pts.len() - 1);
    }

    // POST with a float step, stable side: as many series as lanes.
    let pts = points(metric(&t, "ledger", "canary", "error_rate"));
    let (s, e) = (pts[1].0, pts.last().unwrap().0);
    let (status, body) = api_post(
        &client,
        &base,
        "query_range",
        &[
            (
                "query",
                r#"{__name__="trainyard_sim_latency_p99_seconds",side="stable"}"#,
            ),
            ("start", &s.to_string()),
            ("end", &e.to_string()),
            ("step", "2.5"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 9);
    handle.shutdown().await;
}

#[tokio::test]
async fn broken_promql_and_bad_parameters_are_bad_data() {
    let (handle, client) = sim().await;
    let base = handle.base_url();
    let bad = |body: &Value, status: u16, needle: &str| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["status"], "error");
        assert_eq!(body["errorType"], "bad_data");
        let err = body["error"].as_str().unwrap();
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    };
    for q in [
        "rate(trainyard_sim_error_rate[5m])",
        "trainyard_sim_error_rate{lane=~\"pay.*\"}",
        "trainyard_sim_error_rate{lane=\"a\"",
        "sum by (lane) (trainyard_sim_error_rate)",
        "",
    ] {
        let (status, body) = api(&client, &base, "query", &[("query", q)]).await;
        bad(&body, status, "parse error");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid parameter \"query\": 1:")
        );
        let (status, body) = api_post(&client, &base, "query", &[("query", q)]).await;
        bad(&body, status, "parse error");
        let range = [("query", q), ("start", "1"), ("end", "2"), ("step", "1")];
        let (status, body) = api(&client, &base, "query_range", &range).await;
        bad(&body, status, "parse error");
    }
    let q = "trainyard_sim_error_rate";
    let (status, body) = api(
        &client,
        &base,
        "query",
        &[("query", q), ("time", "yesterday")],
    )
    .await;
    bad(&body, status, "invalid parameter \"time\"");
    for (params, needle) in [
        (
            vec![("end", "2"), ("step", "1")],
            "invalid parameter \"start\"",
        ),
        (
            vec![("start", "1"), ("step", "1")],
            "invalid parameter \"end\"",
        ),
        (
            vec![("start", "1"), ("end", "2")],
            "invalid parameter \"step\"",
        ),
        (
            vec![("start", "1"), ("end", "2"), ("step", "fast")],
            "invalid parameter \"step\"",
        ),
        (
            vec![("start", "3"), ("end", "2"), ("step", "1")],
            "end timestamp must not be before start time",
        ),
        (
            vec![("start", "1"), ("end", "2"), ("step", "0")],
            "zero or negative",
        ),
        (
            vec![("start", "0"), ("end", "100000"), ("step", "1")],
            "exceeded maximum resolution",
        ),
    ] {
        let mut all = vec![("query", q)];
        all.extend(params);
        let (status, body) = api(&client, &base, "query_range", &all).await;
        bad(&body, status, needle);
    }
    handle.shutdown().await;
}

#[tokio::test]
async fn the_failure_knob_answers_execution_and_timeout_envelopes_once() {
    let (handle, client) = sim().await;
    let base = handle.base_url();
    let q = [("query", "trainyard_sim_error_rate")];
    for (kind, status_want) in [("execution", 422), ("timeout", 503)] {
        let (status, body) = api_post(&client, &base, "_sim/fail", &[("type", kind)]).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = api(&client, &base, "query", &q).await;
        assert_eq!(status, status_want, "{body}");
        assert_eq!(body["status"], "error");
        assert_eq!(body["errorType"], kind);
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        let (status, body) = api(&client, &base, "query", &q).await;
        assert_eq!(status, 200, "only the next query fails: {body}");
    }
    let (status, body) = api_post(&client, &base, "_sim/fail", &[("type", "nonsense")]).await;
    assert_eq!(status, 400, "{body}");
    handle.shutdown().await;
}
