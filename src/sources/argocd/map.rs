//! Argo CD payloads → cells, pure: an Application (its operation, sync status, health and
//! history) and, where it manages one, the live Argo Rollout. docs/sources/argocd.md has the
//! table these functions implement.

use serde::Deserialize;
use serde_json::Value;

use crate::model::text::sanitize;
use crate::model::{Approval, Cell, CellState, History, HistoryEntry, Timestamp};

/// Characters kept of a message from Argo CD.
const TEXT: usize = 200;

fn clean(s: &str) -> String {
    sanitize(s, TEXT)
}

/// A list field read leniently: real payloads carry `conditions: {}` where a list belongs,
/// and one odd entry must not cost the whole application. Anything but a list is empty; an
/// entry that can't be read is skipped.
fn lenient<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// The parts of an Application trainyard reads (`GET /api/v1/applications`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Application {
    pub metadata: Meta,
    pub spec: AppSpec,
    pub status: AppStatus,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Meta {
    pub name: String,
    pub namespace: Option<String>,
    pub generation: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppSpec {
    pub project: String,
    pub sync_policy: Option<SyncPolicy>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Present (even empty: `automated: {}`) when automated sync is on.
    pub automated: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AppStatus {
    pub sync: SyncStatus,
    pub health: Health,
    pub operation_state: Option<OperationState>,
    #[serde(deserialize_with = "lenient")]
    pub history: Vec<RevisionHistory>,
    #[serde(deserialize_with = "lenient")]
    pub resources: Vec<ResourceStatus>,
    pub reconciled_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncStatus {
    pub status: String,
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Health {
    pub status: String,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OperationState {
    pub operation: Operation,
    pub phase: String,
    pub message: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub sync_result: Option<SyncResult>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Operation {
    pub sync: Option<SyncOperation>,
    pub initiated_by: Option<InitiatedBy>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncOperation {
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncResult {
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InitiatedBy {
    pub username: Option<String>,
    pub automated: bool,
}

impl InitiatedBy {
    fn who(&self) -> Option<String> {
        match &self.username {
            Some(u) if !u.is_empty() => Some(clean(u)),
            _ if self.automated => Some("automated sync".into()),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RevisionHistory {
    pub id: i64,
    pub revision: String,
    pub deployed_at: Option<String>,
    pub deploy_started_at: Option<String>,
    pub initiated_by: Option<InitiatedBy>,
}

/// One resource the Application manages, as its status lists it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceStatus {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub health: Option<Health>,
}

/// The parts of an Argo Rollout trainyard reads (its live manifest).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rollout {
    pub metadata: RolloutMeta,
    pub spec: RolloutSpec,
    pub status: Option<RolloutStatus>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RolloutMeta {
    pub name: String,
    pub generation: Option<Value>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RolloutSpec {
    pub paused: bool,
    pub replicas: Option<i64>,
    pub workload_ref: Option<Value>,
    pub strategy: Strategy,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Strategy {
    pub canary: Option<Canary>,
    pub blue_green: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Canary {
    pub steps: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RolloutStatus {
    pub phase: Option<String>,
    pub message: Option<String>,
    pub abort: bool,
    pub current_step_index: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub pause_conditions: Vec<PauseCondition>,
    #[serde(rename = "stableRS")]
    pub stable_rs: Option<String>,
    pub current_pod_hash: Option<String>,
    pub canary: Value,
    pub blue_green: Value,
    pub observed_generation: Option<Value>,
    pub workload_observed_generation: Option<Value>,
    pub replicas: Option<i64>,
    pub updated_replicas: Option<i64>,
    pub available_replicas: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PauseCondition {
    pub reason: String,
    pub start_time: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// The Rollout an Application manages, if it manages one (the first, by name).
pub fn rollout_of(app: &Application) -> Option<&ResourceStatus> {
    app.status
        .resources
        .iter()
        .filter(|r| r.kind == "Rollout" && r.group == "argoproj.io")
        .min_by(|a, b| a.name.cmp(&b.name))
}

/// Whether a sync (or a rollback) of the Application is running now: what terminating its
/// operation (`DELETE …/operation`) stops.
pub fn sync_running(app: &Application) -> bool {
    app.status
        .operation_state
        .as_ref()
        .is_some_and(|o| o.phase == "Running")
}

/// Whether automated sync is on (Argo CD then refuses a rollback).
pub fn automated(app: &Application) -> bool {
    app.spec
        .sync_policy
        .as_ref()
        .is_some_and(|p| p.automated.as_ref().is_some_and(|a| !a.is_null()))
}

fn time(s: Option<&str>) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// A version as the matrix shows it: a git revision, or a Helm chart version.
fn version(s: &str) -> Option<String> {
    let s = clean(s.trim());
    (!s.is_empty()).then_some(s)
}

/// The history, newest first: every recorded sync succeeded (Argo CD records only those).
pub fn history(app: &Application) -> History {
    app.status
        .history
        .iter()
        .rev()
        .filter_map(|h| {
            Some(HistoryEntry {
                version: version(&h.revision)?,
                state: CellState::Succeeded,
                at: time(h.deployed_at.as_deref()),
                actor: h.initiated_by.as_ref().and_then(InitiatedBy::who),
            })
        })
        .collect()
}

/// The id of the newest history entry that deployed `version` (a whole revision or a prefix of
/// at least 7 characters): what `POST …/rollback` takes.
pub fn history_id(app: &Application, version: &str) -> Option<i64> {
    let v = version.trim();
    if v.is_empty() {
        return None;
    }
    app.status
        .history
        .iter()
        .rev()
        .find(|h| h.revision == v || (v.len() >= 7 && h.revision.starts_with(v)))
        .map(|h| h.id)
}

/// Where a canary Rollout stands: its step and its weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// 0-based index of the current step, and the number of steps.
    pub index: usize,
    pub of: usize,
    /// The canary's share of traffic, in percent, where known.
    pub weight: Option<i64>,
    /// The current step is a pause without a duration: it waits for someone to promote it.
    pub indefinite_pause: bool,
}

/// A canary Rollout's step and weight (`None` for blue-green or no steps).
pub fn step(r: &Rollout) -> Option<Step> {
    let steps = r
        .spec
        .strategy
        .canary
        .as_ref()?
        .steps
        .as_ref()?
        .as_array()?;
    if steps.is_empty() {
        return None;
    }
    let st = r.status.as_ref();
    let of = steps.len();
    let index = st
        .and_then(|s| s.current_step_index)
        .map_or(0, |i| i.clamp(0, of as i64) as usize);
    // The weight the controller reports, else the last setWeight up to this step.
    let reported = st
        .and_then(|s| s.canary.pointer("/weights/canary/weight"))
        .and_then(Value::as_i64);
    let set = steps[..(index + 1).min(of)]
        .iter()
        .filter_map(|s| s.get("setWeight").and_then(Value::as_i64))
        .next_back();
    let weight = reported.or(if index >= of { Some(100) } else { set });
    let indefinite_pause = steps
        .get(index)
        .and_then(|s| s.get("pause"))
        .is_some_and(|p| p.get("duration").is_none_or(Value::is_null));
    Some(Step {
        index,
        of,
        weight,
        indefinite_pause,
    })
}

/// "step 2/8, canary at 21%".
fn step_words(s: &Step) -> String {
    let mut w = format!("step {}/{}", (s.index + 1).min(s.of), s.of);
    if let Some(p) = s.weight {
        w.push_str(&format!(", canary at {p}%"));
    }
    w
}

fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// What a Rollout's state makes of its cell: state, message, progress and, for a canary
/// waiting at a pause step without a duration, what it waits for.
pub type RolloutCell = (CellState, String, Option<f64>, Option<Approval>);

/// A Rollout's state as a cell sees it, in the order Argo CD's own health check for Rollouts
/// decides (generation observed, aborted, phase, conditions, paused, replicas, strategy),
/// with two refinements: an aborted rollout is cancelled (not just degraded), and a canary
/// paused at a step without a duration waits for a promotion. `None`: the Rollout is settled
/// on its version (healthy), so the Application's own state stands.
pub fn rollout_state(r: &Rollout) -> Option<RolloutCell> {
    let step = step(r);
    let at = step.as_ref().map(step_words);
    let with_at = |what: &str| match &at {
        Some(a) => format!("{what} ({a})"),
        None => what.to_string(),
    };
    let progress = step.as_ref().map(|s| s.index as f64 / s.of as f64);
    let running = |what: &str| Some((CellState::Running, with_at(what), progress, None));
    let failed = |why: Option<&str>| {
        let why = why.map(clean).unwrap_or_default();
        Some((
            CellState::Failed,
            with_at(&join("rollout degraded", &why)),
            None,
            None,
        ))
    };
    let Some(st) = &r.status else {
        return running("waiting for the rollout's new spec to be observed");
    };
    // The spec changed and the controller has not seen it yet (numeric generations: Argo
    // Rollouts v0.10 on; the older hashes say nothing).
    let observed = number(st.observed_generation.as_ref());
    let generation = number(r.metadata.generation.as_ref());
    let workload_seen = r.spec.workload_ref.is_none()
        || r.metadata
            .annotations
            .get("rollout.argoproj.io/workload-generation")
            .is_none_or(|g| {
                g.parse::<i64>().ok() == number(st.workload_observed_generation.as_ref())
            });
    if matches!((observed, generation), (Some(o), Some(g)) if o < g) || !workload_seen {
        return running("waiting for the rollout's new spec to be observed");
    }
    let aborted_condition = st
        .conditions
        .iter()
        .any(|c| c.kind == "Progressing" && c.reason.as_deref() == Some("RolloutAborted"));
    if st.abort || aborted_condition {
        let why = st.message.as_deref().map(clean).unwrap_or_default();
        let m = join(
            "rollout aborted: traffic is back on the stable version",
            &why,
        );
        return Some((CellState::Cancelled, m, None, None));
    }
    let reasons: Vec<String> = st
        .pause_conditions
        .iter()
        .map(|p| clean(&p.reason))
        .collect();
    let paused = || {
        let at_step = reasons.iter().any(|r| r == "CanaryPauseStep");
        if at_step && !r.spec.paused {
            if let Some(s) = step.as_ref().filter(|s| s.indefinite_pause) {
                let approval = Approval {
                    environment: Some(format!("the canary, {}", step_words(s))),
                    reviewers: vec![],
                };
                let m = with_at("paused at a canary step: promote to go on, abort to stop");
                return Some((CellState::AwaitingApproval, m, progress, Some(approval)));
            }
            return running("timed pause at a canary step");
        }
        let why = if reasons.is_empty() {
            "PausedByUser".to_string()
        } else {
            reasons.join(", ")
        };
        Some((
            CellState::Paused,
            with_at(&format!("paused ({why})")),
            None,
            None,
        ))
    };
    match st.phase.as_deref() {
        Some("Paused") => return paused(),
        Some("Degraded") => return failed(st.message.as_deref()),
        Some("Progressing") => return running("rolling out"),
        Some("Healthy") => return None,
        _ => {}
    }
    for c in &st.conditions {
        let bad = c.kind == "InvalidSpec"
            || (c.kind == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
        if bad {
            return failed(c.message.as_deref());
        }
    }
    if !reasons.is_empty() || r.spec.paused {
        return paused();
    }
    let Some(current) = &st.current_pod_hash else {
        return running("rolling out: status not reconciled yet");
    };
    let desired = r.spec.replicas.unwrap_or(1);
    let (replicas, updated, available) = (
        st.replicas.unwrap_or(0),
        st.updated_replicas.unwrap_or(0),
        st.available_replicas.unwrap_or(0),
    );
    if updated < desired {
        return running("rolling out: more replicas need to be updated");
    }
    if available < updated {
        return running("rolling out: updated replicas are still becoming available");
    }
    let stable = st
        .stable_rs
        .clone()
        .or_else(|| {
            st.canary
                .get("stableRS")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    if r.spec.strategy.blue_green.is_some() {
        let active = st.blue_green.get("activeSelector").and_then(Value::as_str);
        if active != Some(current.as_str()) {
            return running("rolling out: active service cutover pending");
        }
        if !stable.is_empty() && stable != *current {
            return running("rolling out: waiting for analysis to complete");
        }
    } else if r.spec.strategy.canary.is_some() {
        if replicas > updated {
            return running("rolling out: old replicas are pending termination");
        }
        if stable.is_empty() || stable != *current {
            return running("rolling out");
        }
    }
    None
}

/// What one Application (and its Rollout, when it manages one and it was read) says of its
/// cell.
pub fn app_cell(app: &Application, rollout: Option<&Rollout>, source: &str) -> Cell {
    let st = &app.status;
    let mut cell = Cell::new(source, CellState::Unknown);
    cell.history = history(app);
    let deployed = st
        .history
        .last()
        .map(|h| h.revision.as_str())
        .or(st.sync.revision.as_deref());
    let op = st.operation_state.as_ref();
    let op_rev = op.and_then(|o| {
        o.operation
            .sync
            .as_ref()
            .and_then(|s| s.revision.as_deref())
            .or(o.sync_result.as_ref().and_then(|r| r.revision.as_deref()))
    });
    cell.version = deployed.and_then(version);
    if let Some(o) = op {
        cell.actor = o.operation.initiated_by.as_ref().and_then(InitiatedBy::who);
        cell.started_at = time(o.started_at.as_deref());
        cell.updated_at = time(o.finished_at.as_deref()).or(cell.started_at);
    }
    if cell.updated_at.is_none() {
        cell.updated_at = st
            .history
            .last()
            .and_then(|h| time(h.deployed_at.as_deref()));
    }
    let op_message = op
        .and_then(|o| o.message.as_deref())
        .map(clean)
        .unwrap_or_default();
    let phase = op.map(|o| o.phase.as_str()).unwrap_or("");
    match phase {
        "Running" | "Terminating" => {
            cell.state = CellState::Running;
            cell.version = op_rev.and_then(version).or(cell.version);
            let what = if phase == "Terminating" {
                "terminating the sync"
            } else {
                "syncing"
            };
            cell.message = Some(join(what, &op_message));
            return cell;
        }
        // Terminated on request (`DELETE …/operation`): Argo CD ends it failed with this
        // message; it was stopped, not broken.
        "Failed"
            if op_message
                .to_lowercase()
                .starts_with("operation terminated") =>
        {
            cell.state = CellState::Cancelled;
            cell.version = op_rev.and_then(version).or(cell.version);
            cell.message = Some("sync terminated: it was stopped before it finished".into());
            return cell;
        }
        "Failed" | "Error" => {
            cell.state = CellState::Failed;
            cell.version = op_rev.and_then(version).or(cell.version);
            cell.message = Some(join(&format!("sync {}", phase.to_lowercase()), &op_message));
            return cell;
        }
        _ => {}
    }
    if let Some((state, message, progress, approval)) = rollout.and_then(rollout_state) {
        cell.state = state;
        cell.message = Some(message);
        cell.progress = progress;
        cell.approval = approval;
        return cell;
    }
    let health = st.health.message.as_deref().map(clean).unwrap_or_default();
    let (state, words) = match st.health.status.as_str() {
        "Healthy" => (CellState::Succeeded, "healthy"),
        "Progressing" => (CellState::Running, "progressing"),
        "Suspended" => (CellState::Paused, "suspended"),
        "Degraded" => (CellState::Failed, "degraded"),
        "Missing" => (
            CellState::Pending,
            "missing: its resources are not deployed",
        ),
        _ => (CellState::Unknown, "health unknown"),
    };
    cell.state = state;
    let mut m = join(words, &health);
    if st.sync.status == "OutOfSync" {
        let target = st
            .sync
            .revision
            .as_deref()
            .and_then(version)
            .map(|v| format!(" (source at {})", crate::model::cell::short_version(&v)))
            .unwrap_or_default();
        m.push_str(&format!("; out of sync{target}"));
    }
    cell.message = Some(m);
    cell
}

fn join(what: &str, detail: &str) -> String {
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}

/// Argo CD's list: `{"items": [...]}`, each item read on its own (one malformed application
/// is its cell's error, not the whole poll's). `items` is null when there are none.
pub fn list_items(v: &Value) -> Result<&[Value], String> {
    match v.get("items") {
        None | Some(Value::Null) if v.is_object() => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        _ => Err("not an application list (no \"items\")".into()),
    }
}

/// One application of a list, or why it can't be read.
pub fn application(v: &Value) -> Result<Application, String> {
    // Read where it lies (a `&Value` is a deserializer): no copy of the application.
    Application::deserialize(v).map_err(|e| format!("malformed application: {e}"))
}

/// A live resource as `GET …/resource` answers it: `{"manifest": "<JSON text>"}`.
pub fn rollout_manifest(v: &Value) -> Result<Rollout, String> {
    let text = v
        .get("manifest")
        .and_then(Value::as_str)
        .ok_or("no manifest in the answer")?;
    serde_json::from_str(text).map_err(|e| format!("malformed Rollout manifest: {e}"))
}

/// A resource action as `GET …/resource/actions` lists it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ResourceAction {
    pub name: String,
    pub disabled: bool,
}

/// The actions of a resource (`{"actions": [...]}`).
pub fn resource_actions(v: &Value) -> Vec<ResourceAction> {
    v.get("actions")
        .and_then(|a| Vec::<ResourceAction>::deserialize(a).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|a| ResourceAction {
            name: clean(&a.name),
            disabled: a.disabled,
        })
        .collect()
}

/// An Application's sync windows (`GET /api/v1/applications/{name}/syncwindows`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncWindows {
    #[serde(deserialize_with = "lenient")]
    pub active_windows: Vec<SyncWindow>,
    pub can_sync: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncWindow {
    pub kind: String,
    pub schedule: String,
    pub duration: String,
    pub manual_sync: bool,
}

/// Why a sync of `app` can't go now, when its sync windows say so (`canSync: false`: Argo CD
/// counts windows that let manual syncs through); `None` when it can, or the answer says
/// nothing.
pub fn window_refusal(app: &str, v: &Value) -> Option<String> {
    let w = SyncWindows::deserialize(v).ok()?;
    if w.can_sync != Some(false) {
        return None;
    }
    let deny: Vec<String> = w
        .active_windows
        .iter()
        .filter(|w| w.kind == "deny")
        .map(|w| {
            format!(
                "deny window \"{}\" for {}",
                clean(&w.schedule),
                clean(&w.duration)
            )
        })
        .collect();
    let which = if deny.is_empty() {
        "no allow window is open".to_string()
    } else {
        deny.join(", ")
    };
    Some(format!(
        "a sync window forbids syncing {app} now ({which}): Argo CD refuses a sync until it lets \
         one through"
    ))
}
