//! Styles. Every state is legible without colour (glyphs and words); colour only helps.

use ratatui::style::{Color, Modifier, Style};

use ratatui::text::{Line, Span};

use crate::model::{Blocker, BlockerKind, CellState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    /// How charts draw their points: braille unless the font or locale can't show it.
    pub charts: Charts,
}

/// The marks charts are drawn with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charts {
    /// Braille dots: 2×4 points per cell, the finest; needs a font with the braille block.
    #[default]
    Braille,
    /// One `•` per cell: for fonts without braille.
    Dot,
    /// Nothing but ASCII inside a chart (`*` `.` `-` `|` `+`): for any terminal.
    Ascii,
}

impl Charts {
    pub fn as_str(self) -> &'static str {
        match self {
            Charts::Braille => "braille",
            Charts::Dot => "dot",
            Charts::Ascii => "ascii",
        }
    }

    /// From the locale, as `var` reads the environment: the first of LC_ALL, LC_CTYPE and
    /// LANG that is set and not empty decides (as in POSIX); braille when it names UTF-8,
    /// dots otherwise (a non-UTF-8 locale, or none at all: the C locale).
    pub fn from_locale(var: impl Fn(&str) -> Option<String>) -> Charts {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| var(k).filter(|v| !v.is_empty()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        if locale.contains("utf-8") || locale.contains("utf8") {
            Charts::Braille
        } else {
            Charts::Dot
        }
    }
}

impl Theme {
    /// Colour unless NO_COLOR is set to something non-empty; charts as the locale allows,
    /// unless `charts` (the command line's `--charts`) says otherwise.
    pub fn from_env(charts: Option<Charts>) -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            charts: charts.unwrap_or_else(|| Charts::from_locale(|k| std::env::var(k).ok())),
        }
    }

    pub const PLAIN: Theme = Theme {
        color: false,
        charts: Charts::Braille,
    };

    /// The same theme with charts drawn with other marks.
    pub fn with_charts(self, charts: Charts) -> Theme {
        Theme { charts, ..self }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn state(&self, st: CellState) -> Style {
        match st {
            CellState::Succeeded => self.fg(Color::Green),
            CellState::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            CellState::Running | CellState::RollingBack => self.fg(Color::Cyan),
            CellState::AwaitingApproval => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            CellState::Paused => self.fg(Color::Yellow),
            CellState::RolledBack | CellState::Cancelled => self.fg(Color::Magenta),
            CellState::Pending | CellState::Unknown => self.fg(Color::Gray),
        }
    }

    pub fn blocker(&self, k: BlockerKind) -> Style {
        match k {
            BlockerKind::Halt
            | BlockerKind::CheckFailed
            | BlockerKind::Slo
            | BlockerKind::SourceError => self.fg(Color::Red),
            BlockerKind::AwaitingApproval
            | BlockerKind::Hold
            | BlockerKind::Freeze
            | BlockerKind::WindowClosed => self.fg(Color::Yellow),
            _ => Style::new(),
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// The selected side's series in a chart.
    pub fn series(&self) -> Style {
        self.fg(Color::Cyan)
    }
    /// The stable side's series in a chart.
    pub fn stable_series(&self) -> Style {
        self.fg(Color::Gray)
    }
    /// The SLO line in a chart.
    pub fn slo(&self) -> Style {
        self.fg(Color::Red)
    }
    pub fn focused_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn banner(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
}

/// A short tag per blocker kind, legible without colour.
pub fn blocker_tag(k: BlockerKind) -> &'static str {
    match k {
        BlockerKind::CheckFailed => "check",
        BlockerKind::NotReady => "wait",
        BlockerKind::AwaitingApproval => "appr",
        BlockerKind::Dependency => "dep",
        BlockerKind::WindowClosed => "window",
        BlockerKind::Freeze => "freeze",
        BlockerKind::Soak => "soak",
        BlockerKind::Slo => "slo",
        BlockerKind::Stale => "stale",
        BlockerKind::Hold => "hold",
        BlockerKind::Halt => "HALT",
        BlockerKind::SourceError => "source",
    }
}

/// "  [dep] needs ledger at prod first": one blocker as a line of a popup.
pub fn blocker_line(b: &Blocker, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            format!("  [{}] ", blocker_tag(b.kind)),
            theme.blocker(b.kind),
        ),
        Span::raw(b.message.clone()),
    ])
}
