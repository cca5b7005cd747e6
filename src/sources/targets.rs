//! The cells a source reads, in its own terms: the config's targets of that source, each made
//! into what the source needs to read it (a repository and workflow, a project and
//! environment), looked up by lane and stage when an action comes.

use crate::config::{Config, Target};
use crate::model::CellKey;

/// The config's targets of the source `name`, in the config's order, each as `f` makes it.
pub fn of<T>(config: &Config, name: &str, f: impl Fn(&Target) -> T) -> Vec<(CellKey, T)> {
    config
        .targets_of(name)
        .map(|(k, t)| (k.clone(), f(t)))
        .collect()
}

/// The target of one cell.
pub fn find<'a, T>(targets: &'a [(CellKey, T)], lane: &str, stage: &str) -> Option<&'a T> {
    let key = CellKey::new(lane, stage);
    targets.iter().find(|(k, _)| *k == key).map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sources_targets_in_its_terms_found_by_cell() {
        let text = "[train]\nname = \"t\"\nstages = [\"build\", \"prod\"]\n\n\
                    [sources.a]\nkind = \"http\"\nurl = \"http://127.0.0.1:9\"\n\n\
                    [sources.b]\nkind = \"http\"\nurl = \"http://127.0.0.1:10\"\n\n\
                    [[lanes]]\nname = \"api\"\nsource = \"a\"\nstages.prod = { source = \"b\", stage = \"production\" }\n";
        let config = crate::config::parse(text, "t.toml").unwrap();
        let a = super::of(&config, "a", |t| t.stage.clone());
        assert_eq!(a.len(), 1);
        assert_eq!(
            super::find(&a, "api", "build").map(String::as_str),
            Some("build")
        );
        assert_eq!(super::find(&a, "api", "prod"), None);
        let b = super::of(&config, "b", |t| t.stage.clone());
        assert_eq!(
            super::find(&b, "api", "prod").map(String::as_str),
            Some("production")
        );
    }
}
