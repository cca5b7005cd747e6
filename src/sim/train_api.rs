//! `GET /v1/train` with the protocol's extensions (docs/protocol.md, "Paying for change
//! only"): `ETag` / `If-None-Match` answered `304 Not Modified`, gzip for a client that
//! accepts it, `?since=CURSOR` deltas and `?metrics=false`; or, with `--no-extensions`, as a
//! plain protocol v1 server that knows none of them.
//!
//! And the simulator's count of what it sent: `GET /v1/_sim/traffic` (every answer to
//! `GET /v1/train` since the start or the last `DELETE /v1/_sim/traffic`: how many were whole,
//! deltas, 304s, gzip; the bytes of their bodies as sent and before compression; and the last
//! [`RECENT`] answers one by one).

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::feed::{Answer, Feed};
use super::github_server::etag_matches;
use super::server::Shared;

/// Answers kept one by one in the traffic count.
pub(crate) const RECENT: usize = 200;
/// Bodies shorter than this go uncompressed: gzip's own header would eat the gain.
const GZIP_MIN: usize = 512;

/// The `/v1/train` face: its feed of changes and the count of what it sent.
pub(crate) struct TrainApi {
    /// Serve the extensions (`false`: `--no-extensions`).
    extensions: bool,
    feed: Feed,
    traffic: Traffic,
}

#[derive(Default)]
struct Traffic {
    requests: u64,
    full: u64,
    delta: u64,
    not_modified: u64,
    gzip: u64,
    /// Body bytes as sent (compressed when gzip).
    bytes: u64,
    /// Body bytes before compression.
    bytes_uncompressed: u64,
    recent: VecDeque<Value>,
}

impl Traffic {
    fn record(&mut self, entry: Value) {
        self.requests += 1;
        match entry["kind"].as_str() {
            Some("delta") => self.delta += 1,
            Some("not_modified") => self.not_modified += 1,
            _ => self.full += 1,
        }
        if entry["gzip"] == true {
            self.gzip += 1;
        }
        self.bytes += entry["bytes"].as_u64().unwrap_or(0);
        self.bytes_uncompressed += entry["uncompressed"].as_u64().unwrap_or(0);
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(entry);
    }

    fn json(&self) -> Value {
        json!({
            "train": {
                "requests": self.requests,
                "full": self.full,
                "delta": self.delta,
                "not_modified": self.not_modified,
                "gzip": self.gzip,
                "bytes": self.bytes,
                "bytes_uncompressed": self.bytes_uncompressed,
            },
            "recent": self.recent,
        })
    }
}

impl TrainApi {
    /// `epoch` tells this run's cursors from another's.
    pub(crate) fn new(extensions: bool, epoch: u64) -> TrainApi {
        TrainApi {
            extensions,
            feed: Feed::new(epoch),
            traffic: Traffic::default(),
        }
    }
}

/// What a request asks of `/v1/train`.
#[derive(Debug, Default, PartialEq)]
struct Ask {
    since: Option<String>,
    metrics: bool,
    if_none_match: Option<String>,
    gzip: bool,
}

impl Ask {
    fn new(uri: &Uri, headers: &HeaderMap) -> Ask {
        let mut ask = Ask {
            metrics: true,
            ..Ask::default()
        };
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match &*k {
                "since" if !v.is_empty() => ask.since = Some(v.into_owned()),
                "metrics" => ask.metrics = v != "false",
                _ => {}
            }
        }
        let text = |name| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        let inm = text(header::IF_NONE_MATCH);
        ask.if_none_match = (!inm.trim().is_empty()).then_some(inm);
        ask.gzip = accepts_gzip(&text(header::ACCEPT_ENCODING));
        ask
    }
}

/// Whether an `Accept-Encoding` value takes gzip (named or `*`, with a q-value above 0).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|part| {
        let mut bits = part.split(';').map(str::trim);
        let coding = bits.next().unwrap_or("").to_ascii_lowercase();
        let q = bits
            .filter_map(|b| b.strip_prefix("q=").or_else(|| b.strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        (coding == "gzip" || coding == "x-gzip" || coding == "*") && q > 0.0
    })
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(5),
    );
    enc.write_all(body).ok()?;
    enc.finish().ok()
}

