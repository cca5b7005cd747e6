//! End to end: the real binary in a real terminal (tmux). Starts `trainyard demo`, moves,
//! opens details, promotes through the dialog, sees the train change, quits, and checks that
//! the terminal was restored; then the same for SIGTERM and SIGHUP, a NO_COLOR run, and the
//! metrics view's charts.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, sim_actions, start_sim, write_config};

struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn have_tmux() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is required for the end-to-end tests (.ci/run installs it)");
        }
        eprintln!("SKIPPED: tmux is not installed; install it to run the end-to-end tests");
    }
    ok
}

impl Tmux {
    /// A private tmux server with one 80×24 pane running a plain shell.
    fn start(name: &str, env: &[(&str, &str)]) -> Tmux {
        let socket = format!("trainyard-e2e-{}-{name}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let t = Tmux { socket, dir };
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &t.socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            "80",
            "-y",
            "24",
        ]);
        cmd.arg("-e")
            .arg(format!("HOME={}", t.dir.path().display()));
        cmd.args(["-e", "TERM=xterm-256color", "-e", "PS1=$ "]);
        for (k, v) in env {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.args(["bash", "--norc", "--noprofile"]);
        assert!(cmd.status().unwrap().success());
        t
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "e2e", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "e2e", "-l", text]);
        self.tmux(&["send-keys", "-t", "e2e", "Enter"]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "e2e"])
    }

    fn pane(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "e2e", format])
            .trim()
            .to_string()
    }

    /// Wait until the screen satisfies `f`; fail with the last screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, f: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(secs) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Start the demo from the shell, recording the tty settings before and after and the
    /// exit code (`EXIT=n`; typed as `EX""IT` so that the command line itself never matches).
    fn start_demo(&self, extra: &str) {
        self.line(&format!(
            "stty -g > {before}; {BIN} demo --log-file {log} {extra}; echo EX\"\"IT=$?; stty -g > {after}",
            before = self.path("stty.before").display(),
            after = self.path("stty.after").display(),
            log = self.path("trainyard.log").display(),
        ));
    }

    /// Start the demo and wait until it shows the train.
    fn run_demo(&self, extra: &str) {
        self.start_demo(extra);
        self.wait_for("the demo to draw the train", 30, |s| {
            s.contains("Lanes 8") && s.contains("data ")
        });
    }

    /// After the program ended: exit code, tty settings, normal screen, visible cursor.
    fn assert_restored(&self, code: &str) {
        let s = self.wait_for("the shell to come back", 20, |s| s.contains("EXIT="));
        assert!(s.contains(&format!("EXIT={code}")), "exit code: {s}");
        // The shell prompt is back on the normal screen, the TUI is gone.
        assert!(!s.contains("Lanes 8"), "the TUI is still on screen:\n{s}");
        assert_eq!(
            self.pane("#{alternate_on}"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.pane("#{cursor_flag}"), "1", "the cursor is hidden");
        let read = |p: &Path| {
            let start = Instant::now();
            loop {
                if let Ok(t) = std::fs::read_to_string(p)
                    && !t.is_empty()
                {
                    return t;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "{} never written",
                    p.display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        assert_eq!(
            read(&self.path("stty.before")),
            read(&self.path("stty.after")),
            "tty settings not restored"
        );
    }

    fn demo_pid(&self) -> String {
        let log = self.path("trainyard.log");
        let out = Command::new("pgrep")
            .arg("-f")
            .arg(format!("demo --log-file {}", log.display()))
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(!pid.is_empty(), "no demo process found");
        pid
    }
}

fn row<'a>(screen: &'a str, lane: &str) -> &'a str {
    screen.lines().find(|l| l.contains(lane)).unwrap_or("")
}

/// The short versions shown in a row, stage by stage.
fn versions(row: &str) -> Vec<String> {
    row.split_whitespace()
        .map(|t| t.trim_end_matches('…'))
        .filter(|t| t.len() >= 5 && t.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

/// The text of a lane's first (build) cell: what follows the lane's name.
fn build_cell(screen: &str, lane: &str) -> String {
    let r = row(screen, lane);
    r.split_once(lane)
        .map(|(_, rest)| rest.trim_start().to_string())
        .unwrap_or_default()
}

#[test]
fn demo_moves_details_promote_quit() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("main", &[]);
    t.run_demo("--seed 42 --speed 4");

    // Select search-indexer with the filter, then move along its row.
    t.keys(&["/", "s", "e", "a", "r", "c", "h", "Enter"]);
    let s = t.wait_for("the filter", 5, |s| s.contains("filter \"search\""));
    assert!(row(&s, "search-indexer").contains('▸'), "{s}");
    t.keys(&["l", "l", "h", "h"]);

    // Details of the build cell.
    t.keys(&["Enter"]);
    let s = t.wait_for("the details popup", 5, |s| s.contains("Details"));
    assert!(s.contains("search-indexer @ build"), "{s}");
    assert!(
        s.contains("version") && s.contains("source    sim (http)"),
        "{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the popup to close", 5, |s| !s.contains("Details"));

    // The build finishes; then promote it to staging through the dialog.
    t.wait_for("the search-indexer build to succeed", 60, |s| {
        build_cell(s, "search-indexer").starts_with('✓')
    });
    let before = t.screen();
    let staging_before: String = row(&before, "search-indexer").to_string();
    let v = versions(&staging_before);
    let build_version = v[0].clone();
    assert_ne!(
        v[1], build_version,
        "staging already has the build: nothing to promote"
    );
    t.keys(&["p"]);
    let s = t.wait_for("the confirmation dialog", 5, |s| {
        s.contains("Confirm promote")
    });
    assert!(s.contains("build → staging"), "{s}");
    assert!(
        s.contains("▶[ Cancel ]"),
        "Cancel must be the default:\n{s}"
    );
    // Enter on the default button cancels.
    t.keys(&["Enter"]);
    let s = t.wait_for("the cancel", 5, |s| s.contains("→ staging cancelled"));
    assert_eq!(
        row(&s, "search-indexer"),
        staging_before,
        "a cancelled promote changed the train"
    );
    t.keys(&["p"]);
    t.wait_for("the confirmation dialog", 5, |s| {
        s.contains("Confirm promote")
    });
    t.keys(&["Tab", "Enter"]);
    t.wait_for("the promotion to be accepted", 15, |s| {
        s.contains("accepted by sim")
    });
    // The train reacts: staging takes the build's version (rolling out, then done).
    t.wait_for("staging to take the build's version", 30, |s| {
        let v = versions(row(s, "search-indexer"));
        v.len() >= 2 && v[1] == build_version
    });

    // Verified: the runner saw staging succeed with it, and said so.
    t.wait_for("the promotion to be verified", 60, |s| s.contains("done:"));
    // The demo's audit log has the attempt and the outcome.
    let audit = t.dir.path().join(".local/share/trainyard/demo-audit.jsonl");
    let text = std::fs::read_to_string(&audit).unwrap();
    let results: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["result"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(results, ["attempt", "done"], "{text}");

    // Help overlay, then quit.
    t.keys(&["?"]);
    t.wait_for("the help", 5, |s| {
        s.contains("Help") && s.contains("Cell states")
    });
    t.keys(&["Escape", "q"]);
    t.assert_restored("0");
}

#[test]
fn the_metrics_view_charts_the_canary_against_stable_and_its_slo() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("charts", &[]);
    t.run_demo("--speed 4");
    // The first lane at canary, where the demo has a stable side to compare with.
    t.keys(&["l", "l", "m"]);
    let s = t.wait_for("the metrics view", 10, |s| {
        s.contains("Metrics · ledger @ canary") && s.contains("Overview · error_rate @ canary")
    });
    // A chart with its legend (the SLO named) and axes, and the verdict against stable.
    assert!(s.contains("SLO ≤1.00%"), "{s}");
    assert!(s.contains("canary") && s.contains("stable"), "{s}");
    assert!(s.contains("now") && s.contains("vs stable: "), "{s}");
    assert!(
        !s.contains("Lanes 8"),
        "the lanes gave way to the charts:\n{s}"
    );
    // ] picks the next metric for the overview; Esc goes back to the train.
    t.keys(&["]"]);
    t.wait_for("the next metric", 5, |s| {
        s.contains("Overview · latency_p99 @ canary")
    });
    t.keys(&["Escape"]);
    t.wait_for("the train again", 5, |s| s.contains("Lanes 8"));
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !have_tmux() {
        return;
    }
    for (signal, code) in [("TERM", "143"), ("HUP", "129"), ("INT", "130")] {
        let t = Tmux::start(&format!("sig{signal}"), &[]);
        t.run_demo("");
        let pid = t.demo_pid();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(status.success());
        t.assert_restored(code);
    }
}

#[test]
fn no_color_draws_without_colour_and_readonly_refuses() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("nocolor", &[("NO_COLOR", "1")]);
    t.run_demo("--readonly");
    let s = t.screen();
    assert!(s.contains("READ-ONLY"), "{s}");
    let styled = t.tmux(&["capture-pane", "-p", "-e", "-t", "e2e"]);
    for sgr in [
        "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[38;", "\x1b[41m", "\x1b[48;",
    ] {
        assert!(
            !styled.contains(sgr),
            "colour {sgr:?} drawn with NO_COLOR set"
        );
    }
    // Every state is still told apart: glyphs and words.
    assert!(s.contains('✓') && s.contains(" ok"), "{s}");
    t.keys(&["p"]);
    t.wait_for("the read-only message", 5, |s| {
        s.contains("read-only: promote is disabled")
    });
    t.keys(&["q"]);
    t.assert_restored("0");
}

#[test]
fn a_panic_restores_the_terminal_and_reports_on_the_normal_screen() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("panic", &[("TRAINYARD_TEST_PANIC", "1")]);
    t.start_demo("");
    t.assert_restored("101");
    // The report may be long (a backtrace): read the scrollback too.
    let s = t.tmux(&["capture-pane", "-p", "-S", "-500", "-t", "e2e"]);
    assert!(s.contains("panic requested by TRAINYARD_TEST_PANIC"), "{s}");
}

