//! CloudFront viewer headers: where CloudFront says the viewer is.
//!
//! When the decoy API sits behind a CloudFront distribution whose origin
//! request policy forwards the viewer headers, CloudFront tells the origin
//! the viewer's address (`cloudfront-viewer-address`, `IP:port`), country,
//! city, coordinates and AS number. Any client can send the same header
//! names, so these are read only when the deployment says they are trusted
//! (the origin accepts traffic from CloudFront alone); otherwise they stay
//! ordinary, untrusted request headers.
//!
//! Every value is validated or escaped and capped: a country code must be two
//! ASCII letters, coordinates must be finite numbers in range, the address
//! must parse as an IP address, and names are escaped like every other
//! attacker-reachable string.

use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

use crate::domain::hit::{Asn, Geo};
use crate::domain::sanitize::escape;

/// Longest country or city name kept, in bytes.
pub const NAME_CAP: usize = 128;

/// What CloudFront said about the viewer; every field is `None` when absent or invalid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Viewer {
    /// The viewer's address, from `cloudfront-viewer-address`.
    pub ip: Option<IpAddr>,
    /// Location from the country/city/latitude/longitude headers.
    pub geo: Option<Geo>,
    /// Network from `cloudfront-viewer-asn` (CloudFront gives no organisation name).
    pub asn: Option<Asn>,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    h.get(name).map(|v| v.as_bytes()).filter(|v| !v.is_empty())
}

fn text(h: &HeaderMap, name: &str) -> Option<String> {
    let raw = header(h, name)?;
    // CloudFront may percent-encode non-ASCII names; decode, then escape
    // whatever bytes result so nothing reaches a terminal or page unescaped.
    let decoded: Vec<u8> = percent_encoding::percent_decode(raw).collect();
    let s = escape(decoded.trim_ascii(), NAME_CAP);
    (!s.is_empty()).then_some(s)
}

fn coordinate(h: &HeaderMap, name: &str, limit: f64) -> Option<f64> {
    let raw = std::str::from_utf8(header(h, name)?).ok()?;
    if raw.len() > 32 {
        return None;
    }
    let v: f64 = raw.trim().parse().ok()?;
    (v.is_finite() && v.abs() <= limit).then_some(v)
}

fn country_code(h: &HeaderMap) -> Option<String> {
    let raw = header(h, "cloudfront-viewer-country")?;
    (raw.len() == 2 && raw.iter().all(u8::is_ascii_alphabetic))
        .then(|| String::from_utf8_lossy(raw).to_ascii_uppercase())
}

