//! Markdown: a fenced code block with a curl example that uses the token,
//! appended at the end in the fence and language the document already uses.

use super::{Edit, Plant, exists, lines};
use crate::error::Result;

pub(super) fn edits(content: &str, p: &Plant) -> Result<Vec<Edit>> {
    let ls = lines(content);
    let (mut backticks, mut tildes) = (0usize, 0usize);
    let mut langs: Vec<String> = Vec::new();
    let mut in_fence: Option<&str> = None;
    for (_, text, _) in &ls {
        let t = text.trim_start();
        let fence = if t.starts_with("```") {
            Some("```")
        } else if t.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (in_fence, fence) {
            (None, Some(f)) => {
                if f == "```" {
                    backticks += 1
                } else {
                    tildes += 1
                }
                let lang = t.trim_start_matches(['`', '~']).trim().to_ascii_lowercase();
                if !lang.is_empty() {
                    langs.push(lang);
                }
                in_fence = Some(f);
            }
            (Some(open), Some(f)) if open == f && t.trim_start_matches(['`', '~']).trim().is_empty() => in_fence = None,
            _ => {}
        }
    }
    let fence = if tildes > backticks { "~~~" } else { "```" };
    let shells = ["sh", "bash", "shell", "console", "zsh"];
    let lang = shells
        .iter()
        .max_by_key(|l| (langs.iter().filter(|x| x == *l).count(), l == &&"sh"))
        .copied()
        .unwrap_or("sh");
    let prompt = if lang == "console" { "$ " } else { "" };

    let mut out = Vec::new();
    for (name, value) in &p.vars {
        // An `export NAME=` or `NAME=` assignment anywhere in the document.
        let found = ls.iter().find_map(|(start, text, _)| {
            let t = text.trim_start().trim_start_matches("$ ");
            let t = t.strip_prefix("export ").unwrap_or(t);
            t.strip_prefix(name.as_str())
                .filter(|r| r.starts_with('='))
                .map(|r| (start + text.len() - r.len() + 1, start + text.len()))
        });
        match found {
            Some(_) if !p.force => return Err(exists(name)),
            Some((a, b)) => out.push(Edit {
                at: a,
                removed: b - a,
                inserted: value.clone(),
            }),
            None => {}
        }
    }
    if !out.is_empty() {
        // --force: the example is there already; the values were replaced.
        return Ok(out);
    }
    let token_var = &p.vars[0].0;
    let base = match p.vars.get(1) {
        Some((url_var, _)) => format!("${{{url_var}}}"),
        None => p.endpoint.trim_end_matches('/').to_string(),
    };
    let mut block = vec![String::new(), format!("{fence}{lang}")];
    for (n, v) in &p.vars {
        block.push(format!("{prompt}export {n}={v}"));
    }
    block.push(format!(
        "{prompt}curl -s -H \"Authorization: Bearer ${token_var}\" \"{base}/v1/account\""
    ));
    block.push(fence.to_string());
    if content.is_empty() || content.ends_with("\n\n") || content.ends_with("\r\n\r\n") {
        block.remove(0);
    }
    out.push(super::append(content, &block));
    Ok(out)
}
