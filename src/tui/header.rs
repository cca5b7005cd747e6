//! Header: train name, stages, window countdown or freeze, badges, data age; the halt banner.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::theme::Theme;
use crate::model::WindowState;
use crate::model::duration::{human, human_delta};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    if let Some(h) = &app.snap.holds.halt {
        let text = format!(
            " ■ TRAIN HALTED by {} {} ago: {} — every promotion is refused ",
            h.by,
            human_delta(app.now - h.at),
            h.reason
        );
        lines.push(Line::from(Span::styled(
            super::ui::fit(&text, area.width as usize),
            theme.banner(),
        )));
    }
    if let Some(p) = &app.snap.team.problem {
        let text =
            format!(" ■ TEAM STORE UNREACHABLE: {p} — actions are refused until it answers ");
        lines.push(Line::from(Span::styled(
            super::ui::fit(&text, area.width as usize),
            theme.banner(),
        )));
    }
    let mut first = vec![
        Span::styled("trainyard ", theme.dim()),
        Span::styled(app.snap.train.name.clone(), theme.title()),
        Span::raw("  "),
    ];
    // Before the stages, so that a narrow terminal never cuts it off.
    if !app.snap.insecure_http.is_empty() {
        first.push(Span::styled(
            format!(" INSECURE http: {} ", app.snap.insecure_http.join(", ")),
            theme.banner(),
        ));
        first.push(Span::raw("  "));
    }
    let train = &app.snap.train;
    for (i, stage) in train.stages.iter().enumerate() {
        if i > 0 {
            first.push(Span::raw("›"));
        }
        first.push(theme.stage(train, stage, ratatui::style::Style::new()));
    }
    if app.snap.readonly {
        first.push(Span::raw("  "));
        first.push(Span::styled(" READ-ONLY ", theme.banner()));
    }

    // The train's counts at the right end, in the longest form that fits.
    let used: usize = first.iter().map(|s| s.width()).sum();
    let room = (area.width as usize).saturating_sub(used + 2);
    let mut counts_left = false;
    match super::rows::counts_text(app.census.total, room) {
        Some(text) => {
            let pad = room - super::ui::width(&text);
            first.push(Span::raw(" ".repeat(pad + 2)));
            first.push(Span::styled(text, counts_style(app, theme)));
        }
        None => counts_left = true,
    }
    lines.push(Line::from(first));

    let mut second: Vec<Span> = Vec::new();
    if let Some(f) = app.snap.train.active_freeze(app.now) {
        second.push(Span::styled(
            format!(
                "FREEZE {} · ends in {}",
                f.reason,
                human_delta(f.ends - app.now)
            ),
            theme.bad(),
        ));
    } else if let Some(w) = &app.snap.train.window {
        let style = match w.state(app.now) {
            WindowState::Open => theme.ok(),
            _ => theme.warn(),
        };
        second.push(Span::styled(w.describe(app.now), style));
        if let Some(f) = app.snap.train.next_freeze(app.now) {
            second.push(Span::styled(
                format!(" · freeze in {}", human_delta(f.starts - app.now)),
                theme.dim(),
            ));
        }
    } else {
        second.push(Span::styled("no release window", theme.dim()));
    }
    second.push(Span::raw(" · "));
    let failing: Vec<&str> = app
        .snap
        .world
        .sources()
        .filter(|s| !s.ok)
        .map(|s| s.name.as_str())
        .collect();
    match app.snap.world.data_age(app.now) {
        Some(age) => second.push(Span::styled(
            format!("data {}", human(age)),
            if failing.is_empty() {
                theme.dim()
            } else {
                theme.bad()
            },
        )),
        None => second.push(Span::styled("waiting for data…", theme.warn())),
    }
    if !failing.is_empty() {
        second.push(Span::styled(
            format!(" · source down: {}", failing.join(", ")),
            theme.bad(),
        ));
    }
    let mine = app.mine_in_flight();
    let in_flight = (mine > 0).then(|| format!(" · {mine} in flight"));
    // The API budgets of sources that have them ("gh 4312/5000 left, 212/600 a min"), in the
    // form that fits the room the rest of the line leaves them, a budget running low in red.
    let used: usize = second.iter().map(|s| s.width()).sum::<usize>()
        + in_flight.as_deref().map_or(0, super::ui::width);
    let room = (area.width as usize).saturating_sub(used);
    for (text, low) in super::budgets::budgets(app.snap.world.sources(), room) {
        second.push(Span::styled(
            format!(" · {text}"),
            if low { theme.bad() } else { theme.dim() },
        ));
    }
    if let Some(text) = in_flight {
        second.push(Span::styled(text, theme.warn()));
    }
    if app.snap.team.shared.is_some() {
        let used: usize = second.iter().map(|s| s.width()).sum();
        let room = (area.width as usize).saturating_sub(used + 3);
        if let Some(text) = team_text(&app.snap.team, app.now, room) {
            second.push(Span::raw(" · "));
            second.push(Span::styled(text, theme.dim()));
        }
    }
    // No room on the first line: on the second, if there is room there.
    if counts_left {
        let used: usize = second.iter().map(|s| s.width()).sum();
        let room = (area.width as usize).saturating_sub(used + 3);
        if let Some(text) = super::rows::counts_text(app.census.total, room) {
            second.push(Span::raw(" · "));
            second.push(Span::styled(text, counts_style(app, theme)));
        }
    }
    lines.push(Line::from(second));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The lines above the header's two: the halt's banner, the team store's.
pub fn banners(app: &App) -> u16 {
    u16::from(app.snap.holds.halt.is_some()) + u16::from(app.snap.team.problem.is_some())
}

/// Who else has the train open on the team's store and what they do, in the longest form
/// that fits `room`: "team: you, alice@jump-1 promoting api → prod, carol@jump-3", else
/// "team: you + 2, 1 acting", else "team: 3".
pub fn team_text(
    team: &crate::store::Team,
    now: crate::model::Timestamp,
    room: usize,
) -> Option<String> {
    let acting = |actor: &str| {
        team.claims
            .iter()
            .find(|c| c.actor == actor)
            .map(|c| c.describe(now))
    };
    // Who polls the sources for everyone is said too: their screen is the one that costs.
    let mut long = vec![if team.polling {
        "team: you (polling)".to_string()
    } else {
        "team: you".to_string()
    }];
    for p in &team.peers {
        let name = if p.poller {
            format!("{} (polling)", p.actor)
        } else {
            p.actor.clone()
        };
        long.push(
            acting(&p.actor)
                .map_or_else(|| name.clone(), |doing| doing.replacen(&p.actor, &name, 1)),
        );
    }
    let n_acting = team
        .peers
        .iter()
        .filter(|p| acting(&p.actor).is_some())
        .count();
    let long = long.join(", ");
    let medium = match n_acting {
        0 => format!("team: you + {}", team.peers.len()),
        n => format!("team: you + {}, {n} acting", team.peers.len()),
    };
    let short = format!("team: {}", team.peers.len() + 1);
    [long, medium, short]
        .into_iter()
        .find(|t| super::ui::width(t) <= room)
}

/// The counts stand out while a lane is blocked; their words say it without colour.
fn counts_style(app: &App, theme: &Theme) -> ratatui::style::Style {
    if app.census.total.blocked > 0 {
        theme.warn()
    } else {
        theme.dim()
    }
}
