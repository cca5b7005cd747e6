//! Who travels on the simulated train: lane names, teams, dependencies, approvers.

/// Most lanes a simulator serves; more is refused by clamping.
pub(crate) const MAX_LANES: usize = 200;

/// One lane of the simulated train.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LaneSpec {
    pub name: String,
    pub team: String,
    pub depends_on: Vec<String>,
    /// Non-empty: promotions into prod wait for one of these to approve.
    pub prod_reviewers: Vec<String>,
}

type Named = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The hand-written lanes, in train order. Dependencies only point backwards, so any prefix
/// of this list is a valid train.
const NAMED: [Named; 8] = [
    ("ledger", "core-banking", &[], &[]),
    (
        "payments-api",
        "payments",
        &["ledger"],
        &["raj.patel", "payments-oncall"],
    ),
    (
        "checkout-web",
        "storefront",
        &["payments-api"],
        &["maria.chen", "storefront-leads"],
    ),
    ("auth-service", "identity", &[], &[]),
    ("search-indexer", "discovery", &[], &[]),
    ("notifications", "messaging", &[], &[]),
    ("inventory", "fulfilment", &[], &[]),
    ("pricing-engine", "pricing", &["inventory"], &[]),
];

const TEAMS: [&str; 8] = [
    "platform", "data", "growth", "risk", "mobile", "edge", "ml", "billing",
];

/// The number of lanes a simulator with `--lanes n` serves.
pub(crate) fn lane_count(n: usize) -> usize {
    n.clamp(1, MAX_LANES)
}

/// The first `n` lanes of the train: the named ones first, then `svc-01`, `svc-02`, ...
pub(crate) fn roster(n: usize) -> Vec<LaneSpec> {
    let n = lane_count(n);
    let mut out: Vec<LaneSpec> = NAMED
        .iter()
        .take(n)
        .map(|(name, team, deps, reviewers)| LaneSpec {
            name: name.to_string(),
            team: team.to_string(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            prod_reviewers: reviewers.iter().map(|r| r.to_string()).collect(),
        })
        .collect();
    for i in NAMED.len()..n {
        let k = i - NAMED.len() + 1;
        // Every fifth generated lane depends on a lane three places earlier.
        let depends_on = if k.is_multiple_of(5) {
            vec![out[i - 3].name.clone()]
        } else {
            vec![]
        };
        out.push(LaneSpec {
            name: format!("svc-{k:02}"),
            team: TEAMS[(k - 1) % TEAMS.len()].to_string(),
            depends_on,
            prod_reviewers: vec![],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_generated_lanes_are_consistent() {
        let three = roster(3);
        assert_eq!(
            three.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["ledger", "payments-api", "checkout-web"]
        );
        let forty = roster(40);
        assert_eq!(forty.len(), 40);
        assert_eq!(forty[8].name, "svc-01");
        assert_eq!(forty[39].name, "svc-32");
        let names: std::collections::HashSet<_> = forty.iter().map(|l| &l.name).collect();
        assert_eq!(names.len(), 40);
        for (i, lane) in forty.iter().enumerate() {
            for dep in &lane.depends_on {
                let j = forty
                    .iter()
                    .position(|l| &l.name == dep)
                    .expect("dependency exists");
                assert!(j < i, "{} depends forward on {dep}", lane.name);
            }
        }
        assert_eq!(roster(0).len(), 1);
        assert_eq!(roster(10_000).len(), MAX_LANES);
    }
}
