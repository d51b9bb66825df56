//! A hit: what one request that carried a honeytoken leaves behind.
//! Every attacker-controlled field is escaped and capped on the way in.

use http::request::Parts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::sanitize::escape;
use crate::time::Timestamp;
use crate::token::TokenState;

/// Caps on stored attacker-controlled fields, in bytes. Together they keep a
/// hit far below DynamoDB's 400 KB item limit.
// Each cap is named after the hit field it caps; only those that need a
// word more have one.
#[allow(missing_docs)]
pub mod caps {
    pub const PATH: usize = 2048;
    pub const QUERY: usize = 2048;
    pub const USER_AGENT: usize = 512;
    /// One header value.
    pub const HEADER_VALUE: usize = 1024;
    pub const HEADER_NAME: usize = 128;
    /// Number of headers stored.
    pub const HEADERS: usize = 64;
    /// All header names and values together.
    pub const HEADERS_TOTAL: usize = 16 * 1024;
    pub const METHOD: usize = 32;
    /// Source address as given by a proxy.
    pub const SOURCE_IP: usize = 64;
    /// One field of a CloudTrail event ([`super::AwsEvent`]).
    pub const AWS_FIELD: usize = 128;
}

/// Location of the source address (from the GeoIP database; any part may
/// be unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Latitude and longitude need no words; the names say which is which.
#[allow(missing_docs)]
pub struct Geo {
    /// ISO 3166-1 alpha-2.
    pub country_code: Option<String>,
    /// Country name (English).
    pub country: Option<String>,
    /// City name (English).
    pub city: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Network owner of the source address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asn {
    /// The autonomous system's number (`AS64500` is 64500).
    pub number: u32,
    /// The organisation it is registered to, when the database names one.
    pub org: Option<String>,
}

/// One recorded use of a honeytoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The id of the token used, recognised from the token itself (the key
    /// of its record, when there is one).
    pub token_id: String,
    /// ULID: unique and ordered by time.
    pub hit_id: String,
    /// When the request arrived (RFC 3339, UTC, milliseconds, as text).
    pub received_at: Timestamp,
    /// Client address as seen by the endpoint.
    pub source_ip: String,
    /// User-Agent, escaped, at most [`caps::USER_AGENT`] bytes.
    pub user_agent: String,
    /// Method as sent (any token, not only the standard ones), escaped, at
    /// most [`caps::METHOD`] bytes.
    pub method: String,
    /// Path without the query, escaped, at most [`caps::PATH`] bytes.
    pub path: String,
    /// Query string as sent (not decoded), escaped, at most [`caps::QUERY`] bytes.
    pub query: String,
    /// Request headers (lowercase names; repeated headers joined by `, `).
    pub headers: BTreeMap<String, String>,
    /// Where in the request the token was.
    pub found_in: FoundIn,
    /// A JWT of ours whose signature no longer verifies.
    pub tampered: bool,
    /// What changed in a tampered JWT (claim names, `alg:…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tampered_claims: Vec<String>,
    /// A valid token with no stored record.
    pub orphan: bool,
    /// Sent by `honeytoken test` with a valid test signature.
    pub test: bool,
    /// From an allowlisted source: stored, not alerted.
    pub ignored: bool,
    /// Geolocation of `source_ip`.
    pub geo: Option<Geo>,
    /// Network owner of `source_ip`.
    pub asn: Option<Asn>,
    /// State of the token when it was used (null for orphans).
    pub token_state: Option<TokenState>,
    /// Token label (empty for orphans).
    pub label: String,
    /// Token location (empty for orphans).
    pub location: String,
    /// Request id from the front door (API Gateway), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Where the token was used: the decoy endpoint, or a guard in front of
    /// a real service.
    #[serde(default)]
    pub via: Via,
    /// How many requests this record stands for: 1 for an ordinary hit; a
    /// flood's counter record counts the requests past the first ones.
    #[serde(default = "one")]
    pub count: u64,
    /// Behind the front door, the request did not carry the origin secret:
    /// it reached the origin directly, so its viewer headers were ignored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub origin_unverified: bool,
    /// For a flood's counter record: samples of the counted requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flood: Option<crate::flood::FloodSamples>,
    /// For a decoy AWS key: the API call CloudTrail recorded (null for
    /// every other hit).
    #[serde(default)]
    pub aws_event: Option<AwsEvent>,
    /// The parts of the request past the scan bounds, by their stable names
    /// ([`crate::token::extract::Skipped::as_str`]): a token there was not
    /// looked for. Set on a suspicious request ([`SUSPICIOUS_REQUEST`]) and
    /// on an ordinary hit whose request went past the bounds as well.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub over_bounds: Vec<String>,
    /// The tool persona that answered the request (`kubernetes`,
    /// `registry`, `npm`, `pypi`, `git`, `vault`): which tool the attacker
    /// ran. `None` when the decoy's own persona answered, and on the guard,
    /// which never answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// The secret scanner whose verification call this was
    /// ([`crate::scanner::scanner_for`], from the user agent): the key has
    /// leaked to where scanners look. Still a hit, and still alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<String>,
}

