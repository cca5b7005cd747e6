//! The terminal UI. The loop only folds messages into the app state and draws; polls and
//! actions run as tasks and send messages back, so a hung source costs nothing but a stale
//! marker.

pub mod activity;
pub mod app;
pub mod blocker_words;
pub mod blockers;
#[cfg(test)]
mod blockers_test;
pub mod budgets;
pub mod charts;
pub mod confirm;
pub mod copy;
pub mod details;
pub mod dialog;
#[cfg(test)]
pub mod fixture;
pub mod footer;
pub mod header;
#[cfg(test)]
mod header_test;
pub mod help;
pub mod jump;
#[cfg(test)]
mod keys_test;
pub use crate::keymap;
pub mod lanes;
pub mod link;
pub mod memo;
pub mod metrics;
pub mod metrics_view;
pub mod navigate;
#[cfg(test)]
mod navigate_test;
pub mod notify;
pub mod osc;
#[cfg(test)]
mod osc_test;
pub mod palette;
pub mod popups;
pub mod rows;
#[cfg(test)]
mod snapshots_test;
pub mod theme;
#[cfg(test)]
mod theme_test;
pub mod ui;

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;

use self::app::{App, Cmd, Msg};
use self::theme::Theme;
use crate::engine::driver::{Handle, Request};

/// Restores the terminal however the loop ends (return, error, `?`).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        // On a dead SSH session the write fails; there is nothing left to restore then.
        let _ = ratatui::try_restore();
    }
}

fn draw(terminal: &mut ratatui::DefaultTerminal, app: &App, theme: &Theme) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    // Synchronized updates: the terminal shows the frame at once, no tearing over SSH.
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| ui::draw(f, app, theme))?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

pub use crate::signals::Ended;

/// The screen needs a terminal on both ends; without one, what to do instead.
pub fn terminal_missing() -> Option<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return None;
    }
    Some(
        "trainyard: the screen needs a terminal, and there is none here (ssh without -t?)\n  \
         in a terminal: ssh -t HOST trainyard\n  \
         without one: trainyard status (the train once), trainyard watch (its changes, line by line)"
            .into(),
    )
}

/// Run the TUI on the running engine until the user quits or a signal asks us to stop, drawn
/// with `theme` (`Theme::from_env`), URLs as hyperlinks when `[ui] links` says so, notifying as
/// `[notify]` says, read with `[keys]`'s keys. The screen reads the engine's snapshots and events and sends it the plans
/// the user confirms.
pub async fn run(
    engine: &mut Handle,
    theme: Theme,
    config: &crate::config::Config,
) -> color_eyre::Result<Ended> {
    let mut app = App::new(engine.snapshot()).with_keys(config.keys.clone());
    app.notifier = self::notify::Notifier::new(&config.notify, osc::in_tmux());
    app.links = config.ui.links;
    let mut stop = crate::signals::Stop::new()?;
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    keep_screen_on_background_panics();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    draw(&mut terminal, &app, &theme)?;
    let mut last_draw = Instant::now();
    let mut dirty = false;
    // For the end-to-end test that proves a panic restores the terminal (debug builds only).
    #[cfg(debug_assertions)]
    if let Some(v) = std::env::var_os("TRAINYARD_TEST_PANIC") {
        panic!(
            "panic requested by TRAINYARD_TEST_PANIC: {}",
            v.to_string_lossy()
        );
    }
    loop {
        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        let mut cmds = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => app.update(Msg::Key(k)),
                Some(Ok(Event::Resize(..))) => app.update(Msg::Resize),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(Ended::Quit),
            },
            changed = engine.snapshots.changed() => match changed {
                Ok(()) => take_snapshot(engine, &mut tick, &mut app),
                Err(_) => return Err(color_eyre::eyre::eyre!("the engine stopped; see the log")),
            },
            Some(e) = engine.events.recv() => app.update(Msg::Event(Box::new(e))),
            _ = tick.tick() => app.update(Msg::Tick(chrono::Utc::now())),
            n = stop.recv() => return Ok(Ended::Signal(n)),
            _ = tokio::time::sleep_until(next_frame), if dirty => Vec::new(),
        };
        // Fold in whatever else is waiting: a burst of news costs one frame (the engine sends
        // a snapshot's events just before it).
        while let Ok(e) = engine.events.try_recv() {
            cmds.extend(app.update(Msg::Event(Box::new(e))));
        }
        if engine.snapshots.has_changed().unwrap_or(false) {
            cmds.extend(take_snapshot(engine, &mut tick, &mut app));
        }
        for cmd in cmds {
            match cmd {
                Cmd::Quit => app.quit = true,
                Cmd::Terminal(bytes) => {
                    use std::io::Write;
                    let out = terminal.backend_mut();
                    out.write_all(bytes.as_bytes())?;
                    out.flush()?;
                }
                Cmd::Submit(plan) => {
                    if engine.requests.send(Request::Submit(plan)).is_err() {
                        return Err(color_eyre::eyre::eyre!("the engine stopped; see the log"));
                    }
                }
            }
        }
        if app.quit {
            return Ok(Ended::Quit);
        }
        // At most one frame per FRAME: what arrives sooner is drawn with the next one.
        dirty = true;
        if last_draw.elapsed() >= FRAME {
            draw(&mut terminal, &app, &theme)?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
}

/// Take the engine's newest snapshot into the app. A new snapshot moves the clock as a tick
/// does: the next tick comes a second after it, not on a schedule of its own (one frame, not
/// two).
fn take_snapshot(engine: &mut Handle, tick: &mut tokio::time::Interval, app: &mut App) -> Vec<Cmd> {
    let snap = std::sync::Arc::clone(&engine.snapshots.borrow_and_update());
    tick.reset();
    app.update(Msg::Snapshot(snap))
}

/// The shortest time between two frames (about 30 per second).
const FRAME: Duration = Duration::from_millis(33);

/// ratatui's panic hook restores the terminal on any panic. A panic in a background task
/// (a poll, an action) must not tear the screen down under a running UI: those are logged and
/// reported where they happened; only a panic of the UI thread restores and reports.
fn keep_screen_on_background_panics() {
    let ui_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            ui_hook(info);
        } else {
            tracing::error!("panic in a background task: {info}");
        }
    }));
}
