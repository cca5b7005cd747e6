//! The themes and the protected stages, on the screen: snapshots with their styles (a compact
//! dump of the buffer's colours and attributes), and the rules each theme keeps.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use super::app::{App, Msg};
use super::fixture::{self, Rig, select};
use super::palette::Palette;
use super::theme::Theme;
use super::ui;
use crate::config::UiConfig;
use crate::config::ui::{self as config_ui, Colors, ThemeName};

fn theme(name: ThemeName) -> Theme {
    let ui = UiConfig {
        theme: name,
        ..UiConfig::default()
    };
    Theme::new(&ui, None, false)
}

fn buffer(app: &App, w: u16, h: u16, theme: &Theme) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app, theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row_text(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

fn keys(app: &mut Rig, codes: &[KeyCode]) {
    for c in codes {
        app.update(Msg::Key(KeyEvent::new(*c, KeyModifiers::NONE)));
    }
}

fn at(lane: &str, stage: &str, codes: &[KeyCode]) -> Rig {
    let mut app = fixture::app();
    select(&mut app, lane, stage);
    keys(&mut app, codes);
    app
}

/// A style in a few letters: its colours (`green`, `c28` for the 256-colour palette,
/// `#rrggbb`, `on:red` for a background) and attributes (`b`old, `d`im, `r`everse,
/// `u`nderline, `x` crossed out, `i`talic).
fn style_spec(s: Style) -> String {
    let color = |c: Color| match c {
        Color::Indexed(i) => format!("c{i}"),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        other => format!("{other:?}").to_lowercase(),
    };
    let mut parts = Vec::new();
    if let Some(fg) = s.fg.filter(|c| *c != Color::Reset) {
        parts.push(color(fg));
    }
    if let Some(bg) = s.bg.filter(|c| *c != Color::Reset) {
        parts.push(format!("on:{}", color(bg)));
    }
    let mods: String = [
        (Modifier::BOLD, 'b'),
        (Modifier::DIM, 'd'),
        (Modifier::REVERSED, 'r'),
        (Modifier::UNDERLINED, 'u'),
        (Modifier::CROSSED_OUT, 'x'),
        (Modifier::ITALIC, 'i'),
    ]
    .iter()
    .filter(|(m, _)| s.add_modifier.contains(*m))
    .map(|(_, c)| *c)
    .collect();
    if !mods.is_empty() {
        parts.push(mods);
    }
    parts.join(" ")
}

/// Rows `rows` of the buffer with their styles: each run of one style that is not the
/// default is written `[spec|text]`; trailing blanks go.
fn styled_rows(buf: &Buffer, rows: std::ops::Range<u16>) -> String {
    let mut out = Vec::new();
    for y in rows {
        let mut line = String::new();
        let mut run = String::new();
        let mut spec = String::new();
        let flush = |line: &mut String, run: &mut String, spec: &str| {
            if spec.is_empty() {
                line.push_str(run);
            } else {
                line.push_str(&format!("[{spec}|{run}]"));
            }
            run.clear();
        };
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let s = style_spec(cell.style());
            if s != spec {
                flush(&mut line, &mut run, &spec);
                spec = s;
            }
            run.push_str(cell.symbol());
        }
        flush(&mut line, &mut run, &spec);
        out.push(format!("{y:02} {}", line.trim_end()));
    }
    out.join("\n")
}

/// Every colour used in the buffer, as foreground or background.
fn colours(buf: &Buffer) -> Vec<Color> {
    let mut v: Vec<Color> = buf
        .content()
        .iter()
        .flat_map(|c| [c.fg, c.bg])
        .filter(|c| *c != Color::Reset)
        .collect();
    v.sort_by_key(|c| format!("{c:?}"));
    v.dedup();
    v
}

// ---------------------------------------------------------------- themes

/// The header and the lanes of the main screen in the light palette: the 256-colour
/// palette's dark shades, text that matters less in grey rather than faint.
#[test]
fn main_screen_light() {
    let app = at("search-indexer", "canary", &[]);
    let buf = buffer(&app, 80, 24, &theme(ThemeName::Light));
    insta::assert_snapshot!(styled_rows(&buf, 0..20));
}

/// The same in mono: no colour at all, only bold, reverse, underline and faint.
#[test]
fn main_screen_mono() {
    let app = at("search-indexer", "canary", &[]);
    let buf = buffer(&app, 80, 24, &theme(ThemeName::Mono));
    assert_eq!(colours(&buf), vec![], "mono draws no colour");
    insta::assert_snapshot!(styled_rows(&buf, 0..20));
}

