//! Structure-aware mutation: hostile values, edits of a JSON tree (delete a field, swap a type,
//! put a hostile value in, nest it deeper than any parser should follow) and edits of the bytes
//! (truncate, flip, splice invalid UTF-8 or control characters in).

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Number, Value, json};

/// `cases` for a property, unless `PROPTEST_CASES` says otherwise (to run longer: see
/// docs/fuzzing.md).
pub fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    // Shrinking a parser input is cheap; don't let a failure take minutes to report.
    c.max_shrink_iters = 2048;
    c
}

/// Snippets that have broken parsers before: escapes that steer a terminal, bidi controls,
/// words the parsers look for, times at the edges of the calendar, numbers that don't fit.
pub const SNIPPETS: &[&str] = &[
    "",
    " ",
    "\u{1b}[2J",
    "\u{1b}]0;pwned\u{7}",
    "\u{1b}]8;;http://evil\u{1b}\\",
    "\u{9b}31m",
    "\u{202e}",
    "\u{2066}",
    "\0",
    "\r\n",
    "\t",
    "é",
    "👍🏽",
    "\u{feff}",
    "running",
    "succeeded",
    "failed",
    "awaiting_approval",
    "unknown",
    "completed",
    "success",
    "failure",
    "in_progress",
    "waiting",
    "queued",
    "inactive",
    "passed",
    "pending",
    "Team",
    "User",
    "pull_request",
    "2026-11-26T14:00:00Z",
    "2026-11-26T14:00:00.123456789+05:30",
    "+262143-12-31T23:59:59Z",
    "-262144-01-01T00:00:00Z",
    "9999-12-31T23:59:60Z",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00+23:59",
    "2026-02-30T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "1e999",
    "-1e999",
    "NaN",
    "+Inf",
    "-Inf",
    "18446744073709551616",
    "-9223372036854775809",
    "v1.4.2",
    "refs/tags/v1.0",
    "refs/tags/",
    "v",
    "<https://api.github.com/x?page=2>; rel=\"next\"",
    "error",
    "bad_data",
    "matrix",
    "soak:",
    "slo:0s",
    "18446744073709551615d",
];

/// A string a hostile or broken payload might carry.
pub fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        4 => select(SNIPPETS).prop_map(str::to_string),
        2 => prop::collection::vec(select(SNIPPETS), 0..6).prop_map(|v| v.concat()),
        2 => "[\\x00-\\x1f\\x7f-\\x9f\u{200e}\u{202a}-\u{202e}a-z0-9 ]{0,40}",
        // Long: a payload must not be able to fill the screen or the memory through one field.
        1 => (select(SNIPPETS), 1usize..3000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

/// Numbers at the edges: every integer and finite float JSON can carry, and the famous ones.
pub fn hostile_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| Number::from_f64(f)
            .map(Value::Number)),
        select(vec![
            0.0,
            -0.0,
            0.5,
            1.0,
            -1.0,
            1e308,
            -1e308,
            f64::MIN_POSITIVE,
            5e-324,
            9.3e18,
            -9.3e18,
            1.7e308
        ])
        .prop_map(|f| json!(f)),
        select(vec![u64::MAX, i64::MAX as u64, 0, 1, 43_200, 43_201]).prop_map(Value::from),
        Just(json!(i64::MIN)),
    ]
}

/// Keys the parsers look for, and any others.
pub fn hostile_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "state",
            "status",
            "conclusion",
            "lane",
            "stage",
            "cells",
            "metrics",
            "values",
            "result",
            "data",
            "series",
            "threshold",
            "max",
            "min",
            "value",
            "seq",
            "hash",
            "prev_hash",
            "ts",
            "id",
            "name",
            "login",
            "sha",
            "ref",
            "environment",
            "reviewers",
            "wait_timer",
        ])
        .prop_map(str::to_string),
        hostile_string(),
    ]
}

/// Any JSON value, from hostile leaves, a few levels deep.
pub fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        hostile_number(),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((hostile_key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One edit of a JSON tree, at a node picked by an [`Index`] over all its nodes.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Remove the node from its object or array (the root becomes null).
    Delete,
    /// Put a hostile value in its place.
    Replace(Value),
    /// The same content as another type: `0.5` → `"0.5"`, `"abc"` → `3`, `[..]` → `{..}`.
    SwapType,
    /// Nest it this many arrays deep: past any recursion limit.
    Nest(usize),
    /// Repeat an array's elements (or the node in a new array) this many times.
    Repeat(usize),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Delete),
        4 => hostile_value().prop_map(Edit::Replace),
        3 => Just(Edit::SwapType),
        1 => (100usize..400).prop_map(Edit::Nest),
        1 => (2usize..50).prop_map(Edit::Repeat),
    ]
}

pub fn edits() -> impl Strategy<Value = Vec<(Index, Edit)>> {
    prop::collection::vec((any::<Index>(), edit()), 1..5)
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                here.push(Step::Key(k.clone()));
                paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                here.push(Step::At(i));
                paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match (v, step) {
        (Value::Object(m), Step::Key(k)) => m.get_mut(k).expect("path from paths()"),
        (Value::Array(a), Step::At(i)) => &mut a[*i],
        _ => unreachable!("path from paths()"),
    })
}

