//! App state and update: messages in, commands out. Nothing here draws or does IO.

use std::collections::{BTreeMap, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::{self, Command};
use crate::model::policy::{self, Verdict};
use crate::model::world::Change;
use crate::model::{
    ActionKind, Cell, CellKey, CellState, Holds, SourceReport, Timestamp, Train, World,
};
use crate::ops::{self, Action, Confirm, Outcome, Plan};

/// How many activity entries to keep.
const ACTIVITY_KEEP: usize = 500;
/// How long a flash message stays in the footer, in seconds.
const FLASH_SECS: i64 = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Lanes,
    Blockers,
    Metrics,
    Activity,
}

impl Panel {
    const ORDER: [Panel; 4] = [
        Panel::Lanes,
        Panel::Blockers,
        Panel::Metrics,
        Panel::Activity,
    ];

    fn step(self, forward: bool) -> Panel {
        let i = Panel::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        let n = Panel::ORDER.len();
        Panel::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// What the body of the screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The lanes matrix and the panels.
    Train,
    /// Charts of the selected cell's metrics and the overview of one metric across the train.
    Metrics,
}

/// What has the focus in the confirmation dialog. Cancel is where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Reason,
    Name,
    Cancel,
    Go,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmDialog {
    pub plan: Plan,
    pub source: Option<String>,
    /// Why: required for halt, unhalt and forcing a blocked action; optional otherwise.
    pub reason: String,
    /// The lane's name, typed, where the action asks for it.
    pub typed: String,
    pub focus: Field,
}

impl ConfirmDialog {
    pub fn new(plan: Plan, source: Option<String>) -> Self {
        ConfirmDialog {
            plan,
            source,
            reason: String::new(),
            typed: String::new(),
            focus: Field::Cancel,
        }
    }

    /// The fields Tab moves through, in order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = vec![Field::Reason];
        if matches!(self.plan.confirm, Confirm::TypeName(_)) {
            f.push(Field::Name);
        }
        f.extend([Field::Cancel, Field::Go]);
        f
    }

    /// Policy blocks it: the Go button forces it, and needs a reason.
    pub fn forcing(&self) -> bool {
        !self.plan.allowed()
    }

    pub fn reason_needed(&self) -> bool {
        self.forcing() || matches!(self.plan.action.kind, ActionKind::Halt | ActionKind::Unhalt)
    }

    /// What still stands before Go does anything, in words; `None` when it can go.
    pub fn missing(&self) -> Option<String> {
        if self.forcing()
            && let Some(b) = self.plan.blockers.iter().find(|b| {
                matches!(
                    b.kind,
                    crate::model::BlockerKind::Halt | crate::model::BlockerKind::Hold
                )
            })
        {
            let undo = if b.kind == crate::model::BlockerKind::Halt {
                "unhalt (H)"
            } else {
                "resume the lane (s)"
            };
            return Some(format!(
                "a {} can't be forced: {undo} first",
                b.kind.as_str()
            ));
        }
        if self.reason_needed() && self.reason.trim().is_empty() {
            return Some(if self.forcing() {
                "blocked by policy: to force it, give a reason".into()
            } else {
                format!("{} needs a reason", self.plan.action.kind)
            });
        }
        if let Confirm::TypeName(name) = &self.plan.confirm
            && &self.typed != name
        {
            return Some(format!("type the lane's name ({name}) to confirm"));
        }
        None
    }

