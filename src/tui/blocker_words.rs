//! A blocker in the room the panel has: short forms of its sentence, built from its facts
//! (`model::Facts`), from the richest to the one that says only the deciding words — the failed
//! checks' names, the reviewers, the lane and stage needed, the metric's figure against its
//! bound, when a freeze ends, who holds and why. [`lay_out`] picks the richest that fits on one
//! line, or on two; a list that still doesn't fit names its first few and "+N more"; only a
//! single name wider than the room is cut, and free text (a reason, an error) at its end.
//! Commit SHAs and other context go first. Pure: widths in terminal columns.

use unicode_segmentation::UnicodeSegmentation;

use crate::model::text::{fit, width};
use crate::model::{Blocker, BlockerKind, Facts};

/// One column that says what kind of blocker a line is, legible without colour and the same
/// mark the lanes table uses where there is one (`✗` failed, `!` approval, `‖` hold, `~`
/// stale, `E` error, `○` not ready).
pub fn glyph(kind: BlockerKind) -> &'static str {
    match kind {
        BlockerKind::CheckFailed | BlockerKind::Slo => "✗",
        BlockerKind::NotReady => "○",
        BlockerKind::AwaitingApproval => "!",
        BlockerKind::Dependency => "→",
        BlockerKind::WindowClosed
        | BlockerKind::Freeze
        | BlockerKind::Soak
        | BlockerKind::SourceRefuses => "◷",
        BlockerKind::Stale => "~",
        BlockerKind::Hold => "‖",
        BlockerKind::Halt => "■",
        BlockerKind::SourceError => "E",
    }
}

/// What each glyph means, for the help: one entry per glyph.
pub fn legend() -> Vec<String> {
    use BlockerKind::*;
    [
        (CheckFailed, "failed check, SLO"),
        (AwaitingApproval, "approval"),
        (Dependency, "needs a lane"),
        (Soak, "window/freeze/soak"),
        (Hold, "hold or pause"),
        (Halt, "halt"),
        (Stale, "stale"),
        (SourceError, "source error"),
    ]
    .iter()
    .map(|(k, words)| format!("{} {words}", glyph(*k)))
    .collect()
}

/// The room for a blocker's words: `first` columns on its first line, `rest` on each next
/// one, at most `lines` lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Room {
    pub first: usize,
    pub rest: usize,
    pub lines: usize,
}

impl Room {
    /// One line of `width` columns.
    pub fn line(width: usize) -> Room {
        Room {
            first: width,
            rest: width,
            lines: 1,
        }
    }

    fn cap(&self, line: usize) -> usize {
        if line == 0 { self.first } else { self.rest }
    }

    fn with_lines(self, lines: usize) -> Room {
        Room { lines, ..self }
    }
}

/// The blocker's words laid out in `room`: [`whole`] if they fit, else the first name of a
/// list cut (its "+N more" kept), else the text cut at its end with `…`. Never more lines
/// than the room has, nor a line wider than its room.
pub fn lay_out(b: &Blocker, room: Room) -> Vec<String> {
    let room = room.with_lines(room.lines.max(1));
    if let Some(l) = whole(b, room) {
        return l;
    }
    let forms = forms(b);
    let bare = forms.last().expect("every blocker has a form");
    let n = bare.list.len();
    let rooms = || (1..=room.lines).map(|l| room.with_lines(l));
    if let Some(first) = bare.list.first() {
        let cut = |w: usize, r: Room| {
            let mut f = bare.clone();
            f.list[0] = fit(first, w);
            wrap(&f.text(1, true), r)
        };
        for r in rooms() {
            // The widest cut of the first name that fits (a narrower one fits too).
            let (mut lo, mut hi) = (0, width(first));
            while hi - lo > 1 {
                let mid = (lo + hi) / 2;
                if cut(mid, r).is_some() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            if let Some(l) = (lo > 0).then(|| cut(lo, r)).flatten() {
                return unglue(l);
            }
        }
    }
    unglue(wrap_cut(&bare.text(n.min(1), false), room))
}

/// The blocker's words in `room` with nothing cut: every deciding word in as few lines as it
/// takes (the richest form that fits; names kept whole on a line where they can be), else
/// fewer names of a list and "+N more"; `None` when even that doesn't fit.
pub fn whole(b: &Blocker, room: Room) -> Option<Vec<String>> {
    let forms = forms(b);
    let n = forms.last().expect("every blocker has a form").list.len();
    let rooms = || (1..=room.lines).map(|l| room.with_lines(l));
    let attempt = |k: usize, whole: bool| {
        rooms().find_map(|r| forms.iter().find_map(|f| wrap(&f.text(k, whole), r)))
    };
    std::iter::once(n)
        .chain((1..n).rev())
        .flat_map(|k| [(k, true), (k, false)])
        .find_map(|(k, whole)| attempt(k, whole))
        .map(unglue)
}

/// What holds a name together while lines are broken: a no-break space, one column like the
/// space it stands for, and a space again on screen.
const GLUE: char = '\u{a0}';

fn glue(s: &str) -> String {
    s.replace(' ', "\u{a0}")
}

fn unglue(lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|l| l.replace(GLUE, " ")).collect()
}

