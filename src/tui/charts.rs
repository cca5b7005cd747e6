//! Charts of metric series, drawn the same way wherever they appear (the metrics view and a
//! roomy metrics panel): one ratatui `Chart` per metric with the selected side's series, the
//! stable side's on the same axes when there is one, and the SLO as a horizontal line; and a
//! one-row sparkline for the train overview.
//!
//! The marks follow [`Charts`]: braille (the finest), one dot per cell for fonts without
//! braille, or nothing but ASCII. Every series has its own mark and a legend names it, so a
//! chart reads without colour; a breach says `✗ … BREACH` in the title.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Borders, Chart, Dataset, GraphType, Paragraph, Widget, Wrap,
};

use super::theme::{Charts, Theme};
use crate::engine::snapshot::{CanaryVerdict as Verdict, MIN_SAMPLES, MetricView, Trend};
use crate::model::{Metric, MetricState};

/// Rows a chart needs: its border, the legend, four rows of graph (fewer say little, least of
/// all with one dot per cell), the x axis and its labels.
pub const MIN_ROWS: u16 = 9;
/// Columns a chart needs to show a graph beside its y labels.
pub const MIN_COLS: u16 = 24;

/// The glyphs of one way of drawing.
pub struct Marks {
    /// Nothing but ASCII.
    pub ascii: bool,
    pub ok: &'static str,
    pub bad: &'static str,
    pub err: &'static str,
    pub chosen: &'static str,
    up: &'static str,
    down: &'static str,
    flat: &'static str,
    line: Marker,
    stable: Marker,
    slo: Marker,
    /// How each series looks in the legend.
    pub line_key: &'static str,
    pub stable_key: &'static str,
    pub slo_key: &'static str,
    /// Sparkline levels, lowest first.
    levels: [char; 8],
}

pub fn marks(c: Charts) -> Marks {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    match c {
        Charts::Braille => Marks {
            ascii: false,
            ok: "✓",
            bad: "✗",
            err: "E",
            chosen: "▸",
            up: "↗",
            down: "↘",
            flat: "→",
            line: Marker::Braille,
            stable: Marker::Custom('·'),
            slo: Marker::Custom('┈'),
            line_key: "⠔⠊",
            stable_key: "··",
            slo_key: "┈┈",
            levels: BARS,
        },
        // Fonts without braille: marks from the common core of terminal fonts (WGL4).
        Charts::Dot => Marks {
            ascii: false,
            ok: "✓",
            bad: "✗",
            err: "E",
            chosen: "▸",
            up: "↑",
            down: "↓",
            flat: "→",
            line: Marker::Dot,
            stable: Marker::Custom('·'),
            slo: Marker::Custom('-'),
            line_key: "••",
            stable_key: "··",
            slo_key: "--",
            levels: BARS,
        },
        Charts::Ascii => Marks {
            ascii: true,
            ok: "o",
            bad: "X",
            err: "E",
            chosen: ">",
            up: "^",
            down: "v",
            flat: "=",
            line: Marker::Custom('*'),
            stable: Marker::Custom('.'),
            slo: Marker::Custom('-'),
            line_key: "**",
            stable_key: "..",
            slo_key: "--",
            levels: ['_', '.', ':', '-', '=', '+', '*', '#'],
        },
    }
}

impl Marks {
    pub fn trend(&self, t: Trend) -> &'static str {
        match t {
            Trend::Rising => self.up,
            Trend::Falling => self.down,
            Trend::Flat => self.flat,
        }
    }
}

/// Text made ASCII where the charts must be: the threshold's signs.
pub(super) fn ascii_text(s: &str, charts: Charts) -> String {
    if charts != Charts::Ascii {
        return s.to_string();
    }
    s.replace(" · ", "; ")
        .replace('·', ".")
        .replace('≤', "<=")
        .replace('≥', ">=")
        .replace('–', "-")
        .replace('…', "~")
        .replace(crate::model::train::PROTECTED_MARK, "!")
        .chars()
        .map(|c| if c.is_ascii() { c } else { '?' })
        .collect()
}

