//! The canary: a unique token, given to trainyard through token_env, token_cmd and token_file
//! in turn, must appear in none of its outputs, whatever the servers do with it.
//!
//! The servers misbehave on purpose (all on 127.0.0.1): a fake `http` source echoes the
//! Authorization header back in cell messages, links, check names, versions, a metric name and
//! an error body; one answers 500 quoting the header; one redirects to a URL carrying the token
//! off this host (refused), one to a URL on loopback carrying it (followed, then quoted back);
//! the simulator's GitHub API takes the token too. trainyard runs `status`, `status --json`,
//! an action (plain, `--json`, `--dry-run`), `audit`, `audit --json`, `audit verify`, a source
//! whose token command fails after printing the token, a token file others may read, the TUI
//! (tmux), and a panic whose message quotes the token; with `TRAINYARD_LOG=debug` into the log
//! file. Every output is searched for the token and for its first characters.
//!
//! Each protection was checked by disabling it once (see docs/security.md): the test fails.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::json;

use common::bin::{BIN, Run, Trainyard};
use common::sim::{self, Background};
use common::tmux::{self, Options, Tmux};

/// The fake source and the simulator, on their own runtime.
struct Servers {
    net: Background,
    fake: SocketAddr,
}

/// The token the request carried (the last word of its Authorization header).
fn token_of(headers: &HeaderMap) -> (String, String) {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    let token = auth.split_whitespace().last().unwrap_or("none").to_string();
    (auth, token)
}

