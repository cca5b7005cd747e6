use super::*;

/// Attacks and what each must become (docs/security.md, "Hostile payloads").
const ATTACKS: &[(&str, &str, &str)] = &[
    // (what, input, sanitized)
    (
        "OSC 52 clipboard write (BEL)",
        "ok\u{1b}]52;c;cm0gLXJmIH4=\u{07}done",
        "ok␛done",
    ),
    (
        "OSC 52 clipboard write (ST)",
        "ok\u{1b}]52;c;cm0gLXJmIH4=\u{1b}\\done",
        "ok␛done",
    ),
    (
        "OSC 0 title change",
        "build\u{1b}]0;you have been pwned\u{07} ok",
        "build␛ ok",
    ),
    (
        "OSC 2 title change, ST",
        "\u{1b}]2;title\u{1b}\\deploy",
        "␛deploy",
    ),
    (
        "OSC 8 hyperlink: the text stays, the link goes",
        "see \u{1b}]8;;https://evil.example/\u{1b}\\the log\u{1b}]8;;\u{1b}\\ now",
        "see ␛the log␛ now",
    ),
    ("CSI clear screen and home", "a\u{1b}[2J\u{1b}[Hb", "a␛b"),
    ("CSI cursor up", "line\u{1b}[5Aover", "line␛over"),
    ("CSI cursor position", "x\u{1b}[10;20Hy", "x␛y"),
    ("CSI private mode (alt screen off)", "\u{1b}[?1049lz", "␛z"),
    ("CSI with intermediates", "a\u{1b}[1 qb", "a␛b"),
    ("DCS (XTGETTCAP) with ST", "a\u{1b}P+q544e\u{1b}\\b", "a␛b"),
    ("DCS sixel", "a\u{1b}Pq#0;2;0;0;0#0~~\u{1b}\\b", "a␛b"),
    ("APC", "a\u{1b}_Gf=100;AAAA\u{1b}\\b", "a␛b"),
    (
        "PM and SOS",
        "a\u{1b}^pm\u{1b}\\b\u{1b}Xsos\u{1b}\\c",
        "a␛b␛c",
    ),
    ("two-character escape: reset", "\u{1b}cafter", "␛after"),
    ("nF escape: charset", "a\u{1b}(0b", "a␛b"),
    ("lone ESC at the end", "end\u{1b}", "end␛"),
    ("lone ESC before text", "a\u{1b}\u{e9}", "a␛\u{e9}"),
    (
        "an ESC inside an OSC starts its own sequence",
        "a\u{1b}]0;t\u{1b}[2Jb",
        "a␛b",
    ),
    ("unterminated OSC eats the rest", "a\u{1b}]52;c;AAAA", "a␛"),
    ("CAN aborts a string", "a\u{1b}]0;t\u{18}b", "a␛b"),
    ("8-bit CSI", "x\u{9b}2Jy", "x␛y"),
    ("8-bit OSC with 8-bit ST", "x\u{9d}52;c;AAAA\u{9c}y", "x␛y"),
    ("8-bit OSC with BEL", "x\u{9d}0;title\u{07}y", "x␛y"),
    ("8-bit DCS", "x\u{90}q#0~\u{9c}y", "x␛y"),
    (
        "8-bit APC, PM, SOS",
        "a\u{9f}x\u{9c}b\u{9e}y\u{9c}c\u{98}z\u{9c}d",
        "a␛b␛c␛d",
    ),
    ("lone 8-bit ST", "a\u{9c}b", "a�b"),
    ("other C1 (NEL is a line break)", "a\u{85}b\u{8d}c", "a b�c"),
    (
        "colour codes go silently",
        "\u{1b}[31mred\u{1b}[0m \u{1b}[1;38;5;208mx",
        "red x",
    ),
    ("colour with colons", "\u{1b}[38:2:1:2:3mx", "x"),
    ("C0 controls", "bell\u{07}nul\u{0}bs\u{08}", "bell�nul�bs�"),
    ("DEL", "a\u{7f}b", "a�b"),
    (
        "line breaks are one space",
        "line1\r\nline2\n\n\tend",
        "line1 line2 end",
    ),
    (
        "line and paragraph separators",
        "a\u{2028}b\u{2029}c",
        "a b c",
    ),
    ("vertical tab and form feed", "a\u{0b}\u{0c}b", "a b"),
    (
        "Trojan Source: RLO reorders an extension",
        "invoice\u{202e}fdp.exe",
        "invoice�fdp.exe",
    ),
    (
        "Trojan Source: isolates around a comment",
        "ok\u{2067}\u{2066}admin\u{2069}\u{2069}",
        "ok�admin�",
    ),
    ("LRM, RLM, ALM", "a\u{200e}b\u{200f}c\u{061c}d", "a�b�c�d"),
    (
        "LRE, RLE, PDF, LRO",
        "\u{202a}\u{202b}x\u{202c}\u{202d}",
        "�x�",
    ),
    ("zero-width space in a branch name", "ma\u{200b}in", "ma�in"),
    ("zero-width non-joiner", "ma\u{200c}in", "ma�in"),
    ("ZWJ outside emoji", "ad\u{200d}min", "ad�min"),
    (
        "word joiner and invisible operators",
        "a\u{2060}b\u{2062}c",
        "a�b�c",
    ),
    ("BOM", "\u{feff}main", "�main"),
    ("Mongolian vowel separator", "a\u{180e}b", "a�b"),
    ("soft hyphen", "pay\u{ad}ments", "pay�ments"),
    ("Hangul filler as a login", "\u{3164}", "�"),
    (
        "tag characters (ASCII smuggling)",
        "ok\u{e0049}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}",
        "ok�",
    ),
    (
        "a run of invisibles leaves one mark",
        "a\u{200b}\u{200c}\u{feff}\u{2060}b",
        "a�b",
    ),
    (
        "ZWJ between emoji: the family becomes its members",
        "👨\u{200d}👩\u{200d}👧",
        "👨👩👧",
    ),
    ("variation selector 16 goes", "❤\u{fe0f} ok", "❤ ok"),
    (
        "CJK and emoji stay",
        "日本語 🚀 ünïcödé",
        "日本語 🚀 ünïcödé",
    ),
    ("accents stay", "e\u{301}te\u{301}", "e\u{301}te\u{301}"),
];

