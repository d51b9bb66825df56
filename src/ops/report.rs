//! A report people can look at: one self-contained HTML file with a
//! timeline of hits per day, the top sources, countries and networks, and
//! per-token detail.
//!
//! The file fetches nothing when opened: styles are inline, charts are
//! hand-written inline SVG, there is no script, and a Content-Security-Policy
//! meta tag forbids anything else. Every string from a hit or a token is
//! HTML-escaped where it is written, because user agents, paths and even
//! CloudFront city names come from whoever sent the request.
//!
//! Pure: hits and tokens in, a `String` out.

use std::collections::HashMap;
use std::fmt::Write;

use crate::domain::hit::Hit;
use crate::domain::token::TokenRecord;
use crate::ops::analysis::{self, Group, GroupBy};

/// The Content-Security-Policy of the report: nothing but inline styles and `data:` images.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// How many rows the top-N charts and tables show.
const TOP: usize = 15;
/// Most recent hits listed at the end.
const RECENT: usize = 25;
/// Longest label drawn inside a chart, in characters (tables show more).
const CHART_LABEL: usize = 28;
/// Longest text in a table cell, in characters.
const CELL: usize = 96;

/// What the report covers, shown in its header.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// Lower time bound of the hits, if any (RFC 3339).
    pub since: Option<String>,
    /// Only this token, if any.
    pub token_id: Option<String>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens to `max` characters with an ellipsis, then escapes.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        escape_html(&c)
    } else {
        escape_html(s)
    }
}

/// `2026-01-02T10:00:00.000Z` → `2026-01-02 10:00`; anything else shown escaped as is.
fn short_time(s: &str) -> String {
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(t)) if s.as_bytes().get(10) == Some(&b'T') => escape_html(&format!("{d} {t}")),
        _ => escape_html(s),
    }
}

fn key_or(g: &Group, unknown: &str) -> String {
    g.key.clone().unwrap_or_else(|| unknown.to_string())
}

const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f6f7f9; --card:#fff; --bar:#c0392b; --bar2:#2c6fbb; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:20px 32px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header p { margin:0; color:#c9cfdb; }
main { padding:20px 32px 40px; max-width:1400px; }
.stats { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:20px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px 16px; min-width:130px; }
.stat b { display:block; font-size:24px; font-weight:600; }
.stat span { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.stat.warn b { color:var(--bar); }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:14px 18px; margin-bottom:20px; }
section h2 { margin:0 0 10px; font-size:16px; font-weight:600; }
.split { display:grid; grid-template-columns:minmax(0,5fr) minmax(0,6fr); gap:24px; align-items:start; }
@media (max-width:900px) { .split { grid-template-columns:minmax(0,1fr); } }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
td.mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; overflow-wrap:anywhere; }
td.t { white-space:nowrap; }
.flag { color:var(--bar); font-weight:600; }
.muted { color:var(--muted); }
svg { display:block; width:100%; height:auto; }
svg text { font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; fill:var(--fg); }
svg .axis { fill:var(--muted); }
svg .grid-line { stroke:var(--line); stroke-width:1; }
svg .bar { fill:var(--bar); }
svg .bar2 { fill:var(--bar2); }
"#;

