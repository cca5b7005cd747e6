//! The meaning of a config: names, references, times, durations, gates and URLs. Every
//! problem is recorded (not just the first) and a [`Config`] is built from what is valid.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use toml::Spanned;

use super::diag::{Diagnostics, list_hint};
use super::raw::{
    GITHUB_TARGET_KEYS, KeyView, RawConfig, RawLane, RawMetric, RawSource, RawTarget, RawTime,
    RawTrain, Str, TARGET_KEYS, source_keys,
};
use super::{Config, MetricConfig, SourceConfig, SourceKind, Target};
use crate::model::{CellKey, Freeze, Gate, Lane, Threshold, Timestamp, Train, Window, duration};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// How far back a metric's series goes when the config doesn't say.
const DEFAULT_WINDOW: Duration = Duration::from_secs(600);
const MIN_STALE_AFTER: Duration = Duration::from_secs(10);
const TIME_HINT: &str = "write an RFC 3339 time with a UTC offset, e.g. \"2026-11-26T14:00:00Z\"";
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

    let verify_timeout = raw
        .actions
        .as_ref()
        .and_then(|a| positive_duration(d, "actions.verify_timeout", a.verify_timeout.as_ref()))
        .unwrap_or(super::DEFAULT_VERIFY_TIMEOUT);

    let train_span = raw.train.span();
    let mut train = train(raw.train.into_inner(), train_span, d);
    let stages: Vec<&str> = train.stages.iter().map(String::as_str).collect();

    let (sources, kinds) = sources(raw.sources, keys, d, check_files);
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
    let (lanes, targets) = lanes(raw.lanes, keys, &stages, &kinds, d);
    let metrics = metrics(raw.metrics, &stages, &kinds, &lane_vars, d);
    let (policy, auto_pause) = policy(raw.policy, &stages, &metrics, d);
    train.lanes = lanes;
    train.policy = policy;
    train.auto_pause = auto_pause;

    Config {
        path: None,
        identity,
        readonly: raw.readonly,
        audit_path,
        verify_timeout,
        train,
        sources,
        targets,
        metrics,
        lane_vars,
    }
}

