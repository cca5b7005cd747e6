//! `trainyard audit`: list, verify, export and import the audit chain, the same against the
//! file and the postgres store.

use crate::config::Config;
use crate::exit::Exit;
use crate::model::duration;
use crate::ops::audit::Record;
use crate::poll;
use crate::store::Store;

/// The store `config` names (its password is read here: blocking IO, off the async workers).
fn open(config: &Config) -> Store {
    tokio::task::block_in_place(|| Store::open(config))
}

fn record_line(r: &Record) -> String {
    let mut s = format!(
        "{:>5} {} {} [{}] {}",
        r.seq, r.ts, r.actor, r.origin, r.action
    );
    if let Some(l) = &r.lane {
        s.push_str(&format!(" {l}"));
    }
    if let Some(st) = &r.stage {
        s.push_str(&format!(" @{st}"));
    }
    if r.from.is_some() || r.to.is_some() {
        let v = |x: &Option<String>| {
            x.as_deref()
                .map(crate::model::cell::short_version)
                .unwrap_or_else(|| "-".into())
        };
        s.push_str(&format!(" {}→{}", v(&r.from), v(&r.to)));
    }
    s.push_str(&format!(": {}", r.result));
    if r.forced {
        s.push_str(" FORCED");
    }
    if let Some(reason) = &r.reason {
        s.push_str(&format!(" — {reason:?}"));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(" ({e})"));
    }
    // Every field may have been typed by someone (an actor, a reason) or come from a source
    // (an error): one clean line on the terminal.
    crate::model::text::sanitize(&s, 4000)
}

/// `trainyard audit [--json] [--since D]`.
pub async fn audit_list(config: &Config, json_out: bool, since: Option<&str>) -> Exit {
    let store = open(config);
    let place = store.place();
    let cutoff = match since.map(duration::parse) {
        // Never "now" in silence, nor a panic, for a duration the clock can't go back by.
        Some(Ok(d)) => match chrono::TimeDelta::from_std(d)
            .ok()
            .and_then(|d| poll::now().checked_sub_signed(d))
        {
            Some(c) => Some(c),
            None => {
                eprintln!(
                    "trainyard: --since: {} is out of range (at most {})",
                    duration::human(d),
                    duration::human(duration::MAX)
                );
                return Exit::Usage;
            }
        },
        Some(Err(e)) => {
            eprintln!("trainyard: --since: {e}");
            return Exit::Usage;
        }
        None => None,
    };
    let (records, skipped) = match store.read_checked().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trainyard: cannot read the audit log {place}: {e}");
            return Exit::Runtime;
        }
    };
    // Lines that are not records are not listed: said, so that none is missed unawares.
    for s in &skipped {
        eprintln!("trainyard: warning: {place}: {s}");
    }
    let shown = records
        .iter()
        .filter(|r| cutoff.is_none_or(|c| r.time().is_some_and(|t| t >= c)));
    for r in shown {
        if json_out {
            println!(
                "{}",
                crate::model::text::json_safe(&serde_json::to_string(r).unwrap_or_default())
            );
        } else {
            println!("{}", record_line(r));
        }
    }
    Exit::Ok
}

/// `trainyard audit verify`: 0 intact, 1 broken (naming the first bad line).
pub async fn audit_verify(config: &Config) -> Exit {
    let store = open(config);
    let path = store.place();
    match store.verify().await {
        Err(e) => {
            eprintln!("trainyard: cannot read the audit log {path}: {e}");
            Exit::Runtime
        }
        Ok(v) => {
            if let Some(line) = v.torn {
                println!(
                    "{path}:{line}: warning: torn last line (a write was cut off); the next append repairs it and records that"
                );
            }
            match v.first_bad {
                None => {
                    println!("{path}: intact: {} records, hash chain verified", v.records);
                    if let Some(head) = &v.head {
                        // Kept elsewhere, the head proves later that nothing before it was
                        // removed or rewritten: the chain alone can't show a cut-off end.
                        println!("{path}: head {head} (record {})", v.records);
                    }
                    Exit::Ok
                }
                Some((line, why)) => {
                    // The reason may quote the broken line: shown clean.
                    let why = crate::model::text::sanitize(&why, 500);
                    println!("{path}:{line}: chain broken: {why}");
                    println!("{path}: {} records verified before line {line}", v.records);
                    Exit::Runtime
                }
            }
        }
    }
}

/// `trainyard audit export [FILE]`: the store's chain as JSON Lines, exactly as the file would
/// hold it (`audit verify` of a config whose `[audit] path` is that file checks it). To
/// standard output without FILE.
pub async fn audit_export(config: &Config, to: Option<&std::path::Path>) -> Exit {
    let store = open(config);
    let place = store.place();
    let bytes = match &store {
        Store::File(log) => std::fs::read(log.path()).map_err(|e| e.to_string()),
        Store::Postgres(pg) => pg.export().await.map_err(|e| e.to_string()),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            eprintln!("trainyard: cannot read the audit log {place}: {e}");
            return Exit::Runtime;
        }
    };
    let written = match to {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|_| out.flush())
                .map_err(|e| format!("cannot write to standard output: {e}"))
        }
    };
    match written {
        Ok(()) => {
            let n = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            if let Some(path) = to {
                eprintln!(
                    "trainyard: {n} records of {place} written to {}",
                    path.display()
                );
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("trainyard: {e}");
            Exit::Runtime
        }
    }
}

/// `trainyard audit import FILE`: carry a local audit log into a postgres store that has no
/// chain yet, its records and hashes unchanged. Refused when the file does not verify, when
/// the store has records, and on the file store (there is nothing to carry it into).
pub async fn audit_import(config: &Config, from: &std::path::Path) -> Exit {
    let Store::Postgres(pg) = open(config) else {
        eprintln!(
            "trainyard: audit import carries a local log into a postgres store: set [store] kind = \"postgres\" (docs/team.md)"
        );
        return Exit::Usage;
    };
    let bytes = match std::fs::read(from) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("trainyard: cannot read {}: {e}", from.display());
            return Exit::Runtime;
        }
    };
    match pg.import(&bytes).await {
        Ok(n) => {
            println!(
                "{} records of {} imported into {}",
                n,
                from.display(),
                pg.url()
            );
            Exit::Ok
        }
        Err(crate::ops::audit::AppendError::Refused(why)) => {
            eprintln!("trainyard: {}: {why}", from.display());
            Exit::Refused
        }
        Err(e) => {
            eprintln!("trainyard: {}: {e}", pg.url());
            Exit::Runtime
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--since` past what trainyard accepts is a usage error that says the range, never an
    /// empty list (a cut-off of "now").
    #[tokio::test(flavor = "multi_thread")]
    async fn audit_since_out_of_range_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n[audit]\npath = {:?}\n\n\
             [sources.p]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\n[[lanes]]\nname = \"a\"\nsource = \"p\"\n",
            dir.path().join("audit.jsonl")
        );
        let config = crate::config::parse(&text, "t.toml").unwrap();
        for since in ["99999999999d", "3651d", "99999999999999999999d"] {
            assert_eq!(
                audit_list(&config, true, Some(since)).await,
                Exit::Usage,
                "{since}"
            );
        }
        assert_eq!(audit_list(&config, true, Some("3650d")).await, Exit::Ok);
        assert!(
            duration::parse("99999999999d")
                .unwrap_err()
                .contains("at most 3650d")
        );
    }
}
