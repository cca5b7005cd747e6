//! The metrics view (`m`): a chart per metric of the selected lane at the selected stage, and
//! under them the overview: one row per lane with a sparkline of the chosen metric at that
//! stage, on one scale, so the lane that breaches stands out — by its bars, and by `✗ BREACH`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::App;
use super::charts::{self, MIN_COLS, MIN_ROWS, MetricChart, Spark};
use super::keymap::Group;
use super::theme::Theme;
use super::ui::{fit, pad, panel_block, width as cols};
use crate::engine::snapshot::MetricView;
use crate::model::Metric;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let lanes = app.visible_lanes().len() as u16;
    // The overview gets a row per lane, up to two fifths of the screen; the charts the rest.
    let over_h = (lanes.max(1) + 2).min((area.height * 2 / 5).max(5));
    let [top, over] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(over_h)]).areas(area);
    draw_charts(frame, top, app, theme);
    draw_overview(frame, over, app, theme);
}

/// Rows for each of `n` charts in `height` rows, and how many get a chart at all; the others
/// get a summary line each.
pub fn chart_rows(n: usize, height: u16) -> (usize, u16) {
    let n16 = n as u16;
    if n == 0 {
        return (0, 0);
    }
    if n16 * MIN_ROWS <= height {
        return (n, height / n16);
    }
    // As many charts as fit beside one summary line for each of the others.
    let k = (0..n16)
        .rev()
        .find(|k| k * MIN_ROWS + (n16 - k) <= height)
        .unwrap_or(0);
    if k == 0 {
        return (0, 0);
    }
    (k as usize, (height - (n16 - k)) / k)
}

fn draw_charts(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let key = app.selected_key();
    let cell = app.selected_cell();
    // The heading: what the charts are of.
    let mut heading = vec![Span::styled(" Metrics ", theme.title())];
    match &key {
        Some(k) => {
            heading.push(Span::raw(format!("· {} @ ", k.lane)));
            heading.push(theme.stage(&app.snap.train, &k.stage, Style::new()));
            if let Some(c) = cell {
                heading.push(Span::styled(
                    format!(
                        "  {} {} {}",
                        c.state.glyph(),
                        c.short_version(),
                        c.state_word()
                    ),
                    theme.state(c.state),
                ));
            }
        }
        None => heading.push(Span::styled("· no lane selected", theme.dim())),
    }
    frame.render_widget(
        Paragraph::new(Line::from(heading)),
        Rect { height: 1, ..area },
    );
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let metrics = app.selected_metrics();
    if metrics.is_empty() {
        let text = match &key {
            Some(k) => format!(
                "no metrics for {} at {}: {} pick another stage, {} another lane",
                k.lane,
                k.stage,
                app.keys.group(Group::Stage),
                app.keys.group(Group::Scroll)
            ),
            None => "no lane selected".into(),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), theme.dim())),
            body,
        );
        return;
    }
    let chosen = app.chosen_metric();
    // The chosen metric's chart comes first, then the ones after it.
    let start = metrics
        .iter()
        .position(|(m, _)| chosen.as_deref() == Some(&*m.name))
        .unwrap_or(0);
    let order: Vec<usize> = (0..metrics.len())
        .map(|i| (start + i) % metrics.len())
        .collect();
    let (k, rows) = if body.width >= MIN_COLS {
        chart_rows(metrics.len(), body.height)
    } else {
        (0, 0)
    };
    let side = key.as_ref().map(|k| &*k.stage).unwrap_or("");
    let mut y = body.y;
    for (j, &i) in order[..k].iter().enumerate() {
        // The last chart takes what the division leaves over.
        let h = if j + 1 == k {
            body.bottom() - y - (metrics.len() - k) as u16
        } else {
            rows
        };
        let (m, view) = metrics[i];
        frame.render_widget(
            MetricChart {
                metric: m,
                view,
                side,
                now: app.now.timestamp(),
                theme,
                chosen: chosen.as_deref() == Some(&*m.name),
            },
            Rect {
                y,
                height: h,
                ..body
            },
        );
        y += h;
    }
    // The metrics without a chart: one summary line each, in their own order.
    let mut rest: Vec<usize> = order[k..].to_vec();
    rest.sort_unstable();
    for i in rest {
        if y >= body.bottom() {
            break;
        }
        let (m, view) = metrics[i];
        let mut spans = vec![Span::raw(if chosen.as_deref() == Some(&*m.name) {
            "▸"
        } else {
            " "
        })];
        spans.extend(super::metrics::summary(m, view, theme, body.width < 60));
        frame.render_widget(
            Paragraph::new(Line::from(spans)),
            Rect {
                y,
                height: 1,
                ..body
            },
        );
        y += 1;
    }
}

/// One lane's row of the overview: what the lane has of the chosen metric at the stage.
struct Row<'a> {
    lane: &'a str,
    selected: bool,
    metric: Option<(&'a Metric, &'a MetricView)>,
}

impl Row<'_> {
    /// Bad news at this lane: a breach, an error, or data gone stale.
    fn breach(&self) -> bool {
        self.metric.is_some_and(|(_, v)| v.state.is_bad())
    }
}