/// `[[metrics]]`: a prometheus source, a query whose placeholders every lane can fill, a known
/// unit, a sane threshold, a window, known stages.
fn metrics(
    raw: Vec<Spanned<RawMetric>>,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    lane_vars: &BTreeMap<String, BTreeMap<String, String>>,
    d: &mut Diagnostics,
) -> Vec<MetricConfig> {
    const UNITS: &[&str] = &["ratio", "seconds", "percent", "count", "rps"];
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for (i, m) in raw.into_iter().enumerate() {
        let span = m.span();
        let m = m.into_inner();
        let path = format!("metrics[{i}]");
        let ok_before = d.len();
        let name = match &m.name {
            Some(n) if check_name(d, "metric", n) => {
                if !names.insert(n.get_ref().clone()) {
                    d.error(n.span(), format!("duplicate metric {:?}", n.get_ref()));
                }
                n.get_ref().clone()
            }
            Some(_) => String::new(),
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no name"),
                    "add `name = \"error_rate\"`",
                );
                String::new()
            }
        };
        let prometheus: Vec<&str> = kinds
            .iter()
            .filter(|(_, k)| **k == Some(SourceKind::Prometheus))
            .map(|(n, _)| n.as_str())
            .collect();
        let source = match &m.source {
            Some(s) => match kinds.get(s.get_ref()) {
                Some(Some(SourceKind::Prometheus)) => s.get_ref().clone(),
                Some(_) => {
                    let hint = list_hint("prometheus sources", s.get_ref(), &prometheus);
                    d.error_hint(
                        s.span(),
                        format!("{path}.source {:?} is not a prometheus source", s.get_ref()),
                        hint,
                    );
                    String::new()
                }
                None => {
                    let hint = list_hint("prometheus sources", s.get_ref(), &prometheus);
                    d.error_hint(
                        s.span(),
                        format!("unknown source {:?} in {path}.source", s.get_ref()),
                        hint,
                    );
                    String::new()
                }
            },
            None => match prometheus.as_slice() {
                [only] => only.to_string(),
                _ => {
                    d.error_hint(
                        span.clone(),
                        format!("{path} names no source"),
                        "add `source = \"prom\"` (a source of kind prometheus)",
                    );
                    String::new()
                }
            },
        };
        let known_vars: BTreeSet<&str> = lane_vars
            .values()
            .flat_map(|v| v.keys().map(String::as_str))
            .collect();
        let check_query = |d: &mut Diagnostics, q: &Str, what: &str| {
            let text = q.get_ref();
            if text.trim().is_empty() {
                d.error(q.span(), format!("{path}.{what} is empty"));
                return;
            }
            // Every {placeholder} is {lane}, {stage}, or a var every lane sets. PromQL's own
            // braces hold label matchers, so look at every '{', not only the outer ones.
            let mut seen = BTreeSet::new();
            for (open, _) in text.match_indices('{') {
                let after = &text[open + 1..];
                let Some(close) = after.find('}') else {
                    continue;
                };
                let name = &after[..close];
                let is_ident =
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !is_ident || name == "lane" || name == "stage" || !seen.insert(name.to_string())
                {
                    continue;
                }
                let missing: Vec<&str> = lane_vars
                    .iter()
                    .filter(|(_, v)| !v.contains_key(name))
                    .map(|(l, _)| l.as_str())
                    .collect();
                if !known_vars.contains(name) {
                    let known: Vec<&str> = ["lane", "stage"]
                        .into_iter()
                        .chain(known_vars.iter().copied())
                        .collect();
                    d.error_hint(
                        q.span(),
                        format!("unknown placeholder {{{name}}} in {path}.{what}"),
                        list_hint("placeholders", name, &known),
                    );
                } else if !missing.is_empty() {
                    d.error_hint(
                        q.span(),
                        format!(
                            "placeholder {{{name}}} in {path}.{what} is not set for lane {:?}",
                            missing[0]
                        ),
                        format!("add `vars = {{ {name} = \"…\" }}` to every lane"),
                    );
                }
            }
        };
        let query = match &m.query {
            Some(q) => {
                check_query(d, q, "query");
                q.get_ref().clone()
            }
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no query"),
                    "add `query = '…PromQL with {lane} and {stage}…'`",
                );
                String::new()
            }
        };
        if let Some(b) = &m.baseline {
            check_query(d, b, "baseline");
        }
        let unit = match &m.unit {
            Some(u) if UNITS.contains(&u.get_ref().as_str()) => u.get_ref().clone(),
            Some(u) => {
                d.error_hint(
                    u.span(),
                    format!("unknown unit {:?}", u.get_ref()),
                    list_hint("units", u.get_ref(), UNITS),
                );
                String::new()
            }
            None => "ratio".into(),
        };
        let threshold = match &m.threshold {
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no threshold"),
                    "add `threshold = { max = 0.01 }` (or `min`)",
                );
                Threshold::default()
            }
            Some(t) => {
                let r = t.get_ref();
                let finite = [r.min, r.max].into_iter().flatten().all(f64::is_finite);
                if r.min.is_none() && r.max.is_none() {
                    d.error_hint(
                        t.span(),
                        format!("{path}.threshold sets neither min nor max"),
                        "e.g. `{ max = 0.01 }`",
                    );
                } else if !finite {
                    d.error(t.span(), format!("{path}.threshold must be finite numbers"));
                } else if let (Some(lo), Some(hi)) = (r.min, r.max)
                    && lo >= hi
                {
                    d.error(
                        t.span(),
                        format!("{path}.threshold: min ({lo}) must be below max ({hi})"),
                    );
                }
                Threshold {
                    min: r.min,
                    max: r.max,
                }
            }
        };
        let window = positive_duration(d, &format!("{path}.window"), m.window.as_ref())
            .unwrap_or(DEFAULT_WINDOW);
        let metric_stages = match &m.stages {
            None => stages.iter().map(|s| s.to_string()).collect(),
            Some(list) => list
                .iter()
                .filter_map(|s| {
                    if stages.contains(&s.get_ref().as_str()) {
                        Some(s.get_ref().clone())
                    } else {
                        d.error_hint(
                            s.span(),
                            format!("unknown stage {:?} in {path}.stages", s.get_ref()),
                            list_hint("stages", s.get_ref(), stages),
                        );
                        None
                    }
                })
                .collect(),
        };
        if d.len() == ok_before {
            out.push(MetricConfig {
                name,
                source,
                query,
                baseline: m.baseline.map(Spanned::into_inner),
                unit,
                threshold,
                window,
                stages: metric_stages,
            });
        }
    }
    out
}

/// Lane, stage and source names: non-empty, `[A-Za-z0-9._-]`.
fn check_name(d: &mut Diagnostics, what: &str, name: &Str) -> bool {
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

fn train(raw: RawTrain, span: Range<usize>, d: &mut Diagnostics) -> Train {
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
        let (opens, closes) = (time(d, &w.opens), time(d, &w.closes));
        let (opens, closes) = (opens?, closes?);
        if closes <= opens {
            let message = format!(
                "window closes at {}, not after it opens at {}",
                rfc3339(closes),
                rfc3339(opens)
            );
            d.error(w.closes.span(), message);
            return None;
        }
        Some(Window { opens, closes })
    });

    let freezes = raw
        .freezes
        .into_iter()
        .filter_map(|f| {
            let f = f.into_inner();
            let (starts, ends) = (time(d, &f.starts), time(d, &f.ends));
            let (starts, ends) = (starts?, ends?);
            if ends <= starts {
                let message = format!(
                    "freeze ends at {}, not after it starts at {}",
                    rfc3339(ends),
                    rfc3339(starts)
                );
                d.error(f.ends.span(), message);
                return None;
            }
            Some(Freeze {
                starts,
                ends,
                reason: f.reason,
            })
        })
        .collect();

    Train {
        name,
        stages,
        window,
        freezes,
        lanes: Vec::new(),
        policy: BTreeMap::new(),
        auto_pause: BTreeSet::new(),
    }
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

