//! `trainyard watch`: the engine without a screen. It polls, judges, runs `auto_pause` as
//! `trainyard-auto`, and prints one line per change (the activity's lines), or one JSON object
//! per line with `--json`. A breach pauses a canary even when nobody has a screen open. The
//! notices of `[notify]` are lines too (kind `notice`, and `notice` says which event).
//! SIGTERM, SIGINT and SIGHUP stop it cleanly; so does its output going away.

use std::io::Write;

use serde_json::json;

use crate::engine::Event;
use crate::engine::driver::Handle;
use crate::signals::{Ended, Stop};

/// How one event prints.
pub fn line(e: &Event, json_out: bool) -> String {
    if json_out {
        let mut v = json!({
            "at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "kind": e.kind,
            "tone": e.tone,
            "text": e.text,
            "lane": e.lane,
            "stage": e.stage,
            "command": e.command,
            "url": e.url,
        });
        // A notice says which event of [notify] it is.
        if let Some(n) = &e.notice {
            v["notice"] = json!(n.kind);
        }
        crate::model::text::json_safe(&v.to_string())
    } else {
        // Every word may have come from a source: one clean line on the terminal.
        crate::model::text::sanitize(&e.line(), 4000)
    }
}

/// What `watch` says first: what it watches, and what it will do on its own.
pub fn banner(engine: &Handle, json_out: bool) -> String {
    let snap = engine.snapshot();
    let train = &snap.train;
    let stages: Vec<&str> = train.auto_pause.iter().map(String::as_str).collect();
    let auto = if stages.is_empty() {
        "auto_pause off".to_string()
    } else if snap.readonly {
        format!(
            "auto_pause at {} (read-only: says what it would do)",
            stages.join(", ")
        )
    } else {
        format!("auto_pause at {}", stages.join(", "))
    };
    let text = format!(
        "watching train {}: {} lanes, {} stages, {} sources; {auto}",
        train.name,
        train.lanes.len(),
        train.stages.len(),
        snap.world.sources().count()
    );
    let e = Event::new(
        snap.now,
        crate::engine::events::Kind::Start,
        crate::engine::Tone::Info,
        text,
    );
    line(&e, json_out)
}

/// Print the engine's events to `out` until a signal stops it or `out` goes away.
pub async fn run(
    engine: &mut Handle,
    json_out: bool,
    out: &mut dyn Write,
) -> std::io::Result<Ended> {
    let mut stop = Stop::new()?;
    let mut say = |text: String| -> bool {
        // A closed pipe (`watch | head`) ends quietly.
        writeln!(out, "{text}").and_then(|_| out.flush()).is_ok()
    };
    if !say(banner(engine, json_out)) {
        return Ok(Ended::Quit);
    }
    loop {
        tokio::select! {
            e = engine.events.recv() => match e {
                Some(e) => if !say(line(&e, json_out)) {
                    return Ok(Ended::Quit);
                },
                None => return Err(std::io::Error::other("the engine stopped; see the log")),
            },
            n = stop.recv() => return Ok(Ended::Signal(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoticeKind;
    use crate::engine::notify::Notice;

    #[test]
    fn a_notice_is_a_line_and_a_json_object_that_says_which_event() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let n = Notice {
            at,
            kind: NoticeKind::Breach,
            tone: crate::engine::Tone::Bad,
            lane: Some("notifications".into()),
            stage: Some("canary".into()),
            text: "breach: notifications: error_rate 1.20% > 1.00% at canary now".into(),
        };
        let e = crate::engine::events::notice(&n);
        assert_eq!(
            line(&e, false),
            "08:00:00 notify: breach: notifications: error_rate 1.20% > 1.00% at canary now"
        );
        let v: serde_json::Value = serde_json::from_str(&line(&e, true)).unwrap();
        assert_eq!(v["kind"], "notice");
        assert_eq!(v["notice"], "breach");
        assert_eq!(v["tone"], "bad");
        assert_eq!(
            (&v["lane"], &v["stage"]),
            (&"notifications".into(), &"canary".into())
        );
        // Other events have no `notice`.
        let other = Event::new(
            at,
            crate::engine::events::Kind::Cell,
            crate::engine::Tone::Info,
            "x",
        );
        let v: serde_json::Value = serde_json::from_str(&line(&other, true)).unwrap();
        assert!(v.get("notice").is_none(), "{v}");
    }
}
