//! Notices: what a person asked to hear of in `[notify]` — an approval waiting for them, a
//! breach, a new blocker on a lane they watch, an action ended, a source down — found by
//! comparing each snapshot with what was seen before. Pure: the snapshot and its `now` are
//! the only inputs, so one set of rules serves the screen (which rings and raises desktop
//! notifications, `tui::notify`) and `trainyard watch` (which prints them).
//!
//! A condition (this approval, this breach, this blocker, this source down) notifies when it
//! appears. One that stays is not news; one that goes and comes back within [`REARM`] is the
//! same one still (a blocker that flaps with every poll notifies once). Approvals, breaches and
//! sources down notify from the start: they wait for the person whoever saw them first. A
//! blocker notifies only when it is new: those a source's first report shows, or that appear
//! before every source was heard from, are the starting picture. [`limit`] keeps the person
//! from being rung more than once per `at_most_every`.

pub mod limit;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{Snapshot, Tone};
use crate::config::{NoticeKind, NotifyConfig};
use crate::model::analysis::Verdict;
use crate::model::duration::human;
use crate::model::slo::{self, Slo};
use crate::model::world::by_names;
use crate::model::{BlockerKind, CellState, Metric, Timestamp};
use crate::ops::{Outcome, Plan};

/// How long a condition must have been gone before it notifies again.
pub const REARM: Duration = Duration::from_secs(120);

/// A source failing this long without a break is down.
pub const SOURCE_DOWN: Duration = Duration::from_secs(60);

/// One thing to tell the person.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub at: Timestamp,
    pub kind: NoticeKind,
    pub tone: Tone,
    pub lane: Option<String>,
    pub stage: Option<String>,
    /// What the desktop notification says: "breach: notifications: error_rate 2.31% > 1.00%
    /// at canary for the last 40s".
    pub text: String,
}

/// One condition that may notify: its kind, where, and what exactly (a tag and a name: `slo`
/// and a metric, a version, a blocker kind, a source). Remembered with its own names ([`Key`]),
/// found in a snapshot with borrowed ones ([`Looked`]) and looked up by those: a key is built
/// only for a condition seen for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Condition<S> {
    kind: NoticeKind,
    lane: S,
    stage: S,
    tag: &'static str,
    what: S,
}

type Key = Condition<String>;
type Looked<'s> = Condition<&'s str>;

impl Looked<'_> {
    fn to_key(self) -> Key {
        Condition {
            kind: self.kind,
            lane: self.lane.to_string(),
            stage: self.stage.to_string(),
            tag: self.tag,
            what: self.what.to_string(),
        }
    }
}

/// A condition's parts, in the order its derived `Ord` compares them (a `String` as its
/// `str`): what a [`Key`] is looked up by.
trait Parts {
    fn parts(&self) -> (NoticeKind, &str, &str, &str, &str);
}

impl<S: AsRef<str>> Parts for Condition<S> {
    fn parts(&self) -> (NoticeKind, &str, &str, &str, &str) {
        let c = self;
        (
            c.kind,
            c.lane.as_ref(),
            c.stage.as_ref(),
            c.tag,
            c.what.as_ref(),
        )
    }
}

impl<'a> std::borrow::Borrow<dyn Parts + 'a> for Key {
    fn borrow(&self) -> &(dyn Parts + 'a) {
        self
    }
}

impl PartialEq for dyn Parts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn Parts + '_ {}

impl PartialOrd for dyn Parts + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn Parts + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// A condition as last seen.
#[derive(Clone, Copy, Debug)]
enum Seen {
    /// Present at the look of this number.
    Present(u64),
    GoneSince(Timestamp),
}

/// When a condition is news.
enum News {
    /// As soon as it is seen, at the start too (approvals, breaches, sources down).
    Always,
    /// Only as a change (blockers): not before every source was tried, nor in the first data
    /// of the source its cell is read from.
    IfNew,
}