/// The checked http sources, and the kind of every source named in the file (`None` when the
/// kind is missing, unknown or not supported: that is reported once, at the source).
fn sources(
    raw: BTreeMap<Str, Spanned<RawSource>>,
    keys: &KeyView,
    d: &mut Diagnostics,
    check_files: bool,
) -> (
    BTreeMap<String, SourceConfig>,
    BTreeMap<String, Option<SourceKind>>,
) {
    let mut out = BTreeMap::new();
    let mut kinds = BTreeMap::new();
    if raw.is_empty() {
        let hint =
            "add a source, e.g. [sources.pipeline] with kind = \"http\" and url = \"https://…\"";
        d.error_hint(0..0, "no sources: trainyard has nothing to read", hint);
    }
    for (name, table) in raw {
        check_name(d, "source", &name);
        let span = table.span();
        let name = name.into_inner();
        let src = table.into_inner();
        let kind = source_kind(d, &name, &src, span.clone());
        kinds.insert(name.clone(), kind);
        let Some(kind) = kind else { continue };
        let (known, what) = match kind {
            SourceKind::Http => (source_keys(kind), "keys of an http source"),
            SourceKind::Github => (source_keys(kind), "keys of a github source"),
            SourceKind::Prometheus => (source_keys(kind), "keys of a prometheus source"),
        };
        if let Some(table_keys) = keys.sources.get(&name) {
            unknown_keys(d, table_keys, &known, &format!("sources.{name}"), what);
        }
        if let Some(source) = source_config(d, kind, name.clone(), src, span, check_files) {
            out.insert(name, source);
        }
    }
    (out, kinds)
}

fn source_kind(
    d: &mut Diagnostics,
    name: &str,
    src: &RawSource,
    span: Range<usize>,
) -> Option<SourceKind> {
    let supported = SourceKind::SUPPORTED.join(", ");
    let Some(kind) = &src.kind else {
        let hint = format!("add `kind = \"http\"`; supported kinds: {supported}");
        d.error_hint(span, format!("source {name:?} has no kind"), hint);
        return None;
    };
    let k = kind.get_ref();
    if let Some(kind) = SourceKind::parse(k) {
        return Some(kind);
    }
    if SourceKind::PLANNED.contains(&k.as_str()) {
        let hint = format!("supported kinds: {supported}");
        d.error_hint(
            kind.span(),
            format!("source kind {k:?} is not supported by this build yet"),
            hint,
        );
    } else {
        let mut hint = list_hint("supported kinds", k, SourceKind::SUPPORTED);
        hint.push_str(&format!("; planned: {}", SourceKind::PLANNED.join(", ")));
        d.error_hint(kind.span(), format!("unknown source kind {k:?}"), hint);
    }
    None
}

