//! The simulator: a loopback HTTP server speaking the `http` source protocol
//! (docs/protocol.md), serving a believable release train mid-flight.
//!
//! At start the train is moving: builds running and finishing, `auth-service`'s build failed
//! on `integration-tests`, `checkout-web` waits for approval at prod, `payments-api` is held
//! back from canary until `ledger`'s slow canary rollout finishes, `notifications`' canary
//! rolls out a version whose error rate climbs past its threshold within a minute or two,
//! `inventory` soaks at canary. Afterwards CI keeps producing builds (now and then a failing
//! one), and every action a client POSTs changes the train.
//!
//! Everything is deterministic under the seed (a hash-based PRNG, no `rand`): the same seed
//! gives the same versions, metrics and timings. [`Scenario`] is the pure core and can be
//! driven with explicit time; [`start`] serves it on the wall clock, `speed` times faster.
//!
//! Endpoints: `GET /v1/train` (with the protocol's extensions: `ETag` and `304`, gzip,
//! `?since=CURSOR` deltas, `?metrics=false`; `train_api.rs` on `feed.rs`; none of them with
//! [`SimOptions::extensions`] off), `POST /v1/actions`, and the simulator extras
//! `GET /v1/_sim/actions` (`{"actions": [...]}`: each POSTed body as sent, plus
//! `received_at` and the answered `status`; a body that was not a JSON object is kept under
//! `body` or `raw`), `GET|DELETE /v1/_sim/traffic` (what `GET /v1/train` sent),
//! `GET|POST /_sim/clock` (`stop` holds the train still, `run` lets it go on) and
//! `GET /runs/N` (what a cell's `url` points at).
//!
//! Up to [`MAX_LANES`] lanes (`roster.rs`); the printed config reads
//! [`SimOptions::github_lanes`] of them through the GitHub face and
//! [`SimOptions::gitlab_lanes`] through the GitLab face.
//!
//! The same train also answers as GitHub does, under `/api/v3` like GitHub Enterprise Server
//! (a `github` source's `api_url` is [`SimHandle::github_api_url`]): each lane is the
//! repository `acme/{lane}`, its build stage the workflow `ci.yml`, its other stages
//! deployments by `deploy.yml` to the environments `staging`, `canary` and `production`;
//! workflow runs, check runs, deployments and their statuses, pending deployments (approve
//! and reject), `workflow_dispatch` (promote and rollback) and cancel, with bearer auth,
//! ETags and 304s, rate-limit headers and `Link` pagination. The GitHub views are
//! projections of the same cells: acting through either API shows through both.
//!
//! And as GitLab does, under `/gitlab/api/v4` like a self-managed instance at a relative URL
//! root (a `gitlab` source's `api_url` is [`SimHandle::gitlab_api_url`]): each lane is the
//! project `acme/{lane}`, each build a pipeline on `main` whose jobs are the build's checks and
//! a manual deploy job per environment, each deploy a deployment (blocked while it waits for
//! approval, with Premium's approval rules); pipelines, jobs, deployments, playing and
//! retrying jobs, approving and rejecting deployments, cancelling pipelines, with the token as
//! `PRIVATE-TOKEN` or bearer and `RateLimit-*` headers (`scenario/gitlab.rs`,
//! `gitlab_server.rs`).
//!
//! The metrics answer as Prometheus does: `GET /metrics` (text exposition format) and the
//! query API `/api/v1/query` and `/api/v1/query_range` with a one-selector PromQL subset
//! (see `prometheus.rs`): `trainyard_sim_error_rate`, `trainyard_sim_latency_p99_seconds`,
//! `trainyard_sim_saturation_ratio` by `lane`, `stage` and `side` (`canary`, or `stable`: a
//! canary's baseline), the same numbers as `/v1/train`'s `metrics`. The config of
//! [`demo_config`] (the demo's, and `trainyard sim --print-config`'s) measures them there with
//! a `prometheus` source, and tells its `http` source to leave the payload's metrics out.
//! Canary and prod share most of their noise (the same traffic), so a healthy canary looks
//! like its stable side; the bad one climbs away from it.
//!
//! And as Argo CD does (`argocd_server.rs`, `scenario/argocd.rs`): the deploy stages of
//! `auth-service`, `ledger` and `notifications` as Applications with their sync, health,
//! operation and history, each canary an Argo Rollout (auth-service's and ledger's paused at a
//! step that waits for a promotion); sync, rollback and the Rollout's resource actions, RBAC
//! refusals for a read-only token. Seeded from the scenario's cells at start, then moving on
//! their own. The printed config reads auth-service's; [`SimOptions::argocd`] the others' too.
//!
//! With [`SimOptions::hostile`] (`--hostile`) every API serves attack strings in its text
//! fields and CJK and emoji versions for some lanes (`hostile.rs`): the same train, dressed.
//!
//! Every API can be made to misbehave on purpose (`--chaos`, `POST /_sim/chaos`; see
//! `chaos.rs` and docs/chaos.md): latency, hung requests, 429 storms, 5xx errors, dropped
//! connections, malformed and slow bodies.

