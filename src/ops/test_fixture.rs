//! The one-lane train and its world that the planning and availability tests share.

use std::time::Duration;

use chrono::TimeZone;

use crate::model::{
    Batch, Cell, CellKey, CellState, HistoryEntry, Lane, SourceReport, Timestamp, Train, World,
};

/// `s` seconds after the tests' fixed moment.
pub fn t(s: i64) -> Timestamp {
    chrono::Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

/// Train `t`: the `api` lane over build, staging, canary and prod, with the default policy.
pub fn train() -> Train {
    Train {
        name: "t".into(),
        stages: ["build", "staging", "canary", "prod"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        window: None,
        freezes: vec![],
        lanes: vec![Lane {
            name: "api".into(),
            team: "x".into(),
            depends_on: vec![],
        }],
        policy: Default::default(),
        auto_pause: Default::default(),
        protected: ["prod".to_string()].into(),
        lane_index: Default::default(),
    }
}

/// The api lane with `cells` (stage, version, state) from source `sim`; `finish` gives each
/// cell what a test needs besides (its history, when it was fetched).
pub fn world(cells: &[(&str, &str, CellState)], finish: impl Fn(&mut Cell)) -> World {
    world_of(("sim", "http"), cells, finish)
}

/// [`world`] read from a source of another kind: `(name, kind)`.
pub fn world_of(
    (source, kind): (&str, &str),
    cells: &[(&str, &str, CellState)],
    finish: impl Fn(&mut Cell),
) -> World {
    let mut w = World::new([(source, kind, Duration::from_secs(30))]);
    let cells = cells
        .iter()
        .map(|(stage, v, st)| {
            let mut c = Cell::new(source, *st);
            c.version = Some(v.to_string());
            finish(&mut c);
            (CellKey::new("api", *stage), c)
        })
        .collect();
    w.apply(SourceReport {
        source: source.into(),
        at: t(0),
        outcome: Ok(Batch {
            cells,
            ..Batch::default()
        }),
    });
    w
}

/// A deployment of `version` that reached `state` at `t(at)`.
pub fn entry(version: &str, state: CellState, at: i64, actor: Option<&str>) -> HistoryEntry {
    HistoryEntry {
        version: version.into(),
        state,
        at: Some(t(at)),
        actor: actor.map(str::to_string),
    }
}