/// `GET /v1/train`.
pub(crate) async fn train(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let api = &mut inner.train;
    if !api.extensions {
        // A plain protocol v1 server: the whole train, every time, as it is.
        let body = serde_json::to_vec(&inner.scenario.train_json()).unwrap_or_default();
        api.traffic.record(json!({
            "status": 200, "kind": "full", "gzip": false, "bytes": body.len(),
            "uncompressed": body.len(), "cells": null, "since": null, "if_none_match": false,
        }));
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let ask = Ask::new(&uri, &headers);
    api.feed.refresh(&inner.scenario, ask.metrics);
    let etag = api.feed.etag(ask.metrics);
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("W/\"\""));
    let vary = HeaderValue::from_static("Accept-Encoding");
    if ask
        .if_none_match
        .as_deref()
        .is_some_and(|inm| etag_matches(inm, &etag))
    {
        api.traffic.record(json!({
            "status": 304, "kind": "not_modified", "gzip": false, "bytes": 0,
            "uncompressed": 0, "cells": 0, "since": ask.since, "if_none_match": true,
        }));
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::VARY, vary)],
        )
            .into_response();
    }
    let generated_at = inner.scenario.generated_at();
    let answer = api
        .feed
        .answer(ask.since.as_deref(), ask.metrics, &generated_at);
    let (body, mut entry) = match answer {
        Answer::Full { body, cells } => (body, json!({"kind": "full", "cells": cells})),
        Answer::Delta {
            body,
            cells,
            metrics,
            removed,
        } => (
            body,
            json!({"kind": "delta", "cells": cells, "metrics": metrics, "removed": removed}),
        ),
    };
    // Compressing takes time: the simulator's other endpoints don't wait for it.
    drop(guard);
    let plain_len = body.len();
    let packed = (ask.gzip && plain_len >= GZIP_MIN)
        .then(|| gzip(&body))
        .flatten();
    entry["status"] = json!(200);
    entry["gzip"] = json!(packed.is_some());
    entry["uncompressed"] = json!(plain_len);
    entry["since"] = json!(ask.since);
    entry["if_none_match"] = json!(ask.if_none_match.is_some());
    let mut resp = match packed {
        Some(gz) => {
            entry["bytes"] = json!(gz.len());
            let mut r = gz.into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => {
            entry["bytes"] = json!(plain_len);
            body.into_response()
        }
    };
    shared.lock().train.traffic.record(entry);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::ETAG, etag_value);
    h.insert(header::VARY, vary);
    resp
}

/// `GET /v1/_sim/traffic`.
pub(crate) async fn traffic(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    axum::Json(inner.train.traffic.json()).into_response()
}

/// `DELETE /v1/_sim/traffic`: start counting again.
pub(crate) async fn clear_traffic(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    inner.train.traffic = Traffic::default();
    axum::Json(inner.train.traffic.json()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_and_if_none_match_are_read_as_http_says() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, GZIP;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, deflate"));
        assert!(!accepts_gzip(""));
        let tag = "W/\"1f-c12\"";
        assert!(etag_matches("W/\"1f-c12\"", tag));
        // Weak comparison: the strong form names the same state.
        assert!(etag_matches("\"1f-c12\"", tag));
        assert!(etag_matches("\"x\", W/\"1f-c12\"", tag));
        assert!(etag_matches("*", tag));
        assert!(!etag_matches("W/\"1f-c11\"", tag));
        assert!(!etag_matches("W/\"2f-c12\"", tag));
    }

    #[test]
    fn the_query_names_the_cursor_and_the_metrics() {
        let uri: Uri = "/v1/train?since=1f-12&metrics=false&other=1"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
        headers.insert(header::IF_NONE_MATCH, "W/\"1f-c12\"".parse().unwrap());
        let ask = Ask::new(&uri, &headers);
        assert_eq!(ask.since.as_deref(), Some("1f-12"));
        assert!(!ask.metrics && ask.gzip);
        assert_eq!(ask.if_none_match.as_deref(), Some("W/\"1f-c12\""));
        let plain = Ask::new(&"/v1/train".parse().unwrap(), &HeaderMap::new());
        assert_eq!(
            plain,
            Ask {
                metrics: true,
                ..Ask::default()
            }
        );
    }
}
