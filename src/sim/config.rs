//! A trainyard config (TOML) for the simulated train.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use super::SimOptions;
use super::prometheus::prom_name;
use super::roster::{github_lanes, gitlab_lanes, lane_count, roster};
use super::scenario::{ARGO_LANES, ARGO_STAGES, DEMO_ARGO_LANES, METRICS, STAGES, series_span};

/// How often the demo asks the simulator's Prometheus API for the metrics.
pub const PROM_INTERVAL: &str = "5s";

/// A config pointing at a simulator at `base_url`: the train named after the ISO week of
/// `now`, a window open from an hour ago for three more hours, a freeze in two days, one
/// `[[lanes]]` per simulated lane (those of [`super::roster::github_lanes`] read through the
/// GitHub API, those of [`super::roster::gitlab_lanes`] through the GitLab API, the others
/// through the `http` protocol), the metrics from the simulator's Prometheus API (one
/// `[[metrics]]` per simulated metric, canary against stable at canary) and a policy per
/// stage.
pub fn demo_config(base_url: &str, opts: &SimOptions, now: DateTime<Utc>) -> String {
    let t = |d: TimeDelta| (now + d).to_rfc3339_opts(SecondsFormat::Secs, true);
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    let w = &mut out;
    let url = quote(base_url.trim_end_matches('/'));
    let lanes = roster(opts.lanes);
    let github: std::collections::HashSet<&str> = github_lanes(&lanes, opts.github_lanes)
        .into_iter()
        .collect();
    let on_github: Vec<&str> = github.iter().copied().collect();
    let gitlab: std::collections::HashSet<&str> =
        gitlab_lanes(&lanes, &on_github, opts.gitlab_lanes)
            .into_iter()
            .collect();
    let _ = write!(
        w,
        r#"# trainyard demo: {lanes} lanes served by the simulator (seed {seed}), {github} of them through its GitHub API

[train]
name = {name}
stages = [{stages}]
window = {{ opens = {opens}, closes = {closes} }}
freezes = [{{ starts = {starts}, ends = {ends}, reason = "holiday traffic" }}]

[sources.sim]
kind = "http"
url = {url}
interval = "1s"
# The metrics come from the simulator's Prometheus API ([[metrics]] below).
metrics = false

# The same simulator answering as GitHub (Enterprise Server) does.
[sources.gh]
kind = "github"
api_url = {api_url}
token_cmd = "echo trainyard-demo"
interval = "2s"

# And as Prometheus does: the query API over its own metrics (a one-selector subset of PromQL).
[sources.prom]
kind = "prometheus"
url = {url}
interval = {interval}
"#,
        lanes = lane_count(opts.lanes),
        github = github.len(),
        seed = opts.seed,
        name = quote(&now.format("%G.%V").to_string()),
        stages = list(&STAGES),
        opens = quote(&t(TimeDelta::hours(-1))),
        closes = quote(&t(TimeDelta::hours(3))),
        starts = quote(&t(TimeDelta::days(2))),
        ends = quote(&t(TimeDelta::days(5))),
        api_url = quote(&format!("{}/api/v3", base_url.trim_end_matches('/'))),
        interval = quote(PROM_INTERVAL),
    );
    if !gitlab.is_empty() {
        let _ = write!(
            w,
            r#"
# And as a self-managed GitLab does, under /gitlab/api/v4.
[sources.gl]
kind = "gitlab"
api_url = {api_url}
token_cmd = "echo trainyard-demo"
interval = "2s"
"#,
            api_url = quote(&format!("{}/gitlab/api/v4", base_url.trim_end_matches('/'))),
        );
    }
    // The demo's own Argo lane, and with --argocd ledger's and notifications' deploy stages.
    let argo: Vec<&str> = ARGO_LANES
        .iter()
        .copied()
        .filter(|a| opts.argocd || DEMO_ARGO_LANES.contains(a))
        .filter(|a| {
            lanes.iter().any(|l| l.name == *a) && !github.contains(a) && !gitlab.contains(a)
        })
        .collect();
    if !argo.is_empty() {
        let _ = write!(
            w,
            r#"
# And as Argo CD does: the deploy stages of {names} are Applications ({{lane}}-{{stage}}).
# A canary's Argo Rollout may wait at a step for a promotion: promote it, or abort it.
[sources.argo]
kind = "argocd"
url = {url}
token_cmd = "echo trainyard-demo"
interval = "2s"
"#,
            names = argo.join(", "),
        );
    }
    for lane in &lanes {
        let _ = writeln!(w);
        let _ = writeln!(w, "[[lanes]]");
        let _ = writeln!(w, "name = {}", quote(&lane.name));
        let _ = writeln!(w, "team = {}", quote(&lane.team));
        if github.contains(&lane.name.as_str()) {
            let _ = writeln!(w, "source = \"gh\"");
            let _ = writeln!(w, "repo = {}", quote(&format!("acme/{}", lane.name)));
            let _ = writeln!(w, "stages.build = {{ workflow = \"ci.yml\" }}");
            for (stage, env) in [
                ("staging", "staging"),
                ("canary", "canary"),
                ("prod", "production"),
            ] {
                let _ = writeln!(
                    w,
                    "stages.{stage} = {{ environment = {}, workflow = \"deploy.yml\" }}",
                    quote(env)
                );
            }
        } else if gitlab.contains(&lane.name.as_str()) {
            let _ = writeln!(w, "source = \"gl\"");
            let _ = writeln!(w, "project = {}", quote(&format!("acme/{}", lane.name)));
            for (stage, env) in [
                ("staging", "staging"),
                ("canary", "canary"),
                ("prod", "production"),
            ] {
                let _ = writeln!(w, "stages.{stage} = {{ environment = {} }}", quote(env));
            }
        } else {
            let _ = writeln!(w, "source = \"sim\"");
            if argo.contains(&lane.name.as_str()) {
                for stage in ARGO_STAGES {
                    let _ = writeln!(
                        w,
                        "stages.{stage} = {{ source = \"argo\", application = {}, project = {} }}",
                        quote(&format!("{}-{stage}", lane.name)),
                        quote(&lane.team)
                    );
                }
            }
        }
        if !lane.depends_on.is_empty() {
            let deps: Vec<&str> = lane.depends_on.iter().map(String::as_str).collect();
            let _ = writeln!(w, "depends_on = [{}]", list(&deps));
        }
    }
    // The simulator's metrics, each series as long as it keeps them; at canary, the stable
    // side (prod's version) is the baseline the canary is judged against. Grouped: one query
    // per metric and side answers for every lane and stage, its series matched to cells by
    // their `lane` and `stage` labels.
    let window = duration(series_span(opts.speed));
    for (name, unit, max) in METRICS {
        let Some((prom, _)) = prom_name(name) else {
            continue;
        };
        let selector = |side: &str| format!("{prom}{{side=\"{side}\"}}");
        let _ = writeln!(w);
        let _ = writeln!(w, "[[metrics]]");
        let _ = writeln!(w, "name = {}", quote(name));
        let _ = writeln!(w, "source = \"prom\"");
        let _ = writeln!(w, "query = {}", literal(&selector("canary")));
        let _ = writeln!(w, "baseline = {}", literal(&selector("stable")));
        let _ = writeln!(w, "by = {{ lane = \"lane\", stage = \"stage\" }}");
        let _ = writeln!(w, "unit = {}", quote(unit));
        let _ = writeln!(w, "threshold = {{ max = {max} }}");
        let _ = writeln!(w, "window = {}", quote(&window));
        let _ = writeln!(w, "stages = [{}]", list(&STAGES[1..]));
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "[policy.staging]");
    let _ = writeln!(w, "require = [{}]", list(&["checks_green", "fresh"]));
    let _ = writeln!(w, "[policy.canary]");
    let _ = writeln!(
        w,
        "require = [{}]",
        list(&["checks_green", "dependencies", "window", "fresh"])
    );
    let _ = writeln!(w, "[policy.prod]");
    let _ = writeln!(
        w,
        "require = [{}]",
        list(&[
            "checks_green",
            "dependencies",
            "window",
            "freeze",
            "approval",
            "soak:2m",
            "slo",
            "canary",
            "fresh"
        ])
    );
    out
}

