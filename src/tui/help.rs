//! The `?` overlay: every key from the keymap table, and how to read the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::App;
use super::keymap::{BINDINGS, Shown};
use super::theme::Theme;
use super::ui::{centered, panel_block};
use crate::model::CellState;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = vec![Line::from(Span::styled("Keys", theme.title()))];
    for b in BINDINGS {
        let mut help = b.help.to_string();
        if b.shown == Shown::Action && app.readonly {
            help.push_str(" (disabled: read-only)");
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<8}", b.label), theme.key()),
            Span::raw(help),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<8}", "Ctrl-C"), theme.key()),
        Span::raw("quit"),
    ]));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("Cell states", theme.title())));
    let states: Vec<Span> = CellState::ALL
        .iter()
        .flat_map(|s| {
            [
                Span::styled(format!("  {} {}", s.glyph(), s.short()), theme.state(*s)),
                Span::raw(format!("={}", s.words())),
            ]
        })
        .collect();
    for chunk in states.chunks(6) {
        lines.push(Line::from(chunk.to_vec()));
    }
    lines.push(Line::from(
        "  after a cell: ~ stale data  E source or payload error  » action in flight",
    ));
    lines.push(Line::from(
        "  underlined: where the lane goes next   ‖ after a lane: on hold",
    ));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled("Safety", theme.title())));
    lines.push(Line::from(
        "  every action asks first; the default button is Cancel",
    ));
    lines.push(Line::from(
        "  rollback and anything aimed at the last stage ask you to type the lane's name",
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, 84, h);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel_block(" Help — Esc closes ", true, theme)),
        rect,
    );
}
