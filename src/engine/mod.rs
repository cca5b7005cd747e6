//! The engine: it owns the train, the world, the holds and the halt, the view of the audit log
//! and `auto_pause`. It folds what comes in (source reports, the ledger, actions on their way,
//! the clock), says what changed in [`Event`]s, and after each change computes one
//! [`Snapshot`] that the screen, `status`, `watch` and the action commands read.
//!
//! [`Engine`] is synchronous and does no IO: what it decides to send and to poll, it queues
//! ([`Engine::take_execute`], [`Engine::take_poll_now`]); [`driver`] carries that out with the
//! poller and the runner, and publishes the snapshots.

pub mod blockers;
pub mod driver;
pub mod events;
pub mod incremental;
pub mod ledger;
pub mod notify;
pub mod snapshot;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use events::{Event, Tone};
pub use snapshot::{Snapshot, UnfinishedAction};

use crate::config::Config;
use crate::model::{ActionKind, CellKey, Holds, SourceReport, Timestamp, Train, World};
use crate::ops::auto::AutoPause;
use crate::ops::availability::{self, InFlight};
use crate::ops::{Outcome, Plan};

/// What the audit log says now: holds and the halt, actions in flight in any trainyard, and
/// the pauses `trainyard-auto` made in any trainyard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    pub holds: Holds,
    pub in_flight: Vec<(CellKey, InFlight)>,
    pub auto_pauses: Vec<crate::ops::audit::Record>,
    /// Who else is on the store, who acts, and whether the store answers.
    pub team: Arc<crate::store::Team>,
}

/// What reaches the engine.
#[derive(Clone, Debug)]
pub enum Input {
    Report(SourceReport),
    Ledger(Ledger),
    Tick(Timestamp),
    /// A plan a person confirmed: send it, unless another action is in flight on its cell.
    Submit(Box<Plan>),
    /// What the runner says on the way (sent, accepted, the cell moving).
    Progress {
        key: CellKey,
        kind: ActionKind,
        text: String,
    },
    Done {
        plan: Box<Plan>,
        outcome: Outcome,
    },
    /// Something the user must know that is no one cell's.
    Warning(String),
}

/// Everything an engine starts from.
pub struct Setup {
    pub train: Train,
    pub world: World,
    pub holds: Holds,
    pub now: Timestamp,
    pub readonly: bool,
    /// Who acts from this process (config `identity`, else user@host).
    pub actor: String,
    pub sources_of: BTreeMap<CellKey, String>,
    pub insecure_http: Vec<String>,
    /// The breaches `auto_pause` acted on already (from the audit log).
    pub auto: AutoPause,
    pub unfinished: Vec<UnfinishedAction>,
}

impl Setup {
    /// An engine's start for `config`: an empty world, and what the audit log's `records`
    /// say (holds, the halt, auto_pause's memory, unfinished actions within `window`).
    pub fn from_config(
        config: &Config,
        records: &[crate::ops::audit::Record],
        window: std::time::Duration,
        readonly: bool,
        now: Timestamp,
    ) -> Setup {
        let unfinished =
            crate::ops::run::unfinished(records, now, crate::ops::run::UNFINISHED_SINCE, window)
                .iter()
                .map(UnfinishedAction::of)
                .collect();
        Setup {
            train: config.train.clone(),
            world: config.empty_world(),
            holds: crate::ops::holds_from(records),
            now,
            readonly,
            actor: crate::ops::actor(config.identity.as_deref()),
            sources_of: config.sources_of(),
            insecure_http: config
                .sources
                .values()
                .filter(|s| s.insecure())
                .map(|s| s.name.clone())
                .collect(),
            auto: AutoPause::from_log(&config.train, records, now),
            unfinished,
        }
    }
}

/// The snapshot of `world` for `config` at `now`, with no ledger (no holds, nothing in flight):
/// a one-off judgement.
pub fn judge(config: &Config, world: World, now: Timestamp) -> Arc<Snapshot> {
    let mut setup = Setup::from_config(config, &[], std::time::Duration::ZERO, false, now);
    setup.world = world;
    Engine::new(setup).snapshot()
}

