//! Untrusted text from payloads: strip everything that could steer a terminal, and measure
//! what is left in terminal columns.
//!
//! [`sanitize`] is the one gate every string from a source passes before it is stored in the
//! model (docs/security.md ("Hostile payloads") has the threat and the rules). Its rule is: **nothing that
//! can steer a terminal or hide text survives, and nothing is removed without a trace** unless
//! it is harmless formatting:
//!
//! | what | becomes |
//! |---|---|
//! | an escape sequence (7-bit `ESC …`: CSI, OSC, DCS, SOS, PM, APC, two-character and `nF` escapes, a lone ESC; 8-bit CSI `U+9B`, OSC `U+9D`, DCS `U+90`, SOS `U+98`, PM `U+9E`, APC `U+9F`), with its parameters and its payload up to the terminator (BEL, ST `U+9C`, `ESC \`, CAN, SUB; an unterminated string runs to the end) | one `␛` ([`ESCAPE_MARK`]) |
//! | a colour/attribute sequence (SGR: `ESC [` digits `;` `:` only, then `m`) | nothing: CI output is full of them and they carry no intent |
//! | TAB, LF, CR, VT, FF, NEL `U+85`, LINE SEPARATOR `U+2028`, PARAGRAPH SEPARATOR `U+2029` | one space (runs of them: one space): a value is one line |
//! | any other C0 control, DEL, any other C1 control | `�` ([`HIDDEN_MARK`]) |
//! | bidi controls `U+202A–202E`, `U+2066–2069`, `U+200E`, `U+200F`, `U+061C` | `�` |
//! | zero-width and invisible characters: `U+200B–200D`, `U+2060–2064`, `U+FEFF`, `U+180E`, `U+00AD`, `U+034F`, the Hangul fillers `U+115F`, `U+1160`, `U+3164`, `U+FFA0`, the interlinear annotation controls `U+FFF9–FFFB`, tag characters `U+E0000–E007F` | `�` |
//! | ZERO WIDTH JOINER between two pictographs (`👨‍👩‍👧`) | nothing: the family becomes its members (`👨👩👧`), a width every terminal agrees on |
//! | variation selectors 15 and 16 (`U+FE0E`, `U+FE0F`) | nothing: they change a character's width in some terminals and not in others |
//! | more than [`MAX_COMBINING`] combining marks in a row ("zalgo") | the first ones stay, the rest become one `�` |
//!
//! Marks never pile up: a run of removed things that would leave the same mark twice in a row
//! leaves it once (`ESC[2J ESC[H` is one `␛`). The result is capped at `max_chars` characters
//! (marks count), with `…` when cut. Sanitizing twice changes nothing more.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// What an escape sequence leaves behind: SYMBOL FOR ESCAPE.
pub const ESCAPE_MARK: char = '\u{241b}';
/// What any other removed control or invisible character leaves behind: REPLACEMENT CHARACTER.
pub const HIDDEN_MARK: char = '\u{fffd}';
/// Combining marks kept in a row; natural text needs far fewer.
pub const MAX_COMBINING: usize = 8;

/// Clean a string from a source for the screen, the audit log and `status`: see the module
/// documentation for the rule of each character class. At most `max_chars` characters (plus
/// `…` when cut); the input is read only as far as needed, so a 10 MB payload costs little.
pub fn sanitize(input: &str, max_chars: usize) -> String {
    if is_plain(input, max_chars) {
        return input.to_string();
    }
    let mut out = Out {
        s: String::with_capacity(input.len().min(max_chars.saturating_mul(4)).min(4096)),
        count: 0,
        last: Last::Start,
        combining: 0,
    };
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if out.count >= max_chars {
            // Something is left: the value was cut.
            out.s.push('…');
            break;
        }
        match classify(c) {
            Class::Escape => {
                if skip_escape(&mut chars) == Seq::Marked {
                    out.mark(ESCAPE_MARK);
                }
            }
            Class::C1String => {
                skip_string(&mut chars);
                out.mark(ESCAPE_MARK);
            }
            Class::C1Csi => {
                skip_csi(&mut chars);
                out.mark(ESCAPE_MARK);
            }
            Class::Space => out.space(),
            Class::Hidden => out.mark(HIDDEN_MARK),
            Class::Dropped => {}
            Class::Joiner => {
                let joins_emoji = out.s.chars().next_back().is_some_and(is_pictographic)
                    && matches!(out.last, Last::Char)
                    && chars.peek().copied().is_some_and(is_pictographic);
                if !joins_emoji {
                    out.mark(HIDDEN_MARK);
                }
            }
            Class::Text => out.push(c),
        }
    }
    out.s
}

