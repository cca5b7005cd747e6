//! The terminal's side channels, written by trainyard's own code only: OSC 8 hyperlinks,
//! OSC 52 copy, OSC 9 / OSC 777 desktop notifications and the bell.
//!
//! Every builder here refuses text that could steer the terminal (a control character, an
//! escape) rather than passing it on: payload text is sanitized before it reaches the model
//! (`model::text::sanitize`), and these checks are the second gate. Inside tmux a sequence
//! that tmux would swallow is wrapped for passthrough (`ESC P tmux ; … ESC \`, each `ESC`
//! doubled); tmux forwards it when `allow-passthrough` is on.

use base64::Engine as _;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// String terminator: `ESC \`.
const ST: &str = "\u{1b}\\";

/// Whether a string may sit inside an OSC sequence: no C0 or C1 control, no DEL.
fn printable(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || ('\u{80}'..='\u{9f}').contains(&c))
}

/// Whether `url` may become a hyperlink: `http://` or `https://`, printable ASCII without a
/// space (what a URI is made of: payload text made visible, `␛` or `�`, never is), and short
/// enough for terminals that cap the URI (many stop at 2083 bytes).
pub fn linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2083
        && url.bytes().all(|b| b.is_ascii_graphic())
        && printable(url)
        && !url.contains(';')
}

/// The opening of an OSC 8 hyperlink to `url` (`None` when `url` may not be one); close it
/// with [`link_close`].
pub fn link_open(url: &str) -> Option<String> {
    linkable(url).then(|| format!("{ESC}]8;;{url}{ST}"))
}

/// The end of an OSC 8 hyperlink.
pub fn link_close() -> String {
    format!("{ESC}]8;;{ST}")
}

/// An OSC 52 sequence that puts `text` on the system clipboard (`c`), base64-encoded, so any
/// text is safe inside it.
pub fn copy(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("{ESC}]52;c;{b64}{ST}")
}

/// An OSC 9 desktop notification (`None` if `message` holds a control character).
pub fn notify9(message: &str) -> Option<String> {
    printable(message).then(|| format!("{ESC}]9;{message}{BEL}"))
}

/// An OSC 777 desktop notification (`None` if either part holds a control character or the
/// title a `;`, which would end it early).
pub fn notify777(title: &str, body: &str) -> Option<String> {
    (printable(title) && printable(body) && !title.contains(';'))
        .then(|| format!("{ESC}]777;notify;{title};{body}{BEL}"))
}

/// The terminal bell.
pub fn bell() -> String {
    BEL.to_string()
}

/// Wrap `seq` for tmux's passthrough (`ESC P tmux ; seq with each ESC doubled ESC \`), so
/// that it reaches the terminal tmux runs in. tmux itself understands OSC 8 and OSC 52; OSC 9
/// and OSC 777 need this.
pub fn passthrough(seq: &str) -> String {
    let doubled = seq.replace(ESC, "\u{1b}\u{1b}");
    format!("{ESC}Ptmux;{doubled}{ST}")
}

/// Whether we run inside tmux (`$TMUX` set and not empty).
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_only_for_clean_http_urls() {
        assert_eq!(
            link_open("https://github.com/acme/x/actions/runs/1").unwrap(),
            "\u{1b}]8;;https://github.com/acme/x/actions/runs/1\u{1b}\\"
        );
        assert!(link_open("http://127.0.0.1:8080/x").is_some());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://x/\u{1b}]52;c;AAAA\u{7}",
            "https://x/\u{9d}",
            "https://x/\u{7}",
            "https://x/a;b",
            // Sanitized payload text: an attack made visible, words after a space, a
            // replacement mark; a host that is not ASCII.
            "https://x/runs/1 \u{241b}[2J\u{241b}[H",
            "https://x/runs/1\u{241b}[2J",
            "https://x/runs/1 red",
            "https://x/\u{fffd}",
            "https://\u{65e5}\u{672c}.example/",
            "",
        ] {
            assert_eq!(link_open(bad), None, "{bad:?}");
        }
        assert!(link_open(&format!("https://x/{}", "a".repeat(3000))).is_none());
        assert_eq!(link_close(), "\u{1b}]8;;\u{1b}\\");
    }

    #[test]
    fn copy_encodes_anything() {
        assert_eq!(copy("1.2.3"), "\u{1b}]52;c;MS4yLjM=\u{1b}\\");
        // An escape inside the text is only base64 on the wire.
        let s = copy("\u{1b}]0;pwned\u{7}");
        assert!(!s[1..s.len() - 2].contains('\u{1b}'));
        assert!(!s.contains('\u{7}'));
    }

    #[test]
    fn notifications_refuse_controls() {
        assert_eq!(
            notify9("payments-api: canary FAIL").unwrap(),
            "\u{1b}]9;payments-api: canary FAIL\u{7}"
        );
        assert_eq!(notify9("x\u{7}]0;title"), None);
        assert_eq!(
            notify777("trainyard", "approval waits for you").unwrap(),
            "\u{1b}]777;notify;trainyard;approval waits for you\u{7}"
        );
        assert_eq!(notify777("a;b", "c"), None);
        assert_eq!(notify777("a", "c\u{9c}"), None);
        assert_eq!(bell(), "\u{7}");
    }

    #[test]
    fn passthrough_doubles_every_escape() {
        let seq = notify9("hi").unwrap();
        assert_eq!(
            passthrough(&seq),
            "\u{1b}Ptmux;\u{1b}\u{1b}]9;hi\u{7}\u{1b}\\"
        );
    }
}