/// The API call made with a decoy AWS access key, as CloudTrail recorded
/// it. Every field is escaped and capped ([`caps::AWS_FIELD`]); a field the
/// event lacked is empty (`error_code`: `None`, the call succeeded or the
/// event did not say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsEvent {
    /// `eventName`: the API action (`GetCallerIdentity`).
    pub name: String,
    /// `eventSource`: the service endpoint (`sts.amazonaws.com`).
    pub source: String,
    /// `awsRegion`: the region that served the call.
    pub region: String,
    /// `errorCode` (`AccessDenied`), when the call failed.
    #[serde(default)]
    pub error_code: Option<String>,
}

impl std::fmt::Display for AwsEvent {
    /// "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied":
    /// the line alerts and tables show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or = |s: &str| if s.is_empty() { "?".to_string() } else { s.to_string() };
        write!(f, "{} on {} in {}", or(&self.name), or(&self.source), or(&self.region))?;
        if let Some(e) = &self.error_code {
            write!(f, ", {e}")?;
        }
        Ok(())
    }
}

/// The `token_id` of a suspicious request: one past the scan bounds that
/// carried no recognised token. The stores key hits by token id; this one
/// can never be a real token's (those are 16 hex digits, or an AWS access
/// key id: upper-case letters and digits), so per source it has a flood
/// bucket and a throttle window of its own.
pub const SUSPICIOUS_REQUEST: &str = "suspicious-request";

fn one() -> u64 {
    1
}

/// Where a hit was seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Via {
    /// The decoy endpoint.
    #[default]
    Decoy,
    /// A guard in front of (or inside) a real service.
    Guard {
        /// The service's name, as its operator configured the guard.
        service: String,
    },
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Decoy => f.write_str("decoy"),
            Via::Guard { service } => write!(f, "guard:{service}"),
        }
    }
}

/// Where in a request a token was found. Its text form (`authorization`,
/// any header name, `query:NAME`, `cookie:NAME`, `body`, `path`, `aws-api`,
/// `aws-last-used`) is what JSON,
/// stores and alerts show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FoundIn {
    /// A header (lower-case name), `Authorization` included.
    Header(String),
    /// A query parameter.
    Query(String),
    /// A cookie.
    Cookie(String),
    /// The body (JSON, form or raw).
    Body,
    /// A segment of the URL path (`/bot<token>/sendMessage`, webhook URLs).
    Path,
    /// A decoy AWS access key used against an AWS API, seen in CloudTrail
    /// (`aws-api`).
    AwsApi,
    /// AWS found the decoy AWS key in public and attached its
    /// `AWSCompromisedKeyQuarantine…` policy to the key's user
    /// (`aws-exposure-notice`).
    AwsExposureNotice,
    /// A decoy AWS access key whose last use IAM reports
    /// (`iam:GetAccessKeyLastUsed`) with no hit recorded for it: the
    /// safety net for a call CloudTrail did not deliver (`aws-last-used`).
    AwsLastUsed,
}

impl FoundIn {
    /// The printable, bounded form of a parameter, cookie or header name.
    pub fn name(raw: &[u8]) -> String {
        escape(raw, 64)
    }
}

impl std::fmt::Display for FoundIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FoundIn::Header(n) => f.write_str(n),
            FoundIn::Query(n) if n.is_empty() => f.write_str("query"),
            FoundIn::Query(n) => write!(f, "query:{n}"),
            FoundIn::Cookie(n) => write!(f, "cookie:{n}"),
            FoundIn::Body => f.write_str("body"),
            FoundIn::Path => f.write_str("path"),
            FoundIn::AwsApi => f.write_str("aws-api"),
            FoundIn::AwsExposureNotice => f.write_str("aws-exposure-notice"),
            FoundIn::AwsLastUsed => f.write_str("aws-last-used"),
        }
    }
}

