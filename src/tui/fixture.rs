//! A fixed train for tests of the screen: every state, a failed check, an approval, a
//! dependency, a climbing canary, at a fixed `now`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::TimeZone;

use super::app::{App, Cmd, Msg};
use crate::engine::{Engine, Input, Setup};
use crate::model::{
    Approval, Batch, Cell, CellKey, CellState, Check, CheckState, Freeze, Gate, HistoryEntry, Lane,
    Metric, SourceReport, Threshold, Timestamp, Train, Window, World,
};

pub fn t(s: i64) -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 26, 15, 0, 0)
        .unwrap()
        + chrono::TimeDelta::seconds(s)
}

pub const STAGES: [&str; 4] = ["build", "staging", "canary", "prod"];

pub fn sha(n: u32) -> String {
    format!(
        "{:08x}{:08x}{:08x}{:08x}{:08x}",
        n.wrapping_mul(2_654_435_761),
        n ^ 0xdead_beef,
        n * 7,
        n + 11,
        n * 13
    )
}

fn lane(name: &str, team: &str, deps: &[&str]) -> Lane {
    Lane {
        name: name.into(),
        team: team.into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
    }
}

pub fn train() -> Train {
    let mut policy = BTreeMap::new();
    policy.insert(
        "canary".to_string(),
        vec![
            Gate::ChecksGreen,
            Gate::Dependencies,
            Gate::Window,
            Gate::Fresh,
        ],
    );
    policy.insert("prod".to_string(), Gate::STRICT.to_vec());
    Train {
        name: "2026.48".into(),
        stages: STAGES.iter().map(|s| s.to_string()).collect(),
        window: Some(Window {
            opens: t(-3600),
            closes: t(3 * 3600 + 600),
        }),
        freezes: vec![Freeze {
            starts: t(2 * 86_400),
            ends: t(5 * 86_400),
            reason: "holiday traffic".into(),
        }],
        lanes: vec![
            lane("ledger", "core-banking", &[]),
            lane("payments-api", "payments", &["ledger"]),
            lane("checkout-web", "storefront", &["payments-api"]),
            lane("auth-service", "identity", &[]),
            lane("search-indexer", "discovery", &[]),
            lane("notifications", "messaging", &[]),
            lane("inventory", "fulfilment", &[]),
            lane("pricing-engine", "pricing", &["inventory"]),
        ],
        policy,
        auto_pause: Default::default(),
        protected: ["prod".to_string()].into(),
        lane_index: Default::default(),
    }
}

fn cell(n: u32, st: CellState, at: i64) -> Cell {
    let mut c = Cell::new("sim", st);
    c.version = Some(sha(n));
    c.updated_at = Some(t(at));
    c.started_at = Some(t(at - 300));
    c.actor = Some("ci".into());
    c.url = Some(format!("http://127.0.0.1:7878/runs/{n}"));
    c.history = vec![
        HistoryEntry {
            version: sha(n),
            state: st,
            at: Some(t(at)),
            actor: Some("ci".into()),
        },
        HistoryEntry {
            version: sha(n + 100),
            state: CellState::Succeeded,
            at: Some(t(at - 7200)),
            actor: Some("ci".into()),
        },
        HistoryEntry {
            version: sha(n + 200),
            state: CellState::Succeeded,
            at: Some(t(at - 90_000)),
            actor: Some("dana".into()),
        },
    ]
    .into();
    c
}

fn metric(name: &str, unit: &str, max: f64, base: f64, slope: f64) -> Metric {
    let series: Vec<(i64, f64)> = (0..30)
        .map(|i| (t(-300 + i * 10).timestamp(), base + slope * i as f64))
        .collect();
    Metric {
        name: name.into(),
        unit: unit.into(),
        value: series.last().map(|(_, v)| *v),
        threshold: Threshold {
            min: None,
            max: Some(max),
        },
        baseline: Some(base),
        // The stable side: flat at the base, with a little noise.
        baseline_series: series
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (*t, base * (1.0 + 0.02 * ((i * 7) % 5) as f64)))
            .collect(),
        series,
        source: "".into(),
        error: None,
        warnings: vec![],
    }
}

