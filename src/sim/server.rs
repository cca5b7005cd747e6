//! The HTTP face of the simulator: a [`Scenario`] behind a mutex, moved to the wall clock on
//! every request.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::argocd_server::{self, ArgoLog};
use super::github_server::{self, GhState};
use super::gitlab_server::{self, GlState};
use super::prometheus::{self, PromState};
use super::scenario::{ArgoSim, Scenario};
use super::train_api::{self, TrainApi};

pub(crate) struct Shared {
    t0: DateTime<Utc>,
    clock: Clock,
    inner: Mutex<Inner>,
}

/// Where the simulator's time comes from.
enum Clock {
    /// The wall clock, from a monotonic start; a test may stop it (`POST /_sim/clock`).
    Wall(Mutex<Wall>),
    /// Set by a test: the same scenario time whatever the machine's pace.
    #[cfg(test)]
    Manual(Mutex<DateTime<Utc>>),
}

/// The wall clock of a simulator: the time it ran since its start, less the time it was
/// stopped.
struct Wall {
    start: Instant,
    /// Stopped since then.
    stopped: Option<Instant>,
    /// Stopped this long before.
    paused: std::time::Duration,
}

impl Wall {
    fn elapsed(&self) -> std::time::Duration {
        let until = self.stopped.unwrap_or_else(Instant::now);
        until
            .saturating_duration_since(self.start)
            .saturating_sub(self.paused)
    }

    fn run(&mut self, run: bool) {
        match (self.stopped, run) {
            (Some(at), true) => {
                self.paused += at.elapsed();
                self.stopped = None;
            }
            (None, false) => self.stopped = Some(Instant::now()),
            _ => {}
        }
    }
}

pub(crate) struct Inner {
    pub(crate) scenario: Scenario,
    /// The `/v1/train` face: its feed of changes and the count of what it sent.
    pub(crate) train: TrainApi,
    /// Every POST to /v1/actions, in order.
    log: Vec<Value>,
    /// The GitHub face: its rate limit and request counts.
    pub(crate) gh: GhState,
    /// The Prometheus face: its failure knob.
    pub(crate) prom: PromState,
    /// The GitLab face: its request log and throttle.
    pub(crate) gl: GlState,
    /// The Argo CD face: its applications and its request log.
    pub(crate) argo: ArgoSim,
    pub(crate) argo_log: ArgoLog,
}

impl Shared {
    pub(crate) fn new(scenario: Scenario, t0: DateTime<Utc>) -> Shared {
        let wall = Wall {
            start: Instant::now(),
            stopped: None,
            paused: std::time::Duration::ZERO,
        };
        Shared::with_clock(scenario, t0, Clock::Wall(Mutex::new(wall)))
    }

    /// A simulator whose time stands still at `t0` until [`Shared::set_now`] moves it.
    #[cfg(test)]
    pub(crate) fn manual(scenario: Scenario, t0: DateTime<Utc>) -> Shared {
        Shared::with_clock(scenario, t0, Clock::Manual(Mutex::new(t0)))
    }

    /// Move a manual clock (time never goes back for the scenario).
    #[cfg(test)]
    pub(crate) fn set_now(&self, now: DateTime<Utc>) {
        match &self.clock {
            Clock::Manual(t) => *t.lock().unwrap() = now,
            Clock::Wall(_) => panic!("set_now on a simulator that runs on the wall clock"),
        }
    }

    /// Stop the wall clock (`run` false) or let it run again: a stopped train changes only
    /// through actions. A manual clock is left as it is.
    pub(crate) fn set_running(&self, run: bool) {
        match &self.clock {
            Clock::Wall(w) => w.lock().unwrap_or_else(|e| e.into_inner()).run(run),
            #[cfg(test)]
            Clock::Manual(_) => {}
        }
    }

    fn running(&self) -> bool {
        match &self.clock {
            Clock::Wall(w) => w
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stopped
                .is_none(),
            #[cfg(test)]
            Clock::Manual(_) => false,
        }
    }

