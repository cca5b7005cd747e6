//! The audit log read back: `verify_bytes`, `records_of` (what `read` returns) and what is
//! replayed from it (holds, open attempts, auto-pauses), and `append` on a hostile or
//! corrupted file. A genuine log, mutated: lines deleted, swapped, duplicated, edited as JSON,
//! garbage lines, torn tails, absurd `seq` values, invalid UTF-8.
//!
//! No panic; `verify` names a line inside the file; an append on an intact log (torn or not)
//! leaves it intact, one record longer (two with the repair note); an append on a broken log
//! never hides where it broke; a failed append leaves the file as it was.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use trainyard::model::Train;
use trainyard::ops::audit::{self, AuditLog, Entry, Verification, records_of, verify_bytes};
use trainyard::ops::auto::AutoPause;
use trainyard::ops::{holds_from, run::open_attempts};

use crate::mutate::{self, ByteEdit, Edit, hostile_string};

fn entry(i: usize) -> Entry {
    let results = ["attempt", "done", "failed", "rejected", "dry_run"];
    Entry {
        id: format!("a{}", i / 2),
        actor: if i.is_multiple_of(3) {
            "trainyard-auto".into()
        } else {
            "alice@jump1".into()
        },
        origin: "ssh 10.0.0.7".into(),
        action: ["pause", "resume", "halt", "promote", "rollback"][i % 5].into(),
        lane: (!i.is_multiple_of(4)).then(|| "payments-api".into()),
        stage: (!i.is_multiple_of(3)).then(|| "prod".into()),
        from: Some("3a1b2c4".into()),
        to: Some("91aa0f2".into()),
        reason: Some("bad deploy\u{1b}[2J \u{202e} é".into()),
        forced: i.is_multiple_of(2),
        dry_run: false,
        result: results[i % results.len()].into(),
        error: None,
    }
}

/// A log as trainyard writes it: eight records.
fn genuine() -> &'static [u8] {
    static LOG: OnceLock<Vec<u8>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        for i in 0..8 {
            log.append(entry(i)).unwrap();
        }
        std::fs::read(log.path()).unwrap()
    })
}

fn train() -> &'static Train {
    static T: OnceLock<Train> = OnceLock::new();
    T.get_or_init(|| {
        let text = "[train]\nname = \"t\"\nstages = [\"canary\", \"prod\"]\n\
                    [sources.s]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\
                    [[lanes]]\nname = \"payments-api\"\nsource = \"s\"\n\
                    [policy.prod]\nrequire = []\nauto_pause = true\n";
        trainyard::config::parse(text, "t.toml").unwrap().train
    })
}

#[derive(Clone, Debug)]
enum LogEdit {
    DeleteLine(Index),
    SwapLines(Index, Index),
    DuplicateLine(Index),
    InsertLine(Index, Vec<u8>),
    /// A line parsed and edited as JSON, written back.
    EditJson(Index, Vec<(Index, Edit)>),
    /// `seq` of a line set to a hostile number.
    Seq(Index, u64),
    /// Bytes without a newline at the end: a write cut off.
    TornTail(Vec<u8>),
    /// Every line ending becomes CRLF (an editor on another platform).
    Crlf,
    Bytes(ByteEdit),
}

const GARBAGE: &[&[u8]] = &[b"{}", b"null", b"[]", b"{\"seq\":1}", b"\xff\xfe", b""];

fn log_edit() -> impl Strategy<Value = LogEdit> {
    let garbage = prop_oneof![
        hostile_string().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
        select(GARBAGE).prop_map(<[u8]>::to_vec),
    ];
    prop_oneof![
        2 => any::<Index>().prop_map(LogEdit::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| LogEdit::SwapLines(a, b)),
        1 => any::<Index>().prop_map(LogEdit::DuplicateLine),
        1 => (any::<Index>(), garbage.clone()).prop_map(|(i, g)| LogEdit::InsertLine(i, g)),
        3 => (any::<Index>(), mutate::edits()).prop_map(|(i, e)| LogEdit::EditJson(i, e)),
        2 => (any::<Index>(), prop_oneof![select(&[0, u64::MAX, u64::MAX - 1, i64::MAX as u64][..]), any::<u64>()])
            .prop_map(|(i, s)| LogEdit::Seq(i, s)),
        2 => garbage.prop_map(LogEdit::TornTail),
        1 => Just(LogEdit::Crlf),
        2 => mutate::byte_edit().prop_map(LogEdit::Bytes),
    ]
}

