//! `[keys]` through `config::parse`: what it maps, and each error at its line:col with its
//! hint.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::{ConfigError, parse};
use crate::keymap::{Command, Keymap, Mode};

/// The least config, with `keys` after it: `[keys]` starts on line 10.
fn text(keys: &str) -> String {
    format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\n[keys]\n{keys}"
    )
}

const FIRST: usize = 14;

fn keymap(keys: &str) -> Keymap {
    parse(&text(keys), "k.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .keys
}

fn errors(keys: &str) -> Vec<ConfigError> {
    parse(&text(keys), "k.toml").expect_err("refused").0
}

/// The one error of `keys`: its place (line within `[keys]`, from 1), message and hint.
fn error(keys: &str) -> (usize, usize, String, String) {
    let e = errors(keys);
    assert_eq!(e.len(), 1, "{e:#?}");
    let e = e.into_iter().next().unwrap();
    assert_eq!(e.file, "k.toml");
    (
        e.line + 1 - FIRST,
        e.col,
        e.message,
        e.hint.unwrap_or_default(),
    )
}

fn press(map: &Keymap, mode: Mode, code: KeyCode) -> Option<Command> {
    map.command_for(mode, KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn no_keys_table_is_the_defaults() {
    let c = parse(&text("").replace("[keys]\n", ""), "k.toml").unwrap();
    assert_eq!(c.keys, Keymap::defaults());
    assert_eq!(keymap(""), Keymap::defaults());
}

#[test]
fn one_key_or_a_list() {
    let map = keymap("promote = \"P\"\ndown = [\"j\", \"Down\", \"Ctrl-n\"]\nquit = \"Q\"\n");
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Char('P')),
        Some(Command::Promote)
    );
    assert_eq!(press(&map, Mode::Main, KeyCode::Char('p')), None);
    assert_eq!(map.label(Command::Promote), "P");
    assert_eq!(map.label(Command::Down), "j/↓/Ctrl-n");
    assert_eq!(map.label(Command::Quit), "Q");
}

#[test]
fn an_unknown_command_suggests_the_likely_one() {
    let (line, col, msg, hint) = error("promte = \"P\"\n");
    assert_eq!((line, col), (1, 1));
    assert_eq!(msg, "unknown command \"promte\" in [keys]");
    assert!(hint.starts_with("commands are up, down,"), "{hint}");
    assert!(hint.ends_with("(did you mean \"promote\"?)"), "{hint}");
    // Other words for a command name it.
    let (.., hint) = error("resume = \"S\"\n");
    assert!(hint.ends_with("(did you mean \"pause\"?)"), "{hint}");
    let (.., hint) = error("page-up = \"u\"\n");
    assert!(hint.ends_with("(did you mean \"page_up\"?)"), "{hint}");
}

#[test]
fn an_unknown_key_name_lists_the_forms() {
    let (line, col, msg, hint) = error("help = \"?\"\npromote = \"Entr\"\n");
    assert_eq!((line, col), (2, 11));
    assert_eq!(msg, "unknown key name \"Entr\" for promote");
    assert!(hint.starts_with("keys are one character"), "{hint}");
    assert!(
        hint.contains("F1 to F12") && hint.contains("\"Ctrl-x\""),
        "{hint}"
    );
    assert!(hint.ends_with("(did you mean \"Enter\"?)"), "{hint}");
    // In a list: at the key itself.
    let (line, col, msg, hint) = error("down = [\"j\", \"Ctl-n\"]\n");
    assert_eq!((line, col), (1, 14));
    assert_eq!(msg, "unknown key name \"Ctl-n\" for down");
    assert!(!hint.contains("did you mean"), "{hint}");
    let (.., hint) = error("down = \"C-n\"\n");
    assert_eq!(hint, "write \"Ctrl-n\"");
    // A bad key is not also "left with no key", nor a clash of its command's defaults.
    let e = errors("promote = \"Entr\"\nreject = \"p\"\n");
    assert_eq!(e.len(), 1, "{e:#?}");
}

#[test]
fn a_value_that_is_not_a_key_says_what_a_key_looks_like() {
    let (line, col, msg, _) = error("promote = 5\n");
    assert_eq!((line, col), (1, 11));
    assert!(
        msg.contains("a key such as \"P\" or \"Ctrl-x\", or a list of them"),
        "{msg}"
    );
}

#[test]
fn a_command_left_with_no_key() {
    let (line, col, msg, hint) = error("promote = []\n");
    assert_eq!((line, col), (1, 11));
    assert_eq!(msg, "promote has no key");
    assert_eq!(
        hint,
        "give it one (by default: \"p\"), or leave promote out of [keys] to keep its default"
    );
}

#[test]
fn two_commands_on_one_key_say_which_and_where() {
    let (line, col, msg, hint) =
        error("promote = \"P\"\nrollback = \"R\"\napprove = [\"A\", \"P\"]\n");
    assert_eq!((line, col), (3, 17));
    assert_eq!(
        msg,
        "\"P\" is both promote's and approve's key on the main view"
    );
    assert_eq!(
        hint,
        format!(
            "promote is given \"P\" at {FIRST}:11, and approve here: give one of them another key"
        )
    );
}

#[test]
fn a_remap_onto_a_default_key_still_in_force_asks_to_remap_that_one_too() {
    let (line, col, msg, hint) = error("promote = \"s\"\n");
    assert_eq!((line, col), (1, 11));
    assert_eq!(
        msg,
        "\"s\" is both promote's key and pause's default key on the main view"
    );
    assert_eq!(
        hint,
        "pause keeps its default keys (\"s\") unless [keys] remaps it too: remap pause as well, \
         e.g. pause = \"S\""
    );
    // Remapped too: fine.
    let map = keymap("promote = \"s\"\npause = \"S\"\n");
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Char('s')),
        Some(Command::Promote)
    );
}

