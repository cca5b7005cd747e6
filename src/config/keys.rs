//! `[keys]`: a command's name and its keys, one or a list (`promote = "P"`,
//! `down = ["j", "Down"]`). Read here with their places; the rules of a remap are the keymap's
//! ([`Keymap::new`]), and each problem it finds is told here at its place in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::Spanned;

use super::diag::{Diagnostics, did_you_mean, line_col, list_hint};
use super::raw::Str;
use crate::keymap::{self, Command, FORMS, Holder, Key, Keymap, Mode, OTHER_WORDS, Problem, Remap};

/// `[keys]` as written: each command's name, and its keys.
pub(crate) type RawKeys = BTreeMap<Str, Spanned<RawKeyList>>;

/// One key, or a list of them.
#[derive(Debug)]
pub(crate) enum RawKeyList {
    One(String),
    Many(Vec<Str>),
}

impl<'de> Deserialize<'de> for RawKeyList {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeysVisitor;

        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = RawKeyList;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key such as \"P\" or \"Ctrl-x\", or a list of them")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKeyList, E> {
                Ok(RawKeyList::One(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element::<Str>()? {
                    keys.push(k);
                }
                Ok(RawKeyList::Many(keys))
            }
        }

        d.deserialize_any(KeysVisitor)
    }
}

/// Where a remap was written: its value, and each of its keys.
struct Place {
    value: Range<usize>,
    keys: Vec<Range<usize>>,
}

/// The keys in force: the table's, with `[keys]` over them. Every problem is recorded in `d`.
pub(crate) fn keymap(raw: RawKeys, d: &mut Diagnostics) -> Keymap {
    let mut entries: Vec<_> = raw.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut remaps = Vec::new();
    let mut places = Vec::new();
    // Remaps with a key that was refused on its own: not also "left with no key".
    let mut partly_bad = Vec::new();
    for (name, value) in entries {
        let Some(command) = command(d, &name) else {
            continue;
        };
        let value_span = value.span();
        let written: Vec<(String, Range<usize>)> = match value.into_inner() {
            RawKeyList::One(k) => vec![(k, value_span.clone())],
            RawKeyList::Many(ks) => ks
                .into_iter()
                .map(|k| {
                    let span = k.span();
                    (k.into_inner(), span)
                })
                .collect(),
        };
        let mut keys = Vec::new();
        let mut spans = Vec::new();
        let mut bad = false;
        for (text, span) in written {
            match key(d, command, &text, span.clone()) {
                Some(k) => {
                    keys.push(k);
                    spans.push(span);
                }
                None => bad = true,
            }
        }
        partly_bad.push(bad);
        remaps.push(Remap { command, keys });
        places.push(Place {
            value: value_span,
            keys: spans,
        });
    }
    match Keymap::new(&remaps) {
        Ok(map) => map,
        Err(problems) => {
            for p in problems {
                if let Problem::NoKey { at } = p
                    && partly_bad[at]
                {
                    continue;
                }
                tell(d, &remaps, &places, &p);
            }
            Keymap::defaults()
        }
    }
}

/// The command `name` stands for, or an error at it.
fn command(d: &mut Diagnostics, name: &Str) -> Option<Command> {
    let n = name.get_ref();
    if let Some(c) = Command::named(n) {
        return Some(c);
    }
    let names = keymap::names();
    let hint = match OTHER_WORDS.iter().find(|(w, _)| *w == n.to_lowercase()) {
        Some((_, c)) => format!(
            "commands are {} (did you mean {:?}?)",
            names.join(", "),
            c.name()
        ),
        None => list_hint("commands", n, &names),
    };
    d.error_hint(
        name.span(),
        format!("unknown command {n:?} in [keys]"),
        hint,
    );
    None
}

/// The key `text` names, or an error at it.
fn key(d: &mut Diagnostics, command: Command, text: &str, span: Range<usize>) -> Option<Key> {
    match Key::parse(text) {
        Ok(k) => Some(k),
        Err(bad) => {
            let hint = bad.hint.unwrap_or_else(|| {
                let names: Vec<&str> = keymap::spellings().collect();
                match did_you_mean(text, &names) {
                    Some(m) => format!("{FORMS} (did you mean {m:?}?)"),
                    None => FORMS.to_string(),
                }
            });
            d.error_hint(
                span,
                format!("{} for {}", bad.message, command.name()),
                hint,
            );
            None
        }
    }
}

