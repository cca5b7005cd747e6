//! The `prometheus` source: the `[[metrics]]` of the config, measured per lane × stage with
//! `/api/v1/query_range` (the series and, as its newest sample, the current value), and the
//! stable side's baseline the same way. Prometheus' error envelope becomes the metric's error.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use super::http::describe_reqwest;
use super::{ActionAck, ActionError, ActionRequest, BoxFuture, Source};
use crate::config::{Config, MetricConfig, SourceConfig};
use crate::model::text::sanitize;
use crate::model::{Batch, CellKey, Metric};
use crate::secrets::Secret;

/// Points of a series, about.
const POINTS: u32 = 30;

/// How requests authenticate; `Debug` shows `***` for the secrets ([`Secret`]).
#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(Secret),
    Basic(String, Secret),
}

/// One measurement to make: a metric of a lane at a stage.
#[derive(Clone, Debug)]
struct Job {
    key: CellKey,
    metric: MetricConfig,
    query: String,
    baseline: Option<String>,
}

pub struct PrometheusSource {
    name: String,
    base: String,
    interval: Duration,
    timeout: Duration,
    auth: Auth,
    jobs: Vec<Job>,
    client: reqwest::Client,
}

impl PrometheusSource {
    pub fn new(cfg: &SourceConfig, token: Option<Secret>, config: &Config) -> Result<Self, String> {
        let auth = match (super::resolve_basic(cfg)?, token) {
            (Some((user, pass)), _) => Auth::Basic(user, pass),
            (None, Some(t)) => Auth::Bearer(t),
            (None, None) => Auth::None,
        };
        let client = super::client::build(cfg)?;
        let empty = BTreeMap::new();
        let mut jobs = Vec::new();
        for m in config.metrics.iter().filter(|m| m.source == cfg.name) {
            for lane in &config.train.lanes {
                let vars = config.lane_vars.get(&lane.name).unwrap_or(&empty);
                for stage in &m.stages {
                    jobs.push(Job {
                        key: CellKey::new(&lane.name, stage),
                        metric: m.clone(),
                        query: m.render(&m.query, &lane.name, stage, vars),
                        baseline: m
                            .baseline
                            .as_ref()
                            .map(|b| m.render(b, &lane.name, stage, vars)),
                    });
                }
            }
        }
        Ok(PrometheusSource {
            name: cfg.name.clone(),
            base: cfg.url.trim_end_matches('/').to_string(),
            interval: cfg.interval,
            timeout: cfg.timeout,
            auth,
            jobs,
            client,
        })
    }

    /// `query_range` over the metric's window: the samples, oldest first.
    async fn range(&self, query: &str, window: Duration) -> Result<Vec<(i64, f64)>, String> {
        // Millisecond precision: a sample of this very second is not left out.
        let end = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        let start = end - window.as_secs_f64();
        let step = (window.as_secs() / POINTS as u64).max(1);
        let form = [
            ("query", query.to_string()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", step.to_string()),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let mut rb = self
            .client
            .post(format!("{}/api/v1/query_range", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        rb = match &self.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t.expose()),
            Auth::Basic(u, p) => rb.basic_auth(u, Some(p.expose())),
        };
        let resp = rb.send().await.map_err(|e| describe_reqwest(&e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| describe_reqwest(&e))?;
        parse_range(status.as_u16(), &bytes)
    }

    async fn measure(&self, job: &Job) -> (CellKey, Metric) {
        let m = &job.metric;
        let (series, error) = match self.range(&job.query, m.window).await {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let baseline_series = match &job.baseline {
            Some(q) => self.range(q, m.window).await.unwrap_or_default(),
            None => Vec::new(),
        };
        let metric = Metric {
            name: m.name.clone(),
            unit: m.unit.clone(),
            value: series.last().map(|(_, v)| *v),
            threshold: m.threshold,
            baseline: baseline_series.last().map(|(_, v)| *v),
            baseline_series,
            series,
            source: String::new(),
            error,
        };
        (job.key.clone(), metric)
    }

    async fn fetch(&self) -> Result<Batch, String> {
        let results = join_all(self.jobs.iter().map(|j| self.measure(j))).await;
        // Every query failing the same way is the source failing (down, bad token).
        if !results.is_empty()
            && results
                .iter()
                .all(|(_, m)| m.error.is_some() && m.series.is_empty())
        {
            let first = results[0].1.error.clone().unwrap_or_default();
            if results
                .iter()
                .all(|(_, m)| m.error.as_deref() == Some(first.as_str()))
            {
                return Err(first);
            }
        }
        Ok(Batch {
            metrics: results,
            ..Batch::default()
        })
    }
}

/// A Prometheus answer to `query_range`: the first series' samples, or the error in words.
/// Several series (a query that didn't aggregate) are an error: which one would it be?
pub fn parse_range(status: u16, body: &[u8]) -> Result<Vec<(i64, f64)>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| format!("HTTP {status}: not a Prometheus answer"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v
            .get("errorType")
            .and_then(Value::as_str)
            .unwrap_or("error");
        let msg = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(format!("{}: {}", sanitize(kind, 40), sanitize(msg, 200)));
    }
    let result = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or("answer without data.result")?;
    match result.as_slice() {
        [] => Ok(Vec::new()),
        [one] => {
            let values = one
                .get("values")
                .and_then(Value::as_array)
                .ok_or("series without values")?;
            Ok(values
                .iter()
                .filter_map(|p| {
                    let t = p.get(0)?.as_f64()? as i64;
                    let v: f64 = p.get(1)?.as_str()?.parse().ok()?;
                    v.is_finite().then_some((t, v))
                })
                .collect())
        }
        many => Err(format!(
            "the query returns {} series; aggregate it to one (sum, max, …)",
            many.len()
        )),
    }
}

impl Source for PrometheusSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        "prometheus"
    }
    fn interval(&self) -> Duration {
        self.interval
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    /// All queries go concurrently; each is bounded by the client's timeout.
    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(4) + Duration::from_secs(1)
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        Box::pin(self.fetch())
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(async {
            Err(ActionError::Unsupported(
                "prometheus measures; it does not act".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_matrix_and_the_error_envelope() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"0.01"],[1700000030.5,"0.02"],[1700000060,"NaN"]]}]}}"#;
        assert_eq!(
            parse_range(200, ok).unwrap(),
            vec![(1_700_000_000, 0.01), (1_700_000_030, 0.02)]
        );
        let empty = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(parse_range(200, empty).unwrap(), vec![]);
        let bad = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \u001b[31m"}"#;
        let e = parse_range(400, bad).unwrap_err();
        assert!(
            e.starts_with("bad_data: 1:5: parse error") && !e.contains('\u{1b}'),
            "{e}"
        );
        let two = br#"{"status":"success","data":{"resultType":"matrix","result":[{"values":[]},{"values":[]}]}}"#;
        assert!(parse_range(200, two).unwrap_err().contains("2 series"));
        assert!(
            parse_range(502, b"<html>")
                .unwrap_err()
                .contains("HTTP 502")
        );
    }
}
