//! `[sources.NAME]`: the kind, the URL (https off loopback), the intervals, and how the source
//! finds its token or password without the config holding it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::{check_name, positive_duration, unknown_keys};
use crate::config::diag::{Diagnostics, list_hint};
use crate::config::raw::{KeyView, RawSource, Str, source_keys};
use crate::config::{SourceConfig, SourceKind};
use crate::model::duration;

pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) const MIN_STALE_AFTER: Duration = Duration::from_secs(10);

/// The checked http sources, and the kind of every source named in the file (`None` when the
/// kind is missing, unknown or not supported: that is reported once, at the source).
pub(super) fn sources(
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
            SourceKind::Gitlab => (source_keys(kind), "keys of a gitlab source"),
            SourceKind::Argocd => (source_keys(kind), "keys of an argocd source"),
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

pub(super) fn source_kind(
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

/// The API a github source talks to when the config doesn't say.
pub(crate) const GITHUB_API: &str = "https://api.github.com";

/// The API a gitlab source talks to when the config doesn't say.
pub(crate) const GITLAB_API: &str = "https://gitlab.com/api/v4";

pub(super) fn source_config(
    d: &mut Diagnostics,
    kind: SourceKind,
    name: String,
    src: RawSource,
    span: Range<usize>,
    check_files: bool,
) -> Option<SourceConfig> {
    let ok_before = d.len();
    let url = match (kind, &src.url, &src.api_url) {
        (SourceKind::Argocd, None, _) => {
            let hint = "add the URL of the Argo CD API server, e.g. `url = \"https://argocd.example.com\"`";
            d.error_hint(span, format!("source {name:?} has no url"), hint);
            String::new()
        }
        (SourceKind::Http | SourceKind::Prometheus, None, _) => {
            let hint = "add the base URL of the pipeline's API, e.g. `url = \"https://deploy.example.com\"`";
            d.error_hint(span, format!("source {name:?} has no url"), hint);
            String::new()
        }
        (SourceKind::Http | SourceKind::Prometheus | SourceKind::Argocd, Some(url), _)
        | (SourceKind::Github | SourceKind::Gitlab, _, Some(url)) => {
            check_url(d, &name, url, src.allow_insecure_http)
        }
        (SourceKind::Github, _, None) => GITHUB_API.to_string(),
        (SourceKind::Gitlab, _, None) => GITLAB_API.to_string(),
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

    let tokens = [
        ("token_env", &src.token_env),
        ("token_cmd", &src.token_cmd),
        ("token_file", &src.token_file),
    ];
    let passwords = [
        ("password_env", &src.password_env),
        ("password_cmd", &src.password_cmd),
        ("password_file", &src.password_file),
    ];
    secret_keys(d, &tokens, "token", check_files);
    secret_keys(d, &passwords, "password", check_files);
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
    ca_file(d, &src.ca_file, check_files);
    let max_in_flight = match &src.max_in_flight {
        None => crate::config::DEFAULT_MAX_IN_FLIGHT,
        Some(n) => match usize::try_from(*n.get_ref()) {
            Ok(n @ 1..=256) => n,
            _ => {
                d.error_hint(
                    n.span(),
                    format!("max_in_flight must be 1 to 256, not {}", n.get_ref()),
                    "the queries one poll sends at once; leave it out for 8",
                );
                crate::config::DEFAULT_MAX_IN_FLIGHT
            }
        },
    };
    let (settled_interval, requests_per_minute) = github_pace(d, &src, interval);
    let oauth_token = match &src.token_type {
        None => false,
        Some(t) => match t.get_ref().as_str() {
            "private" => false,
            "oauth" => true,
            other => {
                d.error_hint(
                    t.span(),
                    format!("token_type must be \"private\" or \"oauth\", not {other:?}"),
                    "\"private\": a personal, project or group access token (sent as PRIVATE-TOKEN); \
                     \"oauth\": an OAuth token (sent as Authorization: Bearer)",
                );
                false
            }
        },
    };
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
        max_in_flight,
        settled_interval,
        requests_per_minute,
        oauth_token,
    })
}

/// A github source's `settled_interval` (at least `interval`) and `requests_per_minute`.
fn github_pace(d: &mut Diagnostics, src: &RawSource, interval: Duration) -> (Duration, u32) {
    use crate::config::{DEFAULT_REQUESTS_PER_MINUTE, DEFAULT_SETTLED_INTERVAL};
    let settled = match positive_duration(d, "settled_interval", src.settled_interval.as_ref()) {
        None => DEFAULT_SETTLED_INTERVAL.max(interval),
        Some(s) if s < interval => {
            let at = src.settled_interval.as_ref().map_or(0..0, Spanned::span);
            d.error_hint(
                at,
                format!(
                    "settled_interval ({}) is shorter than interval ({})",
                    duration::compact(s),
                    duration::compact(interval)
                ),
                "settled cells are read less often than cells in motion; leave it out for 60s",
            );
            interval
        }
        Some(s) => s,
    };
    let rate = match &src.requests_per_minute {
        None => DEFAULT_REQUESTS_PER_MINUTE,
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(n @ 1..=100_000) => n,
            _ => {
                d.error_hint(
                    n.span(),
                    format!(
                        "requests_per_minute must be 1 to 100000, not {}",
                        n.get_ref()
                    ),
                    "the requests a minute this token may send; leave it out for 600 (GitHub \
                     refuses more than 900 a minute)",
                );
                DEFAULT_REQUESTS_PER_MINUTE
            }
        },
    };
    (settled, rate)
}

