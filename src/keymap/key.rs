//! One key as `[keys]` names it and as the screen shows it: a character (case matters), a named
//! key, or Ctrl with a letter.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key press the keymap can bind: a key code, with or without Ctrl. Other modifiers are not
/// part of it (Shift is already in the character: `P` is not `p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    /// Ctrl with a letter (stored lower case: terminals send Ctrl-x and Ctrl-X alike).
    pub ctrl: bool,
}

/// The named keys, as written in `[keys]` (matched without regard to case) and shown on
/// screen.
const NAMED: &[(&str, KeyCode, &str)] = &[
    ("Enter", KeyCode::Enter, "⏎"),
    ("Esc", KeyCode::Esc, "Esc"),
    ("Tab", KeyCode::Tab, "Tab"),
    ("BackTab", KeyCode::BackTab, "S-Tab"),
    ("Up", KeyCode::Up, "↑"),
    ("Down", KeyCode::Down, "↓"),
    ("Left", KeyCode::Left, "←"),
    ("Right", KeyCode::Right, "→"),
    ("PageUp", KeyCode::PageUp, "PgUp"),
    ("PageDown", KeyCode::PageDown, "PgDn"),
    ("Home", KeyCode::Home, "Home"),
    ("End", KeyCode::End, "End"),
    ("Space", KeyCode::Char(' '), "Space"),
];

/// Other spellings people write (some as the help shows them), for the same keys.
const ALIASES: &[(&str, KeyCode)] = &[
    ("Escape", KeyCode::Esc),
    ("Return", KeyCode::Enter),
    ("S-Tab", KeyCode::BackTab),
    ("Shift-Tab", KeyCode::BackTab),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("⏎", KeyCode::Enter),
    ("↑", KeyCode::Up),
    ("↓", KeyCode::Down),
    ("←", KeyCode::Left),
    ("→", KeyCode::Right),
];

/// The forms a key may take, for hints.
pub const FORMS: &str = "keys are one character (\"P\", \"/\"; case matters), Enter, Esc, Tab, \
     BackTab, Up, Down, Left, Right, PageUp, PageDown, Home, End, Space, F1 to F12, or Ctrl \
     with a letter (\"Ctrl-x\")";

/// Why a key name was not understood: the message, and a hint; `None` for a name that is
/// none of the forms (the hint is then [`FORMS`] and, where one is close, the likely name of
/// [`spellings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadKey {
    pub message: String,
    pub hint: Option<String>,
}

