//! `trainyard completions SHELL` and `trainyard man`: generated from the command line's own
//! definitions, so every command and flag is in them.

mod common;

use common::bin::Trainyard;

/// Every command of the CLI, as the completions and the manual must know them.
const COMMANDS: &[&str] = &[
    "demo",
    "sim",
    "status",
    "watch",
    "promote",
    "pause",
    "resume",
    "rollback",
    "approve",
    "reject",
    "abort",
    "halt",
    "unhalt",
    "audit",
    "config",
    "completions",
    "man",
];

#[test]
fn completions_know_every_command_in_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = Trainyard::new(dir.path())
            .args(["completions", shell])
            .run();
        assert_eq!(r.code, 0, "{shell}: {r}");
        for c in COMMANDS {
            assert!(r.stdout.contains(c), "{shell} completions lack {c}");
        }
        assert!(r.stdout.contains("readonly"), "{shell}: {}", r.stdout);
    }
    let r = Trainyard::new(dir.path())
        .args(["completions", "tcsh"])
        .run();
    assert_eq!(r.code, 2, "an unknown shell is a usage error: {r}");
}

#[test]
fn bash_completes_commands_for_real() {
    if !common::installed("bash", "--version", "bash completions") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = Trainyard::new(dir.path())
        .args(["completions", "bash"])
        .run();
    let script = dir.path().join("trainyard.bash");
    std::fs::write(&script, &r.stdout).unwrap();
    // What bash offers after `trainyard wa<Tab>`.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(trainyard wa); COMP_CWORD=1; _trainyard trainyard wa trainyard; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        offered.trim(),
        "watch",
        "{offered}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let r = Trainyard::new(dir.path()).args(["man"]).run();
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains(".TH trainyard 1"), "{}", r.stdout);
    assert!(r.stdout.contains(".SH NAME") && r.stdout.contains(".SH SYNOPSIS"));
    for c in COMMANDS {
        assert!(r.stdout.contains(c), "the manual lacks {c}");
    }
}
