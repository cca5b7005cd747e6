//! Command-line definitions only.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "trainyard",
    version,
    about = "A terminal cockpit for release managers: the whole release train in one terminal",
    after_help = "Without a command, trainyard opens the TUI on the configured train.\n\
                  Try `trainyard demo` for a live train served by the built-in simulator."
)]
pub struct Cli {
    /// Config file (default: ~/.config/trainyard/config.toml)
    #[arg(long, global = true, env = "TRAINYARD_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Disable every action; shows a READ-ONLY badge
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Write logs here instead of the state directory
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    #[command(flatten)]
    pub tui: TuiArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the TUI commands (`trainyard`, `trainyard demo`) take.
#[derive(Debug, Args, Clone, Default)]
pub struct TuiArgs {
    /// How charts draw: braille, dot (fonts without braille) or ascii; default: braille in a
    /// UTF-8 locale, dot otherwise
    #[arg(long, value_name = "MARKS")]
    pub charts: Option<ChartsArg>,
    /// Colours for a dark or a light background, or none (mono); default: `[ui] theme`, else
    /// dark. NO_COLOR means mono whatever this says
    #[arg(long, value_name = "THEME")]
    pub theme: Option<ThemeArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ThemeArg {
    Dark,
    Light,
    Mono,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ChartsArg {
    Braille,
    Dot,
    Ascii,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The TUI on a built-in train served by the simulator on a loopback port; no files needed
    Demo {
        /// Loopback address of the demo's simulator (port 0, the default, picks a free one;
        /// the log file names it)
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        #[command(flatten)]
        sim: SimArgs,
        #[command(flatten)]
        tui: TuiArgs,
    },
    /// Only the simulator, in the foreground
    Sim {
        /// Loopback address to listen on (port 0 picks a free one)
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: SocketAddr,
        #[command(flatten)]
        sim: SimArgs,
        /// Print a config that points at the simulator on stdout (messages go to stderr)
        #[arg(long)]
        print_config: bool,
    },
    /// One poll round of every source: print the train and exit (1 if a source failed)
    Status {
        /// Print the documented JSON object instead of a table
        #[arg(long)]
        json: bool,
    },
    /// The engine without a screen: poll, judge, run auto_pause, and print one line per change
    /// (the activity's lines) until stopped
    Watch {
        /// One JSON object per line instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `trainyard man | man -l -`
    Man,
    /// Work with the config file
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Promote a lane's version into a stage (default: the lane's next stage)
    Promote {
        lane: String,
        /// The stage to promote into
        #[arg(long, value_name = "STAGE")]
        to: Option<String>,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Pause a rollout at a stage, or without --stage hold the whole lane
    Pause {
        lane: String,
        #[arg(long)]
        stage: Option<String>,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Resume a paused rollout, or without --stage release the lane's hold
    Resume {
        lane: String,
        #[arg(long)]
        stage: Option<String>,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Roll a stage back to its last good version (or --to an earlier good one)
    Rollback {
        lane: String,
        #[arg(long)]
        stage: String,
        /// The version to restore: a whole version or a unique prefix of 4+ characters
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Approve a deployment waiting for approval
    Approve {
        lane: String,
        #[arg(long)]
        stage: String,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Reject a deployment waiting for approval
    Reject {
        lane: String,
        #[arg(long)]
        stage: String,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Abort a rollout under way: its traffic back on the stable version (Argo Rollouts)
    Abort {
        lane: String,
        #[arg(long)]
        stage: String,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Halt the whole train: every promotion refused until unhalted (needs --reason)
    Halt {
        #[command(flatten)]
        act: ActArgs,
    },
    /// Let the train move again (needs --reason)
    Unhalt {
        #[command(flatten)]
        act: ActArgs,
    },
    /// Read the audit log, or verify its hash chain
    Audit {
        #[command(subcommand)]
        command: Option<AuditCommand>,
        /// One JSON object per line, as stored
        #[arg(long)]
        json: bool,
        /// Only records newer than this (e.g. 2h, 30m, 1d)
        #[arg(long, value_name = "DURATION")]
        since: Option<String>,
    },
}

/// What every action command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct ActArgs {
    /// Don't ask: confirm on the command line (needed without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why: recorded in the audit log (required for halt, unhalt and --force)
    #[arg(long)]
    pub reason: Option<String>,
    /// Go ahead although policy blocks it (needs --reason; marked in the audit log)
    #[arg(long)]
    pub force: bool,
    /// Print the verdict and the exact request, send nothing (audited as a dry run)
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 0 when intact, 1 naming the first bad line
    Verify,
    /// Write the chain as JSON Lines, as the audit file holds it (to standard output without
    /// FILE); the file's verifier checks it
    Export {
        #[arg(value_name = "FILE")]
        file: Option<std::path::PathBuf>,
    },
    /// Carry a local audit log into a postgres store whose chain is empty
    Import {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// Number of lanes (services) on the train
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u16).range(1..=2000))]
    pub lanes: u16,
    /// How many lanes the config reads through the simulator's GitHub API (the demo's three by
    /// default; more are taken from the train in order)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=2000))]
    pub github_lanes: Option<u16>,
    /// How many lanes the config reads through the simulator's GitLab API (the demo's
    /// shipping-api by default; with N, those whose production deploys wait for approval
    /// first, payments-api and shipping-api, then the others in order)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=2000))]
    pub gitlab_lanes: Option<u16>,
    /// Read the deploy stages of ledger and notifications through the simulator's Argo CD
    /// API (a canary Rollout paused at a step among them)
    #[arg(long)]
    pub argocd: bool,
    /// Answer as a plain protocol v1 server: no ETag, gzip or deltas on `/v1/train`
    #[arg(long)]
    pub no_extensions: bool,
    /// Seed of the scenario: the same seed plays the same train
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Pace of the scenario (2 = twice as fast; 0.1 to 100)
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Serve attack strings: escape sequences (clipboard writes, title changes, screen
    /// clears), bidi overrides, zero-width characters, CJK and emoji versions
    #[arg(long)]
    pub hostile: bool,
    /// Inject faults into every API the simulator serves, e.g.
    /// `latency=2s,errors=0.3,malformed=0.2,drop=0.1,slow=0.2,ratelimit=0.5,hang=0.05`
    /// (shares from 0 to 1; retry_after=DUR, seed=N, only=http+github+prometheus); see
    /// docs/chaos.md. `POST /_sim/chaos` changes them while it runs
    #[arg(long, value_name = "SPEC", value_parser = parse_chaos)]
    pub chaos: Option<crate::sim::ChaosSpec>,
}

fn parse_chaos(s: &str) -> Result<crate::sim::ChaosSpec, String> {
    crate::sim::ChaosSpec::parse(s)
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config; print every error as file:line:col: message (exit 2 on errors)
    Check,
    /// Print the path trainyard reads its config from
    Path,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.1..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is out of range: the pace goes from 0.1 to 100"
        ))
    }
}
