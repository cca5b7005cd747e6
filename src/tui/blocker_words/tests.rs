use super::*;
use crate::model::text::sanitize;

fn blocker(kind: BlockerKind, facts: Facts) -> Blocker {
    Blocker {
        lane: "auth-service".into(),
        stage: "staging".into(),
        kind,
        message: "the whole sentence".into(),
        facts,
    }
}

fn failed(checks: &[&str]) -> Blocker {
    blocker(
        BlockerKind::CheckFailed,
        Facts::Failed {
            version: "c6a5c34".into(),
            at: "build".into(),
            checks: checks.iter().map(|c| c.to_string()).collect(),
        },
    )
}

fn approval(reviewers: &[&str]) -> Blocker {
    blocker(
        BlockerKind::AwaitingApproval,
        Facts::Approval {
            environment: "production".into(),
            reviewers: reviewers.iter().map(|c| c.to_string()).collect(),
        },
    )
}

fn needs() -> Blocker {
    blocker(
        BlockerKind::Dependency,
        Facts::Needs {
            lane: "ledger".into(),
            stage: "canary".into(),
            there: Some(("d6b799e".into(), "running 23%".into())),
        },
    )
}

fn hold(why: &str) -> Blocker {
    blocker(
        BlockerKind::Hold,
        Facts::Hold {
            by: "bob@jump".into(),
            since: "12m".into(),
            why: why.into(),
        },
    )
}

fn one(b: &Blocker, width: usize) -> String {
    let lines = lay_out(b, Room::line(width));
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0].clone()
}

fn two(b: &Blocker, first: usize, rest: usize) -> Vec<String> {
    lay_out(
        b,
        Room {
            first,
            rest,
            lines: 2,
        },
    )
}

/// Every line within its room, never more lines than the room has.
fn assert_fits(lines: &[String], room: Room) {
    assert!(!lines.is_empty() && lines.len() <= room.lines, "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        assert!(
            width(l) <= room.cap(i),
            "line {i} {l:?} wider than {room:?}"
        );
    }
}

#[test]
fn a_failed_check_says_its_name_before_anything_else() {
    let b = failed(&["integration-tests"]);
    assert_eq!(one(&b, 80), "integration-tests failed at build (c6a5c34)");
    // The SHA goes first, then where, then the word "failed": the name stays.
    assert_eq!(one(&b, 40), "integration-tests failed at build");
    assert_eq!(one(&b, 26), "integration-tests failed");
    assert_eq!(one(&b, 17), "integration-tests");
    // Narrower than the name: cut, the one thing left to do.
    assert_eq!(one(&b, 10), "integrati…");
}

#[test]
fn a_check_list_says_how_many_more_rather_than_cutting_a_name() {
    let b = failed(&["lint", "unit-tests", "integration-tests"]);
    assert_eq!(
        one(&b, 80),
        "lint, unit-tests, integration-tests failed at build (c6a5c34)"
    );
    assert_eq!(one(&b, 35), "lint, unit-tests, integration-tests");
    assert_eq!(one(&b, 30), "lint, unit-tests +1 more");
    assert_eq!(one(&b, 20), "lint +2 more failed");
    assert_eq!(one(&b, 12), "lint +2 more");
    // On two lines every name fits before any is dropped.
    assert_eq!(
        two(&b, 20, 34),
        ["lint, unit-tests,", "integration-tests failed at build"]
    );
}

#[test]
fn a_failed_run_without_checks_says_where() {
    let b = failed(&[]);
    assert_eq!(one(&b, 40), "c6a5c34 failed at build");
    assert_eq!(one(&b, 16), "failed at build");
}

#[test]
fn an_approval_names_its_reviewers() {
    let b = approval(&["maria-chen", "team storefront-leads"]);
    assert_eq!(
        one(&b, 80),
        "waiting for approval of production: maria-chen, team storefront-leads"
    );
    assert_eq!(
        one(&b, 60),
        "approval of production: maria-chen, team storefront-leads"
    );
    assert_eq!(one(&b, 45), "approval: maria-chen, team storefront-leads");
    assert_eq!(one(&b, 30), "approval: maria-chen +1 more");
    // Two lines: every reviewer before the environment's name.
    let room = Room {
        first: 22,
        rest: 34,
        lines: 2,
    };
    let lines = lay_out(&b, room);
    assert_eq!(lines, ["approval: maria-chen,", "team storefront-leads"]);
    assert_fits(&lines, room);
}

