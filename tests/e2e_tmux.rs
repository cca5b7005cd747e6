//! End to end: the real binary in a real terminal (tmux). Starts `trainyard demo`, moves,
//! opens details, promotes through the dialog, sees the train change, quits, and checks that
//! the terminal was restored; then the same for SIGTERM and SIGHUP, a NO_COLOR run, and the
//! metrics view's charts.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the tests fail under CI=true and are
//! skipped with a message otherwise.

mod common;

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::bin::{BIN, Trainyard};
use common::sim;
use common::tmux::{self, Options, Tmux};
use common::wait::{PATIENCE, ok_if, until};

/// The demo's own words for its train being on screen.
const TRAIN: &str = "Lanes 9";

fn have_tmux() -> bool {
    tmux::available("the end-to-end tests")
}

/// Running the demo in a [`Tmux`] pane.
trait DemoTerminal {
    fn start_demo(&self, extra: &str);
    fn run_demo(&self, extra: &str);
    fn assert_demo_ended(&self, code: &str);
    fn demo_pid(&self) -> String;
    fn demo_sim_url(&self) -> String;
    fn keys_are_drawn(&self, what: &str);
}

impl DemoTerminal for Tmux {
    /// Start the demo from the shell (the exit code and the tty settings recorded).
    fn start_demo(&self, extra: &str) {
        self.run(&format!(
            "{BIN} demo --log-file {log} {extra}",
            log = self.path("trainyard.log").display(),
        ));
    }

    /// Start the demo and wait until it shows the train.
    fn run_demo(&self, extra: &str) {
        self.start_demo(extra);
        self.wait_for("the demo to draw the train", |s| {
            s.contains(TRAIN) && s.contains("data ")
        });
    }

    /// After the demo ended: exit code, tty settings, normal screen, visible cursor.
    fn assert_demo_ended(&self, code: &str) {
        self.assert_restored(code, TRAIN);
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

    /// The demo's simulator, as its log names it.
    fn demo_sim_url(&self) -> String {
        let log = self.path("trainyard.log");
        until("the log to name the simulator", PATIENCE, || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines()
                .find_map(|l| {
                    let (_, rest) = l.split_once("demo: simulator at ")?;
                    rest.split_whitespace().next().map(str::to_string)
                })
                .ok_or(text)
        })
    }

    /// Press `?` and see the help, `Esc` and see it go, `j` and see the selection move, `k`
    /// and see it back: each drawn within a few seconds (the promise: less than a source's
    /// timeout, so that a screen waiting on a source fails).
    fn keys_are_drawn(&self, what: &str) {
        const DRAWN: Duration = Duration::from_secs(5);
        self.keys(&["?"]);
        self.wait_within(&format!("the help ({what})"), DRAWN, |s| {
            s.contains("Help") && s.contains("this help")
        });
        self.keys(&["Escape"]);
        self.wait_within(&format!("the help to close ({what})"), DRAWN, |s| {
            !s.contains("this help")
        });
        let before = selected_lane(&self.screen());
        self.keys(&["j"]);
        self.wait_within(&format!("j to move the selection ({what})"), DRAWN, |s| {
            selected_lane(s).is_some() && selected_lane(s) != before
        });
        self.keys(&["k"]);
        self.wait_within(&format!("k to move it back ({what})"), DRAWN, |s| {
            selected_lane(s) == before
        });
    }
}

/// The tests that time key presses take turns: each has the machine to itself but for the
/// other tests, and a slow draw is the screen's fault, not a neighbour's.
static KEY_TIMING: Mutex<()> = Mutex::new(());

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

/// Actions of `kind` the simulator at `url` received.
fn received(url: &str, kind: &str) -> Vec<serde_json::Value> {
    sim::actions_at(url.to_string())
        .into_iter()
        .filter(|a| a["action"] == kind)
        .collect()
}