/// One way to say a blocker: `before`, the names of `list` (all, or the first few and
/// "+N more"), `after`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Form {
    before: String,
    list: Vec<String>,
    after: String,
}

impl Form {
    /// The form with the first `k` names; `whole`: no line break inside a name.
    fn text(&self, k: usize, whole: bool) -> String {
        let names = if whole {
            let glued: Vec<String> = self.list.iter().map(|n| glue(n)).collect();
            names(&glued, k)
        } else {
            names(&self.list, k)
        };
        format!("{}{names}{}", self.before, self.after)
    }
}

fn plain(s: String) -> Form {
    Form {
        before: s,
        ..Form::default()
    }
}

fn listed(before: &str, list: &[String], after: String) -> Form {
    Form {
        before: before.to_string(),
        list: list.to_vec(),
        after,
    }
}

/// The first `k` names, and "+N more" for the rest.
fn names(list: &[String], k: usize) -> String {
    if k >= list.len() {
        return list.join(", ");
    }
    format!("{} +{}{GLUE}more", list[..k].join(", "), list.len() - k)
}

/// Every form of `b`, richest first; the last says the deciding words and nothing else.
fn forms(b: &Blocker) -> Vec<Form> {
    let f = |forms: &[String]| forms.iter().cloned().map(plain).collect();
    match &b.facts {
        Facts::Message => vec![plain(b.message.clone())],
        Facts::Failed {
            version,
            at,
            checks,
        } => {
            if checks.is_empty() {
                f(&[
                    format!("{version} failed at {at}"),
                    format!("failed at {at}"),
                ])
            } else {
                vec![
                    listed("", checks, format!(" failed at {at} ({version})")),
                    listed("", checks, format!(" failed at {at}")),
                    listed("", checks, " failed".into()),
                    listed("", checks, String::new()),
                ]
            }
        }
        Facts::Approval {
            environment: env,
            reviewers,
        } => {
            if reviewers.is_empty() {
                f(&[
                    format!("waiting for approval of {env}"),
                    format!("approval of {env}"),
                    "approval".into(),
                ])
            } else {
                vec![
                    listed(
                        &format!("waiting for approval of {env}: "),
                        reviewers,
                        String::new(),
                    ),
                    listed(&format!("approval of {env}: "), reviewers, String::new()),
                    listed("approval: ", reviewers, String::new()),
                ]
            }
        }
        Facts::Needs { lane, stage, there } => {
            let needs = format!("needs {}", glue(&format!("{lane} at {stage}")));
            match there {
                Some((version, state)) => f(&[
                    format!("{needs} ({version} {state} there)"),
                    format!("{needs} ({state})"),
                    needs,
                ]),
                None => f(&[format!("{needs} (nothing there yet)"), needs]),
            }
        }
        Facts::Window { opens, delta, at } => f(&if *opens {
            [
                format!("window opens in {delta} ({at} UTC)"),
                format!("window opens in {delta}"),
            ]
        } else {
            [
                format!("window closed {delta} ago ({at} UTC)"),
                format!("window closed {delta} ago"),
            ]
        }),
        Facts::Freeze { reason, ends, left } => {
            let long = ends.format("%a %Y-%m-%d %H:%M");
            let short = ends.format("%a %H:%M");
            f(&[
                format!("freeze until {long} UTC, {left} left: {reason}"),
                format!("freeze until {long} UTC, {left} left"),
                format!("freeze until {short} UTC ({left})"),
                format!("freeze: {left} left"),
            ])
        }
        Facts::Soak {
            at,
            done,
            need,
            left,
        } => f(&[
            format!("soaking at {at}: {done} of {need}, {left} left"),
            format!("soak at {at}: {left} left"),
            format!("soak: {left} left"),
        ]),
        Facts::Breach {
            metric,
            at,
            value,
            bound,
            since,
        } => {
            let figure = format!("{metric} {}", glue(&format!("{value} {bound}")));
            let when = since.as_ref().map_or("now".into(), |s| format!("for {s}"));
            f(&[
                format!("{figure} at {at} {when}"),
                format!("{figure} at {at}"),
                figure,
            ])
        }
        Facts::Recovered {
            metric,
            at,
            peak,
            bound,
            ago,
            clean_in,
        } => {
            let clean = clean_in
                .as_ref()
                .map_or(String::new(), |c| format!("; clean in {c}"));
            let peak = glue(&format!("{peak} {bound}"));
            f(&[
                format!("{metric} at {at} was {peak} {ago} ago{clean}"),
                format!("{metric} was {peak} {ago} ago{clean}"),
                format!("{metric} was {peak}{clean}"),
            ])
        }
        Facts::NoData { metric, at } => match metric {
            Some(m) => f(&[format!("{m} at {at} has no data"), format!("{m}: no data")]),
            None => f(&[
                format!("no metrics reported at {at}"),
                format!("no metrics at {at}"),
            ]),
        },
        Facts::Canary {
            metric,
            at,
            canary,
            stable,
        } => {
            let vs = glue(&format!("{canary} vs {stable}"));
            let vs_stable = glue(&format!("{canary} vs stable {stable}"));
            f(&[
                format!("canary {metric} at {at} worse than stable: {vs}"),
                format!("canary {metric} worse: {vs_stable}"),
                format!("{metric} {vs_stable}"),
            ])
        }
        Facts::NoCanary { metric, at } => match metric {
            Some(m) => f(&[
                format!("canary analysis of {m} at {at}: too few samples"),
                format!("{m}: too few samples"),
            ]),
            None => f(&[
                format!("no canary analysis at {at}: no stable baseline"),
                format!("no stable baseline at {at}"),
            ]),
        },
        Facts::Hold { by, since, why } => {
            let what = if b.kind == BlockerKind::Halt {
                "train halted"
            } else {
                "on hold"
            };
            let why = if why.trim().is_empty() {
                "no reason given"
            } else {
                why
            };
            if since.is_empty() {
                f(&[format!("{what} by {by}: {why}")])
            } else {
                f(&[
                    format!("{what} by {by} for {since}: {why}"),
                    format!("{what} by {by}: {why}"),
                ])
            }
        }
        Facts::Paused { version, at } => f(&[
            format!("{version} paused at {at}"),
            format!("paused at {at}"),
        ]),
        Facts::Stale { at, metric, age } => {
            let what = match metric {
                Some(m) => format!("{m} at {at}"),
                None => format!("data at {at}"),
            };
            match age {
                Some(age) => f(&[format!("{what} stale, {age} old"), format!("{what} stale")]),
                None => f(&[format!("{what} never received")]),
            }
        }
        Facts::Error { what, error } => f(&[format!("{what}: {error}")]),
    }
}

