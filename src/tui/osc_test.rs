//! The terminal's side channels as the screen uses them: OSC 8 links in the details and the
//! activity (the cells carry them; the eye sees what it saw without), and OSC 52 copies of a
//! cell's version, its URL and a dialog's command line.

use base64::Engine as _;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use super::app::{App, Cmd, Msg, Popup};
use super::fixture::{self, Rig, select, sha, t};
use super::link::{found, unlinked};
use super::theme::Theme;
use super::ui;
use crate::engine::Input;
use crate::model::{Batch, Cell, CellKey, CellState, SourceReport};

/// The frame's buffer (what ratatui diffs), and the terminal's (what the diff drew).
fn draw(app: &App, w: u16, h: u16) -> (Buffer, Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let frame = terminal
        .draw(|f| ui::draw(f, app, &Theme::PLAIN))
        .unwrap()
        .buffer
        .clone();
    (frame, terminal.backend().buffer().clone())
}

/// The texts linked to `url`, piece after piece in reading order, joined per row.
fn linked(buf: &Buffer, url: &str) -> Vec<String> {
    let mut rows: Vec<(u16, String)> = Vec::new();
    for (_, y, u, text) in found(buf) {
        if u != url {
            continue;
        }
        match rows.last_mut() {
            Some((row, s)) if *row == y => s.push_str(&text),
            _ => rows.push((y, text)),
        }
    }
    rows.into_iter().map(|(_, s)| s).collect()
}

fn has_escape(buf: &Buffer) -> bool {
    buf.content().iter().any(|c| c.symbol().contains('\u{1b}'))
}