/// A vertical bar chart of hits per day.
fn timeline_svg(days: &[(String, u64)]) -> String {
    let (w, h, left, bottom, top) = (1100.0_f64, 220.0_f64, 44.0_f64, 28.0_f64, 12.0_f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart timeline" viewBox="0 0 {w} {h}" role="img" aria-label="Hits per day"><title>Hits per day</title>"#
    );
    if days.is_empty() {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="axis">no hits</text></svg>"#,
            w / 2.0 - 20.0,
            h / 2.0
        );
        return s;
    }
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1) as f64;
    let plot_w = w - left - 8.0;
    let plot_h = h - top - bottom;
    for frac in [0.0, 0.5, 1.0] {
        let y = top + plot_h * (1.0 - frac);
        let label = (max * frac).round() as u64;
        let _ = write!(
            s,
            r#"<line class="grid-line" x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
            w - 8.0,
            left - 6.0,
            y + 4.0
        );
    }
    let step = plot_w / days.len() as f64;
    let gap = if step > 4.0 { (step * 0.2).min(6.0) } else { 0.0 };
    let label_every = (days.len() / 10).max(1);
    for (i, (day, n)) in days.iter().enumerate() {
        let x = left + step * i as f64;
        let bh = plot_h * (*n as f64) / max;
        let _ = write!(
            s,
            r#"<rect class="bar" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"><title>{}: {n}</title></rect>"#,
            x + gap / 2.0,
            top + plot_h - bh,
            (step - gap).max(0.5),
            bh,
            escape_html(day)
        );
        if i % label_every == 0 || (i + 1 == days.len() && days.len() <= 10) {
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + step / 2.0,
                h - 8.0,
                escape_html(day.get(5..).unwrap_or(day))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A horizontal bar chart of the top groups.
fn bars_svg(title: &str, rows: &[(String, u64)], class: &str) -> String {
    let (w, row, label_w) = (560.0_f64, 22.0_f64, 190.0_f64);
    let h = row * rows.len().max(1) as f64 + 8.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape_html(title)
    );
    if rows.is_empty() {
        let _ = write!(s, r#"<text class="axis" x="8" y="18">no data</text></svg>"#);
        return s;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let bar_max = w - label_w - 60.0;
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let bw = (bar_max * *n as f64 / max).max(1.0);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}<title>{}</title></text><rect class="{class}" x="{label_w}" y="{:.1}" width="{bw:.1}" height="{:.1}"/><text class="axis" x="{:.1}" y="{:.1}">{n}</text>"#,
            label_w - 8.0,
            y + 15.0,
            clip(label, CHART_LABEL),
            escape_html(label),
            y + 3.0,
            row - 6.0,
            label_w + bw + 6.0,
            y + 15.0
        );
    }
    s.push_str("</svg>");
    s
}

fn stat(out: &mut String, value: impl std::fmt::Display, label: &str, warn: bool) {
    let _ = write!(
        out,
        r#"<div class="stat{}"><b>{}</b><span>{}</span></div>"#,
        if warn { " warn" } else { "" },
        escape_html(&value.to_string()),
        escape_html(label)
    );
}