#[test]
fn a_double_press_sends_one_request_and_the_cli_sees_it_in_flight() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("double", &[]);
    let sim = start_sim(t.dir.path(), &[]);
    let audit = t.path("audit.jsonl");
    let config = write_config(
        t.dir.path(),
        &sim,
        &format!("[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    t.line(&format!(
        "stty -g > {before}; {BIN} --config {config} --log-file {log}; echo EX\"\"IT=$?; stty -g > {after}",
        before = t.path("stty.before").display(),
        after = t.path("stty.after").display(),
        config = config.display(),
        log = t.path("trainyard.log").display(),
    ));
    t.wait_for("the train", 30, |s| {
        s.contains("Lanes 8") && s.contains("data ")
    });
    // ledger is rolling out at canary: pause it, and press again and again at once.
    t.keys(&["/", "l", "e", "d", "g", "e", "r", "Enter", "l", "l"]);
    t.wait_for("the pause key", 10, |s| s.contains("s pause"));
    t.tmux(&[
        "send-keys",
        "-t",
        "e2e",
        "s",
        "Tab",
        "Enter",
        "s",
        "Enter",
        "s",
        "Tab",
        "Enter",
    ]);
    // While it is in flight, the command line is refused too (or finds nothing left to pause).
    let out = Command::new(BIN)
        .args(["--config"])
        .arg(&config)
        .args(["--log-file"])
        .arg(t.path("cli.log"))
        .args(["pause", "ledger", "--stage", "canary", "--yes"])
        .env("HOME", t.dir.path())
        .output()
        .unwrap();
    let (code, stdout, stderr) = (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        (code == Some(6) && (stdout.contains("in flight") || stdout.contains("changed since")))
            || (code == Some(2) && stderr.contains("nothing to pause")),
        "{code:?} {stdout} {stderr}"
    );
    // The TUI's pause is verified and recorded.
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.contains("\"action\":\"pause\"") && text.contains("\"result\":\"done\"") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no verified pause in the audit log: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    t.keys(&["Escape", "Escape"]);
    let pauses: Vec<_> = sim_actions(&sim)
        .into_iter()
        .filter(|a| a["action"] == "pause")
        .collect();
    assert_eq!(pauses.len(), 1, "{pauses:#?}");
    t.keys(&["q"]);
    t.assert_restored("0");
}

