//! What `load` says of a `ca_file` (the pure `parse` reads no file).

use std::path::Path;

/// Load a config whose one source trusts the CA file `pem` holding `contents`: the errors,
/// one a line, empty when it loaded.
fn load_with_ca(dir: &Path, contents: &str) -> String {
    let pem = dir.join("ca.pem");
    std::fs::write(&pem, contents).unwrap();
    let text = format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
         [sources.corp]\nkind = \"http\"\nurl = \"https://deploy.example.com\"\n\
         ca_file = {pem:?}\n\n[[lanes]]\nname = \"api\"\nsource = \"corp\"\n",
        pem = pem.display().to_string(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    match crate::config::load(&path) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_ca_file_with_the_begin_line_but_garbage_inside_is_a_config_error_at_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let at = format!(
        "{}:8:11: ca_file {}",
        dir.path().join("config.toml").display(),
        dir.path().join("ca.pem").display()
    );
    for garbage in [
        "-----BEGIN CERTIFICATE-----\nthis is not base64 !!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n",
    ] {
        let err = load_with_ca(dir.path(), garbage);
        let want = format!("{at} is not a PEM certificate bundle: ");
        assert!(err.contains(&want), "{want:?} missing in:\n{err}");
        // The client reads it with the same reader, and says the same.
        let e = crate::config::read_ca_file(dir.path().join("ca.pem").to_str().unwrap());
        assert!(err.contains(&e.unwrap_err()), "{err}");
    }
    let err = load_with_ca(dir.path(), "no certificate here\n");
    assert!(
        err.contains(&format!("{at} holds no PEM certificate")),
        "{err}"
    );
    // A real certificate loads.
    let cert = rcgen::generate_simple_self_signed(vec!["corp.example".into()]).unwrap();
    assert_eq!(load_with_ca(dir.path(), &cert.cert.pem()), "");
}
