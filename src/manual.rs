//! Shell completions and the manual page, generated from the same clap definitions the command
//! line parses with: they can't drift from the flags trainyard really takes.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "trainyard", out);
}

/// The manual page, in roff: `trainyard(1)`.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}
