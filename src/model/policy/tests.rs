use super::*;
use crate::model::{
    Approval, Batch, CellKey, Check, CheckState, Freeze, Metric, SourceReport, Threshold, Window,
};
use chrono::TimeZone;

const STAGES: [&str; 4] = ["build", "staging", "canary", "prod"];

fn t(s: i64) -> Timestamp {
    chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

fn train(policy: &[(&str, &[Gate])]) -> Train {
    Train {
        name: "2026.48".into(),
        stages: STAGES.iter().map(|s| s.to_string()).collect(),
        window: None,
        freezes: vec![],
        lanes: vec![
            Lane {
                name: "ledger".into(),
                team: "core".into(),
                depends_on: vec![],
            },
            Lane {
                name: "payments".into(),
                team: "pay".into(),
                depends_on: vec!["ledger".into()],
            },
        ],
        policy: policy
            .iter()
            .map(|(s, g)| (s.to_string(), g.to_vec()))
            .collect(),
        auto_pause: Default::default(),
        protected: ["prod".to_string()].into(),
        lane_index: Default::default(),
    }
}

struct W {
    cells: Vec<(CellKey, Cell)>,
    metrics: Vec<(CellKey, Metric)>,
}

impl W {
    fn new() -> Self {
        W {
            cells: vec![],
            metrics: vec![],
        }
    }
    fn cell(mut self, lane: &str, stage: &str, v: &str, st: CellState, at: i64) -> Self {
        let mut c = Cell::new("sim", st);
        c.version = Some(v.into());
        c.updated_at = Some(t(at));
        self.cells.push((CellKey::new(lane, stage), c));
        self
    }
    fn with(mut self, f: impl FnOnce(&mut Cell)) -> Self {
        f(&mut self.cells.last_mut().unwrap().1);
        self
    }
    /// The last cell's checks: (name, state), without links.
    fn checks(self, checks: &[(&str, CheckState)]) -> Self {
        self.with(|c| {
            c.checks = checks
                .iter()
                .map(|(name, state)| Check {
                    name: name.to_string(),
                    state: *state,
                    url: None,
                })
                .collect()
        })
    }
    fn metric(mut self, lane: &str, stage: &str, name: &str, v: Option<f64>, max: f64) -> Self {
        self.metrics.push((
            CellKey::new(lane, stage),
            Metric {
                name: name.into(),
                unit: "ratio".into(),
                value: v,
                threshold: Threshold {
                    min: None,
                    max: Some(max),
                },
                ..Default::default()
            },
        ));
        self
    }
    /// Give the last metric a series, one sample a minute, the newest at `end`, and the
    /// stable side's series when `stable` has values.
    fn series(mut self, end: i64, canary: &[f64], stable: &[f64]) -> Self {
        let at = |vals: &[f64]| -> Vec<(i64, f64)> {
            let n = vals.len() as i64;
            vals.iter()
                .enumerate()
                .map(|(i, v)| (t(end).timestamp() - (n - 1 - i as i64) * 60, *v))
                .collect()
        };
        let m = &mut self.metrics.last_mut().unwrap().1;
        m.series = at(canary);
        m.value = canary.last().copied();
        m.baseline_series = at(stable);
        m.baseline = stable.last().copied();
        self
    }
    fn build(self, fetched: i64) -> World {
        let mut w = World::new([("sim", "http", Duration::from_secs(30))]);
        w.apply(SourceReport {
            source: "sim".into(),
            at: t(fetched),
            outcome: Ok(Batch {
                cells: self.cells,
                metrics: self.metrics,
                ..Batch::default()
            }),
        });
        w
    }
}

fn kinds(v: &Verdict) -> Vec<BlockerKind> {
    v.blockers.iter().map(|b| b.kind).collect()
}

/// One blocker, of `kind`, that says exactly `message`.
fn only_blocker(v: &Verdict, kind: BlockerKind, message: &str) {
    assert_eq!(kinds(v), [kind]);
    assert_eq!(v.blockers[0].message, message);
}

/// One blocker, of `kind`, that says `text`.
fn blocked_by(v: &Verdict, kind: BlockerKind, text: &str) {
    assert_eq!(kinds(v), [kind]);
    first_says(v, text);
}

/// The first blocker's message says `text`.
fn first_says(v: &Verdict, text: &str) {
    let message = &v.blockers[0].message;
    assert!(message.contains(text), "{message}");
}

fn check(
    train: &Train,
    world: &World,
    holds: &Holds,
    now: i64,
    lane: usize,
    stage: usize,
) -> Verdict {
    verdict(train, world, holds, t(now), &train.lanes[lane], stage)
}

/// ledger everywhere up to canary; payments v2 succeeded at staging.
fn base() -> W {
    W::new()
        .cell("ledger", "build", "l1", CellState::Succeeded, 0)
        .cell("ledger", "staging", "l1", CellState::Succeeded, 0)
        .cell("ledger", "canary", "l1", CellState::Succeeded, 0)
        .cell("payments", "build", "v2", CellState::Succeeded, 0)
        .cell("payments", "staging", "v2", CellState::Succeeded, 0)
        .cell("payments", "canary", "v1", CellState::Succeeded, 0)
}

#[test]
fn gate_names_round_trip() {
    for name in [
        "checks_green",
        "dependencies",
        "window",
        "freeze",
        "approval",
        "slo",
        "slo:10m",
        "canary",
        "fresh",
        "soak:30m",
        "soak:1h30m",
    ] {
        assert_eq!(Gate::parse(name).unwrap().to_string(), name);
    }
    assert!(Gate::parse("soak").unwrap_err().contains("soak:30m"));
    assert!(Gate::parse("soak:soon").is_err());
    assert!(Gate::parse("checks").unwrap_err().contains("checks_green"));
}

#[test]
fn all_clear_is_allowed() {
    let tr = train(&[]);
    let w = base().build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 2);
    assert!(v.allowed, "{:?}", v.blockers);
    assert_eq!(v.version.as_deref(), Some("v2"));
    assert_eq!(v.from_stage.as_deref(), Some("staging"));
}

