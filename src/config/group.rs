//! Grouped metric queries: `[[metrics]] by = { lane = "LABEL", stage = "LABEL" }` measures a
//! metric for every lane and stage with one query, its result's series matched back to cells
//! by those labels.
//!
//! A grouped template is rendered once per group: a `{lane}` (or `{stage}`) that `by` names
//! must stand alone inside a matcher's quotes (`service="{lane}"` or `service=~"{lane}"`) and
//! becomes one regex matcher over every lane (`service=~"a|b\\.c"`: each name regex-escaped,
//! then escaped for the PromQL string). A placeholder `by` doesn't name is filled in literally,
//! one group per lane (or stage). Lane `vars` differ per lane: grouping by lane excludes them.

use std::collections::BTreeMap;

/// Which labels of a grouped query's result name the lane and the stage of a cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupBy {
    pub lane: Option<String>,
    pub stage: Option<String>,
}

/// What one rendering of a grouped template covers: every lane (or the one given) at every
/// stage (or the one given).
#[derive(Clone, Copy, Debug)]
pub struct Group<'a> {
    /// Every lane of the train, for `{lane}` when `by.lane` is set.
    pub lanes: &'a [&'a str],
    /// The metric's stages, for `{stage}` when `by.stage` is set.
    pub stages: &'a [&'a str],
    /// The lane of this group when `by.lane` is not set.
    pub lane: Option<&'a str>,
    /// The stage of this group when `by.stage` is not set.
    pub stage: Option<&'a str>,
    /// The group's lane's `vars` (only without `by.lane`).
    pub vars: &'a BTreeMap<String, String>,
}

/// A name escaped for an RE2 regular expression (Prometheus' `=~`): every metacharacter
/// behind a backslash.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text escaped for a PromQL string quoted with `quote` (`"` or `'`).
pub fn promql_escape(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// One regex alternation over `names`, each matched literally: `a|b\.c`.
pub fn alternation(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| regex_escape(n))
        .collect::<Vec<_>>()
        .join("|")
}

/// Rewrite the matcher that ends `out` (`label="` or `label=~"`, spaces allowed around the
/// operator) into `label=~"`, returning the quote; `None` when `out` doesn't end so.
fn to_regex_matcher(out: &mut String) -> Option<char> {
    let quote = out.chars().last().filter(|q| *q == '"' || *q == '\'')?;
    let before = out[..out.len() - 1].trim_end();
    let op = if before.ends_with("=~") {
        2
    } else if before.ends_with('=') && !before.ends_with("!=") {
        1
    } else {
        return None;
    };
    let keep = before.len() - op;
    out.truncate(keep);
    out.push_str("=~");
    out.push(quote);
    Some(quote)
}