/// A steady metric with a little deterministic noise, on both sides.
fn steady(name: &str, unit: &str, max: f64, base: f64) -> Metric {
    let mut m = metric(name, unit, max, base, 0.0);
    for (i, p) in m.series.iter_mut().enumerate() {
        p.1 = base * (1.0 + 0.05 * (((i * 3) % 5) as f64 - 2.0));
    }
    m.value = m.series.last().map(|(_, v)| *v);
    m
}

pub fn world() -> World {
    let mut w = World::new([("sim", "http", Duration::from_secs(30))]);
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(-1),
        outcome: Ok(sim_batch()),
    });
    w
}

/// Every cell and metric of [`world`], as source `sim` reports them.
fn sim_batch() -> Batch {
    use CellState::*;
    let mut cells: Vec<(CellKey, Cell)> = Vec::new();
    let mut put = |l: &str, s: &str, c: Cell| cells.push((CellKey::new(l, s), c));
    // ledger: building a new version; the old one everywhere.
    let mut b = cell(1, Running, -20);
    b.progress = Some(0.62);
    put("ledger", "build", b);
    put("ledger", "staging", cell(2, Succeeded, -4000));
    put("ledger", "canary", cell(2, Succeeded, -3000));
    let mut lp = cell(2, Running, -40);
    lp.progress = Some(0.4);
    put("ledger", "prod", lp);
    // payments-api: ready for prod, held back there until ledger is in prod.
    put("payments-api", "build", cell(10, Succeeded, -5000));
    put("payments-api", "staging", cell(10, Succeeded, -4000));
    put("payments-api", "canary", cell(10, Succeeded, -2400));
    put("payments-api", "prod", cell(11, Succeeded, -80_000));
    // checkout-web: the build failed a check.
    let mut f = cell(20, Failed, -200);
    f.checks = vec![
        Check {
            name: "unit-tests".into(),
            state: CheckState::Passed,
            url: Some("https://ci.example/checks/unit-tests".into()),
        },
        Check {
            name: "integration-tests".into(),
            state: CheckState::Failed,
            url: Some("https://ci.example/checks/integration-tests".into()),
        },
    ];
    f.message = Some("integration-tests: 3 failures".into());
    f.commit_url = Some(format!(
        "https://github.com/acme/checkout-web/commit/{}",
        sha(20)
    ));
    put("checkout-web", "build", f);
    put("checkout-web", "staging", cell(21, Succeeded, -9000));
    put("checkout-web", "canary", cell(22, Succeeded, -80_000));
    put("checkout-web", "prod", cell(22, Succeeded, -70_000));
    // auth-service: waiting for approval at prod.
    put("auth-service", "build", cell(30, Succeeded, -9000));
    put("auth-service", "staging", cell(30, Succeeded, -8000));
    put("auth-service", "canary", cell(30, Succeeded, -6000));
    let mut a = cell(30, AwaitingApproval, -120);
    a.approval = Some(Approval {
        environment: Some("production".into()),
        reviewers: vec!["octocat".into(), "dana".into()],
    });
    put("auth-service", "prod", a);
    // search-indexer: canary rolling out, error rate climbing.
    put("search-indexer", "build", cell(40, Succeeded, -3000));
    put("search-indexer", "staging", cell(40, Succeeded, -2000));
    let mut r = cell(40, Running, -30);
    r.progress = Some(0.45);
    r.message = Some("rolling out 3/8 pods".into());
    put("search-indexer", "canary", r);
    put("search-indexer", "prod", cell(41, Succeeded, -86_000));
    // notifications: paused at staging.
    put("notifications", "build", cell(50, Succeeded, -3000));
    let mut p = cell(50, Paused, -600);
    p.progress = Some(0.3);
    put("notifications", "staging", p);
    put("notifications", "canary", cell(51, Succeeded, -50_000));
    put("notifications", "prod", cell(51, Succeeded, -49_000));
    // inventory: soaking at canary.
    put("inventory", "build", cell(60, Succeeded, -3000));
    put("inventory", "staging", cell(60, Succeeded, -2500));
    let mut ic = cell(60, Succeeded, -600);
    ic.warnings = vec!["auto sync is on for canary: the next sync may undo a rollback".into()];
    put("inventory", "canary", ic);
    put("inventory", "prod", cell(61, RolledBack, -40_000));
    // pricing-engine: pending at build.
    put("pricing-engine", "build", cell(70, Pending, -5));
    put("pricing-engine", "staging", cell(71, Cancelled, -20_000));
    put("pricing-engine", "canary", cell(72, Succeeded, -30_000));
    put("pricing-engine", "prod", cell(72, Unknown, -30_000));

    let metrics = vec![
        (
            CellKey::new("search-indexer", "canary"),
            metric("error_rate", "ratio", 0.01, 0.002, 0.0004),
        ),
        (
            CellKey::new("search-indexer", "canary"),
            metric("latency_p99", "seconds", 0.5, 0.21, 0.002),
        ),
        (
            CellKey::new("search-indexer", "canary"),
            metric("saturation", "ratio", 0.8, 0.41, 0.001),
        ),
        (
            CellKey::new("payments-api", "canary"),
            metric("error_rate", "ratio", 0.01, 0.003, 0.00001),
        ),
        (
            CellKey::new("payments-api", "canary"),
            metric("latency_p99", "seconds", 0.5, 0.18, 0.0),
        ),
        // The rest of the train at canary, healthy: search-indexer is the outlier.
        (
            CellKey::new("ledger", "canary"),
            steady("error_rate", "ratio", 0.01, 0.001),
        ),
        (
            CellKey::new("ledger", "canary"),
            steady("latency_p99", "seconds", 0.5, 0.12),
        ),
        (
            CellKey::new("checkout-web", "canary"),
            steady("error_rate", "ratio", 0.01, 0.0025),
        ),
        (
            CellKey::new("notifications", "canary"),
            steady("error_rate", "ratio", 0.01, 0.0015),
        ),
        (
            CellKey::new("pricing-engine", "canary"),
            steady("error_rate", "ratio", 0.01, 0.003),
        ),
    ];
    Batch {
        cells,
        metrics,
        ..Batch::default()
    }
}

