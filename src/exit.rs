//! How trainyard exits: one type for every command. The README lists the codes.

/// A command's end, as its exit code says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done (an action: done and verified, or a dry run of an allowed one).
    Ok,
    /// 1: a source could not be reached, the audit chain is broken, or another runtime error.
    Runtime,
    /// 2: a usage or config error; an action that makes no sense; no terminal to confirm on
    /// and no `--yes`; cancelled at the prompt.
    Usage,
    /// 3: blocked by policy (a dry run of a blocked action too).
    Blocked,
    /// 4: rejected or failed at the source.
    AtSource,
    /// 5: the source accepted, but the cell did not get there in time.
    TimedOut,
    /// 6: refused by trainyard: read-only, a reason missing, another action in flight, the
    /// train moved while the user decided.
    Refused,
    /// 128 + n: stopped by signal n (129 SIGHUP, 130 SIGINT, 143 SIGTERM).
    Signal(i32),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Runtime => 1,
            Exit::Usage => 2,
            Exit::Blocked => 3,
            Exit::AtSource => 4,
            Exit::TimedOut => 5,
            Exit::Refused => 6,
            Exit::Signal(n) => 128u8.saturating_add(n.clamp(0, 127) as u8),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_ones() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Runtime, 1),
            (Exit::Usage, 2),
            (Exit::Blocked, 3),
            (Exit::AtSource, 4),
            (Exit::TimedOut, 5),
            (Exit::Refused, 6),
            (Exit::Signal(1), 129),
            (Exit::Signal(2), 130),
            (Exit::Signal(15), 143),
        ];
        for (e, code) in all {
            assert_eq!(e.code(), code, "{e:?}");
        }
        // The README's table lists every code.
        let readme = include_str!("../README.md");
        for code in 0..=6 {
            assert!(
                readme.contains(&format!("| {code} |")),
                "README lacks exit code {code}"
            );
        }
        assert!(readme.contains("129 / 130 / 143"));
    }
}
