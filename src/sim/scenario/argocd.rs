//! The Argo CD face of the simulator: Applications `{lane}-{stage}` for the deploy stages of
//! [`ARGO_LANES`], seeded from the scenario's cells at start and moving on their own from
//! there (a sync takes a few seconds; a canary's Rollout walks its steps). Each canary
//! Application manages an Argo Rollout; `auth-service`'s and `ledger`'s start paused at a
//! step without a duration (they wait for someone to promote them), the others walk timed steps;
//! `notifications-prod` has automated sync on (Argo CD then refuses a rollback).
//!
//! The payloads are built with `serde_json::json!` from this file's own state, shaped like
//! Argo CD's (tests/fixtures/argocd), never with the `argocd` source's types.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{STAGES, Scenario, St};

mod rollout;
use rollout::Ro;

/// The lanes whose deploy stages the Argo CD face serves (those of them on the train).
pub const ARGO_LANES: [&str; 3] = ["auth-service", "ledger", "notifications"];
/// The lanes whose deploy stages the demo's config reads through Argo CD without `--argocd`.
pub const DEMO_ARGO_LANES: [&str; 1] = ["auth-service"];
/// The lanes whose canary Rollout starts waiting at a step for a promotion (others walk).
const WAITING_CANARIES: [&str; 2] = ["auth-service", "ledger"];
/// The stages it serves for each (the build stage stays with CI).
pub const ARGO_STAGES: [&str; 3] = ["staging", "canary", "prod"];
/// A token the face accepts for reading only: every action is refused by "RBAC".
pub const READONLY_TOKEN: &str = "trainyard-readonly";
/// Who the demo's token is to Argo CD (its `sub`).
pub const ACCOUNT: &str = "trainyard";

/// The steps of a simulated canary: the first pause of those of [`WAITING_CANARIES`] waits for
/// a promotion; the others walk every step on a timer.
fn canary_steps(lane: &str) -> Vec<Value> {
    let first_pause = if WAITING_CANARIES.contains(&lane) {
        json!({"pause": {}})
    } else {
        json!({"pause": {"duration": "10s"}})
    };
    vec![
        json!({"setWeight": 20}),
        first_pause,
        json!({"setWeight": 50}),
        json!({"pause": {"duration": "10s"}}),
        json!({"setWeight": 80}),
        json!({"pause": {"duration": "10s"}}),
    ]
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Clone, Debug)]
struct Hist {
    id: i64,
    revision: String,
    deployed_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    /// `None`: automated sync.
    by: Option<String>,
}

