//! The GitHub source against the simulator's GitHub API: following a dispatched run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::sim::{self, SimHandle, SimOptions};

/// The simulator, and the demo's config that reads three lanes through its GitHub API.
async fn demo() -> (SimHandle, Config) {
    let opts = SimOptions {
        seed: 7,
        ..SimOptions::default()
    };
    let handle = sim::start("127.0.0.1:0".parse().unwrap(), opts.clone())
        .await
        .unwrap();
    let text = sim::demo_config(&handle.base_url(), &opts, chrono::Utc::now());
    (handle, crate::config::parse(&text, "<demo>").unwrap())
}

/// The demo's `gh` source, at `api_url` if given.
fn source(config: &Config, api_url: Option<String>) -> GithubSource {
    let mut cfg = config.sources["gh"].clone();
    if let Some(url) = api_url {
        cfg.url = url;
    }
    let token = crate::sources::resolve_token(&cfg).unwrap();
    GithubSource::new(&cfg, token, config).unwrap()
}

fn follow(gh: &GithubSource, key: &CellKey, run_id: u64) {
    gh.dispatched.lock().unwrap().insert(
        key.clone(),
        Dispatched {
            run_id,
            // No deployment of it yet: the run speaks for the cell.
            version: "0123456789abcdef0123456789abcdef01234567".into(),
        },
    );
}

fn cell<'a>(batch: &'a Batch, key: &CellKey) -> Option<&'a Cell> {
    batch.cells.iter().find(|(k, _)| k == key).map(|(_, c)| c)
}

/// A dispatched run GitHub won't show (gone, a hiccup) costs nothing of the cell's own good
/// data: it stays, with a warning that the run could not be followed.
#[tokio::test]
async fn a_run_that_cannot_be_followed_leaves_the_good_cell_with_a_warning() {
    let (sim, config) = demo().await;
    let gh = source(&config, None);
    let key = CellKey::new("checkout-web", "staging");
    follow(&gh, &key, 987_654_321);
    let batch = gh.fetch().await.unwrap();
    assert!(
        batch.cell_errors.iter().all(|(k, _)| *k != key),
        "{:?}",
        batch.cell_errors
    );
    let c = cell(&batch, &key).expect("the cell as read");
    assert!(c.version.is_some(), "{c:?}");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("could not follow deploy run 987654321") && w.contains("404")),
        "{:?}",
        c.warnings
    );
    assert!(
        gh.dispatched.lock().unwrap().contains_key(&key),
        "followed again next poll"
    );
    sim.shutdown().await;
}

/// In front of the simulator: passes every request on, counts how many are in flight at
/// once, and holds one cell's deployments request until the followed run's request arrives
/// (for a few seconds at most): read one after the other, they never meet.
struct Gate {
    sim: String,
    http: reqwest::Client,
    run_path: String,
    deployments_path: String,
    run_asked: tokio::sync::watch::Sender<bool>,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    in_flight: usize,
    most: usize,
    /// The held request saw the followed run's request arrive.
    met: Option<bool>,
}

async fn pass(
    State(g): State<Arc<Gate>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    {
        let mut c = g.counts.lock().unwrap();
        c.in_flight += 1;
        c.most = c.most.max(c.in_flight);
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if path == g.run_path {
        g.run_asked.send_replace(true);
    }
    if path.starts_with(&g.deployments_path) {
        let mut asked = g.run_asked.subscribe();
        let met = tokio::time::timeout(Duration::from_secs(3), asked.wait_for(|a| *a))
            .await
            .is_ok();
        g.counts.lock().unwrap().met = Some(met);
    }
    let mut rb = g
        .http
        .request(method, format!("{}{path}", g.sim))
        .body(body);
    for (k, v) in &headers {
        if k != "host" {
            rb = rb.header(k, v);
        }
    }
    let answer = match rb.send().await {
        Ok(resp) => {
            let status = resp.status();
            let mut out = HeaderMap::new();
            for (k, v) in resp.headers() {
                if !matches!(
                    k.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    out.insert(k, v.clone());
                }
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    g.counts.lock().unwrap().in_flight -= 1;
    answer
}

/// The followed run is read alongside the cell's own requests, not after every cell is done
/// (one more round per poll, and one per followed run); and however many requests a poll
/// makes, no more than `MAX_IN_FLIGHT` are out at once.
#[tokio::test]
async fn a_followed_run_is_read_alongside_the_cells_within_the_bound() {
    let (sim, config) = demo().await;
    let gate = Arc::new(Gate {
        sim: sim.base_url(),
        http: reqwest::Client::new(),
        run_path: "/api/v3/repos/acme/checkout-web/actions/runs/424242".into(),
        deployments_path: "/api/v3/repos/acme/checkout-web/deployments?environment=staging".into(),
        run_asked: tokio::sync::watch::channel(false).0,
        counts: Mutex::new(Counts::default()),
    });
    let app = axum::Router::new()
        .fallback(pass)
        .with_state(Arc::clone(&gate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let gh = source(&config, Some(format!("http://{addr}/api/v3")));
    let key = CellKey::new("checkout-web", "staging");
    follow(&gh, &key, 424242);
    let batch = gh.fetch().await.unwrap();
    let (met, most) = {
        let c = gate.counts.lock().unwrap();
        (c.met, c.most)
    };
    assert!(
        most <= client::MAX_IN_FLIGHT,
        "{most} requests at once, more than {}",
        client::MAX_IN_FLIGHT
    );
    // The bound is reached: a poll of the demo's lanes makes more requests than that.
    assert!(most > client::MAX_IN_FLIGHT / 2, "{most}");
    assert_eq!(
        met,
        Some(true),
        "the followed run was not read while the cell was"
    );
    assert!(cell(&batch, &key).is_some(), "{:?}", batch.cell_errors);
    sim.shutdown().await;
}

/// Every cell the GitHub source reads links its commit's page: under the address GitHub
/// Enterprise Server shows the repository at (the API's without `/api/v3`), the commit that
/// cell has: a run's head, a deployment's sha.
#[tokio::test]
async fn every_cell_links_its_commit() {
    let (sim, config) = demo().await;
    let gh = source(&config, None);
    let batch = gh.fetch().await.unwrap();
    assert!(batch.cells.len() >= 9, "{} cells", batch.cells.len());
    for (key, c) in &batch.cells {
        let page = c
            .commit_url
            .as_deref()
            .unwrap_or_else(|| panic!("{key}: no commit URL"));
        let prefix = format!("{}/acme/{}/commit/", sim.base_url(), key.lane);
        let sha = page
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{key}: {page}"));
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}: {page}"
        );
        let v = c.version.as_deref().unwrap_or_default();
        if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            assert_eq!(sha, v, "{key}");
        }
    }
    // An API address of no known shape: no commit pages, rather than wrong ones.
    let mut cfg = config.sources["gh"].clone();
    cfg.url = format!("{}/github-proxy", sim.base_url());
    let token = crate::sources::resolve_token(&cfg).unwrap();
    assert!(
        GithubSource::new(&cfg, token, &config)
            .unwrap()
            .web
            .is_none()
    );
    sim.shutdown().await;
}
