//! `[[lanes]]`: names, teams, where each stage of a lane is read, and the dependencies between
//! lanes (known lanes, no cycles).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::{check_name, tables, unknown_keys};
use crate::config::diag::{Diagnostics, list_hint};
use crate::config::raw::{
    ARGOCD_TARGET_KEYS, GITHUB_TARGET_KEYS, GITLAB_TARGET_KEYS, KeyView, RawLane, RawTarget, Str,
    TARGET_KEYS,
};
use crate::config::{SourceKind, Target};
use crate::model::{CellKey, Lane};

/// A lane with a usable name, as read, for the dependency checks.
pub(super) struct NamedLane {
    index: usize,
    name: String,
    depends_on: Vec<Str>,
}

pub(super) fn lanes(
    raw: Vec<Spanned<RawLane>>,
    keys: &KeyView,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    d: &mut Diagnostics,
) -> (Vec<Lane>, BTreeMap<CellKey, Target>) {
    if raw.is_empty() {
        let hint = "add a lane: [[lanes]] with a name and a source";
        d.error_hint(0..0, "no lanes: the train carries nothing", hint);
    }
    let source_names: Vec<&str> = kinds.keys().map(String::as_str).collect();
    let mut first_at: BTreeMap<String, Range<usize>> = BTreeMap::new();
    let mut named: Vec<NamedLane> = Vec::new();
    let mut out = Vec::new();
    let mut targets = BTreeMap::new();

    for (i, path, span, lane) in tables(raw, "lanes") {
        let name = match &lane.name {
            None => {
                d.error_hint(
                    span.clone(),
                    format!("{path} has no name"),
                    "add `name = \"…\"`",
                );
                None
            }
            Some(n) if !check_name(d, "lane", n) => None,
            Some(n) => {
                if let Some(first) = first_at.get(n.get_ref()) {
                    let (line, _) = crate::config::diag::line_col(d.text(), first.start);
                    let hint = format!("lane {:?} is first defined on line {line}", n.get_ref());
                    d.error_hint(n.span(), format!("duplicate lane {:?}", n.get_ref()), hint);
                    None
                } else {
                    first_at.insert(n.get_ref().clone(), n.span());
                    Some(n.get_ref().clone())
                }
            }
        };

        // A source named by the lane or a target must exist.
        let check_source = |d: &mut Diagnostics, s: &Str, at: &str| {
            let known = kinds.contains_key(s.get_ref());
            if !known {
                let hint = list_hint("sources", s.get_ref(), &source_names);
                d.error_hint(
                    s.span(),
                    format!("unknown source {:?} in {at}", s.get_ref()),
                    hint,
                );
            }
            known
        };
        if let Some(s) = &lane.source {
            check_source(d, s, &format!("{path}.source"));
        }
        for (stage, target) in &lane.stages {
            if !stages.contains(&stage.get_ref().as_str()) {
                let hint = list_hint("stages", stage.get_ref(), stages);
                d.error_hint(
                    stage.span(),
                    format!("unknown stage {:?} in {path}.stages", stage.get_ref()),
                    hint,
                );
                continue;
            }
            let target_path = format!("{path}.stages.{}", stage.get_ref());
            let target = target.get_ref();
            if let Some(s) = &target.source
                && !check_source(d, s, &format!("{target_path}.source"))
            {
                continue;
            }
            for remote in [&target.lane, &target.stage].into_iter().flatten() {
                if remote.get_ref().trim().is_empty() {
                    let hint = "leave it out to use the name in this config";
                    d.error_hint(
                        remote.span(),
                        format!("empty remote name in {target_path}"),
                        hint,
                    );
                }
            }
            let source = target.source.as_ref().or(lane.source.as_ref());
            let kind = source.and_then(|s| kinds.get(s.get_ref()).copied().flatten());
            let present = keys
                .lanes
                .get(i)
                .and_then(|l| l.stages.get(stage.get_ref()));
            let known = match kind {
                Some(SourceKind::Http) => {
                    Some((TARGET_KEYS, "keys of a stage target of an http source"))
                }
                Some(SourceKind::Github) => Some((
                    GITHUB_TARGET_KEYS,
                    "keys of a stage target of a github source",
                )),
                Some(SourceKind::Gitlab) => Some((
                    GITLAB_TARGET_KEYS,
                    "keys of a stage target of a gitlab source",
                )),
                Some(SourceKind::Argocd) => Some((
                    ARGOCD_TARGET_KEYS,
                    "keys of a stage target of an argocd source",
                )),
                Some(SourceKind::Prometheus) | None => None,
            };
            if kind == Some(SourceKind::Prometheus) {
                d.error_hint(
                    stage.span(),
                    format!("{target_path} reads cells from a prometheus source"),
                    "a prometheus source measures metrics ([[metrics]]); cells come from http, github or gitlab",
                );
            }
            if let (Some((known, what)), Some(present)) = (known, present) {
                unknown_keys(d, present, known, &target_path, what);
            }
            if kind == Some(SourceKind::Github) {
                github_target(d, &lane, target, &target_path, stage.span());
            }
            if kind == Some(SourceKind::Argocd) {
                argocd_target(d, target, &target_path, stage.span());
            }
        }
        super::gitlab::gitlab_lane(d, &lane, &path, stages, kinds, span.clone());

        // A github lane needs to say, for every stage, what to read there.
        let lane_kind = lane
            .source
            .as_ref()
            .and_then(|s| kinds.get(s.get_ref()).copied().flatten());
        if lane_kind == Some(SourceKind::Github) {
            for stage in stages
                .iter()
                .filter(|s| !lane.stages.keys().any(|k| k.get_ref() == *s))
            {
                let at = lane.name.as_ref().map_or(span.clone(), Spanned::span);
                d.error_hint(
                    at,
                    format!("{path} reads github but says nothing for stage {stage:?}"),
                    format!("add `stages.{stage} = {{ workflow = \"ci.yml\" }}` or `{{ environment = \"{stage}\", workflow = \"deploy.yml\" }}`"),
                );
            }
        }

        if lane_kind == Some(SourceKind::Argocd) {
            for stage in stages
                .iter()
                .filter(|s| !lane.stages.keys().any(|k| k.get_ref() == *s))
            {
                let at = lane.name.as_ref().map_or(span.clone(), Spanned::span);
                d.error_hint(
                    at,
                    format!("{path} reads argocd but names no application for stage {stage:?}"),
                    format!("add `stages.{stage} = {{ application = \"…\" }}`"),
                );
            }
        }

        let Some(name) = name else { continue };
        let team = lane.team.clone().unwrap_or_default();
        lane_targets(d, &name, &lane, stages, kinds, &mut targets);
        out.push(Lane {
            name: name.clone(),
            team,
            depends_on: lane
                .depends_on
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
        });
        named.push(NamedLane {
            index: i,
            name,
            depends_on: lane.depends_on,
        });
    }

    dependencies(d, &named);
    (out, targets)
}

