//! Metrics of the selected lane at the selected stage: value against threshold, the stable
//! baseline, and a chart of the recent series with the threshold drawn in: a summary line and
//! small bars where room is short, the charts of the metrics view where there is room.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Panel};
use super::charts::{self, MIN_COLS, MIN_ROWS, MetricChart, Spark};
use super::theme::Theme;
use super::ui::{is_focused, pad, panel_block};
use crate::engine::snapshot::MetricView;
use crate::model::Metric;

/// One metric on one line: mark, name, value, threshold, stable value, canary verdict — the
/// words of `MetricState` and of `charts::verdict_text`, as everywhere.
pub fn summary(m: &Metric, view: &MetricView, theme: &Theme, compact: bool) -> Vec<Span<'static>> {
    let marks = charts::marks(theme.charts);
    let (mark, word, style) = charts::state_mark(view, &marks, theme);
    let value = match (view.state.shows_value(), m.value) {
        (true, Some(v)) => m.format_value(v),
        _ => word.to_string(),
    };
    let mut spans = vec![
        Span::styled(format!("{mark} "), style),
        Span::styled(
            format!("{} ", pad(&m.name, if compact { 11 } else { 12 })),
            theme.title(),
        ),
        Span::styled(format!("{value:>6} "), style),
        Span::styled(
            if compact {
                m.threshold_short()
            } else {
                format!("({})", m.threshold_text())
            },
            theme.dim(),
        ),
    ];
    // The source noted something that is not an error (Prometheus' `warnings`): a mark here,
    // the words in the details.
    if !m.warnings.is_empty() {
        let mark = if marks.ascii { "!" } else { "⚠" };
        spans.insert(1, Span::styled(format!("{mark} "), theme.warn()));
    }
    // What is wrong says so in a word too, where there is room for one.
    if !compact && view.state.is_bad() && view.state.shows_value() {
        spans.insert(3, Span::styled(format!("{word} "), style));
    }
    // The verdict before the stable value: where the line is cut, the verdict stays.
    if let Some(span) = verdict_span(m, view, theme, compact) {
        spans.push(span);
    }
    if let Some(b) = m.baseline {
        let v = m.format_value(b);
        let text = if compact {
            format!(" st {v}")
        } else {
            format!(" (stable {v})")
        };
        spans.push(Span::styled(text, theme.dim()));
    }
    // --charts ascii: the line too (≤, ·, … as ASCII).
    if marks.ascii {
        for s in &mut spans {
            s.content = charts::ascii_text(&s.content, theme.charts).into();
        }
    }
    spans
}

/// Canary against stable, in a word: " · vs stable: FAIL" / " cmp:FAIL" (docs/analysis.md).
pub fn verdict_span(
    m: &Metric,
    view: &MetricView,
    theme: &Theme,
    compact: bool,
) -> Option<Span<'static>> {
    let width = if compact { 9 } else { 17 };
    let (text, style) = charts::verdict_text(m, view, width, theme)?;
    let text = if compact {
        format!(" {text}")
    } else {
        format!(" · {text}")
    };
    Some(Span::styled(text, style))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let key = app.selected_key();
    let title = match &key {
        Some(k) => Line::from(vec![
            Span::raw(format!(" Metrics · {} @ ", k.lane)),
            theme.stage(&app.snap.train, &k.stage, Style::new()),
            Span::raw(" "),
        ]),
        None => Line::from(" Metrics "),
    };
    let block = panel_block(title, is_focused(app, Panel::Metrics), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let metrics = app.selected_metrics();
    if metrics.is_empty() {
        let text = match &key {
            Some(k) => format!("no metrics for {} at {}", k.lane, k.stage),
            None => "no lane selected".into(),
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dim())), inner);
        return;
    }
    let n = metrics.len() as u16;
    // Room for a real chart per metric: the charts of the metrics view.
    if inner.height / n >= MIN_ROWS && inner.width >= MIN_COLS {
        let per = inner.height / n;
        let side = key.as_ref().map(|k| &*k.stage).unwrap_or("");
        for (i, (m, view)) in metrics.iter().enumerate() {
            let y = inner.y + i as u16 * per;
            let height = if i + 1 == metrics.len() {
                inner.bottom() - y
            } else {
                per
            };
            let chart = MetricChart {
                metric: m,
                view,
                side,
                now: app.now.timestamp(),
                theme,
                chosen: false,
            };
            frame.render_widget(chart, Rect { y, height, ..inner });
        }
        return;
    }
    // Rows per metric: the summary line, then a bar chart as tall as the room allows (up to 4).
    let per = (inner.height / n).clamp(1, 5);
    let mut y = inner.y;
    for (m, view) in &metrics {
        if y >= inner.y + inner.height {
            break;
        }
        let rows = per.min(inner.y + inner.height - y);
        let line = Rect {
            x: inner.x,
            y,
            width: inner.width,
            height: 1,
        };
        let mut spans = summary(m, view, theme, rows == 1);
        if rows == 1 && inner.width < 60 {
            // Narrow: the sparkline and the verdict say more than the stable value; details
            // has everything.
            spans.truncate(4);
            spans.extend(verdict_span(m, view, theme, true));
        }
        let values: Vec<f64> = m.series.iter().map(|(_, v)| *v).collect();
        // One row: the sparkline goes after the text, in what is left of the line. More rows:
        // the text, and the chart below it.
        let chart = if rows == 1 {
            let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + 1;
            let room = (inner.width as usize).saturating_sub(used);
            (room >= 6).then(|| Rect {
                x: inner.x + used as u16,
                y,
                width: room as u16,
                height: 1,
            })
        } else {
            Some(Rect {
                x: inner.x + 2,
                y: y + 1,
                width: inner.width.saturating_sub(2),
                height: rows - 1,
            })
        };
        frame.render_widget(Paragraph::new(Line::from(spans)), line);
        if let Some(area) = chart.filter(|_| !values.is_empty()) {
            frame.render_widget(Spark::own_bounds(&values, m, theme), area);
        }
        y += rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixture;
    use crate::tui::theme::Charts;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn a_warning_of_the_source_is_marked_and_ascii_stays_ascii() {
        let world = fixture::world();
        let mut m = world.metrics("ledger", "canary")[0].clone();
        let view = MetricView::of(&m, &world, fixture::t(0));
        let plain = Theme::PLAIN;
        assert!(!text(&summary(&m, &view, &plain, false)).contains('⚠'));
        m.warnings = vec!["query returned 2 series; the first is used".into()];
        let line = text(&summary(&m, &view, &plain, false));
        assert!(line.starts_with("✓ ⚠ "), "{line}");
        let ascii = plain.with_charts(Charts::Ascii);
        let line = text(&summary(&m, &view, &ascii, true));
        assert!(line.is_ascii() && line.contains("! "), "{line}");
    }
}
