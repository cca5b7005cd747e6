//! The rules of `[notify]` on the fixture train (dana@jump acts; auth-service waits at prod for
//! octocat or dana; search-indexer's canary breaches; one source, `sim`), through the engine as
//! the driver runs it: inputs folded, then `notices`.

use std::collections::BTreeSet;

use super::*;
use crate::engine::events::Kind;
use crate::engine::{Engine, Event, Input, Setup};
use crate::model::{ActionKind, Batch, Cell, CellKey, Check, CheckState, SourceReport};
use crate::ops::Action;
use crate::tui::fixture::{self, t};

fn config(events: &[NoticeKind]) -> NotifyConfig {
    NotifyConfig {
        events: events.iter().copied().collect(),
        ..NotifyConfig::defaults(&fixture::train())
    }
}

fn engine(config: NotifyConfig) -> Engine {
    Engine::new(fixture::setup(fixture::train(), fixture::world())).notifying(config)
}

/// Fold `input` in, then the notices, as the driver does: their texts.
fn step(e: &mut Engine, input: Input) -> Vec<String> {
    e.fold(input);
    texts(&e.notices())
}

fn texts(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.text.clone()).collect()
}

/// A report of the fixture train at `at` (every cell and metric of it, from `sim`), with
/// `edit` applied to its cells.
fn report(at: i64, edit: impl FnOnce(&mut Vec<(CellKey, Cell)>)) -> Input {
    let w = fixture::world();
    let mut cells: Vec<(CellKey, Cell)> = w.cells().map(|(k, c)| (k.clone(), c.clone())).collect();
    edit(&mut cells);
    let metrics = cells
        .iter()
        .flat_map(|(k, _)| {
            w.metrics(&k.lane, &k.stage)
                .iter()
                .map(move |m| (k.clone(), m.clone()))
        })
        .collect();
    Input::Report(SourceReport {
        source: "sim".into(),
        at: t(at),
        outcome: Ok(Batch {
            cells,
            metrics,
            ..Batch::default()
        }),
    })
}

fn set(cells: &mut [(CellKey, Cell)], lane: &str, stage: &str, f: impl FnOnce(&mut Cell)) {
    let (_, c) = cells
        .iter_mut()
        .find(|(k, _)| *k.lane == *lane && *k.stage == *stage)
        .unwrap();
    f(c);
}

/// pricing-engine's build failed a check (a new blocker on its way to staging), or is pending
/// again (not a blocker to notify: the train moving).
fn pricing_build(failed: bool) -> impl FnOnce(&mut Vec<(CellKey, Cell)>) {
    move |cells| {
        set(cells, "pricing-engine", "build", |c| {
            c.state = if failed {
                CellState::Failed
            } else {
                CellState::Pending
            };
            c.checks = vec![Check {
                name: "lint".into(),
                state: if failed {
                    CheckState::Failed
                } else {
                    CheckState::Pending
                },
                url: None,
            }];
        })
    }
}

const PRICING_BLOCKED: &str = "notify: new blocker: pricing-engine staging: ";

#[test]
fn by_default_an_approval_waiting_for_you_notifies_from_the_start_and_once() {
    let mut e = engine(NotifyConfig::defaults(&fixture::train()));
    let first = e.notices();
    assert_eq!(
        texts(&first),
        ["notify: approval waits for you: auth-service prod 8a8042b (reviewers: octocat, dana)"]
    );
    let n = &first[0];
    assert_eq!(n.kind, Kind::Notice);
    assert_eq!(
        (n.lane.as_deref(), n.stage.as_deref()),
        (Some("auth-service"), Some("prod"))
    );
    assert_eq!(n.notice.as_ref().unwrap().kind, NoticeKind::Approval);
    // It stays: not news. A new poll, a tick: nothing.
    assert!(e.notices().is_empty());
    assert!(step(&mut e, report(5, |_| {})).is_empty());
    // search-indexer breaches at canary (next test), and by default only prod's breaches
    // notify.
    assert!(step(&mut e, Input::Tick(t(10))).is_empty());
}

#[test]
fn an_approval_is_yours_by_approvers_or_else_by_who_acts() {
    // dana@jump acts: "dana" among the reviewers is you.
    let mut with_you = config(&[NoticeKind::Approval]);
    assert_eq!(engine(with_you.clone()).notices().len(), 1);
    // Approvers replace who acts.
    with_you.approvers = vec!["OctoCat".into()];
    assert_eq!(engine(with_you.clone()).notices().len(), 1);
    with_you.approvers = vec!["maria.chen".into()];
    assert!(engine(with_you).notices().is_empty());
    // A new version waiting is a new approval.
    let mut e = engine(config(&[NoticeKind::Approval]));
    e.notices();
    let again = step(
        &mut e,
        report(5, |cells| {
            set(cells, "auth-service", "prod", |c| {
                c.version = Some("0123456789abcdef0123".into())
            })
        }),
    );
    assert_eq!(
        again,
        ["notify: approval waits for you: auth-service prod 0123456 (reviewers: octocat, dana)"]
    );
}

