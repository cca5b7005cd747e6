//! The audit chain in the PostgreSQL store: the same records and the same SHA-256 chain as
//! the file (`ops::audit`), each record kept as the very line the file would hold, so that
//! [`export`] writes JSON Lines the file's verifier checks. An append reads the chain's end
//! and writes the next record in one transaction under an advisory lock; `UNIQUE(prev_hash)`
//! makes a fork impossible even for a writer that skipped the lock.

use tokio_postgres::Client;

use super::claims::{self, Claim};
use super::pg::describe;
use crate::ops::audit::{self, AppendError, Entry, GENESIS, Record, Verification};

/// The advisory lock key under which the chain is extended ("trainyard audit").
pub const AUDIT_LOCK: i64 = 0x7472_6169_6e61_7564;

fn pg_err(e: tokio_postgres::Error) -> AppendError {
    AppendError::Io(std::io::Error::other(format!(
        "the store: {}",
        describe(&e)
    )))
}

/// Every record's line, in order.
async fn lines(client: &impl tokio_postgres::GenericClient) -> Result<Vec<String>, AppendError> {
    let rows = client
        .query("SELECT line FROM trainyard_audit ORDER BY seq", &[])
        .await
        .map_err(pg_err)?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Under the lock: take `claim` (when the entry starts an action on a cell), let `check` look
/// at the records the halt and the holds are replayed from (not the whole chain: on the
/// store, "in flight" is the claim's), and append only if both agree (as `AuditLog::append_if` does with
/// the file). An entry that is not an attempt releases its action's claim in the same
/// transaction. Every screen listening hears of the record (`NOTIFY trainyard_audit`).
pub async fn append_if(
    client: &mut Client,
    check: impl FnOnce(&[Record]) -> Result<(), String>,
    entry: Entry,
    claim: Option<&Claim>,
) -> Result<Record, AppendError> {
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await
        .map_err(pg_err)?;
    if let Some(claim) = claim {
        claims::take(&tx, claim, chrono::Utc::now())
            .await
            .map_err(store_err)?
            .map_err(AppendError::Refused)?;
    }
    check(&hold_records(&tx).await?).map_err(AppendError::Refused)?;
    let last = tx
        .query_opt(
            "SELECT line FROM trainyard_audit ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(pg_err)?
        .map(|r| r.get::<_, String>(0));
    let (seq, prev) = match last {
        None => (0, GENESIS.to_string()),
        Some(l) => match serde_json::from_str::<Record>(&l) {
            Ok(r) => (r.seq, r.hash),
            Err(_) => {
                return Err(AppendError::Io(std::io::Error::other(
                    "the store's last audit record is not a record: run `trainyard audit verify`",
                )));
            }
        },
    };
    let record = audit::seal(entry.redacted(), seq + 1, &prev);
    let line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
    tx.execute(
        "INSERT INTO trainyard_audit (seq, prev_hash, hash, line) VALUES ($1, $2, $3, $4)",
        &[&(record.seq as i64), &record.prev_hash, &record.hash, &line],
    )
    .await
    .map_err(pg_err)?;
    if record.result != audit::result::ATTEMPT {
        claims::release(&tx, &record.id).await.map_err(store_err)?;
    }
    tx.execute(
        "SELECT pg_notify('trainyard_audit', $1)",
        &[&record.seq.to_string()],
    )
    .await
    .map_err(pg_err)?;
    tx.commit().await.map_err(pg_err)?;
    Ok(record)
}

/// The records of halts, unhalts, pauses and resumes, in order. Found by their text: a record's
/// line is its canonical JSON, where `"action":"halt"` appears only as the action (a quote
/// inside a reason is escaped).
async fn hold_records(
    client: &impl tokio_postgres::GenericClient,
) -> Result<Vec<Record>, AppendError> {
    let patterns: Vec<String> = audit::HOLD_ACTIONS
        .iter()
        .map(|k| format!("%\"action\":\"{}\"%", k.as_str()))
        .collect();
    let rows = client
        .query(
            "SELECT line FROM trainyard_audit WHERE line LIKE ANY($1) ORDER BY seq",
            &[&patterns],
        )
        .await
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok())
        .collect())
}

/// Append one record.
pub async fn append(client: &mut Client, entry: Entry) -> Result<Record, AppendError> {
    append_if(client, |_| Ok(()), entry, None).await
}

/// The records after `seq`, in order, and the lines among them that are not records.
pub async fn read_since(
    client: &impl tokio_postgres::GenericClient,
    seq: u64,
) -> Result<(Vec<Record>, Vec<audit::Skipped>), AppendError> {
    let rows = client
        .query(
            "SELECT seq, line FROM trainyard_audit WHERE seq > $1 ORDER BY seq",
            &[&(seq as i64)],
        )
        .await
        .map_err(pg_err)?;
    let mut bytes = Vec::new();
    for r in &rows {
        bytes.extend_from_slice(r.get::<_, &str>(1).as_bytes());
        bytes.push(b'\n');
    }
    Ok(audit::checked_records_of(&bytes))
}

fn store_err(e: String) -> AppendError {
    AppendError::Io(std::io::Error::other(format!("the store: {e}")))
}

/// The chain as JSON Lines, exactly as the file would hold it.
pub async fn export(client: &Client) -> Result<Vec<u8>, AppendError> {
    let mut out = Vec::new();
    for l in lines(client).await? {
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// Every record, in order (the lines that are not records are left out: [`verify`] names
/// them).
pub async fn read(client: &Client) -> Result<Vec<Record>, AppendError> {
    Ok(audit::records_of(&export(client).await?))
}

/// Check the whole chain, with the file's verifier.
pub async fn verify(client: &Client) -> Result<Verification, AppendError> {
    Ok(audit::verify_bytes(&export(client).await?))
}

/// Carry a local log (the file's bytes) into a store whose chain is empty: the records as
/// they are, their hashes unchanged. A log that does not verify, or a store that has a
/// chain already, is refused.
pub async fn import(client: &mut Client, file: &[u8]) -> Result<usize, AppendError> {
    let v = audit::verify_bytes(file);
    if let Some((line, why)) = v.first_bad {
        return Err(AppendError::Refused(format!(
            "the log does not verify (line {line}: {why}): not imported"
        )));
    }
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
        .await
        .map_err(pg_err)?;
    let n: i64 = tx
        .query_one("SELECT count(*) FROM trainyard_audit", &[])
        .await
        .map_err(pg_err)?
        .get(0);
    if n > 0 {
        return Err(AppendError::Refused(format!(
            "the store has an audit chain already ({n} records): import only into a new store"
        )));
    }
    let mut count = 0;
    for line in file.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let text = std::str::from_utf8(line).map_err(std::io::Error::other)?;
        let r: Record = serde_json::from_str(text).map_err(std::io::Error::other)?;
        tx.execute(
            "INSERT INTO trainyard_audit (seq, prev_hash, hash, line) VALUES ($1, $2, $3, $4)",
            &[&(r.seq as i64), &r.prev_hash, &r.hash, &text],
        )
        .await
        .map_err(pg_err)?;
        count += 1;
    }
    tx.commit().await.map_err(pg_err)?;
    Ok(count)
}
