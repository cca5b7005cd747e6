//! The terminal UI. The loop only folds messages into the app state and draws; polls and
//! actions run as tasks and send messages back, so a hung source costs nothing but a stale
//! marker.

pub mod activity;
pub mod app;
pub mod blockers;
pub mod details;
pub mod dialog;
#[cfg(test)]
pub mod fixture;
pub mod footer;
pub mod header;
pub mod help;
pub mod keymap;
pub mod lanes;
pub mod metrics;
pub mod theme;
pub mod ui;
#[cfg(test)]
mod snapshots_test;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use self::app::{App, Cmd, Msg};
use self::theme::Theme;
use crate::config::Config;
use crate::model::{SourceReport, World};
use crate::ops::Executor;
use crate::poll::{Poller, now};
use crate::sources::Source;

/// A world that knows the configured sources and has seen nothing yet.
pub fn empty_world(config: &Config) -> World {
    World::new(config.sources.values().map(|s| (s.name.as_str(), s.kind.as_str(), s.stale_after)))
}

/// The app for a config, before any data arrived.
pub fn new_app(config: &Config, readonly: bool) -> App {
    let sources_of = config.targets.iter().map(|(k, t)| (k.clone(), t.source.clone())).collect();
    App::new(config.train.clone(), empty_world(config), now(), readonly, sources_of)
}

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

/// Run the TUI until the user quits or a signal asks us to stop.
pub async fn run(config: Config, sources: Vec<Arc<dyn Source>>, readonly: bool) -> color_eyre::Result<()> {
    let theme = Theme::from_env();
    let executor = Arc::new(Executor::new(&config, &sources, readonly));
    let mut app = new_app(&config, readonly);

    let (report_tx, mut reports) = mpsc::unbounded_channel::<SourceReport>();
    let (msg_tx, mut msgs) = mpsc::unbounded_channel::<Msg>();
    let mut poller = Poller::spawn(&sources, report_tx);

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    draw(&mut terminal, &app, &theme)?;
    loop {
        let mut cmds = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => app.update(Msg::Key(k)),
                Some(Ok(Event::Resize(..))) => app.update(Msg::Resize),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(r) = reports.recv() => app.update(Msg::Report(r)),
            Some(m) = msgs.recv() => app.update(m),
            _ = tick.tick() => app.update(Msg::Tick(now())),
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
        };
        // Fold in whatever else is waiting before drawing once: bursts cost one frame.
        while let Ok(r) = reports.try_recv() {
            cmds.extend(app.update(Msg::Report(r)));
        }
        for cmd in cmds {
            match cmd {
                Cmd::Quit => app.quit = true,
                Cmd::PollNow(source) => poller.poll_now(&source),
                Cmd::Execute(plan) => {
                    let executor = Arc::clone(&executor);
                    let tx = msg_tx.clone();
                    tokio::spawn(async move {
                        let source = executor.source_of(&plan.action).map(str::to_string);
                        let result = executor.execute(&plan).await.map(|ack| ack.message).map_err(|e| e.to_string());
                        let _ = tx.send(Msg::ActionDone { plan, source, result });
                    });
                }
            }
        }
        if app.quit {
            break;
        }
        draw(&mut terminal, &app, &theme)?;
    }
    poller.stop();
    Ok(())
}
