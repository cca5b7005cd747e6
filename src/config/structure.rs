//! The file's shape, every problem of it at once: bad syntax, unknown keys, values of the
//! wrong type, missing keys.
//!
//! serde stops at the first mismatch. To list them all, the document is parsed once into
//! toml's spanned tree; after each mismatch the offending entry is taken out of the tree and
//! the rest is read again, so the next problem surfaces with its own place in the original
//! text. A missing key can't be taken out, so it ends the list (it is reported, once).

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{self, ConfigError, ConfigErrors, line_col};
use super::raw::{KeyView, RawConfig};

/// At most this many shape problems are listed; a file with more is not a config.
const MAX_PROBLEMS: usize = 50;

/// Keys whose values are durations, written as strings (`"5s"`).
const DURATION_KEYS: &[&str] = &[
    "interval",
    "timeout",
    "stale_after",
    "verify_timeout",
    "window",
];

/// A config file's shape, read as far as it goes.
pub(crate) struct Shape {
    pub raw: RawConfig,
    pub keys: KeyView,
    /// What was wrong with the shape; the entries at fault are left out of `raw`.
    pub problems: Vec<ConfigError>,
    /// The keys left out, so that the checks after this one don't report them again as
    /// missing.
    pub removed: Vec<String>,
}

/// Read `text` as a config file's shape. Every problem with its place; an error when nothing
/// could be read (bad syntax, a key missing).
pub(crate) fn read(text: &str, file: &str) -> Result<Shape, ConfigErrors> {
    let (mut root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(ConfigErrors(
            syntax
                .iter()
                .take(MAX_PROBLEMS)
                .map(|e| error(e, None, text, file))
                .collect(),
        ));
    }
    let mut problems: Vec<ConfigError> = Vec::new();
    let mut removed = Vec::new();
    loop {
        let e = match RawConfig::deserialize(toml::de::Deserializer::from(root.clone())) {
            Ok(raw) => {
                problems.sort_by_key(|e| (e.line, e.col));
                // The keys of source and target tables (see `raw::KeyView`), from the same
                // tree: the strict read has checked the shapes this view relies on.
                let keys = KeyView::deserialize(toml::de::Deserializer::from(root))
                    .map_err(|e| ConfigErrors::from(error(&e, None, text, file)))?;
                return Ok(Shape {
                    raw,
                    keys,
                    problems,
                    removed,
                });
            }
            Err(e) => e,
        };
        let taken = e
            .span()
            .filter(|_| !e.message().starts_with("missing field"))
            .and_then(|span| take_out(root.get_mut(), &span));
        problems.push(error(&e, taken.as_deref(), text, file));
        match taken {
            Some(key) if problems.len() < MAX_PROBLEMS => {
                // A typo's key is missing under its right name: not news either.
                removed.extend(meant(e.message()));
                removed.push(key);
            }
            _ => {
                problems.sort_by_key(|e| (e.line, e.col));
                return Err(ConfigErrors(problems));
            }
        }
    }
}

/// Take the entry at `span` (its key's or its value's place, or an item of its array) out of
/// `table` or a table inside it; the key's name when one was taken out. Tables are searched
/// whatever their own spans say: a `[table]`'s span need not cover its entries.
fn take_out(table: &mut DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let inside = |at: Range<usize>| at.start <= span.start && span.end <= at.end;
    let mut found: Option<Spanned<std::borrow::Cow<'_, str>>> = None;
    for (key, value) in table.iter_mut() {
        if key.span() == *span || value.span() == *span {
            found = Some(key.clone());
            break;
        }
        let inner = match value.get_mut() {
            DeValue::Table(t) => take_out(t, span),
            DeValue::Array(items) => {
                let mut inner = None;
                for item in items.iter_mut() {
                    let at = item.span();
                    match item.get_mut() {
                        DeValue::Table(t) => inner = take_out(t, span),
                        // A bad item of a plain array: the array goes as a whole.
                        _ if inside(at) => {
                            found = Some(key.clone());
                            break;
                        }
                        _ => {}
                    }
                    if inner.is_some() {
                        break;
                    }
                }
                inner
            }
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
        if found.is_some() {
            break;
        }
    }
    let key = found?;
    let name = key.get_ref().to_string();
    table.remove(key.get_ref().as_ref());
    Some(name)
}

/// A toml problem as a config error, in words, with a hint where one helps.
fn error(e: &toml::de::Error, key: Option<&str>, text: &str, file: &str) -> ConfigError {
    let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
    let (message, hint) = explain(e.message(), key);
    ConfigError {
        file: file.to_string(),
        line,
        col,
        message,
        hint,
    }
}

/// The key an unknown key was likely meant to be.
fn meant(message: &str) -> Option<String> {
    let (key, known) = unknown_field(message)?;
    diag::did_you_mean(key, &known).map(str::to_string)
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "…, expected `a`"): the key
/// and the keys known there.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.trim().strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once("`, expected ")?;
    Some((key, expected.split('`').skip(1).step_by(2).collect()))
}

