//! A terminal capture with its colours (`tmux capture-pane -e -p`) as an SVG picture: one
//! monospaced grid, every run of one style a `<tspan>` pinned to its columns, backgrounds as
//! rectangles. `scripts/pictures` uses it for the README's pictures of real frames.
//!
//! ```sh
//! tmux capture-pane -e -p -t ty > frame.ans
//! cargo run --example ansi_svg -- --title "trainyard demo" < frame.ans > frame.svg
//! ```
//!
//! It reads SGR only (what `capture-pane -e` writes): bold, dim, italic, underline, reverse,
//! the 16 colours, 256 colours and true colour; any other escape is skipped.

use std::fmt::Write as _;
use std::io::Read;

/// Pixels of one cell and of the text in it.
const CELL_W: f64 = 8.4;
const CELL_H: f64 = 18.0;
const FONT: f64 = 14.0;
const PAD: f64 = 12.0;
const BAR: f64 = 28.0;

/// The palette: a dark terminal's 16 colours (xterm's, softened), its text and background.
const PALETTE: [&str; 16] = [
    "#1e1e1e", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#cccccc",
    "#767676", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
];
const FG: &str = "#d4d4d4";
const BG: &str = "#1e1e1e";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Colour {
    #[default]
    Default,
    Index(u8),
    Rgb(u8, u8, u8),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Style {
    fg: Colour,
    bg: Colour,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
    reverse: bool,
}

impl Style {
    /// The text's and the background's colours as drawn: swapped when reversed.
    fn colours(&self) -> (String, String) {
        let (fg, bg) = (hex(self.fg, FG), hex(self.bg, BG));
        if self.reverse { (bg, fg) } else { (fg, bg) }
    }
}

/// One run of characters in one style, starting at a column.
#[derive(Debug, PartialEq)]
struct Run {
    col: usize,
    text: String,
    style: Style,
}

fn hex(c: Colour, default: &str) -> String {
    match c {
        Colour::Default => default.to_string(),
        Colour::Index(i) if i < 16 => PALETTE[i as usize].to_string(),
        Colour::Index(i) if i >= 232 => {
            let v = 8 + (i - 232) as u32 * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Colour::Index(i) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + n as u32 * 40 };
            format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level((i / 6) % 6),
                level(i % 6)
            )
        }
        Colour::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
    }
}

/// Apply one SGR sequence's parameters (`1;38;5;2`) to `style`.
fn sgr(style: &mut Style, params: &str) {
    let mut it = params
        .split([';', ':'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    if params.is_empty() {
        *style = Style::default();
        return;
    }
    while let Some(p) = it.next() {
        match p {
            0 => *style = Style::default(),
            1 => style.bold = true,
            2 => style.dim = true,
            3 => style.italic = true,
            4 => style.underline = true,
            7 => style.reverse = true,
            22 => {
                style.bold = false;
                style.dim = false;
            }
            23 => style.italic = false,
            24 => style.underline = false,
            27 => style.reverse = false,
            30..=37 => style.fg = Colour::Index((p - 30) as u8),
            90..=97 => style.fg = Colour::Index((p - 90 + 8) as u8),
            40..=47 => style.bg = Colour::Index((p - 40) as u8),
            100..=107 => style.bg = Colour::Index((p - 100 + 8) as u8),
            39 => style.fg = Colour::Default,
            49 => style.bg = Colour::Default,
            38 | 48 => {
                let colour = match it.next() {
                    Some(5) => Colour::Index(it.next().unwrap_or(0).min(255) as u8),
                    Some(2) => match (it.next(), it.next(), it.next()) {
                        (Some(r), Some(g), Some(b)) => {
                            let c = |n: u32| n.min(255) as u8;
                            Colour::Rgb(c(r), c(g), c(b))
                        }
                        _ => Colour::Default,
                    },
                    _ => Colour::Default,
                };
                if p == 38 {
                    style.fg = colour;
                } else {
                    style.bg = colour;
                }
            }
            _ => {}
        }
    }
}

/// The capture as rows of runs. Columns count characters (the demo's text is one column
/// per character; a wide character takes two cells in the grid).
fn parse(capture: &str) -> Vec<Vec<Run>> {
    let mut rows = Vec::new();
    let mut style = Style::default();
    for line in capture.lines() {
        let mut runs: Vec<Run> = Vec::new();
        let mut col = 0;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    let mut fin = None;
                    for c in chars.by_ref() {
                        if c.is_ascii_digit() || c == ';' || c == ':' || c == '?' {
                            params.push(c);
                        } else {
                            fin = Some(c);
                            break;
                        }
                    }
                    if fin == Some('m') {
                        sgr(&mut style, &params);
                    }
                } else {
                    // Another escape (an OSC or a two-character one): skip to its end.
                    if chars.peek() == Some(&']') {
                        while let Some(c) = chars.next() {
                            if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some())
                            {
                                break;
                            }
                        }
                    } else if chars.next().is_some_and(|c| "()*+-./".contains(c)) {
                        // A character set designation: one more character.
                        chars.next();
                    }
                }
                continue;
            }
            if c.is_control() {
                continue;
            }
            let width = cols(c.encode_utf8(&mut [0; 4]));
            match runs.last_mut() {
                Some(r) if r.style == style && r.col + cols(&r.text) == col => r.text.push(c),
                _ => runs.push(Run {
                    col,
                    text: c.to_string(),
                    style,
                }),
            }
            col += width;
        }
        rows.push(runs);
    }
    rows
}

