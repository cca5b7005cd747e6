//! App state and update: messages in, commands out. Nothing here draws, does IO or judges the
//! train: the engine's snapshot says what blocks, what each key would do, what is in flight.
//! The popups own their keys (`confirm`, `popups`).

use std::collections::VecDeque;
use std::sync::Arc;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::confirm::ConfirmDialog;
use super::jump::Prompt;
use super::keymap::{self, Command, Keymap, Mode};
use super::memo::{Memo, Widest};
use super::rows::{Census, Options, Picked, Row, reselect, rows};
use crate::engine::snapshot::{CellView, MetricView};
use crate::engine::{Event, Snapshot, Tone};
use crate::model::{ActionKind, Cell, CellKey, Metric, Timestamp};
use crate::ops::Plan;
use crate::ops::availability::Avail;

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

#[derive(Clone, Debug, PartialEq)]
pub enum Popup {
    Details,
    Help,
    Confirm(Box<ConfirmDialog>),
}

/// One line of the activity panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub at: Timestamp,
    pub tone: Tone,
    pub text: String,
    /// The command-line twin of an action taken in the TUI.
    pub command: Option<String>,
    /// The run or deployment it is about: the line links it.
    pub url: Option<String>,
}

/// What the app asks the outside world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    /// Send a confirmed plan (the engine refuses it if the cell is busy meanwhile).
    Submit(Box<Plan>),
    /// Bytes for the terminal itself, between frames: an OSC 52 copy, a notification, the
    /// bell (built by `osc`, never from payload text).
    Terminal(String),
    Quit,
}

/// What reaches the app.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The clock, for the footer's flashes.
    Tick(Timestamp),
    /// The engine's newest snapshot.
    Snapshot(Arc<Snapshot>),
    /// The engine's news (boxed: an event is large beside a key).
    Event(Box<Event>),
    Resize,
}

pub struct App {
    pub snap: Arc<Snapshot>,
    pub now: Timestamp,
    /// The selected row of the lanes panel (a lane, or a team's heading).
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
    pub blockers_scroll: usize,
    pub activity_scroll: usize,
    /// Scroll of the details or help popup.
    pub popup_scroll: usize,
    pub quit: bool,
    /// URLs are OSC 8 hyperlinks (`[ui] links`).
    pub links: bool,
    /// `q` was pressed once with actions in flight: a second `q` quits.
    pub(super) quit_armed: bool,
    /// The lanes shown (after the filter, the toggle and folding), by index in the train:
    /// kept with the rows, not recomputed per frame.
    visible: Vec<usize>,
    /// The lanes panel's rows: lanes, or team headings and their lanes; `sel_lane` is an
    /// index in them.
    pub(super) rows: Vec<Row>,
    /// Grouping by team, folded teams, the "busy only" toggle.
    pub lanes_opts: Options,
    /// Every lane's marks and the train's counts, once per snapshot.
    pub census: Census,
    /// The jump prompt, while it is open.
    pub jump: Option<Prompt>,
    /// How notices ring (`tui::notify`); by default they only reach the activity panel.
    pub notifier: super::notify::Notifier,
    /// The keys in force (`[keys]` over the table's): what the keys do and how the footer
    /// and the help write them.
    pub keys: Keymap,
    /// What the frames ask of the snapshot, answered once per snapshot and selection.
    pub(super) memo: Memo,
}

impl App {
    pub fn new(snap: Arc<Snapshot>) -> App {
        let mut app = App {
            now: snap.now,
            snap,
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
            blockers_scroll: 0,
            activity_scroll: 0,
            popup_scroll: 0,
            quit: false,
            links: true,
            quit_armed: false,
            visible: Vec::new(),
            rows: Vec::new(),
            lanes_opts: Options::default(),
            census: Census::default(),
            jump: None,
            notifier: super::notify::Notifier::off(),
            keys: Keymap::defaults(),
            memo: Memo::default(),
        };
        app.census = Census::of(&app.snap);
        app.refilter();
        app
    }

    /// The app with the keys of the config.
    pub fn with_keys(mut self, keys: Keymap) -> App {
        self.keys = keys;
        self
    }

    /// Where the keys go now.
    pub fn mode(&self) -> Mode {
        match &self.popup {
            Some(Popup::Details) => Mode::Details,
            Some(Popup::Help) => Mode::Help,
            Some(Popup::Confirm(_)) => Mode::Confirm,
            None if self.filter_editing => Mode::Filter,
            None if self.jump.is_some() => Mode::Jump,
            None => Mode::Main,
        }
    }

    /// The rows again after the filter, the toggle, folding or the snapshot changed; the
    /// selection stays on its lane (or heading) where that is still shown.
    pub(super) fn refilter(&mut self) {
        let picked = self.rows.get(self.sel_lane).map(Picked::of);
        self.rows = rows(
            &self.snap.train,
            &self.census,
            &self.filter,
            &self.lanes_opts,
        );
        self.visible = self
            .rows
            .iter()
            .filter_map(|r| match r {
                Row::Lane(i) => Some(*i),
                Row::Team(_) => None,
            })
            .collect();
        self.sel_lane = reselect(&self.snap.train, &self.rows, picked.as_ref(), self.sel_lane);
    }