/// An action an earlier run sent and never saw the end of (the SSH session died): the next
/// start says so in the footer and the activity.
#[test]
fn the_next_start_shows_actions_whose_outcome_is_unknown() {
    use trainyard::ops::audit::{AuditLog, Entry, result};
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("unfinished", &[]);
    let log = AuditLog::new(t.dir.path().join(".local/share/trainyard/demo-audit.jsonl"));
    let entry = |result: &str, error: Option<&str>| Entry {
        id: "e2e-1".into(),
        actor: "dana@jump".into(),
        origin: "e2e".into(),
        action: "rollback".into(),
        lane: Some("ledger".into()),
        stage: Some("prod".into()),
        from: Some("aaaaaaa".into()),
        to: Some("bbbbbbb".into()),
        reason: None,
        forced: false,
        dry_run: false,
        result: result.into(),
        error: error.map(String::from),
    };
    log.append(entry(result::ATTEMPT, None)).unwrap();
    log.append(entry(
        result::UNKNOWN,
        Some("sent to sim, outcome unknown: trainyard was stopped by SIGHUP (the terminal or SSH session went away) before it was verified; check the cell at its source"),
    ))
    .unwrap();
    t.run_demo("");
    let s = t.wait_for("the unfinished action to be said", 10, |s| {
        s.contains("1 unfinished action(s) from an earlier run")
    });
    assert!(
        s.contains("UNFINISHED from an earlier run: rollback ledger at prod"),
        "{s}"
    );
    t.keys(&["q"]);
    t.assert_restored("0");
}