fn address(h: &HeaderMap) -> Option<IpAddr> {
    let raw = std::str::from_utf8(header(h, "cloudfront-viewer-address")?)
        .ok()?
        .trim();
    if raw.len() > 64 {
        return None;
    }
    // CloudFront always appends the source port: `203.0.113.7:46532`, and for
    // IPv6 `2001:db8::1:46532` (unbracketed; brackets are accepted too). So for
    // IPv6 the last group is the port, never part of the address.
    if let Ok(s) = raw.parse::<SocketAddr>() {
        return Some(s.ip());
    }
    match raw.rsplit_once(':') {
        Some((ip, port)) => {
            port.parse::<u16>().ok()?;
            ip.parse::<IpAddr>().ok()
        }
        None => raw.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

fn asn(h: &HeaderMap) -> Option<Asn> {
    let raw = std::str::from_utf8(header(h, "cloudfront-viewer-asn")?).ok()?.trim();
    let number: u32 = raw.parse().ok().filter(|n| *n > 0)?;
    Some(Asn { number, org: None })
}

/// Reads the CloudFront viewer headers. Call only when they are trusted.
pub fn viewer(h: &HeaderMap) -> Viewer {
    // A coordinate is only useful with its partner.
    let (latitude, longitude) = match (
        coordinate(h, "cloudfront-viewer-latitude", 90.0),
        coordinate(h, "cloudfront-viewer-longitude", 180.0),
    ) {
        (Some(la), Some(lo)) => (Some(la), Some(lo)),
        _ => (None, None),
    };
    let geo = Geo {
        country_code: country_code(h),
        country: text(h, "cloudfront-viewer-country-name"),
        city: text(h, "cloudfront-viewer-city"),
        latitude,
        longitude,
    };
    let any = geo.country_code.is_some() || geo.country.is_some() || geo.city.is_some() || geo.latitude.is_some();
    Viewer {
        ip: address(h),
        geo: any.then_some(geo),
        asn: asn(h),
    }
}

/// The variable that says CloudFront viewer headers are trusted (set by the
/// template's `TrustCloudFrontHeaders` parameter).
pub const TRUST_VAR: &str = "HONEYTOKEN_TRUST_CLOUDFRONT_HEADERS";

/// Whether a setting reads as yes: `true`, `1` or `yes`, any case. Anything
/// else, including a typo, is no: trust must be asked for explicitly.
pub fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// Whether the environment says CloudFront viewer headers are trusted ([`TRUST_VAR`]).
pub fn trusted_from_env() -> bool {
    std::env::var(TRUST_VAR).is_ok_and(|v| is_true(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn reads_well_formed_headers() {
        let v = viewer(&headers(&[
            ("cloudfront-viewer-address", b"203.0.113.7:51234"),
            ("cloudfront-viewer-country", b"de"),
            ("cloudfront-viewer-country-name", b"Germany"),
            ("cloudfront-viewer-city", b"M%C3%BCnchen"),
            ("cloudfront-viewer-latitude", b"48.13743"),
            ("cloudfront-viewer-longitude", b"11.57549"),
            ("cloudfront-viewer-asn", b"3320"),
        ]));
        assert_eq!(v.ip, Some("203.0.113.7".parse().unwrap()));
        let g = v.geo.unwrap();
        assert_eq!(g.country_code.as_deref(), Some("DE"));
        assert_eq!(g.country.as_deref(), Some("Germany"));
        assert_eq!(g.city.as_deref(), Some("München"));
        assert_eq!((g.latitude, g.longitude), (Some(48.13743), Some(11.57549)));
        assert_eq!(
            v.asn,
            Some(Asn {
                number: 3320,
                org: None
            })
        );
    }

    #[test]
    fn ipv6_addresses_with_and_without_brackets() {
        let a = viewer(&headers(&[("cloudfront-viewer-address", b"[2001:db8::1]:443")]));
        let b = viewer(&headers(&[("cloudfront-viewer-address", b"2001:db8::1:443")]));
        assert_eq!(a.ip, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(b.ip, a.ip);
        let c = viewer(&headers(&[("cloudfront-viewer-address", b"198.51.100.10")]));
        assert_eq!(c.ip, Some("198.51.100.10".parse().unwrap()));
        let d = viewer(&headers(&[("cloudfront-viewer-address", b"198.51.100.10:99999")]));
        assert_eq!(d.ip, None, "a bad port makes the whole value untrustworthy");
    }

    #[test]
    fn hostile_values_are_rejected_or_escaped() {
        let long = "A".repeat(10_000);
        let v = viewer(&headers(&[
            ("cloudfront-viewer-address", b"<script>:80"),
            ("cloudfront-viewer-country", b"GBR"),
            ("cloudfront-viewer-city", format!("<b>x</b>%1b[2J%0a{long}").as_bytes()),
            ("cloudfront-viewer-latitude", b"NaN"),
            ("cloudfront-viewer-longitude", b"1e999"),
            ("cloudfront-viewer-asn", b"-1"),
        ]));
        assert_eq!(v.ip, None);
        assert_eq!(v.asn, None);
        let g = v.geo.expect("the city alone still makes a location");
        assert_eq!(g.country_code, None);
        assert_eq!((g.latitude, g.longitude), (None, None));
        let city = g.city.unwrap();
        assert!(city.starts_with("<b>x</b>\\u{1b}[2J\\u{a}"), "{city}");
        assert!(city.len() < NAME_CAP + 32, "capped: {}", city.len());
        assert!(!city.contains('\n') && !city.contains('\u{1b}'));
    }

    #[test]
    fn trust_is_only_an_explicit_yes() {
        for v in ["true", "TRUE", " 1 ", "yes"] {
            assert!(is_true(v), "{v}");
        }
        for v in ["false", "", "ture", "0", "no", "on"] {
            assert!(!is_true(v), "{v}");
        }
    }

    #[test]
    fn coordinates_need_both_halves_in_range() {
        let v = viewer(&headers(&[
            ("cloudfront-viewer-latitude", b"-90"),
            ("cloudfront-viewer-longitude", b"-180"),
        ]));
        let g = v.geo.unwrap();
        assert_eq!((g.latitude, g.longitude), (Some(-90.0), Some(-180.0)));
        let v = viewer(&headers(&[
            ("cloudfront-viewer-latitude", b"91"),
            ("cloudfront-viewer-longitude", b"-180"),
        ]));
        assert_eq!(v.geo, None, "an out-of-range latitude drops the pair");
        assert_eq!(viewer(&HeaderMap::new()), Viewer::default());
    }
}
