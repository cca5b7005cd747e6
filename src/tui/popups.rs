//! The details and help popups and the filter line as components: their keys and their
//! footers, from the one key table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Cmd, Popup};
use super::keymap::{Command, Group, Mode};

/// How far a popup may scroll; drawing clamps it to what there is to see.
const SCROLL_MAX: usize = 200;

impl App {
    /// A key in the details or help popup: scroll, close, quit; from the details, the actions
    /// on the cell.
    pub(super) fn on_popup_key(&mut self, mode: Mode, command: Option<Command>) -> Vec<Cmd> {
        let Some(c) = command else { return vec![] };
        match c {
            // Esc, and the key that opened it.
            Command::Close | Command::Details | Command::Help => self.popup = None,
            Command::Up => self.popup_scroll = self.popup_scroll.saturating_sub(1),
            Command::PageUp => self.popup_scroll = self.popup_scroll.saturating_sub(10),
            Command::Down => self.popup_scroll = (self.popup_scroll + 1).min(SCROLL_MAX),
            Command::PageDown => self.popup_scroll = (self.popup_scroll + 10).min(SCROLL_MAX),
            // With actions in flight, q asks twice here too.
            Command::Quit => {
                self.popup = None;
                return self.quit_asked();
            }
            // Actions work from the details popup: the dialog takes its place.
            c if mode == Mode::Details => {
                self.popup = None;
                let cmds = self.on_command(c);
                if self.popup.is_none() {
                    self.popup = Some(Popup::Details);
                }
                return cmds;
            }
            _ => {}
        }
        vec![]
    }

    /// A key on the filter line: typed text narrows the lanes at once.
    pub(super) fn on_filter_key(&mut self, key: KeyEvent, command: Option<Command>) {
        match (command, key.code) {
            (Some(Command::Apply), _) => self.filter_editing = false,
            (Some(Command::Clear), _) => {
                self.filter_editing = false;
                self.filter.clear();
            }
            (_, KeyCode::Backspace) => {
                self.filter.pop();
            }
            (_, KeyCode::Char(c))
                if !c.is_control() && !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                self.filter.push(c)
            }
            _ => {}
        }
        self.refilter();
    }

    /// The footer's keys of the popup or line that has the keys, as mapped; `None` on the
    /// main view.
    pub fn popup_hints(&self) -> Option<Vec<(&str, &'static str)>> {
        let mode = self.mode();
        let keys = &self.keys;
        Some(match (mode, &self.popup) {
            (Mode::Confirm, Some(Popup::Confirm(d))) => d.hints(keys),
            (Mode::Details | Mode::Help, _) => {
                // Close and scroll first; quit last, where a narrow footer keeps it. The keys
                // that opened the popup close it too, unsaid.
                let mut own: Vec<_> = keys
                    .footer(mode)
                    .filter(|(c, ..)| !matches!(c, Command::Details | Command::Help))
                    .collect();
                own.sort_by_key(|(c, ..)| *c == Command::Quit);
                let mut v: Vec<_> = own.into_iter().map(|(_, k, w)| (k, w)).collect();
                v.insert(1.min(v.len()), (keys.group(Group::Scroll), "scroll"));
                v
            }
            (Mode::Filter, _) => keys.footer(Mode::Filter).map(|(_, k, w)| (k, w)).collect(),
            (Mode::Jump, _) => keys.footer(Mode::Jump).map(|(_, k, w)| (k, w)).collect(),
            _ => return None,
        })
    }
}