/// What a metric's state is, in a glyph and a word (`MetricState`'s, the one vocabulary):
/// `✓ ok`, `✗ BREACH`, `E ERROR`, `~ STALE`, `· no data`.
pub fn state_mark(
    view: &MetricView,
    marks: &Marks,
    theme: &Theme,
) -> (&'static str, &'static str, Style) {
    let st = view.state;
    let glyph = match st {
        MetricState::Ok => marks.ok,
        MetricState::Breach => marks.bad,
        MetricState::Error => marks.err,
        other => other.glyph(marks.ascii),
    };
    let style = match st {
        MetricState::Ok => theme.ok(),
        MetricState::NoData => theme.dim(),
        MetricState::Stale => theme.warn(),
        _ => theme.bad(),
    };
    (glyph, st.word(), style)
}

/// A value with its unit: the units `format_value` knows carry their own sign (`%`, `ms`,
/// `/s`); any other is written after the number.
pub fn value_text(m: &Metric, v: f64) -> String {
    let s = m.format_value(v);
    match &*m.unit {
        "ratio" | "percent" | "seconds" | "rps" | "" => s,
        unit => format!("{s} {unit}"),
    }
}

/// "-5m", "-2m30s", "-45s", "-1h30m": how long before now, short, for an axis.
pub fn ago(secs: i64) -> String {
    let s = secs.max(0);
    if s == 0 {
        return "now".into();
    }
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    match (h, m, sec) {
        (0, 0, sec) => format!("-{sec}s"),
        (0, m, 0) => format!("-{m}m"),
        (0, m, sec) => format!("-{m}m{sec}s"),
        (h, 0, _) => format!("-{h}h"),
        (h, m, _) => format!("-{h}h{m}m"),
    }
}

/// The y range that shows every value given (series and thresholds) with a little room; it
/// starts at zero for values that are all positive and not far from it, so a small wiggle
/// does not look like a cliff.
pub fn y_bounds(values: impl IntoIterator<Item = f64>) -> [f64; 2] {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return [0.0, 1.0];
    }
    let span = hi - lo;
    let span = if span > 0.0 {
        span
    } else if hi != 0.0 {
        hi.abs() * 0.2
    } else {
        1.0
    };
    let mut low = lo - span * 0.1;
    let high = hi + span * 0.1;
    if lo >= 0.0 && (low < 0.0 || lo <= span) {
        low = 0.0;
    }
    [low, high]
}

/// Canary against stable in words, as long as `width` allows: "vs stable: FAIL · p<0.001 ·
/// P(worse) 0.97", "vs stable: FAIL p<0.001", "vs stable: FAIL", "cmp:FAIL" — the one wording
/// of a verdict, for charts, the metrics panel and the details. `None` without a stable
/// series, or without room for even the shortest.
pub fn verdict_text(
    m: &Metric,
    view: &MetricView,
    width: usize,
    theme: &Theme,
) -> Option<(String, Style)> {
    let (verdict, test) = view.canary.as_ref()?;
    let word = verdict.word();
    let style = match verdict {
        Verdict::Fail => theme.bad(),
        Verdict::Marginal => theme.warn(),
        Verdict::Pass => theme.ok(),
        Verdict::NoData => theme.dim(),
    };
    let mut options = Vec::new();
    if let Some(t) = test {
        let p = t.p_text();
        let worse = t.p_bad(m.worse());
        options.push(format!("vs stable: {word} · {p} · P(worse) {worse:.2}"));
        options.push(format!("vs stable: {word} {p}"));
    } else if *verdict == Verdict::NoData {
        options.push(format!("vs stable: no data (under {MIN_SAMPLES} samples)"));
    }
    options.push(format!("vs stable: {word}"));
    options.push(format!("cmp:{}", verdict.short()));
    let text = options.into_iter().find(|o| super::ui::width(o) <= width)?;
    Some((text, style))
}

/// A piece of a title and how readily it goes when the title is too long (0: never).
struct Piece {
    text: String,
    style: Style,
    drop: u8,
}

/// The pieces that fit `width`, dropping the most expendable first; what still does not fit
/// is cut.
fn fit_pieces(mut pieces: Vec<Piece>, width: usize) -> Line<'static> {
    let total = |p: &[Piece]| p.iter().map(|p| super::ui::width(&p.text)).sum::<usize>();
    while total(&pieces) > width {
        let Some(worst) = pieces.iter().map(|p| p.drop).max().filter(|d| *d > 0) else {
            break;
        };
        let i = pieces.iter().rposition(|p| p.drop == worst).unwrap_or(0);
        pieces.remove(i);
    }
    let mut used = 0;
    let mut spans = Vec::new();
    for p in pieces {
        let room = width.saturating_sub(used);
        if room == 0 {
            break;
        }
        let text = super::ui::fit(&p.text, room);
        used += super::ui::width(&text);
        spans.push(Span::styled(text, p.style));
    }
    Line::from(spans)
}