#[test]
fn first_stage_is_not_a_promotion_target() {
    let tr = train(&[]);
    let v = check(&tr, &base().build(0), &Holds::default(), 1, 1, 0);
    assert_eq!(kinds(&v), [BlockerKind::NotReady]);
}

#[test]
fn checks_green_names_failed_checks() {
    let w = base()
        .checks(&[("unit", CheckState::Passed), ("e2e", CheckState::Failed)])
        .build(0);
    // The failing check sits on payments canary (last cell pushed), so look at prod: a
    // stage without the gate lets it through, a stage with it names the check.
    let tr_without = train(&[("prod", &[])]);
    let v = check(&tr_without, &w, &Holds::default(), 1, 1, 3);
    assert!(v.allowed, "{:?}", v.blockers);
    let tr = train(&[("prod", &[Gate::ChecksGreen])]);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 3);
    blocked_by(&v, BlockerKind::CheckFailed, "e2e failed");
}

#[test]
fn a_failed_or_running_previous_stage_blocks_whatever_the_gates() {
    let tr = train(&[("canary", &[])]);
    let w = base()
        .cell("payments", "staging", "v2", CellState::Failed, 0)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 2);
    assert_eq!(kinds(&v), [BlockerKind::CheckFailed]);
    let w = base()
        .cell("payments", "staging", "v2", CellState::Running, 0)
        .with(|c| c.progress = Some(0.45))
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 2);
    blocked_by(&v, BlockerKind::NotReady, "running 45%");
}

#[test]
fn pending_checks_are_not_ready() {
    let tr = train(&[("canary", &[Gate::ChecksGreen])]);
    let w = W::new()
        .cell("payments", "staging", "v2", CellState::Succeeded, 0)
        .checks(&[("e2e", CheckState::Pending)])
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 2);
    blocked_by(&v, BlockerKind::NotReady, "e2e");
}

#[test]
fn dependencies_must_be_there_and_succeeded() {
    let tr = train(&[("prod", &[Gate::Dependencies])]);
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 3);
    blocked_by(&v, BlockerKind::Dependency, "needs ledger at prod first");
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .cell("ledger", "prod", "l1", CellState::Running, 0)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 3);
    first_says(&v, "is running there");
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .cell("ledger", "prod", "l1", CellState::Succeeded, 0)
        .build(0);
    assert!(check(&tr, &w, &Holds::default(), 1, 1, 3).allowed);
}

#[test]
fn window_before_during_after() {
    let mut tr = train(&[("canary", &[Gate::Window])]);
    tr.window = Some(Window {
        opens: t(3600),
        closes: t(7200),
    });
    let w = base().build(0);
    let v = check(&tr, &w, &Holds::default(), 0, 1, 2);
    blocked_by(&v, BlockerKind::WindowClosed, "opens in 1h");
    assert!(check(&tr, &w, &Holds::default(), 3600, 1, 2).allowed);
    let v = check(&tr, &w, &Holds::default(), 7200 + 600, 1, 2);
    first_says(&v, "closed 10m ago");
}

