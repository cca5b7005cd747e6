use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn remap(command: Command, keys: &[&str]) -> Remap {
    Remap {
        command,
        keys: keys.iter().map(|k| key(k)).collect(),
    }
}

fn ok(remaps: &[Remap]) -> Keymap {
    Keymap::new(remaps).unwrap_or_else(|p| panic!("{p:?}"))
}

fn problems(remaps: &[Remap]) -> Vec<Problem> {
    Keymap::new(remaps).expect_err("refused")
}

fn press(map: &Keymap, mode: Mode, code: KeyCode) -> Option<Command> {
    map.command_for(mode, KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn the_defaults_are_the_table() {
    let map = Keymap::defaults();
    assert_eq!(Keymap::new(&[]), Ok(map.clone()));
    for b in BINDINGS {
        assert_eq!(map.label(b.command), b.label);
    }
    assert_eq!(map.keys(Command::Down), [key("Down"), key("j")]);
    assert_eq!(
        map.keys(Command::PageDown),
        [key("PageDown"), key("Ctrl-d")]
    );
    assert_eq!(map.group(Group::Move), "←↓↑→");
    assert_eq!(map.group(Group::Scroll), "↑↓");
    assert_eq!(map.group(Group::Metric), "[ ]");
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Char('p')),
        Some(Command::Promote)
    );
    assert_eq!(
        map.help(Command::NextMetric),
        "next metric (metrics view; Tab)"
    );
    assert_eq!(
        map.help(Command::Close),
        "close the popup (also ? or ⏎ where they opened it)"
    );
    // Every name in braces is a command's.
    for b in BINDINGS {
        assert!(!map.help(b.command).contains('{'), "{}", b.help);
    }
}

#[test]
fn the_help_names_the_keys_as_mapped() {
    let map = ok(&[
        remap(Command::NextPanel, &["n"]),
        remap(Command::Help, &["F1"]),
    ]);
    assert_eq!(
        map.help(Command::NextMetric),
        "next metric (metrics view; n)"
    );
    assert_eq!(
        map.help(Command::Close),
        "close the popup (also F1 or ⏎ where they opened it)"
    );
    assert_eq!(expand("a {nothing} {", &[]), "a {nothing} {");
}

#[test]
fn a_remap_replaces_the_commands_keys_and_its_label() {
    let map = ok(&[
        remap(Command::Promote, &["P"]),
        remap(Command::Down, &["j", "Down", "Ctrl-n"]),
    ]);
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Char('P')),
        Some(Command::Promote)
    );
    assert_eq!(press(&map, Mode::Main, KeyCode::Char('p')), None);
    // From the details popup too: the same command, the same keys.
    assert_eq!(
        press(&map, Mode::Details, KeyCode::Char('P')),
        Some(Command::Promote)
    );
    assert_eq!(map.label(Command::Promote), "P");
    assert_eq!(map.label(Command::Down), "j/↓/Ctrl-n");
    let ctrl_n = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(map.command_for(Mode::Main, ctrl_n), Some(Command::Down));
    // The others keep theirs, with the table's labels.
    assert_eq!(map.label(Command::Up), "↑/k");
    assert_eq!(map.group(Group::Move), "← j ↑ →");
}

#[test]
fn ctrl_c_quits_everywhere_whatever_the_map() {
    let map = ok(&[remap(Command::Quit, &["Q"])]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for mode in Mode::ALL {
        assert_eq!(map.command_for(mode, ctrl_c), Some(Command::Quit));
    }
    assert!(is_interrupt(ctrl_c));
    assert_eq!(press(&map, Mode::Main, KeyCode::Char('q')), None);
    assert_eq!(
        problems(&[remap(Command::Halt, &["H", "Ctrl-c"])]),
        [Problem::Reserved { at: 0, key: 1 }]
    );
    assert!(Keymap::new(&[remap(Command::Quit, &["q", "Ctrl-c"])]).is_ok());
}

#[test]
fn a_command_keeps_a_key() {
    assert_eq!(
        problems(&[remap(Command::Promote, &[])]),
        [Problem::NoKey { at: 0 }]
    );
    assert_eq!(
        problems(&[remap(Command::Cancel, &[])]),
        [Problem::NoKey { at: 0 }]
    );
}

#[test]
fn two_remaps_on_one_key_clash_at_the_later() {
    let p = problems(&[
        remap(Command::Promote, &["P"]),
        remap(Command::Rollback, &["R"]),
        remap(Command::Approve, &["A", "P"]),
    ]);
    assert_eq!(
        p,
        [Problem::Clash {
            at: 2,
            key: 1,
            mode: Mode::Main,
            other: Holder::Remap { at: 0, key: 0 }
        }]
    );
}

#[test]
fn a_remap_on_a_default_key_still_in_force_clashes_and_a_free_key_is_offered() {
    let p = problems(&[remap(Command::Promote, &["s"])]);
    assert_eq!(
        p,
        [Problem::Clash {
            at: 0,
            key: 0,
            mode: Mode::Main,
            other: Holder::Default {
                command: Command::PauseResume,
                free: Some(key("S")),
            }
        }]
    );
    // Remapped as well: no clash.
    let map = ok(&[
        remap(Command::Promote, &["s"]),
        remap(Command::PauseResume, &["S"]),
    ]);
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Char('s')),
        Some(Command::Promote)
    );
    // G is taken (bottom), and so are a and b: the next free letter.
    let p = problems(&[remap(Command::Filter, &["g"])]);
    let Problem::Clash { other, .. } = &p[0] else {
        panic!("{p:?}")
    };
    assert_eq!(
        *other,
        Holder::Default {
            command: Command::Top,
            free: Some(key("c"))
        }
    );
}

