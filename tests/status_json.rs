//! `trainyard status --json` against a running `trainyard sim`: the JSON of DESIGN.md, and the
//! exit codes when the simulator is gone.

mod common;

use common::bin::{Trainyard, trainyard};
use common::sim;
use serde_json::Value;
use trainyard::model::CellState;

fn status(config: &std::path::Path, dir: &std::path::Path, json: bool) -> (i32, String) {
    let args: &[&str] = if json {
        &["status", "--json"]
    } else {
        &["status"]
    };
    let r = trainyard(dir, config, args);
    (r.code, r.stdout)
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

#[test]
fn status_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    let path = sim.write_config(dir.path(), "");

    let (code, out) = status(&path, dir.path(), true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();

    let train = &v["train"];
    assert!(train["name"].is_string());
    assert_eq!(
        train["stages"],
        serde_json::json!(["build", "staging", "canary", "prod"])
    );
    assert!(is_rfc3339(&train["window"]["opens"]) && is_rfc3339(&train["window"]["closes"]));
    assert_eq!(train["window"]["state"], "open");
    assert_eq!(train["halted"], false);

    let states = CellState::ALL.map(CellState::as_str);
    let lanes = v["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 9);
    let mut metric_count = 0;
    for lane in lanes {
        assert!(
            lane["name"].is_string() && lane["team"].is_string() && lane["depends_on"].is_array()
        );
        let cells = lane["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 4);
        for c in cells {
            for field in [
                "stage",
                "version",
                "state",
                "progress",
                "updated_at",
                "url",
                "source",
                "stale",
                "error",
                "metrics",
            ] {
                assert!(c.get(field).is_some(), "cell lacks {field}: {c}");
            }
            assert!(states.contains(&c["state"].as_str().unwrap()), "{c}");
            assert_eq!(c["stale"], false);
            assert!(c["error"].is_null());
            // The demo train mixes trainyard's protocol, the simulator's GitHub and GitLab APIs,
            // and its Argo CD API for auth-service's deploy stages.
            let name = lane["name"].as_str().unwrap();
            let argo = name == "auth-service" && c["stage"] != "build";
            let source = match name {
                "checkout-web" | "inventory" | "pricing-engine" => "gh",
                "shipping-api" => "gl",
                _ if argo => "argo",
                _ => "sim",
            };
            assert_eq!(c["source"], source, "{c}");
            assert!(is_rfc3339(&c["updated_at"]), "{c}");
            let metrics = c["metrics"].as_array().unwrap();
            for m in metrics {
                for field in [
                    "name",
                    "value",
                    "unit",
                    "threshold",
                    "ok",
                    "error",
                    "source",
                    "warnings",
                    "canary",
                ] {
                    assert!(m.get(field).is_some(), "metric lacks {field}: {m}");
                }
                // The demo reads its metrics from the simulator's Prometheus API only.
                assert_eq!(m["source"], "prom", "{m}");
                metric_count += 1;
            }
            let mut names: Vec<&str> = metrics.iter().filter_map(|m| m["name"].as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), metrics.len(), "no metric twice: {c}");
        }
    }
    assert!(metric_count > 0);

    let kinds = [
        "check_failed",
        "not_ready",
        "awaiting_approval",
        "dependency",
        "window_closed",
        "freeze",
        "soak",
        "slo",
        "stale",
        "hold",
        "halt",
        "source_error",
        "source_refuses",
    ];
    let blockers = v["blockers"].as_array().unwrap();
    assert!(!blockers.is_empty(), "the demo train has blockers");
    for b in blockers {
        assert!(b["lane"].is_string() && b["stage"].is_string() && b["message"].is_string());
        assert!(kinds.contains(&b["kind"].as_str().unwrap()), "{b}");
    }
    assert!(blockers.iter().any(|b| b["kind"] == "awaiting_approval"));
    assert!(blockers.iter().any(|b| b["kind"] == "check_failed"));

    let sources = v["sources"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = sources
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("argo", "argocd"),
            ("gh", "github"),
            ("gl", "gitlab"),
            ("prom", "prometheus"),
            ("sim", "http")
        ]
    );
    for s in sources {
        assert_eq!(s["ok"], true, "{s}");
        assert!(s["error"].is_null());
        assert!(s.get("rate_limit").is_some());
    }
    let gh = sources.iter().find(|s| s["name"] == "gh").unwrap();
    assert_eq!(gh["rate_limit"]["limit"], 5000, "GitHub's budget is shown");

    // The table names every lane.
    let (code, table) = status(&path, dir.path(), false);
    assert_eq!(code, 0);
    for lane in lanes {
        assert!(table.contains(lane["name"].as_str().unwrap()), "{table}");
    }

    // The simulator gone: still the whole train, the source marked failed, exit 1.
    drop(sim);
    let (code, out) = status(&path, dir.path(), true);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["lanes"].as_array().unwrap().len(), 9);
    assert_eq!(v["sources"][0]["ok"], false);
    assert!(
        v["sources"][0]["error"]
            .as_str()
            .unwrap()
            .contains("connection")
    );
    let cell = &v["lanes"][0]["cells"][0];
    assert!(cell["stale"].as_bool().unwrap());
    assert_eq!(cell["state"], "unknown");
    assert_eq!(cell["source"], "sim");
    assert!(
        cell["error"].as_str().unwrap().contains("source sim"),
        "{cell}"
    );
}

