//! The confirmation dialog: the exact move, what stands against it, and a Cancel that is the
//! default. Rollback and the last stage ask for the lane's name.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::{App, Button, ConfirmDialog};
use super::theme::{Theme, blocker_line};
use super::ui::{centered, panel_block};
use crate::ops::Confirm;

pub fn lines(d: &ConfirmDialog, theme: &Theme) -> Vec<Line<'static>> {
    let a = &d.plan.action;
    let mut out = vec![
        Line::from(Span::styled(
            format!("{} {}", a.kind.verb(), a.lane),
            theme.title(),
        )),
        Line::from(format!("  {}", d.plan.summary)),
    ];
    if let Some(src) = &d.source {
        out.push(Line::from(Span::styled(
            format!("  via source {src}"),
            theme.dim(),
        )));
    }
    out.push(Line::from(Span::styled(
        format!("  $ {}", a.command_line()),
        theme.dim(),
    )));
    out.push(Line::default());
    if !d.plan.allowed() {
        out.push(Line::from(Span::styled(
            "✗ Blocked by policy — nothing will be sent:",
            theme.bad(),
        )));
        for b in &d.plan.blockers {
            out.push(blocker_line(b, theme));
        }
        out.push(Line::default());
    } else if let Confirm::TypeName(name) = &d.plan.confirm {
        let ok = &d.typed == name;
        out.push(Line::from(format!(
            "Type the lane's name ({name}) to confirm:"
        )));
        out.push(Line::from(vec![
            Span::raw("  > "),
            Span::styled(
                format!("{}▏", d.typed),
                if ok { theme.ok() } else { theme.title() },
            ),
            Span::styled(if ok { "  ✓" } else { "" }, theme.ok()),
        ]));
        out.push(Line::default());
    }
    let button = |label: String, on: bool, enabled: bool| {
        let mut st = if on {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        if !enabled {
            st = st.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT);
        }
        Span::styled(
            if on {
                format!("▶[ {label} ]")
            } else {
                format!(" [ {label} ]")
            },
            st,
        )
    };
    out.push(Line::from(vec![
        Span::raw("      "),
        button("Cancel".into(), d.button == Button::Cancel, true),
        Span::raw("    "),
        button(
            a.kind.verb().to_string(),
            d.button == Button::Confirm,
            d.can_confirm(),
        ),
    ]));
    out
}

pub fn draw(frame: &mut Frame, area: Rect, d: &ConfirmDialog, _app: &App, theme: &Theme) {
    let lines = lines(d, theme);
    let w = 76.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let title = format!(" Confirm {} ", d.plan.action.kind);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel_block(title, true, theme)),
        rect,
    );
}
