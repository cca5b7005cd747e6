use super::*;
use crate::ops::test_fixture::{entry, t, train};

/// The api lane with `cells` (stage, version, state), each deployed by ci at t(0) after two
/// earlier good versions.
fn world(cells: &[(&str, &str, CellState)]) -> World {
    crate::ops::test_fixture::world(cells, |c| {
        c.history = vec![
            entry(c.version.as_deref().unwrap(), c.state, 0, Some("ci")),
            entry("aaaaaaaaaaaaaaaa", CellState::Succeeded, -7200, Some("ci")),
            entry(
                "bbbbbbbbbbbbbbbb",
                CellState::Succeeded,
                -90_000,
                Some("bob"),
            ),
        ]
        .into();
    })
}

/// `action` planned on the train in `w`, with no holds, at `t(at)`.
fn plan(action: Action, w: &World, at: i64) -> Result<Plan, String> {
    preflight(action, &train(), w, &Holds::default(), t(at))
}

#[test]
fn promote_plans_the_exact_move() {
    let w = world(&[
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "aaaaaaaaaaaaaaaa", CellState::Succeeded),
    ]);
    let p = plan(Action::new(ActionKind::Promote, "api", "canary"), &w, 1).unwrap();
    assert!(p.allowed(), "{:?}", p.blockers);
    assert_eq!(p.summary, "staging → canary: aaaaaaa → ccccccc");
    assert_eq!(p.to_version.as_deref(), Some("cccccccccccccccc"));
    assert_eq!(p.confirm, Confirm::Dialog);
    let p = plan(Action::new(ActionKind::Promote, "api", "prod"), &w, 1).unwrap();
    assert_eq!(
        p.confirm,
        Confirm::TypeName("api".into()),
        "a protected stage asks for the name"
    );
}

/// One notion: the stages of `[train] protected` are the ones that ask for the lane's name,
/// whichever they are; a train that protects none asks only for rollbacks.
#[test]
fn protected_stages_ask_for_the_lane_name() {
    let w = world(&[
        ("build", "dddddddddddddddd", CellState::Succeeded),
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "aaaaaaaaaaaaaaaa", CellState::Succeeded),
    ]);
    let confirm = |protected: &[&str], kind: ActionKind, stage: &str| {
        let mut train = train();
        train.protected = protected.iter().map(|s| s.to_string()).collect();
        preflight(
            Action::new(kind, "api", stage),
            &train,
            &w,
            &Holds::default(),
            t(1),
        )
        .unwrap()
        .confirm
    };
    let name = Confirm::TypeName("api".into());
    assert_eq!(confirm(&[], ActionKind::Promote, "prod"), Confirm::Dialog);
    assert_eq!(confirm(&["staging"], ActionKind::Promote, "staging"), name);
    assert_eq!(
        confirm(&["staging"], ActionKind::Promote, "canary"),
        Confirm::Dialog
    );
    assert_eq!(
        confirm(&["staging"], ActionKind::Promote, "prod"),
        Confirm::Dialog
    );
    assert_eq!(confirm(&[], ActionKind::Rollback, "canary"), name);
}

#[test]
fn promote_refuses_what_makes_no_sense() {
    let w = world(&[
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "cccccccccccccccc", CellState::Succeeded),
    ]);
    for (lane, stage, why) in [
        ("api", "canary", "already at canary"),
        ("nope", "canary", "no lane"),
        ("api", "qa", "stages are build, staging, canary, prod"),
    ] {
        let e = plan(Action::new(ActionKind::Promote, lane, stage), &w, 1).unwrap_err();
        assert!(e.contains(why), "{e}");
    }
}

#[test]
fn blocked_promotion_carries_its_blockers() {
    let w = world(&[("staging", "cccccccccccccccc", CellState::Failed)]);
    let p = plan(Action::new(ActionKind::Promote, "api", "canary"), &w, 1).unwrap();
    assert!(!p.allowed());
    assert_eq!(p.blockers[0].kind, crate::model::BlockerKind::CheckFailed);
}

#[test]
fn rollback_targets_last_good_or_a_chosen_one() {
    let w = world(&[("prod", "3a1b2c4d5e6f7a8b", CellState::Failed)]);
    let p = plan(Action::new(ActionKind::Rollback, "api", "prod"), &w, 0).unwrap();
    assert_eq!(
        p.summary,
        "prod: 3a1b2c4 → aaaaaaa (last good, deployed 2h ago by ci)"
    );
    assert_eq!(p.confirm, Confirm::TypeName("api".into()));
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("bbbb".into());
    let p = plan(a, &w, 0).unwrap();
    assert_eq!(
        p.summary,
        "prod: 3a1b2c4 → bbbbbbb (earlier good, deployed 1d 1h ago by bob)"
    );
    assert_eq!(p.to_version.as_deref(), Some("bbbbbbbbbbbbbbbb"));
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("ffff".into());
    assert!(
        plan(a, &w, 0)
            .unwrap_err()
            .contains("not an earlier good version")
    );
    // Too short, or the current (failed) version itself: refused.
    for want in ["a", "3a1b2c4d5e6f7a8b"] {
        let mut a = Action::new(ActionKind::Rollback, "api", "prod");
        a.version = Some(want.into());
        assert!(plan(a, &w, 0).is_err(), "{want}");
    }
}

