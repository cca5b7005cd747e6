//! OSC 8 hyperlinks in the screen's cells. ratatui escapes control characters in a `Span`, so
//! a link is written into the buffer after its text is drawn: each piece of the text, a run of
//! one style, becomes one cell whose symbol is the piece between the link's opening and its
//! end (`osc::link_open`, `osc::link_close`), its width forced to the columns it covers.
//! ratatui's diff then sends a piece when it changed, as one sequence, and places the cursor
//! right after it (ratatui's own `examples/hyperlink.rs` cuts a link into pieces of two
//! columns, which sends the link's address again every two columns: a scrolling activity
//! panel of links came to 22 KB a frame that way, 4 KB in runs).
//!
//! Only a URL that passes `osc::linkable` becomes a link, and the visible text is what the
//! cells showed anyway: payload text can neither choose where a link goes nor what it hides.

use ratatui::buffer::{Buffer, CellDiffOption, CellWidth};
use ratatui::layout::Rect;
use smallvec::SmallVec;

use super::osc;

/// Where a link goes: `text` as drawn, right after `before` on the same row (at the row's
/// start when `at_start`), pointing to `url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    pub text: String,
    pub before: String,
    pub at_start: bool,
}

impl Link {
    /// `text` after `before` at the start of a row (a labelled row of a popup).
    pub fn labelled(before: impl Into<String>, text: impl Into<String>, url: &str) -> Link {
        Link {
            url: url.to_string(),
            text: text.into(),
            before: before.into(),
            at_start: true,
        }
    }

    /// `text` after `before` anywhere in a row.
    pub fn after(before: impl Into<String>, text: impl Into<String>, url: &str) -> Link {
        Link {
            at_start: false,
            ..Link::labelled(before, text, url)
        }
    }
}

/// Make the `cols` columns from (`x`, `y`) a link to `url`, as far as they are in the buffer.
/// Nothing happens when `url` may not be a link or a cell there already holds a sequence.
pub fn cells(buf: &mut Buffer, x: u16, y: u16, cols: u16, url: &str) -> bool {
    let Some(open) = osc::link_open(url) else {
        return false;
    };
    let close = osc::link_close();
    let area = buf.area;
    if y < area.top() || y >= area.bottom() || x < area.left() {
        return false;
    }
    let end = x.saturating_add(cols).min(area.right());
    if (x..end).any(|cx| buf[(cx, y)].symbol().contains('\u{1b}')) {
        return false;
    }
    let mut cx = x;
    while cx < end {
        // One piece for each run of one style: the symbols of its cells, in a cell whose
        // forced width covers them (the trailing columns of a wide symbol are not cells of
        // their own).
        let style = buf[(cx, y)].style();
        let mut shown = String::new();
        let mut to = cx;
        while to < end && (to == cx || buf[(to, y)].style() == style) {
            let sym = buf[(to, y)].symbol();
            shown.push_str(sym);
            to = to.saturating_add(sym.cell_width().max(1));
        }
        // A wide symbol at the end covers both its columns, as the terminal prints it.
        let cover = to - cx;
        let cell = &mut buf[(cx, y)];
        cell.set_symbol(&format!("{open}{shown}{close}"));
        cell.set_diff_option(CellDiffOption::ForcedWidth(
            std::num::NonZeroU16::new(cover).unwrap_or(std::num::NonZeroU16::MIN),
        ));
        cx = to;
    }
    true
}

/// Where a link piece goes and the text it shows, if `symbol` is one.
fn piece(symbol: &str) -> Option<(&str, &str)> {
    let rest = symbol.strip_prefix("\u{1b}]8;;")?;
    let (url, shown) = rest.split_once("\u{1b}\\")?;
    Some((url, shown.strip_suffix(&osc::link_close()).unwrap_or(shown)))
}

/// The graphemes of a piece's text with the column each is shown at, from `x` on.
fn spread(x: u16, shown: &str) -> impl Iterator<Item = (u16, &str)> {
    use unicode_segmentation::UnicodeSegmentation;
    shown.graphemes(true).scan(x, |cx, g| {
        let at = *cx;
        *cx = cx.saturating_add(g.cell_width().max(1));
        Some((at, g))
    })
}

