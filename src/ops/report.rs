//! A report people can look at: one self-contained HTML file with a
//! timeline of hits (by the minute, hour or day, as the span asks), each
//! token's uses over time, the top sources, countries and networks, the
//! tokens, and the most recent hits.
//!
//! The file fetches nothing when opened: styles are inline, charts are
//! inline SVG, there is no script, and a Content-Security-Policy meta tag
//! forbids anything else. The page is a [`maud`] template: every value is
//! escaped where it is interpolated, by construction, because user agents,
//! paths and even CloudFront city names come from whoever sent the request.
//! Only the constant style sheet is inserted as it is.
//!
//! Test hits (`honeytoken test`) and hits from allowlisted sources
//! (`ignored`) are counted apart from real ones everywhere.
//!
//! Pure: hits and tokens in, a `String` out.

use std::collections::{BTreeSet, HashMap};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::domain::hit::Hit;
use crate::domain::token::{TokenRecord, TokenState};
use crate::ops::analysis::{self, Group, GroupBy, Timeline};

/// The Content-Security-Policy of the report: nothing but inline styles and `data:` images.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// How many rows the top-N charts and tables show.
const TOP: usize = 15;
/// Most recent hits listed at the end.
const RECENT: usize = 25;
/// Longest label drawn inside a bar chart, in characters (tables show more):
/// an IPv6 address of up to 39 characters fits whole.
const CHART_LABEL: usize = 40;
/// Longest token label beside a token's row of the per-token chart.
const LANE_LABEL: usize = 24;
/// Longest text in a table cell, in characters.
const CELL: usize = 96;
/// Most buckets in a timeline: the step is the narrowest that fits.
const BUCKETS: usize = 60;

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

/// Shortens to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    } else {
        s.to_string()
    }
}

/// `2026-01-02T10:00:00.000Z` → `2026-01-02 10:00`; anything else as is.
fn short_time(s: &str) -> String {
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(t)) if s.as_bytes().get(10) == Some(&b'T') => format!("{d} {t}"),
        _ => s.to_string(),
    }
}

/// Longest run of a path without a place to break: a hostile path of one
/// long segment still lets its column shrink.
const SEGMENT: usize = 16;

/// A path or place, clipped, that may break after `/`, `?`, `&`, `=`, `:` and `.`
/// (a `<wbr>` there) rather than anywhere: `infra/terraform.tfvars`
/// never splits as `terraform.tfvar` + `s`; a segment longer than
/// [`SEGMENT`] characters may break every `SEGMENT` characters. Cells
/// showing it are `path` (`overflow-wrap: break-word`).
fn breakable(s: &str) -> Markup {
    let s = clip(s, CELL);
    let mut parts: Vec<&str> = Vec::new();
    let (mut from, mut run) = (0, 0);
    for (i, c) in s.char_indices() {
        run = if c.is_whitespace() { 0 } else { run + 1 };
        let end = i + c.len_utf8();
        if matches!(c, '/' | '?' | '&' | '.' | '=' | ':') || run == SEGMENT {
            parts.push(&s[from..end]);
            from = end;
            run = 0;
        }
    }
    if from < s.len() {
        parts.push(&s[from..]);
    }
    html! {
        @for (i, p) in parts.iter().enumerate() {
            @if i > 0 { wbr; }
            (p)
        }
    }
}

fn key_or(g: &Group, unknown: &str) -> String {
    g.key.clone().unwrap_or_else(|| unknown.to_string())
}

/// A hit an operator caused: `honeytoken test`, or a source they allowlisted.
fn is_real(h: &Hit) -> bool {
    !h.test && !h.ignored
}

/// Requests a set of hits stands for (a flood's counter record counts as many as it stands for).
fn requests<'a>(hits: impl IntoIterator<Item = &'a Hit>) -> u64 {
    hits.into_iter().map(|h| h.count.max(1)).sum()
}

/// A breakdown by where hits came from, and how to get the data when
/// no hit has it (the `serve` options and the template parameters).
struct Located {
    id: &'static str,
    title: &'static str,
    col: &'static str,
    name_col: &'static str,
    /// What a hit lacks without the database: `location`, `network`.
    what: &'static str,
    database: &'static str,
    command: &'static str,
    env: &'static str,
    /// The template parameter naming the file in the Lambda layer.
    parameter: &'static str,
    /// The row of hits without it: what they lack, not a place called "unknown".
    unknown: &'static str,
}

const COUNTRIES: Located = Located {
    id: "countries",
    title: "Countries",
    col: "country",
    name_col: "name",
    what: "location",
    database: "GeoLite2-City",
    command: "honeytoken serve --geoip-city GeoLite2-City.mmdb",
    env: "HONEYTOKEN_GEOIP_CITY",
    parameter: "GeoIpCityPath",
    unknown: "not located",
};

const NETWORKS: Located = Located {
    id: "networks",
    title: "Networks",
    col: "network",
    name_col: "owner",
    what: "network",
    database: "GeoLite2-ASN",
    command: "honeytoken serve --geoip-asn GeoLite2-ASN.mmdb",
    env: "HONEYTOKEN_GEOIP_ASN",
    parameter: "GeoIpAsnPath",
    unknown: "no network",
};