/// The fixed train with search-indexer's canary and ledger's prod read from Argo CD (source
/// `argo`): the canary's Rollout waits at a step, ledger's prod rolls out.
pub fn argo_app() -> Rig {
    let mut w = World::new([
        ("sim", "http", Duration::from_secs(30)),
        ("argo", "argocd", Duration::from_secs(30)),
    ]);
    let argo = [("search-indexer", "canary"), ("ledger", "prod")];
    let mut sim = sim_batch();
    sim.cells
        .retain(|(k, _)| !argo.contains(&(&*k.lane, &*k.stage)));
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(-1),
        outcome: Ok(sim),
    });
    let mut canary = cell(40, CellState::AwaitingApproval, -30);
    canary.source = "argo".into();
    canary.message = Some(
        "paused at a canary step: promote to go on, abort to stop (step 2/8, canary at 21%)".into(),
    );
    let mut prod = cell(2, CellState::Running, -40);
    prod.source = "argo".into();
    prod.message = Some("rolling out (step 3/8, canary at 50%)".into());
    w.apply(SourceReport {
        source: "argo".into(),
        at: t(-1),
        outcome: Ok(Batch {
            cells: vec![
                (CellKey::new("search-indexer", "canary"), canary),
                (CellKey::new("ledger", "prod"), prod),
            ],
            ..Batch::default()
        }),
    });
    let mut setup = setup(train(), w);
    for (lane, stage) in argo {
        setup
            .sources_of
            .insert(CellKey::new(lane, stage), "argo".into());
    }
    Rig::new(setup)
}