/// With links on, the cells carry them; with links off, none; either way the eye (and the
/// terminal, drawn from the diff) sees the same screen.
fn on_and_off(app: &mut Rig, w: u16, h: u16) -> Buffer {
    app.links = false;
    let (off, _) = draw(app, w, h);
    assert!(!has_escape(&off), "links off, yet a sequence in the cells");
    app.links = true;
    let (on, terminal) = draw(app, w, h);
    assert!(has_escape(&on), "links on, and no link");
    assert_eq!(unlinked(&on), off, "the links changed what the eye sees");
    assert_eq!(
        unlinked(&terminal),
        off,
        "the terminal shows something else"
    );
    on
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// One report of source `sim` with these cells.
fn report(app: &mut Rig, cells: Vec<(&str, &str, Cell)>) {
    let batch = Batch {
        cells: cells
            .into_iter()
            .map(|(l, s, c)| (CellKey::new(l, s), c))
            .collect(),
        ..Batch::default()
    };
    let at = app.now + chrono::TimeDelta::seconds(1);
    app.input(Input::Report(SourceReport {
        source: "sim".into(),
        at,
        outcome: Ok(batch),
    }));
}

#[test]
fn details_link_the_run_the_checks_and_the_commit() {
    let mut app = fixture::app();
    select(&mut app, "checkout-web", "build");
    app.update(key(KeyCode::Enter));
    let on = on_and_off(&mut app, 100, 40);
    let run = "http://127.0.0.1:7878/runs/20";
    assert_eq!(linked(&on, run), [run]);
    assert_eq!(
        linked(&on, "https://ci.example/checks/integration-tests"),
        ["integration-tests"]
    );
    assert_eq!(
        linked(&on, "https://ci.example/checks/unit-tests"),
        ["unit-tests"]
    );
    let commit = format!("https://github.com/acme/checkout-web/commit/{}", sha(20));
    assert_eq!(linked(&on, &commit), [sha(20)]);
    // Nothing else is a link: the history's short versions, the blockers, the message.
    let urls: std::collections::BTreeSet<String> =
        found(&on).into_iter().map(|(_, _, u, _)| u).collect();
    assert_eq!(urls.len(), 4, "{urls:?}");
}

#[test]
fn a_long_url_is_cut_into_rows_each_linked() {
    let mut app = fixture::app();
    let url = format!(
        "https://github.com/acme/search-indexer/actions/runs/{}/job/{}?pr=1",
        "9".repeat(40),
        "7".repeat(40)
    );
    let mut c = app
        .snap
        .world
        .cell("search-indexer", "prod")
        .unwrap()
        .clone();
    c.url = Some(url.clone());
    report(&mut app, vec![("search-indexer", "prod", c)]);
    select(&mut app, "search-indexer", "prod");
    app.update(key(KeyCode::Enter));
    let on = on_and_off(&mut app, 80, 40);
    let rows = linked(&on, &url);
    assert!(rows.len() >= 2, "{rows:?}");
    assert_eq!(rows.concat(), url);
    // The pieces stand under each other, in the value column.
    let text = format!("{}", TestBackendView(&unlinked(&on)));
    assert!(text.contains(&format!("url       {}", rows[0])), "{text}");
    assert!(text.contains(&format!("          {}", rows[1])), "{text}");
}

#[test]
fn hostile_urls_never_become_links() {
    let mut app = fixture::hostile::app();
    for (lane, stage) in [
        ("支払い-api", "build"),
        ("ledger", "canary"),
        ("🚀-launcher", "prod"),
    ] {
        select(&mut app, lane, stage);
        app.update(key(KeyCode::Enter));
        let (on, _) = draw(&app, 120, 40);
        assert!(!has_escape(&on), "{lane} {stage}: {:?}", found(&on));
        app.update(key(KeyCode::Esc));
    }
    let (main, _) = draw(&app, 160, 48);
    assert!(!has_escape(&main), "{:?}", found(&main));
}

#[test]
fn the_activity_links_the_run_of_a_change() {
    let mut app = fixture::app();
    let url = "https://github.com/acme/pricing-engine/actions/runs/4242";
    let mut c = app
        .snap
        .world
        .cell("pricing-engine", "build")
        .unwrap()
        .clone();
    c.state = CellState::Running;
    c.url = Some(url.into());
    c.updated_at = Some(t(5));
    // The source's first report after the start says nothing; its next one changes a cell.
    report(&mut app, vec![]);
    report(&mut app, vec![("pricing-engine", "build", c)]);
    let entry = app.activity.front().unwrap().clone();
    assert!(entry.text.starts_with("pricing-engine build:"), "{entry:?}");
    assert_eq!(entry.url.as_deref(), Some(url));
    let on = on_and_off(&mut app, 160, 48);
    let rows = linked(&on, url);
    assert_eq!(rows.len(), 1, "{rows:?}");
    // The line's text as the panel shows it (cut with … where narrow), linked whole.
    assert!(
        entry.text.starts_with(rows[0].trim_end_matches('…')),
        "{rows:?}"
    );
    assert!(rows[0].starts_with("pricing-engine build:"), "{rows:?}");
}

/// A buffer as TestBackend shows one.
struct TestBackendView<'a>(&'a Buffer);