fn edit_log(content: &[u8], edits: &[LogEdit]) -> Vec<u8> {
    let trailing = content.ends_with(b"\n");
    let mut lines: Vec<Vec<u8>> = content.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if trailing {
        lines.pop();
    }
    let mut tail: Vec<u8> = Vec::new();
    let mut crlf = false;
    let mut bytes_edits = Vec::new();
    for e in edits {
        let n = lines.len();
        match e {
            LogEdit::DeleteLine(i) if n > 0 => {
                lines.remove(i.index(n));
            }
            LogEdit::SwapLines(a, b) if n > 0 => lines.swap(a.index(n), b.index(n)),
            LogEdit::DuplicateLine(i) if n > 0 => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            LogEdit::InsertLine(i, g) => lines.insert(i.index(n + 1), g.clone()),
            LogEdit::EditJson(i, edits) if n > 0 => {
                let k = i.index(n);
                if let Ok(mut v) = serde_json::from_slice::<Value>(&lines[k]) {
                    mutate::apply(&mut v, edits);
                    lines[k] = serde_json::to_vec(&v).unwrap();
                }
            }
            LogEdit::Seq(i, seq) if n > 0 => {
                let k = i.index(n);
                // A line that is JSON but no record (an array a generated line may be) has no
                // seq to change.
                if let Ok(mut v) = serde_json::from_slice::<Value>(&lines[k])
                    && v.is_object()
                {
                    v["seq"] = Value::from(*seq);
                    lines[k] = serde_json::to_vec(&v).unwrap();
                }
            }
            LogEdit::TornTail(t) => tail = t.clone(),
            LogEdit::Crlf => crlf = true,
            LogEdit::Bytes(b) => bytes_edits.push(b.clone()),
            _ => {}
        }
    }
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::new();
    for l in &lines {
        out.extend_from_slice(l);
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(&tail);
    mutate::apply_bytes(&mut out, &bytes_edits);
    out
}

fn log_edits() -> impl Strategy<Value = Vec<LogEdit>> {
    prop::collection::vec(log_edit(), 0..4)
}

/// What `verify` says is consistent with the bytes it read.
fn check_verification(content: &[u8], v: &Verification) -> Result<(), TestCaseError> {
    let segments = content.split(|b| *b == b'\n').count();
    prop_assert!(v.records <= segments);
    if let Some((line, why)) = &v.first_bad {
        prop_assert!((1..=segments).contains(line), "line {line} of {segments}");
        prop_assert!(!why.trim().is_empty());
        prop_assert!(v.torn.is_none() && v.head.is_none());
    }
    if let Some(t) = v.torn {
        prop_assert_eq!(t, segments, "only the last line can be torn");
    }
    if v.intact() {
        // Every record of an intact log is read back, the head is the last one's hash.
        let records = records_of(content);
        prop_assert_eq!(records.len(), v.records);
        prop_assert_eq!(v.head.as_ref(), records.last().map(|r| &r.hash));
        for (i, r) in records.iter().enumerate() {
            prop_assert_eq!(r.seq, i as u64 + 1);
        }
    }
    Ok(())
}

/// What is replayed from the records, however odd their fields.
fn replay(content: &[u8]) {
    let records = records_of(content);
    let now = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
    let _ = holds_from(&records);
    let _ = open_attempts(&records, now, Duration::from_secs(600));
    let _ = AutoPause::from_log(train(), &records, now);
    for r in &records {
        let _ = (r.time(), r.compute_hash());
    }
}

proptest! {
    #![proptest_config(mutate::config(192))]

    /// A genuine log mutated, read in memory: `verify_bytes` and `records_of` agree and name
    /// lines inside the file; replaying holds from it never panics.
    #[test]
    fn mutated_logs_verify_and_replay(edits in log_edits()) {
        let content = edit_log(genuine(), &edits);
        let v = verify_bytes(&content);
        check_verification(&content, &v)?;
        replay(&content);
    }

    #[test]
    fn random_bytes_verify_and_replay(content in prop::collection::vec(any::<u8>(), 0..512)) {
        check_verification(&content, &verify_bytes(&content))?;
        replay(&content);
    }
}

proptest! {
    #![proptest_config(mutate::config(48))]

    /// A mutated log on disk, then an append: the repair is recorded, tampering stays named,
    /// a failed append changes nothing.
    #[test]
    fn appending_to_a_mutated_log_repairs_or_refuses(edits in log_edits()) {
        let content = edit_log(genuine(), &edits);
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("audit.jsonl"));
        std::fs::write(log.path(), &content).unwrap();
        let before = log.verify().unwrap();
        prop_assert_eq!(&before, &verify_bytes(&content));
        prop_assert_eq!(log.read().unwrap(), records_of(&content));
        let mut e = entry(1);
        e.id = "prop".into();
        match log.append(e) {
            Err(err) => {
                prop_assert!(!err.to_string().trim().is_empty());
                let after = std::fs::read(log.path()).unwrap();
                prop_assert!(after == content, "a failed append changed the file: {err}");
            }
            Ok(record) => {
                let after = log.verify().unwrap();
                if before.intact() {
                    prop_assert!(after.intact() && after.torn.is_none(), "{after:?}");
                    let repaired = usize::from(before.torn.is_some());
                    prop_assert_eq!(after.records, before.records + 1 + repaired);
                    prop_assert_eq!(after.head, Some(record.hash));
                    if repaired == 1 {
                        let records = log.read().unwrap();
                        prop_assert_eq!(&records[records.len() - 2].result, audit::result::REPAIRED);
                    }
                } else {
                    prop_assert_eq!(after.first_bad, before.first_bad);
                }
            }
        }
    }
}

/// Deep nesting in a line is an error of that line, not a stack overflow.
#[test]
fn a_deeply_nested_line_is_named() {
    let mut content = genuine().to_vec();
    content.extend(mutate::deeply_nested("{\"seq\":", 200_000, "}"));
    content.push(b'\n');
    let v = verify_bytes(&content);
    assert_eq!(v.first_bad.unwrap().0, 9);
    assert_eq!(records_of(&content).len(), 8);
}
