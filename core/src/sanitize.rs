//! Making attacker-controlled bytes safe to store, print and log.
//!
//! Everything is kept as text that cannot be interpreted: invalid UTF-8
//! becomes `\xNN`, control characters (including ANSI escapes and line
//! breaks that could forge a log line) and invisible characters become
//! `\u{NN}`, and the result is truncated to a byte budget with a visible
//! marker. Invisible means: the line and paragraph separators U+2028 and
//! U+2029 (a line break to JavaScript and to many viewers), every Unicode
//! format character (general category Cf: bidi controls, zero-width
//! characters, the BOM, the Arabic letter mark U+061C, ...) and the whole tag
//! block U+E0000-U+E007F (invisible text aimed at AI triage tools). What a
//! hit shows (the `hits` table, JSON and CSV, the HTML report, every alert)
//! was captured through [`escape`], so none of these reaches a reader raw.

use std::fmt::Write;

/// Escapes `bytes` and truncates the result to about `max` bytes.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max) + 16);
    let mut consumed = 0;
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if out.len() >= max {
                return truncated(out, bytes.len() - consumed);
            }
            consumed += ch.len_utf8();
            if ch == '\\' {
                out.push_str("\\\\");
            } else if ch.is_control() || is_invisible(ch) {
                let _ = write!(out, "\\u{{{:x}}}", ch as u32);
            } else {
                out.push(ch);
            }
        }
        for b in chunk.invalid() {
            if out.len() >= max {
                return truncated(out, bytes.len() - consumed);
            }
            consumed += 1;
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Characters a reader cannot see or that change how the text around them
/// is shown: the line and paragraph separators, every format character
/// (Cf, Unicode 16.0, which includes the bidi controls of Trojan Source)
/// and the tag block, assigned or not.
pub fn is_invisible(ch: char) -> bool {
    matches!(
        ch,
        '\u{2028}' | '\u{2029}'
            // Cf
            | '\u{00ad}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061c}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            // The tag block (its Cf characters and the unassigned rest).
            | '\u{e0000}'..='\u{e007f}'
    )
}

fn truncated(mut out: String, rest: usize) -> String {
    let _ = write!(out, "…[+{rest} bytes]");
    out
}

/// Escapes a string that is already UTF-8.
pub fn escape_str(s: &str, max: usize) -> String {
    escape(s.as_bytes(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invalid_bytes_are_escaped() {
        assert_eq!(escape(b"a\nb\x1b[31m\xff\\", 100), "a\\u{a}b\\u{1b}[31m\\xff\\\\");
        assert_eq!(escape("\u{202e}x".as_bytes(), 100), "\\u{202e}x");
    }

    #[test]
    fn separators_format_characters_and_tags_are_escaped() {
        let hostile = "a\u{2028}b\u{2029}c\u{61c}d\u{200b}e\u{feff}f\u{ad}g\u{e0001}\u{e0049}\u{e007f}h\u{2064}i";
        assert_eq!(
            escape_str(hostile, 200),
            "a\\u{2028}b\\u{2029}c\\u{61c}d\\u{200b}e\\u{feff}f\\u{ad}g\\u{e0001}\\u{e0049}\\u{e007f}h\\u{2064}i"
        );
        // Visible neighbours stay: combining marks, emoji, right-to-left letters.
        assert_eq!(
            escape_str("e\u{301} \u{1f600} \u{5d0}", 100),
            "e\u{301} \u{1f600} \u{5d0}"
        );
    }

    #[test]
    fn a_captured_request_keeps_no_invisible_character() {
        let hostile = "ua\u{2028}\u{61c}\u{200b}\u{feff}\u{e0049}\u{e0047}";
        let req = http::Request::builder()
            .uri("/v1/users?q=1")
            .header("user-agent", http::HeaderValue::from_bytes(hostile.as_bytes()).unwrap())
            .header("x-note", http::HeaderValue::from_bytes(hostile.as_bytes()).unwrap())
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let facts = crate::hit::RequestFacts::capture(&parts, "203.0.113.9");
        let want = "ua\\u{2028}\\u{61c}\\u{200b}\\u{feff}\\u{e0049}\\u{e0047}";
        assert_eq!(facts.user_agent, want);
        assert_eq!(facts.headers["x-note"], want);
    }

    #[test]
    fn long_values_are_truncated_with_marker() {
        let s = escape(&[b'a'; 1000], 10);
        assert_eq!(s, "aaaaaaaaaa…[+990 bytes]");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape_str("curl/8.5.0 (x86_64) é", 100), "curl/8.5.0 (x86_64) é");
    }
}
