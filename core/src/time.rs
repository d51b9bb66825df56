//! Timestamps: RFC 3339 in UTC with millisecond precision everywhere.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats `t` as `2026-11-28T12:00:00.123Z`: always three fraction digits,
/// so timestamps of one width sort as strings (`received_at` is a sort key).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A point in time, UTC, kept to the millisecond: compared and computed
/// with as a time, written as RFC 3339 text (`2026-11-28T12:00:00.123Z`)
/// only at the edges (JSON, stores, terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// `t`, in UTC, truncated to the millisecond.
    pub fn new(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let ms = t.millisecond();
        Timestamp(t.replace_nanosecond(ms as u32 * 1_000_000).unwrap_or(t))
    }

    /// The current time.
    pub fn now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 text.
    pub fn parse(s: &str) -> Option<Self> {
        parse(s).map(Self::new)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// The time itself.
    pub fn time(&self) -> OffsetDateTime {
        self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&rfc3339(self.0))
    }
}

impl std::str::FromStr for Timestamp {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| crate::Error::Invalid(format!("{s:?} is not an RFC 3339 time")))
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Self::new(t)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time")))
    }
}

/// Current time, formatted.
pub fn now() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Parses an RFC 3339 timestamp.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_milliseconds() {
        let t = time::macros::datetime!(2026-11-28 12:00:00 UTC);
        assert_eq!(rfc3339(t), "2026-11-28T12:00:00.000Z");
        let t = time::macros::datetime!(2026-11-28 12:00:00.123456 UTC);
        assert_eq!(rfc3339(t), "2026-11-28T12:00:00.123Z");
        assert_eq!(parse("2026-11-28T12:00:00.123Z").unwrap().millisecond(), 123);
        // The formatter this replaced wrote `.5Z` and `.82Z`, which sort
        // after `.52Z` and `.820Z` as strings.
        let t = time::macros::datetime!(2026-11-28 12:00:00.5 UTC);
        assert_eq!(rfc3339(t), "2026-11-28T12:00:00.500Z");
        let t = time::macros::datetime!(2026-11-28 12:00:00.82 UTC);
        assert_eq!(rfc3339(t), "2026-11-28T12:00:00.820Z");
        assert_eq!(
            Timestamp::parse("2026-11-28T12:00:00.5Z").unwrap().to_string(),
            "2026-11-28T12:00:00.500Z"
        );
    }
}