/// `text` is printable ASCII (space included) of at most `max_chars` characters: what
/// [`sanitize`] leaves as it is, found without building anything (most texts of a payload).
pub fn is_plain(text: &str, max_chars: usize) -> bool {
    text.len() <= max_chars && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The output being built, and what was pushed last (marks and spaces don't pile up).
struct Out {
    s: String,
    count: usize,
    last: Last,
    /// Combining marks in a row so far.
    combining: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Last {
    Start,
    Char,
    Space,
    Mark(char),
}

impl Out {
    fn push(&mut self, c: char) {
        let zero_width = unicode_width::UnicodeWidthChar::width(c) == Some(0);
        if zero_width {
            self.combining += 1;
            if self.combining > MAX_COMBINING {
                self.mark(HIDDEN_MARK);
                // Stay in the run: every further mark of it is dropped behind the one `�`.
                self.combining = MAX_COMBINING + 1;
                return;
            }
        } else {
            self.combining = 0;
        }
        self.s.push(c);
        self.count += 1;
        self.last = Last::Char;
    }

    fn mark(&mut self, m: char) {
        if self.last == Last::Mark(m) {
            return;
        }
        self.s.push(m);
        self.count += 1;
        self.last = Last::Mark(m);
        if self.combining <= MAX_COMBINING {
            self.combining = 0;
        }
    }

    fn space(&mut self) {
        if self.last == Last::Space || self.s.ends_with(' ') {
            return;
        }
        self.s.push(' ');
        self.count += 1;
        self.last = Last::Space;
        self.combining = 0;
    }
}

enum Class {
    /// 7-bit ESC: a sequence follows (or a lone ESC).
    Escape,
    /// 8-bit introducers of a control string: DCS, SOS, OSC, PM, APC.
    C1String,
    /// 8-bit CSI.
    C1Csi,
    /// Line and tab controls: one space.
    Space,
    /// Removed, leaving `�`.
    Hidden,
    /// Removed without a trace (harmless).
    Dropped,
    /// ZERO WIDTH JOINER: kept nowhere, silent between pictographs.
    Joiner,
    Text,
}

fn classify(c: char) -> Class {
    match c {
        '\u{1b}' => Class::Escape,
        '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Class::C1String,
        '\u{9b}' => Class::C1Csi,
        '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
            Class::Space
        }
        '\u{200d}' => Class::Joiner,
        '\u{fe0e}' | '\u{fe0f}' => Class::Dropped,
        c if c.is_control() || is_bidi_control(c) || is_invisible(c) => Class::Hidden,
        _ => Class::Text,
    }
}

/// Bidirectional formatting characters: they reorder what the eye sees ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Characters that draw nothing, or draw blank while being letters: they make two names that
/// look the same differ (`ma\u{200b}in`), or hide text.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200d}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{180e}'
            | '\u{00ad}'
            | '\u{034f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Emoji and other pictographs (an approximation of Extended_Pictographic that covers the
/// emoji blocks): where a ZERO WIDTH JOINER joins two of them it is dropped silently.
fn is_pictographic(c: char) -> bool {
    matches!(
        c,
        '\u{1f000}'..='\u{1faff}'
            | '\u{2600}'..='\u{27bf}'
            | '\u{2300}'..='\u{23ff}'
            | '\u{2b00}'..='\u{2bff}'
            | '\u{00a9}'
            | '\u{00ae}'
            | '\u{203c}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
    )
}

/// Whether a sequence leaves a mark: colour codes don't.
#[derive(PartialEq)]
enum Seq {
    Silent,
    Marked,
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After a 7-bit ESC: skip the sequence it starts.
fn skip_escape(chars: &mut Chars<'_>) -> Seq {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            if skip_csi(chars) {
                Seq::Silent
            } else {
                Seq::Marked
            }
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
            Seq::Marked
        }
        Some(' '..='/') => {
            // nF escapes (ESC ( B, ESC # 8, ESC % G): intermediates, then one final.
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next_if(|c| ('0'..='~').contains(c));
            Seq::Marked
        }
        Some('0'..='~') => {
            // Two characters: ESC c (reset), ESC 7, ESC M, ...
            chars.next();
            Seq::Marked
        }
        // A lone ESC: what follows is text (or another sequence).
        _ => Seq::Marked,
    }
}

