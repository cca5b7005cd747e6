//! Styles. Every state is legible without colour (glyphs and words); colour only helps.

use ratatui::style::{Color, Modifier, Style};

use ratatui::text::{Line, Span};

use super::palette::Palette;
use crate::config::ui::{ThemeName, UiConfig};
use crate::model::{Blocker, BlockerKind, CellState, Train};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// The colours; `None` draws none at all (`mono`, NO_COLOR): attributes only.
    pub palette: Option<Palette>,
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
    /// The theme `[ui]` asks for (or `--theme`, which wins), with no colour at all when
    /// NO_COLOR is set to something non-empty; charts as the locale allows, unless `charts`
    /// (the command line's `--charts`) says otherwise.
    pub fn from_env(ui: &UiConfig, theme: Option<ThemeName>, charts: Option<Charts>) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(ui, theme, no_color)
            .with_charts(charts.unwrap_or_else(|| Charts::from_locale(|k| std::env::var(k).ok())))
    }

    /// [`Theme::from_env`] without the environment: NO_COLOR forces `mono` whatever the
    /// config and the command line say.
    pub fn new(ui: &UiConfig, theme: Option<ThemeName>, no_color: bool) -> Theme {
        let name = if no_color {
            ThemeName::Mono
        } else {
            theme.unwrap_or(ui.theme)
        };
        Theme {
            palette: Palette::of(name, &ui.colors),
            charts: Charts::Braille,
        }
    }

    pub const PLAIN: Theme = Theme {
        palette: None,
        charts: Charts::Braille,
    };

    /// The same theme with charts drawn with other marks.
    pub fn with_charts(self, charts: Charts) -> Theme {
        Theme { charts, ..self }
    }

    /// The foreground `role` picks from the palette; nothing without one.
    fn fg(&self, role: impl Fn(&Palette) -> Color) -> Style {
        match &self.palette {
            Some(p) => Style::new().fg(role(p)),
            None => Style::new(),
        }
    }

    pub fn state(&self, st: CellState) -> Style {
        match st {
            CellState::Succeeded => self.fg(|p| p.ok),
            CellState::Failed => self.fg(|p| p.bad).add_modifier(Modifier::BOLD),
            CellState::Running | CellState::RollingBack => self.fg(|p| p.accent),
            CellState::AwaitingApproval => self.fg(|p| p.warn).add_modifier(Modifier::BOLD),
            CellState::Paused => self.fg(|p| p.warn),
            CellState::RolledBack | CellState::Cancelled => self.fg(|p| p.undone),
            CellState::Pending | CellState::Unknown => self.fg(|p| p.dim),
        }
    }

    pub fn blocker(&self, k: BlockerKind) -> Style {
        match k {
            BlockerKind::Halt
            | BlockerKind::CheckFailed
            | BlockerKind::Slo
            | BlockerKind::SourceError => self.fg(|p| p.bad),
            BlockerKind::AwaitingApproval
            | BlockerKind::Hold
            | BlockerKind::Freeze
            | BlockerKind::WindowClosed
            | BlockerKind::SourceRefuses => self.fg(|p| p.warn),
            _ => Style::new(),
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(|p| p.ok)
    }
    pub fn bad(&self) -> Style {
        self.fg(|p| p.bad).add_modifier(Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(|p| p.warn)
    }
    /// Text that matters less: faint, or in the palette's dim colour where faint would
    /// vanish (a light background).
    pub fn dim(&self) -> Style {
        match &self.palette {
            Some(p) if !p.faint => Style::new().fg(p.dim),
            _ => Style::new().add_modifier(Modifier::DIM),
        }
    }
    /// `style`, faded: what is stale or disabled. Faint on a dark background; in the dim
    /// colour where faint would vanish (a light one).
    pub fn faded(&self, style: Style) -> Style {
        match &self.palette {
            Some(p) if !p.faint => style.fg(p.dim),
            _ => style.add_modifier(Modifier::DIM),
        }
    }
    /// A protected stage's name: in its own colour, bold (the mark after the name says it
    /// without colour).
    pub fn protected(&self) -> Style {
        self.fg(|p| p.protected).add_modifier(Modifier::BOLD)
    }
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(|p| p.accent).add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// The selected side's series in a chart.
    pub fn series(&self) -> Style {
        self.fg(|p| p.accent)
    }
    /// The stable side's series in a chart.
    pub fn stable_series(&self) -> Style {
        self.fg(|p| p.dim)
    }
    /// The SLO line in a chart.
    pub fn slo(&self) -> Style {
        self.fg(|p| p.bad)
    }
    pub fn focused_border(&self) -> Style {
        self.fg(|p| p.accent).add_modifier(Modifier::BOLD)
    }
    pub fn banner(&self) -> Style {
        match &self.palette {
            Some(p) => Style::new()
                .bg(p.bad)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            None => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        }
    }

    /// A stage's name as every view shows it: "prod ◆" in the protected style when it is
    /// protected, else as it is in `style`.
    pub fn stage(&self, train: &Train, stage: &str, style: Style) -> Span<'static> {
        if train.is_protected(stage) {
            // Never faint, whatever it is part of.
            let style = style.patch(self.protected()).remove_modifier(Modifier::DIM);
            Span::styled(train.stage_label(stage), style)
        } else {
            Span::styled(stage.to_string(), style)
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
        BlockerKind::SourceRefuses => "refused",
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
