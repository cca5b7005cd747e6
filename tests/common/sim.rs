//! The simulator for tests: in this process (its handle, the demo's config for it and the
//! sources built from that config), on a runtime of its own for tests that are not async, or
//! as a `trainyard sim` process whose printed config the binary is run with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use trainyard::config::{self, Config};
use trainyard::model::World;
use trainyard::ops::Runner;
use trainyard::ops::audit::AuditLog;
use trainyard::poll;
use trainyard::sim::{self, ChaosSpec, SimHandle, SimOptions};
use trainyard::sources::{self, Source};

use super::bin::{Running, Trainyard};
use super::http;

/// What most tests run: the eight hand-written lanes, seed 7, at the demo's pace.
pub fn opts() -> SimOptions {
    SimOptions {
        lanes: 8,
        seed: 7,
        speed: 1.0,
        ..SimOptions::default()
    }
}

/// The simulator on a free loopback port of this runtime.
pub async fn start(opts: SimOptions) -> SimHandle {
    start_with_chaos(opts, ChaosSpec::default()).await
}

/// [`start`], misbehaving as `chaos` says from the first request on.
pub async fn start_with_chaos(opts: SimOptions, chaos: ChaosSpec) -> SimHandle {
    sim::start_with_chaos("127.0.0.1:0".parse().unwrap(), opts, chaos)
        .await
        .expect("the simulator starts on loopback")
}

/// An HTTP client for test servers: never through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// GET `url` with `client`: the status and the JSON body.
pub async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let resp = client.get(url).send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

/// The simulator in this process with the demo's config for it (its `http`, `github` and
/// `prometheus` sources) and those sources built.
pub struct Demo {
    pub handle: SimHandle,
    pub config: Config,
    /// The config's text (TOML).
    pub config_text: String,
    pub sources: Vec<Arc<dyn Source>>,
}

/// [`Demo`] with the demo's config as it is.
pub async fn demo(opts: SimOptions) -> Demo {
    demo_edited(opts, |text| text).await
}

/// [`Demo`] with the demo's config changed by `edit` first (the text is TOML).
pub async fn demo_edited(opts: SimOptions, edit: impl FnOnce(String) -> String) -> Demo {
    let handle = start(opts.clone()).await;
    let text = edit(sim::demo_config(
        &handle.base_url(),
        &opts,
        chrono::Utc::now(),
    ));
    let config = config::parse(&text, "<demo>").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let sources = sources::build(&config);
    Demo {
        handle,
        config,
        config_text: text,
        sources,
    }
}

impl Demo {
    pub fn url(&self) -> String {
        self.handle.base_url()
    }

    /// One poll round of every source, each of which must answer.
    pub async fn observe(&self) -> World {
        observe(&self.config, &self.sources).await
    }

    /// A runner on these sources, its audit log in a directory of its own.
    pub fn runner(&self) -> (tempfile::TempDir, Runner) {
        runner(&self.config, &self.sources, false)
    }

    /// Every action the simulator received through its `http` protocol.
    pub async fn actions(&self) -> Vec<Value> {
        off_the_runtime(actions_at, self.url()).await
    }

    /// The simulator's own account of its faults (`GET /_sim/chaos`).
    pub async fn chaos(&self) -> Value {
        off_the_runtime(|u| http::get_json(&u, "/_sim/chaos"), self.url()).await
    }
}

/// A blocking look at a server, from async code: on a blocking thread, so that a server on
/// this very runtime can answer meanwhile.
async fn off_the_runtime<T: Send + 'static>(f: fn(String) -> T, url: String) -> T {
    tokio::task::spawn_blocking(move || f(url)).await.unwrap()
}

/// What a [`fixed_server`] answers: a status and a body, changed by the test at will.
pub type Body = Arc<std::sync::Mutex<(u16, String)>>;

