//! The closed set of things a release manager can do to the train.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Promote,
    Pause,
    Resume,
    Rollback,
    Approve,
    Reject,
    Halt,
    Unhalt,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Promote => "promote",
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
            ActionKind::Rollback => "rollback",
            ActionKind::Approve => "approve",
            ActionKind::Reject => "reject",
            ActionKind::Halt => "halt",
            ActionKind::Unhalt => "unhalt",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        use ActionKind::*;
        [
            Promote, Pause, Resume, Rollback, Approve, Reject, Halt, Unhalt,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Capitalised verb for dialogs and messages.
    pub fn verb(self) -> &'static str {
        match self {
            ActionKind::Promote => "Promote",
            ActionKind::Pause => "Pause",
            ActionKind::Resume => "Resume",
            ActionKind::Rollback => "Roll back",
            ActionKind::Approve => "Approve",
            ActionKind::Reject => "Reject",
            ActionKind::Halt => "Halt",
            ActionKind::Unhalt => "Unhalt",
        }
    }

    /// What someone doing it is doing: "bob is promoting payments-api → prod".
    pub fn progressive(self) -> &'static str {
        match self {
            ActionKind::Promote => "promoting",
            ActionKind::Pause => "pausing",
            ActionKind::Resume => "resuming",
            ActionKind::Rollback => "rolling back",
            ActionKind::Approve => "approving",
            ActionKind::Reject => "rejecting",
            ActionKind::Halt => "halting",
            ActionKind::Unhalt => "unhalting",
        }
    }

    /// Undoes or stops something already out there: asks for more care.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            ActionKind::Rollback | ActionKind::Reject | ActionKind::Halt
        )
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
