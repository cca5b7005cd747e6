//! Sources: the systems trainyard reads and acts on. Each kind turns its API's payloads into
//! model observations ([`Batch`]) and carries out actions.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, SourceConfig, SourceKind};
use crate::model::{ActionKind, Batch, CellKey};
use crate::secrets::{self, Secret};

pub mod argocd;
pub mod client;
pub mod forge;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod http_doc;
pub mod http_kept;
pub mod prometheus;
pub mod retry_after;
pub mod targets;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What trainyard asks a source to do, in config names (the source maps them to its own).
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRequest {
    /// Unique per request, so that a source can drop a duplicate delivery.
    pub id: String,
    pub kind: ActionKind,
    pub lane: String,
    pub stage: String,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub actor: String,
    /// The user forces it (`--force`, or Go on a blocked plan): a source may go further than
    /// it would otherwise (Argo CD: a Rollout waiting at a step is promoted past every step).
    pub force: bool,
}

/// The source took the action and is working on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionAck {
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ActionError {
    /// The source answered and said no.
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// The source could not be reached or answered nonsense: nothing was done.
    Failed(String),
    /// The request went out and no answer came back: it may or may not have been done.
    Unanswered(String),
    /// This source can't do that at all.
    Unsupported(String),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::Rejected {
                status,
                code,
                message,
            } => {
                write!(f, "rejected ({status} {code}): {message}")
            }
            ActionError::Failed(m) => write!(f, "failed: {m}"),
            ActionError::Unanswered(m) => write!(f, "no answer: {m}"),
            ActionError::Unsupported(m) => write!(f, "unsupported: {m}"),
        }
    }
}

/// A source's answer to an action with every string sanitized (`model::text::sanitize`).
/// Each source sanitizes what it parses; the runner passes every answer through this too,
/// so that an answer reaches the activity, the footer and the audit log clean whatever the
/// source.
pub fn sanitize_answer(r: Result<ActionAck, ActionError>) -> Result<ActionAck, ActionError> {
    use crate::model::text::sanitize;
    const MAX: usize = crate::model::world::MAX_SOURCE_TEXT;
    match r {
        Ok(ActionAck { message }) => Ok(ActionAck {
            message: sanitize(&message, MAX),
        }),
        Err(ActionError::Rejected {
            status,
            code,
            message,
        }) => Err(ActionError::Rejected {
            status,
            code: sanitize(&code, 40),
            message: sanitize(&message, MAX),
        }),
        Err(ActionError::Failed(m)) => Err(ActionError::Failed(sanitize(&m, MAX))),
        Err(ActionError::Unanswered(m)) => Err(ActionError::Unanswered(sanitize(&m, MAX))),
        Err(ActionError::Unsupported(m)) => Err(ActionError::Unsupported(sanitize(&m, MAX))),
    }
}

/// A system trainyard polls and acts on.
pub trait Source: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> &'static str;
    /// How often to poll, and how long one poll may take before it counts as failed.
    fn interval(&self) -> Duration;
    fn timeout(&self) -> Duration;
    /// The longest one poll or one action may take before it counts as failed.
    fn deadline(&self) -> Duration {
        self.timeout().saturating_mul(2) + Duration::from_secs(1)
    }
    /// One poll: every cell and metric this source knows, in config names.
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>>;
    /// One poll for the poller, which folds every report it gets of this source into one
    /// world: the source may report only what changed since its last `poll_changes`
    /// ([`Batch::partial`]). Other polls ([`Source::poll`]: an action's verification, a
    /// one-off `status`) take nothing away from it. By default, [`Source::poll`].
    fn poll_changes(&self) -> BoxFuture<'_, Result<Batch, String>> {
        self.poll()
    }
    /// How long the source itself asked not to be asked again (a `retry-after` still
    /// running, a spent rate limit): the poller waits at least that long.
    fn held_for(&self) -> Option<Duration> {
        None
    }
    /// Whether the source can pause a rollout itself. Where it can't, a pause cancels the
    /// rollout and trainyard holds the lane.
    fn native_pause(&self) -> bool {
        true
    }
    /// What `act` would send, for a dry run: method, URL and body, never a token.
    fn preview(&self, req: &ActionRequest) -> String {
        format!(
            "{} {} {} (source {})",
            req.kind,
            req.lane,
            req.stage,
            self.name()
        )
    }
    /// Ask the source to act on one cell.
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>>;
}