/// One metric's chart: a bordered block titled with the state (`✗ error_rate 1.36% ↗ rising
/// BREACH`), the canary verdict on the bottom border, a legend row, and the graph.
pub struct MetricChart<'a> {
    pub metric: &'a Metric,
    /// The engine's judgement of it.
    pub view: &'a MetricView,
    /// What the main series is ("canary", "prod"): its name in the legend.
    pub side: &'a str,
    /// Now, in unix seconds: the x axis runs up to it.
    pub now: i64,
    pub theme: &'a Theme,
    /// The metric the overview follows: marked in the title.
    pub chosen: bool,
}

impl MetricChart<'_> {
    fn title(&self, marks: &Marks, width: usize) -> Line<'static> {
        let m = self.metric;
        let theme = self.theme;
        let (mark, word, style) = state_mark(self.view, marks, theme);
        let mut pieces = Vec::new();
        if self.chosen {
            pieces.push(Piece {
                text: marks.chosen.into(),
                style: theme.title(),
                drop: 0,
            });
        }
        pieces.push(Piece {
            text: format!(" {mark} "),
            style,
            drop: 0,
        });
        pieces.push(Piece {
            text: m.name.to_string(),
            style: theme.title(),
            drop: 0,
        });
        if let (true, Some(v)) = (self.view.state.shows_value(), m.value) {
            pieces.push(Piece {
                text: format!(" {}", value_text(m, v)),
                style,
                drop: 0,
            });
        }
        if let Some(t) = self.view.trend {
            pieces.push(Piece {
                text: format!(" {}", marks.trend(t)),
                style: Style::new(),
                drop: 2,
            });
            pieces.push(Piece {
                text: format!(" {}", t.as_str()),
                style: theme.dim(),
                drop: 4,
            });
        }
        pieces.push(Piece {
            text: format!(" {word}"),
            style,
            // The word of a breach or an error stays; "ok" may go.
            drop: if word == "ok" { 3 } else { 0 },
        });
        pieces.push(Piece {
            text: " ".into(),
            style: Style::new(),
            drop: 1,
        });
        let mut line = fit_pieces(pieces, width);
        if self.theme.charts == Charts::Ascii {
            for s in &mut line.spans {
                s.content = ascii_text(&s.content, Charts::Ascii).into();
            }
        }
        line
    }

    /// The legend row: each series' mark and name (and its newest value when there is room).
    fn legend(&self, marks: &Marks, width: usize) -> Line<'static> {
        let m = self.metric;
        let charts = self.theme.charts;
        let last = |s: &[(i64, f64)]| s.last().map(|(_, v)| value_text(m, *v));
        let mut entries: Vec<(String, String, Option<String>, Style)> = vec![(
            marks.line_key.into(),
            self.side.to_string(),
            last(&m.series),
            self.theme.series(),
        )];
        if !m.baseline_series.is_empty() {
            entries.push((
                marks.stable_key.into(),
                "stable".into(),
                last(&m.baseline_series),
                self.theme.stable_series(),
            ));
        }
        if m.threshold.min.is_some() || m.threshold.max.is_some() {
            entries.push((
                marks.slo_key.into(),
                format!("SLO {}", ascii_text(&m.threshold_short(), charts)),
                None,
                self.theme.slo(),
            ));
        }
        let render = |with_values: bool, gap: &str| {
            let mut spans = Vec::new();
            for (i, (key, name, value, style)) in entries.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::raw(gap.to_string()));
                }
                spans.push(Span::styled(format!("{key} "), *style));
                let text = match value.as_ref().filter(|_| with_values) {
                    Some(v) => format!("{name} {v}"),
                    None => name.clone(),
                };
                spans.push(Span::raw(ascii_text(&text, charts)));
            }
            Line::from(spans)
        };
        [render(true, "   "), render(false, "  "), render(false, " ")]
            .into_iter()
            .find(|l| l.width() <= width)
            .unwrap_or_else(|| {
                let l = render(false, " ");
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                Line::from(super::ui::fit(&text, width))
            })
    }
}

/// Points of a series with x as seconds relative to `now`.
fn relative(series: &[(i64, f64)], now: i64) -> Vec<(f64, f64)> {
    series
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(t, v)| ((t - now) as f64, *v))
        .collect()
}

