//! The commands' names in `[keys]`: snake_case, the help's words.

use super::{BINDINGS, Command};

impl Command {
    /// The command's name in `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Command::Up => "up",
            Command::Down => "down",
            Command::Left => "left",
            Command::Right => "right",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::PageUp => "page_up",
            Command::PageDown => "page_down",
            Command::NextPanel => "next_panel",
            Command::PrevPanel => "prev_panel",
            Command::Details => "details",
            Command::Promote => "promote",
            Command::PauseResume => "pause",
            Command::Rollback => "rollback",
            Command::Approve => "approve",
            Command::Reject => "reject",
            Command::Abort => "abort",
            Command::Halt => "halt",
            Command::CopyVersion => "copy_version",
            Command::CopyUrl => "copy_url",
            Command::Filter => "filter",
            Command::MetricsView => "metrics",
            Command::PrevMetric => "prev_metric",
            Command::NextMetric => "next_metric",
            Command::Help => "help",
            Command::Back => "back",
            Command::Quit => "quit",
            Command::Close => "close",
            Command::NextField => "next_field",
            Command::PrevField => "prev_field",
            Command::OtherButton => "other_button",
            Command::Press => "press",
            Command::PickVersion => "pick_version",
            Command::CopyCommand => "copy_command",
            Command::Cancel => "cancel",
            Command::Apply => "apply",
            Command::Clear => "clear",
            Command::Group => "group",
            Command::Fold => "fold",
            Command::OnlyBusy => "only_busy",
            Command::Jump => "jump",
            Command::JumpTo => "jump_to",
            Command::JumpNext => "jump_next",
            Command::JumpCancel => "jump_cancel",
        }
    }

    /// The command `[keys]` names `name`.
    pub fn named(name: &str) -> Option<Command> {
        BINDINGS
            .iter()
            .map(|b| b.command)
            .find(|c| c.name() == name)
    }
}

/// Every command's name, in the table's order.
pub fn names() -> Vec<&'static str> {
    BINDINGS.iter().map(|b| b.command.name()).collect()
}

/// Words people may try for a command that has another name.
pub const OTHER_WORDS: &[(&str, Command)] = &[
    ("resume", Command::PauseResume),
    ("pause_resume", Command::PauseResume),
    ("unhalt", Command::Halt),
    ("metrics_view", Command::MetricsView),
    ("charts", Command::MetricsView),
    ("escape", Command::Back),
    ("go", Command::Press),
    ("confirm", Command::Press),
    ("group_by_team", Command::Group),
    ("teams", Command::Group),
    ("busy", Command::OnlyBusy),
    ("goto", Command::Jump),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_one_row_and_a_name_of_its_own() {
        let names = names();
        for (i, b) in BINDINGS.iter().enumerate() {
            assert_eq!(
                BINDINGS.iter().filter(|o| o.command == b.command).count(),
                1,
                "{:?} has more than one row",
                b.command
            );
            assert_eq!(
                names.iter().filter(|n| **n == names[i]).count(),
                1,
                "{} is two commands' name",
                names[i]
            );
            assert_eq!(Command::named(b.command.name()), Some(b.command));
            assert!(
                names[i].chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{} is not snake_case",
                names[i]
            );
        }
        assert_eq!(Command::named("Promote"), None);
        for (word, command) in OTHER_WORDS {
            assert_eq!(Command::named(word), None, "{word} is a name");
            assert!(names.contains(&command.name()));
        }
    }
}