/// The template rendered for one group (see the module's words), or why it can't be grouped.
pub fn render_grouped(template: &str, by: &GroupBy, g: &Group<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let Some(name) = name else {
            out.push('{');
            rest = after;
            continue;
        };
        let tail = &after[name.len() + 1..];
        let grouped = match name {
            "lane" if by.lane.is_some() => Some((g.lanes, "lane")),
            "stage" if by.stage.is_some() => Some((g.stages, "stage")),
            _ => None,
        };
        if let Some((names, what)) = grouped {
            let closes = |q: char| tail.starts_with(q);
            match to_regex_matcher(&mut out) {
                Some(q) if closes(q) => out.push_str(&promql_escape(&alternation(names), q)),
                _ => {
                    return Err(format!(
                        "{{{what}}} can't be grouped here: with `by.{what}`, write it alone \
                         in a matcher's quotes (`label=\"{{{what}}}\"`), which becomes one \
                         regex matcher over every {what}"
                    ));
                }
            }
        } else {
            let value = match name {
                "lane" => g.lane,
                "stage" => g.stage,
                var if by.lane.is_some() => {
                    return Err(format!(
                        "{{{var}}} (a lane's var) can't be grouped by lane: it differs per lane; \
                         remove `by.lane` or the placeholder"
                    ));
                }
                var => g.vars.get(var).map(String::as_str),
            };
            match value {
                Some(v) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a label name is one Prometheus accepts: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by(lane: Option<&str>, stage: Option<&str>) -> GroupBy {
        GroupBy {
            lane: lane.map(Into::into),
            stage: stage.map(Into::into),
        }
    }

    const NO_VARS: &BTreeMap<String, String> = &BTreeMap::new();

    fn all<'a>(lanes: &'a [&'a str], stages: &'a [&'a str]) -> Group<'a> {
        Group {
            lanes,
            stages,
            lane: None,
            stage: None,
            vars: NO_VARS,
        }
    }

    #[test]
    fn placeholders_become_one_regex_matcher_over_every_lane_and_stage() {
        let q = r#"sum by (service, env) (rate(x{service="{lane}", env =~ "{stage}", code=~"5.."}[5m]))"#;
        let got = render_grouped(
            q,
            &by(Some("service"), Some("env")),
            &all(&["a", "b.c"], &["canary", "prod"]),
        )
        .unwrap();
        assert_eq!(
            got,
            r#"sum by (service, env) (rate(x{service=~"a|b\\.c", env =~"canary|prod", code=~"5.."}[5m]))"#
        );
        // Single quotes keep their own escaping.
        let got =
            render_grouped("x{s='{lane}'}", &by(Some("s"), None), &all(&["it's"], &[])).unwrap();
        assert_eq!(got, r"x{s=~'it\'s'}");
        // No placeholder at all: the query groups by itself.
        let q = "sum by (service, env) (up)";
        assert_eq!(
            render_grouped(q, &by(Some("service"), Some("env")), &all(&["a"], &["b"])).unwrap(),
            q
        );
    }

    #[test]
    fn hostile_lane_names_are_matched_literally_and_cannot_break_out() {
        let names = [
            r#"a"}or vector(1)#"#,
            r"b\",
            "c|d",
            "(e)*",
            "f\ng",
            "é.[x]^$",
        ];
        let got = render_grouped(
            r#"m{lane="{lane}"}"#,
            &by(Some("lane"), None),
            &all(&names, &[]),
        )
        .unwrap();
        assert_eq!(
            got,
            r#"m{lane=~"a\"\\}or vector\\(1\\)#|b\\\\|c\\|d|\\(e\\)\\*|f\ng|é\\.\\[x\\]\\^\\$"}"#
        );
        // Read back as PromQL reads the string, then as RE2 reads the regex: the names.
        assert_eq!(
            alternation(&names),
            r#"a"\}or vector\(1\)#|b\\|c\|d|\(e\)\*|f
g|é\.\[x\]\^\$"#
        );
    }

    #[test]
    fn ungrouped_placeholders_are_filled_in_for_the_group() {
        let vars: BTreeMap<String, String> = [("ns".to_string(), "shop".to_string())].into();
        let g = Group {
            lanes: &["a", "b"],
            stages: &["canary", "prod"],
            lane: Some("a"),
            stage: None,
            vars: &vars,
        };
        let got = render_grouped(
            r#"m{svc="{lane}",ns="{ns}",env="{stage}"}"#,
            &by(None, Some("env")),
            &g,
        )
        .unwrap();
        assert_eq!(got, r#"m{svc="a",ns="shop",env=~"canary|prod"}"#);
        let g = Group {
            lane: None,
            stage: Some("prod"),
            ..all(&["a", "b"], &[])
        };
        let got = render_grouped(
            r#"m{svc="{lane}",env="{stage}"}"#,
            &by(Some("svc"), None),
            &g,
        )
        .unwrap();
        assert_eq!(got, r#"m{svc=~"a|b",env="prod"}"#);
    }

    #[test]
    fn templates_that_cannot_be_grouped_say_why() {
        let g = all(&["a"], &["prod"]);
        let lane = by(Some("service"), None);
        for q in [
            r#"m{service!="{lane}"}"#,
            r#"m{service="x-{lane}"}"#,
            r#"m{service="{lane}-x"}"#,
            "label_replace(m, \"s\", \"{lane}\", \"\", \"\")",
            "m{service={lane}}",
        ] {
            let e = render_grouped(q, &lane, &g).expect_err(q);
            assert!(e.starts_with("{lane} can't be grouped here"), "{q}: {e}");
        }
        let e = render_grouped(r#"m{ns="{ns}"}"#, &lane, &g).unwrap_err();
        assert!(e.contains("differs per lane"), "{e}");
        let e = render_grouped(r#"m{env!="{stage}"}"#, &by(None, Some("env")), &g).unwrap_err();
        assert!(e.starts_with("{stage} can't be grouped here"), "{e}");
        // PromQL's own braces and non-placeholders pass untouched.
        let q = r#"m{a="{ x }",b=~"x{2,3}"}"#;
        assert_eq!(render_grouped(q, &lane, &g).unwrap(), q);
    }

    #[test]
    fn label_names() {
        assert!(is_label_name("service") && is_label_name("_a1"));
        assert!(!is_label_name("") && !is_label_name("1a") && !is_label_name("a-b"));
    }
}
