//! The audit log: append-only JSON Lines with a SHA-256 hash chain, written under an
//! exclusive file lock and fsynced before an action is reported done.
//!
//! Each line is one [`Record`]. Its `hash` is the SHA-256 of the line's JSON with `hash` set to
//! the empty string; its `prev_hash` is the previous line's `hash` (64 zeros for the first).
//! Editing, removing or reordering a line breaks the chain at that line.
//!
//! Reading: [`AuditLog::read`] and [`AuditLog::read_checked`] read the whole log;
//! [`AuditLog::read_from`] reads only what was appended since a [`Cursor`] (the screen reads
//! the log every few seconds). None of them drops a line that is not a record silently: each
//! is reported as [`Skipped`], and one that names a halt, unhalt, pause or resume says that the
//! holds and the halt replayed without it may be wrong.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Results of a record: `attempt` before an action is sent; one outcome after.
pub mod result {
    pub const ATTEMPT: &str = "attempt";
    /// The source did it and trainyard saw the cell reach the expected state.
    pub const DONE: &str = "done";
    /// The source said no.
    pub const REJECTED: &str = "rejected";
    /// The source could not be reached, or something else went wrong.
    pub const FAILED: &str = "failed";
    /// The source accepted, but the cell did not get there in time.
    pub const TIMEOUT: &str = "timeout";
    /// A dry run: what would have been sent.
    pub const DRY_RUN: &str = "dry_run";
    /// trainyard did not send it after all: the cell had changed since the plan.
    pub const REFUSED: &str = "refused";
    /// Sent to the source, then trainyard was stopped (signal, lost session) before it could
    /// verify: whether it happened is for the user to check at the source.
    pub const UNKNOWN: &str = "unknown";
    /// trainyard repaired its own log (a torn last line).
    pub const REPAIRED: &str = "repaired";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub ts: String,
    /// Links an attempt to its outcome.
    pub id: String,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub lane: Option<String>,
    pub stage: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub forced: bool,
    pub dry_run: bool,
    pub result: String,
    pub error: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// What the caller says; the log adds `seq`, `ts`, `prev_hash` and `hash`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub id: String,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub lane: Option<String>,
    pub stage: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub forced: bool,
    pub dry_run: bool,
    pub result: String,
    pub error: Option<String>,
}

impl Entry {
    /// The entry with every free text field passed through [`crate::secrets::redact`].
    pub fn redacted(mut self) -> Entry {
        let scrub = |v: &mut Option<String>| {
            if let Some(s) = v {
                *s = crate::secrets::redact(s);
            }
        };
        scrub(&mut self.reason);
        scrub(&mut self.error);
        scrub(&mut self.from);
        scrub(&mut self.to);
        self
    }
}

impl Record {
    /// The hash this record must carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let json = serde_json::to_vec(&unhashed).unwrap_or_default();
        hex(&Sha256::digest(&json))
    }

    pub fn time(&self) -> Option<crate::model::Timestamp> {
        chrono::DateTime::parse_from_rfc3339(&self.ts)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why an append did not happen.
#[derive(Debug)]
pub enum AppendError {
    /// The check said no (an action already in flight on the cell, say).
    Refused(String),
    Io(std::io::Error),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Refused(m) => f.write_str(m),
            AppendError::Io(e) => write!(f, "audit log: {e}"),
        }
    }
}

impl From<std::io::Error> for AppendError {
    fn from(e: std::io::Error) -> Self {
        AppendError::Io(e)
    }
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq)]
pub struct Verification {
    /// Complete records read.
    pub records: usize,
    /// The first line (1-based) that breaks the chain, and why.
    pub first_bad: Option<(usize, String)>,
    /// A last line without its newline: a write that was cut off (process killed).
    pub torn: Option<usize>,
    /// The hash of the last good record: note it somewhere else, and a later `verify` that
    /// still shows it proves nothing before it was removed or rewritten.
    pub head: Option<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
}

/// The default place: `audit.jsonl` in the `directories` data dir.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "trainyard").map(|d| d.data_dir().join("audit.jsonl"))
}

/// Split a log's bytes into complete lines and a torn tail (bytes after the last newline).
///
/// A tail that is a whole record (only its newline missing) is a line, not torn: deleting it
/// on the next append would silently drop a record someone edited.
fn split(content: &[u8]) -> (Vec<&[u8]>, Option<&[u8]>) {
    let (complete, tail) = match content.iter().rposition(|b| *b == b'\n') {
        Some(i) => (&content[..=i], &content[i + 1..]),
        None => (&content[..0], content),
    };
    let mut lines: Vec<&[u8]> = complete
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if tail.is_empty() {
        return (lines, None);
    }
    if serde_json::from_slice::<Record>(tail).is_ok() {
        lines.push(tail);
        return (lines, None);
    }
    (lines, Some(tail))
}