/// Columns of `s` as the terminal counts them (trainyard's own measure).
fn cols(s: &str) -> usize {
    trainyard::model::text::width(s)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The picture: a window with a title bar, the grid of `width` × `height` cells.
fn svg(rows: &[Vec<Run>], title: &str, width: usize, height: usize) -> String {
    let w = PAD * 2.0 + CELL_W * width as f64;
    let h = BAR + PAD * 2.0 + CELL_H * height as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xml:space="preserve" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">"#,
        t = escape(title)
    );
    let _ = writeln!(
        s,
        r#"<style>text{{font-family:"DejaVu Sans Mono","Menlo","Consolas",monospace;font-size:{FONT}px;white-space:pre}}</style>"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="{w}" height="{h}" rx="8" fill="{BG}"/><rect width="{w}" height="{BAR}" rx="8" fill="#3c3c3c"/><rect y="{y}" width="{w}" height="8" fill="#3c3c3c"/>"##,
        y = BAR - 8.0
    );
    for (i, c) in ["#ff5f56", "#ffbd2e", "#27c93f"].iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<circle cx="{x}" cy="14" r="6" fill="{c}"/>"#,
            x = 16.0 + i as f64 * 20.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{x}" y="19" fill="#bbbbbb" text-anchor="middle">{t}</text>"##,
        x = w / 2.0,
        t = escape(title)
    );
    let top = BAR + PAD;
    for (r, runs) in rows.iter().take(height).enumerate() {
        let y = top + CELL_H * r as f64;
        for run in runs {
            let (_, bg) = run.style.colours();
            if bg != BG {
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    x = PAD + CELL_W * run.col as f64,
                    cw = CELL_W * cols(&run.text) as f64,
                );
            }
        }
        let _ = write!(s, r#"<text y="{:.1}">"#, y + CELL_H * 0.75);
        for run in runs {
            if run.text.trim().is_empty() {
                continue;
            }
            let (fg, _) = run.style.colours();
            let mut attrs = format!(r#" fill="{fg}""#);
            if run.style.bold {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if run.style.dim {
                attrs.push_str(r#" fill-opacity="0.6""#);
            }
            if run.style.italic {
                attrs.push_str(r#" font-style="italic""#);
            }
            if run.style.underline {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            let _ = write!(
                s,
                r#"<tspan x="{x:.1}" textLength="{l:.1}" lengthAdjust="spacingAndGlyphs"{attrs}>{t}</tspan>"#,
                x = PAD + CELL_W * run.col as f64,
                l = CELL_W * cols(&run.text) as f64,
                t = escape(&run.text)
            );
        }
        s.push_str("</text>\n");
    }
    s.push_str("</svg>\n");
    s
}

fn main() {
    let mut title = String::from("trainyard");
    let (mut width, mut height) = (0usize, 0usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--title" => title = value(),
            "--width" => width = value().parse().unwrap_or(0),
            "--height" => height = value().parse().unwrap_or(0),
            _ => {
                eprintln!(
                    "usage: ansi_svg [--title T] [--width COLS] [--height ROWS] < capture > svg"
                );
                std::process::exit(2);
            }
        }
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("ansi_svg: cannot read the capture: {e}");
        std::process::exit(1);
    }
    let rows = parse(&input);
    if width == 0 {
        width = rows
            .iter()
            .filter_map(|r| r.last().map(|l| l.col + cols(&l.text)))
            .max()
            .unwrap_or(80);
    }
    if height == 0 {
        height = rows.len();
    }
    print!("{}", svg(&rows, &title, width, height));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_where_the_style_changes() {
        let rows = parse("ab\u{1b}[1;32mok\u{1b}[0m c\n\u{1b}[7mX\u{1b}[27m");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[0][1].col, 2);
        assert_eq!(rows[0][1].text, "ok");
        assert!(rows[0][1].style.bold);
        assert_eq!(rows[0][1].style.fg, Colour::Index(2));
        assert_eq!(rows[0][2].style, Style::default());
        assert!(rows[1][0].style.reverse);
    }

    #[test]
    fn colours_of_every_kind() {
        let mut s = Style::default();
        sgr(&mut s, "38;5;196;48;2;1;2;3");
        assert_eq!(s.fg, Colour::Index(196));
        assert_eq!(s.bg, Colour::Rgb(1, 2, 3));
        assert_eq!(hex(s.fg, FG), "#ff0000");
        assert_eq!(hex(Colour::Index(244), FG), "#808080");
        assert_eq!(hex(Colour::Index(9), FG), PALETTE[9]);
        sgr(&mut s, "");
        assert_eq!(s, Style::default());
        // Bad numbers never panic.
        sgr(&mut s, "38;5;999;38;2");
        assert_eq!(s.fg, Colour::Default);
    }

    #[test]
    fn the_picture_escapes_text_and_pins_columns() {
        let out = svg(&parse("\u{1b}[31m<a & b>\u{1b}[0m 日本"), "t <1>", 20, 2);
        assert!(out.starts_with("<svg"));
        assert!(out.contains("&lt;a &amp; b&gt;"), "{out}");
        assert!(out.contains("aria-label=\"t &lt;1&gt;\""), "{out}");
        assert!(out.contains(&format!("fill=\"{}\"", PALETTE[1])), "{out}");
        // " 日本" starts at column 7 and takes five cells.
        let x = PAD + CELL_W * 7.0;
        let run = format!("x=\"{x:.1}\" textLength=\"{:.1}\"", CELL_W * 5.0);
        assert!(out.contains(&run), "{run} in {out}");
    }

    #[test]
    fn other_escapes_are_skipped() {
        let rows = parse("a\u{1b}]8;;https://x\u{1b}\\b\u{1b}]8;;\u{1b}\\c\u{1b}(Bd");
        let text: String = rows[0].iter().map(|r| r.text.as_str()).collect();
        assert_eq!(text, "abcd");
    }
}
