//! The confirmation dialog: the exact move, what stands against it, a reason, the lane's name
//! where it is asked for, and a Cancel that is the default. A blocked action can be forced
//! only with a reason; a rollback lists the good versions to pick from.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::app::App;
use super::confirm::{ConfirmDialog, Field};
use super::keymap::Command;
use super::theme::{Theme, blocker_line};
use super::ui::{Title, or_if_empty, pad_min, scrolling_popup};
use crate::ops::Confirm;

fn input<'a>(label: String, text: &str, focused: bool, ok: bool, theme: &Theme) -> Line<'a> {
    let style = if focused {
        theme.selected()
    } else {
        theme.title()
    };
    Line::from(vec![
        Span::raw(label),
        Span::styled(format!("{}{}", text, if focused { "▏" } else { "" }), style),
        Span::styled(if ok { "  ✓" } else { "" }, theme.ok()),
    ])
}

pub fn lines(d: &ConfirmDialog, app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let a = &d.plan.action;
    let verb = a.kind.verb();
    let mut out = Vec::new();
    // Said first, in words: whatever the colours, nobody misses where this goes.
    if let Some(note) = app.snap.train.protected_note(&a.stage) {
        out.push(Line::from(Span::styled(note, theme.protected())));
    }
    out.extend([
        Line::from(Span::styled(
            format!("{verb} {}", or_if_empty(&a.lane, "the train")),
            theme.title(),
        )),
        Line::from(format!("  {}", d.plan.summary)),
    ]);
    if let Some(src) = &d.source {
        out.push(Line::from(Span::styled(
            format!("  via source {src}"),
            theme.dim(),
        )));
    }
    out.push(Line::from(Span::styled(
        format!("  $ {}", d.final_action().command_line()),
        theme.dim(),
    )));
    for w in &d.plan.warnings {
        out.push(Line::from(Span::styled(format!("  ⚠ {w}"), theme.warn())));
    }
    if d.plan.choices.len() > 1 {
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            format!(
                "Roll back to ({} to pick):",
                app.keys.label(Command::PickVersion)
            ),
            theme.title(),
        )));
        for h in &d.plan.choices {
            let chosen = Some(&h.version) == d.plan.to_version.as_ref();
            let when = h
                .ago(app.now)
                .map(|a| format!("deployed {a} ago"))
                .unwrap_or_default();
            let by = h.by();
            let text = format!(
                "  {} {} {when}{by}",
                if chosen { "▸" } else { " " },
                pad_min(&crate::model::cell::short_version(&h.version), 8)
            );
            out.push(Line::from(Span::styled(
                text,
                if chosen { theme.title() } else { Style::new() },
            )));
        }
    }
    out.push(Line::default());
    if !d.plan.allowed() {
        out.push(Line::from(Span::styled(
            "✗ Blocked by policy. Forcing it needs a reason and is marked in the audit log:",
            theme.bad(),
        )));
        for b in &d.plan.blockers {
            out.push(blocker_line(b, theme));
        }
        out.push(Line::default());
    }
    let need = if d.reason_needed() {
        "required"
    } else {
        "optional"
    };
    let reason_ok = !d.reason.trim().is_empty();
    out.push(input(
        format!("Reason ({need}): "),
        &d.reason,
        d.focus == Field::Reason,
        d.reason_needed() && reason_ok,
        theme,
    ));
    if let Confirm::TypeName(name) = &d.plan.confirm {
        out.push(input(
            format!("Type the lane's name ({name}): "),
            &d.typed,
            d.focus == Field::Name,
            &d.typed == name,
            theme,
        ));
    }
    out.push(Line::default());
    let button = |label: String, on: bool, enabled: bool| {
        let mut st = if on { theme.selected() } else { Style::new() };
        if !enabled {
            st = theme.faded(st).add_modifier(Modifier::CROSSED_OUT);
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
    // "Force" only once there is a reason to force it with: before that, the button is the
    // action's, disabled, and the line under it says what it needs.
    let go = if d.forcing() && !d.reason.trim().is_empty() {
        format!("Force {}", verb.to_lowercase())
    } else {
        verb.to_string()
    };
    out.push(Line::from(vec![
        Span::raw("      "),
        button("Cancel".into(), d.focus == Field::Cancel, true),
        Span::raw("    "),
        button(go, d.focus == Field::Go, d.missing().is_none()),
    ]));
    if let Some(m) = d.missing() {
        out.push(Line::from(Span::styled(format!("      {m}"), theme.dim())));
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, d: &ConfirmDialog, app: &App, theme: &Theme) {
    let title = format!("Confirm {}", d.plan.action.kind);
    scrolling_popup(
        frame,
        area,
        78.min(area.width),
        lines(d, app, theme),
        Title::new(&title, &app.keys, Command::Cancel),
        0,
        theme,
    );
}
