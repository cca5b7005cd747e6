//! Activity: what happened and what was done, newest first. A line whose event names a run or
//! a deployment links it (OSC 8, `[ui] links`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Panel};
use super::theme::Theme;
use super::ui::{fit, is_focused, panel_block, width as columns};
use crate::engine::Tone;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel_block(" Activity ", is_focused(app, Panel::Activity), theme);
    let inner = block.inner(area);
    let width = area.width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    // (row, column, columns, URL) of each line's text that links its event's URL.
    let mut links: Vec<(usize, usize, usize, &str)> = Vec::new();
    // Only what the panel shows is laid out (the activity keeps hundreds of entries).
    let rows = usize::from(inner.height);
    for a in app.activity.iter().skip(app.activity_scroll) {
        if lines.len() >= rows {
            break;
        }
        let style = match a.tone {
            Tone::Good => theme.ok(),
            Tone::Bad => theme.bad(),
            Tone::Action => theme.key(),
            Tone::Info => ratatui::style::Style::new(),
        };
        let time = a.at.format("%H:%M:%S ").to_string();
        let text = fit(&a.text, width.saturating_sub(time.len()));
        if let Some(url) = &a.url {
            links.push((lines.len(), columns(&time), columns(&text), url));
        }
        lines.push(Line::from(vec![
            Span::styled(time.clone(), theme.dim()),
            Span::styled(text, style),
        ]));
        if let Some(cmd) = &a.command {
            lines.push(Line::from(Span::styled(
                fit(&format!("         $ {cmd}"), width),
                theme.dim(),
            )));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "nothing yet: changes and actions appear here",
            theme.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
    if app.links {
        let buf = frame.buffer_mut();
        for (row, col, cols, url) in links {
            if row < usize::from(inner.height) && col < usize::from(inner.width) {
                super::link::cells(
                    buf,
                    inner.x + col as u16,
                    inner.y + row as u16,
                    cols as u16,
                    url,
                );
            }
        }
    }
}
