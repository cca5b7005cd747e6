//! The details popup of the selected cell: version, state, timings, URL, source, checks,
//! approval, history, what blocks its next move, metrics. The commit, run or deployment and
//! check URLs are links (`super::link`, `[ui] links`).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::app::App;
use super::keymap::Command;
use super::link::Link;
use super::theme::{Theme, blocker_line};
use super::ui::{Title, or_if_empty, pad_min, scrolling_popup};
use crate::model::CheckState;
use crate::model::duration::{human, human_delta};

/// A row's label as drawn, padded to the values' column.
fn label(label: &str) -> String {
    format!("{label:<10}")
}

fn row<'a>(name: &str, value: impl Into<Vec<Span<'a>>>, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(label(name), theme.dim())];
    spans.extend(value.into());
    Line::from(spans)
}

/// The URL's rows: a URL that may be a link is cut to the popup's `width` here, each piece
/// under the one before, so that every piece is found on its row and linked; any other
/// (payload text that is no URL) wraps as text does.
fn url_rows(
    url: &str,
    width: Option<usize>,
    theme: &Theme,
    links: &mut Vec<Link>,
) -> Vec<Line<'static>> {
    let room = width.map_or(usize::MAX, |w| w.saturating_sub(label("").len()));
    if !super::osc::linkable(url) || room < 16 {
        return vec![row("url", vec![Span::raw(url.to_string())], theme)];
    }
    let chars: Vec<char> = url.chars().collect();
    chars
        .chunks(room.min(chars.len()).max(1))
        .enumerate()
        .map(|(i, piece)| {
            let name = if i == 0 { "url" } else { "" };
            let piece: String = piece.iter().collect();
            links.push(Link::labelled(label(name), piece.clone(), url));
            row(name, vec![Span::raw(piece)], theme)
        })
        .collect()
}

pub fn lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    content(app, theme, None, &mut Vec::new())
}

