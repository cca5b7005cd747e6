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
    /// Stop a rollout in progress and send its traffic back to the stable version (an Argo
    /// Rollout's `abort`).
    Abort,
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
            ActionKind::Abort => "abort",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        use ActionKind::*;
        [
            Promote, Pause, Resume, Rollback, Approve, Reject, Halt, Unhalt, Abort,
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
            ActionKind::Abort => "Abort",
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
            ActionKind::Abort => "aborting",
        }
    }

    /// May go while `other` is in flight on the same cell: an abort stops the sync or rollout
    /// a promote or rollback started (waiting for it to end would defeat the abort).
    pub fn stops(self, other: ActionKind) -> bool {
        self.goes_beside() && matches!(other, ActionKind::Promote | ActionKind::Rollback)
    }

    /// Goes beside what it [stops](ActionKind::stops): a cell's claim of its own.
    pub fn goes_beside(self) -> bool {
        self == ActionKind::Abort
    }

    /// Undoes or stops something already out there: asks for more care.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            ActionKind::Rollback | ActionKind::Reject | ActionKind::Halt | ActionKind::Abort
        )
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ActionKind::{self, *};

    /// Every kind reads back from its word (the audit log stores the word), and the ones that
    /// stop or undo something out there ask for more care.
    #[test]
    fn every_kind_reads_back_from_its_word() {
        let all = [
            Promote, Pause, Resume, Rollback, Approve, Reject, Halt, Unhalt, Abort,
        ];
        for k in all {
            assert_eq!(ActionKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ActionKind::parse("abort"), Some(Abort));
        assert_eq!(Abort.verb(), "Abort");
        assert_eq!(Abort.progressive(), "aborting");
        assert!(Abort.is_destructive() && Rollback.is_destructive());
        assert!(!Promote.is_destructive() && !Pause.is_destructive());
        assert_eq!(ActionKind::parse("cancel"), None);
    }
}
