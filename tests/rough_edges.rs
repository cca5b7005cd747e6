//! What a new user hits first, each said plainly: no terminal for the screen, and reports
//! without colour when NO_COLOR asks for none.

mod common;

use common::bin::Trainyard;

#[test]
fn the_screen_without_a_terminal_says_what_to_do_instead() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["demo"][..], &[][..]] {
        // The runner gives no terminal: stdin is null, stdout and stderr are pipes.
        let r = Trainyard::new(dir.path()).args(args).run();
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains("needs a terminal"), "{r}");
        assert!(
            r.stderr.contains("ssh -t") && r.stderr.contains("trainyard status"),
            "{r}"
        );
        assert!(
            !r.stderr.contains("BACKTRACE") && !r.stderr.contains("os error"),
            "{r}"
        );
    }
}

#[test]
fn an_error_report_has_no_colour_under_no_color() {
    let dir = tempfile::tempdir().unwrap();
    // A simulator on a port already taken: an error report on stderr.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = |no_color: &str| {
        Trainyard::new(dir.path())
            .args(["sim", "--listen", &addr])
            .env("NO_COLOR", no_color)
            .run()
    };
    let plain = run("1");
    assert_eq!(plain.code, 1, "{plain}");
    assert!(plain.stderr.contains(&addr), "{plain}");
    assert!(
        !plain.stderr.contains('\u{1b}'),
        "colour codes in: {:?}",
        plain.stderr
    );
    // Without NO_COLOR the same report is coloured: the test above can fail.
    let coloured = run("");
    assert!(coloured.stderr.contains('\u{1b}'), "{:?}", coloured.stderr);
}

/// `trainyard man > /dev/full`, `… | true`: output that can't be written ends trainyard with a
/// word (a full disk) or quietly (a reader gone), never a panic.
#[test]
fn output_that_cannot_be_written_ends_quietly() {
    let bin = common::bin::BIN;
    let sh = |cmd: &str| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for what in ["man", "completions bash"] {
        let (out, err) = sh(&format!("{bin} {what} > /dev/full; echo rc=$?"));
        assert_eq!(out.trim(), "rc=1", "{what}: {err}");
        assert!(
            err.contains("cannot write the output: No space left"),
            "{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("BACKTRACE"),
            "{err}"
        );
        let (out, err) = sh(&format!(
            "{bin} {what} | (exec 0<&-; true); echo rc=${{PIPESTATUS[0]}}"
        ));
        assert_eq!(out.trim(), "rc=0", "{what}: {err}");
        assert!(err.is_empty(), "{what}: {err}");
    }
}

/// `config check` on a file with many mistakes lists every one, by place, with its hint (a
/// duration written as a number says that durations are strings), and exits 2.
#[test]
fn config_check_lists_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/configs/invalid/every_problem.toml");
    let r = Trainyard::new(dir.path())
        .config(&file)
        .args(["config", "check"])
        .run();
    assert_eq!(r.code, 2, "{r}");
    let places: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("every_problem.toml:"))
        .map(|l| l.split(": ").next().unwrap_or(""))
        .map(|p| p.rsplit_once(".toml:").map_or("", |(_, at)| at))
        .collect();
    assert_eq!(
        places,
        ["5:1", "10:12", "11:11", "12:1", "16:1", "19:8"],
        "{r}"
    );
    assert!(
        r.stdout
            .contains("durations are strings with a unit: `interval = \"5s\"`"),
        "{r}"
    );
    assert!(r.stdout.contains("did you mean \"stale_after\""), "{r}");
}
