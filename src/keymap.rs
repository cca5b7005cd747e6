//! One table of keys, for every mode of the screen (the main view, the details and help
//! popups, the confirmation dialog, the filter line), feeds the dispatcher, the footer and the
//! help overlay.
//!
//! The table's keys are the defaults: `[keys]` in the config remaps commands over them, and
//! [`Keymap`] (remap.rs) holds the keys in force, which the screen reads. key.rs names keys;
//! names.rs names the commands.
//!
//! A leaf: it knows nothing of trainyard, so the config can check `[keys]` against the table
//! and the screen can draw from it.

mod key;
mod names;
mod remap;

pub use key::{BadKey, FORMS, Key, spellings};
pub use names::{OTHER_WORDS, names};
pub use remap::{
    Group, Holder, INTERRUPT, Keymap, Problem, Remap, dialog_keys_words, is_interrupt,
};

use crossterm::event::KeyCode;

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
    Abort,
    Halt,
    /// Copy the selected cell's full version, or its URL (OSC 52).
    CopyVersion,
    CopyUrl,
    Filter,
    MetricsView,
    PrevMetric,
    NextMetric,
    Help,
    Back,
    Quit,
    /// Close a popup.
    Close,
    /// The dialog: the next field, the previous one, the other button, press the focused
    /// button, another version to roll back to, cancel.
    NextField,
    PrevField,
    OtherButton,
    Press,
    PickVersion,
    /// The dialog: copy the command-line twin (on a button; in a field, `y` is typed).
    CopyCommand,
    Cancel,
    /// The filter line: keep the filter, or clear it.
    Apply,
    Clear,
    /// Lanes grouped by team, or not; fold or unfold a team; only the lanes blocked, moving
    /// or held; the prompt that jumps to a lane by name.
    Group,
    Fold,
    OnlyBusy,
    Jump,
    /// The jump prompt: go to the match, the next match, back to where the selection was.
    JumpTo,
    JumpNext,
    JumpCancel,
}

/// Where the keys are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The lanes and panels, or the metrics view.
    Main,
    Details,
    Help,
    Confirm,
    Filter,
    /// The prompt that jumps to a lane by name.
    Jump,
}

impl Mode {
    pub const ALL: [Mode; 6] = [
        Mode::Main,
        Mode::Details,
        Mode::Help,
        Mode::Confirm,
        Mode::Filter,
        Mode::Jump,
    ];

    /// The heading of the mode's keys in the help.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Main => "Keys",
            Mode::Details => "Details",
            Mode::Help => "Help",
            Mode::Confirm => "Confirmation dialog",
            Mode::Filter => "Filter (/)",
            Mode::Jump => "Jump (:)",
        }
    }
}

/// When a key is worth showing in the footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Always in the footer.
    Footer,
    /// Only for actions: in the footer where the action can go.
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
    /// What it does, for the help; `{name}` stands for the keys of the command `name`.
    pub help: &'static str,
    pub shown: Shown,
    /// Where the keys are read.
    pub modes: &'static [Mode],
}

const MAIN: &[Mode] = &[Mode::Main];
/// Moving and scrolling: the main view and the scrolling popups.
const SCROLL: &[Mode] = &[Mode::Main, Mode::Details, Mode::Help];
/// The actions: on the main view and from the details of a cell.
const ACT: &[Mode] = &[Mode::Main, Mode::Details];
const DIALOG: &[Mode] = &[Mode::Confirm];
const POPUPS: &[Mode] = &[Mode::Details, Mode::Help];
const FILTER: &[Mode] = &[Mode::Filter];
const JUMP: &[Mode] = &[Mode::Jump];

