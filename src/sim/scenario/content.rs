//! What the simulated train carries and how it starts: the built-in lanes' story (ledger's
//! slow canary, auth-service's failed build, notifications' bad version, …), the people who
//! act, the commit titles, the build checks, and the words cells say.

use std::collections::VecDeque;

use super::metrics::{METRICS, SERIES_LEN};
use super::{
    BUILD, CellSim, HISTORY_LEN, HOUR, Hist, LaneSim, MIN, Op, OpKind, PROD, SEC, STAGES, STAGING,
    Scenario, St, T_ACTOR, T_AGE, T_BASE, T_HIST, T_PR, T_TITLE, T_TOOK, T_TPL, T_VER, Ver,
};
use crate::sim::rng::{between, mix, pick, sha, unit};
use crate::sim::roster::LaneSpec;

/// Build checks and the progress at which each one passes (the last passes at the end).
pub(super) const BUILD_CHECKS: [(&str, f64); 3] = [
    ("lint", 0.2),
    ("unit-tests", 0.55),
    ("integration-tests", 1.0),
];
pub(super) const STAGING_CHECK: &str = "e2e-smoke";

/// Where the numbers of a lane's releases from before the train (older than its version 0)
/// begin: far past any version the train reaches.
const OLDER_RELEASES: u64 = 1 << 40;

pub(super) const PEOPLE: [&str; 6] = [
    "dana.kim",
    "raj.patel",
    "maria.chen",
    "lee.wong",
    "sam.okafor",
    "ines.alves",
];
const TITLES: [&str; 20] = [
    "add idempotency keys to refunds",
    "bump tokio to 1.54",
    "retry webhook delivery with jitter",
    "cache currency rates for 60s",
    "split settlement job by region",
    "fix N+1 query in order history",
    "drop legacy v1 endpoints",
    "rotate signing keys monthly",
    "structured logs for the batch runner",
    "raise connection pool to 64",
    "feature flag: one-click reorder",
    "migrate sessions to redis cluster",
    "tighten CSP headers",
    "paginate the admin export",
    "upgrade base image to bookworm",
    "trace spans around the payment call",
    "reduce cold start by lazy config",
    "backfill missing sku attributes",
    "rate-limit password reset",
    "handle leap seconds in scheduler",
];