#[test]
fn freeze_says_when_it_ends() {
    let mut tr = train(&[("canary", &[Gate::Freeze])]);
    tr.freezes = vec![Freeze {
        starts: t(0),
        ends: t(86_400 + 3_600),
        reason: "holiday traffic".into(),
    }];
    let w = base().build(0);
    let v = check(&tr, &w, &Holds::default(), 0, 1, 2);
    assert_eq!(kinds(&v), [BlockerKind::Freeze]);
    let m = &v.blockers[0].message;
    assert!(
        m.contains("holiday traffic") && m.contains("ends in 1d 1h"),
        "{m}"
    );
    assert!(check(&tr, &w, &Holds::default(), 86_400 + 3_600, 1, 2).allowed);
}

#[test]
fn approval_pending_at_target() {
    let tr = train(&[("canary", &[Gate::Approval])]);
    let w = base()
        .cell("payments", "canary", "v2", CellState::AwaitingApproval, 0)
        .with(|c| {
            c.approval = Some(Approval {
                environment: Some("canary-eu".into()),
                reviewers: vec!["octocat".into()],
            })
        })
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 2);
    only_blocker(
        &v,
        BlockerKind::AwaitingApproval,
        "waiting for approval of canary-eu (reviewers: octocat)",
    );
}

/// The stage's source refuses a promotion now (an Argo CD sync window): a blocker in its
/// words, whatever the gates; a refusal of another action at the target is no blocker.
#[test]
fn a_promotion_the_target_source_refuses_is_a_blocker_in_its_words() {
    let tr = train(&[("canary", &[])]);
    let why = "a sync window forbids syncing payments-canary now (deny window \"0 22 * * *\" for 8h): Argo CD refuses a sync until it lets one through";
    let refuse = |action| {
        base()
            .with(|c| {
                c.refused = vec![crate::model::Refusal {
                    action,
                    reason: why.into(),
                }]
            })
            .build(0)
    };
    let v = check(
        &tr,
        &refuse(crate::model::ActionKind::Promote),
        &Holds::default(),
        1,
        1,
        2,
    );
    only_blocker(&v, BlockerKind::SourceRefuses, why);
    assert!(!v.allowed);
    assert_eq!(BlockerKind::SourceRefuses.as_str(), "source_refuses");
    let v = check(
        &tr,
        &refuse(crate::model::ActionKind::Rollback),
        &Holds::default(),
        1,
        1,
        2,
    );
    assert!(v.allowed, "{:?}", v.blockers);
}

#[test]
fn soak_counts_time_succeeded_at_previous_stage() {
    let tr = train(&[("canary", &[Gate::Soak(Duration::from_secs(1800))])]);
    let w = base().build(0);
    let v = check(&tr, &w, &Holds::default(), 12 * 60, 1, 2);
    only_blocker(
        &v,
        BlockerKind::Soak,
        "soaking at staging: 12m of 30m, 18m left",
    );
    assert!(check(&tr, &w, &Holds::default(), 1800, 1, 2).allowed);
}

#[test]
fn slo_checks_metrics_of_previous_stage() {
    let tr = train(&[("prod", &[Gate::Slo(None)])]);
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", Some(0.023), 0.01)
        .metric("payments", "canary", "latency", None, 0.5)
        .metric("payments", "staging", "error_rate", Some(0.5), 0.01)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 3);
    assert_eq!(kinds(&v), [BlockerKind::Slo, BlockerKind::Slo]);
    assert_eq!(
        v.blockers[0].message,
        "error_rate 2.30% > 1.00% at canary now"
    );
    assert_eq!(v.blockers[1].message, "latency at canary has no data");
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", Some(0.004), 0.01)
        .build(0);
    assert!(check(&tr, &w, &Holds::default(), 1, 1, 3).allowed);
    // No metrics at all: the SLO can't be shown to hold.
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 1, 1, 3);
    only_blocker(
        &v,
        BlockerKind::Slo,
        "no metrics reported for payments at canary",
    );
}

#[test]
fn fresh_blocks_on_stale_or_failed_source() {
    let tr = train(&[("canary", &[Gate::Fresh])]);
    let mut w = base().build(0);
    assert!(check(&tr, &w, &Holds::default(), 10, 1, 2).allowed);
    let v = check(&tr, &w, &Holds::default(), 100, 1, 2);
    assert!(kinds(&v).iter().all(|k| *k == BlockerKind::Stale));
    first_says(&v, "1m 40s old");
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(5),
        outcome: Err("connection refused".into()),
    });
    let v = check(&tr, &w, &Holds::default(), 6, 1, 2);
    assert!(kinds(&v).contains(&BlockerKind::SourceError));
    assert!(kinds(&v).contains(&BlockerKind::Stale));
}

