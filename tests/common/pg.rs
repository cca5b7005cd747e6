//! A real PostgreSQL for a test: Debian's server binaries (`/usr/lib/postgresql/N/bin`),
//! a cluster made with `initdb` in a temporary directory owned by the `postgres` user,
//! started with `pg_ctl` on a free loopback port (and a socket in the same directory), and
//! stopped when the value is dropped. Password authentication (scram-sha-256) over TCP for
//! a role of the test's own; the superuser only through the socket.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest server binaries installed, if any.
pub fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Whether a server can be started here; under CI its absence is a failure (`.ci/run`
/// installs `postgresql`), else the test says it is skipped.
pub fn available(what: &str) -> bool {
    let ok = bin_dir().is_some() && which_runuser();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL's server is required for {what} (.ci/run installs postgresql)");
        }
        eprintln!("SKIPPED: PostgreSQL's server is not installed; {what} is not run");
    }
    ok
}

fn which_runuser() -> bool {
    Command::new("runuser")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A running cluster; stopped (immediately) and removed when dropped.
pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

/// The role the tests connect as, and its password.
pub const USER: &str = "trainyard";
pub const PASSWORD: &str = "train-yard-test-pw";
pub const DATABASE: &str = "trainyard";

impl Pg {
    /// initdb, start, and create the test's role and database.
    pub fn start() -> Pg {
        let bin = bin_dir().expect("PostgreSQL's server binaries");
        let dir = tempfile::Builder::new()
            .prefix("trainyard-pg-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        // The directory is the postgres user's, who runs the server.
        run(Command::new("chown").arg("postgres:").arg(dir.path()));
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, "superuser-pw\n").unwrap();
        run(Command::new("chown").arg("postgres:").arg(&pwfile));
        as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                path(&data),
                "-U",
                "postgres",
                "--pwfile",
                path(&pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let port = super::free_port();
        let pg = Pg { dir, bin, port };
        pg.ctl_start();
        pg.psql_in(
            "postgres",
            &format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"),
        );
        pg.psql_in(
            "postgres",
            &format!("CREATE DATABASE {DATABASE} OWNER {USER}"),
        );
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn ctl_start(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path(&self.data()),
                "-o",
                &opts,
                "-l",
                path(&log),
                "-w",
                "start",
            ],
        );
    }

    /// Stop the server (immediately: a crash, as far as clients can tell).
    pub fn stop(&self) {
        as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", path(&self.data()), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Start it again after [`Pg::stop`], on the same port.
    pub fn restart(&self) {
        self.ctl_start();
    }

    /// Run SQL as the superuser in the test's database, through the socket; its output.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in(DATABASE, sql)
    }

    /// Run SQL as the superuser in the test's database: its output, or the error's words.
    pub fn psql_result(&self, sql: &str) -> Result<String, String> {
        let out = self.psql_command(DATABASE, sql);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn psql_command(&self, db: &str, sql: &str) -> std::process::Output {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("psql"))
            .args(["-h", path(self.dir.path()), "-p", &self.port.to_string()])
            .args([
                "-d",
                db,
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs")
    }

    /// Run SQL as the superuser in `db`; its output.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let out = self.psql_command(db, sql);
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The URL of the test's database for its role, without the password.
    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", path(&self.data()), "-m", "immediate", "stop"])
            .output();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_postgres(program: &Path, args: &[&str]) {
    run(Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args));
}
