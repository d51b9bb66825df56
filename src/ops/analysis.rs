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

/// Bucket widths a timeline may use, narrowest first, in seconds: a burst
/// within an hour is drawn by the minute, a month by the day.
const STEPS: [i64; 9] = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400, 28 * 86_400];

/// Weeks start on Monday: 1970-01-05, four days after the Unix epoch.
const WEEK_ORIGIN: i64 = 4 * 86_400;

/// The buckets of a timeline: `count` buckets of `step` seconds from
/// `start`, the step chosen from the span of the hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// Start of the first bucket (Unix seconds, aligned to the step).
    pub start: i64,
    /// Width of a bucket in seconds.
    pub step: i64,
    /// Number of buckets, the first and last holding the first and last hit.
    pub count: usize,
}

impl Timeline {
    /// The narrowest step that shows the span of `hits` in at most
    /// `max_buckets` buckets (whole weeks past the widest step); `None`
    /// without hits.
    pub fn for_hits<'a>(hits: impl IntoIterator<Item = &'a Hit>, max_buckets: usize) -> Option<Timeline> {
        let mut first = i64::MAX;
        let mut last = i64::MIN;
        for h in hits {
            let t = h.received_at.time().unix_timestamp();
            first = first.min(t);
            last = last.max(t);
        }
        if first > last {
            return None;
        }
        let max = max_buckets.max(1) as i64;
        let fit = |step: i64| {
            let start = Self::floor(first, step);
            let count = (last - start) / step + 1;
            (count <= max).then_some(Timeline {
                start,
                step,
                count: count as usize,
            })
        };
        STEPS.iter().find_map(|&s| fit(s)).or_else(|| {
            // Longer than the widest step allows: as many weeks per bucket as needed.
            let weeks = ((last - first) / (7 * 86_400)) / max + 1;
            (weeks..).find_map(|w| fit(w * 7 * 86_400))
        })
    }

    fn floor(t: i64, step: i64) -> i64 {
        let origin = if step % (7 * 86_400) == 0 { WEEK_ORIGIN } else { 0 };
        (t - origin).div_euclid(step) * step + origin
    }

    /// The bucket a hit falls in (clamped to the timeline).
    pub fn index(&self, h: &Hit) -> usize {
        let i = (h.received_at.time().unix_timestamp() - self.start).div_euclid(self.step);
        i.clamp(0, self.count as i64 - 1) as usize
    }

    /// Start of bucket `i`.
    pub fn bucket_start(&self, i: usize) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(self.start + self.step * i as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Requests per bucket (a flood's counter record counts as many as it stands for).
    pub fn counts<'a>(&self, hits: impl IntoIterator<Item = &'a Hit>) -> Vec<u64> {
        let mut out = vec![0; self.count];
        for h in hits {
            out[self.index(h)] += h.count.max(1);
        }
        out
    }

    /// The step in words: `minute`, `5 minutes`, `hour`, `day`, `week`, `4 weeks`.
    pub fn step_name(&self) -> String {
        let s = self.step;
        let (n, unit) = if s % (7 * 86_400) == 0 {
            (s / (7 * 86_400), "week")
        } else if s % 86_400 == 0 {
            (s / 86_400, "day")
        } else if s % 3600 == 0 {
            (s / 3600, "hour")
        } else if s % 60 == 0 {
            (s / 60, "minute")
        } else {
            (s, "second")
        };
        if n == 1 {
            unit.to_string()
        } else {
            format!("{n} {unit}s")
        }
    }
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

    #[test]
    fn timeline_step_follows_the_span() {
        let at = |t: &str| hit("t", "10.0.0.1", t);
        // 53 minutes: by the minute, 54 buckets.
        let burst = [at("2026-03-01T10:00:10.000Z"), at("2026-03-01T10:53:00.000Z")];
        let t = Timeline::for_hits(&burst, 60).unwrap();
        assert_eq!((t.step, t.count, t.step_name().as_str()), (60, 54, "minute"));
        assert_eq!(t.counts(&burst), [&[1][..], &[0; 52], &[1]].concat());
        assert_eq!(t.bucket_start(0).to_string(), "2026-03-01 10:00:00.0 +00:00:00");
        // Two days: by the hour.
        let days = [at("2026-03-01T10:00:00.000Z"), at("2026-03-03T09:00:00.000Z")];
        let t = Timeline::for_hits(&days, 60).unwrap();
        assert_eq!((t.step_name().as_str(), t.count), ("hour", 48));
        // A month: by the day, from midnight.
        let month = [at("2026-03-01T10:00:00.000Z"), at("2026-03-30T09:00:00.000Z")];
        let t = Timeline::for_hits(&month, 60).unwrap();
        assert_eq!((t.step_name().as_str(), t.count), ("day", 30));
        assert_eq!(t.index(&month[1]), 29);
        // A year: by the week or wider, never more buckets than asked for.
        let year = [at("2025-03-01T10:00:00.000Z"), at("2026-03-01T09:00:00.000Z")];
        let t = Timeline::for_hits(&year, 60).unwrap();
        assert_eq!(t.step_name(), "week");
        let t = Timeline::for_hits(&year, 20).unwrap();
        assert!(t.count <= 20 && t.step % (7 * 86_400) == 0, "{t:?}");
        assert_eq!(t.counts(&year).iter().sum::<u64>(), 2);
        // One hit; none.
        assert_eq!(Timeline::for_hits(&burst[..1], 60).unwrap().count, 1);
        assert_eq!(Timeline::for_hits(&[], 60), None);
    }
}
