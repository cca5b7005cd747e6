//! One poller per store. Every trainyard on a store keeps one session of its own open to it
//! ([`Session`]); the one whose session holds the advisory lock [`POLLER_LOCK`] polls the
//! sources and publishes its reports ([`super::reports`]); the others try to take the lock
//! every [`retry_period`] and read the reports meanwhile.
//!
//! The lock is the session's: it goes with the session, however that ends. A poller that
//! exits, crashes or is killed (SIGKILL) leaves a closed socket that the server notices at
//! once. A poller whose host or network vanishes leaves a socket the server learns is dead
//! from TCP keepalives: the session asks for them every [`KEEPALIVE_IDLE`] (probes
//! [`KEEPALIVE_INTERVAL`] apart, [`KEEPALIVE_COUNT`] of them) rather than the system's default
//! of two hours. A pooler in transaction mode (PgBouncer) breaks session locks and LISTEN: the
//! store's URL must reach the server or a session-mode pool.

use std::time::Duration;

use super::pg::{self, Notifications, POLLER_LOCK, Target, describe};
use super::reports;

/// How long the server waits on a silent poller's socket before it probes it, the probes'
/// spacing and count: a vanished host's lock is free after at most 10 + 3 × 5 = 25 s.
pub const KEEPALIVE_IDLE: u32 = 10;
pub const KEEPALIVE_INTERVAL: u32 = 5;
pub const KEEPALIVE_COUNT: u32 = 3;

/// How often a trainyard that is not the poller tries to become it, for sources that poll
/// every `shortest` at the quickest.
///
/// Takeover within two intervals: the poller dies at `t` (its lock is free at `t`: the server
/// sees the socket close); a follower tries the lock at most one period later, at
/// `t + shortest/2`, and polls every source at once when it has it. Its first report comes
/// at `t + shortest/2 + one poll`, while the dead poller's last report was made at the
/// latest at `t`, so the gap between them is under `shortest/2 + one poll` — within two
/// intervals when a poll takes less than an interval and a half, as a source's timeout
/// keeps it. The period is at least 250 ms (a follower's try is one query) and at most
/// 15 s (a slow source is still taken over within 15 s).
pub fn retry_period(shortest: Duration) -> Duration {
    (shortest / 2).clamp(Duration::from_millis(250), Duration::from_secs(15))
}

/// A trainyard's own session with the store: it LISTENs to the reports' channels and may hold
/// the poller's lock.
pub struct Session {
    pub client: std::sync::Arc<tokio_postgres::Client>,
    /// The channels' notifications; `None` from it: the session ended.
    pub notes: Notifications,
    leads: bool,
}

impl Session {
    /// Connect, bring the schema up to date, ask for keepalives and LISTEN.
    pub async fn open(target: &Target) -> Result<Session, String> {
        let (mut client, notes) = pg::connect_listening(target).await?;
        pg::migrate(&mut client).await?;
        client
            .batch_execute(&format!(
                "SET tcp_keepalives_idle = {KEEPALIVE_IDLE};
                 SET tcp_keepalives_interval = {KEEPALIVE_INTERVAL};
                 SET tcp_keepalives_count = {KEEPALIVE_COUNT}"
            ))
            .await
            .map_err(|e| describe(&e))?;
        reports::listen(&client).await?;
        Ok(Session {
            client: std::sync::Arc::new(client),
            notes,
            leads: false,
        })
    }

    /// Whether this connection holds the poller's lock: taken now if it is free.
    pub async fn try_lead(&mut self) -> Result<bool, String> {
        if !self.leads {
            let row = self
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&POLLER_LOCK])
                .await
                .map_err(|e| describe(&e))?;
            self.leads = row.get(0);
        }
        Ok(self.leads)
    }

    /// Whether this connection holds the lock (as last taken).
    pub fn leads(&self) -> bool {
        self.leads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_period_is_half_the_shortest_interval_within_bounds() {
        assert_eq!(
            retry_period(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(
            retry_period(Duration::from_millis(100)),
            Duration::from_millis(250)
        );
        assert_eq!(
            retry_period(Duration::from_secs(300)),
            Duration::from_secs(15)
        );
        // Two intervals leave room for the period and a poll.
        for secs in [1, 2, 5, 30, 60] {
            let i = Duration::from_secs(secs);
            assert!(retry_period(i) < i, "{secs}s");
        }
    }
}