/// The results in an audit log, in order.
fn audit_results(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["result"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn demo_moves_details_promote_quit() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("main", &[]);
    t.run_demo("--seed 42 --speed 4");
    let sim = t.demo_sim_url();

    // Select search-indexer with the filter, then move along its row.
    t.keys(&["/", "s", "e", "a", "r", "c", "h", "Enter"]);
    let s = t.wait_for("the filter", |s| s.contains("filter \"search\""));
    assert!(row(&s, "search-indexer").contains('▸'), "{s}");
    t.keys(&["l", "l", "h", "h"]);

    // Details of the build cell.
    t.keys(&["Enter"]);
    let s = t.wait_for("the details popup", |s| s.contains("Details"));
    assert!(s.contains("search-indexer @ build"), "{s}");
    assert!(
        s.contains("version") && s.contains("source    sim (http)"),
        "{s}"
    );
    t.keys(&["Escape"]);
    t.wait_for("the popup to close", |s| !s.contains("Details"));

    // The build finishes; then promote it to staging through the dialog.
    let before = t.wait_for("the search-indexer build to succeed", |s| {
        build_cell(s, "search-indexer").starts_with('✓')
    });
    let v = versions(row(&before, "search-indexer"));
    let build_version = v[0].clone();
    assert_ne!(
        v[1], build_version,
        "staging already has the build: nothing to promote"
    );
    t.keys(&["p"]);
    let s = t.wait_for("the confirmation dialog", |s| s.contains("Confirm promote"));
    assert!(s.contains("build → staging"), "{s}");
    assert!(
        s.contains("▶[ Cancel ]"),
        "Cancel must be the default:\n{s}"
    );
    // Enter on the default button cancels: nothing reaches the simulator, and staging does
    // not take the build.
    t.keys(&["Enter"]);
    let s = t.wait_for("the cancel", |s| s.contains("→ staging cancelled"));
    assert!(
        received(&sim, "promote").is_empty(),
        "a cancelled promote was sent"
    );
    assert_ne!(
        versions(row(&s, "search-indexer")).get(1),
        Some(&build_version),
        "a cancelled promote changed the train:\n{s}"
    );
    t.keys(&["p"]);
    t.wait_for("the confirmation dialog", |s| s.contains("Confirm promote"));
    t.keys(&["Tab", "Enter"]);
    t.wait_for("the promotion to be accepted", |s| {
        s.contains("accepted by sim")
    });
    // The train reacts: staging takes the build's version (rolling out, then done).
    t.wait_for("staging to take the build's version", |s| {
        let v = versions(row(s, "search-indexer"));
        v.len() >= 2 && v[1] == build_version
    });

    // Verified: the runner saw staging succeed with it, and said so.
    t.wait_for("the promotion to be verified", |s| s.contains("done:"));
    assert_eq!(received(&sim, "promote").len(), 1, "sent once");
    // The demo's audit log has the attempt and the outcome.
    let audit = t.path(".local/share/trainyard/demo-audit.jsonl");
    assert_eq!(audit_results(&audit), ["attempt", "done"]);

    // Help overlay, then quit.
    t.keys(&["?"]);
    t.wait_for("the help", |s| {
        s.contains("Help") && s.contains("this help")
    });
    t.keys(&["Escape", "q"]);
    t.assert_demo_ended("0");
}

#[test]
fn the_metrics_view_charts_the_canary_against_stable_and_its_slo() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("charts", &[]);
    t.run_demo("--speed 4");
    // The first lane at canary, where the demo has a stable side to compare with.
    t.keys(&["l", "l", "m"]);
    let s = t.wait_for("the metrics view", |s| {
        s.contains("Metrics · ledger @ canary") && s.contains("Overview · error_rate @ canary")
    });
    // A chart with its legend (the SLO named) and axes, and the verdict against stable.
    assert!(s.contains("SLO ≤1.00%"), "{s}");
    assert!(s.contains("canary") && s.contains("stable"), "{s}");
    assert!(s.contains("now") && s.contains("vs stable: "), "{s}");
    assert!(!s.contains(TRAIN), "the lanes gave way to the charts:\n{s}");
    // ] picks the next metric for the overview; Esc goes back to the train.
    t.keys(&["]"]);
    t.wait_for("the next metric", |s| {
        s.contains("Overview · latency_p99 @ canary")
    });
    t.keys(&["Escape"]);
    t.wait_for("the train again", |s| s.contains(TRAIN));
    t.keys(&["q"]);
    t.assert_demo_ended("0");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !have_tmux() {
        return;
    }
    for (signal, code) in [("TERM", "143"), ("HUP", "129"), ("INT", "130")] {
        let t = Tmux::shell(&format!("sig{signal}"), &[]);
        t.run_demo("");
        let pid = t.demo_pid();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(status.success());
        t.assert_demo_ended(code);
    }
}

