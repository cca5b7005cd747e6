//! The file as serde reads it: every value whose place matters for an error is `Spanned`.
//!
//! Structural problems (bad syntax, an unknown key, a value of the wrong type) surface here as
//! one toml error. Everything else is checked in `validate`, which reports every problem.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use toml::Spanned;

pub(crate) type Str = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub identity: Option<Str>,
    #[serde(default)]
    pub readonly: bool,
    pub train: Spanned<RawTrain>,
    #[serde(default)]
    pub sources: BTreeMap<Str, Spanned<RawSource>>,
    #[serde(default)]
    pub lanes: Vec<Spanned<RawLane>>,
    #[serde(default)]
    pub policy: BTreeMap<Str, Spanned<RawPolicy>>,
    pub audit: Option<RawAudit>,
    /// `[store]`: where the team's shared state lives (validate/store.rs).
    pub store: Option<Spanned<RawStore>>,
    pub actions: Option<RawActions>,
    /// `[keys]`: commands remapped to other keys (keys.rs).
    #[serde(default)]
    pub keys: super::keys::RawKeys,
    #[serde(default)]
    pub metrics: Vec<Spanned<RawMetric>>,
    pub ui: Option<super::ui::RawUi>,
    pub notify: Option<super::notify::RawNotify>,
}

