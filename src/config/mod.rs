//! The config file: TOML schema, loading, and validation that reports every problem as
//! `file:line:col: message` with a hint where one helps.
//!
//! [`parse`] is pure; [`load`] and [`resolve_path`] touch the file system. `config.example.toml`
//! at the root of the repository documents every key.
//!
//! Reading happens in two steps. serde reads the text into the `raw` structs; a syntax error,
//! an unknown key or a value of the wrong type stops there and is reported as one error.
//! `validate` then checks the meaning (names, references, times, durations, gates, URLs),
//! collects every problem it finds and builds the [`Config`].

mod ca_file;
mod diag;
pub mod group;
mod keys;
mod notify;
pub mod placeholders;
mod raw;
mod structure;
pub mod ui;
mod validate;

pub use ca_file::read_ca_file;
pub use validate::is_loopback;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::{CellKey, Train};

pub use diag::{ConfigError, ConfigErrors, did_you_mean, edit_distance, line_col};
pub use group::GroupBy;
pub use notify::{Desktop, NoticeKind, NotifyConfig};
pub use ui::UiConfig;

/// A checked configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was loaded from; `None` for [`parse`]d text.
    pub path: Option<PathBuf>,
    /// Actor name for the audit log; `None` means user@host.
    pub identity: Option<String>,
    pub readonly: bool,
    pub audit_path: Option<PathBuf>,
    /// `[store]`: the audit file (the default) or the team's PostgreSQL.
    pub store: StoreConfig,
    /// How long trainyard watches a cell after an action for it to get where it should.
    pub verify_timeout: std::time::Duration,
    /// The screen's keys: the key table's, with `[keys]` over them.
    pub keys: crate::keymap::Keymap,
    /// The train, its lanes, and the policy from `[policy.*]`.
    pub train: Train,
    pub sources: BTreeMap<String, SourceConfig>,
    /// Where to read every lane × stage of the train: one entry for each.
    pub targets: BTreeMap<CellKey, Target>,
    pub metrics: Vec<MetricConfig>,
    /// Each lane's `vars`, for metric queries.
    pub lane_vars: BTreeMap<String, BTreeMap<String, String>>,
    /// `[ui]`: the theme, its colours, links.
    pub ui: UiConfig,
    /// `[notify]`: which events notify, and how.
    pub notify: NotifyConfig,
}

/// Where the state a team shares lives: the halt, the holds, claims and the audit chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum StoreConfig {
    /// The audit log's file (`[audit] path`, else the XDG data directory): nothing to set up.
    #[default]
    File,
    /// A PostgreSQL database the team runs (docs/team.md).
    Postgres(PostgresStore),
}

/// `[store] kind = "postgres"`.
#[derive(Clone, Debug, PartialEq)]
pub struct PostgresStore {
    /// `postgres://USER@HOST:PORT/DATABASE`, never with a password.
    pub url: String,
    pub password_env: Option<String>,
    pub password_cmd: Option<String>,
    pub password_file: Option<String>,
    /// PEM certificates trusted besides the system's roots.
    pub ca_file: Option<String>,
    pub connect_timeout: Duration,
}

/// `[store] connect_timeout` when the config says nothing.
pub const DEFAULT_STORE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `actions.verify_timeout` when the config says nothing.
pub const DEFAULT_VERIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

impl Config {
    /// Where to read `lane` at `stage`.
    pub fn target(&self, lane: &str, stage: &str) -> Option<&Target> {
        self.targets.get(&CellKey::new(lane, stage))
    }

    /// Every cell read from `source`, with the remote names it is read under.
    pub fn targets_of<'a>(
        &'a self,
        source: &'a str,
    ) -> impl Iterator<Item = (&'a CellKey, &'a Target)> + 'a {
        self.targets.iter().filter(move |(_, t)| t.source == source)
    }

    /// A world that knows the configured sources and has seen nothing yet.
    pub fn empty_world(&self) -> crate::model::World {
        crate::model::World::new(
            self.sources
                .values()
                .map(|s| (s.name.as_str(), s.kind.as_str(), s.stale_after)),
        )
    }

    /// Which source each lane × stage is read from.
    pub fn sources_of(&self) -> BTreeMap<CellKey, String> {
        self.targets
            .iter()
            .map(|(k, t)| (k.clone(), t.source.clone()))
            .collect()
    }
}

/// The kinds of source this build can talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    /// trainyard's own JSON-over-HTTP protocol (docs/protocol.md).
    Http,
    /// GitHub (or GitHub Enterprise Server): Actions runs, deployments, environments.
    Github,
    /// Prometheus: the metrics of `[[metrics]]`.
    Prometheus,
    /// GitLab (gitlab.com or self-managed): pipelines, jobs, environments, deployments.
    Gitlab,
    /// Argo CD: applications, their syncs and history, and the Argo Rollouts they manage.
    Argocd,
}

