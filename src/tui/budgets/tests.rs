use std::time::Duration;

use super::*;
use crate::model::world::{RateLimit, RequestRate, SourceHealth};

fn source(name: &str, hour: Option<(u64, u64)>, minute: Option<(u32, u32)>) -> SourceHealth {
    let mut s = SourceHealth::new(name, "github", Duration::from_secs(30));
    s.rate_limit = hour.map(|(remaining, limit)| RateLimit { remaining, limit });
    s.request_rate = minute.map(|(used, per_minute)| RequestRate { used, per_minute });
    s
}

fn texts(pieces: &[Piece]) -> Vec<&str> {
    pieces.iter().map(|(t, _)| t.as_str()).collect()
}

/// What the pieces take on the line, each after " · ".
fn drawn(pieces: &[Piece]) -> usize {
    pieces.iter().map(|(t, _)| 3 + width(t)).sum()
}

fn demo() -> Vec<SourceHealth> {
    vec![
        source("argo", None, None),
        source("gh", Some((4943, 5000)), Some((73, 600))),
        source("gl", Some((1987, 2000)), Some((13, 600))),
        source("prom", None, None),
    ]
}

#[test]
fn the_longest_form_that_fits() {
    let all = demo();
    let at = |room| budgets(all.iter(), room);
    assert_eq!(
        texts(&at(200)),
        [
            "gh 4943/5000 left, 73/600 a min",
            "gl 1987/2000 left, 13/600 a min"
        ]
    );
    // The per-minute figures go first.
    assert_eq!(texts(&at(60)), ["gh 4943/5000 left", "gl 1987/2000 left"]);
    // Then all but the tightest source: gh has used the most of its minute.
    assert_eq!(texts(&at(30)), ["gh 4943/5000 left, +1 more"]);
    // Then the figures.
    assert_eq!(texts(&at(21)), ["gh, gl budgets ok"]);
    assert!(at(19).is_empty());
    for room in 0..120 {
        assert!(drawn(&at(room)) <= room, "{room}: {:?}", at(room));
    }
}

#[test]
fn a_budget_running_low_is_kept_and_said() {
    // gl's minute is nearly spent: its short form says that figure, not the hour's.
    let all = [
        source("gh", Some((4943, 5000)), Some((73, 600))),
        source("gl", Some((1987, 2000)), Some((590, 600))),
    ];
    let at = |room| budgets(all.iter(), room);
    assert_eq!(
        at(60),
        [
            ("gh 4943/5000 left".to_string(), false),
            ("gl 590/600 a min".to_string(), true)
        ]
    );
    assert_eq!(at(30), [("gl 590/600 a min, +1 more".to_string(), true)]);
    assert_eq!(at(20), [("gl budget low".to_string(), true)]);
    // The hour's budget nearly gone.
    let all = [source("gh", Some((120, 5000)), Some((10, 600)))];
    assert_eq!(
        budgets(all.iter(), 100),
        [("gh 120/5000 left, 10/600 a min".to_string(), true)]
    );
}

#[test]
fn a_stretched_interval_is_said_in_full() {
    let mut gh = source("gh", Some((4312, 5000)), Some((212, 600)));
    gh.interval = Some(Duration::from_secs(12));
    let all = [gh];
    assert_eq!(
        texts(&budgets(all.iter(), 100)),
        ["gh 4312/5000 left, 212/600 a min every 12s"]
    );
    assert_eq!(texts(&budgets(all.iter(), 25)), ["gh 4312/5000 left"]);
    // One source: no "+0 more".
    assert_eq!(texts(&budgets(all.iter(), 19)), ["gh budget ok"]);
}

#[test]
fn sources_without_budgets_say_nothing() {
    let all = [source("prom", None, None)];
    assert!(budgets(all.iter(), 200).is_empty());
}

#[test]
fn an_allowance_of_none_used_is_the_tightest() {
    // A minute's allowance of nothing, yet used: low, and the one the short form keeps.
    let all = [
        source("gh", Some((4000, 5000)), None),
        source("gl", None, Some((5, 0))),
    ];
    let one = budgets(all.iter(), 30);
    assert_eq!(one.len(), 1, "{:?}", texts(&one));
    assert!(one[0].0.starts_with("gl "), "{:?}", texts(&one));
}
