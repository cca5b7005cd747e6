//! End to end: a fast demo raises a desktop notification. The real binary in a real terminal
//! (tmux): the demo's checkout-web waits at prod for maria.chen, and maria.chen is who runs
//! it (her login, no config at all: the defaults notify an approval that waits for you). The
//! bytes the demo writes to the pane (tmux `pipe-pane -O`) carry the bell and an OSC 9
//! notification wrapped for tmux's passthrough, since the demo runs inside tmux.
//!
//! Needs tmux (`.ci/run` installs it). Without tmux the test fails under CI=true and is
//! skipped with a message otherwise.

mod common;

use common::bin::BIN;
use common::tmux::{self, Tmux};

/// The passthrough-wrapped OSC 9 notification of an approval waiting at checkout-web's prod,
/// as trainyard writes it inside tmux.
const NOTIFICATION: &str =
    "\u{1b}Ptmux;\u{1b}\u{1b}]9;trainyard: approval waits for you: checkout-web prod ";

#[test]
fn a_fast_demo_raises_a_desktop_notification() {
    if !tmux::available("the end-to-end notification test") {
        return;
    }
    let t = Tmux::shell("notify", &[("USER", "maria.chen")]);
    t.record("pty.raw");
    t.run(&format!(
        "{BIN} demo --speed 10 --log-file {}",
        t.path("trainyard.log").display()
    ));
    t.wait_for("the demo to draw the train", |s| s.contains("Lanes 9"));
    let raw = t.wait_for_recorded("pty.raw", "the desktop notification", |s| {
        s.contains(NOTIFICATION)
    });
    // One sequence, whole: OSC 9 ended by BEL, the passthrough by ST, then the bell itself.
    let at = raw.find(NOTIFICATION).unwrap();
    let rest = &raw[at + NOTIFICATION.len()..];
    let end = rest
        .find("\u{1b}\\")
        .unwrap_or_else(|| panic!("no end of the passthrough: {rest:?}"));
    let body = &rest[..end];
    assert!(body.ends_with('\u{7}'), "{body:?}");
    assert!(
        body.contains("(reviewers: maria-chen, team storefront-leads)"),
        "{body:?}"
    );
    assert!(
        !body[..body.len() - 1].chars().any(|c| c.is_control()),
        "a control inside the notification: {body:?}"
    );
    assert!(
        rest[end + 2..].starts_with('\u{7}'),
        "the bell after it: {:?}",
        &rest[end..(end + 20).min(rest.len())]
    );
    // Once: the approval that stays waiting is not news again.
    assert_eq!(raw.matches(NOTIFICATION).count(), 1);
    // The screen lists it in the activity.
    t.wait_for("the notice in the activity", |s| {
        s.contains("notify: approval waits for you")
    });
    t.keys(&["q"]);
    t.assert_restored("0", "Lanes 9");
}
