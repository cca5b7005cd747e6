//! `trainyard sim --hostile` / `trainyard demo --hostile`: the simulator serves the strings
//! an attacker who controls a CI system, a repository or a Prometheus would send. Commit
//! titles, check names, messages, URLs, user logins, reviewers, warnings and error bodies get
//! terminal escape sequences (OSC 52 clipboard writes, title changes, hyperlinks, screen
//! clears, device queries, DCS, their 8-bit forms), bidi overrides, zero-width and tag
//! characters; some lanes' versions are CJK or emoji, to test the columns. (The http protocol
//! has no branch names: a commit title names one instead.)
//!
//! The attack is a pass over the JSON the simulator already built: the scenario itself is the
//! same train, so every action still works. Deterministic: which attack lands where is a hash
//! of the field and of its original text, so an unchanged document stays byte for byte the
//! same (ETags keep working). docs/security.md ("Hostile payloads") says what trainyard does with them.

use serde_json::Value;

/// The marker the clipboard payloads carry: base64 of `HOSTILE-CLIPBOARD`.
pub const CLIPBOARD_B64: &str = "SE9TVElMRS1DTElQQk9BUkQ=";
/// The title the title-change payloads set.
pub const TITLE: &str = "HOSTILE-TITLE";

/// The attacks, each a complete payload.
pub const ATTACKS: [&str; 16] = [
    // OSC 52: write the clipboard (BEL and ST forms).
    "\u{1b}]52;c;SE9TVElMRS1DTElQQk9BUkQ=\u{07}",
    "\u{1b}]52;c;SE9TVElMRS1DTElQQk9BUkQ=\u{1b}\\",
    // OSC 0 / 2: set the window title.
    "\u{1b}]0;HOSTILE-TITLE\u{07}",
    "\u{1b}]2;HOSTILE-TITLE\u{1b}\\",
    // OSC 8: a hyperlink whose text hides its target.
    "\u{1b}]8;;https://evil.example/\u{1b}\\see log\u{1b}]8;;\u{1b}\\",
    // CSI: clear the screen and home the cursor; move up and overwrite; report the cursor
    // position (the answer would arrive as typed input).
    "\u{1b}[2J\u{1b}[H",
    "\u{1b}[3A\u{1b}[2KHOSTILE",
    "\u{1b}[6n",
    // DCS: request a terminfo capability (answered as input too).
    "\u{1b}P+q544e\u{1b}\\",
    // 8-bit CSI, OSC 52 and DCS.
    "\u{9b}2J",
    "\u{9d}52;c;SE9TVElMRS1DTElQQk9BUkQ=\u{9c}",
    "\u{90}q#0;2;0;0;0\u{9c}",
    // Trojan Source: an override and isolates reorder what is read.
    "\u{202e}exe.gnp",
    "\u{2067}\u{2066}admin\u{2069}\u{2069}",
    // Zero-width and tag characters: text that differs without looking different.
    "ma\u{200b}in\u{feff}\u{e0048}\u{e0049}",
    // Colour codes: harmless, removed without a mark.
    "\u{1b}[31mred\u{1b}[0m",
];

/// User logins as a hostile system writes them.
const LOGINS: [&str; 6] = [
    "dana.kim\u{202e}nimda",
    "raj\u{200b}.patel",
    "\u{1b}]0;HOSTILE-TITLE\u{07}maria",
    "ｒｏｏｔ",
    "李小龍",
    "👩\u{200d}💻-oncall",
];

/// Version prefixes of the lanes whose versions are wide: CJK and emoji. Kept free of
/// anything sanitizing would change, so that trainyard sends back what it showed.
const WIDE_VERSIONS: [(&str, &str); 2] =
    [("ledger", "日本語日本語-"), ("auth-service", "🚀🚀🚀🚀-")];

/// FNV-1a: which attack lands on a field is a hash of what the field is and says.
fn hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

fn attack(parts: &[&str]) -> &'static str {
    ATTACKS[(hash(parts) % ATTACKS.len() as u64) as usize]
}

fn login(parts: &[&str]) -> &'static str {
    LOGINS[(hash(parts) % LOGINS.len() as u64) as usize]
}

/// A version as hostile mode serves it: wide for some lanes.
pub fn version(lane: &str, sha: &str) -> String {
    match WIDE_VERSIONS.iter().find(|(l, _)| *l == lane) {
        Some((_, prefix)) => format!("{prefix}{sha}"),
        None => sha.to_string(),
    }
}

