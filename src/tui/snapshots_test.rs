//! Snapshot tests of every screen and dialog (ratatui TestBackend + insta), without colour.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Msg};
use super::fixture;
use super::fixture::Rig;
use super::theme::Theme;
use super::ui;
use crate::engine::{Input, Setup};

fn render(app: &App, w: u16, h: u16) -> String {
    render_with(app, w, h, &Theme::PLAIN)
}

/// A buffer as text, the way the eye sees it: links (OSC 8 in the cells, `link`) as their
/// text.
fn visible(buf: &ratatui::buffer::Buffer) -> String {
    use ratatui::backend::Backend;
    let plain = super::link::unlinked(buf);
    let w = plain.area.width;
    let mut backend = TestBackend::new(w, plain.area.height);
    backend
        .draw(
            plain
                .content()
                .iter()
                .enumerate()
                .map(|(i, c)| ((i % usize::from(w)) as u16, (i / usize::from(w)) as u16, c)),
        )
        .unwrap();
    backend.to_string()
}

fn keys(app: &mut Rig, codes: &[KeyCode]) {
    for c in codes {
        app.update(Msg::Key(KeyEvent::new(*c, KeyModifiers::NONE)));
    }
}

use super::fixture::select;

/// `app` with `lane` at `stage` selected, after `codes`.
fn after(mut app: Rig, lane: &str, stage: &str, codes: &[KeyCode]) -> Rig {
    select(&mut app, lane, stage);
    keys(&mut app, codes);
    app
}

