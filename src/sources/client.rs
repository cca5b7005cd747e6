//! The one place that builds the HTTP client of every source: timeouts, user agent, the
//! source's `ca_file`, proxies from the environment, and https-only redirects.
//!
//! - **Timeouts**: connect and read within the source's `timeout`, a whole request within
//!   twice that.
//! - **ca_file**: its PEM certificates are trusted besides the system's roots (which
//!   `SSL_CERT_FILE` / `SSL_CERT_DIR` can point elsewhere).
//! - **Proxies**: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` (or their lower-case forms) and
//!   `NO_PROXY`, as curl reads them. Loopback hosts (`localhost`, 127.0.0.0/8, ::1) never go
//!   through a proxy: the proxy's loopback is not this host's. A password in a proxy URL is a
//!   secret like a token (never shown).
//! - **https only**: a redirect to plain http:// on a host that is not loopback is refused,
//!   with the reason, unless the source sets `allow_insecure_http = true`.

use reqwest::redirect;

use crate::config::SourceConfig;
use crate::secrets;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 10;

/// Hosts that never go through a proxy, whatever `NO_PROXY` says.
const ALWAYS_DIRECT: &str = "localhost,127.0.0.0/8,::1";

/// The proxy settings of the environment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    pub no: Option<String>,
}

impl std::fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.as_deref().map(secrets::redact);
        f.debug_struct("ProxyEnv")
            .field("http", &show(&self.http))
            .field("https", &show(&self.https))
            .field("all", &show(&self.all))
            .field("no", &self.no)
            .finish()
    }
}

impl ProxyEnv {
    /// From this process's environment.
    pub fn from_env() -> ProxyEnv {
        ProxyEnv::from_lookup(|k| std::env::var(k).ok())
    }

    /// From any lookup (the upper-case name first, then the lower-case one; empty is unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let var = |name: &str| {
            [name.to_string(), name.to_ascii_lowercase()]
                .iter()
                .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
                .map(|v| v.trim().to_string())
        };
        ProxyEnv {
            http: var("HTTP_PROXY"),
            https: var("HTTPS_PROXY"),
            all: var("ALL_PROXY"),
            no: var("NO_PROXY"),
        }
    }

    /// The `NO_PROXY` list trainyard uses: the environment's and the loopback hosts.
    fn no_proxy(&self) -> Option<reqwest::NoProxy> {
        let list = match &self.no {
            Some(no) => format!("{no},{ALWAYS_DIRECT}"),
            None => ALWAYS_DIRECT.to_string(),
        };
        reqwest::NoProxy::from_string(&list)
    }

    /// The proxies, most specific first (reqwest takes the first that matches).
    fn proxies(&self) -> Result<Vec<reqwest::Proxy>, String> {
        let mut out = Vec::new();
        let entries = [
            (
                "HTTPS_PROXY",
                &self.https,
                (|u| reqwest::Proxy::https(u)) as ProxyFn,
            ),
            (
                "HTTP_PROXY",
                &self.http,
                (|u| reqwest::Proxy::http(u)) as ProxyFn,
            ),
            (
                "ALL_PROXY",
                &self.all,
                (|u| reqwest::Proxy::all(u)) as ProxyFn,
            ),
        ];
        for (name, value, make) in entries {
            let Some(value) = value else { continue };
            // A proxy given as host:port means http://host:port (as curl reads it).
            let url = if value.contains("://") {
                value.clone()
            } else {
                format!("http://{value}")
            };
            let parsed = url::Url::parse(&url).map_err(|e| {
                format!("{name} is not a proxy URL ({e}): {}", secrets::redact(&url))
            })?;
            if let Some(raw) = parsed.password() {
                register_userinfo(parsed.username(), raw);
            }
            let proxy = make(url.as_str())
                .map_err(|e| {
                    format!(
                        "{name} is not a usable proxy: {}",
                        secrets::redact(&e.to_string())
                    )
                })?
                .no_proxy(self.no_proxy());
            out.push(proxy);
        }
        Ok(out)
    }
}

type ProxyFn = fn(&str) -> reqwest::Result<reqwest::Proxy>;