fn draw_overview(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height < 3 {
        return;
    }
    let stage = &app.snap.train.stages[app.sel_stage];
    let label = app.snap.train.stage_label(stage);
    let chosen = app.chosen_metric();
    // Once per frame, not once per row: both walk the visible lanes.
    let visible = app.visible_lanes();
    let selected = app.selected_lane();
    let rows: Vec<Row> = visible
        .iter()
        .map(|&i| {
            let lane = &app.snap.train.lanes[i].name;
            Row {
                lane,
                selected: selected == Some(i),
                metric: chosen.as_ref().and_then(|c| {
                    app.snap
                        .metrics(i, app.sel_stage)
                        .find(|(m, _)| *m.name == **c)
                }),
            }
        })
        .collect();
    let breaches = rows.iter().filter(|r| r.breach()).count();
    let marks = charts::marks(theme.charts);
    let title = match &chosen {
        Some(name) => {
            let slo = rows
                .iter()
                .find_map(|r| r.metric)
                .map(|(m, _)| format!(" · SLO {}", m.threshold_short()))
                .unwrap_or_default();
            let out = match breaches {
                0 => String::new(),
                n => format!(" · {n} {} BREACH", marks.bad),
            };
            charts::ascii_text(
                &format!(
                    " Overview · {name} @ {label}{slo}{out} · {} metric ",
                    app.keys.group(Group::Metric)
                ),
                theme.charts,
            )
        }
        None => format!(" Overview · no metrics at {label} "),
    };
    let title = fit(&title, area.width.saturating_sub(2) as usize);
    let style = if app.snap.train.is_protected(stage) {
        theme.protected()
    } else {
        Style::new()
    };
    let block = panel_block(Span::styled(title, style), false, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if chosen.is_none() || inner.height == 0 {
        return;
    }
    // One scale for every lane: the outlier is the tall one.
    let bounds = charts::y_bounds(rows.iter().filter_map(|r| r.metric).flat_map(|(m, _)| {
        m.series
            .iter()
            .map(|(_, v)| *v)
            .chain(m.threshold.max)
            .chain(m.threshold.min)
    }));
    // The rows that fit, keeping the selected lane in sight; a last row tells what is hidden.
    let n = rows.len();
    let fits = inner.height as usize;
    let (from, shown) = if n <= fits {
        (0, n)
    } else {
        let shown = fits.saturating_sub(1);
        let sel = rows.iter().position(|r| r.selected).unwrap_or(0);
        let from = (sel + 1).saturating_sub(shown).min(n - shown);
        (from, shown)
    };
    let name_w = rows
        .iter()
        .map(|r| cols(r.lane))
        .max()
        .unwrap_or(4)
        .clamp(4, 18);
    let with_verdict = inner.width >= 70;
    for (j, r) in rows[from..from + shown].iter().enumerate() {
        let y = inner.y + j as u16;
        let line_area = Rect {
            y,
            height: 1,
            ..inner
        };
        let name = pad(r.lane, name_w);
        let mut left = vec![
            Span::raw(if r.selected { "▸" } else { " " }),
            Span::styled(
                name,
                if r.selected {
                    theme.selected()
                } else if r.breach() {
                    theme.bad()
                } else {
                    Style::new()
                },
            ),
            Span::raw(" "),
        ];
        let Some((m, view)) = r.metric else {
            left.push(Span::styled(format!("· no {stage} data"), theme.dim()));
            frame.render_widget(Paragraph::new(Line::from(left)), line_area);
            continue;
        };
        let (mark, word, style) = charts::state_mark(view, &marks, theme);
        let value = match (view.state.shows_value(), m.value) {
            (true, Some(v)) => charts::value_text(m, v),
            _ => "-".into(),
        };
        let mut right = vec![
            Span::styled(format!(" {value:>8} "), style),
            Span::styled(format!("{mark} {word:<7}"), style),
        ];
        if with_verdict && let Some(span) = super::metrics::verdict_span(m, view, theme, true) {
            right.push(span);
        }
        let used = |s: &[Span]| s.iter().map(|s| s.width()).sum::<usize>();
        let room = (inner.width as usize).saturating_sub(used(&left) + used(&right) + 1);
        let spark_w = room as u16;
        let spark_x = inner.x + used(&left) as u16;
        let mut spans = left;
        spans.push(Span::raw(" ".repeat(room)));
        spans.extend(right);
        frame.render_widget(Paragraph::new(Line::from(spans)), line_area);
        if spark_w >= 4 {
            let values: Vec<f64> = m.series.iter().map(|(_, v)| *v).collect();
            frame.render_widget(
                Spark {
                    values: &values,
                    bounds,
                    metric: m,
                    charts: theme.charts,
                    style: theme.series(),
                    over: theme.bad(),
                },
                Rect {
                    x: spark_x,
                    y,
                    width: spark_w,
                    height: 1,
                },
            );
        }
    }
    if shown < n {
        let hidden: Vec<&Row> = rows[..from].iter().chain(&rows[from + shown..]).collect();
        let hidden_breaches = hidden.iter().filter(|r| r.breach()).count();
        let mut text = format!(
            " +{} more ({})",
            hidden.len(),
            app.keys.group(Group::Scroll)
        );
        let mut style = theme.dim();
        if hidden_breaches > 0 {
            text.push_str(&format!(
                " · {hidden_breaches} {} BREACH among them",
                marks.bad
            ));
            style = theme.bad();
        }
        frame.render_widget(
            Paragraph::new(Span::styled(fit(&text, inner.width as usize), style)),
            Rect {
                y: inner.y + shown as u16,
                height: 1,
                ..inner
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_get_the_rows_and_the_rest_a_line_each() {
        // Room for all three.
        assert_eq!(chart_rows(3, 34), (3, 11));
        assert_eq!(chart_rows(3, 27), (3, 9));
        // Room for one chart and two summary lines (80×24).
        assert_eq!(chart_rows(3, 12), (1, 10));
        // Two charts and one line.
        assert_eq!(chart_rows(3, 19), (2, 9));
        // Too little for any chart: summary lines only.
        assert_eq!(chart_rows(3, 8), (0, 0));
        assert_eq!(chart_rows(1, 5), (0, 0));
        assert_eq!(chart_rows(0, 40), (0, 0));
        assert_eq!(chart_rows(1, 40), (1, 40));
    }
}
