//! TOML: top-level keys must come before the first `[table]`, so a new key
//! goes right after the last top-level entry (or at the end of a file with
//! no tables), spelt with the file's own `key = value` spacing.

use super::{Edit, Plant, eol, exists, lines};
use crate::error::{Error, Result};

/// Multi-line state carried from one line to the next.
#[derive(Default, Clone, Copy)]
struct State {
    /// Inside `"""` or `'''`.
    ml_string: Option<&'static str>,
    /// Open `[` / `{` outside strings (arrays and inline tables spanning lines).
    depth: usize,
}

/// Advances `st` over one line.
fn step(mut st: State, line: &str) -> State {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(delim) = st.ml_string {
            match line[i..].find(delim) {
                Some(j) if delim == "\"\"\"" && j > 0 && b[i + j - 1] == b'\\' => {
                    i += j + 1;
                }
                Some(j) => {
                    i += j + 3;
                    st.ml_string = None;
                }
                None => return st,
            }
            continue;
        }
        match b[i] {
            b'#' => return st,
            b'"' | b'\'' => {
                let q = b[i];
                if line[i..].starts_with("\"\"\"") || line[i..].starts_with("'''") {
                    st.ml_string = Some(if q == b'"' { "\"\"\"" } else { "'''" });
                    i += 3;
                    continue;
                }
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                st.depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                st.depth = st.depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    st
}

/// The key of a `key = value` line: (key, offset of the value).
fn key_of(text: &str) -> Option<(String, usize)> {
    let lead = text.len() - text.trim_start().len();
    let t = &text[lead..];
    let (key, after) = match t.chars().next()? {
        q @ ('"' | '\'') => {
            let close = t[1..].find(q)? + 1;
            (t[1..close].to_string(), close + 1)
        }
        _ => {
            let n = t
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || b"_-.".contains(b))
                .count();
            if n == 0 {
                return None;
            }
            (t[..n].to_string(), n)
        }
    };
    let rest = t[after..].trim_start();
    let v = rest.strip_prefix('=')?;
    Some((key, text.len() - v.trim_start().len()))
}

fn is_header(text: &str) -> bool {
    text.trim_start().starts_with('[')
}

fn blank_or_comment(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.starts_with('#')
}

pub(super) fn edits(content: &str, p: &Plant) -> Result<Vec<Edit>> {
    let nl = eol(content);
    let ls = lines(content);
    // Top-level lines (before the first header) and where that header is.
    let mut st = State::default();
    let mut header = None;
    let mut top: Vec<(usize, bool)> = Vec::new(); // (line index, starts at depth 0 outside strings)
    for (i, (_, text, _)) in ls.iter().enumerate() {
        let at_top = st.ml_string.is_none() && st.depth == 0;
        if at_top && is_header(text) {
            header = Some(i);
            break;
        }
        top.push((i, at_top));
        st = step(st, text);
    }
    let spacing = top
        .iter()
        .filter(|(_, at)| *at)
        .find_map(|(i, _)| {
            let text = ls[*i].1;
            key_of(text).map(|(_, off)| {
                let eq = text[..off].rfind('=').unwrap_or(0);
                (text[..eq].ends_with(' '), text[eq + 1..].starts_with(' '))
            })
        })
        .unwrap_or((true, true));
    let eq = format!(
        "{}={}",
        if spacing.0 { " " } else { "" },
        if spacing.1 { " " } else { "" }
    );

    let mut out = Vec::new();
    let mut new = Vec::new();
    for (name, value) in &p.vars {
        let found = top.iter().filter(|(_, at)| *at).find_map(|(i, _)| {
            let (start, text, _) = ls[*i];
            key_of(text)
                .filter(|(k, _)| k == name)
                .map(|(_, off)| (start, text, off))
        });
        match found {
            Some(_) if !p.force => return Err(exists(name)),
            Some((start, text, off)) => {
                let v = &text[off..];
                if !(v.starts_with('"') || v.starts_with('\'')) || v.starts_with("\"\"\"") || v.starts_with("'''") {
                    return Err(Error::Invalid(format!(
                        "{name} does not hold a one-line string; --force only replaces one"
                    )));
                }
                out.push(Edit {
                    at: start + off,
                    removed: text.len() - off,
                    inserted: super::quoted(value),
                });
            }
            None => new.push(format!("{name}{eq}{}", super::quoted(value))),
        }
    }
    if new.is_empty() {
        return Ok(out);
    }
    let Some(h) = header else {
        out.push(super::append(content, &new));
        return Ok(out);
    };
    let body: String = new.iter().map(|l| format!("{l}{nl}")).collect();
    // After the last top-level entry: everything open there closed before the header.
    match (0..h).rev().find(|&i| !blank_or_comment(ls[i].1)) {
        Some(last) => {
            let (_, text, end) = ls[last];
            let missing_nl = if end == ls[last].0 + text.len() { nl } else { "" };
            out.push(Edit {
                at: end,
                removed: 0,
                inserted: format!("{missing_nl}{body}"),
            });
        }
        None => {
            // Only comments above the first table: keep the ones attached to it.
            let mut at = h;
            while at > 0 && !ls[at - 1].1.trim().is_empty() {
                at -= 1;
            }
            out.push(Edit {
                at: ls[at].0,
                removed: 0,
                inserted: format!("{body}{nl}"),
            });
        }
    }
    Ok(out)
}
