//! The screen with `[keys]` over the table's keys: the remapped keys do what the command does,
//! the old ones nothing, and the footer and the help show the keys as mapped (snapshots
//! without colour).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Cmd, Msg, Popup};
use super::fixture::{self, Rig, select};
use super::footer::footer_keys;
use super::theme::Theme;
use super::ui;
use crate::model::{ActionKind, Batch, CellKey, CellState, HistoryEntry, SourceReport};

/// The fixture's app with the keys of a config whose `[keys]` is `keys`.
fn mapped(keys: &str) -> Rig {
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\n[keys]\n{keys}"
    );
    let config = crate::config::parse(&text, "keys.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut app = fixture::app();
    app.keys = config.keys;
    app
}

fn press(app: &mut Rig, code: KeyCode) -> Vec<Cmd> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app, &Theme::PLAIN)).unwrap();
    terminal.backend().to_string()
}

/// The kind of action the open dialog is for.
fn dialog_kind(app: &App) -> Option<ActionKind> {
    match &app.popup {
        Some(Popup::Confirm(d)) => Some(d.plan.action.kind),
        _ => None,
    }
}

#[test]
fn a_remapped_promote_opens_the_dialog_and_the_old_key_does_nothing() {
    let mut app = mapped("promote = \"P\"\n");
    select(&mut app, "checkout-web", "staging");
    assert_eq!(press(&mut app, KeyCode::Char('p')), []);
    assert_eq!(app.popup, None);
    assert_eq!(app.flash, None, "p is no key now: nothing happens");
    press(&mut app, KeyCode::Char('P'));
    assert_eq!(dialog_kind(&app), Some(ActionKind::Promote));
    // From the details too.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.popup, Some(Popup::Details));
    press(&mut app, KeyCode::Char('p'));
    assert_eq!(app.popup, Some(Popup::Details));
    press(&mut app, KeyCode::Char('P'));
    assert_eq!(dialog_kind(&app), Some(ActionKind::Promote));
}

#[test]
fn the_footer_offers_the_keys_as_mapped() {
    let mut app = mapped("promote = \"P\"\nfilter = \"f\"\ndetails = [\"Enter\", \"d\"]\n");
    select(&mut app, "checkout-web", "staging");
    let keys = footer_keys(&app);
    assert!(keys.contains(&("P", "promote")), "{keys:?}");
    assert!(!keys.contains(&("p", "promote")), "{keys:?}");
    assert!(keys.contains(&("f", "filter")), "{keys:?}");
    assert!(keys.contains(&("⏎/d", "details")), "{keys:?}");
    // The filter line says its keys, and the remapped filter key opens it.
    press(&mut app, KeyCode::Char('f'));
    assert!(app.filter_editing);
}

#[test]
fn a_narrow_footer_keeps_help_and_quit_as_mapped() {
    let mut app = mapped("quit = \"Q\"\nhelp = \"F1\"\n");
    select(&mut app, "auth-service", "prod");
    for w in [60, 70, 80] {
        let screen = render(&app, w, 24);
        let footer = screen.lines().last().unwrap();
        assert!(
            footer.contains("F1 help") && footer.contains("Q quit"),
            "{w}: {footer}"
        );
    }
}

#[test]
fn quit_and_help_remapped() {
    let mut app = mapped("quit = \"Q\"\nhelp = \"F1\"\n");
    assert_eq!(press(&mut app, KeyCode::Char('q')), []);
    assert!(!app.quit);
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.popup, None);
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.popup, Some(Popup::Help));
    // The key that opened the help closes it.
    press(&mut app, KeyCode::F(1));
    assert_eq!(app.popup, None);
    assert_eq!(press(&mut app, KeyCode::Char('Q')), [Cmd::Quit]);
    // Ctrl-c quits whatever the map.
    let mut app = mapped("quit = \"Q\"\n");
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.update(Msg::Key(ctrl_c)), [Cmd::Quit]);
}

