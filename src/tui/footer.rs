//! Footer: the keys that apply now (from the same table as the help), or a flash message.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, View};
use super::keymap::{BINDINGS, Command, Group, Mode, Shown};
use super::theme::Theme;
use super::ui::fit;
use crate::engine::Tone;

/// The action keys that can go (or be forced) on the selected cell now: the engine's answer
/// (none when read-only).
fn action_keys(app: &App) -> Vec<(&str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| b.shown == Shown::Action)
        .filter(|b| b.modes.contains(&Mode::Main))
        .filter_map(|b| {
            let avail = app.avail(b.command)?;
            let action = avail.action()?;
            let words = match b.command {
                Command::PauseResume => pause_word(action),
                _ => b.short,
            };
            Some((app.keys.label(b.command), words))
        })
        // Halt is the main view's key.
        .chain(
            (app.snap.holds.halt.is_some() && app.mode() == Mode::Main)
                .then_some(&app.snap.halt)
                .filter(|a| a.offered())
                .map(|_| (app.keys.label(Command::Halt), "unhalt")),
        )
        .collect()
}

/// What `s` does, in a word: "pause", "resume", "hold lane", "release".
pub fn pause_word(action: &crate::ops::Action) -> &'static str {
    use crate::model::ActionKind;
    use crate::ops::Scope;
    match (action.scope(), action.kind) {
        (Scope::Lane(_), ActionKind::Pause) => "hold lane",
        (Scope::Lane(_), _) => "release",
        (_, ActionKind::Resume) => "resume",
        _ => "pause",
    }
}

/// (keys, words) pairs for the footer in the app's current situation: the keys that apply now,
/// from the same table as the help, as mapped.
pub fn footer_keys(app: &App) -> Vec<(&str, &'static str)> {
    let keys = &app.keys;
    if let Some(mut v) = app.popup_hints() {
        if app.mode() == Mode::Details {
            // The actions before quit, which a narrow footer keeps anyway.
            let quit = keys.label(Command::Quit);
            let at = v.iter().position(|(k, _)| *k == quit).unwrap_or(v.len());
            v.splice(at..at, action_keys(app));
        }
        return v;
    }
    // On a team's heading, Enter folds it.
    let details = if app.selected_heading().is_some() {
        (keys.label(Command::Details), "fold")
    } else {
        (keys.label(Command::Details), "details")
    };
    let rest = keys
        .footer(Mode::Main)
        .filter(|(c, ..)| !matches!(c, Command::Details | Command::MetricsView))
        .map(|(_, k, w)| (k, w));
    if app.view == View::Metrics {
        // The actions before details: with a failing canary in sight, rollback is the key
        // that must not fall off a narrow footer.
        let mut v = vec![
            (keys.label(Command::MetricsView), "back"),
            (keys.group(Group::Metric), "metric"),
        ];
        v.extend(action_keys(app));
        v.push(details);
        v.extend(rest);
        return v;
    }
    let mut v = vec![details];
    v.extend(action_keys(app));
    v.extend(
        keys.footer(Mode::Main)
            .filter_map(|(c, k, w)| (c != Command::Details).then_some((k, w))),
    );
    v
}

/// The keys a narrow footer keeps to the last: help, quit, and the way out of a popup.
fn kept(app: &App, key: &str) -> bool {
    [
        Command::Help,
        Command::Quit,
        Command::Close,
        Command::Cancel,
    ]
    .iter()
    .any(|c| app.keys.label(*c) == key)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = area.width as usize;
    if app.filter_editing {
        let line = Line::from(vec![
            Span::styled(app.keys.label(Command::Filter), theme.key()),
            Span::raw(format!("filter: {}▏", app.filter)),
            Span::styled(
                format!(
                    "  {} apply  {} clear",
                    app.keys.label(Command::Apply),
                    app.keys.label(Command::Clear)
                ),
                theme.dim(),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(p) = &app.jump {
        frame.render_widget(Paragraph::new(jump_line(app, p, theme)), area);
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
        keys.insert(0, (app.keys.group(Group::Move), what));
    }
    // Too wide: drop keys from the end, but never help and quit.
    let piece = |(k, w): &(&str, &str)| k.chars().count() + 1 + w.chars().count() + 2;
    while keys.iter().map(piece).sum::<usize>() > width {
        match keys.iter().rposition(|(k, _)| !kept(app, k)) {
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

/// The jump prompt: what is typed, the lane on offer and how many match, the prompt's keys.
fn jump_line<'a>(app: &'a App, p: &super::jump::Prompt, theme: &Theme) -> Line<'a> {
    let mut spans = vec![
        Span::styled(app.keys.label(Command::Jump), theme.key()),
        Span::raw(format!("jump to lane: {}▏ ", p.query)),
    ];
    match p.current() {
        Some(i) => {
            spans.push(Span::styled(
                format!("→ {}", app.snap.train.lanes[i].name),
                theme.title(),
            ));
            spans.push(Span::raw(format!(" {}/{}", p.at + 1, p.matches.len())));
            if app.row_of_lane(i).is_none() {
                spans.push(Span::styled(" (hidden: shown on jump)", theme.dim()));
            }
        }
        None if p.query.is_empty() => {}
        None => spans.push(Span::styled("no lane matches", theme.bad())),
    }
    let keys: Vec<String> = app
        .keys
        .footer(Mode::Jump)
        .map(|(_, k, w)| format!("{k} {w}"))
        .collect();
    spans.push(Span::styled(format!("  {}", keys.join("  ")), theme.dim()));
    Line::from(spans)
}
