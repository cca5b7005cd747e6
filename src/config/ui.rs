//! `[ui]`: how the screen looks — its theme and the colours that override the theme's — and
//! whether it draws links.
//!
//! ```toml
//! [ui]
//! theme = "light"        # "dark" (the default), "light" or "mono"
//! [ui.colors]
//! bad = "#d70000"        # a name, "#rrggbb" or a 256-colour number
//! protected = "magenta"
//! ```

use serde::Deserialize;

use super::diag::{Diagnostics, did_you_mean, list_hint};
use super::raw::Str;

/// The `[ui]` table as serde reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUi {
    pub theme: Option<Str>,
    /// OSC 8 hyperlinks in details and the activity (default true).
    pub links: Option<bool>,
    pub colors: Option<RawColors>,
}

/// `[ui.colors]`: one key per role of the palette.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawColors {
    pub ok: Option<Str>,
    pub bad: Option<Str>,
    pub warn: Option<Str>,
    pub accent: Option<Str>,
    pub dim: Option<Str>,
    pub protected: Option<Str>,
    pub undone: Option<Str>,
}

/// The screen's look as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeName {
    /// Colours for a dark background (the terminal's 16 colours).
    #[default]
    Dark,
    /// Colours legible on a white background (the 256-colour palette's darker shades).
    Light,
    /// No colour at all: bold, reverse and underline only, as with NO_COLOR.
    Mono,
}

impl ThemeName {
    pub const NAMES: [&'static str; 3] = ["dark", "light", "mono"];

    pub fn parse(s: &str) -> Option<ThemeName> {
        match s {
            "dark" => Some(ThemeName::Dark),
            "light" => Some(ThemeName::Light),
            "mono" => Some(ThemeName::Mono),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A colour as the config names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// One of the terminal's 16 colours: its index in [`Color::NAMES`].
    Ansi(u8),
    /// One of the 256-colour palette, written as its number ("208").
    Indexed(u8),
    /// "#rrggbb", for terminals with 24-bit colour.
    Rgb(u8, u8, u8),
}

/// The hint for a colour that can't be read.
const COLOR_HINT: &str = "a colour is a name, \"#rrggbb\" or a 256-colour number \"0\"-\"255\"";

impl Color {
    /// The terminal's 16 colours, in SGR order (30-37, then 90-97).
    pub const NAMES: [&'static str; 16] = [
        "black",
        "red",
        "green",
        "yellow",
        "blue",
        "magenta",
        "cyan",
        "gray",
        "dark_gray",
        "light_red",
        "light_green",
        "light_yellow",
        "light_blue",
        "light_magenta",
        "light_cyan",
        "white",
    ];

    /// A name, "#rrggbb" or "0"-"255"; `Err` says what is wrong with it.
    pub fn parse(s: &str) -> Result<Color, String> {
        let t = s.trim();
        if let Some(hex) = t.strip_prefix('#') {
            let digits = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
            if !digits {
                return Err(format!(
                    "cannot read {s:?} as a colour: \"#rrggbb\" takes 6 hex digits"
                ));
            }
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
            return t
                .parse::<u8>()
                .map(Color::Indexed)
                .map_err(|_| format!("colour number {t} is not in 0-255"));
        }
        let name = t.to_ascii_lowercase().replace(['-', ' '], "_");
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Color::Ansi(i as u8))
            .ok_or_else(|| format!("unknown colour {s:?}"))
    }
}

/// The colours `[ui.colors]` sets, each over the theme's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Colors {
    /// Good news: succeeded, allowed, within the SLO.
    pub ok: Option<Color>,
    /// Bad news: failed, a breach, a source down.
    pub bad: Option<Color>,
    /// Needs a look: waiting for approval, paused, a hold, a warning.
    pub warn: Option<Color>,
    /// Keys, a running deploy, the focused panel, the chart's series.
    pub accent: Option<Color>,
    /// Text that matters less, pending cells, the stable side's series.
    pub dim: Option<Color>,
    /// The names of protected stages.
    pub protected: Option<Color>,
    /// Rolled back and cancelled cells.
    pub undone: Option<Color>,
}

/// The keys of `[ui.colors]`, in the order hints list them.
pub const COLOR_KEYS: [&str; 7] = ["ok", "bad", "warn", "accent", "dim", "protected", "undone"];

/// `[ui]`, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UiConfig {
    pub theme: ThemeName,
    pub colors: Colors,
    /// Draw URLs as OSC 8 hyperlinks.
    pub links: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: ThemeName::Dark,
            colors: Colors::default(),
            links: true,
        }
    }
}

