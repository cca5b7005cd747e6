//! Copy: `y` puts the selected cell's full version on the clipboard, `Y` its URL, and `y` on
//! a button of the confirmation dialog the command line that does the same. Through OSC 52
//! (`osc::copy`), which works over SSH: the terminal at the other end does the copy. tmux
//! takes OSC 52 itself (`set -g set-clipboard on`), so it is never wrapped for passthrough.
//! A flash says what was copied, or why nothing was.

use super::app::{App, Cmd};
use super::confirm::ConfirmDialog;
use super::osc;
use crate::engine::Tone;

impl App {
    /// `text` to the clipboard, and `what` it was in the footer.
    fn copy(&mut self, text: &str, what: String) -> Vec<Cmd> {
        self.flash(what, Tone::Good);
        vec![Cmd::Terminal(osc::copy(text))]
    }

    /// The selected cell and where it is ("payments-api @ canary"), or in the footer why
    /// there is nothing to copy from.
    fn copy_source(&mut self) -> Option<(String, crate::model::Cell)> {
        let Some(key) = self.selected_key() else {
            self.flash("no lane selected", Tone::Bad);
            return None;
        };
        let place = format!("{} @ {}", key.lane, key.stage);
        let Some(cell) = self.selected_cell().cloned() else {
            self.flash(format!("no data for {place} yet"), Tone::Bad);
            return None;
        };
        Some((place, cell))
    }

    /// `y`: the selected cell's full version (the matrix shows a SHA's first 7).
    pub(super) fn copy_version(&mut self) -> Vec<Cmd> {
        let Some((place, cell)) = self.copy_source() else {
            return vec![];
        };
        match cell.version.filter(|v| !v.is_empty()) {
            Some(v) => self.copy(&v, format!("copied {v} (version of {place})")),
            None => {
                self.flash(format!("no version for {place}"), Tone::Bad);
                vec![]
            }
        }
    }

    /// `Y`: the selected cell's URL (its run or deployment), else its commit's page.
    pub(super) fn copy_url(&mut self) -> Vec<Cmd> {
        let Some((place, cell)) = self.copy_source() else {
            return vec![];
        };
        let found = match (cell.url, cell.commit_url) {
            (Some(u), _) if !u.is_empty() => Some((u, "URL")),
            (_, Some(u)) if !u.is_empty() => Some((u, "commit")),
            _ => None,
        };
        match found {
            Some((u, what)) => self.copy(&u, format!("copied {u} ({what} of {place})")),
            None => {
                self.flash(format!("no URL for this cell ({place})"), Tone::Bad);
                vec![]
            }
        }
    }

    /// `y` in the dialog, on a button: the command line of the action as it would go now
    /// (with the reason typed so far, forced when blocked).
    pub(super) fn copy_command(&mut self, d: &ConfirmDialog) -> Vec<Cmd> {
        let line = d.final_action().command_line();
        self.copy(&line, format!("copied the command line: {line}"))
    }
}