#[derive(Clone, Debug)]
struct Op {
    revision: String,
    by: Option<String>,
    started: DateTime<Utc>,
    finishes: DateTime<Utc>,
    phase: &'static str,
    message: String,
    finished_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
struct App {
    name: String,
    project: String,
    dest_ns: String,
    repo: String,
    path: String,
    automated: bool,
    revision: String,
    history: Vec<Hist>,
    op: Option<Op>,
    rollout: Option<Ro>,
    /// A deny sync window is open now (`POST /api/v1/_sim/argocd/windows`).
    deny_window: bool,
}

/// An answer: a status and a JSON body.
pub(crate) type ArgoReply = (u16, Value);

/// Argo CD's error body (grpc-gateway): `{"error", "code", "message"}`.
pub(crate) fn argo_error(status: u16, message: &str) -> ArgoReply {
    let code = match status {
        401 => 16,
        403 => 7,
        404 => 5,
        _ => 9,
    };
    (
        status,
        json!({"error": message, "code": code, "message": message}),
    )
}

/// The simulated Argo CD.
#[derive(Clone, Debug)]
pub(crate) struct ArgoSim {
    speed: f64,
    apps: Vec<App>,
    hostile: bool,
    /// Moves with every change (the list's `metadata.resourceVersion`).
    version: u64,
    /// RBAC's policy: (application, action) the demo's account may not do
    /// (`POST /api/v1/_sim/argocd/rbac`).
    denied: Vec<(String, String)>,
}

impl Scenario {
    /// The Argo CD face, seeded from the scenario's cells as they stand now.
    pub(crate) fn argo_sim(&self) -> ArgoSim {
        let now = self.now();
        let mut apps = Vec::new();
        for lane in self
            .lanes
            .iter()
            .filter(|l| ARGO_LANES.contains(&l.spec.name.as_str()))
        {
            let waiting = WAITING_CANARIES.contains(&lane.spec.name.as_str());
            for stage in ARGO_STAGES {
                let s = STAGES.iter().position(|x| *x == stage).expect("a stage");
                let cell = &lane.cells[s];
                let mut history: Vec<Hist> = cell
                    .history
                    .iter()
                    .rev()
                    .filter(|h| h.ran && h.state == St::Succeeded)
                    .map(|h| Hist {
                        id: 0,
                        revision: h.ver.sha.clone(),
                        deployed_at: self.wall(h.at),
                        started_at: self.wall(h.started),
                        by: Some(h.actor.clone()),
                    })
                    .collect();
                let settled = cell.state == St::Succeeded;
                if settled || stage == "canary" {
                    history.push(Hist {
                        id: 0,
                        revision: cell.ver.sha.clone(),
                        deployed_at: self.wall(cell.updated.max(cell.started)),
                        started_at: self.wall(cell.started),
                        by: Some(cell.actor.clone()),
                    });
                }
                // A canary waiting at a step rolls out what prod must not have yet.
                let rolling = &lane.cells[super::CANARY].ver.sha;
                if waiting && s == super::PROD && history.len() >= 2 {
                    history.pop_if(|h| &h.revision == rolling);
                }
                for (i, h) in history.iter_mut().enumerate() {
                    h.id = i as i64 + 1;
                }
                let revision = history
                    .last()
                    .map_or(cell.ver.sha.clone(), |h| h.revision.clone());
                // A deploy still running at staging or prod is a sync in progress.
                let op = if !settled && stage != "canary" && cell.state == St::Running {
                    Some(Op {
                        revision: cell.ver.sha.clone(),
                        by: Some(cell.actor.clone()),
                        started: now,
                        finishes: now + TimeDelta::milliseconds((4000.0 / self.speed) as i64),
                        phase: "Running",
                        message: "waiting for healthy state of apps/Deployment".into(),
                        finished_at: None,
                    })
                } else {
                    history.last().map(|h| Op {
                        revision: h.revision.clone(),
                        by: h.by.clone(),
                        started: h.started_at,
                        finishes: h.deployed_at,
                        phase: "Succeeded",
                        message: "successfully synced (all tasks run)".into(),
                        finished_at: Some(h.deployed_at),
                    })
                };
                let name = lane.spec.name.clone();
                let rollout = (stage == "canary").then(|| {
                    let moving = (waiting || cell.state != St::Succeeded) && history.len() >= 2;
                    let stable = if moving {
                        history[history.len() - 2].revision.clone()
                    } else {
                        revision.clone()
                    };
                    Ro {
                        name: name.clone(),
                        namespace: format!("{name}-canary"),
                        steps: canary_steps(&name),
                        // A waiting canary stands at its first pause; another walks its steps.
                        step: if moving && waiting { 1 } else { 0 },
                        step_since: now,
                        banked: TimeDelta::zero(),
                        user_paused: false,
                        abort: false,
                        stable,
                        current: revision.clone(),
                        generation: history.len().max(1) as i64,
                    }
                });
                apps.push(App {
                    name: format!("{name}-{stage}"),
                    project: lane.spec.team.clone(),
                    dest_ns: format!("{name}-{stage}"),
                    repo: format!("https://git.example.com/acme/{name}.git"),
                    path: format!("deploy/{stage}"),
                    automated: name == "notifications" && stage == "prod",
                    revision,
                    history,
                    op,
                    rollout,
                    deny_window: false,
                });
            }
        }
        ArgoSim {
            speed: self.speed,
            apps,
            hostile: self.hostile,
            version: 1,
            denied: Vec::new(),
        }
    }
}

fn query<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl ArgoSim {
    /// Bring every application up to `now`: finished syncs, Rollout steps.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>) {
        let speed = self.speed;
        for app in &mut self.apps {
            let before = (
                app.op.as_ref().map(|o| o.phase),
                app.rollout.as_ref().map(|r| (r.step, r.stable.clone())),
            );
            if let Some(op) = app
                .op
                .as_mut()
                .filter(|o| o.phase == "Terminating" && now >= o.finishes)
            {
                op.phase = "Failed";
                op.message = "Operation terminated".into();
                op.finished_at = Some(op.finishes);
            }
            if let Some(op) = app
                .op
                .as_mut()
                .filter(|o| o.phase == "Running" && now >= o.finishes)
            {
                op.phase = "Succeeded";
                op.message = "successfully synced (all tasks run)".into();
                op.finished_at = Some(op.finishes);
                let id = app.history.last().map_or(1, |h| h.id + 1);
                app.history.push(Hist {
                    id,
                    revision: op.revision.clone(),
                    deployed_at: op.finishes,
                    started_at: op.started,
                    by: op.by.clone(),
                });
                app.history.drain(..app.history.len().saturating_sub(10));
                app.revision = op.revision.clone();
                if let Some(ro) = app.rollout.as_mut() {
                    ro.generation += 1;
                    ro.abort = false;
                    ro.user_paused = false;
                    ro.banked = TimeDelta::zero();
                    ro.current = op.revision.clone();
                    ro.step = 0;
                    ro.step_since = op.finishes;
                }
            }
            if let Some(ro) = app.rollout.as_mut() {
                ro.advance(now, speed);
            }
            let after = (
                app.op.as_ref().map(|o| o.phase),
                app.rollout.as_ref().map(|r| (r.step, r.stable.clone())),
            );
            if before != after {
                self.version += 1;
            }
        }
    }

