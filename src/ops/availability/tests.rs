use super::*;
use crate::model::LaneHold;
use crate::ops::test_fixture::{entry, t, train};

/// The api lane with `cells` (stage, version, state), each with an earlier good version.
fn world(cells: &[(&str, &str, CellState)]) -> World {
    crate::ops::test_fixture::world(cells, |c| {
        c.fetched_at = Some(t(0));
        c.history = vec![
            entry(c.version.as_deref().unwrap(), c.state, 0, None),
            entry("aaaaaaaaaaaa", CellState::Succeeded, -3600, None),
        ]
        .into();
    })
}

fn hold(by: &str) -> LaneHold {
    LaneHold {
        reason: "why".into(),
        by: by.into(),
        at: t(0),
    }
}

fn situation<'a>(
    train: &'a Train,
    world: &'a World,
    holds: &'a Holds,
    in_flight: &'a BTreeMap<CellKey, InFlight>,
    readonly: bool,
) -> Situation<'a> {
    Situation {
        train,
        world,
        holds,
        now: t(1),
        readonly,
        in_flight,
    }
}

#[test]
fn pause_is_a_native_pause_on_a_moving_rollout_and_a_hold_elsewhere() {
    let w = world(&[
        ("canary", "v2", CellState::Running),
        ("prod", "v1", CellState::Succeeded),
    ]);
    let hold = Action::lane(ActionKind::Pause, "api");
    for (stage, want) in [
        ("canary", Action::new(ActionKind::Pause, "api", "canary")),
        ("prod", hold.clone()),
        ("build", hold),
    ] {
        assert_eq!(pause_or_hold(&w, "api", stage), want, "{stage}");
    }
    let w = world(&[("canary", "v2", CellState::Paused)]);
    for (stage, want) in [
        ("canary", Action::new(ActionKind::Resume, "api", "canary")),
        ("prod", Action::lane(ActionKind::Resume, "api")),
    ] {
        assert_eq!(resume_or_release(&w, "api", stage), want, "{stage}");
    }
}

#[test]
fn the_s_key_resumes_what_is_paused_releases_a_hold_and_pauses_the_rest() {
    let w = world(&[
        ("canary", "v2", CellState::Paused),
        ("staging", "v2", CellState::Running),
        ("prod", "v1", CellState::Succeeded),
    ]);
    let mut holds = Holds::default();
    let s = |stage, holds: &Holds| toggle_pause(&w, holds, "api", stage);
    assert_eq!(s("canary", &holds).kind, ActionKind::Resume);
    assert_eq!(
        s("staging", &holds),
        Action::new(ActionKind::Pause, "api", "staging")
    );
    assert_eq!(s("prod", &holds), Action::lane(ActionKind::Pause, "api"));
    holds.lanes.insert("api".into(), hold("bob"));
    assert_eq!(s("prod", &holds), Action::lane(ActionKind::Resume, "api"));
    // A held lane's moving rollout can still be paused at its source.
    assert_eq!(
        s("staging", &holds),
        Action::new(ActionKind::Pause, "api", "staging")
    );
}

#[test]
fn promote_is_not_offered_where_the_version_is_already() {
    // The drift this module ends: the key offered where preflight says "already at".
    let w = world(&[
        ("canary", "v2", CellState::Succeeded),
        ("prod", "v2", CellState::Succeeded),
    ]);
    let (tr, h, f) = (train(), Holds::default(), BTreeMap::new());
    let s = situation(&tr, &w, &h, &f, false);
    let a = assess_at(ActionKind::Promote, &s, "api", "canary");
    assert!(
        matches!(&a, Avail::No(why) if why.contains("already at prod")),
        "{a:?}"
    );
    assert!(!a.offered());
    let a = assess_at(ActionKind::Promote, &s, "api", "prod");
    assert!(
        matches!(&a, Avail::No(why) if why.contains("last stage")),
        "{a:?}"
    );
}

#[test]
fn read_only_refuses_every_action_in_the_same_words() {
    let w = world(&[("canary", "v2", CellState::Running)]);
    let (tr, h, f) = (train(), Holds::default(), BTreeMap::new());
    let s = situation(&tr, &w, &h, &f, true);
    for kind in [
        ActionKind::Promote,
        ActionKind::Pause,
        ActionKind::Resume,
        ActionKind::Rollback,
        ActionKind::Approve,
        ActionKind::Reject,
    ] {
        let a = assess_at(kind, &s, "api", "canary");
        assert_eq!(a, Avail::No(readonly_refusal(kind)), "{kind}");
    }
    assert!(!assess(Action::train(ActionKind::Halt, None), &s).offered());
}

