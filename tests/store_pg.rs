//! The PostgreSQL store against a real server on loopback (Debian's PostgreSQL, started by
//! the test in a temporary directory): connecting with a password from outside the URL,
//! and a schema that migrates once, however many trainyards start at once.

mod common;

use std::time::Duration;

use trainyard::secrets::Secret;
use trainyard::store::pg::{self, MIGRATIONS, Target};

use common::pg::{PASSWORD, Pg};

fn target(pg: &Pg, password: &str) -> Target {
    Target {
        url: pg.url(),
        password: Some(Secret::new(password)),
        ca_pem: None,
        connect_timeout: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_created_once_by_every_trainyard_starting_at_once() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let pg = Pg::start();
    let newest = MIGRATIONS.last().unwrap().0;
    // Four at once: each waits for the advisory lock, one applies, the others find it done.
    let runs = (0..4).map(|_| {
        let t = target(&pg, PASSWORD);
        tokio::spawn(async move {
            let mut c = pg::connect(&t).await.expect("connects");
            pg::migrate(&mut c).await
        })
    });
    for r in futures_util::future::join_all(runs).await {
        assert_eq!(r.unwrap(), Ok(newest));
    }
    let applied = pg.psql("SELECT count(*), max(version) FROM trainyard_schema");
    assert_eq!(applied.trim(), format!("{}|{newest}", MIGRATIONS.len()));
    // Again later: nothing to do.
    let mut c = pg::connect(&target(&pg, PASSWORD)).await.unwrap();
    assert_eq!(pg::migrate(&mut c).await, Ok(newest));
    assert!(
        pg.psql("SELECT to_regclass('trainyard_audit')")
            .contains("trainyard_audit")
    );
    // A schema newer than this trainyard knows is said, not written over.
    pg.psql(&format!(
        "INSERT INTO trainyard_schema (version) VALUES ({})",
        newest + 1
    ));
    let e = pg::migrate(&mut c).await.unwrap_err();
    assert!(e.contains("newer than this trainyard knows"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_server_away_is_said_in_words() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let pg = Pg::start();
    let Err(e) = pg::connect(&target(&pg, "not-the-password")).await else {
        panic!("a wrong password is refused");
    };
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(
        !e.contains("not-the-password"),
        "the password is never shown: {e}"
    );
    pg.stop();
    let Err(e) = pg::connect(&target(&pg, PASSWORD)).await else {
        panic!("no server to connect to");
    };
    assert!(
        e.contains("Connection refused") || e.contains("connect"),
        "{e}"
    );
    pg.restart();
    assert!(pg::connect(&target(&pg, PASSWORD)).await.is_ok());
}
