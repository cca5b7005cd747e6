//! `[train]`: its name, its stages in order, the release window, the freezes and the
//! protected stages.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::{DateTime, Utc};
use toml::Spanned;

use super::check_name;
use crate::config::diag::{Diagnostics, list_hint};
use crate::config::raw::{RawTime, RawTrain, Str};
use crate::model::{Freeze, Timestamp, Train, Window};

pub(super) const TIME_HINT: &str =
    "write an RFC 3339 time with a UTC offset, e.g. \"2026-11-26T14:00:00Z\"";

pub(super) fn train(raw: RawTrain, span: Range<usize>, d: &mut Diagnostics) -> Train {
    let name = match raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            d.error(n.span(), "train name is empty");
            String::new()
        }
        Some(n) => n.into_inner(),
        None => {
            let hint = "add `name = \"2026.48\"` (the release's name) to [train]";
            d.error_hint(span.clone(), "[train] has no name", hint);
            String::new()
        }
    };

    let mut stages: Vec<String> = Vec::new();
    match raw.stages {
        None => {
            let hint = "add `stages = [\"build\", \"staging\", \"canary\", \"prod\"]` to [train]";
            d.error_hint(span, "[train] has no stages", hint);
        }
        Some(list) => {
            if list.get_ref().len() < 2 {
                let hint = "stages are the steps of promotion, in order, e.g. \
                            [\"build\", \"staging\", \"canary\", \"prod\"]";
                let n = list.get_ref().len();
                d.error_hint(
                    list.span(),
                    format!("a train needs at least 2 stages, found {n}"),
                    hint,
                );
            }
            for stage in list.into_inner() {
                if !check_name(d, "stage", &stage) {
                    continue;
                }
                if stages.contains(stage.get_ref()) {
                    d.error(
                        stage.span(),
                        format!("duplicate stage {:?} in train.stages", stage.get_ref()),
                    );
                } else {
                    stages.push(stage.into_inner());
                }
            }
        }
    }

    let window = raw.window.and_then(|w| {
        let w = w.into_inner();
        let words = ["window", "opens", "closes"];
        let (opens, closes) = period(d, &w.opens, &w.closes, words)?;
        Some(Window { opens, closes })
    });

    let freezes = raw
        .freezes
        .into_iter()
        .filter_map(|f| {
            let f = f.into_inner();
            let words = ["freeze", "starts", "ends"];
            let (starts, ends) = period(d, &f.starts, &f.ends, words)?;
            Some(Freeze {
                starts,
                ends,
                reason: f.reason,
            })
        })
        .collect();

    let protected = protected(raw.protected, &stages, d);
    Train {
        name,
        stages,
        window,
        freezes,
        lanes: Vec::new(),
        policy: BTreeMap::new(),
        auto_pause: BTreeSet::new(),
        protected,
        lane_index: Default::default(),
    }
}

/// `protected`: stages of the train, each once. Absent, the last stage is protected (where a
/// train ends is where a mistake costs most); `protected = []` protects none.
fn protected(raw: Option<Vec<Str>>, stages: &[String], d: &mut Diagnostics) -> BTreeSet<String> {
    let Some(list) = raw else {
        return stages.last().cloned().into_iter().collect();
    };
    let names: Vec<&str> = stages.iter().map(String::as_str).collect();
    let mut out = BTreeSet::new();
    for stage in list {
        let s = stage.get_ref();
        if !names.contains(&s.as_str()) {
            d.error_hint(
                stage.span(),
                format!("unknown stage {s:?} in train.protected"),
                list_hint("stages", s, &names),
            );
        } else if !out.insert(s.clone()) {
            d.error(
                stage.span(),
                format!("stage {s:?} is listed twice in train.protected"),
            );
        }
    }
    out
}

/// A stretch of time that ends after it begins: `[what, begins, ends]` name it and its keys
/// ("window opens … closes"). `None` when either time is invalid or the order is wrong
/// (reported).
fn period(
    d: &mut Diagnostics,
    from: &Spanned<RawTime>,
    to: &Spanned<RawTime>,
    [what, begins, ends]: [&str; 3],
) -> Option<(Timestamp, Timestamp)> {
    let (start, end) = (time(d, from), time(d, to));
    let (start, end) = (start?, end?);
    if end <= start {
        let message = format!(
            "{what} {ends} at {}, not after it {begins} at {}",
            rfc3339(end),
            rfc3339(start)
        );
        d.error(to.span(), message);
        return None;
    }
    Some((start, end))
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn time(d: &mut Diagnostics, t: &Spanned<RawTime>) -> Option<Timestamp> {
    let text = match t.get_ref() {
        RawTime::Text(s) => s.trim().to_string(),
        RawTime::Native(dt) if dt.date.is_none() || dt.time.is_none() || dt.offset.is_none() => {
            let message = format!("time {dt} needs a date, a time of day and a UTC offset");
            d.error_hint(t.span(), message, TIME_HINT);
            return None;
        }
        RawTime::Native(dt) => dt.to_string(),
    };
    match DateTime::parse_from_rfc3339(&text) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(e) => {
            d.error_hint(
                t.span(),
                format!("cannot read {text:?} as a time: {e}"),
                TIME_HINT,
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn parse(train: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
        let text = format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"canary\", \"live\"]\n{train}\n\
             [sources.s]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\
             [[lanes]]\nname = \"api\"\nsource = \"s\"\n"
        );
        crate::config::parse(&text, "t.toml")
    }

    fn protected(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_last_stage_is_protected_unless_the_config_says() {
        assert_eq!(parse("").unwrap().train.protected, protected(&["live"]));
        let c = parse("protected = [\"canary\", \"live\"]").unwrap();
        assert_eq!(c.train.protected, protected(&["canary", "live"]));
        assert_eq!(
            parse("protected = []").unwrap().train.protected,
            protected(&[])
        );
    }

    #[test]
    fn an_unknown_or_repeated_protected_stage_is_an_error_at_its_place() {
        let err = parse("protected = [\"lvie\", \"canary\", \"canary\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.toml:4:14: unknown stage \"lvie\" in train.protected\n  hint: stages are build, canary, live (did you mean \"live\"?)"),
            "{err}"
        );
        assert!(
            err.contains("t.toml:4:32: stage \"canary\" is listed twice in train.protected"),
            "{err}"
        );
    }
}