fn group_table(out: &mut String, groups: &[Group], first_col: &str, unknown: &str, with_name: Option<&str>) {
    let _ = write!(out, "<table><thead><tr><th>{}</th>", escape_html(first_col));
    if let Some(n) = with_name {
        let _ = write!(out, "<th>{}</th>", escape_html(n));
    }
    out.push_str(r#"<th class="n">hits</th><th class="n">tokens</th><th class="n">sources</th><th>first seen</th><th>last seen</th></tr></thead><tbody>"#);
    for g in groups.iter().take(TOP) {
        let _ = write!(out, r#"<tr><td class="mono">{}</td>"#, clip(&key_or(g, unknown), CELL));
        if with_name.is_some() {
            let _ = write!(out, "<td>{}</td>", clip(g.name.as_deref().unwrap_or(""), CELL));
        }
        let _ = write!(
            out,
            r#"<td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="t">{}</td><td class="t">{}</td></tr>"#,
            g.count,
            g.distinct_tokens,
            g.distinct_sources,
            short_time(&g.first_seen),
            short_time(&g.last_seen)
        );
    }
    if groups.len() > TOP {
        let rest: u64 = groups[TOP..].iter().map(|g| g.count).sum();
        let _ = write!(
            out,
            r#"<tr><td class="muted" colspan="{}">and {} more with {rest} hits</td></tr>"#,
            if with_name.is_some() { 7 } else { 6 },
            groups.len() - TOP
        );
    }
    out.push_str("</tbody></table>");
}

fn chart_rows(groups: &[Group], unknown: &str, name: bool) -> Vec<(String, u64)> {
    groups
        .iter()
        .take(TOP)
        .map(|g| {
            let label = match (&g.name, name) {
                (Some(n), true) => format!("{} {n}", key_or(g, unknown)),
                _ => key_or(g, unknown),
            };
            (label, g.count)
        })
        .collect()
}

fn token_section(out: &mut String, hits: &[Hit], tokens: &[TokenRecord], opts: &ReportOptions) {
    let by_token = analysis::group(hits, GroupBy::Token);
    let stats: HashMap<&str, &Group> = by_token.iter().filter_map(|g| Some((g.key.as_deref()?, g))).collect();
    let records: HashMap<&str, &TokenRecord> = tokens.iter().map(|t| (t.id.as_str(), t)).collect();
    // Tokens with hits, most used first, then tokens the store knows that were not used.
    let mut ids: Vec<&str> = by_token.iter().filter_map(|g| g.key.as_deref()).collect();
    let mut unused: Vec<&TokenRecord> = tokens
        .iter()
        .filter(|t| !stats.contains_key(t.id.as_str()))
        .filter(|t| opts.token_id.as_deref().is_none_or(|id| id == t.id))
        .collect();
    unused.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    ids.extend(unused.iter().map(|t| t.id.as_str()));

    out.push_str(r#"<section id="tokens"><h2>Tokens</h2><table><thead><tr><th>token</th><th>label</th><th>state</th><th>planted at</th><th>created</th><th class="n">hits</th><th class="n">sources</th><th>first use</th><th>last use</th></tr></thead><tbody>"#);
    for id in ids {
        let rec = records.get(id);
        let g = stats.get(id);
        let label = match rec {
            Some(r) => clip(&r.label, CELL),
            None => r#"<span class="flag">unknown token (no record)</span>"#.to_string(),
        };
        let mut planted: Vec<String> = Vec::new();
        if let Some(r) = rec {
            if !r.location.is_empty() {
                planted.push(clip(&r.location, CELL));
            }
            for p in &r.placements {
                let place = if p.var.is_empty() {
                    p.path.clone()
                } else {
                    format!("{} ({})", p.path, p.var)
                };
                planted.push(clip(&place, CELL));
            }
        }
        let planted = if planted.is_empty() {
            r#"<span class="muted">not recorded</span>"#.to_string()
        } else {
            planted.join("<br>")
        };
        let never = r#"<span class="muted">never</span>"#;
        let _ = write!(
            out,
            r#"<tr><td class="mono">{}</td><td>{label}</td><td>{}</td><td>{planted}</td><td class="t">{}</td><td class="n">{}</td><td class="n">{}</td><td class="t">{}</td><td class="t">{}</td></tr>"#,
            escape_html(id),
            rec.map(|r| escape_html(&r.state.to_string())).unwrap_or_default(),
            rec.map(|r| short_time(&r.created_at)).unwrap_or_default(),
            g.map(|g| g.count).unwrap_or(0),
            g.map(|g| g.distinct_sources).unwrap_or(0),
            g.map(|g| short_time(&g.first_seen))
                .unwrap_or_else(|| never.to_string()),
            g.map(|g| short_time(&g.last_seen)).unwrap_or_else(|| never.to_string()),
        );
    }
    out.push_str("</tbody></table></section>");
}

fn recent_section(out: &mut String, hits: &[Hit]) {
    let mut recent: Vec<&Hit> = hits.iter().collect();
    recent.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.hit_id.cmp(&a.hit_id)));
    recent.truncate(RECENT);
    out.push_str(r#"<section id="recent"><h2>Most recent hits</h2><table><thead><tr><th>received</th><th>token</th><th>source</th><th>location</th><th>network</th><th>request</th><th>user agent</th><th>flags</th></tr></thead><tbody>"#);
    for h in recent {
        let place = h
            .geo
            .as_ref()
            .map(|g| {
                [g.city.as_deref(), g.country_code.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let net = h
            .asn
            .as_ref()
            .map(|a| format!("AS{} {}", a.number, a.org.as_deref().unwrap_or("")))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr><td class="t">{}</td><td class="mono">{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td class="mono">{} {}</td><td class="mono">{}</td><td class="flag">{}</td></tr>"#,
            short_time(&h.received_at.to_string()),
            escape_html(&h.token_id),
            clip(&h.source_ip, CELL),
            clip(&place, CELL),
            clip(net.trim(), CELL),
            clip(&h.method, 16),
            clip(&h.path, CELL),
            clip(&h.user_agent, CELL),
            escape_html(&crate::domain::alert::render::flags(h).join(", ")),
        );
    }
    out.push_str("</tbody></table></section>");
}

/// Renders the report. `tokens` gives labels and where each token was
/// planted; hits of tokens it lacks are shown as unknown tokens.
pub fn render(hits: &[Hit], tokens: &[TokenRecord], opts: &ReportOptions) -> String {
    let by_ip = analysis::group(hits, GroupBy::Ip);
    let by_country = analysis::group(hits, GroupBy::Country);
    let by_asn = analysis::group(hits, GroupBy::Asn);
    let by_ua = analysis::group(hits, GroupBy::UserAgent);
    let tokens_hit = analysis::group(hits, GroupBy::Token).len();
    let days = analysis::daily(hits);
    let tampered = hits.iter().filter(|h| h.tampered).count();
    let orphans = hits.iter().filter(|h| h.orphan).count();

    let mut scope = vec![match &opts.since {
        Some(s) => format!("hits since {}", short_time(s)),
        None => "all recorded hits".to_string(),
    }];
    if let Some(t) = &opts.token_id {
        scope.push(format!("token {}", escape_html(t)));
    }
    if let (Some(f), Some(l)) = (
        hits.iter().map(|h| &h.received_at).min(),
        hits.iter().map(|h| &h.received_at).max(),
    ) {
        scope.push(format!(
            "first {} · last {}",
            short_time(&f.to_string()),
            short_time(&l.to_string())
        ));
    }

    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>honeytoken report</title>
<style>{STYLE}</style></head><body>
<header><h1>honeytoken report</h1><p>{} · generated {} UTC</p></header><main>
<div class="stats">"#,
        scope.join(" · "),
        short_time(&opts.generated_at)
    );
    stat(&mut out, hits.len(), "hits", false);
    stat(&mut out, by_ip.len(), "sources", false);
    stat(&mut out, tokens_hit, "tokens used", false);
    stat(
        &mut out,
        by_country.iter().filter(|g| g.key.is_some()).count(),
        "countries",
        false,
    );
    stat(
        &mut out,
        by_asn.iter().filter(|g| g.key.is_some()).count(),
        "networks",
        false,
    );
    stat(&mut out, tampered, "tampered", tampered > 0);
    stat(&mut out, orphans, "unknown tokens", orphans > 0);
    out.push_str("</div>");

    let _ = write!(
        out,
        r#"<section id="timeline"><h2>Hits per day</h2>{}</section>"#,
        timeline_svg(&days)
    );

    // Each breakdown: its chart beside its table.
    struct Breakdown<'a> {
        id: &'a str,
        title: &'a str,
        groups: &'a [Group],
        col: &'a str,
        unknown: &'a str,
        name: Option<&'a str>,
        class: &'a str,
    }
    let breakdowns = [
        Breakdown {
            id: "sources",
            title: "Top sources",
            groups: &by_ip,
            col: "address",
            unknown: "(none)",
            name: None,
            class: "bar",
        },
        Breakdown {
            id: "countries",
            title: "Countries",
            groups: &by_country,
            col: "country",
            unknown: "unknown",
            name: Some("name"),
            class: "bar2",
        },
        Breakdown {
            id: "networks",
            title: "Networks",
            groups: &by_asn,
            col: "network",
            unknown: "unknown",
            name: Some("owner"),
            class: "bar2",
        },
    ];
    for Breakdown {
        id,
        title,
        groups,
        col,
        unknown,
        name,
        class,
    } in breakdowns
    {
        let named = name.is_some();
        let _ = write!(
            out,
            r#"<section id="{id}"><h2>{}</h2><div class="split"><div>{}</div><div>"#,
            escape_html(title),
            bars_svg(title, &chart_rows(groups, unknown, named), class)
        );
        group_table(&mut out, groups, col, unknown, name);
        out.push_str("</div></div></section>");
    }
    out.push_str(r#"<section id="user-agents"><h2>User agents</h2>"#);
    group_table(&mut out, &by_ua, "user agent", "(none)", None);
    out.push_str("</section>");

    token_section(&mut out, hits, tokens, opts);
    recent_section(&mut out, hits);
    out.push_str(r#"<p class="muted">Made by honeytoken. Every value from a request is shown as text; nothing in this file was fetched from the network.</p></main></body></html>"#);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::{Asn, Geo};

    fn hit(i: usize, token: &str, ip: &str, day: u32) -> Hit {
        Hit {
            hit_id: format!("{i:026}"),
            user_agent: "python-requests/2.32".into(),
            geo: Some(Geo {
                country_code: Some("GB".into()),
                country: Some("United Kingdom".into()),
                city: Some("London".into()),
                latitude: None,
                longitude: None,
            }),
            asn: Some(Asn {
                number: 15169,
                org: Some("Google Inc.".into()),
            }),
            token_state: None,
            ..Hit::sample(token, ip, &format!("2026-03-{day:02}T10:{:02}:00.000Z", i % 60))
        }
    }

    fn token(id: &str, label: &str, location: &str) -> TokenRecord {
        serde_json::from_value(serde_json::json!({
            "id": id, "token": "x", "kind": "key", "label": label, "location": location,
            "created_at": "2026-02-01T00:00:00.000Z", "state": "active"
        }))
        .expect("token record")
    }

    fn opts() -> ReportOptions {
        ReportOptions {
            generated_at: "2026-03-10T12:00:00.000Z".into(),
            ..Default::default()
        }
    }

    #[test]
    fn attacker_strings_are_escaped_everywhere() {
        let mut h = hit(1, "t1", "81.2.69.142", 3);
        h.user_agent = "<script>alert(1)</script>".into();
        h.path = "/\"><img src=x onerror=alert(2)>".into();
        h.source_ip = "<svg onload=alert(3)>".into();
        h.geo.as_mut().unwrap().city = Some("</title><script>alert(4)</script>".into());
        let t = token("t1", "<b>label</b>", "repo/'quoted'.env");
        let html = render(&[h], &[t], &opts());
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("<img") && !html.contains("<svg onload") && !html.contains("<b>label"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;label&lt;/b&gt;"));
        assert!(html.contains("repo/&#39;quoted&#39;.env"));
    }

    #[test]
    fn self_contained_with_strict_csp_and_charts() {
        let hits: Vec<Hit> = (0..12)
            .map(|i| {
                hit(
                    i,
                    if i < 8 { "t1" } else { "t2" },
                    if i % 3 == 0 { "10.0.0.1" } else { "10.0.0.2" },
                    1 + (i as u32 % 4) * 2,
                )
            })
            .collect();
        let html = render(
            &hits,
            &[token("t1", "billing key", "infra/.env"), token("t3", "never used", "")],
            &opts(),
        );
        assert!(html.contains(&format!(
            r#"<meta http-equiv="Content-Security-Policy" content="{CSP}">"#
        )));
        for forbidden in ["<script", "http://", "https://", "@import", "url(", "<link", "<img"] {
            assert!(!html.contains(forbidden), "report must not contain {forbidden}");
        }
        assert_eq!(
            html.matches("<svg").count(),
            4,
            "timeline, sources, countries, networks"
        );
        // Timeline: days 1..7, one bar per day, zeros included.
        assert_eq!(
            html.matches(r#"<rect class="bar" "#).count() - 2,
            7,
            "7 days plus 2 source bars"
        );
        assert!(html.contains("<title>2026-03-02: 0</title>"));
        assert!(html.contains("<title>2026-03-01: 3</title>"));
        // Source counts: i % 3 == 0 for i in 0..12 → 4 hits from 10.0.0.1, 8 from 10.0.0.2.
        assert!(
            html.contains(r#"<td class="mono">10.0.0.2</td><td class="n">8</td><td class="n">2</td>"#),
            "{html}"
        );
        assert!(html.contains(r#"<td class="mono">10.0.0.1</td><td class="n">4</td>"#));
        // Tokens: t1 with its label and place, t2 unknown, t3 never used.
        assert!(html.contains("billing key") && html.contains("infra/.env"));
        assert!(html.contains("unknown token (no record)"));
        assert!(html.contains("never used") && html.contains(r#"<span class="muted">never</span>"#));
    }

    #[test]
    fn empty_report_renders() {
        let html = render(&[], &[], &opts());
        assert!(html.contains("no hits") && html.ends_with("</html>\n"));
    }
}