#[test]
fn every_attack_is_removed_or_made_visible() {
    for (what, input, want) in ATTACKS {
        assert_eq!(sanitize(input, 1000), *want, "{what}: {input:?}");
    }
}

/// The protection, stated once for every attack: no byte that can steer a terminal is left.
fn assert_inert(s: &str, what: &str) {
    for c in s.chars() {
        assert!(!c.is_control(), "{what}: control {c:?} left in {s:?}");
        assert!(!is_bidi_control(c), "{what}: bidi {c:?} left in {s:?}");
        assert!(!is_invisible(c), "{what}: invisible {c:?} left in {s:?}");
        assert!(
            !matches!(c, '\u{fe0e}' | '\u{fe0f}' | '\u{2028}' | '\u{2029}'),
            "{what}: {c:?} left in {s:?}"
        );
    }
}

#[test]
fn nothing_that_steers_a_terminal_survives() {
    for (what, input, _) in ATTACKS {
        assert_inert(&sanitize(input, 1000), what);
    }
    // Every code point below U+3000 and the planes' special ranges, one by one and between text.
    for c in (0u32..0x3000)
        .chain(0xfe00..0x10000)
        .chain(0xe0000..0xe0080)
        .filter_map(char::from_u32)
    {
        let s = format!("a{c}b");
        assert_inert(&sanitize(&s, 100), &format!("U+{:04X}", c as u32));
    }
}

#[test]
fn sanitizing_twice_changes_nothing() {
    for (what, input, _) in ATTACKS {
        let once = sanitize(input, 1000);
        assert_eq!(sanitize(&once, 1000), once, "{what}");
        let short = sanitize(input, 5);
        assert_eq!(sanitize(&short, 5), short, "{what} (cut)");
    }
}

#[test]
fn caps_length() {
    assert_eq!(sanitize("abcdef", 3), "abc…");
    assert_eq!(sanitize("abc", 3), "abc", "nothing cut, no ellipsis");
    assert_eq!(sanitize("héllo wörld", 100), "héllo wörld");
    // Marks count.
    assert_eq!(sanitize("\u{1b}[2Jabc", 2), "␛a…");
}

#[test]
fn ten_megabytes_cost_little() {
    let big = format!("\u{1b}]52;c;{}", "A".repeat(10 * 1024 * 1024));
    assert_eq!(
        sanitize(&big, 200),
        "␛",
        "an unterminated OSC swallows the rest"
    );
    let plain = "x".repeat(10 * 1024 * 1024);
    let s = sanitize(&plain, 200);
    assert_eq!(s.chars().count(), 201);
    assert!(s.ends_with('…'));
    let zalgo_bomb = format!("a{}", "\u{301}".repeat(1024 * 1024));
    assert_eq!(
        sanitize(&zalgo_bomb, 200),
        format!("a{}�", "\u{301}".repeat(MAX_COMBINING))
    );
}