#[test]
fn config_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[train]\nname = \"x\"\nstages = [\"build\"]\nbogus = 1\n",
    )
    .unwrap();
    let r = trainyard(dir.path(), &path, &["config", "check"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stdout.contains("bad.toml:4:1:"), "{r}");
    let r = Trainyard::new(dir.path())
        .config(&dir.path().join("missing.toml"))
        .args(["status"])
        .run();
    assert_eq!(r.code, 2, "{r}");
}

/// The printed config of a running `trainyard sim` measures the metrics through its Prometheus
/// API: `status --json` has them at notifications' canary, from the `prom` source, with the
/// stable side and the canary verdict.
#[test]
fn status_json_carries_the_prometheus_metrics_of_the_canary() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    assert!(sim.config.contains("[sources.prom]"), "{}", sim.config);
    let path = sim.write_config(dir.path(), "");
    let (code, out) = status(&path, dir.path(), true);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let prom = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "prom")
        .unwrap();
    assert_eq!(
        (&prom["kind"], &prom["ok"], &prom["error"]),
        (&Value::from("prometheus"), &Value::from(true), &Value::Null)
    );
    let canary = common::status::cell(&v, "notifications", "canary").clone();
    let metrics = canary["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["error_rate", "latency_p99", "saturation"],
        "{canary}"
    );
    let err = &metrics[0];
    assert_eq!(err["source"], "prom");
    assert_eq!(err["unit"], "ratio");
    assert_eq!(err["threshold"]["max"], 0.01);
    assert!(
        err["error"].is_null() && err["warnings"] == serde_json::json!([]),
        "{err}"
    );
    let value = err["value"].as_f64().unwrap();
    assert!(value > 0.0 && value < 0.05, "{err}");
    assert!(err["baseline"].as_f64().is_some(), "{err}");
    let verdict = err["canary"]["verdict"].as_str().unwrap();
    assert!(["pass", "marginal", "fail"].contains(&verdict), "{err}");
    assert!(err["canary"]["p_worse"].as_f64().is_some(), "{err}");
    // The cell itself still comes from trainyard's protocol.
    assert_eq!(canary["source"], "sim");
}

/// A held lane and the halt say who, since when and why — in `status --json` and in the table —
/// whether or not the lane has a next move (notifications' canary is still rolling out).
#[test]
fn holds_and_the_halt_say_who_when_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    let audit = dir.path().join("audit.jsonl");
    let path = sim.write_config(
        dir.path(),
        &format!("[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    let v: Value = serde_json::from_str(&status(&path, dir.path(), true).1).unwrap();
    assert_eq!(v["holds"], serde_json::json!([]));
    assert!(v["train"]["halt"].is_null());
    for args in [
        &[
            "pause",
            "notifications",
            "--yes",
            "--reason",
            "db migration",
        ][..],
        &["halt", "--yes", "--reason", "incident 42"][..],
    ] {
        let r = trainyard(dir.path(), &path, args);
        assert_eq!(r.code, 0, "{r}");
    }
    let (_, out) = status(&path, dir.path(), true);
    let v: Value = serde_json::from_str(&out).unwrap();
    let holds = v["holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1, "{out}");
    let h = &holds[0];
    assert_eq!(
        (&h["lane"], &h["reason"]),
        (&Value::from("notifications"), &Value::from("db migration")),
        "{h}"
    );
    assert!(h["by"].as_str().unwrap().starts_with("tester@"), "{h}");
    assert!(is_rfc3339(&h["at"]), "{h}");
    let halt = &v["train"]["halt"];
    assert_eq!(halt["reason"], "incident 42", "{halt}");
    assert!(halt["lane"].is_null() && is_rfc3339(&halt["at"]), "{halt}");
    assert_eq!(v["train"]["halted"], true);
    let (_, table) = status(&path, dir.path(), false);
    assert!(
        table.contains("HALTED by tester@") && table.contains(": incident 42"),
        "{table}"
    );
    assert!(
        table.contains("HOLDS (1)") && table.contains("notifications held by tester@"),
        "{table}"
    );
    assert!(table.contains(": db migration"), "{table}");
}

/// A metric with a stable side carries the canary verdict, its p-value and the probability that
/// a canary sample is worse, under names that say so (and the first names, kept).
#[test]
fn the_canary_verdict_names_its_figures_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::spawn(dir.path(), &[]);
    let path = sim.write_config(dir.path(), "");
    let (_, out) = status(&path, dir.path(), true);
    let v: Value = serde_json::from_str(&out).unwrap();
    let canaries: Vec<&Value> = v["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["cells"].as_array().unwrap())
        .flat_map(|c| c["metrics"].as_array().unwrap())
        .filter_map(|m| m["canary"].as_object().map(|_| &m["canary"]))
        .collect();
    assert!(!canaries.is_empty(), "{out}");
    for c in canaries {
        assert!(
            ["pass", "marginal", "fail", "no data"].contains(&c["verdict"].as_str().unwrap()),
            "{c}"
        );
        if c["p_value"].is_null() {
            continue;
        }
        let p = c["p_value"].as_f64().unwrap();
        let worse = c["prob_worse"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&worse),
            "{c}"
        );
        assert_eq!(c["p_worse"], c["p_value"], "{c}");
    }
}
