//! GitHub: the payloads the source reads (`map::decode` then the mapping to cells, as the
//! source does), fed the official examples (tests/fixtures/github) mutated and payloads
//! generated to their schema; and the headers it reads (`Link`, `x-ratelimit-*`,
//! `retry-after`) with the arithmetic they feed.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use trainyard::model::{CellState, Timestamp};
use trainyard::sources::github::client::{Budget, budget_of, next_link, retry_after, stretch};
use trainyard::sources::github::map::{
    self, CheckRuns, Deployment, DeploymentStatus, PendingDeployment, WorkflowRuns,
};

use crate::check_cell;
use crate::mutate::{self, error_message, hostile_string, rfc3339};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The official examples of every payload the source reads.
fn fixtures() -> &'static [Value] {
    static F: OnceLock<Vec<Value>> = OnceLock::new();
    F.get_or_init(|| {
        [
            "workflow-run-paginated.json",
            "check-run-paginated.json",
            "deployment-items.json",
            "deployment-status-items.json",
            "pending-deployment-items.json",
        ]
        .map(fixture)
        .into()
    })
}

/// A time in the years the release window could be in, for `now`.
fn now() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800).prop_map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap())
}

/// Read a body as the source does, as every payload kind in turn (one page from its bytes,
/// pages merged as JSON), and map what decodes to cells. Errors have words; cells are clean.
fn check_body(body: &[u8], now: Timestamp) -> Result<(), TestCaseError> {
    // A one-page answer is read straight from its bytes, as each payload kind in turn.
    let runs = map::decode_json::<WorkflowRuns>(body);
    let checks = map::decode_json::<CheckRuns>(body);
    let deployments = map::decode_json::<Vec<Deployment>>(body);
    let statuses = map::decode_json::<Vec<DeploymentStatus>>(body);
    let pending = map::decode_json::<Vec<PendingDeployment>>(body);
    for e in [
        runs.as_ref().err(),
        checks.as_ref().err(),
        deployments.as_ref().err(),
        statuses.as_ref().err(),
        pending.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        error_message("decode_json", e)?;
    }
    // Pages of a list are merged as JSON first (serde_json's own recursion limit keeps deep
    // nesting an error), then read: the same kinds, the same words.
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        for e in [
            map::decode::<WorkflowRuns>(v.clone()).err(),
            map::decode::<CheckRuns>(v.clone()).err(),
            map::decode::<Vec<Deployment>>(v.clone()).err(),
            map::decode::<Vec<DeploymentStatus>>(v.clone()).err(),
            map::decode::<Vec<PendingDeployment>>(v).err(),
        ]
        .into_iter()
        .flatten()
        {
            error_message("decode", &e)?;
        }
    }
    let example_runs: WorkflowRuns = map::decode(fixtures()[0].clone()).unwrap();
    if let Ok(r) = &runs {
        for run in &r.workflow_runs {
            let _ = run.from_pull_request();
        }
        if let Some(c) = map::ci_cell(&r.workflow_runs, &[]) {
            check_cell(&c)?;
        }
    }
    if let Ok(c) = &checks {
        for ch in &c.check_runs {
            let _ = map::check(ch);
        }
        if let Some(c) = map::ci_cell(&example_runs.workflow_runs, &c.check_runs) {
            check_cell(&c)?;
        }
    }
    if let Ok(d) = &deployments {
        let pairs: Vec<_> = d.iter().map(|d| (d.clone(), None)).collect();
        if let Some(c) = map::deploy_cell(&pairs) {
            check_cell(&c)?;
        }
    }
    if let Ok(s) = &statuses {
        let d: Vec<Deployment> = map::decode(fixtures()[2].clone()).unwrap();
        let pairs: Vec<_> = s.iter().map(|s| (d[0].clone(), Some(s.clone()))).collect();
        if let Some(c) = map::deploy_cell(&pairs) {
            check_cell(&c)?;
        }
    }
    if let Ok(p) = &pending {
        for p in p {
            let c = map::awaiting_cell(&example_runs.workflow_runs[0], p, now);
            prop_assert_eq!(c.state, CellState::AwaitingApproval);
            check_cell(&c)?;
        }
    }
    Ok(())
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.6, s)
}

fn word(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(known).prop_map(str::to_string),
        1 => hostile_string(),
    ]
}

const STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];
const CONCLUSIONS: &[&str] = &[
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
    "startup_failure",
];

fn login() -> impl Strategy<Value = Option<Value>> {
    opt(hostile_string().prop_map(|l| json!({"login": l, "id": 1})))
}

