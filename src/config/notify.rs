//! `[notify]`: which events notify you (an approval waiting for you, a breach, a new blocker on a
//! lane you watch, an action ended, a source down), and how (the bell, a desktop notification
//! through OSC 9 or OSC 777), at most how often.
//!
//! The table as serde reads it ([`RawNotify`]), its checks (every name it lists must exist,
//! with a did-you-mean), and the checked [`NotifyConfig`] with its defaults.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::diag::{Diagnostics, list_hint};
use super::raw::Str;
use crate::model::{Lane, Train};

/// What a notice is about; the words `events` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// An approval waits for you: one of `approvers` is among its reviewers.
    Approval,
    /// A metric at one of `breach_stages` breaches its SLO, or its canary analysis says FAIL.
    Breach,
    /// A new blocker on a lane you watch (`lanes`, `teams`).
    Blocker,
    /// An action this trainyard sent finished, failed or timed out.
    Action,
    /// A source down for longer than a minute.
    Source,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 5] = [
        NoticeKind::Approval,
        NoticeKind::Breach,
        NoticeKind::Blocker,
        NoticeKind::Action,
        NoticeKind::Source,
    ];

    /// On when `[notify]` says nothing of `events`.
    pub const DEFAULTS: [NoticeKind; 2] = [NoticeKind::Approval, NoticeKind::Breach];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Approval => "approval",
            NoticeKind::Breach => "breach",
            NoticeKind::Blocker => "blocker",
            NoticeKind::Action => "action",
            NoticeKind::Source => "source",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a desktop notification reaches the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desktop {
    /// `ESC ] 9 ; text BEL` (iTerm2, WezTerm, kitty, Ghostty, Windows Terminal).
    Osc9,
    /// `ESC ] 777 ; notify ; title ; body BEL` (foot, urxvt, WezTerm, Ghostty, patched VTE).
    Osc777,
    Off,
}

impl Desktop {
    const WORDS: [&'static str; 3] = ["osc9", "osc777", "off"];

    fn parse(s: &str) -> Option<Desktop> {
        match s {
            "osc9" => Some(Desktop::Osc9),
            "osc777" => Some(Desktop::Osc777),
            "off" => Some(Desktop::Off),
            _ => None,
        }
    }
}

/// The checked `[notify]` table, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyConfig {
    pub events: BTreeSet<NoticeKind>,
    /// The names that mean you among an approval's reviewers; empty: you as the audit log
    /// names you (`identity`, else your login name).
    pub approvers: Vec<String>,
    /// The stages whose metrics' breaches notify.
    pub breach_stages: Vec<String>,
    /// The lanes whose new blockers notify, by name and by team: both empty means every lane.
    pub lanes: Vec<String>,
    pub teams: Vec<String>,
    pub bell: bool,
    pub desktop: Desktop,
    /// At most one notification this often; the rest wait and are said together.
    pub at_most_every: Duration,
}

/// `at_most_every` when the config says nothing.
pub const DEFAULT_AT_MOST_EVERY: Duration = Duration::from_secs(30);

impl NotifyConfig {
    /// What a config without `[notify]` gets: approvals waiting for you, breaches at
    /// [`default_breach_stages`], the bell and OSC 9, at most one every 30 s.
    pub fn defaults(train: &Train) -> NotifyConfig {
        NotifyConfig {
            events: NoticeKind::DEFAULTS.into_iter().collect(),
            approvers: Vec::new(),
            breach_stages: default_breach_stages(&train.stages),
            lanes: Vec::new(),
            teams: Vec::new(),
            bell: true,
            desktop: Desktop::Osc9,
            at_most_every: DEFAULT_AT_MOST_EVERY,
        }
    }

    /// Nothing notifies (tests, and engines that only judge).
    pub fn off() -> NotifyConfig {
        NotifyConfig {
            events: BTreeSet::new(),
            approvers: Vec::new(),
            breach_stages: Vec::new(),
            lanes: Vec::new(),
            teams: Vec::new(),
            bell: false,
            desktop: Desktop::Off,
            at_most_every: DEFAULT_AT_MOST_EVERY,
        }
    }

    pub fn on(&self, kind: NoticeKind) -> bool {
        self.events.contains(&kind)
    }

    /// Whether new blockers on `lane` notify: it is listed, or its team is, or nothing is.
    pub fn watches(&self, lane: &Lane) -> bool {
        (self.lanes.is_empty() && self.teams.is_empty())
            || self.lanes.contains(&lane.name)
            || (!lane.team.is_empty() && self.teams.contains(&lane.team))
    }