#[test]
fn no_color_draws_without_colour_and_readonly_refuses() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("nocolor", &[("NO_COLOR", "1")]);
    t.run_demo("--readonly");
    let s = t.screen();
    assert!(s.contains("READ-ONLY"), "{s}");
    let styled = t.styled_screen();
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
    t.wait_for("the read-only message", |s| {
        s.contains("read-only: promote is disabled")
    });
    t.keys(&["q"]);
    t.assert_demo_ended("0");
}

#[test]
fn a_panic_restores_the_terminal_and_reports_on_the_normal_screen() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("panic", &[("TRAINYARD_TEST_PANIC", "1")]);
    t.start_demo("");
    t.assert_demo_ended("101");
    // The report may be long (a backtrace): read the scrollback too.
    let s = t.history();
    assert!(s.contains("panic requested by TRAINYARD_TEST_PANIC"), "{s}");
}

#[test]
fn a_double_press_sends_one_request_and_the_cli_sees_it_in_flight() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("double", &[]);
    let sim = sim::spawn(t.dir(), &[]);
    let (config, audit) = sim.write_audited_config(t.dir(), "");
    t.run_tui(&config);
    t.wait_for("the train", |s| s.contains(TRAIN) && s.contains("data "));
    // ledger is rolling out at canary: pause it, and press again and again at once.
    t.keys(&["/", "l", "e", "d", "g", "e", "r", "Enter", "l", "l"]);
    t.wait_for("the pause key", |s| s.contains("s pause"));
    t.burst(&["s", "Tab", "Enter", "s", "Enter", "s", "Tab", "Enter"]);
    // While it is in flight, the command line is refused too (or finds nothing left to pause).
    let r = Trainyard::new(t.dir())
        .config(&config)
        .log_file(&t.path("cli.log"))
        .args(["pause", "ledger", "--stage", "canary", "--yes"])
        .run();
    assert!(
        (r.code == 6 && (r.stdout.contains("in flight") || r.stdout.contains("changed since")))
            || (r.code == 2 && r.stderr.contains("nothing to pause")),
        "{r}"
    );
    // The TUI's pause is verified and recorded.
    until("a verified pause in the audit log", PATIENCE, || {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        ok_if(
            text.contains("\"action\":\"pause\"") && text.contains("\"result\":\"done\""),
            || text.clone(),
        )
    });
    t.keys(&["Escape", "Escape"]);
    let pauses = received(&sim.base_url, "pause");
    assert_eq!(pauses.len(), 1, "{pauses:#?}");
    t.keys(&["q"]);
    t.assert_demo_ended("0");
}

/// An action an earlier run sent and never saw the end of (the SSH session died): the next
/// start says so in the footer and the activity.
#[test]
fn the_next_start_shows_actions_whose_outcome_is_unknown() {
    use trainyard::ops::audit::{AuditLog, Entry, result};
    if !have_tmux() {
        return;
    }
    let t = Tmux::shell("unfinished", &[]);
    let log = AuditLog::new(t.path(".local/share/trainyard/demo-audit.jsonl"));
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
    let s = t.wait_for("the unfinished action to be said", |s| {
        s.contains("1 unfinished action(s) from an earlier run")
    });
    assert!(
        s.contains("UNFINISHED from an earlier run: rollback ledger at prod"),
        "{s}"
    );
    t.keys(&["q"]);
    t.assert_demo_ended("0");
}

