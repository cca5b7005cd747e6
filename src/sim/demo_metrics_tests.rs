//! The demo's metrics end to end, deterministically: the simulator on loopback HTTP with a
//! clock the test sets, the demo's own config (`demo_config`), and the real `prometheus`
//! source querying the simulator's `/api/v1/query` and `/api/v1/query_range` at chosen
//! scenario times; then the policy on what it measured.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::server::{Shared, router};
use super::{Scenario, SimOptions, demo_config};
use crate::config::{self, Config};
use crate::model::analysis::Verdict;
use crate::model::{BlockerKind, CellKey, Holds, Metric, SourceReport, policy};
use crate::sources::prometheus::PrometheusSource;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-26T14:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A simulator at `t0` on a free loopback port with a manual clock, and the demo config
/// pointing at it.
async fn sim(opts: &SimOptions) -> (Arc<Shared>, Config) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shared = Arc::new(Shared::manual(Scenario::new(opts, t0(), &base), t0()));
    let app = router(Arc::clone(&shared));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let text = demo_config(&base, opts, t0());
    let config = config::parse(&text, "<demo>").unwrap();
    (shared, config)
}

fn find<'a>(batch: &'a [(CellKey, Metric)], lane: &str, name: &str) -> &'a Metric {
    batch
        .iter()
        .find(|(k, m)| *k.lane == *lane && &*k.stage == "canary" && *m.name == *name)
        .map(|(_, m)| m)
        .unwrap_or_else(|| panic!("no {name} of {lane} at canary"))
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::NoData => 0,
        Verdict::Pass => 1,
        Verdict::Marginal => 2,
        Verdict::Fail => 3,
    }
}

/// The bad canary of the demo (`notifications`, a version with `bad: true`), measured every
/// 30 s of scenario time for six minutes at the demo's pace and faster: its error rate climbs
/// past the 1% SLO while the stable side stays low, the Mann-Whitney verdict goes from pass
/// through marginal to fail within four minutes, no healthy canary is failed on error rate or
/// latency, and the prod promotion is blocked by the `slo` gate with the numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_canary_degrades_and_its_verdict_turns_to_fail() {
    for speed in [1.0, 4.0, 10.0] {
        let opts = SimOptions {
            speed,
            ..SimOptions::default()
        };
        let (shared, config) = sim(&opts).await;
        let prom = PrometheusSource::new(&config.sources["prom"], None, &config).unwrap();
        let mut seen: Vec<(u32, f64, f64, Verdict)> = Vec::new();
        let mut last_batch = None;
        for pace in (0..=360).step_by(30) {
            // Scenario time runs `speed` times faster than the wall.
            let now = t0() + TimeDelta::milliseconds((f64::from(pace) * 1000.0 / speed) as i64);
            shared.set_now(now);
            let batch = prom.measure_at(now).await.unwrap();
            let m = find(&batch.metrics, "notifications", "error_rate");
            assert!(m.error.is_none() && m.warnings.is_empty(), "{m:?}");
            assert!(m.series.len() >= 25, "{speed}× {pace}s: {m:?}");
            assert!(m.baseline_series.len() >= 25, "{speed}× {pace}s: {m:?}");
            let (verdict, _) = m.canary().unwrap();
            seen.push((pace, m.value.unwrap(), m.baseline.unwrap(), verdict));

            // The healthy canaries are not failed on error rate or latency. (ledger's
            // saturation may be: it is rolling out, which costs capacity.)
            for lane in config
                .train
                .lanes
                .iter()
                .filter(|l| l.name != "notifications")
            {
                for name in ["error_rate", "latency_p99"] {
                    let (v, _) = find(&batch.metrics, &lane.name, name).canary().unwrap();
                    assert_ne!(v, Verdict::Fail, "{speed}× {pace}s: {} {name}", lane.name);
                }
            }
            last_batch = Some((now, batch));
        }
        let table = format!("speed {speed}: (pace s, value, stable, verdict) {seen:?}");

        // The canary's error rate climbs, from within the SLO to past it; stable stays low.
        assert!(seen[0].1 < 0.005, "{table}");
        assert!(seen.windows(2).all(|w| w[1].1 > w[0].1), "{table}");
        let over = seen.iter().find(|s| s.1 > 0.01).expect(&table).0;
        assert!(over <= 150, "past 1% only at {over}s: {table}");
        assert!(seen.last().unwrap().1 > 0.025, "{table}");
        assert!(seen.iter().all(|s| s.2 < 0.005), "{table}");

        // The verdict: pass at first, then never better again, fail within four minutes.
        assert_eq!(seen[0].3, Verdict::Pass, "{table}");
        assert!(
            seen.windows(2).all(|w| rank(w[1].3) >= rank(w[0].3)),
            "{table}"
        );
        assert!(seen.iter().any(|s| s.3 == Verdict::Marginal), "{table}");
        let fail = seen.iter().find(|s| s.3 == Verdict::Fail).expect(&table).0;
        assert!(fail <= 240, "fail only at {fail}s: {table}");

        // The prod promotion is blocked, with the numbers.
        let (now, batch) = last_batch.unwrap();
        let value = find(&batch.metrics, "notifications", "error_rate")
            .value
            .unwrap();
        let mut world = config.empty_world();
        world.apply(SourceReport {
            source: "prom".into(),
            at: now,
            outcome: Ok(batch),
        });
        let lane = config.train.lane("notifications").unwrap();
        let v = policy::verdict(&config.train, &world, &Holds::default(), now, lane, 3);
        let want = format!(
            "error_rate {:.2}% > 1.00% at canary for the last ",
            value * 100.0
        );
        assert!(
            v.blockers
                .iter()
                .any(|b| b.kind == BlockerKind::Slo && b.message.starts_with(&want)),
            "{want}: {:?}",
            v.blockers
        );
        // And the canary gate, with the comparison's numbers.
        assert!(
            v.blockers.iter().any(|b| b.kind == BlockerKind::Slo
                && b.message
                    .starts_with("canary error_rate at canary is worse than stable: ")
                && b.message.contains("Mann-Whitney p")),
            "{:?}",
            v.blockers
        );
    }
}