fn unknown_keys(
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

/// The API a github source talks to when the config doesn't say.
pub(crate) const GITHUB_API: &str = "https://api.github.com";

fn source_config(
    d: &mut Diagnostics,
    kind: SourceKind,
    name: String,
    src: RawSource,
    span: Range<usize>,
    check_files: bool,
) -> Option<SourceConfig> {
    let ok_before = d.len();
    let url = match (kind, &src.url, &src.api_url) {
        (SourceKind::Http | SourceKind::Prometheus, None, _) => {
            let hint = "add the base URL of the pipeline's API, e.g. `url = \"https://deploy.example.com\"`";
            d.error_hint(span, format!("source {name:?} has no url"), hint);
            String::new()
        }
        (SourceKind::Http | SourceKind::Prometheus, Some(url), _)
        | (SourceKind::Github, _, Some(url)) => check_url(d, &name, url, src.allow_insecure_http),
        (SourceKind::Github, _, None) => GITHUB_API.to_string(),
    };
    let input = |v: &Option<Str>, default: &str| {
        v.as_ref()
            .map_or_else(|| default.to_string(), |s| s.get_ref().trim().to_string())
    };
    let version_input = input(&src.version_input, "version");
    let environment_input = input(&src.environment_input, "environment");
    for v in [&src.version_input, &src.environment_input]
        .into_iter()
        .flatten()
    {
        if v.get_ref().trim().is_empty() {
            d.error_hint(
                v.span(),
                "empty workflow input name",
                "leave it out for the default",
            );
        }
    }

    let interval =
        positive_duration(d, "interval", src.interval.as_ref()).unwrap_or(DEFAULT_INTERVAL);
    let timeout = positive_duration(d, "timeout", src.timeout.as_ref()).unwrap_or(DEFAULT_TIMEOUT);
    let stale_after = match positive_duration(d, "stale_after", src.stale_after.as_ref()) {
        None => (interval * 3).max(MIN_STALE_AFTER),
        Some(stale) => {
            let at = src.stale_after.as_ref().map_or(0..0, Spanned::span);
            let hint = "data older than stale_after is marked stale; leave it out for 3 × interval";
            if stale < MIN_STALE_AFTER {
                let message = format!(
                    "stale_after must be at least 10s, not {}",
                    duration::compact(stale)
                );
                d.error_hint(at, message, hint);
            } else if stale <= interval {
                let message = format!(
                    "stale_after ({}) must be longer than interval ({})",
                    duration::compact(stale),
                    duration::compact(interval)
                );
                d.error_hint(at, message, hint);
            }
            stale
        }
    };

    for (key, var) in [
        ("token_env", &src.token_env),
        ("password_env", &src.password_env),
    ] {
        let Some(var) = var else { continue };
        // The value is never repeated in a message: it may be a token written by mistake.
        let v = var.get_ref();
        let valid = v
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let hint = format!(
            "{key} is the NAME of an environment variable that holds the secret, \
             e.g. \"PIPELINE_TOKEN\"; never write the secret itself in the config"
        );
        if !valid {
            d.error_hint(
                var.span(),
                format!("{key} is not an environment variable name"),
                hint,
            );
        } else if crate::secrets::looks_like_token(v) {
            d.error_hint(
                var.span(),
                format!("{key} looks like a token, not the name of a variable"),
                hint,
            );
        }
    }
    for (key, cmd) in [
        ("token_cmd", &src.token_cmd),
        ("password_cmd", &src.password_cmd),
    ] {
        if let Some(cmd) = cmd
            && cmd.get_ref().trim().is_empty()
        {
            d.error_hint(
                cmd.span(),
                format!("{key} is empty"),
                format!(
                    "e.g. `{key} = \"pass show ci/{}\"`",
                    key.trim_end_matches("_cmd")
                ),
            );
        }
    }
    for (key, file) in [
        ("token_file", &src.token_file),
        ("password_file", &src.password_file),
    ] {
        let Some(file) = file else { continue };
        if file.get_ref().trim().is_empty() {
            let hint = format!(
                "the path of a file that holds only the secret, e.g. \
                 `{key} = \"~/.config/trainyard/ci.secret\"`"
            );
            d.error_hint(file.span(), format!("{key} is empty"), hint);
        } else if check_files {
            let path = super::expand_home(file.get_ref());
            if let Err(e) = crate::secrets::check_secret_file(key, &path) {
                d.error_hint(file.span(), e.message, e.hint);
            }
        }
    }
    let tokens = [
        ("token_env", &src.token_env),
        ("token_cmd", &src.token_cmd),
        ("token_file", &src.token_file),
    ];
    exclusive(
        d,
        &tokens,
        "keep one: token_env names an environment variable, token_cmd a command that prints the \
         token, token_file a file that holds it",
    );
    let passwords = [
        ("password_env", &src.password_env),
        ("password_cmd", &src.password_cmd),
        ("password_file", &src.password_file),
    ];
    exclusive(
        d,
        &passwords,
        "keep one: password_env names an environment variable, password_cmd a command that \
         prints the password, password_file a file that holds it",
    );
    let password = passwords.iter().find_map(|(_, v)| v.as_ref());
    let token = tokens.iter().any(|(_, v)| v.is_some());
    let basic = kind == SourceKind::Prometheus;
    match (&src.username, password.filter(|_| basic)) {
        (Some(u), None) => d.error_hint(
            u.span(),
            "username without a password",
            "add `password_env = \"PROM_PASSWORD\"` (or password_cmd, password_file)",
        ),
        (None, Some(p)) => d.error_hint(
            p.span(),
            "a password without username",
            "add `username = \"…\"`",
        ),
        (Some(u), Some(_)) if token => d.error_hint(
            u.span(),
            "basic auth and a token are exclusive",
            "keep one: username + password_env / password_cmd / password_file, or token_env / \
             token_cmd / token_file",
        ),
        _ => {}
    }
    if let Some(ca) = &src.ca_file {
        if ca.get_ref().trim().is_empty() {
            d.error_hint(
                ca.span(),
                "ca_file is empty",
                "the path of a PEM file with the CA certificate(s), e.g. \"/etc/ssl/corp-ca.pem\"",
            );
        } else if check_files && let Err(e) = check_ca_file(&super::expand_home(ca.get_ref())) {
            d.error_hint(ca.span(), e.0, e.1);
        }
    }
    (d.len() == ok_before).then(|| SourceConfig {
        name,
        kind,
        url,
        interval,
        timeout,
        stale_after,
        token_env: src.token_env.map(Spanned::into_inner),
        token_cmd: src.token_cmd.map(Spanned::into_inner),
        token_file: src.token_file.map(Spanned::into_inner),
        allow_insecure_http: src.allow_insecure_http,
        ca_file: src.ca_file.map(Spanned::into_inner),
        version_input,
        environment_input,
        username: src.username.map(Spanned::into_inner),
        password_env: src.password_env.map(Spanned::into_inner),
        password_cmd: src.password_cmd.map(Spanned::into_inner),
        password_file: src.password_file.map(Spanned::into_inner),
        metrics: src.metrics.unwrap_or(true),
    })
}

/// At most one of `keys` may be set: an error at every one after the first.
fn exclusive(d: &mut Diagnostics, keys: &[(&str, &Option<Str>); 3], hint: &str) {
    let set: Vec<(&str, &Str)> = keys
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    if let Some((first, _)) = set.first() {
        for (key, v) in &set[1..] {
            d.error_hint(v.span(), format!("{first} and {key} are exclusive"), hint);
        }
    }
}

/// A CA file must be a readable file with at least one PEM certificate in it. (The
/// certificates themselves are read when the source's client is built.)
fn check_ca_file(path: &std::path::Path) -> Result<(), (String, String)> {
    let shown = path.display();
    let hint = "ca_file is a PEM file with one or more \"-----BEGIN CERTIFICATE-----\" blocks \
                (the corporate CA that signs the server's certificate)";
    let meta = std::fs::metadata(path).map_err(|e| {
        (
            format!("ca_file {shown}: cannot read: {e}"),
            hint.to_string(),
        )
    })?;
    if !meta.is_file() {
        return Err((
            format!("ca_file {shown} is not a regular file"),
            hint.into(),
        ));
    }
    let text = std::fs::read(path).map_err(|e| {
        (
            format!("ca_file {shown}: cannot read: {e}"),
            hint.to_string(),
        )
    })?;
    if !text
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err((
            format!("ca_file {shown} holds no PEM certificate"),
            hint.into(),
        ));
    }
    Ok(())
}