/// A line of the log that is not an audit record: left out of what is read, and said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based, as `verify` and editors count (blank lines included).
    pub line: usize,
    /// Why it is not a record, in the parser's words (sanitized, short).
    pub why: String,
    /// The line names a halt, unhalt, pause or resume: holds and the halt replayed without
    /// it may be wrong (a mangled halt would otherwise silently mean "not halted").
    pub halt_or_hold: bool,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} is not an audit record ({})",
            self.line, self.why
        )?;
        if self.halt_or_hold {
            f.write_str(": it names a halt, pause or resume, so the halt and holds may be wrong")?;
        }
        Ok(())
    }
}

/// The actions whose records the holds and the halt are replayed from.
pub const HOLD_ACTIONS: [crate::model::ActionKind; 4] = [
    crate::model::ActionKind::Halt,
    crate::model::ActionKind::Unhalt,
    crate::model::ActionKind::Pause,
    crate::model::ActionKind::Resume,
];

/// Whether a line that is no record was one of a halt, unhalt, pause or resume: its `action`
/// when it is still a JSON object that has one, else whether it mentions one of them at all
/// (a false alarm costs a warning; a missed one, a wrong halt).
fn names_a_hold(raw: &[u8]) -> bool {
    let action = serde_json::from_slice::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("action")?.as_str().map(str::to_string));
    if let Some(a) = action {
        return HOLD_ACTIONS.iter().any(|k| k.as_str() == a);
    }
    let text = String::from_utf8_lossy(raw).to_ascii_lowercase();
    HOLD_ACTIONS.iter().any(|k| text.contains(k.as_str()))
}

/// One line (`no`, 1-based) as a record, or why it is none.
fn parse_line(raw: &[u8], no: usize) -> Result<Record, Skipped> {
    serde_json::from_slice(raw).map_err(|e: serde_json::Error| {
        // The parser counts lines within this one: only its column means something here.
        let text = e.to_string();
        let what = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(w, _)| w);
        Skipped {
            line: no,
            // The parser may quote the line (an unknown field, a wrong value): shown clean.
            why: crate::model::text::sanitize(&format!("{what}, column {}", e.column()), 200),
            halt_or_hold: names_a_hold(raw),
        }
    })
}

/// The newline-terminated lines of some bytes, parsed.
#[derive(Default)]
struct Scan {
    records: Vec<Record>,
    skipped: Vec<Skipped>,
    /// Lines read (blank ones too).
    lines: usize,
    /// Bytes read: up to and including the last newline.
    consumed: usize,
    /// Where the last line read starts, and its bytes' SHA-256 (with the newline).
    last: Option<(usize, [u8; 32])>,
}

/// Parse every newline-terminated line of `bytes`, the first being line `first_line`; bytes
/// after the last newline are not read.
fn scan(bytes: &[u8], first_line: usize) -> Scan {
    let mut out = Scan::default();
    let mut start = 0;
    while let Some(nl) = bytes[start..].iter().position(|b| *b == b'\n') {
        let end = start + nl;
        let raw = &bytes[start..end];
        let no = first_line + out.lines;
        if !raw.is_empty() {
            match parse_line(raw, no) {
                Ok(r) => out.records.push(r),
                Err(s) => out.skipped.push(s),
            }
        }
        out.last = Some((start, Sha256::digest(&bytes[start..=end]).into()));
        out.lines += 1;
        start = end + 1;
    }
    out.consumed = start;
    out
}

/// Every complete record of a log's bytes that parses, in order, and every other line (blank
/// lines aside). A tail without its newline is a record when it parses (only its newline is
/// missing) and otherwise a torn write, in neither list (`verify` names it; the next append
/// repairs it).
pub fn checked_records_of(content: &[u8]) -> (Vec<Record>, Vec<Skipped>) {
    let mut scan = scan(content, 1);
    let tail = &content[scan.consumed..];
    if !tail.is_empty()
        && let Ok(r) = serde_json::from_slice::<Record>(tail)
    {
        scan.records.push(r);
    }
    (scan.records, scan.skipped)
}

/// Every complete record of a log's bytes that parses, in order (what [`AuditLog::read`]
/// returns); [`checked_records_of`] also says which lines were left out.
pub fn records_of(content: &[u8]) -> Vec<Record> {
    checked_records_of(content).0
}

