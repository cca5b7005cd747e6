//! The lanes matrix: lanes × stages, each cell a glyph, a short version and a state word.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TCell, Paragraph, Row, Table};

use super::app::{App, Panel};
use super::rows::{Row as LaneRow, heading_text};
use super::theme::Theme;
use super::ui::{fit, is_focused, panel_block, width as cols};
use crate::engine::snapshot::CellView;
use crate::model::{Cell, CellKey};

/// Cell text: "✓ 3a1b2c4 ok", "▶ 3a1b2c4 45%", then a marker: `~` stale, `E` error, `»` action
/// in flight.
pub fn cell_text(
    app: &App,
    key: &CellKey,
    cell: Option<(&Cell, &CellView)>,
    width: usize,
) -> String {
    let Some((c, view)) = cell else {
        return "·".into();
    };
    let word = c.state_word();
    let marker = if app.snap.in_flight.contains_key(key) {
        "»"
    } else if view.error.is_some() {
        "E"
    } else if view.stale {
        "~"
    } else {
        ""
    };
    let version = c.short_version();
    // Keep the glyph, the state and the marker; cut the version when the column is narrow.
    let fixed = 1 + 1 + 1 + cols(&word) + cols(marker);
    let room = width.saturating_sub(fixed).max(3);
    let mut text = format!("{} {} {word}{marker}", c.state.glyph(), fit(&version, room));
    // Wide columns get a progress bar too.
    let moving = c.state.is_active() || c.state == crate::model::CellState::Paused;
    if let (true, Some(p)) = (moving, c.progress)
        && width >= cols(&text) + 11
    {
        let filled = ((p * 10.0).round() as usize).min(10);
        text.push_str(&format!(
            " {}{}",
            "▰".repeat(filled),
            "▱".repeat(10 - filled)
        ));
    }
    text
}

/// A stage's column heading: its name in capitals, and a protected stage's mark after it,
/// which a narrow column never cuts (the name gives way).
fn stage_heading(
    app: &App,
    stage: &str,
    width: usize,
    style: Style,
    theme: &Theme,
) -> Span<'static> {
    let train = &app.snap.train;
    if !train.is_protected(stage) {
        return Span::styled(fit(&stage.to_uppercase(), width), style);
    }
    let mark = format!(" {}", crate::model::train::PROTECTED_MARK);
    let name = fit(&stage.to_uppercase(), width.saturating_sub(cols(&mark)));
    Span::styled(format!("{name}{mark}"), style.patch(theme.protected()))
}

