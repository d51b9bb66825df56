//! YAML: a key goes where the file's tool reads variables, in the file's own
//! indentation: a GitHub Actions workflow's top-level `env:`, GitLab CI's
//! `variables:`, a compose service's `environment:` (map or `- NAME=value`
//! list); anything else gets a new top-level key at the end.

use super::{Edit, Plant, YamlFlavour, eol, exists, indent_of, lines};
use crate::error::{Error, Result};

struct Line<'a> {
    start: usize,
    text: &'a str,
    end: usize,
    indent: usize,
    content: bool,
}

fn scan(content: &str) -> Vec<Line<'_>> {
    lines(content)
        .into_iter()
        .map(|(start, text, end)| {
            let t = text.trim();
            let content = !(t.is_empty() || t.starts_with('#') || t.starts_with('%') || t == "---" || t == "...");
            Line {
                start,
                text,
                end,
                indent: indent_of(text).len(),
                content,
            }
        })
        .collect()
}

/// `key: rest` → (key, byte offset of the value within the line, or the line's length).
fn key_of(text: &str) -> Option<(String, usize)> {
    let lead = indent_of(text).len();
    let t = &text[lead..];
    let (key, after) = if let Some(q) = t.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = t[1..].find(q)? + 1;
        (t[1..close].to_string(), close + 1)
    } else {
        let mut idx = None;
        for (i, c) in t.char_indices() {
            if c == ':' && t[i + 1..].chars().next().is_none_or(|n| n == ' ' || n == '\t') {
                idx = Some(i);
                break;
            }
            if c == '#' && i > 0 && t[..i].ends_with(' ') {
                return None;
            }
        }
        let i = idx?;
        (t[..i].trim_end().to_string(), i)
    };
    let rest = &t[after..];
    let rest = rest.strip_prefix(':')?;
    let value_off = lead + after + 1 + (rest.len() - rest.trim_start().len());
    Some((key, value_off))
}

/// Whether a value on a key line is empty (a block follows) or only a comment.
fn opens_block(text: &str, value_off: usize) -> bool {
    let v = text[value_off..].trim();
    v.is_empty() || v.starts_with('#')
}

/// A plain scalar that YAML reads back as the same string.
fn plain_ok(v: &str) -> bool {
    let specials = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"];
    v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:+=~@%".contains(&b))
        && !v.contains(": ")
        && !specials.contains(&v.to_ascii_lowercase().as_str())
}

fn scalar(v: &str, prefer_quotes: bool) -> String {
    if plain_ok(v) && !prefer_quotes {
        v.to_string()
    } else {
        super::quoted(v)
    }
}

