//! GitHub's payloads as the source reads them: the body as JSON, then as each payload kind
//! (`map::decode`), then mapped to cells. Seeds: tests/fixtures/github.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trainyard::sources::github::map::{
    self, CheckRuns, Deployment, DeploymentStatus, PendingDeployment, WorkflowRuns,
};

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_764_165_600, 0).unwrap();
    let runs = map::decode::<WorkflowRuns>(v.clone());
    match &runs {
        Ok(r) => {
            if let Some(c) = map::ci_cell(&r.workflow_runs, &[]) {
                common::assert_cell(&c);
            }
        }
        Err(e) => common::assert_error("runs", e),
    }
    match map::decode::<CheckRuns>(v.clone()) {
        Ok(c) => {
            for ch in &c.check_runs {
                common::assert_clean("check", &map::check(ch).name);
            }
        }
        Err(e) => common::assert_error("check runs", &e),
    }
    let deployments = map::decode::<Vec<Deployment>>(v.clone());
    match &deployments {
        Ok(d) => {
            let pairs: Vec<_> = d.iter().map(|d| (d.clone(), None)).collect();
            if let Some(c) = map::deploy_cell(&pairs) {
                common::assert_cell(&c);
            }
        }
        Err(e) => common::assert_error("deployments", e),
    }
    match map::decode::<Vec<DeploymentStatus>>(v.clone()) {
        Ok(s) => {
            let d: Deployment = map::decode(serde_json::json!({"id": 1, "sha": "abc"})).unwrap();
            let pairs: Vec<_> = s.into_iter().map(|s| (d.clone(), Some(s))).collect();
            if let Some(c) = map::deploy_cell(&pairs) {
                common::assert_cell(&c);
            }
        }
        Err(e) => common::assert_error("statuses", &e),
    }
    match map::decode::<Vec<PendingDeployment>>(v) {
        Ok(p) => {
            let run: WorkflowRuns = map::decode(serde_json::json!({"workflow_runs": [
                {"id": 1, "head_sha": "abc", "status": "waiting", "conclusion": null,
                 "html_url": null, "created_at": null, "updated_at": null,
                 "run_started_at": null, "actor": null}
            ]}))
            .unwrap();
            for p in &p {
                common::assert_cell(&map::awaiting_cell(&run.workflow_runs[0], p, now));
            }
        }
        Err(e) => common::assert_error("pending deployments", &e),
    }
});