/// Skip a CSI's parameters, intermediates and final byte. Stops early (leaving the rest as
/// text) at anything that can't be part of one. True for a colour code (SGR).
fn skip_csi(chars: &mut Chars<'_>) -> bool {
    let mut sgr_params = true;
    while let Some(c) = chars.next_if(|c| ('0'..='?').contains(c)) {
        if !(c.is_ascii_digit() || c == ';' || c == ':') {
            sgr_params = false;
        }
    }
    let mut intermediates = false;
    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {
        intermediates = true;
    }
    match chars.next_if(|c| ('@'..='~').contains(c)) {
        Some('m') => sgr_params && !intermediates,
        _ => false,
    }
}

/// Skip a control string's payload (OSC, DCS, SOS, PM, APC) and its terminator: BEL, ST
/// (`U+9C` or `ESC \`), or CAN / SUB, which abort it. An ESC that is not `ESC \` ends the
/// string and starts a sequence of its own (left for the caller). Unterminated: to the end.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{07}' | '\u{9c}' | '\u{18}' | '\u{1a}' => {
                chars.next();
                return;
            }
            '\u{1b}' => {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek() == Some(&'\\') {
                    chars.next();
                    chars.next();
                }
                return;
            }
            _ => {
                chars.next();
            }
        }
    }
}

/// JSON text made safe to print on a terminal without changing what it means: serde_json
/// escapes C0 controls but writes DEL, C1 controls, bidi controls, invisible characters and
/// the line separators as they are. Those can only occur inside strings, where `\uXXXX` (a
/// surrogate pair above U+FFFF) means the same character.
pub fn json_safe(json: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // Newlines and tabs outside strings are the layout of pretty JSON (serde escapes them
        // inside strings).
        if (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || is_bidi_control(c)
            || is_invisible(c)
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fe0e}' | '\u{fe0f}')
        {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ------------------------------------------------------------------ columns

/// The columns `s` takes in a terminal, as ratatui counts them (grapheme by grapheme).
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

fn grapheme_width(g: &str) -> usize {
    if g.chars().any(char::is_control) {
        // ratatui draws no grapheme with a control character in it.
        0
    } else if g.len() == 1 {
        1
    } else {
        // Halfwidth (han)dakuten stand alone in terminals: ratatui counts them as one column.
        g.width()
            + g.chars()
                .filter(|c| matches!(c, '\u{ff9e}' | '\u{ff9f}'))
                .count()
    }
}

/// Cut `s` to at most `max` columns, with an ellipsis when cut; never splits a grapheme (an
/// emoji, a letter and its accents) and never leaves half of a wide character.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = grapheme_width(g);
        if w + gw + 1 > max {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    out.push('…');
    out
}

/// `s` cut to `w` columns (see [`fit`]) and padded with spaces to exactly `w` columns: a
/// column of a table whatever the script (`format!("{:<w$}")` counts characters, and a CJK
/// character takes two columns).
pub fn pad(s: &str, w: usize) -> String {
    let mut out = fit(s, w);
    let used = width(&out);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out
}

/// `s` padded with spaces to at least `w` columns, never cut: a column that a long value may
/// push aside but a short one, whatever its script, keeps aligned.
pub fn pad_min(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    out
}

/// `s` cut to `w` columns and padded on the left to exactly `w` columns (numbers).
pub fn pad_left(s: &str, w: usize) -> String {
    let out = fit(s, w);
    let used = width(&out);
    let mut padded: String = std::iter::repeat_n(' ', w.saturating_sub(used)).collect();
    padded.push_str(&out);
    padded
}

#[cfg(test)]
mod tests;
