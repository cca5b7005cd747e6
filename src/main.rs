use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{WrapErr, eyre};

use trainyard::cli::{
    ActArgs, AuditCommand, ChartsArg, Cli, Command, ConfigCommand, SimArgs, ThemeArg, TuiArgs,
};
use trainyard::commands;
use trainyard::config::ui::ThemeName;
use trainyard::config::{self, Config};
use trainyard::exit::Exit;
use trainyard::model::ActionKind;
use trainyard::ops::Action;
use trainyard::tui::theme::{Charts, Theme};
use trainyard::{ops, sim, status, tui};

fn main() -> ExitCode {
    tune_malloc();
    install_hooks();
    let cli = Cli::parse();
    // A jump host with a read-only home still gets its train: without a log file, say so
    // once and go on.
    let _log_guard = init_logging(cli.log_file.as_deref()).unwrap_or_else(|e| {
        eprintln!("trainyard: not logging: cannot open the log file: {e}");
        None
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("trainyard: cannot start the runtime: {e}");
            return ExitCode::from(Exit::Runtime);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(stdout_gone(true, "") as u8)
        }
        Err(e) => {
            let report = trainyard::secrets::redact(&format!("{e:?}"));
            tracing::error!("{report}");
            eprintln!("trainyard: {report}");
            ExitCode::from(Exit::Runtime)
        }
    }
}

/// glibc's malloc, tuned for a long-running process whose heap is a few large structures
/// replaced every second (reports, the world, snapshots):
/// - one arena: glibc gives a thread that meets another in malloc an arena of its own (up to
///   eight a core), and each arena keeps the high-water mark of whatever its thread ever
///   held; the runtime's threads take turns at the same work;
/// - a fixed mmap threshold of 256 KiB (glibc raises it up to 32 MiB as large blocks are
///   freed): larger blocks (response bodies, big vectors) go back to the system when freed
///   instead of fragmenting the heap; and the heap's free top is given back past 1 MiB.
///
/// Measured with the TUI at 500 lanes (scripts/soak, README "Performance and footprint"):
/// 90–98 MiB resident with glibc's defaults, 70 MiB with one arena, 59 MiB with both, for
/// the same heap. The arena's lock costs nothing that shows at trainyard's rate of
/// allocation. Other C libraries (musl) have nothing to tune here.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    use std::ffi::c_int;
    // The parameters of glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    const M_ARENA_MAX: c_int = -8;
    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    // SAFETY: mallopt only sets a parameter of the allocator (it returns 0 when it refuses
    // one); it runs first thing in main, before any other thread exists.
    unsafe {
        mallopt(M_ARENA_MAX, 1);
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

/// color-eyre's error and panic reports, with every secret redacted from the panic report
/// (a panic message may quote anything). The panic is logged too, through the log file's
/// redacting writer.
fn install_hooks() {
    let mut builder = color_eyre::config::HookBuilder::default();
    // NO_COLOR (https://no-color.org): the reports too, not only the screen.
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        builder = builder.theme(color_eyre::config::Theme::new());
    }
    let (panic_hook, eyre_hook) = builder.into_hooks();
    if let Err(e) = eyre_hook.install() {
        eprintln!("trainyard: {e}");
    }
    std::panic::set_hook(Box::new(move |info| {
        // Printing to a stdout that is gone (`trainyard audit | head -1`) or full
        // (`> /dev/full`) is where the output ends, not a crash.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(why) = message.strip_prefix("failed printing to stdout: ") {
            // Only the words are left here: a closed pipe is known by them.
            let closed = why.contains("Broken pipe") || why.contains("os error 32");
            std::process::exit(stdout_gone(closed, why));
        }
        let report = panic_hook.panic_report(info).to_string();
        tracing::error!("panic: {info}");
        eprintln!("{}", trainyard::secrets::redact(&report));
    }));
}

/// The exit when stdout can't take more: quietly 0 when its reader went away (`closed`: the
/// reader had what it wanted), else 1 with `why` on stderr.
fn stdout_gone(closed: bool, why: &str) -> i32 {
    if closed {
        0
    } else {
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("trainyard: cannot write the output: {why}\n"),
        );
        i32::from(Exit::Runtime.code())
    }
}

