//! `[store]`: where the state a team shares lives.
//!
//! ```toml
//! [store]
//! kind = "postgres"                       # "file" (the default) or "postgres"
//! url = "postgres://trainyard@db.example.com:5432/trainyard"
//! password_env = "TRAINYARD_DB_PASSWORD"  # or password_cmd, password_file
//! ca_file = "/etc/ssl/corp-ca.pem"        # trusted besides the system's roots
//! ```

use std::ops::Range;

use toml::Spanned;

use super::super::diag::{Diagnostics, list_hint};
use super::super::raw::{RawStore, Str};
use super::positive_duration;
use super::sources::{ca_file, secret_keys};
use crate::config::{DEFAULT_STORE_CONNECT_TIMEOUT, PostgresStore, StoreConfig};

const KINDS: [&str; 2] = ["file", "postgres"];

/// The store as the config says, every problem recorded in `d`.
pub(super) fn store(
    raw: Option<Spanned<RawStore>>,
    d: &mut Diagnostics,
    check_files: bool,
) -> StoreConfig {
    let Some(raw) = raw else {
        return StoreConfig::File;
    };
    let span = raw.span();
    let raw = raw.into_inner();
    let kind = match &raw.kind {
        None => "file",
        Some(k) => match k.get_ref().as_str() {
            "file" => "file",
            "postgres" => "postgres",
            other => {
                d.error_hint(
                    k.span(),
                    format!("unknown store kind {other:?}"),
                    list_hint("store kinds", other, &KINDS),
                );
                return StoreConfig::File;
            }
        },
    };
    if kind == "file" {
        // The file store's place is `[audit] path`: a key of the postgres store here is a
        // mistake in the kind, not something to ignore.
        let stray = [
            ("url", &raw.url),
            ("password_env", &raw.password_env),
            ("password_cmd", &raw.password_cmd),
            ("password_file", &raw.password_file),
            ("ca_file", &raw.ca_file),
            ("connect_timeout", &raw.connect_timeout),
        ];
        for (key, value) in stray {
            if let Some(v) = value {
                d.error_hint(
                    v.span(),
                    format!("{key} is a key of the postgres store, and this store is the file"),
                    "set `kind = \"postgres\"` to share the train through PostgreSQL, or take the key out",
                );
            }
        }
        return StoreConfig::File;
    }
    let url = url(d, raw.url.as_ref(), span);
    secret_keys(
        d,
        &[
            ("password_env", &raw.password_env),
            ("password_cmd", &raw.password_cmd),
            ("password_file", &raw.password_file),
        ],
        "password",
        check_files,
    );
    ca_file(d, &raw.ca_file, check_files);
    let connect_timeout = positive_duration(d, "connect_timeout", raw.connect_timeout.as_ref())
        .unwrap_or(DEFAULT_STORE_CONNECT_TIMEOUT);
    let text = |v: Option<Str>| v.map(Spanned::into_inner);
    StoreConfig::Postgres(PostgresStore {
        url,
        password_env: text(raw.password_env),
        password_cmd: text(raw.password_cmd),
        password_file: text(raw.password_file),
        ca_file: text(raw.ca_file),
        connect_timeout,
    })
}

/// The URL, checked as the store's client will read it: PostgreSQL's form, a host, and no
/// password inside (it would sit in a file many can read, and in every error message).
fn url(d: &mut Diagnostics, url: Option<&Str>, table: Range<usize>) -> String {
    let Some(url) = url else {
        d.error_hint(
            table,
            "the postgres store has no url",
            "add `url = \"postgres://trainyard@db.example.com:5432/trainyard\"`",
        );
        return String::new();
    };
    let text = url.get_ref().trim();
    if let Err(e) = crate::store::pg::parse_url(text) {
        // The URL may hold a password: never repeated.
        let hint = "postgres://USER@HOST:5432/DATABASE, with the password from password_env, \
                    password_cmd or password_file";
        d.error_hint(url.span(), format!("store url: {e}"), hint);
    }
    text.to_string()
}
