//! The stages of a lane read from a gitlab source: a project to read (the lane's or the
//! stage's), and one stage at most that reads the branch's pipeline (the build stage); every
//! other stage names its environment; a deploy stage may promote by creating a pipeline with
//! variables (`promote = "pipeline"`) rather than by playing the manual job.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::config::diag::{Diagnostics, list_hint};
use crate::config::placeholders::placeholders;
use crate::config::raw::{RawLane, RawTarget, Str};
use crate::config::{PIPELINE_PLACEHOLDERS, SourceKind};

/// GitLab's longest variable name.
const MAX_VARIABLE_NAME: usize = 255;

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
        if let Some(t) = over {
            promote_options(d, t, &format!("{path}.stages.{stage}"), at.clone());
        }
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

/// `promote` is `"job"` (the default) or `"pipeline"`; a pipeline is a deploy stage's, and its
/// `variables` have names GitLab takes, values whose placeholders are known, and one of them
/// names the version (else the pipeline could not tell what to deploy).
fn promote_options(d: &mut Diagnostics, t: &RawTarget, path: &str, at: Range<usize>) {
    let pipeline = match &t.promote {
        None => false,
        Some(p) if p.get_ref() == "job" => false,
        Some(p) if p.get_ref() == "pipeline" => {
            if t.environment.is_none() {
                d.error_hint(
                    p.span(),
                    format!("{path} promotes with a pipeline but names no environment"),
                    "a pipeline deploys to a stage's `environment`; the build stage is the branch's own pipeline",
                );
            }
            true
        }
        Some(p) => {
            d.error_hint(
                p.span(),
                format!(
                    "promote must be \"job\" or \"pipeline\", not {:?}",
                    p.get_ref()
                ),
                "\"job\" (default): play the environment's manual deploy job; \"pipeline\": create a pipeline with `variables`",
            );
            return;
        }
    };
    let Some(vars) = &t.variables else {
        if pipeline {
            d.error_hint(
                at,
                format!("{path} promotes with a pipeline without variables: it could not tell which version to deploy"),
                "e.g. `variables = { DEPLOY_VERSION = \"{version}\" }`",
            );
        }
        return;
    };
    if !pipeline {
        d.error_hint(
            vars.span(),
            format!("{path} has variables, but promote plays the manual job"),
            "add `promote = \"pipeline\"` to promote by creating a pipeline with these variables",
        );
        return;
    }
    let mut names_version = false;
    for (k, v) in vars.get_ref() {
        let name = k.get_ref();
        let ok = !name.is_empty()
            && name.len() <= MAX_VARIABLE_NAME
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            d.error_hint(
                k.span(),
                format!("variable name {name:?} is not one GitLab takes"),
                format!("letters, digits and _ only, at most {MAX_VARIABLE_NAME} of them, e.g. DEPLOY_VERSION"),
            );
        }
        for p in placeholders(v.get_ref()) {
            if p == "version" {
                names_version = true;
            } else if !PIPELINE_PLACEHOLDERS.contains(&p) {
                d.error_hint(
                    v.span(),
                    format!("unknown placeholder {{{p}}} in {path}.variables.{name}"),
                    list_hint("placeholders", p, PIPELINE_PLACEHOLDERS),
                );
            }
        }
    }
    if !names_version {
        d.error_hint(
            vars.span(),
            format!("no variable of {path} names {{version}}: the pipeline could not tell which version to deploy"),
            "e.g. `variables = { DEPLOY_VERSION = \"{version}\" }`",
        );
    }
}
