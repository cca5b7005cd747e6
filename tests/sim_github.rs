//! The simulator's GitHub REST subset over real HTTP on 127.0.0.1: the shapes of GitHub's
//! own examples (tests/fixtures/github, from @octokit/openapi), conditional requests, the rate
//! limit, auth, pagination, and acting on the train through GitHub's endpoints.

mod common;

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use trainyard::sim::{SimHandle, SimOptions};

/// Slow enough that nothing settles while a test looks at it: a rollout takes minutes.
fn opts() -> SimOptions {
    SimOptions {
        speed: 0.05,
        ..SimOptions::default()
    }
}

async fn sim() -> (SimHandle, Gh) {
    let handle = common::sim::start(opts()).await;
    let client = common::sim::client();
    let gh = Gh {
        api: handle.github_api_url(),
        base: handle.base_url(),
        client,
    };
    (handle, gh)
}

struct Gh {
    api: String,
    base: String,
    client: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn num(&self, name: &str) -> i64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .parse()
            .unwrap()
    }
}

impl Gh {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("a response");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header("authorization", "Bearer test-token")
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", "trainyard-tests")
    }

    /// GET `{api}{path}` (a path, or a full URL from a `Link` header).
    async fn get(&self, path: &str) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.api)
        };
        self.send(self.authed(self.client.get(url))).await
    }

    async fn get_ok(&self, path: &str) -> Value {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.text);
        a.body
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        let req = self.client.post(format!("{}{path}", self.api));
        let req = if body.is_null() { req } else { req.json(body) };
        self.send(self.authed(req)).await
    }

    async fn knob(&self, body: Value) -> Value {
        let a = self
            .send(
                self.client
                    .post(format!("{}/_sim/rate_limit", self.api))
                    .json(&body),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.body
    }

    async fn requests(&self) -> Value {
        let a = self
            .send(self.client.get(format!("{}/_sim/requests", self.api)))
            .await;
        assert_eq!(a.status, 200);
        a.body
    }

    async fn train_cell(&self, lane: &str, stage: &str) -> Value {
        let train: Value = self
            .client
            .get(format!("{}/v1/train", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        train["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["lane"] == lane && c["stage"] == stage)
            .unwrap()
            .clone()
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/github/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Fields GitHub's schema marks nullable that the examples happen to fill in.
const NULLABLE: [&str; 3] = ["conclusion", "completed_at", "description"];

/// Every key of GitHub's example is in `actual`, with a value of the same JSON type
/// (integers stay integers, times stay RFC 3339), recursively. A `null` in the example may be
/// anything; an array's items are compared with the example item of the same `type`.
fn same_shape(example: &Value, actual: &Value, at: &str) {
    match (example, actual) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let here = format!("{at}.{k}");
                let av = a
                    .get(k)
                    .unwrap_or_else(|| panic!("{here} is missing in {actual}"));
                if av.is_null() && NULLABLE.contains(&k.as_str()) {
                    continue;
                }
                same_shape(ev, av, &here);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            let Some(first) = e.first() else { return };
            for (i, av) in a.iter().enumerate() {
                let ex = e
                    .iter()
                    .find(|x| x.get("type").is_some() && x.get("type") == av.get("type"))
                    .unwrap_or(first);
                same_shape(ex, av, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            if e.is_u64() || e.is_i64() {
                assert!(a.is_u64() || a.is_i64(), "{at}: {a} is not an integer");
            }
        }
        (Value::String(e), Value::String(a)) => {
            if chrono::DateTime::parse_from_rfc3339(e).is_ok() {
                assert!(
                    chrono::DateTime::parse_from_rfc3339(a).is_ok(),
                    "{at}: {a:?} is not an RFC 3339 time"
                );
                if e.ends_with('Z') {
                    assert!(a.ends_with('Z'), "{at}: {a:?} is not in UTC (Z)");
                }
            }
        }
        (Value::Bool(_), Value::Bool(_)) => {}
        _ => panic!("{at}: {actual} is not like GitHub's {example}"),
    }
}

/// Ids of the waiting run of checkout-web (awaiting approval at prod) and its environment.
async fn waiting_run(gh: &Gh) -> (u64, u64) {
    let waiting = gh
        .get_ok("/repos/acme/checkout-web/actions/runs?status=waiting&per_page=10")
        .await;
    assert_eq!(waiting["total_count"], 1, "{waiting}");
    let run = waiting["workflow_runs"][0]["id"].as_u64().unwrap();
    let pending = gh
        .get_ok(&format!(
            "/repos/acme/checkout-web/actions/runs/{run}/pending_deployments"
        ))
        .await;
    (run, pending[0]["environment"]["id"].as_u64().unwrap())
}

#[tokio::test]
async fn payloads_have_the_shapes_of_githubs_examples() {
    let (handle, gh) = sim().await;

    let ci = gh
        .get_ok("/repos/acme/auth-service/actions/workflows/ci.yml/runs?branch=main&per_page=5")
        .await;
    same_shape(&fixture("workflow-run-paginated"), &ci, "ci runs");
    assert_eq!(ci["workflow_runs"][0]["path"], ".github/workflows/ci.yml");
    let deploys = gh
        .get_ok("/repos/acme/checkout-web/actions/workflows/deploy.yml/runs?branch=main")
        .await;
    same_shape(&fixture("workflow-run-paginated"), &deploys, "deploy runs");
    assert_eq!(deploys["workflow_runs"][0]["status"], "waiting");
    let run = &ci["workflow_runs"][0];
    assert_eq!(run["head_sha"].as_str().unwrap().len(), 40);
    assert_eq!(run["actor"]["type"], "User");

    for lane in ["auth-service", "search-indexer"] {
        let checks = gh
            .get_ok(&format!(
                "/repos/acme/{lane}/commits/main/check-runs?per_page=100"
            ))
            .await;
        same_shape(&fixture("check-run-paginated"), &checks, lane);
        assert_eq!(checks["total_count"], 3);
    }

    let deployments = gh
        .get_ok("/repos/acme/checkout-web/deployments?environment=production&per_page=5")
        .await;
    same_shape(&fixture("deployment-items"), &deployments, "deployments");
    let id = deployments[1]["id"].as_u64().unwrap();
    let statuses = gh
        .get_ok(&format!(
            "/repos/acme/checkout-web/deployments/{id}/statuses?per_page=10"
        ))
        .await;
    same_shape(&fixture("deployment-status-items"), &statuses, "statuses");
    let one = gh
        .get_ok(&format!("/repos/acme/checkout-web/deployments/{id}"))
        .await;
    same_shape(&fixture("deployment-items")[0], &one, "deployment");

    let (run, env) = waiting_run(&gh).await;
    let pending = gh
        .get_ok(&format!(
            "/repos/acme/checkout-web/actions/runs/{run}/pending_deployments"
        ))
        .await;
    same_shape(&fixture("pending-deployment-items"), &pending, "pending");
    let types: Vec<&str> = pending[0]["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "Team"]);

    let envs = gh.get_ok("/repos/acme/checkout-web/environments").await;
    same_shape(&fixture("environments"), &envs, "environments");

    // GitHub's example requests are accepted as they are shaped...
    let mut review = fixture("request-pending_deployments-default");
    review["environment_ids"] = json!([env]);
    let a = gh
        .post(
            &format!("/repos/acme/checkout-web/actions/runs/{run}/pending_deployments"),
            &review,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    same_shape(&fixture("deployment-items"), &a.body, "reviewed");
    // ...and GitHub's example dispatch has inputs deploy.yml does not take: GitHub's 422.
    let a = gh
        .post(
            "/repos/acme/inventory/actions/workflows/deploy.yml/dispatches",
            &fixture("request-dispatches-default"),
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body["message"].is_string() && a.body["documentation_url"].is_string());

    let v = gh.train_cell("inventory", "canary").await["version"].clone();
    let a = gh
        .post(
            "/repos/acme/inventory/actions/workflows/deploy.yml/dispatches",
            &json!({"ref": "main", "inputs": {"version": v, "environment": "production"},
                    "return_run_details": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    same_shape(&fixture("workflow-dispatch-response"), &a.body, "dispatch");
    assert!(
        a.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn conditional_requests_are_free_and_everything_else_counts() {
    let (handle, gh) = sim().await;
    let path = "/repos/acme/checkout-web/deployments?environment=production&per_page=5";

    let first = gh.get(path).await;
    assert_eq!(first.status, 200);
    let tag = first.header("etag").expect("an ETag").to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    assert_eq!(first.num("x-ratelimit-limit"), 5000);
    assert_eq!(first.num("x-ratelimit-remaining"), 4999);
    assert_eq!(first.num("x-ratelimit-used"), 1);
    assert_eq!(first.header("x-ratelimit-resource"), Some("core"));
    let reset = first.num("x-ratelimit-reset");
    assert!(
        reset > chrono::Utc::now().timestamp(),
        "a reset in the future"
    );

    // The same request with If-None-Match: 304, no body, nothing spent.
    for _ in 0..3 {
        let again = gh
            .send(
                gh.authed(gh.client.get(format!("{}{path}", gh.api)))
                    .header("if-none-match", &tag),
            )
            .await;
        assert_eq!(again.status, 304);
        assert!(again.text.is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(again.num("x-ratelimit-remaining"), 4999);
        assert_eq!(again.num("x-ratelimit-used"), 1);
        assert_eq!(again.num("x-ratelimit-reset"), reset);
    }
    // Without it: 200 and one more spent; same body, same ETag.
    let plain = gh.get(path).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("etag"), Some(tag.as_str()));
    assert_eq!(plain.num("x-ratelimit-remaining"), 4998);
    // Errors count too.
    let missing = gh.get("/repos/acme/nope/deployments").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["message"], "Not Found");
    assert!(missing.body["documentation_url"].is_string());
    assert_eq!(missing.num("x-ratelimit-remaining"), 4997);

    // A change through the /v1 protocol shows here: a new ETag and a 200.
    let approve = json!({"action": "approve", "lane": "checkout-web", "stage": "prod",
                         "actor": "alice@jump1"});
    let resp = gh
        .client
        .post(format!("{}/v1/actions", gh.base))
        .json(&approve)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let changed = gh
        .send(
            gh.authed(gh.client.get(format!("{}{path}", gh.api)))
                .header("if-none-match", &tag),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(tag.as_str()));
    let d = changed.body[0]["id"].as_u64().unwrap();
    let statuses = gh
        .get_ok(&format!(
            "/repos/acme/checkout-web/deployments/{d}/statuses"
        ))
        .await;
    assert_eq!(statuses[0]["state"], "in_progress");
    assert_eq!(statuses[0]["creator"]["login"], "alice-jump1");

    // The counts per path, 304s apart.
    let counts = gh.requests().await;
    let p = &counts["paths"]["GET /api/v3/repos/acme/checkout-web/deployments"];
    assert_eq!(p["requests"], 6);
    assert_eq!(p["not_modified"], 3);
    assert_eq!(p["statuses"]["304"], 3);
    assert_eq!(p["statuses"]["200"], 3);
    assert_eq!(counts["not_modified"], 3);
    assert!(counts["total"].as_u64().unwrap() >= 8);
    handle.shutdown().await;
}

#[tokio::test]
async fn the_budget_runs_out_and_secondary_limits_ask_to_wait() {
    let (handle, gh) = sim().await;
    let state = gh.knob(json!({"limit": 10, "remaining": 2})).await;
    assert_eq!(state["remaining"], 2);
    let path = "/repos/acme/ledger/actions/workflows/ci.yml/runs?branch=main&per_page=1";
    let a = gh.get(path).await;
    assert_eq!((a.status, a.num("x-ratelimit-remaining")), (200, 1));
    assert_eq!(a.num("x-ratelimit-limit"), 10);
    let tag = a.header("etag").unwrap().to_string();
    let a = gh.get(path).await;
    assert_eq!((a.status, a.num("x-ratelimit-remaining")), (200, 0));
    assert_eq!(a.num("x-ratelimit-used"), 10);
    // Gone: 403 with GitHub's message and when to come back.
    for _ in 0..2 {
        let a = gh.get(path).await;
        assert_eq!(a.status, 403);
        assert!(
            a.body["message"]
                .as_str()
                .unwrap()
                .starts_with("API rate limit exceeded"),
            "{}",
            a.text
        );
        assert!(a.num("retry-after") > 0);
        assert_eq!(a.num("x-ratelimit-remaining"), 0);
        let wait = a.num("x-ratelimit-reset") - chrono::Utc::now().timestamp();
        assert!(wait > 0 && wait <= 3600, "{wait}");
    }
    // Even a conditional request is refused until the reset.
    let a = gh
        .send(
            gh.authed(gh.client.get(format!("{}{path}", gh.api)))
                .header("if-none-match", &tag),
        )
        .await;
    assert_eq!(a.status, 403);
    // The reset gives the budget back.
    gh.knob(json!({"reset_in": 0})).await;
    let a = gh.get(path).await;
    assert_eq!((a.status, a.num("x-ratelimit-remaining")), (200, 9));

    // Secondary limits: the next requests are refused with retry-after, the budget untouched.
    for status in [429, 403] {
        let state = gh
            .knob(json!({"secondary": {"count": 2, "status": status, "retry_after": 30}}))
            .await;
        assert_eq!(state["secondary"]["count"], 2);
        for _ in 0..2 {
            let a = gh.get(path).await;
            assert_eq!(a.status, status);
            assert_eq!(a.num("retry-after"), 30);
            assert!(
                a.body["message"]
                    .as_str()
                    .unwrap()
                    .contains("secondary rate limit")
            );
            assert_eq!(a.num("x-ratelimit-remaining"), 9);
        }
    }
    let a = gh.get(path).await;
    assert_eq!((a.status, a.num("x-ratelimit-remaining")), (200, 8));
    // /rate_limit is free.
    let a = gh.get("/rate_limit").await;
    assert_eq!(a.body["resources"]["core"]["remaining"], 8);
    assert_eq!(a.body["rate"]["limit"], 10);
    assert_eq!(a.num("x-ratelimit-remaining"), 8);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_token_is_required() {
    let (handle, gh) = sim().await;
    let url = format!("{}/repos/acme/ledger/deployments", gh.api);
    for auth in [
        None,
        Some("Bearer "),
        Some("Basic dXNlcjpwdw=="),
        Some("Bearer"),
    ] {
        let req = gh.client.get(&url);
        let req = match auth {
            Some(a) => req.header("authorization", a),
            None => req,
        };
        let a = gh.send(req).await;
        assert_eq!(a.status, 401, "{auth:?}");
        assert_eq!(a.body["message"], "Bad credentials");
        assert!(a.body["documentation_url"].is_string());
        assert_eq!(a.num("x-ratelimit-remaining"), 5000, "not spent");
    }
    let a = gh
        .send(gh.client.get(&url).header("authorization", "token abc"))
        .await;
    assert_eq!(a.status, 200);
    let a = gh.get("/repos/acme/ledger/deployments").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.num("x-ratelimit-remaining"), 4998);
    let counts = gh.requests().await;
    assert_eq!(
        counts["paths"]["GET /api/v3/repos/acme/ledger/deployments"]["statuses"]["401"],
        4
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn link_headers_walk_every_page() {
    let (handle, gh) = sim().await;
    let first = gh
        .get("/repos/acme/ledger/actions/workflows/deploy.yml/runs?branch=main&per_page=5")
        .await;
    assert_eq!(first.status, 200);
    let total = first.body["total_count"].as_u64().unwrap();
    assert!(total > 10, "{total}");
    let links = |a: &Answer| -> Vec<(String, String)> {
        a.header("link")
            .unwrap_or("")
            .split(", ")
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (url, rel) = l.split_once("; ").unwrap();
                (
                    rel.trim_start_matches("rel=\"")
                        .trim_end_matches('"')
                        .to_string(),
                    url.trim_matches(['<', '>']).to_string(),
                )
            })
            .collect()
    };
    let l = links(&first);
    let rels: Vec<&str> = l.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rels, ["next", "last"]);
    // The links keep the GHES prefix and the other parameters.
    for (_, url) in &l {
        assert!(url.starts_with(&gh.api), "{url}");
        assert!(
            url.contains("branch=main") && url.contains("per_page=5"),
            "{url}"
        );
    }
    let mut seen: Vec<u64> = first.body["workflow_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    let mut page = first;
    let mut pages = 1;
    while let Some((_, next)) = links(&page).into_iter().find(|(r, _)| r == "next") {
        page = gh.get(&next).await;
        assert_eq!(page.status, 200);
        pages += 1;
        seen.extend(
            page.body["workflow_runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap()),
        );
    }
    assert_eq!(pages, total.div_ceil(5));
    let rels: Vec<String> = links(&page).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, ["prev", "first"]);
    assert_eq!(seen.len() as u64, total);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");
    // One page is all there is: no Link.
    let one = gh
        .get("/repos/acme/ledger/actions/workflows/deploy.yml/runs?per_page=100")
        .await;
    assert_eq!(one.header("link"), None);
    handle.shutdown().await;
}

#[tokio::test]
async fn approving_a_pending_deployment_releases_the_cell() {
    let (handle, gh) = sim().await;
    let (run, env) = waiting_run(&gh).await;
    assert_eq!(
        gh.train_cell("checkout-web", "prod").await["state"],
        "awaiting_approval"
    );
    let path = format!("/repos/acme/checkout-web/actions/runs/{run}/pending_deployments");
    let wrong = gh
        .post(
            &path,
            &json!({"environment_ids": [env + 1], "state": "approved", "comment": "x"}),
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body["message"].is_string() && wrong.body["documentation_url"].is_string());

    let body = json!({"environment_ids": [env], "state": "approved",
                      "comment": "approved in trainyard by alice"});
    let a = gh.post(&path, &body).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body[0]["environment"], "production");
    let cell = gh.train_cell("checkout-web", "prod").await;
    assert_eq!(cell["state"], "running");
    assert_eq!(cell["actor"], "release-manager");
    let r = gh
        .get_ok(&format!("/repos/acme/checkout-web/actions/runs/{run}"))
        .await;
    assert_eq!(r["status"], "in_progress");
    let none = gh
        .get_ok("/repos/acme/checkout-web/actions/runs?status=waiting")
        .await;
    assert_eq!(none["total_count"], 0);
    assert_eq!(gh.get_ok(&path).await, json!([]));
    let again = gh.post(&path, &body).await;
    assert_eq!(again.status, 422);
    // The simulator kept what was sent, and to which run.
    let writes = gh.requests().await["writes"].clone();
    let sent: Vec<&Value> = writes
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["path"] == format!("/api/v3{path}"))
        .collect();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1]["body"], body);
    assert_eq!(sent[1]["status"], 200);
    handle.shutdown().await;
}

#[tokio::test]
async fn dispatching_deploy_yml_promotes_and_rolls_back() {
    let (handle, gh) = sim().await;
    let v = gh.train_cell("inventory", "canary").await["version"]
        .as_str()
        .unwrap()
        .to_string();
    let dispatches = "/repos/acme/inventory/actions/workflows/deploy.yml/dispatches";
    let refused = gh
        .post(
            dispatches,
            &json!({"ref": "main", "inputs": {"version": "0123456789", "environment": "production"}}),
        )
        .await;
    assert_eq!(refused.status, 422);

    let a = gh
        .post(
            dispatches,
            &json!({"ref": "main", "inputs": {"version": v, "environment": "production"},
                    "return_run_details": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let run = a.body["workflow_run_id"].as_u64().unwrap();
    let via_link = gh.get_ok(a.body["run_url"].as_str().unwrap()).await;
    assert_eq!(via_link["id"], run);
    assert_eq!(via_link["status"], "in_progress");
    assert_eq!(via_link["head_sha"], v.as_str());
    assert_eq!(via_link["path"], ".github/workflows/deploy.yml");
    let cell = gh.train_cell("inventory", "prod").await;
    assert_eq!(cell["state"], "running");
    assert_eq!(cell["version"], v.as_str());
    assert!(
        cell["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/runs/{run}"))
    );
    let deployments = gh
        .get_ok("/repos/acme/inventory/deployments?environment=production&per_page=1")
        .await;
    assert_eq!(deployments[0]["sha"], v.as_str());
    assert_eq!(deployments[0]["creator"]["login"], "release-manager");

    // A good earlier version of the environment: a rollback, answered 204.
    let cell = gh.train_cell("notifications", "canary").await;
    let good = cell["history"][0]["version"].as_str().unwrap().to_string();
    let a = gh
        .post(
            "/repos/acme/notifications/actions/workflows/deploy.yml/dispatches",
            &json!({"ref": "main", "inputs": {"version": good, "environment": "canary"}}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert!(a.text.is_empty());
    let cell = gh.train_cell("notifications", "canary").await;
    assert_eq!(cell["state"], "rolling_back");
    assert_eq!(cell["version"], good.as_str());
    handle.shutdown().await;
}

#[tokio::test]
async fn cancelling_a_run_cancels_the_rollout() {
    let (handle, gh) = sim().await;
    let running = gh
        .get_ok("/repos/acme/pricing-engine/actions/workflows/deploy.yml/runs?status=in_progress")
        .await;
    assert_eq!(running["total_count"], 1);
    let run = running["workflow_runs"][0]["id"].as_u64().unwrap();
    let cancel = format!("/repos/acme/pricing-engine/actions/runs/{run}/cancel");
    let a = gh.post(&cancel, &Value::Null).await;
    assert_eq!(a.status, 202, "{}", a.text);
    let r = gh
        .get_ok(&format!("/repos/acme/pricing-engine/actions/runs/{run}"))
        .await;
    assert_eq!(
        (r["status"].as_str(), r["conclusion"].as_str()),
        (Some("completed"), Some("cancelled"))
    );
    let cell = gh.train_cell("pricing-engine", "staging").await;
    assert_eq!(cell["state"], "cancelled");
    let d = gh
        .get_ok("/repos/acme/pricing-engine/deployments?environment=staging&per_page=1")
        .await;
    let id = d[0]["id"].as_u64().unwrap();
    let st = gh
        .get_ok(&format!(
            "/repos/acme/pricing-engine/deployments/{id}/statuses"
        ))
        .await;
    assert_eq!(st[0]["state"], "error");
    let again = gh.post(&cancel, &Value::Null).await;
    assert_eq!(again.status, 409);
    let unknown = gh
        .post(
            "/repos/acme/pricing-engine/actions/runs/1/cancel",
            &Value::Null,
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["message"], "Not Found");
    handle.shutdown().await;
}