const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#f6f7f9; --card:#fff; --bar:#c0392b; --bar2:#2c6fbb; --other:#a9b1bf; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:20px 32px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; }
header p { margin:0; color:#c9cfdb; }
main { padding:20px 32px 40px; max-width:1400px; }
.stats { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:20px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:104px; }
.stat b { display:block; font-size:24px; font-weight:600; }
.stat span { color:var(--muted); font-size:11px; text-transform:uppercase; letter-spacing:.03em; white-space:nowrap; }
.stat.warn b { color:var(--bar); }
.stat.other b { color:var(--muted); }
section { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:14px 18px; margin-bottom:20px; }
section h2 { margin:0 0 10px; font-size:16px; font-weight:600; }
section p.note { margin:0 0 10px; color:var(--muted); }
.split { display:grid; grid-template-columns:minmax(0,5fr) minmax(0,6fr); gap:24px; align-items:start; }
@media (max-width:900px) { .split { grid-template-columns:minmax(0,1fr); } }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
td.n { white-space:nowrap; }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
td.wrap { overflow-wrap:anywhere; }
td.path { overflow-wrap:break-word; }
td.t, .id, .addr, .nw { white-space:nowrap; }
td .sub { display:block; color:var(--muted); font-size:12px; overflow-wrap:break-word; }
.flag { color:var(--bar); font-weight:600; }
.muted { color:var(--muted); }
.howto { background:var(--bg); border:1px dashed var(--line); border-radius:6px; padding:10px 14px; }
.howto code { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; background:#fff; padding:1px 4px; border:1px solid var(--line); border-radius:3px; }
.legend { display:flex; gap:16px; font-size:12px; color:var(--muted); margin:0 0 6px; }
.legend i { display:inline-block; width:10px; height:10px; margin-right:4px; vertical-align:-1px; }
svg { display:block; width:100%; height:auto; }
svg text { font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; fill:var(--fg); }
svg text.id { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; }
svg .axis { fill:var(--muted); }
svg .grid-line { stroke:var(--line); stroke-width:1; }
svg .bar { fill:var(--bar); }
svg .bar2 { fill:var(--bar2); }
svg .other { fill:var(--other); }
svg .lane { fill:var(--bg); }
svg .use { fill:var(--bar); }
"#;

/// A number with one decimal, as SVG coordinates are written.
fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// The label under bucket `i` of a timeline, short enough to sit under a bar.
fn bucket_label(t: &Timeline, i: usize) -> String {
    let s = t.bucket_start(i);
    let day = |s: time::OffsetDateTime| format!("{:02}-{:02}", s.month() as u8, s.day());
    if t.step < 3600 {
        let hm = format!("{:02}:{:02}", s.hour(), s.minute());
        // The date once, where the day starts or changes.
        if i == 0 || t.bucket_start(i - 1).date() != s.date() {
            format!("{} {hm}", day(s))
        } else {
            hm
        }
    } else if t.step < 86_400 {
        format!("{} {:02}h", day(s), s.hour())
    } else {
        day(s)
    }
}

/// The full name of bucket `i`: `2026-10-01`, or `2026-10-01 10:05` within a day.
fn bucket_title(t: &Timeline, i: usize) -> String {
    let s = t.bucket_start(i);
    if t.step % 86_400 == 0 {
        s.date().to_string()
    } else {
        format!("{} {:02}:{:02}", s.date(), s.hour(), s.minute())
    }
}

/// A vertical bar chart of requests per bucket: real hits, and test and
/// allowlisted ones stacked above them in grey.
fn timeline_svg(t: Option<&Timeline>, real: &[u64], other: &[u64]) -> Markup {
    let (w, h, left, bottom, top) = (1100.0_f64, 220.0_f64, 44.0_f64, 28.0_f64, 12.0_f64);
    let title = match t {
        Some(t) => format!("Hits per {}", t.step_name()),
        None => "Hits".to_string(),
    };
    let Some(t) = t else {
        return html! {
            svg.chart.timeline viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) {
                title { (title) }
                text.axis x=(f1(w / 2.0 - 20.0)) y=(f1(h / 2.0)) { "no hits" }
            }
        };
    };
    let totals: Vec<u64> = real.iter().zip(other).map(|(a, b)| a + b).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let plot_w = w - left - 8.0;
    let plot_h = h - top - bottom;
    let step = plot_w / t.count as f64;
    let gap = if step > 4.0 { (step * 0.2).min(6.0) } else { 0.0 };
    // About ten labels, each wide enough for `MM-DD HH:MM`.
    let label_every = t.count.div_ceil(10).max(1);
    html! {
        svg.chart.timeline viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) {
            title { (title) }
            @for frac in [0.0, 0.5, 1.0] {
                @let y = top + plot_h * (1.0 - frac);
                line.grid-line x1=(left) x2=(w - 8.0) y1=(f1(y)) y2=(f1(y)) {}
                text.axis x=(left - 6.0) y=(f1(y + 4.0)) text-anchor="end" { ((max * frac).round() as u64) }
            }
            @for i in 0..t.count {
                @let x = left + step * i as f64;
                @let rh = plot_h * real[i] as f64 / max;
                @let oh = plot_h * other[i] as f64 / max;
                @let bw = f1((step - gap).max(0.5));
                rect.bar x=(f1(x + gap / 2.0)) y=(f1(top + plot_h - rh)) width=(bw) height=(f1(rh)) {
                    title { (bucket_title(t, i)) ": " (real[i]) }
                }
                @if other[i] > 0 {
                    rect.other x=(f1(x + gap / 2.0)) y=(f1(top + plot_h - rh - oh)) width=(bw) height=(f1(oh)) {
                        title { (bucket_title(t, i)) ": " (other[i]) " test or allowlisted" }
                    }
                }
                @if i % label_every == 0 {
                    text.axis x=(f1(x + step / 2.0)) y=(h - 8.0) text-anchor="middle" { (bucket_label(t, i)) }
                }
            }
        }
    }
}