/// Where an incremental read of the log ([`AuditLog::read_from`]) stopped. Start with
/// `Cursor::default()` (the beginning of the log); each read returns the cursor for the next.
/// It knows which file it read (device and inode), how far, and the bytes of the last line it
/// read, so that a log replaced, truncated or rewritten since is read again from the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Device and inode of the file read; `None` before anything was read.
    file: Option<(u64, u64)>,
    /// The first byte not read yet: every line before it was returned.
    offset: u64,
    /// Lines read, blank ones included (the next one is line `lines + 1`).
    lines: usize,
    /// Where the last line read starts, and the SHA-256 of its bytes.
    last: Option<(u64, [u8; 32])>,
}

impl Cursor {
    /// Bytes of the log read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Lines of the log read so far.
    pub fn lines(&self) -> usize {
        self.lines
    }
}

/// What [`AuditLog::read_from`] found after a cursor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tail {
    /// The records of the complete lines after the cursor, in order.
    pub records: Vec<Record>,
    /// The lines after the cursor that are not records.
    pub skipped: Vec<Skipped>,
    /// Where the next read starts.
    pub next: Cursor,
    /// The log is not the one the cursor read on (replaced, truncated, rewritten or removed):
    /// `records` and `skipped` are read from its first line, and whatever the caller built
    /// from earlier reads must be dropped and rebuilt from these.
    pub restarted: bool,
}

/// Read the whole file under a shared lock (an append in progress is never seen half-done).
fn read_shared(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    file.lock_shared()?;
    let mut content = Vec::new();
    file.read_to_end(&mut content)?;
    Ok(content)
}