/// A workflow run with every field the source reads, of the documented type.
fn run() -> impl Strategy<Value = Value> {
    (
        (
            any::<u64>(),
            opt(hostile_string()),
            hostile_string(),
            opt(hostile_string()),
            opt(word(STATUSES)),
            opt(word(CONCLUSIONS)),
        ),
        (
            opt(hostile_string()),
            opt(rfc3339()),
            opt(rfc3339()),
            opt(rfc3339()),
            login(),
            opt(hostile_string()),
            opt(word(&["push", "pull_request", "workflow_dispatch"])),
        ),
    )
        .prop_map(
            |(
                (id, name, head_sha, head_branch, status, conclusion),
                (html_url, created_at, updated_at, run_started_at, actor, title, event),
            )| {
                json!({
                    "id": id, "name": name, "head_sha": head_sha, "head_branch": head_branch,
                    "status": status, "conclusion": conclusion, "html_url": html_url,
                    "created_at": created_at, "updated_at": updated_at,
                    "run_started_at": run_started_at, "actor": actor,
                    "display_title": title, "path": ".github/workflows/deploy.yml",
                    "event": event,
                })
            },
        )
}

fn check_run() -> impl Strategy<Value = Value> {
    (
        hostile_string(),
        opt(word(&["queued", "in_progress", "completed"])),
        opt(word(CONCLUSIONS)),
        opt(hostile_string()),
    )
        .prop_map(|(name, status, conclusion, url)| {
            json!({"name": name, "status": status, "conclusion": conclusion, "html_url": url})
        })
}

fn deployment() -> impl Strategy<Value = Value> {
    (
        any::<u64>(),
        hostile_string(),
        opt(prop_oneof![
            word(&["main", "v1.4.2", "refs/tags/v2.0.0", "v", "1.2"]),
            hostile_string()
        ]),
        opt(hostile_string()),
        login(),
        (opt(rfc3339()), opt(rfc3339()), opt(hostile_string())),
    )
        .prop_map(
            |(id, sha, git_ref, environment, creator, (created, updated, description))| {
                json!({
                    "id": id, "sha": sha, "ref": git_ref, "environment": environment,
                    "creator": creator, "created_at": created, "updated_at": updated,
                    "description": description,
                })
            },
        )
}

fn deployment_status() -> impl Strategy<Value = Value> {
    (
        word(&[
            "success",
            "failure",
            "error",
            "in_progress",
            "queued",
            "pending",
            "inactive",
        ]),
        login(),
        opt(hostile_string()),
        opt(rfc3339()),
        (
            opt(hostile_string()),
            opt(hostile_string()),
            opt(hostile_string()),
        ),
    )
        .prop_map(
            |(state, creator, description, created_at, (log_url, target_url, env_url))| {
                json!({
                    "state": state, "creator": creator, "description": description,
                    "created_at": created_at, "log_url": log_url, "target_url": target_url,
                    "environment_url": env_url,
                })
            },
        )
}

fn pending_deployment() -> impl Strategy<Value = Value> {
    let reviewer = (
        opt(word(&["User", "Team"])),
        opt((
            opt(hostile_string()),
            opt(hostile_string()),
            opt(hostile_string()),
        )),
    )
        .prop_map(|(kind, r)| {
            json!({"type": kind, "reviewer": r.map(|(login, name, slug)| {
                json!({"login": login, "name": name, "slug": slug})
            })})
        });
    (
        any::<u64>(),
        hostile_string(),
        // Wait timers of any size: GitHub caps them at 30 days, a payload need not.
        prop_oneof![any::<u64>(), 0u64..50_000],
        opt(rfc3339()),
        any::<bool>(),
        prop::collection::vec(reviewer, 0..4),
    )
        .prop_map(|(id, env, wait, started, can, reviewers)| {
            json!({
                "environment": {"id": id, "name": env}, "wait_timer": wait,
                "wait_timer_started_at": started, "current_user_can_approve": can,
                "reviewers": reviewers,
            })
        })
}

/// An index into the fixtures, a tree edit list and a byte edit list.
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    (any::<Index>(), mutate::edits(), mutate::byte_edits())
        .prop_map(|(i, e, b)| mutate::mutated(i.get(fixtures()), &e, &b))
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| format!(" {n} ")),
        select(
            &[
                "0",
                "-1",
                "5000",
                "99999999999999999999",
                "1.5",
                "",
                " ",
                "Wed, 21 Oct 2015 07:28:00 GMT",
                "+60",
                "0x10",
            ][..]
        )
        .prop_map(str::to_string),
        "[ -~]{0,30}",
    ]
}

fn headers(values: &[(&'static str, Option<String>)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in values {
        if let Some(v) = v.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            h.insert(*k, v);
        }
    }
    h
}