/// Fill `targets` with every stage of one lane, or report the stages it has no source for.
pub(super) fn lane_targets(
    d: &mut Diagnostics,
    name: &str,
    lane: &RawLane,
    stages: &[&str],
    kinds: &BTreeMap<String, Option<SourceKind>>,
    targets: &mut BTreeMap<CellKey, Target>,
) {
    let mut missing: Vec<&str> = Vec::new();
    for &stage in stages {
        let over = lane.stages.get(stage).map(Spanned::get_ref);
        let source = over
            .and_then(|t| t.source.as_ref())
            .or(lane.source.as_ref());
        let Some(source) = source else {
            missing.push(stage);
            continue;
        };
        targets.insert(
            CellKey::new(name, stage),
            Target {
                source: source.get_ref().clone(),
                lane: over
                    .and_then(|t| t.lane.as_ref())
                    .map_or(name, |s| s.get_ref())
                    .to_string(),
                stage: over
                    .and_then(|t| t.stage.as_ref())
                    .map_or(stage, |s| s.get_ref())
                    .to_string(),
                project: over
                    .and_then(|t| t.project.as_ref())
                    .or(lane.project.as_ref())
                    .map(|s| s.get_ref().clone()),
                repo: over
                    .and_then(|t| t.repo.as_ref())
                    .or(lane.repo.as_ref())
                    .map(|s| s.get_ref().clone()),
                workflow: over
                    .and_then(|t| t.workflow.as_ref())
                    .map(|s| s.get_ref().clone()),
                environment: over
                    .and_then(|t| t.environment.as_ref())
                    .map(|s| s.get_ref().clone()),
                branch: over
                    .and_then(|t| t.branch.as_ref())
                    .or(lane.branch.as_ref())
                    .map(|s| s.get_ref().clone()),
                pipeline_variables: over
                    .filter(|t| {
                        t.promote
                            .as_ref()
                            .is_some_and(|p| p.get_ref() == "pipeline")
                    })
                    .map(|t| {
                        t.variables
                            .iter()
                            .flat_map(|v| v.get_ref())
                            .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
                            .collect()
                    }),
                application: over
                    .and_then(|t| t.application.as_ref())
                    .map(|s| s.get_ref().clone()),
                app_namespace: over
                    .and_then(|t| t.app_namespace.as_ref())
                    .map(|s| s.get_ref().clone()),
            },
        );
    }
    let Some(first) = missing.first() else { return };
    let at = lane.name.as_ref().map_or(0..0, Spanned::span);
    let quoted: Vec<String> = missing.iter().map(|s| format!("{s:?}")).collect();
    let message = if missing.len() == 1 {
        format!("lane {name:?} has no source for stage {first:?}")
    } else {
        format!(
            "lane {name:?} has no source for stages {}",
            quoted.join(", ")
        )
    };
    let only_source = match kinds.keys().collect::<Vec<_>>().as_slice() {
        [only] => only.as_str(),
        _ => "...",
    };
    let hint = format!(
        "set `source = \"{only_source}\"` on the lane or `stages.{first} = {{ source = ... }}`"
    );
    d.error_hint(at, message, hint);
}