/// What a condition's notice says, put into words only when it notifies (most conditions
/// found at a look were there at the last one).
enum Tell<'s> {
    Approval {
        version: &'s str,
        reviewers: &'s [String],
    },
    Slo {
        metric: &'s Metric,
        slo: &'s Slo,
    },
    Canary {
        metric: &'s Metric,
    },
    Blocker {
        message: &'s str,
    },
    SourceDown {
        since: Timestamp,
        error: &'s str,
    },
}

/// A condition found in one snapshot.
struct Found<'s> {
    key: Looked<'s>,
    news: News,
    tell: Tell<'s>,
}

impl Found<'_> {
    /// The notice of this condition at `now`.
    fn notice(&self, now: Timestamp) -> Notice {
        let Looked {
            kind, lane, stage, ..
        } = self.key;
        let (tone, text) = match self.tell {
            Tell::Approval { version, reviewers } => (
                Tone::Action,
                format!(
                    "approval waits for you: {lane} {stage} {} (reviewers: {})",
                    crate::model::cell::short_version(version),
                    reviewers.join(", ")
                ),
            ),
            Tell::Slo { metric, slo } => (
                Tone::Bad,
                format!(
                    "breach: {lane}: {}",
                    slo::blocker_text(metric, stage, slo).unwrap_or_default()
                ),
            ),
            Tell::Canary { metric } => (
                Tone::Bad,
                format!("breach: {lane}: {}", canary_fail(metric, stage)),
            ),
            Tell::Blocker { message } => {
                (Tone::Bad, format!("new blocker: {lane} {stage}: {message}"))
            }
            Tell::SourceDown { since, error } => {
                let for_how_long = human((now - since).to_std().unwrap_or_default());
                let text = format!("source {} down for {for_how_long}: {error}", self.key.what);
                return Notice {
                    at: now,
                    kind,
                    tone: Tone::Bad,
                    lane: None,
                    stage: None,
                    text,
                };
            }
        };
        Notice {
            at: now,
            kind,
            tone,
            lane: Some(lane.to_string()),
            stage: Some(stage.to_string()),
            text,
        }
    }
}

/// The rules with their memory.
#[derive(Clone, Debug)]
pub struct Rules {
    config: NotifyConfig,
    /// Who acts from this trainyard: you, when `approvers` says nothing.
    me: String,
    seen: BTreeMap<Key, Seen>,
    /// How many looks were taken.
    looks: u64,
    /// Sources failing now, since when.
    down_since: BTreeMap<String, Timestamp>,
    /// Sources that had delivered data at the last look: what they say now is news.
    heard: BTreeSet<String>,
    /// Every source had been tried at the last look.
    primed: bool,
    /// Notices of ended actions, for the next look.
    pending: Vec<Notice>,
}

impl Rules {
    /// The rules of `config`, for `me` (the actor of this trainyard: `identity`, else
    /// user@host).
    pub fn new(config: NotifyConfig, me: &str) -> Rules {
        Rules {
            config,
            me: me.to_string(),
            seen: BTreeMap::new(),
            looks: 0,
            down_since: BTreeMap::new(),
            heard: BTreeSet::new(),
            primed: false,
            pending: Vec::new(),
        }
    }

    /// An action this trainyard sent ended with `outcome`.
    pub fn action_ended(&mut self, plan: &Plan, outcome: &Outcome, at: Timestamp) {
        if !self.config.on(NoticeKind::Action) {
            return;
        }
        let what = plan.action.describe();
        let (tone, text) = match outcome {
            Outcome::Done(_) => (Tone::Good, format!("action done: {what}")),
            Outcome::DryRun(_) => return,
            Outcome::TimedOut(m) => (Tone::Bad, format!("action timed out: {what}: {m}")),
            other => (
                Tone::Bad,
                format!("action {}: {what}: {}", other.word(), other.message()),
            ),
        };
        let a = &plan.action;
        self.pending.push(Notice {
            at,
            kind: NoticeKind::Action,
            tone,
            lane: (!a.lane.is_empty()).then(|| a.lane.clone()),
            stage: (!a.stage.is_empty()).then(|| a.stage.clone()),
            text,
        });
    }

