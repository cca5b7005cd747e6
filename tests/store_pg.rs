//! The PostgreSQL store against a real server on loopback (Debian's PostgreSQL, started by
//! the test in a temporary directory): connecting with a password from outside the URL,
//! a schema that migrates once, however many trainyards start at once, and one audit chain
//! that any number of writers extend without a fork and the file's verifier checks.

mod common;

use std::time::Duration;

use trainyard::ops::audit::{AuditLog, Entry};
use trainyard::secrets::Secret;
use trainyard::store::audit;
use trainyard::store::pg::{self, MIGRATIONS, Target};

use common::pg::{PASSWORD, Pg, USER};

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

/// A store at schema 2 with a claim alive is brought to the newest: the claim stays (not an
/// abort's), and an abort's claim may now stand beside it on the same cell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_an_older_schema_is_migrated_with_its_claims() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let pg = Pg::start();
    // As the store's owner would have left it.
    let owner = |sql: &str| pg.psql(&format!("SET ROLE {USER}; {sql}"));
    owner(
        "CREATE TABLE trainyard_schema (version integer PRIMARY KEY, \
         applied_at timestamptz NOT NULL DEFAULT now())",
    );
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 2) {
        owner(sql);
        owner(&format!(
            "INSERT INTO trainyard_schema (version) VALUES ({version})"
        ));
    }
    let claim = |stops: &str, id: &str, action: &str| {
        format!(
            "INSERT INTO trainyard_claims (lane, stage, {stops}audit_id, action, actor, origin, expires_at) \
             VALUES ('api', 'prod', {}'{id}', '{action}', 'carol', 'ssh', now() + interval '1 minute')",
            if stops.is_empty() { "" } else { "true, " }
        )
    };
    pg.psql(&claim("", "p1", "promote"));
    let mut c = pg::connect(&target(&pg, PASSWORD)).await.unwrap();
    let newest = MIGRATIONS.last().unwrap().0;
    assert_eq!(pg::migrate(&mut c).await, Ok(newest));
    assert_eq!(
        pg.psql("SELECT audit_id, action, stops FROM trainyard_claims")
            .trim(),
        "p1|promote|f"
    );
    pg.psql(&claim("stops, ", "a1", "abort"));
    assert!(
        pg.psql_result(&claim("stops, ", "a2", "abort")).is_err(),
        "one abort a cell"
    );
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

/// A migrated store and a client of it.
async fn store(pg: &Pg) -> tokio_postgres::Client {
    let mut c = pg::connect(&target(pg, PASSWORD)).await.unwrap();
    pg::migrate(&mut c).await.unwrap();
    c
}

fn entry(actor: &str, lane: &str) -> Entry {
    Entry {
        id: format!("{actor}-{lane}"),
        actor: actor.into(),
        origin: "jump-1".into(),
        action: "promote".into(),
        lane: Some(lane.into()),
        stage: Some("prod".into()),
        result: trainyard::ops::audit::result::ATTEMPT.into(),
        ..Entry::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_chain_however_many_write_at_once_and_the_file_verifier_checks_it() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let pg = Pg::start();
    store(&pg).await;
    // Twelve writers on twelve connections at once: one chain, no fork, no gap.
    let writers = (0..12).map(|i| {
        let t = target(&pg, PASSWORD);
        tokio::spawn(async move {
            let mut c = pg::connect(&t).await.unwrap();
            audit::append(&mut c, entry(&format!("user{i}"), "payments"))
                .await
                .unwrap()
        })
    });
    let mut seqs: Vec<u64> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .map(|r| r.unwrap().seq)
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<u64>>());
    let c = pg::connect(&target(&pg, PASSWORD)).await.unwrap();
    let v = audit::verify(&c).await.unwrap();
    assert!(v.intact() && v.records == 12, "{v:?}");
    // The export is JSON Lines that the file's own verifier checks, as a file would be.
    let bytes = audit::export(&c).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = AuditLog::new(dir.path().join("audit.jsonl"));
    std::fs::write(file.path(), &bytes).unwrap();
    let fv = file.verify().unwrap();
    assert_eq!((fv.intact(), fv.records, fv.head), (true, 12, v.head));
    // A fork is impossible even without the lock: a second record on the same prev_hash.
    let second = pg.psql("SELECT prev_hash FROM trainyard_audit WHERE seq = 2");
    let forked = pg.psql_result(&format!(
        "INSERT INTO trainyard_audit (seq, prev_hash, hash, line) VALUES (99, '{}', 'x', '{{}}')",
        second.trim()
    ));
    assert!(
        forked.is_err_and(|e| e.contains("trainyard_audit_prev_hash_key")),
        "a fork was accepted"
    );
    // An edited row fails verify, at its line.
    pg.psql("UPDATE trainyard_audit SET line = replace(line, '\"user', '\"mallory') WHERE seq = 5");
    let v = audit::verify(&c).await.unwrap();
    assert_eq!(
        v.first_bad.map(|(line, _)| line),
        Some(5),
        "an edit goes unseen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_log_is_carried_into_a_new_store_whole() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = AuditLog::new(dir.path().join("audit.jsonl"));
    for lane in ["web", "payments", "ledger"] {
        file.append(entry("alice", lane)).unwrap();
    }
    let bytes = std::fs::read(file.path()).unwrap();
    let pg = Pg::start();
    let mut c = store(&pg).await;
    assert_eq!(audit::import(&mut c, &bytes).await.unwrap(), 3);
    assert_eq!(
        audit::export(&c).await.unwrap(),
        bytes,
        "the same bytes, the same hashes"
    );
    // The chain goes on from the imported end.
    let r = audit::append(&mut c, entry("bob", "web")).await.unwrap();
    assert_eq!(r.seq, 4);
    assert!(audit::verify(&c).await.unwrap().intact());
    let records = audit::read(&c).await.unwrap();
    assert_eq!(records.last().unwrap().actor, "bob");
    // Into a store with a chain: refused, nothing written.
    let e = audit::import(&mut c, &bytes).await.unwrap_err().to_string();
    assert!(e.contains("has an audit chain already (4 records)"), "{e}");
    // A log that does not verify: refused.
    let mut c2 = {
        pg.psql("TRUNCATE trainyard_audit");
        c
    };
    let broken = String::from_utf8(bytes)
        .unwrap()
        .replace("\"alice\"", "\"eve\"");
    let e = audit::import(&mut c2, broken.as_bytes())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not verify"), "{e}");
    assert_eq!(audit::read(&c2).await.unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_under_the_lock_refuses_a_second_attempt() {
    if !common::pg::available("the PostgreSQL store's tests") {
        return;
    }
    let pg = Pg::start();
    store(&pg).await;
    // Two people holding one lane at once: the check (which sees the records the holds are
    // replayed from) sees the other's hold.
    let tries = ["alice", "bob"].map(|who| {
        let t = target(&pg, PASSWORD);
        tokio::spawn(async move {
            let mut c = pg::connect(&t).await.unwrap();
            audit::append_if(
                &mut c,
                |records| match records
                    .iter()
                    .find(|r| r.lane.as_deref() == Some("payments"))
                {
                    Some(r) => Err(format!("{} is holding payments", r.actor)),
                    None => Ok(()),
                },
                Entry {
                    action: "pause".into(),
                    stage: None,
                    ..entry(who, "payments")
                },
                None,
            )
            .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        refused.to_string().contains("is holding payments"),
        "{refused}"
    );
    let c = pg::connect(&target(&pg, PASSWORD)).await.unwrap();
    assert_eq!(audit::read(&c).await.unwrap().len(), 1);
}
