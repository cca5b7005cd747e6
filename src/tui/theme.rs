//! Styles. Every state is legible without colour (glyphs and words); colour only helps.

use ratatui::style::{Color, Modifier, Style};

use ratatui::text::{Line, Span};

use crate::model::{Blocker, BlockerKind, CellState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless NO_COLOR is set to something non-empty.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub const PLAIN: Theme = Theme { color: false };

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