/// A duration as the config writes it: "150s", "37500ms".
fn duration(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A TOML literal string (no escapes: PromQL's quotes stay as they are).
fn literal(s: &str) -> String {
    debug_assert!(!s.contains('\'') && !s.contains('\n'));
    format!("'{s}'")
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04X}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--gitlab-lanes`: shipping-api by default; asked for, payments-api and shipping-api
    /// (their production waits for approval) and then the others not on GitHub, each a valid
    /// gitlab lane; `0`, none.
    #[test]
    fn gitlab_lanes_are_read_through_the_gitlab_api_when_asked() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for (n, want) in [
            (None, vec!["shipping-api"]),
            (Some(0), vec![]),
            (Some(1), vec!["payments-api"]),
            (Some(3), vec!["ledger", "payments-api", "shipping-api"]),
        ] {
            let opts = SimOptions {
                gitlab_lanes: n,
                ..SimOptions::default()
            };
            let text = demo_config("http://127.0.0.1:4000", &opts, now);
            let config = crate::config::parse(&text, "<demo>").unwrap();
            assert_eq!(config.sources.contains_key("gl"), n != Some(0), "{n:?}");
            let on_gitlab: Vec<&str> = config
                .train
                .lanes
                .iter()
                .filter(|l| config.target(&l.name, "prod").unwrap().source == "gl")
                .map(|l| l.name.as_str())
                .collect();
            assert_eq!(on_gitlab, want, "{n:?}");
            for lane in &on_gitlab {
                let prod = config.target(lane, "prod").unwrap();
                assert_eq!(prod.environment.as_deref(), Some("production"));
                assert_eq!(
                    prod.project.as_deref(),
                    Some(format!("acme/{lane}").as_str())
                );
                assert_eq!(config.target(lane, "build").unwrap().environment, None);
            }
        }
    }

    /// How many lanes read through GitHub, at any size of train; each config is valid.
    #[test]
    fn github_lanes_are_chosen_and_big_trains_make_valid_configs() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for (lanes, github, want) in [
            (8, None, 3),
            (8, Some(0), 0),
            (8, Some(8), 8),
            (500, Some(30), 30),
            (2000, None, 3),
        ] {
            let opts = SimOptions {
                lanes,
                github_lanes: github,
                ..SimOptions::default()
            };
            let text = demo_config("http://127.0.0.1:4000", &opts, now);
            let config = crate::config::parse(&text, "<demo>")
                .unwrap_or_else(|e| panic!("{lanes} lanes, {github:?} on GitHub: {e}"));
            assert_eq!(config.train.lanes.len(), lanes);
            let on_github = config
                .train
                .lanes
                .iter()
                .filter(|l| config.target(&l.name, "prod").unwrap().source == "gh")
                .count();
            assert_eq!(on_github, want, "{lanes} lanes, {github:?}");
            assert!(
                text.starts_with(&format!(
                    "# trainyard demo: {lanes} lanes served by the simulator (seed 42), {want} of them through its GitHub API\n"
                )),
                "{}",
                text.lines().next().unwrap()
            );
        }
    }

    /// The demo reads auth-service's deploy stages through Argo CD; with `--argocd`, ledger's
    /// and notifications' too; the rest of the train is as without it.
    #[test]
    fn argo_lanes_read_their_deploy_stages_through_the_argo_cd_face() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let argo_of = |opts: &SimOptions| {
            let text = demo_config("http://127.0.0.1:4000", opts, now);
            let config = crate::config::parse(&text, "<demo>").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(config.train.lanes.len(), lane_count(opts.lanes));
            let mut lanes: Vec<String> = Vec::new();
            for (k, t) in config.targets.iter().filter(|(_, t)| t.source == "argo") {
                assert_eq!(
                    config.sources["argo"].kind,
                    crate::config::SourceKind::Argocd
                );
                assert_eq!(config.target(&k.lane, "build").unwrap().source, "sim");
                assert_eq!(
                    t.application.as_deref(),
                    Some(format!("{}-{}", k.lane, k.stage).as_str())
                );
                if !lanes.iter().any(|l: &String| **l == *k.lane) {
                    lanes.push(k.lane.to_string());
                }
            }
            let cells = config
                .targets
                .values()
                .filter(|t| t.source == "argo")
                .count();
            assert_eq!(cells, 3 * lanes.len());
            lanes.sort();
            (lanes, text)
        };
        let (plain, _) = argo_of(&SimOptions::default());
        assert_eq!(plain, ["auth-service"]);
        let opts = SimOptions {
            argocd: true,
            ..SimOptions::default()
        };
        let (all, _) = argo_of(&opts);
        assert_eq!(all, ["auth-service", "ledger", "notifications"]);
        // A train without those lanes has no Argo CD source.
        let small = SimOptions {
            lanes: 3,
            ..SimOptions::default()
        };
        let (none, text) = argo_of(&small);
        assert!(none.is_empty() && !text.contains("argocd"), "{text}");
        let one = SimOptions {
            lanes: 1,
            argocd: true,
            ..SimOptions::default()
        };
        assert_eq!(argo_of(&one).0, ["ledger"]);
    }

    #[test]
    fn config_is_toml_of_the_agreed_shape() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = demo_config("http://127.0.0.1:4000/", &SimOptions::default(), now);
        let doc: toml::Table = text.parse().expect("valid TOML");
        let train = doc["train"].as_table().unwrap();
        assert_eq!(train["name"].as_str(), Some("2026.48"));
        assert_eq!(train["stages"].as_array().unwrap().len(), 4);
        assert_eq!(
            train["window"]["opens"].as_str(),
            Some("2026-11-26T14:00:00Z")
        );
        assert_eq!(
            train["window"]["closes"].as_str(),
            Some("2026-11-26T18:00:00Z")
        );
        assert_eq!(
            train["freezes"][0]["starts"].as_str(),
            Some("2026-11-28T15:00:00Z")
        );
        assert_eq!(
            train["freezes"][0]["ends"].as_str(),
            Some("2026-12-01T15:00:00Z")
        );
        assert_eq!(
            train["freezes"][0]["reason"].as_str(),
            Some("holiday traffic")
        );
        let src = doc["sources"]["sim"].as_table().unwrap();
        assert_eq!(src["kind"].as_str(), Some("http"));
        assert_eq!(src["url"].as_str(), Some("http://127.0.0.1:4000"));
        assert_eq!(src["interval"].as_str(), Some("1s"));
        // The metrics come from the Prometheus face, not from /v1/train: none shows twice.
        assert_eq!(src["metrics"].as_bool(), Some(false));
        let prom = doc["sources"]["prom"].as_table().unwrap();
        assert_eq!(prom["kind"].as_str(), Some("prometheus"));
        assert_eq!(prom["url"].as_str(), Some("http://127.0.0.1:4000"));
        let metrics = doc["metrics"].as_array().unwrap();
        let names: Vec<&str> = metrics
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["error_rate", "latency_p99", "saturation"]);
        let err = metrics[0].as_table().unwrap();
        assert_eq!(err["source"].as_str(), Some("prom"));
        assert_eq!(
            err["query"].as_str(),
            Some(r#"trainyard_sim_error_rate{side="canary"}"#)
        );
        assert_eq!(
            err["baseline"].as_str(),
            Some(r#"trainyard_sim_error_rate{side="stable"}"#)
        );
        // One query per metric and side for every lane and stage, matched back by labels.
        assert_eq!(err["by"]["lane"].as_str(), Some("lane"));
        assert_eq!(err["by"]["stage"].as_str(), Some("stage"));
        assert_eq!(err["unit"].as_str(), Some("ratio"));
        assert_eq!(err["threshold"]["max"].as_float(), Some(0.01));
        // As far back as the simulator keeps its series: 30 samples of 5 s at speed 1.
        assert_eq!(err["window"].as_str(), Some("150s"));
        assert_eq!(metrics[1]["unit"].as_str(), Some("seconds"));
        assert_eq!(metrics[1]["threshold"]["max"].as_float(), Some(0.5));
        let lanes = doc["lanes"].as_array().unwrap();
        assert_eq!(lanes.len(), 9);
        // The last, shipping-api, is read through the GitLab face.
        assert_eq!(lanes[8]["name"].as_str(), Some("shipping-api"));
        assert_eq!(lanes[8]["source"].as_str(), Some("gl"));
        assert_eq!(doc["sources"]["gl"]["kind"].as_str(), Some("gitlab"));
        assert_eq!(lanes[1]["name"].as_str(), Some("payments-api"));
        assert_eq!(lanes[1]["team"].as_str(), Some("payments"));
        assert_eq!(lanes[1]["source"].as_str(), Some("sim"));
        assert_eq!(
            lanes[1]["depends_on"].as_array().unwrap()[0].as_str(),
            Some("ledger")
        );
        assert!(lanes[0].get("depends_on").is_none());
        let prod = doc["policy"]["prod"]["require"].as_array().unwrap();
        assert!(prod.iter().any(|g| g.as_str() == Some("soak:2m")));
        assert!(prod.iter().any(|g| g.as_str() == Some("canary")));
        assert_eq!(
            doc["policy"]["staging"]["require"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let forty = demo_config(
            "http://127.0.0.1:4000",
            &SimOptions {
                lanes: 40,
                ..SimOptions::default()
            },
            now,
        );
        let doc: toml::Table = forty.parse().unwrap();
        assert_eq!(doc["lanes"].as_array().unwrap().len(), 40);
        // Faster, the series span less wall time, and so does the window.
        for (speed, window) in [(4.0, "37500ms"), (10.0, "30s"), (0.5, "300s")] {
            let opts = SimOptions {
                speed,
                ..SimOptions::default()
            };
            let doc: toml::Table = demo_config("http://127.0.0.1:4000", &opts, now)
                .parse()
                .unwrap();
            assert_eq!(
                doc["metrics"][2]["window"].as_str(),
                Some(window),
                "{speed}"
            );
        }
        // And the whole of it is a valid config.
        let config = crate::config::parse(&text, "<demo>").unwrap();
        assert_eq!(config.metrics.len(), 3);
        assert!(!config.sources["sim"].metrics);
        assert_eq!(quote("a\"b\\c\u{1b}"), "\"a\\\"b\\\\c\\u001B\"");
    }
}
