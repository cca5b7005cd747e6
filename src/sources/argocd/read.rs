//! One poll of the `argocd` source: one list of the applications (projected to the fields the
//! cells need), then, for each Application that manages an Argo Rollout which is not healthy
//! (moving, paused, aborted), its live manifest and its resource actions, all at once; and
//! every minute, each Application's sync windows and what RBAC lets the account do (rbac.rs).

use std::collections::{BTreeMap, HashMap};

use futures_util::future::{join, join_all};
use serde_json::Value;

use super::map::{self, Application, Rollout};
use super::{ArgoSource, ArgoTarget, RolloutRef, Seen, enc};
use crate::model::{ActionKind, Batch, CellKey, Refusal};

/// The fields of the list the cells need (Argo CD's `fields` projection: a server that
/// ignores it answers whole applications, read the same).
pub const FIELDS: &str = "items.metadata.name,items.metadata.namespace,items.spec.project,\
items.spec.syncPolicy,items.status.sync.status,items.status.sync.revision,items.status.health,\
items.status.operationState,items.status.history,items.status.resources,items.status.reconciledAt";

/// What one Application's Rollout read gave: its manifest and its actions, or why not.
type RolloutRead = (Result<Rollout, String>, Vec<map::ResourceAction>);

impl ArgoSource {
    /// `GET /api/v1/applications` for this source's targets: the projects when every target
    /// names one, the app namespace when they all share one.
    pub(super) fn list_path(&self) -> String {
        let mut q = vec![format!("fields={}", enc(FIELDS))];
        let projects: Option<std::collections::BTreeSet<&str>> = self
            .targets
            .iter()
            .map(|(_, t)| t.project.as_deref())
            .collect();
        if let Some(ps) = projects {
            q.extend(ps.iter().map(|p| format!("projects={}", enc(p))));
        }
        let namespaces: Option<std::collections::BTreeSet<&str>> = self
            .targets
            .iter()
            .map(|(_, t)| t.app_namespace.as_deref())
            .collect();
        if let Some(ns) = namespaces
            && ns.len() == 1
        {
            q.push(format!(
                "appNamespace={}",
                enc(ns.first().copied().unwrap_or_default())
            ));
        }
        format!("/api/v1/applications?{}", q.join("&"))
    }

    /// The query that names a Rollout of an application, for `…/resource` and its actions.
    pub(super) fn rollout_query(t: &ArgoTarget, r: &RolloutRef) -> String {
        let mut q = format!(
            "namespace={}&resourceName={}&version={}&group=argoproj.io&kind=Rollout",
            enc(&r.namespace),
            enc(&r.name),
            enc(&r.version)
        );
        if let Some(ns) = &t.app_namespace {
            q.push_str(&format!("&appNamespace={}", enc(ns)));
        }
        q
    }

    async fn read_rollout(&self, t: &ArgoTarget, r: &RolloutRef) -> RolloutRead {
        let app = enc(&t.application);
        let q = Self::rollout_query(t, r);
        let (manifest, actions) = join(
            self.client
                .get(&format!("/api/v1/applications/{app}/resource?{q}")),
            self.client
                .get(&format!("/api/v1/applications/{app}/resource/actions?{q}")),
        )
        .await;
        let rollout = manifest
            .map_err(|e| format!("reading Rollout {}: {e}", r.name))
            .and_then(|v| map::rollout_manifest(&v));
        let actions = actions
            .map(|v| map::resource_actions(&v))
            .unwrap_or_default();
        (rollout, actions)
    }

    /// The sync windows of the Applications whose last read is older than
    /// [`super::WINDOWS_EVERY`], at once. An answer that can't be had (an Argo CD without the
    /// endpoint, RBAC) leaves the last one standing, or none.
    async fn read_windows(&self, apps: &[(CellKey, &ArgoTarget, Application)]) {
        let now = std::time::Instant::now();
        let due: Vec<&ArgoTarget> = {
            let kept = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            apps.iter()
                .map(|(_, t, _)| *t)
                .filter(|t| {
                    kept.get(&t.id())
                        .is_none_or(|(at, _)| now.duration_since(*at) >= super::WINDOWS_EVERY)
                })
                .collect()
        };
        let read = join_all(due.iter().map(|t| async move {
            let mut path = format!("/api/v1/applications/{}/syncwindows", enc(&t.application));
            if let Some(ns) = &t.app_namespace {
                path.push_str(&format!("?appNamespace={}", enc(ns)));
            }
            (t, self.client.get(&path).await)
        }))
        .await;
        let mut kept = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for (t, answer) in read {
            match answer {
                Ok(v) => {
                    kept.insert(t.id(), (now, map::window_refusal(&t.application, &v)));
                }
                Err(_) => {
                    let last = kept.get(&t.id()).and_then(|(_, w)| w.clone());
                    kept.insert(t.id(), (now, last));
                }
            }
        }
    }