    fn app_json(&self, app: &App, now: DateTime<Utc>) -> Value {
        let running = app
            .op
            .as_ref()
            .is_some_and(|o| matches!(o.phase, "Running" | "Terminating"));
        let (health, health_message) = if running {
            ("Progressing", String::new())
        } else if let Some(ro) = &app.rollout {
            ro.health()
        } else {
            ("Healthy", String::new())
        };
        let initiated = |by: &Option<String>| match by {
            Some(u) => json!({"username": u}),
            None => json!({"automated": true}),
        };
        let source = json!({"repoURL": app.repo, "path": app.path, "targetRevision": "main"});
        let mut resources = vec![
            json!({"version": "v1", "kind": "Service", "namespace": app.dest_ns,
                                        "name": app.name, "status": "Synced", "health": {"status": "Healthy"}}),
        ];
        match &app.rollout {
            Some(ro) => {
                let mut h = json!({"status": ro.health().0});
                if !ro.health().1.is_empty() {
                    h["message"] = json!(ro.health().1);
                }
                resources.push(json!({"group": "argoproj.io", "version": "v1alpha1", "kind": "Rollout",
                                      "namespace": ro.namespace, "name": ro.name, "status": "Synced", "health": h}));
            }
            None => resources.push(json!({"group": "apps", "version": "v1", "kind": "Deployment",
                                          "namespace": app.dest_ns, "name": app.name, "status": "Synced",
                                          "health": {"status": if running { "Progressing" } else { "Healthy" }}})),
        }
        let mut status = json!({
            "sync": {"status": if running { "OutOfSync" } else { "Synced" },
                     "revision": app.op.as_ref().filter(|_| running).map_or(app.revision.clone(), |o| o.revision.clone()),
                     "comparedTo": {"source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": app.dest_ns}}},
            "health": {"status": health},
            "history": app.history.iter().map(|h| json!({
                "id": h.id, "revision": h.revision, "deployedAt": ts(h.deployed_at),
                "deployStartedAt": ts(h.started_at), "source": source, "initiatedBy": initiated(&h.by),
            })).collect::<Vec<_>>(),
            "resources": resources,
            "reconciledAt": ts(now),
            "sourceType": "Kustomize",
            "summary": {"images": [format!("registry.example.com/acme/{}:{}", app.name, &app.revision[..app.revision.len().min(7)])]},
        });
        if !health_message.is_empty() {
            status["health"]["message"] = json!(health_message);
        }
        if let Some(op) = &app.op {
            let mut m = op.message.clone();
            if self.hostile {
                m = crate::sim::hostile::with_attack(&m);
            }
            let mut o = json!({
                "operation": {"sync": {"revision": op.revision, "syncStrategy": {"hook": {}}},
                              "initiatedBy": initiated(&op.by), "retry": {}},
                "phase": op.phase, "message": m, "startedAt": ts(op.started),
            });
            if let Some(f) = op.finished_at {
                o["finishedAt"] = json!(ts(f));
                o["syncResult"] =
                    json!({"revision": op.revision, "source": source, "resources": []});
            }
            status["operationState"] = o;
        }
        let mut policy = json!({"syncOptions": ["CreateNamespace=true"]});
        if app.automated {
            policy["automated"] = json!({"prune": true, "selfHeal": true});
        }
        json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": app.name, "namespace": "argocd", "resourceVersion": self.version.to_string()},
            "spec": {"project": app.project, "source": source,
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": app.dest_ns},
                     "syncPolicy": policy},
            "status": status,
        })
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.apps.iter().position(|a| a.name == name)
    }

    /// Answer one request of the API subset. `readonly`: the token may read, not act;
    /// `user`: the account Argo CD records as the initiator.
    pub(crate) fn answer(
        &mut self,
        now: DateTime<Utc>,
        method: &str,
        path: &str,
        q: &[(String, String)],
        body: &Value,
        readonly: bool,
    ) -> ArgoReply {
        self.tick(now);
        if let Some(rest) = path.strip_prefix("/api/v1/account/can-i/") {
            return match method {
                "GET" => self.can_i(rest, readonly),
                _ => argo_error(405, "method not allowed"),
            };
        }
        let rest = path.trim_start_matches("/api/v1/applications");
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            if method != "GET" {
                return argo_error(405, "method not allowed");
            }
            let projects: Vec<&str> = q
                .iter()
                .filter(|(k, _)| k == "projects" || k == "project")
                .map(|(_, v)| v.as_str())
                .collect();
            let items: Vec<Value> = self
                .apps
                .iter()
                .filter(|a| projects.is_empty() || projects.contains(&a.project.as_str()))
                .filter(|a| query(q, "name").is_none_or(|n| n == a.name))
                .map(|a| self.app_json(a, now))
                .collect();
            return (
                200,
                json!({"metadata": {"resourceVersion": self.version.to_string()}, "items": items}),
            );
        }
        let name = parts[0];
        let Some(i) = self.find(name) else {
            return argo_error(
                404,
                &format!("applications.argoproj.io \"{name}\" not found"),
            );
        };
        let project = self.apps[i].project.clone();
        let denied =
            |what: &str| readonly || self.denied.iter().any(|(n, a)| n == name && a == what);
        let sub = if readonly { READONLY_TOKEN } else { ACCOUNT };
        let deny = |what: &str| {
            argo_error(
                403,
                &format!(
                    "permission denied: applications, {what}, {project}/{name}, sub: {sub}, iat: 1764979200"
                ),
            )
        };
        match (method, &parts[1..]) {
            ("GET", []) => (200, self.app_json(&self.apps[i], now)),
            ("POST", ["sync"]) if denied("sync") => deny("sync"),
            ("POST", ["sync"]) => self.sync(i, now, body),
            ("POST", ["rollback"]) if denied("sync") => deny("sync"),
            ("POST", ["rollback"]) => self.rollback(i, now, body),
            ("DELETE", ["operation"]) if denied("sync") => deny("sync"),
            // Terminating for a moment (the controller stops the sync's tasks), then failed
            // with Argo CD's words.
            ("DELETE", ["operation"]) => {
                let speed = self.speed;
                match self.apps[i].op.as_mut().filter(|o| o.phase == "Running") {
                    Some(op) => {
                        op.phase = "Terminating";
                        op.message = "Terminating".into();
                        op.finishes = now + TimeDelta::milliseconds((1000.0 / speed) as i64);
                        self.version += 1;
                        (200, json!({}))
                    }
                    None => argo_error(
                        400,
                        "Unable to terminate operation. No operation is in progress",
                    ),
                }
            }
            ("GET", ["syncwindows"]) => {
                let deny = json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "manualSync": false});
                let app = &self.apps[i];
                let active: Vec<Value> = if app.deny_window {
                    vec![deny.clone()]
                } else {
                    vec![]
                };
                (
                    200,
                    json!({"activeWindows": active, "assignedWindows": [deny], "canSync": !app.deny_window}),
                )
            }
            ("GET", ["resource"]) => match self.rollout_at(i, q) {
                Some(ro) => (200, json!({"manifest": ro.json().to_string()})),
                None => argo_error(404, "resource not found"),
            },
            ("GET", ["resource", "actions"]) => match self.rollout_at(i, q) {
                Some(ro) => {
                    let actions: Vec<Value> = ro
                        .actions()
                        .into_iter()
                        .map(|(n, d)| json!({"name": n, "disabled": d}))
                        .collect();
                    (200, json!({"actions": actions}))
                }
                None => argo_error(404, "resource not found"),
            },
            ("POST", ["resource", "actions"]) => {
                let action = body.as_str().unwrap_or_default().to_string();
                let what = format!("action/argoproj.io/Rollout/{action}");
                if denied(&what) {
                    return deny(&what);
                }
                self.run_action(i, q, &action, now)
            }
            _ => argo_error(404, &format!("no route for {method} {path}")),
        }
    }

    fn rollout_at(&self, i: usize, q: &[(String, String)]) -> Option<&Ro> {
        let ro = self.apps[i].rollout.as_ref()?;
        let ok = query(q, "kind") == Some("Rollout")
            && query(q, "group") == Some("argoproj.io")
            && query(q, "resourceName") == Some(ro.name.as_str())
            && query(q, "namespace").is_none_or(|n| n == ro.namespace);
        ok.then_some(ro)
    }

    fn busy(&self, i: usize) -> Option<ArgoReply> {
        if self.apps[i].deny_window {
            return Some(argo_error(403, "cannot sync: blocked by sync window"));
        }
        self.apps[i]
            .op
            .as_ref()
            .filter(|o| matches!(o.phase, "Running" | "Terminating"))
            .map(|_| argo_error(400, "another operation is already in progress"))
    }

    /// `GET /api/v1/account/can-i/{resource}/{action}/{subresource}`, each part one
    /// percent-encoded segment (as the path arrives): `applications`, and `PROJECT/APP` naming
    /// an application of that project. The read-only token may only `get`; the other may do
    /// everything but what [`ArgoSim::set_rbac`] denied. As Argo CD's, it answers only the
    /// plain actions: a resource action (`action/…`) is a 400.
    fn can_i(&self, rest: &str, readonly: bool) -> ArgoReply {
        let parts: Vec<String> = rest
            .split('/')
            .map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let [resource, action, object] = parts.as_slice() else {
            return argo_error(
                404,
                &format!("no route for GET /api/v1/account/can-i/{rest}"),
            );
        };
        const ACTIONS: [&str; 6] = ["get", "create", "update", "delete", "sync", "override"];
        if !ACTIONS.contains(&action.as_str()) {
            let (status, mut v) =
                argo_error(400, &format!("{ACTIONS:?} does not contain {action}"));
            v["code"] = json!(3); // InvalidArgument
            return (status, v);
        }
        let app = object.split_once('/').and_then(|(project, name)| {
            self.apps
                .iter()
                .find(|a| a.name == name && a.project == project)
        });
        let yes = resource == "applications"
            && app.is_some_and(|a| {
                if readonly {
                    action == "get"
                } else {
                    !self.denied.iter().any(|(n, d)| *n == a.name && d == action)
                }
            });
        (200, json!({"value": if yes { "yes" } else { "no" }}))
    }

    /// Deny (or allow again) an RBAC action on an application to the demo's account: can-i
    /// says so, and the action itself is refused 403 (a test knob).
    pub(crate) fn set_rbac(&mut self, app: &str, action: &str, deny: bool) -> bool {
        if self.find(app).is_none() {
            return false;
        }
        self.denied.retain(|(n, a)| !(n == app && a == action));
        if deny {
            self.denied.push((app.to_string(), action.to_string()));
        }
        true
    }

    /// Open (`deny`) or close a deny sync window on an application (a test knob).
    pub(crate) fn set_window(&mut self, app: &str, deny: bool) -> bool {
        match self.find(app) {
            Some(i) => {
                self.apps[i].deny_window = deny;
                true
            }
            None => false,
        }
    }

    /// A sync (or rollback) starts: a Rollout's Application syncs in a second (its Rollout then
    /// walks its steps); another's takes 12 s at speed 1, long enough to be terminated.
    fn start(&mut self, i: usize, now: DateTime<Utc>, revision: String) {
        let canary = self.apps[i].rollout.is_some();
        let secs = if canary { 1000.0 } else { 12000.0 };
        self.apps[i].op = Some(Op {
            revision,
            by: Some(ACCOUNT.into()),
            started: now,
            finishes: now + TimeDelta::milliseconds((secs / self.speed) as i64),
            phase: "Running",
            message: "waiting for healthy state of apps/Deployment".into(),
            finished_at: None,
        });
        self.version += 1;
    }

    fn sync(&mut self, i: usize, now: DateTime<Utc>, body: &Value) -> ArgoReply {
        if let Some(e) = self.busy(i) {
            return e;
        }
        let revision = body
            .get("revision")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .map_or(self.apps[i].revision.clone(), String::from);
        if body.get("dryRun").and_then(Value::as_bool) == Some(true) {
            return (200, self.app_json(&self.apps[i], now));
        }
        self.start(i, now, revision);
        (200, self.app_json(&self.apps[i], now))
    }

    fn rollback(&mut self, i: usize, now: DateTime<Utc>, body: &Value) -> ArgoReply {
        let app = &self.apps[i];
        if app.automated {
            return argo_error(
                400,
                "rollback cannot be initiated when auto-sync is enabled",
            );
        }
        if let Some(e) = self.busy(i) {
            return e;
        }
        let id = body
            .get("id")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        let Some(h) = app.history.iter().find(|h| Some(h.id) == id) else {
            return argo_error(
                400,
                &format!(
                    "application {} does not have deployment with id {}",
                    app.name,
                    id.unwrap_or_default()
                ),
            );
        };
        let revision = h.revision.clone();
        self.start(i, now, revision);
        (200, self.app_json(&self.apps[i], now))
    }

    fn run_action(
        &mut self,
        i: usize,
        q: &[(String, String)],
        action: &str,
        now: DateTime<Utc>,
    ) -> ArgoReply {
        let Some(disabled) = self.rollout_at(i, q).map(|ro| ro.actions()) else {
            return argo_error(404, "resource not found");
        };
        match disabled.iter().find(|(n, _)| *n == action) {
            None => return argo_error(400, &format!("action {action} not found")),
            Some((_, true)) => return argo_error(400, &format!("action {action} is disabled")),
            Some(_) => {}
        }
        let ro = self.apps[i].rollout.as_mut().expect("checked");
        match action {
            "resume" if ro.user_paused => {
                ro.user_paused = false;
                ro.step_since = now;
            }
            "resume" | "skip-current-step" => {
                ro.step += 1;
                ro.step_since = now;
                ro.banked = TimeDelta::zero();
            }
            "pause" => {
                ro.user_paused = true;
                ro.banked += now - ro.step_since;
            }
            "abort" => ro.abort = true,
            "retry" => {
                ro.abort = false;
                ro.step = 0;
                ro.step_since = now;
            }
            "promote-full" => {
                ro.step = ro.steps.len();
                ro.stable = ro.current.clone();
            }
            _ => {}
        }
        ro.advance(now, self.speed);
        self.version += 1;
        (200, self.app_json(&self.apps[i], now))
    }
}

#[cfg(test)]
mod tests;