/// Where new entries go.
enum Target {
    /// Children of the key line at this index, as `key: value`.
    Map { key_line: usize },
    /// Children of the key line at this index, as `- NAME=value`.
    List { key_line: usize },
    /// A new block (`env:` / `variables:`) at the end.
    NewBlock(&'static str),
    /// Top-level keys at the end.
    TopLevel,
}

/// Children of the block opened by line `k`: (first, last) content line indices.
fn children(ls: &[Line], k: usize) -> Option<(usize, usize)> {
    let base = ls[k].indent;
    let mut first = None;
    let mut last = None;
    for (i, l) in ls.iter().enumerate().skip(k + 1) {
        if !l.content {
            continue;
        }
        // A compose `- item` list may sit at the same indentation as its key.
        let is_item = l.text.trim_start().starts_with('-');
        if l.indent < base || (l.indent == base && !(is_item && first.is_none_or(|f: usize| ls[f].indent == base))) {
            break;
        }
        first.get_or_insert(i);
        last = Some(i);
    }
    Some((first?, last?))
}

fn find_block(ls: &[Line], names: &[&str], top_level_only: bool) -> Option<usize> {
    ls.iter().position(|l| {
        l.content
            && (!top_level_only || l.indent == 0)
            && key_of(l.text).is_some_and(|(k, off)| names.contains(&k.as_str()) && opens_block(l.text, off))
    })
}

pub(super) fn edits(content: &str, p: &Plant) -> Result<Vec<Edit>> {
    let nl = eol(content);
    let ls = scan(content);
    if let Some(first) = ls.iter().find(|l| l.content) {
        let t = first.text.trim_start();
        if first.indent == 0 && (t == "-" || t.starts_with("- ")) {
            return Err(Error::Invalid(
                "cannot plant into this YAML file: its top level is a list, not a mapping of keys".into(),
            ));
        }
        if t.starts_with('{') || t.starts_with('[') {
            return Err(Error::Invalid(
                "cannot plant into this YAML file: it is written in flow style ({...})".into(),
            ));
        }
    }
    let quoted_values = ls
        .iter()
        .filter(|l| l.content)
        .filter_map(|l| key_of(l.text).map(|(_, off)| l.text[off..].trim_start().to_string()))
        .filter(|v| !v.is_empty() && !v.starts_with('#') && !v.starts_with('|') && !v.starts_with('>'))
        .fold((0usize, 0usize), |(q, n), v| (q + v.starts_with('"') as usize, n + 1));
    let prefer_quotes = quoted_values.1 > 0 && quoted_values.0 * 2 > quoted_values.1;
    let unit = ls
        .iter()
        .filter(|l| l.content && l.indent > 0)
        .map(|l| l.indent)
        .min()
        .unwrap_or(2);

    let block = |names: &[&str], top: bool| -> Option<Target> {
        let k = find_block(&ls, names, top)?;
        match children(&ls, k) {
            Some((f, _)) => {
                let t = ls[f].text.trim_start();
                if let Some(item) = t.strip_prefix("- ") {
                    // `- NAME=value` items; Kubernetes' `- name: X` lists are left alone.
                    (item.contains('=') && key_of(item).is_none()).then_some(Target::List { key_line: k })
                } else {
                    Some(Target::Map { key_line: k })
                }
            }
            None => Some(Target::Map { key_line: k }),
        }
    };
    let top_keys: Vec<String> = ls
        .iter()
        .filter(|l| l.content && l.indent == 0)
        .filter_map(|l| key_of(l.text).map(|(k, _)| k))
        .collect();
    let target = match p.yaml {
        YamlFlavour::GithubWorkflow => block(&["env"], true).unwrap_or(Target::NewBlock("env")),
        YamlFlavour::GitlabCi => block(&["variables"], true).unwrap_or(Target::NewBlock("variables")),
        YamlFlavour::Compose => block(&["environment"], false).unwrap_or(Target::TopLevel),
        YamlFlavour::Kubernetes => match super::kubernetes_kind(content) {
            // `data:` of a Secret is base64; `stringData:` takes plain text.
            Some("Secret") => block(&["stringData"], true).unwrap_or(Target::NewBlock("stringData")),
            Some("ConfigMap") => block(&["data"], true).unwrap_or(Target::NewBlock("data")),
            other => {
                return Err(Error::Invalid(format!(
                    "this Kubernetes manifest is a {}; plant into a Secret (stringData) or ConfigMap (data) manifest instead",
                    other.unwrap_or("resource of unknown kind")
                )));
            }
        },
        YamlFlavour::Generic => Target::TopLevel,
    };
    if let Target::NewBlock(name) = &target
        && top_keys.iter().any(|k| k == name)
    {
        return Err(Error::Invalid(format!(
            "cannot plant into this YAML file: its top-level `{name}:` is not a block of `KEY: value` lines; add the variable by hand"
        )));
    }

    // Existing entries of the names to plant, within the target.
    let (range, child_indent): (Vec<usize>, usize) = match &target {
        Target::Map { key_line } | Target::List { key_line } => match children(&ls, *key_line) {
            Some((f, l)) => ((f..=l).collect(), ls[f].indent),
            None => (Vec::new(), ls[*key_line].indent + unit),
        },
        Target::NewBlock(_) => (Vec::new(), unit),
        Target::TopLevel => ((0..ls.len()).filter(|i| ls[*i].indent == 0).collect(), 0),
    };
    let is_list = matches!(target, Target::List { .. });
    let mut out = Vec::new();
    let mut new = Vec::new();
    for (name, value) in &p.vars {
        let mut hit = None;
        for &i in &range {
            let l = &ls[i];
            if !l.content || l.indent != child_indent {
                continue;
            }
            if is_list {
                let item = l.text.trim_start().strip_prefix("- ").unwrap_or("");
                let item_unq = item.trim_matches(['"', '\'']);
                if item_unq.split_once('=').is_some_and(|(k, _)| k.trim() == name) {
                    hit = Some((l.start + indent_of(l.text).len() + 2, l.start + l.text.len(), true));
                }
            } else if let Some((k, off)) = key_of(l.text)
                && &k == name
            {
                let v = l.text[off..].trim();
                if p.force && (v.is_empty() || v.starts_with(['|', '>', '&', '*', '[', '{'])) {
                    return Err(Error::Invalid(format!(
                        "{name} holds a block or collection; --force only replaces a value on one line"
                    )));
                }
                hit = Some((l.start + off, l.start + l.text.len(), false));
            }
        }
        match hit {
            Some(_) if !p.force => return Err(exists(name)),
            Some((a, b, list)) => {
                let inserted = if list {
                    scalar(&format!("{name}={value}"), prefer_quotes)
                } else {
                    scalar(value, prefer_quotes)
                };
                out.push(Edit {
                    at: a,
                    removed: b - a,
                    inserted,
                });
            }
            None => new.push((name, value)),
        }
    }
    if new.is_empty() {
        return Ok(out);
    }
    let pad = " ".repeat(child_indent);
    let entry = |n: &str, v: &str| -> String {
        if is_list {
            format!("{pad}- {}", scalar(&format!("{n}={v}"), prefer_quotes))
        } else {
            format!("{pad}{n}: {}", scalar(v, prefer_quotes))
        }
    };
    let mut new_lines: Vec<String> = Vec::new();
    if let Target::NewBlock(name) = &target {
        new_lines.push(format!("{name}:"));
    }
    new_lines.extend(new.iter().map(|(n, v)| entry(n, v)));
    let at = match &target {
        Target::Map { key_line } | Target::List { key_line } => {
            let last = children(&ls, *key_line).map(|(_, l)| l).unwrap_or(*key_line);
            Some(ls[last].end)
        }
        _ => None,
    };
    match at {
        Some(at) => {
            let mut ins = String::new();
            if at == content.len() && !content.ends_with('\n') {
                ins.push_str(nl);
            }
            for l in &new_lines {
                ins.push_str(l);
                ins.push_str(nl);
            }
            out.push(Edit {
                at,
                removed: 0,
                inserted: ins,
            });
        }
        None => {
            if content.trim_end().ends_with("\n...") {
                return Err(Error::Invalid(
                    "cannot plant into this YAML file: it ends with a document end marker (...)".into(),
                ));
            }
            out.push(super::append(content, &new_lines));
        }
    }
    Ok(out)
}