/// Where each configured lane × stage lives in one source: config key ↔ remote names.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    to_remote: BTreeMap<CellKey, (String, String)>,
    from_remote: BTreeMap<(String, String), CellKey>,
    /// Every lane × stage of the train, whichever source reads its cell: a source may
    /// measure metrics of cells it doesn't read.
    train: std::collections::BTreeSet<CellKey>,
}

impl NameMap {
    pub fn for_source(config: &Config, source: &str) -> NameMap {
        let mut map = NameMap::default();
        for (key, target) in config.targets_of(source) {
            map.insert(key.clone(), target.lane.clone(), target.stage.clone());
        }
        map.train = config.targets.keys().cloned().collect();
        map
    }

    /// Where a metric of `remote_lane` at `remote_stage` belongs: the cell this source reads
    /// under those names, else the train's cell of those names.
    pub fn metric_cell(&self, remote_lane: &str, remote_stage: &str) -> Option<CellKey> {
        self.local(remote_lane, remote_stage).cloned().or_else(|| {
            let key = CellKey::new(remote_lane, remote_stage);
            self.train.contains(&key).then_some(key)
        })
    }

    pub fn insert(&mut self, key: CellKey, remote_lane: String, remote_stage: String) {
        self.from_remote
            .insert((remote_lane.clone(), remote_stage.clone()), key.clone());
        self.to_remote.insert(key, (remote_lane, remote_stage));
    }

    pub fn local(&self, remote_lane: &str, remote_stage: &str) -> Option<&CellKey> {
        self.from_remote
            .get(&(remote_lane.to_string(), remote_stage.to_string()))
    }

    pub fn remote(&self, lane: &str, stage: &str) -> Option<&(String, String)> {
        self.to_remote.get(&CellKey::new(lane, stage))
    }
}

/// A name as one URL path segment, every reserved character escaped: `acme/payments-api` →
/// `acme%2Fpayments-api`.
pub(crate) fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a kind of source can't do at all, and why, in words that say what to do instead;
/// `None` when the kind can (whether it can on a given cell now is the cell's
/// [`Cell::refusal`](crate::model::Cell::refusal)). Planning asks it before anything else, so
/// that keys, help, dialog and command line all say the same.
pub fn unsupported(source_kind: &str, action: ActionKind) -> Option<String> {
    if action != ActionKind::Abort {
        return None;
    }
    Some(match source_kind {
        "argocd" => return None,
        "github" => "GitHub deployments have no abort: pause cancels the run and holds the \
                     lane, rollback restores a good version"
            .into(),
        "gitlab" => "GitLab deployments have no abort: pause cancels the job and holds the \
                     lane, rollback restores a good version"
            .into(),
        "http" => {
            "trainyard's http protocol has no abort: pause the rollout, or roll it back".into()
        }
        "prometheus" => "prometheus measures, it deploys nothing: nothing to abort".into(),
        other => format!("a source of kind {other} can't abort a rollout"),
    })
}

/// How long `token_cmd` may take (a password manager may want a prompt it can't get).
const TOKEN_CMD_TIMEOUT: Duration = Duration::from_secs(10);

/// Read a source's token from the environment, a command or a file, and register it as a
/// secret (see [`crate::secrets`]). The token itself never appears in an error.
pub fn resolve_token(src: &SourceConfig) -> Result<Option<Secret>, String> {
    resolve_secret(
        "token",
        src.token_env.as_deref(),
        src.token_cmd.as_deref(),
        src.token_file.as_deref(),
    )
}

/// The basic auth of a source (prometheus): the user and the password, from
/// `password_env`, `password_cmd` or `password_file` like a token. Both are registered as
/// secrets, and so is the header value they make.
pub fn resolve_basic(src: &SourceConfig) -> Result<Option<(String, Secret)>, String> {
    let Some(user) = &src.username else {
        return Ok(None);
    };
    let password = resolve_secret(
        "password",
        src.password_env.as_deref(),
        src.password_cmd.as_deref(),
        src.password_file.as_deref(),
    )?
    .ok_or_else(|| format!("username {user:?} without a password"))?;
    secrets::register_basic(user, password.expose());
    Ok(Some((user.clone(), password)))
}