/// The url as written without trailing slashes, after checking it.
fn check_url(d: &mut Diagnostics, source: &str, url: &Str, allow_insecure_http: bool) -> String {
    let text = url.get_ref().trim();
    let at = url.span();
    let parsed = match url::Url::parse(text) {
        Ok(u) => u,
        Err(e) => {
            let hint = "e.g. \"https://deploy.example.com\" or \"http://127.0.0.1:7878\"";
            // The text is not repeated: it may hold a secret.
            d.error_hint(at, format!("invalid url: {e}"), hint);
            return String::new();
        }
    };
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let hint = format!(
                "use https://, or set `allow_insecure_http = true` in [sources.{source}] if the \
                 network to {host} is trusted"
            );
            let message =
                format!("plain http:// is allowed only to loopback hosts, not to {host:?}");
            d.error_hint(at, message, hint);
        }
        scheme => {
            d.error(
                at,
                format!("url scheme {scheme:?} is not supported: use http or https"),
            );
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let hint = "the config is no place for secrets: name the token with token_env, token_cmd or \
                    token_file";
        d.error_hint(url.span(), "url must not contain credentials", hint);
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        let hint = "give the base URL: trainyard appends the API paths to it";
        d.error_hint(url.span(), "url must not have a query or fragment", hint);
    }
    text.trim_end_matches('/').to_string()
}

