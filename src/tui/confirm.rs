//! The confirmation dialog as a component: its state, its keys and its footer. Cancel is where
//! it starts; Go sends only what the user saw (the train is checked again first).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Cmd, Popup};
use super::keymap::{Command, Keymap, Mode};
use crate::engine::Tone;
use crate::ops::availability::{recheck, unforceable};
use crate::ops::{Action, Confirm, Plan};

/// What has the focus in the confirmation dialog. Cancel is where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Reason,
    Name,
    Cancel,
    Go,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmDialog {
    pub plan: Plan,
    pub source: Option<String>,
    /// Why: required for halt, unhalt and forcing a blocked action; optional otherwise.
    pub reason: String,
    /// The lane's name, typed, where the action asks for it.
    pub typed: String,
    pub focus: Field,
}

impl ConfirmDialog {
    pub fn new(plan: Plan, source: Option<String>) -> Self {
        ConfirmDialog {
            plan,
            source,
            reason: String::new(),
            typed: String::new(),
            focus: Field::Cancel,
        }
    }

    /// The fields Tab moves through, in order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = vec![Field::Reason];
        if matches!(self.plan.confirm, Confirm::TypeName(_)) {
            f.push(Field::Name);
        }
        f.extend([Field::Cancel, Field::Go]);
        f
    }

    /// Policy blocks it: the Go button forces it, and needs a reason.
    pub fn forcing(&self) -> bool {
        !self.plan.allowed()
    }

    /// The action needs a reason (`Action::needs_reason`: forced, halt, unhalt).
    pub fn reason_needed(&self) -> bool {
        self.final_action().needs_reason()
    }

    /// What still stands before Go does anything, in words; `None` when it can go.
    pub fn missing(&self) -> Option<String> {
        if self.forcing()
            && let Some(why) = unforceable(&self.plan)
        {
            return Some(why);
        }
        if self.reason_needed() && self.reason.trim().is_empty() {
            return Some(if self.forcing() {
                "blocked by policy: to force it, give a reason".into()
            } else {
                format!("{} needs a reason", self.plan.action.kind)
            });
        }
        if let Confirm::TypeName(name) = &self.plan.confirm
            && &self.typed != name
        {
            return Some(format!("type the lane's name ({name}) to confirm"));
        }
        None
    }

    /// The action as it will go: with the reason, forced when blocked.
    pub fn final_action(&self) -> Action {
        let mut a = self.plan.action.clone();
        let reason = self.reason.trim();
        a.reason = (!reason.is_empty()).then(|| reason.to_string());
        a.force = self.forcing();
        a
    }

    /// The footer's keys: the dialog's own, as mapped.
    pub fn hints<'k>(&self, keys: &'k Keymap) -> Vec<(&'k str, &'static str)> {
        let mut v: Vec<_> = keys
            .footer(Mode::Confirm)
            .map(|(_, k, words)| (k, words))
            .collect();
        if self.plan.choices.len() > 1 {
            v.push((keys.label(Command::PickVersion), "version"));
        }
        v
    }

    fn editing(&self) -> bool {
        matches!(self.focus, Field::Reason | Field::Name)
    }

    fn text(&mut self) -> &mut String {
        if self.focus == Field::Reason {
            &mut self.reason
        } else {
            &mut self.typed
        }
    }
}

impl App {
    /// A key in the dialog. Typed text goes to the focused field; the rest is the key table's.
    pub(super) fn on_confirm_key(
        &mut self,
        mut d: ConfirmDialog,
        key: KeyEvent,
        command: Option<Command>,
    ) -> Vec<Cmd> {
        let fields = d.fields();
        let at = fields.iter().position(|f| *f == d.focus).unwrap_or(0);
        let editing = d.editing();
        match (command, key.code) {
            (Some(Command::Cancel), _) => return self.cancel(&d),
            (Some(Command::NextField), _) => d.focus = fields[(at + 1) % fields.len()],
            (Some(Command::PrevField), _) => {
                d.focus = fields[(at + fields.len() - 1) % fields.len()]
            }
            (Some(Command::OtherButton), _) if !editing => {
                d.focus = if d.focus == Field::Cancel {
                    Field::Go
                } else {
                    Field::Cancel
                };
            }
            (Some(Command::PickVersion), _) if !d.plan.choices.is_empty() => {
                // Of two keys or more, the first goes up the list; the others go down.
                let up = self.keys.keys(Command::PickVersion).len() > 1
                    && self.keys.which(Command::PickVersion, key) == Some(0);
                self.pick_version(&mut d, !up)
            }
            // y on a button copies the command line (in a field, it is typed); never "yes".
            (Some(Command::CopyCommand), _) if !editing => {
                let cmds = self.copy_command(&d);
                self.popup = Some(Popup::Confirm(Box::new(d)));
                return cmds;
            }
            (Some(Command::Press), _) if d.focus == Field::Cancel => return self.cancel(&d),
            (Some(Command::Press), _) if editing => d.focus = fields[(at + 1) % fields.len()],
            (Some(Command::Press), _) => return self.go(d),
            (_, KeyCode::Backspace) if editing => {
                d.text().pop();
            }
            (_, KeyCode::Char(c)) if editing && !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let text = d.text();
                if text.chars().count() < 200 {
                    text.push(c);
                }
            }
            (_, KeyCode::Char('q')) => return self.cancel(&d),
            _ => {}
        }
        self.popup = Some(Popup::Confirm(Box::new(d)));
        vec![]
    }

    fn cancel(&mut self, d: &ConfirmDialog) -> Vec<Cmd> {
        self.flash(
            format!("{} cancelled", d.plan.action.describe()),
            Tone::Info,
        );
        vec![]
    }

    /// ↑↓: another good version to roll back to, planned again.
    fn pick_version(&mut self, d: &mut ConfirmDialog, down: bool) {
        let n = d.plan.choices.len();
        let cur = d
            .plan
            .choices
            .iter()
            .position(|h| Some(&h.version) == d.plan.to_version.as_ref())
            .unwrap_or(0);
        let next = if down {
            (cur + 1) % n
        } else {
            (cur + n - 1) % n
        };
        let mut action = d.plan.action.clone();
        action.version = Some(d.plan.choices[next].version.clone());
        match self.snap.plan(action) {
            Ok(p) => d.plan = p,
            Err(e) => self.flash(e, Tone::Bad),
        }
    }

    /// Go pressed: check what is missing, check the train again, and send.
    fn go(&mut self, mut d: ConfirmDialog) -> Vec<Cmd> {
        if let Some(missing) = d.missing() {
            self.flash(format!("not sent: {missing}"), Tone::Bad);
            self.popup = Some(Popup::Confirm(Box::new(d)));
            return vec![];
        }
        // The train may have moved while the dialog was open: send only what the user saw.
        let mut plan = match recheck(&d.plan, self.snap.plan(d.plan.action.clone())) {
            Ok(p) => p,
            Err((why, None)) => {
                self.flash(format!("not sent: {why}"), Tone::Bad);
                return vec![];
            }
            Err((why, Some(p))) => {
                d.plan = *p;
                d.focus = Field::Cancel;
                self.flash(format!("not sent: {why}"), Tone::Bad);
                self.popup = Some(Popup::Confirm(Box::new(d)));
                return vec![];
            }
        };
        plan.action = d.final_action();
        vec![Cmd::Submit(Box::new(plan))]
    }
}
