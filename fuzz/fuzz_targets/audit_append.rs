//! An append to a hostile or corrupted audit log on disk: a torn tail is repaired and the
//! repair recorded, tampering stays named, a failed append changes nothing. Set TMPDIR to a
//! tmpfs (/dev/shm) or the fsyncs set the pace.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trainyard::ops::audit::{AuditLog, Entry, verify_bytes};

fn path() -> &'static std::path::Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("trainyard-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("audit.jsonl")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).unwrap();
    let log = AuditLog::new(path());
    let before = verify_bytes(data);
    let entry = Entry {
        id: "fuzz".into(),
        actor: "fuzz".into(),
        origin: "local".into(),
        action: "pause".into(),
        result: "attempt".into(),
        ..Entry::default()
    };
    match log.append(entry) {
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(
                std::fs::read(path()).unwrap() == data,
                "a failed append changed the file"
            );
        }
        Ok(record) => {
            let after = log.verify().unwrap();
            if before.intact() {
                assert!(after.intact() && after.torn.is_none(), "{after:?}");
                let repaired = usize::from(before.torn.is_some());
                assert_eq!(after.records, before.records + 1 + repaired);
                assert_eq!(after.head, Some(record.hash));
            } else {
                assert_eq!(after.first_bad, before.first_bad);
            }
        }
    }
});