/// localhost, 127.0.0.0/8 and ::1: where plain http is allowed (config check and, at run time,
/// `sources::client`).
pub fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A duration that must be longer than zero; `None` when absent or invalid (reported).
fn positive_duration(d: &mut Diagnostics, key: &str, value: Option<&Str>) -> Option<Duration> {
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

/// A lane with a usable name, as read, for the dependency checks.
struct NamedLane {
    index: usize,
    name: String,
    depends_on: Vec<Str>,
}

fn lanes(
    raw: Vec<Spanned<RawLane>>,
    keys: &KeyView,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    d: &mut Diagnostics,
) -> (Vec<Lane>, BTreeMap<CellKey, Target>) {
    if raw.is_empty() {
        let hint = "add a lane: [[lanes]] with a name and a source";
        d.error_hint(0..0, "no lanes: the train carries nothing", hint);
    }
    let source_names: Vec<&str> = kinds.keys().map(String::as_str).collect();
    let mut first_at: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut named: Vec<NamedLane> = Vec::new();
    let mut out = Vec::new();
    let mut targets = BTreeMap::new();

    for (i, lane) in raw.into_iter().enumerate() {
        let span = lane.span();
        let lane = lane.into_inner();
        let path = format!("lanes[{i}]");

        let name = match &lane.name {
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no name"),
                    "add `name = \"…\"`",
                );
                None
            }
            Some(n) if !check_name(d, "lane", n) => None,
            Some(n) => {
                if let Some(first) = first_at.get(n.get_ref()) {
                    let (line, _) = super::diag::line_col(d.text(), first.start);
                    let hint = format!("lane {:?} is first defined on line {line}", n.get_ref());
                    d.error_hint(n.span(), format!("duplicate lane {:?}", n.get_ref()), hint);
                    None
                } else {
                    first_at.insert(n.get_ref().clone(), n.span());
                    Some(n.get_ref().clone())
                }
            }
        };

        // A source named by the lane or a target must exist.
        let check_source = |d: &mut Diagnostics, s: &Str, at: &str| {
            let known = kinds.contains_key(s.get_ref());
            if !known {
                let hint = list_hint("sources", s.get_ref(), &source_names);
                d.error_hint(
                    s.span(),
                    format!("unknown source {:?} in {at}", s.get_ref()),
                    hint,
                );
            }
            known
        };
        if let Some(s) = &lane.source {
            check_source(d, s, &format!("{path}.source"));
        }
        for (stage, target) in &lane.stages {
            if !stages.contains(&stage.get_ref().as_str()) {
                let hint = list_hint("stages", stage.get_ref(), stages);
                d.error_hint(
                    stage.span(),
                    format!("unknown stage {:?} in {path}.stages", stage.get_ref()),
                    hint,
                );
                continue;
            }
            let target_path = format!("{path}.stages.{}", stage.get_ref());
            let target = target.get_ref();
            if let Some(s) = &target.source
                && !check_source(d, s, &format!("{target_path}.source"))
            {
                continue;
            }
            for remote in [&target.lane, &target.stage].into_iter().flatten() {
                if remote.get_ref().trim().is_empty() {
                    let hint = "leave it out to use the name in this config";
                    d.error_hint(
                        remote.span(),
                        format!("empty remote name in {target_path}"),
                        hint,
                    );
                }
            }
            let source = target.source.as_ref().or(lane.source.as_ref());
            let kind = source.and_then(|s| kinds.get(s.get_ref()).copied().flatten());
            let present = keys
                .lanes
                .get(i)
                .and_then(|l| l.stages.get(stage.get_ref()));
            let known = match kind {
                Some(SourceKind::Http) => {
                    Some((TARGET_KEYS, "keys of a stage target of an http source"))
                }
                Some(SourceKind::Github) => Some((
                    GITHUB_TARGET_KEYS,
                    "keys of a stage target of a github source",
                )),
                Some(SourceKind::Prometheus) | None => None,
            };
            if kind == Some(SourceKind::Prometheus) {
                d.error_hint(
                    stage.span(),
                    format!("{target_path} reads cells from a prometheus source"),
                    "a prometheus source measures metrics ([[metrics]]); cells come from http or github",
                );
            }
            if let (Some((known, what)), Some(present)) = (known, present) {
                unknown_keys(d, present, known, &target_path, what);
            }
            if kind == Some(SourceKind::Github) {
                github_target(d, &lane, target, &target_path, stage.span());
            }
        }

        // A github lane needs to say, for every stage, what to read there.
        let lane_kind = lane
            .source
            .as_ref()
            .and_then(|s| kinds.get(s.get_ref()).copied().flatten());
        if lane_kind == Some(SourceKind::Github) {
            for stage in stages
                .iter()
                .filter(|s| !lane.stages.keys().any(|k| k.get_ref() == *s))
            {
                let at = lane.name.as_ref().map_or(span.clone(), Spanned::span);
                d.error_hint(
                    at,
                    format!("{path} reads github but says nothing for stage {stage:?}"),
                    format!("add `stages.{stage} = {{ workflow = \"ci.yml\" }}` or `{{ environment = \"{stage}\", workflow = \"deploy.yml\" }}`"),
                );
            }
        }

        let Some(name) = name else { continue };
        let team = lane.team.clone().unwrap_or_default();
        lane_targets(d, &name, &lane, stages, kinds, &mut targets);
        out.push(Lane {
            name: name.clone(),
            team,
            depends_on: lane
                .depends_on
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
        });
        named.push(NamedLane {
            index: i,
            name,
            depends_on: lane.depends_on,
        });
    }

    dependencies(d, &named);
    (out, targets)
}

