//! HTTP to the Argo CD API server: the shared client (timeouts, `ca_file`, proxies, https
//! only), a bearer token, `retry-after` honoured, the body capped, and Argo CD's error answers
//! (`{"error", "code", "message"}`) in words.

use serde_json::Value;

use crate::model::text::sanitize;
use crate::secrets::Secret;
use crate::sources::http::{describe_reqwest, may_have_arrived};
use crate::sources::retry_after::RetryAfter;

#[derive(Clone, Debug, PartialEq)]
pub enum ArgoError {
    /// Argo CD answered with an error status: the status and its words.
    Status(u16, String),
    /// Nothing was done: not reached, or the answer made no sense.
    Failed(String),
    /// The request may have arrived; no answer came back.
    Unanswered(String),
}

impl std::fmt::Display for ArgoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgoError::Status(s, m) => write!(f, "Argo CD answered {s}: {m}"),
            ArgoError::Failed(m) | ArgoError::Unanswered(m) => f.write_str(m),
        }
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
    retry: RetryAfter,
}

impl Client {
    pub fn new(cfg: &crate::config::SourceConfig, token: Option<Secret>) -> Result<Client, String> {
        Ok(Client {
            http: crate::sources::client::build(cfg)?,
            base: cfg.url.trim_end_matches('/').to_string(),
            token,
            retry: RetryAfter::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How long Argo CD (or its proxy) asked not to be asked again.
    pub fn waiting(&self) -> Option<std::time::Duration> {
        self.retry.waiting()
    }

    pub async fn get(&self, path: &str) -> Result<Value, ArgoError> {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ArgoError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ArgoError> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ArgoError> {
        if let Some(refused) = self.retry.refusal("Argo CD (or its proxy)") {
            return Err(ArgoError::Failed(refused));
        }
        let mut rb = self
            .http
            .request(method.clone(), self.url(path))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t.expose());
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(|e| {
            let words = describe_reqwest(&e);
            if method != reqwest::Method::GET && may_have_arrived(&e) {
                ArgoError::Unanswered(words)
            } else {
                ArgoError::Failed(words)
            }
        })?;
        let status = resp.status().as_u16();
        self.retry.note(status, resp.headers());
        let bytes = crate::sources::client::read_capped(resp)
            .await
            .map_err(ArgoError::Failed)?;
        if !(200..300).contains(&status) {
            return Err(ArgoError::Status(status, error_words(status, &bytes)));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ArgoError::Failed(format!("Argo CD answered something not JSON: {e}")))
    }
}

/// An error answer in words: Argo CD's own message, and what to do for 401 and 403.
pub fn error_words(status: u16, body: &[u8]) -> String {
    let said = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .map(|m| sanitize(m, 300))
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".into());
    match status {
        401 => format!(
            "the token was refused ({said}): it may have expired or been revoked; make a new \
             one with `argocd account generate-token`"
        ),
        403 => format!(
            "permission denied by Argo CD's RBAC ({said}): the account needs a policy line for \
             this (see docs/sources/argocd.md)"
        ),
        404 => format!("not found ({said})"),
        _ => said,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_in_words() {
        let body = br#"{"error":"permission denied: applications, sync, default/payments-prod, sub: ci, iat: 1700000000","code":7,"message":"permission denied: applications, sync, default/payments-prod, sub: ci, iat: 1700000000"}"#;
        let w = error_words(403, body);
        assert!(w.starts_with("permission denied by Argo CD's RBAC (permission denied: applications, sync, default/payments-prod"), "{w}");
        let w = error_words(401, br#"{"error":"invalid session: token is expired","code":16,"message":"invalid session: token is expired"}"#);
        assert!(
            w.contains("token is expired") && w.contains("argocd account generate-token"),
            "{w}"
        );
        assert_eq!(error_words(500, b"<html>oops</html>"), "no message");
        // Escape sequences from the server never pass.
        let w = error_words(400, b"{\"message\":\"bad \\u001b]52;c;AAAA\\u0007 thing\"}");
        assert!(!w.contains('\u{1b}') && !w.contains('\u{7}'), "{w:?}");
    }
}