/// The dark palette is the terminal's own 16 colours, as before themes; protected stages in
/// light magenta.
#[test]
fn main_screen_dark_uses_the_terminals_colours() {
    let app = at("search-indexer", "canary", &[]);
    let buf = buffer(&app, 80, 24, &theme(ThemeName::Dark));
    for c in colours(&buf) {
        assert!(
            !matches!(c, Color::Indexed(_) | Color::Rgb(..)),
            "{c:?} is not one of the 16"
        );
    }
    let heading = (0..80)
        .find(|&x| buf[(x, 3)].symbol() == "◆")
        .expect("the mark in the lanes heading");
    assert_eq!(buf[(heading, 3)].fg, Color::LightMagenta);
    assert!(buf[(heading, 3)].modifier.contains(Modifier::BOLD));
}

/// On a white background nothing is yellow or light grey, and nothing faint: whatever the
/// screen shows (main screen, details, the metrics view, a dialog, the help).
#[test]
fn the_light_theme_never_draws_what_vanishes_on_white() {
    let light = theme(ThemeName::Light);
    let screens = [
        at("search-indexer", "canary", &[]),
        at("auth-service", "prod", &[KeyCode::Enter]),
        at("search-indexer", "canary", &[KeyCode::Char('m')]),
        at("payments-api", "canary", &[KeyCode::Char('p')]),
        at("ledger", "build", &[KeyCode::Char('?')]),
    ];
    for app in &screens {
        for (w, h) in [(80, 24), (160, 48)] {
            let buf = buffer(app, w, h, &light);
            for c in colours(&buf) {
                assert!(
                    !matches!(
                        c,
                        Color::Yellow | Color::LightYellow | Color::Gray | Color::White
                    ) || buf.content().iter().all(|cell| cell.fg != c),
                    "{c:?} as a foreground on white:\n{}",
                    text(&buf)
                );
            }
            let faint = buf
                .content()
                .iter()
                .filter(|c| c.modifier.contains(Modifier::DIM))
                .count();
            assert_eq!(faint, 0, "faint text on white:\n{}", text(&buf));
        }
    }
}

#[test]
fn no_color_forces_mono_whatever_the_config_and_the_command_line_say() {
    let ui = UiConfig {
        theme: ThemeName::Light,
        colors: Colors {
            bad: Some(config_ui::Color::Rgb(0xff, 0x5f, 0x5f)),
            ..Colors::default()
        },
        ..UiConfig::default()
    };
    assert_eq!(Theme::new(&ui, None, true).palette, None);
    assert_eq!(Theme::new(&ui, Some(ThemeName::Dark), true).palette, None);
    // Without NO_COLOR: the command line wins over the config.
    assert_eq!(
        Theme::new(&ui, Some(ThemeName::Dark), false).palette,
        Palette::of(ThemeName::Dark, &ui.colors)
    );
    assert_eq!(
        Theme::new(&ui, None, false).palette.map(|p| p.bad),
        Some(Color::Rgb(0xff, 0x5f, 0x5f))
    );
    assert_eq!(
        Theme::new(&UiConfig::default(), None, false).palette,
        Some(Palette::DARK)
    );
}

/// A colour of `[ui.colors]` is the one drawn for its role.
#[test]
fn an_overridden_colour_is_drawn() {
    let ui = UiConfig {
        colors: Colors {
            ok: Some(config_ui::Color::Rgb(0x12, 0x34, 0x56)),
            protected: Some(config_ui::Color::Indexed(208)),
            ..Colors::default()
        },
        ..UiConfig::default()
    };
    let app = at("search-indexer", "canary", &[]);
    let buf = buffer(&app, 80, 24, &Theme::new(&ui, None, false));
    let found = colours(&buf);
    assert!(found.contains(&Color::Rgb(0x12, 0x34, 0x56)), "{found:?}");
    assert!(found.contains(&Color::Indexed(208)), "{found:?}");
    assert!(!found.contains(&Color::Green), "{found:?}");
    assert!(!found.contains(&Color::LightMagenta), "{found:?}");
}

// ---------------------------------------------------------------- protected stages