/// The bytes of an open file from `start` to `end`.
fn read_range(file: &mut File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(end.saturating_sub(start))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Create `dir` and its missing parents as 0700 (owner only); an existing one is left as it is.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_locked(&self) -> std::io::Result<File> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            private_dir(dir)?;
        }
        let created = !self.path.exists();
        // A log trainyard creates is the user's alone (0600): on a shared jump host other
        // users don't read who did what and why. A team log at a shared `audit.path` is
        // created by whoever sets it up, with the group's permissions; those are left alone.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.path)?;
        if created && let Some(dir) = dir {
            // The new file's directory entry is on disk too.
            File::open(dir)?.sync_all()?;
        }
        // Exclusive: several trainyard processes on one host append in turn.
        file.lock()?;
        Ok(file)
    }

    /// Every complete record that parses, in order (for replaying holds and reading). A line
    /// that is not a record is left out and logged as a warning ([`AuditLog::read_checked`]
    /// returns them).
    pub fn read(&self) -> std::io::Result<Vec<Record>> {
        let (records, skipped) = self.read_checked()?;
        for s in &skipped {
            tracing::warn!("audit log {}: {s}", self.path.display());
        }
        Ok(records)
    }

    /// Every complete record that parses, in order, and the lines that are not records.
    pub fn read_checked(&self) -> std::io::Result<(Vec<Record>, Vec<Skipped>)> {
        Ok(checked_records_of(&read_shared(&self.path)?))
    }

    /// Read what was appended since `from`, under a shared lock (an append is never seen
    /// half-done).
    ///
    /// - Only complete lines are read: bytes after the last newline (a write cut off, or a
    ///   record whose newline trainyard's next append will add) are left for a later read.
    /// - A line that is not a record is in [`Tail::skipped`], with its line number in the file.
    /// - When the log is not the one `from` read on — another file at the path (inode), shorter
    ///   than `from` read, or the last line `from` read changed — it is read from its first
    ///   line and [`Tail::restarted`] says so. A log that is gone reads as empty (restarted if
    ///   `from` had read one).
    ///
    /// A caller keeps the records it was given and the returned [`Tail::next`]:
    ///
    /// ```no_run
    /// # use trainyard::ops::audit::{AuditLog, Cursor};
    /// # let log = AuditLog::new("audit.jsonl");
    /// let (mut records, mut at) = (Vec::new(), Cursor::default());
    /// let tail = log.read_from(at)?;
    /// if tail.restarted {
    ///     records.clear();
    /// }
    /// records.extend(tail.records);
    /// at = tail.next;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_from(&self, from: Cursor) -> std::io::Result<Tail> {
        let gone = |restarted| Tail {
            restarted,
            ..Tail::default()
        };
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(gone(from.file.is_some()));
            }
            Err(e) => return Err(e),
        };
        file.lock_shared()?;
        let meta = file.metadata()?;
        let id = (meta.dev(), meta.ino());
        // Read from the start of the last line `from` read, to see that it is still there.
        let (mut start, mut restarted) = match from.file {
            Some(f) if f == id && meta.len() >= from.offset => {
                (from.last.map_or(from.offset, |(at, _)| at), false)
            }
            Some(_) => (0, true),
            None => (0, false),
        };
        let mut bytes = read_range(&mut file, start, meta.len())?;
        let mut at = from;
        if !restarted && start < from.offset {
            let seen = usize::try_from(from.offset - start).unwrap_or(usize::MAX);
            let same = bytes
                .get(..seen)
                .map(|b| <[u8; 32]>::from(Sha256::digest(b)));
            if same.is_some() && same == from.last.map(|(_, h)| h) {
                bytes.drain(..seen);
                start = from.offset;
            } else {
                restarted = true;
                start = 0;
                bytes = read_range(&mut file, 0, meta.len())?;
            }
        }
        if restarted || from.file.is_none() {
            at = Cursor::default();
        }
        let scan = scan(&bytes, at.lines + 1);
        let last = match scan.last {
            Some((i, h)) => Some((start + i as u64, h)),
            None => at.last,
        };
        Ok(Tail {
            records: scan.records,
            skipped: scan.skipped,
            next: Cursor {
                file: Some(id),
                offset: start + scan.consumed as u64,
                lines: at.lines + scan.lines,
                last,
            },
            restarted,
        })
    }

    /// Append one record.
    pub fn append(&self, entry: Entry) -> Result<Record, AppendError> {
        self.append_if(|_| Ok(()), entry)
    }

    /// Under the lock: let `check` look at every record so far, and append only if it agrees.
    /// This is how two processes never both start an action on one cell.
    pub fn append_if(
        &self,
        check: impl FnOnce(&[Record]) -> Result<(), String>,
        entry: Entry,
    ) -> Result<Record, AppendError> {
        let mut file = self.open_locked()?;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        let (lines, torn) = split(&content);
        let records: Vec<Record> = lines
            .iter()
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect();
        check(&records).map_err(AppendError::Refused)?;
        let (mut seq, mut prev) = match lines
            .last()
            .and_then(|l| serde_json::from_slice::<Record>(l).ok())
        {
            Some(r) => (r.seq, r.hash),
            None if lines.is_empty() => (0, GENESIS.to_string()),
            // The last complete line is not a record (edited by hand?): chain on from its
            // bytes so that `verify` still names that line.
            None => (
                lines.len() as u64,
                hex(&Sha256::digest(lines[lines.len() - 1])),
            ),
        };
        let mut out = Vec::new();
        let next = |seq: u64| {
            seq.checked_add(1)
                .ok_or_else(|| std::io::Error::other("seq overflow: the log is broken"))
        };
        // A last record without its newline (not torn: it parses) gets its newline first.
        let mut bytes = Vec::new();
        if torn.is_none() && !content.is_empty() && !content.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        if let Some(t) = torn {
            // A write that was cut off: drop the partial bytes (below, once nothing but IO can
            // fail) and say so in the log.
            let note = Entry {
                id: format!("repair-{seq}"),
                actor: "trainyard".into(),
                origin: "local".into(),
                action: "audit".into(),
                result: result::REPAIRED.into(),
                error: Some(format!(
                    "removed a torn last line of {} bytes (sha256 {})",
                    t.len(),
                    hex(&Sha256::digest(t))
                )),
                ..Entry::default()
            };
            let r = seal(note, next(seq)?, &prev);
            seq = r.seq;
            prev = r.hash.clone();
            out.push(r);
        }
        // What a person typed (a reason) or a source said (an error) never puts a secret in
        // the log: it is kept for years and read by many.
        let record = seal(entry.redacted(), next(seq)?, &prev);
        out.push(record.clone());
        if let Some(t) = torn {
            file.set_len((content.len() - t.len()) as u64)?;
        }
        file.seek(SeekFrom::End(0))?;
        for r in &out {
            serde_json::to_writer(&mut bytes, r).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
        }
        file.write_all(&bytes)?;
        // On disk before anyone is told.
        file.sync_data()?;
        Ok(record)
    }

    /// Check the whole chain.
    pub fn verify(&self) -> std::io::Result<Verification> {
        Ok(verify_bytes(&read_shared(&self.path)?))
    }
}

pub(crate) fn seal(e: Entry, seq: u64, prev: &str) -> Record {
    let mut r = Record {
        seq,
        ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        id: e.id,
        actor: e.actor,
        origin: e.origin,
        action: e.action,
        lane: e.lane,
        stage: e.stage,
        from: e.from,
        to: e.to,
        reason: e.reason,
        forced: e.forced,
        dry_run: e.dry_run,
        result: e.result,
        error: e.error,
        prev_hash: prev.to_string(),
        hash: String::new(),
    };
    r.hash = r.compute_hash();
    r
}

