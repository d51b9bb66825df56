//! Timestamps: RFC 3339 in UTC with millisecond precision everywhere.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats `t` as `2026-11-28T12:00:00.123Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let ms = t.millisecond();
    let t = t.replace_nanosecond(ms as u32 * 1_000_000).unwrap_or(t);
    let s = t.format(&Rfc3339).unwrap_or_default();
    if ms == 0 && !s.contains('.') {
        // The formatter omits a zero fraction; keep the width fixed so
        // timestamps sort as strings.
        s.replacen('Z', ".000Z", 1)
    } else {
        s
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
    }
}