/// The fixed train read as the demo reads it, from its five sources: `sim` (every cell),
/// `gh` and `gl` with their API budgets (GitHub's and GitLab's: the hour's and the last
/// minute's), `prom` and `argo` answering.
pub fn demo_sources_app() -> Rig {
    use crate::model::world::{RateLimit, RequestRate};
    let mut w = World::new([
        ("sim", "http", Duration::from_secs(30)),
        ("gh", "github", Duration::from_secs(30)),
        ("gl", "gitlab", Duration::from_secs(30)),
        ("prom", "prometheus", Duration::from_secs(30)),
        ("argo", "argocd", Duration::from_secs(30)),
    ]);
    w.apply(SourceReport {
        source: "sim".into(),
        at: t(-1),
        outcome: Ok(sim_batch()),
    });
    let budgets = [("gh", 4943, 5000, 73), ("gl", 1987, 2000, 13)];
    for (source, remaining, limit, used) in budgets {
        w.apply(SourceReport {
            source: source.into(),
            at: t(-2),
            outcome: Ok(Batch {
                rate_limit: Some(RateLimit { remaining, limit }),
                request_rate: Some(RequestRate {
                    used,
                    per_minute: 600,
                }),
                ..Batch::default()
            }),
        });
    }
    for source in ["prom", "argo"] {
        w.apply(SourceReport {
            source: source.into(),
            at: t(-2),
            outcome: Ok(Batch::default()),
        });
    }
    Rig::new(setup(train(), w))
}

/// An engine and the screen on it, wired as the driver wires them but without tasks: what the
/// screen submits goes to the engine, and what the engine says and its snapshots reach the
/// screen. Derefs to the screen's `App`.
pub struct Rig {
    pub engine: Engine,
    pub app: App,
    /// What the engine queued for the runner, in order.
    pub sent: Vec<crate::ops::Plan>,
}

impl std::ops::Deref for Rig {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl std::ops::DerefMut for Rig {
    fn deref_mut(&mut self) -> &mut App {
        &mut self.app
    }
}

impl Rig {
    pub fn new(setup: Setup) -> Rig {
        let mut engine = Engine::new(setup);
        let greeting = engine.greeting();
        let mut app = App::new(engine.snapshot());
        for e in greeting {
            app.update(Msg::Event(Box::new(e)));
        }
        Rig {
            engine,
            app,
            sent: Vec::new(),
        }
    }

    /// One input to the engine; the screen hears of it. What the engine queues for the runner
    /// is added to `sent` and returned.
    pub fn input(&mut self, input: Input) -> Vec<crate::ops::Plan> {
        let mut events = self.engine.fold(input);
        let queued = self.engine.take_execute();
        // As the driver does: the notices of the state after it.
        events.extend(self.engine.notices());
        for e in events {
            self.app.update(Msg::Event(Box::new(e)));
        }
        self.app.update(Msg::Snapshot(self.engine.snapshot()));
        self.sent.extend(queued.iter().cloned());
        queued
    }

    /// A message to the screen; what it submits goes to the engine.
    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let cmds = self.app.update(msg);
        for c in &cmds {
            if let Cmd::Submit(p) = c {
                self.input(Input::Submit(p.clone()));
            }
        }
        cmds
    }
}

/// The fixed train's start: the fixture world at `t(0)`, every cell read from `sim`.
pub fn setup(train: Train, world: World) -> Setup {
    let sources_of = train
        .lanes
        .iter()
        .flat_map(|l| {
            STAGES
                .iter()
                .map(move |s| (CellKey::new(&l.name, *s), "sim".to_string()))
        })
        .collect();
    Setup {
        train,
        world,
        holds: Default::default(),
        now: t(0),
        readonly: false,
        actor: "dana@jump".into(),
        sources_of,
        insecure_http: Vec::new(),
        auto: Default::default(),
        unfinished: Vec::new(),
    }
}

pub fn app() -> Rig {
    Rig::new(setup(train(), world()))
}

