//! `trainyard watch` against the simulator: changes printed line by line, the demo's
//! breaching canary paused by `trainyard-auto` with no screen open, the notices of `[notify]`
//! printed; SIGTERM stops it cleanly.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::bin::{BIN, Running, SCRUBBED, Trainyard};
use common::sim::{self, SimProcess};
use common::wait::{PATIENCE, until};

/// A running `trainyard watch --json`, and how many of its lines were looked at.
struct Watch {
    process: Running,
    read: usize,
}

impl Watch {
    fn start(dir: &std::path::Path, config: &std::path::Path, args: &[&str]) -> Watch {
        let process = Trainyard::new(dir)
            .config(config)
            .args(args)
            .args(["watch", "--json"])
            .spawn();
        Watch { process, read: 0 }
    }

    /// The first event (a JSON line) after those already looked at that `pred` accepts,
    /// waiting up to `within`.
    fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let (at, v) = until(what, within, || {
            let out = self.process.stdout();
            // Whole lines only: the last may still be on its way.
            let whole = &out[..out.rfind('\n').map_or(0, |i| i + 1)];
            whole
                .lines()
                .enumerate()
                .skip(self.read)
                .map(|(i, l)| {
                    let v: serde_json::Value = serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
                    (i, v)
                })
                .find(|(_, v)| pred(v))
                .ok_or_else(|| format!("watch printed:\n{out}"))
        });
        self.read = at + 1;
        v
    }

    /// SIGTERM, and the exit code.
    fn terminate(self) -> i32 {
        self.process.signal("TERM");
        self.process.finish().code
    }
}

/// The simulator's config with `auto_pause = true` at canary and the audit log in `dir`.
fn auto_pause_config(dir: &std::path::Path, sim: &SimProcess) -> std::path::PathBuf {
    let audit = dir.join("audit.jsonl");
    let config = sim.write_config(
        dir,
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
    let sim = sim::spawn(dir.path(), &["--speed", "4"]);
    let config = auto_pause_config(dir.path(), &sim);
    let mut w = Watch::start(dir.path(), &config, &[]);
    let banner = w.wait_for("the banner", PATIENCE, |v| v["kind"] == "start");
    let text = banner["text"].as_str().unwrap();
    assert!(
        text.starts_with("watching train ") && text.contains("auto_pause at canary"),
        "{text}"
    );
    // The train moves: cells change, line by line, each naming the run or deployment that
    // made it, as its source links it.
    let change = w.wait_for("a cell change", PATIENCE * 2, |v| v["kind"] == "cell");
    assert!(
        change["lane"].is_string() && change["stage"].is_string(),
        "{change}"
    );
    assert!(
        change["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{}/", sim.base_url))),
        "{change}"
    );
    // The canary of notifications breaches: trainyard-auto acts, and the action ends done.
    let auto = w.wait_for("auto_pause acting", PATIENCE * 3, |v| v["kind"] == "auto");
    assert_eq!(auto["lane"], "notifications", "{auto}");
    let auto_text = auto["text"].as_str().unwrap();
    assert!(
        auto_text.starts_with("trainyard-auto: ") && auto_text.contains("> 1.00% at canary"),
        "{auto_text}"
    );
    let done = w.wait_for("the pause done", PATIENCE * 2, |v| {
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

/// Every JSON line `watch` printed so far (whole lines only).
fn printed(w: &Watch) -> Vec<serde_json::Value> {
    let out = w.process.stdout();
    out[..out.rfind('\n').map_or(0, |i| i + 1)]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn watch_prints_the_demos_notices_an_approval_waiting_for_you_and_a_breach() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "10"]);
    // maria.chen reviews checkout-web's way into prod (GitHub, where she is `maria-chen`);
    // notifications' canary is a bad version whose error rate climbs.
    let config = sim.write_config(
        dir.path(),
        "[notify]\nevents = [\"approval\", \"breach\"]\napprovers = [\"maria.chen\"]\n\
         breach_stages = [\"canary\"]\n",
    );
    let w = Watch::start(dir.path(), &config, &[]);
    let notices = |w: &Watch| -> Vec<serde_json::Value> {
        printed(w)
            .into_iter()
            .filter(|v| v["kind"] == "notice")
            .collect()
    };
    let of = |all: &[serde_json::Value], event: &str| -> Vec<serde_json::Value> {
        all.iter()
            .filter(|v| v["notice"] == event)
            .cloned()
            .collect()
    };
    let all = until(
        "an approval notice and a breach notice",
        PATIENCE * 2,
        || {
            let all = notices(&w);
            if !of(&all, "approval").is_empty() && !of(&all, "breach").is_empty() {
                Ok(all)
            } else {
                Err(format!("watch printed:\n{}", w.process.stdout()))
            }
        },
    );
    let approval = &of(&all, "approval")[0];
    assert_eq!(
        (&approval["lane"], &approval["stage"]),
        (&"checkout-web".into(), &"prod".into()),
        "{approval}"
    );
    let text = approval["text"].as_str().unwrap();
    assert!(
        text.starts_with("notify: approval waits for you: checkout-web prod ")
            && text.contains("maria-chen"),
        "{text}"
    );
    let breach = &of(&all, "breach")[0];
    assert_eq!(
        (&breach["lane"], &breach["stage"], &breach["tone"]),
        (&"notifications".into(), &"canary".into(), &"bad".into()),
        "{breach}"
    );
    let text = breach["text"].as_str().unwrap();
    assert!(
        text.starts_with("notify: breach: notifications: "),
        "{text}"
    );
    // The approval still waits a few polls later: not news again.
    let polls = printed(&w).len();
    until("more lines", PATIENCE, || {
        common::wait::ok_if(printed(&w).len() > polls + 3, || w.process.stdout())
    });
    assert_eq!(
        of(&notices(&w), "approval").len(),
        1,
        "{}",
        w.process.stdout()
    );
    assert_eq!(w.terminate(), 143);
}

#[test]
fn read_only_watch_only_says_what_auto_pause_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &["--speed", "4"]);
    let config = auto_pause_config(dir.path(), &sim);
    let mut w = Watch::start(dir.path(), &config, &["--readonly"]);
    let banner = w.wait_for("the banner", PATIENCE, |v| v["kind"] == "start");
    assert!(
        banner["text"].as_str().unwrap().contains("read-only"),
        "{banner}"
    );
    let auto = w.wait_for("auto_pause's word", PATIENCE * 3, |v| v["kind"] == "auto");
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
    let sim = sim::spawn(dir.path(), &[]);
    let config = sim.write_config(dir.path(), "");
    // `watch | head -1`: the reader goes away after the first line; watch ends by itself at
    // its next line, with 0 (the timeout is only there so that a hang fails the test).
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "timeout 120 {BIN} --config {} --log-file {} watch | head -1; echo \"watch=${{PIPESTATUS[0]}}\"",
            config.display(),
            dir.path().join("trainyard.log").display()
        ))
        .env("HOME", dir.path())
        .stdin(Stdio::null());
    for v in SCRUBBED {
        cmd.env_remove(v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("watching train "), "{stdout}");
    assert!(stdout.contains("watch=0"), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