impl std::str::FromStr for FoundIn {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "body" {
            FoundIn::Body
        } else if s == "path" {
            FoundIn::Path
        } else if s == "aws-api" {
            FoundIn::AwsApi
        } else if s == "aws-exposure-notice" {
            FoundIn::AwsExposureNotice
        } else if s == "aws-last-used" {
            FoundIn::AwsLastUsed
        } else if s == "query" {
            FoundIn::Query(String::new())
        } else if let Some(n) = s.strip_prefix("query:") {
            FoundIn::Query(n.to_string())
        } else if let Some(n) = s.strip_prefix("cookie:") {
            FoundIn::Cookie(n.to_string())
        } else {
            FoundIn::Header(s.to_string())
        })
    }
}

impl PartialEq<&str> for FoundIn {
    // A convenience for tests and matching; the display form is the definition.
    #[allow(clippy::cmp_owned)]
    fn eq(&self, other: &&str) -> bool {
        match self {
            FoundIn::Header(n) => n == other,
            FoundIn::Query(n) if n.is_empty() => *other == "query",
            FoundIn::Query(n) => other.strip_prefix("query:") == Some(n.as_str()),
            FoundIn::Cookie(n) => other.strip_prefix("cookie:") == Some(n.as_str()),
            FoundIn::Body => *other == "body",
            FoundIn::Path => *other == "path",
            FoundIn::AwsApi => *other == "aws-api",
            FoundIn::AwsExposureNotice => *other == "aws-exposure-notice",
            FoundIn::AwsLastUsed => *other == "aws-last-used",
        }
    }
}

impl Serialize for FoundIn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FoundIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(s.parse().unwrap_or(FoundIn::Body))
    }
}

impl Hit {
    /// A copy without the request headers (the bulk of a hit), for records
    /// that keep none, such as a flood counter. Every field is named, so a
    /// new field must be decided on here.
    pub fn without_headers(&self) -> Hit {
        let Hit {
            token_id,
            hit_id,
            received_at,
            source_ip,
            user_agent,
            method,
            path,
            query,
            headers: _,
            found_in,
            tampered,
            tampered_claims,
            orphan,
            test,
            ignored,
            geo,
            asn,
            token_state,
            label,
            location,
            request_id,
            via,
            count,
            origin_unverified,
            flood,
            aws_event,
            over_bounds,
            persona,
            scanner,
        } = self;
        Hit {
            token_id: token_id.clone(),
            hit_id: hit_id.clone(),
            received_at: *received_at,
            source_ip: source_ip.clone(),
            user_agent: user_agent.clone(),
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: BTreeMap::new(),
            found_in: found_in.clone(),
            tampered: *tampered,
            tampered_claims: tampered_claims.clone(),
            orphan: *orphan,
            test: *test,
            ignored: *ignored,
            geo: geo.clone(),
            asn: asn.clone(),
            token_state: *token_state,
            label: label.clone(),
            location: location.clone(),
            request_id: request_id.clone(),
            via: via.clone(),
            count: *count,
            origin_unverified: *origin_unverified,
            flood: flood.clone(),
            aws_event: aws_event.clone(),
            over_bounds: over_bounds.clone(),
            persona: persona.clone(),
            scanner: scanner.clone(),
        }
    }

    /// A suspicious request's record ([`SUSPICIOUS_REQUEST`]): no token,
    /// the request's fields, and what went past the bounds, which its
    /// label says for every output that shows one.
    pub fn suspicious(facts: &RequestFacts, received_at: Timestamp, over_bounds: Vec<String>, via: Via) -> Hit {
        Hit {
            token_id: SUSPICIOUS_REQUEST.into(),
            hit_id: new_hit_id(),
            received_at,
            source_ip: facts.source_ip.clone(),
            user_agent: facts.user_agent.clone(),
            method: facts.method.clone(),
            path: facts.path.clone(),
            query: facts.query.clone(),
            headers: facts.headers.clone(),
            found_in: FoundIn::Header(String::new()),
            tampered: false,
            tampered_claims: Vec::new(),
            orphan: false,
            test: false,
            ignored: false,
            geo: None,
            asn: None,
            token_state: None,
            label: suspicious_label(&over_bounds),
            location: String::new(),
            request_id: None,
            via,
            count: 1,
            origin_unverified: false,
            flood: None,
            aws_event: None,
            over_bounds,
            persona: None,
            scanner: None,
        }
    }

