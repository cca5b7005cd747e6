//! Who travels on the simulated train: lane names, teams, dependencies, approvers.

/// Most lanes a simulator serves; more is refused by clamping.
pub const MAX_LANES: usize = 2000;

/// Generated lanes per team name: past this many, the teams start again with a number
/// (`platform-2`), so that a big train has teams of a couple of dozen services, not hundreds.
const LANES_PER_TEAM_ROUND: usize = 192;

/// The lanes the demo reads through the simulator's GitHub API by default rather than
/// trainyard's own protocol: the train mixes both kinds of source.
pub const GITHUB_LANES: [&str; 3] = ["checkout-web", "inventory", "pricing-engine"];

/// The lane the demo reads through the simulator's GitLab API by default: a manual deploy job
/// ready at canary, a deployment blocked for approval at production.
pub const GITLAB_LANES: [&str; 1] = ["shipping-api"];

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
const NAMED: [Named; 9] = [
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
    (
        "shipping-api",
        "logistics",
        &[],
        &["lena.okafor", "shipping-leads"],
    ),
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
        let round = (k - 1) / LANES_PER_TEAM_ROUND;
        let team = TEAMS[(k - 1) % TEAMS.len()];
        out.push(LaneSpec {
            name: format!("svc-{k:02}"),
            team: if round == 0 {
                team.to_string()
            } else {
                format!("{team}-{}", round + 1)
            },
            depends_on,
            prod_reviewers: vec![],
        });
    }
    out
}

/// The names of the lanes read through the GitHub API, out of `lanes`: without `n`, those of
/// [`GITHUB_LANES`] on the train; with `n`, the first `n` of them and then the other lanes in
/// train order, until `n` (at most every lane).
pub(crate) fn github_lanes(lanes: &[LaneSpec], n: Option<usize>) -> Vec<&str> {
    let named = GITHUB_LANES
        .iter()
        .copied()
        .filter(|g| lanes.iter().any(|l| l.name == *g));
    let Some(n) = n else {
        return named.collect();
    };
    named
        .chain(
            lanes
                .iter()
                .map(|l| l.name.as_str())
                .filter(|l| !GITHUB_LANES.contains(l)),
        )
        .take(n)
        .collect()
}

/// The lanes the printed config reads through the simulator's GitLab API, of those not read
/// through GitHub (`github`): without `n`, those of [`GITLAB_LANES`] on the train; with `n`,
/// `n` of them, those whose production deploys wait for approval first (a GitLab lane then
/// shows a blocked deployment), then the others in train order.
pub(crate) fn gitlab_lanes<'a>(
    lanes: &'a [LaneSpec],
    github: &[&str],
    n: Option<usize>,
) -> Vec<&'a str> {
    let free = || lanes.iter().filter(|l| !github.contains(&l.name.as_str()));
    let Some(n) = n else {
        return free()
            .map(|l| l.name.as_str())
            .filter(|l| GITLAB_LANES.contains(l))
            .collect();
    };
    free()
        .filter(|l| !l.prod_reviewers.is_empty())
        .chain(free().filter(|l| l.prod_reviewers.is_empty()))
        .map(|l| l.name.as_str())
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_lanes_are_those_not_on_github_guarded_ones_first() {
        let lanes = roster(9);
        let github = github_lanes(&lanes, None);
        assert_eq!(gitlab_lanes(&lanes, &github, None), GITLAB_LANES);
        assert!(gitlab_lanes(&roster(8), &github, None).is_empty());
        assert_eq!(gitlab_lanes(&lanes, &github, Some(0)), Vec::<&str>::new());
        assert_eq!(gitlab_lanes(&lanes, &github, Some(1)), ["payments-api"]);
        assert_eq!(
            gitlab_lanes(&lanes, &github, Some(3)),
            ["payments-api", "shipping-api", "ledger"]
        );
        // Every lane on GitHub: none left for GitLab.
        let all = github_lanes(&lanes, Some(9));
        assert!(gitlab_lanes(&lanes, &all, Some(2)).is_empty());
        assert!(gitlab_lanes(&lanes, &all, None).is_empty());
    }

    #[test]
    fn prefixes_and_generated_lanes_are_consistent() {
        let three = roster(3);
        assert_eq!(
            three.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["ledger", "payments-api", "checkout-web"]
        );
        let forty = roster(40);
        assert_eq!(forty.len(), 40);
        assert_eq!(forty[8].name, "shipping-api");
        assert_eq!(forty[9].name, "svc-01");
        assert_eq!(forty[39].name, "svc-31");
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

    #[test]
    fn two_thousand_lanes_have_unique_names_and_teams_of_a_few_dozen() {
        let all = roster(MAX_LANES);
        let names: std::collections::HashSet<_> = all.iter().map(|l| &l.name).collect();
        assert_eq!(names.len(), MAX_LANES);
        assert_eq!(all[MAX_LANES - 1].name, "svc-1991");
        // The first rounds keep the names a 200-lane train always had.
        assert_eq!(all[9].team, "platform");
        assert_eq!(all[199].team, roster(200)[199].team);
        assert_eq!(all[9 + 192].team, "platform-2");
        let mut per_team = std::collections::HashMap::<&str, usize>::new();
        for l in &all {
            *per_team.entry(&l.team).or_default() += 1;
        }
        let biggest = per_team.values().max().copied().unwrap();
        assert!(biggest <= 25, "a team of {biggest} lanes");
    }

    #[test]
    fn github_lanes_are_the_demos_three_then_the_train_in_order() {
        let eight = roster(8);
        assert_eq!(github_lanes(&eight, None), GITHUB_LANES);
        assert_eq!(github_lanes(&roster(3), None), ["checkout-web"]);
        assert_eq!(github_lanes(&eight, Some(0)), Vec::<&str>::new());
        assert_eq!(github_lanes(&eight, Some(2)), ["checkout-web", "inventory"]);
        assert_eq!(github_lanes(&eight, Some(3)), GITHUB_LANES);
        assert_eq!(
            github_lanes(&eight, Some(5)),
            [
                "checkout-web",
                "inventory",
                "pricing-engine",
                "ledger",
                "payments-api"
            ]
        );
        assert_eq!(github_lanes(&eight, Some(100)).len(), 8);
        let big = roster(500);
        let thirty = github_lanes(&big, Some(30));
        assert_eq!(thirty.len(), 30);
        assert_eq!(thirty[29], "svc-21");
    }
}