/// How a cell starts out.
#[derive(Clone, Copy)]
enum Init {
    /// Succeeded this many seconds ago.
    Ok(i64),
    /// Moving: this far along an operation of this many seconds.
    Run(f64, i64),
    /// Failed this many seconds ago, on this check.
    Fail(i64, &'static str),
    /// Waiting for approval since this many seconds ago.
    Approval(i64),
}

/// How a lane starts out: which of its versions 0..=4 sits at each stage, in what state.
struct Template {
    vers: [u64; 4],
    init: [Init; 4],
    bad: Option<u64>,
    first_build: i64,
    fix_next: bool,
}

fn template(seed: u64, i: usize) -> Template {
    use Init::*;
    let t = |vers, init, first_build| Template {
        vers,
        init,
        bad: None,
        first_build,
        fix_next: false,
    };
    let m = 60;
    let h = 3600;
    let d = 86400;
    match i {
        // ledger: a slow canary rollout (schema migration) that payments-api waits for.
        0 => t(
            [4, 4, 4, 3],
            [Ok(30 * m), Ok(25 * m), Run(0.2, 180), Ok(2 * d)],
            420,
        ),
        // payments-api: through staging, held back from canary by ledger.
        1 => t(
            [3, 3, 2, 2],
            [Ok(40 * m), Ok(20 * m), Ok(d), Ok(d + 2 * h)],
            480,
        ),
        // checkout-web: waiting for approval at prod.
        2 => t(
            [2, 2, 2, 2],
            [Ok(4 * h), Ok(3 * h), Ok(50 * m), Approval(6 * m)],
            540,
        ),
        // auth-service: the new build failed its integration tests; a fix arrives later.
        3 => Template {
            fix_next: true,
            ..t(
                [4, 3, 3, 3],
                [
                    Fail(4 * m, "integration-tests"),
                    Ok(2 * h),
                    Ok(90 * m),
                    Ok(40 * m),
                ],
                150,
            )
        },
        // search-indexer: a build about to finish.
        4 => t(
            [4, 3, 3, 3],
            [Run(0.6, 40), Ok(5 * h), Ok(4 * h), Ok(3 * h)],
            75,
        ),
        // notifications: a canary rollout of a version whose error rate will climb.
        5 => Template {
            bad: Some(3),
            ..t(
                [3, 3, 3, 2],
                [Ok(50 * m), Ok(35 * m), Run(0.35, 30), Ok(d)],
                600,
            )
        },
        // inventory: soaking at canary, ready for prod in a minute or so.
        6 => t(
            [3, 3, 3, 2],
            [Ok(70 * m), Ok(30 * m), Ok(50), Ok(2 * d)],
            260,
        ),
        // pricing-engine: a staging rollout under way.
        7 => t(
            [4, 4, 3, 3],
            [Ok(12 * m), Run(0.25, 24), Ok(h), Ok(50 * m)],
            120,
        ),
        // shipping-api: a new version through staging, its canary deploy ready to be played,
        // while the version at canary waits for approval at prod.
        8 => t(
            [4, 4, 3, 3],
            [Ok(35 * m), Ok(15 * m), Ok(3 * h), Approval(9 * m)],
            500,
        ),
        _ => {
            let r = |k: u64, lo: i64, hi: i64| between(mix(seed, &[T_TPL, i as u64, k]), lo, hi);
            let a = r(1, 10 * m, 6 * h);
            let first = r(2, 45, 400);
            match r(0, 0, 3) {
                0 => t(
                    [3, 3, 3, 3],
                    [Ok(a + 3 * h), Ok(a + 2 * h), Ok(a + h), Ok(a)],
                    first,
                ),
                1 => t(
                    [4, 4, 3, 3],
                    [Ok(a + 20 * m), Ok(a), Ok(a + 2 * h), Ok(a + h)],
                    first,
                ),
                2 => {
                    let p = r(3, 10, 80) as f64 / 100.0;
                    t(
                        [4, 3, 3, 3],
                        [Run(p, r(4, 30, 60)), Ok(a + 2 * h), Ok(a + h), Ok(a)],
                        first.max(90),
                    )
                }
                _ => t(
                    [3, 3, 3, 2],
                    [Ok(a + h), Ok(a), Ok(r(5, 20, 600)), Ok(a + d)],
                    first,
                ),
            }
        }
    }
}

impl Scenario {
    pub(super) fn add_lane(&mut self, i: usize, spec: LaneSpec) {
        let seed = self.seed;
        let idx = i as u64;
        let tpl = template(seed, i);
        let h = |tag: u64, k: u64| mix(seed, &[tag, idx, k]);
        let base = [
            0.001 + 0.003 * unit(h(T_BASE, 0)),
            0.12 + 0.2 * unit(h(T_BASE, 1)),
            0.3 + 0.3 * unit(h(T_BASE, 2)),
        ];
        let mut lane = LaneSim {
            spec,
            idx,
            cells: Vec::with_capacity(STAGES.len()),
            builds: 5,
            next_build: tpl.first_build * SEC,
            fix_next: tpl.fix_next,
            base,
            phase: unit(h(T_BASE, 3)),
            series: vec![VecDeque::with_capacity(SERIES_LEN); 3 * METRICS.len()],
            rev: 0,
        };
        let li = self.lanes.len();
        for s in 0..STAGES.len() {
            let k = tpl.vers[s];
            let ver = make_ver(seed, idx, k, tpl.bad == Some(k));
            let actor = if s == BUILD {
                "ci".to_string()
            } else {
                pick(h(T_ACTOR, s as u64), &PEOPLE).to_string()
            };
            let (state, started, updated, op, message, checks) = match tpl.init[s] {
                Init::Ok(ago) => {
                    let updated = -ago * SEC;
                    let took = between(h(T_AGE, s as u64), 40, 300) * SEC;
                    (
                        St::Succeeded,
                        updated - took,
                        updated,
                        None,
                        done_message(s, &ver, pods(s)),
                        settled_checks(s, None),
                    )
                }
                Init::Run(p, dur) => {
                    let kind = if s == BUILD {
                        OpKind::Build
                    } else {
                        OpKind::Deploy
                    };
                    let dur = dur * SEC;
                    let done = (p * dur as f64) as i64;
                    let op = Op {
                        kind,
                        dur,
                        done,
                        resumed: Some(0),
                        fails: None,
                    };
                    (
                        St::Running,
                        -done,
                        -done,
                        Some(op),
                        String::new(),
                        Vec::new(),
                    )
                }
                Init::Fail(ago, check) => {
                    let updated = -ago * SEC;
                    (
                        St::Failed,
                        updated - 6 * MIN,
                        updated,
                        None,
                        fail_message(check),
                        settled_checks(s, Some(check)),
                    )
                }
                Init::Approval(ago) => {
                    let at = -ago * SEC;
                    (
                        St::AwaitingApproval,
                        at,
                        at,
                        None,
                        "waiting for approval of production".to_string(),
                        Vec::new(),
                    )
                }
            };
            let mut history = Vec::new();
            let mut at = started;
            // A full history from the start, so that a watcher's memory holds what it will
            // hold an hour on: the versions before this one, then the lane's older releases
            // (numbered past any the train will reach).
            for d in 1..=HISTORY_LEN as u64 {
                let j = k.checked_sub(d).unwrap_or(OLDER_RELEASES + d - k);
                at -= between(mix(seed, &[T_HIST, idx, s as u64, j]), 18 * HOUR, 40 * HOUR);
                let took = between(mix(seed, &[T_TOOK, idx, s as u64, j]), 40, 300) * SEC;
                let who = if s == BUILD {
                    "ci"
                } else {
                    pick(mix(seed, &[T_ACTOR, idx, s as u64, j]), &PEOPLE)
                };
                let ver = make_ver(seed, idx, j, tpl.bad == Some(j));
                let kind = if s == BUILD {
                    OpKind::Build
                } else {
                    OpKind::Deploy
                };
                let run = self.new_run(li, s, &ver.sha, kind, at - took, who);
                history.push(Hist {
                    message: done_message(s, &ver, pods(s)),
                    ver,
                    state: St::Succeeded,
                    at,
                    actor: who.to_string(),
                    run,
                    started: at - took,
                    ran: true,
                    checks: settled_checks(s, None),
                });
            }
            let awaiting_reviewers = if state == St::AwaitingApproval {
                lane.spec.prod_reviewers.clone()
            } else {
                vec![]
            };
            let kind = match &op {
                Some(op) => op.kind,
                None if s == BUILD => OpKind::Build,
                None => OpKind::Deploy,
            };
            let run = self.new_run(li, s, &ver.sha, kind, started, &actor);
            lane.cells.push(CellSim {
                ran: state != St::AwaitingApproval,
                ver,
                state,
                started,
                updated,
                run,
                actor,
                message,
                checks,
                awaiting_reviewers,
                history,
                op,
            });
        }
        self.lanes.push(lane);
    }
}

pub(super) fn make_ver(seed: u64, lane: u64, n: u64, bad: bool) -> Ver {
    let h = |tag: u64| mix(seed, &[tag, lane, n]);
    Ver {
        sha: sha(h(T_VER)),
        title: pick(h(T_TITLE), &TITLES),
        pr: between(h(T_PR), 1200, 9800),
        bad,
    }
}

pub(super) fn short(v: &str) -> &str {
    v.get(..7).unwrap_or(v)
}

pub(super) fn environment(s: usize) -> &'static str {
    if s == PROD { "production" } else { STAGES[s] }
}