/// Fill `targets` with every stage of one lane, or report the stages it has no source for.
fn lane_targets(
    d: &mut Diagnostics,
    name: &str,
    lane: &RawLane,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    targets: &mut BTreeMap<CellKey, Target>,
) {
    let mut missing: Vec<&str> = Vec::new();
    for &stage in stages {
        let over = lane.stages.get(stage).map(Spanned::get_ref);
        let source = over
            .and_then(|t| t.source.as_ref())
            .or(lane.source.as_ref());
        let Some(source) = source else {
            missing.push(stage);
            continue;
        };
        targets.insert(
            CellKey::new(name, stage),
            Target {
                source: source.get_ref().clone(),
                lane: over
                    .and_then(|t| t.lane.as_ref())
                    .map_or(name, |s| s.get_ref())
                    .to_string(),
                stage: over
                    .and_then(|t| t.stage.as_ref())
                    .map_or(stage, |s| s.get_ref())
                    .to_string(),
                repo: over
                    .and_then(|t| t.repo.as_ref())
                    .or(lane.repo.as_ref())
                    .map(|s| s.get_ref().clone()),
                workflow: over
                    .and_then(|t| t.workflow.as_ref())
                    .map(|s| s.get_ref().clone()),
                environment: over
                    .and_then(|t| t.environment.as_ref())
                    .map(|s| s.get_ref().clone()),
                branch: over
                    .and_then(|t| t.branch.as_ref())
                    .or(lane.branch.as_ref())
                    .map(|s| s.get_ref().clone()),
            },
        );
    }
    let Some(first) = missing.first() else { return };
    let at = lane.name.as_ref().map_or(0..0, Spanned::span);
    let quoted: Vec<String> = missing.iter().map(|s| format!("{s:?}")).collect();
    let message = if missing.len() == 1 {
        format!("lane {name:?} has no source for stage {first:?}")
    } else {
        format!(
            "lane {name:?} has no source for stages {}",
            quoted.join(", ")
        )
    };
    let only_source = match kinds.keys().collect::<Vec<_>>().as_slice() {
        [only] => only.as_str(),
        _ => "...",
    };
    let hint = format!(
        "set `source = \"{only_source}\"` on the lane or `stages.{first} = {{ source = ... }}`"
    );
    d.error_hint(at, message, hint);
}

/// A github stage needs a repository, and a workflow (a CI stage) or an environment (a deploy
/// stage).
fn github_target(d: &mut Diagnostics, lane: &RawLane, t: &RawTarget, path: &str, at: Range<usize>) {
    match t.repo.as_ref().or(lane.repo.as_ref()) {
        None => d.error_hint(
            at.clone(),
            format!("{path} reads github but names no repository"),
            "set `repo = \"owner/name\"` on the lane or in the stage",
        ),
        Some(r) => {
            let ok = r.get_ref().split_once('/').is_some_and(|(o, n)| {
                !o.is_empty()
                    && !n.is_empty()
                    && !n.contains('/')
                    && !r.get_ref().contains(char::is_whitespace)
            });
            if !ok {
                d.error_hint(
                    r.span(),
                    format!("repo {:?} is not owner/name", r.get_ref()),
                    "e.g. `repo = \"acme/payments-api\"`",
                );
            }
        }
    }
    if t.workflow.is_none() && t.environment.is_none() {
        d.error_hint(
            at,
            format!("{path} reads github but names neither a workflow nor an environment"),
            "a CI stage: `workflow = \"ci.yml\"`; a deploy stage: `environment = \"production\", workflow = \"deploy.yml\"`",
        );
    }
}

/// Every dependency names another lane, once; and there are no cycles.
fn dependencies(d: &mut Diagnostics, lanes: &[NamedLane]) {
    let index: BTreeMap<&str, usize> = lanes
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
    // edges[i]: (lane, where the depends_on entry is) for the valid dependencies of lane i.
    let mut edges: Vec<Vec<(usize, Range<usize>)>> = vec![Vec::new(); lanes.len()];
    for (i, lane) in lanes.iter().enumerate() {
        let path = format!("lanes[{}].depends_on", lane.index);
        let mut seen = BTreeSet::new();
        for dep in &lane.depends_on {
            let name = dep.get_ref().as_str();
            if name == lane.name {
                d.error(dep.span(), format!("lane {name:?} depends on itself"));
            } else if let Some(&j) = index.get(name) {
                if seen.insert(name) {
                    edges[i].push((j, dep.span()));
                } else {
                    d.error(dep.span(), format!("{name:?} is listed twice in {path}"));
                }
            } else {
                let hint = list_hint("lanes", name, &names);
                d.error_hint(dep.span(), format!("unknown lane {name:?} in {path}"), hint);
            }
        }
    }
    for (at, cycle) in cycles(&edges) {
        let path: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
        let hint = "a lane cannot wait for itself: remove one of these depends_on entries";
        d.error_hint(at, format!("dependency cycle: {}", path.join(" -> ")), hint);
    }
}