/// One secret from `{what}_env`, `{what}_cmd` or `{what}_file` (the config allows one).
pub fn resolve_secret(
    what: &str,
    env: Option<&str>,
    cmd: Option<&str>,
    file: Option<&str>,
) -> Result<Option<Secret>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(Secret::new(v.trim()))),
            _ => Err(format!(
                "environment variable {var} ({what}_env) is not set"
            )),
        };
    }
    if let Some(path) = file {
        let key = format!("{what}_file");
        return secrets::read_secret_file(&key, &crate::config::expand_home(path)).map(Some);
    }
    let Some(cmd) = cmd else {
        return Ok(None);
    };
    let key = format!("{what}_cmd");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{key} could not run: {e}"))?;
    // Read its output while it runs (a command that prints more than a pipe holds would
    // otherwise wait for us forever), and give it TOKEN_CMD_TIMEOUT to finish.
    let stdout = drain(child.stdout.take(), 1 << 20);
    let stderr = drain(child.stderr.take(), STDERR_KEPT);
    let started = std::time::Instant::now();
    // What it said on stderr, for an error: never waited for long (something it left running
    // may hold the pipe open).
    let said = |wait: Duration| {
        let bytes = stderr
            .recv_timeout(wait.clamp(Duration::from_millis(100), Duration::from_secs(1)))
            .unwrap_or_default();
        stderr_said(&bytes)
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < TOKEN_CMD_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{key} did not finish within {}s (does it wait for input?){}",
                    TOKEN_CMD_TIMEOUT.as_secs(),
                    said(Duration::ZERO)
                ));
            }
            Err(e) => return Err(format!("{key}: {e}")),
        }
    };
    // A command that left something running with its output open: what it printed so far is
    // not waited for beyond the timeout.
    let rest = TOKEN_CMD_TIMEOUT.saturating_sub(started.elapsed());
    let stdout = stdout
        .recv_timeout(rest.max(Duration::from_millis(100)))
        .map_err(|_| {
            format!("{key} finished but kept its output open; print the secret and exit")
        })?;
    if !status.success() {
        // What it printed may be the secret: it is not shown, but it is scrubbed from
        // whatever else might show it (its stderr, below, too).
        secrets::register(String::from_utf8_lossy(&stdout).trim());
        return Err(format!("{key} exited with {status}{}", said(rest)));
    }
    let value = String::from_utf8_lossy(&stdout).trim().to_string();
    if value.is_empty() {
        return Err(format!("{key} printed nothing{}", said(rest)));
    }
    Ok(Some(Secret::new(value)))
}

/// How much of a secret command's stderr is kept for its error message.
const STDERR_KEPT: usize = 64 * 1024;
/// Lines of it, and characters, an error shows at most.
const STDERR_LINES: usize = 3;
const STDERR_CHARS: usize = 300;

/// Read a child's pipe to its end in a thread, keeping the first `keep` bytes (the rest is
/// read and dropped, so the child never waits on a full pipe); the bytes arrive on the channel
/// when the pipe closes.
fn drain(
    pipe: Option<impl std::io::Read + Send + 'static>,
    keep: usize,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.by_ref().take(keep as u64).read_to_end(&mut kept);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        }
        let _ = tx.send(kept);
    });
    rx
}

/// The first lines a command wrote to stderr, for an error message: `; it said: "…"`, or
/// nothing when it said nothing. Secrets are redacted, control characters and escapes
/// neutralized, the length capped.
fn stderr_said(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(STDERR_LINES)
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown = crate::model::text::sanitize(&secrets::redact(&lines.join(" / ")), STDERR_CHARS);
    format!("; it said: \"{shown}\"")
}

/// A source that could not be set up (no token, say): every poll and action fails with the
/// reason, so the train still shows, with this source's cells marked.
pub struct Broken {
    name: String,
    kind: &'static str,
    error: String,
}