    /// The action as it will go: with the reason, forced when blocked.
    pub fn final_action(&self) -> Action {
        let mut a = self.plan.action.clone();
        let reason = self.reason.trim();
        a.reason = (!reason.is_empty()).then(|| reason.to_string());
        a.force = self.forcing();
        a
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Popup {
    Details,
    Help,
    Confirm(Box<ConfirmDialog>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Bad,
    Action,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub at: Timestamp,
    pub tone: Tone,
    pub text: String,
    /// The command-line twin of an action taken in the TUI.
    pub command: Option<String>,
}

/// An action on its way: sent, and not yet verified, rejected or timed out. No second action
/// goes to the same cell meanwhile.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlight {
    pub kind: ActionKind,
    pub since: Timestamp,
    /// The latest word from the runner ("accepted", "running 45%").
    pub status: String,
}

/// What the app asks the outside world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Execute(Box<Plan>),
    PollNow(String),
    Quit,
}

/// What reaches the app.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Tick(Timestamp),
    Report(SourceReport),
    /// What the audit log says now (read every few seconds): holds and the halt, and actions
    /// in flight, including other trainyards' on this host.
    Ledger {
        holds: Holds,
        in_flight: Vec<(CellKey, ActionKind, String)>,
    },
    /// Something the user must know that is no one cell's: shown in the activity.
    Warning(String),
    /// What the runner says on the way (sent, accepted, the cell moving).
    ActionProgress {
        key: CellKey,
        text: String,
    },
    ActionDone {
        plan: Box<Plan>,
        outcome: Outcome,
    },
    Resize,
}

pub struct App {
    pub train: Train,
    pub world: World,
    pub holds: Holds,
    pub now: Timestamp,
    pub readonly: bool,
    /// Which source each lane × stage reads from (for dialogs and "poll now").
    pub sources_of: BTreeMap<CellKey, String>,
    pub sel_lane: usize,
    pub sel_stage: usize,
    pub view: View,
    /// The metric the overview shows, by name (`[` / `]` pick it); `None` or a name the stage
    /// doesn't have: its first metric.
    pub chosen_metric: Option<String>,
    pub focus: Panel,
    pub popup: Option<Popup>,
    pub filter: String,
    pub filter_editing: bool,
    pub activity: VecDeque<Activity>,
    pub flash: Option<(String, Tone, Timestamp)>,
    pub inflight: BTreeMap<CellKey, InFlight>,
    /// Actions in flight from other trainyard processes (the CLI, a colleague's TUI): kind and
    /// actor.
    pub others: BTreeMap<CellKey, (ActionKind, String)>,
    pub blockers_scroll: usize,
    pub activity_scroll: usize,
    /// Scroll of the details or help popup.
    pub popup_scroll: usize,
    pub quit: bool,
    /// Breaches `auto_pause` acted on (ops::auto).
    pub auto: ops::auto::AutoPause,
    /// Sources allowed to talk plain http:// off this host (`allow_insecure_http`): the
    /// header says so.
    pub insecure_http: Vec<String>,
    /// `q` was pressed once with actions in flight: a second `q` quits.
    quit_armed: bool,
    /// Sources that have delivered at least once (their first report is not news).
    seen: std::collections::BTreeSet<String>,
}

impl App {
    pub fn new(
        train: Train,
        world: World,
        now: Timestamp,
        readonly: bool,
        sources_of: BTreeMap<CellKey, String>,
    ) -> App {
        App {
            train,
            world,
            holds: Holds::default(),
            now,
            readonly,
            sources_of,
            sel_lane: 0,
            sel_stage: 0,
            view: View::Train,
            chosen_metric: None,
            focus: Panel::Lanes,
            popup: None,
            filter: String::new(),
            filter_editing: false,
            activity: VecDeque::new(),
            flash: None,
            inflight: BTreeMap::new(),
            others: BTreeMap::new(),
            blockers_scroll: 0,
            activity_scroll: 0,
            popup_scroll: 0,
            quit: false,
            auto: ops::auto::AutoPause::default(),
            quit_armed: false,
            seen: Default::default(),
            insecure_http: Vec::new(),
        }
    }

