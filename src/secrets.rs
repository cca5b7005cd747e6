//! Secrets: the tokens and passwords trainyard holds, and the one function, [`redact`], that
//! every message which may carry a URL, a server's words or a secret passes through before it
//! is shown, logged, audited or printed.
//!
//! Two nets, both in [`redact`]:
//! - **known secrets**: every token and password trainyard resolved (they are registered by
//!   [`Secret::new`], which `sources::resolve_token` uses) is replaced wherever it occurs,
//!   whatever the context: a server that echoes the `Authorization` header back in an error
//!   body, a redirect URL that carries it, a panic message;
//! - **shapes of secrets**: credentials in URLs (`https://user:pass@host` → `https://***@host`),
//!   values of token-like keys in queries and JSON (`?access_token=…`, `"password": "…"`),
//!   `Authorization:` header values, `Bearer …` and well-known token formats (`ghp_…`,
//!   `github_pat_…`, `glpat-…`, `xox?-…`), even when trainyard never saw that secret.
//!
//! A [`Secret`] never prints its value through `Debug` or `Display`: only [`Secret::expose`]
//! hands it out, to put it in a request header.
//!
//! This module is a leaf: it knows nothing of trainyard, so every layer may use it.

pub mod clean;

use std::borrow::Cow;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are not scrubbed from free text (every "a" would go); they are
/// still never printed by trainyard itself.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// The secrets this process holds, longest first (so that a secret containing another is
/// replaced whole).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Counts the secrets registered: a text found clean ([`clean::KnownClean`]) is clean while
/// this stays the same.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many times a secret was registered, so far.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// A token or password. `Debug` and `Display` show `***`; [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value and register it, so that [`redact`] scrubs it from every message.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The value, for a request header. Never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// Remember a secret for [`redact`]: the value itself, its URL-encoded form, and the basic
/// auth header value of a `user:password` pair is registered by [`register_basic`].
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SCRUBBED_LEN {
        return;
    }
    let mut forms = vec![value.to_string()];
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    if encoded != value {
        forms.push(encoded);
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    let before = known.len();
    for f in forms {
        if !known.contains(&f) {
            known.push(f);
        }
    }
    if known.len() == before {
        return;
    }
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
    // Inside the lock: a pass that reads the new generation finds the new secret.
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Remember basic auth credentials: the password, and the base64 of `user:password` that goes
/// in the header (a server that echoes the header echoes that).
pub fn register_basic(user: &str, password: &str) {
    register(password);
    register(&base64(format!("{user}:{password}").as_bytes()));
}

/// `text` with every known secret and every shape of secret replaced by `***`.
pub fn redact(text: &str) -> String {
    redact_cow(text).into_owned()
}

/// [`redact`], borrowing `text` when there is nothing to redact in it (most texts).
pub fn redact_cow(text: &str) -> Cow<'_, str> {
    match scrub_known(text) {
        Cow::Borrowed(t) => redact_shapes(t),
        Cow::Owned(t) => Cow::Owned(redact_shapes(&t).into_owned()),
    }
}