impl Widget for MetricChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 4 || area.height < 2 {
            return;
        }
        let m = self.metric;
        let marks = marks(self.theme.charts);
        let width = area.width.saturating_sub(2) as usize;
        let mut block = Block::default()
            .borders(Borders::ALL)
            .border_type(if self.chosen {
                BorderType::Thick
            } else {
                BorderType::Plain
            })
            .title(self.title(&marks, width));
        if let Some((text, style)) = verdict_text(m, self.view, width.saturating_sub(2), self.theme)
        {
            block = block.title_bottom(
                Line::from(Span::styled(
                    format!(" {} ", ascii_text(&text, self.theme.charts)),
                    style,
                ))
                .right_aligned(),
            );
        }
        let inner = block.inner(area);
        block.render(area, buf);
        self.body(inner, buf, &marks);
        if self.theme.charts == Charts::Ascii {
            to_ascii(area, buf);
        }
    }
}

impl MetricChart<'_> {
    fn body(&self, inner: Rect, buf: &mut Buffer, marks: &Marks) {
        let m = self.metric;
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        if let Some(e) = self
            .view
            .error
            .as_ref()
            .filter(|_| self.view.state == MetricState::Error)
        {
            Paragraph::new(Span::styled(
                ascii_text(&format!("error: {e}"), self.theme.charts),
                self.theme.bad(),
            ))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
            return;
        }
        let main = relative(&m.series, self.now);
        let stable = relative(&m.baseline_series, self.now);
        if main.is_empty() {
            Paragraph::new(Span::styled("no samples to chart yet", self.theme.dim()))
                .render(inner, buf);
            return;
        }
        // The legend on the first row, when there is a graph to go with it.
        let legend = inner.height >= 4;
        if legend {
            let row = Rect { height: 1, ..inner };
            Paragraph::new(self.legend(marks, inner.width as usize)).render(row, buf);
        }
        let graph = Rect {
            y: inner.y + u16::from(legend),
            height: inner.height - u16::from(legend),
            ..inner
        };
        if graph.width < MIN_COLS - 2 || graph.height < 3 {
            return;
        }
        let x0 = main
            .iter()
            .chain(&stable)
            .map(|p| p.0)
            .fold(f64::INFINITY, f64::min);
        let x1 = main
            .iter()
            .chain(&stable)
            .map(|p| p.0)
            .fold(0.0_f64, f64::max);
        let x0 = if x1 - x0 >= 1.0 { x0 } else { x1 - 60.0 };
        let limits: Vec<f64> = [m.threshold.max, m.threshold.min]
            .into_iter()
            .flatten()
            .collect();
        let y = y_bounds(
            main.iter()
                .chain(&stable)
                .map(|p| p.1)
                .chain(limits.iter().copied()),
        );
        let slo_lines: Vec<[(f64, f64); 2]> = limits.iter().map(|l| [(x0, *l), (x1, *l)]).collect();

        // Drawn in this order: the SLO lines, stable, then the canary on top.
        let line = |marker, style, data| {
            Dataset::default()
                .marker(marker)
                .graph_type(GraphType::Line)
                .style(style)
                .data(data)
        };
        let mut datasets: Vec<Dataset> = slo_lines
            .iter()
            .map(|l| line(marks.slo, self.theme.slo(), l))
            .collect();
        if !stable.is_empty() {
            datasets.push(line(marks.stable, self.theme.stable_series(), &stable));
        }
        datasets.push(line(marks.line, self.theme.series(), &main));

        // Axis labels: the y range in the metric's unit; x as time before now.
        let plot_h = graph.height.saturating_sub(2);
        let y_labels: Vec<Line> = if plot_h >= 5 {
            vec![y[0], (y[0] + y[1]) / 2.0, y[1]]
        } else {
            vec![y[0], y[1]]
        }
        .into_iter()
        .map(|v| Line::from(value_text(m, v)))
        .collect();
        let span = (x1 - x0).round() as i64;
        let x_labels: Vec<Line> = if graph.width >= 40 {
            vec![ago(span), ago(span / 2), ago(0)]
        } else {
            vec![ago(span), ago(0)]
        }
        .into_iter()
        .map(Line::from)
        .collect();
        let axis = self.theme.dim();
        Chart::new(datasets)
            .legend_position(None)
            .x_axis(
                Axis::default()
                    .bounds([x0, x1])
                    .labels(x_labels)
                    .style(axis),
            )
            .y_axis(
                Axis::default()
                    .bounds(y)
                    .labels(y_labels)
                    .labels_alignment(Alignment::Right)
                    .style(axis),
            )
            .render(graph, buf);
    }
}