/// Check `[ui]`, recording every problem in `d`.
pub(crate) fn ui(raw: Option<RawUi>, d: &mut Diagnostics) -> UiConfig {
    let Some(raw) = raw else {
        return UiConfig::default();
    };
    let theme = raw.theme.map_or(ThemeName::Dark, |t| {
        ThemeName::parse(t.get_ref().trim()).unwrap_or_else(|| {
            d.error_hint(
                t.span(),
                format!("unknown theme {:?}", t.get_ref()),
                list_hint("themes", t.get_ref(), &ThemeName::NAMES),
            );
            ThemeName::Dark
        })
    });
    let colors = raw.colors.map_or_else(Colors::default, |c| {
        let mut color = |key: &str, value: Option<Str>| {
            let value = value?;
            match Color::parse(value.get_ref()) {
                Ok(c) => Some(c),
                Err(e) => {
                    let mut hint =
                        format!("{COLOR_HINT}; the names are {}", Color::NAMES.join(", "));
                    if let Some(m) = did_you_mean(value.get_ref(), &Color::NAMES) {
                        hint.push_str(&format!(" (did you mean {m:?}?)"));
                    }
                    d.error_hint(value.span(), format!("ui.colors.{key}: {e}"), hint);
                    None
                }
            }
        };
        Colors {
            ok: color("ok", c.ok),
            bad: color("bad", c.bad),
            warn: color("warn", c.warn),
            accent: color("accent", c.accent),
            dim: color("dim", c.dim),
            protected: color("protected", c.protected),
            undone: color("undone", c.undone),
        }
    });
    UiConfig {
        theme,
        colors,
        links: raw.links.unwrap_or(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_by_name_number_and_hex() {
        assert_eq!(Color::parse("red"), Ok(Color::Ansi(1)));
        assert_eq!(Color::parse("Light-Cyan"), Ok(Color::Ansi(14)));
        assert_eq!(Color::parse(" dark_gray "), Ok(Color::Ansi(8)));
        assert_eq!(Color::parse("white"), Ok(Color::Ansi(15)));
        assert_eq!(Color::parse("208"), Ok(Color::Indexed(208)));
        assert_eq!(Color::parse("0"), Ok(Color::Indexed(0)));
        assert_eq!(Color::parse("#ff5f5f"), Ok(Color::Rgb(0xff, 0x5f, 0x5f)));
        assert_eq!(Color::parse("#0A1b2C"), Ok(Color::Rgb(0x0a, 0x1b, 0x2c)));
    }

    #[test]
    fn colours_that_cannot_be_read_say_why() {
        for (text, why) in [
            ("purple", "unknown colour \"purple\""),
            ("", "unknown colour \"\""),
            ("256", "colour number 256 is not in 0-255"),
            ("99999999999", "not in 0-255"),
            ("#ff5f5", "6 hex digits"),
            ("#ff5f5fff", "6 hex digits"),
            ("#gg0000", "6 hex digits"),
            ("#ééé", "6 hex digits"),
            ("rgb(1,2,3)", "unknown colour"),
        ] {
            let e = Color::parse(text).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    fn parse(text: &str) -> Result<UiConfig, crate::config::ConfigErrors> {
        let raw: RawUi = toml::from_str(text).unwrap();
        let mut d = Diagnostics::new("ui.toml", text);
        let ui = ui(Some(raw), &mut d);
        if d.is_empty() {
            Ok(ui)
        } else {
            Err(d.finish())
        }
    }

    #[test]
    fn the_table_reads_theme_colours_and_links() {
        let ui = parse("theme = \"light\"\nlinks = false\n[colors]\nbad = \"#d70000\"\nprotected = \"magenta\"\n")
            .unwrap();
        assert_eq!(ui.theme, ThemeName::Light);
        assert!(!ui.links);
        assert_eq!(ui.colors.bad, Some(Color::Rgb(0xd7, 0, 0)));
        assert_eq!(ui.colors.protected, Some(Color::Ansi(5)));
        assert_eq!(ui.colors.ok, None);
        assert_eq!(parse("").unwrap(), UiConfig::default());
        assert!(UiConfig::default().links);
        assert_eq!(UiConfig::default().theme, ThemeName::Dark);
    }

    #[test]
    fn bad_values_are_errors_at_their_place_with_the_choices() {
        let err = parse("theme = \"drak\"\n[colors]\nok = \"gren\"\nwarn = \"#ffff\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ui.toml:1:9: unknown theme \"drak\""), "{err}");
        assert!(
            err.contains("hint: themes are dark, light, mono (did you mean \"dark\"?)"),
            "{err}"
        );
        assert!(
            err.contains("ui.toml:3:6: ui.colors.ok: unknown colour \"gren\""),
            "{err}"
        );
        assert!(err.contains("(did you mean \"green\"?)"), "{err}");
        assert!(err.contains("the names are black, red, green"), "{err}");
        assert!(
            err.contains("ui.toml:4:8: ui.colors.warn: cannot read \"#ffff\""),
            "{err}"
        );
        assert!(err.contains("\"#rrggbb\""), "{err}");
    }
}