/// A `ca_file`: a path, and with `check_files` a PEM bundle read as the clients will read it
/// (a file that passes here works there).
pub(super) fn ca_file(d: &mut Diagnostics, ca: &Option<Str>, check_files: bool) {
    let Some(ca) = ca else { return };
    if ca.get_ref().trim().is_empty() {
        d.error_hint(
            ca.span(),
            "ca_file is empty",
            "the path of a PEM file with the CA certificate(s), e.g. \"/etc/ssl/corp-ca.pem\"",
        );
    } else if check_files && let Err(e) = crate::config::read_ca_file(ca.get_ref()) {
        let hint = "ca_file is a PEM file with one or more \"-----BEGIN CERTIFICATE-----\" \
                    blocks (the corporate CA that signs the server's certificate)";
        d.error_hint(ca.span(), e, hint);
    }
}

/// The ways to one secret (`{secret}_env`, `_cmd`, `_file`, in that order): a variable's
/// name that is one (and no token), a command that is not empty, a file that holds only the
/// secret, and at most one of them. The value is never repeated in a message: it may be a
/// token written by mistake.
pub(super) fn secret_keys(
    d: &mut Diagnostics,
    keys: &[(&str, &Option<Str>); 3],
    secret: &str,
    check_files: bool,
) {
    let [(env_key, env), (cmd_key, cmd), (file_key, file)] = *keys;
    if let Some(var) = env {
        let v = var.get_ref();
        let valid = v
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let hint = format!(
            "{env_key} is the NAME of an environment variable that holds the secret, \
             e.g. \"PIPELINE_TOKEN\"; never write the secret itself in the config"
        );
        if !valid {
            d.error_hint(
                var.span(),
                format!("{env_key} is not an environment variable name"),
                hint,
            );
        } else if crate::secrets::looks_like_token(v) {
            d.error_hint(
                var.span(),
                format!("{env_key} looks like a token, not the name of a variable"),
                hint,
            );
        }
    }
    if let Some(cmd) = cmd
        && cmd.get_ref().trim().is_empty()
    {
        d.error_hint(
            cmd.span(),
            format!("{cmd_key} is empty"),
            format!("e.g. `{cmd_key} = \"pass show ci/{secret}\"`"),
        );
    }
    if let Some(file) = file {
        if file.get_ref().trim().is_empty() {
            let hint = format!(
                "the path of a file that holds only the secret, e.g. \
                 `{file_key} = \"~/.config/trainyard/ci.secret\"`"
            );
            d.error_hint(file.span(), format!("{file_key} is empty"), hint);
        } else if check_files {
            let path = crate::config::expand_home(file.get_ref());
            if let Err(e) = crate::secrets::check_secret_file(file_key, &path) {
                d.error_hint(file.span(), e.message, e.hint);
            }
        }
    }
    exclusive(d, keys, secret);
}

/// At most one of the ways to the `secret` (a token, a password) may be set: an error at
/// every one after the first.
fn exclusive(d: &mut Diagnostics, keys: &[(&str, &Option<Str>); 3], secret: &str) {
    let set: Vec<(&str, &Str)> = keys
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let hint = format!(
        "keep one: {secret}_env names an environment variable, {secret}_cmd a command that \
         prints the {secret}, {secret}_file a file that holds it"
    );
    if let Some((first, _)) = set.first() {
        for (key, v) in &set[1..] {
            d.error_hint(v.span(), format!("{first} and {key} are exclusive"), &hint);
        }
    }
}

/// The url as written without trailing slashes, after checking it.
pub(super) fn check_url(
    d: &mut Diagnostics,
    source: &str,
    url: &Str,
    allow_insecure_http: bool,
) -> String {
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
