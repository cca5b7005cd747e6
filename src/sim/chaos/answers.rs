//! What a fault answers, as each API's world sends it: a cut connection, a 429 storm's answer,
//! a server error, a broken body, a body that trickles.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::chaos_conn::{Conn, Cut};
use super::{Api, Ended, SLOW_BYTE_EVERY};

/// Close the connection without an answer: a FIN or, every other time, a reset. (Without a
/// connection to cut — a router driven in-process — a 502 stands in.)
pub(super) fn hang_up(conn: Option<&Conn>, variant: u64) -> Response {
    match conn {
        Some(c) => c.cut(if variant.is_multiple_of(2) {
            Cut::Close
        } else {
            Cut::Reset
        }),
        None => tracing::warn!("chaos: no connection to cut; answering 502 instead"),
    }
    StatusCode::BAD_GATEWAY.into_response()
}

fn secs_up(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

const GH_DOCS: &str =
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";

/// A 429 storm's answer, as each API's world sends it.
pub(super) fn rate_limited(api: Api, left: Duration, variant: u64) -> Response {
    let secs = secs_up(left);
    let retry = [(header::RETRY_AFTER, secs.to_string())];
    match api {
        Api::Http => (
            StatusCode::TOO_MANY_REQUESTS,
            retry,
            axum::Json(json!({"error": {"code": "rate_limited",
                "message": format!("too many requests (chaos): retry after {secs}s")}})),
        )
            .into_response(),
        Api::Github => match variant % 3 {
            0 => (
                StatusCode::TOO_MANY_REQUESTS,
                retry,
                axum::Json(json!({"message": "API rate limit exceeded (chaos)", "documentation_url": GH_DOCS})),
            )
                .into_response(),
            // A secondary rate limit: 403, a message that says so, and retry-after.
            1 => (
                StatusCode::FORBIDDEN,
                retry,
                axum::Json(json!({
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. (chaos)",
                    "documentation_url": format!("{GH_DOCS}#about-secondary-rate-limits")})),
            )
                .into_response(),
            // The primary budget spent: 403, remaining 0 and the reset, no retry-after.
            _ => {
                let reset = chrono::Utc::now().timestamp() + secs as i64;
                let mut r = (
                    StatusCode::FORBIDDEN,
                    axum::Json(json!({"message": "API rate limit exceeded for user ID 1. (chaos)",
                                      "documentation_url": GH_DOCS})),
                )
                    .into_response();
                let h = r.headers_mut();
                for (k, v) in [
                    ("x-ratelimit-limit", "5000".to_string()),
                    ("x-ratelimit-remaining", "0".to_string()),
                    ("x-ratelimit-used", "5000".to_string()),
                    ("x-ratelimit-reset", reset.to_string()),
                    ("x-ratelimit-resource", "core".to_string()),
                ] {
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        h.insert(k, v);
                    }
                }
                r
            }
        },
        // Prometheus has no rate limit of its own; the proxy in front of it has.
        Api::Prometheus => (
            StatusCode::TOO_MANY_REQUESTS,
            retry,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "429 Too Many Requests: rate limited by the proxy (chaos)\n",
        )
            .into_response(),
        // GitLab's own throttle: 429, `Retry later`, retry-after and the RateLimit headers.
        Api::Gitlab => {
            let reset = chrono::Utc::now().timestamp() + secs as i64;
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                retry,
                axum::Json(json!({"message": "Retry later (chaos)"})),
            )
                .into_response();
            let h = r.headers_mut();
            for (k, v) in [
                ("ratelimit-limit", "2000".to_string()),
                ("ratelimit-remaining", "0".to_string()),
                ("ratelimit-reset", reset.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            }
            r
        }
    }
}