/// `auto_pause = true` at canary: the simulator's bad canary (notifications) breaches its error
/// rate SLO, and the running TUI pauses it as `trainyard-auto` — through the runner, into the
/// audit log, said on screen.
#[test]
fn auto_pause_pauses_a_breaching_canary_as_trainyard_auto() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("autopause", &[]);
    let sim = start_sim(t.dir.path(), &["--speed", "4"]);
    let audit = t.path("audit.jsonl");
    let text = sim
        .config
        .replace("[policy.canary]\n", "[policy.canary]\nauto_pause = true\n");
    assert_ne!(text, sim.config, "the sim's config has a [policy.canary]");
    let config = t.path("config.toml");
    std::fs::write(
        &config,
        format!(
            "{text}\n[audit]\npath = {:?}\n",
            audit.display().to_string()
        ),
    )
    .unwrap();
    t.line(&format!(
        "{BIN} --config {} --log-file {}; echo EX\"\"IT=$?",
        config.display(),
        t.path("trainyard.log").display()
    ));
    t.wait_for("the train", 30, |s| s.contains("Lanes 8"));
    let start = Instant::now();
    let record = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["actor"] == "trainyard-auto" && r["result"] != "attempt");
        if let Some(r) = found {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no auto pause in the audit log:\n{text}\nscreen:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(record["action"], "pause", "{record}");
    assert_eq!(record["lane"], "notifications", "{record}");
    assert_eq!(record["result"], "done", "{record}");
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("auto_pause: ") && reason.contains("> 1.00% at canary"),
        "{reason}"
    );
    // On screen: the lane held (‖) and the hold among the blockers — or, if the rollout was
    // still moving, the cell paused.
    t.wait_for("the hold or the pause on screen", 10, |s| {
        row(s, "notifications").contains('‖') && s.contains("[hold] notifications→")
            || row(s, "notifications").contains("paus")
    });
    t.keys(&["q"]);
    t.wait_for("the shell", 10, |s| s.contains("EXIT=0"));
}