#[test]
fn keys_of_other_modes_do_not_clash() {
    // Tab is the next panel on the main view and the next field in the dialog; the filter
    // line reads only its own keys.
    let map = ok(&[
        remap(Command::Apply, &["Tab"]),
        remap(Command::Close, &["Esc", "z"]),
    ]);
    assert_eq!(
        press(&map, Mode::Filter, KeyCode::Tab),
        Some(Command::Apply)
    );
    assert_eq!(
        press(&map, Mode::Main, KeyCode::Tab),
        Some(Command::NextPanel)
    );
    assert_eq!(
        press(&map, Mode::Details, KeyCode::Char('z')),
        Some(Command::Close)
    );
    assert_eq!(press(&map, Mode::Main, KeyCode::Char('z')), None);
    // x closes the popups, and rejects from the details: a clash there.
    let p = problems(&[remap(Command::Close, &["Esc", "x"])]);
    assert!(
        matches!(
            &p[..],
            [Problem::Clash {
                at: 0,
                key: 1,
                mode: Mode::Details,
                other: Holder::Default {
                    command: Command::Reject,
                    ..
                },
            }]
        ),
        "{p:?}"
    );
}

#[test]
fn a_clash_in_several_modes_is_told_once() {
    // Promote and pause are both read on the main view and in the details.
    let p = problems(&[
        remap(Command::Promote, &["z"]),
        remap(Command::PauseResume, &["z"]),
    ]);
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn the_dialogs_keys_are_swapped_only_among_themselves() {
    let map = ok(&[
        remap(Command::Press, &["Tab"]),
        remap(Command::NextField, &["Enter"]),
    ]);
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Tab),
        Some(Command::Press)
    );
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Enter),
        Some(Command::NextField)
    );
    assert_eq!(
        dialog_keys_words(),
        "Tab, BackTab, Left, Right, Up, Down, Enter"
    );
    // A letter would be typed into the reason; Ctrl-y, F5 and Space are no dialog key either.
    for k in ["y", "Ctrl-y", "F5", "Space", "Home"] {
        assert_eq!(
            problems(&[remap(Command::Press, &[k])]),
            [Problem::NotDialogKey { at: 0, key: 0 }],
            "{k}"
        );
    }
}

#[test]
fn esc_always_cancels() {
    assert_eq!(
        problems(&[remap(Command::Press, &["Esc"])]),
        [Problem::EscCancels { at: 0, key: 0 }]
    );
    // Cancel keeps Esc whatever it is given.
    let map = ok(&[
        remap(Command::Cancel, &["Left"]),
        remap(Command::OtherButton, &["Right"]),
    ]);
    assert_eq!(map.keys(Command::Cancel), [key("Left"), key("Esc")]);
    assert_eq!(map.label(Command::Cancel), "←/Esc");
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Esc),
        Some(Command::Cancel)
    );
    // Left is other_button's default: a clash until it is remapped too.
    let p = problems(&[remap(Command::Cancel, &["Left"])]);
    assert!(
        matches!(
            &p[..],
            [Problem::Clash {
                mode: Mode::Confirm,
                other: Holder::Default {
                    command: Command::OtherButton,
                    free: None
                },
                ..
            }]
        ),
        "{p:?}"
    );
}

#[test]
fn the_filter_lines_keys_are_not_characters() {
    assert_eq!(
        problems(&[remap(Command::Apply, &["Enter", "a"])]),
        [Problem::Typed { at: 0, key: 1 }]
    );
    let map = ok(&[remap(Command::Apply, &["Enter", "Ctrl-a", "F2"])]);
    let ctrl_a = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL);
    assert_eq!(map.command_for(Mode::Filter, ctrl_a), Some(Command::Apply));
}

#[test]
fn which_key_of_a_command() {
    let map = ok(&[remap(Command::PickVersion, &["Down", "Up"])]);
    let ev = |c| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(map.which(Command::PickVersion, ev(KeyCode::Down)), Some(0));
    assert_eq!(map.which(Command::PickVersion, ev(KeyCode::Up)), Some(1));
    assert_eq!(map.which(Command::PickVersion, ev(KeyCode::Left)), None);
}

#[test]
fn a_key_listed_twice_counts_once_and_a_slash_label_stays_readable() {
    let map = ok(&[remap(Command::Filter, &["/", "/", "f"])]);
    assert_eq!(map.keys(Command::Filter), [key("/"), key("f")]);
    assert_eq!(map.label(Command::Filter), "/,f");
}

#[test]
fn copying_the_command_line_sends_nothing_and_may_have_any_key_but_esc() {
    let map = ok(&[remap(Command::CopyCommand, &["c", "F5"])]);
    assert_eq!(
        press(&map, Mode::Confirm, KeyCode::Char('c')),
        Some(Command::CopyCommand)
    );
    assert_eq!(press(&map, Mode::Confirm, KeyCode::Char('y')), None);
    assert_eq!(
        problems(&[remap(Command::CopyCommand, &["Esc"])]),
        [Problem::EscCancels { at: 0, key: 0 }]
    );
    // On a key that presses: a clash, like any other.
    assert!(matches!(
        &problems(&[remap(Command::CopyCommand, &["Enter"])])[..],
        [Problem::Clash {
            mode: Mode::Confirm,
            other: Holder::Default {
                command: Command::Press,
                ..
            },
            ..
        }]
    ));
    // y is copy's, and a letter: never a key that presses.
    assert_eq!(
        problems(&[
            remap(Command::CopyCommand, &["c"]),
            remap(Command::Press, &["y"])
        ]),
        [Problem::NotDialogKey { at: 1, key: 0 }]
    );
}
