//! What the integration tests share: the real binary run as a user runs it (`bin`), a real
//! terminal for the TUI (`tmux`), the simulator in this process or as `trainyard sim`
//! (`sim`), plain HTTP on loopback (`http`), and waiting for a condition (`wait`).
//!
//! Each test file declares `mod common;` and uses what it needs.
#![allow(dead_code)]

pub mod bin;
pub mod http;
pub mod pg;
pub mod sim;
pub mod status;
pub mod tmux;
pub mod wait;

/// Whether `program` is installed (`program VERSION_ARG` succeeds). Without it: under CI, a
/// failure (`.ci/run` installs it); else `false` and a message that `what` is skipped.
pub fn installed(program: &str, version_arg: &str, what: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg(version_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{program} is required for {what} (.ci/run installs it)");
        }
        eprintln!("SKIPPED: {program} is not installed; {what} is not run");
    }
    ok
}

/// A loopback port nobody listens on now (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