pub(super) fn explain(message: &str, key: Option<&str>) -> (String, Option<String>) {
    let message = message.trim();
    if let Some((key, known)) = unknown_field(message) {
        return (
            format!("unknown key {key:?}"),
            Some(diag::list_hint("keys here", key, &known)),
        );
    }
    if message == "missing field `train`" {
        return (
            "missing [train] table".into(),
            Some("every config needs [train] with a name and its stages".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(key) = rest.strip_suffix('`')
    {
        return (format!("missing key {key:?}"), None);
    }
    // serde: "invalid type: integer `5`, expected a string".
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let named = key.map_or(String::new(), |k| format!(" for {k:?}"));
        let message = format!("wrong type{named}: {found}, expected {expected}");
        let number = found.starts_with("integer") || found.starts_with("float");
        let hint = match key {
            Some(k) if number && expected == "a string" && DURATION_KEYS.contains(&k) => {
                let n = found.split('`').nth(1).unwrap_or("5");
                // Whole units only: 2.5 seconds is 2500ms.
                let value = match n.parse::<f64>() {
                    Ok(f) if f.fract() != 0.0 && f.is_finite() => {
                        format!("{}ms", (f * 1000.0).round())
                    }
                    _ => format!("{n}s"),
                };
                Some(format!(
                    "durations are strings with a unit: `{k} = \"{value}\"` (ms, s, m, h, d)"
                ))
            }
            Some(k) if expected == "a string" => {
                let v = found.split('`').nth(1).unwrap_or("…");
                Some(format!("write it in quotes: `{k} = \"{v}\"`"))
            }
            _ => None,
        };
        return (message, hint);
    }
    (message.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem of the shape, as `config check` prints them.
    fn problems(text: &str) -> Vec<String> {
        let found = match read(text, "c.toml") {
            Ok(shape) => shape.problems,
            Err(e) => e.0,
        };
        found.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn explains_unknown_keys() {
        assert_eq!(
            explain(
                "unknown field `sorce`, expected one of `name`, `source`",
                None
            ),
            (
                "unknown key \"sorce\"".into(),
                Some("keys here are name, source (did you mean \"source\"?)".into())
            )
        );
        assert_eq!(
            explain("unknown field `requires`, expected `require`", None),
            (
                "unknown key \"requires\"".into(),
                Some("keys here are require (did you mean \"require\"?)".into())
            )
        );
        assert_eq!(
            explain("duplicate key", None),
            ("duplicate key".into(), None)
        );
    }

    const BASE: &str = "[train]\nname = \"t\"\nstages = [\"build\"]\n";

    #[test]
    fn a_good_shape_reads() {
        assert!(problems(BASE).is_empty());
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_listed_with_its_place() {
        let text = format!(
            "{BASE}colour = 1\n\n[sources.gh]\nkind = \"github\"\ninterval = 5\ntimout = \"1s\"\n\n\
             [[lanes]]\nname = \"a\"\nteem = \"x\"\n"
        );
        let p = problems(&text);
        // `timout` is a source's key: the checks after the shape find it (see config::tests).
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(
            p[0].starts_with("c.toml:4:1: unknown key \"colour\""),
            "{p:#?}"
        );
        let interval = p.iter().find(|s| s.contains("interval")).unwrap();
        assert!(
            interval.starts_with("c.toml:8:12: wrong type for \"interval\""),
            "{interval}"
        );
        assert!(interval.contains("durations are strings with a unit: `interval = \"5s\"`"));
        let teem = p.iter().find(|s| s.contains("teem")).unwrap();
        assert!(teem.starts_with("c.toml:13:1:"), "{teem}");
    }

    #[test]
    fn a_string_where_a_number_goes_gets_quotes_hint_only_for_strings() {
        let p = problems(&format!("identity = 7\n{BASE}"));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].contains("write it in quotes: `identity = \"7\"`"),
            "{p:#?}"
        );
        let p = problems(&format!("readonly = \"yes\"\n{BASE}"));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with("c.toml:1:12: wrong type for \"readonly\""),
            "{p:#?}"
        );
        assert!(!p[0].contains("quotes"), "{p:#?}");
    }

    #[test]
    fn a_missing_key_ends_the_list_once() {
        let p = problems("bogus = 1\n");
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].contains("unknown key \"bogus\""));
        assert!(p[1].contains("missing [train] table"));
    }

    #[test]
    fn every_syntax_error_is_listed() {
        let p = problems("[train\nname = = 1\n");
        assert!(!p.is_empty());
        assert!(p[0].starts_with("c.toml:1:"), "{p:#?}");
    }

    #[test]
    fn hundreds_of_problems_stop_at_the_cap() {
        let mut text = BASE.to_string();
        for i in 0..200 {
            text.push_str(&format!("unknown{i} = 1\n"));
        }
        // Unknown keys at the top level: each one is one problem, up to the cap.
        let p = problems(&text);
        assert_eq!(p.len(), MAX_PROBLEMS);
    }
}
