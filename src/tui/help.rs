//! The `?` overlay: every key from the keymap table as mapped, and how to read the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::app::App;
use super::keymap::{Command, Mode, Shown};
use super::theme::Theme;
use super::ui::{Title, centered, scrolling_popup};
use crate::model::CellState;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rect = centered(area, 84, area.height);
    let inner_w = rect.width.saturating_sub(2) as usize;
    let keys = &app.keys;
    // The keys' column: as wide as the widest label, and at least 7.
    let key_w = keys
        .bindings(Mode::Main)
        .map(|(_, label)| super::ui::width(label) + 1)
        .max()
        .unwrap_or(0)
        .max(7);
    let entries: Vec<Vec<Span>> = keys
        .bindings(Mode::Main)
        .map(|(b, label)| {
            let off = b.shown == Shown::Action && app.snap.readonly;
            let help = if off {
                format!("{} (read-only)", keys.help(b.command))
            } else {
                keys.help(b.command).to_string()
            };
            vec![
                Span::styled(
                    format!("  {}", super::ui::pad_min(label, key_w)),
                    theme.key(),
                ),
                Span::raw(help),
            ]
        })
        .collect();

    let mut lines = vec![Line::from(Span::styled("Keys", theme.title()))];
    // Two columns when there is room: the whole help fits 80×24. Each entry is cut to its
    // column, so that a long one never wraps into the other column.
    let col = inner_w / 2;
    let cut = |spans: &[Span<'static>], room: usize| -> Vec<Span<'static>> {
        let mut used = 0;
        let mut out = Vec::new();
        for s in spans {
            let left = room.saturating_sub(used);
            let text = super::ui::fit(&s.content, left);
            used += super::ui::width(&text);
            out.push(Span::styled(text, s.style));
        }
        out
    };
    if col >= 38 {
        let half = entries.len().div_ceil(2);
        for i in 0..half {
            let mut spans = cut(&entries[i], col - 1);
            let used: usize = spans.iter().map(|s| s.width()).sum();
            spans.push(Span::raw(" ".repeat(col.saturating_sub(used))));
            if let Some(right) = entries.get(i + half) {
                spans.extend(cut(right, inner_w - col));
            }
            lines.push(Line::from(spans));
        }
    } else {
        lines.extend(entries.into_iter().map(Line::from));
    }
    // The popups' and the filter's own keys, a line each, from the same table.
    for mode in [Mode::Details, Mode::Confirm, Mode::Filter, Mode::Jump] {
        let own: Vec<String> = keys
            .bindings(mode)
            .filter(|(b, _)| !b.modes.contains(&Mode::Main) || b.shown != Shown::HelpOnly)
            .map(|(b, label)| {
                format!(
                    "{label} {}",
                    if b.short.is_empty() {
                        keys.help(b.command)
                    } else {
                        b.short
                    }
                )
            })
            .collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{}: ", heading(mode, keys)), theme.title()),
            Span::raw(own.join(" · ")),
        ]));
    }
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
    for chunk in states.chunks(8) {
        lines.push(Line::from(chunk.to_vec()));
    }
    lines.push(Line::from(
        "  · no data yet;  after a cell: ~ stale data   E source or payload error   » in flight",
    ));
    lines.push(Line::from(
        "  underlined: where the lane goes next   ‖ after a lane name: on hold",
    ));
    lines.push(Line::from(format!(
        "  team headings: - open, + folded ({} folds)   busy: blocked, moving or held",
        keys.label(Command::Details)
    )));
    let legend = super::blocker_words::legend();
    for (i, chunk) in legend.chunks(3).enumerate() {
        let head = if i == 0 {
            "  blockers: "
        } else {
            "            "
        };
        lines.push(Line::from(format!("{head}{}", chunk.join("  "))));
    }
    let marks = super::charts::marks(theme.charts);
    lines.push(Line::from(format!(
        "  charts: {} the stage's series  {} stable  {} SLO;  {} … BREACH: outside the SLO",
        marks.line_key, marks.stable_key, marks.slo_key, marks.bad
    )));
    lines.push(Line::from(Span::styled("Safety", theme.title())));
    lines.push(Line::from(format!(
        "  every action asks first, and the default button is Cancel; {} moves between fields;",
        keys.label(Command::NextField)
    )));
    lines.push(Line::from(
        "  rollback and anything aimed at the last stage ask for the lane's name;",
    ));
    lines.push(Line::from(
        "  a blocked action goes only forced, with a reason; everything lands in the audit log",
    ));
    let title = Title::new("Help", keys, Command::Close);
    scrolling_popup(frame, area, 84, lines, title, app.popup_scroll, theme);
}

/// The heading of a mode's keys; the filter's says the key that opens it.
fn heading(mode: Mode, keys: &super::keymap::Keymap) -> String {
    match mode {
        Mode::Filter => format!("Filter ({})", keys.label(Command::Filter)),
        Mode::Jump => format!("Jump ({})", keys.label(Command::Jump)),
        _ => mode.title().to_string(),
    }
}
