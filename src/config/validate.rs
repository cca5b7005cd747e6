//! The meaning of a config: names, references, times, durations, gates and URLs. Every
//! problem is recorded (not just the first) and a [`Config`] is built from what is valid.
//!
//! One file per part of the config: `train.rs` (`[train]`), `sources.rs` (`[sources.*]`),
//! `lanes.rs` (`[[lanes]]`), `metrics.rs` (`[[metrics]]`), `policy.rs` (`[policy.*]`); the
//! small top-level keys (`identity`, `readonly`, `[audit]`, `[actions]`) are read here;
//! `[ui]` is read by `config/ui.rs`, `[notify]` by `config/notify.rs`, `[keys]` by
//! `config/keys.rs`.

mod gitlab;
mod group_by;
mod lanes;
mod metrics;
mod policy;
mod sources;
mod store;
mod train;

pub use sources::is_loopback;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use super::Config;
use toml::Spanned;

use super::diag::{Diagnostics, list_hint};
use super::raw::{KeyView, RawConfig, Str};
use crate::model::duration;

const NAME_HINT: &str = "names may use only letters A-Z a-z, digits, '.', '_' and '-'";

/// Build the config, recording every problem in `d`. The result is only meaningful when `d`
/// stays empty.
pub(crate) fn config(
    raw: RawConfig,
    keys: &KeyView,
    d: &mut Diagnostics,
    check_files: bool,
) -> Config {
    let identity = raw.identity.and_then(|id| {
        if id.get_ref().trim().is_empty() {
            let hint = "leave identity out to use user@host";
            d.error_hint(id.span(), "identity is empty", hint);
            None
        } else {
            Some(id.into_inner())
        }
    });
    let audit_path = raw.audit.and_then(|a| a.path).and_then(|p| {
        if p.get_ref().trim().is_empty() {
            let hint = "leave audit.path out to use the default data directory";
            d.error_hint(p.span(), "audit path is empty", hint);
            None
        } else {
            Some(PathBuf::from(p.into_inner()))
        }
    });

    let store = store::store(raw.store, d, check_files);
    let verify_timeout = raw
        .actions
        .as_ref()
        .and_then(|a| positive_duration(d, "actions.verify_timeout", a.verify_timeout.as_ref()))
        .unwrap_or(super::DEFAULT_VERIFY_TIMEOUT);
    let keymap = super::keys::keymap(raw.keys, d);

    let ui = super::ui::ui(raw.ui, d);

    let train_span = raw.train.span();
    let mut train = train::train(raw.train.into_inner(), train_span, d);
    let stages: Vec<&str> = train.stages.iter().map(String::as_str).collect();

    let (sources, kinds) = sources::sources(raw.sources, keys, d, check_files);
    let lane_vars: BTreeMap<String, BTreeMap<String, String>> = raw
        .lanes
        .iter()
        .filter_map(|l| {
            Some((
                l.get_ref().name.as_ref()?.get_ref().clone(),
                l.get_ref().vars.clone(),
            ))
        })
        .collect();
    let (lanes, targets) = lanes::lanes(raw.lanes, keys, &stages, &kinds, d);
    let metrics = metrics::metrics(raw.metrics, &stages, &kinds, &lane_vars, d);
    let (policy, auto_pause) = policy::policy(raw.policy, &stages, &metrics, d);
    train.lanes = lanes;
    train.policy = policy;
    train.auto_pause = auto_pause;
    let notify = super::notify::notify(raw.notify, &train, d);

    Config {
        path: None,
        identity,
        readonly: raw.readonly,
        audit_path,
        store,
        verify_timeout,
        keys: keymap,
        train,
        sources,
        targets,
        metrics,
        lane_vars,
        ui,
        notify,
    }
}

/// Lane, stage and source names: non-empty, `[A-Za-z0-9._-]`.
pub(super) fn check_name(d: &mut Diagnostics, what: &str, name: &Str) -> bool {
    let n = name.get_ref();
    if n.is_empty() {
        d.error(name.span(), format!("{what} name is empty"));
        false
    } else if !n
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        d.error_hint(name.span(), format!("invalid {what} name {n:?}"), NAME_HINT);
        false
    } else {
        true
    }
}

pub(super) fn unknown_keys(
    d: &mut Diagnostics,
    present: &BTreeMap<Str, serde::de::IgnoredAny>,
    known: &[&str],
    table: &str,
    what: &str,
) {
    for key in present.keys() {
        let k = key.get_ref();
        if !known.contains(&k.as_str()) {
            d.error_hint(
                key.span(),
                format!("unknown key {k:?} in {table}"),
                list_hint(what, k, known),
            );
        }
    }
}

/// The tables of an array of tables (`[[lanes]]`, `[[metrics]]`), in order: each with its
/// index, its path in messages (`lanes[2]`) and its place in the file.
fn tables<T>(
    raw: Vec<Spanned<T>>,
    key: &'static str,
) -> impl Iterator<Item = (usize, String, Range<usize>, T)> {
    raw.into_iter().enumerate().map(move |(i, t)| {
        let span = t.span();
        (i, format!("{key}[{i}]"), span, t.into_inner())
    })
}

/// A duration that must be longer than zero; `None` when absent or invalid (reported).
pub(super) fn positive_duration(
    d: &mut Diagnostics,
    key: &str,
    value: Option<&Str>,
) -> Option<Duration> {
    let value = value?;
    match duration::parse(value.get_ref()) {
        Ok(dur) if dur.is_zero() => {
            d.error(value.span(), format!("{key} must be longer than 0s"));
            None
        }
        Ok(dur) => Some(dur),
        Err(e) => {
            let hint = "durations look like \"500ms\", \"5s\", \"1m30s\", \"2h\"";
            d.error_hint(value.span(), format!("invalid {key}: {e}"), hint);
            None
        }
    }
}

#[cfg(test)]
mod tests;