/// The panel's title: how many lanes are shown of how many, and what narrows them.
fn title(app: &App) -> String {
    let shown = app.visible_lanes().len();
    let total = app.snap.train.lanes.len();
    let opts = &app.lanes_opts;
    let mut parts = Vec::new();
    if opts.grouped {
        parts.push("by team".to_string());
    }
    if opts.busy_only {
        parts.push("busy only".to_string());
    }
    if !app.filter.is_empty() || app.filter_editing {
        parts.push(format!("filter \"{}\"", app.filter));
    }
    // Narrowed is what the count says: a fold kept while ungrouped hides nothing.
    let narrowed = shown < total;
    let count = if narrowed || app.filter_editing {
        format!("{shown}/{total}")
    } else {
        total.to_string()
    };
    if parts.is_empty() {
        format!(" Lanes {count} ")
    } else {
        format!(" Lanes {count} · {} ", parts.join(" · "))
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = panel_block(title(app), is_focused(app, Panel::Lanes), theme);
    if app.rows().is_empty() {
        let msg = if app.snap.train.lanes.is_empty() {
            "no lanes configured".to_string()
        } else if app.lanes_opts.busy_only && app.filter.is_empty() {
            let b = app.keys.label(super::keymap::Command::OnlyBusy);
            format!("no lane is blocked, moving or held ({b} shows every lane)")
        } else {
            let back = app.keys.label(super::keymap::Command::Back);
            format!("no lane matches the filter ({back} clears it)")
        };
        frame.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    let inner_w = area.width.saturating_sub(2) as usize;
    let stages = app.snap.train.stages.len();
    let wide = inner_w >= 120;
    // Measured over every lane, once per train (not per frame).
    let widest = app.widest();
    let name_w = 1 + widest.name.clamp(4, if wide { 24 } else { 15 });
    // Grouped, the headings name the teams: no column for them.
    let team_col = wide && !app.lanes_opts.grouped;
    let team_w = if team_col {
        widest.team.clamp(4, 16)
    } else {
        0
    };
    let fixed = name_w + 2 + if team_col { team_w + 1 } else { 0 };
    let cell_w = (inner_w.saturating_sub(fixed) / stages.max(1))
        .saturating_sub(1)
        .max(6);

    let mut header = vec![TCell::from(Span::styled(" LANE", theme.title()))];
    if team_col {
        header.push(TCell::from(Span::styled("TEAM", theme.title())));
    }
    for (i, s) in app.snap.train.stages.iter().enumerate() {
        let style = if i == app.sel_stage {
            theme.title().add_modifier(Modifier::UNDERLINED)
        } else {
            theme.title()
        };
        header.push(TCell::from(stage_heading(app, s, cell_w, style, theme)));
    }

    let sel_lane = app.selected_lane();
    // Only the rows in view are built: the selection kept in sight, at the bottom when it
    // moves past it (as the table itself would scroll).
    let in_view = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = (app.sel_lane + 1).saturating_sub(in_view);
    let window = &app.rows()[offset..(offset + in_view).min(app.rows().len())];
    let rows: Vec<Row> = window
        .iter()
        .map(|row| {
            let li = match row {
                LaneRow::Lane(li) => *li,
                // Drawn over the whole width below.
                LaneRow::Team(_) => return Row::new(Vec::<TCell>::new()),
            };
            let lane = &app.snap.train.lanes[li];
            let selected_row = Some(li) == sel_lane;
            let next = app.snap.lanes[li].next;
            let held = app.snap.holds.lanes.contains_key(&lane.name);
            let marker = if selected_row { "▸" } else { " " };
            let mut name = format!(
                "{marker}{}",
                fit(&lane.name, name_w - 1 - usize::from(held))
            );
            if held {
                name.push('‖');
            }
            let name_style = if selected_row {
                theme.title()
            } else {
                Style::new()
            };
            let mut cells = vec![TCell::from(Span::styled(name, name_style))];
            if team_col {
                cells.push(TCell::from(Span::styled(
                    fit(&lane.team, team_w),
                    theme.dim(),
                )));
            }
            for (si, stage) in app.snap.train.stages.iter().enumerate() {
                let key = CellKey::new(&lane.name, stage);
                let cell = app.snap.world.cell(&lane.name, stage);
                let view = app.snap.cell(li, si);
                let text = cell_text(app, &key, cell.zip(view), cell_w);
                let mut style = cell
                    .map(|c| theme.state(c.state))
                    .unwrap_or_else(|| theme.dim());
                if view.is_some_and(|v| v.stale) {
                    style = theme.faded(style);
                }
                if next == Some(si) && cell.is_none_or(|c| !c.state.is_active()) {
                    // Where the lane's car goes next.
                    style = style.add_modifier(Modifier::UNDERLINED);
                }
                if selected_row && si == app.sel_stage {
                    style = theme.selected();
                }
                cells.push(TCell::from(Span::styled(text, style)));
            }
            Row::new(cells)
        })
        .collect();

    let mut widths = vec![Constraint::Length(name_w as u16)];
    if team_col {
        widths.push(Constraint::Length(team_w as u16));
    }
    widths.extend(std::iter::repeat_n(
        Constraint::Length(cell_w as u16),
        stages,
    ));
    let inner = block.inner(area);
    let table = Table::new(rows, widths)
        .header(Row::new(header))
        .block(block)
        .column_spacing(1);
    frame.render_widget(table, area);
    // Team headings across the panel: a row each, under the column headings.
    for (n, row) in window.iter().enumerate() {
        let LaneRow::Team(h) = row else { continue };
        let y = inner.y + 1 + n as u16;
        if y >= inner.bottom() {
            break;
        }
        let selected = offset + n == app.sel_lane;
        let marker = if selected { "▸" } else { " " };
        let text = format!("{marker}{}", heading_text(h));
        let mut style = theme.title();
        if selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        let line = Line::from(Span::styled(fit(&text, usize::from(inner.width)), style));
        let rect = Rect {
            y,
            height: 1,
            ..inner
        };
        frame.render_widget(Paragraph::new(line), rect);
    }
}
