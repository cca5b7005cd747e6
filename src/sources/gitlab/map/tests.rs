use super::*;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gitlab/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn typed<T: DeserializeOwned>(name: &str) -> T {
    decode(fixture(name)).unwrap()
}

/// The documented single deployment, blocked, with a documented fragment merged in.
fn blocked_with(fragment: &str) -> Deployment {
    let mut d = fixture("deployment.json");
    d["status"] = "blocked".into();
    for (k, v) in fixture(fragment).as_object().unwrap() {
        if k != "status" {
            d[k] = v.clone();
        }
    }
    decode(d).unwrap()
}

#[test]
fn states() {
    use CellState::*;
    for (s, want) in [
        ("created", Pending),
        ("waiting_for_resource", Pending),
        ("preparing", Pending),
        ("pending", Pending),
        ("scheduled", Pending),
        ("running", Running),
        ("success", Succeeded),
        ("manual", Succeeded),
        ("failed", Failed),
        ("canceled", Cancelled),
        ("canceling", Cancelled),
        ("skipped", Cancelled),
        ("weird", Unknown),
    ] {
        assert_eq!(pipeline_state(s), want, "pipeline {s}");
    }
    for (s, want) in [
        ("created", Pending),
        ("running", Running),
        ("success", Succeeded),
        ("failed", Failed),
        ("canceled", Cancelled),
        ("skipped", Cancelled),
        ("blocked", AwaitingApproval),
        ("weird", Unknown),
    ] {
        assert_eq!(deployment_state(s), want, "deployment {s}");
    }
}

#[test]
fn the_documented_pipelines_and_jobs_make_a_build_cell_with_failed_checks() {
    let pipelines: Vec<Pipeline> = typed("pipeline-list.json");
    let jobs: Vec<Job> = typed("pipeline-jobs.json");
    let cell = ci_cell(&pipelines, &jobs).unwrap();
    assert_eq!(
        cell.state,
        CellState::Pending,
        "the example pipeline is pending"
    );
    assert_eq!(
        cell.version.as_deref(),
        Some("a91957a858320c0e17f3a0eca7cfacbff50ea29a")
    );
    assert_eq!(
        cell.url.as_deref(),
        Some("https://example.com/foo/bar/pipelines/47")
    );
    assert_eq!(cell.message.as_deref(), Some("Build pipeline"));
    // Both documented jobs failed: two failed checks, by name (check_failed blockers).
    let failed: Vec<&str> = cell.failed_checks().map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["rspec:other", "teaspoon"]);
    assert_eq!(
        cell.checks[1].url.as_deref(),
        Some("https://example.com/foo/bar/-/jobs/7")
    );
    assert_eq!(cell.history.len(), 2);
    assert_eq!(
        cell.history[1].version,
        "eb94b618fb5865b26e80fdd8ae531b7a63ad851a"
    );

    // The single pipeline: succeeded, by root.
    let one: Pipeline = typed("pipeline.json");
    let cell = ci_cell(&[one], &[]).unwrap();
    assert_eq!(cell.state, CellState::Succeeded);
    assert_eq!(cell.actor.as_deref(), Some("root"));
    assert_eq!(
        cell.started_at.map(|t| t.to_rfc3339()),
        Some("2022-09-21T01:05:07.200+00:00".into())
    );
}

#[test]
fn jobs_that_are_not_checks_are_left_out_and_allowed_failures_pass() {
    let jobs: Vec<Value> = serde_json::from_value(fixture("pipeline-jobs.json")).unwrap();
    let with = |status: &str, allow_failure: bool| -> Job {
        let mut j = jobs[0].clone();
        j["status"] = status.into();
        j["allow_failure"] = allow_failure.into();
        decode(j).unwrap()
    };
    assert_eq!(
        check(&with("manual", false), false),
        None,
        "a manual job is played, not a check"
    );
    assert_eq!(check(&with("skipped", false), false), None);
    assert_eq!(
        check(&with("created", false), false),
        None,
        "waits behind a manual job"
    );
    assert_eq!(
        check(&with("created", false), true).map(|c| c.state),
        Some(CheckState::Pending)
    );
    let allowed = check(&with("failed", true), false).unwrap();
    assert_eq!(allowed.state, CheckState::Passed);
    assert_eq!(allowed.name, "rspec:other (failed, allowed to fail)");
    assert_eq!(
        check(&with("canceled", false), false).map(|c| c.state),
        Some(CheckState::Failed)
    );
    // A pipeline waiting on manual jobs says which.
    let p: Pipeline = typed("pipeline.json");
    let cell = ci_cell(&[p], &[with("manual", false), with("success", false)]).unwrap();
    assert_eq!(
        cell.message.as_deref(),
        Some("Build pipeline; manual: rspec:other")
    );
    assert_eq!(cell.checks.len(), 1);
}

