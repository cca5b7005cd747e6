//! Blockers: one line per reason a car can't move, the selected lane's first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Panel};
use super::theme::{Theme, blocker_tag};
use super::ui::{fit, is_focused, panel_block, width as cols};
use crate::model::{Blocker, BlockerKind};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut list: Vec<Blocker> = app.blockers().into_iter().cloned().collect();
    // The halt stops every lane: one line says so, at the top, not one per lane.
    let halt = list.iter().find(|b| b.kind == BlockerKind::Halt).cloned();
    list.retain(|b| b.kind != BlockerKind::Halt);
    if let Some(mut h) = halt {
        h.lane = "every lane".into();
        h.stage = "any stage".into();
        list.insert(0, h);
    }
    let block = panel_block(
        format!(" Blockers {} ", list.len()),
        is_focused(app, Panel::Blockers),
        theme,
    );
    let width = area.width.saturating_sub(2) as usize;
    let selected = app
        .selected_lane()
        .map(|i| app.snap.train.lanes[i].name.clone());
    let lines: Vec<Line> = if list.is_empty() {
        vec![Line::from(Span::styled("✓ nothing is blocked", theme.ok()))]
    } else {
        list.iter()
            .skip(app.blockers_scroll.min(list.len().saturating_sub(1)))
            .map(|b| {
                let mine = selected.as_deref() == Some(b.lane.as_str());
                let tag = format!("{}[{}] ", if mine { "▸" } else { " " }, blocker_tag(b.kind));
                let head_style = if mine { theme.title() } else { theme.dim() };
                // A protected stage is named with its mark, in its style.
                let stage = theme.stage(&app.snap.train, &b.stage, head_style);
                let head = cols(&b.lane) + 1 + stage.width() + 2;
                let rest = width.saturating_sub(cols(&tag) + head);
                Line::from(vec![
                    Span::styled(tag, theme.blocker(b.kind)),
                    Span::styled(format!("{}→", b.lane), head_style),
                    stage,
                    Span::styled(": ", head_style),
                    Span::raw(fit(&b.message, rest)),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
