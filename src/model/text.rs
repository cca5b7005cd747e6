//! Untrusted text from payloads: strip everything that could steer a terminal.

/// Remove control characters (C0, DEL, C1) and whole ANSI/OSC escape sequences, and cap the
/// length. Every string that comes from a source passes through here before it is stored.
pub fn sanitize(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars));
    let mut chars = input.chars().peekable();
    let mut count = 0;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' || c == '\u{9b}' {
            skip_escape(c, &mut chars);
            continue;
        }
        if c == '\t' || c == '\n' || c == '\r' {
            // Whitespace controls become a plain space: one line per value on screen.
            if !out.ends_with(' ') {
                out.push(' ');
                count += 1;
            }
        } else if c.is_control() || is_bidi_control(c) {
            continue;
        } else {
            out.push(c);
            count += 1;
        }
        if count >= max_chars {
            if chars.peek().is_some() {
                out.push('…');
            }
            break;
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn skip_escape(first: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // CSI introduced by the 8-bit form.
    if first == '\u{9b}' {
        skip_csi(chars);
        return;
    }
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => {
            // OSC / DCS / SOS / PM / APC: up to BEL or ST (ESC \).
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        Some(_) => {
            // Two-character escape such as ESC c (reset) or ESC ( B.
            let c = chars.next();
            if matches!(c, Some('(') | Some(')') | Some('#') | Some('%')) {
                chars.next();
            }
        }
        None => {}
    }
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(sanitize("ok\u{1b}[2J\u{1b}[31mred", 100), "okred");
        assert_eq!(
            sanitize("a\u{1b}]0;title\u{7}b\u{1b}]8;;http://x\u{1b}\\c", 100),
            "abc"
        );
        assert_eq!(sanitize("bell\u{7}\u{0}nul\u{7f}", 100), "bellnul");
        assert_eq!(sanitize("line1\nline2\r\n", 100), "line1 line2 ");
        assert_eq!(sanitize("\u{9b}31mx", 100), "x");
        assert_eq!(sanitize("rev\u{202e}erse", 100), "reverse");
        assert_eq!(sanitize("\u{1b}cafter", 100), "after");
    }

    #[test]
    fn caps_length() {
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(sanitize("abc", 3), "abc", "nothing cut, no ellipsis");
        assert_eq!(sanitize("héllo wörld", 100), "héllo wörld");
    }
}
