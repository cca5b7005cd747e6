//! `[ui]`: how the screen draws. `links`: the run, deployment, check and commit URLs in the
//! details and the activity are OSC 8 hyperlinks (default true).

use serde::Deserialize;

/// `[ui]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUi {
    pub links: Option<bool>,
}

/// How the screen draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiConfig {
    /// URLs are OSC 8 hyperlinks (terminals that don't know them show the text alone).
    pub links: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { links: true }
    }
}

impl UiConfig {
    pub(crate) fn from_raw(raw: Option<&RawUi>) -> UiConfig {
        let default = UiConfig::default();
        UiConfig {
            links: raw.and_then(|r| r.links).unwrap_or(default.links),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const TRAIN: &str = "[train]\nname = \"t\"\nstages = [\"staging\", \"prod\"]\n\n\
        [sources.sim]\nkind = \"http\"\nurl = \"http://127.0.0.1:7878\"\n\n\
        [[lanes]]\nname = \"api\"\nsource = \"sim\"\n";

    fn ui(extra: &str) -> Result<UiConfig, String> {
        parse(&format!("{TRAIN}\n{extra}"), "ui.toml")
            .map(|c| c.ui)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn links_are_on_unless_turned_off() {
        assert_eq!(ui(""), Ok(UiConfig { links: true }));
        assert_eq!(ui("[ui]\n"), Ok(UiConfig { links: true }));
        assert_eq!(ui("[ui]\nlinks = false\n"), Ok(UiConfig { links: false }));
        assert_eq!(ui("[ui]\nlinks = true\n"), Ok(UiConfig { links: true }));
    }

    #[test]
    fn a_wrong_ui_key_or_value_names_its_place() {
        let e = ui("[ui]\nlink = false\n").unwrap_err();
        assert!(e.contains("ui.toml:14:1: unknown key \"link\""), "{e}");
        assert!(e.contains("did you mean \"links\""), "{e}");
        let e = ui("[ui]\nlinks = \"no\"\n").unwrap_err();
        assert!(
            e.contains("ui.toml:14:9: invalid type: string \"no\", expected a boolean"),
            "{e}"
        );
    }
}
