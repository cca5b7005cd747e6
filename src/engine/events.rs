//! What the engine tells people: one line per change, in the same words on the screen's
//! activity panel and in `trainyard watch`.

use serde::Serialize;

use crate::model::world::Change;
use crate::model::{CellState, Timestamp};
use crate::ops::{Outcome, Plan};

/// How an event reads: good news, bad news, news, or an action going out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Info,
    Good,
    Bad,
    Action,
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A cell changed state or version.
    Cell,
    /// A source failed or came back.
    Source,
    /// An action was sent, moved on, or ended.
    Action,
    /// The halt or a lane hold was set or lifted.
    Halt,
    /// `auto_pause` acted, or would have.
    Auto,
    /// An action of an earlier run whose end nobody saw.
    Unfinished,
    /// Something the user must know that is no one cell's.
    Warning,
    /// What a `watch` watches, said when it starts.
    Start,
    /// Something `[notify]` asked to hear of (`notify::Notice`): the screen rings for it.
    Notice,
}

/// One line of news.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub at: Timestamp,
    pub kind: Kind,
    pub tone: Tone,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The command-line twin of an action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The run or deployment it is about, as its source links it (a cell's change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Worth the user's eye now (the screen flashes it in the footer).
    #[serde(skip)]
    pub loud: bool,
    /// The notice of a [`Kind::Notice`] event.
    #[serde(skip)]
    pub notice: Option<super::notify::Notice>,
}

impl Event {
    pub fn new(at: Timestamp, kind: Kind, tone: Tone, text: impl Into<String>) -> Event {
        Event {
            at,
            kind,
            tone,
            text: text.into(),
            lane: None,
            stage: None,
            command: None,
            url: None,
            loud: false,
            notice: None,
        }
    }

    /// The run or deployment the event is about.
    pub fn with_url(mut self, url: Option<String>) -> Event {
        self.url = url;
        self
    }

    fn at_cell(mut self, lane: &str, stage: &str) -> Event {
        self.lane = (!lane.is_empty()).then(|| lane.to_string());
        self.stage = (!stage.is_empty()).then(|| stage.to_string());
        self
    }

    pub fn loud(mut self) -> Event {
        self.loud = true;
        self
    }

    /// One line for `watch`: "14:02:11 payments-api canary: ▶ 3a1b2c4 rolling out started".
    pub fn line(&self) -> String {
        format!("{} {}", self.at.format("%H:%M:%S"), self.text)
    }
}

/// "payments-api canary: 3a1b2c4 running started", "ledger prod: ✓ 91aa0f2 succeeded".
pub fn cell_changed(at: Timestamp, ch: &Change) -> Event {
    let (version, state) = &ch.after;
    let v = version
        .as_deref()
        .map(crate::model::cell::short_version)
        .unwrap_or_default();
    let tone = match state {
        CellState::Succeeded => Tone::Good,
        CellState::Failed | CellState::RolledBack | CellState::Cancelled => Tone::Bad,
        _ => Tone::Info,
    };
    let new_version = ch.before.as_ref().is_none_or(|(bv, _)| bv != version);
    let (lane, stage) = (&ch.key.lane, &ch.key.stage);
    let text = if new_version && state.is_active() {
        format!("{lane} {stage}: {v} {} started", state.words())
    } else {
        format!("{lane} {stage}: {} {v} {}", state.glyph(), state.words())
    };
    Event::new(at, Kind::Cell, tone, text).at_cell(lane, stage)
}

/// A source failed after working, or came back.
pub fn source_failed(at: Timestamp, name: &str, error: &str) -> Event {
    Event::new(
        at,
        Kind::Source,
        Tone::Bad,
        format!("source {name} failed: {error} (showing last good data)"),
    )
}

/// The team's store answers again: actions may go.
pub fn store_back(at: Timestamp, url: Option<&str>) -> Event {
    Event::new(
        at,
        Kind::Source,
        Tone::Good,
        format!(
            "the team's store {} answers again: actions may go",
            url.unwrap_or_default()
        ),
    )
}

pub fn source_back(at: Timestamp, name: &str) -> Event {
    Event::new(
        at,
        Kind::Source,
        Tone::Good,
        format!("source {name} is back"),
    )
}

/// The halt as the ledger now has it.
pub fn halt_changed(at: Timestamp, halt: Option<&crate::model::LaneHold>) -> Event {
    match halt {
        Some(h) => Event::new(
            at,
            Kind::Halt,
            Tone::Bad,
            format!("the train was halted by {}: {}", h.by, h.reason),
        ),
        None => Event::new(at, Kind::Halt, Tone::Good, "the train was unhalted"),
    }
}