/// Every cycle a depth-first search meets, as the place of the edge that closes it and the
/// path around it (first lane repeated at the end). Iterative: no recursion on user data.
fn cycles(edges: &[Vec<(usize, Range<usize>)>]) -> Vec<(Range<usize>, Vec<usize>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        mark[start] = Mark::OnPath;
        // The current path: (lane, index of its next edge to follow).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some((to, at)) = edges[node].get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[*to] {
                Mark::New => {
                    mark[*to] = Mark::OnPath;
                    path.push((*to, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|&(n, _)| n == *to).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(*to);
                    found.push((at.clone(), cycle));
                }
                Mark::Done => {}
            }
        }
    }
    found
}

/// The gates per stage, and the stages that pause a lane on an SLO breach.
fn policy(
    raw: BTreeMap<Str, Spanned<super::raw::RawPolicy>>,
    stages: &[&str],
    metrics: &[MetricConfig],
    d: &mut Diagnostics,
) -> (BTreeMap<String, Vec<Gate>>, BTreeSet<String>) {
    let mut out = BTreeMap::new();
    let mut auto_pause = BTreeSet::new();
    for (stage, table) in raw {
        let known_stage = stages.contains(&stage.get_ref().as_str());
        if !known_stage {
            let hint = list_hint("stages", stage.get_ref(), stages);
            d.error_hint(
                stage.span(),
                format!("unknown stage {:?} in policy", stage.get_ref()),
                hint,
            );
        }
        let span = table.span();
        let stage = stage.into_inner();
        let table = table.into_inner();
        if table.auto_pause && known_stage {
            auto_pause.insert(stage.clone());
        }
        let Some(require) = table.require else {
            let hint =
                "e.g. `require = [\"checks_green\", \"approval\"]`; `require = []` means no gates";
            d.error_hint(span, format!("[policy.{stage}] has no require list"), hint);
            continue;
        };
        let mut gates: Vec<(Gate, &str)> = Vec::new();
        for g in &require {
            let Some(gate) = gate(d, g, &stage) else {
                continue;
            };
            if let Gate::Slo(Some(w)) = gate {
                slo_window_fits(d, g, w, &stage, stages, metrics);
            }
            let text = g.get_ref().trim();
            let same_kind =
                |(x, _): &&(Gate, &str)| std::mem::discriminant(x) == std::mem::discriminant(&gate);
            match gates.iter().find(same_kind) {
                Some((_, first)) if *first == text => {
                    d.error(
                        g.span(),
                        format!("gate {text:?} is listed twice in policy.{stage}.require"),
                    );
                }
                Some((_, first)) => {
                    d.error(
                        g.span(),
                        format!("gate {text:?} repeats {first:?} in policy.{stage}.require"),
                    );
                }
                None => gates.push((gate, text)),
            }
        }
        let gates: Vec<Gate> = gates.into_iter().map(|(g, _)| g).collect();
        if known_stage {
            out.insert(stage, gates);
        }
    }
    (out, auto_pause)
}

/// `slo:D` looks at the previous stage's series: a metric measured there over a shorter window
/// would let the gate see less than it says.
fn slo_window_fits(
    d: &mut Diagnostics,
    g: &Str,
    w: Duration,
    stage: &str,
    stages: &[&str],
    metrics: &[MetricConfig],
) {
    let Some(i) = stages.iter().position(|s| *s == stage).filter(|i| *i > 0) else {
        return;
    };
    let from = stages[i - 1];
    for m in metrics
        .iter()
        .filter(|m| m.stages.iter().any(|s| s == from))
    {
        if m.window < w {
            d.error_hint(
                g.span(),
                format!(
                    "gate {:?} looks back {} but metric {:?} is measured over {} at {from}",
                    g.get_ref().trim(),
                    duration::compact(w),
                    m.name,
                    duration::compact(m.window)
                ),
                format!(
                    "set `window = \"{}\"` on metric {:?}, or shorten the gate",
                    duration::compact(w),
                    m.name
                ),
            );
        }
    }
}

fn gate(d: &mut Diagnostics, g: &Str, stage: &str) -> Option<Gate> {
    let text = g.get_ref().trim();
    match Gate::parse(text) {
        Ok(gate) => Some(gate),
        Err(e) if text == "soak" || text.starts_with("soak:") => {
            let hint = "write soak:DURATION, e.g. \"soak:30m\"";
            d.error_hint(g.span(), format!("invalid gate {text:?}: {e}"), hint);
            None
        }
        Err(e) if text.starts_with("slo:") => {
            let hint =
                "write slo:DURATION, e.g. \"slo:10m\", or plain \"slo\" for each metric's window";
            d.error_hint(g.span(), format!("invalid gate {text:?}: {e}"), hint);
            None
        }
        Err(_) => {
            let hint = list_hint("gates", text, Gate::NAMES);
            d.error_hint(
                g.span(),
                format!("unknown gate {text:?} in policy.{stage}.require"),
                hint,
            );
            None
        }
    }
}