/// One `[[metrics]]` table: a PromQL template measured for lanes at stages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetric {
    pub name: Option<Str>,
    pub source: Option<Str>,
    pub query: Option<Str>,
    pub baseline: Option<Str>,
    pub unit: Option<Str>,
    pub threshold: Option<Spanned<RawThreshold>>,
    pub window: Option<Str>,
    pub stages: Option<Vec<Str>>,
    /// The labels of a grouped query's result that name the lane and the stage.
    pub by: Option<Spanned<RawBy>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBy {
    pub lane: Option<Str>,
    pub stage: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThreshold {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrain {
    pub name: Option<Str>,
    pub stages: Option<Spanned<Vec<Str>>>,
    pub window: Option<Spanned<RawWindow>>,
    #[serde(default)]
    pub freezes: Vec<Spanned<RawFreeze>>,
    /// Stages that look different and ask for the lane's name; absent: the last stage.
    pub protected: Option<Vec<Str>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub opens: Spanned<RawTime>,
    pub closes: Spanned<RawTime>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFreeze {
    pub starts: Spanned<RawTime>,
    pub ends: Spanned<RawTime>,
    #[serde(default)]
    pub reason: String,
}

/// A source table. Unknown keys are not rejected by serde here: a source of a kind this build
/// does not support yet has keys of its own, and "kind not supported" is the error to show for
/// it. [`KeyView`] collects the keys so that `validate` can reject unknown ones for the kinds
/// it knows.
#[derive(Debug, Deserialize)]
pub(crate) struct RawSource {
    pub kind: Option<Str>,
    pub url: Option<Str>,
    pub interval: Option<Str>,
    pub timeout: Option<Str>,
    pub stale_after: Option<Str>,
    pub token_env: Option<Str>,
    pub token_cmd: Option<Str>,
    pub token_file: Option<Str>,
    #[serde(default)]
    pub allow_insecure_http: bool,
    pub ca_file: Option<Str>,
    pub api_url: Option<Str>,
    pub version_input: Option<Str>,
    pub environment_input: Option<Str>,
    pub username: Option<Str>,
    pub password_env: Option<Str>,
    pub password_cmd: Option<Str>,
    pub password_file: Option<Str>,
    pub metrics: Option<bool>,
    pub max_in_flight: Option<Spanned<i64>>,
    pub settled_interval: Option<Str>,
    pub requests_per_minute: Option<Spanned<i64>>,
    pub token_type: Option<Str>,
}

/// Keys every kind of source has, after `kind` and its address.
const COMMON_SOURCE_KEYS: &[&str] = &[
    "interval",
    "timeout",
    "stale_after",
    "token_env",
    "token_cmd",
    "token_file",
    "allow_insecure_http",
    "ca_file",
];

/// The keys a source of `kind` may have, in the order hints list them.
pub(crate) fn source_keys(kind: super::SourceKind) -> Vec<&'static str> {
    use super::SourceKind::*;
    let (address, extra): (&str, &[&str]) = match kind {
        Http => ("url", &["metrics"]),
        Github => (
            "api_url",
            &[
                "version_input",
                "environment_input",
                "settled_interval",
                "requests_per_minute",
            ],
        ),
        Gitlab => (
            "api_url",
            &["token_type", "settled_interval", "requests_per_minute"],
        ),
        Prometheus => (
            "url",
            &[
                "username",
                "password_env",
                "password_cmd",
                "password_file",
                "max_in_flight",
            ],
        ),
        Argocd => ("url", &[]),
    };
    ["kind", address]
        .into_iter()
        .chain(COMMON_SOURCE_KEYS.iter().copied())
        .chain(extra.iter().copied())
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLane {
    pub name: Option<Str>,
    pub team: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<Str>,
    pub source: Option<Str>,
    /// github: the lane's repository (`owner/name`), for every stage that doesn't say.
    pub repo: Option<Str>,
    /// github: the lane's branch, for every stage that doesn't say.
    pub branch: Option<Str>,
    /// gitlab: the lane's project (`group/name` or a numeric id), for every stage that
    /// doesn't say.
    pub project: Option<Str>,
    /// Values for `{name}` placeholders in metric queries.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub stages: BTreeMap<Str, Spanned<RawTarget>>,
}

/// Where one stage of a lane is read. Like [`RawSource`], unknown keys are collected by
/// [`KeyView`] rather than rejected here: they belong to the target's source kind.
#[derive(Debug, Deserialize)]
pub(crate) struct RawTarget {
    pub source: Option<Str>,
    pub lane: Option<Str>,
    pub stage: Option<Str>,
    pub repo: Option<Str>,
    pub workflow: Option<Str>,
    pub environment: Option<Str>,
    pub branch: Option<Str>,
    pub project: Option<Str>,
    /// gitlab: how promote deploys, `"job"` (play the manual job) or `"pipeline"`.
    pub promote: Option<Str>,
    /// gitlab: the variables of the pipeline promote creates.
    pub variables: Option<Spanned<BTreeMap<Str, Str>>>,
    pub application: Option<Str>,
    pub app_namespace: Option<Str>,
}

pub(crate) const TARGET_KEYS: &[&str] = &["source", "lane", "stage"];
pub(crate) const GITHUB_TARGET_KEYS: &[&str] =
    &["source", "repo", "workflow", "environment", "branch"];
pub(crate) const GITLAB_TARGET_KEYS: &[&str] = &[
    "source",
    "project",
    "environment",
    "branch",
    "promote",
    "variables",
];
pub(crate) const ARGOCD_TARGET_KEYS: &[&str] =
    &["source", "application", "project", "app_namespace"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub require: Option<Vec<Str>>,
    /// Pause the lane when a metric at this stage breaches its SLO (actor `trainyard-auto`).
    #[serde(default)]
    pub auto_pause: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub path: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    pub kind: Option<Str>,
    pub url: Option<Str>,
    pub password_env: Option<Str>,
    pub password_cmd: Option<Str>,
    pub password_file: Option<Str>,
    pub ca_file: Option<Str>,
    pub connect_timeout: Option<Str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActions {
    pub verify_timeout: Option<Str>,
}

/// The keys, with their places, of every source table and every lane stage target.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyView {
    #[serde(default)]
    pub sources: BTreeMap<String, BTreeMap<Str, IgnoredAny>>,
    #[serde(default)]
    pub lanes: Vec<LaneKeys>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LaneKeys {
    #[serde(default)]
    pub stages: BTreeMap<String, BTreeMap<Str, IgnoredAny>>,
}

/// A time as written: an RFC 3339 string, or a TOML offset date-time (unquoted).
#[derive(Debug)]
pub(crate) enum RawTime {
    Text(String),
    Native(toml::value::Datetime),
}

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TimeVisitor;

        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = RawTime;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 time such as \"2026-11-26T14:00:00Z\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTime, E> {
                Ok(RawTime::Text(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTime, A::Error> {
                let dt =
                    toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawTime::Native(dt))
            }
        }

        d.deserialize_any(TimeVisitor)
    }
}
