use super::*;
use crate::model::Lane;
use crate::tui::fixture;

fn train(lanes: &[(&str, &str)]) -> Train {
    let mut t = fixture::train();
    t.lanes = lanes
        .iter()
        .map(|(n, team)| Lane {
            name: n.to_string(),
            team: team.to_string(),
            depends_on: vec![],
        })
        .collect();
    t
}

const LANES: [(&str, &str); 5] = [
    ("ledger", "payments"),
    ("checkout-web", "storefront"),
    ("payments-api", "payments"),
    ("inventory", "storefront"),
    ("auth-service", ""),
];

/// ledger moving, checkout-web blocked, payments-api blocked and held, the others idle.
fn census() -> Census {
    let m = |blocked, moving, held| Marks {
        blocked,
        moving,
        held,
    };
    let marks = vec![
        m(false, true, false),
        m(true, false, false),
        m(true, false, true),
        m(false, false, false),
        m(false, false, false),
    ];
    let mut total = Counts::default();
    marks.iter().for_each(|x| total.add(*x));
    Census { marks, total }
}

fn shown(t: &Train, rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| match r {
            Row::Team(h) => heading_text(h),
            Row::Lane(i) => t.lanes[*i].name.clone(),
        })
        .collect()
}

#[test]
fn ungrouped_the_lanes_in_the_trains_order() {
    let t = train(&LANES);
    let rows = rows(&t, &census(), "", &Options::default());
    assert_eq!(
        shown(&t, &rows),
        [
            "ledger",
            "checkout-web",
            "payments-api",
            "inventory",
            "auth-service"
        ]
    );
}

#[test]
fn grouped_teams_in_order_of_first_appearance_with_their_counts() {
    let t = train(&LANES);
    let opts = Options {
        grouped: true,
        ..Options::default()
    };
    assert_eq!(
        shown(&t, &rows(&t, &census(), "", &opts)),
        [
            "- payments  2 lanes · 1 blocked · 1 moving · 1 held",
            "ledger",
            "payments-api",
            "- storefront  2 lanes · 1 blocked",
            "checkout-web",
            "inventory",
            "- (no team)  1 lane",
            "auth-service",
        ]
    );
}

#[test]
fn a_folded_team_keeps_its_heading_and_counts() {
    let t = train(&LANES);
    let opts = Options {
        grouped: true,
        folded: ["payments".to_string()].into(),
        ..Options::default()
    };
    assert_eq!(
        shown(&t, &rows(&t, &census(), "", &opts)),
        [
            "+ payments  2 lanes · 1 blocked · 1 moving · 1 held",
            "- storefront  2 lanes · 1 blocked",
            "checkout-web",
            "inventory",
            "- (no team)  1 lane",
            "auth-service",
        ]
    );
}

#[test]
fn busy_only_composes_with_the_filter_and_the_grouping() {
    let t = train(&LANES);
    let busy = Options {
        busy_only: true,
        ..Options::default()
    };
    assert_eq!(
        shown(&t, &rows(&t, &census(), "", &busy)),
        ["ledger", "checkout-web", "payments-api"]
    );
    // The filter narrows further (by name or team, any case).
    assert_eq!(
        shown(&t, &rows(&t, &census(), "PAY", &busy)),
        ["ledger", "payments-api"]
    );
    assert_eq!(
        shown(&t, &rows(&t, &census(), "api", &busy)),
        ["payments-api"]
    );
    // Grouped, a heading counts only what passes; a team with nothing busy is not shown.
    let grouped = Options {
        grouped: true,
        ..busy
    };
    assert_eq!(
        shown(&t, &rows(&t, &census(), "", &grouped)),
        [
            "- payments  2 lanes · 1 blocked · 1 moving · 1 held",
            "ledger",
            "payments-api",
            "- storefront  1 lane · 1 blocked",
            "checkout-web",
        ]
    );
}

#[test]
fn the_selection_stays_on_its_lane_or_goes_to_its_heading() {
    let t = train(&LANES);
    let flat = rows(&t, &census(), "", &Options::default());
    let mut opts = Options {
        grouped: true,
        ..Options::default()
    };
    let grouped = rows(&t, &census(), "", &opts);
    // payments-api: row 2 flat, row 2 grouped (after the heading and ledger).
    assert_eq!(reselect(&t, &grouped, Some(&Picked::Lane(2)), 2), 2);
    // inventory: row 3 flat, row 5 grouped.
    assert_eq!(reselect(&t, &grouped, Some(&Picked::Lane(3)), 3), 5);
    opts.folded.insert("storefront".into());
    let folded = rows(&t, &census(), "", &opts);
    // Folded away: its team's heading.
    assert_eq!(
        folded[reselect(&t, &folded, Some(&Picked::Lane(3)), 5)],
        Row::Team(Heading {
            team: "storefront".into(),
            counts: Counts {
                lanes: 2,
                blocked: 1,
                ..Counts::default()
            },
            folded: true
        })
    );
    // A heading ungrouped: its team's first lane shown.
    let h = Picked::Team("storefront".into());
    assert_eq!(flat[reselect(&t, &flat, Some(&h), 3)], Row::Lane(1));
    // Nothing to keep: the old place, within the rows.
    assert_eq!(reselect(&t, &flat, None, 9), 4);
    assert_eq!(reselect(&t, &[], None, 9), 0);
}

#[test]
fn counts_fit_the_room_they_have() {
    let c = Counts {
        lanes: 200,
        blocked: 12,
        moving: 8,
        held: 1,
    };
    let long = "200 lanes · 12 blocked · 8 moving · 1 held";
    assert_eq!(counts_text(c, 80).as_deref(), Some(long));
    assert_eq!(counts_text(c, long.chars().count()).as_deref(), Some(long));
    assert_eq!(
        counts_text(c, 35).as_deref(),
        Some("12 blocked · 8 moving · 1 held")
    );
    assert_eq!(
        counts_text(c, 25).as_deref(),
        Some("12 blk · 8 mov · 1 held")
    );
    assert_eq!(counts_text(c, 10), None);
    // Held only said when there is one, but in the longest form.
    let none_held = Counts { held: 0, ..c };
    assert_eq!(
        counts_text(none_held, 80).as_deref(),
        Some("200 lanes · 12 blocked · 8 moving · 0 held")
    );
    assert_eq!(
        counts_text(none_held, 40).as_deref(),
        Some("200 lanes · 12 blocked · 8 moving")
    );
}

#[test]
fn the_census_of_the_fixture_train() {
    let app = fixture::teams_app();
    let c = Census::of(&app.snap);
    let marked = |f: fn(&Marks) -> bool| -> Vec<&str> {
        app.snap
            .train
            .lanes
            .iter()
            .zip(&c.marks)
            .filter(|(_, m)| f(m))
            .map(|(l, _)| l.name.as_str())
            .collect()
    };
    // Running, rolling back, awaiting approval or paused.
    assert_eq!(
        marked(|m| m.moving),
        ["ledger", "auth-service", "search-indexer", "notifications"]
    );
    assert_eq!(marked(|m| m.held), ["inventory"]);
    let blocked: Vec<&str> = app.snap.blockers.iter().map(|b| b.lane.as_str()).collect();
    for name in marked(|m| m.blocked) {
        assert!(blocked.contains(&name), "{name} is not blocked");
    }
    for name in blocked {
        assert!(marked(|m| m.blocked).contains(&name), "{name} is blocked");
    }
    assert_eq!(c.total.lanes, 8);
    assert_eq!(c.total.held, 1);
    assert_eq!(c.total.moving, 4);
    assert_eq!(c.total.blocked, marked(|m| m.blocked).len());
}
