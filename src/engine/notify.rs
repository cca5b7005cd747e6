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

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{Snapshot, Tone};
use crate::config::{NoticeKind, NotifyConfig};
use crate::model::analysis::Verdict;
use crate::model::duration::human;
use crate::model::slo::{self, Slo};
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

/// One condition that may notify: its kind, where, and what exactly (a version, a metric, a
/// blocker kind, a source).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: NoticeKind,
    lane: String,
    stage: String,
    what: String,
}

/// A condition as last seen.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    Present,
    GoneSince(Timestamp),
}

/// When a condition is news.
enum News {
    /// As soon as it is seen, at the start too (approvals, breaches, sources down).
    Always,
    /// Only as a change (blockers): not before every source was tried, nor in the first data
    /// of `source`, the one its cell is read from.
    IfNew { source: Option<String> },
}

/// A condition found in one snapshot.
struct Found {
    key: Key,
    news: News,
    notice: Notice,
}

/// The rules with their memory.
#[derive(Clone, Debug)]
pub struct Rules {
    config: NotifyConfig,
    /// Who acts from this trainyard: you, when `approvers` says nothing.
    me: String,
    seen: BTreeMap<Key, Seen>,
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
        let mut out = std::mem::take(&mut self.pending);
        let found = self.conditions(snap);
        let present: BTreeSet<&Key> = found.iter().map(|f| &f.key).collect();
        // What went away: gone since now; long gone, forgotten.
        self.seen.retain(|key, seen| match *seen {
            _ if present.contains(key) => true,
            Seen::Present => {
                *seen = Seen::GoneSince(now);
                true
            }
            Seen::GoneSince(t) => !lasted(t, now, REARM),
        });
        for f in found {
            let fresh = match self.seen.insert(f.key, Seen::Present) {
                None => true,
                Some(Seen::Present) => false,
                Some(Seen::GoneSince(t)) => lasted(t, now, REARM),
            };
            let news = match f.news {
                News::Always => true,
                News::IfNew { source } => {
                    self.primed && source.is_none_or(|s| self.heard.contains(&s))
                }
            };
            if fresh && news {
                out.push(f.notice);
            }
        }
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
    fn conditions(&mut self, snap: &Snapshot) -> Vec<Found> {
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
    fn approvals(&self, snap: &Snapshot, found: &mut Vec<Found>) {
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
            let version = cell.version.clone().unwrap_or_default();
            let text = format!(
                "approval waits for you: {} {} {} (reviewers: {})",
                key.lane,
                key.stage,
                crate::model::cell::short_version(&version),
                reviewers.join(", ")
            );
            found.push(Found {
                key: Key {
                    kind: NoticeKind::Approval,
                    lane: key.lane.to_string(),
                    stage: key.stage.to_string(),
                    what: version,
                },
                news: News::Always,
                notice: notice(
                    snap,
                    NoticeKind::Approval,
                    Tone::Action,
                    &key.lane,
                    &key.stage,
                    text,
                ),
            });
        }
    }

    /// Metrics at the breach stages that breach their SLO now, or whose canary analysis says
    /// FAIL. A metric whose data is stale or failed says nothing either way.
    fn breaches(&self, snap: &Snapshot, found: &mut Vec<Found>) {
        for stage in &self.config.breach_stages {
            let Some(si) = snap.train.stage_index(stage) else {
                continue;
            };
            for (li, lane) in snap.train.lanes.iter().enumerate() {
                for (m, view) in snap.metrics(li, si) {
                    if view.stale || view.error.is_some() {
                        continue;
                    }
                    let mut add = |what: String, text: String| {
                        found.push(Found {
                            key: Key {
                                kind: NoticeKind::Breach,
                                lane: lane.name.clone(),
                                stage: stage.clone(),
                                what,
                            },
                            news: News::Always,
                            notice: notice(
                                snap,
                                NoticeKind::Breach,
                                Tone::Bad,
                                &lane.name,
                                stage,
                                format!("breach: {}: {text}", lane.name),
                            ),
                        })
                    };
                    if let Slo::Breaching { .. } = view.slo {
                        let text = slo::blocker_text(m, stage, &view.slo).unwrap_or_default();
                        add(format!("slo {}", m.name), text);
                    }
                    if let Some((Verdict::Fail, _)) = view.canary {
                        add(format!("canary {}", m.name), canary_fail(m, stage));
                    }
                }
            }
        }
    }

    /// New blockers on the lanes watched; not those of a car still moving or soaking (the
    /// train moving), nor stale data and source errors (the `source` notice's), nor an
    /// approval that waits for you (the `approval` notice says it).
    fn blockers(&self, snap: &Snapshot, found: &mut Vec<Found>) {
        let approvals: BTreeSet<(String, String)> = found
            .iter()
            .filter(|f| f.key.kind == NoticeKind::Approval)
            .map(|f| (f.key.lane.clone(), f.key.stage.clone()))
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
            let watched = snap
                .train
                .lane(&b.lane)
                .is_some_and(|l| self.config.watches(l));
            let yours = b.kind == BlockerKind::AwaitingApproval
                && approvals.contains(&(b.lane.clone(), b.stage.clone()));
            if routine || !watched || yours {
                continue;
            }
            let source = snap
                .sources_of
                .get(&crate::model::CellKey::new(&b.lane, &b.stage))
                .cloned();
            let text = format!("new blocker: {} {}: {}", b.lane, b.stage, b.message);
            found.push(Found {
                key: Key {
                    kind: NoticeKind::Blocker,
                    lane: b.lane.clone(),
                    stage: b.stage.clone(),
                    what: b.kind.as_str().to_string(),
                },
                news: News::IfNew { source },
                notice: notice(
                    snap,
                    NoticeKind::Blocker,
                    Tone::Bad,
                    &b.lane,
                    &b.stage,
                    text,
                ),
            });
        }
    }

    /// Sources failing for longer than [`SOURCE_DOWN`] without a break.
    fn sources_down(&mut self, snap: &Snapshot, found: &mut Vec<Found>) {
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
            let for_how_long = human((now - since).to_std().unwrap_or_default());
            let error = s.error.as_deref().unwrap_or("no answer");
            let text = format!("source {} down for {for_how_long}: {error}", s.name);
            found.push(Found {
                key: Key {
                    kind: NoticeKind::Source,
                    lane: String::new(),
                    stage: String::new(),
                    what: s.name.clone(),
                },
                news: News::Always,
                notice: Notice {
                    at: now,
                    kind: NoticeKind::Source,
                    tone: Tone::Bad,
                    lane: None,
                    stage: None,
                    text,
                },
            });
        }
    }
}

fn notice(
    snap: &Snapshot,
    kind: NoticeKind,
    tone: Tone,
    lane: &str,
    stage: &str,
    text: String,
) -> Notice {
    Notice {
        at: snap.now,
        kind,
        tone,
        lane: Some(lane.to_string()),
        stage: Some(stage.to_string()),
        text,
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
