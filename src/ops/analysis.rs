//! Trends in recorded hits: counts, first and last seen, and how many
//! distinct tokens a source tried (or sources a token came from), grouped by
//! source address, token, country, network, user agent or day.
//!
//! Pure functions over hits: no I/O, so the CLI tables, the JSON/CSV export
//! and the HTML report all show the same numbers.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::domain::hit::Hit;
use crate::domain::time::Timestamp;

/// What to group hits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum GroupBy {
    /// Source address.
    Ip,
    /// Token id.
    Token,
    /// Country code of the source (ISO 3166-1 alpha-2).
    Country,
    /// Autonomous system (network owner) of the source.
    Asn,
    /// User-Agent header.
    UserAgent,
    /// UTC day the hit was received (`YYYY-MM-DD`).
    Day,
}

impl GroupBy {
    /// The name used on the command line and in JSON (`ip`, `user-agent`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Ip => "ip",
            GroupBy::Token => "token",
            GroupBy::Country => "country",
            GroupBy::Asn => "asn",
            GroupBy::UserAgent => "user-agent",
            GroupBy::Day => "day",
        }
    }
}

impl std::fmt::Display for GroupBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One group of hits. The JSON field names are a stable interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// What the hits were grouped by.
    pub by: GroupBy,
    /// The group's value: an address, a token id, a country code, `AS15169`,
    /// a user agent or a day; `null` when the hits carry none (no geolocation,
    /// no network, no user agent).
    pub key: Option<String>,
    /// A readable name for the key when there is one: the country name, the
    /// network's organisation, the token's label.
    pub name: Option<String>,
    /// Number of hits.
    pub count: u64,
    /// Earliest `received_at` (RFC 3339, UTC).
    pub first_seen: String,
    /// Latest `received_at` (RFC 3339, UTC).
    pub last_seen: String,
    /// Distinct tokens among the hits: for a source, how many decoys it tried.
    pub distinct_tokens: u64,
    /// Distinct source addresses among the hits: for a token, how many
    /// places it was used from.
    pub distinct_sources: u64,
}

/// The key and readable name of a hit under `by`.
fn key_of(by: GroupBy, h: &Hit) -> (Option<Cow<'_, str>>, Option<&str>) {
    fn nonempty(s: &str) -> Option<&str> {
        if s.is_empty() { None } else { Some(s) }
    }
    match by {
        GroupBy::Ip => (nonempty(&h.source_ip).map(Cow::Borrowed), None),
        GroupBy::Token => (Some(Cow::Borrowed(h.token_id.as_str())), nonempty(&h.label)),
        GroupBy::Country => match &h.geo {
            Some(g) => (g.country_code.as_deref().map(Cow::Borrowed), g.country.as_deref()),
            None => (None, None),
        },
        GroupBy::Asn => (None, h.asn.as_ref().and_then(|a| a.org.as_deref())),
        GroupBy::UserAgent => (nonempty(&h.user_agent).map(Cow::Borrowed), None),
        GroupBy::Day => (Some(Cow::Owned(h.received_at.time().date().to_string())), None),
    }
}

struct Acc<'a> {
    key: Option<String>,
    name: Option<&'a str>,
    count: u64,
    first: Timestamp,
    last: Timestamp,
    tokens: HashSet<&'a str>,
    sources: HashSet<&'a str>,
}