#[test]
fn holds_and_halt_block_everything() {
    let tr = train(&[("canary", &[])]);
    let w = base().build(0);
    let mut holds = Holds::default();
    holds.lanes.insert(
        "payments".into(),
        LaneHold {
            reason: "investigating".into(),
            by: "alice".into(),
            at: t(0),
        },
    );
    let v = check(&tr, &w, &holds, 60, 1, 2);
    assert_eq!(kinds(&v), [BlockerKind::Hold]);
    assert!(
        v.blockers[0]
            .message
            .contains("on hold by alice 1m ago: investigating")
    );
    assert!(
        check(&tr, &w, &holds, 60, 0, 3)
            .blockers
            .iter()
            .all(|b| b.kind != BlockerKind::Hold),
        "hold is per lane"
    );
    holds.halt = Some(LaneHold {
        reason: "incident 42".into(),
        by: "bob".into(),
        at: t(0),
    });
    let v = check(&tr, &w, &holds, 60, 0, 3);
    assert!(kinds(&v).contains(&BlockerKind::Halt));
}

#[test]
fn combined_gates_report_every_reason() {
    let mut tr = train(&[("prod", Gate::STRICT)]);
    tr.window = Some(Window {
        opens: t(100_000),
        closes: t(200_000),
    });
    tr.freezes = vec![Freeze {
        starts: t(0),
        ends: t(10_000),
        reason: "launch".into(),
    }];
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", Some(0.02), 0.01)
        .cell("payments", "prod", "v1", CellState::AwaitingApproval, 0)
        .build(0);
    let v = check(&tr, &w, &Holds::default(), 60, 1, 3);
    let mut k = kinds(&v);
    k.sort();
    assert_eq!(
        k,
        [
            BlockerKind::AwaitingApproval,
            BlockerKind::Dependency,
            BlockerKind::WindowClosed,
            BlockerKind::Freeze,
            BlockerKind::Soak,
            BlockerKind::Slo,
            BlockerKind::Stale,
            BlockerKind::Stale,
            // The metric is as old as the cells (60s, stale after 30s): stale too.
            BlockerKind::Stale
        ]
    );
    assert!(
        v.blockers.iter().any(|b| b.kind == BlockerKind::Stale
            && b.message
                .starts_with("error_rate at canary is stale (measured 1m ago")),
        "{:#?}",
        v.blockers
    );
    assert!(!v.allowed);
}

/// A metrics source that fails leaves its last measurement standing, but the `slo` gate
/// no longer takes it as proof: the last good value was within the SLO, the gate blocks as
/// stale with the source's error.
#[test]
fn a_metric_whose_source_failed_is_no_proof_the_slo_is_met() {
    let tr = train(&[("prod", &[Gate::Slo(None)])]);
    let mut w = base()
        .metric("payments", "canary", "error_rate", Some(0.001), 0.01)
        .build(0);
    let ok = check(&tr, &w, &Holds::default(), 5, 1, 3);
    assert!(ok.allowed, "{:#?}", ok.blockers);
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(6),
        outcome: Err("HTTP 503 Service Unavailable".into()),
    });
    let v = check(&tr, &w, &Holds::default(), 7, 1, 3);
    assert!(!v.allowed);
    let stale: Vec<&str> = v
        .blockers
        .iter()
        .filter(|b| b.kind == BlockerKind::Stale)
        .map(|b| b.message.as_str())
        .collect();
    assert!(
        stale.contains(&"error_rate at canary is stale (measured 7s ago; source sim: HTTP 503 Service Unavailable)"),
        "{:#?}",
        v.blockers
    );
}

#[test]
fn next_target_follows_the_car() {
    let tr = train(&[]);
    let w = base().build(0);
    assert_eq!(next_target(&tr, &w, "payments"), Some(2));
    assert_eq!(next_target(&tr, &w, "ledger"), Some(3));
    let w = base()
        .cell("payments", "canary", "v2", CellState::Running, 0)
        .build(0);
    assert_eq!(
        next_target(&tr, &w, "payments"),
        Some(2),
        "still moving into canary"
    );
    assert_eq!(next_target(&tr, &w, "nobody"), None);
}