/// The names of keys longer than one character, for "did you mean".
pub fn spellings() -> impl Iterator<Item = &'static str> {
    NAMED
        .iter()
        .map(|(n, ..)| *n)
        .chain(ALIASES.iter().map(|(n, _)| *n).filter(|n| n.len() > 3))
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    pub const fn ctrl(letter: char) -> Key {
        Key {
            code: KeyCode::Char(letter.to_ascii_lowercase()),
            ctrl: true,
        }
    }

    /// The key a terminal event stands for.
    pub fn of(event: KeyEvent) -> Key {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        match event.code {
            KeyCode::Char(c) if ctrl => Key::ctrl(c),
            code => Key { code, ctrl },
        }
    }

    /// A character a text field takes as typed text (the dialog's reason, the filter).
    pub fn is_text(self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl
    }

    /// Read a key as `[keys]` writes it.
    pub fn parse(text: &str) -> Result<Key, BadKey> {
        let bad = |message: String, hint: String| {
            Err(BadKey {
                message,
                hint: Some(hint),
            })
        };
        let unknown = || {
            Err(BadKey {
                message: format!("unknown key name {text:?}"),
                hint: None,
            })
        };
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            if let Some((_, code)) = ALIASES.iter().find(|(n, _)| *n == text) {
                return Ok(Key::plain(*code));
            }
            if c == ' ' {
                return bad("a blank key".into(), "write \"Space\"".into());
            }
            if c.is_control() || c.is_whitespace() {
                return unknown();
            }
            return Ok(Key::plain(KeyCode::Char(c)));
        }
        let lower = text.to_ascii_lowercase();
        if let Some((_, code, _)) = NAMED.iter().find(|(n, ..)| n.to_ascii_lowercase() == lower) {
            return Ok(Key::plain(*code));
        }
        if let Some((_, code)) = ALIASES
            .iter()
            .find(|(n, _)| n.to_ascii_lowercase() == lower)
        {
            return Ok(Key::plain(*code));
        }
        if let Some(digits) = lower.strip_prefix('f')
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            if let Ok(n) = digits.parse::<u8>()
                && (1..=12).contains(&n)
                && digits == n.to_string()
            {
                return Ok(Key::plain(KeyCode::F(n)));
            }
            return bad(
                format!("no function key {text:?}"),
                "function keys are F1 to F12".into(),
            );
        }
        let ctrl_with = ["ctrl-", "ctrl+", "control-", "c-", "^"]
            .iter()
            .find_map(|p| Some((*p, lower.strip_prefix(p)?)));
        if let Some((prefix, rest)) = ctrl_with {
            let letter = text[text.len() - rest.len()..].to_string();
            let mut rest_chars = letter.chars();
            let one = match (rest_chars.next(), rest_chars.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            };
            let Some(c) = one.filter(char::is_ascii_alphabetic) else {
                return bad(
                    format!("unknown key name {text:?}"),
                    "Ctrl goes with one letter: \"Ctrl-a\" to \"Ctrl-z\"".into(),
                );
            };
            let c = c.to_ascii_lowercase();
            if !prefix.starts_with("ctrl") {
                return bad(
                    format!("unknown key name {text:?}"),
                    format!("write \"Ctrl-{c}\""),
                );
            }
            // A terminal sends these as the keys they have always been.
            match c {
                'i' => {
                    return bad(
                        format!("{text:?} is Tab to a terminal"),
                        "write \"Tab\"".into(),
                    );
                }
                'm' => {
                    return bad(
                        format!("{text:?} is Enter to a terminal"),
                        "write \"Enter\"".into(),
                    );
                }
                _ => return Ok(Key::ctrl(c)),
            }
        }
        unknown()
    }

    /// The key as `[keys]` writes it.
    pub fn name(self) -> String {
        if self.ctrl
            && let KeyCode::Char(c) = self.code
        {
            return format!("Ctrl-{c}");
        }
        match self.code {
            KeyCode::F(n) => format!("F{n}"),
            code => match NAMED.iter().find(|(_, k, _)| *k == code) {
                Some((name, ..)) => name.to_string(),
                None => match code {
                    KeyCode::Char(c) => c.to_string(),
                    other => format!("{other:?}"),
                },
            },
        }
    }

    /// The key as the footer and the help show it: `P`, `⏎`, `↑`, `PgUp`, `Ctrl-x`.
    pub fn label(self) -> String {
        if self.ctrl {
            return self.name();
        }
        match self.code {
            KeyCode::F(n) => format!("F{n}"),
            code => match NAMED.iter().find(|(_, k, _)| *k == code) {
                Some((.., label)) => label.to_string(),
                None => self.name(),
            },
        }
    }

    /// An arrow key: labels of arrows join without a separator (`←↓↑→`).
    pub fn is_arrow(self) -> bool {
        !self.ctrl
            && matches!(
                self.code,
                KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right
            )
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Key {
        Key::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn refused(s: &str) -> BadKey {
        Key::parse(s).expect_err(s)
    }

    #[test]
    fn characters_keep_their_case() {
        assert_eq!(parse("P"), Key::plain(KeyCode::Char('P')));
        assert_eq!(parse("p"), Key::plain(KeyCode::Char('p')));
        assert_ne!(parse("P"), parse("p"));
        assert_eq!(parse("/"), Key::plain(KeyCode::Char('/')));
        assert_eq!(parse("é"), Key::plain(KeyCode::Char('é')));
    }

    #[test]
    fn named_keys_in_any_case_and_their_other_spellings() {
        for (text, code) in [
            ("Enter", KeyCode::Enter),
            ("enter", KeyCode::Enter),
            ("Return", KeyCode::Enter),
            ("⏎", KeyCode::Enter),
            ("Esc", KeyCode::Esc),
            ("ESCAPE", KeyCode::Esc),
            ("Tab", KeyCode::Tab),
            ("BackTab", KeyCode::BackTab),
            ("S-Tab", KeyCode::BackTab),
            ("Up", KeyCode::Up),
            ("↓", KeyCode::Down),
            ("Left", KeyCode::Left),
            ("right", KeyCode::Right),
            ("PageUp", KeyCode::PageUp),
            ("PgDn", KeyCode::PageDown),
            ("Home", KeyCode::Home),
            ("End", KeyCode::End),
            ("Space", KeyCode::Char(' ')),
            ("F1", KeyCode::F(1)),
            ("f12", KeyCode::F(12)),
        ] {
            assert_eq!(parse(text), Key::plain(code), "{text}");
        }
    }

    #[test]
    fn ctrl_with_a_letter_is_one_key_whatever_its_case() {
        assert_eq!(parse("Ctrl-x"), Key::ctrl('x'));
        assert_eq!(parse("ctrl-X"), Key::ctrl('x'));
        assert_eq!(parse("CTRL+x"), Key::ctrl('x'));
        assert_eq!(parse("Ctrl-x").name(), "Ctrl-x");
    }

    fn hint(s: &str) -> String {
        refused(s)
            .hint
            .unwrap_or_else(|| panic!("{s}: no hint of its own"))
    }

    #[test]
    fn names_of_no_form_are_unknown_and_the_rest_say_what_is_wrong() {
        for s in ["Entr", "ab", "", "\t", "Shift-p", "Alt-x"] {
            assert_eq!(
                refused(s),
                BadKey {
                    message: format!("unknown key name {s:?}"),
                    hint: None
                }
            );
        }
        assert!(spellings().any(|n| n == "PageUp") && spellings().any(|n| n == "Escape"));
        assert!(!spellings().any(|n| n == "↑"));
        assert_eq!(hint(" "), "write \"Space\"");
        assert_eq!(hint("F13"), "function keys are F1 to F12");
        assert_eq!(hint("F999"), "function keys are F1 to F12");
        assert_eq!(refused("F0").message, "no function key \"F0\"");
        assert_eq!(refused("F01").message, "no function key \"F01\"");
        assert_eq!(hint("C-x"), "write \"Ctrl-x\"");
        assert_eq!(hint("^X"), "write \"Ctrl-x\"");
        assert!(hint("Ctrl-1").contains("one letter"));
        assert!(hint("Ctrl-xy").contains("one letter"));
        assert!(hint("Ctrl-").contains("one letter"));
        assert_eq!(hint("Ctrl-i"), "write \"Tab\"");
        assert_eq!(
            refused("Ctrl-m").message,
            "\"Ctrl-m\" is Enter to a terminal"
        );
        assert_eq!(refused(&"x".repeat(100_000)).hint, None);
    }

    #[test]
    fn events_become_keys() {
        let ev = |code, m| Key::of(KeyEvent::new(code, m));
        assert_eq!(
            ev(KeyCode::Char('P'), KeyModifiers::SHIFT),
            parse("P"),
            "Shift is in the character"
        );
        assert_eq!(
            ev(KeyCode::Char('X'), KeyModifiers::CONTROL),
            parse("Ctrl-x")
        );
        assert_eq!(ev(KeyCode::BackTab, KeyModifiers::SHIFT), parse("BackTab"));
        assert_ne!(ev(KeyCode::Char('x'), KeyModifiers::CONTROL), parse("x"));
    }

    #[test]
    fn labels_are_what_the_screen_shows() {
        let label = |s| parse(s).label();
        assert_eq!(label("Enter"), "⏎");
        assert_eq!(label("Up"), "↑");
        assert_eq!(label("PageDown"), "PgDn");
        assert_eq!(label("BackTab"), "S-Tab");
        assert_eq!(label("P"), "P");
        assert_eq!(label("Space"), "Space");
        assert_eq!(label("F5"), "F5");
        assert_eq!(label("Ctrl-x"), "Ctrl-x");
        // What the screen shows can be written back.
        for s in [
            "Enter", "Up", "PageDown", "BackTab", "P", "Space", "F5", "Ctrl-x",
        ] {
            assert_eq!(Key::parse(&label(s)), Ok(parse(s)), "{s}");
        }
    }
}
