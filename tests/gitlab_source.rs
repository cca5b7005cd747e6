//! The `gitlab` source against the simulator's GitLab API (`/gitlab/api/v4`, a self-managed
//! instance at a relative URL root), over real loopback HTTP: the demo's config with its three
//! GitHub lanes read through GitLab instead. Reading (pipeline, jobs, deployments, a blocked
//! deployment's approval rules), acting through the runner (approve, promote by playing the
//! manual job, rollback by re-running an earlier deployment's job, pause by cancelling the
//! pipeline), each request checked at the server, and GitLab's refusals in words.

mod common;

use serde_json::{Value, json};

use trainyard::model::{ActionKind, CellState, World};
use trainyard::ops::{Action, Outcome, Plan, Runner};
use trainyard::poll;
use trainyard::sim::SimOptions;
use trainyard::sources::{ActionError, ActionRequest};

use common::sim::{self, Demo, poll_into};

const LANES: [&str; 3] = ["checkout-web", "inventory", "pricing-engine"];

/// The demo's config with its GitHub lanes read through the simulator's GitLab API, with
/// `token_cmd` printing `token` (none when it is empty).
fn through_gitlab(text: String, url: &str, token: &str, extra: &str) -> String {
    let token_line = if token.is_empty() {
        String::new()
    } else {
        format!("token_cmd = \"echo {token}\"\n")
    };
    let mut text = text.replace(
        "[sources.gh]",
        &format!(
            "[sources.gl]\nkind = \"gitlab\"\napi_url = \"{url}/gitlab/api/v4\"\n\
             {token_line}interval = \"1s\"\n{extra}\n\n[sources.gh]"
        ),
    );
    for lane in LANES {
        text = text.replace(
            &format!("source = \"gh\"\nrepo = \"acme/{lane}\"\n"),
            &format!("source = \"gl\"\nproject = \"acme/{lane}\"\n"),
        );
    }
    text.replace("stages.build = { workflow = \"ci.yml\" }\n", "")
        .replace(", workflow = \"deploy.yml\"", "")
}

async fn demo(speed: f64, token: &str, extra: &str) -> Demo {
    demo_then(speed, token, extra, |text| text).await
}

/// [`demo`], its config then edited by `edit`.
async fn demo_then(
    speed: f64,
    token: &str,
    extra: &str,
    edit: impl FnOnce(String) -> String + Send + 'static,
) -> Demo {
    let token = token.to_string();
    let extra = extra.to_string();
    // The config names the simulator's address (the `http` source's url).
    let d = sim::demo_edited(
        SimOptions {
            speed,
            ..sim::opts()
        },
        move |text| {
            let url = text
                .lines()
                .find_map(|l| l.strip_prefix("url = \""))
                .and_then(|l| l.strip_suffix('"'))
                .expect("the demo config names the simulator")
                .to_string();
            edit(through_gitlab(text, &url, &token, &extra))
        },
    )
    .await;
    for lane in LANES {
        assert_eq!(d.config.target(lane, "prod").unwrap().source, "gl");
    }
    d
}

async fn requests(d: &Demo) -> Vec<Value> {
    let url = format!("{}/gitlab/api/v4/_sim/requests", d.url());
    let v: Value = sim::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"].as_array().cloned().unwrap_or_default()
}

async fn clear_requests(d: &Demo) {
    let url = format!("{}/gitlab/api/v4/_sim/requests", d.url());
    sim::client().delete(url).send().await.unwrap();
}

async fn observe(d: &Demo) -> World {
    let mut w = d.config.empty_world();
    poll_into(&mut w, &d.sources).await;
    w
}