    /// Filter the lanes by name or team.
    pub fn set_filter(&mut self, filter: impl Into<String>) {
        self.filter = filter.into();
        self.refilter();
    }

    /// Lane indexes shown, after the filter, the toggle and folding.
    pub fn visible_lanes(&self) -> &[usize] {
        &self.visible
    }

    /// The lanes panel's rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The selected lane's index in the train: none when no lane is shown or a team's
    /// heading is selected.
    pub fn selected_lane(&self) -> Option<usize> {
        match self.rows.get(self.sel_lane)? {
            Row::Lane(i) => Some(*i),
            Row::Team(_) => None,
        }
    }

    pub fn selected_key(&self) -> Option<CellKey> {
        let lane = &self.snap.train.lanes[self.selected_lane()?];
        Some(CellKey::new(
            &lane.name,
            &self.snap.train.stages[self.sel_stage],
        ))
    }

    pub fn selected_cell(&self) -> Option<&Cell> {
        let k = self.selected_key()?;
        self.snap.world.cell(&k.lane, &k.stage)
    }

    /// The engine's view of the selected cell.
    pub fn selected_view(&self) -> Option<&CellView> {
        self.snap.cell(self.selected_lane()?, self.sel_stage)
    }

    /// The metrics of the selected lane at the selected stage with their judgement (none
    /// without a selection).
    pub fn selected_metrics(&self) -> Vec<(&Metric, &MetricView)> {
        match self.selected_lane() {
            Some(li) => self.snap.metrics(li, self.sel_stage).collect(),
            None => Vec::new(),
        }
    }

