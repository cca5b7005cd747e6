//! `trainyard audit` against the postgres store, as a user runs it (the real binary, a real
//! PostgreSQL on loopback): the same listing and verification as the file; an edited row
//! fails `audit verify` naming it; `audit export` writes JSON Lines the file's verifier
//! checks; `audit import` carries a local log into a new store and only a new one; and
//! `status` still answers while the store is down.

mod common;

use std::path::{Path, PathBuf};

use trainyard::ops::audit::{AuditLog, Entry, result};

use common::bin::trainyard;
use common::pg::{PASSWORD, Pg};

/// A config whose store is `pg`'s database `db` (and whose one source, never polled by the
/// audit commands, is the simulator `sim` when given).
fn config(dir: &Path, pg: &Pg, db: &str, sim: Option<&str>) -> PathBuf {
    let url = pg.url().replace("/trainyard", &format!("/{db}"));
    let text = format!(
        "identity = \"alice@jump-1\"\n\
         [train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\
         [sources.sim]\nkind = \"http\"\nurl = \"{}\"\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\
         [store]\nkind = \"postgres\"\nurl = \"{url}\"\npassword_cmd = \"echo {PASSWORD}\"\n",
        sim.unwrap_or("http://127.0.0.1:9")
    );
    let path = dir.join(format!("{db}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn file_config(dir: &Path, log: &Path) -> PathBuf {
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\
         [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\
         [[lanes]]\nname = \"api\"\nsource = \"sim\"\n\
         [audit]\npath = {log:?}\n"
    );
    let path = dir.join("file.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn entry(actor: &str, action: &str, res: &str) -> Entry {
    Entry {
        id: format!("{actor}-{action}"),
        actor: actor.into(),
        origin: "ssh from 10.0.0.1".into(),
        action: action.into(),
        reason: Some("incident 9".into()),
        result: res.into(),
        ..Entry::default()
    }
}

#[test]
fn audit_lists_verifies_exports_and_imports_against_the_store() {
    if !common::pg::available("the team store's audit commands") {
        return;
    }
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // A local log, as one person's trainyard left it: carried into the store.
    let local = home.join("audit.jsonl");
    let log = AuditLog::new(&local);
    log.append(entry("alice@jump-1", "halt", result::ATTEMPT))
        .unwrap();
    log.append(entry("alice@jump-1", "halt", result::DONE))
        .unwrap();
    log.append(entry("alice@jump-1", "unhalt", result::ATTEMPT))
        .unwrap();
    let store = config(home, &pg, "trainyard", None);

    let imported = trainyard(home, &store, &["audit", "import", local.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{imported}");
    assert!(imported.stdout.contains("3 records"), "{imported}");
    // Only into a store without a chain: the second import would fork or double it.
    let again = trainyard(home, &store, &["audit", "import", local.to_str().unwrap()]);
    assert_eq!(again.code, 6, "{again}");
    assert!(
        again
            .stderr
            .contains("has an audit chain already (3 records)"),
        "{again}"
    );

    let listed = trainyard(home, &store, &["audit"]);
    assert_eq!(listed.code, 0, "{listed}");
    assert_eq!(listed.stdout.lines().count(), 3, "{listed}");
    assert!(
        listed
            .stdout
            .contains("alice@jump-1 [ssh from 10.0.0.1] halt: done"),
        "{listed}"
    );
    let json = trainyard(home, &store, &["audit", "--json"]);
    let first: serde_json::Value =
        serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["action"], "halt");

    let verified = trainyard(home, &store, &["audit", "verify"]);
    assert_eq!(verified.code, 0, "{verified}");
    assert!(verified.stdout.contains("intact: 3 records"), "{verified}");

    // The export is the chain as the file holds it: the file's verifier checks it.
    let exported = home.join("export.jsonl");
    let out = trainyard(
        home,
        &store,
        &["audit", "export", exported.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        std::fs::read(&local).unwrap(),
        "the same records, byte for byte"
    );
    let file = file_config(home, &exported);
    let checked = trainyard(home, &file, &["audit", "verify"]);
    assert_eq!(checked.code, 0, "{checked}");

    // Someone with write access edits a row: the chain breaks there, and says where.
    pg.psql(
        "UPDATE trainyard_audit SET line = replace(line, 'incident 9', 'routine') WHERE seq = 2",
    );
    let broken = trainyard(home, &store, &["audit", "verify"]);
    assert_eq!(broken.code, 1, "{broken}");
    assert!(broken.stdout.contains(":2: chain broken"), "{broken}");
    assert!(
        broken.stdout.contains("1 records verified before line 2"),
        "{broken}"
    );
}

/// A log that does not verify is not carried into a store; a file store has nothing to
/// import into.
#[test]
fn a_broken_log_is_not_imported() {
    if !common::pg::available("the team store's audit commands") {
        return;
    }
    let pg = Pg::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let local = home.join("audit.jsonl");
    let log = AuditLog::new(&local);
    log.append(entry("bob", "halt", result::ATTEMPT)).unwrap();
    log.append(entry("bob", "halt", result::DONE)).unwrap();
    let text = std::fs::read_to_string(&local)
        .unwrap()
        .replace("bob", "eve");
    std::fs::write(&local, text).unwrap();
    let store = config(home, &pg, "trainyard", None);
    let refused = trainyard(home, &store, &["audit", "import", local.to_str().unwrap()]);
    assert_eq!(refused.code, 6, "{refused}");
    assert!(
        refused.stderr.contains("does not verify (line 1"),
        "{refused}"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM trainyard_audit").trim(), "0");

    let file = file_config(home, &home.join("other.jsonl"));
    let nothing = trainyard(home, &file, &["audit", "import", local.to_str().unwrap()]);
    assert_eq!(nothing.code, 2, "{nothing}");
    assert!(nothing.stderr.contains("kind = \"postgres\""), "{nothing}");
}

/// `status` answers with the store down: the train from the sources, and a warning that the
/// halt and holds are not known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_answers_while_the_store_is_down() {
    if !common::pg::available("the team store's audit commands") {
        return;
    }
    let pg = Pg::start();
    let sim = common::sim::start(common::sim::opts()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let store = config(&home, &pg, "trainyard", Some(&sim.base_url()));
    pg.stop();
    let run = tokio::task::spawn_blocking(move || trainyard(&home, &store, &["status", "--json"]))
        .await
        .unwrap();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["lanes"][0]["name"], "api");
    assert!(
        run.stderr.contains("holds and the halt are not known"),
        "{run}"
    );
    assert!(run.stderr.contains("127.0.0.1"), "{run}");
}