/// Pods of a lane's deployment at a stage.
pub(super) fn pods(s: usize) -> u32 {
    if s == STAGING { 4 } else { 8 }
}

pub(super) fn pods_done(s: usize, p: f64) -> u32 {
    (p * pods(s) as f64).floor() as u32
}

pub(super) fn done_message(s: usize, ver: &Ver, n: u32) -> String {
    if s == BUILD {
        format!("build passed: {} (#{})", ver.title, ver.pr)
    } else {
        format!("{n}/{n} pods ready")
    }
}

pub(super) fn fail_message(check: &str) -> String {
    match check {
        "lint" => "lint failed: 2 clippy warnings denied".into(),
        "unit-tests" => "unit-tests failed: 1 of 861 tests failed".into(),
        _ => format!("{check} failed: 3 of 412 tests failed (TokenRefreshTest)"),
    }
}

pub(super) fn live_message(s: usize, op: &Op, ver: &Ver, p: f64) -> String {
    match op.kind {
        OpKind::Build => {
            let step = if p < 0.2 {
                "compiling"
            } else if p < 0.55 {
                "running unit-tests"
            } else {
                "running integration-tests"
            };
            format!("{step} · {} (#{})", ver.title, ver.pr)
        }
        OpKind::Deploy => format!("rolling out {}/{} pods", pods_done(s, p), pods(s)),
        OpKind::Rollback => format!(
            "rolling back to {}: {}/{} pods",
            ver.short(),
            pods_done(s, p),
            pods(s)
        ),
    }
}

impl Op {
    /// Whether a build `p` of the way along has passed `check`: the last check passes only
    /// when the build finishes, and the failing one never does.
    pub(super) fn has_passed(&self, (name, at): (&str, f64), p: f64) -> bool {
        at < 1.0 && p >= at && self.fails != Some(name)
    }
}

/// The checks of a build `p` of the way along: passed, or still pending.
pub(super) fn build_checks(op: &Op, p: f64) -> Vec<(&'static str, &'static str)> {
    BUILD_CHECKS
        .iter()
        .map(|&c| {
            (
                c.0,
                if op.has_passed(c, p) {
                    "passed"
                } else {
                    "pending"
                },
            )
        })
        .collect()
}

pub(super) fn settled_checks(
    s: usize,
    failed: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    match s {
        BUILD => BUILD_CHECKS
            .iter()
            .map(|&(name, _)| {
                (
                    name,
                    if failed == Some(name) {
                        "failed"
                    } else {
                        "passed"
                    },
                )
            })
            .collect(),
        STAGING => vec![(STAGING_CHECK, "passed")],
        _ => vec![],
    }
}