    /// Look at `snap`: the notices it raises (and those of actions ended since the last look).
    pub fn observe(&mut self, snap: &Snapshot) -> Vec<Notice> {
        let now = snap.now;
        self.looks += 1;
        let look = self.looks;
        let mut out = std::mem::take(&mut self.pending);
        for f in self.conditions(snap) {
            let fresh = match self.seen.get_mut(&f.key as &dyn Parts) {
                Some(seen) => {
                    let fresh = match *seen {
                        Seen::Present(_) => false,
                        Seen::GoneSince(t) => lasted(t, now, REARM),
                    };
                    *seen = Seen::Present(look);
                    fresh
                }
                None => {
                    self.seen.insert(f.key.to_key(), Seen::Present(look));
                    true
                }
            };
            // Whether it is news is asked only of what is fresh (most conditions are not).
            let news = || match f.news {
                News::Always => true,
                News::IfNew => {
                    self.primed
                        && by_names(&snap.sources_of, f.key.lane, f.key.stage)
                            .is_none_or(|s| self.heard.contains(s))
                }
            };
            if fresh && news() {
                out.push(f.notice(now));
            }
        }
        // What went away: gone since now; long gone, forgotten.
        self.seen.retain(|_, seen| match *seen {
            Seen::Present(l) if l == look => true,
            Seen::Present(_) => {
                *seen = Seen::GoneSince(now);
                true
            }
            Seen::GoneSince(t) => !lasted(t, now, REARM),
        });
        self.primed = snap.world.sources().all(|s| s.last_attempt.is_some());
        self.heard = snap
            .world
            .sources()
            .filter(|s| s.last_ok.is_some())
            .map(|s| s.name.clone())
            .collect();
        out
    }

