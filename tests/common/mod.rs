//! Shared by the tests that drive the real binary against a real `trainyard sim` process.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_trainyard");

/// A `trainyard sim` process, killed when dropped.
pub struct Sim {
    child: Child,
    pub base_url: String,
    /// The config it printed.
    pub config: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `trainyard sim --print-config` on a free loopback port and read its config.
pub fn start_sim(dir: &Path, extra: &[&str]) -> Sim {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--print-config",
        ])
        .args(extra)
        .arg("--log-file")
        .arg(dir.join("sim.log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut config = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let end = line.starts_with("# end of trainyard sim config");
        config.push_str(&line);
        config.push('\n');
        if end {
            break;
        }
    }
    assert!(config.contains("[sources.sim]"), "sim printed: {config}");
    let base_url = config
        .lines()
        .find_map(|l| l.strip_prefix("url = \"").and_then(|r| r.strip_suffix('"')))
        .unwrap()
        .to_string();
    Sim {
        child,
        base_url,
        config,
    }
}

/// Write the sim's config, with extra TOML appended, into `dir/config.toml`.
pub fn write_config(dir: &Path, sim: &Sim, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{}\n{extra}\n", sim.config)).unwrap();
    path
}

/// A plain HTTP GET on loopback, returning the body as JSON.
pub fn get_json(base_url: &str, path: &str) -> serde_json::Value {
    let addr = base_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Every action the simulator received.
pub fn sim_actions(sim: &Sim) -> Vec<serde_json::Value> {
    get_json(&sim.base_url, "/v1/_sim/actions")["actions"]
        .as_array()
        .unwrap()
        .clone()
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `trainyard --config CONFIG ARGS...` with no terminal.
pub fn trainyard(dir: &Path, config: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--log-file")
        .arg(dir.join("trainyard.log"))
        .args(args)
        .stdin(Stdio::null())
        .env("USER", "tester")
        // Nothing of the tests lands in the real home: logs, audit, config.
        .env("HOME", dir)
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("TRAINYARD_CONFIG")
        .env_remove("SSH_CONNECTION")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