/// What the columns an intact piece covers hold once the frame is settled. The diff skips
/// them while the piece is there; when it is gone, whatever is drawn there differs from this
/// and is sent, so the terminal's columns lose the link with the piece (with their own text
/// kept, only the piece's first column would be sent, and the others would stay links the
/// mouse can follow). Never sent itself, and never a cell's symbol otherwise: drawing puts a
/// zero-width character with the symbol before it.
const COVERED: &str = "\u{200b}";

/// What a column a piece covers after its first must hold for the piece to stand: a grapheme
/// of its text, or the blank ratatui leaves after a wide one.
#[derive(Clone, Copy, PartialEq)]
enum Under<'a> {
    Grapheme(&'a str),
    Blank,
}

impl Under<'_> {
    /// Put what this column stands for into `c`, plain (in the piece's `style`).
    fn put(self, c: &mut ratatui::buffer::Cell, style: ratatui::style::Style) {
        c.reset();
        if let Under::Grapheme(g) = self {
            c.set_symbol(g).set_style(style);
        }
    }
}

/// The columns after `x` that a piece showing `shown` covers, up to `end`, with what each
/// must hold; and its first grapheme.
fn under(x: u16, end: u16, shown: &str) -> (&str, SmallVec<[(u16, Under<'_>); 32]>) {
    let mut first = " ";
    let mut out = SmallVec::new();
    for (at, g) in spread(x, shown) {
        if at == x {
            first = g;
        } else if at < end {
            out.push((at, Under::Grapheme(g)));
        }
        let after = at.saturating_add(1)..at.saturating_add(g.cell_width().max(1)).min(end);
        out.extend(after.map(|c| (c, Under::Blank)));
    }
    (first, out)
}

/// After everything of a frame is drawn: a link piece whose other columns no longer show its
/// text (a popup drawn over part of it, another piece begun inside it) becomes its first
/// symbol again, plain. The diff skips the columns a piece covers, so what was drawn over them
/// would never reach the terminal. The columns an intact piece covers hold [`COVERED`] (a
/// buffer settled twice is the same).
pub fn settle(buf: &mut Buffer) {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &buf[(x, y)];
            let CellDiffOption::ForcedWidth(cover) = cell.diff_option else {
                continue;
            };
            let Some((_, shown)) = piece(cell.symbol()) else {
                continue;
            };
            let (shown, style) = (shown.to_string(), cell.style());
            let end = x.saturating_add(cover.get()).min(area.right());
            let (first, under) = under(x, end, &shown);
            let holds = |c: &ratatui::buffer::Cell, u: Under| match u {
                _ if c.symbol() == COVERED => true,
                Under::Grapheme(g) => {
                    c.symbol() == g && c.style() == style && c.diff_option == CellDiffOption::None
                }
                Under::Blank => *c == ratatui::buffer::Cell::default(),
            };
            let intact = under.iter().all(|&(at, u)| holds(&buf[(at, y)], u));
            for &(at, u) in &under {
                let c = &mut buf[(at, y)];
                match u {
                    _ if intact => {
                        c.set_symbol(COVERED);
                    }
                    // Gone plain: what this frame drew stays; a mark of a settled piece
                    // becomes what it stood for.
                    _ if c.symbol() != COVERED => {}
                    _ => u.put(c, style),
                }
            }
            if !intact {
                let cell = &mut buf[(x, y)];
                cell.set_symbol(first);
                cell.set_diff_option(CellDiffOption::None);
            }
        }
    }
}

/// One row of `area` as drawn: its text, and where each cell's symbol starts in it (byte
/// offset, column). The trailing columns of a wide symbol are not cells of their own.
fn row_text(buf: &Buffer, area: Rect, y: u16) -> (String, Vec<(usize, u16)>) {
    let mut text = String::new();
    let mut starts = Vec::new();
    let mut x = area.left();
    while x < area.right() {
        let sym = buf[(x, y)].symbol();
        starts.push((text.len(), x));
        text.push_str(sym);
        x = x.saturating_add(sym.cell_width().max(1));
    }
    starts.push((text.len(), x));
    (text, starts)
}

