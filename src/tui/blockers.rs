//! Blockers: every reason a car can't move, the selected lane's first (`▸`), each as a glyph,
//! its lane and the words that decide (`blocker_words`): on one line where they fit, else
//! wrapped onto a second, never cut mid-name while a shorter form says them. A lane's blockers
//! follow each other under its name, said once. Only whole blockers are drawn; the title says
//! which ones when not all fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Panel};
use super::blocker_words::{Room, glyph, lay_out, whole};
use super::theme::Theme;
use super::ui::{fit, is_focused, pad, panel_block, width as cols};
use crate::model::{Blocker, BlockerKind};

/// Lines a blocker's words may take.
const MAX_LINES: usize = 2;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut list: Vec<&Blocker> = app.blockers();
    // The halt stops every lane: one line says so, at the top, not one per lane.
    let halt = list.iter().find(|b| b.kind == BlockerKind::Halt).copied();
    list.retain(|b| b.kind != BlockerKind::Halt);
    if let Some(h) = halt {
        list.insert(0, h);
    }
    let width = usize::from(area.width.saturating_sub(2));
    let height = usize::from(area.height.saturating_sub(2));
    let selected = app
        .selected_lane()
        .map(|i| app.snap.train.lanes[i].name.as_str());
    let skip = app.blockers_scroll.min(list.len().saturating_sub(1));
    let (lines, shown) = if list.is_empty() {
        let ok = Line::from(Span::styled("✓ nothing is blocked", theme.ok()));
        (vec![ok], 0)
    } else {
        rows(&list[skip..], selected, width, height, theme)
    };
    let title = if skip == 0 && shown == list.len() {
        format!(" Blockers {} ", list.len())
    } else {
        format!(" Blockers {}–{} of {} ", skip + 1, skip + shown, list.len())
    };
    let block = panel_block(title, is_focused(app, Panel::Blockers), theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The lines of as many whole blockers as `height` rows hold (at least the first), and how
/// many that is.
pub(super) fn rows(
    list: &[&Blocker],
    selected: Option<&str>,
    width: usize,
    height: usize,
    theme: &Theme,
) -> (Vec<Line<'static>>, usize) {
    let head = Heads::new(list, width);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut shown = 0;
    let mut prev_lane: Option<&str> = None;
    for b in list {
        let left = height.saturating_sub(out.len());
        if left == 0 && shown > 0 {
            break;
        }
        let halt = b.kind == BlockerKind::Halt;
        let mine = !halt && selected == Some(b.lane.as_str());
        let lane = if halt {
            None
        } else if prev_lane == Some(b.lane.as_str()) {
            Some(String::new())
        } else {
            Some(b.lane.clone())
        };
        prev_lane = (!halt).then_some(b.lane.as_str());
        let mut first = vec![
            Span::styled(if mine { "▸" } else { " " }, theme.title()),
            Span::styled(glyph(b.kind), theme.blocker(b.kind)),
            Span::raw(" "),
        ];
        let lane = lane.map(|l| head.lane(&l)).filter(|l| !l.is_empty());
        if let Some(lane) = lane {
            let style = if mine { theme.title() } else { theme.dim() };
            first.push(Span::styled(lane, style));
            first.push(Span::raw(" "));
        }
        let used: usize = first.iter().map(|s| cols(&s.content)).sum();
        let indent = head.indent(used);
        let room = Room {
            first: width.saturating_sub(used),
            rest: width.saturating_sub(indent),
            lines: MAX_LINES,
        };
        let mut words = lay_out(b, room);
        if words.len() > left {
            // The last rows: a shorter form if one says it all there, else the blocker waits
            // for a scroll (unless it is the first: it gets what there is).
            let last = Room {
                lines: left,
                ..room
            };
            match whole(b, last) {
                Some(w) => words = w,
                None if shown > 0 => break,
                None => words = lay_out(b, last),
            }
        }
        let mut words = words.into_iter();
        first.push(Span::raw(words.next().unwrap_or_default()));
        out.push(Line::from(first));
        out.extend(words.map(|w| Line::from(format!("{}{w}", " ".repeat(indent)))));
        shown += 1;
    }
    (out, shown)
}

/// Columns the words need beside a column of lane names; narrower, the lanes are written as
/// they are and a lane's next blockers start right after their glyph.
const ALIGNED_WORDS: usize = 36;

/// How lanes are written at the head of a blocker: in a column as wide as the longest lane
/// name when that leaves the words [`ALIGNED_WORDS`] (their continuation lines then start under
/// them where they have room), else as they are, cut at half the width.
struct Heads {
    column: Option<usize>,
    width: usize,
}

impl Heads {
    fn new(list: &[&Blocker], width: usize) -> Heads {
        let longest = list
            .iter()
            .filter(|b| b.kind != BlockerKind::Halt)
            .map(|b| cols(&b.lane))
            .max()
            .unwrap_or(0);
        Heads {
            column: (width.saturating_sub(longest + 4) >= ALIGNED_WORDS).then_some(longest),
            width,
        }
    }

    fn lane(&self, lane: &str) -> String {
        match self.column {
            Some(w) => pad(lane, w),
            None => fit(lane, (self.width / 2).max(1)),
        }
    }

    /// Where continuation lines start, after a head `used` columns wide.
    fn indent(&self, used: usize) -> usize {
        if self.column.is_some() && self.width.saturating_sub(used) >= 30 {
            used
        } else {
            4.min(self.width / 4)
        }
    }
}