mod argocd_server;
mod chaos;
mod chaos_conn;
mod config;
#[cfg(test)]
mod demo_metrics_tests;
mod feed;
mod github_server;
mod gitlab_server;
pub mod hostile;
mod prometheus;
mod rng;
mod roster;
mod scenario;
mod server;
mod train_api;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use chaos::{Api, ChaosSpec};
pub use config::demo_config;
pub use roster::{GITHUB_LANES, GITLAB_LANES, MAX_LANES};
pub use scenario::{
    ARGO_ACCOUNT, ARGO_READONLY_TOKEN, Ack, Reject, SERIES_LEN, STAGES, Scenario, series_span,
};

/// How the simulated train looks and moves.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Number of lanes: the first eight are hand-written services, more are `svc-NN`
    /// (clamped to 1..=[`MAX_LANES`]).
    pub lanes: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Pace: 1.0 is a lively demo (something happens every few seconds); 10.0 is ten times
    /// faster.
    pub speed: f64,
    /// Serve attack strings (escape sequences, bidi overrides, zero-width characters, CJK and
    /// emoji versions) in every API: see `hostile.rs`.
    pub hostile: bool,
    /// How many lanes the printed config ([`demo_config`]) reads through the GitHub API:
    /// `None` is the demo's three (checkout-web, inventory, pricing-engine); `Some(n)` those
    /// and then the other lanes in train order, up to `n`. The simulator serves every lane
    /// through both APIs either way.
    pub github_lanes: Option<usize>,
    /// How many lanes the printed config reads through the GitLab API instead, of those not
    /// read through GitHub: `None` is the demo's one (shipping-api); `Some(n)` `n` of them,
    /// those whose production deploys wait for approval first (payments-api, shipping-api),
    /// then the others in train order.
    pub gitlab_lanes: Option<usize>,
    /// The printed config ([`demo_config`]) reads the deploy stages of `ledger` and
    /// `notifications` through the simulator's Argo CD API (`--argocd`); the simulator serves
    /// that API either way.
    pub argocd: bool,
    /// Serve `/v1/train` with the protocol's extensions (conditional GET, gzip, deltas:
    /// docs/protocol.md); `false` answers as a plain protocol v1 server that knows none of
    /// them (`--no-extensions`).
    pub extensions: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            lanes: 9,
            seed: 42,
            speed: 1.0,
            hostile: false,
            github_lanes: None,
            gitlab_lanes: None,
            argocd: false,
            extensions: true,
        }
    }
}

