//! One table of keys feeds the dispatcher, the footer and the help overlay.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    PageUp,
    PageDown,
    NextPanel,
    PrevPanel,
    Details,
    Promote,
    PauseResume,
    Rollback,
    Approve,
    Reject,
    Halt,
    Filter,
    MetricsView,
    PrevMetric,
    NextMetric,
    Help,
    Back,
    Quit,
}

/// When a key is worth showing in the footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Always in the footer.
    Footer,
    /// Only for actions: hidden from the footer in read-only mode.
    Action,
    /// Only in the help overlay.
    HelpOnly,
}

pub struct Binding {
    pub command: Command,
    pub keys: &'static [KeyCode],
    /// How the keys are written for people.
    pub label: &'static str,
    /// Short words for the footer.
    pub short: &'static str,
    pub help: &'static str,
    pub shown: Shown,
}

const fn b(
    command: Command,
    keys: &'static [KeyCode],
    label: &'static str,
    short: &'static str,
    help: &'static str,
    shown: Shown,
) -> Binding {
    Binding {
        command,
        keys,
        label,
        short,
        help,
        shown,
    }
}

pub const BINDINGS: &[Binding] = &[
    b(
        Command::Up,
        &[KeyCode::Up, KeyCode::Char('k')],
        "↑/k",
        "",
        "move up",
        Shown::HelpOnly,
    ),
    b(
        Command::Down,
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓/j",
        "",
        "move down",
        Shown::HelpOnly,
    ),
    b(
        Command::Left,
        &[KeyCode::Left, KeyCode::Char('h')],
        "←/h",
        "",
        "previous stage",
        Shown::HelpOnly,
    ),
    b(
        Command::Right,
        &[KeyCode::Right, KeyCode::Char('l')],
        "→/l",
        "",
        "next stage",
        Shown::HelpOnly,
    ),
    b(
        Command::Top,
        &[KeyCode::Home, KeyCode::Char('g')],
        "g/Home",
        "",
        "first lane",
        Shown::HelpOnly,
    ),
    b(
        Command::Bottom,
        &[KeyCode::End, KeyCode::Char('G')],
        "G/End",
        "",
        "last lane",
        Shown::HelpOnly,
    ),
    b(
        Command::PageUp,
        &[KeyCode::PageUp],
        "PgUp",
        "",
        "page up",
        Shown::HelpOnly,
    ),
    b(
        Command::PageDown,
        &[KeyCode::PageDown],
        "PgDn",
        "",
        "page down",
        Shown::HelpOnly,
    ),
    b(
        Command::NextPanel,
        &[KeyCode::Tab],
        "Tab",
        "panel",
        "next panel",
        Shown::HelpOnly,
    ),
    b(
        Command::PrevPanel,
        &[KeyCode::BackTab],
        "S-Tab",
        "",
        "previous panel",
        Shown::HelpOnly,
    ),
    b(
        Command::Details,
        &[KeyCode::Enter],
        "⏎",
        "details",
        "details of the cell",
        Shown::Footer,
    ),
    b(
        Command::Promote,
        &[KeyCode::Char('p')],
        "p",
        "promote",
        "promote to the next stage",
        Shown::Action,
    ),
    b(
        Command::PauseResume,
        &[KeyCode::Char('s')],
        "s",
        "pause",
        "pause / resume the rollout",
        Shown::Action,
    ),
    b(
        Command::Rollback,
        &[KeyCode::Char('r')],
        "r",
        "rollback",
        "roll back to a good version",
        Shown::Action,
    ),
    b(
        Command::Approve,
        &[KeyCode::Char('a')],
        "a",
        "approve",
        "approve a waiting deployment",
        Shown::Action,
    ),
    b(
        Command::Reject,
        &[KeyCode::Char('x')],
        "x",
        "",
        "reject a waiting deployment",
        Shown::HelpOnly,
    ),
    b(
        Command::Halt,
        &[KeyCode::Char('H')],
        "H",
        "",
        "halt the train / unhalt (with a reason)",
        Shown::HelpOnly,
    ),
    b(
        Command::MetricsView,
        &[KeyCode::Char('m')],
        "m",
        "charts",
        "metrics view: charts, overview",
        Shown::Footer,
    ),
    b(
        Command::PrevMetric,
        &[KeyCode::Char('[')],
        "[",
        "",
        "previous metric (metrics view)",
        Shown::HelpOnly,
    ),
    b(
        Command::NextMetric,
        &[KeyCode::Char(']')],
        "]",
        "",
        "next metric (metrics view; Tab)",
        Shown::HelpOnly,
    ),
    b(
        Command::Filter,
        &[KeyCode::Char('/')],
        "/",
        "filter",
        "filter lanes by name or team",
        Shown::Footer,
    ),
    b(
        Command::Help,
        &[KeyCode::Char('?')],
        "?",
        "help",
        "this help",
        Shown::Footer,
    ),
    b(
        Command::Back,
        &[KeyCode::Esc],
        "Esc",
        "",
        "close / back / clear the filter",
        Shown::HelpOnly,
    ),
    b(
        Command::Quit,
        &[KeyCode::Char('q')],
        "q",
        "quit",
        "quit (also Ctrl-C)",
        Shown::Footer,
    ),
];

/// The command a key stands for on the main screen.
pub fn command_for(key: KeyEvent) -> Option<Command> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Command::Quit),
            KeyCode::Char('d') => Some(Command::PageDown),
            KeyCode::Char('u') => Some(Command::PageUp),
            _ => None,
        };
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.command)
}

/// The label of a command's keys, for messages ("press p to promote").
pub fn label(command: Command) -> &'static str {
    BINDINGS
        .iter()
        .find(|b| b.command == command)
        .map(|b| b.label)
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(format!("{k:?}")), "{k:?} is bound twice");
            }
        }
    }

    #[test]
    fn keys_resolve() {
        let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
        assert_eq!(command_for(k(KeyCode::Char('j'))), Some(Command::Down));
        assert_eq!(command_for(k(KeyCode::Char('p'))), Some(Command::Promote));
        assert_eq!(
            command_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            command_for(k(KeyCode::Char('m'))),
            Some(Command::MetricsView)
        );
        assert_eq!(
            command_for(k(KeyCode::Char(']'))),
            Some(Command::NextMetric)
        );
        assert_eq!(command_for(k(KeyCode::Char('z'))), None);
    }
}