    pub(super) async fn read(&self) -> Result<Batch, String> {
        let list = self
            .client
            .get(&self.list_path())
            .await
            .map_err(|e| format!("listing applications: {e}"))?;
        let items = map::list_items(&list)?;
        // The applications by name, in the list's order: found by a look-up, not a scan of
        // the list for every cell.
        let mut by_name: HashMap<&str, Vec<&Value>> = HashMap::new();
        for v in items {
            if let Some(name) = v.pointer("/metadata/name").and_then(Value::as_str) {
                by_name.entry(name).or_default().push(v);
            }
        }
        let mut batch = Batch::default();
        let mut apps: Vec<(CellKey, &ArgoTarget, Application)> = Vec::new();
        for (key, t) in &self.targets {
            let found = by_name.get(t.application.as_str()).and_then(|named| {
                named.iter().copied().find(|v| {
                    t.app_namespace.as_deref().is_none_or(|ns| {
                        v.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                    })
                })
            });
            let Some(v) = found else {
                batch.cell_errors.push((
                    key.clone(),
                    format!(
                        "Argo CD lists no application {:?}{}: check the name, or the token's \
                         RBAC (applications, get)",
                        t.application,
                        t.project
                            .as_ref()
                            .map(|p| format!(" in project {p:?}"))
                            .unwrap_or_default()
                    ),
                ));
                continue;
            };
            match map::application(v) {
                Ok(app) => apps.push((key.clone(), t, app)),
                Err(e) => batch.cell_errors.push((key.clone(), e)),
            }
        }
        // The Rollouts that move (or stand paused, or were aborted): their live state.
        let rollouts: Vec<Option<RolloutRef>> = apps
            .iter()
            .map(|(_, _, app)| {
                map::rollout_of(app).map(|r| RolloutRef {
                    name: r.name.clone(),
                    namespace: r.namespace.clone(),
                    version: if r.version.is_empty() {
                        "v1alpha1".into()
                    } else {
                        r.version.clone()
                    },
                })
            })
            .collect();
        let reads = join_all(
            apps.iter()
                .zip(&rollouts)
                .map(|((_, t, app), r)| async move {
                    let r = r.as_ref()?;
                    let healthy = map::rollout_of(app)
                        .and_then(|s| s.health.as_ref())
                        .is_some_and(|h| h.status == "Healthy");
                    if healthy {
                        return None;
                    }
                    Some(self.read_rollout(t, r).await)
                }),
        )
        .await;
        // Each Application's project, as RBAC names it.
        let project = |t: &ArgoTarget, app: &Application| {
            super::rbac::project_name(&app.spec.project)
                .or_else(|| t.project.clone())
                .unwrap_or_else(|| "default".into())
        };
        let asked: Vec<(&ArgoTarget, String)> = apps
            .iter()
            .map(|(_, t, app)| (*t, project(t, app)))
            .collect();
        join(self.read_windows(&apps), self.read_rbac(&asked)).await;
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut seen = BTreeMap::new();
        for (((key, t, app), r), read) in apps.iter().zip(rollouts).zip(reads) {
            let (rollout, actions) = match read {
                Some((Ok(r), a)) => (Some(r), a),
                Some((Err(e), _)) => {
                    batch.cell_errors.push((key.clone(), e));
                    continue;
                }
                None => (None, Vec::new()),
            };
            let mut cell = map::app_cell(app, rollout.as_ref(), &self.name);
            cell.url = Some(
                self.client
                    .url(&format!("/applications/{}", enc(&t.application))),
            );
            let automated = map::automated(app);
            if automated {
                let why = super::act::auto_sync_refusal(&t.application);
                cell.warnings.push(why.clone());
                cell.refused.push(Refusal {
                    action: ActionKind::Rollback,
                    reason: why,
                });
            }
            let disabled: Vec<String> = actions
                .iter()
                .filter(|a| a.disabled)
                .map(|a| a.name.clone())
                .collect();
            // What each of trainyard's actions sends to the Rollout (act.rs): refused here
            // when Argo CD lists that action as disabled.
            for (kind, action) in [
                (ActionKind::Pause, "pause"),
                (ActionKind::Resume, "resume"),
                (ActionKind::Reject, "abort"),
                (ActionKind::Abort, "abort"),
            ] {
                if disabled.iter().any(|d| d == action) {
                    cell.refused.push(Refusal {
                        action: kind,
                        reason: super::act::disabled_refusal(
                            action,
                            &r.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
                        ),
                    });
                }
            }
            let sync_running = map::sync_running(app);
            if r.is_none() {
                for kind in [
                    ActionKind::Pause,
                    ActionKind::Resume,
                    ActionKind::Approve,
                    ActionKind::Reject,
                ] {
                    cell.refused.push(Refusal {
                        action: kind,
                        reason: super::act::no_rollout_refusal(&t.application, kind),
                    });
                }
                // Without a Rollout, an abort terminates the running sync: none, nothing to abort.
                if !sync_running {
                    cell.refused.push(Refusal {
                        action: ActionKind::Abort,
                        reason: super::act::nothing_running_refusal(&t.application),
                    });
                }
            }
            // A sync window that forbids syncs now: promote and rollback (both syncs) are
            // refused with it, and the cell says so.
            if let Some((_, Some(why))) = windows.get(&t.id()) {
                for kind in [ActionKind::Promote, ActionKind::Rollback] {
                    cell.refused.push(Refusal {
                        action: kind,
                        reason: why.clone(),
                    });
                }
                let m = cell.message.take().unwrap_or_default();
                cell.message = Some(format!("{m}; syncs refused by a sync window now"));
            }
            let state = rollout.as_ref().and_then(map::rollout_state);
            let s = Seen {
                automated,
                history: app
                    .status
                    .history
                    .iter()
                    .map(|h| (h.id, h.revision.clone()))
                    .collect(),
                rollout_at_step: state
                    .as_ref()
                    .is_some_and(|s| s.0 == crate::model::CellState::AwaitingApproval),
                rollout: r,
                disabled,
                sync_running,
            };
            // What Argo CD's RBAC does not let the account do, where nothing else refused it.
            let object = super::rbac::object(&project(t, app), t);
            let said = |a: &str| self.rbac_said(&object, a);
            for refusal in super::rbac::refusals(&s, &t.application, &object, &said) {
                if cell.refusal(refusal.action).is_none() {
                    cell.refused.push(refusal);
                }
            }
            seen.insert(key.clone(), s);
            batch.cells.push((key.clone(), cell));
        }
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = seen;
        Ok(batch)
    }
}
