//! Notices on the screen: the bytes of the bell and the desktop notification, the rate limit,
//! and nothing while a dialog or the filter line takes what the person types.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::NoticeKind;
use crate::engine::{Event, Tone, events};
use crate::tui::app::{Msg, Popup};
use crate::tui::fixture::{self, Rig, t};

const BEL: &str = "\u{7}";

fn notice(kind: NoticeKind, text: &str, at: i64) -> Event {
    events::notice(&Notice {
        at: t(at),
        kind,
        tone: Tone::Bad,
        lane: Some("search-indexer".into()),
        stage: Some("canary".into()),
        text: text.into(),
    })
}

fn how(bell: bool, desktop: Desktop) -> NotifyConfig {
    NotifyConfig {
        bell,
        desktop,
        at_most_every: Duration::from_secs(30),
        ..NotifyConfig::off()
    }
}

/// The fixture's screen, notifying as `config` says (`tmux`: inside tmux).
fn screen(config: &NotifyConfig, tmux: bool) -> Rig {
    let mut rig = fixture::app();
    rig.app.notifier = Notifier::new(config, tmux);
    rig
}

/// What the screen writes to the terminal for `msg`.
fn written(rig: &mut Rig, msg: Msg) -> Vec<String> {
    rig.update(msg)
        .into_iter()
        .filter_map(|c| match c {
            Cmd::Terminal(bytes) => Some(bytes),
            _ => None,
        })
        .collect()
}

fn key(rig: &mut Rig, code: KeyCode) -> Vec<String> {
    written(rig, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[test]
fn a_notice_rings_the_bell_and_raises_an_osc9_notification() {
    let mut rig = screen(&how(true, Desktop::Osc9), false);
    let out = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Breach, "breach: x", 0))),
    );
    assert_eq!(out, [format!("\u{1b}]9;trainyard: breach: x{BEL}{BEL}")]);
    // In the activity too.
    assert_eq!(rig.activity[0].text, "notify: breach: x");
}

#[test]
fn osc777_has_a_title_and_a_body_and_the_bell_can_stay_quiet() {
    let mut rig = screen(&how(false, Desktop::Osc777), false);
    let out = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Approval, "approval; yes", 0))),
    );
    assert_eq!(
        out,
        [format!("\u{1b}]777;notify;trainyard;approval; yes{BEL}")]
    );
}

#[test]
fn inside_tmux_the_notification_goes_through_passthrough_and_the_bell_stays_plain() {
    let mut rig = screen(&how(true, Desktop::Osc9), true);
    let out = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Breach, "b", 0))),
    );
    assert_eq!(
        out,
        [format!(
            "\u{1b}Ptmux;\u{1b}\u{1b}]9;trainyard: b{BEL}\u{1b}\\{BEL}"
        )]
    );
}

#[test]
fn the_bell_alone_or_nothing_at_all() {
    let mut rig = screen(&how(true, Desktop::Off), true);
    let out = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Breach, "b", 0))),
    );
    assert_eq!(out, [BEL]);
    let mut quiet = screen(&how(false, Desktop::Off), false);
    assert!(
        written(
            &mut quiet,
            Msg::Event(Box::new(notice(NoticeKind::Breach, "b", 0)))
        )
        .is_empty()
    );
    // The screen's default writes nothing, and still lists the notice.
    let mut rig = fixture::app();
    assert!(
        written(
            &mut rig,
            Msg::Event(Box::new(notice(NoticeKind::Breach, "b", 0)))
        )
        .is_empty()
    );
    assert_eq!(rig.activity[0].text, "notify: b");
}

#[test]
fn at_most_one_per_interval_the_rest_said_together_once_the_interval_is_over() {
    let mut rig = screen(&how(false, Desktop::Osc9), false);
    rig.app.now = t(0);
    let first = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Blocker, "one", 0))),
    );
    assert_eq!(first.len(), 1);
    for (i, text) in ["two", "three", "four"].into_iter().enumerate() {
        let kind = if text == "three" {
            NoticeKind::Breach
        } else {
            NoticeKind::Blocker
        };
        let out = written(
            &mut rig,
            Msg::Event(Box::new(notice(kind, text, i as i64 + 1))),
        );
        assert!(out.is_empty(), "{out:?}");
    }
    assert!(written(&mut rig, Msg::Tick(t(29))).is_empty());
    // The breach speaks for the three.
    assert_eq!(
        written(&mut rig, Msg::Tick(t(30))),
        [format!("\u{1b}]9;trainyard: three (and 2 more){BEL}")]
    );
    assert!(written(&mut rig, Msg::Tick(t(90))).is_empty());
}