/// Without colour, prod still stands out: the mark after its name in the header, the lanes'
/// heading, the blockers that name it, the details, the metrics view and the dialogs.
#[test]
fn a_protected_stage_is_marked_everywhere_without_colour() {
    let plain = Theme::PLAIN;
    let main = text(&buffer(&at("auth-service", "prod", &[]), 80, 24, &plain));
    assert!(main.contains("build›staging›canary›prod ◆"), "{main}");
    assert!(main.contains(" PROD ◆ "), "{main}");
    // The blockers panel names a stage in its words: "needs ledger at prod ◆".
    assert!(main.contains("at prod ◆"), "{main}");
    assert!(
        !main.contains("CANARY ◆") && !main.contains("canary ◆"),
        "{main}"
    );

    let details = text(&buffer(
        &at("auth-service", "prod", &[KeyCode::Enter]),
        80,
        24,
        &plain,
    ));
    assert!(details.contains("auth-service @ prod ◆"), "{details}");
    assert!(
        details.contains("protected ◆ every action here asks for the lane's name"),
        "{details}"
    );
    assert!(details.contains("blocking prod ◆"), "{details}");
    let next = text(&buffer(
        &at("auth-service", "canary", &[KeyCode::Enter]),
        100,
        40,
        &plain,
    ));
    assert!(next.contains("next: promote 8a8042b to prod ◆"), "{next}");
    assert!(!next.contains("protected ◆"), "{next}");

    let metrics = text(&buffer(
        &at("payments-api", "prod", &[KeyCode::Char('m')]),
        100,
        30,
        &plain,
    ));
    assert!(metrics.contains("· payments-api @ prod ◆"), "{metrics}");
    assert!(metrics.contains("no metrics at prod ◆"), "{metrics}");

    // A rollback, and a pause of ledger's rollout there.
    for (lane, key) in [("checkout-web", 'r'), ("ledger", 's')] {
        let dialog = text(&buffer(
            &at(lane, "prod", &[KeyCode::Char(key)]),
            80,
            24,
            &plain,
        ));
        assert!(dialog.contains("┃◆ prod is a protected stage"), "{dialog}");
        assert!(dialog.contains("Type the lane's name"), "{dialog}");
    }
    let canary = text(&buffer(
        &at("checkout-web", "canary", &[KeyCode::Char('r')]),
        80,
        24,
        &plain,
    ));
    assert!(!canary.contains("protected stage"), "{canary}");
}

/// The dialog of a rollback at prod says first, in words, that prod is protected.
#[test]
fn confirm_dialog_rollback_at_a_protected_stage() {
    let app = at("checkout-web", "prod", &[KeyCode::Char('r')]);
    insta::assert_snapshot!(text(&buffer(&app, 80, 24, &Theme::PLAIN)));
}

/// The same dialog's first line in colour: the protected style.
#[test]
fn the_protected_line_of_a_dialog_has_the_protected_style() {
    let app = at("checkout-web", "prod", &[KeyCode::Char('r')]);
    let buf = buffer(&app, 80, 24, &theme(ThemeName::Light));
    let y = (0..24)
        .find(|&y| row_text(&buf, y).contains("◆ prod is a protected stage"))
        .expect("the protected line");
    let x = (0..80).find(|&x| buf[(x, y)].symbol() == "◆").unwrap();
    assert_eq!(buf[(x, y)].fg, Palette::LIGHT.protected);
}

/// `[train] protected` decides, not the stage's place: a train protecting canary marks canary
/// and not prod, and its canary dialog asks for the name while prod's does not.
#[test]
fn the_config_decides_which_stages_are_protected() {
    let mut train = fixture::train();
    train.protected = ["canary".to_string()].into();
    let mut app = Rig::new(fixture::setup(train, fixture::world()));
    select(&mut app, "payments-api", "canary");
    let main = text(&buffer(&app, 80, 24, &Theme::PLAIN));
    assert!(
        main.contains(" CANARY ◆ ") && !main.contains("PROD ◆"),
        "{main}"
    );
    keys(&mut app, &[KeyCode::Char('p')]);
    let prod = text(&buffer(&app, 80, 24, &Theme::PLAIN));
    assert!(!prod.contains("protected stage"), "{prod}");
    assert!(!prod.contains("Type the lane's name"), "{prod}");
    keys(&mut app, &[KeyCode::Esc]);
    select(&mut app, "checkout-web", "staging");
    keys(&mut app, &[KeyCode::Char('p')]);
    let canary = text(&buffer(&app, 80, 24, &Theme::PLAIN));
    assert!(canary.contains("◆ canary is a protected stage"), "{canary}");
    assert!(
        canary.contains("Type the lane's name (checkout-web)"),
        "{canary}"
    );
}

/// At 80 columns the grid keeps four stages and the mark; a long protected name gives way
/// before its mark does.
#[test]
fn the_mark_fits_at_80_columns_and_a_long_name_gives_way_first() {
    let mut train = fixture::train();
    let long = "production-eu-west";
    train.stages[3] = long.into();
    train.protected = [long.to_string()].into();
    let app = Rig::new(fixture::setup(train, fixture::world()));
    let buf = buffer(&app, 80, 24, &Theme::PLAIN);
    let heading = (0..24)
        .map(|y| row_text(&buf, y))
        .find(|r| r.contains(" LANE"))
        .unwrap();
    for h in ["BUILD", "STAGING", "CANARY", "PRODUCTION"] {
        assert!(heading.contains(h), "{heading}");
    }
    assert!(
        heading.contains("… ◆"),
        "the mark survives the cut: {heading}"
    );
    assert!(
        heading.ends_with('┃') || heading.ends_with('│'),
        "{heading}"
    );
}