#[test]
fn a_breach_at_a_breach_stage_notifies_its_slo_and_canary_verdict() {
    let mut c = config(&[NoticeKind::Breach]);
    c.breach_stages = vec!["canary".into()];
    let mut e = engine(c);
    let said = texts(&e.notices());
    assert!(
        said.iter().any(|s| s.starts_with(
            "notify: breach: search-indexer: error_rate 1.36% > 1.00% at canary for the last"
        )),
        "{said:?}"
    );
    assert!(
        said.iter().any(|s| s.starts_with(
            "notify: breach: search-indexer: canary error_rate at canary FAIL: worse than stable (1.36% vs "
        )),
        "{said:?}"
    );
    assert!(
        said.iter().all(|s| s.contains("search-indexer")),
        "only search-indexer breaches: {said:?}"
    );
    assert!(e.notices().is_empty(), "a breach that stays is not news");
    // The metric's source fails: its data is stale, and says nothing either way; back within
    // two minutes, it is the same breach still.
    let down = Input::Report(SourceReport {
        source: "sim".into(),
        at: t(5),
        outcome: Err("connection refused".into()),
    });
    assert!(step(&mut e, down).is_empty());
    assert!(step(&mut e, report(30, |_| {})).is_empty());
}

#[test]
fn a_new_blocker_on_a_watched_lane_notifies_once_and_a_flapping_one_once() {
    let mut e = engine(config(&[NoticeKind::Blocker]));
    // The blockers there at the start (checkout-web's failed check, …) are the starting
    // picture.
    assert!(e.notices().is_empty());
    assert!(!e.snapshot().blockers.is_empty());
    let said = step(&mut e, report(1, pricing_build(true)));
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with(PRICING_BLOCKED), "{said:?}");
    assert!(said[0].contains("lint"), "{said:?}");
    // It stays: nothing. It flaps with every poll: nothing either.
    assert!(step(&mut e, report(2, pricing_build(true))).is_empty());
    for s in (3..60).step_by(2) {
        assert!(step(&mut e, report(s, pricing_build(false))).is_empty());
        assert!(step(&mut e, report(s + 1, pricing_build(true))).is_empty());
    }
    // Gone for two minutes and back: news again.
    assert!(step(&mut e, report(70, pricing_build(false))).is_empty());
    assert!(step(&mut e, report(189, pricing_build(true))).is_empty());
    assert!(step(&mut e, report(190, pricing_build(false))).is_empty());
    let back = step(&mut e, report(311, pricing_build(true)));
    assert_eq!(back.len(), 1, "{back:?}");
}

#[test]
fn only_the_watched_lanes_blockers_notify() {
    let watching = |lanes: &[&str], teams: &[&str]| {
        let mut c = config(&[NoticeKind::Blocker]);
        c.lanes = lanes.iter().map(|s| s.to_string()).collect();
        c.teams = teams.iter().map(|s| s.to_string()).collect();
        let mut e = engine(c);
        e.notices();
        step(&mut e, report(1, pricing_build(true))).len()
    };
    assert_eq!(watching(&[], &[]), 1, "nothing listed: every lane");
    assert_eq!(watching(&["pricing-engine"], &[]), 1);
    assert_eq!(watching(&[], &["pricing"]), 1, "by its team");
    assert_eq!(watching(&["ledger"], &["payments"]), 0);
}

#[test]
fn until_every_source_was_tried_blockers_are_the_starting_picture() {
    // A second source, `gh`, not polled yet.
    let mut world = fixture::world();
    let mut two = crate::model::World::new([
        ("sim", "http", std::time::Duration::from_secs(30)),
        ("gh", "github", std::time::Duration::from_secs(30)),
    ]);
    std::mem::swap(&mut world, &mut two);
    let cells: Vec<(CellKey, Cell)> = two.cells().map(|(k, c)| (k.clone(), c.clone())).collect();
    world.apply(SourceReport {
        source: "sim".into(),
        at: t(-1),
        outcome: Ok(Batch {
            cells,
            ..Batch::default()
        }),
    });
    let mut e = Engine::new(Setup {
        world,
        ..fixture::setup(fixture::train(), fixture::world())
    })
    .notifying(config(&[NoticeKind::Blocker]));
    assert!(e.notices().is_empty());
    assert!(step(&mut e, report(1, pricing_build(true))).is_empty());
    // gh answers (even with an error): from the next look on, a new blocker is news.
    let gh = Input::Report(SourceReport {
        source: "gh".into(),
        at: t(2),
        outcome: Err("401 Bad credentials".into()),
    });
    assert!(step(&mut e, gh).is_empty());
    assert!(step(&mut e, report(3, pricing_build(false))).is_empty());
    // (Within two minutes: the one seen at the start still.)
    assert!(step(&mut e, report(4, pricing_build(true))).is_empty());
    assert!(step(&mut e, report(5, pricing_build(false))).is_empty());
    assert_eq!(step(&mut e, report(200, pricing_build(true))).len(), 1);
}

