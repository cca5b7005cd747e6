//! A source's `ca_file`: PEM certificates trusted besides the system's roots. One reader for
//! the config check (`trainyard config check`, and every start) and for the HTTP client
//! (`sources::client` builds with it): a file the check lets through is a file the client can
//! read, and the words for a bad one are the same in both places.

/// The certificates of a `ca_file` as written (`~/` is the home directory); an error names the
/// file and what is wrong with it.
pub fn read_ca_file(ca: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let path = super::expand_home(ca);
    let shown = path.display();
    let cannot_read = |e: std::io::Error| format!("ca_file {shown}: cannot read: {e}");
    if !std::fs::metadata(&path).map_err(cannot_read)?.is_file() {
        return Err(format!("ca_file {shown} is not a regular file"));
    }
    let bytes = std::fs::read(&path).map_err(cannot_read)?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| {
        format!(
            "ca_file {shown} is not a PEM certificate bundle: {}",
            cause(&e)
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "ca_file {shown} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")"
        ));
    }
    Ok(certs)
}

/// The innermost cause of an error: reqwest says "builder error" and keeps the reason
/// ("invalid certificate encoding") as its source.
fn cause(e: &dyn std::error::Error) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}