    fn with_clock(scenario: Scenario, t0: DateTime<Utc>, clock: Clock) -> Shared {
        // Cursors of another run (or another simulator) are never taken for this one's.
        let epoch = super::rng::mix(
            scenario.seed(),
            &[t0.timestamp_nanos_opt().unwrap_or_default() as u64],
        ) >> 16;
        let train = TrainApi::new(scenario.extensions(), epoch);
        Shared {
            t0,
            clock,
            inner: Mutex::new(Inner {
                train,
                argo: scenario.argo_sim(),
                argo_log: ArgoLog::default(),
                scenario,
                log: Vec::new(),
                gh: GhState::new(),
                prom: PromState::default(),
                gl: GlState::default(),
            }),
        }
    }

    /// Wall time from a monotonic clock: a system clock stepping back can't confuse it.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Clock::Wall(w) => {
                let elapsed = w.lock().unwrap_or_else(|e| e.into_inner()).elapsed();
                self.t0 + TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::zero())
            }
            #[cfg(test)]
            Clock::Manual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The scenario, brought up to now.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        let now = self.now();
        // A handler that panicked mid-update leaves a scenario that is still consistent
        // enough for a simulator: keep serving.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.scenario.tick(now);
        inner
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/v1/train", get(train_api::train))
        .route(
            "/v1/_sim/traffic",
            get(train_api::traffic).delete(train_api::clear_traffic),
        )
        .route("/_sim/clock", get(clock).post(set_clock))
        .route("/v1/actions", post(actions))
        .route("/v1/_sim/actions", get(sim_actions))
        .route("/runs/{run}", get(run))
        .route("/metrics", get(prometheus::metrics))
        .route(
            "/api/v1/query",
            get(prometheus::query).post(prometheus::query),
        )
        .route(
            "/api/v1/query_range",
            get(prometheus::query_range).post(prometheus::query_range),
        )
        .route("/api/v1/_sim/fail", post(prometheus::sim_fail))
        .route("/api/v1/_sim/requests", get(prometheus::sim_requests))
        .route("/api/v1/applications", any(argocd_server::api))
        .route("/api/v1/applications/{*rest}", any(argocd_server::api))
        .route("/api/v1/account/can-i/{*rest}", any(argocd_server::api))
        .route("/api/v1/_sim/argocd/windows", post(argocd_server::windows))
        .route("/api/v1/_sim/argocd/rbac", post(argocd_server::rbac))
        .route(
            "/api/v1/_sim/argocd/requests",
            get(argocd_server::requests).delete(argocd_server::requests),
        )
        .route("/api/v3", any(github_server::api))
        .route("/api/v3/{*rest}", any(github_server::api))
        .route("/gitlab/api/v4/{*rest}", any(gitlab_server::api))
        .fallback(fallback)
        .with_state(shared)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": code, "message": message.into()}});
    (status, axum::Json(body)).into_response()
}