/// Groups `hits` by `by`. Days come in calendar order; every other grouping
/// comes most hits first, ties by key, hits without a key last.
pub fn group(hits: &[Hit], by: GroupBy) -> Vec<Group> {
    // Keyed by the borrowed key where possible; the ASN number is formatted once per group.
    let mut groups: HashMap<(Option<Cow<'_, str>>, Option<u32>), Acc<'_>> = HashMap::new();
    for h in hits {
        let (key, name) = key_of(by, h);
        let asn = if by == GroupBy::Asn {
            h.asn.as_ref().map(|a| a.number)
        } else {
            None
        };
        let acc = groups.entry((key.clone(), asn)).or_insert_with(|| Acc {
            key: match by {
                GroupBy::Asn => asn.map(|n| format!("AS{n}")),
                _ => key.map(Cow::into_owned),
            },
            name: None,
            count: 0,
            first: h.received_at,
            last: h.received_at,
            tokens: HashSet::new(),
            sources: HashSet::new(),
        });
        // A flood's counter record stands for many requests.
        acc.count += h.count.max(1);
        if acc.name.is_none() {
            acc.name = name;
        }
        if h.received_at < acc.first {
            acc.first = h.received_at;
        }
        if h.received_at > acc.last {
            acc.last = h.received_at;
            // The newest label/org wins: a token relabelled later shows its current name.
            if name.is_some() {
                acc.name = name;
            }
        }
        acc.tokens.insert(&h.token_id);
        acc.sources.insert(&h.source_ip);
    }
    let mut out: Vec<Group> = groups
        .into_values()
        .map(|a| Group {
            by,
            key: a.key,
            name: a.name.map(str::to_string),
            count: a.count,
            first_seen: a.first.to_string(),
            last_seen: a.last.to_string(),
            distinct_tokens: a.tokens.len() as u64,
            distinct_sources: a.sources.len() as u64,
        })
        .collect();
    if by == GroupBy::Day {
        out.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        out.sort_by(|a, b| {
            a.key
                .is_none()
                .cmp(&b.key.is_none())
                .then(b.count.cmp(&a.count))
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    out
}

/// Hits per UTC day from the first day to the last, with the quiet days in
/// between as zeros, so a timeline shows gaps as gaps.
pub fn daily(hits: &[Hit]) -> Vec<(String, u64)> {
    let days = group(hits, GroupBy::Day);
    let parse = |d: &str| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok();
    let counts: HashMap<&str, u64> = days.iter().filter_map(|g| Some((g.key.as_deref()?, g.count))).collect();
    let (Some(first), Some(last)) = (
        days.first().and_then(|g| g.key.as_deref()).and_then(parse),
        days.last().and_then(|g| g.key.as_deref()).and_then(parse),
    ) else {
        // Unparseable days (not written by this program): show them as they are.
        return days.into_iter().map(|g| (g.key.unwrap_or_default(), g.count)).collect();
    };
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        let s = d.to_string();
        out.push((s.clone(), counts.get(s.as_str()).copied().unwrap_or(0)));
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::{Asn, Geo};

    fn hit(token: &str, ip: &str, at: &str) -> Hit {
        Hit {
            hit_id: format!("{at}{token}{ip}"),
            user_agent: "curl/8".into(),
            path: "/".into(),
            token_state: None,
            label: format!("label-{token}"),
            ..Hit::sample(token, ip, at)
        }
    }

    fn sample() -> Vec<Hit> {
        let mut v = vec![
            hit("t1", "10.0.0.1", "2026-01-02T10:00:00.000Z"),
            hit("t2", "10.0.0.1", "2026-01-01T09:00:00.000Z"),
            hit("t1", "10.0.0.1", "2026-01-05T08:00:00.000Z"),
            hit("t1", "10.0.0.2", "2026-01-02T11:00:00.000Z"),
            hit("t3", "10.0.0.3", "2026-01-02T12:00:00.000Z"),
        ];
        v[0].geo = Some(Geo {
            country_code: Some("GB".into()),
            country: Some("United Kingdom".into()),
            city: None,
            latitude: None,
            longitude: None,
        });
        v[1].geo = v[0].geo.clone();
        v[3].geo = Some(Geo {
            country_code: Some("SE".into()),
            country: Some("Sweden".into()),
            city: None,
            latitude: None,
            longitude: None,
        });
        v[0].asn = Some(Asn {
            number: 15169,
            org: Some("Google Inc.".into()),
        });
        v[4].user_agent = String::new();
        v
    }

    #[test]
    fn by_ip_counts_first_last_and_distinct_tokens() {
        let g = group(&sample(), GroupBy::Ip);
        assert_eq!(
            g.iter()
                .map(|g| (g.key.as_deref().unwrap(), g.count))
                .collect::<Vec<_>>(),
            [("10.0.0.1", 3), ("10.0.0.2", 1), ("10.0.0.3", 1)]
        );
        assert_eq!(
            (g[0].first_seen.as_str(), g[0].last_seen.as_str()),
            ("2026-01-01T09:00:00.000Z", "2026-01-05T08:00:00.000Z")
        );
        assert_eq!((g[0].distinct_tokens, g[0].distinct_sources), (2, 1));
    }

    #[test]
    fn by_token_counts_distinct_sources_and_names_the_label() {
        let g = group(&sample(), GroupBy::Token);
        assert_eq!(
            (g[0].key.as_deref(), g[0].count, g[0].distinct_sources),
            (Some("t1"), 3, 2)
        );
        assert_eq!(g[0].name.as_deref(), Some("label-t1"));
    }

    #[test]
    fn unknown_keys_are_null_and_last() {
        let c = group(&sample(), GroupBy::Country);
        let got: Vec<_> = c
            .iter()
            .map(|g| (g.key.as_deref(), g.name.as_deref(), g.count))
            .collect();
        assert_eq!(
            got,
            [
                (Some("GB"), Some("United Kingdom"), 2),
                (Some("SE"), Some("Sweden"), 1),
                (None, None, 2)
            ]
        );
        let a = group(&sample(), GroupBy::Asn);
        assert_eq!(
            (a[0].key.as_deref(), a[0].name.as_deref(), a[0].count),
            (Some("AS15169"), Some("Google Inc."), 1)
        );
        assert_eq!((a[1].key.as_deref(), a[1].count), (None, 4));
        let u = group(&sample(), GroupBy::UserAgent);
        assert_eq!((u[1].key.as_deref(), u[1].count), (None, 1));
    }

    #[test]
    fn days_in_calendar_order_and_timeline_fills_gaps() {
        let d = group(&sample(), GroupBy::Day);
        assert_eq!(
            d.iter().map(|g| (g.key.clone().unwrap(), g.count)).collect::<Vec<_>>(),
            [
                ("2026-01-01".to_string(), 1),
                ("2026-01-02".to_string(), 3),
                ("2026-01-05".to_string(), 1)
            ]
        );
        let t = daily(&sample());
        assert_eq!(t.len(), 5);
        assert_eq!(t[2], ("2026-01-03".to_string(), 0));
        assert_eq!(t.iter().map(|(_, n)| n).sum::<u64>(), 5);
        assert!(daily(&[]).is_empty());
    }

    #[test]
    fn json_field_names_are_stable() {
        let g = &group(&sample(), GroupBy::UserAgent)[0];
        let v = serde_json::to_value(g).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "by",
                "count",
                "distinct_sources",
                "distinct_tokens",
                "first_seen",
                "key",
                "last_seen",
                "name"
            ]
        );
        assert_eq!(v["by"], "user-agent");
    }
}