pub struct Engine {
    seq: u64,
    train: Arc<Train>,
    world: Arc<World>,
    holds: Holds,
    readonly: bool,
    now: Timestamp,
    actor: String,
    /// Actions this process sent, not ended yet, by cell and kind (an abort may run beside
    /// the promote or rollback it stops).
    mine: BTreeMap<(CellKey, ActionKind), InFlight>,
    /// Actions in flight in other trainyards (the ledger's).
    others: BTreeMap<CellKey, InFlight>,
    unfinished: Vec<UnfinishedAction>,
    auto: AutoPause,
    /// Sources that delivered at least once: their first report is the starting picture, not
    /// news.
    seen: BTreeSet<String>,
    sources_of: Arc<BTreeMap<CellKey, String>>,
    insecure_http: Arc<Vec<String>>,
    team: Arc<crate::store::Team>,
    execute: Vec<Plan>,
    poll_now: Vec<String>,
    /// The snapshot of the current state; `None` after a change.
    cached: Option<Arc<Snapshot>>,
    /// Each lane as last judged: judged again only where something changed.
    lanes: incremental::Lanes,
    /// `[notify]`'s rules, when something is to notify.
    notify: Option<notify::Rules>,
    /// Whether this process polls for the team (or alone): `auto_pause` acts only then, so
    /// that a breach is paused once for everyone on a store.
    poller: bool,
}

impl Engine {
    pub fn new(s: Setup) -> Engine {
        Engine {
            seq: 0,
            train: Arc::new(s.train),
            world: Arc::new(s.world),
            holds: s.holds,
            readonly: s.readonly,
            now: s.now,
            actor: s.actor,
            mine: BTreeMap::new(),
            others: BTreeMap::new(),
            unfinished: s.unfinished,
            auto: s.auto,
            seen: BTreeSet::new(),
            sources_of: Arc::new(s.sources_of),
            insecure_http: Arc::new(s.insecure_http),
            team: Arc::default(),
            execute: Vec::new(),
            poll_now: Vec::new(),
            cached: None,
            lanes: incremental::Lanes::default(),
            notify: None,
            poller: true,
        }
    }

    /// Raise the notices `config` asks for ([`Engine::notices`]).
    pub fn notifying(mut self, config: crate::config::NotifyConfig) -> Engine {
        self.notify = (!config.events.is_empty()).then(|| notify::Rules::new(config, &self.actor));
        self
    }

    /// The notices of the state as it is now, and of the actions ended since the last call, as
    /// events of kind `notice`. The driver asks after every batch of inputs.
    pub fn notices(&mut self) -> Vec<Event> {
        if self.notify.is_none() {
            return Vec::new();
        }
        let snap = self.snapshot();
        let Some(rules) = self.notify.as_mut() else {
            return Vec::new();
        };
        rules.observe(&snap).iter().map(events::notice).collect()
    }