const fn b(
    command: Command,
    keys: &'static [KeyCode],
    label: &'static str,
    short: &'static str,
    help: &'static str,
    shown: Shown,
    modes: &'static [Mode],
) -> Binding {
    Binding {
        command,
        keys,
        label,
        short,
        help,
        shown,
        modes,
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
        SCROLL,
    ),
    b(
        Command::Down,
        &[KeyCode::Down, KeyCode::Char('j')],
        "↓/j",
        "",
        "move down",
        Shown::HelpOnly,
        SCROLL,
    ),
    b(
        Command::Left,
        &[KeyCode::Left, KeyCode::Char('h')],
        "←/h",
        "",
        "previous stage",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Right,
        &[KeyCode::Right, KeyCode::Char('l')],
        "→/l",
        "",
        "next stage",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Top,
        &[KeyCode::Home, KeyCode::Char('g')],
        "g/Home",
        "",
        "first lane",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Bottom,
        &[KeyCode::End, KeyCode::Char('G')],
        "G/End",
        "",
        "last lane",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::PageUp,
        &[KeyCode::PageUp],
        "PgUp",
        "",
        "page up",
        Shown::HelpOnly,
        SCROLL,
    ),
    b(
        Command::PageDown,
        &[KeyCode::PageDown],
        "PgDn",
        "",
        "page down",
        Shown::HelpOnly,
        SCROLL,
    ),
    b(
        Command::NextPanel,
        &[KeyCode::Tab],
        "Tab",
        "panel",
        "next panel",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::PrevPanel,
        &[KeyCode::BackTab],
        "S-Tab",
        "",
        "previous panel",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Details,
        &[KeyCode::Enter],
        "⏎",
        "details",
        "details of the cell",
        Shown::Footer,
        &[Mode::Main, Mode::Details],
    ),
    b(
        Command::Promote,
        &[KeyCode::Char('p')],
        "p",
        "promote",
        "promote to the next stage",
        Shown::Action,
        ACT,
    ),
    b(
        Command::PauseResume,
        &[KeyCode::Char('s')],
        "s",
        "pause",
        "pause / resume the rollout",
        Shown::Action,
        ACT,
    ),
    b(
        Command::Rollback,
        &[KeyCode::Char('r')],
        "r",
        "rollback",
        "roll back to a good version",
        Shown::Action,
        ACT,
    ),
    b(
        Command::Approve,
        &[KeyCode::Char('a')],
        "a",
        "approve",
        "approve a waiting deployment",
        Shown::Action,
        ACT,
    ),
    b(
        Command::Reject,
        &[KeyCode::Char('x')],
        "x",
        "reject",
        "reject a waiting deployment",
        Shown::Action,
        ACT,
    ),
    b(
        Command::Abort,
        &[KeyCode::Char('X')],
        "X",
        "abort",
        "abort the rollout: traffic back to stable",
        Shown::Action,
        ACT,
    ),
    b(
        Command::Halt,
        &[KeyCode::Char('H')],
        "H",
        "",
        "halt the train / unhalt (with a reason)",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::CopyVersion,
        &[KeyCode::Char('y')],
        "y",
        "copy",
        "copy the cell's full version",
        Shown::HelpOnly,
        ACT,
    ),
    b(
        Command::CopyUrl,
        &[KeyCode::Char('Y')],
        "Y",
        "copy URL",
        "copy the cell's URL",
        Shown::HelpOnly,
        ACT,
    ),
    b(
        Command::MetricsView,
        &[KeyCode::Char('m')],
        "m",
        "charts",
        "metrics view: charts, overview",
        Shown::Footer,
        MAIN,
    ),
    b(
        Command::PrevMetric,
        &[KeyCode::Char('[')],
        "[",
        "",
        "previous metric (metrics view)",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::NextMetric,
        &[KeyCode::Char(']')],
        "]",
        "",
        "next metric (metrics view; {next_panel})",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Filter,
        &[KeyCode::Char('/')],
        "/",
        "filter",
        "filter lanes by name or team",
        Shown::Footer,
        MAIN,
    ),
    b(
        Command::Jump,
        &[KeyCode::Char(':')],
        ":",
        "jump",
        "jump to a lane by name",
        Shown::Footer,
        MAIN,
    ),
    b(
        Command::Group,
        &[KeyCode::Char('t')],
        "t",
        "teams",
        "group the lanes by team, or not",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Fold,
        &[KeyCode::Char(' ')],
        "Space",
        "fold",
        "fold / unfold the team",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::OnlyBusy,
        &[KeyCode::Char('b')],
        "b",
        "busy only",
        "only busy lanes (again: all)",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Help,
        &[KeyCode::Char('?')],
        "?",
        "help",
        "this help",
        Shown::Footer,
        &[Mode::Main, Mode::Help],
    ),
    b(
        Command::Back,
        &[KeyCode::Esc],
        "Esc",
        "",
        "close / back / clear the filter",
        Shown::HelpOnly,
        MAIN,
    ),
    b(
        Command::Quit,
        &[KeyCode::Char('q')],
        "q",
        "quit",
        "quit (also Ctrl-C)",
        Shown::Footer,
        &[Mode::Main, Mode::Details, Mode::Help],
    ),
    b(
        Command::Close,
        &[KeyCode::Esc],
        "Esc",
        "close",
        "close the popup (also {help} or {details} where they opened it)",
        Shown::Footer,
        POPUPS,
    ),
    b(
        Command::NextField,
        &[KeyCode::Tab],
        "Tab",
        "next field",
        "next field or button",
        Shown::Footer,
        DIALOG,
    ),
    b(
        Command::PrevField,
        &[KeyCode::BackTab],
        "S-Tab",
        "",
        "previous field or button",
        Shown::HelpOnly,
        DIALOG,
    ),
    b(
        Command::OtherButton,
        &[KeyCode::Left, KeyCode::Right],
        "←→",
        "",
        "the other button (on a button)",
        Shown::HelpOnly,
        DIALOG,
    ),
    b(
        Command::PickVersion,
        &[KeyCode::Up, KeyCode::Down],
        "↑↓",
        "version",
        "another good version to roll back to",
        Shown::Action,
        DIALOG,
    ),
    b(
        Command::Press,
        &[KeyCode::Enter],
        "⏎",
        "press",
        "press the focused button (in a field: the next field)",
        Shown::Footer,
        DIALOG,
    ),
    b(
        Command::CopyCommand,
        &[KeyCode::Char('y')],
        "y",
        "copy command",
        "copy the command line (on a button; in a field, {copy_command} is typed)",
        Shown::HelpOnly,
        DIALOG,
    ),
    b(
        Command::Cancel,
        &[KeyCode::Esc],
        "Esc",
        "cancel",
        "cancel: nothing is sent (q too, on a button)",
        Shown::Footer,
        DIALOG,
    ),
    b(
        Command::Apply,
        &[KeyCode::Enter],
        "⏎",
        "apply",
        "keep the filter",
        Shown::Footer,
        FILTER,
    ),
    b(
        Command::Clear,
        &[KeyCode::Esc],
        "Esc",
        "clear",
        "clear the filter",
        Shown::Footer,
        FILTER,
    ),
    b(
        Command::JumpTo,
        &[KeyCode::Enter],
        "⏎",
        "jump",
        "go to the lane that matches",
        Shown::Footer,
        JUMP,
    ),
    b(
        Command::JumpNext,
        &[KeyCode::Tab, KeyCode::Down],
        "Tab/↓",
        "next match",
        "the next lane that matches",
        Shown::Footer,
        JUMP,
    ),
    b(
        Command::JumpCancel,
        &[KeyCode::Esc],
        "Esc",
        "cancel",
        "back to where the selection was",
        Shown::Footer,
        JUMP,
    ),
];

