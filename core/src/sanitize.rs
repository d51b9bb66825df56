//! Making attacker-controlled bytes safe to store, print and log.
//!
//! Everything is kept as text that cannot be interpreted: invalid UTF-8
//! becomes `\xNN`, control characters (including ANSI escapes and line
//! breaks that could forge a log line) become `\u{NN}`, and the result is
//! truncated to a byte budget with a visible marker.

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
            } else if ch.is_control() || is_bidi_control(ch) {
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

/// Unicode controls that reorder displayed text (Trojan Source).
fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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
    fn long_values_are_truncated_with_marker() {
        let s = escape(&[b'a'; 1000], 10);
        assert_eq!(s, "aaaaaaaaaa…[+990 bytes]");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape_str("curl/8.5.0 (x86_64) é", 100), "curl/8.5.0 (x86_64) é");
    }
}
