//! Transport: https with a corporate CA, certificate errors in words, proxies from the
//! environment, https-only redirects, and the insecure-http exemption said out loud.
//!
//! Everything runs on 127.0.0.1: a CA and certificates made here (rcgen), a TLS front
//! (tokio-rustls) that passes the connection on to the simulator, and a small HTTP proxy that
//! records what it is asked. Host names such as `deploy.example.test` are only ever resolved
//! by that proxy (which sends everything to loopback) or by a `resolve` override: no test
//! looks a name up in DNS.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use common::bin::{Run, Trainyard};
use common::sim::{self, Background};
use trainyard::sources::client::{self, ProxyEnv};

/// A test CA and what it signs.
struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "trainyard test corporate CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Pki {
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now unless
    /// `expired`.
    fn leaf(
        &self,
        names: &[&str],
        expired: bool,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "deploy test server");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }
}

/// Servers on loopback, on their own runtime, for the length of a test: the simulator, and
/// what a test adds in front of it.
struct Net {
    bg: Background,
    sim_addr: SocketAddr,
}

impl Net {
    /// A runtime with the simulator on it.
    fn start() -> Net {
        let bg = Background::start(sim::opts());
        Net {
            sim_addr: bg.addr,
            bg,
        }
    }

    /// A TLS server with `cert` that hands every connection to the simulator.
    fn tls_front(&self, cert: (CertificateDer<'static>, PrivateKeyDer<'static>)) -> SocketAddr {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.0], cert.1)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let backend = self.sim_addr;
        let listener = self
            .bg
            .rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        self.bg.rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (the client did not trust us) just ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut up) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        addr
    }

    /// An HTTP proxy that records the first line of every request: plain requests go to the
    /// simulator, CONNECT tunnels to `tunnel_to` (whatever host they name).
    fn proxy(&self, tunnel_to: Option<SocketAddr>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = self
            .bg
            .rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let backend = self.sim_addr;
        let log = Arc::clone(&seen);
        self.bg.rt.spawn(async move {
            loop {
                let Ok((mut c, _)) = listener.accept().await else {
                    return;
                };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let end = loop {
                        let mut chunk = [0u8; 4096];
                        let n = match c.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let first = head.lines().next().unwrap_or_default().to_string();
                    log.lock().unwrap().push(first.clone());
                    let mut up = if first.starts_with("CONNECT ") {
                        let Some(to) = tunnel_to else { return };
                        let Ok(up) = TcpStream::connect(to).await else {
                            return;
                        };
                        if c.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                            .await
                            .is_err()
                        {
                            return;
                        }
                        let mut up = up;
                        let _ = up.write_all(&buf[end..]).await;
                        up
                    } else {
                        // Absolute-form requests go as they are: the server takes them.
                        let Ok(mut up) = TcpStream::connect(backend).await else {
                            return;
                        };
                        if up.write_all(&buf).await.is_err() {
                            return;
                        }
                        up
                    };
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut up).await;
                });
            }
        });
        (addr, seen)
    }
}

/// A train of one simulated lane read from source `corp` at `url`, with `extra` keys.
fn config(url: &str, extra: &str) -> String {
    format!(
        "[train]\nname = \"t\"\nstages = [\"build\", \"staging\", \"canary\", \"prod\"]\n\n\
         [sources.corp]\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n\n\
         [[lanes]]\nname = \"ledger\"\nsource = \"corp\"\n"
    )
}

/// `trainyard status ARGS` with `config`, no proxy variables but `env`, HOME in `dir`.
fn status(dir: &Path, config: &str, args: &[&str], env: &[(&str, String)]) -> Run {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    Trainyard::new(dir)
        .config(&path)
        .args(["status"])
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .run()
}

fn source_line(run: &Run) -> &str {
    run.stdout
        .lines()
        .find(|l| l.trim_start().starts_with("corp (http)"))
        .unwrap_or_else(|| panic!("no source line:\n{}\n{}", run.stdout, run.stderr))
}