#[test]
fn an_approval_waiting_for_you_is_not_also_a_new_blocker() {
    let mut e = engine(config(&[NoticeKind::Approval, NoticeKind::Blocker]));
    e.notices();
    // checkout-web: a new version waits for dana at prod.
    let said = step(
        &mut e,
        report(1, |cells| {
            set(cells, "checkout-web", "prod", |c| {
                c.state = CellState::AwaitingApproval;
                c.version = Some("fedcba9876543210fedc".into());
                c.approval = Some(crate::model::Approval {
                    environment: Some("production".into()),
                    reviewers: vec!["dana".into()],
                });
            })
        }),
    );
    assert_eq!(
        said,
        ["notify: approval waits for you: checkout-web prod fedcba9 (reviewers: dana)"]
    );
}

#[test]
fn an_action_that_ends_notifies_how_it_ended() {
    let mut e = engine(config(&[NoticeKind::Action]));
    assert!(e.notices().is_empty());
    let plan = e
        .snapshot()
        .plan(Action::new(ActionKind::Pause, "search-indexer", "canary"))
        .unwrap();
    let done = |outcome| Input::Done {
        plan: Box::new(plan.clone()),
        outcome,
    };
    let said = step(&mut e, done(Outcome::Done("paused".into())));
    assert_eq!(
        said,
        ["notify: action done: pause search-indexer at canary"]
    );
    let said = step(
        &mut e,
        done(Outcome::TimedOut("still running after 10m".into())),
    );
    assert_eq!(
        said,
        ["notify: action timed out: pause search-indexer at canary: still running after 10m"]
    );
    let said = step(&mut e, done(Outcome::Failed("503 from sim".into())));
    assert_eq!(
        said,
        ["notify: action failed: pause search-indexer at canary: 503 from sim"]
    );
    // Off, nothing.
    let mut quiet = engine(config(&[NoticeKind::Breach]));
    quiet.notices();
    assert!(step(&mut quiet, done(Outcome::Done("paused".into()))).is_empty());
}

#[test]
fn a_source_down_for_a_minute_notifies_once() {
    let mut e = engine(config(&[NoticeKind::Source]));
    assert!(e.notices().is_empty());
    let fail = |at| {
        Input::Report(SourceReport {
            source: "sim".into(),
            at: t(at),
            outcome: Err("connection refused".into()),
        })
    };
    assert!(step(&mut e, fail(0)).is_empty());
    assert!(step(&mut e, fail(30)).is_empty());
    assert!(step(&mut e, Input::Tick(t(59))).is_empty());
    assert_eq!(
        step(&mut e, Input::Tick(t(60))),
        ["notify: source sim down for 1m: connection refused"]
    );
    assert!(step(&mut e, fail(90)).is_empty());
    // Back, and down again: the minute counts from the new failure.
    assert!(step(&mut e, report(100, |_| {})).is_empty());
    assert!(step(&mut e, fail(400)).is_empty());
    assert!(step(&mut e, Input::Tick(t(459))).is_empty());
    assert_eq!(step(&mut e, Input::Tick(t(461))).len(), 1);
}

#[test]
fn nothing_is_on_nothing_is_looked_at() {
    let mut e = engine(config(&[]));
    assert!(e.notices().is_empty());
    let kinds: BTreeSet<NoticeKind> = NoticeKind::ALL.into_iter().collect();
    // Every kind on: the start says the approval and nothing else (prod does not breach).
    let mut all = engine(NotifyConfig {
        events: kinds,
        ..NotifyConfig::defaults(&fixture::train())
    });
    assert_eq!(all.notices().len(), 1);
}

/// A key is found by its borrowed parts: the keys' own order must be the parts' order.
#[test]
fn a_keys_order_is_the_order_of_its_parts() {
    let looked = [
        ("api", "prod", "slo", "latency"),
        ("api", "prod", "canary", "latency"),
        ("api", "prod", "slo", "errors"),
        ("api", "canary", "slo", "latency"),
        ("api-v2", "build", "", "v1"),
        ("", "", "", "sim"),
    ];
    let keys: Vec<Key> = [NoticeKind::Breach, NoticeKind::Blocker]
        .into_iter()
        .flat_map(|kind| {
            looked.map(|(lane, stage, tag, what)| {
                Looked {
                    kind,
                    lane,
                    stage,
                    tag,
                    what,
                }
                .to_key()
            })
        })
        .collect();
    for a in &keys {
        for b in &keys {
            assert_eq!(a.cmp(b), a.parts().cmp(&b.parts()), "{a:?} {b:?}");
        }
    }
    let seen: BTreeMap<Key, ()> = keys.iter().map(|k| (k.clone(), ())).collect();
    for (lane, stage, tag, what) in looked {
        let k = Looked {
            kind: NoticeKind::Blocker,
            lane,
            stage,
            tag,
            what,
        };
        assert!(seen.contains_key(&k as &dyn Parts), "{k:?}");
    }
}