/// Byte sequences the hostile demo sends that must never reach the terminal, by name.
const FORBIDDEN: &[(&str, &[u8])] = &[
    ("OSC (ESC ])", b"\x1b]"),
    ("DCS (ESC P)", b"\x1bP"),
    ("SOS (ESC X)", b"\x1bX"),
    ("PM (ESC ^)", b"\x1b^"),
    ("APC (ESC _)", b"\x1b_"),
    ("a reset (ESC c)", b"\x1bc"),
    ("a cursor position request (CSI 6 n)", b"\x1b[6n"),
    ("8-bit CSI as UTF-8", b"\xc2\x9b"),
    ("8-bit OSC as UTF-8", b"\xc2\x9d"),
    ("8-bit DCS as UTF-8", b"\xc2\x90"),
    ("8-bit ST as UTF-8", b"\xc2\x9c"),
    ("RLO", "\u{202e}".as_bytes()),
    ("PDF", "\u{202c}".as_bytes()),
    ("RLI", "\u{2067}".as_bytes()),
    ("LRI", "\u{2066}".as_bytes()),
    ("PDI", "\u{2069}".as_bytes()),
    ("ZWSP", "\u{200b}".as_bytes()),
    ("ZWJ", "\u{200d}".as_bytes()),
    ("BOM / ZWNBSP", "\u{feff}".as_bytes()),
    ("tag character", "\u{e0048}".as_bytes()),
    // What the payloads carry: none of it may show, even as text.
    ("the clipboard payload", b"SE9TVElMRS1DTElQQk9BUkQ"),
    ("the title payload", b"HOSTILE-TITLE"),
    ("the hyperlink target", b"evil.example"),
];

/// `trainyard demo --hostile` in a real terminal: every string the simulator sends carries
/// escape sequences, bidi overrides and invisible characters. The raw bytes trainyard writes
/// to the pty (tmux `pipe-pane`, from before the start to after the quit) carry none of them,
/// though the payloads reached the screen (made visible as ␛ and �) in the details, the
/// activity and the metrics view; tmux's title and clipboard are untouched.
#[test]
fn hostile_payloads_never_reach_the_terminal() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("hostile", &[]);
    t.tmux(&["resize-window", "-t", "e2e", "-x", "120", "-y", "40"]);
    // Let an OSC 52 land in tmux's paste buffers, were one to get through.
    t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    let raw = t.path("pty.raw");
    t.tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        "e2e",
        &format!("cat >> {}", raw.display()),
    ]);
    t.run_demo("--hostile --speed 4");
    let mut seen = String::new();

    // Details of ledger at canary (http source): message, URL, actor, versions in CJK.
    t.keys(&["l", "l", "Enter"]);
    let s = t.wait_for("the details of ledger @ canary", 10, |s| {
        s.contains("ledger @ canary")
    });
    assert!(s.contains("日本語日本語-"), "{s}");
    seen.push_str(&s);
    // checkout-web waits for approval at prod (GitHub source): hostile reviewers.
    t.keys(&["Escape", "j", "j", "l", "Enter"]);
    let s = t.wait_for("the details of checkout-web @ prod", 10, |s| {
        s.contains("checkout-web @ prod") && s.contains("reviewers")
    });
    seen.push_str(&s);
    // auth-service's failed build: check names, emoji versions.
    t.keys(&["Escape", "j", "h", "h", "h", "Enter"]);
    let s = t.wait_for("the details of auth-service @ build", 10, |s| {
        s.contains("auth-service @ build") && s.contains("🚀🚀🚀🚀-")
    });
    seen.push_str(&s);
    t.keys(&["Escape"]);

    // Pause ledger's canary rollout: the simulator's answer carries an attack, into the
    // activity.
    t.keys(&["k", "k", "k", "l", "l"]);
    t.wait_for("the pause key on ledger @ canary", 10, |s| {
        s.contains("s pause")
    });
    t.keys(&["s"]);
    t.wait_for("the pause dialog", 5, |s| s.contains("Confirm pause"));
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for("the answer in the activity", 20, |s| {
        s.contains("accepted by sim")
    });
    seen.push_str(&s);

    // The metrics view; latency_p99 of ledger answers with a hostile error.
    t.keys(&["m"]);
    t.wait_for("the metrics view", 10, |s| {
        s.contains("Metrics · ledger @ canary")
    });
    t.keys(&["]"]);
    let s = t.wait_for("latency's error", 15, |s| {
        s.contains("Overview · latency_p99") && s.contains("query processing failed")
    });
    seen.push_str(&s);
    t.keys(&["Escape", "q"]);
    t.assert_restored("0");
    t.tmux(&["pipe-pane", "-t", "e2e"]);

    let bytes = {
        let start = Instant::now();
        loop {
            let b = std::fs::read(&raw).unwrap_or_default();
            if b.windows(5).any(|w| w == b"EXIT=") || start.elapsed() > Duration::from_secs(5) {
                break b;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(
        bytes.len() > 10_000,
        "pipe-pane caught {} bytes",
        bytes.len()
    );
    let reached: Vec<String> = FORBIDDEN
        .iter()
        .filter_map(|(what, seq)| {
            let at = bytes.windows(seq.len()).position(|w| w == *seq)?;
            let from = at.saturating_sub(60);
            Some(format!(
                "{what} at byte {at}: …{:?}…",
                String::from_utf8_lossy(&bytes[from..(at + 60).min(bytes.len())])
            ))
        })
        .collect();
    assert!(
        reached.is_empty(),
        "reached the terminal:\n{}",
        reached.join("\n")
    );
    // Every escape sequence in the stream is one trainyard (crossterm) or the shell writes by
    // design: cursor positions, colours and attributes, clears, and the DEC modes of the
    // alternate screen (1049), synchronized output (2026), the cursor (25) and bash's
    // bracketed paste (2004). No OSC, DCS or other string, no query, no cursor motion else.
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == 0x1b) {
        let rest = &bytes[at + 1..];
        let seq: Vec<u8> = rest.iter().take(24).copied().collect();
        let show = || String::from_utf8_lossy(&bytes[at..(at + 24).min(bytes.len())]).into_owned();
        assert_eq!(
            seq.first(),
            Some(&b'['),
            "a non-CSI escape at {at}: {:?}",
            show()
        );
        let params: Vec<u8> = seq[1..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b';' || **b == b'?')
            .copied()
            .collect();
        let fin = seq.get(1 + params.len()).copied().unwrap_or(0);
        let ok = match fin {
            b'H' | b'm' | b'J' | b'K' => !params.contains(&b'?'),
            b'h' | b'l' => [&b"?1049"[..], b"?2026", b"?25", b"?2004"].contains(&&params[..]),
            _ => false,
        };
        assert!(ok, "an unexpected escape sequence at {at}: {:?}", show());
    }
    // No 8-bit C1 byte on its own: the stream is UTF-8 throughout, and no C1 character in it.
    let text = String::from_utf8(bytes.clone()).expect("the pty output is UTF-8");
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "a C1 control reached the terminal"
    );
    // The payloads reached the screen, made visible: ␛ (E2 90 9B) went out.
    assert!(seen.contains('␛'), "no ␛ on any screen:\n{seen}");
    assert!(seen.contains('�'), "no � on any screen:\n{seen}");
    assert!(text.contains('␛'), "no ␛ in the output");
    // tmux's title and clipboard are as they were.
    assert!(
        !t.pane("#{pane_title}").contains("HOSTILE"),
        "{}",
        t.pane("#{pane_title}")
    );
    assert_eq!(
        t.tmux(&["list-buffers"]).trim(),
        "",
        "a paste buffer was set"
    );
}