#[test]
fn ctrl_c_is_no_commands_key() {
    let (line, col, msg, hint) = error("halt = [\"H\", \"Ctrl-c\"]\n");
    assert_eq!((line, col), (1, 14));
    assert_eq!(msg, "Ctrl-c always quits: it can't be halt's key");
    assert_eq!(hint, "pick another key");
}

#[test]
fn the_dialog_keys_are_swapped_only_among_themselves() {
    let (line, col, msg, hint) = error("press = \"y\"\n");
    assert_eq!((line, col), (1, 9));
    assert_eq!(
        msg,
        "\"y\" is not a key of the confirmation dialog: press can only have the dialog's own keys"
    );
    assert_eq!(
        hint,
        "the dialog's keys are only swapped among themselves, so that no remap makes sending \
         easier: Tab, BackTab, Left, Right, Up, Down, Enter (and Esc, which always cancels)"
    );
    let (.., msg, hint) = error("press = \"Esc\"\n");
    assert_eq!(
        msg,
        "Esc always cancels the confirmation dialog: it can't be press's key"
    );
    assert!(
        hint.starts_with("give it one of the dialog's other keys: Tab,"),
        "{hint}"
    );
    // A swap is fine; cancel keeps Esc.
    let map = keymap("press = \"Tab\"\nnext_field = \"Enter\"\n");
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Tab),
        Some(Command::Press)
    );
    let map = keymap("cancel = \"Left\"\nother_button = \"Right\"\n");
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Esc),
        Some(Command::Cancel)
    );
    assert_eq!(map.label(Command::Cancel), "←/Esc");
    // Onto a dialog key in use, and nothing left to offer the other one.
    let (.., msg, hint) = error("cancel = \"Left\"\n");
    assert_eq!(
        msg,
        "\"Left\" is both cancel's key and other_button's default key in the confirmation dialog"
    );
    assert!(
        hint.ends_with(
            "remap other_button as well (the dialog's keys are only swapped among themselves)"
        ),
        "{hint}"
    );
}

#[test]
fn the_filter_line_takes_no_character_as_a_key() {
    let (line, col, msg, hint) = error("apply = [\"Enter\", \"a\"]\n");
    assert_eq!((line, col), (1, 19));
    assert_eq!(
        msg,
        "\"a\" would be typed into the filter: apply needs a key that is not a character"
    );
    assert!(hint.contains("F1 to F12"), "{hint}");
}

#[test]
fn every_problem_is_told_in_the_order_of_the_file() {
    let e = errors("quit = []\npromte = \"P\"\ndown = \"Entr\"\nhelp = \"q\"\n");
    let got: Vec<(usize, &str)> = e
        .iter()
        .map(|e| (e.line + 1 - FIRST, e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "quit has no key"),
            (2, "unknown command \"promte\" in [keys]"),
            (3, "unknown key name \"Entr\" for down"),
        ],
        "{e:#?}"
    );
    // Once quit has its key back, help on q is a clash with it.
    let e = errors("quit = \"Q\"\nhelp = \"Q\"\n");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].line + 1 - FIRST, 2);
}

#[test]
fn the_example_config_documents_every_command_and_keeps_the_defaults() {
    let text = include_str!("../../../config.example.toml");
    let c = parse(text, "config.example.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.keys, Keymap::defaults());
    let start = text.find("# Your keys.").expect("a [keys] section");
    let section = &text[start..start + text[start..].find("\n[keys]").unwrap()];
    for name in crate::keymap::names() {
        let word =
            |w: &str| w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_') == name;
        assert!(
            section.split_whitespace().any(word),
            "{name} is not documented in config.example.toml's [keys]"
        );
    }
}
