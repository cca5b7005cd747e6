//! Footer: the keys that apply now (from the same table as the help), or a flash message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Popup, Tone, View};
use super::keymap::{self, BINDINGS, Command, Shown};
use super::theme::Theme;
use super::ui::fit;

/// The action keys that do something on the selected cell now (none when read-only).
fn action_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    if app.readonly {
        return Vec::new();
    }
    BINDINGS
        .iter()
        .filter(|b| {
            matches!(
                b.command,
                Command::Promote
                    | Command::PauseResume
                    | Command::Rollback
                    | Command::Approve
                    | Command::Reject
            )
        })
        .filter(|b| app.applies(b.command))
        .map(|b| match b.command {
            Command::PauseResume => (b.label, app.pause_word()),
            Command::Reject => (b.label, "reject"),
            _ => (b.label, b.short),
        })
        .chain(app.holds.halt.is_some().then_some(("H", "unhalt")))
        .collect()
}

/// (keys, words) pairs for the footer in the app's current situation: the keys that apply now,
/// from the same table as the help.
pub fn footer_keys(app: &App) -> Vec<(&'static str, &'static str)> {
    match &app.popup {
        Some(Popup::Confirm(d)) => {
            let mut v = vec![("Tab", "next field"), ("⏎", "press"), ("Esc", "cancel")];
            if d.plan.choices.len() > 1 {
                v.push(("↑↓", "version"));
            }
            v
        }
        Some(Popup::Details) => {
            let mut v = vec![("Esc", "close"), ("↑↓", "scroll")];
            v.extend(action_keys(app));
            v
        }
        Some(Popup::Help) => vec![("Esc", "close"), ("↑↓", "scroll"), ("q", "quit")],
        None if app.filter_editing => vec![("⏎", "apply"), ("Esc", "clear")],
        None if app.view == View::Metrics => {
            // The actions before details: with a failing canary in sight, rollback is the
            // key that must not fall off a narrow footer.
            let mut v = vec![
                (keymap::label(Command::MetricsView), "back"),
                ("[ ]", "metric"),
            ];
            v.extend(action_keys(app));
            v.push(("⏎", "details"));
            v.extend(
                BINDINGS
                    .iter()
                    .filter(|b| {
                        b.shown == Shown::Footer
                            && !matches!(b.command, Command::Details | Command::MetricsView)
                    })
                    .map(|b| (b.label, b.short)),
            );
            v
        }
        None => {
            let mut v = vec![("⏎", "details")];
            v.extend(action_keys(app));
            v.extend(
                BINDINGS
                    .iter()
                    .filter(|b| b.shown == Shown::Footer && b.command != Command::Details)
                    .map(|b| (b.label, b.short)),
            );
            v
        }
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = area.width as usize;
    if app.filter_editing {
        let line = Line::from(vec![
            Span::styled("/", theme.key()),
            Span::raw(format!("filter: {}▏", app.filter)),
            Span::styled("  ⏎ apply  Esc clear", theme.dim()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some((text, tone, _)) = &app.flash {
        let style = match tone {
            Tone::Bad => theme.bad(),
            Tone::Good => theme.ok(),
            _ => theme.title(),
        };
        frame.render_widget(Paragraph::new(Span::styled(fit(text, width), style)), area);
        return;
    }
    let mut spans = Vec::new();
    let mut used = 0;
    let mut keys = footer_keys(app);
    if app.popup.is_none() && width >= 90 {
        let what = if app.view == View::Metrics {
            "lane/stage"
        } else {
            "move"
        };
        keys.insert(0, ("←↓↑→", what));
    }
    // Too wide: drop keys from the end, but never help and quit.
    let piece = |(k, w): &(&str, &str)| k.chars().count() + 1 + w.chars().count() + 2;
    while keys.iter().map(piece).sum::<usize>() > width {
        match keys
            .iter()
            .rposition(|(k, _)| !matches!(*k, "?" | "q" | "Esc"))
        {
            Some(i) => {
                keys.remove(i);
            }
            None => break,
        }
    }
    for key in keys {
        let p = piece(&key);
        if used + p > width {
            break;
        }
        used += p;
        spans.push(Span::styled(key.0, theme.key()));
        spans.push(Span::raw(format!(" {}  ", key.1)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