// ---- Faults never freeze the screen (docs/chaos.md) ----

/// The demo's lanes, in order.
const DEMO_LANES: [&str; 8] = [
    "ledger",
    "payments-api",
    "checkout-web",
    "auth-service",
    "search-indexer",
    "notifications",
    "inventory",
    "pricing-engine",
];

impl Tmux {
    /// The demo's simulator, as its log names it.
    fn demo_sim_url(&self) -> String {
        let log = self.path("trainyard.log");
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| {
                let (_, rest) = l.split_once("demo: simulator at ")?;
                rest.split_whitespace().next().map(str::to_string)
            }) {
                return url;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the log never named the simulator: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Press `?` and see the help, `Esc` and see it go, `j` and see the selection move, `k`
    /// and see it back: each drawn within a few seconds.
    fn keys_are_drawn(&self, what: &str) {
        self.keys(&["?"]);
        self.wait_for(&format!("the help ({what})"), 5, |s| {
            s.contains("Help") && s.contains("Cell states")
        });
        self.keys(&["Escape"]);
        self.wait_for(&format!("the help to close ({what})"), 5, |s| {
            !s.contains("Cell states")
        });
        let before = selected_lane(&self.screen());
        self.keys(&["j"]);
        self.wait_for(&format!("j to move the selection ({what})"), 5, |s| {
            selected_lane(s).is_some() && selected_lane(s) != before
        });
        self.keys(&["k"]);
        self.wait_for(&format!("k to move it back ({what})"), 5, |s| {
            selected_lane(s) == before
        });
    }
}

/// The lane whose row carries the selection mark.
fn selected_lane(screen: &str) -> Option<&'static str> {
    DEMO_LANES
        .into_iter()
        .find(|l| row(screen, l).contains(&format!("▸{l}")))
}

