//! Every blocker of the train, lane by lane: each lane's list is shared with the next snapshot
//! while that lane's verdicts stay the same, so a snapshot copies no blocker it didn't judge.

use std::sync::Arc;

use serde::Serialize;

use crate::model::Blocker;

/// One lane's blockers, as judged.
pub type LaneBlockers = Arc<[Blocker]>;

/// The train's blockers in the train's order: lane by lane, each lane's in its own order.
#[derive(Clone, Debug, Default)]
pub struct Blockers {
    by_lane: Vec<LaneBlockers>,
    len: usize,
}

type Each<'a> = std::iter::FlatMap<
    std::slice::Iter<'a, LaneBlockers>,
    std::slice::Iter<'a, Blocker>,
    fn(&'a LaneBlockers) -> std::slice::Iter<'a, Blocker>,
>;

impl Blockers {
    /// One list per lane of the train, in its order.
    pub fn new(by_lane: Vec<LaneBlockers>) -> Blockers {
        let len = by_lane.iter().map(|l| l.len()).sum();
        Blockers { by_lane, len }
    }

    /// Every blocker, lane by lane.
    pub fn iter(&self) -> Each<'_> {
        self.by_lane.iter().flat_map(|l| l.iter())
    }

    /// The blockers of the lane at `index` in the train (none past its end).
    pub fn of_lane(&self, index: usize) -> &[Blocker] {
        self.by_lane.get(index).map_or(&[], |l| l)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<'a> IntoIterator for &'a Blockers {
    type Item = &'a Blocker;
    type IntoIter = Each<'a>;

    fn into_iter(self) -> Each<'a> {
        self.iter()
    }
}

/// The same blockers in the same order, however they are split by lane.
impl PartialEq for Blockers {
    fn eq(&self, other: &Blockers) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// A list, as `status --json` has always printed it.
impl Serialize for Blockers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BlockerKind, Facts};

    fn blocker(lane: &str, message: &str) -> Blocker {
        Blocker {
            lane: lane.into(),
            stage: "prod".into(),
            kind: BlockerKind::Hold,
            message: message.into(),
            facts: Facts::default(),
        }
    }

    #[test]
    fn lane_by_lane_in_order_and_equal_however_split() {
        let a = Blockers::new(vec![
            Arc::from(vec![blocker("a", "1"), blocker("a", "2")]),
            Arc::from(Vec::new()),
            Arc::from(vec![blocker("c", "3")]),
        ]);
        let messages: Vec<&str> = a.iter().map(|b| b.message.as_str()).collect();
        assert_eq!(messages, ["1", "2", "3"]);
        assert_eq!(a.len(), 3);
        assert_eq!(a.of_lane(1), &[]);
        assert_eq!(a.of_lane(2)[0].message, "3");
        assert_eq!(a.of_lane(9), &[]);
        let b = Blockers::new(vec![
            Arc::from(vec![blocker("a", "1")]),
            Arc::from(vec![blocker("a", "2"), blocker("c", "3")]),
        ]);
        assert_eq!(a, b);
        assert_ne!(a, Blockers::new(vec![Arc::from(vec![blocker("a", "1")])]));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 3);
        assert_eq!(json[2]["message"], "3");
    }
}