impl Source for Broken {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn interval(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        let e = self.error.clone();
        Box::pin(async move { Err(e) })
    }
    fn act<'a>(&'a self, _: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        let e = self.error.clone();
        Box::pin(async move { Err(ActionError::Failed(e)) })
    }
}

/// Build every configured source. One that can't be set up becomes a [`Broken`] source that
/// reports why on every poll; it never stops the others. Every source is [`Guarded`].
pub fn build(config: &Config) -> Vec<Arc<dyn Source>> {
    config
        .sources
        .values()
        .map(|src| {
            let built = resolve_token(src).and_then(|token| match src.kind {
                SourceKind::Http => {
                    let names = NameMap::for_source(config, &src.name);
                    http::HttpSource::new(src, token, names).map(|s| Box::new(s) as Box<dyn Source>)
                }
                SourceKind::Github => github::GithubSource::new(src, token, config)
                    .map(|s| Box::new(s) as Box<dyn Source>),
                SourceKind::Prometheus => prometheus::PrometheusSource::new(src, token, config)
                    .map(|s| Box::new(s) as Box<dyn Source>),
                SourceKind::Gitlab => gitlab::GitlabSource::new(src, token, config)
                    .map(|s| Box::new(s) as Box<dyn Source>),
                SourceKind::Argocd => argocd::ArgoSource::new(src, token, config)
                    .map(|s| Box::new(s) as Box<dyn Source>),
            });
            let inner = built.unwrap_or_else(|error| {
                let error = secrets::redact(&error);
                tracing::warn!(source = %src.name, "source can't be set up: {error}");
                Box::new(Broken {
                    name: src.name.clone(),
                    kind: src.kind.as_str(),
                    error,
                })
            });
            Arc::new(Guarded::new(inner)) as Arc<dyn Source>
        })
        .collect()
}

/// A source as the rest of trainyard sees it: everything it says (poll errors, every string
/// of its data, action answers, previews) has passed through [`secrets::redact`]. A server that
/// echoes the token back, a URL with a signature in its query, a credential in a link: none of
/// it reaches the screen, `status`, the audit log or the log file.
pub struct Guarded {
    inner: Box<dyn Source>,
    /// The texts of its reports found clean, not searched again.
    known_clean: std::sync::Mutex<secrets::clean::KnownClean>,
}

impl Guarded {
    pub fn new(inner: Box<dyn Source>) -> Guarded {
        Guarded {
            inner,
            known_clean: Default::default(),
        }
    }

    fn clean(&self, text: &str) -> String {
        self.cleaned(text).into_owned()
    }

    /// [`Guarded::clean`], borrowing `text` when it is clean already (most texts).
    fn cleaned<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let text = secrets::redact_cow(text);
        if !text.contains(http::THIS_SOURCE) {
            return text;
        }
        let here = format!("on source {}", self.inner.name());
        std::borrow::Cow::Owned(text.replace(http::THIS_SOURCE, &here))
    }

    /// A poll's outcome with every text cleaned.
    fn guarded<'a>(
        &'a self,
        poll: BoxFuture<'a, Result<Batch, String>>,
    ) -> BoxFuture<'a, Result<Batch, String>> {
        Box::pin(async move {
            match poll.await {
                Ok(mut batch) => {
                    let mut known = self.known_clean.lock().unwrap_or_else(|e| e.into_inner());
                    known.refresh();
                    batch.texts_mut(&mut |s| known.clean(s, |t| self.cleaned(t)));
                    Ok(batch)
                }
                Err(e) => Err(self.clean(&e)),
            }
        })
    }

    fn clean_error(&self, e: ActionError) -> ActionError {
        match e {
            ActionError::Rejected {
                status,
                code,
                message,
            } => ActionError::Rejected {
                status,
                code: self.clean(&code),
                message: self.clean(&message),
            },
            ActionError::Failed(m) => ActionError::Failed(self.clean(&m)),
            ActionError::Unanswered(m) => ActionError::Unanswered(self.clean(&m)),
            ActionError::Unsupported(m) => ActionError::Unsupported(self.clean(&m)),
        }
    }
}