/// The fixed train with teams that own several lanes, and notifications held: for the
/// grouped views. Teams: payments (ledger, payments-api), storefront (checkout-web,
/// inventory, pricing-engine), platform (auth-service, notifications), discovery
/// (search-indexer).
pub fn teams_app() -> Rig {
    let mut train = train();
    for l in &mut train.lanes {
        l.team = match l.name.as_str() {
            "ledger" | "payments-api" => "payments",
            "checkout-web" | "inventory" | "pricing-engine" => "storefront",
            "auth-service" | "notifications" => "platform",
            _ => "discovery",
        }
        .into();
    }
    let mut setup = setup(train, world());
    setup.holds.lanes.insert(
        "inventory".into(),
        crate::model::policy::LaneHold {
            reason: "db migration".into(),
            by: "dana@jump".into(),
            at: t(-600),
        },
    );
    Rig::new(setup)
}

/// The fixed train, started with --readonly.
pub fn readonly_app() -> Rig {
    Rig::new(Setup {
        readonly: true,
        ..setup(train(), world())
    })
}

/// Put the selection on `lane` at `stage`.
pub fn select(app: &mut App, lane: &str, stage: &str) {
    let i = app
        .snap
        .train
        .lanes
        .iter()
        .position(|l| l.name == lane)
        .unwrap();
    app.sel_lane = app.row_of_lane(i).unwrap();
    app.sel_stage = app.snap.train.stage_index(stage).unwrap();
}

/// Hostile payloads as a source would send them (docs/security.md ("Hostile payloads")): the world below
/// takes them through the poller's sanitizing, as every report does.
pub mod hostile {
    use super::*;

    pub const OSC52: &str = "\u{1b}]52;c;SE9TVElMRQ==\u{07}";
    pub const TITLE: &str = "\u{1b}]0;HOSTILE\u{07}";
    pub const CLEAR: &str = "\u{1b}[2J\u{1b}[H";
    pub const RLO: &str = "\u{202e}exe.gnp";
    pub const ZW: &str = "ma\u{200b}in\u{feff}";

    pub fn train() -> Train {
        let mut t = super::train();
        // Config names are trusted, and may be any script: columns must hold for them too.
        t.lanes = vec![
            lane("ledger", "core-banking", &[]),
            lane("支払い-api", "決済チーム", &["ledger"]),
            lane("🚀-launcher", "rockets", &[]),
            lane("auth-service", "identity", &[]),
        ];
        t
    }

    fn hcell(version: &str, st: CellState, at: i64) -> Cell {
        let mut c = Cell::new("sim", st);
        c.version = Some(version.into());
        c.updated_at = Some(t(at));
        c.started_at = Some(t(at - 300));
        c.actor = Some(format!("dana.kim{RLO}"));
        c.url = Some(format!("http://127.0.0.1:7878/runs/1 {OSC52}"));
        c.history = vec![
            HistoryEntry {
                version: version.into(),
                state: st,
                at: Some(t(at)),
                actor: Some("李小龍".into()),
            },
            HistoryEntry {
                version: "日本語日本語".into(),
                state: CellState::Succeeded,
                at: Some(t(at - 7200)),
                actor: Some(format!("{TITLE}raj")),
            },
            HistoryEntry {
                version: "🚀🚀".into(),
                state: CellState::Succeeded,
                at: Some(t(at - 90_000)),
                actor: Some("👩\u{200d}💻-oncall".into()),
            },
        ]
        .into();
        c
    }

    fn hmetric(name: &str, max: f64, base: f64, slope: f64) -> Metric {
        super::metric(name, "ratio", max, base, slope)
    }

