//! The keys in force: the table's keys are the defaults, and `[keys]` remaps commands over
//! them. [`Keymap`] is what the dispatcher, the footer and the help read; [`Keymap::new`] is
//! the one place for the rules of a remap:
//!
//! - a command keeps at least one key;
//! - two commands never share a key where both are read (a remap against a default key still
//!   in force is a clash too);
//! - Ctrl-c always quits;
//! - the confirmation dialog's keys that move and press are only swapped among themselves (a
//!   letter would be typed into the reason, and no remap may make sending easier: `y` never
//!   means yes), and Esc always cancels it; copying its command line sends nothing, and may
//!   have any other key;
//! - the filter line takes typed text, so its keys are not characters.

use crossterm::event::{KeyCode, KeyEvent};

use super::key::Key;
use super::{BINDINGS, Binding, Command, Mode};

/// Keys in force by default that the table's rows don't list (Ctrl with a letter).
const EXTRA: &[(Command, Key)] = &[
    (Command::PageDown, Key::ctrl('d')),
    (Command::PageUp, Key::ctrl('u')),
];

/// Quits from anywhere, and is no command's to take.
pub const INTERRUPT: Key = Key::ctrl('c');

/// One command's keys as `[keys]` gives them, in the file's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remap {
    pub command: Command,
    pub keys: Vec<Key>,
}

/// Who else holds a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// An earlier remap: its index and the key's index in it.
    Remap { at: usize, key: usize },
    /// A command that keeps its default keys; `free` is a key it could take instead.
    Default { command: Command, free: Option<Key> },
}

/// What is wrong with a set of remaps: `at` is the remap's index, `key` the key's index in
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The command is left with no key.
    NoKey { at: usize },
    /// Ctrl-c for another command than quit.
    Reserved { at: usize, key: usize },
    /// A character for a command of the filter line, which takes typed text.
    Typed { at: usize, key: usize },
    /// A key that is not one of the confirmation dialog's own, for one of its commands.
    NotDialogKey { at: usize, key: usize },
    /// Esc for a dialog command other than cancel.
    EscCancels { at: usize, key: usize },
    /// The key is also `other`'s where both are read (`mode`, the first such).
    Clash {
        at: usize,
        key: usize,
        mode: Mode,
        other: Holder,
    },
}

/// Footer hints made of several commands' first keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Left, down, up, right: `←↓↑→`.
    Move,
    /// Up and down (lanes, or a popup's lines): `↑↓`.
    Scroll,
    /// Left and right (the stages): `←→`.
    Stage,
    /// The previous and the next metric: `[ ]`.
    Metric,
}

const GROUPS: [(Group, &[Command]); 4] = [
    (
        Group::Move,
        &[Command::Left, Command::Down, Command::Up, Command::Right],
    ),
    (Group::Scroll, &[Command::Up, Command::Down]),
    (Group::Stage, &[Command::Left, Command::Right]),
    (Group::Metric, &[Command::PrevMetric, Command::NextMetric]),
];

/// The keys in force for every command of the table, and how the screen writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    /// Each row's keys, in the table's order.
    keys: Vec<Vec<Key>>,
    /// Each row's label: the table's own while it keeps its default keys.
    labels: Vec<String>,
    /// Each row's help, other commands' keys written in.
    helps: Vec<String>,
    groups: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::defaults()
    }
}

fn row(command: Command) -> usize {
    BINDINGS
        .iter()
        .position(|b| b.command == command)
        .expect("every command has a row in the table")
}

/// The table's keys of a row, and the extra ones.
fn default_keys(b: &Binding) -> Vec<Key> {
    b.keys
        .iter()
        .map(|c| Key::plain(*c))
        .chain(
            EXTRA
                .iter()
                .filter(|(c, _)| *c == b.command)
                .map(|(_, k)| *k),
        )
        .collect()
}

/// Commands of the confirmation dialog that send nothing: any key but Esc.
const DIALOG_HARMLESS: &[Command] = &[Command::CopyCommand];

/// Whether a command moves or presses in the confirmation dialog, whose keys for that are only
/// swapped among themselves.
fn in_dialog(command: Command) -> bool {
    BINDINGS[row(command)].modes.contains(&Mode::Confirm) && !DIALOG_HARMLESS.contains(&command)
}

/// The keys the confirmation dialog moves and presses with by default: none is a character.
fn dialog_keys() -> Vec<Key> {
    BINDINGS
        .iter()
        .filter(|b| in_dialog(b.command))
        .flat_map(default_keys)
        .filter(|k| !k.is_text())
        .collect()
}

/// Whether a command is read in the confirmation dialog at all.
fn on_dialog(command: Command) -> bool {
    BINDINGS[row(command)].modes.contains(&Mode::Confirm)
}

/// Whether a command is read on the filter line or the jump prompt, which take typed text.
fn on_filter_line(command: Command) -> bool {
    let modes = BINDINGS[row(command)].modes;
    modes.contains(&Mode::Filter) || modes.contains(&Mode::Jump)
}