async fn index() -> &'static str {
    "trainyard sim: the `http` source protocol, version 1\n\
     GET  /v1/train          the train (ETag and 304, gzip, ?since=CURSOR deltas, ?metrics=false)\n\
     POST /v1/actions        promote, pause, resume, rollback, approve, reject\n\
     GET  /v1/_sim/actions   every action request received, in order\n\
     GET|DELETE /v1/_sim/traffic  what GET /v1/train sent: 304s, deltas, gzip, bytes\n\
     GET|POST /_sim/clock    the clock: POST `stop` or `run`\n\
     GET  /runs/N            a run\n\
     \n\
     A GitHub REST subset under /api/v3 (api_url = this address + /api/v3), repos acme/{lane}:\n\
     GET  /api/v3/repos/acme/{lane}/actions/workflows/{ci.yml|deploy.yml}/runs\n\
     POST /api/v3/repos/acme/{lane}/actions/workflows/deploy.yml/dispatches\n\
     GET  /api/v3/repos/acme/{lane}/actions/runs[/{id}]\n\
     GET  /api/v3/repos/acme/{lane}/actions/runs/{id}/pending_deployments (and POST)\n\
     POST /api/v3/repos/acme/{lane}/actions/runs/{id}/cancel\n\
     GET  /api/v3/repos/acme/{lane}/commits/{ref}/check-runs\n\
     GET  /api/v3/repos/acme/{lane}/deployments[/{id}[/statuses]]\n\
     GET  /api/v3/repos/acme/{lane}/environments\n\
     GET  /api/v3/rate_limit\n\
     GET|POST /api/v3/_sim/rate_limit, GET|DELETE /api/v3/_sim/requests  test knobs\n\
     \n\
     A GitLab REST subset under /gitlab/api/v4 (api_url = this address + /gitlab/api/v4),\n\
     projects acme/{lane} (PRIVATE-TOKEN or Bearer):\n\
     GET  /gitlab/api/v4/projects/acme%2F{lane}[/pipelines[/{id}[/jobs]]]\n\
     POST /gitlab/api/v4/projects/acme%2F{lane}/pipelines/{id}/cancel\n\
     GET  /gitlab/api/v4/projects/acme%2F{lane}/deployments[/{id}]\n\
     POST /gitlab/api/v4/projects/acme%2F{lane}/deployments/{id}/approval\n\
     POST /gitlab/api/v4/projects/acme%2F{lane}/jobs/{id}/play, .../retry\n\
     POST /gitlab/api/v4/_sim/throttle, GET|DELETE /gitlab/api/v4/_sim/requests  test knobs\n\
     \n\
     Prometheus: the metrics as trainyard_sim_{error_rate,latency_p99_seconds,saturation_ratio}\n\
     {lane,stage,side=\"canary\"|\"stable\"}; PromQL: one selector with = and != matchers:\n\
     GET  /metrics                          text exposition format\n\
     GET|POST /api/v1/query                 query, time\n\
     GET|POST /api/v1/query_range           query, start, end, step\n\
     POST /api/v1/_sim/fail                 type=execution|timeout, count=N  test knob\n\
     GET  /api/v1/_sim/requests             the queries answered so far\n\
     \n\
     An Argo CD subset (bearer token; `trainyard-readonly` may only read), Applications\n\
     {ledger,notifications}-{staging,canary,prod}, the canaries' Argo Rollouts:\n\
     GET  /api/v1/applications[/{name}]     projects, name (fields is accepted)\n\
     POST /api/v1/applications/{name}/sync  revision, dryRun; POST .../rollback  id\n\
     GET  /api/v1/applications/{name}/resource[/actions]  a Rollout's manifest, its actions\n\
     POST /api/v1/applications/{name}/resource/actions    the action's name as the body\n\
     DELETE /api/v1/applications/{name}/operation         terminate a running sync\n\
     GET  /api/v1/account/can-i/applications/{action}/{project}%2F{name}   RBAC: yes or no\n\
     POST /api/v1/_sim/argocd/rbac          {application, action, deny}  test knob\n\
     GET|DELETE /api/v1/_sim/argocd/requests             every request, in order\n\
     \n\
     GET|POST /_sim/chaos   the faults in force; POST a spec (errors=0.3,latency=500ms,...)\n\
                            to change them, an empty body to end them (docs/chaos.md)\n"
}

/// `GET /_sim/clock`: whether the simulator's time runs, and where it is.
async fn clock(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.lock().scenario.now();
    axum::Json(json!({
        "running": shared.running(),
        "now": now.to_rfc3339_opts(SecondsFormat::Millis, true),
    }))
    .into_response()
}

/// `POST /_sim/clock` with `stop` or `run` as the body.
async fn set_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match body.trim_ascii() {
        b"stop" => shared.set_running(false),
        b"run" => shared.set_running(true),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "the body is `stop` or `run`",
            );
        }
    }
    clock(State(shared)).await
}

async fn actions(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let received_at = inner
        .scenario
        .now()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let outcome = inner.scenario.act_bytes(&body);
    let (status, answer) = match &outcome {
        Ok(ack) => (202, ack.to_json()),
        Err(rej) => (rej.status, rej.to_json()),
    };
    // Record the request as it was sent, plus when it came and how it was answered.
    let mut entry = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(other) => json!({"body": other}),
        Err(_) => json!({"raw": String::from_utf8_lossy(&body)}),
    };
    entry["received_at"] = json!(received_at);
    entry["status"] = json!(status);
    inner.log.push(entry);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(answer)).into_response()
}

async fn sim_actions(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    axum::Json(json!({"actions": inner.log})).into_response()
}

async fn run(State(shared): State<Arc<Shared>>, Path(run): Path<String>) -> Response {
    let inner = shared.lock();
    match run
        .parse::<u64>()
        .ok()
        .and_then(|n| inner.scenario.run_json(n))
    {
        Some(v) => axum::Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no run {run:?}"),
        ),
    }
}

async fn fallback(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such endpoint: {}", uri.path()),
    )
}
