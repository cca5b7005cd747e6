//! The screen: a function of the app state and an area.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::app::{App, Panel, Popup, View};
use super::keymap::Command;
use super::theme::Theme;
use super::{activity, blockers, dialog, footer, header, help, lanes, metrics};

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    draw_screen(frame, app, theme);
    // Last: a link that something was drawn over goes plain (`link::settle`).
    super::link::settle(frame.buffer_mut());
}

fn draw_screen(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2 + header::banners(app)),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(frame, head, app, theme);
    footer::draw(frame, foot, app, theme);

    if app.view == View::Metrics {
        super::metrics_view::draw(frame, body, app, theme);
        draw_popup(frame, area, app, theme);
        return;
    }
    let n = app.rows().len() as u16;
    // Lanes get what they need (plus border and header row), but leave the panels below room.
    let lanes_h = (n + 3).clamp(5, (body.height * 6 / 10).max(5));
    let [top, rest] =
        Layout::vertical([Constraint::Length(lanes_h), Constraint::Min(0)]).areas(body);
    lanes::draw(frame, top, app, theme);

    // The metrics panel has nothing to say for a cell without metrics (unless it has the
    // focus): the blockers get its width, where the words that decide would be cut.
    let metrics_shown = app
        .selected_lane()
        .is_some_and(|li| app.snap.metrics(li, app.sel_stage).next().is_some())
        || app.focus == Panel::Metrics;
    if rest.width >= 140 {
        let (bw, mw) = if metrics_shown { (36, 34) } else { (70, 0) };
        let [b, m, a] = Layout::horizontal([
            Constraint::Percentage(bw),
            Constraint::Percentage(mw),
            Constraint::Percentage(30),
        ])
        .areas(rest);
        blockers::draw(frame, b, app, theme);
        if metrics_shown {
            metrics::draw(frame, m, app, theme);
        }
        activity::draw(frame, a, app, theme);
    } else if !metrics_shown {
        let act_h = activity_height(rest.height);
        let [b, act] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(act_h)]).areas(rest);
        blockers::draw(frame, b, app, theme);
        activity::draw(frame, act, app, theme);
    } else {
        let act_h = activity_height(rest.height);
        let [mid, act] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(act_h)]).areas(rest);
        let [b, m] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(mid);
        blockers::draw(frame, b, app, theme);
        metrics::draw(frame, m, app, theme);
        activity::draw(frame, act, app, theme);
    }

    draw_popup(frame, area, app, theme);
}

/// Rows for the activity panel under the others, out of `height`.
fn activity_height(height: u16) -> u16 {
    if height >= 14 {
        height / 3
    } else {
        height.min(5) / 2 + 2
    }
}

fn draw_popup(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match &app.popup {
        Some(Popup::Details) => super::details::draw(frame, area, app, theme),
        Some(Popup::Help) => help::draw(frame, area, app, theme),
        Some(Popup::Confirm(d)) => dialog::draw(frame, area, d, app, theme),
        None => {}
    }
}

/// A panel's block: the focused one has a heavier border and a marker in its title.
pub fn panel_block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    let mut title: Line = title.into();
    if focused {
        title.spans.insert(0, Span::raw("▸"));
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.focused_border()
        } else {
            Style::new()
        })
        .title(title)
}

pub fn is_focused(app: &App, p: Panel) -> bool {
    app.focus == p && app.popup.is_none()
}

/// Rows the lines take once wrapped to `width` columns.
pub fn wrapped_height(lines: &[Line], width: u16) -> usize {
    let w = usize::from(width.max(1));
    lines.iter().map(|l| l.width().max(1).div_ceil(w)).sum()
}

/// A popup's title: its name, and the keys that scroll and close it (as mapped).
pub struct Title<'a> {
    pub name: &'a str,
    pub scroll: &'a str,
    pub close: &'a str,
}

impl<'a> Title<'a> {
    /// `name`, closed by `close`'s keys.
    pub fn new(name: &'a str, keys: &'a crate::keymap::Keymap, close: Command) -> Title<'a> {
        Title {
            name,
            scroll: keys.group(crate::keymap::Group::Scroll),
            close: keys.label(close),
        }
    }
}

/// A centred popup `width` wide and as tall as its lines (at most the screen), scrolled by
/// `scroll` (clamped to what there is to see); the title says when there is more. Returns
/// where the lines went (inside the border).
pub fn scrolling_popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    lines: Vec<Line<'static>>,
    title: Title,
    scroll: usize,
    theme: &Theme,
) -> Rect {
    use ratatui::widgets::{Clear, Paragraph, Wrap};
    // Measured at the width it gets, not the one it asks for: else the end can't be reached.
    let width = width.min(area.width);
    let total = wrapped_height(&lines, width.saturating_sub(2));
    let rect = centered(
        area,
        width,
        (total as u16).saturating_add(2).min(area.height),
    );
    let visible = usize::from(rect.height.saturating_sub(2));
    let scroll = scroll.min(total.saturating_sub(visible));
    let Title {
        name,
        scroll: scroll_keys,
        close,
    } = title;
    let title = if total > visible {
        format!(
            " {name} {}/{total} — {scroll_keys} scroll, {close} closes ",
            scroll + visible
        )
    } else {
        format!(" {name} — {close} closes ")
    };
    let block = panel_block(title, true, theme);
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll as u16, 0))
            .block(block),
        rect,
    );
    inner
}

/// A centred rectangle of at most `w`×`h`, inside `area`.
/// `text`, or `empty` in its place when there is none (a lane's team, an action's lane).
pub fn or_if_empty<'a>(text: &'a str, empty: &'a str) -> &'a str {
    if text.is_empty() { empty } else { text }
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Width-aware cutting and padding (in terminal columns, as ratatui counts them).
pub use crate::model::text::{fit, pad, pad_left, pad_min, width};