/// The keys the dialog's commands may be given, in the order they are suggested.
pub fn dialog_keys_words() -> String {
    let keys: Vec<String> = dialog_keys()
        .into_iter()
        .filter(|k| k.code != KeyCode::Esc)
        .map(Key::name)
        .collect();
    keys.join(", ")
}

impl Keymap {
    /// The table's keys.
    pub fn defaults() -> Keymap {
        Keymap::build(BINDINGS.iter().map(default_keys).collect(), &[])
    }

    fn build(keys: Vec<Vec<Key>>, remapped: &[bool]) -> Keymap {
        let labels: Vec<String> = BINDINGS
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(i, (b, keys))| {
                if remapped.get(i).copied().unwrap_or(false) {
                    join(keys, "/")
                } else {
                    b.label.to_string()
                }
            })
            .collect();
        let groups = GROUPS
            .iter()
            .map(|(_, commands)| {
                let first: Vec<Key> = commands.iter().map(|c| keys[row(*c)][0]).collect();
                let sep = if first.iter().all(|k| k.is_arrow()) {
                    ""
                } else {
                    " "
                };
                join(&first, sep)
            })
            .collect();
        let helps = BINDINGS.iter().map(|b| expand(b.help, &labels)).collect();
        Keymap {
            keys,
            labels,
            helps,
            groups,
        }
    }

    /// The defaults with `remaps` over them (at most one per command), or every problem.
    pub fn new(remaps: &[Remap]) -> Result<Keymap, Vec<Problem>> {
        let mut keys: Vec<Vec<Key>> = BINDINGS.iter().map(default_keys).collect();
        let mut origin: Vec<Option<usize>> = vec![None; BINDINGS.len()];
        let mut problems = Vec::new();
        // Keys refused on their own are not also reported as clashes.
        let mut refused: Vec<(usize, usize)> = Vec::new();
        let dialog = dialog_keys();
        for (at, r) in remaps.iter().enumerate() {
            if r.keys.is_empty() {
                problems.push(Problem::NoKey { at });
            }
            for (key, k) in r.keys.iter().enumerate() {
                let problem = if *k == INTERRUPT && r.command != Command::Quit {
                    Some(Problem::Reserved { at, key })
                } else if on_dialog(r.command) && k.code == KeyCode::Esc && !k.ctrl {
                    (r.command != Command::Cancel).then_some(Problem::EscCancels { at, key })
                } else if in_dialog(r.command) && !dialog.contains(k) {
                    Some(Problem::NotDialogKey { at, key })
                } else if on_filter_line(r.command) && k.is_text() {
                    Some(Problem::Typed { at, key })
                } else {
                    None
                };
                if let Some(p) = problem {
                    problems.push(p);
                    refused.push((at, key));
                }
            }
            let i = row(r.command);
            let mut mine: Vec<Key> = Vec::new();
            for k in &r.keys {
                if !mine.contains(k) {
                    mine.push(*k);
                }
            }
            // Esc always cancels the dialog.
            let esc = Key::plain(KeyCode::Esc);
            if r.command == Command::Cancel && !mine.contains(&esc) {
                mine.push(esc);
            }
            keys[i] = mine;
            origin[i] = Some(at);
        }
        problems.extend(clashes(remaps, &keys, &origin, &refused));
        if !problems.is_empty() {
            return Err(problems);
        }
        let remapped: Vec<bool> = origin.iter().map(Option::is_some).collect();
        Ok(Keymap::build(keys, &remapped))
    }

    /// A command's keys in force.
    pub fn keys(&self, command: Command) -> &[Key] {
        &self.keys[row(command)]
    }

    /// How the screen writes a command's keys: `p`, `↑/k`, `P`.
    pub fn label(&self, command: Command) -> &str {
        &self.labels[row(command)]
    }

    /// What a command does, for the help, with the keys of the commands it names.
    pub fn help(&self, command: Command) -> &str {
        &self.helps[row(command)]
    }

    /// A footer hint of several commands' first keys.
    pub fn group(&self, group: Group) -> &str {
        let i = GROUPS.iter().position(|(g, _)| *g == group).unwrap_or(0);
        &self.groups[i]
    }

    /// The command a key press stands for in `mode`. Ctrl-c quits from anywhere.
    pub fn command_for(&self, mode: Mode, event: KeyEvent) -> Option<Command> {
        let key = Key::of(event);
        if key == INTERRUPT {
            return Some(Command::Quit);
        }
        self.rows(mode)
            .find(|(i, _)| self.keys[*i].contains(&key))
            .map(|(_, b)| b.command)
    }

    /// Which of a command's keys a press is (the first one is 0).
    pub fn which(&self, command: Command, event: KeyEvent) -> Option<usize> {
        let key = Key::of(event);
        self.keys(command).iter().position(|k| *k == key)
    }

    fn rows(&self, mode: Mode) -> impl Iterator<Item = (usize, &'static Binding)> {
        BINDINGS
            .iter()
            .enumerate()
            .filter(move |(_, b)| b.modes.contains(&mode))
    }

    /// The rows read in `mode`, in the table's order, each with its label.
    pub fn bindings(&self, mode: Mode) -> impl Iterator<Item = (&'static Binding, &str)> {
        self.rows(mode).map(|(i, b)| (b, self.labels[i].as_str()))
    }

    /// The footer's keys of `mode` (those always shown), as (command, keys, words).
    pub fn footer(&self, mode: Mode) -> impl Iterator<Item = (Command, &str, &'static str)> {
        self.bindings(mode)
            .filter(|(b, _)| b.shown == super::Shown::Footer)
            .map(|(b, label)| (b.command, label, b.short))
    }
}