/// `auto_pause = true` at canary: the simulator's bad canary (notifications) breaches its error
/// rate SLO, and the running TUI pauses it as `trainyard-auto` — through the runner, into the
/// audit log, said on screen.
#[test]
fn auto_pause_pauses_a_breaching_canary_as_trainyard_auto() {
    if !have_tmux() {
        return;
    }
    // Taller than 80×24: the blockers panel must have room for the hold among the others.
    let t = Tmux::start(
        "autopause",
        Options {
            height: 40,
            ..Options::default()
        },
    );
    let sim = sim::spawn(t.dir(), &["--speed", "4"]);
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
    t.run(&format!(
        "{BIN} --config {} --log-file {}",
        config.display(),
        t.path("trainyard.log").display()
    ));
    t.wait_for("the train", |s| s.contains(TRAIN));
    let record = until("an auto pause in the audit log", PATIENCE * 2, || {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["actor"] == "trainyard-auto" && r["result"] != "attempt")
            .ok_or_else(|| format!("{text}\nscreen:\n{}", t.screen()))
    });
    assert_eq!(record["action"], "pause", "{record}");
    assert_eq!(record["lane"], "notifications", "{record}");
    assert_eq!(record["result"], "done", "{record}");
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("auto_pause: ") && reason.contains("> 1.00% at canary"),
        "{reason}"
    );
    // On screen: the lane held (‖) and the hold among the blockers — or, if the rollout was
    // still moving, the cell paused. The selected lane's blockers come first: jump to it.
    t.keys(&[":", "n", "o", "t", "i", "f", "Enter"]);
    t.wait_for("the hold or the pause on screen", |s| {
        row(s, "notifications").contains('‖')
            && s.lines()
                .any(|l| l.contains("‖ notifications") && l.contains("on hold by"))
            || row(s, "notifications").contains("paus")
    });
    t.keys(&["q"]);
    t.wait_for("the shell", |s| s.contains("EXIT=0"));
}