/// A github stage needs a repository, and a workflow (a CI stage) or an environment (a deploy
/// stage).
pub(super) fn github_target(
    d: &mut Diagnostics,
    lane: &RawLane,
    t: &RawTarget,
    path: &str,
    at: Range<usize>,
) {
    match t.repo.as_ref().or(lane.repo.as_ref()) {
        None => d.error_hint(
            at.clone(),
            format!("{path} reads github but names no repository"),
            "set `repo = \"owner/name\"` on the lane or in the stage",
        ),
        Some(r) => {
            let ok = r.get_ref().split_once('/').is_some_and(|(o, n)| {
                !o.is_empty()
                    && !n.is_empty()
                    && !n.contains('/')
                    && !r.get_ref().contains(char::is_whitespace)
            });
            if !ok {
                d.error_hint(
                    r.span(),
                    format!("repo {:?} is not owner/name", r.get_ref()),
                    "e.g. `repo = \"acme/payments-api\"`",
                );
            }
        }
    }
    if t.workflow.is_none() && t.environment.is_none() {
        d.error_hint(
            at,
            format!("{path} reads github but names neither a workflow nor an environment"),
            "a CI stage: `workflow = \"ci.yml\"`; a deploy stage: `environment = \"production\", workflow = \"deploy.yml\"`",
        );
    }
}

/// An argocd stage names its Application; the names are Kubernetes names (no spaces, no
/// slashes), as Argo CD would refuse anything else.
pub(super) fn argocd_target(d: &mut Diagnostics, t: &RawTarget, path: &str, at: Range<usize>) {
    let Some(app) = &t.application else {
        d.error_hint(
            at,
            format!("{path} reads argocd but names no application"),
            "add `application = \"payments-prod\"` (the Argo CD Application of this stage)",
        );
        return;
    };
    for (key, v) in [
        ("application", Some(app)),
        ("project", t.project.as_ref()),
        ("app_namespace", t.app_namespace.as_ref()),
    ] {
        let Some(v) = v else { continue };
        let name = v.get_ref();
        let ok = !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !ok {
            d.error_hint(
                v.span(),
                format!("{key} {name:?} is not an Argo CD name"),
                "letters, digits, '-', '.' and '_' only, e.g. `application = \"payments-prod\"`",
            );
        }
    }
}

/// Every dependency names another lane, once; and there are no cycles.
pub(super) fn dependencies(d: &mut Diagnostics, lanes: &[NamedLane]) {
    let index: BTreeMap<&str, usize> = lanes
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let names: Vec<&str> = lanes.iter().map(|l| l.name.as_str()).collect();
    // edges[i]: (lane, where the depends_on entry is) for the valid dependencies of lane i.
    let mut edges: Vec<Vec<(usize, Range<usize>)>> = vec![Vec::new(); lanes.len()];
    for (i, lane) in lanes.iter().enumerate() {
        let path = format!("lanes[{}].depends_on", lane.index);
        let mut seen = BTreeSet::new();
        for dep in &lane.depends_on {
            let name = dep.get_ref().as_str();
            if name == lane.name {
                d.error(dep.span(), format!("lane {name:?} depends on itself"));
            } else if let Some(&j) = index.get(name) {
                if seen.insert(name) {
                    edges[i].push((j, dep.span()));
                } else {
                    d.error(dep.span(), format!("{name:?} is listed twice in {path}"));
                }
            } else {
                let hint = list_hint("lanes", name, &names);
                d.error_hint(dep.span(), format!("unknown lane {name:?} in {path}"), hint);
            }
        }
    }
    for (at, cycle) in cycles(&edges) {
        let path: Vec<&str> = cycle.iter().map(|&i| names[i]).collect();
        let hint = "a lane cannot wait for itself: remove one of these depends_on entries";
        d.error_hint(at, format!("dependency cycle: {}", path.join(" -> ")), hint);
    }
}

/// Every cycle a depth-first search meets, as the place of the edge that closes it and the
/// path around it (first lane repeated at the end). Iterative: no recursion on user data.
pub(super) fn cycles(edges: &[Vec<(usize, Range<usize>)>]) -> Vec<(Range<usize>, Vec<usize>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut found = Vec::new();
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        mark[start] = Mark::OnPath;
        // The current path: (lane, index of its next edge to follow).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some((to, at)) = edges[node].get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[*to] {
                Mark::New => {
                    mark[*to] = Mark::OnPath;
                    path.push((*to, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|&(n, _)| n == *to).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(*to);
                    found.push((at.clone(), cycle));
                }
                Mark::Done => {}
            }
        }
    }
    found
}