fn posts(reqs: &[Value]) -> Vec<(String, Value, u64)> {
    reqs.iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["body"].clone(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The plan of `a` at `world`, with the holds the runner's audit log has; the action as given
/// (a forced one stays forced).
fn plan(d: &Demo, runner: &Runner, world: &World, a: Action) -> Plan {
    let holds = trainyard::ops::holds_from(&common::sim::audit_file(runner).read().unwrap());
    let mut p =
        trainyard::ops::preflight(a.clone(), &d.config.train, world, &holds, poll::now()).unwrap();
    p.action = a;
    p
}

/// Run `p` through the runner to its end, which must be done: the POSTs GitLab received.
async fn run_done(d: &Demo, runner: &Runner, p: &Plan) -> Vec<(String, Value, u64)> {
    clear_requests(d).await;
    let outcome = runner.run(p, false, &|_| {}).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    posts(&requests(d).await)
}

#[tokio::test]
async fn the_simulators_gitlab_shows_pipelines_jobs_deployments_and_a_waiting_approval() {
    let d = demo(10.0, "glpat-demo", "").await;
    let world = observe(&d).await;
    // The same train through trainyard's own protocol: the versions agree.
    let train: Value = sim::client()
        .get(format!("{}/v1/train", d.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sim_cell = |lane: &str, stage: &str| -> Value {
        train["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["lane"] == lane && c["stage"] == stage)
            .unwrap()
            .clone()
    };
    for lane in LANES {
        for stage in ["build", "staging", "canary", "prod"] {
            let cell = world
                .cell(lane, stage)
                .unwrap_or_else(|| panic!("{lane} {stage}"));
            assert_eq!(cell.source, "gl");
            assert_eq!(
                cell.version.as_deref(),
                sim_cell(lane, stage)["version"].as_str(),
                "{lane} {stage}"
            );
        }
    }
    // checkout-web waits for approval at production: the rule left, from the deployment.
    let prod = world.cell("checkout-web", "prod").unwrap();
    assert_eq!(prod.state, CellState::AwaitingApproval, "{prod:?}");
    let a = prod.approval.as_ref().unwrap();
    assert_eq!(a.environment.as_deref(), Some("production"));
    assert_eq!(a.reviewers, ["checkout-web-approvers (1 more)"]);
    assert!(
        prod.message
            .as_deref()
            .unwrap()
            .contains("blocked: 1 approval left"),
        "{prod:?}"
    );
    // The build is the branch's pipeline, its jobs the checks.
    let build = world.cell("checkout-web", "build").unwrap();
    let names: Vec<&str> = build.checks.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"unit-tests"), "{names:?}");
    assert!(build.url.as_deref().unwrap().contains("/-/pipelines/"));
    // The budget GitLab announced.
    let src = world.source("gl").unwrap();
    assert_eq!(src.rate_limit.as_ref().map(|r| r.limit), Some(2000));
    // The requests: the project's default branch, pipelines and jobs, deployments, and the
    // blocked deployment on its own; the token as PRIVATE-TOKEN.
    let reqs = requests(&d).await;
    let paths: Vec<&str> = reqs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"/projects/acme%2Fcheckout-web"),
        "{paths:?}"
    );
    assert!(
        paths.contains(
            &"/projects/acme%2Fcheckout-web/pipelines?ref=main&order_by=id&sort=desc&per_page=10"
        ),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/projects/acme%2Fcheckout-web/deployments?environment=production&order_by=id&sort=desc&per_page=10"),
        "{paths:?}"
    );
    assert!(
        reqs.iter()
            .all(|r| r["auth"] == "private-token" && r["status"] == 200)
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn approve_promote_rollback_and_pause_through_the_runner_each_checked_at_the_server() {
    // A slow pace: pricing-engine's staging rollout must still run when the pause arrives.
    let d = demo(4.0, "glpat-demo", "").await;
    let (_dir, runner) = d.runner();

    // Approve: POST /deployments/:id/approval with a comment naming trainyard and the reason.
    let world = observe(&d).await;
    assert_eq!(
        world.cell("checkout-web", "prod").unwrap().state,
        CellState::AwaitingApproval
    );
    let mut a = Action::new(ActionKind::Approve, "checkout-web", "prod");
    a.reason = Some("release notes checked".into());
    let p = run_done(&d, &runner, &plan(&d, &runner, &world, a)).await;
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].0
            .starts_with("/projects/acme%2Fcheckout-web/deployments/")
            && p[0].0.ends_with("/approval"),
        "{p:?}"
    );
    assert_eq!(p[0].1["status"], "approved");
    let comment = p[0].1["comment"].as_str().unwrap();
    assert!(
        comment.starts_with("approved with trainyard by ")
            && comment.ends_with(": release notes checked"),
        "{comment}"
    );
    assert_eq!(p[0].2, 200);
    let world = observe(&d).await;
    assert_ne!(
        world.cell("checkout-web", "prod").unwrap().state,
        CellState::AwaitingApproval
    );

    // Pause: pricing-engine rolls out at staging; its pipeline is cancelled, the lane held.
    let world = observe(&d).await;
    assert_eq!(
        world.cell("pricing-engine", "staging").unwrap().state,
        CellState::Running
    );
    let pause = Action::new(ActionKind::Pause, "pricing-engine", "staging");
    let p = run_done(&d, &runner, &plan(&d, &runner, &world, pause)).await;
    assert!(
        p.len() == 1
            && p[0]
                .0
                .starts_with("/projects/acme%2Fpricing-engine/pipelines/")
            && p[0].0.ends_with("/cancel"),
        "{p:?}"
    );
    let world = observe(&d).await;
    assert_eq!(
        world.cell("pricing-engine", "staging").unwrap().state,
        CellState::Cancelled
    );
    let holds = trainyard::ops::holds_from(&common::sim::audit_file(&runner).read().unwrap());
    assert!(holds.lanes.contains_key("pricing-engine"), "{holds:?}");

    // Promote: inventory's canary version to production plays the manual deploy job.
    let mut a = Action::new(ActionKind::Promote, "inventory", "prod");
    a.force = true;
    a.reason = Some("hotfix".into());
    let p = plan(&d, &runner, &world, a);
    let want = p.to_version.clone().unwrap();
    let sent = run_done(&d, &runner, &p).await;
    assert!(
        sent.len() == 1
            && sent[0].0.starts_with("/projects/acme%2Finventory/jobs/")
            && sent[0].0.ends_with("/play"),
        "{sent:?}"
    );
    let world = observe(&d).await;
    assert_eq!(
        world.cell("inventory", "prod").unwrap().version.as_deref(),
        Some(want.as_str())
    );

    // Rollback: the earlier good version, by re-running its deployment's job.
    let rollback = Action::new(ActionKind::Rollback, "inventory", "prod");
    let p = plan(&d, &runner, &world, rollback);
    let back = p.to_version.clone().unwrap();
    assert_ne!(back, want);
    let sent = run_done(&d, &runner, &p).await;
    assert!(
        sent.len() == 1 && sent[0].0.ends_with("/retry") && sent[0].2 == 200,
        "{sent:?}"
    );
    let world = observe(&d).await;
    assert_eq!(
        world.cell("inventory", "prod").unwrap().version.as_deref(),
        Some(back.as_str())
    );

    // Each audited (the pause with the hold it put on the lane), the chain intact.
    let records = common::sim::audit_file(&runner).read().unwrap();
    let done: Vec<(&str, Option<&str>)> = records
        .iter()
        .filter(|r| r.result == "done")
        .map(|r| (r.action.as_str(), r.stage.as_deref()))
        .collect();
    assert_eq!(
        done,
        [
            ("approve", Some("prod")),
            ("pause", None),
            ("pause", Some("staging")),
            ("promote", Some("prod")),
            ("rollback", Some("prod")),
        ]
    );
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());
    d.handle.shutdown().await;
}

