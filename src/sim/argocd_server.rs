//! The HTTP face of the Argo CD subset, under `/api/v1/applications` as the Argo CD API server
//! serves it: bearer auth (no token, or the token `expired`: 401 as Argo CD words it; the token
//! `trainyard-readonly`: reads only, every action 403 "permission denied" as Argo CD's RBAC
//! words it), and a log of every request for tests. What the endpoints answer is
//! `scenario/argocd.rs`.
//!
//! Endpoints: `GET /api/v1/applications` (`projects`, `name`; `fields` is accepted and
//! ignored), `GET /api/v1/applications/{name}`, `POST …/{name}/sync` (`revision`, `dryRun`),
//! `POST …/{name}/rollback` (`id`), `DELETE …/{name}/operation`, `GET …/{name}/resource`
//! (the Rollout's live manifest), `GET|POST …/{name}/resource/actions` (a Rollout's actions:
//! listed with `disabled` flags; run with the action's name as the JSON body), `GET
//! /api/v1/account/can-i/{resource}/{action}/{subresource}` (`{"value": "yes"|"no"}`; as Argo
//! CD's, 400 to anything but a plain action: get, create, update, delete, sync, override).
//!
//! Test knobs (no auth): `GET /api/v1/_sim/argocd/requests` lists every request (`method`,
//! `path`, `query`, `body`, `status`), `DELETE` clears it; `POST /api/v1/_sim/argocd/windows`
//! `{"application", "deny"}` opens or closes a deny sync window on an application (its
//! `GET …/{name}/syncwindows` says so, and a sync or rollback is refused 403);
//! `POST /api/v1/_sim/argocd/rbac` `{"application", "action", "deny"}` makes RBAC deny an
//! action (`sync`, `action/argoproj.io/Rollout/resume`, …) on an application: the action is
//! refused 403, and for a plain action `GET
//! /api/v1/account/can-i/applications/{action}/{project}%2F{app}` says "no".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::scenario::{READONLY_TOKEN, argo_error};
use super::server::Shared;

/// Requests kept for tests, at most (the oldest go first).
const LOG_MAX: usize = 1000;

/// The Argo CD face's own state besides the applications: its request log.
#[derive(Debug, Default)]
pub(crate) struct ArgoLog {
    requests: Vec<Value>,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    let t = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !t.is_empty()).then(|| t.to_string())
}

fn reply(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body_json: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return reply(400, argo_error(400, &format!("invalid JSON body: {e}")).1),
        }
    };
    let now = shared.now();
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let (status, out) = match bearer(&headers).as_deref() {
        None => argo_error(401, "no session information"),
        Some("expired") => argo_error(
            401,
            "invalid session: token has invalid claims: token is expired",
        ),
        Some(token) => inner.argo.answer(
            now,
            method.as_str(),
            &path,
            &query,
            &body_json,
            token == READONLY_TOKEN,
        ),
    };
    let log = &mut inner.argo_log.requests;
    if log.len() >= LOG_MAX {
        log.remove(0);
    }
    let q: serde_json::Map<String, Value> =
        query.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    log.push(json!({"method": method.as_str(), "path": path, "query": q, "body": body_json, "status": status}));
    reply(status, out)
}

/// `GET|DELETE /api/v1/_sim/argocd/requests`.
pub(crate) async fn requests(State(shared): State<Arc<Shared>>, method: Method) -> Response {
    let mut inner = shared.lock();
    if method == Method::DELETE {
        inner.argo_log.requests.clear();
        return reply(200, json!({"cleared": true}));
    }
    reply(200, json!({"requests": inner.argo_log.requests}))
}

/// `POST /api/v1/_sim/argocd/rbac` `{"application": NAME, "action": ACTION, "deny": BOOL}`:
/// RBAC denies (or allows again) an action on an application to the demo's account.
pub(crate) async fn rbac(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(app), Some(action), Some(deny)) = (
        v.get("application").and_then(Value::as_str),
        v.get("action").and_then(Value::as_str),
        v.get("deny").and_then(Value::as_bool),
    ) else {
        return reply(
            400,
            json!({"error": "want {\"application\": NAME, \"action\": ACTION, \"deny\": BOOL}"}),
        );
    };
    let mut inner = shared.lock();
    if inner.argo.set_rbac(app, action, deny) {
        reply(
            200,
            json!({"application": app, "action": action, "deny": deny}),
        )
    } else {
        reply(404, json!({"error": format!("no application {app}")}))
    }
}

/// `POST /api/v1/_sim/argocd/windows` `{"application": NAME, "deny": true|false}`: open or close
/// a deny sync window on an application.
pub(crate) async fn windows(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(app), Some(deny)) = (
        v.get("application").and_then(Value::as_str),
        v.get("deny").and_then(Value::as_bool),
    ) else {
        return reply(
            400,
            json!({"error": "want {\"application\": NAME, \"deny\": BOOL}"}),
        );
    };
    let mut inner = shared.lock();
    if inner.argo.set_window(app, deny) {
        reply(200, json!({"application": app, "deny": deny}))
    } else {
        reply(404, json!({"error": format!("no application {app}")}))
    }
}