    /// Every condition of the kinds that are on, as `snap` has them.
    fn conditions<'s>(&mut self, snap: &'s Snapshot) -> Vec<Found<'s>> {
        let mut found = Vec::new();
        if self.config.on(NoticeKind::Approval) {
            self.approvals(snap, &mut found);
        }
        if self.config.on(NoticeKind::Breach) {
            self.breaches(snap, &mut found);
        }
        if self.config.on(NoticeKind::Blocker) {
            self.blockers(snap, &mut found);
        }
        // Kept whether or not source notices are on: cheap, and always current.
        self.sources_down(snap, &mut found);
        found
    }

    /// Cells waiting for an approval that one of `approvers` may give.
    fn approvals<'s>(&self, snap: &'s Snapshot, found: &mut Vec<Found<'s>>) {
        for (key, cell) in snap.world.cells() {
            if cell.state != CellState::AwaitingApproval
                || snap.train.lane(&key.lane).is_none()
                || snap.train.stage_index(&key.stage).is_none()
            {
                continue;
            }
            let reviewers = cell.approval.as_ref().map_or(&[][..], |a| &a.reviewers);
            if !reviewers.iter().any(|r| self.config.is_me(r, &self.me)) {
                continue;
            }
            let version = cell.version.as_deref().unwrap_or_default();
            found.push(Found {
                key: Looked {
                    kind: NoticeKind::Approval,
                    lane: &key.lane,
                    stage: &key.stage,
                    tag: "",
                    what: version,
                },
                news: News::Always,
                tell: Tell::Approval { version, reviewers },
            });
        }
    }

    /// Metrics at the breach stages that breach their SLO now, or whose canary analysis says
    /// FAIL. A metric whose data is stale or failed says nothing either way.
    fn breaches<'s>(&self, snap: &'s Snapshot, found: &mut Vec<Found<'s>>) {
        for stage in &self.config.breach_stages {
            let Some(si) = snap.train.stage_index(stage) else {
                continue;
            };
            let stage = &snap.train.stages[si];
            for (li, lane) in snap.train.lanes.iter().enumerate() {
                for (m, view) in snap.metrics(li, si) {
                    if view.stale || view.error.is_some() {
                        continue;
                    }
                    let key = |tag| Looked {
                        kind: NoticeKind::Breach,
                        lane: &lane.name,
                        stage,
                        tag,
                        what: &m.name,
                    };
                    if let Slo::Breaching { .. } = view.slo {
                        found.push(Found {
                            key: key("slo"),
                            news: News::Always,
                            tell: Tell::Slo {
                                metric: m,
                                slo: &view.slo,
                            },
                        });
                    }
                    if let Some((Verdict::Fail, _)) = view.canary {
                        found.push(Found {
                            key: key("canary"),
                            news: News::Always,
                            tell: Tell::Canary { metric: m },
                        });
                    }
                }
            }
        }
    }

    /// New blockers on the lanes watched; not those of a car still moving or soaking (the
    /// train moving), nor stale data and source errors (the `source` notice's), nor an
    /// approval that waits for you (the `approval` notice says it).
    fn blockers<'s>(&self, snap: &'s Snapshot, found: &mut Vec<Found<'s>>) {
        let approvals: BTreeSet<(&str, &str)> = found
            .iter()
            .filter(|f| f.key.kind == NoticeKind::Approval)
            .map(|f| (f.key.lane, f.key.stage))
            .collect();
        // Several blockers of one kind on one cell (two failed checks) are one condition: the
        // second finds the first already present.
        for b in &snap.blockers {
            let routine = matches!(
                b.kind,
                BlockerKind::NotReady
                    | BlockerKind::Soak
                    | BlockerKind::Stale
                    | BlockerKind::SourceError
            );
            if routine {
                continue;
            }
            let watched = snap
                .train
                .lane(&b.lane)
                .is_some_and(|l| self.config.watches(l));
            let yours = b.kind == BlockerKind::AwaitingApproval
                && approvals.contains(&(b.lane.as_str(), b.stage.as_str()));
            if !watched || yours {
                continue;
            }
            found.push(Found {
                key: Looked {
                    kind: NoticeKind::Blocker,
                    lane: &b.lane,
                    stage: &b.stage,
                    tag: "",
                    what: b.kind.as_str(),
                },
                news: News::IfNew,
                tell: Tell::Blocker {
                    message: &b.message,
                },
            });
        }
    }

    /// Sources failing for longer than [`SOURCE_DOWN`] without a break.
    fn sources_down<'s>(&mut self, snap: &'s Snapshot, found: &mut Vec<Found<'s>>) {
        let now = snap.now;
        for s in snap.world.sources() {
            if s.ok {
                self.down_since.remove(&s.name);
                continue;
            }
            let since = *self
                .down_since
                .entry(s.name.clone())
                .or_insert_with(|| s.last_attempt.unwrap_or(now).min(now));
            if !self.config.on(NoticeKind::Source) || !lasted(since, now, SOURCE_DOWN) {
                continue;
            }
            found.push(Found {
                key: Looked {
                    kind: NoticeKind::Source,
                    lane: "",
                    stage: "",
                    tag: "",
                    what: &s.name,
                },
                news: News::Always,
                tell: Tell::SourceDown {
                    since,
                    error: s.error.as_deref().unwrap_or("no answer"),
                },
            });
        }
    }
}

/// "canary latency_p99 at canary FAIL: worse than stable (612ms vs 320ms)".
fn canary_fail(m: &Metric, stage: &str) -> String {
    let last = |s: &[(i64, f64)]| {
        s.last()
            .map_or_else(|| "?".to_string(), |(_, v)| m.format_value(*v))
    };
    format!(
        "canary {} at {stage} FAIL: worse than stable ({} vs {})",
        m.name,
        last(&m.series),
        last(&m.baseline_series)
    )
}

/// Whether at least `d` has passed from `since` to `now` (a clock that stepped back: no).
fn lasted(since: Timestamp, now: Timestamp, d: Duration) -> bool {
    (now - since).to_std().is_ok_and(|gone| gone >= d)
}

#[cfg(test)]
mod tests;
