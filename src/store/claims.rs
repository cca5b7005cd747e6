//! Claims: one action in flight per cell across every trainyard on the store (an abort may go
//! beside the promote or rollback it stops, [`ActionKind::stops`]). A claim is
//! taken in the transaction that writes the action's attempt, kept alive by its holder every
//! [`RENEW_EVERY`] while the action runs, and released with its outcome. A holder that
//! crashed stops renewing: its claim lapses after [`CLAIM_TTL`], and the next person may act.

use std::time::Duration;

use tokio_postgres::GenericClient;

use super::pg::describe;
use crate::model::duration::human;
use crate::model::{ActionKind, CellKey, Timestamp};

/// How long a claim lives without being renewed.
pub const CLAIM_TTL: Duration = Duration::from_secs(20);
/// How often a running action renews its claim: three chances before it lapses.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// A cell someone is acting on.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub key: CellKey,
    pub audit_id: String,
    pub action: String,
    pub actor: String,
    pub origin: String,
    pub since: Timestamp,
}

impl Claim {
    /// "bob@jump-2 is promoting payments-api → prod, 20s"
    pub fn describe(&self, now: Timestamp) -> String {
        let doing =
            ActionKind::parse(&self.action).map_or(self.action.as_str(), |k| k.progressive());
        let what = if self.action == "promote" {
            format!("{} → {}", self.key.lane, self.key.stage)
        } else {
            format!("{} at {}", self.key.lane, self.key.stage)
        };
        let age = human((now - self.since).to_std().unwrap_or_default());
        // Written by another trainyard: shown clean.
        crate::model::text::sanitize(&format!("{} is {doing} {what}, {age}", self.actor), 300)
    }
}

fn words(e: tokio_postgres::Error) -> String {
    describe(&e)
}

/// Take the claim on `claim.key` (in the caller's transaction), or say who holds it. A lapsed
/// claim is cleared first. One action a cell, but an abort may go beside the promote or
/// rollback it stops ([`ActionKind::stops`]): its claim is kept apart (`stops`).
pub async fn take(
    tx: &impl GenericClient,
    claim: &Claim,
    now: Timestamp,
) -> Result<Result<(), String>, String> {
    let (lane, stage): (&str, &str) = (&claim.key.lane, &claim.key.stage);
    tx.execute(
        "DELETE FROM trainyard_claims WHERE lane = $1 AND stage = $2 AND expires_at < now()",
        &[&lane, &stage],
    )
    .await
    .map_err(words)?;
    let holders = tx
        .query(
            "SELECT audit_id, action, actor, origin, claimed_at FROM trainyard_claims
             WHERE lane = $1 AND stage = $2 ORDER BY claimed_at",
            &[&lane, &stage],
        )
        .await
        .map_err(words)?;
    let kind = ActionKind::parse(&claim.action);
    let blocking = holders.iter().find(|row| {
        let held = ActionKind::parse(&row.get::<_, String>(1));
        !matches!((kind, held), (Some(k), Some(h)) if k.stops(h))
    });
    if let Some(row) = blocking {
        return Ok(Err(Claim {
            key: claim.key.clone(),
            audit_id: row.get(0),
            action: row.get(1),
            actor: row.get(2),
            origin: row.get(3),
            since: row.get(4),
        }
        .describe(now)));
    }
    let stops = kind.is_some_and(ActionKind::goes_beside);
    let ttl = CLAIM_TTL.as_secs_f64();
    let taken = tx
        .execute(
            "INSERT INTO trainyard_claims
               (lane, stage, stops, audit_id, action, actor, origin, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))
             ON CONFLICT (lane, stage, stops) DO NOTHING",
            &[
                &lane,
                &stage,
                &stops,
                &claim.audit_id,
                &claim.action,
                &claim.actor,
                &claim.origin,
                &ttl,
            ],
        )
        .await
        .map_err(words)?;
    // Under the audit's lock nobody else takes one meanwhile; should it happen, the next try
    // says who.
    Ok(if taken == 1 {
        Ok(())
    } else {
        Err("another action on this cell just started: try again".into())
    })
}

/// Keep the claim of `audit_id` alive for another [`CLAIM_TTL`]; false when it is gone (it
/// lapsed: someone else may act on the cell now).
pub async fn renew(client: &impl GenericClient, audit_id: &str) -> Result<bool, String> {
    let ttl = CLAIM_TTL.as_secs_f64();
    let n = client
        .execute(
            "UPDATE trainyard_claims SET expires_at = now() + make_interval(secs => $2)
             WHERE audit_id = $1",
            &[&audit_id, &ttl],
        )
        .await
        .map_err(words)?;
    Ok(n > 0)
}

/// Let go of the claim of `audit_id` (its outcome is written).
pub async fn release(client: &impl GenericClient, audit_id: &str) -> Result<(), String> {
    client
        .execute(
            "DELETE FROM trainyard_claims WHERE audit_id = $1",
            &[&audit_id],
        )
        .await
        .map_err(words)?;
    Ok(())
}

/// Every claim alive now.
pub async fn alive(client: &impl GenericClient) -> Result<Vec<Claim>, String> {
    let rows = client
        .query(
            "SELECT lane, stage, audit_id, action, actor, origin, claimed_at
             FROM trainyard_claims WHERE expires_at >= now() ORDER BY lane, stage, stops",
            &[],
        )
        .await
        .map_err(words)?;
    Ok(rows
        .iter()
        .map(|r| Claim {
            key: CellKey::new(r.get::<_, String>(0), r.get::<_, String>(1)),
            audit_id: r.get(2),
            action: r.get(3),
            actor: r.get(4),
            origin: r.get(5),
            since: r.get(6),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_says_who_does_what_and_for_how_long() {
        let now = chrono::Utc::now();
        let c = Claim {
            key: CellKey::new("payments-api", "prod"),
            audit_id: "1".into(),
            action: "promote".into(),
            actor: "bob@jump-2".into(),
            origin: "ssh from 10.0.0.2".into(),
            since: now - chrono::TimeDelta::seconds(20),
        };
        assert_eq!(
            c.describe(now),
            "bob@jump-2 is promoting payments-api → prod, 20s"
        );
        let r = Claim {
            action: "rollback".into(),
            actor: "eve\u{1b}]52;c;x\u{7}".into(),
            ..c
        };
        let said = r.describe(now);
        assert!(
            said.contains("is rolling back payments-api at prod"),
            "{said}"
        );
        assert!(!said.contains('\u{1b}'), "{said}");
    }
}