#[test]
fn a_name_is_broken_across_lines_only_when_it_must_be() {
    let b = approval(&["team storefront-leads", "maria-chen"]);
    let room = Room {
        first: 16,
        rest: 33,
        lines: 2,
    };
    // "team" would fit after "approval:", but the name stays whole on the next line.
    assert_eq!(
        lay_out(&b, room),
        ["approval:", "team storefront-leads, maria-chen"]
    );
    // Where it can't be whole, it breaks at its space rather than being cut.
    let narrow = Room { rest: 25, ..room };
    assert_eq!(
        lay_out(&b, narrow),
        ["approval: team", "storefront-leads +1 more"]
    );
}

#[test]
fn an_approval_with_anyone_as_reviewer_says_approval() {
    let b = approval(&[]);
    assert_eq!(one(&b, 80), "waiting for approval of production");
    assert_eq!(one(&b, 10), "approval");
}

#[test]
fn a_dependency_names_the_lane_and_stage() {
    let b = needs();
    assert_eq!(
        one(&b, 80),
        "needs ledger at canary (d6b799e running 23% there)"
    );
    assert_eq!(one(&b, 40), "needs ledger at canary (running 23%)");
    assert_eq!(one(&b, 25), "needs ledger at canary");
    let nothing = blocker(
        BlockerKind::Dependency,
        Facts::Needs {
            lane: "ledger".into(),
            stage: "prod".into(),
            there: None,
        },
    );
    assert_eq!(
        one(&nothing, 80),
        "needs ledger at prod (nothing there yet)"
    );
}

#[test]
fn a_metric_says_its_figure_against_its_bound() {
    let b = blocker(
        BlockerKind::Slo,
        Facts::Breach {
            metric: "error_rate".into(),
            at: "canary".into(),
            value: "1.36%".into(),
            bound: "> 1.00%".into(),
            since: Some("40s".into()),
        },
    );
    assert_eq!(one(&b, 80), "error_rate 1.36% > 1.00% at canary for 40s");
    assert_eq!(one(&b, 30), "error_rate 1.36% > 1.00%");
    let canary = blocker(
        BlockerKind::Slo,
        Facts::Canary {
            metric: "error_rate".into(),
            at: "canary".into(),
            canary: "1.36%".into(),
            stable: "0.15%".into(),
        },
    );
    assert_eq!(one(&canary, 34), "error_rate 1.36% vs stable 0.15%");
}

#[test]
fn freeze_and_window_say_when_they_end() {
    use chrono::TimeZone;
    let ends = chrono::Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let b = blocker(
        BlockerKind::Freeze,
        Facts::Freeze {
            reason: "holiday traffic".into(),
            ends,
            left: "3d 9h".into(),
        },
    );
    assert_eq!(
        one(&b, 80),
        "freeze until Mon 2026-11-30 00:00 UTC, 3d 9h left: holiday traffic"
    );
    assert_eq!(one(&b, 40), "freeze until Mon 00:00 UTC (3d 9h)");
    assert_eq!(one(&b, 20), "freeze: 3d 9h left");
    let w = blocker(
        BlockerKind::WindowClosed,
        Facts::Window {
            opens: true,
            delta: "1h 5m".into(),
            at: "Thu 14:00".into(),
        },
    );
    assert_eq!(one(&w, 40), "window opens in 1h 5m (Thu 14:00 UTC)");
    assert_eq!(one(&w, 21), "window opens in 1h 5m");
    assert_eq!(one(&w, 12), "window open…");
}

#[test]
fn a_hold_says_who_and_why_and_cuts_only_the_why() {
    let b = hold("db migration");
    assert_eq!(one(&b, 80), "on hold by bob@jump for 12m: db migration");
    assert_eq!(one(&b, 33), "on hold by bob@jump: db migration");
    let long = hold(&"the schema migration of the ledger tables ".repeat(4));
    let lines = two(&long, 30, 40);
    assert_eq!(lines[0], "on hold by bob@jump: the", "{lines:?}");
    assert!(lines[1].ends_with('…'), "{lines:?}");
    let empty = hold("  ");
    assert_eq!(
        one(&empty, 80),
        "on hold by bob@jump for 12m: no reason given"
    );
    let halt = blocker(
        BlockerKind::Halt,
        Facts::Hold {
            by: "alice".into(),
            since: String::new(),
            why: "incident 42".into(),
        },
    );
    assert_eq!(one(&halt, 80), "train halted by alice: incident 42");
}

#[test]
fn a_blocker_without_facts_is_its_sentence() {
    let b = blocker(BlockerKind::NotReady, Facts::Message);
    assert_eq!(one(&b, 80), "the whole sentence");
    assert_eq!(one(&b, 12), "the whole s…");
    assert_eq!(two(&b, 12, 12), ["the whole", "sentence"]);
}

