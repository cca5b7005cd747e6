//! The colours behind the theme's styles: one per role, for a dark or a light background,
//! each one overridable by `[ui.colors]`. `mono` (and NO_COLOR) has no palette at all.

use ratatui::style::Color;

use crate::config::ui::{self, Colors, ThemeName};

/// One colour per role; the theme's styles (`ok()`, `bad()`, `state()` …) are built on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Palette {
    pub ok: Color,
    pub bad: Color,
    pub warn: Color,
    pub accent: Color,
    /// Pending cells, the stable side's series, and text that matters less.
    pub dim: Color,
    pub protected: Color,
    /// Rolled back and cancelled cells.
    pub undone: Color,
    /// Text that matters less is drawn with the terminal's faint attribute rather than in
    /// the `dim` colour: right on a dark background, where the faint foreground still reads;
    /// on a white one faint grey vanishes, so the light palette draws it in `dim`.
    pub faint: bool,
}

impl Palette {
    /// The terminal's own 16 colours, as they look on a dark background.
    pub const DARK: Palette = Palette {
        ok: Color::Green,
        bad: Color::Red,
        warn: Color::Yellow,
        accent: Color::Cyan,
        dim: Color::Gray,
        protected: Color::LightMagenta,
        undone: Color::Magenta,
        faint: true,
    };

    /// Dark shades of the 256-colour palette (fixed, whatever the terminal's own 16 colours
    /// are), legible on white: no yellow, no light grey.
    pub const LIGHT: Palette = Palette {
        ok: Color::Indexed(28),        // #008700
        bad: Color::Indexed(160),      // #d70000
        warn: Color::Indexed(130),     // #af5f00
        accent: Color::Indexed(25),    // #005faf
        dim: Color::Indexed(240),      // #585858
        protected: Color::Indexed(90), // #870087
        undone: Color::Indexed(127),   // #af00af
        faint: false,
    };

    /// The palette of `theme` with `colors` over it; `None` for `mono`.
    pub fn of(theme: ThemeName, colors: &Colors) -> Option<Palette> {
        let base = match theme {
            ThemeName::Dark => Palette::DARK,
            ThemeName::Light => Palette::LIGHT,
            ThemeName::Mono => return None,
        };
        let pick = |c: Option<ui::Color>, default: Color| c.map_or(default, color);
        Some(Palette {
            ok: pick(colors.ok, base.ok),
            bad: pick(colors.bad, base.bad),
            warn: pick(colors.warn, base.warn),
            accent: pick(colors.accent, base.accent),
            dim: pick(colors.dim, base.dim),
            protected: pick(colors.protected, base.protected),
            undone: pick(colors.undone, base.undone),
            // A `dim` of one's own is meant to be seen in that colour.
            faint: base.faint && colors.dim.is_none(),
        })
    }
}

/// A config colour as the terminal draws it.
pub fn color(c: ui::Color) -> Color {
    const ANSI: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    match c {
        ui::Color::Ansi(i) => ANSI.get(usize::from(i)).copied().unwrap_or(Color::Reset),
        ui::Color::Indexed(i) => Color::Indexed(i),
        ui::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_colours_map_to_the_terminals() {
        // Each name is the colour of its SGR code: red is 31, light_red 91.
        for (name, want) in [
            ("red", Color::Red),
            ("gray", Color::Gray),
            ("dark_gray", Color::DarkGray),
            ("light_red", Color::LightRed),
            ("white", Color::White),
            ("black", Color::Black),
        ] {
            assert_eq!(color(ui::Color::parse(name).unwrap()), want, "{name}");
        }
        assert_eq!(color(ui::Color::Indexed(208)), Color::Indexed(208));
        assert_eq!(color(ui::Color::Rgb(1, 2, 3)), Color::Rgb(1, 2, 3));
        assert_eq!(color(ui::Color::Ansi(99)), Color::Reset);
    }

    #[test]
    fn overrides_replace_only_their_role() {
        let colors = Colors {
            bad: Some(ui::Color::Rgb(0xff, 0x5f, 0x5f)),
            protected: Some(ui::Color::Ansi(4)),
            ..Colors::default()
        };
        let p = Palette::of(ThemeName::Light, &colors).unwrap();
        assert_eq!(p.bad, Color::Rgb(0xff, 0x5f, 0x5f));
        assert_eq!(p.protected, Color::Blue);
        assert_eq!(
            Palette {
                bad: Palette::LIGHT.bad,
                protected: Palette::LIGHT.protected,
                ..p
            },
            Palette::LIGHT
        );
        assert_eq!(
            Palette::of(ThemeName::Dark, &Colors::default()),
            Some(Palette::DARK)
        );
        assert_eq!(Palette::of(ThemeName::Mono, &colors), None);
        // A dim colour of one's own is drawn in it, not faint.
        let dim = Colors {
            dim: Some(ui::Color::Indexed(244)),
            ..Colors::default()
        };
        let p = Palette::of(ThemeName::Dark, &dim).unwrap();
        assert!(!p.faint);
        assert_eq!(p.dim, Color::Indexed(244));
    }

    /// On white, nothing is drawn in the colours that vanish there: yellow, light grey, white,
    /// or any of the light 16; and no text is faint.
    #[test]
    fn the_light_palette_has_no_colour_that_vanishes_on_white() {
        let p = Palette::LIGHT;
        assert!(!p.faint);
        let vanishing = [
            Color::Yellow,
            Color::LightYellow,
            Color::Gray,
            Color::White,
            Color::LightCyan,
            Color::LightGreen,
            Color::LightMagenta,
            Color::LightRed,
            Color::LightBlue,
            Color::Cyan,
        ];
        for c in [p.ok, p.bad, p.warn, p.accent, p.dim, p.protected, p.undone] {
            assert!(!vanishing.contains(&c), "{c:?}");
            // The 256-colour cube's own light shades: 6×6×6 from 16, grey ramp from 232.
            if let Color::Indexed(i) = c {
                let light = match i {
                    16..=231 => {
                        let n = i - 16;
                        let (r, g, b) = (n / 36, (n / 6) % 6, n % 6);
                        // Relative luminance of the cube's levels, roughly.
                        let level = |v: u8| [0.0, 0.37, 0.5, 0.68, 0.84, 1.0][usize::from(v)];
                        0.2126 * level(r) + 0.7152 * level(g) + 0.0722 * level(b) > 0.45
                    }
                    232..=255 => i > 243,
                    _ => true,
                };
                assert!(!light, "colour {i} is too light for a white background");
            }
        }
    }
}