fn fake_source(port: u16) -> Router {
    Router::new()
        .route(
            "/echo/v1/train",
            get(|headers: HeaderMap| async move {
                let (auth, token) = token_of(&headers);
                axum::Json(json!({
                    "protocol": 1,
                    "cells": [
                        {"lane": "api", "stage": "build", "state": "succeeded", "version": "v1",
                         "message": format!("you sent Authorization: {auth}"),
                         "url": format!("https://ci.example/runs/1?access_token={token}"),
                         "actor": token,
                         "checks": [{"name": format!("lint {token}"), "state": "passed",
                                     "url": format!("https://bot:{token}@ci.example/c")}],
                         "warnings": [format!("token {token} expires soon")],
                         "history": [{"version": token, "state": "succeeded"}]},
                        // Long enough that the 200-character cap cuts the token in half.
                        {"lane": "api", "stage": "prod", "state": "failed", "version": "v0",
                         "message": format!("{} {token} and more", "x".repeat(185))}
                    ],
                    "metrics": [
                        {"lane": "api", "stage": "prod", "name": format!("err {token}"),
                         "value": 0.5, "unit": "ratio", "threshold": {"max": 0.1}}
                    ]
                }))
            }),
        )
        .route(
            "/echo/v1/actions",
            post(|headers: HeaderMap| async move {
                let (_, token) = token_of(&headers);
                (
                    StatusCode::FORBIDDEN,
                    axum::Json(json!({"error": {"code": "forbidden",
                        "message": format!("token {token} may not promote")}})),
                )
            }),
        )
        .route(
            "/broken/v1/train",
            get(|headers: HeaderMap| async move {
                let (auth, _) = token_of(&headers);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(
                        json!({"error": {"message": format!("invalid credentials: {auth}")}}),
                    ),
                )
            }),
        )
        .route(
            "/redir/v1/train",
            get(|headers: HeaderMap| async move {
                let (_, token) = token_of(&headers);
                let to = format!("http://deploy.example.test/v1/train?token={token}");
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route(
            "/hop/v1/train",
            get(move |headers: HeaderMap| async move {
                let (_, token) = token_of(&headers);
                let to = format!("http://127.0.0.1:{port}/landing?sig={token}");
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route(
            "/landing",
            get(|uri: Uri| async move {
                (
                    StatusCode::BAD_GATEWAY,
                    axum::Json(json!({"error": {"message": format!("you asked for {uri}")}})),
                )
            }),
        )
}

impl Servers {
    fn start() -> Servers {
        let net = Background::start(sim::opts());
        let listener = net
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let fake = listener.local_addr().unwrap();
        let app = fake_source(fake.port());
        net.rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Servers { net, fake }
    }
}

/// How the token reaches trainyard.
#[derive(Clone, Copy, Debug)]
enum Via {
    Env,
    Cmd,
    File,
}

/// A token no output could contain by chance.
fn canary(via: Via) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{:x}{via:?}Cnry7Q", std::process::id())
}

const TOKEN_VAR: &str = "TY_CANARY_TOKEN";

/// Write the token where `via` reads it and a config whose every source uses it.
fn setup(dir: &Path, s: &Servers, via: Via, token: &str) -> PathBuf {
    let token_line = match via {
        Via::Env => format!("token_env = \"{TOKEN_VAR}\""),
        Via::Cmd => {
            std::fs::write(dir.join("cmd.token"), format!("{token}\n")).unwrap();
            format!("token_cmd = \"cat '{}'\"", dir.join("cmd.token").display())
        }
        Via::File => {
            let path = dir.join("canary.token");
            std::fs::write(&path, format!("{token}\n")).unwrap();
            private(&path);
            "token_file = \"~/canary.token\"".to_string()
        }
    };
    let fake = format!("http://127.0.0.1:{}", s.fake.port());
    let source = |name: &str, url: &str| {
        format!("[sources.{name}]\nkind = \"http\"\nurl = \"{url}\"\n{token_line}\n\n")
    };
    let mut text = String::from(
        "[train]\nname = \"canary\"\nstages = [\"build\", \"prod\"]\n\n[policy.prod]\nrequire = []\n\n",
    );
    for name in ["echo", "broken", "redir", "hop"] {
        text.push_str(&source(name, &format!("{fake}/{name}")));
    }
    text.push_str(&source("sim", &s.net.url));
    text.push_str(&format!(
        "[sources.gh]\nkind = \"github\"\napi_url = \"{}/api/v3\"\n{token_line}\n\n",
        s.net.url
    ));
    if matches!(via, Via::Cmd) {
        // A token command that prints the token and then fails: the error path.
        text.push_str(&format!(
            "[sources.failing]\nkind = \"http\"\nurl = \"{fake}/echo\"\ntoken_cmd = \"cat '{}'; exit 3\"\n\n",
            dir.join("cmd.token").display()
        ));
    }
    for (lane, src) in [
        ("api", "echo"),
        ("down", "broken"),
        ("away", "redir"),
        ("hop", "hop"),
        ("ledger", "sim"),
    ] {
        text.push_str(&format!(
            "[[lanes]]\nname = \"{lane}\"\nsource = \"{src}\"\n\n"
        ));
    }
    text.push_str(
        "[[lanes]]\nname = \"checkout-web\"\nsource = \"gh\"\nrepo = \"acme/checkout-web\"\n\
         stages.build = { workflow = \"ci.yml\" }\n\
         stages.prod = { environment = \"production\", workflow = \"deploy.yml\" }\n\n",
    );
    if matches!(via, Via::Cmd) {
        text.push_str("[[lanes]]\nname = \"fails\"\nsource = \"failing\"\n\n");
    }
    text.push_str(&format!(
        "[audit]\npath = \"{}\"\n",
        dir.join("audit.jsonl").display()
    ));
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(unix)]
fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The environment of every run: the token variable, debug logging, no proxy but a dead one
/// for anything that would leave this host (loopback is always direct).
fn env_for(token: &str) -> Vec<(String, String)> {
    vec![
        (TOKEN_VAR.into(), token.into()),
        ("TRAINYARD_LOG".into(), "debug".into()),
        ("HTTP_PROXY".into(), "http://127.0.0.1:9".into()),
        ("HTTPS_PROXY".into(), "http://127.0.0.1:9".into()),
    ]
}

fn run(dir: &Path, config: &Path, args: &[&str], token: &str) -> Run {
    Trainyard::new(dir)
        .config(config)
        .args(args)
        .envs(env_for(token))
        .run()
}

/// Everything trainyard wrote, by name.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }

    fn run(&mut self, what: &str, r: &Run) {
        self.add(format!("{what} stdout"), r.stdout.clone());
        self.add(format!("{what} stderr"), r.stderr.clone());
    }

    fn text(&self, what: &str) -> &str {
        self.0
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("no output {what}"))
    }

    /// No output holds the token, or its first 10 characters (a token cut short).
    fn assert_clean(&self, token: &str) {
        let prefix = &token[..10];
        let leaks: Vec<String> = self
            .0
            .iter()
            .filter(|(_, t)| t.contains(prefix))
            .map(|(w, t)| {
                let at = t.find(prefix).unwrap_or(0);
                let start = t[..at].char_indices().rev().nth(80).map_or(0, |(i, _)| i);
                let end = (at + 60).min(t.len());
                let end = (end..=t.len())
                    .find(|&i| t.is_char_boundary(i))
                    .unwrap_or(t.len());
                format!("{w}: …{}…", &t[start..end])
            })
            .collect();
        assert!(
            leaks.is_empty(),
            "the token leaked into {} output(s):\n{}",
            leaks.len(),
            leaks.join("\n")
        );
    }
}

/// The CLI outputs for one way of giving the token.
fn cli_outputs(s: &Servers, via: Via) -> (String, Outputs, tempfile::TempDir) {
    let token = canary(via);
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), s, via, &token);
    let mut out = Outputs::default();

    let r = run(dir.path(), &config, &["status"], &token);
    assert_eq!(
        r.code, 1,
        "some sources fail on purpose:\n{}\n{}",
        r.stdout, r.stderr
    );
    out.run("status", &r);
    let r = run(dir.path(), &config, &["status", "--json"], &token);
    out.run("status --json", &r);
    let r = run(dir.path(), &config, &["config", "check"], &token);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    out.run("config check", &r);

    let reason = format!("rotating {token} today");
    let promote = [
        "promote", "api", "--to", "prod", "--yes", "--reason", &reason,
    ];
    let r = run(dir.path(), &config, &promote, &token);
    out.run("promote", &r);
    let r = run(
        dir.path(),
        &config,
        &[&promote[..], &["--json"]].concat(),
        &token,
    );
    out.run("promote --json", &r);
    let r = run(
        dir.path(),
        &config,
        &[&promote[..], &["--dry-run", "--json"]].concat(),
        &token,
    );
    out.run("promote --dry-run --json", &r);
    // An action on a source that fails: the error path of an action.
    let r = run(
        dir.path(),
        &config,
        &["pause", "down", "--stage", "prod", "--yes", "--json"],
        &token,
    );
    out.run("pause down", &r);

    let r = run(dir.path(), &config, &["audit"], &token);
    out.run("audit", &r);
    let r = run(dir.path(), &config, &["audit", "--json"], &token);
    out.run("audit --json", &r);
    let r = run(dir.path(), &config, &["audit", "verify"], &token);
    assert_eq!(
        r.code, 0,
        "redacting before sealing keeps the chain whole: {}",
        r.stdout
    );
    out.run("audit verify", &r);
    out.add(
        "audit log file",
        std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default(),
    );
    (token, out, dir)
}

