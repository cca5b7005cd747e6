//! Jump to a lane by name (`:`): the prompt's state and its matching. Typed text matches every
//! lane of the train, best first: the name itself, then names that start with it, then a part
//! of the name (after `-`, `_`, `.` or `/`) that starts with it, then names that contain it,
//! then names with its characters in order (`pmapi` finds `payments-api`); shorter names first
//! within each, then the train's order. Any case.

use super::rows::Picked;

/// How well `name` matches `query` (both lower case): lower is better; `None` if not at all.
pub fn score(name: &str, query: &str) -> Option<u8> {
    if query.is_empty() {
        return None;
    }
    if name == query {
        return Some(0);
    }
    if name.starts_with(query) {
        return Some(1);
    }
    let part = name
        .match_indices(['-', '_', '.', '/'])
        .any(|(i, sep)| name[i + sep.len()..].starts_with(query));
    if part {
        return Some(2);
    }
    if name.contains(query) {
        return Some(3);
    }
    let mut rest = name.chars();
    query.chars().all(|q| rest.any(|c| c == q)).then_some(4)
}

/// The indexes of the names that match `query`, best first.
pub fn matches<'a>(query: &str, names: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let q = query.to_lowercase();
    let mut found: Vec<(u8, usize, usize)> = names
        .enumerate()
        .filter_map(|(i, n)| {
            let n = n.to_lowercase();
            score(&n, &q).map(|s| (s, crate::model::text::width(&n), i))
        })
        .collect();
    found.sort_unstable();
    found.into_iter().map(|(_, _, i)| i).collect()
}

/// The prompt while it is open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    pub query: String,
    /// The lanes that match, best first, by index in the train.
    pub matches: Vec<usize>,
    /// Which match is on offer.
    pub at: usize,
    /// What was selected when the prompt opened: Esc goes back to it.
    pub from: Option<Picked>,
    /// Where the selection was, by row.
    pub from_row: usize,
}

impl Prompt {
    /// The lane on offer.
    pub fn current(&self) -> Option<usize> {
        self.matches.get(self.at).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 6] = [
        "ledger",
        "payments-api",
        "payments",
        "checkout-web",
        "api-gateway",
        "search-api-indexer",
    ];

    fn found(q: &str) -> Vec<&'static str> {
        matches(q, NAMES.iter().copied())
            .into_iter()
            .map(|i| NAMES[i])
            .collect()
    }

    #[test]
    fn the_name_first_then_prefixes_parts_substrings_and_letters_in_order() {
        assert_eq!(found("payments"), ["payments", "payments-api"]);
        // Letters in order come last.
        assert_eq!(found("pay"), ["payments", "payments-api", "api-gateway"]);
        // A part of the name that starts with it, before a name that merely contains it.
        assert_eq!(
            found("api"),
            ["api-gateway", "payments-api", "search-api-indexer"]
        );
        assert_eq!(found("dger"), ["ledger"]);
        assert_eq!(found("pmapi"), ["payments-api"]);
        assert_eq!(found("chw"), ["checkout-web"]);
    }

    #[test]
    fn any_case_and_nothing_for_nothing() {
        assert_eq!(found("LEDGER"), ["ledger"]);
        assert!(found("").is_empty());
        assert!(found("zzz").is_empty());
        // The letters in order, not just present.
        assert!(found("regdel").is_empty());
    }

    #[test]
    fn names_of_any_script() {
        let names = ["支払い-api", "🚀-launcher"];
        assert_eq!(matches("支払", names.iter().copied()), [0]);
        assert_eq!(matches("launch", names.iter().copied()), [1]);
    }
}
