//! The details popup of the selected cell: version, state, timings, URL, source, checks,
//! approval, history, what blocks its next move, metrics.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::app::App;
use super::theme::{Theme, blocker_line};
use super::ui::{pad_min, scrolling_popup};
use crate::model::CheckState;
use crate::model::duration::{human, human_delta};
use crate::model::policy::describe;

fn row<'a>(label: &str, value: impl Into<Vec<Span<'a>>>, theme: &Theme) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{label:<10}"), theme.dim())];
    spans.extend(value.into());
    Line::from(spans)
}

pub fn lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let Some(li) = app.selected_lane() else {
        return vec![Line::from("no lane selected")];
    };
    let lane = &app.train.lanes[li];
    let stage = &app.train.stages[app.sel_stage];
    let mut out = Vec::new();
    let deps = if lane.depends_on.is_empty() {
        String::new()
    } else {
        format!(" · depends on {}", lane.depends_on.join(", "))
    };
    out.push(Line::from(vec![
        Span::styled(format!("{} @ {stage}", lane.name), theme.title()),
        Span::styled(
            format!(
                "   team {}{deps}",
                if lane.team.is_empty() {
                    "-"
                } else {
                    &lane.team
                }
            ),
            theme.dim(),
        ),
    ]));
    let Some(c) = app.world.cell(&lane.name, stage) else {
        out.push(Line::from(Span::styled(
            "no data for this cell yet",
            theme.dim(),
        )));
        return out;
    };
    let now = app.now;
    let mut state = vec![Span::styled(
        format!("{} {}", c.state.glyph(), describe(c)),
        theme.state(c.state),
    )];
    if let Some(f) = app
        .inflight
        .get(&crate::model::CellKey::new(&lane.name, stage))
    {
        state.push(Span::styled(
            format!(
                "  » {} in flight for {}: {}",
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
    let age = app
        .world
        .age(c, now)
        .map(|a| format!("data {} old", human(a)))
        .unwrap_or_default();
    let stale = if app.world.is_stale(c, now) {
        " · STALE"
    } else {
        ""
    };
    let kind = app
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
        out.push(row("url", vec![Span::raw(u.clone())], theme));
    }
    if let Some(e) = app.world.cell_error(c) {
        out.push(row("error", vec![Span::styled(e, theme.bad())], theme));
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
                Span::styled(format!("{g} {}  ", ch.name), st)
            })
            .collect();
        out.push(row("checks", spans, theme));
    }
    if c.approval.is_some() {
        let text = crate::model::policy::approval_message(stage, c);
        out.push(row(
            "approval",
            vec![Span::styled(text, theme.warn())],
            theme,
        ));
    }

    // What stands against this cell: entering it, or problems in it.
    let here: Vec<_> = app
        .blockers()
        .into_iter()
        .filter(|b| b.lane == lane.name && &b.stage == stage)
        .collect();
    if !here.is_empty() {
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            format!("blocking {stage}"),
            theme.title(),
        )));
        for b in &here {
            out.push(blocker_line(b, theme));
        }
    }
    out.push(Line::default());
    match app.selected_next_verdict() {
        Some(v) => {
            let head = format!("next: promote {} to {}", c.short_version(), v.stage);
            if v.allowed {
                out.push(Line::from(vec![
                    Span::styled(head, theme.title()),
                    Span::styled("  ✓ allowed", theme.ok()),
                ]));
            } else {
                out.push(Line::from(vec![
                    Span::styled(head, theme.title()),
                    Span::styled("  ✗ blocked", theme.bad()),
                ]));
                for b in &v.blockers {
                    out.push(blocker_line(b, theme));
                }
            }
        }
        None => out.push(Line::from(Span::styled(
            format!("{stage} is the last stage"),
            theme.dim(),
        ))),
    }

    let metrics = app.world.metrics(&lane.name, stage);
    if !metrics.is_empty() {
        out.push(Line::default());
        out.push(Line::from(Span::styled("metrics", theme.title())));
        for m in metrics {
            let v = m
                .value
                .map(|v| m.format_value(v))
                .unwrap_or_else(|| "no data".into());
            let mark = if m.ok() { "✓" } else { "✗" };
            let mut base = m
                .baseline
                .map(|b| format!(", stable {}", m.format_value(b)))
                .unwrap_or_default();
            if let Some((verdict, test)) = m.canary() {
                base.push_str(&format!("; vs stable: {}", verdict.as_str()));
                if let Some(t) = test {
                    base.push_str(&format!(
                        " ({}, P(worse) {:.2})",
                        t.p_text(),
                        t.p_bad(m.worse())
                    ));
                }
            } else if let Some(z) = anomaly(m) {
                // No stable side to compare with: the single-series hint (docs/analysis.md).
                base.push_str(&format!(
                    "; anomaly: newest {z:+.1}σ from its recent mean (EWMA)"
                ));
            }
            out.push(Line::from(format!(
                "  {mark} {} {v} ({}{base})",
                m.name,
                m.threshold_text()
            )));
        }
    }

    if !c.history.is_empty() {
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            "history (newest first)",
            theme.title(),
        )));
        for h in c.history.iter().take(8) {
            let when =
                h.at.map(|t| format!("{} ago", human_delta(now - t)))
                    .unwrap_or_default();
            let by = h
                .actor
                .as_ref()
                .map(|a| format!(" by {a}"))
                .unwrap_or_default();
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
    scrolling_popup(
        frame,
        area,
        width,
        lines(app, theme),
        "Details",
        app.popup_scroll,
        theme,
    );
}
/// The EWMA z-score of a metric's newest value, when it is worth a look (|z| ≥ 3).
fn anomaly(m: &crate::model::Metric) -> Option<f64> {
    let values: Vec<f64> = m.series.iter().map(|(_, v)| *v).collect();
    crate::model::analysis::ewma_z(&values).filter(|z| z.abs() >= 3.0)
}

#[cfg(test)]
mod anomaly_tests {
    use super::anomaly;
    use crate::model::{Metric, Threshold};

    fn metric(values: &[f64]) -> Metric {
        Metric {
            name: "latency_p99".into(),
            unit: "seconds".into(),
            value: values.last().copied(),
            threshold: Threshold {
                min: None,
                max: Some(0.5),
            },
            baseline: None,
            baseline_series: vec![],
            series: values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as i64, *v))
                .collect(),
            source: String::new(),
            error: None,
            warnings: vec![],
        }
    }

    #[test]
    fn a_spike_on_a_single_series_is_worth_a_look_and_noise_is_not() {
        let steady = [0.2, 0.21, 0.19, 0.2, 0.22, 0.2, 0.21, 0.2];
        assert_eq!(anomaly(&metric(&steady)), None);
        let mut spike = steady.to_vec();
        spike.push(0.45);
        assert!(anomaly(&metric(&spike)).is_some_and(|z| z > 3.0));
    }
}