proptest! {
    #![proptest_config(mutate::config(96))]

    /// The official examples, mutated as trees and bytes, read as every payload kind.
    #[test]
    fn mutated_examples_never_panic(body in mutated_fixture(), now in now()) {
        check_body(&body, now)?;
    }

    /// Runs and check runs generated to the schema decode and map to the cell of their newest
    /// run.
    #[test]
    fn generated_runs_map_to_a_ci_cell(
        runs in prop::collection::vec(run(), 1..6),
        checks in prop::collection::vec(check_run(), 0..6),
    ) {
        let runs: WorkflowRuns = map::decode(json!({"total_count": runs.len(), "workflow_runs": runs}))
            .map_err(TestCaseError::fail)?;
        let checks: CheckRuns = map::decode(json!({"total_count": 1, "check_runs": checks}))
            .map_err(TestCaseError::fail)?;
        let cell = map::ci_cell(&runs.workflow_runs, &checks.check_runs).unwrap();
        let first = &runs.workflow_runs[0];
        prop_assert_eq!(cell.state, map::run_state(first.status.as_deref(), first.conclusion.as_deref()));
        prop_assert_eq!(cell.history.len(), runs.workflow_runs.len());
        prop_assert_eq!(cell.checks.len(), checks.check_runs.len());
        check_cell(&cell)?;
    }

    /// Deployments and their statuses generated to the schema decode and map to the newest.
    #[test]
    fn generated_deployments_map_to_a_deploy_cell(
        deployments in prop::collection::vec((deployment(), opt(deployment_status())), 1..6),
    ) {
        let mut pairs = Vec::new();
        for (d, s) in deployments {
            let d: Deployment = map::decode(d).map_err(TestCaseError::fail)?;
            let s: Option<DeploymentStatus> = match s {
                Some(s) => Some(map::decode(s).map_err(TestCaseError::fail)?),
                None => None,
            };
            pairs.push((d, s));
        }
        let cell = map::deploy_cell(&pairs).unwrap();
        prop_assert_eq!(cell.history.len(), pairs.len());
        check_cell(&cell)?;
    }

    /// Pending deployments with any wait timer, started at any time: an awaiting cell, no
    /// overflow.
    #[test]
    fn generated_pending_deployments_wait_for_approval(
        pending in prop::collection::vec(pending_deployment(), 1..4),
        now in now(),
    ) {
        let pending: Vec<PendingDeployment> = map::decode(Value::Array(pending))
            .map_err(TestCaseError::fail)?;
        let runs: WorkflowRuns = map::decode(fixtures()[0].clone()).unwrap();
        for p in &pending {
            let c = map::awaiting_cell(&runs.workflow_runs[0], p, now);
            prop_assert_eq!(c.state, CellState::AwaitingApproval);
            let message = c.message.as_deref().unwrap_or("");
            prop_assert!(message.contains("approve"), "{}", message);
            check_cell(&c)?;
        }
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), now in now()) {
        check_body(&body, now)?;
    }

    /// `Link`: any text gives at most one URL, and it comes from the header.
    #[test]
    fn link_headers_never_panic(
        parts in prop::collection::vec(
            (hostile_string(), select(&["next", "last", "prev", "first", "\"next\"", ""][..])),
            0..5,
        ),
        noise in hostile_string(),
    ) {
        let mut header: String = parts
            .iter()
            .map(|(url, rel)| format!("<{url}>; rel=\"{rel}\""))
            .collect::<Vec<_>>()
            .join(", ");
        header.push_str(&noise);
        if let Some(url) = next_link(&header) {
            prop_assert!(header.contains(url.as_str()), "{url:?} not in {header:?}");
        }
        let _ = next_link(&noise);
    }

    /// A clean `rel="next"` among other links is found, whatever comes before it.
    #[test]
    fn the_next_link_is_found(
        before in prop::collection::vec(select(&["last", "prev", "first"][..]), 0..3),
        page in 2u32..10_000,
    ) {
        let want = format!("https://api.github.com/repositories/1/check-runs?page={page}");
        let mut parts: Vec<String> = before
            .iter()
            .map(|rel| format!("<https://api.github.com/x?page=1>; rel=\"{rel}\""))
            .collect();
        parts.push(format!("<{want}>; rel=\"next\""));
        prop_assert_eq!(next_link(&parts.join(", ")), Some(want));
    }

    /// The rate-limit headers: a budget only from three numbers, never negative; a hold only
    /// on a 403 or 429, between a second and an hour.
    #[test]
    fn rate_limit_headers_are_bounded(
        limit in opt(header_value()),
        remaining in opt(header_value()),
        reset in opt(header_value()),
        retry in opt(header_value()),
        status in prop_oneof![select(&[200u16, 304, 403, 429, 500][..]), any::<u16>()],
    ) {
        let h = headers(&[
            ("x-ratelimit-limit", limit),
            ("x-ratelimit-remaining", remaining),
            ("x-ratelimit-reset", reset),
            ("retry-after", retry),
        ]);
        let num = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
        let b = budget_of(&h);
        prop_assert_eq!(
            b.is_some(),
            num("x-ratelimit-limit").is_some() && num("x-ratelimit-remaining").is_some()
                && num("x-ratelimit-reset").is_some()
        );
        match retry_after(status, &h) {
            Some(d) => {
                prop_assert!(status == 403 || status == 429);
                prop_assert!((Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&d), "{d:?}");
            }
            None => prop_assert!(status != 429),
        }
        if let Some(b) = b {
            let now = chrono::Utc::now().timestamp();
            let d = stretch(Duration::from_secs(5), 10, b, now);
            prop_assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(3600), "{d:?}");
        }
    }

    /// The interval arithmetic over any budget, any clock: never below the configured interval,
    /// never beyond an hour past it, never a panic (`Duration::from_secs_f64` panics on
    /// negative or NaN).
    #[test]
    fn the_stretched_interval_is_bounded(
        interval in (0u64..86_400_000).prop_map(Duration::from_millis),
        cost in any::<u64>(),
        limit in any::<u64>(),
        remaining in any::<u64>(),
        reset in any::<i64>(),
        now in any::<i64>(),
    ) {
        let d = stretch(interval, cost, Budget { limit, remaining, reset }, now);
        prop_assert!(d >= interval);
        prop_assert!(d <= interval.max(Duration::from_secs(3600)), "{d:?}");
    }
}

