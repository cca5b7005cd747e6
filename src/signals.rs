//! The signals that stop trainyard: SIGHUP (the terminal or SSH session went away), SIGTERM,
//! SIGINT. Whoever is running (the TUI, an action on the command line) stops sending, closes
//! what is open in the audit log, restores the terminal if there is one, and exits 128 + n.

use tokio::signal::unix::{Signal, SignalKind, signal};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// Listens for the three stopping signals from the moment it is made.
pub struct Stop {
    hup: Signal,
    int: Signal,
    term: Signal,
}

impl Stop {
    pub fn new() -> std::io::Result<Stop> {
        Ok(Stop {
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next stopping signal's number.
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.hup.recv() => SIGHUP,
            _ = self.int.recv() => SIGINT,
            _ = self.term.recv() => SIGTERM,
        }
    }
}

/// How a long-running command (the screen, `watch`) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user quit (or, for `watch`, its output went away).
    Quit,
    /// A signal (SIGHUP = 1, SIGINT = 2, SIGTERM = 15) asked us to stop; the terminal was
    /// restored.
    Signal(i32),
}

impl Ended {
    /// The process exit code: 0, or 128 + the signal's number as shells expect.
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Quit => 0,
            Ended::Signal(n) => 128 + n as u8,
        }
    }

    /// What ended it, for the audit log's abandoned attempts.
    pub fn why(self) -> String {
        match self {
            Ended::Quit => "trainyard was quit".to_string(),
            Ended::Signal(n) => why(n),
        }
    }
}

/// "trainyard was stopped by SIGHUP (the terminal or SSH session went away)": the `why` of
/// abandoned attempts in the audit log.
pub fn why(n: i32) -> String {
    let what = match n {
        SIGHUP => "SIGHUP (the terminal or SSH session went away)",
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        _ => return format!("trainyard was stopped by signal {n}"),
    };
    format!("trainyard was stopped by {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_signal() {
        assert!(why(SIGHUP).contains("SSH session went away"));
        assert_eq!(why(SIGINT), "trainyard was stopped by SIGINT (Ctrl-C)");
        assert_eq!(why(9), "trainyard was stopped by signal 9");
    }
}
