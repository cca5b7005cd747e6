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
