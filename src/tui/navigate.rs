//! Finding your way in a big train, as the app's keys: group by team, fold a team, only the
//! busy lanes, jump to a lane by name. The rows themselves are `rows`; the matching `jump`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::jump::{Prompt, matches};
use super::keymap::Command;
use super::rows::{Heading, Picked, Row};
use crate::engine::Tone;

impl App {
    /// The team heading under the selection, if that is one.
    pub fn selected_heading(&self) -> Option<&Heading> {
        match self.rows.get(self.sel_lane)? {
            Row::Team(h) => Some(h),
            Row::Lane(_) => None,
        }
    }

    /// Group the lanes by team, or not.
    pub(super) fn toggle_grouping(&mut self) {
        self.lanes_opts.grouped = !self.lanes_opts.grouped;
        self.refilter();
    }

    /// Only the lanes blocked, moving or held, or every lane again.
    pub(super) fn toggle_busy_only(&mut self) {
        self.lanes_opts.busy_only = !self.lanes_opts.busy_only;
        self.refilter();
    }

    /// Fold the team under the selection (its heading, or a lane's own team), or unfold it.
    pub(super) fn fold_team(&mut self) {
        if !self.lanes_opts.grouped {
            let t = self.keys.label(Command::Group).to_string();
            return self.flash(
                format!("teams fold when the lanes are grouped: {t} groups them"),
                Tone::Info,
            );
        }
        let team = match self.rows.get(self.sel_lane) {
            Some(Row::Team(h)) => h.team.clone(),
            Some(Row::Lane(i)) => self.snap.train.lanes[*i].team.clone(),
            None => return,
        };
        let folded = &mut self.lanes_opts.folded;
        if !folded.remove(&team) {
            folded.insert(team);
        }
        // A lane folded away leaves the selection on its team's heading.
        self.refilter();
    }

    /// Open the prompt that jumps to a lane by name.
    pub(super) fn open_jump(&mut self) {
        self.jump = Some(Prompt {
            from: self.rows.get(self.sel_lane).map(Picked::of),
            from_row: self.sel_lane,
            ..Prompt::default()
        });
    }

    /// A key on the jump prompt: typed text finds the lanes that match and shows the best
    /// where it is on screen; Enter goes there (showing it if the filter, the toggle or a
    /// fold hid it); Esc goes back.
    pub(super) fn on_jump_key(&mut self, key: KeyEvent, command: Option<Command>) {
        let Some(mut p) = self.jump.take() else {
            return;
        };
        match (command, key.code) {
            (Some(Command::JumpCancel), _) => {
                self.sel_lane = super::rows::reselect(
                    &self.snap.train,
                    &self.rows,
                    p.from.as_ref(),
                    p.from_row,
                );
                return;
            }
            (Some(Command::JumpTo), _) => {
                match p.current() {
                    Some(i) => self.go_to_lane(i),
                    None if p.query.is_empty() => {}
                    None => self.flash(format!("no lane matches \"{}\"", p.query), Tone::Bad),
                }
                return;
            }
            (Some(Command::JumpNext), _) if !p.matches.is_empty() => {
                p.at = (p.at + 1) % p.matches.len();
            }
            (_, KeyCode::Backspace) => {
                p.query.pop();
                self.find(&mut p);
            }
            (_, KeyCode::Char(c))
                if !c.is_control() && !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                p.query.push(c);
                self.find(&mut p);
            }
            _ => {}
        }
        // The match on offer, selected where it is shown.
        if let Some(row) = p.current().and_then(|i| self.row_of_lane(i)) {
            self.sel_lane = row;
        }
        self.jump = Some(p);
    }

    fn find(&self, p: &mut Prompt) {
        p.matches = matches(
            &p.query,
            self.snap.train.lanes.iter().map(|l| l.name.as_str()),
        );
        p.at = 0;
    }

    /// The row of lane `i`, if it is shown.
    pub fn row_of_lane(&self, i: usize) -> Option<usize> {
        self.rows.iter().position(|r| *r == Row::Lane(i))
    }

    /// Select lane `i` (by index in the train): unfold its team, and lift the filter or the
    /// toggle if they hide it, saying so.
    pub fn go_to_lane(&mut self, i: usize) {
        let Some(lane) = self.snap.train.lanes.get(i) else {
            return;
        };
        let (name, team) = (lane.name.clone(), lane.team.clone());
        let mut lifted = Vec::new();
        self.lanes_opts.folded.remove(&team);
        self.refilter();
        if self.row_of_lane(i).is_none() && !self.filter.is_empty() {
            self.filter.clear();
            lifted.push("the filter cleared");
            self.refilter();
        }
        if self.row_of_lane(i).is_none() && self.lanes_opts.busy_only {
            self.lanes_opts.busy_only = false;
            lifted.push("every lane shown");
            self.refilter();
        }
        if let Some(row) = self.row_of_lane(i) {
            self.sel_lane = row;
        }
        if !lifted.is_empty() {
            self.flash(format!("{name}: {}", lifted.join(", ")), Tone::Info);
        }
    }
}