#[test]
fn main_screen_80x24() {
    let app = after(fixture::app(), "search-indexer", "canary", &[]);
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn main_screen_160x48() {
    let app = after(fixture::app(), "search-indexer", "canary", &[]);
    insta::assert_snapshot!(render(&app, 160, 48));
}

/// A source that may talk plain http:// off this host is said in the header, every frame.
#[test]
fn main_screen_insecure_http() {
    let app = Rig::new(Setup {
        insecure_http: vec!["deploy".into(), "legacy".into()],
        ..fixture::setup(fixture::train(), fixture::world())
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("INSECURE http: deploy, legacy"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn main_screen_readonly_filtered() {
    let mut app = fixture::readonly_app();
    keys(
        &mut app,
        &[
            KeyCode::Char('/'),
            KeyCode::Char('p'),
            KeyCode::Char('a'),
            KeyCode::Char('y'),
            KeyCode::Enter,
        ],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn details_popup() {
    let app = after(fixture::app(), "checkout-web", "build", &[KeyCode::Enter]);
    insta::assert_snapshot!(render(&app, 100, 40));
}

#[test]
fn details_popup_80x24() {
    let app = after(fixture::app(), "auth-service", "prod", &[KeyCode::Enter]);
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_pause() {
    let app = after(
        fixture::app(),
        "search-indexer",
        "canary",
        &[KeyCode::Char('s')],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_promote() {
    let app = after(
        fixture::app(),
        "checkout-web",
        "staging",
        &[KeyCode::Char('p')],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_blocked_promotion() {
    let app = after(
        fixture::app(),
        "payments-api",
        "canary",
        &[KeyCode::Char('p')],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_rollback_typed_name() {
    let app = after(
        fixture::app(),
        "inventory",
        "canary",
        &[
            KeyCode::Char('r'),
            KeyCode::Down,
            KeyCode::BackTab,
            KeyCode::Char('i'),
            KeyCode::Char('n'),
            KeyCode::Char('v'),
        ],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

/// Abort on an Argo CD canary waiting at a step: the footer offers `X abort`, and the dialog
/// says what stops and starts on Cancel.
#[test]
fn confirm_dialog_abort() {
    let mut app = after(fixture::argo_app(), "search-indexer", "canary", &[]);
    let footer = render(&app, 160, 24).lines().last().unwrap().to_string();
    assert!(footer.contains("X abort"), "{footer}");
    keys(&mut app, &[KeyCode::Char('X')]);
    insta::assert_snapshot!(render(&app, 80, 24));
}

/// Abort at the protected stage asks for the lane's name, as a rollback does.
#[test]
fn confirm_dialog_abort_at_prod_typed_name() {
    let app = after(fixture::argo_app(), "ledger", "prod", &[KeyCode::Char('X')]);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("ledger"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn help_overlay() {
    let mut app = fixture::app();
    keys(&mut app, &[KeyCode::Char('?')]);
    insta::assert_snapshot!(render(&app, 100, 40));
}

#[test]
fn tiny_terminal_does_not_panic() {
    let mut app = fixture::app();
    for (w, h) in [(1, 1), (10, 5), (40, 10), (80, 12), (200, 60)] {
        render(&app, w, h);
        keys(&mut app, &[KeyCode::Enter]);
        render(&app, w, h);
        keys(&mut app, &[KeyCode::Esc, KeyCode::Char('?')]);
        render(&app, w, h);
        keys(&mut app, &[KeyCode::Esc]);
    }
}

#[test]
fn many_lanes_scroll_to_the_selection() {
    let mut train = fixture::train();
    for i in 0..40 {
        train.lanes.push(crate::model::Lane {
            name: format!("svc-{i:02}"),
            team: "platform".into(),
            depends_on: vec![],
        });
    }
    let mut app = Rig::new(fixture::setup(train, fixture::world()));
    keys(&mut app, &[KeyCode::Char('G')]);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("▸svc-39"), "{screen}");
    // The lanes table's first row (a blocker may still name ledger below it).
    assert!(
        !screen.contains("┃ ledger "),
        "the top scrolled away:\n{screen}"
    );
    keys(&mut app, &[KeyCode::Char('g')]);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("▸ledger"), "{screen}");
    assert!(screen.contains("Lanes 48"), "{screen}");
}

#[test]
fn halt_banner() {
    let mut holds = crate::model::Holds {
        halt: Some(crate::model::LaneHold {
            reason: "incident 42: payments double-charging".into(),
            by: "alice@jump1".into(),
            at: fixture::t(-300),
        }),
        ..Default::default()
    };
    holds.lanes.insert(
        "inventory".into(),
        crate::model::LaneHold {
            reason: "db migration".into(),
            by: "bob".into(),
            at: fixture::t(-60),
        },
    );
    let app = Rig::new(Setup {
        holds,
        ..fixture::setup(fixture::train(), fixture::world())
    });
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_forcing_with_a_reason() {
    let mut app = after(
        fixture::app(),
        "payments-api",
        "canary",
        &[KeyCode::Char('p'), KeyCode::BackTab, KeyCode::BackTab],
    );
    for c in "ledger checked by hand".chars() {
        keys(&mut app, &[KeyCode::Char(c)]);
    }
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn confirm_dialog_halt() {
    let mut app = fixture::app();
    keys(&mut app, &[KeyCode::Char('H')]);
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn header_shows_an_api_budget() {
    let mut app = fixture::app();
    app.input(Input::Report(crate::model::SourceReport {
        source: "gh".into(),
        at: fixture::t(-1),
        outcome: Ok(crate::model::Batch {
            rate_limit: Some(crate::model::world::RateLimit {
                remaining: 4312,
                limit: 5000,
            }),
            request_rate: Some(crate::model::world::RequestRate {
                used: 212,
                per_minute: 600,
            }),
            ..Default::default()
        }),
    }));
    let screen = render(&app, 120, 24);
    assert!(
        screen.contains("gh 4312/5000 left, 212/600 a min"),
        "{screen}"
    );
}

#[test]
fn a_narrow_footer_keeps_help_and_quit() {
    let app = after(fixture::app(), "auth-service", "prod", &[]);
    for w in [60, 70, 80] {
        let screen = render(&app, w, 24);
        let footer = screen.lines().last().unwrap();
        assert!(
            footer.contains("? help") && footer.contains("q quit"),
            "{w}: {footer}"
        );
    }
}

fn render_with(app: &App, w: u16, h: u16, theme: &Theme) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app, theme)).unwrap();
    visible(terminal.backend().buffer())
}

/// The metrics view on search-indexer's degrading canary.
fn metrics_view() -> Rig {
    after(
        fixture::app(),
        "search-indexer",
        "canary",
        &[KeyCode::Char('m')],
    )
}

#[test]
fn metrics_view_80x24() {
    insta::assert_snapshot!(render(&metrics_view(), 80, 24));
}

#[test]
fn metrics_view_160x48() {
    insta::assert_snapshot!(render(&metrics_view(), 160, 48));
}

#[test]
fn metrics_view_overview_of_another_metric() {
    let mut app = metrics_view();
    keys(&mut app, &[KeyCode::Char(']')]);
    insta::assert_snapshot!(render(&app, 120, 36));
}

#[test]
fn metrics_view_dot_marks() {
    let theme = Theme::PLAIN.with_charts(super::theme::Charts::Dot);
    insta::assert_snapshot!(render_with(&metrics_view(), 100, 30, &theme));
}

#[test]
fn metrics_view_ascii_marks() {
    let theme = Theme::PLAIN.with_charts(super::theme::Charts::Ascii);
    let screen = render_with(&metrics_view(), 100, 30, &theme);
    insta::assert_snapshot!(screen);
}

/// `--charts ascii` leaves no braille, block or dotted-rule mark anywhere: the metrics view, the
/// narrow metrics panel with its sparklines, the overview.
#[test]
fn ascii_charts_draw_no_braille_or_block_marks_anywhere() {
    let theme = Theme::PLAIN.with_charts(super::theme::Charts::Ascii);
    let chart_mark = |c: char| {
        ('\u{2800}'..='\u{28FF}').contains(&c)
            || ('\u{2580}'..='\u{259F}').contains(&c)
            || matches!(c, '┈' | '•' | '≤' | '≥')
    };
    for (w, h) in [(80, 24), (100, 30), (120, 40), (160, 48)] {
        for app in [
            metrics_view(),
            after(fixture::app(), "search-indexer", "canary", &[]),
        ] {
            let screen = render_with(&app, w, h, &theme);
            let found: Vec<char> = screen.chars().filter(|c| chart_mark(*c)).collect();
            assert!(found.is_empty(), "{w}x{h}: {found:?}\n{screen}");
        }
    }
}

#[test]
fn metrics_panel_with_charts() {
    let app = after(fixture::app(), "search-indexer", "canary", &[]);
    insta::assert_snapshot!(render(&app, 120, 60));
}

#[test]
fn the_overview_says_when_a_hidden_lane_breaches() {
    let mut app = after(fixture::app(), "ledger", "canary", &[KeyCode::Char('m')]);
    let screen = render(&app, 80, 20);
    assert!(
        screen.contains("+5 more (↑↓) · 1 ✗ BREACH among them"),
        "{screen}"
    );
    assert!(!screen.contains("search-indexer"), "{screen}");
    // Moving down brings it into sight, marked in glyph and word.
    keys(&mut app, &[KeyCode::Char('j'); 4]);
    let screen = render(&app, 80, 20);
    let row = screen
        .lines()
        .find(|l| l.contains("▸search-indexer"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("1.36% ✗ BREACH"), "{row}");
    assert!(!screen.contains("among them"), "{screen}");
}

#[test]
fn the_metrics_view_fits_any_terminal() {
    let mut app = metrics_view();
    for (w, h) in [(1, 1), (10, 5), (40, 10), (60, 16), (80, 12), (200, 60)] {
        for charts in [
            super::theme::Charts::Braille,
            super::theme::Charts::Dot,
            super::theme::Charts::Ascii,
        ] {
            render_with(&app, w, h, &Theme::PLAIN.with_charts(charts));
        }
        // A stage without metrics, and no lane at all after a filter.
        keys(&mut app, &[KeyCode::Char('h')]);
        let screen = render(&app, w, h);
        if w >= 80 && h >= 12 {
            assert!(
                screen.contains("no metrics for search-indexer at staging"),
                "{screen}"
            );
        }
        keys(&mut app, &[KeyCode::Char('l')]);
    }
    app.set_filter("nothing matches");
    let screen = render(&app, 80, 24);
    assert!(screen.contains("no lane selected"), "{screen}");
}

#[test]
fn rollback_stays_in_a_narrow_footer_of_the_metrics_view() {
    // A settled cell: "s hold lane" makes the footer long; details gives way, not rollback.
    let app = after(
        fixture::app(),
        "payments-api",
        "canary",
        &[KeyCode::Char('m')],
    );
    let screen = render(&app, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(
        footer.contains("r rollback") && footer.contains("m back") && footer.contains("q quit"),
        "{footer}"
    );
    assert!(!footer.contains("details"), "{footer}");
}

// ---------------------------------------------------------------- hostile data

fn render_buffer(app: &App, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app, &Theme::PLAIN)).unwrap();
    terminal.backend().buffer().clone()
}

/// The lanes matrix keeps its columns whatever the script of names and versions: every
/// row has its state glyph exactly under the stage's heading, after a blank.
fn assert_columns_hold(buf: &ratatui::buffer::Buffer) {
    use ratatui::buffer::CellWidth;
    let row_text = |y: u16| -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    };
    let header_y = (0..buf.area.height)
        .find(|&y| row_text(y).contains(" LANE"))
        .expect("the lanes header");
    let starts: Vec<u16> = ["BUILD", "STAGING", "CANARY", "PROD"]
        .iter()
        .map(|h| {
            (0..buf.area.width - 1)
                .find(|&x| {
                    h.chars()
                        .enumerate()
                        .all(|(i, c)| buf[(x + i as u16, header_y)].symbol() == c.to_string())
                })
                .unwrap_or_else(|| panic!("{h} in the header"))
        })
        .collect();
    let glyphs = ["○", "▶", "!", "✓", "✗", "‖", "↺", "↩", "⊘", "?", "·"];
    let mut rows = 0;
    for y in header_y + 1..buf.area.height {
        let text = row_text(y);
        if !(text.starts_with('┃') || text.starts_with('│')) || text.contains('━') {
            break;
        }
        rows += 1;
        for (i, &x) in starts.iter().enumerate() {
            // The cell keeps its state word: the version gave way, not the state.
            let end = starts.get(i + 1).copied().unwrap_or(buf.area.width - 1);
            let cell: String = (x..end).map(|x| buf[(x, y)].symbol()).collect();
            let word = cell.split_whitespace().last().unwrap_or("");
            assert!(
                [
                    "wait", "run", "appr", "ok", "FAIL", "pause", "rb..", "rbkd", "cncl", "?"
                ]
                .contains(&word)
                    || word.ends_with('%')
                    || word.starts_with('▰')
                    || word.starts_with('▱'),
                "row {y}: the state word is gone from {cell:?}"
            );
            let sym = buf[(x, y)].symbol();
            assert!(
                glyphs.contains(&sym),
                "row {y}: {sym:?} at column {x}, not a state glyph:\n{text}"
            );
            assert_eq!(buf[(x - 1, y)].symbol(), " ", "row {y}: no gap before {x}");
            assert!(
                buf[(x - 2, y)].symbol().cell_width() <= 1,
                "row {y}: a wide character runs into column {x}"
            );
        }
    }
    assert!(rows >= 4, "{rows} lane rows");
}

/// Nothing from the payloads that steers a terminal is in the screen's cells.
fn assert_screen_inert(buf: &ratatui::buffer::Buffer) {
    for c in buf.content() {
        for ch in c.symbol().chars() {
            assert!(
                !ch.is_control()
                    && !crate::model::text::is_bidi_control(ch)
                    && !crate::model::text::is_invisible(ch),
                "{ch:?} on screen"
            );
        }
    }
}

#[test]
fn hostile_main_screen_keeps_its_columns() {
    let app = after(fixture::hostile::app(), "🚀-launcher", "prod", &[]);
    for (w, h) in [(80, 24), (120, 30), (160, 40)] {
        let buf = render_buffer(&app, w, h);
        assert_columns_hold(&buf);
        assert_screen_inert(&buf);
    }
    insta::assert_snapshot!(render(&app, 120, 30));
}

#[test]
fn hostile_main_screen_80x24() {
    let app = after(fixture::hostile::app(), "支払い-api", "build", &[]);
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn hostile_details_popup() {
    let app = after(
        fixture::hostile::app(),
        "支払い-api",
        "build",
        &[KeyCode::Enter],
    );
    let buf = render_buffer(&app, 100, 40);
    assert_screen_inert(&buf);
    let screen = render(&app, 100, 40);
    // The attacks reached the screen, made visible.
    assert!(screen.contains('␛') && screen.contains('�'), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn hostile_approval_details() {
    let app = after(
        fixture::hostile::app(),
        "🚀-launcher",
        "prod",
        &[KeyCode::Enter],
    );
    insta::assert_snapshot!(render(&app, 100, 40));
}

#[test]
fn hostile_rollback_dialog() {
    let app = after(
        fixture::hostile::app(),
        "ledger",
        "prod",
        &[KeyCode::Char('r')],
    );
    insta::assert_snapshot!(render(&app, 80, 24));
}

#[test]
fn hostile_metrics_view() {
    let app = after(
        fixture::hostile::app(),
        "ledger",
        "canary",
        &[KeyCode::Char('m')],
    );
    let buf = render_buffer(&app, 100, 30);
    assert_screen_inert(&buf);
    insta::assert_snapshot!(render(&app, 100, 30));
}

#[test]
fn hostile_data_fits_any_terminal() {
    let mut app = fixture::hostile::app();
    for (w, h) in [(1, 1), (10, 5), (40, 10), (60, 16), (80, 12), (200, 60)] {
        for k in [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Char('m'),
            KeyCode::Esc,
            KeyCode::Char('j'),
        ] {
            render_buffer(&app, w, h);
            keys(&mut app, &[k]);
        }
    }
}

/// At 80×24 the help scrolls to its last line, and no entry wraps into the other column.
#[test]
fn help_at_80x24_scrolls_to_its_end_without_wrapping() {
    let mut app = fixture::app();
    keys(&mut app, &[KeyCode::Char('?')]);
    let top = render(&app, 80, 24);
    assert!(!top.contains("\"│┃reason)"), "an entry wrapped:\n{top}");
    for _ in 0..40 {
        keys(&mut app, &[KeyCode::Down]);
    }
    let end = render(&app, 80, 24);
    // The last line in sight, and the title says the end: "Help 33/33".
    assert!(end.contains("audit log"), "{end}");
    let title = end.lines().next().unwrap();
    let pos = title
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let (at, of) = pos.split_once('/').unwrap();
    assert_eq!(at, of, "{title}");
}

/// The team on the store: who else is here and what they do; `team` with them.
fn team(problem: Option<&str>) -> crate::store::Team {
    use crate::store::claims::Claim;
    use crate::store::presence::Peer;
    let peer = |actor: &str| Peer {
        id: format!("{actor}-1"),
        actor: actor.into(),
        origin: "ssh from 10.0.0.2".into(),
        since: fixture::t(-600),
        poller: false,
    };
    crate::store::Team {
        shared: Some("postgres://trainyard@db.example.com:5432/trainyard".into()),
        problem: problem.map(String::from),
        polling: false,
        peers: vec![
            peer("alice@jump-1"),
            crate::store::presence::Peer {
                poller: true,
                ..peer("carol@jump-3")
            },
        ],
        claims: vec![Claim {
            key: crate::model::CellKey::new("search-indexer", "canary"),
            audit_id: "1".into(),
            action: "pause".into(),
            actor: "alice@jump-1".into(),
            origin: "ssh from 10.0.0.2".into(),
            since: fixture::t(-20),
        }],
    }
}

fn with_team(team: crate::store::Team) -> Rig {
    let mut app = fixture::app();
    app.input(Input::Ledger(crate::engine::Ledger {
        team: std::sync::Arc::new(team),
        ..Default::default()
    }));
    app
}

/// Who else has the train open, and who is acting, in the header: in full where it fits,
/// counted where it does not.
#[test]
fn header_with_the_team() {
    let app = with_team(team(None));
    let wide = render(&app, 200, 30);
    assert!(
        wide.contains(
            "team: you, alice@jump-1 is pausing search-indexer at canary, 20s, carol@jump-3 (polling)"
        ),
        "{wide}"
    );
    let narrow = render(&app, 120, 24);
    assert!(narrow.contains("team: you + 2, 1 acting"), "{narrow}");
    insta::assert_snapshot!(narrow);
}

/// The team's store can't be reached: a banner says so on every frame, and an action key
/// says why it won't open a dialog.
#[test]
fn store_unreachable_banner() {
    let why = "the store postgres://trainyard@db.example.com:5432/trainyard is unreachable: connection refused";
    let mut app = with_team(team(Some(why)));
    let screen = render(&app, 100, 24);
    assert!(screen.contains("TEAM STORE UNREACHABLE"), "{screen}");
    insta::assert_snapshot!(screen);
    app = after(app, "payments-api", "canary", &[]);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('p'),
        KeyModifiers::NONE,
    )));
    assert!(app.popup.is_none());
    let flash = &app.flash.as_ref().unwrap().0;
    assert!(
        flash.contains("refused") && flash.contains("connection refused"),
        "{flash}"
    );
}