/// One row per token, one cell per bucket of the timeline, darker for
/// more uses: when each token was tried, and by how much.
fn lanes_svg(t: &Timeline, lanes: &[(String, String, Vec<u64>)]) -> Markup {
    let (w, row, left) = (1100.0_f64, 20.0_f64, 300.0_f64);
    let h = row * lanes.len() as f64 + 24.0;
    let plot_w = w - left - 8.0;
    let step = plot_w / t.count as f64;
    let max = lanes.iter().flat_map(|l| l.2.iter().copied()).max().unwrap_or(0).max(1) as f64;
    let label_every = t.count.div_ceil(10).max(1);
    html! {
        svg.chart.per-token viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="Uses per token over time" {
            title { "Uses per token over time" }
            @for (r, (id, label, counts)) in lanes.iter().enumerate() {
                @let y = row * r as f64;
                text.id x="0" y=(f1(y + 14.0)) { (id) }
                text x="128" y=(f1(y + 14.0)) { (clip(label, LANE_LABEL)) title { (label) } }
                rect.lane x=(left) y=(f1(y + 2.0)) width=(f1(plot_w)) height=(f1(row - 4.0)) {}
                @for (i, n) in counts.iter().enumerate() {
                    @if *n > 0 {
                        rect.use x=(f1(left + step * i as f64)) y=(f1(y + 2.0)) width=(f1(step.max(1.5))) height=(f1(row - 4.0))
                            fill-opacity=(format!("{:.2}", 0.25 + 0.75 * *n as f64 / max)) {
                            title { (id) " " (bucket_title(t, i)) ": " (n) }
                        }
                    }
                }
            }
            @for i in (0..t.count).step_by(label_every) {
                text.axis x=(f1(left + step * i as f64 + step / 2.0)) y=(f1(h - 6.0)) text-anchor="middle" { (bucket_label(t, i)) }
            }
        }
    }
}

/// A horizontal bar chart of the top groups.
fn bars_svg(title: &str, rows: &[(String, u64)], class: &str) -> Markup {
    let (w, row, label_w) = (560.0_f64, 22.0_f64, 250.0_f64);
    let h = row * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let bar_max = w - label_w - 60.0;
    html! {
        svg.chart.bars viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) {
            title { (title) }
            @if rows.is_empty() {
                text.axis x="8" y="18" { "no data" }
            }
            @for (i, (label, n)) in rows.iter().enumerate() {
                @let y = 4.0 + row * i as f64;
                @let bw = (bar_max * *n as f64 / max).max(1.0);
                text x=(label_w - 8.0) y=(f1(y + 15.0)) text-anchor="end" { (clip(label, CHART_LABEL)) title { (label) } }
                rect class=(class) x=(label_w) y=(f1(y + 3.0)) width=(f1(bw)) height=(row - 6.0) {}
                text.axis x=(f1(label_w + bw + 6.0)) y=(f1(y + 15.0)) { (n) }
            }
        }
    }
}

fn stat(value: impl std::fmt::Display, label: &str, class: Option<&str>) -> Markup {
    html! {
        div class=(match class { Some(c) => format!("stat {c}"), None => "stat".to_string() }) {
            b { (value) } span { (label) }
        }
    }
}

/// Rows past the first [`TOP`], folded into one line.
fn more_row(groups: &[Group], cols: usize) -> Markup {
    html! {
        @if groups.len() > TOP {
            tr { td.muted colspan=(cols) {
                "and " (groups.len() - TOP) " more with " (groups[TOP..].iter().map(|g| g.count).sum::<u64>()) " hits"
            } }
        }
    }
}

