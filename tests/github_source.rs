//! The `github` source over real loopback HTTP, against a small server that answers with the
//! official GitHub examples (tests/fixtures/github, from @octokit/openapi) under a GHES-style
//! `/api/v3` prefix: state mapping, approvals and dispatches, conditional requests, the rate
//! limit, and broken answers.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use trainyard::config::{self, Config};
use trainyard::model::{ActionKind, CellState, World};
use trainyard::ops::{Action, Outcome};
use trainyard::poll;
use trainyard::sim::SimOptions;
use trainyard::sources::{self, ActionRequest};

use common::sim::{self, Demo, poll_into};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[derive(Default)]
struct Gh {
    /// (method, path with query, If-None-Match sent, status answered)
    seen: Vec<(String, String, Option<String>, u16)>,
    posts: Vec<(String, Value)>,
    remaining: i64,
    /// Answer every request with this (status, body, retry-after) instead.
    broken: Option<(u16, String, Option<u64>)>,
    /// Send no ETags: every poll costs its full price.
    no_etags: bool,
    /// Absurd numbers: a wait timer and a reset far beyond any real one.
    hostile: bool,
    /// Dispatches answer with run 77 (return_run_details), which ends with this conclusion.
    dispatch_run: Option<&'static str>,
    /// Check runs come in two pages, the failing one on the second.
    paged_checks: bool,
}

type Shared = Arc<Mutex<Gh>>;