    /// What an engine says when it starts: the actions of an earlier run whose end nobody saw,
    /// for the user to check at their source.
    pub fn greeting(&self) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .unfinished
            .iter()
            .map(|u| events::unfinished(self.now, &u.text))
            .collect();
        let n = self.unfinished.len();
        if n > 0 {
            out.push(events::warning(
                self.now,
                &format!(
                    "{n} unfinished action(s) from an earlier run: see Activity, check them at their source"
                ),
            ));
        }
        out
    }

    /// Fold one input in; what changed, in words.
    pub fn fold(&mut self, input: Input) -> Vec<Event> {
        self.cached = None;
        match input {
            Input::Tick(now) => {
                // A clock stepped back (NTP) does not move soak times and ages backwards.
                self.now = self.now.max(now);
                Vec::new()
            }
            Input::Report(r) => self.on_report(r),
            Input::Ledger(l) => self.on_ledger(l),
            Input::Submit(plan) => self.submit(*plan),
            Input::Progress { key, kind, text } => match self.mine.get_mut(&(key.clone(), kind)) {
                Some(f) => {
                    f.status = text.clone();
                    vec![events::action_progress(self.now, f.kind, &key, &text)]
                }
                None => Vec::new(),
            },
            Input::Done { plan, outcome } => self.on_done(*plan, outcome),
            Input::Warning(text) => vec![events::warning(self.now, &text)],
        }
    }

    /// Whether this process is the one that polls (alone, or elected by the store): only the
    /// poller runs `auto_pause`.
    pub fn set_poller(&mut self, poller: bool) {
        self.poller = poller;
    }

    /// Who polls `source` for this process: another trainyard (its identity), or this one.
    pub fn set_via(&mut self, source: &str, via: Option<String>) {
        if self.world.source(source).map(|h| &h.via) != Some(&via) {
            self.cached = None;
            Arc::make_mut(&mut self.world).set_via(source, via);
        }
    }

    /// The plans to send now (a person's, `auto_pause`'s), each marked in flight.
    pub fn take_execute(&mut self) -> Vec<Plan> {
        std::mem::take(&mut self.execute)
    }

    /// The sources to poll now (an action on their cells ended).
    pub fn take_poll_now(&mut self) -> Vec<String> {
        std::mem::take(&mut self.poll_now)
    }

    /// The snapshot of the state as it is: computed once per change.
    pub fn snapshot(&mut self) -> Arc<Snapshot> {
        if let Some(s) = &self.cached {
            return Arc::clone(s);
        }
        self.seq += 1;
        let state = snapshot::State {
            seq: self.seq,
            train: &self.train,
            world: &self.world,
            holds: &self.holds,
            readonly: self.readonly,
            in_flight: self.in_flight(),
            mine_in_flight: self.mine.len(),
            unfinished: &self.unfinished,
            sources_of: &self.sources_of,
            insecure_http: &self.insecure_http,
            team: &self.team,
        };
        let (lanes, blockers) = self.lanes.judge(&state, self.now);
        let snap = Arc::new(Snapshot::assemble(state, self.now, lanes, blockers));
        self.cached = Some(Arc::clone(&snap));
        snap
    }

    /// Every action in flight: other trainyards', then this one's.
    fn in_flight(&self) -> BTreeMap<CellKey, InFlight> {
        let mut all = self.others.clone();
        for ((k, _), f) in &self.mine {
            one_a_cell(&mut all, k.clone(), f.clone());
        }
        all
    }

    fn on_report(&mut self, report: SourceReport) -> Vec<Event> {
        let name = report.source.clone();
        let at = report.at.max(self.now);
        self.now = at;
        let was_ok = self.world.source(&name).map(|s| s.ok);
        let failed = report.outcome.as_ref().err().cloned();
        let first = failed.is_none() && self.seen.insert(name.clone());
        let changes = Arc::make_mut(&mut self.world).apply(report);
        let mut out = Vec::new();
        match (was_ok, failed) {
            (Some(true), Some(e)) => out.push(events::source_failed(at, &name, &e)),
            (Some(false), None) if !first => out.push(events::source_back(at, &name)),
            _ => {}
        }
        if !first {
            // Each change links the run or deployment that made it, as the cell has it now.
            out.extend(changes.iter().map(|ch| {
                let url = self.world.cell(&ch.key.lane, &ch.key.stage);
                events::cell_changed(at, ch).with_url(url.and_then(|c| c.url.clone()))
            }));
        }
        if self.poller {
            out.extend(self.auto_pause());
        }
        out
    }

    /// `auto_pause`: the pauses `trainyard-auto` makes now (ops::auto), sent like a person's;
    /// read-only, it only says what it would have done.
    fn auto_pause(&mut self) -> Vec<Event> {
        let found = self
            .auto
            .step(&self.train, &self.world, &self.holds, self.now);
        let mut out = Vec::new();
        for a in found {
            if self.readonly {
                out.push(events::auto_pause(self.now, &a.plan, &a.why, true));
                continue;
            }
            if availability::busy(&self.in_flight(), &a.plan.action).is_some() {
                // Not acted on: the breach is still to act on when the cell is free.
                self.auto.forget(&a.breach);
                continue;
            }
            out.push(events::auto_pause(self.now, &a.plan, &a.why, false));
            self.start(a.plan);
        }
        out
    }

    fn on_ledger(&mut self, l: Ledger) -> Vec<Event> {
        // Who and why tell one hold from another; the time is written to the millisecond by
        // the log, to the second by this process.
        let same = |a: Option<&crate::model::LaneHold>, b: Option<&crate::model::LaneHold>| {
            a.map(|h| (&h.by, &h.reason)) == b.map(|h| (&h.by, &h.reason))
        };
        let mut out = Vec::new();
        if !same(l.holds.halt.as_ref(), self.holds.halt.as_ref()) {
            out.push(events::halt_changed(self.now, l.holds.halt.as_ref()));
        }
        let lanes: BTreeSet<&String> = l
            .holds
            .lanes
            .keys()
            .chain(self.holds.lanes.keys())
            .collect();
        for lane in lanes {
            let (now, before) = (l.holds.lanes.get(lane), self.holds.lanes.get(lane));
            if !same(now, before) {
                out.push(events::hold_changed(self.now, lane, now));
            }
        }
        self.auto.learn(&self.train, &l.auto_pauses, self.now);
        match (&self.team.problem, &l.team.problem) {
            (None, Some(p)) => out.push(events::warning(
                self.now,
                &format!("{p}: actions are refused until it answers; the train is still shown"),
            )),
            (Some(_), None) => out.push(events::store_back(self.now, l.team.shared.as_deref())),
            _ => {}
        }
        self.team = l.team;
        self.holds = l.holds;
        // Not this trainyard's own (the ledger reads them too).
        self.others = BTreeMap::new();
        for (k, f) in l.in_flight {
            if !self.mine.contains_key(&(k.clone(), f.kind)) {
                one_a_cell(&mut self.others, k, f);
            }
        }
        out
    }

    /// Mark a plan in flight and queue it for the runner.
    fn start(&mut self, plan: Plan) {
        let a = &plan.action;
        let f = InFlight {
            kind: a.kind,
            actor: a.actor.clone().unwrap_or_else(|| self.actor.clone()),
            since: self.now,
            status: "sent".into(),
            mine: true,
        };
        self.mine.insert((a.key(), a.kind), f);
        self.execute.push(plan);
    }

    fn submit(&mut self, plan: Plan) -> Vec<Event> {
        if let Some(why) = availability::busy(&self.in_flight(), &plan.action) {
            return vec![events::action_refused(self.now, &plan, &why)];
        }
        let e = events::action_sent(self.now, &plan);
        self.start(plan);
        vec![e]
    }

    fn on_done(&mut self, plan: Plan, outcome: Outcome) -> Vec<Event> {
        let a = &plan.action;
        self.mine.remove(&(a.key(), a.kind));
        if let Some(rules) = &mut self.notify {
            rules.action_ended(&plan, &outcome, self.now);
        }
        if let Outcome::Done(_) = outcome {
            let by = a.actor.clone().unwrap_or_else(|| self.actor.clone());
            crate::ops::apply_hold(&mut self.holds, a, &by, self.now);
        }
        // A cell action: look again now. Holds and the halt are trainyard's own.
        if let Some(s) = self.sources_of.get(&a.key()) {
            self.poll_now.push(s.clone());
        }
        vec![events::action_done(self.now, &plan, &outcome)]
    }
}

/// What a cell shows of the actions in flight on it: of an abort and the promote or rollback it
/// stops, the abort (it is what refuses everything else on the cell, [`ActionKind::stops`]).
fn one_a_cell(map: &mut BTreeMap<CellKey, InFlight>, key: CellKey, f: InFlight) {
    if map.get(&key).is_none_or(|was| !was.kind.goes_beside()) {
        map.insert(key, f);
    }
}

#[cfg(test)]
mod tests;