/// Set the simulator's faults at runtime (`POST /_sim/chaos`; an empty spec ends them).
fn set_chaos(base_url: &str, spec: &str) {
    use std::io::{Read, Write};
    let addr = base_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /_sim/chaos HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{spec}",
        spec.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.contains(" 200 "), "{answer}");
}

/// The header's "data Ns" age, when it is under a minute.
fn data_age(screen: &str) -> Option<u64> {
    let line = screen.lines().nth(1)?;
    let (_, rest) = line.split_once("data ")?;
    rest.split_whitespace()
        .next()?
        .strip_suffix('s')?
        .parse()
        .ok()
}

/// A cell marked stale (`~`) or failed (`E`) in the row.
fn marked(row: &str) -> bool {
    row.contains('~') || row.contains("E ") || row.contains("E┃")
}

/// Item 1 end to end: every request of every source hangs, yet keys are drawn at once; the
/// cells keep their versions, marked, the header says which sources are down; when the fault
/// ends the data comes back by itself (markers gone, "data Ns" young again).
#[test]
fn the_demo_stays_responsive_while_every_request_hangs_and_recovers() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start("hang", &[]);
    t.run_demo("--speed 4");
    let sim = t.demo_sim_url();
    let before = t.screen();
    let ledger = versions(row(&before, "ledger"));
    assert_eq!(ledger.len(), 4, "{before}");

    set_chaos(&sim, "hang=1");
    // The polls now in flight never get an answer: the screen answers anyway.
    t.keys_are_drawn("every request stuck");
    let s = t.wait_for("the sources to be marked down", 60, |s| {
        s.contains("source down:") && marked(row(s, "ledger"))
    });
    assert_eq!(
        versions(row(&s, "ledger")),
        ledger,
        "the last good versions stay:\n{s}"
    );
    // Still stuck (every new poll hangs too): still drawn at once.
    t.keys_are_drawn("sources down and every request stuck");
    t.keys(&["Enter"]);
    let d = t.wait_for("the details of a stuck cell", 5, |s| s.contains("Details"));
    assert!(d.contains("STALE") && d.contains("timed out"), "{d}");
    t.keys(&["Escape"]);

    set_chaos(&sim, "");
    t.wait_for("the data to come back", 120, |s| {
        !s.contains("source down")
            && data_age(s).is_some_and(|a| a < 10)
            && DEMO_LANES.iter().all(|l| !marked(row(s, l)))
    });
    t.keys(&["q"]);
    t.assert_restored("0");
}

/// `trainyard demo --chaos MODE` for every mode: for about ten seconds the screen answers
/// every key, then `q` quits with 0 and the terminal is restored.
#[test]
fn the_demo_survives_every_chaos_mode_with_the_screen_responsive() {
    if !have_tmux() {
        return;
    }
    let modes = [
        "latency=2s",
        "errors=0.5",
        "malformed=0.5",
        "drop=0.5",
        "slow=0.5",
        "ratelimit=0.3",
        "hang=1",
        "latency=300ms,errors=0.2,malformed=0.1,drop=0.1,slow=0.1,ratelimit=0.05,hang=0.05",
    ];
    for (i, mode) in modes.iter().enumerate() {
        let t = Tmux::start(&format!("chaos{i}"), &[]);
        t.start_demo(&format!("--speed 4 --chaos {mode}"));
        t.wait_for(&format!("the lanes under {mode}"), 30, |s| {
            s.contains("Lanes 8")
        });
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            t.keys_are_drawn(mode);
        }
        t.keys(&["q"]);
        t.assert_restored("0");
    }
}