/// A running simulator. Dropping the handle stops the server too.
pub struct SimHandle {
    pub addr: SocketAddr,
    chaos: Arc<chaos::Chaos>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`: the `url` of an `http` source.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v3`: the `api_url` of a `github` source (the path prefix of
    /// GitHub Enterprise Server).
    pub fn github_api_url(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }

    /// `http://127.0.0.1:PORT/gitlab/api/v4`: the `api_url` of a `gitlab` source (a
    /// self-managed GitLab at the relative URL root `/gitlab`).
    pub fn gitlab_api_url(&self) -> String {
        format!("http://{}/gitlab/api/v4", self.addr)
    }

    /// The faults in force (`off` for none).
    pub fn chaos(&self) -> ChaosSpec {
        self.chaos.spec()
    }

    /// Put other faults in force at once (`ChaosSpec::default()` ends them), as
    /// `POST /_sim/chaos` does.
    pub fn set_chaos(&self, spec: ChaosSpec) {
        self.chaos.set(spec);
    }

    /// Stop serving and wait (briefly) for the server task to end.
    pub async fn shutdown(mut self) {
        // Hung requests and slow bodies let go: nothing holds the graceful shutdown up.
        self.chaos.release();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Graceful shutdown waits for open connections; a client holding one open
            // must not hold us up for long.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.chaos.release();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Bind `listen` (a loopback address; port 0 picks a free port), spawn the server on the
/// current tokio runtime and return at once.
pub async fn start(listen: SocketAddr, opts: SimOptions) -> std::io::Result<SimHandle> {
    start_with_chaos(listen, opts, ChaosSpec::default()).await
}

/// [`start`], misbehaving as `chaos` says from the first request on.
pub async fn start_with_chaos(
    listen: SocketAddr,
    opts: SimOptions,
    chaos: ChaosSpec,
) -> std::io::Result<SimHandle> {
    if !listen.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the simulator listens on loopback only, not {listen}"),
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let t0 = Utc::now();
    let scenario = Scenario::new(&opts, t0, &format!("http://{addr}"));
    let chaos = Arc::new(chaos::Chaos::new(chaos, opts.seed));
    let app = chaos::wrap(
        server::router(Arc::new(server::Shared::new(scenario, t0))),
        Arc::clone(&chaos),
    );
    let listener = chaos_conn::ChaosListener::new(listener);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<chaos_conn::Conn>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::warn!("trainyard sim stopped: {e}");
        }
    });
    Ok(SimHandle {
        addr,
        chaos,
        stop: Some(stop),
        task: Some(task),
    })
}

/// `trainyard sim`: serve in the foreground until Ctrl-C or SIGTERM. The address goes to
/// stderr; with `print_config`, a config pointing at the simulator goes to stdout (and
/// nothing else does), ending with the line `# end of trainyard sim config`. `chaos` is in
/// force from the start (and can be changed with `POST /_sim/chaos`).
pub async fn run_foreground(
    listen: SocketAddr,
    opts: SimOptions,
    print_config: bool,
    chaos: ChaosSpec,
) -> std::io::Result<()> {
    let handle = start_with_chaos(listen, opts.clone(), chaos).await?;
    let faults = handle.chaos();
    eprintln!(
        "trainyard sim listening on {} ({} lanes, seed {}{}{})",
        handle.base_url(),
        roster::lane_count(opts.lanes),
        opts.seed,
        if opts.hostile {
            ", hostile: serving attack strings"
        } else {
            ""
        },
        if faults.is_off() {
            String::new()
        } else {
            format!(", chaos {faults}")
        }
    );
    if print_config {
        let mut out = std::io::stdout().lock();
        out.write_all(demo_config(&handle.base_url(), &opts, Utc::now()).as_bytes())?;
        // A last line that says the config is complete, for scripts that read it from a pipe
        // while the simulator keeps serving.
        out.write_all(b"# end of trainyard sim config\n")?;
        out.flush()?;
    }
    let stopped = shutdown_signal().await;
    handle.shutdown().await;
    stopped
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