/// Put each link wherever its text is drawn in `area`, after its `before`. A text cut or
/// wrapped across rows is not found, and stays plain.
pub fn place(buf: &mut Buffer, area: Rect, links: &[Link]) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        let (text, starts) = row_text(buf, area, y);
        let col = |byte: usize| starts.iter().find(|(b, _)| *b == byte).map(|(_, x)| *x);
        let mut found = Vec::new();
        for l in links.iter().filter(|l| !l.text.is_empty()) {
            let needle = format!("{}{}", l.before, l.text);
            for (at, _) in text.match_indices(&needle) {
                if l.at_start && at != 0 {
                    continue;
                }
                let from = at + l.before.len();
                if let (Some(x0), Some(x1)) = (col(from), col(from + l.text.len())) {
                    found.push((x0, x1 - x0, l.url.clone()));
                }
            }
        }
        for (x, cols, url) in found {
            cells(buf, x, y, cols, &url);
        }
    }
}

/// The buffer as the eye sees it: every link's pieces back to plain cells, each symbol of a
/// piece in its own column (which a terminal's buffer, drawn from the diff alone, never got
/// on its own). For tests, and to compare a screen with links to one without.
pub fn unlinked(buf: &Buffer) -> Buffer {
    let mut out = buf.clone();
    let area = buf.area;
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &buf[(x, y)];
            let Some((_, shown)) = piece(cell.symbol()) else {
                continue;
            };
            let style = cell.style();
            let end = match cell.diff_option {
                CellDiffOption::ForcedWidth(w) => x.saturating_add(w.get()).min(area.right()),
                _ => area.right(),
            };
            let (first, under) = under(x, end, shown);
            let c = &mut out[(x, y)];
            c.set_symbol(first);
            c.set_diff_option(CellDiffOption::None);
            for (at, u) in under {
                u.put(&mut out[(at, y)], style);
            }
        }
    }
    out
}