/// Register a proxy URL's password as a secret, in every form it may show: as written in the
/// URL, decoded, and the `Proxy-Authorization` value made of the decoded user and password.
/// Decoded as reqwest decodes them for that header: percent-decoding (RFC 3986), where `+` is a
/// plus (a form's space is not a URL's).
fn register_userinfo(user: &str, raw_password: &str) {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let password = decode(raw_password);
    secrets::register_basic(&decode(user), &password);
    secrets::register(raw_password);
}

/// The client of a source, with the environment's proxies.
pub fn build(cfg: &SourceConfig) -> Result<reqwest::Client, String> {
    builder(cfg, &ProxyEnv::from_env())?
        .build()
        .map_err(|e| build_error(cfg, &e))
}

fn build_error(cfg: &SourceConfig, e: &reqwest::Error) -> String {
    let mut detail = e.to_string();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    let detail = secrets::redact(&detail);
    match &cfg.ca_file {
        Some(ca) => format!("cannot build the HTTP client with ca_file {ca}: {detail}"),
        None => format!("cannot build the HTTP client: {detail}"),
    }
}

/// The builder [`build`] builds, for tests that add to it.
pub fn builder(cfg: &SourceConfig, proxies: &ProxyEnv) -> Result<reqwest::ClientBuilder, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(cfg.timeout)
        .read_timeout(cfg.timeout)
        .timeout(cfg.timeout.saturating_mul(2))
        .user_agent(concat!("trainyard/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect_policy(&cfg.name, cfg.allow_insecure_http));
    // The base URL was checked with the config; check it again where requests are made.
    let base = url::Url::parse(&cfg.url).map_err(|e| format!("invalid url: {e}"))?;
    if base.scheme() == "http" && !cfg.allow_insecure_http && !is_loopback(&base) {
        return Err(format!(
            "plain http:// is allowed only to loopback hosts, not to {:?}: use https:// or set \
             allow_insecure_http = true on source {}",
            base.host_str().unwrap_or_default(),
            cfg.name
        ));
    }
    if base.scheme() == "https" && !cfg.allow_insecure_http {
        b = b.https_only(true);
    }
    if let Some(ca) = &cfg.ca_file {
        b = b.tls_certs_merge(read_ca_file(ca)?);
    }
    // Explicit: no automatic system proxy, exactly the environment's, with loopback direct.
    b = b.no_proxy();
    for p in proxies.proxies()? {
        b = b.proxy(p);
    }
    Ok(b)
}

/// The certificates of a `ca_file`: read by the config, which checks the file with the same
/// reader.
pub use crate::config::read_ca_file;

/// Follow at most [`MAX_REDIRECTS`]; never from https to plain http on a host that is not
/// loopback unless the source allows insecure http.
fn redirect_policy(source: &str, allow_insecure_http: bool) -> redirect::Policy {
    let source = source.to_string();
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        let next = attempt.url();
        if next.scheme() == "http" && !allow_insecure_http && !is_loopback(next) {
            let message = format!(
                "refused a redirect to plain http:// ({}): source {source} talks https only \
                 (set allow_insecure_http = true on it if the network is trusted)",
                secrets::redact(next.as_str())
            );
            return attempt.error(RedirectRefused(message));
        }
        attempt.follow()
    })
}

/// Why a redirect was not followed, in words.
#[derive(Debug)]
pub(crate) struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

use crate::config::is_loopback;

