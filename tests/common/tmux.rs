//! A real terminal for the TUI: a private tmux server (its own socket) with one pane running
//! a plain shell, in which a test types command lines, presses keys and reads the screen.
//! The server is killed when the value is dropped.
//!
//! Needs tmux (`.ci/run` installs it): [`available`] says whether it is there, and skips the
//! test with a message otherwise (fails under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::wait::{PATIENCE, until};

/// The session's name on its private server.
const SESSION: &str = "ty";

/// Whether tmux is installed (see [`super::installed`]).
pub fn available(what: &str) -> bool {
    super::installed("tmux", "-V", what)
}

/// How the pane starts.
pub struct Options {
    pub width: u16,
    pub height: u16,
    /// The shell's environment, besides `HOME`, `TERM=xterm-256color` and `PS1`.
    pub env: Vec<(String, String)>,
    /// The home (and working) directory; by default the session's own temporary one.
    pub home: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: 80,
            height: 24,
            env: Vec::new(),
            home: None,
        }
    }
}

pub struct Tmux {
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

impl Tmux {
    /// An 80×24 pane with a plain shell whose home is the session's own directory, with
    /// `env` set.
    pub fn shell(name: &str, env: &[(&str, &str)]) -> Tmux {
        Tmux::start(
            name,
            Options {
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Options::default()
            },
        )
    }

    /// A private tmux server named after the test and this process, one pane with a plain
    /// shell (bash, no rc files).
    pub fn start(name: &str, opts: Options) -> Tmux {
        let t = Tmux {
            socket: format!("trainyard-test-{}-{name}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
        };
        let home = opts.home.unwrap_or_else(|| t.dir.path().to_path_buf());
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", SESSION])
            .args([
                "-x",
                &opts.width.to_string(),
                "-y",
                &opts.height.to_string(),
            ])
            .arg("-c")
            .arg(&home)
            .arg("-e")
            .arg(format!("HOME={}", home.display()))
            .args(["-e", "TERM=xterm-256color", "-e", "PS1=$ "]);
        for (k, v) in &opts.env {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.args(["bash", "--norc", "--noprofile"]);
        assert!(cmd.status().unwrap().success(), "tmux did not start");
        t
    }

    /// The session's own directory (the home, unless [`Options::home`] said otherwise).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Any tmux command on this server; its stdout.
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Press keys (tmux names: `Enter`, `Escape`, `Tab`, or characters), one at a time with
    /// a short gap, so that the program reads `Escape` and the next key as two presses.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", SESSION, k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    /// Press keys all at once, as fast as a key repeat or a double press.
    pub fn burst(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Type `text` and Enter.
    pub fn line(&self, text: &str) {
        self.text(text);
        self.tmux(&["send-keys", "-t", SESSION, "Enter"]);
    }

    /// Type `text` as it is (no key names).
    pub fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Run the TUI (the real binary) on `config`, its log in the test's directory.
    pub fn run_tui(&self, config: &Path) {
        self.run(&format!(
            "{bin} --config {config} --log-file {log}",
            bin = super::bin::BIN,
            config = config.display(),
            log = self.path("trainyard.log").display(),
        ));
    }

    /// Run `command` in the shell, recording the terminal's settings before and after and
    /// the exit code (`EXIT=n`, typed as `EX""IT` so that the command line itself never
    /// matches): see [`Tmux::assert_restored`].
    pub fn run(&self, command: &str) {
        self.line(&format!(
            "stty -g > {before}; {command}; echo EX\"\"IT=$?; stty -g > {after}",
            before = self.path("stty.before").display(),
            after = self.path("stty.after").display(),
        ));
    }

    /// Record every byte the pane's program writes from now on (escape sequences included,
    /// as the program sent them, before tmux interprets them) into the file `name` in the
    /// session's directory; [`Tmux::recorded`] reads it back.
    pub fn record(&self, name: &str) {
        let file = self.path(name);
        self.tmux(&[
            "pipe-pane",
            "-O",
            "-t",
            SESSION,
            &format!("cat >> '{}'", file.display()),
        ]);
    }

    /// What [`Tmux::record`] has written to `name` so far (lossy UTF-8).
    pub fn recorded(&self, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.path(name)).unwrap_or_default()).into_owned()
    }

    /// Wait until what [`Tmux::record`] wrote to `name` satisfies `f`; return it.
    pub fn wait_for_recorded(&self, name: &str, what: &str, f: impl Fn(&str) -> bool) -> String {
        until(what, PATIENCE, || {
            let s = self.recorded(name);
            if f(&s) { Ok(s) } else { Err(s) }
        })
    }

    /// The visible screen.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", SESSION])
    }

    /// The visible screen with its escape sequences (colours, attributes).
    pub fn styled_screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", SESSION])
    }

    /// The scrollback and the screen: a long report (a backtrace) included.
    pub fn history(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-S", "-1000", "-t", SESSION])
    }

    /// A pane variable (`#{alternate_on}`, `#{cursor_flag}`, `#{pane_title}`).
    pub fn pane(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", SESSION, format])
            .trim()
            .to_string()
    }

    /// Wait until the screen satisfies `f`; return it (fail, with the last screen, after
    /// [`PATIENCE`]).
    pub fn wait_for(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        self.wait_within(what, PATIENCE, f)
    }

    /// [`Tmux::wait_for`] with a deadline of its own: where the deadline is the promise
    /// under test (a key drawn within seconds while sources hang).
    pub fn wait_within(&self, what: &str, within: Duration, f: impl Fn(&str) -> bool) -> String {
        until(what, within, || {
            let s = self.screen();
            if f(&s) { Ok(s) } else { Err(s) }
        })
    }

    /// [`Tmux::wait_for`] on the scrollback and the screen.
    pub fn wait_for_history(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        until(what, PATIENCE, || {
            let s = self.history();
            if f(&s) { Ok(s) } else { Err(s) }
        })
    }

    /// After a command of [`Tmux::run`] ended: its exit code was `code`, the shell is back on
    /// the normal screen with a visible cursor, and the terminal's settings are as before.
    pub fn assert_restored(&self, code: &str, gone: &str) {
        let s = self.wait_for("the shell to come back", |s| s.contains("EXIT="));
        assert!(s.contains(&format!("EXIT={code}")), "exit code: {s}");
        assert!(!s.contains(gone), "the program is still on screen:\n{s}");
        assert_eq!(
            self.pane("#{alternate_on}"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.pane("#{cursor_flag}"), "1", "the cursor is hidden");
        let read = |p: PathBuf| {
            until(&format!("{} to be written", p.display()), PATIENCE, || {
                std::fs::read_to_string(&p)
                    .ok()
                    .filter(|t| !t.is_empty())
                    .ok_or("nothing yet")
            })
        };
        assert_eq!(
            read(self.path("stty.before")),
            read(self.path("stty.after")),
            "tty settings not restored"
        );
    }
}
