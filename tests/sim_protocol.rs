//! The simulator over real HTTP on 127.0.0.1: the shapes of docs/protocol.md.

mod common;

use serde_json::{Value, json};
use trainyard::model::CellState;
use trainyard::sim::{self, SimHandle, SimOptions};

use common::sim::get;

/// One of the protocol's state words: the model's closed set.
fn is_state(word: &str) -> bool {
    CellState::ALL.map(CellState::as_str).contains(&word)
}

async fn sim(opts: SimOptions) -> (SimHandle, reqwest::Client) {
    (common::sim::start(opts).await, common::sim::client())
}

async fn post(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/v1/actions"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'))
}

fn find<'a>(train: &'a Value, lane: &str, stage: &str) -> &'a Value {
    train["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lane"] == lane && c["stage"] == stage)
        .unwrap()
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    let err = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert_eq!(err["code"], want_code, "{body}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn the_train_has_the_documented_shape() {
    let (handle, client) = sim(SimOptions::default()).await;
    let base = handle.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_ne!(handle.addr.port(), 0);

    let (status, train) = get(&client, format!("{base}/v1/train")).await;
    assert_eq!(status, 200);
    assert_eq!(train["protocol"], 1);
    assert!(is_rfc3339(&train["generated_at"]));
    let cells = train["cells"].as_array().expect("a cells array");
    assert_eq!(cells.len(), 9 * 4);
    for c in cells {
        assert!(c["lane"].is_string() && c["stage"].is_string(), "{c}");
        let state = c["state"].as_str().expect("a state");
        assert!(is_state(state), "{state}");
        if let Some(p) = c["progress"].as_f64() {
            assert!((0.0..=1.0).contains(&p), "{c}");
        } else {
            assert!(c["progress"].is_null());
        }
        assert!(
            is_rfc3339(&c["updated_at"]) && is_rfc3339(&c["started_at"]),
            "{c}"
        );
        let url = c["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{base}/runs/")), "{url}");
        assert!(c["actor"].is_string() && c["message"].is_string());
        for check in c["checks"].as_array().unwrap() {
            assert!(check["name"].is_string());
            assert!(["passed", "failed", "pending"].contains(&check["state"].as_str().unwrap()));
        }
        if state == "awaiting_approval" {
            assert!(c["approval"]["environment"].is_string());
            assert!(c["approval"]["reviewers"].is_array());
        } else {
            assert!(c["approval"].is_null());
        }
        for h in c["history"].as_array().unwrap() {
            assert!(h["version"].is_string() && is_rfc3339(&h["at"]) && h["actor"].is_string());
            assert!(is_state(h["state"].as_str().unwrap()));
        }
    }
    let metrics = train["metrics"].as_array().expect("a metrics array");
    assert_eq!(metrics.len(), 9 * 3 * 3);
    for m in metrics {
        assert!(m["lane"].is_string() && m["stage"].is_string() && m["name"].is_string());
        assert!(m["value"].is_number());
        assert!(["ratio", "seconds"].contains(&m["unit"].as_str().unwrap()));
        assert!(m["threshold"]["max"].is_number());
        for point in m["series"].as_array().unwrap() {
            assert!(point[0].is_i64() && point[1].is_number(), "{point}");
        }
    }
    // A cell's link answers.
    let (status, run) = get(
        &client,
        find(&train, "ledger", "canary")["url"]
            .as_str()
            .unwrap()
            .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["lane"], "ledger");
    // An unknown path answers with the error body.
    let (status, body) = get(&client, format!("{base}/v2/nope")).await;
    assert_error(status, &body, 404, "not_found");
    handle.shutdown().await;
}

#[tokio::test]
async fn actions_are_answered_as_documented_and_recorded() {
    let (handle, client) = sim(SimOptions {
        lanes: 3,
        ..SimOptions::default()
    })
    .await;
    let base = handle.base_url();
    let (_, train) = get(&client, format!("{base}/v1/train")).await;
    assert_eq!(train["cells"].as_array().unwrap().len(), 12);

    // Accepted: pause the running ledger canary rollout, then resume it.
    let req = json!({"id": "ty-1-1", "action": "pause", "lane": "ledger", "stage": "canary",
                     "reason": "watching replication lag", "actor": "alice@jump1"});
    let (status, ack) = post(&client, &base, &req).await;
    assert!(status == 202 || status == 200, "{status} {ack}");
    assert_eq!(ack["accepted"], true);
    assert_eq!(ack["id"], "ty-1-1");
    assert!(ack["message"].is_string());
    let (_, train) = get(&client, format!("{base}/v1/train")).await;
    let c = find(&train, "ledger", "canary");
    assert_eq!(c["state"], "paused");
    assert_eq!(c["actor"], "alice@jump1");

    // Conflict: pausing again.
    let again = json!({"id": "ty-1-2", "action": "pause", "lane": "ledger", "stage": "canary"});
    let (status, body) = post(&client, &base, &again).await;
    assert_error(status, &body, 409, "conflict");

    let resume = json!({"id": "ty-1-3", "action": "resume", "lane": "ledger", "stage": "canary"});
    let (status, _) = post(&client, &base, &resume).await;
    assert_eq!(status, 202);
    let (_, train) = get(&client, format!("{base}/v1/train")).await;
    assert_eq!(find(&train, "ledger", "canary")["state"], "running");

    // Approve the waiting checkout-web prod deploy.
    let approve =
        json!({"id": "ty-1-4", "action": "approve", "lane": "checkout-web", "stage": "prod"});
    let (status, _) = post(&client, &base, &approve).await;
    assert_eq!(status, 202);

    // Not found, invalid.
    let (status, body) = post(
        &client,
        &base,
        &json!({"action": "pause", "lane": "nope", "stage": "canary"}),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = post(
        &client,
        &base,
        &json!({"action": "pause", "lane": "ledger", "stage": "qa"}),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = post(
        &client,
        &base,
        &json!({"action": "launch", "lane": "ledger", "stage": "prod"}),
    )
    .await;
    assert_error(status, &body, 400, "invalid");
    let resp = client
        .post(format!("{base}/v1/actions"))
        .header("content-type", "application/json")
        .body("{\"action\": ")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_error(status, &body, 400, "invalid");

    // Every POST was recorded, in order, as sent.
    let (status, log) = get(&client, format!("{base}/v1/_sim/actions")).await;
    assert_eq!(status, 200);
    let actions = log["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 8);
    assert_eq!(actions[0]["id"], "ty-1-1");
    assert_eq!(actions[0]["action"], "pause");
    assert_eq!(actions[0]["reason"], "watching replication lag");
    assert!(is_rfc3339(&actions[0]["received_at"]));
    assert_eq!(actions[0]["status"], 202);
    assert_eq!(actions[1]["status"], 409);
    assert_eq!(actions[3]["action"], "approve");
    assert_eq!(actions[7]["status"], 400);
    handle.shutdown().await;
}

#[tokio::test]
async fn only_loopback_and_the_handle_stops_the_server() {
    let err = sim::start("0.0.0.0:0".parse().unwrap(), SimOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

    let (handle, client) = sim(SimOptions::default()).await;
    let url = format!("{}/v1/train", handle.base_url());
    assert_eq!(get(&client, url.clone()).await.0, 200);
    handle.shutdown().await;
    let fresh = common::sim::client();
    assert!(
        fresh.get(url).send().await.is_err(),
        "still answering after shutdown"
    );
}
