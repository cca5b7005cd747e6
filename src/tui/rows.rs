//! Finding your way in a big train: what each lane is doing (blocked, moving, held), counted
//! once per snapshot, and the rows of the lanes panel — lanes, or team headings with the
//! lanes under them unless folded — after the filter and the "busy only" toggle.
//!
//! Pure: built from the train, the snapshot's census and the view's options when one of them
//! changes, never per frame.

use std::collections::{BTreeSet, HashMap};

use crate::engine::Snapshot;
use crate::model::Train;

/// What one lane is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// It has a blocker (the train's list: what keeps its next move, or a problem of a cell).
    pub blocked: bool,
    /// A cell is in motion: running, rolling back, awaiting approval or paused.
    pub moving: bool,
    /// trainyard holds it.
    pub held: bool,
}

impl Marks {
    /// Worth a look: blocked, moving or held.
    pub fn busy(self) -> bool {
        self.blocked || self.moving || self.held
    }
}

/// How many lanes, and how many of them are blocked, moving, held (a lane may be several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub lanes: usize,
    pub blocked: usize,
    pub moving: usize,
    pub held: usize,
}

impl Counts {
    pub fn add(&mut self, m: Marks) {
        self.lanes += 1;
        self.blocked += usize::from(m.blocked);
        self.moving += usize::from(m.moving);
        self.held += usize::from(m.held);
    }
}

/// Every lane's marks, in the train's order, and the train's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub marks: Vec<Marks>,
    pub total: Counts,
}

impl Census {
    /// Once per snapshot: one pass over the lanes as the engine judged them.
    pub fn of(snap: &Snapshot) -> Census {
        let train = &snap.train;
        let mut marks = vec![Marks::default(); train.lanes.len()];
        for (i, lane) in train.lanes.iter().enumerate() {
            marks[i].blocked = !snap.blockers.of_lane(i).is_empty();
            marks[i].held = snap.holds.lanes.contains_key(&lane.name);
            marks[i].moving = snap.lanes.get(i).is_some_and(|v| v.moving);
        }
        let mut total = Counts::default();
        for m in &marks {
            total.add(*m);
        }
        Census { marks, total }
    }
}

/// A team's heading: its lanes that pass the filter, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// The team as the config names it (may be empty).
    pub team: String,
    pub counts: Counts,
    pub folded: bool,
}

/// One row of the lanes panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Team(Heading),
    /// A lane, by index in the train.
    Lane(usize),
}

/// How the lanes panel shows the train, besides the filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Only the lanes blocked, moving or held.
    pub busy_only: bool,
    /// Lanes under their team's heading.
    pub grouped: bool,
    /// Teams whose lanes are folded under their heading.
    pub folded: BTreeSet<String>,
}

/// The rows to show: the lanes that pass the filter (by name or team, any case) and the
/// toggle, in the train's order; grouped, under each team's heading, teams in the order they
/// first appear in the train.
pub fn rows(train: &Train, census: &Census, filter: &str, opts: &Options) -> Vec<Row> {
    let f = filter.to_lowercase();
    let passing = train.lanes.iter().enumerate().filter(|(i, l)| {
        let by_name = f.is_empty()
            || l.name.to_lowercase().contains(&f)
            || l.team.to_lowercase().contains(&f);
        let busy = !opts.busy_only || census.marks.get(*i).is_some_and(|m| m.busy());
        by_name && busy
    });
    if !opts.grouped {
        return passing.map(|(i, _)| Row::Lane(i)).collect();
    }
    // Teams in order of first appearance, each with its lanes.
    let mut teams: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, l) in passing {
        let t = *at.entry(l.team.as_str()).or_insert_with(|| {
            teams.push((l.team.as_str(), Vec::new()));
            teams.len() - 1
        });
        teams[t].1.push(i);
    }
    let mut out = Vec::new();
    for (team, lanes) in teams {
        let mut counts = Counts::default();
        for &i in &lanes {
            counts.add(census.marks.get(i).copied().unwrap_or_default());
        }
        let folded = opts.folded.contains(team);
        out.push(Row::Team(Heading {
            team: team.to_string(),
            counts,
            folded,
        }));
        if !folded {
            out.extend(lanes.into_iter().map(Row::Lane));
        }
    }
    out
}

/// What is selected, by identity: kept across a rebuild of the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Picked {
    Lane(usize),
    Team(String),
}

impl Picked {
    pub fn of(row: &Row) -> Picked {
        match row {
            Row::Team(h) => Picked::Team(h.team.clone()),
            Row::Lane(i) => Picked::Lane(*i),
        }
    }
}

/// Where the selection goes in new `rows`: the same lane or heading where it is still shown;
/// a lane folded away: its team's heading; a heading gone (ungrouped): its first lane shown;
/// else the row at the old place, or the last.
pub fn reselect(train: &Train, rows: &[Row], picked: Option<&Picked>, old: usize) -> usize {
    let find = |p: &Picked| rows.iter().position(|r| Picked::of(r) == *p);
    let found = picked.and_then(|p| {
        find(p).or_else(|| match p {
            Picked::Lane(i) => {
                let team = &train.lanes.get(*i)?.team;
                find(&Picked::Team(team.clone()))
            }
            Picked::Team(t) => rows
                .iter()
                .position(|r| matches!(r, Row::Lane(i) if train.lanes[*i].team == *t)),
        })
    });
    found.unwrap_or_else(|| old.min(rows.len().saturating_sub(1)))
}

/// A heading as the panel writes it: `- payments  3 lanes · 1 blocked · 1 moving · 1 held`
/// (`+` when folded); counts of none are left out, but the lanes.
pub fn heading_text(h: &Heading) -> String {
    let sign = if h.folded { '+' } else { '-' };
    let team = if h.team.is_empty() {
        "(no team)"
    } else {
        h.team.as_str()
    };
    let c = h.counts;
    let mut parts = vec![format!(
        "{} lane{}",
        c.lanes,
        if c.lanes == 1 { "" } else { "s" }
    )];
    for (n, word) in [
        (c.blocked, "blocked"),
        (c.moving, "moving"),
        (c.held, "held"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    format!("{sign} {team}  {}", parts.join(" · "))
}

/// The train's counts for the header, in the longest of its forms that fits `room` columns:
/// `200 lanes · 12 blocked · 8 moving · 1 held`, then shorter; `None` if none fits.
pub fn counts_text(c: Counts, room: usize) -> Option<String> {
    let held = |long: bool| match (c.held, long) {
        (0, false) => String::new(),
        (n, _) => format!(" · {n} held"),
    };
    let forms = [
        format!(
            "{} lanes · {} blocked · {} moving{}",
            c.lanes,
            c.blocked,
            c.moving,
            held(true)
        ),
        format!(
            "{} lanes · {} blocked · {} moving{}",
            c.lanes,
            c.blocked,
            c.moving,
            held(false)
        ),
        format!("{} blocked · {} moving{}", c.blocked, c.moving, held(false)),
        format!("{} blk · {} mov{}", c.blocked, c.moving, held(false)),
    ];
    forms
        .into_iter()
        .find(|f| crate::model::text::width(f) <= room)
}

#[cfg(test)]
mod tests;