/// Whether a key press is Ctrl-c, which quits at once from anywhere.
pub fn is_interrupt(event: KeyEvent) -> bool {
    Key::of(event) == INTERRUPT
}

/// `text` with each `{name}` replaced by the label of the command `name`.
fn expand(text: &str, labels: &[String]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        match Command::named(&rest[open + 1..close]) {
            Some(c) => out.push_str(&labels[row(c)]),
            None => out.push_str(&rest[open..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Keys as the screen writes them, joined (with `,` where a key is itself `/`).
fn join(keys: &[Key], sep: &str) -> String {
    let labels: Vec<String> = keys.iter().map(|k| k.label()).collect();
    let sep = if sep == "/" && labels.iter().any(|l| l == "/") {
        ","
    } else {
        sep
    };
    labels.join(sep)
}

/// Every pair of commands that share a key where both are read, once per pair and key, where
/// at least one of them was remapped.
fn clashes(
    remaps: &[Remap],
    keys: &[Vec<Key>],
    origin: &[Option<usize>],
    refused: &[(usize, usize)],
) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut seen: Vec<(usize, usize, usize)> = Vec::new();
    // Where a remap holds key `k`: its index and the key's, unless refused already (Esc that
    // cancel always has is in no remap's list).
    let place = |at: usize, k: &Key| {
        let key = remaps[at].keys.iter().position(|x| x == k)?;
        (!refused.contains(&(at, key))).then_some((at, key))
    };
    for mode in Mode::ALL {
        let rows: Vec<usize> = (0..BINDINGS.len())
            .filter(|i| BINDINGS[*i].modes.contains(&mode))
            .collect();
        for (n, &a) in rows.iter().enumerate() {
            for &b in &rows[n + 1..] {
                for k in keys[a].iter().filter(|k| keys[b].contains(k)) {
                    let (this, other) = match (origin[a], origin[b]) {
                        (None, None) => continue,
                        (Some(x), None) => (place(x, k), default_holder(b, keys, k)),
                        (None, Some(y)) => (place(y, k), default_holder(a, keys, k)),
                        (Some(x), Some(y)) => {
                            let (first, later) = if x < y { (x, y) } else { (y, x) };
                            let Some((at, key)) = place(first, k) else {
                                continue;
                            };
                            (place(later, k), Holder::Remap { at, key })
                        }
                    };
                    let Some((at, key)) = this else { continue };
                    let other_row = match &other {
                        Holder::Remap { at, .. } => row(remaps[*at].command),
                        Holder::Default { command, .. } => row(*command),
                    };
                    if seen.contains(&(at, key, other_row)) {
                        continue;
                    }
                    seen.push((at, key, other_row));
                    out.push(Problem::Clash {
                        at,
                        key,
                        mode,
                        other,
                    });
                }
            }
        }
    }
    out
}

/// The command of row `i`, which keeps its defaults and holds `taken`, with a key it could
/// take instead.
fn default_holder(i: usize, keys: &[Vec<Key>], taken: &Key) -> Holder {
    let command = BINDINGS[i].command;
    Holder::Default {
        command,
        free: free_key(i, keys, taken),
    }
}

/// A key row `i` could have that nothing else holds where it is read: the other case of its
/// own letters first, then letters, then F1 to F12 (for the dialog: its own keys only; for the
/// filter line: no character).
fn free_key(i: usize, keys: &[Vec<Key>], taken: &Key) -> Option<Key> {
    let b = &BINDINGS[i];
    let candidates: Vec<Key> = if in_dialog(b.command) {
        dialog_keys()
            .into_iter()
            .filter(|k| k.code != KeyCode::Esc)
            .collect()
    } else {
        let swapped = b.keys.iter().filter_map(|c| match c {
            KeyCode::Char(ch) if ch.is_ascii_lowercase() => Some(ch.to_ascii_uppercase()),
            KeyCode::Char(ch) if ch.is_ascii_uppercase() => Some(ch.to_ascii_lowercase()),
            _ => None,
        });
        let letters = swapped.chain('a'..='z').chain('A'..='Z');
        let chars = letters.map(|c| Key::plain(KeyCode::Char(c)));
        let f_keys = (1..=12).map(|n| Key::plain(KeyCode::F(n)));
        if on_filter_line(b.command) {
            f_keys.collect()
        } else {
            chars.chain(f_keys).collect()
        }
    };
    candidates.into_iter().find(|k| {
        k != taken
            && *k != INTERRUPT
            && BINDINGS
                .iter()
                .enumerate()
                .filter(|(_, o)| o.modes.iter().any(|m| b.modes.contains(m)))
                .all(|(j, _)| !keys[j].contains(k))
    })
}

#[cfg(test)]
mod tests;