#[test]
fn nothing_while_a_dialog_is_open_then_everything_once_it_closes() {
    let mut rig = screen(&how(true, Desktop::Osc9), false);
    fixture::select(&mut rig, "search-indexer", "canary");
    key(&mut rig, KeyCode::Char('s'));
    assert!(matches!(rig.popup, Some(Popup::Confirm(_))));
    assert!(
        written(
            &mut rig,
            Msg::Event(Box::new(notice(NoticeKind::Breach, "a", 0)))
        )
        .is_empty()
    );
    assert!(
        written(
            &mut rig,
            Msg::Event(Box::new(notice(NoticeKind::Blocker, "b", 1)))
        )
        .is_empty()
    );
    // Typing a reason, time passing: still nothing.
    assert!(key(&mut rig, KeyCode::Tab).is_empty());
    assert!(written(&mut rig, Msg::Tick(t(100))).is_empty());
    // Closed: it all goes out at once.
    let out = key(&mut rig, KeyCode::Esc);
    assert!(rig.popup.is_none());
    assert_eq!(
        out,
        [format!("\u{1b}]9;trainyard: a (and 1 more){BEL}{BEL}")]
    );
}

#[test]
fn nothing_while_the_filter_line_is_edited() {
    let mut rig = screen(&how(true, Desktop::Osc9), false);
    key(&mut rig, KeyCode::Char('/'));
    assert!(rig.filter_editing);
    assert!(
        written(
            &mut rig,
            Msg::Event(Box::new(notice(NoticeKind::Breach, "a", 0)))
        )
        .is_empty()
    );
    assert!(key(&mut rig, KeyCode::Char('x')).is_empty());
    let out = key(&mut rig, KeyCode::Enter);
    assert!(!rig.filter_editing);
    assert_eq!(out.len(), 1, "{out:?}");
}

#[test]
fn the_details_popup_does_not_hold_notifications() {
    let mut rig = screen(&how(true, Desktop::Off), false);
    key(&mut rig, KeyCode::Enter);
    assert!(matches!(rig.popup, Some(Popup::Details)));
    assert_eq!(
        written(
            &mut rig,
            Msg::Event(Box::new(notice(NoticeKind::Breach, "a", 0)))
        ),
        [BEL]
    );
}

#[test]
fn a_notice_carries_no_escape_of_its_own_and_is_cut_to_a_length() {
    // Notice text is sanitized where it comes from; were a control to get this far, it
    // would not reach the terminal as one.
    let mut rig = screen(&how(false, Desktop::Osc9), false);
    let hostile = format!("x\u{1b}]52;c;AAAA\u{7} {}", "y".repeat(500));
    let out = written(
        &mut rig,
        Msg::Event(Box::new(notice(NoticeKind::Breach, &hostile, 0))),
    );
    let [bytes] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(bytes.matches('\u{1b}').count(), 1, "{bytes:?}");
    assert_eq!(bytes.matches('\u{7}').count(), 1, "{bytes:?}");
    assert!(bytes.starts_with("\u{1b}]9;trainyard: x␛ yyy"), "{bytes:?}");
    assert!(bytes.chars().count() < 260, "{}", bytes.chars().count());
}

#[test]
fn the_engines_notice_becomes_the_terminals_bytes() {
    // The fixture engine with the defaults: dana@jump is among auth-service's reviewers.
    let mut rig = screen(&how(true, Desktop::Osc9), true);
    let mut engine = std::mem::replace(
        &mut rig.engine,
        crate::engine::Engine::new(fixture::setup(fixture::train(), fixture::world())),
    )
    .notifying(NotifyConfig::defaults(&fixture::train()));
    let mut out = Vec::new();
    for e in engine.notices() {
        out.extend(written(&mut rig, Msg::Event(Box::new(e))));
    }
    let [bytes] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert!(
        bytes.starts_with(
            "\u{1b}Ptmux;\u{1b}\u{1b}]9;trainyard: approval waits for you: auth-service prod "
        ),
        "{bytes:?}"
    );
    assert!(bytes.ends_with(&format!("{BEL}\u{1b}\\{BEL}")), "{bytes:?}");
}
