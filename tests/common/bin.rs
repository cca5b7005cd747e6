//! The real `trainyard` binary, run the way a user runs it: its home in a directory of the
//! test's, as user `tester`, no terminal, and nothing of this machine's own setup (config,
//! data dirs, proxies, CA bundles, SSH, colour) leaking in.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;

use super::wait::{PATIENCE, until};

pub const BIN: &str = env!("CARGO_BIN_EXE_trainyard");

/// Variables of the environment that would change what trainyard reads, where it writes or
/// where it connects. A test sets the ones it means.
pub const SCRUBBED: &[&str] = &[
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CONFIG_HOME",
    "TRAINYARD_CONFIG",
    "TRAINYARD_LOG",
    "TRAINYARD_TEST_PANIC",
    "SSH_CONNECTION",
    "NO_COLOR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The result of one run of the binary.
#[derive(Clone, Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Its stdout as one JSON value (`--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {}{}", self.stdout, self.stderr))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One command line of `trainyard`, built up, then run or spawned.
pub struct Trainyard {
    home: PathBuf,
    config: Option<PathBuf>,
    log: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

/// `trainyard --config CONFIG ARGS...` with `dir` as home; waits for the end.
pub fn trainyard(dir: &Path, config: &Path, args: &[&str]) -> Run {
    Trainyard::new(dir).config(config).args(args).run()
}

impl Trainyard {
    /// `trainyard` with `dir` as its home (its logs, audit log and config stay there) and
    /// `--log-file dir/trainyard.log`.
    pub fn new(dir: &Path) -> Trainyard {
        Trainyard {
            home: dir.to_path_buf(),
            config: None,
            log: dir.join("trainyard.log"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn config(mut self, path: &Path) -> Self {
        self.config = Some(path.to_path_buf());
        self
    }

    /// Another log file than `trainyard.log` in the home (two processes at once).
    pub fn log_file(mut self, path: &Path) -> Self {
        self.log = path.to_path_buf();
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        vars.into_iter().fold(self, |cmd, (k, v)| cmd.env(k, v))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        if let Some(c) = &self.config {
            cmd.arg("--config").arg(c);
        }
        cmd.arg("--log-file")
            .arg(&self.log)
            .args(&self.args)
            .stdin(Stdio::null())
            .env("HOME", &self.home)
            .env("USER", "tester");
        for v in SCRUBBED {
            cmd.env_remove(v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run to the end, no terminal.
    pub fn run(self) -> Run {
        let out = self.command().output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Start it and go on: its output is collected as it comes.
    pub fn spawn(self) -> Running {
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Running {
            child: Some(child),
            stdout,
            stderr,
            readers,
        }
    }
}

/// Read `from` to its end into `into`, on a thread of its own.
fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// What a stream collected so far.
fn text(stream: &Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&stream.lock().unwrap()).into_owned()
}

/// What a process wrote so far, both streams.
fn said(stdout: &Mutex<Vec<u8>>, stderr: &Mutex<Vec<u8>>) -> String {
    format!("--- stdout\n{}--- stderr\n{}", text(stdout), text(stderr))
}

/// A `trainyard` process still running; killed when dropped.
pub struct Running {
    child: Option<Child>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// What it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// Wait until its stdout satisfies `f`; return it.
    pub fn wait_for_stdout(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        until(what, PATIENCE, || {
            let s = self.stdout();
            if f(&s) { Ok(s) } else { Err(self.said()) }
        })
    }

    /// Wait until its stderr satisfies `f`; return it.
    pub fn wait_for_stderr(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        until(what, PATIENCE, || {
            let s = self.stderr();
            if f(&s) { Ok(s) } else { Err(self.said()) }
        })
    }

    fn said(&self) -> String {
        said(&self.stdout, &self.stderr)
    }

    /// Send it a signal by name (`TERM`, `HUP`, `INT`).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} {} failed", self.pid());
    }

    /// Wait for it to end by itself (a hang fails after [`PATIENCE`], and the process is
    /// killed).
    pub fn finish(mut self) -> Run {
        let status = until("the process to end", PATIENCE, || {
            let ended = self.child.as_mut().unwrap().try_wait().unwrap();
            ended.ok_or_else(|| said(&self.stdout, &self.stderr))
        });
        self.child = None;
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
