//! The PostgreSQL store's connection and schema. A connection is TLS through rustls (no
//! OpenSSL) off loopback, always; on loopback it may be plain. The URL carries no password:
//! it comes from `password_env` / `password_file` / `password_cmd` (as a [`Secret`]). The
//! schema is versioned: [`migrate`] applies, in one transaction under an advisory lock, the
//! [`MIGRATIONS`] the database has not seen, so that two trainyards starting at once apply
//! each exactly once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::config::{Host, SslMode};

use crate::secrets::Secret;

/// The advisory lock key under which the schema is changed ("trainyard schema").
pub const SCHEMA_LOCK: i64 = 0x7472_6169_6e79_6172;

/// The advisory lock whose session holder is the one poller of a store ("trnypoll"):
/// `store::election`.
pub const POLLER_LOCK: i64 = 0x7472_6e79_706f_6c6c;

/// The schema, one step a version; applied in order, each once. Never edited once
/// released: a change is a new step.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE trainyard_audit (
            seq bigint PRIMARY KEY CHECK (seq >= 1),
            prev_hash text NOT NULL UNIQUE,
            hash text NOT NULL UNIQUE,
            line text NOT NULL,
            written_at timestamptz NOT NULL DEFAULT now()
        )",
    ),
    (
        2,
        // Claims: one action in flight per cell across every process, kept alive by its
        // holder. Presence: who has the train open, and which of them polls. Reports: the
        // poller's latest report per source, for every other screen to fold in.
        "CREATE TABLE trainyard_claims (
            lane text NOT NULL,
            stage text NOT NULL,
            audit_id text NOT NULL,
            action text NOT NULL,
            actor text NOT NULL,
            origin text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (lane, stage)
        );
        CREATE TABLE trainyard_presence (
            id text PRIMARY KEY,
            actor text NOT NULL,
            origin text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            seen_at timestamptz NOT NULL DEFAULT now(),
            poller boolean NOT NULL DEFAULT false
        );
        CREATE TABLE trainyard_reports (
            source text PRIMARY KEY,
            seq bigint NOT NULL,
            body text NOT NULL,
            published_by text NOT NULL,
            published_at timestamptz NOT NULL DEFAULT now()
        )",
    ),
    (
        3,
        // An abort may run beside the promote or rollback it stops: its claim is its own
        // (`stops`), and the one rule of who may go beside whom is `ActionKind::stops`.
        "ALTER TABLE trainyard_claims ADD COLUMN stops boolean NOT NULL DEFAULT false;
        ALTER TABLE trainyard_claims DROP CONSTRAINT trainyard_claims_pkey;
        ALTER TABLE trainyard_claims ADD PRIMARY KEY (lane, stage, stops)",
    ),
];

/// How to reach the store.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub password: Option<Secret>,
    /// PEM certificates trusted besides the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    pub connect_timeout: Duration,
}

/// Is every host of `config` loopback (or a Unix socket)?
fn loopback(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    })
}

/// Parse the URL and check it: no password inside it.
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, String> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("not a PostgreSQL URL ({e}): postgres://USER@HOST:5432/DATABASE"))?;
    if config.get_password().is_some() {
        return Err(
            "the store's url holds a password: take it out and name where it comes from \
             (password_env, password_file or password_cmd)"
                .into(),
        );
    }
    if config.get_hosts().is_empty() {
        return Err("the store's url names no host: postgres://USER@HOST:5432/DATABASE".into());
    }
    Ok(config)
}

/// Connect; the connection's task runs on the current runtime until the client is dropped.
pub async fn connect(target: &Target) -> Result<tokio_postgres::Client, String> {
    open(target, None).await
}

/// Connect, and hear the notifications of the channels the client will `LISTEN` to. The
/// receiver ends when the connection does (the store went away: reconnect).
pub async fn connect_listening(
    target: &Target,
) -> Result<(tokio_postgres::Client, Notifications), String> {
    let (tx, rx) = mpsc::unbounded_channel();
    Ok((open(target, Some(tx)).await?, rx))
}

/// What a listening connection hears: `(channel, payload)`.
pub type Notifications = mpsc::UnboundedReceiver<(String, String)>;