/// Write `bytes` to stdout; a stdout that is gone or full ends it as [`stdout_gone`] says.
fn write_out(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::from(Exit::Ok),
        Err(e) => ExitCode::from(stdout_gone(
            e.kind() == std::io::ErrorKind::BrokenPipe,
            &e.to_string(),
        ) as u8),
    }
}

/// The log file: `--log-file`, else `trainyard.log` in the state (or data) directory.
pub fn default_log_path() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "trainyard")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    Some(dir.join("trainyard.log"))
}

fn init_logging(
    path: Option<&Path>,
) -> std::io::Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    let Some(path) = path.map(Path::to_path_buf).or_else(default_log_path) else {
        return Ok(None);
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        ops::audit::private_dir(dir)?;
    }
    // The log is the user's alone: on a shared jump host it says which systems they run.
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)?;
    // Every line is redacted on its way to the file: whatever a log line quotes, no secret.
    // The writer thread's queue holds 4,096 lines (128 KiB; the default of 128,000 lines is
    // 4 MiB, resident from the start); past that a burst loses lines rather than wait.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(4096)
        .finish(trainyard::secrets::RedactingWriter(file));
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAINYARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Ok(Some(guard))
}

/// What `demo` and `sim` (named `command`) start the simulator with. It listens on loopback
/// only: another address is a usage error.
fn simulator(
    command: &str,
    listen: std::net::SocketAddr,
    a: &SimArgs,
) -> Result<(sim::SimOptions, sim::ChaosSpec), ExitCode> {
    if !listen.ip().is_loopback() {
        eprintln!(
            "trainyard {command}: {listen} is not a loopback address; the simulator only listens on 127.0.0.1 or ::1"
        );
        return Err(ExitCode::from(Exit::Usage));
    }
    let opts = sim::SimOptions {
        lanes: a.lanes as usize,
        seed: a.seed,
        speed: a.speed,
        hostile: a.hostile,
        github_lanes: a.github_lanes.map(usize::from),
        gitlab_lanes: a.gitlab_lanes.map(usize::from),
        argocd: a.argocd,
        extensions: !a.no_extensions,
    };
    Ok((opts, a.chaos.clone().unwrap_or_default()))
}

fn load_config(cli: &Cli) -> Result<Config, ExitCode> {
    let loaded = config::resolve_path(cli.config.as_deref()).and_then(|p| config::load(&p));
    loaded.map_err(|errs| {
        // A secret written into the config by mistake is not repeated to the terminal.
        eprintln!("{}", trainyard::secrets::redact(&errs.to_string()));
        ExitCode::from(Exit::Usage)
    })
}

/// Wire the engine (poll tasks, ledger, auto_pause, the action runner) and the TUI together.
/// Holds and the halt come back from the store.
async fn run_tui(
    config: Config,
    readonly: bool,
    store: trainyard::store::Store,
    theme: Theme,
) -> color_eyre::Result<tui::Ended> {
    let (runner, mut engine) = commands::start_engine(&config, readonly, store).await;
    let result = tui::run(&mut engine, theme, &config).await;
    engine.stop();
    let why = match &result {
        Ok(ended) => ended.why(),
        Err(_) => "trainyard stopped on an error".to_string(),
    };
    commands::close_open_actions(&runner, &why);
    result
}

/// The config's theme and colours, NO_COLOR and the locale, unless the command line says
/// which theme or how to draw charts (`--theme`, `--charts` after `demo`, or before any
/// command).
fn theme(ui: &config::UiConfig, args: &[&TuiArgs]) -> Theme {
    let charts = args.iter().find_map(|a| a.charts).map(|c| match c {
        ChartsArg::Braille => Charts::Braille,
        ChartsArg::Dot => Charts::Dot,
        ChartsArg::Ascii => Charts::Ascii,
    });
    let name = args.iter().find_map(|a| a.theme).map(|t| match t {
        ThemeArg::Dark => ThemeName::Dark,
        ThemeArg::Light => ThemeName::Light,
        ThemeArg::Mono => ThemeName::Mono,
    });
    Theme::from_env(ui, name, charts)
}