/// Box-drawing characters as ASCII, for the ASCII mode: everything a chart draws besides its
/// marks and text (which are ASCII already) is a border or an axis.
pub fn to_ascii(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &mut buf[(x, y)];
            let ascii = match cell.symbol() {
                "─" | "━" | "┈" | "┄" | "╌" | "═" => "-",
                "│" | "┃" | "║" => "|",
                "┌" | "┐" | "└" | "┘" | "┏" | "┓" | "┗" | "┛" | "╭" | "╮" | "╰" | "╯" => {
                    "+"
                }
                s if s.is_ascii() => continue,
                _ => "?",
            };
            cell.set_symbol(ascii);
        }
    }
}

/// The one sparkline: the newest values (newest at the right) as bars `area.height` rows tall,
/// on a scale given (shared between rows, so that an outlier shows as taller than its
/// neighbours) or its own ([`Spark::own_bounds`]). With two rows or more the threshold is a
/// dotted row. Values outside the threshold take the `over` style, and with no colour they
/// still show as bars crossing that row. The marks follow [`Charts`]: ASCII draws ASCII.
pub struct Spark<'a> {
    pub values: &'a [f64],
    /// The scale: `y_bounds` of the values and the threshold.
    pub bounds: [f64; 2],
    pub metric: &'a Metric,
    pub charts: Charts,
    pub style: Style,
    pub over: Style,
}

impl<'a> Spark<'a> {
    /// A sparkline on its own scale: its values and the threshold.
    pub fn own_bounds(values: &'a [f64], metric: &'a Metric, theme: &Theme) -> Spark<'a> {
        let limits = [metric.threshold.max, metric.threshold.min];
        Spark {
            values,
            bounds: y_bounds(values.iter().copied().chain(limits.into_iter().flatten())),
            metric,
            charts: theme.charts,
            style: theme.ok(),
            over: theme.bad(),
        }
    }
}