/// The protections are not vacuous: the token did reach trainyard's outputs, masked.
fn assert_masked(out: &Outputs) {
    let status: serde_json::Value = serde_json::from_str(out.text("status --json stdout")).unwrap();
    let lane = |name: &str| common::status::lane(&status, name).clone();
    let build = &lane("api")["cells"][0];
    assert_eq!(build["message"], "you sent Authorization: ***", "{build:#}");
    assert_eq!(
        build["url"], "https://ci.example/runs/1?access_token=***",
        "{build:#}"
    );
    let prod = &lane("api")["cells"][1];
    assert!(
        prod["message"].as_str().unwrap().ends_with(" ***…"),
        "a token cut short is masked: {prod:#}"
    );
    let sources = status["sources"].as_array().unwrap();
    let source = |name: &str| {
        sources
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no source {name}: {status:#}"))
            .clone()
    };
    assert_eq!(source("echo")["ok"], true);
    assert_eq!(source("sim")["ok"], true, "{:#}", source("sim"));
    assert_eq!(source("gh")["ok"], true, "{:#}", source("gh"));
    let broken = source("broken")["error"].as_str().unwrap().to_string();
    assert!(
        broken.contains("invalid credentials: Bearer ***"),
        "{broken}"
    );
    let redir = source("redir")["error"].as_str().unwrap().to_string();
    assert!(
        redir.contains(
            "refused a redirect to plain http:// (http://deploy.example.test/v1/train?token=***)"
        ),
        "{redir}"
    );
    let hop = source("hop")["error"].as_str().unwrap().to_string();
    assert!(hop.contains("you asked for /landing?sig=***"), "{hop}");

    let promote: serde_json::Value =
        serde_json::from_str(out.text("promote --json stdout")).unwrap();
    assert!(
        promote["message"]
            .as_str()
            .unwrap()
            .contains("token *** may not promote"),
        "{promote:#}"
    );
    let audit = out.text("audit log file");
    assert!(audit.contains("rotating *** today"), "{audit}");
    assert!(audit.contains("token *** may not promote"), "{audit}");
}

#[test]
fn the_canary_token_appears_in_no_output_of_the_command_line() {
    let s = Servers::start();
    for via in [Via::Env, Via::Cmd, Via::File] {
        let (token, mut out, dir) = cli_outputs(&s, via);
        assert_masked(&out);
        if matches!(via, Via::Cmd) {
            let st = out.text("status stdout");
            assert!(
                st.contains("failing (http): FAILED: token_cmd exited with exit status: 3"),
                "{st}"
            );
        }
        out.add(
            "log file",
            std::fs::read_to_string(dir.path().join("trainyard.log")).unwrap_or_default(),
        );
        out.assert_clean(&token);
    }
}

/// A token file others may read is refused, and the refusal does not quote it.
#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_is_refused_without_being_quoted() {
    use std::os::unix::fs::PermissionsExt;
    let s = Servers::start();
    let token = canary(Via::File);
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &s, Via::File, &token);
    let file = dir.path().join("canary.token");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut out = Outputs::default();
    for args in [&["config", "check"][..], &["status", "--json"][..]] {
        let r = run(dir.path(), &config, args, &token);
        assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(
            text.contains(&format!(
                "token_file {} is open to group and others (mode 0644)",
                file.display()
            )) && text.contains(&format!("hint: chmod 600 {}", file.display())),
            "{text}"
        );
        out.run(&args.join(" "), &r);
    }
    out.assert_clean(&token);
}