    /// Lane indexes shown, after the filter.
    pub fn visible_lanes(&self) -> Vec<usize> {
        let f = self.filter.to_lowercase();
        self.train
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                f.is_empty()
                    || l.name.to_lowercase().contains(&f)
                    || l.team.to_lowercase().contains(&f)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The selected lane's index in the train, if any lane is visible.
    pub fn selected_lane(&self) -> Option<usize> {
        self.visible_lanes().get(self.sel_lane).copied()
    }

    pub fn selected_key(&self) -> Option<CellKey> {
        let lane = &self.train.lanes[self.selected_lane()?];
        Some(CellKey::new(&lane.name, &self.train.stages[self.sel_stage]))
    }

    pub fn selected_cell(&self) -> Option<&Cell> {
        let k = self.selected_key()?;
        self.world.cell(&k.lane, &k.stage)
    }

    /// The metrics of the selected lane at the selected stage (none without a selection).
    pub fn selected_metrics(&self) -> &[crate::model::Metric] {
        match self.selected_key() {
            Some(k) => self.world.metrics(&k.lane, &k.stage),
            None => &[],
        }
    }

    /// The names of the metrics at the selected stage: the selected cell's first (in its
    /// order), then those only other visible lanes have, in train order.
    pub fn metric_names(&self) -> Vec<String> {
        let stage = &self.train.stages[self.sel_stage];
        let mut lanes = self.visible_lanes();
        if let Some(i) = self.selected_lane() {
            lanes.retain(|l| *l != i);
            lanes.insert(0, i);
        }
        let mut names: Vec<String> = Vec::new();
        for i in lanes {
            for m in self.world.metrics(&self.train.lanes[i].name, stage) {
                if !names.contains(&m.name) {
                    names.push(m.name.clone());
                }
            }
        }
        names
    }

    /// The metric the overview shows: the chosen one if the stage has it, else its first.
    pub fn chosen_metric(&self) -> Option<String> {
        let names = self.metric_names();
        self.chosen_metric
            .as_ref()
            .filter(|c| names.contains(c))
            .cloned()
            .or_else(|| names.into_iter().next())
    }

    fn step_metric(&mut self, forward: bool) {
        if self.view != View::Metrics {
            let m = keymap::label(Command::MetricsView);
            self.flash(
                format!("[ and ] pick the metric of the metrics view: press {m} to open it"),
                Tone::Info,
            );
            return;
        }
        let names = self.metric_names();
        if names.is_empty() {
            return;
        }
        let n = names.len();
        let at = self
            .chosen_metric()
            .and_then(|c| names.iter().position(|x| *x == c))
            .unwrap_or(0);
        let next = if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        };
        self.chosen_metric = Some(names[next].clone());
    }

    /// What stands in the way of the selected cell's version moving on to the next stage.
    pub fn selected_next_verdict(&self) -> Option<Verdict> {
        let lane = &self.train.lanes[self.selected_lane()?];
        let next = self.sel_stage + 1;
        (next < self.train.stages.len())
            .then(|| policy::verdict(&self.train, &self.world, &self.holds, self.now, lane, next))
    }

    pub fn blockers(&self) -> Vec<crate::model::Blocker> {
        let mut all = policy::blockers(&self.train, &self.world, &self.holds, self.now);
        // The selected lane's blockers first.
        if let Some(i) = self.selected_lane() {
            let name = &self.train.lanes[i].name;
            all.sort_by_key(|b| &b.lane != name);
        }
        all
    }

    fn flash(&mut self, text: impl Into<String>, tone: Tone) {
        self.flash = Some((text.into(), tone, self.now));
    }

    /// Actions of an earlier run whose end nobody saw (ops::run::unfinished): in the activity,
    /// and said in the footer, so that the user checks them at their source.
    pub fn note_unfinished(&mut self, unfinished: Vec<String>) {
        let n = unfinished.len();
        for u in unfinished {
            self.log(
                Tone::Bad,
                format!("UNFINISHED from an earlier run: {u}"),
                None,
            );
        }
        if n > 0 {
            self.flash(
                format!("{n} unfinished action(s) from an earlier run: see Activity, check them at their source"),
                Tone::Bad,
            );
        }
    }