/// A country or network table: key, readable name, hits, tokens, sources, first and last seen.
fn group_table(groups: &[Group], first_col: &str, unknown: &str, name_col: &str) -> Markup {
    html! {
        table { thead { tr {
            th { (first_col) } th { (name_col) }
            th.n { "hits" } th.n { "tokens" } th.n { "sources" } th { "first seen" } th { "last seen" }
        } } tbody {
            @for g in groups.iter().take(TOP) {
                tr {
                    td.mono.addr { (key_or(g, unknown)) }
                    td { (clip(g.name.as_deref().unwrap_or(""), CELL)) }
                    td.n { (g.count) } td.n { (g.distinct_tokens) } td.n { (g.distinct_sources) }
                    td.t { (short_time(&g.first_seen)) } td.t { (short_time(&g.last_seen)) }
                }
            }
            (more_row(groups, 7))
        } }
    }
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

/// Where a source is, from its most recent hit: `London, GB · AS15169 Google Inc.`
fn place_and_network(h: &Hit) -> (String, String) {
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
        .map(|a| {
            format!("AS{} {}", a.number, a.org.as_deref().unwrap_or(""))
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    (place, net)
}

/// The top sources: the chart, and a table saying what each source tried and where it is.
fn sources_section(real: &[&Hit], by_ip: &[Group]) -> Markup {
    let mut latest: HashMap<&str, &Hit> = HashMap::new();
    for h in real {
        let e = latest.entry(h.source_ip.as_str()).or_insert(h);
        if h.received_at > e.received_at {
            *e = h;
        }
    }
    html! {
        section #sources {
            h2 { "Top sources" }
            div.split {
                div { (bars_svg("Top sources", &chart_rows(by_ip, "(none)", false), "bar")) }
                div { table {
                    thead { tr {
                        th { "address" } th.n { "hits" } th.n { "tokens tried" } th { "location · network" }
                        th { "first seen" } th { "last seen" }
                    } }
                    tbody {
                        @for g in by_ip.iter().take(TOP) {
                            @let (place, net) = g.key.as_deref().and_then(|k| latest.get(k)).map(|h| place_and_network(h)).unwrap_or_default();
                            tr {
                                td.mono.addr { (clip(&key_or(g, "(none)"), CELL)) }
                                td.n { (g.count) } td.n { (g.distinct_tokens) }
                                td.wrap {
                                    @if place.is_empty() && net.is_empty() { span.muted { "not located" } }
                                    (place) @if !place.is_empty() && !net.is_empty() { " · " } (net)
                                }
                                td.t { (short_time(&g.first_seen)) } td.t { (short_time(&g.last_seen)) }
                            }
                        }
                        (more_row(by_ip, 6))
                    }
                } }
            }
        }
    }
}

/// Countries or networks: a chart and a table, or, when no hit has the
/// data at all, how to add the database that provides it.
fn located_section(l: &Located, groups: &[Group]) -> Markup {
    let Located {
        id,
        title,
        col,
        name_col,
        what,
        database,
        command,
        env,
        parameter,
        unknown,
    } = *l;
    let located: u64 = groups.iter().filter(|g| g.key.is_some()).map(|g| g.count).sum();
    let missing: u64 = groups.iter().filter(|g| g.key.is_none()).map(|g| g.count).sum();
    html! {
        section id=(id) {
            h2 { (title) }
            @if located == 0 && missing > 0 {
                div.howto {
                    p { "No hit has a " (what) ": the decoy had no " (database) " database when these hits arrived, so there is nothing to chart." }
                    p { "To add it: download MaxMind's " (database) " database (GeoLite2 is free with an account at maxmind.com) and start the decoy with "
                        code { (command) } " (or set " code { (env) } "). On AWS, put the file in a Lambda layer and set the template parameters "
                        code { "GeoIpLayerArn" } " and " code { (parameter) } "." }
                    p.muted { "Hits already stored stay without one; hits from then on have it." }
                }
            } @else {
                @if missing > 0 {
                    p.note { (missing) " of " (located + missing) " hits have no " (what) " (an address the " (database) " database does not know, or a hit recorded before it was added)." }
                }
                div.split {
                    div { (bars_svg(title, &chart_rows(groups, unknown, true), "bar2")) }
                    div { (group_table(groups, col, unknown, name_col)) }
                }
            }
        }
    }
}

/// Where a token was planted: its location and each placement, each once.
fn planted(r: &TokenRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for p in &r.placements {
        seen.insert(p.path.as_str());
        let place = if p.var.is_empty() {
            p.path.clone()
        } else {
            format!("{} ({})", p.path, p.var)
        };
        if !out.contains(&place) {
            out.push(place);
        }
    }
    // `plant` records the file as the location too: show it once.
    if !r.location.is_empty() && !seen.contains(r.location.as_str()) && !out.contains(&r.location) {
        out.insert(0, r.location.clone());
    }
    out
}

fn token_section(hits: &[Hit], tokens: &[TokenRecord], opts: &ReportOptions) -> Markup {
    let real: Vec<Hit> = hits.iter().filter(|h| is_real(h)).cloned().collect();
    let by_token = analysis::group(&real, GroupBy::Token);
    let stats: HashMap<&str, &Group> = by_token.iter().filter_map(|g| Some((g.key.as_deref()?, g))).collect();
    let mut others: HashMap<&str, u64> = HashMap::new();
    for h in hits.iter().filter(|h| !is_real(h)) {
        *others.entry(h.token_id.as_str()).or_default() += h.count.max(1);
    }
    let records: HashMap<&str, &TokenRecord> = tokens.iter().map(|t| (t.id.as_str(), t)).collect();
    // Tokens with real hits, most used first, then tokens only tested or
    // allowlisted, then tokens the store knows that were not used.
    let mut ids: Vec<&str> = by_token.iter().filter_map(|g| g.key.as_deref()).collect();
    let mut only_other: Vec<&str> = others.keys().copied().filter(|id| !stats.contains_key(id)).collect();
    only_other.sort();
    ids.extend(only_other);
    let mut unused: Vec<&TokenRecord> = tokens
        .iter()
        .filter(|t| !stats.contains_key(t.id.as_str()) && !others.contains_key(t.id.as_str()))
        .filter(|t| opts.token_id.as_deref().is_none_or(|id| id == t.id))
        .collect();
    unused.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    ids.extend(unused.iter().map(|t| t.id.as_str()));

    html! {
        section #tokens {
            h2 { "Tokens" }
            table {
                thead { tr {
                    th { "token" } th { "label" } th { "state" } th { "planted at" }
                    th.n { "hits" } th.n { "test, allowlisted" } th.n { "sources" } th { "first and last use" }
                } }
                tbody {
                    @for id in ids {
                        @let rec = records.get(id);
                        @let g = stats.get(id);
                        tr {
                            td.mono.id { (id) }
                            td.wrap { @match rec {
                                Some(r) => (clip(&r.label, CELL)),
                                None if id == crate::domain::hit::SUSPICIOUS_REQUEST => {
                                    span.flag { "suspicious requests, no token: past the scan bounds" }
                                },
                                None => span.flag { "unknown token (no record)" },
                            } }
                            td {
                                @if let Some(r) = rec {
                                    (r.state)
                                    @if let Some(next) = &r.replaced_by {
                                        span.sub { "replaced by " span.mono.id { (next) } }
                                    }
                                    @if let Some(prev) = &r.replaces {
                                        span.sub { "replaces " span.mono.id { (prev) } }
                                    }
                                    @if r.state == TokenState::Retired && r.replaced_by.is_none() {
                                        span.sub { "no successor" }
                                    }
                                    span.sub.t { "created " (short_time(&r.created_at)) }
                                }
                            }
                            td.path {
                                @match rec.map(|r| planted(r)) {
                                    Some(p) if !p.is_empty() => {
                                        @for (i, place) in p.iter().enumerate() {
                                            @if i > 0 { br; }
                                            (breakable(place))
                                        }
                                    },
                                    _ => span.muted { "not recorded" },
                                }
                            }
                            td.n { (g.map(|g| g.count).unwrap_or(0)) }
                            td.n { (others.get(id).copied().unwrap_or(0)) }
                            td.n { (g.map(|g| g.distinct_sources).unwrap_or(0)) }
                            @match g {
                                Some(g) => td.t {
                                    (short_time(&g.first_seen))
                                    @if g.last_seen != g.first_seen { span.sub.t { (short_time(&g.last_seen)) } }
                                },
                                None => td.t { span.muted { "never" } },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A table of hits, newest first: when, which token, where it was found, who sent it.
fn hits_table(hits: &[&Hit], flag_class: &str) -> Markup {
    html! {
        table {
            thead { tr {
                th { "received" } th { "token · found in" } th { "source · location · network" }
                th { "request" } th { "user agent" } th { "flags" }
            } }
            tbody {
                @for h in hits {
                    @let (place, net) = place_and_network(h);
                    tr {
                        td {
                            @let when = short_time(&h.received_at.to_string());
                            @match when.split_once(' ') {
                                Some((day, time)) => { span.nw { (day) } " " span.nw { (time) } },
                                None => (when),
                            }
                        }
                        td {
                            span.mono.id { (h.token_id) }
                            @if !h.label.is_empty() { span.sub { (breakable(&h.label)) } }
                            @if !h.is_suspicious() {
                                span.sub { "in " span.mono { (breakable(&h.found_in.to_string())) } }
                            }
                        }
                        td.path {
                            span.mono.addr { (clip(&h.source_ip, CELL)) }
                            @if !place.is_empty() { span.sub { (breakable(&place)) } }
                            @if !net.is_empty() { span.sub { (breakable(&net)) } }
                        }
                        td.mono.path { (clip(&h.method, 16)) " " (breakable(&h.path)) }
                        td.mono.wrap { (clip(&h.user_agent, CELL)) }
                        td class=(format!("{flag_class} path")) { (crate::domain::alert::render::flags(h).join(", ")) }
                    }
                }
            }
        }
    }
}

fn newest_first<'a>(hits: impl IntoIterator<Item = &'a Hit>) -> Vec<&'a Hit> {
    let mut v: Vec<&Hit> = hits.into_iter().collect();
    v.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.hit_id.cmp(&a.hit_id)));
    v
}

/// Renders the report. `tokens` gives labels, where each token was planted
/// and its successor; hits of tokens it lacks are shown as unknown tokens.
pub fn render(hits: &[Hit], tokens: &[TokenRecord], opts: &ReportOptions) -> String {
    let real_refs: Vec<&Hit> = hits.iter().filter(|h| is_real(h)).collect();
    let real: Vec<Hit> = real_refs.iter().map(|h| (*h).clone()).collect();
    let test = requests(hits.iter().filter(|h| h.test));
    let allowlisted = requests(hits.iter().filter(|h| h.ignored && !h.test));
    let by_ip = analysis::group(&real, GroupBy::Ip);
    let by_country = analysis::group(&real, GroupBy::Country);
    let by_asn = analysis::group(&real, GroupBy::Asn);
    let by_ua = analysis::group(&real, GroupBy::UserAgent);
    let by_token = analysis::group(&real, GroupBy::Token);
    let tampered = requests(real_refs.iter().copied().filter(|h| h.tampered));
    let orphans = requests(real_refs.iter().copied().filter(|h| h.orphan));
    let no_geo = !real.is_empty() && real.iter().all(|h| h.geo.is_none());
    let no_asn = !real.is_empty() && real.iter().all(|h| h.asn.is_none());

    let timeline = Timeline::for_hits(hits, BUCKETS);
    let (real_counts, other_counts) = match &timeline {
        Some(t) => (
            t.counts(real_refs.iter().copied()),
            t.counts(hits.iter().filter(|h| !is_real(h))),
        ),
        None => (vec![], vec![]),
    };
    let lanes: Vec<(String, String, Vec<u64>)> = match &timeline {
        Some(t) => by_token
            .iter()
            .take(TOP)
            .map(|g| {
                let id = key_or(g, "");
                let counts = t.counts(real_refs.iter().copied().filter(|h| h.token_id == id));
                let name = match tokens.iter().find(|t| t.id == id) {
                    Some(t) => t.label.clone(),
                    None => g.name.clone().unwrap_or_else(|| "unknown token".to_string()),
                };
                (id, name, counts)
            })
            .collect(),
        None => vec![],
    };
    let others: Vec<&Hit> = newest_first(hits.iter().filter(|h| !is_real(h)));
    // The newest hits, and every tampered hit and unknown token however old
    // (bounded): the loudest signals are never only a number in a card.
    let newest = newest_first(real_refs.iter().copied());
    let loud = newest
        .iter()
        .skip(RECENT)
        .filter(|h| h.tampered || h.orphan)
        .take(RECENT);
    let recent: Vec<&Hit> = newest_first(newest.iter().take(RECENT).chain(loud).copied());

    let mut scope = vec![match &opts.since {
        Some(s) => format!("hits since {}", short_time(s)),
        None => "all recorded hits".to_string(),
    }];
    if let Some(t) = &opts.token_id {
        scope.push(format!("token {t}"));
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
    let step = timeline.as_ref().map(Timeline::step_name);

    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="referrer" content="no-referrer";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "honeytoken report" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "honeytoken report" }
                    p { (scope.join(" · ")) " · generated " (short_time(&opts.generated_at)) " UTC" }
                }
                main {
                    div.stats {
                        (stat(requests(real_refs.iter().copied()), "hits", None))
                        (stat(by_ip.len(), "sources", None))
                        (stat(by_token.len(), "tokens used", None))
                        (stat(if no_geo { "–".to_string() } else { by_country.iter().filter(|g| g.key.is_some()).count().to_string() }, "countries", None))
                        (stat(if no_asn { "–".to_string() } else { by_asn.iter().filter(|g| g.key.is_some()).count().to_string() }, "networks", None))
                        (stat(tampered, "tampered", (tampered > 0).then_some("warn")))
                        (stat(orphans, "unknown tokens", (orphans > 0).then_some("warn")))
                        (stat(test, "test hits", Some("other")))
                        (stat(allowlisted, "allowlisted", Some("other")))
                    }
                    @if test + allowlisted > 0 {
                        p.muted { "Test hits (" code { "honeytoken test" } ") and hits from allowlisted sources are counted apart: every other number, chart and table is of real hits only." }
                    }
                    section #timeline {
                        h2 { (match &step { Some(s) => format!("Hits per {s}"), None => "Hits".to_string() }) }
                        div.legend { span { i style="background:#c0392b" {} "real" } span { i style="background:#a9b1bf" {} "test or allowlisted" } }
                        (timeline_svg(timeline.as_ref(), &real_counts, &other_counts))
                    }
                    @if let Some(t) = &timeline {
                        @if !lanes.is_empty() {
                            section #per-token {
                                h2 { "Each token over time (per " (t.step_name()) ")" }
                                (lanes_svg(t, &lanes))
                                @if by_token.len() > TOP {
                                    p.muted { "and " (by_token.len() - TOP) " more tokens with fewer hits (see Tokens below)" }
                                }
                            }
                        }
                    }
                    (sources_section(&real_refs, &by_ip))
                    (located_section(&COUNTRIES, &by_country))
                    (located_section(&NETWORKS, &by_asn))
                    section #user-agents {
                        h2 { "User agents" }
                        table {
                            thead { tr { th { "user agent" } th.n { "hits" } th.n { "tokens" } th.n { "sources" } th { "first seen" } th { "last seen" } } }
                            tbody {
                                @for g in by_ua.iter().take(TOP) {
                                    tr {
                                        td.mono.wrap { (clip(&key_or(g, "(none)"), CELL)) }
                                        td.n { (g.count) } td.n { (g.distinct_tokens) } td.n { (g.distinct_sources) }
                                        td.t { (short_time(&g.first_seen)) } td.t { (short_time(&g.last_seen)) }
                                    }
                                }
                                (more_row(&by_ua, 6))
                            }
                        }
                    }
                    (token_section(hits, tokens, opts))
                    section #recent {
                        h2 { "Most recent hits" }
                        @if recent.len() > RECENT { p.note { "The " (RECENT) " newest, and older hits of tampered or unknown tokens." } }
                        @if recent.is_empty() { p.muted { "no real hits" } } @else { (hits_table(&recent, "flag")) }
                    }
                    @if !others.is_empty() {
                        section #test-allowlisted {
                            h2 { "Test and allowlisted hits (" (test + allowlisted) ")" }
                            p.note { "Not counted above: hits sent by " code { "honeytoken test" } ", and hits from sources on an allowlist, which raise no alert." }
                            (hits_table(&others.iter().copied().take(RECENT).collect::<Vec<_>>(), "muted"))
                            @if others.len() > RECENT { p.muted { "and " (others.len() - RECENT) " more" } }
                        }
                    }
                    p.muted { "Made by honeytoken. Every value from a request is shown as text; nothing in this file was fetched from the network." }
                }
            }
        }
    };
    let mut out = page.into_string();
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

    /// The text of the element with `id="…"`, up to its section's end.
    fn section<'a>(html: &'a str, id: &str) -> &'a str {
        let start = html
            .find(&format!(r#"<section id="{id}">"#))
            .unwrap_or_else(|| panic!("no section {id}"));
        let end = html[start..].find("</section>").unwrap() + start;
        &html[start..end]
    }

    #[test]
    fn attacker_strings_are_escaped_everywhere() {
        let mut h = hit(1, "t1", "81.2.69.142", 3);
        h.user_agent = "<script>alert(1)</script>".into();
        h.path = "/\"><img src=x onerror=alert(2)>".into();
        h.source_ip = "<svg onload=alert(3)>".into();
        h.label = "<b>label</b>".into();
        h.found_in = "query:<i>k</i>".parse().unwrap();
        h.geo.as_mut().unwrap().city = Some("</title><script>alert(4)</script>".into());
        h.asn.as_mut().unwrap().org = Some("\"><svg onload=alert(5)>".into());
        let mut t = token("t1", "<b>label</b>", "repo/'quoted'\".env");
        t.replaced_by = Some("<x>".into());
        let html = render(&[h], &[t], &opts()).replace("<wbr>", "");
        assert!(!html.contains("<script"), "unescaped script tag");
        assert!(!html.contains("<img") && !html.contains("<svg onload") && !html.contains("<b>label"));
        assert!(!html.contains("<i>k") && !html.contains("<x>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;label&lt;/b&gt;"));
        assert!(html.contains("repo/'quoted'&quot;.env"));
        // Attribute values are double-quoted, so a quote in a value cannot end one.
        assert!(html.contains(r#"&quot;&gt;&lt;svg onload=alert(5)&gt;"#));
    }

    #[test]
    fn self_contained_with_strict_csp_and_charts() {
        let hits: Vec<Hit> = (0..12)
            .map(|i| {
                hit(
                    i,
                    if i < 8 { "t1" } else { "t2" },
                    if i % 3 == 0 { "10.0.0.1" } else { "10.0.0.2" },
                    1 + (i as u32 % 4) * 6,
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
            5,
            "timeline, per token, sources, countries, networks"
        );
        // 19 days: one bar per day, zeros included.
        assert!(html.contains("<h2>Hits per day</h2>"));
        assert_eq!(section(&html, "timeline").matches(r#"<rect class="bar" "#).count(), 19);
        assert!(html.contains("<title>2026-03-02: 0</title>"));
        assert!(html.contains("<title>2026-03-01: 3</title>"));
        // Source counts: i % 3 == 0 for i in 0..12 → 4 hits from 10.0.0.1, 8 from 10.0.0.2.
        let sources = section(&html, "sources");
        assert!(
            sources.contains(r#"<td class="mono addr">10.0.0.2</td><td class="n">8</td><td class="n">2</td>"#),
            "{sources}"
        );
        assert!(sources.contains(r#"<td class="mono addr">10.0.0.1</td><td class="n">4</td>"#));
        // Tokens: t1 with its label and place, t2 unknown, t3 never used.
        assert!(html.contains("billing key") && html.replace("<wbr>", "").contains("infra/.env"));
        assert!(html.contains("unknown token (no record)"));
        assert!(html.contains("never used") && html.contains(r#"<span class="muted">never</span>"#));
    }

    #[test]
    fn the_time_bucket_follows_the_span_and_each_token_has_its_lane() {
        // 53 hits within an hour, three tokens.
        let hits: Vec<Hit> = (0..53)
            .map(|i| hit(i, ["t1", "t2", "t3"][i % 3], "10.0.0.1", 3))
            .collect();
        let html = render(&hits, &[], &opts());
        assert!(html.contains("<h2>Hits per minute</h2>"), "not one giant daily bar");
        let timeline = section(&html, "timeline");
        assert_eq!(
            timeline.matches(r#"<rect class="bar" "#).count(),
            53,
            "a bar per minute"
        );
        assert!(timeline.contains("<title>2026-03-03 10:07: 1</title>"));
        let lanes = section(&html, "per-token");
        assert!(lanes.contains("Each token over time (per minute)"));
        assert_eq!(lanes.matches(r#"<text class="id" x="0""#).count(), 3, "a row per token");
        for t in ["t1", "t2", "t3"] {
            assert!(lanes.contains(&format!(">{t}</text>")));
        }
        // t1 was used at minutes 0, 3, 6, …: 18 cells, each a minute.
        assert_eq!(lanes.matches("<title>t1 2026-03-03 10:").count(), 18);
        // Spread over hours, by the hour.
        let spread: Vec<Hit> = (0..3)
            .map(|d| Hit {
                received_at: crate::domain::time::Timestamp::parse(&format!("2026-03-03T{:02}:00:00.000Z", 8 * d))
                    .unwrap(),
                ..hit(d, "t1", "10.0.0.1", 3)
            })
            .collect();
        assert!(render(&spread, &[], &opts()).contains("<h2>Hits per hour</h2>"));
    }

    #[test]
    fn addresses_and_token_ids_never_wrap() {
        let hits = [hit(1, "3f2a9c0d1e4b5a6f", "2a02:d180:0:0:0:0:0:3", 3)];
        let html = render(&hits, &[token("3f2a9c0d1e4b5a6f", "ci", "")], &opts());
        assert!(STYLE.contains("td.t, .id, .addr, .nw { white-space:nowrap; }"));
        assert!(html.contains(r#"<td class="mono addr">2a02:d180:0:0:0:0:0:3</td>"#));
        assert!(html.contains(r#"<td class="mono id">3f2a9c0d1e4b5a6f</td>"#));
        assert!(html.contains(r#"<span class="mono id">3f2a9c0d1e4b5a6f</span>"#));
        // Only free text may break anywhere; the address and id cells never do.
        assert!(!html.contains(r#"class="mono addr wrap""#) && !html.contains(r#"class="mono id wrap""#));
    }

    #[test]
    fn paths_break_at_separators_and_long_segments() {
        assert_eq!(
            breakable("infra/terraform.tfvars").into_string(),
            "infra/<wbr>terraform.<wbr>tfvars"
        );
        let long = format!("/{}", "A".repeat(60));
        let html = breakable(&long).into_string();
        assert_eq!(html.replace("<wbr>", ""), long, "nothing lost");
        assert!(html.split("<wbr>").all(|p| p.chars().count() <= SEGMENT), "{html}");
        // Words end a run: a label is never cut inside a short word.
        assert_eq!(
            breakable("payments-api deploy key").into_string(),
            "payments-api deploy key"
        );
        // Escaped like every value.
        assert_eq!(breakable("<a>/b").into_string(), "&lt;a&gt;/<wbr>b");
    }

    /// Suspicious requests are listed as such, never as an unknown token.
    #[test]
    fn suspicious_requests_are_named_in_the_report() {
        let mut h = hit(1, crate::domain::hit::SUSPICIOUS_REQUEST, "10.0.0.1", 3);
        h.over_bounds = vec!["cookies".into()];
        h.label = crate::domain::hit::suspicious_label(&h.over_bounds);
        let html = render(&[h], &[], &opts());
        let tokens = section(&html, "tokens");
        assert!(
            tokens.contains("suspicious requests, no token: past the scan bounds"),
            "{tokens}"
        );
        assert!(!tokens.contains("unknown token"), "{tokens}");
        let recent = section(&html, "recent");
        assert!(
            recent.contains("suspicious request, no token:<wbr> cookies"),
            "{recent}"
        );
        assert!(!recent.contains("in <span"), "no token, found nowhere: {recent}");
        assert!(recent.contains("over-bounds(cookies)"), "{recent}");
    }

    #[test]
    fn recent_hits_name_the_label_and_where_the_token_was_found() {
        let mut h = hit(1, "t1", "10.0.0.1", 3);
        h.label = "billing key".into();
        h.found_in = "query:api_key".parse().unwrap();
        let html = render(&[h], &[], &opts());
        let recent = section(&html, "recent");
        assert!(recent.contains("<th>token · found in</th>"));
        assert!(recent.contains(r#"<span class="sub">in <span class="mono">query:<wbr>api_key</span></span>"#));
        assert!(recent.contains(r#"<span class="mono id">t1</span><span class="sub">billing key</span>"#));
    }

    #[test]
    fn top_sources_say_what_each_source_tried_and_where_it_is() {
        let hits: Vec<Hit> = (0..4).map(|i| hit(i, ["t1", "t2"][i % 2], "81.2.69.142", 3)).collect();
        let html = render(&hits, &[], &opts());
        let sources = section(&html, "sources");
        // No column that is 1 by construction (distinct sources of one source).
        assert!(!sources.contains(">sources</th>"), "{sources}");
        assert!(sources.contains(r#"<th class="n">tokens tried</th>"#));
        assert!(sources.contains(
            r#"<td class="n">4</td><td class="n">2</td><td class="wrap">London, GB · AS15169 Google Inc.</td>"#
        ));
    }

    #[test]
    fn test_and_allowlisted_hits_are_counted_apart() {
        let mut hits: Vec<Hit> = (0..5).map(|i| hit(i, "t1", "10.0.0.1", 3)).collect();
        hits[3].test = true;
        hits[3].source_ip = "127.0.0.1".into();
        hits[4].ignored = true;
        hits[4].source_ip = "10.9.9.9".into();
        let html = render(&hits, &[token("t1", "ci", "")], &opts());
        assert!(html.contains("<b>3</b><span>hits</span>"), "real hits only");
        assert!(html.contains("<b>1</b><span>sources</span>"));
        assert!(html.contains(r#"<div class="stat other"><b>1</b><span>test hits</span></div>"#));
        assert!(html.contains(r#"<div class="stat other"><b>1</b><span>allowlisted</span></div>"#));
        // Not among the sources, the user agents or the recent hits; listed apart.
        for id in ["sources", "user-agents", "recent"] {
            let s = section(&html, id);
            assert!(!s.contains("127.0.0.1") && !s.contains("10.9.9.9"), "{id}: {s}");
        }
        let apart = section(&html, "test-allowlisted");
        assert!(apart.contains("Test and allowlisted hits (2)"));
        assert!(apart.contains("127.0.0.1") && apart.contains("10.9.9.9"));
        // The token's row: 3 real hits, 2 others.
        assert!(section(&html, "tokens").contains(r#"<td class="n">3</td><td class="n">2</td><td class="n">1</td>"#));
        // The timeline stacks them in grey.
        assert_eq!(
            section(&html, "timeline")
                .matches(": 1 test or allowlisted</title>")
                .count(),
            2
        );
    }

    #[test]
    fn planted_once_and_a_rotated_token_names_its_successor() {
        let mut old: TokenRecord = token("aaaa", "ci", "repo/.env");
        old.placements = vec![
            serde_json::from_value(serde_json::json!({
                "path": "repo/.env", "var": "ACME_KEY", "planted_at": "2026-02-02T00:00:00.000Z"
            }))
            .unwrap(),
        ];
        old.state = TokenState::Retired;
        old.replaced_by = Some("bbbb".into());
        let mut new = token("bbbb", "ci", "repo/.env");
        new.replaces = Some("aaaa".into());
        let html = render(&[hit(1, "aaaa", "10.0.0.1", 3)], &[old, new], &opts());
        let tokens = section(&html, "tokens").replace("<wbr>", "");
        assert_eq!(tokens.matches("repo/.env").count(), 2, "once per token: {tokens}");
        assert!(tokens.contains("repo/.env (ACME_KEY)"));
        assert!(tokens.contains(r#"retired<span class="sub">replaced by <span class="mono id">bbbb</span></span>"#));
        assert!(tokens.contains(r#"active<span class="sub">replaces <span class="mono id">aaaa</span></span>"#));
    }

    #[test]
    fn without_geoip_the_page_says_how_to_add_the_databases() {
        let hits: Vec<Hit> = (0..3)
            .map(|i| Hit {
                geo: None,
                asn: None,
                ..hit(i, "t1", "10.0.0.1", 3)
            })
            .collect();
        let html = render(&hits, &[], &opts());
        let countries = section(&html, "countries");
        assert!(!countries.contains("<svg"), "no single 'unknown' bar");
        assert!(countries.contains("honeytoken serve --geoip-city GeoLite2-City.mmdb"));
        assert!(countries.contains("HONEYTOKEN_GEOIP_CITY") && countries.contains("GeoIpCityPath"));
        let networks = section(&html, "networks");
        assert!(!networks.contains("<svg") && networks.contains("--geoip-asn GeoLite2-ASN.mmdb"));
        assert!(networks.contains("GeoIpAsnPath"));
        assert!(html.contains("<b>–</b><span>countries</span>"));
        // Some located, some not: the chart stays, and says how many lack one.
        let mut mixed = hits.clone();
        mixed.push(hit(9, "t1", "81.2.69.142", 3));
        let html = render(&mixed, &[], &opts());
        assert!(section(&html, "countries").contains("<svg"));
        assert!(section(&html, "countries").contains("3 of 4 hits have no location"));
        assert!(section(&html, "countries").contains(r#"<td class="mono addr">not located</td>"#));
    }

    #[test]
    fn an_old_tampered_hit_is_listed_among_the_recent_ones() {
        let mut hits: Vec<Hit> = (0..40).map(|i| hit(i, "t1", "10.0.0.1", 3)).collect();
        hits[0].tampered = true;
        hits[0].tampered_claims = vec!["sub".into()];
        let html = render(&hits, &[], &opts());
        let recent = section(&html, "recent");
        assert_eq!(
            recent.matches("<tr>").count(),
            RECENT + 2,
            "header, 25 newest, the tampered one"
        );
        assert!(recent.contains("TAMPERED(sub)") && recent.contains("older hits of tampered or unknown tokens"));
    }

    #[test]
    fn empty_report_renders() {
        let html = render(&[], &[], &opts());
        assert!(html.contains("no hits") && html.ends_with("</html>\n"));
    }
}
