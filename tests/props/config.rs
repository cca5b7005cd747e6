//! `trainyard::config::parse`: the valid configs of tests/configs and config.example.toml,
//! mutated as TOML trees (a key deleted, a value of another type, a hostile duration, URL, gate,
//! time or name), as lines and as characters; and configs generated valid.
//!
//! tests/config_files.rs has `parse_never_panics_on_broken_input` (every prefix of the example);
//! this goes beyond it: the errors must carry a message and a place inside the file, and what
//! was valid stays valid, to the same config.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use toml::{Table, Value};

use trainyard::config::{self, Config, ConfigErrors};
use trainyard::model::duration::{MAX, compact};

use crate::mutate::{self, hostile_string};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The valid configs, as text: tests/configs/valid/*.toml and the example.
fn seeds() -> &'static [String] {
    static S: OnceLock<Vec<String>> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::path::Path::new(ROOT).join("tests/configs/valid");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        files.push(std::path::Path::new(ROOT).join("config.example.toml"));
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    })
}

/// Every error has words and a place inside the text (1-based, the column within its line).
fn check_errors(text: &str, errs: &ConfigErrors) -> Result<(), TestCaseError> {
    prop_assert!(!errs.0.is_empty(), "an Err without errors");
    let lines: Vec<&str> = text.split('\n').collect();
    for e in &errs.0 {
        prop_assert!(
            !e.message.trim().is_empty(),
            "empty message at {}:{}",
            e.line,
            e.col
        );
        crate::mutate::clean("config error", &e.message, usize::MAX)?;
        prop_assert!(e.line >= 1 && e.col >= 1, "{e}");
        prop_assert!(
            e.line <= lines.len(),
            "line {} of {}: {e}",
            e.line,
            lines.len()
        );
        let width = lines[e.line - 1].chars().count();
        prop_assert!(e.col <= width + 1, "col {} of {width}: {e}", e.col);
        let place = format!("f.toml:{}:{}: ", e.line, e.col);
        prop_assert!(e.to_string().starts_with(&place), "{e}");
    }
    Ok(())
}

fn check_any(text: &str) -> Result<(), TestCaseError> {
    match config::parse(text, "f.toml") {
        Ok(c) => {
            // What the rest of trainyard does first with a config.
            let _ = (c.empty_world(), c.sources_of());
            for name in c.sources.keys() {
                let _ = trainyard::sources::NameMap::for_source(&c, name);
            }
        }
        Err(errs) => check_errors(text, &errs)?,
    }
    Ok(())
}

/// Strings that mean something to the validator: durations, URLs, gates, names, times,
/// placeholders.
const CONFIG_STRINGS: &[&str] = &[
    "0s",
    "500ms",
    "3650d",
    "3651d",
    "18446744073709551615d",
    "99999999999999999999",
    "-1s",
    "1h30",
    "http://127.0.0.1:7878",
    "http://[::1]:0/",
    "http://10.0.0.1",
    "https://",
    "file:///etc/passwd",
    "http://127.0.0.1:99999",
    "https://user:pass@example.com/",
    "ghp_0123456789abcdef",
    "checks_green",
    "soak:",
    "soak:30m",
    "slo:0s",
    "slo:3651d",
    "canary",
    "prdo",
    "a b",
    "é",
    "{lane}",
    "{",
    "{}{}{nope}",
    "{é}",
    "{{stage}}",
    "2026-11-26T14:00:00Z",
    "2026-11-26T14:00:00",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00+23:59",
    "http",
    "github",
    "prometheus",
    "argocd",
    "gitlab",
];

const DATETIMES: &[&str] = &[
    "1979-05-27T07:32:00Z",
    "1979-05-27T00:32:00.999999-07:00",
    "1979-05-27T07:32:00",
    "1979-05-27",
    "07:32:00",
    "9999-12-31T23:59:59-23:59",
    "0000-01-01T00:00:00+23:59",
    "2026-11-26T18:00:00Z",
];

fn hostile_toml() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => prop_oneof![select(CONFIG_STRINGS).prop_map(str::to_string), hostile_string()]
            .prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::Integer),
        1 => prop_oneof![
            any::<f64>(),
            select(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e308][..]),
        ]
        .prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Boolean),
        1 => select(DATETIMES).prop_map(|s| Value::Datetime(s.parse().unwrap())),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    select(&["kind", "url", "source", "stages", "name", "x"][..]),
                    inner
                ),
                0..3
            )
            .prop_map(|kv| Value::Table(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

#[derive(Clone, Debug)]
enum TomlEdit {
    Delete,
    Replace(Value),
    SwapType,
    Nest(usize),
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    prop_oneof![
        3 => Just(TomlEdit::Delete),
        5 => hostile_toml().prop_map(TomlEdit::Replace),
        2 => Just(TomlEdit::SwapType),
        1 => (1usize..200).prop_map(TomlEdit::Nest),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

fn paths(v: &Value, here: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(here.clone());
    match v {
        Value::Table(t) => {
            for (k, child) in t {
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
        (Value::Table(t), Step::Key(k)) => t.get_mut(k).expect("path from paths()"),
        (Value::Array(a), Step::At(i)) => &mut a[*i],
        _ => unreachable!("path from paths()"),
    })
}

fn swap_type(v: Value) -> Value {
    match v {
        Value::String(s) => match s.parse::<i64>() {
            Ok(n) => Value::Integer(n),
            Err(_) => Value::Array(vec![Value::String(s)]),
        },
        Value::Integer(n) => Value::String(n.to_string()),
        Value::Float(f) => Value::String(f.to_string()),
        Value::Boolean(b) => Value::String(b.to_string()),
        Value::Datetime(d) => Value::String(d.to_string()),
        Value::Array(a) => Value::Table(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| (format!("k{i}"), v))
                .collect(),
        ),
        Value::Table(t) => Value::Array(t.into_iter().map(|(_, v)| v).collect()),
    }
}

/// Edit a config as a TOML tree; the text again, or none when TOML can't write the result.
fn edit_tree(text: &str, edits: &[(Index, TomlEdit)]) -> Option<String> {
    let mut root = Value::Table(text.parse::<Table>().ok()?);
    for (at, edit) in edits {
        let mut all = Vec::new();
        paths(&root, &mut Vec::new(), &mut all);
        let path = at.get(&all).clone();
        match edit {
            TomlEdit::Delete => {
                let Some((last, parent)) = path.split_last() else {
                    continue;
                };
                match (node(&mut root, parent), last) {
                    (Value::Table(t), Step::Key(k)) => {
                        t.remove(k);
                    }
                    (Value::Array(a), Step::At(i)) => {
                        a.remove(*i);
                    }
                    _ => unreachable!("path from paths()"),
                }
            }
            TomlEdit::Replace(v) if !path.is_empty() => *node(&mut root, &path) = v.clone(),
            TomlEdit::SwapType if !path.is_empty() => {
                let n = node(&mut root, &path);
                let v = std::mem::replace(n, Value::Boolean(false));
                *n = swap_type(v);
            }
            TomlEdit::Nest(depth) if !path.is_empty() => {
                let n = node(&mut root, &path);
                let mut v = std::mem::replace(n, Value::Boolean(false));
                for _ in 0..*depth {
                    v = Value::Array(vec![v]);
                }
                *n = v;
            }
            _ => {}
        }
    }
    toml::to_string(&root).ok()
}

/// Literals as they would be typed, broken ones too.
const LITERALS: &[&str] = &[
    "\"\"",
    "\"unterminated",
    "'''",
    "\"\"\"",
    "[",
    "]",
    "{",
    "{ a = 1, a = 2 }",
    "[[[[[[[[",
    "1979-05-27T",
    "1979-13-45T25:61:61Z",
    "inf",
    "-nan",
    "-0",
    "0x7fffffffffffffff",
    "99999999999999999999",
    "1__0",
    "true false",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\"\\U0010FFFF\"",
    "\"\\x1b\"",
    "\"\u{1b}[2J\"",
];

#[derive(Clone, Debug)]
enum LineEdit {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    /// The value after the first `=` of a line becomes a literal.
    Value(Index, String),
    Insert(Index, String),
}

fn line_edit() -> impl Strategy<Value = LineEdit> {
    let literal = prop_oneof![
        select(LITERALS).prop_map(str::to_string),
        select(CONFIG_STRINGS).prop_map(|s| format!("{s:?}")),
        hostile_string().prop_map(|s| format!("{s:?}")),
        hostile_string(),
    ];
    let line = prop_oneof![
        select(
            &[
                "[train]",
                "[[lanes]]",
                "[sources.x]",
                "[policy.prod]",
                "[[metrics]]",
                "a.b.c = 1",
                "name = \"x\"",
                "[train.window]",
                "readonly = true"
            ][..]
        )
        .prop_map(str::to_string),
        hostile_string(),
    ];
    prop_oneof![
        1 => any::<Index>().prop_map(LineEdit::Delete),
        1 => any::<Index>().prop_map(LineEdit::Duplicate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LineEdit::Swap(a, b)),
        3 => (any::<Index>(), literal).prop_map(|(i, l)| LineEdit::Value(i, l)),
        1 => (any::<Index>(), line).prop_map(|(i, l)| LineEdit::Insert(i, l)),
    ]
}

fn edit_lines(text: &str, edits: &[LineEdit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match e {
            LineEdit::Delete(i) => {
                lines.remove(i.index(n));
            }
            LineEdit::Duplicate(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            LineEdit::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            LineEdit::Value(i, lit) => {
                // The lines with a value; `i` picks one of them.
                let with: Vec<usize> = (0..n).filter(|k| lines[*k].contains('=')).collect();
                if !with.is_empty() {
                    let k = with[i.index(with.len())];
                    let key = lines[k].split('=').next().unwrap_or("").to_string();
                    lines[k] = format!("{key}= {lit}");
                }
            }
            LineEdit::Insert(i, l) => lines.insert(i.index(n + 1), l.clone()),
        }
    }
    lines.join("\n")
}

/// A name of a train, stage, lane or source as the config allows them.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,20}"
}

/// A config that is valid by construction: names, durations and a window of any allowed value.
fn valid_config() -> impl Strategy<Value = (String, Vec<String>, Vec<String>, u64, u64, (i64, i64))>
{
    (
        name(),
        prop::collection::btree_set(name(), 2..6),
        prop::collection::btree_set(name(), 1..5),
        1..=MAX.as_secs(),
        1..=MAX.as_secs(),
        (-62_135_596_800i64..253_402_300_000, 1i64..100_000_000),
    )
        .prop_map(|(train, stages, lanes, interval, timeout, (opens, len))| {
            (
                train,
                stages.into_iter().collect(),
                lanes.into_iter().collect(),
                interval,
                timeout,
                (opens, len),
            )
        })
}

proptest! {
    #![proptest_config(mutate::config(64))]

    /// The valid configs edited as TOML trees: an error with words at a place in the file, or
    /// a config.
    #[test]
    fn tree_edits_give_placed_errors(
        seed in any::<Index>(),
        edits in prop::collection::vec((any::<Index>(), toml_edit()), 1..4),
    ) {
        if let Some(text) = edit_tree(seed.get(seeds()).as_str(), &edits) {
            check_any(&text)?;
        }
    }

    /// The valid configs edited as lines (deleted, duplicated, swapped, a value replaced by a
    /// broken or hostile literal, a line inserted).
    #[test]
    fn line_edits_give_placed_errors(
        seed in any::<Index>(),
        edits in prop::collection::vec(line_edit(), 1..4),
    ) {
        check_any(&edit_lines(seed.get(seeds()).as_str(), &edits))?;
    }

    /// The valid configs edited as bytes (invalid UTF-8 replaced, as `load` would refuse it
    /// before parsing).
    #[test]
    fn byte_edits_give_placed_errors(
        seed in any::<Index>(),
        edits in prop::collection::vec(mutate::byte_edit(), 1..4),
    ) {
        let mut bytes = seed.get(seeds()).as_str().as_bytes().to_vec();
        mutate::apply_bytes(&mut bytes, &edits);
        check_any(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_text_gives_placed_errors(text in prop_oneof![
        any::<String>(),
        "[\\[\\]{}=\"'.,a-z0-9 \n_-]{0,200}",
    ]) {
        check_any(&text)?;
    }

    /// Generated valid configs parse, to what they say.
    #[test]
    fn generated_configs_parse_to_what_they_say(
        (train, stages, lanes, interval, timeout, (opens, len)) in valid_config(),
    ) {
        let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let (interval, timeout) = (Duration::from_secs(interval), Duration::from_secs(timeout));
        let mut text = format!(
            "[train]\nname = {train:?}\nstages = [{}]\nwindow = {{ opens = {:?}, closes = {:?} }}\n\n\
             [sources.src]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\
             interval = {:?}\ntimeout = {:?}\n",
            list(&stages), t(opens), t(opens + len), compact(interval), compact(timeout),
        );
        for l in &lanes {
            text.push_str(&format!("\n[[lanes]]\nname = {l:?}\nsource = \"src\"\n"));
        }
        let c: Config = config::parse(&text, "gen.toml").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&c.train.name, &train);
        prop_assert_eq!(&c.train.stages, &stages);
        prop_assert_eq!(c.train.lanes.iter().map(|l| &l.name).collect::<Vec<_>>(), lanes.iter().collect::<Vec<_>>());
        let src = &c.sources["src"];
        prop_assert_eq!(src.interval, interval);
        prop_assert_eq!(src.timeout, timeout);
        prop_assert_eq!(src.stale_after, (interval * 3).max(Duration::from_secs(10)));
        prop_assert_eq!(c.targets.len(), stages.len() * lanes.len());
        let w = c.train.window.unwrap();
        prop_assert_eq!((w.closes - w.opens).num_seconds(), len);
    }
}

/// Every valid config written back by the TOML writer (other layout, other quoting, inline
/// tables expanded) reads as the same config.
#[test]
fn rewritten_valid_configs_read_the_same() {
    for text in seeds() {
        let before = config::parse(text, "f.toml").expect("a valid seed");
        let table: Table = text.parse().unwrap();
        let again = toml::to_string(&table).unwrap();
        let after = config::parse(&again, "f.toml")
            .unwrap_or_else(|e| panic!("{e}\n--- rewritten:\n{again}"));
        assert_eq!(before, after, "rewritten:\n{again}");
    }
}

/// Nesting past any sane depth, in every place the parser recurses: an error, not a stack
/// overflow.
#[test]
fn deep_nesting_is_an_error() {
    let n = 100_000;
    for text in [
        format!("a = {}", "[".repeat(n)),
        format!("a = {}{}", "[".repeat(n), "]".repeat(n)),
        format!("a = {}", "{b=".repeat(n)),
        format!("[{}b]", "a.".repeat(n)),
        format!("{}b = 1", "a.".repeat(n)),
        format!(
            "[train]\nname = \"x\"\nstages = {}\"a\"{}",
            "[".repeat(n),
            "]".repeat(n)
        ),
    ] {
        let errs = config::parse(&text, "deep.toml").expect_err("too deep");
        assert!(!errs.0.is_empty() && !errs.0[0].message.is_empty());
    }
}

/// A file that is not UTF-8 is one error at 1:1, from `load`.
#[test]
fn a_file_that_is_not_utf8_is_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut bytes = seeds()[0].as_bytes().to_vec();
    bytes.splice(10..10, *b"\xff\xfe");
    std::fs::write(&path, bytes).unwrap();
    let errs = config::load(&path).unwrap_err();
    assert_eq!(errs.0.len(), 1);
    assert_eq!((errs.0[0].line, errs.0[0].col), (1, 1));
    assert!(errs.0[0].message.contains("cannot read"), "{}", errs.0[0]);
}