/// Where the keymap reads a mode, in words.
fn place(mode: Mode) -> &'static str {
    match mode {
        Mode::Main => "on the main view",
        Mode::Details => "in the details",
        Mode::Help => "in the help",
        Mode::Confirm => "in the confirmation dialog",
        Mode::Filter => "on the filter line",
        Mode::Jump => "on the jump prompt",
    }
}

/// A command's default keys, as `[keys]` writes them.
fn defaults(command: Command) -> String {
    let keys: Vec<String> = Keymap::defaults()
        .keys(command)
        .iter()
        .map(|k| format!("{:?}", k.name()))
        .collect();
    keys.join(", ")
}

/// One problem of the remaps, at its place, in words with a way out.
fn tell(d: &mut Diagnostics, remaps: &[Remap], places: &[Place], problem: &Problem) {
    let key_of = |at: usize, key: usize| remaps[at].keys[key].name();
    let dialog = keymap::dialog_keys_words();
    match *problem {
        Problem::NoKey { at } => {
            let c = remaps[at].command.name();
            d.error_hint(
                places[at].value.clone(),
                format!("{c} has no key"),
                format!(
                    "give it one (by default: {}), or leave {c} out of [keys] to keep its default",
                    defaults(remaps[at].command)
                ),
            );
        }
        Problem::Reserved { at, key } => d.error_hint(
            places[at].keys[key].clone(),
            format!(
                "Ctrl-c always quits: it can't be {}'s key",
                remaps[at].command.name()
            ),
            "pick another key",
        ),
        Problem::Typed { at, key } => d.error_hint(
            places[at].keys[key].clone(),
            format!(
                "{:?} would be typed into the filter: {} needs a key that is not a character",
                key_of(at, key),
                remaps[at].command.name()
            ),
            "for instance Enter, Esc, Tab, F1 to F12, or Ctrl with a letter",
        ),
        Problem::NotDialogKey { at, key } => d.error_hint(
            places[at].keys[key].clone(),
            format!(
                "{:?} is not a key of the confirmation dialog: {} can only have the dialog's own keys",
                key_of(at, key),
                remaps[at].command.name()
            ),
            format!(
                "the dialog's keys are only swapped among themselves, so that no remap makes \
                 sending easier: {dialog} (and Esc, which always cancels)"
            ),
        ),
        Problem::EscCancels { at, key } => d.error_hint(
            places[at].keys[key].clone(),
            format!(
                "Esc always cancels the confirmation dialog: it can't be {}'s key",
                remaps[at].command.name()
            ),
            format!("give it one of the dialog's other keys: {dialog}"),
        ),
        Problem::Clash {
            at,
            key,
            mode,
            ref other,
        } => {
            let this = remaps[at].command.name();
            let k = key_of(at, key);
            let span = places[at].keys[key].clone();
            match other {
                Holder::Remap { at: first, key: first_key } => {
                    let o = remaps[*first].command.name();
                    let (line, col) = line_col(d.text(), places[*first].keys[*first_key].start);
                    d.error_hint(
                        span,
                        format!("{k:?} is both {o}'s and {this}'s key {}", place(mode)),
                        format!(
                            "{o} is given {k:?} at {line}:{col}, and {this} here: give one of \
                             them another key"
                        ),
                    );
                }
                Holder::Default { command, free } => {
                    let o = command.name();
                    let way = match free {
                        Some(f) => format!("remap {o} as well, e.g. {o} = {:?}", f.name()),
                        None => format!(
                            "remap {o} as well (the dialog's keys are only swapped among \
                             themselves)"
                        ),
                    };
                    d.error_hint(
                        span,
                        format!(
                            "{k:?} is both {this}'s key and {o}'s default key {}",
                            place(mode)
                        ),
                        format!(
                            "{o} keeps its default keys ({}) unless [keys] remaps it too: {way}",
                            defaults(*command)
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