    fn log(&mut self, tone: Tone, text: String, command: Option<String>) {
        self.activity.push_front(Activity {
            at: self.now,
            tone,
            text,
            command,
        });
        self.activity.truncate(ACTIVITY_KEEP);
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Tick(now) => {
                self.now = now;
                if self
                    .flash
                    .as_ref()
                    .is_some_and(|(_, _, at)| (now - *at).num_seconds() >= FLASH_SECS)
                {
                    self.flash = None;
                }
                vec![]
            }
            Msg::Resize => vec![],
            Msg::Report(report) => self.on_report(report),
            Msg::Ledger { holds, in_flight } => {
                if holds.halt != self.holds.halt {
                    match &holds.halt {
                        Some(h) => self.log(
                            Tone::Bad,
                            format!("the train was halted by {}: {}", h.by, h.reason),
                            None,
                        ),
                        None => self.log(Tone::Good, "the train was unhalted".into(), None),
                    }
                }
                self.holds = holds;
                self.others = in_flight
                    .into_iter()
                    .filter(|(k, _, _)| !self.inflight.contains_key(k))
                    .map(|(k, kind, actor)| (k, (kind, actor)))
                    .collect();
                vec![]
            }
            Msg::Warning(text) => {
                self.log(Tone::Bad, text.clone(), None);
                self.flash(text, Tone::Bad);
                vec![]
            }
            Msg::ActionProgress { key, text } => {
                if let Some(f) = self.inflight.get_mut(&key) {
                    f.status = text.clone();
                    let what = format!("{} {}", f.kind, key);
                    self.log(Tone::Info, format!("{what}: {text}"), None);
                }
                vec![]
            }
            Msg::ActionDone { plan, outcome } => self.on_action_done(*plan, outcome),
            Msg::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return vec![];
                }
                self.on_key(key)
            }
        }
    }

    fn on_report(&mut self, report: SourceReport) -> Vec<Cmd> {
        let name = report.source.clone();
        let was_ok = self.world.source(&name).map(|s| s.ok);
        let failed = report.outcome.as_ref().err().cloned();
        // A source's first good report is the starting picture, not news.
        let first = failed.is_none() && self.seen.insert(name.clone());
        let changes = self.world.apply(report);
        match (was_ok, failed) {
            (Some(true), Some(e)) => self.log(
                Tone::Bad,
                format!("source {name} failed: {e} (showing last good data)"),
                None,
            ),
            (Some(false), None) if self.seen.contains(&name) && !first => {
                self.log(Tone::Good, format!("source {name} is back"), None)
            }
            _ => {}
        }
        if !first {
            for ch in changes {
                self.log_change(ch);
            }
        }
        self.auto_pause()
    }

    /// `auto_pause`: the pauses `trainyard-auto` makes now (ops::auto), sent like a person's;
    /// read-only, it only says what it would have done.
    fn auto_pause(&mut self) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        let found = self
            .auto
            .step(&self.train, &self.world, &self.holds, self.now);
        for a in found {
            let what = a.plan.action.describe();
            if self.readonly {
                self.log(
                    Tone::Bad,
                    format!(
                        "{}: would {what} ({}); read-only, nothing done",
                        ops::auto::ACTOR,
                        a.why
                    ),
                    None,
                );
                continue;
            }
            let key = a.plan.action.key();
            if self.inflight.contains_key(&key) || self.others.contains_key(&key) {
                continue;
            }
            self.inflight.insert(
                key,
                InFlight {
                    kind: a.plan.action.kind,
                    since: self.now,
                    status: "sent".into(),
                },
            );
            self.log(
                Tone::Action,
                format!("{}: {what}: {}", ops::auto::ACTOR, a.why),
                None,
            );
            self.flash(format!("{}: {what}", ops::auto::ACTOR), Tone::Bad);
            cmds.push(Cmd::Execute(Box::new(a.plan)));
        }
        cmds
    }

    fn log_change(&mut self, ch: Change) {
        let (version, state) = ch.after;
        let v = version
            .as_deref()
            .map(crate::model::cell::short_version)
            .unwrap_or_default();
        let tone = match state {
            CellState::Succeeded => Tone::Good,
            CellState::Failed | CellState::RolledBack | CellState::Cancelled => Tone::Bad,
            _ => Tone::Info,
        };
        let new_version = ch.before.as_ref().is_none_or(|(bv, _)| *bv != version);
        let text = if new_version && state.is_active() {
            format!(
                "{} {}: {} {} started",
                ch.key.lane,
                ch.key.stage,
                v,
                state.words()
            )
        } else {
            format!(
                "{} {}: {} {} {}",
                ch.key.lane,
                ch.key.stage,
                state.glyph(),
                v,
                state.words()
            )
        };
        self.log(tone, text, None);
    }

    fn on_action_done(&mut self, plan: Plan, outcome: Outcome) -> Vec<Cmd> {
        let a = &plan.action;
        self.inflight.remove(&a.key());
        let forced = if plan.forced() { " FORCED" } else { "" };
        let what = format!("{}{forced}", a.describe());
        let cmd = Some(a.command_line());
        let (tone, text) = match &outcome {
            Outcome::Done(m) => {
                ops::apply_hold(
                    &mut self.holds,
                    a,
                    a.actor.as_deref().unwrap_or("you"),
                    self.now,
                );
                (Tone::Good, format!("✓ {what}: done: {m}"))
            }
            Outcome::TimedOut(m) => (Tone::Bad, format!("TIMEOUT {what}: {m}")),
            Outcome::DryRun(m) => (Tone::Info, format!("{what}: dry run: {m}")),
            other => (
                Tone::Bad,
                format!("✗ {what}: {}: {}", other.word(), other.message()),
            ),
        };
        self.log(tone, text.clone(), cmd);
        self.flash(text, tone);
        // Holds and the halt are ours; a cell action: look again now.
        self.sources_of
            .get(&a.key())
            .cloned()
            .map(Cmd::PollNow)
            .into_iter()
            .collect()
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return vec![Cmd::Quit];
        }
        match self.popup.take() {
            Some(Popup::Confirm(d)) => return self.on_confirm_key(*d, key),
            Some(p @ (Popup::Details | Popup::Help)) => {
                match keymap::command_for(key) {
                    Some(Command::Back | Command::Details | Command::Help) => {}
                    Some(Command::Up) => {
                        self.popup_scroll = self.popup_scroll.saturating_sub(1);
                        self.popup = Some(p);
                    }
                    Some(Command::PageUp) => {
                        self.popup_scroll = self.popup_scroll.saturating_sub(10);
                        self.popup = Some(p);
                    }
                    // Drawing clamps the scroll to what there is to see.
                    Some(Command::Down) => {
                        self.popup_scroll = (self.popup_scroll + 1).min(200);
                        self.popup = Some(p);
                    }
                    Some(Command::PageDown) => {
                        self.popup_scroll = (self.popup_scroll + 10).min(200);
                        self.popup = Some(p);
                    }
                    Some(Command::Quit) => {
                        self.quit = true;
                        return vec![Cmd::Quit];
                    }
                    // Actions work from the details popup too.
                    Some(
                        c @ (Command::Promote
                        | Command::PauseResume
                        | Command::Rollback
                        | Command::Approve
                        | Command::Reject),
                    ) if p == Popup::Details => {
                        return self.on_command(c);
                    }
                    _ => self.popup = Some(p),
                }
                return vec![];
            }
            None => {}
        }
        if self.filter_editing {
            match key.code {
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Esc => {
                    self.filter_editing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() => self.filter.push(c),
                _ => {}
            }
            self.sel_lane = 0;
            return vec![];
        }
        match keymap::command_for(key) {
            Some(c) => self.on_command(c),
            None => vec![],
        }
    }

    fn move_lane(&mut self, delta: isize) {
        let n = self.visible_lanes().len();
        if n == 0 {
            return;
        }
        self.sel_lane = (self.sel_lane as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    fn scroll(&mut self, delta: isize) {
        let (target, len) = match self.focus {
            Panel::Blockers => {
                let len = self.blockers().len();
                (&mut self.blockers_scroll, len)
            }
            Panel::Activity => (&mut self.activity_scroll, self.activity.len()),
            _ => return,
        };
        *target = (*target as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize;
    }

    fn on_command(&mut self, c: Command) -> Vec<Cmd> {
        // In the metrics view the lanes are what moves: the charts follow the selection.
        let lanes_focus =
            matches!(self.focus, Panel::Lanes | Panel::Metrics) || self.view == View::Metrics;
        let in_view = self.view == View::Metrics;
        if c != Command::Quit {
            self.quit_armed = false;
        }
        match c {
            Command::Quit => {
                if !self.inflight.is_empty() && !self.quit_armed {
                    self.quit_armed = true;
                    self.flash(
                        format!(
                            "{} action(s) still in flight: q again to quit (they are recorded as not verified)",
                            self.inflight.len()
                        ),
                        Tone::Bad,
                    );
                    return vec![];
                }
                self.quit = true;
                return vec![Cmd::Quit];
            }
            Command::Up if lanes_focus => self.move_lane(-1),
            Command::Down if lanes_focus => self.move_lane(1),
            Command::Up => self.scroll(-1),
            Command::Down => self.scroll(1),
            Command::PageUp if lanes_focus => self.move_lane(-10),
            Command::PageDown if lanes_focus => self.move_lane(10),
            Command::PageUp => self.scroll(-10),
            Command::PageDown => self.scroll(10),
            Command::Top => self.move_lane(isize::MIN / 2),
            Command::Bottom => self.move_lane(isize::MAX / 2),
            Command::Left => self.sel_stage = self.sel_stage.saturating_sub(1),
            Command::Right => {
                self.sel_stage = (self.sel_stage + 1).min(self.train.stages.len() - 1)
            }
            // No panels in the metrics view: Tab moves through the metrics there.
            Command::NextPanel if in_view => self.step_metric(true),
            Command::PrevPanel if in_view => self.step_metric(false),
            Command::NextPanel => self.focus = self.focus.step(true),
            Command::PrevPanel => self.focus = self.focus.step(false),
            Command::MetricsView => {
                self.view = if in_view { View::Train } else { View::Metrics };
            }
            Command::PrevMetric => self.step_metric(false),
            Command::NextMetric => self.step_metric(true),
            Command::Details => {
                if self.selected_lane().is_some() {
                    self.popup_scroll = 0;
                    self.popup = Some(Popup::Details);
                }
            }
            Command::Help => {
                self.popup_scroll = 0;
                self.popup = Some(Popup::Help);
            }
            Command::Filter => {
                self.filter_editing = true;
            }
            Command::Back => {
                if in_view {
                    self.view = View::Train;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.sel_lane = 0;
                } else {
                    self.focus = Panel::Lanes;
                }
            }
            Command::Promote => self.start_action(ActionKind::Promote),
            Command::Rollback => self.start_action(ActionKind::Rollback),
            Command::Approve => self.start_action(ActionKind::Approve),
            Command::Reject => self.start_action(ActionKind::Reject),
            Command::PauseResume => {
                let kind = if self
                    .selected_cell()
                    .is_some_and(|c| c.state == CellState::Paused)
                {
                    ActionKind::Resume
                } else {
                    ActionKind::Pause
                };
                self.start_action(kind);
            }
            Command::Halt => {
                let kind = if self.holds.halt.is_some() {
                    ActionKind::Unhalt
                } else {
                    ActionKind::Halt
                };
                self.start_action(kind);
            }
        }
        vec![]
    }

    /// Whether an action key does something on the selected cell right now (for the footer):
    /// the same state rules as the preflight, without the policy.
    pub fn applies(&self, c: Command) -> bool {
        let cell = self.selected_cell();
        let has = |states: &[CellState]| cell.is_some_and(|c| states.contains(&c.state));
        match c {
            Command::Promote => {
                self.sel_stage + 1 < self.train.stages.len()
                    && cell.is_some_and(|c| c.version.is_some())
            }
            // On a running or paused cell `s` pauses or resumes it; on any other, it holds
            // (or releases) the whole lane.
            Command::PauseResume => self.selected_lane().is_some(),
            Command::Rollback => cell.is_some_and(|c| c.last_good().is_some()),
            Command::Approve | Command::Reject => has(&[CellState::AwaitingApproval]),
            _ => true,
        }
    }

    /// What `s` does on the selected cell: pause or resume its rollout, or hold or release
    /// the lane.
    pub fn pause_word(&self) -> &'static str {
        match self.selected_cell().map(|c| c.state) {
            Some(CellState::Running | CellState::RollingBack) => "pause",
            Some(CellState::Paused) => "resume",
            _ => match self.selected_key() {
                Some(k) if self.holds.lanes.contains_key(&k.lane) => "release",
                _ => "hold lane",
            },
        }
    }

    /// The action a key asks for on the selected cell.
    fn action_for(&self, kind: ActionKind) -> Result<Action, String> {
        if matches!(kind, ActionKind::Halt | ActionKind::Unhalt) {
            return Ok(Action::train(kind, None));
        }
        let key = self.selected_key().ok_or("no lane selected")?;
        let cell = self.selected_cell();
        let moving = cell.is_some_and(|c| {
            matches!(
                c.state,
                CellState::Running | CellState::RollingBack | CellState::Paused
            )
        });
        let stage = match kind {
            ActionKind::Promote => {
                let next = self.sel_stage + 1;
                if next >= self.train.stages.len() {
                    return Err(format!(
                        "{} is the last stage: select an earlier stage to promote from",
                        key.stage
                    ));
                }
                self.train.stages[next].clone()
            }
            // Nothing moving in the cell: pause holds the lane, resume releases it.
            ActionKind::Pause | ActionKind::Resume if !moving => {
                let held = self.holds.lanes.contains_key(&key.lane);
                let kind = if held {
                    ActionKind::Resume
                } else {
                    ActionKind::Pause
                };
                return Ok(Action::lane(kind, &key.lane));
            }
            _ => key.stage.clone(),
        };
        Ok(Action::new(kind, &key.lane, &stage))
    }

    fn start_action(&mut self, kind: ActionKind) {
        if self.readonly {
            self.flash(
                format!("read-only: {kind} is disabled (started with --readonly)"),
                Tone::Bad,
            );
            return;
        }
        let action = match self.action_for(kind) {
            Ok(a) => a,
            Err(e) => return self.flash(e, Tone::Bad),
        };
        if let Some((kind, actor)) = self.others.get(&action.key()) {
            return self.flash(
                format!(
                    "{} already has a {kind} in flight by {actor}: wait for it to finish",
                    action.describe()
                ),
                Tone::Bad,
            );
        }
        if let Some(f) = self.inflight.get(&action.key()) {
            return self.flash(
                format!(
                    "{} already has a {} in flight ({}): wait for it to finish",
                    action.describe(),
                    f.kind,
                    f.status
                ),
                Tone::Bad,
            );
        }
        match ops::preflight(action, &self.train, &self.world, &self.holds, self.now) {
            Ok(plan) => {
                let source = self.sources_of.get(&plan.action.key()).cloned();
                self.popup = Some(Popup::Confirm(Box::new(ConfirmDialog::new(plan, source))));
            }
            Err(e) => self.flash(e, Tone::Bad),
        }
    }

    fn on_confirm_key(&mut self, mut d: ConfirmDialog, key: KeyEvent) -> Vec<Cmd> {
        let cancel = |app: &mut App, d: &ConfirmDialog| {
            app.flash(
                format!("{} cancelled", d.plan.action.describe()),
                Tone::Info,
            );
            vec![]
        };
        let fields = d.fields();
        let at = fields.iter().position(|f| *f == d.focus).unwrap_or(0);
        let editing = matches!(d.focus, Field::Reason | Field::Name);
        match key.code {
            KeyCode::Esc => return cancel(self, &d),
            KeyCode::Tab => d.focus = fields[(at + 1) % fields.len()],
            KeyCode::BackTab => d.focus = fields[(at + fields.len() - 1) % fields.len()],
            KeyCode::Left | KeyCode::Right if !editing => {
                d.focus = if d.focus == Field::Cancel {
                    Field::Go
                } else {
                    Field::Cancel
                };
            }
            // ↑↓ pick another good version to roll back to.
            KeyCode::Up | KeyCode::Down if !d.plan.choices.is_empty() => {
                let n = d.plan.choices.len();
                let cur = d
                    .plan
                    .choices
                    .iter()
                    .position(|h| Some(&h.version) == d.plan.to_version.as_ref())
                    .unwrap_or(0);
                let next = if key.code == KeyCode::Down {
                    (cur + 1) % n
                } else {
                    (cur + n - 1) % n
                };
                let mut action = d.plan.action.clone();
                action.version = Some(d.plan.choices[next].version.clone());
                match ops::preflight(action, &self.train, &self.world, &self.holds, self.now) {
                    Ok(p) => d.plan = p,
                    Err(e) => self.flash(e, Tone::Bad),
                }
            }
            KeyCode::Enter if d.focus == Field::Cancel => return cancel(self, &d),
            KeyCode::Enter if editing => d.focus = fields[(at + 1) % fields.len()],
            KeyCode::Enter => return self.confirm(d),
            KeyCode::Backspace if editing => {
                let text = if d.focus == Field::Reason {
                    &mut d.reason
                } else {
                    &mut d.typed
                };
                text.pop();
            }
            KeyCode::Char(c) if editing && !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let text = if d.focus == Field::Reason {
                    &mut d.reason
                } else {
                    &mut d.typed
                };
                if text.chars().count() < 200 {
                    text.push(c);
                }
            }
            KeyCode::Char('q') => return cancel(self, &d),
            _ => {}
        }
        self.popup = Some(Popup::Confirm(Box::new(d)));
        vec![]
    }

    /// Go pressed: check what is missing, check the train again, and send.
    fn confirm(&mut self, mut d: ConfirmDialog) -> Vec<Cmd> {
        if let Some(missing) = d.missing() {
            self.flash(format!("not sent: {missing}"), Tone::Bad);
            self.popup = Some(Popup::Confirm(Box::new(d)));
            return vec![];
        }
        // The train may have moved while the dialog was open: check again, and send only
        // what the user saw.
        let fresh = ops::preflight(
            d.plan.action.clone(),
            &self.train,
            &self.world,
            &self.holds,
            self.now,
        );
        let mut plan = match fresh {
            Err(e) => {
                self.flash(format!("not sent: the train moved: {e}"), Tone::Bad);
                return vec![];
            }
            Ok(p)
                if p.to_version != d.plan.to_version
                    || blocker_kinds(&p) != blocker_kinds(&d.plan) =>
            {
                d.plan = p;
                d.focus = Field::Cancel;
                self.flash(
                    "not sent: the train moved; check the dialog again",
                    Tone::Bad,
                );
                self.popup = Some(Popup::Confirm(Box::new(d)));
                return vec![];
            }
            Ok(p) => p,
        };
        plan.action = d.final_action();
        let key = plan.action.key();
        self.inflight.insert(
            key,
            InFlight {
                kind: plan.action.kind,
                since: self.now,
                status: "sent".into(),
            },
        );
        let forced = if plan.forced() { " (FORCED)" } else { "" };
        self.log(
            Tone::Action,
            format!("{}{forced}: {}", plan.action.describe(), plan.summary),
            None,
        );
        vec![Cmd::Execute(Box::new(plan))]
    }
}

/// The kinds of what blocks a plan: a new kind appearing while the dialog is open means the
/// user has not seen it (messages alone change every second: "12m of 30m").
fn blocker_kinds(p: &Plan) -> std::collections::BTreeSet<crate::model::BlockerKind> {
    p.blockers.iter().map(|b| b.kind).collect()
}

#[cfg(test)]
mod auto_tests;
#[cfg(test)]
mod tests;