/// The audit log of the demo: beside the real one, never mixed with it.
fn demo_audit() -> trainyard::store::Store {
    let path = ops::audit::default_path()
        .map(|p| p.with_file_name("demo-audit.jsonl"))
        .unwrap_or_else(|| "demo-audit.jsonl".into());
    trainyard::store::Store::File(ops::audit::AuditLog::new(path))
}

async fn dispatch(cli: Cli) -> color_eyre::Result<ExitCode> {
    let screen = matches!(cli.command, None | Some(Command::Demo { .. }));
    if screen && let Some(why) = tui::terminal_missing() {
        eprintln!("{why}");
        return Ok(ExitCode::from(Exit::Usage));
    }
    match &cli.command {
        None => {
            let config = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let readonly = cli.readonly || config.readonly;
            let store = tokio::task::block_in_place(|| trainyard::store::Store::open(&config));
            let theme = theme(&config.ui, &[&cli.tui]);
            let ended = run_tui(config, readonly, store, theme).await?;
            Ok(ExitCode::from(ended.exit()))
        }
        Some(Command::Demo {
            listen,
            sim: args,
            tui,
        }) => {
            let (opts, chaos) = match simulator("demo", *listen, args) {
                Ok(started) => started,
                Err(code) => return Ok(code),
            };
            let handle = sim::start_with_chaos(*listen, opts.clone(), chaos)
                .await
                .wrap_err_with(|| format!("starting the simulator on {listen}"))?;
            let text = sim::demo_config(&handle.base_url(), &opts, chrono::Utc::now());
            let config = config::parse(&text, "<demo>")
                .map_err(|e| eyre!("the built-in demo config is invalid:\n{e}"))?;
            tracing::info!(
                "demo: simulator at {} (chaos {}; POST a spec to {}/_sim/chaos to change it)",
                handle.base_url(),
                handle.chaos(),
                handle.base_url()
            );
            let theme = theme(&config.ui, &[tui, &cli.tui]);
            let result = run_tui(config, cli.readonly, demo_audit(), theme).await;
            handle.shutdown().await;
            Ok(ExitCode::from(result?.exit()))
        }
        Some(Command::Sim {
            listen,
            sim: args,
            print_config,
        }) => {
            let (opts, chaos) = match simulator("sim", *listen, args) {
                Ok(started) => started,
                Err(code) => return Ok(code),
            };
            sim::run_foreground(*listen, opts, *print_config, chaos)
                .await
                .wrap_err_with(|| format!("simulator on {listen}"))?;
            Ok(ExitCode::from(Exit::Ok))
        }
        Some(Command::Status { json }) => {
            let config = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let snap = commands::observe_once(&config, cli.readonly || config.readonly).await;
            if *json {
                let v = status::to_json(&config, &snap);
                println!(
                    "{}",
                    trainyard::model::text::json_safe(&serde_json::to_string_pretty(&v)?)
                );
            } else {
                print!("{}", status::to_table(&config, &snap));
            }
            let failed = snap.world.sources().any(|s| !s.ok);
            Ok(ExitCode::from(if failed {
                Exit::Runtime
            } else {
                Exit::Ok
            }))
        }
        Some(Command::Watch { json }) => {
            let config = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let readonly = cli.readonly || config.readonly;
            let store = tokio::task::block_in_place(|| trainyard::store::Store::open(&config));
            let (runner, mut engine) = commands::start_engine(&config, readonly, store).await;
            let mut out = std::io::stdout();
            let result = trainyard::watch::run(&mut engine, *json, &mut out).await;
            engine.stop();
            let why = match &result {
                Ok(ended) => ended.why(),
                Err(_) => "trainyard stopped on an error".to_string(),
            };
            commands::close_open_actions(&runner, &why);
            Ok(ExitCode::from(result?.exit()))
        }
        Some(Command::Completions { shell }) => {
            Ok(write_out(&trainyard::manual::completions(*shell)))
        }
        Some(Command::Man) => Ok(write_out(&trainyard::manual::man())),
        Some(Command::Audit {
            command,
            json,
            since,
        }) => {
            let config = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let code = match command {
                Some(AuditCommand::Verify) => commands::audit_verify(&config).await,
                Some(AuditCommand::Export { file }) => {
                    commands::audit_export(&config, file.as_deref()).await
                }
                Some(AuditCommand::Import { file }) => commands::audit_import(&config, file).await,
                None => commands::audit_list(&config, *json, since.as_deref()).await,
            };
            Ok(ExitCode::from(code))
        }
        Some(
            cmd @ (Command::Promote { .. }
            | Command::Pause { .. }
            | Command::Resume { .. }
            | Command::Rollback { .. }
            | Command::Approve { .. }
            | Command::Reject { .. }
            | Command::Abort { .. }
            | Command::Halt { .. }
            | Command::Unhalt { .. }),
        ) => {
            let config = match load_config(&cli) {
                Ok(c) => c,
                Err(code) => return Ok(code),
            };
            let (action, act) = action_of(cmd);
            let readonly = cli.readonly || config.readonly;
            Ok(ExitCode::from(
                commands::run_action(config, readonly, action, act).await,
            ))
        }
        Some(Command::Config {
            command: ConfigCommand::Path,
        }) => {
            // Where trainyard reads its config, whether or not the file is there yet.
            let path = cli.config.clone().or_else(config::default_path);
            match path {
                Some(p) => {
                    println!("{}", p.display());
                    if !p.exists() {
                        eprintln!(
                            "trainyard: {} does not exist yet: create it from config.example.toml (or run `trainyard demo`, which needs none)",
                            p.display()
                        );
                    }
                    Ok(ExitCode::from(Exit::Ok))
                }
                None => {
                    eprintln!(
                        "trainyard: no home directory to look in: pass --config PATH or set TRAINYARD_CONFIG"
                    );
                    Ok(ExitCode::from(Exit::Usage))
                }
            }
        }
        Some(Command::Config {
            command: ConfigCommand::Check,
        }) => {
            let result = config::resolve_path(cli.config.as_deref())
                .and_then(|p| config::load(&p).map(|c| (p, c)));
            match result {
                Ok((path, c)) => {
                    println!(
                        "{}: ok ({} lanes, {} stages, {} sources)",
                        path.display(),
                        c.train.lanes.len(),
                        c.train.stages.len(),
                        c.sources.len()
                    );
                    Ok(ExitCode::from(Exit::Ok))
                }
                Err(errs) => {
                    println!("{}", trainyard::secrets::redact(&errs.to_string()));
                    Ok(ExitCode::from(Exit::Usage))
                }
            }
        }
    }
}