impl std::fmt::Display for TestBackendView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = usize::from(self.0.area.width);
        for row in self.0.content().chunks(w) {
            let line: String = row.iter().map(|c| c.symbol()).collect();
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

// ---- copy ----

/// What an OSC 52 sequence puts on the clipboard (read back without `osc::copy`).
fn clipboard(cmds: &[Cmd]) -> String {
    let [Cmd::Terminal(seq)] = cmds else {
        panic!("not one write to the terminal: {cmds:?}")
    };
    let b64 = seq
        .strip_prefix("\u{1b}]52;c;")
        .and_then(|s| s.strip_suffix("\u{1b}\\"))
        .unwrap_or_else(|| panic!("not an OSC 52 copy: {seq:?}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn flash(app: &App) -> String {
    app.flash.as_ref().map(|f| f.0.clone()).unwrap_or_default()
}

#[test]
fn y_copies_the_full_version_and_says_so() {
    let mut app = fixture::app();
    select(&mut app, "search-indexer", "canary");
    let cmds = app.update(key(KeyCode::Char('y')));
    assert_eq!(clipboard(&cmds), sha(40));
    assert_eq!(
        flash(&app),
        format!("copied {} (version of search-indexer @ canary)", sha(40))
    );
    // From the details too; they stay open.
    select(&mut app, "ledger", "prod");
    app.update(key(KeyCode::Enter));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert_eq!(clipboard(&cmds), sha(2));
    assert_eq!(app.popup, Some(Popup::Details));
}

#[test]
fn shift_y_copies_the_url_or_says_there_is_none() {
    let mut app = fixture::app();
    select(&mut app, "checkout-web", "build");
    let cmds = app.update(key(KeyCode::Char('Y')));
    assert_eq!(clipboard(&cmds), "http://127.0.0.1:7878/runs/20");
    assert_eq!(
        flash(&app),
        "copied http://127.0.0.1:7878/runs/20 (URL of checkout-web @ build)"
    );
    // No run or deployment URL: the commit's page; nothing at all: says so, copies nothing.
    let mut c = app
        .snap
        .world
        .cell("checkout-web", "build")
        .unwrap()
        .clone();
    c.url = None;
    let mut bare = c.clone();
    bare.commit_url = None;
    report(
        &mut app,
        vec![("checkout-web", "build", c), ("ledger", "build", bare)],
    );
    let cmds = app.update(key(KeyCode::Char('Y')));
    let commit = format!("https://github.com/acme/checkout-web/commit/{}", sha(20));
    assert_eq!(clipboard(&cmds), commit);
    assert!(
        flash(&app).ends_with("(commit of checkout-web @ build)"),
        "{}",
        flash(&app)
    );
    select(&mut app, "ledger", "build");
    let cmds = app.update(key(KeyCode::Char('Y')));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(flash(&app), "no URL for this cell (ledger @ build)");
}

#[test]
fn y_in_a_dialog_copies_its_command_line_and_never_confirms() {
    let mut app = fixture::app();
    // A rollback: destructive, Cancel the default, the lane's name to type.
    select(&mut app, "ledger", "prod");
    app.update(key(KeyCode::Char('r')));
    let Some(Popup::Confirm(d)) = &app.popup else {
        panic!("no dialog")
    };
    assert_eq!(d.focus, super::confirm::Field::Cancel);
    let line = d.final_action().command_line();
    assert!(
        line.starts_with("trainyard rollback ledger --stage prod"),
        "{line}"
    );
    let cmds = app.update(key(KeyCode::Char('y')));
    assert_eq!(clipboard(&cmds), line);
    assert_eq!(flash(&app), format!("copied the command line: {line}"));
    // The dialog is still there, on Cancel, nothing sent; Enter cancels.
    let Some(Popup::Confirm(d)) = &app.popup else {
        panic!("y closed the dialog")
    };
    assert_eq!(d.focus, super::confirm::Field::Cancel);
    assert!(app.sent.is_empty());
    // In a field, y is a letter: typed, not copied (Tab: Go, then the reason).
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    for c in "yes".chars() {
        assert!(app.update(key(KeyCode::Char(c))).is_empty());
    }
    let Some(Popup::Confirm(d)) = &app.popup else {
        panic!("typing closed the dialog")
    };
    assert_eq!(d.reason, "yes");
    // Back on a button (Go), the copy has the reason typed so far, and sends nothing.
    app.update(key(KeyCode::BackTab));
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(clipboard(&cmds).ends_with("--reason \"yes\""), "{cmds:?}");
    let Some(Popup::Confirm(d)) = &app.popup else {
        panic!("y closed the dialog")
    };
    assert_eq!(d.focus, super::confirm::Field::Go);
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert!(app.popup.is_none());
    assert!(app.sent.is_empty(), "y sent something: {:?}", app.sent);
}
