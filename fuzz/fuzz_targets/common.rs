//! What every target asserts about what a parser lets through.

/// Text that reaches the terminal: no control or bidi characters.
#[allow(dead_code)]
pub fn assert_clean(what: &str, s: &str) {
    let bad = s.chars().find(|c| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    });
    assert!(bad.is_none(), "{what} carries {bad:?}: {s:?}");
}

/// An error for people: words, clean.
#[allow(dead_code)]
pub fn assert_error(what: &str, e: &str) {
    assert!(!e.trim().is_empty(), "{what}: an empty error");
    assert_clean(what, e);
}

#[allow(dead_code)]
pub fn assert_cell(c: &trainyard::model::Cell) {
    for s in [&c.version, &c.url, &c.actor, &c.message, &c.error]
        .into_iter()
        .flatten()
    {
        assert_clean("cell text", s);
        assert!(s.chars().count() <= 210, "{} characters", s.chars().count());
    }
    if let Some(p) = c.progress {
        assert!((0.0..=1.0).contains(&p), "progress {p}");
    }
    for ch in &c.checks {
        assert_clean("check", &ch.name);
    }
    if let Some(a) = &c.approval {
        for r in a.reviewers.iter().chain(a.environment.iter()) {
            assert_clean("approval", r);
        }
    }
    for h in &c.history {
        assert_clean("history", &h.version);
    }
    for w in &c.warnings {
        assert_clean("warning", w);
    }
}