#[test]
fn pause_resume_approve_need_the_right_state() {
    let w = world(&[
        ("canary", "cccccccccccccccc", CellState::Running),
        ("prod", "aaaaaaaaaaaaaaaa", CellState::AwaitingApproval),
    ]);
    assert!(plan(Action::new(ActionKind::Pause, "api", "canary"), &w, 0).is_ok());
    let e = plan(Action::new(ActionKind::Resume, "api", "canary"), &w, 0).unwrap_err();
    assert!(e.contains("is running, not paused"), "{e}");
    assert!(plan(Action::new(ActionKind::Approve, "api", "prod"), &w, 0).is_ok());
    assert!(plan(Action::new(ActionKind::Approve, "api", "canary"), &w, 0).is_err());
}

#[test]
fn command_lines() {
    let mut a = Action::new(ActionKind::Rollback, "api", "prod");
    a.version = Some("abc".into());
    assert_eq!(
        a.command_line(),
        "trainyard rollback api --stage prod --to abc"
    );
    assert_eq!(
        Action::new(ActionKind::Promote, "api", "prod").command_line(),
        "trainyard promote api --to prod"
    );
}

/// An action the source said it can't take on the cell is refused when planned, with the
/// source's reason; the cell's other actions plan as before.
#[test]
fn an_action_the_source_refuses_is_refused_before_anything_is_sent() {
    let mut w = world(&[
        ("staging", "cccccccccccccccc", CellState::Succeeded),
        ("canary", "aaaaaaaaaaaaaaaa", CellState::Succeeded),
    ]);
    let mut report = crate::model::Batch::default();
    let mut c = w.cell("api", "canary").unwrap().clone();
    c.refused = vec![crate::model::Refusal {
        action: ActionKind::Rollback,
        reason: "automated sync is on: Argo CD refuses a rollback".into(),
    }];
    report.cells.push((CellKey::new("api", "canary"), c));
    w.apply(crate::model::SourceReport {
        source: "sim".into(),
        at: t(1),
        outcome: Ok(report),
    });
    let e = plan(Action::new(ActionKind::Rollback, "api", "canary"), &w, 2).unwrap_err();
    assert_eq!(
        e,
        "rollback api at canary: automated sync is on: Argo CD refuses a rollback"
    );
    assert!(plan(Action::new(ActionKind::Promote, "api", "canary"), &w, 2).is_ok());
}

/// Abort stops a rollout under way, only where the source can: an Argo CD cell moving, paused
/// or waiting at a step plans it (asking for the lane's name at the protected stage), a
/// finished one has nothing to abort, and a source of another kind says why it can't and
/// what to do instead.
#[test]
fn abort_plans_on_a_rollout_under_way_where_the_source_can_abort() {
    use crate::ops::test_fixture::world_of;
    let cells = [
        ("build", "dddddddddddddddd", CellState::Succeeded),
        ("staging", "cccccccccccccccc", CellState::Running),
        ("canary", "aaaaaaaaaaaaaaaa", CellState::AwaitingApproval),
        ("prod", "bbbbbbbbbbbbbbbb", CellState::Paused),
    ];
    let argo = world_of(("argo", "argocd"), &cells, |_| {});
    let abort = |w: &World, stage: &str| plan(Action::new(ActionKind::Abort, "api", stage), w, 1);
    let p = abort(&argo, "canary").unwrap();
    assert!(p.allowed(), "{:?}", p.blockers);
    assert_eq!(
        p.summary,
        "canary: stop rolling out aaaaaaa, its traffic back on the stable version"
    );
    assert_eq!(p.confirm, Confirm::Dialog);
    assert!(abort(&argo, "staging").is_ok());
    assert_eq!(
        abort(&argo, "prod").unwrap().confirm,
        Confirm::TypeName("api".into()),
        "the protected stage asks for the lane's name"
    );
    assert_eq!(
        abort(&argo, "build").unwrap_err(),
        "api at build is succeeded, not rolling out: nothing to abort"
    );
    // The halt stops promotions, not the stopping of one.
    let holds = Holds {
        halt: Some(crate::model::LaneHold {
            reason: "incident".into(),
            by: "dana".into(),
            at: t(0),
        }),
        ..Holds::default()
    };
    let p = preflight(
        Action::new(ActionKind::Abort, "api", "canary"),
        &train(),
        &argo,
        &holds,
        t(1),
    )
    .unwrap();
    assert!(p.allowed(), "{:?}", p.blockers);

    let http = world_of(("sim", "http"), &cells, |_| {});
    assert_eq!(
        abort(&http, "canary").unwrap_err(),
        "abort api at canary: trainyard's http protocol has no abort: pause the rollout, or \
         roll it back"
    );
    let github = world_of(("gh", "github"), &cells, |_| {});
    assert!(
        abort(&github, "staging")
            .unwrap_err()
            .starts_with("abort api at staging: GitHub deployments have no abort"),
    );
}