fn swap_type(v: Value) -> Value {
    match v {
        Value::Null => Value::Bool(false),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => match s.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Value::Number(n),
            None => Value::from(s.len()),
        },
        Value::Array(a) => Value::Object(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        Value::Object(m) => Value::Array(m.into_iter().map(|(_, v)| v).collect()),
    }
}

/// Apply edits in order; each picks its node among those of the tree as it is then.
pub fn apply(doc: &mut Value, edits: &[(Index, Edit)]) {
    for (at, edit) in edits {
        let mut all = Vec::new();
        paths(doc, &mut Vec::new(), &mut all);
        let path = at.get(&all).clone();
        match edit {
            Edit::Delete => match path.split_last() {
                None => *doc = Value::Null,
                Some((last, parent)) => match (node(doc, parent), last) {
                    (Value::Object(m), Step::Key(k)) => {
                        m.remove(k);
                    }
                    (Value::Array(a), Step::At(i)) => {
                        a.remove(*i);
                    }
                    _ => unreachable!("path from paths()"),
                },
            },
            Edit::Replace(v) => *node(doc, &path) = v.clone(),
            Edit::SwapType => {
                let n = node(doc, &path);
                *n = swap_type(n.take());
            }
            Edit::Nest(depth) => {
                let n = node(doc, &path);
                let mut v = n.take();
                for _ in 0..*depth {
                    v = Value::Array(vec![v]);
                }
                *n = v;
            }
            Edit::Repeat(times) => {
                let n = node(doc, &path);
                *n = match n.take() {
                    Value::Array(a) => {
                        let len = a.len();
                        Value::Array(a.into_iter().cycle().take(len * times).collect())
                    }
                    other => Value::Array(vec![other; *times]),
                };
            }
        }
    }
}

/// One edit of raw bytes.
#[derive(Clone, Debug)]
pub enum ByteEdit {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
}

/// Bytes that break things: invalid UTF-8 (a lone continuation byte, a truncated sequence, an
/// encoded surrogate, an overlong NUL), escapes, numbers out of range, structure characters.
pub const BAD_BYTES: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xc0\x80",
    b"\xf4\x90\x80\x80",
    b"\0",
    b"\x1b[2J",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"1e999999",
    b"-0",
    b"NaN",
    b"Infinity",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"\xef\xbb\xbf",
];

pub fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        any::<Index>().prop_map(ByteEdit::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (
            any::<Index>(),
            prop_oneof![
                select(BAD_BYTES).prop_map(<[u8]>::to_vec),
                prop::collection::vec(any::<u8>(), 0..8),
            ]
        )
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| ByteEdit::Remove(i, n)),
    ]
}

pub fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    prop::collection::vec(byte_edit(), 0..4)
}

pub fn apply_bytes(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for e in edits {
        // An index into 0..=len: every position, the end included.
        let pos = |i: &Index, len: usize| i.index(len + 1);
        match e {
            ByteEdit::Truncate(i) => bytes.truncate(pos(i, bytes.len())),
            ByteEdit::Flip(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] ^= b | 1;
            }
            ByteEdit::Flip(..) => {}
            ByteEdit::Insert(i, b) => {
                let at = pos(i, bytes.len());
                bytes.splice(at..at, b.iter().copied());
            }
            ByteEdit::Remove(i, n) => {
                let at = pos(i, bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
        }
    }
}

/// A seed document, edited as a tree, serialized, then edited as bytes.
pub fn mutated(seed: &Value, edits: &[(Index, Edit)], bytes: &[ByteEdit]) -> Vec<u8> {
    let mut doc = seed.clone();
    apply(&mut doc, edits);
    let mut out = serde_json::to_vec(&doc).expect("a Value serializes");
    apply_bytes(&mut out, bytes);
    out
}

/// Text that can reach a terminal: no control characters (C0, DEL, C1), no bidi controls,
/// and bounded.
pub fn clean(what: &str, s: &str, max_chars: usize) -> Result<(), TestCaseError> {
    let bad = s.chars().find(|c| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    });
    prop_assert!(bad.is_none(), "{what} carries {bad:?}: {s:?}");
    let n = s.chars().count();
    prop_assert!(n <= max_chars, "{what} is {n} characters long");
    Ok(())
}

/// An error for people: not empty, clean, bounded.
pub fn error_message(what: &str, e: &str) -> Result<(), TestCaseError> {
    prop_assert!(!e.trim().is_empty(), "{what}: an empty error message");
    clean(what, e, 600)
}

/// Bytes of JSON nested `depth` arrays deep inside `prefix` … `suffix`.
pub fn deeply_nested(prefix: &str, depth: usize, suffix: &str) -> Vec<u8> {
    let mut s = String::with_capacity(prefix.len() + 2 * depth + suffix.len());
    s.push_str(prefix);
    s.push_str(&"[".repeat(depth));
    s.push_str(&"]".repeat(depth));
    s.push_str(suffix);
    s.into_bytes()
}

/// A valid RFC 3339 time in UTC, years 1 to 9999, with or without fractions.
pub fn rfc3339() -> impl Strategy<Value = String> {
    (
        -62_135_596_800i64..=253_402_300_799,
        0u32..1_000_000_000,
        any::<bool>(),
    )
        .prop_map(|(secs, nanos, fraction)| {
            let t = chrono::DateTime::from_timestamp(secs, if fraction { nanos } else { 0 })
                .expect("in chrono's range");
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        })
}
