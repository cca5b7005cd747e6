//! `trainyard watch` against the simulator: changes printed line by line, and the demo's
//! breaching canary paused by `trainyard-auto` with no screen open; SIGTERM stops it cleanly.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BIN, start_sim, write_config};

/// A running `trainyard watch`, its stdout read line by line on a thread. Killed when dropped.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(dir: &std::path::Path, config: &std::path::Path, args: &[&str]) -> Watch {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(config)
            .arg("--log-file")
            .arg(dir.join("trainyard.log"))
            .args(args)
            .arg("watch")
            .arg("--json")
            .env("HOME", dir)
            .env("USER", "tester")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("TRAINYARD_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first event (a JSON line) that `pred` accepts, waiting up to `secs`.
    fn wait_for(
        &mut self,
        what: &str,
        secs: u64,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let v: serde_json::Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                    if pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no {what} within {secs}s; watch printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, and the exit code.
    fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The simulator's config with `auto_pause = true` at canary and the audit log in `dir`.
fn auto_pause_config(dir: &std::path::Path, sim: &common::Sim) -> std::path::PathBuf {
    let audit = dir.join("audit.jsonl");
    let config = write_config(
        dir,
        sim,
        &format!("[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let with = text.replace("[policy.canary]\n", "[policy.canary]\nauto_pause = true\n");
    assert_ne!(with, text, "the sim's config has a [policy.canary]");
    std::fs::write(&config, with).unwrap();
    config
}

#[test]
fn watch_prints_changes_and_auto_pauses_the_breaching_canary_with_no_screen() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path(), &["--speed", "4"]);
    let config = auto_pause_config(dir.path(), &sim);
    let mut w = Watch::start(dir.path(), &config, &[]);
    let banner = w.wait_for("the banner", 30, |v| v["kind"] == "warning");
    let text = banner["text"].as_str().unwrap();
    assert!(
        text.starts_with("watching train ") && text.contains("auto_pause at canary"),
        "{text}"
    );
    // The train moves: cells change, line by line.
    let change = w.wait_for("a cell change", 120, |v| v["kind"] == "cell");
    assert!(
        change["lane"].is_string() && change["stage"].is_string(),
        "{change}"
    );
    // The canary of notifications breaches: trainyard-auto acts, and the action ends done.
    let auto = w.wait_for("auto_pause acting", 180, |v| v["kind"] == "auto");
    assert_eq!(auto["lane"], "notifications", "{auto}");
    let auto_text = auto["text"].as_str().unwrap();
    assert!(
        auto_text.starts_with("trainyard-auto: ") && auto_text.contains("> 1.00% at canary"),
        "{auto_text}"
    );
    let done = w.wait_for("the pause done", 120, |v| {
        v["kind"] == "action" && v["lane"] == "notifications" && v["tone"] != "info"
    });
    assert!(done["text"].as_str().unwrap().contains("done"), "{done}");
    assert!(
        done["command"]
            .as_str()
            .unwrap()
            .starts_with("trainyard pause notifications")
    );
    // In the audit log, as trainyard-auto, with the breach as its reason.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let record = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["actor"] == "trainyard-auto" && r["result"] == "done")
        .unwrap_or_else(|| panic!("no auto pause in the audit log:\n{audit}"));
    assert_eq!(record["action"], "pause");
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .starts_with("auto_pause: ")
    );
    // SIGTERM: a clean stop, 128 + 15.
    assert_eq!(w.terminate(), 143);
}

#[test]
fn read_only_watch_only_says_what_auto_pause_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path(), &["--speed", "4"]);
    let config = auto_pause_config(dir.path(), &sim);
    let mut w = Watch::start(dir.path(), &config, &["--readonly"]);
    let banner = w.wait_for("the banner", 30, |v| v["kind"] == "warning");
    assert!(
        banner["text"].as_str().unwrap().contains("read-only"),
        "{banner}"
    );
    let auto = w.wait_for("auto_pause's word", 180, |v| v["kind"] == "auto");
    let text = auto["text"].as_str().unwrap();
    assert!(
        text.contains("would ") && text.ends_with("read-only, nothing done"),
        "{text}"
    );
    assert_eq!(w.terminate(), 143);
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    assert!(
        !audit.contains("trainyard-auto"),
        "read-only wrote an action:\n{audit}"
    );
}

#[test]
fn a_closed_output_ends_watch_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start_sim(dir.path(), &[]);
    let config = write_config(dir.path(), &sim, "");
    // `watch | head -1`: the reader goes away after the first line; watch ends by itself at
    // its next line, with 0 (the timeout is only there so that a hang fails the test).
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "timeout 120 {BIN} --config {} --log-file {} watch | head -1; echo \"watch=${{PIPESTATUS[0]}}\"",
            config.display(),
            dir.path().join("trainyard.log").display()
        ))
        .env("HOME", dir.path())
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("watching train "), "{stdout}");
    assert!(stdout.contains("watch=0"), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