/// `text` broken at spaces into lines of the room, or `None` when it takes more lines or a
/// word is wider than a line. The first line may stay empty (the words start under the head).
fn wrap(text: &str, room: Room) -> Option<Vec<String>> {
    let mut lines = vec![String::new()];
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = width(word);
        loop {
            let i = lines.len() - 1;
            let need = if used == 0 { w } else { used + 1 + w };
            if need <= room.cap(i) {
                if used > 0 {
                    lines[i].push(' ');
                }
                lines[i].push_str(word);
                used = need;
                break;
            }
            if lines.len() == room.lines || (used == 0 && i > 0) {
                return None;
            }
            lines.push(String::new());
            used = 0;
        }
    }
    Some(lines)
}

/// `text` in the room whatever it takes: broken at a space where one is near, inside a word
/// where none is, and cut with `…` at the end of the last line.
fn wrap_cut(text: &str, room: Room) -> Vec<String> {
    let mut left = text.trim();
    let mut lines = Vec::new();
    for i in 0..room.lines {
        let cap = room.cap(i);
        if i + 1 == room.lines || width(left) <= cap {
            lines.push(fit(left, cap));
            break;
        }
        let (line, rest) = take_line(left, cap);
        lines.push(line);
        left = rest;
    }
    lines
}

/// The longest start of `s` that fits `cap` columns, ended at its last space if it has one,
/// and what is left after it.
fn take_line(s: &str, cap: usize) -> (String, &str) {
    let mut end = 0;
    let mut used = 0;
    for (i, g) in s.grapheme_indices(true) {
        let w = width(g);
        if used + w > cap {
            break;
        }
        used += w;
        end = i + g.len();
    }
    let head = &s[..end];
    match head.rfind(' ') {
        Some(sp) if sp > 0 && !s[end..].starts_with(' ') => {
            (head[..sp].to_string(), s[sp..].trim_start())
        }
        _ => (head.trim_end().to_string(), s[end..].trim_start()),
    }
}

#[cfg(test)]
mod tests;