/// A terminal whose home is `dir`, with the run's environment.
fn terminal(name: &str, dir: &Path, env: Vec<(String, String)>) -> Tmux {
    Tmux::start(
        name,
        Options {
            width: 100,
            height: 30,
            env,
            home: Some(dir.to_path_buf()),
        },
    )
}

#[test]
fn the_canary_token_appears_neither_on_screen_nor_in_a_panic_report() {
    if !tmux::available("the TUI part of the canary test") {
        return;
    }
    let s = Servers::start();
    let token = canary(Via::Env);
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &s, Via::Env, &token);
    let env = env_for(&token);
    let mut out = Outputs::default();
    let trainyard = format!(
        "{BIN} --config {} --log-file {}",
        config.display(),
        dir.path().join("trainyard.log").display()
    );

    let t = terminal("tui", dir.path(), env.clone());
    t.run(&trainyard);
    let screen = t.wait_for_history("the train with its failing sources", |s| {
        s.contains("source down") && s.contains("api")
    });
    out.add("TUI main screen", screen);
    // The details of api@build: message, link, checks, history, warnings.
    t.keys(&["Enter"]);
    let screen = t.wait_for_history("the details", |s| s.contains("Details"));
    assert!(screen.contains("you sent Authorization: ***"), "{screen}");
    out.add("TUI details api@build", screen);
    t.keys(&["Escape", "l", "Enter"]);
    let screen = t.wait_for_history("the details of prod", |s| {
        s.contains("Details") && s.contains("api @ prod")
    });
    out.add("TUI details api@prod", screen);
    t.keys(&["Escape", "q"]);
    let screen = t.wait_for_history("the TUI to end", |s| s.contains("EXIT="));
    out.add("TUI after quit", screen);
    drop(t);

    // A panic whose message quotes the token (debug builds only: TRAINYARD_TEST_PANIC).
    let mut env = env.clone();
    env.push(("TRAINYARD_TEST_PANIC".into(), format!("leak {token} now")));
    let t = terminal("panic", dir.path(), env);
    t.run(&trainyard);
    let screen = t.wait_for_history("the panic report", |s| s.contains("EXIT="));
    assert!(
        screen.contains("panic requested by TRAINYARD_TEST_PANIC: leak *** now"),
        "{screen}"
    );
    out.add("panic report", screen);
    drop(t);

    let log = std::fs::read_to_string(dir.path().join("trainyard.log")).unwrap_or_default();
    assert!(
        log.contains("panic requested by TRAINYARD_TEST_PANIC: leak *** now"),
        "{log}"
    );
    out.add("log file", log);
    out.assert_clean(&token);
}

/// A token pasted into the config by mistake (here as a key, which the error names) is not
/// repeated by `config check` or by a command that loads the config.
#[test]
fn a_token_pasted_into_the_config_is_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let pasted = "ghp_0123456789abcdefABCDEF0123456789abcd";
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n[sources.s]\nkind = \"http\"\n\
             url = \"https://deploy.example.com\"\n{pasted} = \"x\"\n\n[[lanes]]\nname = \"a\"\nsource = \"s\"\n"
        ),
    )
    .unwrap();
    for args in [&["config", "check"][..], &["status"][..]] {
        let r = run(dir.path(), &config, args, "unused-token");
        assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(
            text.contains("config.toml:8:1: unknown key \"***\""),
            "{text}"
        );
        assert!(!text.contains(&pasted[..12]), "{text}");
    }
}
