//! `[[metrics]] by`: label names Prometheus accepts, and a query (and baseline) that can be
//! grouped so (`config::group`).

use std::collections::BTreeMap;

use toml::Spanned;

use crate::config::diag::Diagnostics;
use crate::config::group::{Group, GroupBy, is_label_name, render_grouped};
use crate::config::raw::{RawBy, Str};

/// The checked `by` of `[[metrics]]` at `path`; its templates are `query` and `baseline`.
pub(super) fn group_by(
    d: &mut Diagnostics,
    path: &str,
    by: &Spanned<RawBy>,
    templates: &[(&str, &Str)],
) -> GroupBy {
    let raw = by.get_ref();
    let mut label = |key: &str, v: &Option<Str>| {
        let v = v.as_ref()?;
        if !is_label_name(v.get_ref()) {
            d.error_hint(
                v.span(),
                format!("{path}.by.{key} {:?} is not a label name", v.get_ref()),
                "the name of the label that carries the lane's (stage's) name in the query's \
                 result, e.g. \"service\" ([a-zA-Z_][a-zA-Z0-9_]*)",
            );
        }
        Some(v.get_ref().clone())
    };
    let out = GroupBy {
        lane: label("lane", &raw.lane),
        stage: label("stage", &raw.stage),
    };
    if out.lane.is_none() && out.stage.is_none() {
        d.error_hint(
            by.span(),
            format!("{path}.by names neither lane nor stage"),
            "e.g. `by = { lane = \"service\", stage = \"env\" }`: the labels of the query's \
             result that name them; leave `by` out to query every cell on its own",
        );
        return out;
    }
    let vars = BTreeMap::new();
    let group = Group {
        lanes: &["lane"],
        stages: &["stage"],
        lane: out.lane.is_none().then_some("lane"),
        stage: out.stage.is_none().then_some("stage"),
        vars: &vars,
    };
    for (what, q) in templates {
        if let Err(e) = render_grouped(q.get_ref(), &out, &group) {
            d.error_hint(
                q.span(),
                format!("{path}.{what}: {e}"),
                "a grouped query keeps the `by` labels in its result (`sum by (service, env) \
                 (…)`); see docs/sources/prometheus.md",
            );
        }
    }
    out
}