#[test]
fn train_blockers_list_next_moves_and_cell_problems_once() {
    let tr = train(&[("prod", &[Gate::Dependencies, Gate::Fresh])]);
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .cell("ledger", "build", "l2", CellState::Failed, 0)
        .checks(&[("lint", CheckState::Failed)])
        .build(0);
    let list = blockers(&tr, &w, &Holds::default(), t(1));
    let lines: Vec<String> = list
        .iter()
        .map(|b| format!("{} {} {} {}", b.lane, b.stage, b.kind.as_str(), b.message))
        .collect();
    assert_eq!(
        lines,
        [
            "ledger staging check_failed l2 failed at build (lint failed)",
            "payments prod dependency needs ledger at prod first (ledger has nothing there yet)",
        ]
    );
    // A car still building at the previous stage is not blocked: it is not ready yet.
    let w = base()
        .cell("ledger", "build", "l2", CellState::Running, 0)
        .build(0);
    assert!(
        blockers(&tr, &w, &Holds::default(), t(1))
            .iter()
            .all(|b| b.lane != "ledger")
    );
    // A car moving into its next stage is not blocked.
    let w = base()
        .cell("payments", "canary", "v2", CellState::Running, 0)
        .build(0);
    assert!(
        blockers(&tr, &w, &Holds::default(), t(1))
            .iter()
            .all(|b| b.lane != "payments")
    );
}

#[test]
fn slo_reads_the_series_over_the_window() {
    // The canary's error rate: fine, then over 1% for the last 7 minutes.
    let climbing = [
        0.004, 0.005, 0.004, 0.015, 0.02, 0.021, 0.022, 0.03, 0.025, 0.024, 0.023,
    ];
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", None, 0.01)
        .series(600, &climbing, &[])
        .build(600);
    let tr = train(&[("prod", &[Gate::Slo(None)])]);
    let v = check(&tr, &w, &Holds::default(), 600, 1, 3);
    only_blocker(
        &v,
        BlockerKind::Slo,
        "error_rate 2.30% > 1.00% at canary for the last 7m (peak 3.00%)",
    );
    // A spike 3 minutes ago, fine since: blocked while the spike is in the gate's window.
    let spike = [0.004, 0.004, 0.004, 0.03, 0.004, 0.004, 0.004];
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", None, 0.01)
        .series(600, &spike, &[])
        .build(600);
    let tr = train(&[("prod", &[Gate::Slo(Some(Duration::from_secs(600)))])]);
    let v = check(&tr, &w, &Holds::default(), 600, 1, 3);
    assert_eq!(
        v.blockers[0].message,
        "error_rate at canary breached 3m ago (3.00% > 1.00%), within its SLO since; clean again in 7m"
    );
    let tr = train(&[("prod", &[Gate::Slo(Some(Duration::from_secs(120)))])]);
    assert!(check(&tr, &w, &Holds::default(), 600, 1, 3).allowed);
}

#[test]
fn canary_gate_blocks_a_canary_worse_than_stable() {
    let tr = train(&[("prod", &[Gate::Canary])]);
    let stable = [0.004, 0.005, 0.004, 0.0045, 0.005, 0.004, 0.0042, 0.0048];
    let bad = [0.006, 0.007, 0.009, 0.008, 0.0095, 0.0085, 0.009, 0.0092];
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", None, 0.01)
        .series(600, &bad, &stable)
        .build(600);
    let v = check(&tr, &w, &Holds::default(), 600, 1, 3);
    assert_eq!(kinds(&v), [BlockerKind::Slo]);
    let msg = &v.blockers[0].message;
    assert!(
        msg.starts_with(
            "canary error_rate at canary is worse than stable: 0.92% vs 0.48% (Mann-Whitney p<0.001"
        ),
        "{msg}"
    );
    assert!(msg.ends_with("P(worse) 1.00)"), "{msg}");
    // Canary like stable: passes (the slo gate is not asked here).
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", None, 0.01)
        .series(600, &stable, &stable)
        .build(600);
    assert!(check(&tr, &w, &Holds::default(), 600, 1, 3).allowed);
    // Too few samples, or no baseline at all: no evidence, no promotion.
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", None, 0.01)
        .series(600, &bad[..3], &stable[..3])
        .build(600);
    let v = check(&tr, &w, &Holds::default(), 600, 1, 3);
    assert_eq!(
        v.blockers[0].message,
        "canary analysis of error_rate at canary has too few samples (3 canary, 3 stable; needs 5)"
    );
    let w = base()
        .cell("payments", "canary", "v2", CellState::Succeeded, 0)
        .metric("payments", "canary", "error_rate", Some(0.001), 0.01)
        .build(600);
    let v = check(&tr, &w, &Holds::default(), 600, 1, 3);
    assert_eq!(
        v.blockers[0].message,
        "no canary analysis for payments at canary: no metric there has a stable baseline"
    );
}