/// A lane hold set or released (by anyone: the ledger says it).
pub fn hold_changed(at: Timestamp, lane: &str, hold: Option<&crate::model::LaneHold>) -> Event {
    let e = match hold {
        Some(h) => Event::new(
            at,
            Kind::Halt,
            Tone::Bad,
            format!("{lane} was put on hold {}", h.words(at)),
        ),
        None => Event::new(
            at,
            Kind::Halt,
            Tone::Good,
            format!("{lane}'s hold was released"),
        ),
    };
    e.at_cell(lane, "")
}

/// An action going out: "promote payments-api → prod (FORCED): canary → prod: …".
pub fn action_sent(at: Timestamp, plan: &Plan) -> Event {
    let a = &plan.action;
    let forced = if plan.forced() { " (FORCED)" } else { "" };
    Event::new(
        at,
        Kind::Action,
        Tone::Action,
        format!("{}{forced}: {}", a.describe(), plan.summary),
    )
    .at_cell(&a.lane, &a.stage)
}

/// What the runner says on the way: "promote payments-api/prod: accepted by gh: …".
pub fn action_progress(
    at: Timestamp,
    plan_kind: crate::model::ActionKind,
    key: &crate::model::CellKey,
    text: &str,
) -> Event {
    Event::new(
        at,
        Kind::Action,
        Tone::Info,
        format!("{plan_kind} {key}: {text}"),
    )
    .at_cell(&key.lane, &key.stage)
}

/// How an action ended, with its command-line twin.
pub fn action_done(at: Timestamp, plan: &Plan, outcome: &Outcome) -> Event {
    let a = &plan.action;
    let forced = if plan.forced() { " FORCED" } else { "" };
    let what = format!("{}{forced}", a.describe());
    let (tone, text) = match outcome {
        Outcome::Done(m) => (Tone::Good, format!("✓ {what}: done: {m}")),
        Outcome::TimedOut(m) => (Tone::Bad, format!("TIMEOUT {what}: {m}")),
        Outcome::DryRun(m) => (Tone::Info, format!("{what}: dry run: {m}")),
        other => (
            Tone::Bad,
            format!("✗ {what}: {}: {}", other.word(), other.message()),
        ),
    };
    let mut e = Event::new(at, Kind::Action, tone, text)
        .at_cell(&a.lane, &a.stage)
        .loud();
    e.command = Some(a.command_line());
    e
}

/// An action the engine would not send: another is in flight on the cell.
pub fn action_refused(at: Timestamp, plan: &Plan, why: &str) -> Event {
    let a = &plan.action;
    Event::new(at, Kind::Action, Tone::Bad, format!("not sent: {why}"))
        .at_cell(&a.lane, &a.stage)
        .loud()
}

/// `auto_pause` acting ("trainyard-auto: pause notifications at canary: auto_pause: …"), or
/// in read-only mode saying what it would have done.
pub fn auto_pause(at: Timestamp, plan: &Plan, why: &str, readonly: bool) -> Event {
    let a = &plan.action;
    let actor = crate::ops::auto::ACTOR;
    let e = if readonly {
        Event::new(
            at,
            Kind::Auto,
            Tone::Bad,
            format!(
                "{actor}: would {} ({why}); read-only, nothing done",
                a.describe()
            ),
        )
    } else {
        Event::new(
            at,
            Kind::Auto,
            Tone::Action,
            format!("{actor}: {}: {why}", a.describe()),
        )
        .loud()
    };
    e.at_cell(&a.lane, &a.stage)
}

pub fn unfinished(at: Timestamp, text: &str) -> Event {
    Event::new(
        at,
        Kind::Unfinished,
        Tone::Bad,
        format!("UNFINISHED from an earlier run: {text}"),
    )
}

pub fn warning(at: Timestamp, text: &str) -> Event {
    Event::new(at, Kind::Warning, Tone::Bad, text).loud()
}

/// A notice, as the activity and `watch` say it: "notify: breach: notifications: …".
pub fn notice(n: &super::notify::Notice) -> Event {
    let mut e = Event::new(n.at, Kind::Notice, n.tone, format!("notify: {}", n.text));
    e.lane = n.lane.clone();
    e.stage = n.stage.clone();
    e.notice = Some(n.clone());
    e
}