#[test]
fn one_action_in_flight_per_cell_whoever_sent_it() {
    let w = world(&[("canary", "v2", CellState::Running)]);
    let (tr, h) = (train(), Holds::default());
    let mut f = BTreeMap::new();
    f.insert(
        CellKey::new("api", "canary"),
        InFlight {
            kind: ActionKind::Pause,
            actor: "carol@jump2".into(),
            since: t(0),
            status: "accepted".into(),
            mine: false,
        },
    );
    let s = situation(&tr, &w, &h, &f, false);
    let a = assess_at(ActionKind::Pause, &s, "api", "canary");
    assert!(
        matches!(&a, Avail::No(why) if why.contains("in flight by carol@jump2 (accepted)")),
        "{a:?}"
    );
    // The lane's hold is another key: free.
    assert!(assess(Action::lane(ActionKind::Pause, "api"), &s).offered());
    // An abort goes beside a promote or rollback in flight (it stops them), not a pause.
    let abort = Action::new(ActionKind::Abort, "api", "canary");
    assert!(busy(&f, &abort).is_some());
    for kind in [ActionKind::Promote, ActionKind::Rollback] {
        let mut g = f.clone();
        g.values_mut().for_each(|x| x.kind = kind);
        assert_eq!(busy(&g, &abort), None, "{kind}");
        let pause = Action::new(ActionKind::Pause, "api", "canary");
        assert!(busy(&g, &pause).is_some(), "{kind}");
    }
}

#[test]
fn halt_and_hold_block_promote_approve_and_resume_and_cannot_be_forced() {
    let w = world(&[
        ("staging", "v3", CellState::Succeeded),
        ("canary", "v2", CellState::AwaitingApproval),
        ("prod", "v1", CellState::Paused),
    ]);
    let tr = train();
    let f = BTreeMap::new();
    let halted = Holds {
        halt: Some(hold("alice")),
        ..Default::default()
    };
    let s = situation(&tr, &w, &halted, &f, false);
    for (kind, stage) in [
        (ActionKind::Promote, "staging"),
        (ActionKind::Approve, "canary"),
        (ActionKind::Resume, "prod"),
    ] {
        let a = assess_at(kind, &s, "api", stage);
        assert!(
            matches!(&a, Avail::No(why) if why.contains("halt can't be forced")),
            "{kind}: {a:?}"
        );
    }
    // What stops or undoes is still there under a halt.
    assert!(assess_at(ActionKind::Reject, &s, "api", "canary").offered());
    assert!(assess_at(ActionKind::Rollback, &s, "api", "prod").offered());
    let mut held = Holds::default();
    held.lanes.insert("api".into(), hold("bob"));
    let s = situation(&tr, &w, &held, &f, false);
    let a = assess_at(ActionKind::Promote, &s, "api", "staging");
    assert!(
        matches!(&a, Avail::No(why) if why.contains("hold can't be forced")),
        "{a:?}"
    );
    assert!(assess_at(ActionKind::Rollback, &s, "api", "prod").offered());
}

#[test]
fn a_policy_block_is_forceable_with_its_blockers() {
    let mut tr = train();
    tr.window = Some(crate::model::Window {
        opens: t(3600),
        closes: t(7200),
    });
    tr.policy
        .insert("canary".into(), vec![crate::model::Gate::Window]);
    let w = world(&[
        ("staging", "v3", CellState::Succeeded),
        ("canary", "v2", CellState::Succeeded),
    ]);
    let (h, f) = (Holds::default(), BTreeMap::new());
    let s = situation(&tr, &w, &h, &f, false);
    let a = assess_at(ActionKind::Promote, &s, "api", "staging");
    let Avail::Forceable {
        blockers, action, ..
    } = &a
    else {
        panic!("{a:?}")
    };
    assert!(
        blockers.iter().any(|b| b.kind == BlockerKind::WindowClosed),
        "{blockers:?}"
    );
    assert_eq!(action.stage, "canary");
}

#[test]
fn recheck_sends_only_what_was_confirmed() {
    let w = world(&[
        ("staging", "v3", CellState::Succeeded),
        ("canary", "v2", CellState::Succeeded),
    ]);
    let (tr, h) = (train(), Holds::default());
    let plan = |w: &World, h: &Holds| {
        preflight(
            Action::new(ActionKind::Promote, "api", "canary"),
            &tr,
            w,
            h,
            t(1),
        )
    };
    let confirmed = plan(&w, &h).unwrap();
    assert!(recheck(&confirmed, plan(&w, &h)).is_ok());
    // A newer version arrived meanwhile.
    let moved = world(&[
        ("staging", "v4", CellState::Succeeded),
        ("canary", "v2", CellState::Succeeded),
    ]);
    let (why, fresh) = recheck(&confirmed, plan(&moved, &h)).unwrap_err();
    assert!(why.contains("train moved"));
    assert_eq!(fresh.unwrap().to_version.as_deref(), Some("v4"));
    // A new kind of blocker appeared meanwhile.
    let mut held = Holds::default();
    held.lanes.insert("api".into(), hold("bob"));
    assert!(recheck(&confirmed, plan(&w, &held)).is_err());
    // The action makes no sense any more.
    let (why, fresh) = recheck(&confirmed, Err("nothing to promote".into())).unwrap_err();
    assert!(why.contains("nothing to promote") && fresh.is_none());
}