/// The action a command line names.
fn action_of(cmd: &Command) -> (Action, &ActArgs) {
    let stage = |s: &Option<String>| s.clone().unwrap_or_default();
    match cmd {
        Command::Promote { lane, to, act } => {
            (Action::new(ActionKind::Promote, lane, &stage(to)), act)
        }
        Command::Pause {
            lane,
            stage: s,
            act,
        } => (Action::new(ActionKind::Pause, lane, &stage(s)), act),
        Command::Resume {
            lane,
            stage: s,
            act,
        } => (Action::new(ActionKind::Resume, lane, &stage(s)), act),
        Command::Rollback {
            lane,
            stage,
            to,
            act,
        } => {
            let mut a = Action::new(ActionKind::Rollback, lane, stage);
            a.version = to.clone();
            (a, act)
        }
        Command::Approve { lane, stage, act } => {
            (Action::new(ActionKind::Approve, lane, stage), act)
        }
        Command::Reject { lane, stage, act } => (Action::new(ActionKind::Reject, lane, stage), act),
        Command::Abort { lane, stage, act } => (Action::new(ActionKind::Abort, lane, stage), act),
        Command::Halt { act } => (Action::train(ActionKind::Halt, None), act),
        Command::Unhalt { act } => (Action::train(ActionKind::Unhalt, None), act),
        _ => unreachable!("only action commands reach here"),
    }
}