#[test]
fn invalid_utf8_is_replaced_visibly() {
    // Raw 8-bit C1 bytes are not UTF-8: from_utf8_lossy makes them U+FFFD, which stays.
    let bytes = b"ok\x9b2J\x9d52;c;AAAA\x9c\xff";
    let s = String::from_utf8_lossy(bytes);
    assert_eq!(
        sanitize(&s, 100),
        "ok\u{fffd}2J\u{fffd}52;c;AAAA\u{fffd}\u{fffd}"
    );
    // UTF-8-encoded C1 (C2 9B) is the 8-bit CSI itself.
    let s = String::from_utf8_lossy(b"ok\xc2\x9b2Jx");
    assert_eq!(sanitize(&s, 100), "ok␛x");
}

#[test]
fn zalgo_is_capped() {
    let s = format!("Z{}alg", "\u{300}\u{301}\u{302}".repeat(10));
    let out = sanitize(&s, 100);
    assert_eq!(
        out.chars().filter(|c| *c == '\u{fffd}').count(),
        1,
        "{out:?}"
    );
    assert!(out.ends_with("�alg"), "{out:?}");
    // Vietnamese keeps its stacked marks.
    assert_eq!(sanitize("Vie\u{323}\u{302}t", 100), "Vie\u{323}\u{302}t");
}

#[test]
fn width_counts_columns_as_ratatui_does() {
    assert_eq!(width("abc"), 3);
    assert_eq!(width("日本語"), 6);
    assert_eq!(width("🚀🚀"), 4);
    assert_eq!(width("e\u{301}"), 1);
    assert_eq!(width("🇩🇪"), 2);
    assert_eq!(width("␛�"), 2);
}

#[test]
fn fit_cuts_by_columns_never_inside_a_character() {
    assert_eq!(fit("abcdef", 4), "abc…");
    assert_eq!(fit("abc", 3), "abc");
    assert_eq!(fit("日本語日本語", 6), "日本…");
    assert_eq!(fit("日本語日本語", 5), "日本…");
    assert_eq!(fit("🚀🚀🚀🚀", 5), "🚀🚀…");
    assert_eq!(fit("e\u{301}e\u{301}e\u{301}", 2), "e\u{301}…");
    assert_eq!(fit("anything", 0), "");
    assert_eq!(fit("ab", 1), "…");
    for s in ["日本語日本語", "🚀🚀🚀🚀", "a日b本c", "e\u{301}x\u{302}yz"] {
        for w in 0..10 {
            assert!(width(&fit(s, w)) <= w, "{s:?} {w}");
        }
    }
}

#[test]
fn pad_makes_exact_columns() {
    for s in ["abc", "日本語日本語", "🚀🚀🚀🚀", "a日b", "", "e\u{301}"] {
        for w in 0..12 {
            assert_eq!(width(&pad(s, w)), w, "{s:?} {w}");
            assert_eq!(width(&pad_left(s, w)), w, "{s:?} {w}");
        }
    }
    assert_eq!(pad("日本", 6), "日本  ");
    assert_eq!(pad_left("1.2%", 6), "  1.2%");
    // A wide character that does not fit leaves a space, not half a character.
    assert_eq!(pad("日本語", 5), "日本…");
    assert_eq!(pad("日本語", 4), "日… ");
}

#[test]
fn json_safe_escapes_what_serde_leaves_and_means_the_same() {
    let v = serde_json::json!({
        "reason": "ok\u{9b}2J \u{202e}exe \u{200b} \u{7f} \u{e0041} \u{2028} \u{1b}[2J",
        "nested": ["\u{9d}52;c;AAAA\u{9c}"],
    });
    for text in [
        serde_json::to_string(&v).unwrap(),
        serde_json::to_string_pretty(&v).unwrap(),
    ] {
        let safe = json_safe(&text);
        assert!(safe.is_ascii() || safe.chars().all(|c| !c.is_control() || c == '\n'));
        assert_inert(&safe.replace('\n', " "), "json");
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u202e") && safe.contains("\\udb40\\udc41"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v, "the same document");
    }
}

#[test]
fn plain_text_is_what_sanitize_leaves_as_it_is() {
    let printable: String = (0x20u8..0x7f).map(char::from).collect();
    for s in [
        "",
        "v1.2.3 rolling out 3/8 pods",
        "a  b",
        printable.as_str(),
    ] {
        assert!(is_plain(s, 1000), "{s:?}");
        assert_eq!(sanitize(s, 1000), s);
    }
    // Too long, a control, anything past ASCII: sanitize has to look.
    for (s, max) in [
        ("abcdef", 5),
        ("tab\there", 100),
        ("esc\u{1b}[2J", 100),
        ("del\u{7f}", 100),
        ("café", 100),
        ("zero\u{200b}width", 100),
    ] {
        assert!(!is_plain(s, max), "{s:?}");
    }
    assert_eq!(sanitize("abcdef", 5), "abcde…");
}