    fn batch(round: u32) -> Batch {
        use CellState::*;
        let mut cells: Vec<(CellKey, Cell)> = Vec::new();
        let mut put = |l: &str, s: &str, c: Cell| cells.push((CellKey::new(l, s), c));
        let wide = [
            "日本語日本語",
            "🚀🚀🚀🚀",
            "v2.0.0-ünïcödé",
            "e\u{301}te\u{301}-rc1",
        ];
        // ledger: CJK versions everywhere, a message that clears the screen.
        let mut b = hcell(wide[0], Succeeded, -600);
        b.message = Some(format!("build passed{CLEAR} {ZW}"));
        put("ledger", "build", b);
        put("ledger", "staging", hcell(wide[0], Succeeded, -500));
        let mut lc = hcell(wide[1], Running, -30);
        lc.progress = Some(if round == 0 { 0.4 } else { 0.7 });
        lc.message = Some(format!("rolling out {TITLE}3/8 pods"));
        put("ledger", "canary", lc);
        put("ledger", "prod", hcell(wide[1], Succeeded, -80_000));
        // 支払い-api: a failed check with a hostile name, emoji versions.
        let mut f = hcell(wide[1], Failed, -200);
        f.checks = vec![
            Check {
                name: format!("lint{OSC52}"),
                state: CheckState::Passed,
                url: None,
            },
            Check {
                name: "テスト-e2e".into(),
                state: CheckState::Failed,
                url: Some(format!("https://ci.example/{CLEAR}")),
            },
            Check {
                name: format!("unit🧪tests{RLO}"),
                state: CheckState::Failed,
                url: None,
            },
        ];
        f.message = Some(format!("テスト-e2e failed: 3 of 412 {OSC52}"));
        put("支払い-api", "build", f);
        put("支払い-api", "staging", hcell(wide[2], Succeeded, -9000));
        put("支払い-api", "canary", hcell(wide[2], Succeeded, -8000));
        put("支払い-api", "prod", hcell(wide[3], Succeeded, -70_000));
        // 🚀-launcher: waiting for approval by hostile reviewers.
        put("🚀-launcher", "build", hcell(wide[3], Succeeded, -9000));
        put("🚀-launcher", "staging", hcell(wide[3], Succeeded, -8000));
        put("🚀-launcher", "canary", hcell(wide[3], Succeeded, -6000));
        let mut a = hcell(wide[3], AwaitingApproval, -120);
        a.approval = Some(Approval {
            environment: Some(format!("production{CLEAR}")),
            reviewers: vec![
                format!("dana.kim{RLO}"),
                "李小龍".into(),
                "👩\u{200d}💻-oncall".into(),
                ZW.into(),
            ],
        });
        a.warnings = vec![format!("auto sync is on {OSC52}")];
        put("🚀-launcher", "prod", a);
        // auth-service: plain, for comparison; its build moves in the second round.
        let v = if round == 0 {
            "3a1b2c4"
        } else {
            "日本語日本語"
        };
        put(
            "auth-service",
            "build",
            hcell(v, if round == 0 { Running } else { Succeeded }, -20),
        );
        put(
            "auth-service",
            "staging",
            hcell("3a1b2c4", Succeeded, -3000),
        );
        put("auth-service", "canary", hcell("3a1b2c4", Succeeded, -2000));
        put("auth-service", "prod", hcell("3a1b2c4", Succeeded, -1000));
        let metrics = vec![
            (
                CellKey::new("ledger", "canary"),
                hmetric("エラー率", 0.01, 0.002, 0.0004),
            ),
            (
                CellKey::new("ledger", "canary"),
                hmetric(&format!("latency🐢{CLEAR}"), 0.5, 0.21, 0.002),
            ),
            (
                CellKey::new("支払い-api", "canary"),
                hmetric("エラー率", 0.01, 0.003, 0.0),
            ),
            (
                CellKey::new("auth-service", "canary"),
                hmetric("エラー率", 0.01, 0.001, 0.0),
            ),
        ];
        Batch {
            cells,
            metrics,
            ..Batch::default()
        }
    }

    /// The report as the poller hands it on: sanitized.
    fn report(round: u32) -> SourceReport {
        SourceReport {
            source: "sim".into(),
            at: t(-1 + i64::from(round)),
            outcome: Ok(batch(round)),
        }
        .sanitized()
    }

    /// The hostile train after two polls: the second one's changes are in the activity.
    pub fn app() -> Rig {
        let world = World::new([("sim", "http", Duration::from_secs(30))]);
        let mut rig = Rig::new(setup(train(), world));
        rig.input(Input::Report(report(0)));
        rig.input(Input::Report(report(1)));
        rig
    }
}