/// The rows read in `mode`, in the table's order. Their keys are the defaults: the keys in
/// force are the [`Keymap`]'s.
pub fn bindings(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.modes.contains(&mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEvent, KeyModifiers};

    fn command_for(mode: Mode, key: KeyEvent) -> Option<Command> {
        Keymap::defaults().command_for(mode, key)
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for mode in Mode::ALL {
            let mut seen = std::collections::HashSet::new();
            for b in bindings(mode) {
                for k in b.keys {
                    assert!(
                        seen.insert(format!("{k:?}")),
                        "{k:?} is bound twice in {mode:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_mode_can_be_left() {
        let leaves = [
            Command::Quit,
            Command::Close,
            Command::Cancel,
            Command::Clear,
            Command::Apply,
            Command::JumpCancel,
        ];
        for mode in Mode::ALL {
            assert!(
                bindings(mode).any(|b| leaves.contains(&b.command)),
                "{mode:?} has no way out"
            );
            assert!(
                Keymap::defaults().footer(mode).next().is_some(),
                "{mode:?} has no footer"
            );
        }
    }

    #[test]
    fn keys_resolve() {
        let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
        let main = |c| command_for(Mode::Main, k(c));
        assert_eq!(main(KeyCode::Char('j')), Some(Command::Down));
        assert_eq!(main(KeyCode::Char('p')), Some(Command::Promote));
        assert_eq!(
            command_for(
                Mode::Main,
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Command::Quit)
        );
        assert_eq!(main(KeyCode::Char('m')), Some(Command::MetricsView));
        assert_eq!(main(KeyCode::Char(']')), Some(Command::NextMetric));
        assert_eq!(main(KeyCode::Char('z')), None);
        assert_eq!(main(KeyCode::Char(' ')), Some(Command::Fold));
        assert_eq!(main(KeyCode::Char(':')), Some(Command::Jump));
        assert_eq!(main(KeyCode::Char('b')), Some(Command::OnlyBusy));
        assert_eq!(main(KeyCode::Char('t')), Some(Command::Group));
        assert_eq!(
            command_for(Mode::Jump, k(KeyCode::Esc)),
            Some(Command::JumpCancel)
        );
        assert_eq!(
            command_for(Mode::Jump, k(KeyCode::Tab)),
            Some(Command::JumpNext)
        );
        assert_eq!(command_for(Mode::Jump, k(KeyCode::Char('t'))), None);
        assert_eq!(
            command_for(Mode::Details, k(KeyCode::Char('p'))),
            Some(Command::Promote)
        );
        assert_eq!(command_for(Mode::Help, k(KeyCode::Char('p'))), None);
        assert_eq!(
            command_for(Mode::Details, k(KeyCode::Esc)),
            Some(Command::Close)
        );
        assert_eq!(
            command_for(Mode::Confirm, k(KeyCode::Esc)),
            Some(Command::Cancel)
        );
        assert_eq!(
            command_for(Mode::Confirm, k(KeyCode::Tab)),
            Some(Command::NextField)
        );
        assert_eq!(command_for(Mode::Confirm, k(KeyCode::Char('p'))), None);
        assert_eq!(main(KeyCode::Char('y')), Some(Command::CopyVersion));
        assert_eq!(main(KeyCode::Char('Y')), Some(Command::CopyUrl));
        assert_eq!(
            command_for(Mode::Details, k(KeyCode::Char('Y'))),
            Some(Command::CopyUrl)
        );
        assert_eq!(
            command_for(Mode::Confirm, k(KeyCode::Char('y'))),
            Some(Command::CopyCommand)
        );
        assert_eq!(command_for(Mode::Filter, k(KeyCode::Char('y'))), None);
        assert_eq!(
            command_for(Mode::Filter, k(KeyCode::Enter)),
            Some(Command::Apply)
        );
    }
}