    /// The names of the metrics at the selected stage: the selected cell's first (in its
    /// order), then those only other visible lanes have, in train order.
    pub fn metric_names(&self) -> Vec<String> {
        let stage = &self.snap.train.stages[self.sel_stage];
        let mut lanes = self.visible.clone();
        if let Some(i) = self.selected_lane() {
            lanes.retain(|l| *l != i);
            lanes.insert(0, i);
        }
        let mut names: Vec<String> = Vec::new();
        for i in lanes {
            for m in self
                .snap
                .world
                .metrics(&self.snap.train.lanes[i].name, stage)
            {
                if !names.iter().any(|n| **n == *m.name) {
                    names.push(m.name.to_string());
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
            let (prev, next, m) = (
                self.keys.label(Command::PrevMetric),
                self.keys.label(Command::NextMetric),
                self.keys.label(Command::MetricsView),
            );
            let text = format!(
                "{prev} and {next} pick the metric of the metrics view: press {m} to open it"
            );
            self.flash(text, Tone::Info);
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

    /// Every blocker of the train, the selected lane's first.
    pub fn blockers(&self) -> Vec<&crate::model::Blocker> {
        let mut all: Vec<_> = self.snap.blockers.iter().collect();
        if let Some(i) = self.selected_lane() {
            let name = &self.snap.train.lanes[i].name;
            all.sort_by_key(|b| &b.lane != name);
        }
        all
    }

    /// What an action key would do on the selected cell now: judged by the engine once per
    /// snapshot and selection, however many times the frames ask.
    pub fn avail(&self, c: Command) -> Option<Avail> {
        if c == Command::Halt {
            return Some(self.snap.halt.clone());
        }
        let kind = match c {
            Command::Promote => ActionKind::Promote,
            Command::PauseResume => ActionKind::Pause,
            Command::Rollback => ActionKind::Rollback,
            Command::Approve => ActionKind::Approve,
            Command::Reject => ActionKind::Reject,
            Command::Abort => ActionKind::Abort,
            _ => return None,
        };
        self.memo
            .avail(&self.snap, self.selected_lane()?, self.sel_stage, kind)
    }

    /// The widest lane name and team of the train, measured once per train.
    pub fn widest(&self) -> Widest {
        self.memo.widest(&self.snap.train)
    }

    /// Actions this trainyard sent and that have not ended.
    pub fn mine_in_flight(&self) -> usize {
        self.snap.mine_in_flight
    }

    pub(super) fn flash(&mut self, text: impl Into<String>, tone: Tone) {
        self.flash = Some((text.into(), tone, self.now));
    }

    fn log(&mut self, e: Event) {
        if e.loud {
            self.flash(e.text.clone(), e.tone);
        }
        self.activity.push_front(Activity {
            at: e.at,
            tone: e.tone,
            text: e.text,
            command: e.command,
            url: e.url,
        });
        self.activity.truncate(ACTIVITY_KEEP);
    }

    fn on_snapshot(&mut self, snap: Arc<Snapshot>) {
        // A snapshot moves the clock as a tick does (the screen's tick waits a second after it).
        self.clock(self.now.max(snap.now));
        self.snap = snap;
        self.census = Census::of(&self.snap);
        self.refilter();
    }

    /// The time is `now`: a flash shown long enough goes.
    fn clock(&mut self, now: Timestamp) {
        self.now = now;
        if self
            .flash
            .as_ref()
            .is_some_and(|(_, _, at)| (now - *at).num_seconds() >= FLASH_SECS)
        {
            self.flash = None;
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let mut cmds = self.fold(msg);
        // A notification now due: one that waited out the interval or a dialog, or just raised.
        cmds.extend(self.ring());
        cmds
    }

    fn fold(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Tick(now) => {
                self.clock(now);
                vec![]
            }
            Msg::Resize => vec![],
            Msg::Snapshot(s) => {
                self.on_snapshot(s);
                vec![]
            }
            Msg::Event(e) => {
                if let Some(n) = &e.notice {
                    self.notifier.push(n.clone());
                }
                self.log(*e);
                vec![]
            }
            Msg::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return vec![];
                }
                self.on_key(key)
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let mode = self.mode();
        let command = self.keys.command_for(mode, key);
        if keymap::is_interrupt(key) {
            self.quit = true;
            return vec![Cmd::Quit];
        }
        match mode {
            Mode::Confirm => match self.popup.take() {
                Some(Popup::Confirm(d)) => self.on_confirm_key(*d, key, command),
                other => {
                    self.popup = other;
                    vec![]
                }
            },
            Mode::Details | Mode::Help => self.on_popup_key(mode, command),
            Mode::Filter => {
                self.on_filter_key(key, command);
                vec![]
            }
            Mode::Jump => {
                self.on_jump_key(key, command);
                vec![]
            }
            Mode::Main => match command {
                Some(c) => self.on_command(c),
                None => vec![],
            },
        }
    }

    fn move_lane(&mut self, delta: isize) {
        let n = self.rows.len();
        if n == 0 {
            return;
        }
        self.sel_lane = (self.sel_lane as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    fn scroll(&mut self, delta: isize) {
        let (target, len) = match self.focus {
            Panel::Blockers => {
                let len = self.snap.blockers.len();
                (&mut self.blockers_scroll, len)
            }
            Panel::Activity => (&mut self.activity_scroll, self.activity.len()),
            _ => return,
        };
        *target = (*target as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize;
    }

    pub(super) fn on_command(&mut self, c: Command) -> Vec<Cmd> {
        // In the metrics view the lanes are what moves: the charts follow the selection.
        let lanes_focus =
            matches!(self.focus, Panel::Lanes | Panel::Metrics) || self.view == View::Metrics;
        let in_view = self.view == View::Metrics;
        if c != Command::Quit {
            self.quit_armed = false;
        }
        match c {
            Command::Quit => return self.quit_asked(),
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
                self.sel_stage = (self.sel_stage + 1).min(self.snap.train.stages.len() - 1)
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
            // On a team's heading: fold or unfold it.
            Command::Details if self.selected_heading().is_some() => self.fold_team(),
            Command::Details if self.selected_lane().is_some() => {
                self.popup_scroll = 0;
                self.popup = Some(Popup::Details);
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
                    self.refilter();
                } else {
                    self.focus = Panel::Lanes;
                }
            }
            Command::Promote
            | Command::Rollback
            | Command::Approve
            | Command::Reject
            | Command::Abort
            | Command::PauseResume
            | Command::Halt => self.start_action(c),
            Command::Group => self.toggle_grouping(),
            Command::Fold => self.fold_team(),
            Command::OnlyBusy => self.toggle_busy_only(),
            Command::Jump => self.open_jump(),
            Command::CopyVersion => return self.copy_version(),
            Command::CopyUrl => return self.copy_url(),
            // The popups' own commands never reach the main view.
            _ => {}
        }
        vec![]
    }

    pub(super) fn quit_asked(&mut self) -> Vec<Cmd> {
        let n = self.mine_in_flight();
        if n > 0 && !self.quit_armed {
            self.quit_armed = true;
            let q = self.keys.label(Command::Quit);
            self.flash(
                format!(
                    "{n} action(s) still in flight: {q} again to quit (they are recorded as not verified)"
                ),
                Tone::Bad,
            );
            return vec![];
        }
        self.quit = true;
        vec![Cmd::Quit]
    }

    /// An action key: open the dialog where the action can go (or be forced), else say why
    /// not — the engine's answer, the same the footer and the details show.
    fn start_action(&mut self, c: Command) {
        let Some(avail) = self.avail(c) else {
            return self.flash("no lane selected", Tone::Bad);
        };
        // Nothing can be recorded in the team's chain now: no dialog for what would be refused.
        if let (Some(p), Avail::Ready { .. } | Avail::Forceable { .. }) =
            (&self.snap.team.problem, &avail)
        {
            return self.flash(
                format!("refused: {p}; actions wait until the team's store answers"),
                Tone::Bad,
            );
        }
        let action = match avail {
            Avail::No(why) => return self.flash(why, Tone::Bad),
            Avail::Ready { action, .. } | Avail::Forceable { action, .. } => action,
        };
        match self.snap.plan(action) {
            Ok(plan) => {
                let source = self.snap.sources_of.get(&plan.action.key()).cloned();
                self.popup = Some(Popup::Confirm(Box::new(ConfirmDialog::new(plan, source))));
            }
            Err(e) => self.flash(e, Tone::Bad),
        }
    }
}

#[cfg(test)]
mod tests;