/// Every link in the buffer: (column, row, URL, the text its piece shows).
pub fn found(buf: &Buffer) -> Vec<(u16, u16, String, String)> {
    let mut out = Vec::new();
    for y in buf.area.top()..buf.area.bottom() {
        for x in buf.area.left()..buf.area.right() {
            if let Some((url, shown)) = piece(buf[(x, y)].symbol()) {
                out.push((x, y, url.to_string(), shown.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Stylize;
    use ratatui::text::Line;
    use ratatui::widgets::Widget;

    const URL: &str = "https://github.com/acme/x/actions/runs/7";

    fn drawn(text: &str, w: u16) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, w, 2));
        Line::from(text).render(buf.area, &mut buf);
        buf
    }

    #[test]
    fn a_link_of_one_style_is_written_as_one_piece() {
        let mut buf = drawn("url       abcde", 20);
        let plain = buf.clone();
        assert!(cells(&mut buf, 10, 0, 5, URL));
        let open = format!("\u{1b}]8;;{URL}\u{1b}\\");
        let close = "\u{1b}]8;;\u{1b}\\";
        assert_eq!(buf[(10, 0)].symbol(), format!("{open}abcde{close}"));
        // The covered cells keep their text, hidden from the diff by the forced width.
        assert_eq!(buf[(11, 0)].symbol(), "b");
        assert_eq!(buf[(14, 0)].symbol(), "e");
        assert_eq!(
            buf[(10, 0)].diff_option,
            CellDiffOption::ForcedWidth(5.try_into().unwrap())
        );
        // Outside the link, nothing changed; inside, the eye sees what was there.
        assert_eq!(buf[(9, 0)], plain[(9, 0)]);
        assert_eq!(buf[(15, 0)], plain[(15, 0)]);
        assert_eq!(unlinked(&buf), plain);
        assert_eq!(
            found(&buf)
                .iter()
                .map(|(_, _, u, t)| (u.as_str(), t.as_str()))
                .collect::<Vec<_>>(),
            [(URL, "abcde")]
        );
    }

    #[test]
    fn the_diff_sends_the_piece_once_and_skips_what_it_covers() {
        // Where the diff from one frame to the next writes.
        let sent = |from: &Buffer, to: &Buffer| -> Vec<(u16, u16)> {
            from.diff(to).into_iter().map(|(x, y, _)| (x, y)).collect()
        };
        let before = drawn("url       abcde", 20);
        let mut after = before.clone();
        cells(&mut after, 10, 0, 5, URL);
        settle(&mut after);
        assert_eq!(sent(&before, &after), [(10, 0)]);
        // Unchanged next frame: nothing to send.
        assert!(sent(&after, &after.clone()).is_empty());
        // The link gone: every column it covered is sent again as plain text, so that none
        // stays a link in the terminal.
        assert_eq!(
            sent(&after, &before),
            [(10, 0), (11, 0), (12, 0), (13, 0), (14, 0)]
        );
        // One letter of the text changed: the whole piece again, once.
        let mut changed = drawn("url       abXde", 20);
        cells(&mut changed, 10, 0, 5, URL);
        settle(&mut changed);
        assert_eq!(sent(&after, &changed), [(10, 0)]);
        assert_eq!(unlinked(&changed), drawn("url       abXde", 20));
    }

    #[test]
    fn a_change_of_style_starts_a_piece_and_wide_characters_cover_their_columns() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        Line::from(vec!["日本".into(), "a".into(), "b".bold(), "c".into()])
            .render(buf.area, &mut buf);
        let plain = buf.clone();
        assert!(cells(&mut buf, 0, 0, 7, URL));
        let pieces: Vec<(u16, String)> =
            found(&buf).into_iter().map(|(x, _, _, t)| (x, t)).collect();
        assert_eq!(
            pieces,
            [
                (0, "日本a".to_string()),
                (5, "b".to_string()),
                (6, "c".to_string())
            ]
        );
        assert_eq!(
            buf[(0, 0)].diff_option,
            CellDiffOption::ForcedWidth(5.try_into().unwrap())
        );
        assert_eq!(buf[(5, 0)].style(), plain[(5, 0)].style());
        assert_eq!(unlinked(&buf), plain);
        // Settled: every column the first piece covers is marked, the wide characters'
        // second columns too; settled again, the same; to the eye, the same text.
        settle(&mut buf);
        for x in 1..5 {
            assert_eq!(buf[(x, 0)].symbol(), COVERED, "column {x}");
        }
        let mut twice = buf.clone();
        settle(&mut twice);
        assert_eq!(twice, buf);
        assert_eq!(unlinked(&buf), plain);
        // The links gone: every column they covered is written again (a wide character
        // its two).
        let sent: Vec<u16> = buf.diff(&plain).into_iter().map(|(x, _, _)| x).collect();
        assert_eq!(sent, [0, 2, 4, 5, 6]);
        // Something drawn on a wide character's second column: that piece goes plain.
        let mut over = plain.clone();
        assert!(cells(&mut over, 0, 0, 7, URL));
        over[(3, 0)].set_symbol("|");
        settle(&mut over);
        assert_eq!(over[(0, 0)].symbol(), "日");
        assert_eq!(over[(0, 0)].diff_option, CellDiffOption::None);
        assert_eq!(over[(3, 0)].symbol(), "|");
    }

    #[test]
    fn a_link_drawn_over_goes_plain_and_the_diff_sends_what_covers_it() {
        use ratatui::widgets::Clear;
        let plain = drawn("url       abcde", 20);
        let mut linked = plain.clone();
        cells(&mut linked, 10, 0, 5, URL);
        settle(&mut linked);
        assert_eq!(found(&linked).len(), 1, "an intact link stays");
        // The next frame, drawn afresh: the same link, and a popup whose edge falls inside it.
        let mut next = plain.clone();
        cells(&mut next, 10, 0, 5, URL);
        let popup = Rect::new(12, 0, 8, 2);
        Clear.render(popup, &mut next);
        Line::from("|popup").render(popup, &mut next);
        settle(&mut next);
        assert!(found(&next).is_empty(), "{:?}", found(&next));
        assert_eq!(next[(10, 0)].symbol(), "a");
        assert_eq!(next[(10, 0)].diff_option, CellDiffOption::None);
        let sent: Vec<u16> = linked
            .diff(&next)
            .into_iter()
            .filter(|(_, y, _)| *y == 0)
            .map(|(x, _, _)| x)
            .collect();
        // The link's columns go plain, the popup's columns are all sent.
        assert_eq!(sent, [10, 11, 12, 13, 14, 15, 16, 17]);
        // A second link begun inside the first: the first goes plain, the second stays.
        let mut twice = plain.clone();
        cells(&mut twice, 10, 0, 5, URL);
        assert!(cells(&mut twice, 12, 0, 3, "https://x.example/2"));
        settle(&mut twice);
        let pieces: Vec<(u16, String)> = found(&twice)
            .into_iter()
            .map(|(x, _, u, _)| (x, u))
            .collect();
        assert_eq!(pieces, [(12, "https://x.example/2".to_string())]);
        assert_eq!(unlinked(&twice), plain);
    }

    #[test]
    fn only_linkable_urls_become_links() {
        for bad in [
            "javascript:alert(1)",
            "https://x/runs/1 \u{241b}]52;c;AAAA",
            "https://evil.example/\u{1b}]0;t\u{7}",
        ] {
            let mut buf = drawn("abc", 5);
            let plain = buf.clone();
            assert!(!cells(&mut buf, 0, 0, 3, bad), "{bad:?}");
            assert_eq!(buf, plain);
        }
        // Out of the buffer, or twice over: nothing.
        let mut buf = drawn("abc", 5);
        assert!(!cells(&mut buf, 0, 9, 3, URL));
        assert!(cells(&mut buf, 0, 0, 3, URL));
        let once = buf.clone();
        assert!(!cells(&mut buf, 0, 0, 3, URL));
        assert_eq!(buf, once);
    }

    #[test]
    fn place_finds_the_text_after_its_label() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, 3));
        Line::from("url       https://x.example/1").render(Rect::new(0, 0, 30, 1), &mut buf);
        Line::from("msg       https://x.example/1").render(Rect::new(0, 1, 30, 1), &mut buf);
        Line::from(vec!["✓ lint  ".into(), "✗ unit".red()])
            .render(Rect::new(0, 2, 30, 1), &mut buf);
        let plain = buf.clone();
        let u = "https://x.example/1";
        place(
            &mut buf,
            Rect::new(0, 0, 30, 3),
            &[
                Link::labelled("url       ", u, u),
                Link::after("✗ ", "unit", "https://ci.example/unit"),
                Link::after("✗ ", "missing", "https://ci.example/missing"),
            ],
        );
        let f = found(&buf);
        let rows: Vec<(u16, u16, &str)> =
            f.iter().map(|(x, y, u, _)| (*x, *y, u.as_str())).collect();
        // The labelled row only; the same text after another label stays plain.
        assert!(rows.contains(&(10, 0, u)), "{rows:?}");
        assert!(!rows.iter().any(|(_, y, _)| *y == 1), "{rows:?}");
        // The check's name, not its glyph: columns 10.. ("✓ lint  " is 8 columns, "✗ " 2).
        assert_eq!(
            f.iter()
                .filter(|(_, y, _, _)| *y == 2)
                .map(|(x, _, _, t)| (*x, t.as_str()))
                .collect::<Vec<_>>(),
            [(10, "unit")]
        );
        assert_eq!(unlinked(&buf), plain);
        // Styles kept: the red name is still red under its link.
        assert_eq!(buf[(10, 2)].style(), plain[(10, 2)].style());
    }

    #[test]
    fn a_text_cut_by_the_edge_is_not_linked() {
        let mut buf = drawn("url       https://x.example/long", 20);
        let plain = buf.clone();
        let area = buf.area;
        place(
            &mut buf,
            area,
            &[Link::labelled(
                "url       ",
                "https://x.example/long",
                "https://x.example/long",
            )],
        );
        assert_eq!(buf, plain);
    }
}