/// Byte sequences the hostile demo sends that must never reach the terminal, by name. (OSC
/// has its own check: trainyard writes OSC 8 links of its own, and nothing else.)
const FORBIDDEN: &[(&str, &[u8])] = &[
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

/// Every OSC sequence in `bytes`: where its `ESC ]` starts, its body, and where it ends (past
/// its terminator, `ESC \` or BEL; the end of `bytes` if none).
fn osc_sequences(bytes: &[u8]) -> Vec<(usize, String, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(2).position(|w| w == b"\x1b]") {
        let start = at + i;
        let body_at = start + 2;
        let (len, term) = bytes[body_at..]
            .iter()
            .enumerate()
            .find_map(|(j, b)| match b {
                0x07 => Some((j, 1)),
                0x1b if bytes.get(body_at + j + 1) == Some(&b'\\') => Some((j, 2)),
                _ => None,
            })
            .unwrap_or((bytes.len() - body_at, 0));
        let body = String::from_utf8_lossy(&bytes[body_at..body_at + len]).into_owned();
        let end = body_at + len + term;
        out.push((start, body, end));
        at = end;
    }
    out
}

/// `trainyard demo --hostile` in a real terminal: every string the simulator sends carries
/// escape sequences, bidi overrides and invisible characters. The raw bytes trainyard writes
/// to the pty (tmux `pipe-pane`, from before the start to after the quit) carry none of them,
/// though the payloads reached the screen (made visible as ␛ and �) in the details, the
/// activity and the metrics view; tmux's title and clipboard are untouched. The only OSC is
/// trainyard's own OSC 8 link to a URL that may be one (`osc::linkable`) and holds nothing of
/// a payload's attack; no OSC 52 (nothing was copied).
#[test]
fn hostile_payloads_never_reach_the_terminal() {
    if !have_tmux() {
        return;
    }
    let t = Tmux::start(
        "hostile",
        Options {
            width: 120,
            height: 40,
            ..Options::default()
        },
    );
    // Let an OSC 52 land in tmux's paste buffers, were one to get through.
    t.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    let raw = t.path("pty.raw");
    t.tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        "ty",
        &format!("cat >> {}", raw.display()),
    ]);
    t.run_demo("--hostile --speed 4");
    let mut seen = String::new();

    // Details of ledger at canary (http source): message, URL, actor, versions in CJK.
    t.keys(&["l", "l", "Enter"]);
    let s = t.wait_for("the details of ledger @ canary", |s| {
        s.contains("ledger @ canary")
    });
    assert!(s.contains("日本語日本語-"), "{s}");
    seen.push_str(&s);
    // checkout-web waits for approval at prod (GitHub source): hostile reviewers.
    t.keys(&["Escape", "j", "j", "l", "Enter"]);
    let s = t.wait_for("the details of checkout-web @ prod", |s| {
        s.contains("checkout-web @ prod") && s.contains("reviewers")
    });
    seen.push_str(&s);
    // auth-service's failed build: check names, emoji versions.
    t.keys(&["Escape", "j", "h", "h", "h", "Enter"]);
    let s = t.wait_for("the details of auth-service @ build", |s| {
        s.contains("auth-service @ build") && s.contains("🚀🚀🚀🚀-")
    });
    seen.push_str(&s);
    t.keys(&["Escape"]);

    // Pause ledger's canary rollout: the simulator's answer carries an attack, into the
    // activity.
    t.keys(&["k", "k", "k", "l", "l"]);
    t.wait_for("the pause key on ledger @ canary", |s| {
        s.contains("s pause")
    });
    t.keys(&["s"]);
    t.wait_for("the pause dialog", |s| s.contains("Confirm pause"));
    t.keys(&["Tab", "Enter"]);
    let s = t.wait_for("the answer in the activity", |s| {
        s.contains("accepted by sim")
    });
    seen.push_str(&s);

    // The metrics view; latency_p99 of ledger answers with a hostile error.
    t.keys(&["m"]);
    t.wait_for("the metrics view", |s| {
        s.contains("Metrics · ledger @ canary")
    });
    t.keys(&["]"]);
    let s = t.wait_for("latency's error", |s| {
        s.contains("Overview · latency_p99") && s.contains("query processing failed")
    });
    seen.push_str(&s);
    t.keys(&["Escape", "q"]);
    t.assert_demo_ended("0");
    // Everything up to the shell's EXIT= line has gone through the pipe before it stops.
    let bytes = until("the pty's bytes up to the exit", PATIENCE, || {
        let b = std::fs::read(&raw).unwrap_or_default();
        ok_if(b.windows(5).any(|w| w == b"EXIT="), || {
            format!("{} bytes", b.len())
        })
        .map(|()| b)
    });
    t.tmux(&["pipe-pane", "-t", "ty"]);
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
    // The only OSC is a link of trainyard's own: OSC 8 to a linkable URL with none of the
    // payloads in it, terminated with ST, and its end.
    let oscs = osc_sequences(&bytes);
    for (at, body, end) in &oscs {
        let uri = body.strip_prefix("8;;");
        assert!(
            uri.is_some_and(|u| u.is_empty() || trainyard::tui::osc::linkable(u))
                && &bytes[end - 2..*end] == b"\x1b\\",
            "an OSC that is not one of trainyard's links at {at}: {body:?}"
        );
        for marker in [
            "evil.example",
            "HOSTILE",
            "SE9TVElM",
            "\u{241b}",
            "\u{fffd}",
        ] {
            assert!(
                !body.contains(marker),
                "{marker} in a link at {at}: {body:?}"
            );
        }
    }
    // Links of trainyard's own still went out: checkout-web's commit, whose address has no
    // payload text in it.
    assert!(
        oscs.iter()
            .any(|(_, b, _)| b.starts_with("8;;http") && b.contains("/acme/checkout-web/commit/")),
        "no link at all: {oscs:?}"
    );
    let in_osc = |i: usize| oscs.iter().any(|(s, _, e)| (*s..*e).contains(&i));
    // Every other escape sequence in the stream is one trainyard (crossterm) or the shell
    // writes by design: cursor positions, colours and attributes, clears, and the DEC modes of
    // the alternate screen (1049), synchronized output (2026), the cursor (25) and bash's
    // bracketed paste (2004). No DCS or other string, no query, no cursor motion else.
    for (at, _) in bytes
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == 0x1b && !in_osc(*i))
    {
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
const DEMO_LANES: [&str; 9] = [
    "ledger",
    "payments-api",
    "checkout-web",
    "auth-service",
    "search-indexer",
    "notifications",
    "inventory",
    "pricing-engine",
    "shipping-api",
];

/// The lane whose row carries the selection mark.
fn selected_lane(screen: &str) -> Option<&'static str> {
    DEMO_LANES
        .into_iter()
        .find(|l| row(screen, l).contains(&format!("▸{l}")))
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
    let _one_at_a_time = KEY_TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let t = Tmux::shell("hang", &[]);
    t.run_demo("--speed 4");
    let sim = t.demo_sim_url();
    let before = t.screen();
    assert_eq!(versions(row(&before, "ledger")).len(), 4, "{before}");

    sim::set_chaos(&sim, "hang=1");
    // The polls now in flight never get an answer: the screen answers anyway.
    t.keys_are_drawn("every request stuck");
    // The last good data is what the row showed last before it was marked (an answer on its
    // way when the fault began may still have arrived).
    let last_good = std::cell::RefCell::new(versions(row(&before, "ledger")));
    let s = t.wait_for("the sources to be marked down", |s| {
        let down = s.contains("source down:") && marked(row(s, "ledger"));
        if !marked(row(s, "ledger")) {
            *last_good.borrow_mut() = versions(row(s, "ledger"));
        }
        down
    });
    assert_eq!(
        versions(row(&s, "ledger")),
        *last_good.borrow(),
        "the last good versions stay:\n{s}"
    );
    // Still stuck (every new poll hangs too): still drawn at once.
    t.keys_are_drawn("sources down and every request stuck");
    t.keys(&["Enter"]);
    let d = t.wait_for("the details of a stuck cell", |s| s.contains("Details"));
    assert!(d.contains("STALE") && d.contains("timed out"), "{d}");
    t.keys(&["Escape"]);

    sim::set_chaos(&sim, "");
    t.wait_for("the data to come back", |s| {
        !s.contains("source down")
            && data_age(s).is_some_and(|a| a < 10)
            && DEMO_LANES.iter().all(|l| !marked(row(s, l)))
    });
    t.keys(&["q"]);
    t.assert_demo_ended("0");
}

/// `trainyard demo --chaos MODE` for every mode: for about ten seconds the screen answers
/// every key, then `q` quits with 0 and the terminal is restored.
#[test]
fn the_demo_survives_every_chaos_mode_with_the_screen_responsive() {
    if !have_tmux() {
        return;
    }
    let _one_at_a_time = KEY_TIMING.lock().unwrap_or_else(|e| e.into_inner());
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
        let t = Tmux::shell(&format!("chaos{i}"), &[]);
        t.start_demo(&format!("--speed 4 --chaos {mode}"));
        t.wait_for(&format!("the lanes under {mode}"), |s| s.contains(TRAIN));
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            t.keys_are_drawn(mode);
        }
        t.keys(&["q"]);
        t.assert_demo_ended("0");
    }
}
