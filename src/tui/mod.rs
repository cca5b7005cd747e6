//! The terminal UI. The loop only folds messages into the app state and draws; polls and
//! actions run as tasks and send messages back, so a hung source costs nothing but a stale
//! marker.

pub mod activity;
pub mod app;
pub mod blockers;
pub mod charts;
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
pub mod metrics_view;
#[cfg(test)]
mod snapshots_test;
pub mod theme;
pub mod ui;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use self::app::{App, Cmd, Msg};
use self::theme::Theme;
use crate::model::SourceReport;
use crate::ops::Runner;

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

/// How the TUI ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user quit.
    Quit,
    /// A signal (SIGHUP = 1, SIGINT = 2, SIGTERM = 15) asked us to stop; the terminal was
    /// restored.
    Signal(i32),
}

impl Ended {
    /// The process exit code: 0, or 128 + the signal's number as shells expect.
    pub fn exit_code(self) -> u8 {
        match self {
            Ended::Quit => 0,
            Ended::Signal(n) => 128 + n as u8,
        }
    }
}

/// Run the TUI until the user quits or a signal asks us to stop, drawn with `theme`
/// (`Theme::from_env`). Reports from the poll tasks arrive on `reports`; `poll_now` asks for a fresh poll of a source (after an action).
pub async fn run(
    mut app: App,
    theme: Theme,
    runner: Arc<Runner>,
    mut reports: mpsc::UnboundedReceiver<SourceReport>,
    poll_now: impl Fn(&str),
) -> color_eyre::Result<Ended> {
    let (msg_tx, mut msgs) = mpsc::unbounded_channel::<Msg>();
    let mut stop = crate::signals::Stop::new()?;
    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    keep_screen_on_background_panics();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    watch_ledger(&runner, msg_tx.clone());
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
            Some(r) = reports.recv() => app.update(Msg::Report(r)),
            Some(m) = msgs.recv() => app.update(m),
            _ = tick.tick() => app.update(Msg::Tick(chrono::Utc::now())),
            n = stop.recv() => return Ok(Ended::Signal(n)),
            _ = tokio::time::sleep_until(next_frame), if dirty => Vec::new(),
        };
        // Fold in whatever else is waiting: a burst of reports costs one frame.
        while let Ok(r) = reports.try_recv() {
            cmds.extend(app.update(Msg::Report(r)));
        }
        while let Ok(m) = msgs.try_recv() {
            cmds.extend(app.update(m));
        }
        for cmd in cmds {
            match cmd {
                Cmd::Quit => app.quit = true,
                Cmd::PollNow(source) => poll_now(&source),
                Cmd::Execute(plan) => spawn_action(&runner, plan, msg_tx.clone()),
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

/// The shortest time between two frames (about 30 per second).
const FRAME: Duration = Duration::from_millis(33);

/// How often the audit log is read for holds and actions of other trainyards.
const LEDGER_EVERY: Duration = Duration::from_secs(2);

/// Read the audit log every few seconds, off the UI loop: holds, the halt, actions in flight
/// (a halt from the command line reaches a running TUI within seconds).
fn watch_ledger(runner: &Arc<Runner>, tx: mpsc::UnboundedSender<Msg>) {
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let mut last_problem: Option<String> = None;
        loop {
            let log = runner.audit().clone();
            let window = runner.in_flight_window();
            let path = log.path().display().to_string();
            let read = tokio::task::spawn_blocking(move || log.read()).await;
            let records = match read {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            // A log that can't be read is said (once per distinct error): holds and other
            // trainyards' actions are unknown meanwhile.
            let problem = records
                .as_ref()
                .err()
                .map(|e| format!("audit log {path} unreadable: {e}"));
            if problem != last_problem {
                if let Some(p) = &problem
                    && tx.send(Msg::Warning(p.clone())).is_err()
                {
                    break;
                }
                last_problem = problem;
            }
            if let Ok(records) = records {
                let now = chrono::Utc::now();
                let in_flight = crate::ops::run::open_attempts(&records, now, window)
                    .into_iter()
                    .filter_map(|r| {
                        let kind = crate::model::ActionKind::parse(&r.action)?;
                        let key = crate::model::CellKey::new(
                            r.lane.clone().unwrap_or_default(),
                            r.stage.clone().unwrap_or_default(),
                        );
                        Some((key, kind, crate::model::text::sanitize(&r.actor, 200)))
                    })
                    .collect();
                let holds = crate::ops::holds_from(&records);
                if tx.send(Msg::Ledger { holds, in_flight }).is_err() {
                    break;
                }
            }
            tokio::time::sleep(LEDGER_EVERY).await;
        }
    });
}

/// Run an action through the runner in a task; what it says on the way and its outcome come
/// back as messages, even if the task panics.
fn spawn_action(runner: &Arc<Runner>, plan: Box<crate::ops::Plan>, tx: mpsc::UnboundedSender<Msg>) {
    let runner = Arc::clone(runner);
    tokio::spawn(async move {
        let key = plan.action.key();
        let progress_tx = tx.clone();
        let progress = move |text: String| {
            let _ = progress_tx.send(Msg::ActionProgress {
                key: key.clone(),
                text,
            });
        };
        let run = std::panic::AssertUnwindSafe(runner.run(&plan, false, &progress))
            .catch_unwind()
            .await;
        let outcome = run.unwrap_or_else(|_| {
            crate::ops::Outcome::Failed(
                "internal error: the action task failed; see the log".into(),
            )
        });
        let _ = tx.send(Msg::ActionDone { plan, outcome });
    });
}

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
