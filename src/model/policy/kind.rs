//! The kinds of blocker: what stops a car, as a word (`status --json` writes it).

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    CheckFailed,
    /// The version to promote has not finished at the previous stage (or there is none).
    NotReady,
    AwaitingApproval,
    Dependency,
    WindowClosed,
    Freeze,
    Soak,
    Slo,
    Stale,
    Hold,
    Halt,
    SourceError,
    /// The stage's source refuses to take a version now, in its words (an Argo CD sync window
    /// that denies syncs).
    SourceRefuses,
}

impl BlockerKind {
    /// Every kind, in the order of the enum.
    pub const ALL: [BlockerKind; 13] = [
        BlockerKind::CheckFailed,
        BlockerKind::NotReady,
        BlockerKind::AwaitingApproval,
        BlockerKind::Dependency,
        BlockerKind::WindowClosed,
        BlockerKind::Freeze,
        BlockerKind::Soak,
        BlockerKind::Slo,
        BlockerKind::Stale,
        BlockerKind::Hold,
        BlockerKind::Halt,
        BlockerKind::SourceError,
        BlockerKind::SourceRefuses,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockerKind::CheckFailed => "check_failed",
            BlockerKind::NotReady => "not_ready",
            BlockerKind::AwaitingApproval => "awaiting_approval",
            BlockerKind::Dependency => "dependency",
            BlockerKind::WindowClosed => "window_closed",
            BlockerKind::Freeze => "freeze",
            BlockerKind::Soak => "soak",
            BlockerKind::Slo => "slo",
            BlockerKind::Stale => "stale",
            BlockerKind::Hold => "hold",
            BlockerKind::Halt => "halt",
            BlockerKind::SourceError => "source_error",
            BlockerKind::SourceRefuses => "source_refuses",
        }
    }
}