impl Source for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn interval(&self) -> Duration {
        self.inner.interval()
    }
    fn timeout(&self) -> Duration {
        self.inner.timeout()
    }
    fn deadline(&self) -> Duration {
        self.inner.deadline()
    }
    fn held_for(&self) -> Option<Duration> {
        self.inner.held_for()
    }
    fn native_pause(&self) -> bool {
        self.inner.native_pause()
    }
    fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
        self.guarded(self.inner.poll())
    }
    fn poll_changes(&self) -> BoxFuture<'_, Result<Batch, String>> {
        self.guarded(self.inner.poll_changes())
    }
    fn preview(&self, req: &ActionRequest) -> String {
        self.clean(&self.inner.preview(req))
    }
    fn act<'a>(&'a self, req: &'a ActionRequest) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
        Box::pin(async move {
            match self.inner.act(req).await {
                Ok(ack) => Ok(ActionAck {
                    message: self.clean(&ack.message),
                }),
                Err(e) => Err(self.clean_error(e)),
            }
        })
    }
}

#[cfg(test)]
mod unsupported_tests {
    use super::*;

    /// Only Argo CD aborts (a Rollout's `abort`); every other kind says why not and what to
    /// do instead; every other action is each source's to answer.
    #[test]
    fn only_argocd_aborts_and_the_others_say_what_to_do_instead() {
        assert_eq!(unsupported("argocd", ActionKind::Abort), None);
        for kind in ["github", "gitlab", "http"] {
            let why = unsupported(kind, ActionKind::Abort).unwrap();
            assert!(
                why.contains("no abort") && why.contains("roll"),
                "{kind}: {why}"
            );
        }
        assert!(unsupported("prometheus", ActionKind::Abort).is_some());
        assert_eq!(
            unsupported("rollouts", ActionKind::Abort).as_deref(),
            Some("a source of kind rollouts can't abort a rollout")
        );
        for kind in SourceKind::SUPPORTED {
            for action in [ActionKind::Promote, ActionKind::Pause, ActionKind::Rollback] {
                assert_eq!(unsupported(kind, action), None, "{kind} {action}");
            }
        }
    }
}

#[cfg(test)]
mod guarded_tests {
    use super::*;

    /// A source whose every answer differs from the trait's defaults.
    struct Odd;

    impl Source for Odd {
        fn name(&self) -> &str {
            "odd"
        }
        fn kind(&self) -> &'static str {
            "http"
        }
        fn interval(&self) -> Duration {
            Duration::from_secs(7)
        }
        fn timeout(&self) -> Duration {
            Duration::from_secs(3)
        }
        fn deadline(&self) -> Duration {
            Duration::from_secs(11)
        }
        fn held_for(&self) -> Option<Duration> {
            Some(Duration::from_secs(42))
        }
        fn native_pause(&self) -> bool {
            false
        }
        fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
            Box::pin(async { Ok(Batch::default()) })
        }
        fn act<'a>(
            &'a self,
            _: &'a ActionRequest,
        ) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
            Box::pin(async { Err(ActionError::Unsupported("no".into())) })
        }
    }

    /// A source whose every poll reports one cell whose message is its text.
    struct Says(&'static str);

    impl Source for Says {
        fn name(&self) -> &str {
            "says"
        }
        fn kind(&self) -> &'static str {
            "http"
        }
        fn interval(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn timeout(&self) -> Duration {
            Duration::from_secs(1)
        }
        fn poll(&self) -> BoxFuture<'_, Result<Batch, String>> {
            let mut cell = crate::model::Cell::new("says", crate::model::CellState::Running);
            cell.message = Some(self.0.to_string());
            Box::pin(async move {
                Ok(Batch {
                    cells: vec![(CellKey::new("lane", "build"), cell)],
                    ..Batch::default()
                })
            })
        }
        fn act<'a>(
            &'a self,
            _: &'a ActionRequest,
        ) -> BoxFuture<'a, Result<ActionAck, ActionError>> {
            Box::pin(async { Err(ActionError::Unsupported("no".into())) })
        }
    }

    /// A text found clean is not searched again, until a secret is registered: then it is.
    #[test]
    fn a_text_found_clean_is_searched_again_once_a_secret_is_registered() {
        const SECRET: &str = "kq7-guarded-s3cret-9d2f";
        let g = Guarded::new(Box::new(Says("deployed by kq7-guarded-s3cret-9d2f")));
        let said = || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let batch = rt.block_on(g.poll()).unwrap();
            batch.cells[0].1.message.clone().unwrap()
        };
        assert_eq!(said(), format!("deployed by {SECRET}"));
        assert!(
            g.known_clean
                .lock()
                .unwrap()
                .contains("deployed by kq7-guarded-s3cret-9d2f")
        );
        assert_eq!(said(), format!("deployed by {SECRET}"));
        crate::secrets::register(SECRET);
        assert_eq!(said(), "deployed by ***");
    }

    /// The guard changes what a source says, never how it behaves: every trait method that
    /// has a default is passed through (a forgotten one silently changes the poller's pace).
    #[test]
    fn the_guard_passes_every_setting_through() {
        let g = Guarded::new(Box::new(Odd));
        assert_eq!(g.name(), "odd");
        assert_eq!(g.interval(), Duration::from_secs(7));
        assert_eq!(g.timeout(), Duration::from_secs(3));
        assert_eq!(g.deadline(), Duration::from_secs(11));
        assert_eq!(g.held_for(), Some(Duration::from_secs(42)));
        assert!(!g.native_pause());
    }
}