#[test]
fn a_corporate_ca_is_refused_in_words_until_ca_file_names_it() {
    let net = Net::start();
    let pki = Pki::new();
    let front = net.tls_front(pki.leaf(&["127.0.0.1", "deploy.example.test"], false));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{}", front.port());

    // Without ca_file: not trusted, and the message says how to fix it.
    let run = status(dir.path(), &config(&url, ""), &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let line = source_line(&run);
    assert!(
        line.contains(
            "FAILED: certificate not trusted: the server's certificate is not signed by a CA \
             trainyard trusts"
        ) && line.contains("set ca_file = \"/path/to/corp-ca.pem\" on source corp"),
        "{line}"
    );

    // With the CA in ca_file ("~/" is the home directory): the poll works.
    std::fs::write(dir.path().join("corp-ca.pem"), &pki.ca_pem).unwrap();
    let run = status(
        dir.path(),
        &config(&url, "ca_file = \"~/corp-ca.pem\""),
        &["--json"],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["sources"][0]["ok"], true, "{v:#}");
    assert_eq!(v["sources"][0]["insecure_http"], false, "{v:#}");
    assert!(v["lanes"][0]["cells"][0]["version"].is_string(), "{v:#}");

    // A bundle: another certificate first, the CA second.
    let other = Pki::new();
    std::fs::write(
        dir.path().join("bundle.pem"),
        format!("{}\n{}", other.ca_pem, pki.ca_pem),
    )
    .unwrap();
    let run = status(
        dir.path(),
        &config(&url, "ca_file = \"~/bundle.pem\""),
        &[],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // The wrong CA: still not trusted.
    std::fs::write(dir.path().join("other.pem"), &other.ca_pem).unwrap();
    let run = status(
        dir.path(),
        &config(&url, "ca_file = \"~/other.pem\""),
        &[],
        &[],
    );
    assert!(
        source_line(&run).contains("certificate not trusted"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_bad_ca_file_is_named_at_config_or_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://127.0.0.1:9";
    // Not PEM at all: a config error at the key.
    std::fs::write(dir.path().join("ca.pem"), "hello\n").unwrap();
    let run = status(dir.path(), &config(url, "ca_file = \"~/ca.pem\""), &[], &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let want = format!(
        "config.toml:8:11: ca_file {} holds no PEM certificate",
        dir.path().join("ca.pem").display()
    );
    assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    // Missing.
    let run = status(
        dir.path(),
        &config(url, "ca_file = \"~/nope.pem\""),
        &[],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("nope.pem: cannot read"),
        "{}",
        run.stderr
    );
    // PEM armour around something that is not a certificate: the source can't start, and
    // says which file.
    std::fs::write(
        dir.path().join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let run = status(dir.path(), &config(url, "ca_file = \"~/ca.pem\""), &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let line = source_line(&run);
    assert!(
        line.contains("FAILED: cannot build the HTTP client with ca_file"),
        "{line}"
    );
    assert!(line.contains("ca.pem"), "{line}");
}

#[test]
fn expired_and_misnamed_certificates_explain_themselves() {
    let net = Net::start();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let ca = "ca_file = \"~/ca.pem\"";

    let expired = net.tls_front(pki.leaf(&["127.0.0.1"], true));
    let url = format!("https://127.0.0.1:{}", expired.port());
    let run = status(dir.path(), &config(&url, ca), &[], &[]);
    let line = source_line(&run);
    assert!(
        line.contains("certificate expired: the server's certificate expired at 2021-01-01")
            && line.contains("the server must renew it"),
        "{line}"
    );

    let misnamed = net.tls_front(pki.leaf(&["other.example.test"], false));
    let url = format!("https://127.0.0.1:{}", misnamed.port());
    let run = status(dir.path(), &config(&url, ca), &[], &[]);
    let line = source_line(&run);
    assert!(
        line.contains("certificate for another name: the server's certificate is not for \"127.0.0.1\" but for other.example.test"),
        "{line}"
    );

    // A self-signed CA certificate served as the server's own (openssl req -x509 makes
    // these): no ca_file can make it work, and the words say so.
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("self.pem"), cert.pem()).unwrap();
    let selfsigned = net.tls_front((
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ));
    let url = format!("https://127.0.0.1:{}", selfsigned.port());
    let run = status(
        dir.path(),
        &config(&url, "ca_file = \"~/self.pem\""),
        &[],
        &[],
    );
    let line = source_line(&run);
    assert!(
        line.contains("certificate not usable: the server presents a CA certificate as its own"),
        "{line}"
    );
}

#[test]
fn http_proxy_carries_plain_requests_and_the_exemption_is_said() {
    let net = Net::start();
    let (proxy, seen) = net.proxy(None);
    let dir = tempfile::tempdir().unwrap();
    // A host only the proxy knows: without the proxy this could not work at all.
    let cfg = config("http://deploy.example.test", "allow_insecure_http = true");
    let env = [("http_proxy", format!("http://127.0.0.1:{}", proxy.port()))];
    let run = status(dir.path(), &cfg, &[], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        source_line(&run).contains("corp (http): ok  [INSECURE http: allow_insecure_http = true]"),
        "{}",
        run.stdout
    );
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l == "GET http://deploy.example.test/v1/train HTTP/1.1"),
        "{lines:?}"
    );
    let run = status(dir.path(), &cfg, &["--json"], &env);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["sources"][0]["insecure_http"], true, "{v:#}");
}

#[test]
fn https_proxy_tunnels_and_the_ca_file_still_applies() {
    let net = Net::start();
    let pki = Pki::new();
    let front = net.tls_front(pki.leaf(&["deploy.example.test"], false));
    let (proxy, seen) = net.proxy(Some(front));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let cfg = config("https://deploy.example.test", "ca_file = \"~/ca.pem\"");
    let env = [("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port()))];
    let run = status(dir.path(), &cfg, &[], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        source_line(&run).ends_with("corp (http): ok"),
        "{}",
        run.stdout
    );
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l == "CONNECT deploy.example.test:443 HTTP/1.1"),
        "{lines:?}"
    );
    // ALL_PROXY does the same.
    seen.lock().unwrap().clear();
    let env = [("ALL_PROXY", format!("http://127.0.0.1:{}", proxy.port()))];
    let run = status(dir.path(), &cfg, &[], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!seen.lock().unwrap().is_empty());
}

#[test]
fn loopback_never_goes_through_a_proxy() {
    let net = Net::start();
    let (proxy, seen) = net.proxy(None);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", net.sim_addr.port());
    let p = format!("http://127.0.0.1:{}", proxy.port());
    let env = [("HTTP_PROXY", p.clone()), ("ALL_PROXY", p)];
    let run = status(dir.path(), &config(&url, ""), &[], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

/// NO_PROXY, through the same client builder the sources use (`deploy.example.test` is
/// resolved to the simulator by an override, so nothing is looked up in DNS).
#[test]
fn no_proxy_sends_matching_hosts_direct() {
    let net = Net::start();
    let (proxy, seen) = net.proxy(None);
    let cfg = trainyard::config::parse(
        &config("http://deploy.example.test", "allow_insecure_http = true"),
        "t.toml",
    )
    .unwrap();
    let src = &cfg.sources["corp"];
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    let get = |env: ProxyEnv| {
        let client = client::builder(src, &env)
            .unwrap()
            .resolve("deploy.example.test", net.sim_addr)
            .build()
            .unwrap();
        let url = format!(
            "http://deploy.example.test:{}/v1/train",
            net.sim_addr.port()
        );
        net.bg
            .rt
            .block_on(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
            .unwrap()
    };
    let through = ProxyEnv {
        http: Some(proxy_url.clone()),
        ..ProxyEnv::default()
    };
    assert_eq!(get(through), 200);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "without NO_PROXY: via the proxy"
    );
    for no in ["example.test", ".example.test", "deploy.example.test", "*"] {
        let direct = ProxyEnv {
            http: Some(proxy_url.clone()),
            no: Some(format!("internal.corp, {no}")),
            ..ProxyEnv::default()
        };
        assert_eq!(get(direct), 200);
        assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY={no}: direct");
    }
    // The environment as the process reads it: upper case, then lower case.
    let env = ProxyEnv::from_lookup(|k| match k {
        "http_proxy" => Some(proxy_url.clone()),
        "no_proxy" => Some("example.test".into()),
        _ => None,
    });
    assert_eq!(get(env), 200);
    assert_eq!(seen.lock().unwrap().len(), 1, "no_proxy: direct");
}

/// A server on loopback that redirects `/v1/train` to `location`.
fn redirector(net: &Net, location: String) -> SocketAddr {
    use axum::http::{StatusCode, header};
    let app = axum::Router::new().route(
        "/v1/train",
        axum::routing::get(move || {
            let location = location.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, location)], "") }
        }),
    );
    let listener = net
        .bg
        .rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    net.bg.rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[test]
fn a_redirect_to_plain_http_off_this_host_is_refused_with_the_reason() {
    let net = Net::start();
    let dir = tempfile::tempdir().unwrap();
    // Were the redirect followed, it would go to this proxy (not to DNS), which would answer.
    let (proxy, seen) = net.proxy(None);
    let env = [("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port()))];
    // To a host that is not loopback over plain http: refused before any connection.
    let away = redirector(
        &net,
        "http://deploy.example.test/v1/train?access_token=s3cr3t-in-a-redirect".into(),
    );
    let url = format!("http://127.0.0.1:{}", away.port());
    let run = status(dir.path(), &config(&url, ""), &[], &env);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let line = source_line(&run);
    assert!(
        line.contains(
            "FAILED: refused a redirect to plain http:// \
             (http://deploy.example.test/v1/train?access_token=***): source corp talks https only"
        ),
        "{line}"
    );
    assert!(
        !run.stdout.contains("s3cr3t-in-a-redirect"),
        "{}",
        run.stdout
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );

    // To loopback: followed.
    let home = redirector(
        &net,
        format!("http://127.0.0.1:{}/v1/train", net.sim_addr.port()),
    );
    let url = format!("http://127.0.0.1:{}", home.port());
    let run = status(dir.path(), &config(&url, ""), &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// A redirect to another host or port does not take the token along (reqwest drops the
/// Authorization header across origins; trainyard relies on it, so it is pinned here). The
/// same origin keeps it.
#[test]
fn the_token_does_not_follow_a_redirect_to_another_origin() {
    use axum::http::{HeaderMap, StatusCode, header};
    let net = Net::start();
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let landing = axum::Router::new().route(
        "/v1/train",
        axum::routing::get(move |headers: HeaderMap| {
            let log = Arc::clone(&log);
            async move {
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                log.lock().unwrap().push(auth);
                (StatusCode::OK, r#"{"protocol":1,"cells":[]}"#)
            }
        }),
    );
    let listener = net
        .bg
        .rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let other = listener.local_addr().unwrap();
    net.bg.rt.spawn(async move {
        let _ = axum::serve(listener, landing).await;
    });
    let away = redirector(&net, format!("http://127.0.0.1:{}/v1/train", other.port()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!("http://127.0.0.1:{}", away.port()),
        "token_env = \"TY_TRANSPORT_TOKEN\"",
    );
    let run = status(
        dir.path(),
        &cfg,
        &[],
        &[("TY_TRANSPORT_TOKEN", "tr4nsport-t0ken-value".to_string())],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![None],
        "the token crossed to another origin"
    );
    // The same origin: sent (the landing server asked directly).
    let cfg = config(
        &format!("http://127.0.0.1:{}", other.port()),
        "token_env = \"TY_TRANSPORT_TOKEN\"",
    );
    let run = status(
        dir.path(),
        &cfg,
        &[],
        &[("TY_TRANSPORT_TOKEN", "tr4nsport-t0ken-value".to_string())],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        seen.lock().unwrap().last().cloned().flatten().as_deref(),
        Some("Bearer tr4nsport-t0ken-value")
    );
}
