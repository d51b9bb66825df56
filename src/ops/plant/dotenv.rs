//! `.env` files: `NAME=value` lines, appended at the end.

use super::{Edit, Plant, append, exists, lines};
use crate::error::Result;

/// An assignment line: (uses `export`, name, offset of the value in the line).
fn assignment(line: &str) -> Option<(bool, &str, usize)> {
    let lead = line.len() - line.trim_start().len();
    let mut rest = &line[lead..];
    let export = rest.starts_with("export ");
    if export {
        rest = rest["export ".len()..].trim_start();
    }
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
        .count();
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start();
    let value = after.strip_prefix('=')?;
    Some((export, name, line.len() - value.len()))
}

/// Renders a value the way the file quotes its values.
fn render(value: &str, quote: Option<char>) -> String {
    let bare_ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.:/+~=@%,".contains(&b));
    match quote {
        Some('\'') if !value.contains('\'') => format!("'{value}'"),
        Some(_) => super::quoted(value),
        None if bare_ok => value.to_string(),
        None => super::quoted(value),
    }
}

pub(super) fn edits(content: &str, p: &Plant) -> Result<Vec<Edit>> {
    let mut exports = 0usize;
    let mut total = 0usize;
    let (mut dq, mut sq, mut bare) = (0usize, 0usize, 0usize);
    let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (var index, value start, value end) in content
    for (start, text, _) in lines(content) {
        if text.trim_start().starts_with('#') {
            continue;
        }
        let Some((export, name, voff)) = assignment(text) else {
            continue;
        };
        total += 1;
        exports += export as usize;
        match text[voff..].chars().next() {
            Some('"') => dq += 1,
            Some('\'') => sq += 1,
            _ => bare += 1,
        }
        if let Some(i) = p.vars.iter().position(|(n, _)| n == name) {
            found.push((i, start + voff, start + text.len()));
        }
    }
    let quote = if dq > bare.max(sq) {
        Some('"')
    } else if sq > bare.max(dq) {
        Some('\'')
    } else {
        None
    };
    if !found.is_empty() && !p.force {
        return Err(exists(&p.vars[found[0].0].0));
    }
    let use_export = total > 0 && exports * 2 > total;
    let mut out: Vec<Edit> = found
        .iter()
        .map(|&(i, a, b)| Edit {
            at: a,
            removed: b - a,
            inserted: render(&p.vars[i].1, quote),
        })
        .collect();
    let new: Vec<String> = p
        .vars
        .iter()
        .enumerate()
        .filter(|(i, _)| !found.iter().any(|f| f.0 == *i))
        .map(|(_, (n, v))| format!("{}{n}={}", if use_export { "export " } else { "" }, render(v, quote)))
        .collect();
    if !new.is_empty() {
        out.push(append(content, &new));
    }
    Ok(out)
}
