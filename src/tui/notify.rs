//! The screen's side of notifications: the engine's notices (`engine::notify`) become the
//! terminal's bell and a desktop notification (OSC 9 or OSC 777, wrapped for tmux's
//! passthrough inside tmux), at most one per `at_most_every`, and never while the person types
//! in a dialog or the filter line: those wait until they are done.
//!
//! The bytes are built here by `osc` from the notice's text, which is the engine's words and
//! sanitized payload text; `osc` refuses any control character on top of that.

use super::app::{App, Cmd};
use super::keymap::Mode;
use super::osc;
use crate::config::{Desktop, NotifyConfig};
use crate::engine::notify::Notice;
use crate::engine::notify::limit::{Batch, Limiter};
use crate::model::Timestamp;

/// The most characters of a notice a desktop notification carries.
const DESKTOP_CHARS: usize = 200;

/// How the screen notifies, and what waits to.
#[derive(Clone, Debug)]
pub struct Notifier {
    limiter: Limiter,
    bell: bool,
    desktop: Desktop,
    /// Inside tmux: desktop notifications go through its passthrough.
    tmux: bool,
}

impl Notifier {
    /// As `config` says; `tmux` when running inside tmux (`osc::in_tmux`).
    pub fn new(config: &NotifyConfig, tmux: bool) -> Notifier {
        Notifier {
            limiter: Limiter::new(config.at_most_every),
            bell: config.bell,
            desktop: config.desktop,
            tmux,
        }
    }

    /// Writes nothing (notices still reach the activity panel).
    pub fn off() -> Notifier {
        Notifier::new(&NotifyConfig::off(), false)
    }

    fn silent(&self) -> bool {
        !self.bell && self.desktop == Desktop::Off
    }

    pub fn push(&mut self, n: Notice) {
        if !self.silent() {
            self.limiter.push(n);
        }
    }

    /// The bytes to write now, if a notification is due (`typing`: hold them).
    pub fn take(&mut self, now: Timestamp, typing: bool) -> Option<String> {
        let batch = self.limiter.take(now, typing)?;
        Some(self.bytes(&batch))
    }

    /// The bell and the desktop notification for `batch`.
    fn bytes(&self, batch: &Batch) -> String {
        let mut out = String::new();
        // Sanitized again (it already is: this changes nothing but the length).
        let text = crate::model::text::sanitize(&batch.text(), DESKTOP_CHARS);
        let seq = match self.desktop {
            Desktop::Osc9 => osc::notify9(&format!("trainyard: {text}"))
                .or_else(|| osc::notify9("trainyard: see the activity panel")),
            Desktop::Osc777 => osc::notify777("trainyard", &text)
                .or_else(|| osc::notify777("trainyard", "see the activity panel")),
            Desktop::Off => None,
        };
        if let Some(seq) = seq {
            out.push_str(&if self.tmux {
                osc::passthrough(&seq)
            } else {
                seq
            });
        }
        // tmux handles a bell itself (and passes it on): no wrapping.
        if self.bell {
            out.push_str(&osc::bell());
        }
        out
    }
}

impl App {
    /// A notification due now, as bytes for the terminal: none while a dialog or the filter
    /// line takes what the person types.
    pub(super) fn ring(&mut self) -> Option<Cmd> {
        let typing = matches!(self.mode(), Mode::Confirm | Mode::Filter | Mode::Jump);
        let now = self.now;
        self.notifier.take(now, typing).map(Cmd::Terminal)
    }
}

#[cfg(test)]
mod tests;