/// Only the known secrets replaced; and a text cut short with `…` (as `sanitize` cuts) that
/// ends in the first characters of a known secret loses them too.
fn scrub_known(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    let cut = text.ends_with('…');
    if !cut && !known.iter().any(|k| text.contains(k.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for k in known.iter() {
        if out.contains(k.as_str()) {
            out = out.replace(k.as_str(), MASK);
        }
    }
    if let Some(body) = out.strip_suffix('…') {
        let tail = known.iter().find_map(|k| {
            k.char_indices()
                .map(|(i, _)| i)
                .filter(|&i| k[..i].chars().count() >= MIN_SCRUBBED_LEN)
                .rev()
                .find(|&i| body.ends_with(&k[..i]))
        });
        if let Some(len) = tail {
            out = format!("{}{MASK}…", &body[..body.len() - len]);
        }
    }
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// Keys whose values are secrets (in a query, a form, a JSON object), compared without case.
const SECRET_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "private_token",
    "key",
    "api_key",
    "apikey",
    "api-key",
    "password",
    "passwd",
    "pwd",
    "pass",
    "secret",
    "client_secret",
    "sig",
    "signature",
    "auth",
    "code",
    "session",
    "sessionid",
    "session_id",
    "jwt",
    "bearer",
    "credential",
    "credentials",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

/// Key endings that make a key secret too (`github_token`, `db_password`, `aws_secret`).
const SECRET_SUFFIXES: &[&str] = &["token", "secret", "password", "signature", "_key", "-key"];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str()) || SECRET_SUFFIXES.iter().any(|s| k.ends_with(s))
}

/// Prefixes of token formats that are secret wherever they appear.
const TOKEN_PREFIXES: &[&str] = &[
    "github_pat_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
];

/// Starts like a well-known token (GitHub, GitLab, Slack): a value pasted where a *name* of a
/// variable or command belongs.
pub fn looks_like_token(s: &str) -> bool {
    TOKEN_PREFIXES.iter().any(|p| s.starts_with(p))
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Where a value in text ends: at whitespace, a quote, a separator or a bracket.
fn value_end(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| {
            c.is_whitespace() || matches!(c, '&' | '"' | '\'' | '<' | '>' | ')' | ',' | ';' | '#')
        })
        .map_or(text.len(), |i| from + i)
}

/// The shapes of secrets, without the registry: pure. Each shape is looked for only where the
/// text has what it starts with (most texts are names, versions and plain URLs: they are
/// borrowed back without a copy).
pub fn redact_shapes(text: &str) -> Cow<'_, str> {
    fn pass(t: &mut Cow<'_, str>, shape: fn(&str) -> String) {
        let out = shape(t);
        if out != **t {
            *t = Cow::Owned(out);
        }
    }
    // What the text mentions, in one walk over it (a pass only masks: it adds none of these).
    let said = Mentions::of(text);
    let mut t = Cow::Borrowed(text);
    if t.contains("://") && t.contains('@') {
        pass(&mut t, url_userinfo);
    }
    if said.authorization {
        pass(&mut t, header_values);
    }
    if t.contains('=') || t.contains("\":") {
        pass(&mut t, key_values);
    }
    if said.bearer {
        pass(&mut t, bearer);
    }
    if said.token {
        pass(&mut t, token_formats);
    }
    t
}

/// The words a secret's shape starts with that a text mentions, in any case.
#[derive(Debug, Default, PartialEq)]
struct Mentions {
    authorization: bool,
    bearer: bool,
    /// One of [`TOKEN_PREFIXES`].
    token: bool,
}

impl Mentions {
    fn of(text: &str) -> Mentions {
        let b = text.as_bytes();
        let mut m = Mentions::default();
        for i in 0..b.len() {
            let at = &b[i..];
            match b[i].to_ascii_lowercase() {
                b'a' => m.authorization |= starts_ignoring_case(at, "authorization"),
                b'b' => m.bearer |= starts_ignoring_case(at, "bearer"),
                b'g' | b'x' => {
                    m.token |= TOKEN_PREFIXES.iter().any(|p| starts_ignoring_case(at, p));
                }
                _ => {}
            }
        }
        m
    }
}

/// `hay` starts with `needle` (lower case ASCII), in any case.
fn starts_ignoring_case(hay: &[u8], needle: &str) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// `scheme://user:pass@host` → `scheme://***@host`.
fn url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | ')')
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `Authorization: Bearer x` (or `Proxy-Authorization`, `=` instead of `:`) → `Authorization: ***`,
/// up to the end of the value (line, quote, comma, brace).
fn header_values(text: &str) -> String {
    mask_after_word(text, "authorization", |_, name_end| {
        let after = &text[name_end..];
        let sep = after.trim_start_matches([' ', '"', '\'']);
        if !(sep.starts_with(':') || sep.starts_with('=')) {
            return None;
        }
        let value_start = name_end + (after.len() - sep.len()) + 1;
        let ws = text[value_start..].len()
            - text[value_start..]
                .trim_start_matches([' ', '"', '\''])
                .len();
        let v = value_start + ws;
        let end = text[v..]
            .find(['\n', '\r', '"', '\'', ',', '}', ';'])
            .map_or(text.len(), |e| v + e);
        Some((v, end))
    })
}