    /// Whether this is a suspicious request's record (no token).
    pub fn is_suspicious(&self) -> bool {
        self.token_id == SUSPICIOUS_REQUEST
    }

    /// Whether this hit should page someone.
    pub fn alerts(&self) -> bool {
        !self.ignored && self.token_state != Some(TokenState::Disabled)
    }

    /// The source address, parsed here once for whatever needs it as an
    /// address (allowlist ranges, Security Hub's IPv4 and IPv6 fields), in
    /// canonical form: an IPv4-mapped IPv6 peer (`::ffff:203.0.113.7`, as a
    /// dual-stack socket reports it) is its IPv4 address. `None` when the
    /// recorded text is not an address (a proxy's odd header).
    pub fn source_addr(&self) -> Option<std::net::IpAddr> {
        self.source_ip
            .trim()
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical())
    }
}

/// The request fields of a hit, captured once per request and shared by
/// every token the request carried.
#[derive(Debug, Clone)]
// Each field is the [`Hit`] field of the same name, documented there.
#[allow(missing_docs)]
pub struct RequestFacts {
    pub source_ip: String,
    pub user_agent: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
}

impl RequestFacts {
    /// Captures the request head, escaped and capped.
    pub fn capture(parts: &Parts, source_ip: &str) -> Self {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        let mut total = 0usize;
        for (name, value) in parts.headers.iter() {
            let name = escape(name.as_str().as_bytes(), caps::HEADER_NAME);
            if !headers.contains_key(&name) && headers.len() >= caps::HEADERS {
                continue;
            }
            let budget = caps::HEADER_VALUE.min(caps::HEADERS_TOTAL.saturating_sub(total));
            if budget == 0 {
                break;
            }
            let v = escape(value.as_bytes(), budget);
            total += name.len() + v.len();
            headers
                .entry(name)
                .and_modify(|e| {
                    if e.len() < caps::HEADER_VALUE {
                        e.push_str(", ");
                        e.push_str(&v);
                    }
                })
                .or_insert(v);
        }
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| escape(v.as_bytes(), caps::USER_AGENT))
            .unwrap_or_default();
        RequestFacts {
            source_ip: escape(source_ip.as_bytes(), caps::SOURCE_IP),
            user_agent,
            method: escape(parts.method.as_str().as_bytes(), caps::METHOD),
            path: escape(parts.uri.path().as_bytes(), caps::PATH),
            query: escape(parts.uri.query().unwrap_or("").as_bytes(), caps::QUERY),
            headers,
        }
    }
}

impl Hit {
    /// A plain hit for unit tests: `GET /v1/users` by curl with the token in
    /// `Authorization`, no flags, an active token; override fields as needed.
    #[cfg(any(test, feature = "testkit"))]
    pub fn sample(token_id: &str, source_ip: &str, received_at: &str) -> Hit {
        Hit {
            token_id: token_id.into(),
            hit_id: new_hit_id(),
            received_at: Timestamp::parse(received_at).expect("sample times are RFC 3339"),
            source_ip: source_ip.into(),
            user_agent: "curl/8.5.0".into(),
            method: "GET".into(),
            path: "/v1/users".into(),
            query: String::new(),
            headers: BTreeMap::new(),
            found_in: FoundIn::Header("authorization".into()),
            tampered: false,
            tampered_claims: vec![],
            orphan: false,
            test: false,
            ignored: false,
            geo: None,
            asn: None,
            token_state: Some(TokenState::Active),
            label: String::new(),
            location: String::new(),
            request_id: None,
            via: Via::Decoy,
            count: 1,
            origin_unverified: false,
            flood: None,
            aws_event: None,
            over_bounds: Vec::new(),
            persona: None,
            scanner: None,
        }
    }
}

/// How a suspicious request is shown wherever a token's label would be:
/// `suspicious request, no token: cookies, body`.
pub fn suspicious_label(over_bounds: &[String]) -> String {
    format!("suspicious request, no token: {}", over_bounds.join(", "))
}