#[test]
fn the_documented_deployment_list_is_manual_jobs_never_played() {
    // Both documented deployments are `created`: their manual jobs were never played, so
    // nothing runs in the environment yet.
    let list: Vec<Deployment> = typed("deployment-list.json");
    assert_eq!(list[0].job_id(), Some(657));
    assert_eq!(list[1].pipeline_id(), Some(37));
    assert!(deploy_cell(&list, None).is_none());
}

#[test]
fn the_documented_deployment_makes_a_deploy_cell_and_a_manual_job_is_ready() {
    let one: Deployment = typed("deployment.json");
    let cell = deploy_cell(std::slice::from_ref(&one), None).unwrap();
    assert_eq!(cell.state, CellState::Succeeded);
    assert_eq!(
        cell.version.as_deref(),
        Some("a91957a858320c0e17f3a0eca7cfacbff50ea29a")
    );
    assert_eq!(cell.actor.as_deref(), Some("root"));
    assert_eq!(
        cell.url.as_deref(),
        Some("http://gitlab.dev/root/project/pipelines/5"),
        "the deployable has no web_url in the example: its pipeline's"
    );
    assert_eq!(cell.message.as_deref(), Some("job deploy (664)"));
    assert!(cell.approval.is_none());

    // A newer manual job of another version (the list's first, renumbered): ready to play.
    let mut list: Vec<Deployment> = typed("deployment-list.json");
    let mut ready = list.remove(0);
    ready.id = 50;
    let cell = deploy_cell(&[ready, one.clone()], None).unwrap();
    assert_eq!(cell.state, CellState::Succeeded);
    assert_eq!(
        cell.message.as_deref(),
        Some("job deploy (664); manual job deploy for 99d0367 ready to play")
    );
    assert_eq!(cell.history.len(), 1, "a job never played is no history");

    // A tag's deployment shows the tag.
    let mut tagged = one;
    tagged.git_ref = Some("v1.4.2".into());
    tagged.deployable.as_mut().unwrap().tag = true;
    assert_eq!(deployment_version(&tagged), "v1.4.2");
}

#[test]
fn a_blocked_deployment_waits_for_the_rules_left() {
    let d = blocked_with("deployment-approval-summary.json");
    let cell = deploy_cell(std::slice::from_ref(&d), Some(&d)).unwrap();
    assert_eq!(cell.state, CellState::AwaitingApproval);
    let a = cell.approval.unwrap();
    assert_eq!(a.environment.as_deref(), Some("production"));
    assert_eq!(
        a.reviewers,
        ["qa-group (1 more)", "security-group (1 more)"]
    );
    assert_eq!(
        cell.message.as_deref(),
        Some(
            "job deploy (664); blocked: 2 approvals left (qa-group (1 more), security-group \
             (1 more)); approved by security-user-1"
        )
    );

    // The unified setting: a count and who approved.
    let mut d = blocked_with("deployment-approvals.json");
    d.pending_approval_count = Some(1);
    let (a, words) = approval_of(&d);
    assert!(a.reviewers.is_empty());
    assert_eq!(words, "blocked: 1 approval left; approved by project_6_bot");

    // The list of deployments has no approvals: without the detail, it still waits.
    let mut plain: Deployment = typed("deployment.json");
    plain.status = "blocked".into();
    let cell = deploy_cell(&[plain], None).unwrap();
    assert_eq!(cell.state, CellState::AwaitingApproval);
    assert!(
        cell.message
            .unwrap()
            .ends_with("blocked: waiting for approval")
    );
}

#[test]
fn the_documented_approval_answer_is_read() {
    let a: ApprovalEntry = typed("approval.json");
    assert_eq!(a.status, "approved");
    assert_eq!(a.user.unwrap().username, "security-user-1");
    assert_eq!(a.comment.as_deref(), Some("Looks good to me"));
}

#[test]
fn merge_request_pipelines_are_not_the_branch() {
    let mut p: Pipeline = typed("pipeline.json");
    assert!(!p.from_merge_request());
    p.source = Some("merge_request_event".into());
    assert!(p.from_merge_request());
}

#[test]
fn a_payload_of_another_shape_is_an_error_in_words() {
    let e = decode::<Vec<Deployment>>(serde_json::json!({"message": "404 Project Not Found"}))
        .unwrap_err();
    assert!(e.starts_with("GitLab answered an unexpected shape"), "{e}");
}

#[test]
fn strings_from_gitlab_are_sanitized() {
    let mut jobs = fixture("pipeline-jobs.json");
    jobs[0]["name"] = "evil\u{1b}]52;c;SGVsbG8=\u{7}\u{202e}job".into();
    let mut pipelines = fixture("pipeline-list.json");
    pipelines[0]["name"] = "\u{1b}[2Jwiped".into();
    let cell = ci_cell(
        &decode::<Vec<Pipeline>>(pipelines).unwrap(),
        &decode::<Vec<Job>>(jobs).unwrap(),
    )
    .unwrap();
    for text in [
        cell.checks[0].name.as_str(),
        cell.message.as_deref().unwrap(),
    ] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
    }
}