#[cfg(test)]
mod secret_cmd_tests {
    use super::*;

    #[test]
    fn a_command_printing_more_than_a_pipe_holds_is_read_not_waited_out() {
        // 200 KB of output: more than the pipe's 64 KiB, so it only finishes if we read.
        let cmd = "head -c 200000 /dev/zero | tr '\\\\0' x; echo";
        let got = resolve_secret("token", None, Some(cmd), None)
            .unwrap()
            .unwrap();
        assert_eq!(got.expose().len(), 200_000);
    }

    /// A command that fails says why on stderr: the error carries its first lines (clean,
    /// short, without secrets) beside the exit status.
    #[test]
    fn a_failing_command_is_reported_with_its_exit_status_and_what_it_said() {
        let cmd = "echo 'gh: not logged in to github.example' >&2; \
                   echo 'run gh auth login' >&2; echo third >&2; echo fourth >&2; exit 1";
        let e = resolve_secret("token", None, Some(cmd), None).unwrap_err();
        assert!(e.starts_with("token_cmd exited with exit status: 1"), "{e}");
        assert!(
            e.ends_with(
                "it said: \"gh: not logged in to github.example / run gh auth login / third\""
            ),
            "{e}"
        );

        // Escapes, a token and a flood: neutralized, masked, capped; and what it printed on
        // stdout (maybe the secret) is not repeated from stderr either.
        let cmd = "printf 'st0ut-s3cret-value' ; \
                   printf '\\033]0;title\\007bad token ghp_0123456789abcdefABCDEF0123456789abcd st0ut-s3cret-value\\n' >&2; \
                   head -c 100000 /dev/zero | tr '\\0' x >&2; exit 3";
        let e = resolve_secret("password", None, Some(cmd), None).unwrap_err();
        assert!(
            e.starts_with("password_cmd exited with exit status: 3"),
            "{e}"
        );
        assert!(!e.contains('\x1b') && !e.contains('\x07'), "{e:?}");
        assert!(
            !e.contains("ghp_0123") && !e.contains("st0ut-s3cret"),
            "{e}"
        );
        assert!(e.contains("bad token ***"), "{e}");
        assert!(e.chars().count() < 400, "{} characters", e.chars().count());

        // Nothing on stdout, a reason on stderr.
        let e =
            resolve_secret("token", None, Some("echo 'no token stored' >&2"), None).unwrap_err();
        assert_eq!(e, "token_cmd printed nothing; it said: \"no token stored\"");
        // Silent: just the status.
        let e = resolve_secret("token", None, Some("exit 2"), None).unwrap_err();
        assert_eq!(e, "token_cmd exited with exit status: 2");
    }
}