/// `text` with the production stage of `lane` given `options` (`promote = …, variables = …`).
fn prod_of(text: String, lane: &str, options: &str) -> String {
    let at = text
        .find(&format!("project = \"acme/{lane}\""))
        .expect("the lane reads gitlab");
    let line = "stages.prod = { environment = \"production\" }";
    let prod = at + text[at..].find(line).expect("its production stage");
    format!(
        "{}stages.prod = {{ environment = \"production\", {options} }}{}",
        &text[..prod],
        &text[prod + line.len()..]
    )
}

/// `promote = "pipeline"`: inventory's production is promoted by creating a pipeline on the
/// project's default branch whose variables name the version and the environment, checked
/// to the byte at the server and in the audit; variables the project's CI runs nothing for are
/// refused in GitLab's words.
#[tokio::test]
async fn promote_creates_a_pipeline_with_the_configured_variables() {
    let d = demo_then(4.0, "glpat-demo", "", |text| {
        let text = prod_of(
            text,
            "inventory",
            "promote = \"pipeline\", variables = { DEPLOY_VERSION = \"{version}\", DEPLOY_ENVIRONMENT = \"{environment}\", REQUESTED_FOR = \"{lane}/{stage}\" }",
        );
        prod_of(
            text,
            "pricing-engine",
            "promote = \"pipeline\", variables = { VERSION = \"{version}\" }",
        )
    })
    .await;
    let (_dir, runner) = d.runner();
    let world = observe(&d).await;
    let mut a = Action::new(ActionKind::Promote, "inventory", "prod");
    a.force = true;
    a.reason = Some("hotfix".into());
    let p = plan(&d, &runner, &world, a);
    let want = p.to_version.clone().unwrap();
    let body = json!({
        "ref": "main",
        "variables": [
            {"key": "DEPLOY_ENVIRONMENT", "value": "production"},
            {"key": "DEPLOY_VERSION", "value": want},
            {"key": "REQUESTED_FOR", "value": "inventory/prod"},
        ],
    });
    // A dry run shows the request whole.
    let preview = gl(&d).preview(&request(
        ActionKind::Promote,
        "inventory",
        "prod",
        Some(&want),
    ));
    assert!(
        preview.starts_with(&format!(
            "POST {}/gitlab/api/v4/projects/acme%2Finventory/pipeline on main with DEPLOY_ENVIRONMENT=production, DEPLOY_VERSION={want}, REQUESTED_FOR=inventory/prod (approval instead if ",
            d.url()
        )),
        "{preview}"
    );

    let sent = run_done(&d, &runner, &p).await;
    assert_eq!(
        sent,
        [("/projects/acme%2Finventory/pipeline".to_string(), body, 201)]
    );
    let world = observe(&d).await;
    assert_eq!(
        world.cell("inventory", "prod").unwrap().version.as_deref(),
        Some(want.as_str())
    );
    let records = common::sim::audit_file(&runner).read().unwrap();
    let r = records.last().unwrap();
    assert_eq!(
        (
            r.action.as_str(),
            r.lane.as_deref(),
            r.stage.as_deref(),
            r.to.as_deref(),
            r.reason.as_deref(),
            r.result.as_str()
        ),
        (
            "promote",
            Some("inventory"),
            Some("prod"),
            Some(want.as_str()),
            Some("hotfix"),
            "done"
        ),
        "{records:?}"
    );
    assert!(common::sim::audit_file(&runner).verify().unwrap().intact());

    // pricing-engine's variables name no environment: the project's CI runs nothing for them.
    let e = gl(&d)
        .act(&request(
            ActionKind::Promote,
            "pricing-engine",
            "prod",
            Some("0000000"),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "rejected (400 gitlab): GitLab refused to create a pipeline on main deploying 0000000 to production: base Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline. (GitLab made no pipeline: the branch, or the CI configuration's rules for these variables)"
    );
    d.handle.shutdown().await;
}

fn request(kind: ActionKind, lane: &str, stage: &str, version: Option<&str>) -> ActionRequest {
    ActionRequest {
        id: format!("t-{kind}-{lane}"),
        kind,
        lane: lane.into(),
        stage: stage.into(),
        version: version.map(str::to_string),
        reason: None,
        actor: "dana".into(),
        force: false,
    }
}

fn gl(d: &Demo) -> &dyn trainyard::sources::Source {
    d.sources
        .iter()
        .find(|s| s.name() == "gl")
        .unwrap()
        .as_ref()
}

#[tokio::test]
async fn gitlabs_refusals_are_said_in_words() {
    // A user who is not an allowed approver.
    let d = demo(1.0, "glpat-viewer", "").await;
    let e = gl(&d)
        .act(&request(ActionKind::Approve, "checkout-web", "prod", None))
        .await
        .unwrap_err();
    match &e {
        ActionError::Rejected {
            status, message, ..
        } => {
            assert_eq!(*status, 403);
            assert!(
                message.contains("GitLab refused to approve deployment"),
                "{message}"
            );
            assert!(
                message.contains("You don't have permission to approve this deployment"),
                "{message}"
            );
            assert!(
                message.contains("not an allowed approver of production"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A dry run says what would be sent, never the token.
    let preview = gl(&d).preview(&request(
        ActionKind::Promote,
        "inventory",
        "prod",
        Some("87689d8"),
    ));
    assert!(
        preview.starts_with(&format!(
            "POST {}/gitlab/api/v4/projects/acme%2Finventory/jobs/{{job}}/play (the manual job deploying 87689d8 to production",
            d.url()
        )),
        "{preview}"
    );
    assert!(!preview.contains("glpat"), "{preview}");
    // Nothing waits at staging; a build stage has no environment; resume has no request.
    let e = gl(&d)
        .act(&request(
            ActionKind::Approve,
            "checkout-web",
            "staging",
            None,
        ))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no deployment of checkout-web is waiting for approval at staging"),
        "{e}"
    );
    let e = gl(&d)
        .act(&request(
            ActionKind::Promote,
            "checkout-web",
            "build",
            Some("abc1234"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, ActionError::Unsupported(_)), "{e:?}");
    let e = gl(&d)
        .act(&request(ActionKind::Resume, "checkout-web", "prod", None))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("can't resume a cancelled pipeline"),
        "{e}"
    );
    // A version with no manual job waiting.
    let e = gl(&d)
        .act(&request(
            ActionKind::Promote,
            "inventory",
            "staging",
            Some("0000000"),
        ))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no manual job deploys 0000000 to staging"),
        "{e}"
    );
    d.handle.shutdown().await;

    // A token with only read_api reads, and says why it may not act.
    let d = demo(1.0, "glpat-read-only", "").await;
    let world = observe(&d).await;
    assert!(world.cell("checkout-web", "prod").is_some());
    let e = gl(&d)
        .act(&request(ActionKind::Approve, "checkout-web", "prod", None))
        .await
        .unwrap_err();
    let words = e.to_string();
    assert!(
        words.contains("403")
            && words.contains("insufficient_scope")
            && words.contains("`api` scope"),
        "{words}"
    );
    d.handle.shutdown().await;
}

#[tokio::test]
async fn a_job_no_longer_playable_is_refused_in_words() {
    let d = demo(1.0, "glpat-demo", "").await;
    let world = observe(&d).await;
    let version = world
        .cell("inventory", "canary")
        .unwrap()
        .version
        .clone()
        .unwrap();
    // Someone else plays the manual job first, straight through the API.
    let base = format!("{}/gitlab/api/v4/projects/acme%2Finventory", d.url());
    let c = sim::client();
    let list: Vec<Value> = c
        .get(format!(
            "{base}/deployments?environment=production&status=created"
        ))
        .header("PRIVATE-TOKEN", "t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = list[0]["deployable"]["id"].as_u64().unwrap();
    assert_eq!(list[0]["sha"], version.as_str());
    let first = c
        .post(format!("{base}/jobs/{job}/play"))
        .header("PRIVATE-TOKEN", "t")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    // Played twice, GitLab says it is no longer playable.
    let again = c
        .post(format!("{base}/jobs/{job}/play"))
        .header("PRIVATE-TOKEN", "t")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body, json!({"message": "400 Bad request - Unplayable Job"}));
    // trainyard, promoting the same version, finds nothing left to play and says so.
    let e = gl(&d)
        .act(&request(
            ActionKind::Promote,
            "inventory",
            "prod",
            Some(&version),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no manual job deploys"), "{e}");
    d.handle.shutdown().await;
}

#[tokio::test]
async fn retry_after_holds_the_source_and_an_oauth_token_goes_as_bearer() {
    let d = demo(1.0, "gloas-demo", "token_type = \"oauth\"").await;
    let world = observe(&d).await;
    assert!(world.cell("inventory", "prod").is_some());
    assert!(requests(&d).await.iter().all(|r| r["auth"] == "bearer"));

    let url = format!("{}/gitlab/api/v4/_sim/throttle", d.url());
    sim::client()
        .post(url)
        .json(&json!({"count": 1, "retry_after": 30}))
        .send()
        .await
        .unwrap();
    let src = gl(&d);
    let promote = request(ActionKind::Promote, "inventory", "prod", Some("0000000"));
    let e = src.act(&promote).await.unwrap_err();
    assert!(e.to_string().contains("HTTP 429"), "{e}");
    let held = src.held_for().expect("held after a 429 with Retry-After");
    assert!(held.as_secs() > 20 && held.as_secs() <= 30, "{held:?}");
    // Held: nothing is asked until the wait is over, and the answer says why.
    clear_requests(&d).await;
    let e = src.act(&promote).await.unwrap_err();
    assert!(e.to_string().contains("rate limited"), "{e}");
    assert!(requests(&d).await.is_empty());
    d.handle.shutdown().await;
}

#[tokio::test]
async fn without_a_token_gitlab_answers_401_in_words() {
    let d = demo(1.0, "", "").await;
    let e = gl(&d).poll().await.unwrap_err();
    assert!(
        e.ends_with("HTTP 401: 401 Unauthorized (is the token set, valid and unexpired?)"),
        "{e}"
    );
    assert!(
        requests(&d)
            .await
            .iter()
            .all(|r| r["auth"] == "none" && r["status"] == 401)
    );
    d.handle.shutdown().await;
}

/// `--gitlab-lanes 1`: the demo reads payments-api through GitLab. Its canary has a manual
/// deploy job ready; played, then promoted on to production, the deployment is blocked until
/// approved: the whole road of a guarded GitLab release, through the runner.
#[tokio::test]
async fn the_demos_gitlab_lane_plays_its_manual_job_and_waits_for_approval_at_production() {
    let d = sim::demo(SimOptions {
        speed: 10.0,
        gitlab_lanes: Some(1),
        ..sim::opts()
    })
    .await;
    assert_eq!(
        d.config.target("payments-api", "prod").unwrap().source,
        "gl"
    );
    let (_dir, runner) = d.runner();
    let run = |w: &World, kind: ActionKind, stage: &str| {
        let mut a = Action::new(kind, "payments-api", stage);
        a.force = true;
        a.reason = Some("demo".into());
        plan(&d, &runner, w, a)
    };
    let world = observe(&d).await;
    let canary = world.cell("payments-api", "canary").unwrap();
    let staging = world
        .cell("payments-api", "staging")
        .unwrap()
        .version
        .clone()
        .unwrap();
    assert!(
        canary.message.as_deref().unwrap().contains(&format!(
            "manual job deploy-canary for {} ready to play",
            &staging[..7]
        )),
        "{canary:?}"
    );
    let outcome = runner
        .run(&run(&world, ActionKind::Promote, "canary"), false, &|_| {})
        .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    common::wait::until_async(
        "payments-api's canary rollout",
        common::wait::PATIENCE,
        || async {
            let w = observe(&d).await;
            let c = w.cell("payments-api", "canary").unwrap().clone();
            common::wait::ok_if(
                c.state == CellState::Succeeded && c.version.as_deref() == Some(staging.as_str()),
                || format!("{c:?}"),
            )
        },
    )
    .await;

    let world = observe(&d).await;
    let outcome = runner
        .run(&run(&world, ActionKind::Promote, "prod"), false, &|_| {})
        .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let world = observe(&d).await;
    let prod = world.cell("payments-api", "prod").unwrap();
    assert_eq!(prod.state, CellState::AwaitingApproval, "{prod:?}");
    assert_eq!(prod.version.as_deref(), Some(staging.as_str()));
    assert_eq!(
        prod.approval.as_ref().unwrap().reviewers,
        ["payments-api-approvers (1 more)"]
    );
    let outcome = runner
        .run(&run(&world, ActionKind::Approve, "prod"), false, &|_| {})
        .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let world = observe(&d).await;
    assert_ne!(
        world.cell("payments-api", "prod").unwrap().state,
        CellState::AwaitingApproval
    );
    let sent: Vec<String> = posts(&requests(&d).await)
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[0].ends_with("/play") && sent[1].ends_with("/play") && sent[2].ends_with("/approval"),
        "{sent:?}"
    );
    d.handle.shutdown().await;
}

/// The default demo (nine lanes, no `--gitlab-lanes`) reads shipping-api through GitLab: a
/// manual deploy job ready at canary, a deployment blocked for approval at production, which
/// the runner approves.
#[tokio::test]
async fn the_default_demo_has_a_gitlab_lane_with_a_manual_job_and_a_blocked_deployment() {
    let d = sim::demo(SimOptions {
        lanes: SimOptions::default().lanes,
        gitlab_lanes: None,
        ..sim::opts()
    })
    .await;
    let on_gitlab: Vec<&str> = d
        .config
        .train
        .lanes
        .iter()
        .filter(|l| d.config.target(&l.name, "prod").unwrap().source == "gl")
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(on_gitlab, ["shipping-api"]);
    let world = observe(&d).await;
    let staging = world.cell("shipping-api", "staging").unwrap();
    let canary = world.cell("shipping-api", "canary").unwrap();
    let v = staging.version.clone().unwrap();
    assert_ne!(canary.version.as_deref(), Some(v.as_str()));
    assert!(
        canary.message.as_deref().unwrap().contains(&format!(
            "manual job deploy-canary for {} ready to play",
            &v[..7]
        )),
        "{canary:?}"
    );
    let prod = world.cell("shipping-api", "prod").unwrap();
    assert_eq!(prod.state, CellState::AwaitingApproval, "{prod:?}");
    assert_eq!(
        prod.approval.as_ref().unwrap().reviewers,
        ["shipping-api-approvers (1 more)"]
    );

    let (_dir, runner) = d.runner();
    let approve = Action::new(ActionKind::Approve, "shipping-api", "prod");
    let sent = run_done(&d, &runner, &plan(&d, &runner, &world, approve)).await;
    assert!(
        sent.len() == 1
            && sent[0]
                .0
                .starts_with("/projects/acme%2Fshipping-api/deployments/")
            && sent[0].0.ends_with("/approval")
            && sent[0].1["status"] == "approved",
        "{sent:?}"
    );
    let records = common::sim::audit_file(&runner).read().unwrap();
    let r = records.last().unwrap();
    assert_eq!(
        (r.action.as_str(), r.lane.as_deref(), r.result.as_str()),
        ("approve", Some("shipping-api"), "done")
    );
    d.handle.shutdown().await;
}

/// Caps every list page of the simulator's GitLab API at `max` items (`None`: as asked).
async fn cap_pages(d: &Demo, max: Option<u64>) {
    let url = format!("{}/gitlab/api/v4/_sim/per_page", d.url());
    let r = sim::client()
        .post(url)
        .json(&json!({ "max": max }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// One poll of a fresh set of the demo's sources: every cell read now, none kept from before.
async fn observe_afresh(d: &Demo) -> World {
    let mut w = d.config.empty_world();
    poll_into(&mut w, &trainyard::sources::build(&d.config)).await;
    w
}

/// Lists longer than a page: with the simulator's pages cut to two items the source follows
/// the next pages and reads the same train as from whole pages, and an action finds the
/// deployment to re-run past the first page; cut to one item, a list stops at five pages.
#[tokio::test]
async fn lists_beyond_one_page_are_followed_within_a_bound() {
    let d = demo(1.0, "glpat-demo", "").await;
    let base = d.url();
    tokio::task::spawn_blocking(move || sim::set_clock(&base, "stop"))
        .await
        .unwrap();
    let whole = observe_afresh(&d).await;
    cap_pages(&d, Some(2)).await;
    clear_requests(&d).await;
    let paged = observe_afresh(&d).await;
    for lane in LANES {
        for stage in ["build", "staging", "canary", "prod"] {
            let (a, b) = (
                whole.cell(lane, stage).unwrap(),
                paged.cell(lane, stage).unwrap(),
            );
            assert_eq!(
                (&a.version, a.state, &a.message, &a.checks, &a.history),
                (&b.version, b.state, &b.message, &b.checks, &b.history),
                "{lane} {stage}"
            );
        }
    }
    let reqs = requests(&d).await;
    let paths: Vec<&str> = reqs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let jobs = |p: &&str| p.contains("/jobs?");
    assert!(
        paths
            .iter()
            .any(|p| jobs(p) && p.ends_with("per_page=2&page=2")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.contains("/deployments?environment=production") && p.contains("page=2")),
        "{paths:?}"
    );

    // Rollback looks past the first page for the earlier good deployment.
    clear_requests(&d).await;
    gl(&d)
        .act(&request(ActionKind::Rollback, "inventory", "prod", None))
        .await
        .unwrap();
    let reqs = requests(&d).await;
    let reads = reqs
        .iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().unwrap().contains("/deployments?"))
        .count();
    assert!(reads > 1, "{reqs:?}");
    let sent = posts(&reqs);
    assert!(
        sent.len() == 1 && sent[0].0.ends_with("/retry") && sent[0].2 == 200,
        "{sent:?}"
    );

    // Pages of one item: a pipeline's jobs are read five pages deep, no more.
    cap_pages(&d, Some(1)).await;
    clear_requests(&d).await;
    let cut = observe_afresh(&d).await;
    let (build, all) = (
        cut.cell("checkout-web", "build").unwrap(),
        whole.cell("checkout-web", "build").unwrap(),
    );
    assert!(build.checks.len() < all.checks.len(), "{build:?}");
    let reqs = requests(&d).await;
    let job_reads: Vec<&str> = reqs
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .filter(|p| {
            p.starts_with("/projects/acme%2Fcheckout-web/pipelines/") && p.contains("/jobs")
        })
        .collect();
    assert_eq!(job_reads.len(), 5, "{job_reads:?}");
    d.handle.shutdown().await;
}

/// Sets the simulator's chaos (`POST /_sim/chaos`, `""`: none).
async fn set_chaos(d: &Demo, spec: &str) {
    let r = sim::client()
        .post(format!("{}/_sim/chaos", d.url()))
        .body(spec.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{spec}");
}

/// The simulator's chaos reaches its GitLab API: a storm of GitLab's own 429s holds the
/// source for its `Retry-After`, server errors make it down in words; the fault gone, it reads
/// the train again. The other APIs, left out of `only`, answer all along.
#[tokio::test]
async fn chaos_on_the_gitlab_api_downs_the_source_in_words_until_it_ends() {
    let d = demo(1.0, "glpat-demo", "").await;
    set_chaos(&d, "errors=1,only=gitlab").await;
    let e = gl(&d).poll().await.unwrap_err();
    assert!(e.contains("HTTP 500") || e.contains("HTTP 503"), "{e}");
    let sim_source = d.sources.iter().find(|s| s.name() == "sim").unwrap();
    assert!(sim_source.poll().await.is_ok());
    set_chaos(&d, "ratelimit=1,retry_after=30s,only=gl").await;
    let fresh = trainyard::sources::build(&d.config);
    let src = fresh.iter().find(|s| s.name() == "gl").unwrap();
    let e = src.poll().await.unwrap_err();
    assert!(e.contains("HTTP 429") && e.contains("Retry later"), "{e}");
    let held = src.held_for().expect("held for the storm's retry-after");
    assert!(held.as_secs() > 20 && held.as_secs() <= 30, "{held:?}");
    set_chaos(&d, "").await;
    let world = observe_afresh(&d).await;
    assert!(world.cell("inventory", "prod").is_some());
    d.handle.shutdown().await;
}