/// `text` with what follows each `word` (any case) masked: `value` gets where the word starts
/// and ends and says where its secret starts and ends (nothing is masked when that is empty),
/// or `None` to keep the word as it is and look further.
fn mask_after_word(
    text: &str,
    word: &str,
    value: impl Fn(usize, usize) -> Option<(usize, usize)>,
) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(word) {
        let word_end = pos + i + word.len();
        match value(pos + i, word_end) {
            Some((v, end)) => {
                out.push_str(&text[pos..v]);
                if end > v {
                    out.push_str(MASK);
                }
                pos = end;
            }
            None => {
                out.push_str(&text[pos..word_end]);
                pos = word_end;
            }
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// `key=value` and `"key": "value"` with a secret key → the value masked.
fn key_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = bytes[i];
        let is_eq = c == b'=';
        let is_json = c == b':' && i > 0 && bytes[i - 1] == b'"';
        if !(is_eq || is_json) {
            i += 1;
            continue;
        }
        // The key just before.
        let key_end = if is_json { i - 1 } else { i };
        let key_start = text[..key_end]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_key_char(*c))
            .last()
            .map_or(key_end, |(j, _)| j);
        let key = &text[key_start..key_end];
        let boundary_ok = key_start == 0
            || text[..key_start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || "?&;\"'(,{[".contains(c));
        if key.is_empty() || !boundary_ok || !is_secret_key(key) {
            i += 1;
            continue;
        }
        // The value just after.
        let mut v = i + 1;
        let mut end = None;
        if is_json {
            v += text[v..].len() - text[v..].trim_start().len();
            if text[v..].starts_with('"') {
                v += 1;
                end = Some(find_json_string_end(text, v));
            }
        }
        let end = end.unwrap_or_else(|| value_end(text, v));
        out.push_str(&text[pos..v]);
        if end > v {
            out.push_str(MASK);
        }
        pos = end;
        i = end.max(i + 1);
    }
    out.push_str(&text[pos..]);
    out
}

/// The index of the closing quote of a JSON string whose content starts at `from`.
fn find_json_string_end(text: &str, from: usize) -> usize {
    let mut escaped = false;
    for (j, c) in text[from..].char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return from + j,
            _ => escaped = false,
        }
    }
    text.len()
}

/// `Bearer <8 or more token characters>` anywhere → `Bearer ***`.
fn bearer(text: &str) -> String {
    mask_after_word(text, "bearer", |start, word_end| {
        let rest = &text[word_end..];
        let spaced = rest.trim_start_matches([' ', '\t']);
        let v = word_end + (rest.len() - spaced.len());
        let len = spaced
            .find(|c: char| !is_token_char(c))
            .unwrap_or(spaced.len());
        let before_ok = start == 0
            || !text[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        (before_ok && v > word_end && len >= 8 && spaced[..len] != *MASK).then_some((v, v + len))
    })
}

/// Well-known token formats (`ghp_…`) → `***`.
fn token_formats(text: &str) -> String {
    let mut out = text.to_string();
    for p in TOKEN_PREFIXES {
        let mut result = String::with_capacity(out.len());
        let mut pos = 0;
        let lower = out.to_ascii_lowercase();
        while let Some(i) = lower[pos..].find(p) {
            let start = pos + i;
            let body = &out[start + p.len()..];
            let len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(body.len());
            let before_ok = start == 0
                || !out[..start]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            result.push_str(&out[pos..start]);
            if before_ok && len >= 8 {
                result.push_str(MASK);
            } else {
                result.push_str(&out[start..start + p.len() + len]);
            }
            pos = start + p.len() + len;
        }
        result.push_str(&out[pos..]);
        out = result;
    }
    out
}

/// Standard base64 with padding (the basic auth header value; the simulator's node ids).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Why a secret file is refused: a message that names the file (never its content) and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.hint)
    }
}

/// A secret file larger than this is not a token.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Check a `token_file` / `password_file` (`key` names it in messages): a regular file (a
/// symlink to one is fine) that neither its group nor others may read, write or run.
pub fn check_secret_file(key: &str, path: &std::path::Path) -> Result<(), FileError> {
    let meta = std::fs::metadata(path).map_err(|e| FileError {
        message: format!("{key} {}: cannot read: {e}", path.display()),
        hint: format!(
            "create it with only the secret in it, then `chmod 600 {}`",
            path.display()
        ),
    })?;
    check_meta(key, path, &meta)
}