/// A new hit id: a ULID, so ids sort by time.
pub fn new_hit_id() -> String {
    ulid::Ulid::new().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_headers_keeps_every_other_field() {
        let mut h = crate::testkit::hit_at("t", "203.0.113.7", 0, 0);
        h.headers.insert("x-a".into(), "1".into());
        h.geo = Some(Geo {
            country_code: Some("DE".into()),
            country: None,
            city: None,
            latitude: Some(1.5),
            longitude: None,
        });
        h.request_id = Some("r".into());
        h.tampered_claims = vec!["exp".into()];
        h.count = 3;
        h.aws_event = Some(AwsEvent {
            name: "GetCallerIdentity".into(),
            source: "sts.amazonaws.com".into(),
            region: "eu-west-1".into(),
            error_code: None,
        });
        let w = h.without_headers();
        assert!(w.headers.is_empty());
        assert_eq!(
            Hit {
                headers: h.headers.clone(),
                ..w
            },
            h
        );
    }

    #[test]
    fn an_aws_event_reads_as_one_line() {
        let mut e = AwsEvent {
            name: "GetCallerIdentity".into(),
            source: "sts.amazonaws.com".into(),
            region: "eu-west-1".into(),
            error_code: Some("AccessDenied".into()),
        };
        assert_eq!(
            e.to_string(),
            "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied"
        );
        e.error_code = None;
        e.region.clear();
        assert_eq!(e.to_string(), "GetCallerIdentity on sts.amazonaws.com in ?");
    }

    #[test]
    fn aws_api_round_trips_as_text() {
        let f: FoundIn = "aws-api".parse().unwrap();
        assert_eq!(f, FoundIn::AwsApi);
        assert_eq!(f.to_string(), "aws-api");
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"aws-api\"");
        let f: FoundIn = "aws-last-used".parse().unwrap();
        assert_eq!(f, FoundIn::AwsLastUsed);
        assert_eq!(f.to_string(), "aws-last-used");
        assert!(f == "aws-last-used");
    }

    #[test]
    fn a_scanner_label_is_kept_only_when_there_is_one() {
        let mut h = crate::testkit::hit_at("t", "203.0.113.7", 0, 0);
        let plain = serde_json::to_value(&h).unwrap();
        assert!(plain.get("scanner").is_none());
        h.scanner = Some("TruffleHog".into());
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["scanner"], "TruffleHog");
        let back: Hit = serde_json::from_value(v).unwrap();
        assert_eq!(back.scanner.as_deref(), Some("TruffleHog"));
        // A hit stored before the field existed reads back without one.
        let old: Hit = serde_json::from_value(plain).unwrap();
        assert_eq!(old.scanner, None);
    }

    #[test]
    fn aws_exposure_notice_round_trips_as_text() {
        let f: FoundIn = "aws-exposure-notice".parse().unwrap();
        assert_eq!(f, FoundIn::AwsExposureNotice);
        assert_eq!(f, "aws-exposure-notice");
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"aws-exposure-notice\"");
        let back: FoundIn = serde_json::from_str("\"aws-exposure-notice\"").unwrap();
        assert_eq!(back, FoundIn::AwsExposureNotice);
    }

    #[test]
    fn the_source_address_is_parsed_canonical() {
        let from = |ip: &str| crate::testkit::hit_at("t", ip, 0, 0).source_addr();
        assert_eq!(from("::ffff:203.0.113.7"), Some([203, 0, 113, 7].into()));
        assert_eq!(from(" 198.51.100.1 "), Some([198, 51, 100, 1].into()));
        let v6: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(from("2001:DB8:0::1"), Some(v6));
        assert_eq!(from("unknown, 10.0.0.1"), None);
        assert_eq!(from(""), None);
    }

    #[test]
    fn capture_caps_and_escapes() {
        let big = vec![b'a'; 1 << 20];
        let req = http::Request::builder()
            .uri("/v1/users?x=1")
            .header(
                "user-agent",
                http::HeaderValue::from_bytes(b"evil\xe2\x80\xae[2J\xff").unwrap(),
            )
            .header("x-big", http::HeaderValue::from_bytes(&big).unwrap())
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        let f = RequestFacts::capture(&parts, "127.0.0.1");
        assert_eq!(f.user_agent, "evil\\u{202e}[2J\\xff");
        assert!(f.headers["x-big"].len() < caps::HEADER_VALUE + 32);
        assert_eq!(f.path, "/v1/users");
        assert_eq!(f.query, "x=1");
    }

    #[test]
    fn many_headers_stay_within_total() {
        let mut b = http::Request::builder();
        for i in 0..500 {
            b = b.header(format!("x-h{i}"), "v".repeat(900));
        }
        let (parts, _) = b.body(()).unwrap().into_parts();
        let f = RequestFacts::capture(&parts, "::1");
        let total: usize = f.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(f.headers.len() <= caps::HEADERS);
        assert!(total <= caps::HEADERS_TOTAL + 64, "{total}");
    }
}