/// The lines for a popup whose lines are `width` columns wide (`None`: any), and in `links`
/// where the URLs among them go.
fn content(
    app: &App,
    theme: &Theme,
    width: Option<usize>,
    links: &mut Vec<Link>,
) -> Vec<Line<'static>> {
    let Some(li) = app.selected_lane() else {
        return vec![Line::from("no lane selected")];
    };
    let lane = &app.snap.train.lanes[li];
    let stage = &app.snap.train.stages[app.sel_stage];
    let mut out = Vec::new();
    let deps = if lane.depends_on.is_empty() {
        String::new()
    } else {
        format!(" · depends on {}", lane.depends_on.join(", "))
    };
    let train = &app.snap.train;
    out.push(Line::from(vec![
        Span::styled(format!("{} @ ", lane.name), theme.title()),
        theme.stage(train, stage, theme.title()),
        Span::styled(
            format!("   team {}{deps}", or_if_empty(&lane.team, "-")),
            theme.dim(),
        ),
    ]));
    if train.is_protected(stage) {
        out.push(row(
            "protected",
            vec![Span::styled(
                format!(
                    "{} every action here asks for the lane's name",
                    crate::model::train::PROTECTED_MARK
                ),
                theme.protected(),
            )],
            theme,
        ));
    }
    // A hold is the lane's, whatever its cells do: said first.
    if let Some(h) = app.snap.holds.lanes.get(&lane.name) {
        out.push(row(
            "hold",
            vec![Span::styled(
                format!("‖ held {}", h.words(app.now)),
                theme.warn(),
            )],
            theme,
        ));
    }
    let Some(c) = app.snap.world.cell(&lane.name, stage) else {
        out.push(Line::from(Span::styled(
            "no data for this cell yet",
            theme.dim(),
        )));
        return out;
    };
    let now = app.now;
    let mut state = vec![Span::styled(
        format!("{} {}", c.state.glyph(), c.describe()),
        theme.state(c.state),
    )];
    if let Some(f) = app
        .snap
        .in_flight
        .get(&crate::model::CellKey::new(&lane.name, stage))
    {
        let by = if f.mine {
            String::new()
        } else {
            format!(" by {}", f.actor)
        };
        state.push(Span::styled(
            format!(
                "  » {}{by} in flight for {}: {}",
                f.kind,
                human_delta(now - f.since),
                f.status
            ),
            theme.warn(),
        ));
    }
    out.push(row("state", state, theme));
    out.push(row(
        "version",
        vec![Span::raw(c.version.clone().unwrap_or_else(|| "-".into()))],
        theme,
    ));
    if let (Some(v), Some(u)) = (&c.version, &c.commit_url) {
        links.push(Link::labelled(label("version"), v.clone(), u));
    }
    let mut times = Vec::new();
    if let Some(t) = c.started_at {
        times.push(format!("started {} ago", human_delta(now - t)));
    }
    if let Some(t) = c.updated_at {
        times.push(format!(
            "updated {} ago ({})",
            human_delta(now - t),
            t.format("%H:%M:%S UTC")
        ));
    }
    if let Some(a) = &c.actor {
        times.push(format!("by {a}"));
    }
    if !times.is_empty() {
        out.push(row("when", vec![Span::raw(times.join(", "))], theme));
    }
    if let Some(m) = &c.message {
        out.push(row("message", vec![Span::raw(m.clone())], theme));
    }
    let Some(view) = app.selected_view() else {
        return out;
    };
    let age = app
        .snap
        .world
        .age(c, now)
        .map(|a| format!("data {} old", human(a)))
        .unwrap_or_default();
    let stale = if view.stale { " · STALE" } else { "" };
    let kind = app
        .snap
        .world
        .source(&c.source)
        .map(|s| s.kind.clone())
        .unwrap_or_default();
    out.push(row(
        "source",
        vec![
            Span::raw(format!("{} ({kind}) · {age}", c.source)),
            Span::styled(stale, theme.bad()),
        ],
        theme,
    ));
    if let Some(u) = &c.url {
        out.extend(url_rows(u, width, theme, links));
    }
    if let Some(e) = &view.error {
        out.push(row(
            "error",
            vec![Span::styled(e.clone(), theme.bad())],
            theme,
        ));
    }
    if !c.checks.is_empty() {
        let spans: Vec<Span> = c
            .checks
            .iter()
            .map(|ch| {
                let (g, st) = match ch.state {
                    CheckState::Passed => ("✓", theme.ok()),
                    CheckState::Failed => ("✗", theme.bad()),
                    CheckState::Pending => ("○", theme.dim()),
                };
                if let Some(u) = &ch.url {
                    links.push(Link::after(format!("{g} "), ch.name.clone(), u));
                }
                Span::styled(format!("{g} {}  ", ch.name), st)
            })
            .collect();
        out.push(row("checks", spans, theme));
    }
    if c.approval.is_some() {
        let text = c.approval_text(stage);
        out.push(row(
            "approval",
            vec![Span::styled(text, theme.warn())],
            theme,
        ));
    }

    // What stands against this cell: entering it, or problems in it.
    if !view.blockers.is_empty() {
        out.push(Line::default());
        out.push(Line::from(vec![
            Span::styled("blocking ", theme.title()),
            theme.stage(&app.snap.train, stage, theme.title()),
        ]));
        for b in &view.blockers {
            out.push(blocker_line(b, theme));
        }
    }
    out.push(Line::default());
    out.extend(next_lines(app, c, stage, theme));

    let metrics = app.selected_metrics();
    if !metrics.is_empty() {
        out.push(Line::default());
        out.push(Line::from(Span::styled("metrics", theme.title())));
        let marks = super::charts::marks(theme.charts);
        for (m, mv) in metrics {
            let (mark, word, _) = super::charts::state_mark(mv, &marks, theme);
            let v = match (mv.state.shows_value(), m.value) {
                (true, Some(v)) => m.format_value(v),
                _ => word.to_string(),
            };
            let mut base = m
                .baseline
                .map(|b| format!(", stable {}", m.format_value(b)))
                .unwrap_or_default();
            if let Some((text, _)) = super::charts::verdict_text(m, mv, 200, theme) {
                base.push_str(&format!("; {text}"));
            } else if let Some(z) = mv.anomaly {
                // No stable side to compare with: the single-series hint (docs/analysis.md).
                base.push_str(&format!(
                    "; anomaly: newest {z:+.1}σ from its recent mean (EWMA)"
                ));
            }
            let state = if mv.state.is_bad() && mv.state.shows_value() {
                format!(" {word}")
            } else {
                String::new()
            };
            out.push(Line::from(format!(
                "  {mark} {} {v}{state} ({}{base})",
                m.name,
                m.threshold_text()
            )));
            if let Some(e) = mv.error.as_ref().filter(|_| mv.state.is_bad()) {
                out.push(Line::from(Span::styled(format!("      {e}"), theme.bad())));
            }
            for w in &m.warnings {
                out.push(Line::from(Span::styled(
                    format!("      ⚠ {w}"),
                    theme.warn(),
                )));
            }
        }
    }

    if !c.history.is_empty() {
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            "history (newest first)",
            theme.title(),
        )));
        for h in c.history.iter().take(8) {
            let when = h.ago(now).map(|a| format!("{a} ago")).unwrap_or_default();
            let by = h.by();
            out.push(Line::from(vec![
                Span::styled(format!("  {} ", h.state.glyph()), theme.state(h.state)),
                Span::raw(format!(
                    "{} {:<12} {when}{by}",
                    pad_min(&crate::model::cell::short_version(&h.version), 8),
                    h.state.words()
                )),
            ]));
        }
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = (area.width * 9 / 10).clamp(60.min(area.width), 110);
    // The lines' own width: the popup's, inside its border.
    let inner = usize::from(width.min(area.width).saturating_sub(2));
    let mut links = Vec::new();
    let lines = content(app, theme, Some(inner), &mut links);
    let at = scrolling_popup(
        frame,
        area,
        width,
        lines,
        Title::new("Details", &app.keys, Command::Close),
        app.popup_scroll,
        theme,
    );
    if app.links {
        super::link::place(frame.buffer_mut(), at, &links);
    }
}
/// The "next" line: what promoting this cell's version would do, as the engine judged it —
/// the same answer the `p` key gets.
fn next_lines(app: &App, c: &crate::model::Cell, stage: &str, theme: &Theme) -> Vec<Line<'static>> {
    use crate::ops::availability::Avail;
    let Some(avail) = app.avail(super::keymap::Command::Promote) else {
        return Vec::new();
    };
    let next = app.snap.train.stages.get(app.sel_stage + 1);
    let Some(next) = next else {
        return vec![Line::from(Span::styled(
            format!("{stage} is the last stage"),
            theme.dim(),
        ))];
    };
    let head = || {
        vec![
            Span::styled(
                format!("next: promote {} to ", c.short_version()),
                theme.title(),
            ),
            theme.stage(&app.snap.train, next, theme.title()),
        ]
    };
    let with = |mut spans: Vec<Span<'static>>, tail: Span<'static>| {
        spans.push(tail);
        Line::from(spans)
    };
    match avail {
        Avail::Ready { .. } => vec![with(head(), Span::styled("  ✓ allowed", theme.ok()))],
        Avail::Forceable { blockers, .. } => {
            let mut v = vec![with(
                head(),
                Span::styled("  ✗ blocked (can be forced, with a reason)", theme.bad()),
            )];
            v.extend(blockers.iter().map(|b| blocker_line(b, theme)));
            v
        }
        Avail::No(why) => vec![with(
            head(),
            Span::styled(format!("  — {why}"), theme.dim()),
        )],
    }
}