fn html_page(code: u16, reason: &str) -> String {
    format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx (trainyard sim chaos)</center>\r\n</body>\r\n</html>\r\n"
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A 500 or a 503, in the API's own error shape; Prometheus' 503 is the proxy's HTML page.
pub(super) fn server_error(api: Api, variant: u64) -> Response {
    let unavailable = variant % 2 == 1;
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = match (api, unavailable) {
        (Api::Http, false) => {
            json!({"error": {"code": "internal", "message": "the server failed (chaos: injected 500)"}})
        }
        (Api::Http, true) => {
            json!({"error": {"code": "unavailable", "message": "deploy database unreachable (chaos: injected 503)"}})
        }
        (Api::Github, false) => json!({"message": "Server Error"}),
        (Api::Github, true) => json!({"message": "Service Unavailable"}),
        (Api::Gitlab, false) => json!({"message": "500 Internal Server Error"}),
        (Api::Gitlab, true) => {
            return html(status, html_page(503, "Service Temporarily Unavailable"));
        }
        (Api::Prometheus, false) => {
            json!({"status": "error", "errorType": "internal", "error": "chaos: injected server failure"})
        }
        (Api::Prometheus, true) => {
            return html(status, html_page(503, "Service Temporarily Unavailable"));
        }
    };
    (status, axum::Json(body)).into_response()
}

/// The same answer with a broken body: JSON cut in half, the wrong types, or a proxy's HTML
/// page. A 304 becomes a 200 (a 304 has no body to break); validators (ETag, Last-Modified)
/// go, so that a client never caches the broken body as the real one; a gzip body is broken
/// decompressed and sent plain.
pub(super) async fn malformed(resp: Response, variant: u64) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    if parts.status == StatusCode::NOT_MODIFIED {
        parts.status = StatusCode::OK;
    }
    for h in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::CONTENT_LENGTH,
        header::LINK,
    ] {
        parts.headers.remove(h);
    }
    // A compressed body is broken as the document it holds: what arrives is plain.
    let bytes = if parts
        .headers
        .remove(header::CONTENT_ENCODING)
        .is_some_and(|e| e.as_bytes().eq_ignore_ascii_case(b"gzip"))
    {
        let mut plain = Vec::new();
        match std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain)
        {
            Ok(_) => Bytes::from(plain),
            Err(e) => {
                // Broken as it came: the client sees a gzip body that isn't one.
                tracing::warn!("chaos: a gzip body did not decode ({e}); broken as it is");
                bytes
            }
        }
    } else {
        bytes
    };
    let json_type = HeaderValue::from_static("application/json");
    let new_body = match variant % 3 {
        0 => {
            parts.headers.insert(header::CONTENT_TYPE, json_type);
            truncate(&bytes)
        }
        1 => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => {
                parts.headers.insert(header::CONTENT_TYPE, json_type);
                Bytes::from(serde_json::to_vec(&confuse(v)).unwrap_or_default())
            }
            Err(_) => truncate(&bytes),
        },
        _ => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Bytes::from(html_page(502, "Bad Gateway"))
        }
    };
    Response::from_parts(parts, Body::from(new_body))
}

/// The first half of a body (never all of it; `{` for an empty one).
fn truncate(b: &[u8]) -> Bytes {
    if b.len() < 2 {
        return Bytes::from_static(b"{");
    }
    Bytes::copy_from_slice(&b[..b.len() / 2])
}

/// The same document with the wrong types: a list where an object was promised and the
/// other way round; one level down, every value's type swapped.
pub(super) fn confuse(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, swap(v))).collect()),
        Value::Array(a) => json!({ "items": a }),
        other => swap(other),
    }
}

fn swap(v: Value) -> Value {
    match v {
        Value::String(s) => json!(s.len()),
        Value::Number(n) => json!(n.to_string()),
        Value::Bool(b) => json!(if b { "yes" } else { "no" }),
        Value::Null => json!([]),
        Value::Array(a) => json!({ "items": a }),
        Value::Object(m) => Value::Array(m.into_iter().map(|(_, v)| v).collect()),
    }
}

/// The answer's headers at once, its body one byte every [`SLOW_BYTE_EVERY`]; the rest at once
/// when the fault ends.
pub(super) async fn trickle(resp: Response, ended: Ended) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from_stream(Trickle::new(bytes, ended)))
}

/// The stream of a slow body.
struct Trickle {
    rest: Bytes,
    tick: tokio::time::Interval,
    ended: Ended,
}

impl Trickle {
    fn new(rest: Bytes, ended: Ended) -> Trickle {
        let mut tick = tokio::time::interval(SLOW_BYTE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Trickle { rest, tick, ended }
    }
}

impl futures_util::Stream for Trickle {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        if this.ended.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.rest))));
        }
        match this.tick.poll_tick(cx) {
            Poll::Ready(_) => Poll::Ready(Some(Ok(this.rest.split_to(1)))),
            Poll::Pending => Poll::Pending,
        }
    }
}