#[test]
fn the_dialogs_swapped_keys_and_esc_that_always_cancels() {
    let mut app = mapped("press = \"Tab\"\nnext_field = \"Enter\"\n");
    select(&mut app, "checkout-web", "staging");
    press(&mut app, KeyCode::Char('p'));
    // Tab presses the focused button: Cancel, where the dialog starts.
    assert_eq!(press(&mut app, KeyCode::Tab), []);
    assert_eq!(app.popup, None);
    assert!(app.flash.as_ref().unwrap().0.contains("cancelled"));
    // Enter moves to Go, Tab presses it.
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Enter);
    let cmds = press(&mut app, KeyCode::Tab);
    assert!(matches!(cmds.as_slice(), [Cmd::Submit(_)]), "{cmds:?}");

    let mut app = mapped("cancel = \"Left\"\nother_button = \"Right\"\n");
    select(&mut app, "checkout-web", "staging");
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.popup, None, "Esc cancels");
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Left);
    assert_eq!(app.popup, None, "Left cancels");
}

#[test]
fn pick_version_goes_up_with_its_first_key() {
    let to = |app: &App| match &app.popup {
        Some(Popup::Confirm(d)) => {
            let n = d.plan.choices.len();
            let at = d
                .plan
                .choices
                .iter()
                .position(|h| Some(&h.version) == d.plan.to_version.as_ref())
                .unwrap();
            (at, n)
        }
        other => panic!("{other:?}"),
    };
    let keys = mapped("pick_version = [\"Right\", \"Left\"]\nother_button = [\"Up\", \"Down\"]\n")
        .keys
        .clone();
    // Three good versions to go back to, so that up and down differ.
    let mut world = fixture::world();
    let mut cell = world.cell("inventory", "canary").unwrap().clone();
    let mut history = cell.history.to_vec();
    history.push(HistoryEntry {
        version: "0ld0ld0ld0".into(),
        state: CellState::Succeeded,
        at: Some(fixture::t(-200_000)),
        actor: Some("ci".into()),
    });
    cell.history = history.into();
    world.apply(SourceReport {
        source: "sim".into(),
        at: fixture::t(0),
        outcome: Ok(Batch {
            cells: vec![(CellKey::new("inventory", "canary"), cell)],
            ..Batch::default()
        }),
    });
    let mut app = Rig::new(fixture::setup(fixture::train(), world));
    app.keys = keys;
    select(&mut app, "inventory", "canary");
    press(&mut app, KeyCode::Char('r'));
    let (start, n) = to(&app);
    assert!(n > 2, "the fixture has {n} versions to roll back to");
    press(&mut app, KeyCode::Left);
    assert_eq!(
        to(&app).0,
        (start + 1) % n,
        "Left, the second key, goes down"
    );
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Right);
    assert_eq!(to(&app).0, (start + n - 1) % n, "Right, the first, goes up");
    // Down is no version key now: it is the other button.
    press(&mut app, KeyCode::Down);
    assert_eq!(to(&app).0, (start + n - 1) % n);
}

#[test]
fn main_screen_with_promote_on_p_shift() {
    let mut app = mapped("promote = \"P\"\n");
    select(&mut app, "checkout-web", "staging");
    let screen = render(&app, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("P promote"), "{footer}");
    assert!(!footer.contains("p promote"), "{footer}");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_with_promote_on_p_shift() {
    let mut app = mapped("promote = \"P\"\n");
    press(&mut app, KeyCode::Char('?'));
    let screen = render(&app, 100, 40);
    assert!(
        screen.contains("P      promote to the next stage"),
        "{screen}"
    );
    assert!(!screen.contains("p      promote"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_with_many_keys_remapped_at_80x24() {
    let mut app = mapped(
        "promote = \"P\"\ndown = [\"j\", \"Down\", \"Ctrl-n\"]\nquit = \"Q\"\n\
         press = \"Tab\"\nnext_field = \"Enter\"\napply = \"F2\"\nnext_panel = \"n\"\n\
         filter = \"f\"\n",
    );
    press(&mut app, KeyCode::Char('?'));
    let screen = render(&app, 80, 24);
    for shown in [
        "j/↓/Ctrl-n move down",
        "Q          quit",
        "P          promote",
        "n          next panel",
        "Tab press",
        "⏎ next field",
        "Details: ⏎ details · P promote",
    ] {
        assert!(screen.contains(shown), "{shown:?} missing:\n{screen}");
    }
    insta::assert_snapshot!(screen);
    // The filter's line is the next one down, with its key as mapped.
    press(&mut app, KeyCode::Char('j'));
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("Filter (f): F2 apply"),
        "the filter's keys missing:\n{screen}"
    );
}
