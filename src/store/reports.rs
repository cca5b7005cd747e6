//! The poller's reports in the store: the elected poller ([`super::election`]) publishes each
//! source's report as it comes in; every other trainyard on the store reads it instead of
//! polling that source itself.
//!
//! A report travels as JSON of a versioned wire form ([`VERSION`]), at most [`MAX_BODY`]
//! bytes. `trainyard_reports` keeps the latest report of each source under a sequence number
//! that counts up with every publication; the publication notifies [`CHANNEL`] with
//! `SOURCE:SEQ` in the same statement (NOTIFY is delivered at commit). A reader keeps the
//! last sequence number it folded per source and reads the rows past it: after a missed
//! notification or a reconnection it catches up from the table, never from the notifications.
//!
//! What a reader takes from the store is untrusted as any source's answer is: it is parsed
//! here, cut to the cells of its own train, and sanitized again ([`SourceReport::sanitized`]).
//! A body that can't be read becomes an error of its source: the last good data stays.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::pg::describe;
use crate::model::world::{RateLimit, RequestRate};
use crate::model::{Batch, Cell, CellKey, Metric, SourceReport, Timestamp, Train};

/// The wire form's version; a reader refuses another one in words.
pub const VERSION: u32 = 1;
/// The largest body published or read (as large as any source's answer may be).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Where each publication is announced, with `SOURCE:SEQ`.
pub const CHANNEL: &str = "trainyard_reports";
/// Where a follower asks the poller to poll a source now, with the source's name.
pub const POLL_NOW_CHANNEL: &str = "trainyard_poll_now";

#[derive(Serialize, Deserialize)]
#[serde(bound(
    serialize = "C: Serialize, M: Serialize",
    deserialize = "C: Deserialize<'de>, M: Deserialize<'de>"
))]
struct Wire<'a, C, M> {
    v: u32,
    source: Cow<'a, str>,
    at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch: Option<WireBatch<'a, C, M>>,
}

#[derive(Serialize, Deserialize)]
struct WireBatch<'a, C, M> {
    cells: Vec<Keyed<'a, C>>,
    metrics: Vec<Keyed<'a, M>>,
    cell_errors: Vec<Keyed<'a, Cow<'a, str>>>,
    /// remaining, limit
    rate_limit: Option<(u64, u64)>,
    /// used, per minute
    request_rate: Option<(u32, u32)>,
    next_poll_in_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Keyed<'a, T> {
    lane: Cow<'a, str>,
    stage: Cow<'a, str>,
    value: T,
}

fn keyed<'a, T>(key: &'a CellKey, value: T) -> Keyed<'a, T> {
    Keyed {
        lane: Cow::Borrowed(&key.lane),
        stage: Cow::Borrowed(&key.stage),
        value,
    }
}

/// The report in its wire form; an error when it would be larger than [`MAX_BODY`].
pub fn encode(report: &SourceReport) -> Result<String, String> {
    let (error, batch) = match &report.outcome {
        Err(e) => (Some(Cow::Borrowed(e.as_str())), None),
        Ok(b) => (
            None,
            Some(WireBatch {
                cells: b.cells.iter().map(|(k, c)| keyed(k, c)).collect(),
                metrics: b.metrics.iter().map(|(k, m)| keyed(k, m)).collect(),
                cell_errors: b
                    .cell_errors
                    .iter()
                    .map(|(k, e)| keyed(k, Cow::Borrowed(e.as_str())))
                    .collect(),
                rate_limit: b.rate_limit.map(|r| (r.remaining, r.limit)),
                request_rate: b.request_rate.map(|r| (r.used, r.per_minute)),
                next_poll_in_ms: b
                    .next_poll_in
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
        ),
    };
    let wire: Wire<'_, &Cell, &Metric> = Wire {
        v: VERSION,
        source: Cow::Borrowed(&report.source),
        at: report.at,
        error,
        batch,
    };
    let body = serde_json::to_string(&wire).map_err(|e| format!("encoding the report: {e}"))?;
    if body.len() > MAX_BODY {
        return Err(format!(
            "the report of {} is {} bytes, more than the store takes ({} MiB)",
            report.source,
            body.len(),
            MAX_BODY >> 20
        ));
    }
    Ok(body)
}

/// The cells a reader keeps of a published report: those of its own train.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Stages by lane.
    cells: BTreeMap<String, BTreeSet<String>>,
}

impl Known {
    /// Every lane × stage of `train`.
    pub fn of(train: &Train) -> Known {
        let stages: BTreeSet<String> = train.stages.iter().cloned().collect();
        let cells = train
            .lanes
            .iter()
            .map(|l| (l.name.clone(), stages.clone()))
            .collect();
        Known { cells }
    }

    fn has(&self, lane: &str, stage: &str) -> bool {
        self.cells.get(lane).is_some_and(|s| s.contains(stage))
    }
}