async fn open(
    target: &Target,
    notes: Option<mpsc::UnboundedSender<(String, String)>>,
) -> Result<tokio_postgres::Client, String> {
    let mut config = parse_url(&target.url)?;
    if let Some(p) = &target.password {
        config.password(p.expose());
    }
    config.connect_timeout(target.connect_timeout);
    config.application_name("trainyard");
    let plain_ok = loopback(&config);
    let words = |e: tokio_postgres::Error| crate::secrets::redact(&describe(&e));
    if plain_ok && target.ca_pem.is_none() {
        config.ssl_mode(SslMode::Disable);
        let (client, conn) = config.connect(tokio_postgres::NoTls).await.map_err(words)?;
        tokio::spawn(drive(conn, notes));
        return Ok(client);
    }
    config.ssl_mode(SslMode::Require);
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(target.ca_pem.as_deref())?);
    let (client, conn) = config.connect(tls).await.map_err(words)?;
    tokio::spawn(drive(conn, notes));
    Ok(client)
}

/// Run a connection until it ends, passing its notifications on.
async fn drive<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
    notes: Option<mpsc::UnboundedSender<(String, String)>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    while let Some(m) = futures_util::StreamExt::next(&mut messages).await {
        match m {
            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                if let Some(tx) = &notes {
                    let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("the store's connection ended: {}", describe(&e));
                break;
            }
        }
    }
}

/// The TLS client config: the system's roots and the `ca_file`'s certificates.
fn tls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!("the system's CA certificates: {e}");
    }
    let (_, refused) = roots.add_parsable_certificates(native.certs);
    if refused > 0 {
        tracing::warn!("{refused} of the system's CA certificates could not be used");
    }
    if let Some(pem) = ca_pem {
        use rustls_pki_types::pem::PemObject;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("ca_file: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file: a certificate rustls refuses: {e}"))?;
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A PostgreSQL error in words: the server's message when it sent one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(&format!(": {inner}"));
                src = inner.source();
            }
            s
        }
    }
}

/// Bring the schema up to date; the version it is at after.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<i32, String> {
    let words = |e: tokio_postgres::Error| describe(&e);
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    // Up to date: nothing to create, so a role without CREATE (docs/team.md) starts too.
    if let Some(at) = version(client).await?
        && at == newest
    {
        return Ok(at);
    }
    let tx = client.transaction().await.map_err(words)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(words)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS trainyard_schema (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(words)?;
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM trainyard_schema",
            &[],
        )
        .await
        .map_err(words)?;
    let mut at: i32 = row.get(0);
    if at > newest {
        return Err(format!(
            "the store's schema is at version {at}, newer than this trainyard knows ({newest}): \
             a newer trainyard wrote it; upgrade this one"
        ));
    }
    let from = at;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        tx.batch_execute(sql)
            .await
            .map_err(|e| format!("schema version {version}: {}", describe(&e)))?;
        tx.execute(
            "INSERT INTO trainyard_schema (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(words)?;
        at = *version;
    }
    tx.commit().await.map_err(words)?;
    Ok(at)
}

/// The schema's version, `None` before the first migration.
pub async fn version(client: &tokio_postgres::Client) -> Result<Option<i32>, String> {
    let words = |e: tokio_postgres::Error| describe(&e);
    let exists: bool = client
        .query_one("SELECT to_regclass('trainyard_schema') IS NOT NULL", &[])
        .await
        .map_err(words)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM trainyard_schema",
            &[],
        )
        .await
        .map_err(words)?;
    Ok(Some(row.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_a_password_is_refused_and_loopback_is_known() {
        let e = parse_url("postgres://bob:hunter2@db.example.com/train").unwrap_err();
        assert!(e.contains("holds a password"), "{e}");
        assert!(parse_url("not a url at all").is_err());
        let c = parse_url("postgres://bob@127.0.0.1:5432/train").unwrap();
        assert!(loopback(&c));
        let c = parse_url("postgres://bob@localhost/train").unwrap();
        assert!(loopback(&c));
        let c = parse_url("postgres://bob@db.example.com/train").unwrap();
        assert!(!loopback(&c));
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        let expected: Vec<i32> = (1..=MIGRATIONS.len() as i32).collect();
        assert_eq!(versions, expected);
    }
}
