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
            if let Some(pass) = parsed.password() {
                let pass = url::form_urlencoded::parse(format!("p={pass}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| pass.to_string());
                secrets::register_basic(parsed.username(), &pass);
                secrets::register(parsed.password().unwrap_or_default());
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

/// An answer's body, refused past [`MAX_BODY`] (announced or as it arrives).
pub async fn read_capped(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n as usize > MAX_BODY) {
        return Err(format!("payload larger than {} MiB", MAX_BODY >> 20));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| super::http::describe_reqwest(&e))?
    {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_BODY {
            return Err(format!("payload larger than {} MiB", MAX_BODY >> 20));
        }
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