/// The most a source reads of one answer: more is an error, not an out-of-memory.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// An answer's body, refused past [`MAX_BODY`] (announced or as it arrives). A compressed
/// answer (gzip: every client asks for it) arrives decompressed, and the cap counts what it
/// decompresses to: a small gzip bomb is refused like a large body, before it fills memory.
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || {
        format!(
            "payload larger than {} MiB (counted decompressed): refused",
            MAX_BODY >> 20
        )
    };
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| super::http::describe_reqwest(&e))?
    {
        // Checked before it is kept: never more than the cap in memory.
        if out.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_variables_upper_case_first_empty_is_unset() {
        let env = ProxyEnv::from_lookup(|k| match k {
            "HTTPS_PROXY" => Some("http://proxy:3128".into()),
            "https_proxy" => Some("http://other:1".into()),
            "http_proxy" => Some("proxy:8080".into()),
            "ALL_PROXY" => Some("  ".into()),
            "no_proxy" => Some("internal.example,.corp".into()),
            _ => None,
        });
        assert_eq!(env.https.as_deref(), Some("http://proxy:3128"));
        assert_eq!(env.http.as_deref(), Some("proxy:8080"));
        assert_eq!(env.all, None);
        assert_eq!(env.no.as_deref(), Some("internal.example,.corp"));
        assert_eq!(env.proxies().unwrap().len(), 2);
    }

    #[test]
    fn a_bad_proxy_is_named_and_its_password_never_shown() {
        let env = ProxyEnv {
            https: Some("http://bob:pr0xy-pa55w0rd@[bad".into()),
            ..ProxyEnv::default()
        };
        let e = env.proxies().unwrap_err();
        assert!(e.starts_with("HTTPS_PROXY is not a proxy URL"), "{e}");
        assert!(!e.contains("pr0xy-pa55w0rd"), "{e}");
        // A good one with a password: the password becomes a known secret.
        let env = ProxyEnv {
            http: Some("http://bob:pr0xy-s3cret-2@proxy:3128".into()),
            ..ProxyEnv::default()
        };
        assert_eq!(env.proxies().unwrap().len(), 1);
        assert_eq!(secrets::redact("x pr0xy-s3cret-2 y"), "x *** y");
        assert!(!format!("{env:?}").contains("pr0xy-s3cret-2"));
    }

    /// A source's config for a client aimed at loopback (`extra` adds to the source).
    fn source(extra: &str) -> SourceConfig {
        let text = format!(
            "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
             [sources.p]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n{extra}\n\n\
             [[lanes]]\nname = \"a\"\nsource = \"p\"\n"
        );
        crate::config::parse(&text, "t.toml").unwrap().sources["p"].clone()
    }

    /// A proxy URL's user and password are percent-encoded (RFC 3986): `%2B` is a `+`, and so
    /// is `+` itself (a form's space is not a URL's). What reqwest sends in
    /// `Proxy-Authorization` is made of them decoded so: it, the password as written and as
    /// decoded are all known secrets.
    #[tokio::test]
    async fn a_proxy_password_with_plus_signs_is_redacted_as_sent() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = proxy.local_addr().unwrap().port();
        let head = tokio::spawn(async move {
            let (mut conn, _) = proxy.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                head.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await
                .unwrap();
            String::from_utf8_lossy(&head).into_owned()
        });
        let raw = "pl%2Bus+s1gn-pr0xy";
        let env = ProxyEnv {
            http: Some(format!("http://b%6Fb:{raw}@127.0.0.1:{port}")),
            ..ProxyEnv::default()
        };
        let client = builder(&source("allow_insecure_http = true"), &env)
            .unwrap()
            .build()
            .unwrap();
        let resp = client
            .get("http://deploy.example.test/v1/train")
            .send()
            .await;
        assert_eq!(resp.unwrap().status().as_u16(), 200);
        let head = head.await.unwrap();
        let sent = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("proxy-authorization")
                    .then(|| v.trim())
            })
            .expect("a Proxy-Authorization header");
        let value = sent.strip_prefix("Basic ").unwrap();
        assert_eq!(secrets::redact(value), "***", "the header value as sent");
        assert_eq!(secrets::redact("x pl+us+s1gn-pr0xy y"), "x *** y");
        assert_eq!(secrets::redact("x pl%2Bus+s1gn-pr0xy y"), "x *** y");
    }

    /// What a loopback server sends after its head.
    enum Body {
        /// This many bytes.
        Bytes(usize),
        /// Chunked, without end.
        EndlessChunks,
        /// These bytes.
        Raw(Vec<u8>),
    }

    /// A server on 127.0.0.1 that answers one request with `head` (status line and headers)
    /// and `body`, and the URL to ask it at.
    async fn answer_once(head: String, body: Body) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/big", server.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut conn, _) = server.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            conn.write_all(format!("{head}\r\n").as_bytes())
                .await
                .unwrap();
            let piece = vec![b'x'; 64 * 1024];
            // The client may stop reading at any point: a failed write ends the answer.
            match body {
                Body::Bytes(mut left) => {
                    while left > 0 {
                        let n = left.min(piece.len());
                        if conn.write_all(&piece[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                }
                Body::Raw(bytes) => {
                    if conn.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Body::EndlessChunks => {
                    let size = format!("{:x}\r\n", piece.len());
                    let chunk = [size.as_bytes(), &piece, b"\r\n"].concat();
                    while conn.write_all(&chunk).await.is_ok() {}
                    return;
                }
            }
            let _ = conn.shutdown().await;
        });
        url
    }

    /// `read_capped` of the answer at `url`, within 30 s (an unbounded read would not end).
    async fn read_body(url: &str) -> Result<Vec<u8>, String> {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
        tokio::time::timeout(std::time::Duration::from_secs(30), read_capped(resp))
            .await
            .expect("the read ends")
    }

    fn cap_named(r: Result<Vec<u8>, String>) -> String {
        let e = r.map(|b| b.len()).unwrap_err();
        assert_eq!(
            e,
            "payload larger than 16 MiB (counted decompressed): refused"
        );
        e
    }

    #[tokio::test]
    async fn an_answer_over_the_cap_is_an_error_naming_the_cap() {
        let head = |n: usize| format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n");
        let at_cap = answer_once(head(MAX_BODY), Body::Bytes(MAX_BODY)).await;
        assert_eq!(read_body(&at_cap).await.unwrap().len(), MAX_BODY);
        let over = answer_once(head(MAX_BODY + 1), Body::Bytes(MAX_BODY + 1)).await;
        cap_named(read_body(&over).await);
    }

    #[tokio::test]
    async fn a_lying_content_length_is_no_way_past_the_cap() {
        // Announces more than the cap, sends a little: refused on the announcement.
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 68719476736\r\n".to_string();
        cap_named(read_body(&answer_once(head, Body::Bytes(10)).await).await);
        // Announces a little, sends 20 MiB: what was announced is read, nothing more.
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n".to_string();
        let url = answer_once(head, Body::Bytes(20 << 20)).await;
        assert_eq!(read_body(&url).await.unwrap(), b"xxxxxxxxxx");
        // Announces more than it sends, then hangs up: an error in words.
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n".to_string();
        let e = read_body(&answer_once(head, Body::Bytes(10)).await)
            .await
            .unwrap_err();
        assert!(!e.is_empty() && !e.contains("16 MiB"), "{e}");
    }

    /// A gzip answer is read decompressed, and the cap counts what it decompresses to: a
    /// bomb of a few KiB that packs more than the cap is refused.
    #[tokio::test]
    async fn a_gzip_bomb_is_cut_at_the_cap_counted_decompressed() {
        use std::io::Write;
        let gzip = |n: usize| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&vec![b' '; n]).unwrap();
            enc.finish().unwrap()
        };
        let head = |len: usize| {
            format!("HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: {len}\r\n")
        };
        let bomb = gzip(MAX_BODY + 1);
        assert!(bomb.len() < 64 * 1024, "{} bytes on the wire", bomb.len());
        cap_named(read_body(&answer_once(head(bomb.len()), Body::Raw(bomb)).await).await);
        let small = gzip(MAX_BODY);
        let read = read_body(&answer_once(head(small.len()), Body::Raw(small)).await).await;
        assert_eq!(read.unwrap().len(), MAX_BODY, "up to the cap, decompressed");
    }

    #[tokio::test]
    async fn an_endless_chunked_answer_is_cut_at_the_cap() {
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n".to_string();
        cap_named(read_body(&answer_once(head, Body::EndlessChunks).await).await);
    }

    #[test]
    fn loopback() {
        for (u, want) in [
            ("http://127.0.0.1:9", true),
            ("http://127.3.2.1", true),
            ("http://[::1]:80", true),
            ("http://LOCALHOST", true),
            ("http://10.0.0.1", false),
            ("http://localhost.example", false),
        ] {
            assert_eq!(is_loopback(&url::Url::parse(u).unwrap()), want, "{u}");
        }
    }
}