/// The scenario's version of one [`version`] sent back in an action.
pub fn unversion(v: &str) -> String {
    WIDE_VERSIONS
        .iter()
        .find_map(|(_, p)| v.strip_prefix(p))
        .unwrap_or(v)
        .to_string()
}

/// A message with an attack in it (an action's answer, a refusal's body).
pub fn with_attack(m: &str) -> String {
    format!("{m} {}", attack(&["message", m]))
}

/// Append an attack to the string at `v[key]`, if it is one.
fn spike(v: &mut Value, key: &str, parts: &[&str]) {
    if let Some(Value::String(s)) = v.get_mut(key) {
        let mut all = parts.to_vec();
        all.push(key);
        all.push(s.as_str());
        let a = attack(&all);
        s.push(' ');
        s.push_str(a);
    }
}

/// Replace a login at `v[key]` (a string) with a hostile one.
fn relogin(v: &mut Value, key: &str, parts: &[&str]) {
    if let Some(Value::String(s)) = v.get_mut(key) {
        let mut all = parts.to_vec();
        all.push(s.as_str());
        *s = login(&all).to_string();
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// `GET /v1/train`, dressed: every text field of every cell carries something hostile.
pub fn dress_train(doc: &mut Value) {
    let Some(cells) = doc.get_mut("cells").and_then(Value::as_array_mut) else {
        return;
    };
    for (i, cell) in cells.iter_mut().enumerate() {
        let lane = text(cell, "lane");
        let stage = text(cell, "stage");
        let k = [lane.as_str(), stage.as_str()];
        if let Some(Value::String(v)) = cell.get_mut("version") {
            *v = version(&lane, v);
        }
        spike(cell, "message", &k);
        spike(cell, "url", &k);
        if stage != "build" {
            relogin(cell, "actor", &k);
        }
        if let Some(checks) = cell.get_mut("checks").and_then(Value::as_array_mut)
            && let Some(first) = checks.first_mut()
        {
            spike(first, "name", &k);
            spike(first, "url", &k);
        }
        if let Some(approval) = cell.get_mut("approval").filter(|a| a.is_object()) {
            spike(approval, "environment", &k);
            if let Some(Value::Array(r)) = approval.get_mut("reviewers") {
                r.extend(LOGINS.iter().take(3).map(|l| Value::String(l.to_string())));
            }
        }
        if let Some(history) = cell.get_mut("history").and_then(Value::as_array_mut) {
            for h in history {
                if let Some(Value::String(v)) = h.get_mut("version") {
                    *v = version(&lane, v);
                }
                if stage != "build" {
                    relogin(h, "actor", &k);
                }
            }
        }
        if stage == "prod"
            && let Some(Value::Array(w)) = cell.get_mut("warnings")
        {
            w.push(Value::String(format!(
                "the source says: {}",
                attack(&[&lane, "warning"])
            )));
        }
        // One long message: a payload far larger than anything worth showing.
        if i == 0
            && let Some(Value::String(m)) = cell.get_mut("message")
        {
            m.push_str(&"A".repeat(16 * 1024));
            m.push_str(ATTACKS[0]);
        }
    }
}

/// A GitHub reply body, dressed: workflow runs (titles, actors, links), check runs (names),
/// deployments and their statuses (descriptions, creators, links), pending deployments
/// (reviewers), error messages. Names that identify things (repositories, environments,
/// workflows, branches the source filters on, SHAs) stay as they are: the train must still
/// be read.
pub fn dress_github(body: &mut Value) {
    if let Value::Array(items) = body {
        items.iter_mut().for_each(dress_github);
        return;
    }
    if !body.is_object() {
        return;
    }
    for key in ["workflow_runs", "check_runs"] {
        if let Some(Value::Array(items)) = body.get_mut(key) {
            items.iter_mut().for_each(dress_github);
        }
    }
    let v = body;
    let id = v.get("id").map(Value::to_string).unwrap_or_default();
    let k = [id.as_str()];
    if v.get("display_title").is_some() {
        // A workflow run.
        spike(v, "display_title", &k);
        spike(v, "html_url", &k);
        for who in ["actor", "triggering_actor"] {
            if let Some(a) = v.get_mut(who) {
                relogin(a, "login", &k);
            }
        }
        if let Some(c) = v.get_mut("head_commit") {
            spike(c, "message", &k);
        }
    } else if v.get("check_suite").is_some() {
        // A check run.
        spike(v, "name", &k);
        spike(v, "html_url", &k);
    } else if v.get("statuses_url").is_some() || v.get("deployment_url").is_some() {
        // A deployment or one of its statuses.
        spike(v, "description", &k);
        spike(v, "log_url", &k);
        spike(v, "target_url", &k);
        if let Some(c) = v.get_mut("creator") {
            relogin(c, "login", &k);
        }
    } else if v.get("wait_timer").is_some() {
        // A pending deployment: its reviewers.
        if let Some(Value::Array(rs)) = v.get_mut("reviewers") {
            for r in rs {
                if let Some(who) = r.get_mut("reviewer") {
                    relogin(who, "login", &k);
                    relogin(who, "slug", &k);
                }
            }
        }
    } else if v.get("documentation_url").is_some() {
        // An error.
        spike(v, "message", &["error"]);
    }
}

/// A GitLab reply body, dressed: pipelines (their names), jobs (their names), deployments
/// (their job's name, the approval rules' group names), who did each (usernames), error
/// messages. Ids, refs, SHAs, environments and stages stay as they are: the train must still
/// be the same train, and every action still work.
pub fn dress_gitlab(body: &mut Value) {
    if let Value::Array(items) = body {
        items.iter_mut().for_each(dress_gitlab);
        return;
    }
    if !body.is_object() {
        return;
    }
    let v = body;
    let id = v.get("id").map(Value::to_string).unwrap_or_default();
    let k = [id.as_str()];
    if let Some(u) = v.get_mut("user") {
        relogin(u, "username", &k);
    }
    if let Some(job) = v.get_mut("deployable") {
        // A deployment: its job, and the approval rules of a blocked one.
        spike(job, "name", &k);
        if let Some(Value::Array(rules)) = v.pointer_mut("/approval_summary/rules") {
            for r in rules {
                spike(r, "access_level_description", &k);
            }
        }
    } else if v.get("stage").is_some() || (v.get("source").is_some() && v.get("sha").is_some()) {
        // A job, or a pipeline.
        spike(v, "name", &k);
    } else if v.get("message").is_some_and(Value::is_string) {
        // An error.
        spike(v, "message", &["error"]);
    }
}

/// The Prometheus face: the warning every answer carries.
pub fn prom_warning(query: &str) -> String {
    format!("partial response: {}", attack(&["prom", query]))
}

/// The Prometheus face: the error one query answers with (ledger's latency, alone or in a
/// query grouped over every lane), if this is it.
pub fn prom_error(query: &str) -> Option<String> {
    let ledger = query.contains("lane=\"ledger\"") || !query.contains("lane=");
    (ledger && query.contains("latency"))
        .then(|| format!("query processing failed {} {}", ATTACKS[0], ATTACKS[12]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::sanitize;

    #[test]
    fn every_attack_sanitizes_to_something_inert_and_visible() {
        for a in ATTACKS {
            let s = sanitize(a, 200);
            assert!(!s.chars().any(char::is_control), "{a:?} → {s:?}");
            // Only colour codes vanish without a mark.
            if !a.starts_with("\u{1b}[31m") {
                assert!(s.contains('␛') || s.contains('�'), "{a:?} → {s:?}");
            }
        }
    }

    #[test]
    fn wide_versions_round_trip() {
        let v = version("ledger", "abc123");
        assert_eq!(v, "日本語日本語-abc123");
        assert_eq!(
            sanitize(&v, 200),
            v,
            "sanitizing leaves a wide version alone"
        );
        assert_eq!(unversion(&v), "abc123");
        assert_eq!(version("inventory", "abc123"), "abc123");
        assert_eq!(unversion("abc123"), "abc123");
    }

    #[test]
    fn dressing_is_deterministic() {
        let doc = serde_json::json!({"cells": [{"lane": "ledger", "stage": "prod", "version": "abc",
            "message": "hello", "url": "http://x/runs/1", "actor": "dana", "warnings": [],
            "checks": [{"name": "lint", "state": "passed", "url": "http://x"}],
            "approval": {"environment": "production", "reviewers": ["raj"]},
            "history": [{"version": "abd", "state": "succeeded", "actor": "lee"}]}]});
        let (mut a, mut b) = (doc.clone(), doc.clone());
        dress_train(&mut a);
        dress_train(&mut b);
        assert_eq!(a, b);
        let c = &a["cells"][0];
        assert_eq!(c["version"], "日本語日本語-abc");
        assert_ne!(c["message"], "hello");
        assert!(c["message"].as_str().unwrap().len() > 16 * 1024);
        assert_eq!(c["approval"]["reviewers"].as_array().unwrap().len(), 4);
        assert_eq!(c["warnings"].as_array().unwrap().len(), 1);
    }
}
