//! Shell completions and the manual page, generated from the same clap definitions the command
//! line parses with: they can't drift from the flags trainyard really takes.

use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "trainyard", &mut out);
    out
}

/// The manual page, in roff: `trainyard(1)`.
pub fn man() -> Vec<u8> {
    let mut out = Vec::new();
    // Rendering into memory can't fail.
    let _ = clap_mangen::Man::new(Cli::command()).render(&mut out);
    out
}