/// A published body as `source`'s report: parsed, cut to `known` cells, sanitized. What can't
/// be read is an error in words.
pub fn decode(source: &str, body: &str, known: &Known) -> Result<SourceReport, String> {
    if body.len() > MAX_BODY {
        return Err(format!("larger than {} MiB", MAX_BODY >> 20));
    }
    let wire: Wire<'_, Cell, Metric> = match serde_json::from_str(body) {
        Ok(w) => w,
        Err(e) => {
            #[derive(Deserialize)]
            struct Head {
                v: u32,
            }
            return Err(match serde_json::from_str::<Head>(body) {
                Ok(h) if h.v != VERSION => format!(
                    "a report of version {}; this trainyard reads version {VERSION} (run the \
                     same trainyard as the poller)",
                    h.v
                ),
                _ => format!("not a report ({e})"),
            });
        }
    };
    if wire.v != VERSION {
        return Err(format!(
            "a report of version {}; this trainyard reads version {VERSION}",
            wire.v
        ));
    }
    if wire.source != source {
        return Err("the report names another source".into());
    }
    let outcome = match (wire.error, wire.batch) {
        (Some(e), None) => Err(e.into_owned()),
        (None, Some(b)) => {
            let key = |lane: Cow<'_, str>, stage: Cow<'_, str>| CellKey {
                lane: lane.into(),
                stage: stage.into(),
            };
            Ok(Batch {
                cells: b
                    .cells
                    .into_iter()
                    .filter(|k| known.has(&k.lane, &k.stage))
                    .map(|k| (key(k.lane, k.stage), k.value))
                    .collect(),
                metrics: b
                    .metrics
                    .into_iter()
                    .filter(|k| known.has(&k.lane, &k.stage))
                    .map(|k| (key(k.lane, k.stage), k.value))
                    .collect(),
                cell_errors: b
                    .cell_errors
                    .into_iter()
                    .filter(|k| known.has(&k.lane, &k.stage))
                    .map(|k| (key(k.lane, k.stage), k.value.into_owned()))
                    .collect(),
                rate_limit: b
                    .rate_limit
                    .map(|(remaining, limit)| RateLimit { remaining, limit }),
                request_rate: b
                    .request_rate
                    .map(|(used, per_minute)| RequestRate { used, per_minute }),
                next_poll_in: b.next_poll_in_ms.map(Duration::from_millis),
                // The poller publishes whole reports (`Poller::spawn_whole`).
                partial: false,
                removed_metrics: Vec::new(),
            })
        }
        _ => return Err("a report with both or neither of a batch and an error".into()),
    };
    Ok(SourceReport {
        source: source.to_string(),
        at: wire.at,
        outcome,
    }
    .sanitized())
}

/// Publish a report's body ([`encode`]) for `source` as `by`: the source's row replaced under
/// the next sequence number, and [`CHANNEL`] notified, in one statement. The sequence number.
pub async fn publish(
    client: &tokio_postgres::Client,
    source: &str,
    body: &str,
    by: &str,
) -> Result<i64, String> {
    let row = client
        .query_one(
            "WITH up AS (
                INSERT INTO trainyard_reports AS r (source, seq, body, published_by)
                VALUES ($1, 1, $2, $3)
                ON CONFLICT (source) DO UPDATE
                    SET seq = r.seq + 1, body = excluded.body,
                        published_by = excluded.published_by, published_at = now()
                RETURNING seq
            )
            SELECT seq, pg_notify($4, $1 || ':' || seq) FROM up",
            &[&source, &body, &by, &CHANNEL],
        )
        .await
        .map_err(|e| describe(&e))?;
    Ok(row.get(0))
}

/// One report as the store has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub seq: i64,
    /// Who published it (the poller's identity), sanitized.
    pub by: String,
    /// The report; a body that can't be read is an error of its source, at `now`.
    pub report: SourceReport,
}

/// The reports of `sources` published past the sequence numbers in `seen` (all of theirs for a
/// source not in it), read as [`decode`] reads them.
pub async fn newer(
    client: &tokio_postgres::Client,
    sources: &[String],
    seen: &BTreeMap<String, i64>,
    known: &Known,
    now: Timestamp,
) -> Result<Vec<Published>, String> {
    let after: Vec<i64> = sources
        .iter()
        .map(|s| seen.get(s).copied().unwrap_or(0))
        .collect();
    let max = MAX_BODY as i64;
    let rows = client
        .query(
            "SELECT r.source, r.seq, r.published_by,
                    CASE WHEN octet_length(r.body) <= $3::bigint THEN r.body END
             FROM trainyard_reports r
             JOIN unnest($1::text[], $2::bigint[]) AS s(source, after) ON s.source = r.source
             WHERE r.seq > s.after
             ORDER BY r.source",
            &[&sources, &after, &max],
        )
        .await
        .map_err(|e| describe(&e))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let source: String = row.get(0);
            let body: Option<String> = row.get(3);
            let report = body
                .ok_or_else(|| format!("larger than {} MiB", MAX_BODY >> 20))
                .and_then(|b| decode(&source, &b, known))
                .unwrap_or_else(|e| SourceReport {
                    source: source.clone(),
                    at: now,
                    outcome: Err(crate::model::text::sanitize(
                        &format!("the poller's report could not be read: {e}"),
                        crate::model::world::MAX_SOURCE_TEXT,
                    )),
                });
            Published {
                seq: row.get(1),
                by: crate::model::text::sanitize(&row.get::<_, String>(2), 100),
                report,
            }
        })
        .collect())
}

/// Ask the poller to poll `source` now ([`POLL_NOW_CHANNEL`]).
pub async fn ask_poll_now(client: &tokio_postgres::Client, source: &str) -> Result<(), String> {
    client
        .execute("SELECT pg_notify($1, $2)", &[&POLL_NOW_CHANNEL, &source])
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// LISTEN to [`CHANNEL`] and [`POLL_NOW_CHANNEL`] on this connection.
pub async fn listen(client: &tokio_postgres::Client) -> Result<(), String> {
    client
        .batch_execute(&format!("LISTEN {CHANNEL}; LISTEN {POLL_NOW_CHANNEL}"))
        .await
        .map_err(|e| describe(&e))
}

#[cfg(test)]
mod tests;
