//! Errors with places: byte spans to `line:col`, and "did you mean" hints.

use std::fmt;
use std::ops::Range;

/// One problem in a config file, at a place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, counted in characters.
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a config file, in the order they appear in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`. An offset past the
/// end is the end; an offset inside a character is that character.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Collects errors against one file's text.
pub(crate) struct Diagnostics<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Diagnostics {
            file,
            text,
            errors: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_hint(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(hint.into()));
    }

    fn push(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            col,
            message,
            hint,
        });
    }

    /// A problem found elsewhere (the file's shape), sorted in with the rest.
    pub fn add(&mut self, e: ConfigError) {
        self.errors.push(e);
    }

    /// Keep only the problems `keep` says are news.
    pub fn retain(&mut self, keep: impl FnMut(&ConfigError) -> bool) {
        self.errors.retain(keep);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors so far.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The errors sorted by place (stable: errors at one place keep the order they were found).
    pub fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|e| (e.line, e.col));
        ConfigErrors(self.errors)
    }
}

/// Optimal string alignment distance: Levenshtein plus swaps of two neighbours, the commonest
/// typo ("prdo" for "prod" is 1).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo: within a third
/// of the word's length (at least 1, at most 3). Case is ignored. Ties go to the first.
pub fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word = word.to_lowercase();
    let len = word.chars().count();
    let limit = (len / 3).clamp(1, 3);
    candidates
        .iter()
        // Lengths further apart than the limit cannot be close: this also keeps a huge
        // input from costing a huge distance table.
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(&word, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "`what` are a, b, c (did you mean "b"?)", or "there are no `what`" for an empty list.
pub fn list_hint(what: &str, word: &str, candidates: &[&str]) -> String {
    if candidates.is_empty() {
        return format!("there are no {what}");
    }
    let mut hint = format!("{what} are {}", candidates.join(", "));
    if let Some(m) = did_you_mean(word, candidates) {
        hint.push_str(&format!(" (did you mean {m:?}?)"));
    }
    hint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "ab\nçé = 1\n\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 2), (1, 3)); // the newline itself
        assert_eq!(line_col(text, 3), (2, 1));
        // "çé" is 4 bytes and 2 characters: " = 1" starts at column 3.
        assert_eq!(line_col(text, 7), (2, 3));
        assert_eq!(line_col(text, 12), (3, 1));
        assert_eq!(line_col(text, 13), (4, 1));
    }

    #[test]
    fn line_col_never_panics() {
        let text = "é\n";
        assert_eq!(line_col(text, 1), (1, 1)); // inside "é"
        assert_eq!(line_col(text, 99), (2, 1));
        assert_eq!(line_col("", 5), (1, 1));
        assert_eq!(line_col("a\r\nb", 3), (2, 1));
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("prod", "prod"), 0);
        assert_eq!(edit_distance("prdo", "prod"), 1);
        assert_eq!(edit_distance("simm", "sim"), 1);
        assert_eq!(edit_distance("stagign", "staging"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_only_for_likely_typos() {
        let stages = ["build", "staging", "canary", "prod"];
        assert_eq!(did_you_mean("prdo", &stages), Some("prod"));
        assert_eq!(did_you_mean("Staging", &stages), Some("staging"));
        assert_eq!(did_you_mean("canry", &stages), Some("canary"));
        assert_eq!(did_you_mean("qa", &stages), None);
        assert_eq!(did_you_mean("production", &stages), None);
        assert_eq!(did_you_mean("x", &[]), None);
        assert_eq!(did_you_mean(&"p".repeat(100_000), &stages), None);
    }

    #[test]
    fn hints_list_and_suggest() {
        assert_eq!(
            list_hint("stages", "prdo", &["build", "prod"]),
            "stages are build, prod (did you mean \"prod\"?)"
        );
        assert_eq!(list_hint("sources", "zzz", &["sim"]), "sources are sim");
        assert_eq!(list_hint("sources", "zzz", &[]), "there are no sources");
    }

    #[test]
    fn display_has_place_and_hint() {
        let e = ConfigError {
            file: "config.toml".into(),
            line: 12,
            col: 9,
            message: "unknown stage \"prdo\" in lanes[1].stages".into(),
            hint: Some("stages are build, prod (did you mean \"prod\"?)".into()),
        };
        let errs = ConfigErrors(vec![e.clone(), ConfigError { hint: None, ..e }]);
        assert_eq!(
            errs.to_string(),
            "config.toml:12:9: unknown stage \"prdo\" in lanes[1].stages\n  \
             hint: stages are build, prod (did you mean \"prod\"?)\n\
             config.toml:12:9: unknown stage \"prdo\" in lanes[1].stages"
        );
    }
}
