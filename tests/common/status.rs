//! Reading what `trainyard status --json` printed (the object of docs/design.md).

use serde_json::Value;

/// The lane named `name`.
pub fn lane<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["lanes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no lane {name} in {status}"))
}

/// The cell of `lane` at `stage`.
pub fn cell<'a>(status: &'a Value, lane: &str, stage: &str) -> &'a Value {
    self::lane(status, lane)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stage"] == stage)
        .unwrap_or_else(|| panic!("no cell {lane} {stage} in {status}"))
}

/// Whether a blocker of `kind` stands against `lane`.
pub fn blocked(status: &Value, kind: &str, lane: &str) -> bool {
    status["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["kind"] == kind && b["lane"] == lane)
}
