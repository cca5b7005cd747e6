//! `{name}` placeholders in a config's texts (a gitlab stage's pipeline variables): found for
//! the config's checks, filled in one pass when the text is used, so that a value put in is
//! never read again for placeholders.

/// Whether `name` may be a placeholder's: a letter or `_`, then letters, digits or `_`.
fn is_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The pieces of `text`: `Ok` a run of text as it is, `Err` a placeholder's name.
fn pieces(text: &str) -> Vec<Result<&str, &str>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find(['{', '}']) {
            Some(close) if after[close..].starts_with('}') && is_name(&after[..close]) => {
                out.push(Ok(&rest[..open]));
                out.push(Err(&after[..close]));
                rest = &after[close + 1..];
            }
            Some(close) => {
                out.push(Ok(&rest[..open + 1 + close]));
                rest = &after[close..];
            }
            None => break,
        }
    }
    out.push(Ok(rest));
    out
}

/// The `{name}` placeholders of `text`, in order; any other brace is text.
pub fn placeholders(text: &str) -> Vec<&str> {
    pieces(text).into_iter().filter_map(Result::err).collect()
}

/// `text` with each placeholder named in `values` replaced by its value; others stay as written.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Ok(t) => out.push_str(t),
            Err(name) => match values.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{fill, placeholders};

    #[test]
    fn placeholders_are_names_in_braces() {
        assert_eq!(placeholders("{version}"), ["version"]);
        assert_eq!(
            placeholders("v-{version}@{environment}{lane}"),
            ["version", "environment", "lane"]
        );
        assert_eq!(placeholders("{\"a\": 1} {} {1x} {a b}"), Vec::<&str>::new());
        assert_eq!(placeholders("{{stage}} {vers{ion}"), ["stage", "ion"]);
        assert_eq!(placeholders("{ver"), Vec::<&str>::new());
    }

    #[test]
    fn fill_replaces_known_placeholders_once() {
        let values = [("version", "{lane}"), ("lane", "api")];
        assert_eq!(
            fill("{version}/{lane}/{other} {\"k\": {lane}} {{lane}}", &values),
            "{lane}/api/{other} {\"k\": api} {api}"
        );
        assert_eq!(fill("no braces", &values), "no braces");
        assert_eq!(fill("open { only", &values), "open { only");
    }
}