/// The examples themselves decode and map: the seeds of the properties above are valid.
#[test]
fn the_official_examples_decode() {
    let f = fixtures();
    let runs: WorkflowRuns = map::decode(f[0].clone()).unwrap();
    let checks: CheckRuns = map::decode(f[1].clone()).unwrap();
    let deployments: Vec<Deployment> = map::decode(f[2].clone()).unwrap();
    let statuses: Vec<DeploymentStatus> = map::decode(f[3].clone()).unwrap();
    let pending: Vec<PendingDeployment> = map::decode(f[4].clone()).unwrap();
    assert!(map::ci_cell(&runs.workflow_runs, &checks.check_runs).is_some());
    assert!(map::deploy_cell(&[(deployments[0].clone(), statuses.first().cloned())]).is_some());
    assert!(!pending.is_empty());
}

/// A wait timer of u64::MAX minutes that started at the end of the calendar: capped, no
/// overflow.
#[test]
fn an_absurd_wait_timer_is_no_overflow() {
    let runs: WorkflowRuns = map::decode(fixtures()[0].clone()).unwrap();
    let p: PendingDeployment = map::decode(json!({
        "environment": {"id": 1, "name": "prod"}, "wait_timer": u64::MAX,
        "wait_timer_started_at": "9999-12-31T23:59:59Z",
    }))
    .unwrap();
    let c = map::awaiting_cell(&runs.workflow_runs[0], &p, chrono::Utc::now());
    let m = c.message.unwrap();
    assert!(m.starts_with("wait timer: ") && m.contains(" left"), "{m}");
}

/// Nesting past the recursion limit is an error of the JSON reader, not a stack overflow.
#[test]
fn deep_nesting_is_an_error() {
    let body = mutate::deeply_nested("{\"workflow_runs\":", 200_000, "}");
    let e = serde_json::from_slice::<Value>(&body).unwrap_err();
    assert!(e.to_string().contains("recursion limit"), "{e}");
}

/// Headers GitHub never sends but a proxy might: out-of-range numbers, dates, signs.
#[test]
fn odd_rate_limit_headers() {
    let h = |pairs: &[(&'static str, &str)]| {
        headers(
            &pairs
                .iter()
                .map(|(k, v)| (*k, Some(v.to_string())))
                .collect::<Vec<_>>(),
        )
    };
    let b = budget_of(&h(&[
        ("x-ratelimit-limit", "-5"),
        ("x-ratelimit-remaining", " 7 "),
        ("x-ratelimit-reset", "-9223372036854775808"),
    ]))
    .unwrap();
    assert_eq!((b.limit, b.remaining), (0, 7));
    assert!(budget_of(&h(&[("x-ratelimit-limit", "5000")])).is_none());
    let date = h(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
    assert_eq!(retry_after(429, &date), Some(Duration::from_secs(60)));
    assert_eq!(retry_after(403, &date), None);
    let huge = h(&[("retry-after", "9223372036854775807")]);
    assert_eq!(retry_after(403, &huge), Some(Duration::from_secs(3600)));
    assert_eq!(
        retry_after(429, &h(&[("retry-after", "-3")])),
        Some(Duration::from_secs(1))
    );
    assert_eq!(retry_after(200, &huge), None);
}
