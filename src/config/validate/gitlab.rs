//! The stages of a lane read from a gitlab source: a project to read (the lane's or the
//! stage's), and one stage at most that reads the branch's pipeline (the build stage); every
//! other stage names its environment.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::config::SourceKind;
use crate::config::diag::Diagnostics;
use crate::config::raw::{RawLane, Str};

/// Check every stage of `lane` whose source is a gitlab one.
pub(super) fn gitlab_lane(
    d: &mut Diagnostics,
    lane: &RawLane,
    path: &str,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    span: Range<usize>,
) {
    let mut pipelines: Vec<&str> = Vec::new();
    for &stage in stages {
        let over = lane.stages.get(stage).map(Spanned::get_ref);
        let source = over
            .and_then(|t| t.source.as_ref())
            .or(lane.source.as_ref());
        let kind = source.and_then(|s| kinds.get(s.get_ref()).copied().flatten());
        if kind != Some(SourceKind::Gitlab) {
            continue;
        }
        let at = lane
            .stages
            .iter()
            .find(|(k, _)| k.get_ref() == stage)
            .map_or_else(
                || lane.name.as_ref().map_or(span.clone(), Spanned::span),
                |(k, _)| k.span(),
            );
        let project = over
            .and_then(|t| t.project.as_ref())
            .or(lane.project.as_ref());
        match project {
            None => d.error_hint(
                at,
                format!("{path}.stages.{stage} reads gitlab but names no project"),
                "set `project = \"group/name\"` (or its numeric id) on the lane or in the stage",
            ),
            Some(p) => check_project(d, p),
        }
        if over.and_then(|t| t.environment.as_ref()).is_none() {
            pipelines.push(stage);
        }
    }
    if pipelines.len() > 1 {
        let at = lane.name.as_ref().map_or(span, Spanned::span);
        let quoted: Vec<String> = pipelines.iter().map(|s| format!("{s:?}")).collect();
        d.error_hint(
            at,
            format!(
                "{path} reads the branch's pipeline at stages {}: only the build stage may",
                quoted.join(", ")
            ),
            format!(
                "name the environment of each deploy stage, e.g. `stages.{} = {{ environment = \"{}\" }}`",
                pipelines[1], pipelines[1]
            ),
        );
    }
}

/// A project is its numeric id or its path (`group/subgroup/name`).
fn check_project(d: &mut Diagnostics, p: &Str) {
    let v = p.get_ref();
    let numeric = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let path = v.split('/').count() >= 2
        && v.split('/').all(|part| !part.is_empty())
        && !v.contains(char::is_whitespace);
    if !numeric && !path {
        d.error_hint(
            p.span(),
            format!("project {v:?} is neither a path (group/name) nor a numeric id"),
            "e.g. `project = \"acme/payments-api\"` or `project = \"4242\"`",
        );
    }
}
