//! Every file under tests/configs/: the valid ones load, the invalid ones fail with exactly
//! the errors in their `.expected` file. Adding a file adds a case.
//!
//! To write the `.expected` file of a new invalid case, run with `TRAINYARD_BLESS=1` and
//! read what it wrote before committing it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use trainyard::config::{self, Config, SourceKind, Target};
use trainyard::model::Gate;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `.toml` files of `tests/configs/<dir>`, as paths relative to the crate root.
fn cases(dir: &str) -> Vec<PathBuf> {
    let rel = Path::new("tests/configs").join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join(&rel))
        .unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| rel.join(p.file_name().expect("file name")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", rel.display());
    files
}

fn parse_case(rel: &Path) -> Result<Config, config::ConfigErrors> {
    let text = fs::read_to_string(Path::new(ROOT).join(rel)).expect("readable case");
    config::parse(&text, &rel.display().to_string())
}

fn parse_valid(name: &str) -> Config {
    let rel = Path::new("tests/configs/valid").join(name);
    parse_case(&rel).unwrap_or_else(|e| panic!("{} should be valid:\n{e}", rel.display()))
}

#[test]
fn valid_configs_load() {
    let mut failures = Vec::new();
    for rel in cases("valid") {
        match parse_case(&rel) {
            Ok(config) => {
                // One target for every lane × stage.
                let cells = config.train.lanes.len() * config.train.stages.len();
                assert_eq!(config.targets.len(), cells, "{}", rel.display());
            }
            Err(e) => failures.push(format!("{}:\n{e}", rel.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "valid configs failed:\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn invalid_configs_fail_with_expected_errors() {
    let bless = std::env::var_os("TRAINYARD_BLESS").is_some();
    let mut failures = Vec::new();
    for rel in cases("invalid") {
        let got = match parse_case(&rel) {
            Ok(_) => {
                failures.push(format!("{}: parsed, but should fail", rel.display()));
                continue;
            }
            Err(e) => format!("{e}\n"),
        };
        let expected_path = Path::new(ROOT).join(rel.with_extension("expected"));
        if bless {
            fs::write(&expected_path, &got).expect("write .expected");
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Err(_) => failures.push(format!(
                "{}: no {} (run with TRAINYARD_BLESS=1 to write it); got:\n{got}",
                rel.display(),
                rel.with_extension("expected").display()
            )),
            Ok(want) if want != got => failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                rel.display()
            )),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expected_file_has_its_config() {
    let dir = Path::new(ROOT).join("tests/configs/invalid");
    for entry in fs::read_dir(&dir).expect("invalid dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "expected") {
            assert!(
                path.with_extension("toml").exists(),
                "{} has no .toml",
                path.display()
            );
        }
    }
}

#[test]
fn example_config_is_a_valid_reference() {
    let path = Path::new(ROOT).join("config.example.toml");
    let config = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.path.as_deref(), Some(path.as_path()));
    assert_eq!(config.identity.as_deref(), Some("alice"));
    assert!(!config.readonly);
    assert_eq!(
        config.audit_path,
        Some(PathBuf::from("/var/lib/trainyard/audit.jsonl"))
    );

    let train = &config.train;
    assert_eq!(train.name, "2026.48");
    assert_eq!(train.stages, ["build", "staging", "canary", "prod"]);
    assert!(train.window.is_some());
    assert_eq!(train.freezes.len(), 1);
    assert_eq!(train.freezes[0].reason, "holiday traffic");
    let lanes: Vec<&str> = train.lanes.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        lanes,
        ["ledger", "payments-api", "checkout-web", "web", "search"]
    );
    assert_eq!(
        train.lane("payments-api").map(|l| l.depends_on.clone()),
        Some(vec!["ledger".into()])
    );
    assert_eq!(train.gates("prod").len(), 9);
    assert!(train.gates("prod").contains(&Gate::Canary));
    assert!(train.gates("prod").contains(&Gate::Slo(None)));
    assert_eq!(
        train.auto_pause.iter().collect::<Vec<_>>(),
        ["canary"],
        "auto_pause is set for canary only"
    );
    assert!(
        train
            .gates("prod")
            .contains(&Gate::Soak(Duration::from_secs(30 * 60)))
    );
    assert_eq!(train.gates("staging"), Gate::DEFAULTS);
    assert_eq!(train.protected.iter().collect::<Vec<_>>(), ["prod"]);
    assert_eq!(config.ui.theme, config::ui::ThemeName::Dark);
    assert_eq!(
        (config.ui.colors.protected, config.ui.colors.bad),
        (
            Some(config::ui::Color::Ansi(13)),
            Some(config::ui::Color::Rgb(0xff, 0x5f, 0x5f))
        )
    );

    let sources: Vec<&str> = config.sources.keys().map(String::as_str).collect();
    assert_eq!(sources, ["argo", "gh", "gl", "pipeline", "prom", "sim"]);
    assert_eq!(config.sources["argo"].kind, SourceKind::Argocd);
    let search = config.target("search", "canary").unwrap();
    assert_eq!(search.source, "argo");
    assert_eq!(search.application.as_deref(), Some("search-canary"));
    assert_eq!(search.project.as_deref(), Some("discovery"));
    assert_eq!(config.sources["prom"].kind, SourceKind::Prometheus);
    let gl = &config.sources["gl"];
    assert_eq!(
        (gl.kind, gl.url.as_str(), gl.oauth_token),
        (SourceKind::Gitlab, "https://gitlab.com/api/v4", false)
    );
    assert_eq!(config.metrics.len(), 1);
    let m = &config.metrics[0];
    assert_eq!(
        (&*m.name, m.source.as_str(), &*m.unit),
        ("error_rate", "prom", "ratio")
    );
    assert_eq!(m.threshold.max, Some(0.01));
    assert_eq!(m.window, Duration::from_secs(600));
    assert_eq!(m.stages, ["staging", "canary", "prod"]);
    assert!(
        m.render(&m.query, "web", "canary", &Default::default())
            .contains(r#"service="web",env="canary""#)
    );
    // Grouped by the labels that name lane and stage; the prometheus source's queries at once.
    let by = m.by.as_ref().expect("the example groups its metric");
    assert_eq!(
        (by.lane.as_deref(), by.stage.as_deref()),
        (Some("service"), Some("env"))
    );
    assert_eq!(config.sources["prom"].max_in_flight, 8);
    let gh = &config.sources["gh"];
    assert_eq!(gh.kind, SourceKind::Github);
    assert_eq!(gh.url, "https://api.github.com");
    assert_eq!(
        (gh.settled_interval, gh.requests_per_minute),
        (std::time::Duration::from_secs(60), 600)
    );
    assert_eq!(
        (gh.version_input.as_str(), gh.environment_input.as_str()),
        ("version", "environment")
    );
    let prod = config.target("web", "prod").unwrap();
    assert_eq!(prod.repo.as_deref(), Some("acme/web"));
    assert_eq!(prod.environment.as_deref(), Some("production"));
    assert_eq!(prod.workflow.as_deref(), Some("deploy.yml"));
    assert_eq!(
        config.target("web", "build").unwrap().branch.as_deref(),
        Some("main")
    );
    let pipeline = &config.sources["pipeline"];
    assert_eq!(pipeline.kind, SourceKind::Http);
    assert_eq!(pipeline.url, "https://deploy.internal.example");
    assert_eq!(pipeline.stale_after, Duration::from_secs(30));
    assert_eq!(pipeline.token_env.as_deref(), Some("PIPELINE_TOKEN"));
    assert!(pipeline.metrics);
    assert_eq!(config.sources["sim"].interval, Duration::from_secs(2));

    assert_eq!(config.targets.len(), 20);
    assert_eq!(
        config.target("payments-api", "canary"),
        Some(&target("sim", "payments", "eu-canary"))
    );
    assert_eq!(
        config.target("payments-api", "prod"),
        Some(&target("pipeline", "payments-api", "production"))
    );
    assert_eq!(
        config.target("ledger", "build"),
        Some(&target("pipeline", "ledger", "build"))
    );
}

#[test]
fn full_case_matches_the_example() {
    let example = fs::read_to_string(Path::new(ROOT).join("config.example.toml")).expect("example");
    let full =
        fs::read_to_string(Path::new(ROOT).join("tests/configs/valid/full.toml")).expect("full");
    assert_eq!(
        full, example,
        "tests/configs/valid/full.toml should be a copy of config.example.toml"
    );
}

fn target(source: &str, lane: &str, stage: &str) -> Target {
    Target {
        source: source.into(),
        lane: lane.into(),
        stage: stage.into(),
        repo: None,
        workflow: None,
        environment: None,
        branch: None,
        project: None,
        pipeline_variables: None,
        application: None,
        app_namespace: None,
    }
}

#[test]
fn gitlab_lanes_name_a_project_a_branch_and_environments() {
    let config = parse_valid("gitlab.toml");
    assert!(config.sources["gl"].oauth_token);
    let t = |stage: &str| config.target("billing", stage).unwrap().clone();
    let build = t("build");
    assert_eq!(
        (
            build.project.as_deref(),
            build.branch.as_deref(),
            build.environment
        ),
        (Some("acme/platform/billing"), Some("release"), None)
    );
    assert_eq!(t("staging").environment.as_deref(), Some("staging"));
    assert_eq!(
        t("staging").pipeline_variables,
        None,
        "promote plays the job"
    );
    let prod = t("prod");
    assert_eq!(
        (prod.project.as_deref(), prod.environment.as_deref()),
        (Some("4242"), Some("production"))
    );
    let vars: Vec<(&str, &str)> = prod
        .pipeline_variables
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        vars,
        [
            ("DEPLOY_TO", "{environment}"),
            ("DEPLOY_VERSION", "{version}"),
            ("JSON_NOTE", "{\"by\": \"trainyard\"}"),
        ]
    );
}

#[test]
fn minimal_config_gets_defaults() {
    let config = parse_valid("minimal.toml");
    assert_eq!(config.path, None);
    assert_eq!(config.identity, None);
    assert!(!config.readonly);
    assert_eq!(config.audit_path, None);
    assert!(config.train.window.is_none());
    assert!(config.train.freezes.is_empty());
    assert!(config.train.policy.is_empty());
    assert_eq!(config.train.lanes[0].team, "");
    let sim = &config.sources["sim"];
    assert_eq!(sim.name, "sim");
    assert_eq!(sim.interval, Duration::from_secs(5));
    assert_eq!(sim.timeout, Duration::from_secs(5));
    assert_eq!(sim.stale_after, Duration::from_secs(15));
    assert_eq!(sim.token_env, None);
    assert_eq!(sim.token_cmd, None);
    assert!(!sim.allow_insecure_http);
    assert!(
        sim.metrics,
        "an http source takes the payload's metrics by default"
    );
    assert_eq!(
        config.target("api", "prod"),
        Some(&target("sim", "api", "prod"))
    );
}

#[test]
fn stages_of_a_lane_can_come_from_different_sources() {
    let config = parse_valid("multi_source.toml");
    assert!(config.readonly);
    assert_eq!(
        config.target("ledger", "build").map(|t| t.source.as_str()),
        Some("ci")
    );
    assert_eq!(
        config.target("ledger", "prod").map(|t| t.source.as_str()),
        Some("deploy")
    );
    assert_eq!(
        config
            .target("search", "staging")
            .map(|t| t.source.as_str()),
        Some("local")
    );
    let from_ci: Vec<String> = config
        .targets_of("ci")
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(from_ci, ["ledger build", "search build"]);

    assert_eq!(config.sources["ci"].url, "https://ci.example.com");
    assert_eq!(config.sources["ci"].stale_after, Duration::from_secs(90));
    assert_eq!(
        config.sources["deploy"].stale_after,
        Duration::from_secs(300)
    );
    // 3 × 250ms is less than the 10s floor.
    assert_eq!(config.sources["local"].stale_after, Duration::from_secs(10));
    assert_eq!(config.train.gates("prod"), &[] as &[Gate]);

    // Unquoted TOML date-times, with an offset.
    let window = config.train.window.expect("window");
    assert_eq!(window.opens.to_rfc3339(), "2026-12-03T14:00:00+00:00");
    assert_eq!(window.closes.to_rfc3339(), "2026-12-03T17:00:00+00:00");
}

#[test]
fn remote_names_default_to_config_names() {
    let config = parse_valid("remapped_names.toml");
    let t = |lane, stage| config.target(lane, stage).cloned();
    assert_eq!(
        t("payments-api", "staging"),
        Some(target("pipeline", "svc-payments", "staging"))
    );
    assert_eq!(
        t("payments-api", "canary"),
        Some(target("pipeline", "svc-payments", "eu-west-1-canary"))
    );
    assert_eq!(
        t("payments-api", "prod"),
        Some(target("pipeline", "svc-payments", "production"))
    );
    assert_eq!(
        t("ledger.v2", "canary"),
        Some(target("pipeline", "ledger.v2", "canary"))
    );
    assert_eq!(
        t("ledger.v2", "prod"),
        Some(target("pipeline", "ledger.v2", "production"))
    );
}

#[test]
fn parse_never_panics_on_broken_input() {
    let example = fs::read_to_string(Path::new(ROOT).join("config.example.toml")).expect("example");
    // Every prefix of the example: unclosed strings, tables, arrays, half keys.
    for (cut, _) in example.char_indices() {
        let _ = config::parse(&example[..cut], "cut.toml");
    }
    for text in [
        "",
        "\u{feff}",
        "\0",
        "[[lanes]]\n[[lanes]]\n",
        "lanes = 1",
        "sources = []",
    ] {
        assert!(config::parse(text, "odd.toml").is_err(), "{text:?}");
    }
}

/// `load` (not the pure `parse`) checks the files a config names: a token or password file
/// must be a regular file that only its owner may read; a CA file must hold a PEM
/// certificate. Each refusal is a config error at the key, with the fix.
#[cfg(unix)]
#[test]
fn load_checks_the_files_a_config_names() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("deploy.token");
    fs::write(&token, "t0ken-from-a-file\n").unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o644)).unwrap();
    let pem = dir.path().join("ca.pem");
    fs::write(&pem, "not a certificate\n").unwrap();
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.deploy]\nkind = \"http\"\nurl = \"https://deploy.example.com\"\n\
         token_file = {token:?}\nca_file = {pem:?}\n\n\
         [sources.dir]\nkind = \"http\"\nurl = \"https://deploy2.example.com\"\n\
         token_file = {dir:?}\n\n\
         [sources.prom]\nkind = \"prometheus\"\nurl = \"https://prom.example.com\"\n\
         username = \"u\"\npassword_file = {missing:?}\n\n\
         [[lanes]]\nname = \"api\"\nsource = \"deploy\"\n",
        token = token.display().to_string(),
        pem = pem.display().to_string(),
        dir = dir.path().display().to_string(),
        missing = dir.path().join("missing").display().to_string(),
    );
    let path = dir.path().join("config.toml");
    fs::write(&path, &text).unwrap();
    // Pure parsing looks at no file.
    assert!(config::parse(&text, "x.toml").is_ok());
    let err = config::load(&path).unwrap_err().to_string();
    let f = path.display();
    let (t, p, d) = (token.display(), pem.display(), dir.path().display());
    for want in [
        format!("{f}:8:14: token_file {t} is open to group and others (mode 0644)"),
        format!("  hint: chmod 600 {t}"),
        format!("{f}:9:11: ca_file {p} holds no PEM certificate"),
        format!("{f}:14:14: token_file {d} is not a regular file"),
        format!("{f}:20:17: password_file {d}/missing: cannot read: "),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
    assert!(!err.contains("t0ken-from-a-file"), "{err}");

    // Fixed: owner-only token file, a real PEM block, the others gone.
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let fixed: String = text.split("\n[sources.dir]").next().unwrap().to_string()
        + "\n[[lanes]]\nname = \"api\"\nsource = \"deploy\"\n";
    fs::write(&path, fixed).unwrap();
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let src = &c.sources["deploy"];
    assert_eq!(src.token_file.as_deref(), Some(token.to_str().unwrap()));
    assert_eq!(src.ca_file.as_deref(), Some(pem.to_str().unwrap()));
}