#[test]
fn a_200_column_check_name_is_cut_and_the_others_counted() {
    let long = "x".repeat(200);
    let b = failed(&[&long, "lint", "unit-tests"]);
    let line = one(&b, 40);
    assert!(line.ends_with("… +2 more"), "{line}");
    assert_eq!(width(&line), 40, "{line}");
    let room = Room {
        first: 20,
        rest: 50,
        lines: 2,
    };
    let lines = lay_out(&b, room);
    assert_fits(&lines, room);
    assert!(lines.join(" ").contains("+2 more"), "{lines:?}");
}

#[test]
fn wide_names_keep_their_columns() {
    // CJK and emoji take two columns each; a name is never cut inside a character.
    let b = failed(&["テスト-e2e", "unit🧪tests", "統合テスト"]);
    assert_eq!(
        one(&b, 80),
        "テスト-e2e, unit🧪tests, 統合テスト failed at build (c6a5c34)"
    );
    for w in 1..60 {
        let line = one(&b, w);
        assert!(width(&line) <= w, "{w}: {line}");
    }
    assert_eq!(one(&b, 25), "テスト-e2e +2 more failed");
    assert_eq!(one(&b, 24), "テスト-e2e +2 more");
    let r = approval(&["李小龍", "👩💻-oncall", "dana.kim"]);
    assert_eq!(one(&r, 40), "approval: 李小龍, 👩💻-oncall, dana.kim");
    assert_eq!(one(&r, 24), "approval: 李小龍 +2 more");
    assert_eq!(one(&r, 23), "approval: 李小… +2 more");
}

#[test]
fn hostile_names_stay_what_sanitizing_made_them() {
    // The model holds sanitized text: the words add nothing that could steer a terminal.
    let name = sanitize("lint\u{1b}]52;c;SE9TVElMRQ==\u{07}\u{202e}exe", 200);
    let b = failed(&[&name]);
    for w in [1, 5, 12, 40, 80] {
        for l in lay_out(
            &b,
            Room {
                first: w,
                rest: w,
                lines: 2,
            },
        ) {
            assert!(!l.chars().any(|c| c.is_control()), "{l:?}");
            assert!(!l.contains('\u{202e}'), "{l:?}");
        }
    }
}

#[test]
fn every_form_fits_every_room() {
    let long = "y".repeat(200);
    let all = [
        failed(&["lint", "unit-tests", "integration-tests"]),
        failed(&[&long]),
        failed(&[]),
        approval(&["maria-chen", "team storefront-leads", "李小龍"]),
        approval(&[]),
        needs(),
        hold(&long),
        blocker(BlockerKind::NotReady, Facts::Message),
        blocker(
            BlockerKind::Stale,
            Facts::Stale {
                at: "canary".into(),
                metric: Some("error_rate".into()),
                age: Some("2m 10s".into()),
            },
        ),
        blocker(
            BlockerKind::SourceError,
            Facts::Error {
                what: "canary".into(),
                error: format!("source sim: {long}"),
            },
        ),
    ];
    for b in &all {
        for first in 0..50 {
            for rest in [1, 4, 20, 60] {
                for lines in 1..=3 {
                    let room = Room { first, rest, lines };
                    assert_fits(&lay_out(b, room), room);
                }
            }
        }
    }
}

#[test]
fn wrapping_breaks_at_spaces_and_never_loses_a_word() {
    let room = Room {
        first: 10,
        rest: 12,
        lines: 3,
    };
    assert_eq!(
        wrap("needs ledger at canary first", room).unwrap(),
        ["needs", "ledger at", "canary first"]
    );
    assert_eq!(wrap("a-word-wider-than-a-line", room), None);
    // The first line may stay empty: the words start under the head.
    let narrow = Room {
        first: 3,
        rest: 20,
        lines: 2,
    };
    assert_eq!(
        wrap("approval: dana", narrow).unwrap(),
        ["", "approval: dana"]
    );
    assert_eq!(
        wrap_cut("aaaa bbbb cccc dddd", Room::line(9)),
        ["aaaa bbb…"]
    );
    assert_eq!(
        wrap_cut("aaaaaaaaaaaa bb", room.with_lines(2)),
        ["aaaaaaaaaa", "aa bb"]
    );
}

#[test]
fn glyphs_take_one_column() {
    for k in BlockerKind::ALL {
        assert_eq!(width(glyph(k)), 1, "{k:?}");
        // The help explains every glyph the panel draws (not-ready cars are not listed there).
        if k != BlockerKind::NotReady {
            assert!(
                legend().iter().any(|e| e.starts_with(glyph(k))),
                "{k:?} missing from the legend"
            );
        }
    }
}
