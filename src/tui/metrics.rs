//! Metrics of the selected lane at the selected stage: value against threshold, the stable
//! baseline, and a chart of the recent series with the threshold drawn in: a summary line and
//! small bars where room is short, the charts of the metrics view where there is room.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::{App, Panel};
use super::charts::{MIN_COLS, MIN_ROWS, MetricChart};
use super::theme::Theme;
use super::ui::{is_focused, pad, panel_block};
use crate::model::{Metric, Threshold};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A small bar chart of a series, `height` rows tall, with the threshold as a dotted row.
/// Bars over the threshold are drawn in the `over` style; without colour they still show as
/// bars crossing the dotted line.
pub struct MiniChart<'a> {
    pub values: &'a [f64],
    pub threshold: Threshold,
    pub style: Style,
    pub over: Style,
}

impl MiniChart<'_> {
    /// The limit drawn as the dotted line: the maximum, or else the minimum.
    fn line(&self) -> Option<f64> {
        self.threshold.max.or(self.threshold.min)
    }

    fn scale(&self) -> f64 {
        let top = self.values.iter().copied().fold(0.0_f64, f64::max);
        let t = self.line().unwrap_or(0.0);
        // The threshold sits at about two thirds of the height unless values go beyond.
        top.max(t * 1.5).max(f64::MIN_POSITIVE)
    }
}

impl Widget for MiniChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let h = area.height as usize;
        let levels = (h * 8) as f64;
        let scale = self.scale();
        let n = self.values.len().min(area.width as usize);
        let values = &self.values[self.values.len() - n..];
        let t_level = self.line().map(|t| ((t / scale) * levels).round() as usize);
        let t_row = t_level.map(|l| l.div_ceil(8).clamp(1, h) - 1);
        // The threshold line across the whole width.
        if let Some(r) = t_row {
            let y = area.y + (h - 1 - r) as u16;
            for x in area.x..area.x + area.width {
                buf[(x, y)].set_char('┈').set_style(Style::new());
            }
        }
        let x0 = area.x + area.width - n as u16;
        for (i, v) in values.iter().enumerate() {
            let level = ((v.max(0.0) / scale) * levels).round() as usize;
            let level = level.max(1);
            let over = !self.threshold.admits(*v);
            let style = if over { self.over } else { self.style };
            for r in 0..h {
                let fill = level.saturating_sub(r * 8).min(8);
                if fill == 0 {
                    continue;
                }
                let y = area.y + (h - 1 - r) as u16;
                buf[(x0 + i as u16, y)]
                    .set_char(BARS[fill - 1])
                    .set_style(style);
            }
        }
    }
}

/// One metric on one line: mark, name, value, threshold, stable value, canary verdict.
pub fn summary(m: &Metric, theme: &Theme, compact: bool) -> Vec<Span<'static>> {
    let (mark, style) = if m.error.is_some() {
        ("E", theme.bad())
    } else if m.ok() {
        ("✓", theme.ok())
    } else {
        ("✗", theme.bad())
    };
    let value = match (&m.error, m.value) {
        (Some(_), _) => "error".to_string(),
        (None, Some(v)) => m.format_value(v),
        (None, None) => "no data".to_string(),
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
    // A breach says so in a word too, where there is room for one.
    if !compact && m.error.is_none() && m.value.is_some() && !m.ok() {
        spans.insert(3, Span::styled("BREACH ", style));
    }
    if let Some(b) = m.baseline {
        let label = if compact { " st " } else { " stable " };
        spans.push(Span::styled(
            format!("{label}{}", m.format_value(b)),
            theme.dim(),
        ));
    }
    if let Some(span) = verdict_span(m, theme, compact) {
        spans.push(span);
    }
    spans
}

/// Canary against stable, in a word: " vs stable: FAIL" / " cmp:FAIL" (docs/analysis.md).
pub fn verdict_span(m: &Metric, theme: &Theme, compact: bool) -> Option<Span<'static>> {
    use crate::model::analysis::Verdict;
    let (verdict, _) = m.canary()?;
    let (word, short, style) = match verdict {
        Verdict::Fail => ("FAIL", "FAIL", theme.bad()),
        Verdict::Marginal => ("marginal", "marg", theme.warn()),
        Verdict::Pass => ("pass", "pass", theme.ok()),
        Verdict::NoData => ("no data", "n/a", theme.dim()),
    };
    let text = if compact {
        format!(" cmp:{short}")
    } else {
        format!(" · vs stable: {word}")
    };
    Some(Span::styled(text, style))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let key = app.selected_key();
    let title = match &key {
        Some(k) => format!(" Metrics · {} @ {} ", k.lane, k.stage),
        None => " Metrics ".to_string(),
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
        let side = key.as_ref().map(|k| k.stage.as_str()).unwrap_or("");
        for (i, m) in metrics.iter().enumerate() {
            let y = inner.y + i as u16 * per;
            let height = if i + 1 == metrics.len() {
                inner.bottom() - y
            } else {
                per
            };
            let chart = MetricChart {
                metric: m,
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
    for m in metrics {
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
        let mut spans = summary(m, theme, rows == 1);
        if rows == 1 && inner.width < 60 {
            // Narrow: the sparkline and the verdict say more than the stable value; details
            // has everything.
            spans.truncate(4);
            spans.extend(verdict_span(m, theme, true));
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
            let chart = MiniChart {
                values: &values,
                threshold: m.threshold,
                style: theme.ok(),
                over: theme.bad(),
            };
            frame.render_widget(chart, area);
        }
        y += rows;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(values: &[f64], max: Option<f64>, w: u16, h: u16) -> Vec<String> {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        MiniChart {
            values,
            threshold: Threshold { min: None, max },
            style: Style::new(),
            over: Style::new(),
        }
        .render(area, &mut buf);
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn chart_draws_threshold_and_bars() {
        let rows = render(&[0.0, 0.005, 0.01, 0.015], Some(0.01), 6, 3);
        assert_eq!(rows.len(), 3);
        // The threshold row is dotted where no bar reaches.
        assert!(rows.iter().any(|r| r.starts_with("┈┈")), "{rows:#?}");
        // The last value is over the threshold: its bar reaches the top part.
        assert_ne!(rows[0].chars().last(), Some(' '), "{rows:#?}");
        // The first value is zero: a minimal bar at the bottom.
        assert_eq!(rows[2].chars().nth(2), Some('▁'), "{rows:#?}");
    }

    #[test]
    fn chart_fits_any_area() {
        render(&[1.0; 100], None, 5, 1);
        render(&[], Some(1.0), 5, 2);
        render(&[f64::MAX, 0.0], Some(0.0), 3, 4);
    }

    #[test]
    fn values_under_a_minimum_are_marked() {
        use ratatui::style::Modifier;
        let area = Rect::new(0, 0, 3, 1);
        let mut buf = Buffer::empty(area);
        MiniChart {
            values: &[0.99, 0.5, 0.995],
            threshold: Threshold {
                min: Some(0.9),
                max: None,
            },
            style: Style::new(),
            over: Style::new().add_modifier(Modifier::BOLD),
        }
        .render(area, &mut buf);
        assert!(!buf[(0, 0)].modifier.contains(Modifier::BOLD));
        assert!(buf[(1, 0)].modifier.contains(Modifier::BOLD));
        assert!(!buf[(2, 0)].modifier.contains(Modifier::BOLD));
    }
}