fn check_meta(
    key: &str,
    path: &std::path::Path,
    meta: &std::fs::Metadata,
) -> Result<(), FileError> {
    let shown = path.display();
    if !meta.is_file() {
        return Err(FileError {
            message: format!("{key} {shown} is not a regular file"),
            hint: format!("point {key} at a file that holds only the secret"),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            let who = match (mode & 0o070 != 0, mode & 0o007 != 0) {
                (true, true) => "group and others",
                (true, false) => "its group",
                _ => "others",
            };
            return Err(FileError {
                message: format!(
                    "{key} {shown} is open to {who} (mode {mode:04o}): on a shared host they \
                     could read the secret"
                ),
                hint: format!("chmod 600 {shown}"),
            });
        }
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(FileError {
            message: format!("{key} {shown} is larger than 64 KiB: it does not hold a secret only"),
            hint: format!("point {key} at a file that holds only the secret"),
        });
    }
    Ok(())
}

/// Read a `token_file` / `password_file`: checked as [`check_secret_file`] says (on the opened
/// file, so that it can't be swapped in between), trimmed of surrounding whitespace and the
/// trailing newline, registered. Errors name the file, never its content.
pub fn read_secret_file(key: &str, path: &std::path::Path) -> Result<Secret, String> {
    use std::io::Read;
    // Not opened when it isn't a regular file: opening a FIFO would block.
    check_secret_file(key, path).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("{key} {}: cannot read: {e}", path.display()))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("{key} {}: cannot read: {e}", path.display()))?;
    check_meta(key, path, &meta).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{key} {}: cannot read: {e}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{key} {} is not UTF-8 text", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{key} {} is empty", path.display()));
    }
    if value.contains('\n') {
        return Err(format!(
            "{key} {} has more than one line: it should hold only the secret",
            path.display()
        ));
    }
    Ok(Secret::new(value))
}