impl SourceKind {
    /// Kinds this build supports, as written in the config.
    pub const SUPPORTED: &'static [&'static str] =
        &["http", "github", "prometheus", "gitlab", "argocd"];
    /// Kinds that are planned but not in this build yet.
    pub const PLANNED: &'static [&'static str] = &["rollouts"];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Http => "http",
            SourceKind::Github => "github",
            SourceKind::Prometheus => "prometheus",
            SourceKind::Gitlab => "gitlab",
            SourceKind::Argocd => "argocd",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "http" => Some(SourceKind::Http),
            "github" => Some(SourceKind::Github),
            "prometheus" => Some(SourceKind::Prometheus),
            "gitlab" => Some(SourceKind::Gitlab),
            "argocd" => Some(SourceKind::Argocd),
            _ => None,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[sources.NAME]` table, with defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    /// The base URL as written, without trailing slashes.
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Data older than this is stale.
    pub stale_after: Duration,
    /// Name of an environment variable holding the token.
    pub token_env: Option<String>,
    /// A command whose standard output is the token.
    pub token_cmd: Option<String>,
    /// A file that holds the token (as written: `~` is expanded when it is read), readable by
    /// its owner only.
    pub token_file: Option<String>,
    /// Plain http:// to a host that is not loopback is allowed (and said in the header).
    pub allow_insecure_http: bool,
    /// PEM certificates (a corporate CA) trusted for this source besides the system's roots
    /// (as written: `~` is expanded when it is read).
    pub ca_file: Option<String>,
    /// github: the deploy workflow's inputs that carry the version and the environment.
    pub version_input: String,
    pub environment_input: String,
    /// prometheus: basic auth, the user and where the password comes from: a variable, a
    /// command or a file (like the token's).
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_cmd: Option<String>,
    pub password_file: Option<String>,
    /// http: take the metrics of the payload (false when a prometheus source measures them).
    pub metrics: bool,
    /// prometheus: queries one poll sends at once, at most.
    pub max_in_flight: usize,
    /// github: how often a settled cell (its run or deployment finished) is read again; cells
    /// in motion are read every `interval`.
    pub settled_interval: Duration,
    /// github: requests a minute the source's token may send, at most (GitHub's secondary
    /// limit is 900 points a minute); every source with the same token and API shares it.
    pub requests_per_minute: u32,
    /// gitlab: the token is an OAuth token, sent as `Authorization: Bearer` (`token_type =
    /// "oauth"`), rather than a personal, project or group access token sent as
    /// `PRIVATE-TOKEN`.
    pub oauth_token: bool,
}

/// `settled_interval` of a github source when the config doesn't say.
pub const DEFAULT_SETTLED_INTERVAL: Duration = Duration::from_secs(60);

/// `requests_per_minute` of a github source when the config doesn't say: two thirds of
/// GitHub's secondary limit (900 points a minute for REST, a GET being one).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 600;

/// `max_in_flight` of a prometheus source when the config doesn't say.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

impl SourceConfig {
    /// Whether plain http:// to a host that is not loopback is allowed for this source: the
    /// header and `status` say so.
    pub fn insecure(&self) -> bool {
        self.allow_insecure_http
    }
}

/// A path as written in the config, with a leading `~` or `~/` for the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    let home = || directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    if path == "~" {
        if let Some(h) = home() {
            return h;
        }
    } else if let Some(rest) = path.strip_prefix("~/")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(path)
}

/// One `[[metrics]]`: a PromQL template measured for every lane at the listed stages.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricConfig {
    pub name: String,
    pub source: String,
    /// PromQL with `{lane}`, `{stage}` and the lanes' `vars` as placeholders.
    pub query: String,
    /// The same for the stable side (canary analysis).
    pub baseline: Option<String>,
    pub unit: String,
    pub threshold: crate::model::Threshold,
    /// How far back the series goes (and the `slo` gate looks).
    pub window: Duration,
    /// The stages it is measured at.
    pub stages: Vec<String>,
    /// `by`: the labels that name the lane and the stage of a grouped query's series; `None`
    /// measures every cell with its own query.
    pub by: Option<GroupBy>,
}

impl MetricConfig {
    /// The query for a lane at a stage, placeholders filled in.
    pub fn render(
        &self,
        template: &str,
        lane: &str,
        stage: &str,
        vars: &BTreeMap<String, String>,
    ) -> String {
        let mut q = template.replace("{lane}", lane).replace("{stage}", stage);
        for (k, v) in vars {
            q = q.replace(&format!("{{{k}}}"), v);
        }
        q
    }
}

/// Where one lane × stage of the train is read: a source and the names the source uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub source: String,
    /// The lane's name at the source.
    pub lane: String,
    /// The stage's name at the source.
    pub stage: String,
    /// github: `owner/name` of the repository.
    pub repo: Option<String>,
    /// github: the workflow file (`ci.yml`) whose runs make a build stage, or that deploys
    /// (dispatched for promote and rollback) for an environment stage.
    pub workflow: Option<String>,
    /// github, gitlab: the environment a stage deploys to.
    pub environment: Option<String>,
    /// github: the branch of CI runs and the ref of dispatches (default: the repository's
    /// default branch). gitlab: the branch whose latest pipeline is the build stage (default:
    /// the project's default branch).
    pub branch: Option<String>,
    /// gitlab: the project, as its path (`group/name`) or numeric id; argocd: the Application's
    /// project (the poll's list asks for the train's projects only when every stage names one).
    pub project: Option<String>,
    /// gitlab, `promote = "pipeline"`: promote creates a pipeline on the stage's branch with
    /// these variables, [`PIPELINE_PLACEHOLDERS`] in their values filled in. `None`: promote
    /// plays the environment's manual deploy job.
    pub pipeline_variables: Option<BTreeMap<String, String>>,
    /// argocd: the Application the stage is, and the namespace it lives in (Argo CD's "apps in
    /// any namespace"; default: Argo CD's own).
    pub application: Option<String>,
    pub app_namespace: Option<String>,
}