/// A server on loopback of this runtime that answers `/v1/train` (trainyard's `http`
/// protocol) with whatever the test puts in `body`; its base URL.
pub async fn fixed_server(body: Body) -> String {
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/v1/train",
        axum::routing::get(move || {
            let body = Arc::clone(&body);
            async move {
                let (status, text) = body.lock().unwrap().clone();
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    text,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// One answer of a [`scripted_server`]: a status, headers, a body.
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `200` with a JSON body.
    pub fn json(body: &Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    /// This reply with another status.
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// This reply with a header more.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// This reply's body gzip-compressed, said in `content-encoding`.
    pub fn gzipped(mut self) -> Reply {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&self.body).unwrap();
        self.body = enc.finish().unwrap();
        self.with("content-encoding", "gzip")
    }
}

/// What a [`scripted_server`] was asked: the path with its query, and the headers.
#[derive(Clone, Debug)]
pub struct Asked {
    pub path_and_query: String,
    pub headers: axum::http::HeaderMap,
}

impl Asked {
    /// A header's value ("" without one).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Every request a [`scripted_server`] got, in order.
pub type AskedLog = Arc<std::sync::Mutex<Vec<Asked>>>;

/// A server on loopback of this runtime that answers `/v1/train` with what `script` says
/// for each request (it sees the request and every one before it); its base URL and the
/// requests it got.
pub async fn scripted_server(
    script: impl FnMut(&[Asked]) -> Reply + Send + 'static,
) -> (String, AskedLog) {
    let log: AskedLog = Arc::default();
    let script = Arc::new(std::sync::Mutex::new(script));
    let seen = Arc::clone(&log);
    let app = axum::Router::new().route(
        "/v1/train",
        axum::routing::get(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let (script, seen) = (Arc::clone(&script), Arc::clone(&seen));
                async move {
                    let reply = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(Asked {
                            path_and_query: uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            headers,
                        });
                        (script.lock().unwrap())(&seen)
                    };
                    let mut resp =
                        axum::response::Response::new(axum::body::Body::from(reply.body));
                    *resp.status_mut() = axum::http::StatusCode::from_u16(reply.status).unwrap();
                    for (k, v) in reply.headers {
                        resp.headers_mut().insert(k, v.parse().unwrap());
                    }
                    resp
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

/// What a simulator at `base` sent for `GET /v1/train` (`GET /v1/_sim/traffic`).
pub fn traffic(base: &str) -> Value {
    http::get_json(base, "/v1/_sim/traffic")
}

/// Stop (`"stop"`) or run (`"run"`) the clock of a simulator at `base`: a stopped train
/// changes only through actions.
pub fn set_clock(base: &str, what: &str) {
    let a = http::post(base, "/_sim/clock", what);
    assert_eq!(a.status, 200, "{a}");
}

/// A runner on `sources`, its audit log in a directory of its own.
pub fn runner(
    config: &Config,
    sources: &[Arc<dyn Source>],
    readonly: bool,
) -> (tempfile::TempDir, Runner) {
    let dir = tempfile::tempdir().unwrap();
    let audit = AuditLog::new(dir.path().join("audit.jsonl"));
    let store = trainyard::store::Store::File(audit);
    (dir, Runner::new(config, sources, store, readonly))
}

/// The audit file of a runner made by [`runner`].
pub fn audit_file(runner: &Runner) -> &AuditLog {
    match runner.store() {
        trainyard::store::Store::File(log) => log,
        trainyard::store::Store::Postgres(_) => panic!("the runner writes to PostgreSQL"),
    }
}

/// One poll round of `sources` into a fresh world; every source must answer.
pub async fn observe(config: &Config, sources: &[Arc<dyn Source>]) -> World {
    let mut world = config.empty_world();
    for r in poll::poll_once(sources).await {
        assert!(r.outcome.is_ok(), "{}: {:?}", r.source, r.outcome);
        world.apply(r);
    }
    world
}

/// One poll round of `sources` into `world`, whatever each says.
pub async fn poll_into(world: &mut World, sources: &[Arc<dyn Source>]) {
    for r in poll::poll_once(sources).await {
        world.apply(r);
    }
}

/// The simulator and other servers on a runtime of their own, for tests that are not async
/// (they run the binary against them). Stopped when dropped.
pub struct Background {
    pub rt: tokio::runtime::Runtime,
    handle: Option<SimHandle>,
    pub url: String,
    pub addr: std::net::SocketAddr,
}

impl Background {
    pub fn start(opts: SimOptions) -> Background {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(start(opts));
        Background {
            url: handle.base_url(),
            addr: handle.addr,
            rt,
            handle: Some(handle),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}

/// Every action a simulator at `base` received through its `http` protocol
/// (`GET /v1/_sim/actions`).
pub fn actions_at(base: String) -> Vec<Value> {
    http::get_json(&base, "/v1/_sim/actions")["actions"]
        .as_array()
        .unwrap()
        .clone()
}

/// Every write (method, path, body, status) a simulator at `base` received through its
/// GitHub API (`GET /api/v3/_sim/requests`).
pub fn github_writes(base: &str) -> Vec<Value> {
    http::get_json(base, "/api/v3/_sim/requests")["writes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Set the faults of a simulator at `base` (`POST /_sim/chaos`; `""` ends them).
pub fn set_chaos(base: &str, spec: &str) {
    let a = http::post(base, "/_sim/chaos", spec);
    assert_eq!(a.status, 200, "{a}");
}

/// A `trainyard sim --print-config` process; killed when dropped.
pub struct SimProcess {
    _process: Running,
    pub base_url: String,
    /// The config it printed.
    pub config: String,
}

/// `trainyard sim --listen 127.0.0.1:0 --seed 7 --print-config EXTRA...`, its home and log
/// in `dir`; returns once it has printed its config.
pub fn spawn(dir: &Path, extra: &[&str]) -> SimProcess {
    let process = Trainyard::new(dir)
        .log_file(&dir.join("sim.log"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--print-config",
        ])
        .args(extra)
        .spawn();
    const END: &str = "# end of trainyard sim config";
    let out = process.wait_for_stdout("the simulator's config", |s| s.contains(END));
    let config = format!("{}{END}\n", out.split(END).next().unwrap());
    assert!(config.contains("[sources.sim]"), "sim printed: {config}");
    let base_url = config
        .lines()
        .find_map(|l| l.strip_prefix("url = \"").and_then(|r| r.strip_suffix('"')))
        .unwrap()
        .to_string();
    SimProcess {
        _process: process,
        base_url,
        config,
    }
}

impl SimProcess {
    /// Its config, with `extra` TOML appended, written to `dir/config.toml`.
    pub fn write_config(&self, dir: &Path, extra: &str) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, format!("{}\n{extra}\n", self.config)).unwrap();
        path
    }

    /// Its config with an audit log in `dir` and `extra` TOML, written to `dir/config.toml`:
    /// the config's path and the log's.
    pub fn write_audited_config(&self, dir: &Path, extra: &str) -> (PathBuf, PathBuf) {
        let audit = dir.join("audit.jsonl");
        let config = self.write_config(
            dir,
            &format!("[audit]\npath = {:?}\n{extra}", audit.display().to_string()),
        );
        (config, audit)
    }

    /// Every action it received through its `http` protocol.
    pub fn actions(&self) -> Vec<Value> {
        actions_at(self.base_url.clone())
    }

    /// Every write it received through its GitHub API.
    pub fn github_writes(&self) -> Vec<Value> {
        github_writes(&self.base_url)
    }

    pub fn set_chaos(&self, spec: &str) {
        set_chaos(&self.base_url, spec)
    }
}

/// The demo slow enough that nothing a test looks at settles by itself while it runs
/// (actions still take effect at once), with verification cut to a second.
pub async fn slow_demo() -> Demo {
    demo_edited(
        SimOptions {
            speed: 0.05,
            ..opts()
        },
        // A rollback at this pace takes hours: being sent is what counts here.
        |text| format!("{text}\n[actions]\nverify_timeout = \"1s\"\n"),
    )
    .await
}

/// Cells rolling out at the simulator's `http` source.
pub fn running(world: &trainyard::model::World) -> Vec<trainyard::model::CellKey> {
    world
        .cells()
        .filter(|(_, c)| c.state == trainyard::model::CellState::Running && c.source == "sim")
        .map(|(k, _)| k.clone())
        .collect()
}

/// Refused by trainyard, with a message that has every one of `words`.
pub fn assert_refused(outcome: &trainyard::ops::Outcome, words: &[&str]) {
    match outcome {
        trainyard::ops::Outcome::Refused(m) => {
            assert!(words.iter().all(|w| m.contains(w)), "{m}")
        }
        other => panic!("expected a refusal saying {words:?}, got {other:?}"),
    }
}

/// Not refused by trainyard: it went to the source (whatever the source and the cell made of
/// it afterwards).
pub fn assert_sent(outcome: &trainyard::ops::Outcome) {
    use trainyard::ops::Outcome;
    assert!(
        !matches!(outcome, Outcome::Refused(_) | Outcome::Blocked(_)),
        "{outcome:?}"
    );
}