/// A writer that redacts what goes through it: the log file's. Every `write` is one whole
/// log event (tracing's fmt layer formats an event, then writes it once).
pub struct RedactingWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_texts_are_borrowed_and_shapes_found_in_any_case() {
        for plain in [
            "http://127.0.0.1:8080/ledger/runs/42",
            "rolling out 2/8 pods",
            "d6b799ef391ce566e34100836086b2a2e75f7123",
            "ci: 3 checks passed",
        ] {
            assert!(matches!(redact_shapes(plain), Cow::Borrowed(_)), "{plain}");
        }
        assert_eq!(
            redact_shapes("AUTHORIZATION: BEARER abcdefgh12345"),
            "AUTHORIZATION: ***"
        );
        assert_eq!(redact_shapes("see GHP_abcdef123456 here"), "see *** here");
        assert_eq!(
            redact_shapes("https://u:p@host/x?Token=abc"),
            "https://***@host/x?Token=***"
        );
        assert!(!Mentions::of("bea").bearer);
        assert!(Mentions::of("xBeArEr").bearer);
        assert_eq!(
            Mentions::of("Authorization: xoxB-1 BEARER"),
            Mentions {
                authorization: true,
                bearer: true,
                token: true
            }
        );
        assert_eq!(
            Mentions::of("glpat"),
            Mentions::default(),
            "a prefix cut short"
        );
        assert!(
            Mentions::of("…GLPAT-x").token,
            "after a multi-byte character"
        );
        // Mentions looks for a token where a `g` or an `x` is.
        for p in TOKEN_PREFIXES {
            assert!(
                Mentions::of(&format!("a {} b", p.to_uppercase())).token,
                "{p}"
            );
            assert!(matches!(p.as_bytes()[0], b'g' | b'x'), "{p}");
        }
    }

    #[test]
    fn credentials_in_urls() {
        assert_eq!(
            redact_shapes("GET https://alice:hunter2@deploy.example/v1 failed"),
            "GET https://***@deploy.example/v1 failed"
        );
        assert_eq!(
            redact_shapes("proxy http://tok@proxy:3128"),
            "proxy http://***@proxy:3128"
        );
        // An @ in the path is not userinfo.
        assert_eq!(
            redact_shapes("https://host/users/@me ok"),
            "https://host/users/@me ok"
        );
    }

    #[test]
    fn token_like_query_and_json_values() {
        assert_eq!(
            redact_shapes("http://h/x?page=2&access_token=abc123&per_page=5"),
            "http://h/x?page=2&access_token=***&per_page=5"
        );
        assert_eq!(
            redact_shapes("https://h/cb?code=xyz#frag"),
            "https://h/cb?code=***#frag"
        );
        assert_eq!(
            redact_shapes("https://s3/o?X-Amz-Signature=deadbeef&X-Amz-Expires=60"),
            "https://s3/o?X-Amz-Signature=***&X-Amz-Expires=60"
        );
        assert_eq!(
            redact_shapes(r#"{"message":"bad","github_token": "s3cr3t\"x", "n":1}"#),
            r#"{"message":"bad","github_token": "***", "n":1}"#
        );
        assert_eq!(redact_shapes("password=p4ss"), "password=***");
        // Not a secret key, or not a key at all: left alone.
        assert_eq!(redact_shapes("?page=2&sort=asc"), "?page=2&sort=asc");
        assert_eq!(redact_shapes("monkey=banana"), "monkey=banana");
        assert_eq!(redact_shapes("a==b"), "a==b");
    }

    #[test]
    fn authorization_and_bearer() {
        assert_eq!(
            redact_shapes("Authorization: Bearer abcdefghijkl\nnext"),
            "Authorization: ***\nnext"
        );
        assert_eq!(
            redact_shapes(r#"{"authorization":"token abc"}"#),
            r#"{"authorization":"***"}"#
        );
        assert_eq!(
            redact_shapes("you sent bearer abcdefgh12345 which is wrong"),
            "you sent bearer *** which is wrong"
        );
        // Prose survives.
        assert_eq!(
            redact_shapes("the bearer token was refused"),
            "the bearer token was refused"
        );
        assert_eq!(
            redact_shapes("no authorization given"),
            "no authorization given"
        );
    }

    #[test]
    fn well_known_token_formats() {
        assert_eq!(
            redact_shapes("token ghp_0123456789abcdefABCDEF0123456789abcd is revoked"),
            "token *** is revoked"
        );
        assert_eq!(
            redact_shapes("glpat-abcdefghij12345 and github_pat_11AAAAAAA0_abc"),
            "*** and ***"
        );
        assert_eq!(redact_shapes("ghp_short"), "ghp_short");
    }

    #[test]
    fn known_secrets_anywhere() {
        let s = Secret::new("kn0wn-s3cret-value-for-tests");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "kn0wn-s3cret-value-for-tests");
        assert_eq!(redact("echo: kn0wn-s3cret-value-for-tests!"), "echo: ***!");
        // URL-encoded too.
        Secret::new("a/b+c=d s3cret");
        assert_eq!(redact("q=a%2Fb%2Bc%3Dd+s3cret."), "q=***.");
        // Cut short by `sanitize` in the middle of a known secret: the start goes too.
        assert_eq!(redact("you sent kn0wn-s3cr…"), "you sent ***…");
        assert_eq!(redact("nothing cut…"), "nothing cut…");
        // Too short to scrub from free text.
        Secret::new("ab");
        assert_eq!(redact("abc"), "abc");
    }

    #[test]
    fn basic_auth_header_values_are_known() {
        register_basic("grafana", "pr0m-p4ssw0rd");
        // base64("grafana:pr0m-p4ssw0rd")
        assert_eq!(
            base64(b"grafana:pr0m-p4ssw0rd"),
            "Z3JhZmFuYTpwcjBtLXA0c3N3MHJk"
        );
        assert_eq!(redact("got Z3JhZmFuYTpwcjBtLXA0c3N3MHJk"), "got ***");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_private_regular_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.token");
        std::fs::write(&path, "f1le-t0ken-value\n").unwrap();
        let set = |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
        set(0o644).unwrap();
        let e = check_secret_file("token_file", &path).unwrap_err();
        assert!(
            e.message
                .contains("is open to group and others (mode 0644)"),
            "{e}"
        );
        assert_eq!(e.hint, format!("chmod 600 {}", path.display()));
        assert!(read_secret_file("token_file", &path).is_err());
        set(0o640).unwrap();
        assert!(
            check_secret_file("token_file", &path)
                .unwrap_err()
                .message
                .contains("its group")
        );
        set(0o600).unwrap();
        let s = read_secret_file("token_file", &path).unwrap();
        assert_eq!(s.expose(), "f1le-t0ken-value", "trailing newline trimmed");
        assert_eq!(redact("x f1le-t0ken-value y"), "x *** y", "registered");
        set(0o400).unwrap();
        assert!(read_secret_file("token_file", &path).is_ok());

        let e = check_secret_file("token_file", dir.path()).unwrap_err();
        assert!(e.message.contains("is not a regular file"), "{e}");
        let e = read_secret_file("password_file", &dir.path().join("missing")).unwrap_err();
        assert!(
            e.starts_with("password_file ") && e.contains("cannot read"),
            "{e}"
        );

        std::fs::write(&path, "\n").unwrap();
        assert!(
            read_secret_file("token_file", &path)
                .unwrap_err()
                .contains("is empty")
        );
        std::fs::write(&path, "a-secret\nsecond line\n").unwrap();
        let e = read_secret_file("token_file", &path).unwrap_err();
        assert!(
            e.contains("more than one line") && !e.contains("a-secret"),
            "{e}"
        );
    }

    #[test]
    fn the_writer_redacts_each_write() {
        Secret::new("wr1ter-s3cret-value");
        let mut w = RedactingWriter(Vec::new());
        std::io::Write::write_all(&mut w, b"line wr1ter-s3cret-value\n").unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), "line ***\n");
    }
}