    /// Whether `reviewer` (as a source names one: `octocat`, `team payments-oncall`) is you:
    /// one of `approvers`, or without them `actor` (who acts from this trainyard, `alice` or
    /// `alice@jumphost`).
    pub fn is_me(&self, reviewer: &str, actor: &str) -> bool {
        let r = person(reviewer);
        let same = |name: &String| person(name) == r;
        !r.is_empty()
            && if self.approvers.is_empty() {
                same(&actor.to_string())
            } else {
                self.approvers.iter().any(same)
            }
    }
}

/// A name as people and sources write it, made comparable: case, a `team ` prefix, an
/// `@host` or `@domain` suffix, and the separators `.` `_` `-` and spaces do not count
/// (`Maria.Chen`, `maria-chen` and `maria.chen@example.com` are one person).
fn person(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("team ").unwrap_or(name);
    let name = name.split('@').next().unwrap_or_default();
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The stages whose breaches notify by default: those after the stage named `canary` (where a
/// breach reaches real users), else the last stage.
pub fn default_breach_stages(stages: &[String]) -> Vec<String> {
    match stages.iter().position(|s| s == "canary") {
        Some(i) if i + 1 < stages.len() => stages[i + 1..].to_vec(),
        _ => stages.last().cloned().into_iter().collect(),
    }
}

/// The `[notify]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    pub events: Option<Spanned<Vec<Str>>>,
    pub approvers: Option<Spanned<Vec<Str>>>,
    pub breach_stages: Option<Spanned<Vec<Str>>>,
    pub lanes: Option<Spanned<Vec<Str>>>,
    pub teams: Option<Spanned<Vec<Str>>>,
    pub bell: Option<bool>,
    pub desktop: Option<Str>,
    pub at_most_every: Option<Str>,
}

/// Check `[notify]` against the train (its lanes, teams and stages are known by now), recording
/// every problem in `d`.
pub(crate) fn notify(raw: Option<RawNotify>, train: &Train, d: &mut Diagnostics) -> NotifyConfig {
    let mut config = NotifyConfig::defaults(train);
    let Some(raw) = raw else {
        return config;
    };
    // Whether the events are as meant: a misspelt one makes no list "of no effect".
    let mut events_read = true;
    if let Some(list) = &raw.events {
        let words: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.as_str()).collect();
        let errors = d.len();
        config.events = names(d, list, "notify.events", ("event", "events"), &words)
            .iter()
            .filter_map(|n| NoticeKind::parse(n))
            .collect();
        events_read = d.len() == errors;
    }
    let stages: Vec<&str> = train.stages.iter().map(String::as_str).collect();
    let lanes: Vec<&str> = train.lanes.iter().map(|l| l.name.as_str()).collect();
    let mut teams: Vec<&str> = train
        .lanes
        .iter()
        .map(|l| l.team.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    teams.sort_unstable();
    teams.dedup();
    if let Some(list) = &raw.breach_stages {
        config.breach_stages = names(
            d,
            list,
            "notify.breach_stages",
            ("stage", "stages"),
            &stages,
        );
    }
    if let Some(list) = &raw.lanes {
        config.lanes = names(d, list, "notify.lanes", ("lane", "lanes"), &lanes);
    }
    if let Some(list) = &raw.teams {
        config.teams = names(
            d,
            list,
            "notify.teams",
            ("team", "the lanes' teams"),
            &teams,
        );
    }
    if let Some(list) = &raw.approvers {
        config.approvers = Vec::new();
        for a in list.get_ref() {
            if person(a.get_ref()).is_empty() {
                let hint = "a login or a team as the source names it, e.g. \"octocat\"";
                d.error_hint(a.span(), "empty name in notify.approvers", hint);
            } else {
                config.approvers.push(a.get_ref().trim().to_string());
            }
        }
    }
    // A list that only matters for an event that is off is a mistake: say so.
    for (list, kind, key) in [
        (&raw.approvers, NoticeKind::Approval, "approvers"),
        (&raw.breach_stages, NoticeKind::Breach, "breach_stages"),
        (&raw.lanes, NoticeKind::Blocker, "lanes"),
        (&raw.teams, NoticeKind::Blocker, "teams"),
    ] {
        if let Some(list) = list
            && events_read
            && !config.on(kind)
        {
            let k = kind.as_str();
            let hint = if raw.events.is_some() {
                format!("add \"{k}\" to notify.events, or leave {key} out")
            } else {
                format!(
                    "notify.events is [\"approval\", \"breach\"] when not given: \
                     set `events = [\"approval\", \"breach\", \"{k}\"]`, or leave {key} out"
                )
            };
            d.error_hint(
                list.span(),
                format!("notify.{key} has no effect: {k:?} is not in notify.events"),
                hint,
            );
        }
    }
    if let Some(b) = raw.bell {
        config.bell = b;
    }
    if let Some(w) = &raw.desktop {
        match Desktop::parse(w.get_ref()) {
            Some(desktop) => config.desktop = desktop,
            None => d.error_hint(
                w.span(),
                format!("unknown notify.desktop {:?}", w.get_ref()),
                list_hint("choices", w.get_ref(), &Desktop::WORDS),
            ),
        }
    }
    if let Some(every) =
        super::validate::positive_duration(d, "notify.at_most_every", raw.at_most_every.as_ref())
    {
        config.at_most_every = every;
    }
    config
}

/// The names of `list` that are among `known` (each once); the others are errors at their
/// place, with the known ones and a did-you-mean.
fn names(
    d: &mut Diagnostics,
    list: &Spanned<Vec<Str>>,
    key: &str,
    (one, all): (&str, &str),
    known: &[&str],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in list.get_ref() {
        let word = n.get_ref().as_str();
        if !known.contains(&word) {
            d.error_hint(
                n.span(),
                format!("unknown {one} {word:?} in {key}"),
                list_hint(all, word, known),
            );
        } else if out.iter().any(|o| o == word) {
            d.error(n.span(), format!("{word:?} is listed twice in {key}"));
        } else {
            out.push(word.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "identity = \"Maria.Chen\"\n\
        [train]\nname = \"t\"\nstages = [\"build\", \"staging\", \"canary\", \"prod\"]\n\
        [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\
        [[lanes]]\nname = \"ledger\"\nteam = \"core-banking\"\nsource = \"sim\"\n\
        [[lanes]]\nname = \"payments-api\"\nteam = \"payments\"\nsource = \"sim\"\n";

    fn parse(notify: &str) -> Result<NotifyConfig, String> {
        crate::config::parse(&format!("{HEAD}{notify}"), "c.toml")
            .map(|c| c.notify)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn without_a_table_approvals_for_you_and_breaches_after_canary() {
        let n = parse("").unwrap();
        assert_eq!(
            n.events.iter().copied().collect::<Vec<_>>(),
            [NoticeKind::Approval, NoticeKind::Breach]
        );
        assert!(n.approvers.is_empty());
        assert_eq!(n.breach_stages, ["prod"]);
        assert!(n.bell);
        assert_eq!(n.desktop, Desktop::Osc9);
        assert_eq!(n.at_most_every, Duration::from_secs(30));
        assert!(n.watches(&Lane {
            name: "ledger".into(),
            team: "core-banking".into(),
            depends_on: vec![],
        }));
        // An empty table is the same.
        assert_eq!(parse("[notify]\n").unwrap(), n);
    }

    #[test]
    fn the_default_breach_stages_follow_canary_else_the_last() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            default_breach_stages(&s(&["build", "canary", "prod-eu", "prod-us"])),
            ["prod-eu", "prod-us"]
        );
        assert_eq!(default_breach_stages(&s(&["build", "live"])), ["live"]);
        assert_eq!(default_breach_stages(&s(&["build", "canary"])), ["canary"]);
    }

    #[test]
    fn every_key_is_read() {
        let n = parse(
            "[notify]\nevents = [\"blocker\", \"action\", \"source\", \"approval\", \"breach\"]\n\
             approvers = [\"raj.patel\", \"team payments-oncall\"]\n\
             breach_stages = [\"canary\", \"prod\"]\nlanes = [\"ledger\"]\nteams = [\"payments\"]\n\
             bell = false\ndesktop = \"osc777\"\nat_most_every = \"1m\"\n",
        )
        .unwrap();
        assert_eq!(n.events.len(), 5);
        assert_eq!(n.approvers, ["raj.patel", "team payments-oncall"]);
        assert_eq!(n.breach_stages, ["canary", "prod"]);
        assert_eq!(
            (n.lanes.as_slice(), n.teams.as_slice()),
            (&["ledger".to_string()][..], &["payments".to_string()][..])
        );
        assert!(!n.bell);
        assert_eq!(n.desktop, Desktop::Osc777);
        assert_eq!(n.at_most_every, Duration::from_secs(60));
        let lane = |name: &str, team: &str| Lane {
            name: name.into(),
            team: team.into(),
            depends_on: vec![],
        };
        assert!(n.watches(&lane("ledger", "x")));
        assert!(n.watches(&lane("other", "payments")));
        assert!(!n.watches(&lane("other", "x")));
        assert!(!n.watches(&lane("other", "")));
    }

    #[test]
    fn you_are_found_among_reviewers_however_the_source_spells_you() {
        let n = parse("[notify]\napprovers = [\"Maria.Chen\", \"storefront-leads\"]\n").unwrap();
        for me in [
            "maria-chen",
            "maria.chen",
            "MARIA_CHEN",
            "team storefront-leads",
            "storefront-leads",
            "maria.chen@example.com",
        ] {
            assert!(n.is_me(me, "dana@jump"), "{me}");
        }
        for not_me in [
            "maria",
            "chen",
            "team payments-oncall",
            "dana",
            "",
            "team ",
            "@",
        ] {
            assert!(!n.is_me(not_me, "dana@jump"), "{not_me}");
        }
        // Without approvers, you are who acts from here: identity, else user@host.
        let none = NotifyConfig::off();
        assert!(none.is_me("maria-chen", "maria.chen@jumphost"));
        assert!(none.is_me("Maria.Chen", "maria.chen"));
        assert!(!none.is_me("maria-chen", "dana@jump"));
        assert!(!none.is_me("", "@jump"));
    }

    #[test]
    fn unknown_names_are_errors_at_their_place_with_a_suggestion() {
        let err = parse(
            "[notify]\nevents = [\"aproval\", \"breach\", \"breach\", \"blocker\"]\n\
             breach_stages = [\"prdo\"]\nlanes = [\"payments\"]\nteams = [\"paymnets\"]\n\
             desktop = \"osc99\"\nat_most_every = \"soon\"\napprovers = [\" \"]\n",
        )
        .unwrap_err();
        let want = [
            "c.toml:17:11: unknown event \"aproval\" in notify.events\n  \
             hint: events are approval, breach, blocker, action, source (did you mean \"approval\"?)",
            "c.toml:17:32: \"breach\" is listed twice in notify.events",
            "c.toml:18:18: unknown stage \"prdo\" in notify.breach_stages\n  \
             hint: stages are build, staging, canary, prod (did you mean \"prod\"?)",
            "c.toml:19:10: unknown lane \"payments\" in notify.lanes\n  hint: lanes are ledger, payments-api",
            "c.toml:20:10: unknown team \"paymnets\" in notify.teams\n  \
             hint: the lanes' teams are core-banking, payments (did you mean \"payments\"?)",
            "c.toml:21:11: unknown notify.desktop \"osc99\"\n  \
             hint: choices are osc9, osc777, off (did you mean \"osc9\"?)",
            "c.toml:22:17: invalid notify.at_most_every: missing number",
            // (The events list misspells "approval": its list is not said to be of no effect.)
            "c.toml:23:14: empty name in notify.approvers",
        ];
        for w in want {
            assert!(err.contains(w), "{w:?} missing in:\n{err}");
        }
        assert_eq!(err.matches("c.toml:").count(), want.len(), "{err}");
    }

    #[test]
    fn a_list_for_an_event_that_is_off_is_an_error() {
        let err = parse("[notify]\nevents = [\"breach\"]\nlanes = [\"ledger\"]\n").unwrap_err();
        assert_eq!(
            err,
            "c.toml:18:9: notify.lanes has no effect: \"blocker\" is not in notify.events\n  \
             hint: add \"blocker\" to notify.events, or leave lanes out"
        );
        // Without events, the defaults have no blocker either.
        let err = parse("[notify]\nteams = [\"payments\"]\n").unwrap_err();
        assert!(
            err.starts_with(
                "c.toml:17:9: notify.teams has no effect: \"blocker\" is not in notify.events\n  \
                 hint: notify.events is [\"approval\", \"breach\"] when not given"
            ),
            "{err}"
        );
        // With the event on, fine; and `events = []` turns every notice off.
        assert!(parse("[notify]\nevents = [\"blocker\"]\nlanes = [\"ledger\"]\n").is_ok());
        assert!(parse("[notify]\nevents = []\n").unwrap().events.is_empty());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("[notify]\nevent = [\"breach\"]\n").unwrap_err();
        assert!(
            err.contains("unknown key \"event\"") && err.contains("did you mean \"events\"?"),
            "{err}"
        );
    }

    #[test]
    fn the_reference_config_documents_every_key() {
        let example = include_str!("../../config.example.toml");
        let c = crate::config::parse(example, "config.example.toml").unwrap();
        assert_eq!(c.notify.events.len(), 5);
        assert_eq!(c.notify.breach_stages, ["canary", "prod"]);
        assert_eq!(c.notify.lanes, ["payments-api"]);
        assert_eq!(c.notify.teams, ["storefront"]);
        assert_eq!(c.notify.desktop, Desktop::Osc9);
        for key in [
            "events",
            "approvers",
            "breach_stages",
            "lanes",
            "teams",
            "bell",
            "desktop",
            "at_most_every",
        ] {
            assert!(
                example.contains(&format!("\n{key} = ")),
                "config.example.toml does not set notify's {key}"
            );
        }
    }
}
