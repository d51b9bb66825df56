//! JSON: new members go before the closing brace of the top-level object,
//! written with the indentation and `": "` spacing of the members around
//! them. Comments (`//`, `/* */`) are skipped, so JSON-with-comments works.

use super::{Edit, Plant, exists, quoted};
use crate::error::{Error, Result};

fn bad(what: &str) -> Error {
    Error::Invalid(format!("cannot plant into this JSON file: {what}"))
}

/// Skips whitespace and comments.
fn ws(b: &[u8], mut i: usize) -> Result<usize> {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = b[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .ok_or_else(|| bad("unterminated comment"))?;
            i += 2 + end + 2;
        } else {
            return Ok(i);
        }
    }
}

/// End (exclusive) of the string starting at `i`.
fn string_end(b: &[u8], mut i: usize) -> Result<usize> {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(bad("unterminated string"))
}

/// End (exclusive) of the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Result<usize> {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'/' if b[j..].starts_with(b"//") || b[j..].starts_with(b"/*") => {
                        j = ws(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(bad("unbalanced brackets"))
        }
        Some(_) => {
            let n = b[i..]
                .iter()
                .take_while(|c| !matches!(c, b',' | b'}' | b']' | b'/') && !c.is_ascii_whitespace())
                .count();
            if n == 0 {
                Err(bad("a value is missing"))
            } else {
                Ok(i + n)
            }
        }
        None => Err(bad("unexpected end of file")),
    }
}

struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

pub(super) fn edits(content: &str, p: &Plant) -> Result<Vec<Edit>> {
    let b = content.as_bytes();
    let bom = if content.starts_with('\u{feff}') { 3 } else { 0 };
    let nl = super::eol(content);
    if content[bom..].trim().is_empty() {
        // A new (empty) file: a whole object in the most common style.
        let body: Vec<String> = p
            .vars
            .iter()
            .map(|(n, v)| format!("  {}: {}", quoted(n), quoted(v)))
            .collect();
        return Ok(vec![Edit {
            at: content.len(),
            removed: 0,
            inserted: format!("{{{nl}{}{nl}}}{nl}", body.join(&format!(",{nl}"))),
        }]);
    }
    let mut i = ws(b, bom)?;
    if b.get(i) != Some(&b'{') {
        return Err(bad("the top level is not an object"));
    }
    let open = i;
    i = ws(b, i + 1)?;
    let mut members: Vec<Member> = Vec::new();
    let mut between = ", ".to_string();
    let close;
    loop {
        match b.get(i) {
            Some(b'}') => {
                close = i;
                break;
            }
            Some(b'"') => {}
            _ => return Err(bad("expected a member name")),
        }
        let key_end = string_end(b, i)?;
        let key: String =
            serde_json::from_str(&content[i..key_end]).map_err(|_| bad("a member name is not valid JSON"))?;
        let colon = ws(b, key_end)?;
        if b.get(colon) != Some(&b':') {
            return Err(bad("expected ':' after a member name"));
        }
        let value_start = ws(b, colon + 1)?;
        let value_end = value_end(b, value_start)?;
        members.push(Member {
            key,
            key_start: i,
            key_end,
            value_start,
            value_end,
        });
        i = ws(b, value_end)?;
        if b.get(i) == Some(&b',') {
            let next = ws(b, i + 1)?;
            if members.len() == 1 && b.get(next) == Some(&b'"') {
                between = content[value_end..next].to_string();
            }
            i = next;
        }
    }
    if content[close + 1..]
        .trim_start_matches(|c: char| c.is_whitespace())
        .starts_with(['{', '[', '"'])
    {
        return Err(bad("more than one top-level value"));
    }

    let mut out = Vec::new();
    let mut new = Vec::new();
    for (name, value) in &p.vars {
        match members.iter().find(|m| &m.key == name) {
            Some(_) if !p.force => return Err(exists(name)),
            Some(m) if b[m.value_start] == b'"' => out.push(Edit {
                at: m.value_start,
                removed: m.value_end - m.value_start,
                inserted: quoted(value),
            }),
            Some(_) => {
                return Err(bad(&format!(
                    "{name} holds an object, array or number; --force only replaces a string"
                )));
            }
            None => new.push((name, value)),
        }
    }
    if new.is_empty() {
        return Ok(out);
    }
    let Some(last) = members.last() else {
        // `{}` or `{ \n }`: open it up with two-space indentation.
        let multi = content[open..close].contains('\n');
        let body: Vec<String> = new
            .iter()
            .map(|(n, v)| format!("{nl}  {}: {}", quoted(n), quoted(v)))
            .collect();
        out.push(Edit {
            at: open + 1,
            removed: 0,
            inserted: body.join(",") + if multi { "" } else { nl },
        });
        return Ok(out);
    };
    let sep = &content[last.key_end..last.value_start];
    let line_start = content[..last.key_start].rfind('\n').map(|x| x + 1).unwrap_or(0);
    let indent = &content[line_start..last.key_start];
    let multi_line = content[open..last.key_start].contains('\n') && indent.trim().is_empty();
    let mut ins = String::new();
    for (n, v) in new {
        if multi_line {
            ins.push_str(&format!(",{nl}{indent}{}{sep}{}", quoted(n), quoted(v)));
        } else {
            ins.push_str(&format!(
                "{}{}{sep}{}",
                between.trim_end_matches(['\r', '\n']),
                quoted(n),
                quoted(v)
            ));
        }
    }
    out.push(Edit {
        at: last.value_end,
        removed: 0,
        inserted: ins,
    });
    Ok(out)
}