/// Verify a log's bytes: every complete line must be a record whose hash is right, whose
/// `prev_hash` is the previous line's hash and whose `seq` follows the previous one.
pub fn verify_bytes(content: &[u8]) -> Verification {
    let segments: Vec<&[u8]> = content.split(|b| *b == b'\n').collect();
    let mut prev = GENESIS.to_string();
    let mut seq: u64 = 0;
    let mut records = 0;
    let mut torn = None;
    for (idx, raw) in segments.iter().enumerate() {
        let no = idx + 1;
        let last = idx + 1 == segments.len();
        let bad = |why: String| Verification {
            records,
            first_bad: Some((no, why)),
            torn: None,
            head: None,
        };
        if raw.is_empty() {
            if last {
                break;
            }
            return bad("blank line: a line was inserted or removed".into());
        }
        let r: Record = match serde_json::from_slice(raw) {
            Ok(r) => r,
            // Bytes after the last newline that are no record: a write that was cut off.
            Err(_) if last => {
                torn = Some(no);
                break;
            }
            Err(e) => return bad(format!("not an audit record: {e}")),
        };
        if r.prev_hash != prev {
            return bad("prev_hash does not match the line before: a line was removed, reordered or inserted".into());
        }
        if Some(r.seq) != seq.checked_add(1) {
            return bad(format!(
                "seq {} where {} was expected",
                r.seq,
                seq.saturating_add(1)
            ));
        }
        if r.compute_hash() != r.hash {
            return bad("hash does not match the content: the line was edited".into());
        }
        // The same content written differently (spacing, key order, escapes) is an edit too:
        // trainyard writes every line exactly one way.
        if serde_json::to_vec(&r).ok().as_deref() != Some(*raw) {
            return bad(
                "the line is not as trainyard wrote it: it was reformatted or edited".into(),
            );
        }
        prev = r.hash;
        seq = r.seq;
        records += 1;
    }
    let head = (records > 0).then_some(prev);
    Verification {
        records,
        first_bad: None,
        torn,
        head,
    }
}