impl Widget for Spark<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let marks = marks(self.charts);
        let rows = area.height as usize;
        let steps = (rows * 8) as f64;
        let n = self.values.len().min(area.width as usize);
        let values = &self.values[self.values.len() - n..];
        let [lo, hi] = self.bounds;
        let span = (hi - lo).max(f64::MIN_POSITIVE);
        let level = |v: f64| (((v - lo) / span) * steps).ceil().clamp(1.0, steps) as usize;
        let t = &self.metric.threshold;
        if rows >= 2
            && let Some(limit) = t.max.or(t.min)
        {
            let r = level(limit).div_ceil(8).clamp(1, rows) - 1;
            let y = area.y + (rows - 1 - r) as u16;
            let dot = if marks.ascii { '-' } else { '┈' };
            for x in area.left()..area.right() {
                buf[(x, y)].set_char(dot).set_style(Style::new());
            }
        }
        let x0 = area.x + area.width - n as u16;
        for (i, v) in values.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let l = level(*v);
            let style = if t.admits(*v) { self.style } else { self.over };
            for r in 0..rows {
                let fill = l.saturating_sub(r * 8).min(8);
                if fill == 0 {
                    continue;
                }
                let y = area.y + (rows - 1 - r) as u16;
                buf[(x0 + i as u16, y)]
                    .set_char(marks.levels[fill - 1])
                    .set_style(style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixture;

    fn metric(lane: &str, name: &str) -> Metric {
        fixture::world()
            .metrics(lane, "canary")
            .iter()
            .find(|m| *m.name == *name)
            .unwrap()
            .clone()
    }

    /// The engine's judgement of `m` in the fixture world.
    fn view(m: &Metric) -> MetricView {
        MetricView::of(m, &fixture::world(), fixture::t(0))
    }

    fn render(m: &Metric, charts: Charts, w: u16, h: u16) -> (Vec<String>, Buffer) {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        let theme = Theme::PLAIN.with_charts(charts);
        MetricChart {
            metric: m,
            view: &view(m),
            side: "canary",
            now: fixture::t(0).timestamp(),
            theme: &theme,
            chosen: false,
        }
        .render(area, &mut buf);
        let rows = (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        (rows, buf)
    }

    /// The rows of `lane`'s metric `name` at canary, drawn `w` × `h` with `charts`.
    fn rows_of(lane: &str, name: &str, charts: Charts, w: u16, h: u16) -> Vec<String> {
        render(&metric(lane, name), charts, w, h).0
    }

    #[test]
    fn a_breach_says_so_in_glyph_and_word_and_an_ok_metric_does_not() {
        let rows = rows_of("search-indexer", "error_rate", Charts::Braille, 70, 14);
        assert!(
            rows[0].contains("✗ error_rate 1.36%") && rows[0].contains("BREACH"),
            "{rows:#?}"
        );
        assert!(rows[0].contains("↗ rising"), "{rows:#?}");
        let rows = rows_of("payments-api", "error_rate", Charts::Braille, 70, 14);
        assert!(rows[0].contains("✓ error_rate"), "{rows:#?}");
        assert!(!rows.concat().contains("BREACH"), "{rows:#?}");
        assert!(rows[0].contains("→ flat"), "{rows:#?}");
    }

    #[test]
    fn the_breach_word_stays_when_the_title_is_cut() {
        let rows = rows_of("search-indexer", "error_rate", Charts::Braille, 30, 12);
        assert!(rows[0].contains("BREACH"), "{rows:#?}");
        assert!(rows[0].contains('✗'), "{rows:#?}");
        assert!(
            !rows[0].contains("rising"),
            "the trend word goes first: {rows:#?}"
        );
    }

    #[test]
    fn the_chart_has_its_legend_slo_line_axes_and_verdict() {
        let rows = rows_of("search-indexer", "error_rate", Charts::Braille, 70, 14);
        let legend = &rows[1];
        assert!(
            legend.contains("⠔⠊ canary")
                && legend.contains("·· stable")
                && legend.contains("┈┈ SLO ≤1.00%"),
            "{rows:#?}"
        );
        // The SLO line crosses the graph; the y labels are in the metric's unit.
        assert!(rows.iter().any(|r| r.contains("┈┈┈┈┈┈")), "{rows:#?}");
        assert!(rows.iter().any(|r| r.contains("0.00%│")), "{rows:#?}");
        assert!(
            rows.iter().any(|r| r.contains("-5m") && r.contains("now")),
            "{rows:#?}"
        );
        // Braille for the canary, dots for stable.
        assert!(rows.iter().any(|r| r.contains('⣀')), "{rows:#?}");
        assert!(rows[2..].iter().any(|r| r.contains("···")), "{rows:#?}");
        let bottom = rows.last().unwrap();
        assert!(
            bottom.contains("vs stable: FAIL") && bottom.contains("p<0.001"),
            "{rows:#?}"
        );
    }

    #[test]
    fn without_a_stable_side_there_is_no_stable_series_nor_verdict() {
        let mut m = metric("search-indexer", "error_rate");
        m.baseline_series.clear();
        m.baseline = None;
        let (rows, _) = render(&m, Charts::Braille, 70, 14);
        let all = rows.concat();
        assert!(!all.contains("stable") && !all.contains("···"), "{rows:#?}");
        assert!(rows[1].contains("SLO ≤1.00%"), "{rows:#?}");
    }

    #[test]
    fn dots_for_fonts_without_braille() {
        let rows = rows_of("search-indexer", "error_rate", Charts::Dot, 70, 14);
        let all = rows.concat();
        assert!(
            !all.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
            "{rows:#?}"
        );
        assert!(all.contains("•••"), "{rows:#?}");
        assert!(rows[1].contains("-- SLO ≤1.00%"), "{rows:#?}");
        assert!(rows[2..].iter().any(|r| r.contains("------")), "{rows:#?}");
    }

    #[test]
    fn ascii_means_every_cell_of_the_chart_is_ascii() {
        for (lane, name) in [
            ("search-indexer", "error_rate"),
            ("payments-api", "latency_p99"),
        ] {
            let rows = rows_of(lane, name, Charts::Ascii, 70, 14);
            for r in &rows {
                assert!(r.is_ascii(), "{r:?} in {rows:#?}");
            }
            assert!(
                rows[1].contains("** canary") && rows[1].contains("-- SLO <="),
                "{rows:#?}"
            );
            assert!(rows.iter().any(|r| r.contains("***")), "{rows:#?}");
        }
        let rows = rows_of("search-indexer", "error_rate", Charts::Ascii, 70, 14);
        assert!(
            rows[0].contains("X error_rate") && rows[0].contains("BREACH"),
            "{rows:#?}"
        );
    }

    #[test]
    fn the_verdict_turns_to_fail_as_the_canary_degrades() {
        // Canary and stable the same until the canary starts to climb, minute by minute.
        let mut m = metric("search-indexer", "error_rate");
        let stable: Vec<(i64, f64)> = m.baseline_series.clone();
        let mut seen = Vec::new();
        for bad in [0, 5, 10, 15, 20] {
            m.series = stable
                .iter()
                .enumerate()
                .map(|(i, (t, v))| {
                    let climb = (i + bad).saturating_sub(stable.len()) as f64;
                    (*t, v + 0.0008 * climb)
                })
                .collect();
            m.value = m.series.last().map(|p| p.1);
            let (rows, _) = render(&m, Charts::Braille, 70, 14);
            let bottom = rows.last().unwrap().clone();
            let word = ["pass", "marginal", "FAIL"]
                .into_iter()
                .find(|w| bottom.contains(&format!("vs stable: {w}")))
                .unwrap_or_else(|| panic!("no verdict in {bottom:?}"));
            seen.push(word);
        }
        assert_eq!(seen.first(), Some(&"pass"), "{seen:?}");
        assert_eq!(seen.last(), Some(&"FAIL"), "{seen:?}");
    }

    #[test]
    fn errors_and_missing_data_are_said() {
        let mut m = metric("search-indexer", "error_rate");
        m.error = Some("query failed: timeout".into());
        let (rows, _) = render(&m, Charts::Braille, 60, 10);
        assert!(
            rows[0].contains("E error_rate") && rows[0].contains("ERROR"),
            "{rows:#?}"
        );
        assert!(
            rows[1].contains("error: query failed: timeout"),
            "{rows:#?}"
        );
        m.error = None;
        m.series.clear();
        m.value = None;
        let (rows, _) = render(&m, Charts::Braille, 60, 10);
        assert!(rows[1].contains("no samples to chart yet"), "{rows:#?}");
    }

    #[test]
    fn charts_fit_any_area() {
        let m = metric("search-indexer", "error_rate");
        for charts in [Charts::Braille, Charts::Dot, Charts::Ascii] {
            for (w, h) in [(0, 0), (1, 1), (3, 2), (10, 3), (24, 9), (30, 4), (200, 60)] {
                render(&m, charts, w, h);
            }
        }
    }

    #[test]
    fn y_range_starts_at_zero_for_values_near_it() {
        assert_eq!(y_bounds([0.002, 0.0136, 0.01]), [0.0, 0.0136 + 0.00116]);
        // Far from zero: a little room below the lowest value.
        let [lo, hi] = y_bounds([0.41, 0.44, 0.8]);
        assert!(
            (lo - 0.371).abs() < 1e-9 && (hi - 0.839).abs() < 1e-9,
            "{lo} {hi}"
        );
        // A flat series still gets a range; nothing at all gets 0..1.
        let [lo, hi] = y_bounds([0.5, 0.5]);
        assert!(lo < 0.5 && hi > 0.5);
        assert_eq!(y_bounds([]), [0.0, 1.0]);
        assert_eq!(y_bounds([f64::NAN]), [0.0, 1.0]);
        let [lo, hi] = y_bounds([-2.0, -1.0]);
        assert!(lo < -2.0 && hi > -1.0);
    }

    #[test]
    fn time_before_now_for_the_axis() {
        assert_eq!(ago(0), "now");
        assert_eq!(ago(45), "-45s");
        assert_eq!(ago(300), "-5m");
        assert_eq!(ago(150), "-2m30s");
        assert_eq!(ago(3600), "-1h");
        assert_eq!(ago(5400), "-1h30m");
        assert_eq!(ago(-5), "now");
    }

    #[test]
    fn the_verdict_shortens_to_fit() {
        let m = metric("search-indexer", "error_rate");
        let theme = Theme::PLAIN;
        let long = verdict_text(&m, &view(&m), 80, &theme).unwrap().0;
        assert!(
            long.starts_with("vs stable: FAIL · p<0.001 · P(worse) 0."),
            "{long}"
        );
        assert_eq!(
            verdict_text(&m, &view(&m), 24, &theme).unwrap().0,
            "vs stable: FAIL p<0.001"
        );
        assert_eq!(
            verdict_text(&m, &view(&m), 10, &theme).unwrap().0,
            "cmp:FAIL"
        );
        assert_eq!(verdict_text(&m, &view(&m), 3, &theme), None);
    }

    #[test]
    fn the_sparkline_shares_its_scale_and_marks_breaches() {
        use ratatui::style::Modifier;
        let m = metric("search-indexer", "error_rate");
        let area = Rect::new(0, 0, 4, 1);
        let mut buf = Buffer::empty(area);
        Spark {
            values: &[0.0, 0.005, 0.02, 0.011],
            bounds: [0.0, 0.02],
            metric: &m,
            charts: Charts::Braille,
            style: Style::new(),
            over: Style::new().add_modifier(Modifier::BOLD),
        }
        .render(area, &mut buf);
        let row: String = (0..4).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row, "▁▂█▅");
        assert!(!buf[(1, 0)].modifier.contains(Modifier::BOLD));
        assert!(buf[(2, 0)].modifier.contains(Modifier::BOLD));
        assert!(buf[(3, 0)].modifier.contains(Modifier::BOLD));
        // In ASCII, and newest at the right when the row is wider than the series.
        let area = Rect::new(0, 0, 6, 1);
        let mut buf = Buffer::empty(area);
        Spark {
            values: &[0.0, 0.02],
            bounds: [0.0, 0.02],
            metric: &m,
            charts: Charts::Ascii,
            style: Style::new(),
            over: Style::new(),
        }
        .render(area, &mut buf);
        let row: String = (0..6).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row, "    _#");
    }

    fn spark_rows(values: &[f64], max: Option<f64>, charts: Charts, w: u16, h: u16) -> Vec<String> {
        let m = Metric {
            threshold: crate::model::Threshold { min: None, max },
            ..metric("search-indexer", "error_rate")
        };
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        let theme = Theme::PLAIN.with_charts(charts);
        Spark::own_bounds(values, &m, &theme).render(area, &mut buf);
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn a_taller_sparkline_draws_its_threshold_row_and_bars() {
        let rows = spark_rows(
            &[0.0, 0.005, 0.01, 0.015],
            Some(0.01),
            Charts::Braille,
            6,
            3,
        );
        // The threshold row is dotted where no bar reaches.
        assert!(rows.iter().any(|r| r.starts_with("┈┈")), "{rows:#?}");
        // The last value is over the threshold: its bar reaches the top row.
        assert_ne!(rows[0].chars().last(), Some(' '), "{rows:#?}");
        // The first value is zero: a minimal bar at the bottom.
        assert_eq!(rows[2].chars().nth(2), Some('▁'), "{rows:#?}");
    }

    #[test]
    fn an_ascii_sparkline_is_ascii_at_every_height() {
        for h in 1..4 {
            let rows = spark_rows(&[0.0, 0.005, 0.02, 0.011], Some(0.01), Charts::Ascii, 8, h);
            assert!(rows.iter().all(|r| r.is_ascii()), "{rows:#?}");
            assert!(rows.iter().any(|r| r.trim() != ""), "{rows:#?}");
        }
    }

    #[test]
    fn sparklines_fit_any_area() {
        spark_rows(&[1.0; 100], None, Charts::Braille, 5, 1);
        spark_rows(&[], Some(1.0), Charts::Dot, 5, 2);
        spark_rows(&[f64::MAX, 0.0, f64::NAN], Some(0.0), Charts::Ascii, 3, 4);
    }

    #[test]
    fn a_metric_of_a_failed_source_says_so_instead_of_ok() {
        // The source failed after a good poll: the last value is within its SLO, but stale.
        let m = metric("ledger", "error_rate");
        let mut world = fixture::world();
        world.apply(crate::model::SourceReport {
            source: m.source.to_string(),
            at: fixture::t(0),
            outcome: Err("HTTP 503".into()),
        });
        let v = MetricView::of(&m, &world, fixture::t(1));
        assert!(v.state.is_bad(), "{:?}", v.state);
        let theme = Theme::PLAIN;
        let (_, word, _) = state_mark(&v, &marks(Charts::Braille), &theme);
        assert_ne!(word, "ok");
        let area = Rect::new(0, 0, 70, 14);
        let mut buf = Buffer::empty(area);
        MetricChart {
            metric: &m,
            view: &v,
            side: "canary",
            now: fixture::t(0).timestamp(),
            theme: &theme,
            chosen: false,
        }
        .render(area, &mut buf);
        let title: String = (0..70).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(title.contains(word) && !title.contains(" ok "), "{title}");
    }
}
