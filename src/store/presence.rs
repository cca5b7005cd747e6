//! Presence: who has the train open on the store. Every screen and `watch` beats every
//! [`BEAT_EVERY`]; one not heard from for [`GONE_AFTER`] is gone (a crashed process leaves
//! no goodbye).

use std::time::Duration;

use tokio_postgres::GenericClient;

use super::pg::describe;
use crate::model::Timestamp;

pub const BEAT_EVERY: Duration = Duration::from_secs(5);
pub const GONE_AFTER: Duration = Duration::from_secs(15);

/// One open trainyard.
#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    pub id: String,
    pub actor: String,
    pub origin: String,
    pub since: Timestamp,
    /// It polls the sources for everyone (one poller for everyone).
    pub poller: bool,
}

fn words(e: tokio_postgres::Error) -> String {
    describe(&e)
}

/// Say that `id` is here, and whether it polls for the team (and, the first time, tell the
/// others).
pub async fn beat(client: &impl GenericClient, me: &Peer) -> Result<(), String> {
    let fresh = client
        .query_one(
            "INSERT INTO trainyard_presence (id, actor, origin, poller) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET seen_at = now(), poller = $4
             RETURNING (xmax = 0)",
            &[&me.id, &me.actor, &me.origin, &me.poller],
        )
        .await
        .map_err(words)?
        .get::<_, bool>(0);
    if fresh {
        client
            .execute("SELECT pg_notify('trainyard_presence', $1)", &[&me.id])
            .await
            .map_err(words)?;
    }
    Ok(())
}

/// `id` leaves (trainyard stops).
pub async fn leave(client: &impl GenericClient, id: &str) -> Result<(), String> {
    client
        .execute("DELETE FROM trainyard_presence WHERE id = $1", &[&id])
        .await
        .map_err(words)?;
    client
        .execute("SELECT pg_notify('trainyard_presence', $1)", &[&id])
        .await
        .map_err(words)?;
    Ok(())
}

/// Everyone heard from lately, the longest there first; the long gone are cleared.
pub async fn present(client: &impl GenericClient) -> Result<Vec<Peer>, String> {
    let gone = GONE_AFTER.as_secs_f64();
    // Rows of processes long gone are cleared: a crash leaves its row behind.
    let forgotten = gone * 20.0;
    client
        .execute(
            "DELETE FROM trainyard_presence WHERE seen_at < now() - make_interval(secs => $1)",
            &[&forgotten],
        )
        .await
        .map_err(words)?;
    let rows = client
        .query(
            "SELECT id, actor, origin, started_at, poller FROM trainyard_presence
             WHERE seen_at >= now() - make_interval(secs => $1)
             ORDER BY started_at, id",
            &[&gone],
        )
        .await
        .map_err(words)?;
    Ok(rows
        .iter()
        .map(|r| Peer {
            id: r.get(0),
            actor: r.get(1),
            origin: r.get(2),
            since: r.get(3),
            poller: r.get(4),
        })
        .collect())
}