/// A done pause of lane `api` by `a`, for tests to change what they test
/// (`Record { actor: …, ..Record::sample() }`).
#[cfg(test)]
impl Record {
    pub fn sample() -> Record {
        Record {
            seq: 1,
            ts: "2026-11-26T14:00:00Z".into(),
            id: "x".into(),
            actor: "a".into(),
            origin: "local".into(),
            action: "pause".into(),
            lane: Some("api".into()),
            stage: None,
            from: None,
            to: None,
            reason: None,
            forced: false,
            dry_run: false,
            result: result::DONE.into(),
            error: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, result: &str) -> Entry {
        Entry {
            id: "a1".into(),
            actor: "alice@jump1".into(),
            origin: "ssh 10.0.0.7".into(),
            action: action.into(),
            lane: Some("payments-api".into()),
            stage: Some("prod".into()),
            from: Some("3a1b2c4".into()),
            to: Some("91aa0f2".into()),
            reason: Some("bad deploy".into()),
            result: result.into(),
            ..Entry::default()
        }
    }

    #[test]
    fn a_new_log_and_its_directory_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, log) = log_with(1);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(log.path()), 0o600);
        assert_eq!(mode(&dir.path().join("sub")), 0o700);
        // A shared log set up with group permissions keeps them.
        let shared = dir.path().join("team.jsonl");
        std::fs::write(&shared, "").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o660)).unwrap();
        AuditLog::new(&shared)
            .append(entry("pause", "attempt"))
            .unwrap();
        assert_eq!(mode(&shared), 0o660);
    }

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("sub/audit.jsonl"));
        for i in 0..n {
            log.append(entry(
                "rollback",
                if i % 2 == 0 { "attempt" } else { "done" },
            ))
            .unwrap();
        }
        (dir, log)
    }

    #[test]
    fn a_fresh_chain_verifies_and_links() {
        let (_d, log) = log_with(5);
        let v = log.verify().unwrap();
        assert!(
            v.intact() && v.torn.is_none() && v.records == 5 && v.head.is_some(),
            "{v:?}"
        );
        let recs = log.read().unwrap();
        assert_eq!(recs[0].prev_hash, GENESIS);
        for w in recs.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].hash);
            assert_eq!(w[1].seq, w[0].seq + 1);
        }
        assert!(log.verify().unwrap().intact());
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        std::fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn write(log: &AuditLog, lines: &[String]) {
        std::fs::write(log.path(), lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn an_edited_line_is_named() {
        let (_d, log) = log_with(5);
        let mut l = lines(&log);
        l[2] = l[2].replace("bad deploy", "routine");
        write(&log, &l);
        let v = log.verify().unwrap();
        assert_eq!(v.first_bad.as_ref().unwrap().0, 3, "{v:?}");
        assert!(v.first_bad.unwrap().1.contains("edited"));
    }

    #[test]
    fn a_removed_or_reordered_line_is_named() {
        let (_d, log) = log_with(5);
        let mut l = lines(&log);
        l.remove(1);
        write(&log, &l);
        assert_eq!(log.verify().unwrap().first_bad.unwrap().0, 2);

        let (_d, log) = log_with(5);
        let mut l = lines(&log);
        l.swap(3, 4);
        write(&log, &l);
        assert_eq!(log.verify().unwrap().first_bad.unwrap().0, 4);

        // Removing the last line is only visible as a shorter chain; removing the first is not.
        let (_d, log) = log_with(3);
        let mut l = lines(&log);
        l.remove(0);
        write(&log, &l);
        assert_eq!(log.verify().unwrap().first_bad.unwrap().0, 1);
    }

    #[test]
    fn an_added_field_or_garbage_is_named() {
        let (_d, log) = log_with(3);
        let mut l = lines(&log);
        l[1] = l[1].replacen('{', "{\"note\":\"x\",", 1);
        write(&log, &l);
        let v = log.verify().unwrap();
        assert_eq!(v.first_bad.as_ref().unwrap().0, 2);
        assert!(v.first_bad.unwrap().1.contains("not an audit record"));
    }

    #[test]
    fn a_torn_last_line_is_reported_and_repaired_by_the_next_append() {
        let (_d, log) = log_with(3);
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(b"{\"seq\":4,\"ts\":\"2026-11-").unwrap();
        drop(f);
        let v = log.verify().unwrap();
        assert!(v.intact());
        assert_eq!(v.torn, Some(4));
        log.append(entry("pause", "attempt")).unwrap();
        let v = log.verify().unwrap();
        assert!(
            v.intact() && v.torn.is_none() && v.records == 5 && v.head.is_some(),
            "{v:?}"
        );
        let recs = log.read().unwrap();
        assert_eq!(recs[3].result, result::REPAIRED);
        assert!(
            recs[3]
                .error
                .as_deref()
                .unwrap()
                .contains("torn last line of 23 bytes")
        );
        assert_eq!(recs[4].action, "pause");
    }

    #[test]
    fn reformatting_a_blank_line_or_a_missing_newline_are_caught() {
        let (_d, log) = log_with(3);
        let l = lines(&log);
        // Same content, other spacing.
        let mut spaced = l.clone();
        spaced[1] = spaced[1].replace("\",\"", "\", \"");
        write(&log, &spaced);
        let v = log.verify().unwrap();
        assert_eq!(v.first_bad.as_ref().unwrap().0, 2, "{v:?}");
        assert!(v.first_bad.unwrap().1.contains("reformatted"));
        // A blank line in the middle.
        std::fs::write(log.path(), format!("{}\n\n{}\n{}\n", l[0], l[1], l[2])).unwrap();
        assert_eq!(log.verify().unwrap().first_bad.unwrap().0, 2);
        // An edited last record without its newline is an edit, not a torn write, and the next
        // append keeps it (verify still names it).
        let edited = l[2].replace("bad deploy", "routine");
        std::fs::write(log.path(), format!("{}\n{}\n{}", l[0], l[1], edited)).unwrap();
        let v = log.verify().unwrap();
        assert_eq!(v.torn, None);
        assert_eq!(v.first_bad.as_ref().unwrap().0, 3, "{v:?}");
        log.append(entry("pause", "attempt")).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(
            text.contains("routine"),
            "the edited record must not be deleted"
        );
        assert_eq!(log.verify().unwrap().first_bad.unwrap().0, 3);
    }

    #[test]
    fn a_torn_tail_and_an_absurd_seq_never_panic() {
        let (_d, log) = log_with(1);
        let mut l = lines(&log);
        l[0] = l[0].replacen("\"seq\":1", &format!("\"seq\":{}", u64::MAX), 1);
        write(&log, &l);
        assert!(!log.verify().unwrap().intact());
        assert!(log.append(entry("pause", "attempt")).is_err());
    }

    /// Found by tests/props (audit): a torn tail after a record whose seq can't grow. The
    /// append fails, and must leave the file as it found it: the torn bytes were once cut
    /// before the overflow was noticed, with no repair record to say so.
    #[test]
    fn a_failed_append_leaves_a_torn_tail_alone() {
        let (_d, log) = log_with(1);
        let mut l = lines(&log);
        l[0] = l[0].replacen("\"seq\":1", &format!("\"seq\":{}", u64::MAX), 1);
        let content = format!("{}\n\u{ae}", l[0]);
        std::fs::write(log.path(), &content).unwrap();
        assert_eq!(log.verify().unwrap().torn, None, "a bad line first");
        let err = log.append(entry("pause", "attempt")).unwrap_err();
        assert!(err.to_string().contains("seq overflow"), "{err}");
        assert_eq!(std::fs::read_to_string(log.path()).unwrap(), content);
    }

    #[test]
    fn append_if_refuses_without_writing() {
        let (_d, log) = log_with(2);
        let err = log.append_if(
            |recs| Err(format!("{} records, busy", recs.len())),
            entry("promote", "attempt"),
        );
        assert!(matches!(err, Err(AppendError::Refused(ref m)) if m == "2 records, busy"));
        assert_eq!(log.read().unwrap().len(), 2);
    }

    #[test]
    fn threads_appending_together_keep_one_chain() {
        let (_d, log) = log_with(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = log.clone();
                s.spawn(move || {
                    for i in 0..25 {
                        let mut e = entry("promote", "attempt");
                        e.id = format!("t{t}-{i}");
                        log.append(e).unwrap();
                    }
                });
            }
        });
        let v = log.verify().unwrap();
        assert!(
            v.intact() && v.torn.is_none() && v.records == 100 && v.head.is_some(),
            "{v:?}"
        );
    }

    #[test]
    fn a_missing_log_is_an_empty_intact_chain() {
        let log = AuditLog::new("/nonexistent/trainyard/audit.jsonl");
        assert_eq!(log.read().unwrap(), vec![]);
        assert!(log.verify().unwrap().intact());
        let tail = log.read_from(Cursor::default()).unwrap();
        assert_eq!(tail, Tail::default());
    }

    fn append_bytes(log: &AuditLog, bytes: &[u8]) {
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(bytes).unwrap();
    }

    fn seqs(records: &[Record]) -> Vec<u64> {
        records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn read_from_returns_only_what_was_appended_since() {
        let (_d, log) = log_with(0);
        let empty = log.read_from(Cursor::default()).unwrap();
        assert!(empty.records.is_empty() && !empty.restarted);
        for _ in 0..3 {
            log.append(entry("pause", "attempt")).unwrap();
        }
        let first = log.read_from(empty.next).unwrap();
        assert_eq!(seqs(&first.records), [1, 2, 3]);
        assert!(first.skipped.is_empty() && !first.restarted);
        assert_eq!(
            first.next.offset(),
            std::fs::metadata(log.path()).unwrap().len()
        );
        assert_eq!(first.next.lines(), 3);
        // Nothing new: nothing read, the cursor stays.
        let idle = log.read_from(first.next).unwrap();
        assert!(idle.records.is_empty() && !idle.restarted);
        assert_eq!(idle.next, first.next);
        log.append(entry("resume", "done")).unwrap();
        log.append(entry("halt", "done")).unwrap();
        let more = log.read_from(idle.next).unwrap();
        assert_eq!(seqs(&more.records), [4, 5]);
        assert_eq!(more.next.lines(), 5);
        // Pieced together, the reads are the whole log.
        let mut all = first.records;
        all.extend(more.records);
        assert_eq!(all, log.read().unwrap());
    }

    #[test]
    fn read_from_leaves_a_torn_last_line_for_later() {
        let (_d, log) = log_with(2);
        let line = serde_json::to_string(&log.read().unwrap()[1]).unwrap();
        let (head, rest) = line.split_at(30);
        append_bytes(&log, head.as_bytes());
        let t = log.read_from(Cursor::default()).unwrap();
        assert_eq!(seqs(&t.records), [1, 2]);
        assert!(
            t.skipped.is_empty(),
            "a write in progress is no bad line: {t:?}"
        );
        // The rest of the line arrives: it is read whole, once.
        append_bytes(&log, format!("{rest}\n").as_bytes());
        let t2 = log.read_from(t.next).unwrap();
        assert_eq!(t2.records.len(), 1);
        assert_eq!(t2.records[0].hash, log.read().unwrap()[1].hash);
        assert!(!t2.restarted);
        assert_eq!(t2.next.lines(), 3);
    }

    #[test]
    fn read_from_starts_over_when_the_log_is_truncated_replaced_or_rewritten() {
        let (_d, log) = log_with(4);
        let at = log.read_from(Cursor::default()).unwrap().next;
        let l = lines(&log);

        // Truncated: shorter than what was read.
        write(&log, &l[..2]);
        let t = log.read_from(at).unwrap();
        assert!(t.restarted);
        assert_eq!(seqs(&t.records), [1, 2]);
        assert_eq!(t.next.lines(), 2);

        // Replaced by another file (a new inode), longer than what was read.
        let at = t.next;
        let other = log.path().with_extension("new");
        std::fs::write(&other, l.join("\n") + "\n").unwrap();
        std::fs::rename(&other, log.path()).unwrap();
        let t = log.read_from(at).unwrap();
        assert!(t.restarted);
        assert_eq!(seqs(&t.records), [1, 2, 3, 4]);

        // Rewritten in place (same file, as long or longer): the last line read changed.
        let at = t.next;
        let mut edited = l.clone();
        edited[3] = edited[3].replace("bad deploy", "good deploy");
        edited.push(l[3].clone());
        std::fs::OpenOptions::new()
            .write(true)
            .open(log.path())
            .unwrap()
            .write_all((edited.join("\n") + "\n").as_bytes())
            .unwrap();
        let t = log.read_from(at).unwrap();
        assert!(t.restarted, "{t:?}");
        assert_eq!(t.records.len(), 5);
        assert_eq!(t.records[3].reason.as_deref(), Some("good deploy"));

        // Removed: empty, and said.
        let at = t.next;
        std::fs::remove_file(log.path()).unwrap();
        let t = log.read_from(at).unwrap();
        assert!(t.restarted && t.records.is_empty());
        assert_eq!(t.next, Cursor::default());
    }

    #[test]
    fn lines_that_are_not_records_are_said_with_their_number() {
        let (_d, log) = log_with(2);
        let at = log.read_from(Cursor::default()).unwrap().next;
        append_bytes(&log, b"\x1b]0;garbage\x07 not json\n\n");
        log.append(entry("promote", "attempt")).unwrap();
        let t = log.read_from(at).unwrap();
        assert_eq!(t.records.len(), 1);
        assert_eq!(
            t.skipped.len(),
            1,
            "a blank line is no record, and no news: {t:?}"
        );
        let s = &t.skipped[0];
        assert_eq!(s.line, 3);
        assert!(!s.halt_or_hold);
        assert!(!s.why.contains('\x1b'), "{s:?}");
        assert_eq!(t.next.lines(), 5);
        // The whole read says the same, and `read` still returns every record.
        let (records, skipped) = log.read_checked().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(skipped, t.skipped);
        assert_eq!(log.read().unwrap(), records);
    }

    #[test]
    fn a_mangled_halt_is_said_to_put_the_halt_in_doubt() {
        let (_d, log) = log_with(1);
        let at = log.read_from(Cursor::default()).unwrap().next;
        let halt = log.append(entry("halt", "done")).unwrap();
        // The halt's line edited (a field added): no record any more, so no halt either.
        let mut l = lines(&log);
        l[1] = l[1].replacen('{', "{\"note\":1,", 1);
        // And a line cut by hand in the middle that still says what it was.
        let unhalt = l[0].replace("rollback", "unhalt");
        let cut = unhalt.find("unhalt").unwrap() + 8;
        l.push(unhalt[..cut].to_string());
        write(&log, &l);
        assert!(crate::ops::holds_from(&log.read().unwrap()).halt.is_none());
        let t = log.read_from(at).unwrap();
        assert!(t.records.is_empty(), "{t:?}");
        assert_eq!(
            t.skipped
                .iter()
                .map(|s| (s.line, s.halt_or_hold))
                .collect::<Vec<_>>(),
            [(2, true), (3, true)]
        );
        assert!(
            t.skipped[0].why.contains("unknown field"),
            "{:?}",
            t.skipped[0]
        );
        assert!(
            t.skipped[0]
                .to_string()
                .contains("the halt and holds may be wrong")
        );
        // A mangled line of another action is no alarm.
        let mut l = lines(&log);
        l[1] = serde_json::to_string(&halt)
            .unwrap()
            .replace("\"halt\"", "\"promote\"")
            .replacen('{', "{\"note\":1,", 1);
        write(&log, &l[..2]);
        let (_, skipped) = log.read_checked().unwrap();
        assert_eq!(skipped.len(), 1);
        assert!(!skipped[0].halt_or_hold, "{skipped:?}");
    }
}