/// What the values of a gitlab stage's `variables` may name, as `{version}`: the version
/// promoted (its full commit SHA), the stage's environment, the lane and the stage.
pub const PIPELINE_PLACEHOLDERS: &[&str] = &["version", "environment", "lane", "stage"];

/// Read and check a config from `text`; `file` names it in errors. Pure: the files the config
/// names (`token_file`, `ca_file`) are checked by [`load`].
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    parse_with(text, file, false)
}

fn parse_with(text: &str, file: &str, check_files: bool) -> Result<Config, ConfigErrors> {
    let shape = structure::read(text, file)?;
    let mut diags = diag::Diagnostics::new(file, text);
    let config = validate::config(shape.raw, &shape.keys, &mut diags, check_files);
    // A key left out for its shape (or misspelt) is not missing too.
    diags.retain(|e| {
        !shape
            .removed
            .iter()
            .any(|k| e.message.contains(&format!("has no {k}")))
    });
    for p in shape.problems {
        diags.add(p);
    }
    if diags.is_empty() {
        Ok(config)
    } else {
        Err(diags.finish())
    }
}

/// Read and check the config at `path`, and the files it names: a `token_file` or
/// `password_file` must be a regular file that only its owner may read, a `ca_file` must hold
/// PEM certificates.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 1,
        col: 1,
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    let mut config = parse_with(&text, &file, true)?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// The default config file: `config.toml` in the platform's config dir
/// (`~/.config/trainyard/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "trainyard").map(|d| d.config_dir().join("config.toml"))
}

/// The config file to use: `--config` (which also carries `TRAINYARD_CONFIG`), else the
/// default. It must exist.
pub fn resolve_path(cli: Option<&Path>) -> Result<PathBuf, ConfigErrors> {
    let default = default_path();
    let default_text = default.as_ref().map_or_else(
        || "~/.config/trainyard/config.toml".to_string(),
        |p| p.display().to_string(),
    );
    let hint = format!(
        "pass --config PATH, set TRAINYARD_CONFIG, or create {default_text} from \
         config.example.toml; `trainyard demo` runs a built-in train without any config"
    );
    let Some(path) = cli.map(Path::to_path_buf).or(default) else {
        return Err(ConfigError {
            file: default_text,
            line: 1,
            col: 1,
            message: "no config file given and no home directory to look in".into(),
            hint: Some(hint),
        }
        .into());
    };
    if path.exists() {
        Ok(path)
    } else {
        Err(ConfigError {
            file: path.display().to_string(),
            line: 1,
            col: 1,
            message: "config file not found".into(),
            hint: Some(hint),
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `config check` lists every problem: the shape's (unknown keys, wrong types) and the
    /// checks' after them (an unknown key of a source), by place, and a key left out for its
    /// type is not reported missing as well.
    #[test]
    fn every_problem_of_a_file_is_listed_by_place() {
        let text = "[train]\nname = 5\nstages = [\"build\", \"prod\"]\ncolour = 1\n\n\
                    [sources.gh]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\
                    interval = 5\ntimout = \"1s\"\n\n\
                    [[lanes]]\nname = \"a\"\nteem = \"x\"\nstages.build = { source = \"gh\" }\nstages.prod = { source = \"gh\" }\n";
        let err = parse(text, "c.toml").unwrap_err();
        let lines: Vec<String> = err
            .0
            .iter()
            .map(|e| format!("{}:{} {}", e.line, e.col, e.message))
            .collect();
        assert_eq!(
            lines,
            [
                "2:8 wrong type for \"name\": integer `5`, expected a string",
                "4:1 unknown key \"colour\"",
                "9:12 wrong type for \"interval\": integer `5`, expected a string",
                "10:1 unknown key \"timout\" in sources.gh",
                "14:1 unknown key \"teem\"",
            ],
            "{err}"
        );
    }

    #[test]
    fn missing_file_hint_names_every_way_out() {
        let dir = std::env::temp_dir().join("trainyard-config-test-missing");
        let err = resolve_path(Some(&dir.join("nope.toml"))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("nope.toml:1:1: config file not found"),
            "{text}"
        );
        for needle in [
            "--config",
            "TRAINYARD_CONFIG",
            "config.example.toml",
            "trainyard demo",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn unreadable_file_is_one_error_at_1_1() {
        let err = load(Path::new("/nonexistent/trainyard/config.toml")).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(
            err.0[0]
                .to_string()
                .starts_with("/nonexistent/trainyard/config.toml:1:1: cannot read: ")
        );
    }
}