async fn handle(
    State(gh): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = gh.lock().unwrap();
    let path = uri.path().to_string();
    let full = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let inm = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let reset = if g.hostile {
        i64::MAX
    } else {
        chrono::Utc::now().timestamp() + 3600
    };
    let limit_headers = |remaining: i64| {
        [
            ("x-ratelimit-limit", "5000".to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-used", (5000 - remaining).to_string()),
            ("x-ratelimit-reset", reset.to_string()),
            ("x-ratelimit-resource", "core".to_string()),
        ]
    };
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some("Bearer t0k3n")
        && headers
            .get("x-github-api-version")
            .and_then(|v| v.to_str().ok())
            == Some("2022-11-28")
        && headers.get("accept").and_then(|v| v.to_str().ok())
            == Some("application/vnd.github+json")
        && headers.get("user-agent").is_some();
    if !auth_ok {
        g.seen.push((method.to_string(), full, inm, 401));
        return (StatusCode::UNAUTHORIZED, r#"{"message":"Bad credentials"}"#).into_response();
    }
    if let Some((status, body, retry)) = g.broken.clone() {
        g.seen.push((method.to_string(), full, inm, status));
        let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
        if let Some(r) = retry {
            resp.headers_mut()
                .insert("retry-after", r.to_string().parse().unwrap());
        }
        return resp;
    }
    let Some(rest) = path.strip_prefix("/api/v3") else {
        g.seen.push((method.to_string(), full, inm, 404));
        return (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#).into_response();
    };
    let query = uri.query().unwrap_or("").to_string();
    if method == Method::POST {
        g.posts.push((
            rest.to_string(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ));
        g.seen.push(("POST".into(), full, None, 200));
        g.remaining -= 1;
        return if rest.ends_with("/dispatches") && g.dispatch_run.is_some() {
            let body = json!({"workflow_run_id": 77, "run_url": "x", "html_url": "https://github.example/runs/77"});
            (StatusCode::OK, limit_headers(g.remaining), body.to_string()).into_response()
        } else if rest.ends_with("/dispatches") {
            (StatusCode::NO_CONTENT, limit_headers(g.remaining)).into_response()
        } else {
            (
                StatusCode::OK,
                limit_headers(g.remaining),
                fixture("deployment-items.json").to_string(),
            )
                .into_response()
        };
    }
    let body = if rest == "/repos/acme/api" {
        // The repository: its default branch is where a lane without `branch` reads runs.
        json!({"id": 1, "full_name": "acme/api", "default_branch": "main"})
    } else if rest == "/repos/acme/api/actions/workflows/ci.yml/runs"
        && query.contains("branch=main")
    {
        fixture("workflow-run-paginated.json")
    } else if rest == "/repos/acme/api/actions/runs" && query.contains("status=waiting") {
        // The waiting runs: the example run, waiting, on main; and a pull request's run
        // waiting on the same environment, which is not the train's.
        let mut runs = fixture("workflow-run-paginated.json");
        let mut run = runs["workflow_runs"][0].clone();
        run["status"] = json!("waiting");
        run["head_branch"] = json!("main");
        run["path"] = json!(".github/workflows/deploy.yml@main");
        let mut pr = run.clone();
        pr["id"] = json!(999);
        pr["event"] = json!("pull_request");
        pr["head_sha"] = json!("ffffffffffffffffffffffffffffffffffffffff");
        runs["workflow_runs"] = json!([pr, run]);
        runs
    } else if rest.ends_with("/pending_deployments") {
        let mut p = fixture("pending-deployment-items.json");
        if g.hostile {
            p[0]["wait_timer"] = json!(u64::MAX);
        }
        p
    } else if rest.contains("/check-runs") && g.paged_checks {
        let mut page = fixture("check-run-paginated.json");
        page["total_count"] = json!(2);
        if query.contains("page=2") {
            page["check_runs"][0]["name"] = json!("integration-tests");
            page["check_runs"][0]["conclusion"] = json!("failure");
            page
        } else {
            let host = headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let link = format!(
                "<http://{host}/api/v3{rest}?per_page=100&page=2>; rel=\"next\", <http://{host}/api/v3{rest}?per_page=100&page=2>; rel=\"last\""
            );
            g.remaining -= 1;
            g.seen.push((method.to_string(), full, inm, 200));
            let mut resp =
                (StatusCode::OK, limit_headers(g.remaining), page.to_string()).into_response();
            resp.headers_mut().insert("link", link.parse().unwrap());
            return resp;
        }
    } else if rest.contains("/check-runs") {
        fixture("check-run-paginated.json")
    } else if rest == "/repos/acme/api/deployments" && query.contains("environment=production") {
        fixture("deployment-items.json")
    } else if rest == "/repos/acme/api/deployments" && query.contains("environment=") {
        json!([])
    } else if rest == "/repos/acme/api/actions/runs/77" {
        let mut run = fixture("workflow-run-paginated.json")["workflow_runs"][0].clone();
        run["id"] = json!(77);
        run["status"] = json!("completed");
        run["conclusion"] = json!(g.dispatch_run.unwrap_or("success"));
        run
    } else if rest.ends_with("/statuses") {
        fixture("deployment-status-items.json")
    } else {
        g.seen.push((method.to_string(), full, inm, 404));
        return (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#).into_response();
    };
    let etag = format!("\"{:x}\"", body.to_string().len());
    let no_etags = g.no_etags;
    if inm.as_deref() == Some(etag.as_str()) {
        g.seen.push((method.to_string(), full, inm, 304));
        // A 304 does not count against the rate limit.
        return (StatusCode::NOT_MODIFIED, limit_headers(g.remaining)).into_response();
    }
    g.remaining -= 1;
    g.seen.push((method.to_string(), full, inm, 200));
    let mut resp = (StatusCode::OK, limit_headers(g.remaining), body.to_string()).into_response();
    if !no_etags {
        resp.headers_mut().insert("etag", etag.parse().unwrap());
    }
    resp
}

async fn server(remaining: i64) -> (String, Shared) {
    let gh: Shared = Arc::new(Mutex::new(Gh {
        remaining,
        ..Gh::default()
    }));
    let app = Router::new().fallback(handle).with_state(Arc::clone(&gh));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/api/v3"), gh)
}

/// The next poll, an interval (1 s) after the last: the cells in motion are due again (and
/// every cell, with `settled_interval = "1s"`).
async fn next_poll(world: &mut World, sources: &[Arc<dyn trainyard::sources::Source>]) {
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    poll_into(world, sources).await;
}

fn config(api: &str, extra_source: &str) -> Config {
    let text = format!(
        r#"
[train]
name = "t"
stages = ["build", "staging", "prod"]

[sources.gh]
kind = "github"
api_url = "{api}"
token_cmd = "echo t0k3n"
interval = "1s"
{extra_source}

[[lanes]]
name = "api"
source = "gh"
repo = "acme/api"
stages.build = {{ workflow = "ci.yml" }}
stages.staging = {{ environment = "staging", workflow = "deploy.yml" }}
stages.prod = {{ environment = "production", workflow = "deploy.yml" }}
"#
    );
    config::parse(&text, "test.toml").unwrap()
}

#[tokio::test]
async fn reads_ci_deployments_and_approvals_from_a_ghes_prefix() {
    let (api, gh) = server(4000).await;
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;

    let build = world.cell("api", "build").expect("build cell");
    assert_eq!(build.state, CellState::Pending);
    assert_eq!(
        build.version.as_deref(),
        Some("acb5820ced9479c074f688cc328bf03f341a511d")
    );
    assert_eq!(build.checks[0].name, "mighty_readme");
    let staging = world.cell("api", "staging").expect("staging cell");
    assert_eq!(staging.state, CellState::AwaitingApproval);
    assert_eq!(
        staging.version.as_deref(),
        Some("acb5820ced9479c074f688cc328bf03f341a511d"),
        "the pull request's waiting run is not the lane's"
    );
    assert_eq!(staging.approval.as_ref().unwrap().reviewers[0], "octocat");
    assert!(
        staging
            .message
            .as_deref()
            .unwrap()
            .contains("this token may approve")
    );
    let prod = world.cell("api", "prod").expect("prod cell");
    assert_eq!(prod.state, CellState::Succeeded);
    assert_eq!(prod.actor.as_deref(), Some("octocat"));
    let health = world.source("gh").unwrap();
    assert!(health.ok, "{:?}", health.error);
    assert_eq!(health.rate_limit.unwrap().limit, 5000);
    // Every request went under the prefix, with the token and the API version.
    assert!(
        gh.lock()
            .unwrap()
            .seen
            .iter()
            .all(|(_, p, _, s)| p.starts_with("/api/v3/") && (*s == 200 || *s == 304))
    );
}

#[tokio::test]
async fn a_second_poll_reads_only_what_moves_and_costs_nothing() {
    let (api, gh) = server(4000).await;
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let first: Vec<_> = gh.lock().unwrap().seen.drain(..).collect();
    let spent = 4000 - gh.lock().unwrap().remaining;
    next_poll(&mut world, &sources).await;
    let g = gh.lock().unwrap();
    let paths: Vec<&str> = g.seen.iter().map(|(_, p, _, _)| p.as_str()).collect();
    // staging waits for approval and the build is queued: they move, and so do the
    // repository's waiting runs. The succeeded prod is settled: neither its deployments nor
    // their statuses are asked again before settled_interval; the default branch not before
    // ten minutes.
    assert!(!paths.is_empty() && paths.len() < first.len(), "{paths:#?}");
    for moving in ["environment=staging", "status=waiting", "workflows/ci.yml"] {
        assert!(
            paths.iter().any(|p| p.contains(moving)),
            "{moving}: {paths:#?}"
        );
    }
    for settled in ["environment=production", "/statuses"] {
        assert!(
            !paths.iter().any(|p| p.contains(settled)),
            "{settled}: {paths:#?}"
        );
    }
    assert!(!paths.contains(&"/api/v3/repos/acme/api"), "{paths:#?}");
    assert!(
        g.seen
            .iter()
            .all(|(_, _, inm, status)| inm.is_some() && *status == 304),
        "{:#?}",
        g.seen
    );
    assert_eq!(4000 - g.remaining, spent, "304s don't count");
    let prod = world.cell("api", "prod").unwrap();
    assert_eq!(prod.state, CellState::Succeeded, "the last answer stands");
    assert!(!world.is_stale(prod, poll::now()));
    // Nothing was spent: the configured interval holds.
    assert_eq!(sources[0].interval(), std::time::Duration::from_secs(1));
    // The token's requests of the last minute are said, with its budget.
    let rate = world.source("gh").unwrap().request_rate.unwrap();
    assert_eq!(rate.per_minute, 600);
    assert_eq!(rate.used as usize, first.len() + g.seen.len());
}

#[tokio::test]
async fn a_low_budget_stretches_the_interval() {
    let (api, gh) = server(600).await;
    gh.lock().unwrap().no_etags = true;
    let config = config(&api, "settled_interval = \"1s\"");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    // The first poll fills the cache and doesn't count; the second costs as much again.
    poll_into(&mut world, &sources).await;
    assert_eq!(sources[0].interval(), std::time::Duration::from_secs(1));
    next_poll(&mut world, &sources).await;
    let i = sources[0].interval();
    assert!(i > std::time::Duration::from_secs(1), "{i:?}");
    let remaining = gh.lock().unwrap().remaining as u64;
    assert!(remaining < 600);
    let health = world.source("gh").unwrap();
    assert_eq!(
        health.rate_limit.unwrap().remaining,
        remaining,
        "the header shows the budget"
    );
    // The stretched interval is reported, and data is not stale within three of them.
    assert!(health.interval.unwrap() > std::time::Duration::from_secs(1));
    let prod = world.cell("api", "prod").unwrap();
    assert!(!world.is_stale(prod, poll::now() + chrono::TimeDelta::seconds(60)));
}

#[tokio::test]
async fn approving_sends_the_environment_and_the_actor_to_the_waiting_run() {
    let (api, gh) = server(4000).await;
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let req = ActionRequest {
        id: "x".into(),
        kind: ActionKind::Approve,
        lane: "api".into(),
        stage: "staging".into(),
        version: None,
        reason: Some("release 2026.48".into()),
        actor: "alice@jump1".into(),
        force: false,
    };
    sources[0].act(&req).await.unwrap();
    let g = gh.lock().unwrap();
    let (path, body) = g.posts.last().unwrap();
    assert_eq!(
        path,
        "/repos/acme/api/actions/runs/30433642/pending_deployments"
    );
    assert_eq!(body["environment_ids"], json!([161088068]));
    assert_eq!(body["state"], "approved");
    assert_eq!(
        body["comment"],
        "approved with trainyard by alice@jump1: release 2026.48"
    );
}

#[tokio::test]
async fn promoting_without_a_waiting_run_dispatches_the_deploy_workflow() {
    let (api, gh) = server(4000).await;
    let config = config(
        &api,
        "version_input = \"sha\"\nenvironment_input = \"target\"",
    );
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let req = ActionRequest {
        id: "x".into(),
        kind: ActionKind::Promote,
        lane: "api".into(),
        stage: "prod".into(),
        version: Some("acb5820ced9479c074f688cc328bf03f341a511d".into()),
        reason: None,
        actor: "alice".into(),
        force: false,
    };
    assert!(
        sources[0]
            .preview(&req)
            .contains("/api/v3/repos/acme/api/actions/workflows/deploy.yml/dispatches")
    );
    sources[0].act(&req).await.unwrap();
    let g = gh.lock().unwrap();
    let (path, body) = g.posts.last().unwrap();
    assert_eq!(
        path,
        "/repos/acme/api/actions/workflows/deploy.yml/dispatches"
    );
    assert_eq!(
        body,
        &json!({"ref": "main", "inputs": {"sha": "acb5820ced9479c074f688cc328bf03f341a511d", "target": "production"}, "return_run_details": true})
    );
}

#[tokio::test]
async fn a_dispatched_run_that_fails_before_deploying_fails_the_cell_at_once() {
    let (api, gh) = server(4000).await;
    gh.lock().unwrap().dispatch_run = Some("failure");
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let version = "acb5820ced9479c074f688cc328bf03f341a511d";
    let req = ActionRequest {
        id: "x".into(),
        kind: ActionKind::Promote,
        lane: "api".into(),
        stage: "prod".into(),
        version: Some(version.into()),
        reason: None,
        actor: "alice".into(),
        force: false,
    };
    let ack = sources[0].act(&req).await.unwrap();
    assert!(ack.message.contains("deploy run 77"), "{}", ack.message);
    poll_into(&mut world, &sources).await;
    let prod = world.cell("api", "prod").unwrap();
    assert_eq!(prod.state, CellState::Failed);
    assert_eq!(prod.version.as_deref(), Some(version));
    assert!(
        prod.message
            .as_deref()
            .unwrap()
            .contains("deploy run 77 failed before deploying")
    );
    // Rollback targets are still the deployments of before.
    assert!(!prod.history.is_empty());
}

#[tokio::test]
async fn check_runs_are_read_across_pages() {
    let (api, gh) = server(4000).await;
    gh.lock().unwrap().paged_checks = true;
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let build = world.cell("api", "build").unwrap();
    let names: Vec<(&str, trainyard::model::CheckState)> = build
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.state))
        .collect();
    assert_eq!(
        names,
        [
            ("mighty_readme", trainyard::model::CheckState::Passed),
            ("integration-tests", trainyard::model::CheckState::Failed)
        ]
    );
}

#[tokio::test]
async fn retry_after_holds_every_request_and_keeps_the_last_good_data() {
    let (api, gh) = server(4000).await;
    let config = config(&api, "settled_interval = \"1s\"");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    gh.lock().unwrap().broken = Some((
        403,
        r#"{"message":"You have exceeded a secondary rate limit"}"#.into(),
        Some(120),
    ));
    next_poll(&mut world, &sources).await;
    let health = world.source("gh").unwrap();
    assert!(!health.ok);
    let before = gh.lock().unwrap().seen.len();
    next_poll(&mut world, &sources).await;
    assert_eq!(
        gh.lock().unwrap().seen.len(),
        before,
        "no request while GitHub says to wait"
    );
    let err = world.source("gh").unwrap().error.clone().unwrap();
    assert!(
        err.contains("rate limited")
            && err.contains("a secondary rate limit: GitHub answered 403 with retry-after 120s")
            && err.contains("not asking GitHub again for"),
        "{err}"
    );
    let prod = world.cell("api", "prod").unwrap();
    assert_eq!(prod.state, CellState::Succeeded, "last good data stays");
    assert!(world.is_stale(prod, poll::now()));
}

#[tokio::test]
async fn hostile_numbers_do_not_panic() {
    let (api, gh) = server(4000).await;
    gh.lock().unwrap().hostile = true;
    let config = config(&api, "");
    let sources = sources::build(&config);
    let mut world = config.empty_world();
    poll_into(&mut world, &sources).await;
    let health = world.source("gh").unwrap();
    assert!(health.ok, "{:?}", health.error);
    assert_eq!(
        world.cell("api", "staging").unwrap().state,
        CellState::AwaitingApproval
    );
}

#[tokio::test]
async fn broken_answers_are_errors_not_panics() {
    for (status, body) in [
        (200, "{not json"),
        (502, "<html>bad gateway</html>"),
        (200, r#"{"workflow_runs": "nope"}"#),
    ] {
        let (api, gh) = server(4000).await;
        let config = config(&api, "settled_interval = \"1s\"");
        let sources = sources::build(&config);
        let mut world = config.empty_world();
        poll_into(&mut world, &sources).await;
        gh.lock().unwrap().broken = Some((status, body.into(), None));
        next_poll(&mut world, &sources).await;
        let health = world.source("gh").unwrap();
        assert!(!health.ok, "{status} {body}");
        let err = health.error.clone().unwrap();
        assert!(!err.contains("internal error"), "a panic, caught: {err}");
        assert_eq!(
            world.cell("api", "prod").unwrap().state,
            CellState::Succeeded
        );
    }
}

#[tokio::test]
async fn a_bad_token_is_a_source_error() {
    let (api, _gh) = server(4000).await;
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n[sources.gh]\nkind = \"github\"\napi_url = \"{api}\"\ntoken_cmd = \"echo wrong\"\n[[lanes]]\nname = \"api\"\nsource = \"gh\"\nrepo = \"acme/api\"\nstages.build = {{ workflow = \"ci.yml\" }}\nstages.prod = {{ environment = \"production\" }}\n"
    );
    let config = config::parse(&text, "t.toml").unwrap();
    let reports = poll::poll_once(&sources::build(&config)).await;
    let err = reports[0].outcome.as_ref().unwrap_err();
    assert!(
        err.contains("401") && err.contains("Bad credentials") && !err.contains("wrong"),
        "{err}"
    );
}

/// The simulator at `speed`× pace, in this process, and the demo's config for it (which reads
/// three lanes through the simulator's GitHub API).
async fn demo_sim(speed: f64) -> Demo {
    sim::demo(SimOptions {
        speed,
        ..sim::opts()
    })
    .await
}

/// The whole path against the simulator's GitHub API: the demo's GitHub lanes, an approval
/// waiting at production, approved through the runner, verified, audited.
#[tokio::test]
async fn approving_a_waiting_deployment_in_the_simulator_end_to_end() {
    let d = demo_sim(10.0).await;
    let (config, sources) = (&d.config, &d.sources);
    assert_eq!(config.target("checkout-web", "prod").unwrap().source, "gh");
    let mut world = config.empty_world();
    poll_into(&mut world, sources).await;
    let cell = world
        .cell("checkout-web", "prod")
        .expect("checkout-web prod from GitHub");
    assert_eq!(cell.state, CellState::AwaitingApproval, "{cell:?}");
    assert_eq!(
        cell.approval.as_ref().unwrap().environment.as_deref(),
        Some("production")
    );
    assert!(world.source("gh").unwrap().rate_limit.is_some());

    let (_dir, runner) = d.runner();
    let mut action = Action::new(ActionKind::Approve, "checkout-web", "prod");
    action.reason = Some("release notes checked".into());
    let plan = trainyard::ops::preflight(
        action,
        &config.train,
        &world,
        &Default::default(),
        poll::now(),
    )
    .unwrap();
    let outcome = runner.run(&plan, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let records = common::sim::audit_file(&runner).read().unwrap();
    assert_eq!(
        records
            .iter()
            .map(|r| r.result.as_str())
            .collect::<Vec<_>>(),
        ["attempt", "done"]
    );
    d.handle.shutdown().await;
}

/// Promote (dispatch), pause (cancel and hold) and rollback (dispatch of the last good
/// version) of GitHub lanes, against the simulator, through the runner.
#[tokio::test]
async fn promote_pause_and_rollback_through_the_simulators_github() {
    // A slower pace: pricing-engine's staging rollout must still be running when the pause
    // arrives, even on a busy machine.
    let d = demo_sim(4.0).await;
    let (config, sources) = (&d.config, &d.sources);
    let (_dir, runner) = d.runner();
    let observe = || async {
        let mut w = config.empty_world();
        poll_into(&mut w, sources).await;
        w
    };
    let plan = |w: &World, a: Action| {
        let holds = trainyard::ops::holds_from(&common::sim::audit_file(&runner).read().unwrap());
        trainyard::ops::preflight(a, &config.train, w, &holds, poll::now()).unwrap()
    };

    // pricing-engine is rolling out at staging: pausing it cancels the run and holds the lane.
    let world = observe().await;
    assert_eq!(
        world.cell("pricing-engine", "staging").unwrap().state,
        CellState::Running
    );
    let outcome = runner
        .run(
            &plan(
                &world,
                Action::new(ActionKind::Pause, "pricing-engine", "staging"),
            ),
            false,
            &|_| {},
        )
        .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let world = observe().await;
    let stopped = world.cell("pricing-engine", "staging").unwrap().state;
    assert!(
        matches!(stopped, CellState::Cancelled | CellState::Failed),
        "{stopped:?}"
    );
    let holds = trainyard::ops::holds_from(&common::sim::audit_file(&runner).read().unwrap());
    assert!(
        holds.lanes.contains_key("pricing-engine"),
        "the lane is held: {holds:?}"
    );

    // inventory's canary version is promoted to production by dispatching deploy.yml (forced
    // past the soak, with a reason).
    let mut a = Action::new(ActionKind::Promote, "inventory", "prod");
    a.force = true;
    a.reason = Some("hotfix".into());
    let mut p = plan(&world, a.clone());
    p.action = a;
    let want = p.to_version.clone().unwrap();
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let world = observe().await;
    let prod = world.cell("inventory", "prod").unwrap();
    assert_eq!(prod.version.as_deref(), Some(want.as_str()));

    // And rolled back: the last good version before it, by the same dispatch.
    let p = plan(
        &world,
        Action::new(ActionKind::Rollback, "inventory", "prod"),
    );
    let back = p.to_version.clone().unwrap();
    assert_ne!(back, want);
    let outcome = runner.run(&p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let world = observe().await;
    assert_eq!(
        world.cell("inventory", "prod").unwrap().version.as_deref(),
        Some(back.as_str())
    );
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}
