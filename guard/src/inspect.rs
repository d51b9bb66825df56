//! Inspection: which of this deployment's tokens a request carries, and the
//! hit record for each.

use http::request::Parts;
use http::{Extensions, HeaderMap, HeaderName};
use std::net::{IpAddr, SocketAddr};

use honeytoken_core::hit::{FoundIn, Hit, RequestFacts, Via, new_hit_id};
use honeytoken_core::key::SigningKey;
use honeytoken_core::sanitize::escape_str;
use honeytoken_core::time::Timestamp;
use honeytoken_core::token::extract::{Limits, extract};
use honeytoken_core::token::jwt::JwtInspection;
use honeytoken_core::token::{TokenKind, recognise};

/// One honeytoken found in a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Token id.
    pub token_id: String,
    /// Key or JWT.
    pub kind: TokenKind,
    /// Where in the request it was.
    pub found_in: FoundIn,
    /// For a JWT, what it says about itself (signature, claims), so the
    /// store side can tell a tampered token.
    pub jwt: Option<JwtInspection>,
}

/// What one request (or its head, or its body) carries: the honeytokens
/// found, and the parts past the scan bounds (a token there was not looked
/// for). Either makes the request worth recording: tokens as hits that name
/// the skipped parts too; skipped parts alone as one suspicious request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// One per token.
    pub detections: Vec<Detection>,
    /// The skipped parts' names, as a hit's `over_bounds` keeps them.
    pub over_bounds: Vec<String>,
}

impl Inspection {
    /// Nothing to record: no token and nothing past the bounds.
    pub fn is_empty(&self) -> bool {
        self.detections.is_empty() && self.over_bounds.is_empty()
    }

    /// What a body, inspected once it is in, adds to its request's head
    /// (`self`, whose tokens were reported when the head arrived): the
    /// body's tokens the head did not carry, with the skipped parts of
    /// both. A head that carried tokens leaves nothing for a body without
    /// new ones (its hits stand); a head without any leaves the whole
    /// request's skipped parts, for one suspicious request.
    pub fn with_body(&self, body: Inspection) -> Inspection {
        let detections: Vec<Detection> = body
            .detections
            .into_iter()
            .filter(|d| !self.detections.iter().any(|h| h.token_id == d.token_id))
            .collect();
        if detections.is_empty() && !self.detections.is_empty() {
            return Inspection::default();
        }
        let mut over_bounds = self.over_bounds.clone();
        for s in body.over_bounds {
            if !over_bounds.contains(&s) {
                over_bounds.push(s);
            }
        }
        Inspection {
            detections,
            over_bounds,
        }
    }
}

/// The client address of a connection, as a server puts it in the request's
/// extensions (the proxy does; axum's `ConnectInfo` can be read with
/// [`Guard::with_peer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Reads the peer address from a request's extensions.
pub type PeerFn = fn(&Extensions) -> Option<IpAddr>;

fn default_peer(ext: &Extensions) -> Option<IpAddr> {
    ext.get::<ClientAddr>()
        .map(|c| c.0.ip())
        .or_else(|| ext.get::<SocketAddr>().map(|s| s.ip()))
}

/// Where the hit's source address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The connection's peer (from the request's extensions).
    Peer,
    /// A header set by a trusted proxy in front of the service (for example
    /// `x-forwarded-for` from a load balancer). The last address in it is
    /// used: that is the one the trusted proxy itself appended; anything
    /// before it came from the client and may be forged. Without the header
    /// the peer address is used.
    TrustedHeader(HeaderName),
}

/// Inspects requests for this deployment's honeytokens. Cheap to share
/// (`Arc`); inspection is pure CPU with bounded work per request.
#[derive(Clone)]
pub struct Guard {
    key: SigningKey,
    service: String,
    limits: Limits,
    source: Source,
    peer: PeerFn,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Guard")
            .field("service", &self.service)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard for `service` (the name alerts show: "used against <service>"),
    /// recognising tokens signed with `key`.
    pub fn new(key: SigningKey, service: &str) -> Self {
        Guard {
            key,
            service: escape_str(service, 128),
            limits: Limits::default(),
            source: Source::Peer,
            peer: default_peer,
        }
    }

    /// Bounds on what one request makes the guard look at.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the source address comes from (default: the peer).
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// How to read the peer address from a request's extensions (default:
    /// a [`ClientAddr`] or a bare `SocketAddr`). With axum:
    /// `|e| e.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())`.
    pub fn with_peer(mut self, peer: PeerFn) -> Self {
        self.peer = peer;
        self
    }

    /// Body bytes the extraction scans (it looks at no more).
    pub fn body_scan(&self) -> usize {
        self.limits.body_scan
    }

    /// Body bytes a caller should hand to [`Guard::examine`] at most: one
    /// more than it scans, so a body past the bound is recorded as such.
    pub fn body_keep(&self) -> usize {
        self.limits.body_keep()
    }

    /// The service name hits carry.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The honeytokens `parts` and `body_prefix` (the first bytes of the
    /// body, if the caller has them; `&[]` otherwise) carry, one per token.
    pub fn inspect(&self, parts: &Parts, body_prefix: &[u8]) -> Vec<Detection> {
        self.examine(parts, body_prefix).detections
    }

    /// The honeytokens `parts` and `body_prefix` carry (as
    /// [`Guard::inspect`]) and the parts of the request past the scan
    /// bounds, the same extraction as the decoy's.
    pub fn examine(&self, parts: &Parts, body_prefix: &[u8]) -> Inspection {
        let extraction = extract(parts, body_prefix, &self.limits);
        let over_bounds = extraction.over_bounds();
        let mut out: Vec<Detection> = Vec::new();
        for c in extraction.candidates {
            if let Some(r) = recognise(&self.key, &c.value)
                && !out.iter().any(|d| d.token_id == r.token_id)
            {
                out.push(Detection {
                    token_id: r.token_id,
                    kind: r.kind,
                    found_in: c.found_in,
                    jwt: r.jwt,
                });
            }
        }
        Inspection {
            detections: out,
            over_bounds,
        }
    }

    /// What to report of a request `parts` whose inspection is `found`, as
    /// the decoy records it: a hit per token, naming the skipped parts too;
    /// with no token but parts past the bounds, one suspicious request
    /// ([`Hit::suspicious`]); else nothing.
    pub fn reports(&self, parts: &Parts, found: &Inspection) -> Vec<crate::Report> {
        if found.detections.is_empty() {
            if found.over_bounds.is_empty() {
                return Vec::new();
            }
            let source = self.source_ip(&parts.headers, &parts.extensions);
            let facts = RequestFacts::capture(parts, &source);
            let hit = Hit::suspicious(&facts, Timestamp::now(), found.over_bounds.clone(), self.via());
            return vec![crate::Report { hit, jwt: None }];
        }
        self.hits(parts, &found.detections)
            .into_iter()
            .zip(&found.detections)
            .map(|(mut hit, d)| {
                hit.over_bounds.clone_from(&found.over_bounds);
                crate::Report {
                    hit,
                    jwt: d.jwt.clone(),
                }
            })
            .collect()
    }

    fn via(&self) -> Via {
        Via::Guard {
            service: self.service.clone(),
        }
    }

    /// The source address of a request: the trusted header's last address
    /// if configured and present, else the peer, else `unknown`.
    pub fn source_ip(&self, headers: &HeaderMap, ext: &Extensions) -> String {
        if let Source::TrustedHeader(name) = &self.source
            && let Some(ip) = last_address(headers, name)
        {
            return ip.to_string();
        }
        (self.peer)(ext)
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_else(|| "unknown".into())
    }

    /// The hit records for `detections` (what the guard knows: the store
    /// side adds the token's label, location and state).
    pub fn hits(&self, parts: &Parts, detections: &[Detection]) -> Vec<Hit> {
        if detections.is_empty() {
            return Vec::new();
        }
        let source = self.source_ip(&parts.headers, &parts.extensions);
        let facts = RequestFacts::capture(parts, &source);
        let received_at = Timestamp::now();
        detections
            .iter()
            .map(|d| Hit {
                token_id: d.token_id.clone(),
                hit_id: new_hit_id(),
                received_at,
                source_ip: facts.source_ip.clone(),
                user_agent: facts.user_agent.clone(),
                method: facts.method.clone(),
                path: facts.path.clone(),
                query: facts.query.clone(),
                headers: facts.headers.clone(),
                found_in: d.found_in.clone(),
                tampered: d.jwt.as_ref().is_some_and(|j| !j.signature_valid),
                tampered_claims: Vec::new(),
                // Until the store side finds the token's record.
                orphan: false,
                test: false,
                ignored: false,
                geo: None,
                asn: None,
                token_state: None,
                label: String::new(),
                location: String::new(),
                request_id: None,
                via: self.via(),
                count: 1,
                origin_unverified: false,
                flood: None,
                aws_event: None,
                over_bounds: Vec::new(),
                persona: None,
                scanner: None,
            })
            .collect()
    }
}

/// The last address in a (possibly comma-separated, possibly repeated) header.
fn last_address(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    let v = headers.get_all(name).iter().next_back()?;
    let last = v.to_str().ok()?.rsplit(',').next()?.trim();
    // `1.2.3.4:5678` and `[::1]:5678` as some proxies write them.
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use honeytoken_core::testkit::key;
    use honeytoken_core::token::{Alphabet, KeyShape, MintSpec, mint};

    fn minted(kind: &str) -> String {
        let spec = match kind {
            "jwt" => MintSpec::Jwt {
                issuer: "https://auth.acme.test".into(),
            },
            _ => MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        };
        mint(&key(7), &spec, "l", "loc", "", time::OffsetDateTime::now_utc())
            .unwrap()
            .token
    }

    fn parts(b: http::request::Builder) -> Parts {
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn finds_tokens_in_headers_query_cookies_and_body_once_each() {
        let g = Guard::new(key(7), "payments");
        let k = minted("key");
        let j = minted("jwt");
        let p = parts(
            http::Request::builder()
                .uri(format!("/v1/charges?api_key={k}"))
                .header("authorization", format!("Bearer {k}"))
                .header("cookie", format!("session={j}")),
        );
        let d = g.inspect(&p, b"");
        assert_eq!(d.len(), 2, "one detection per token: {d:?}");
        assert_eq!(d[0].found_in, "authorization");
        assert_eq!(d[0].kind, TokenKind::Key);
        assert_eq!(d[1].found_in, "cookie:session");
        assert_eq!(d[1].kind, TokenKind::Jwt);
        let p = parts(http::Request::builder().method("POST").uri("/v1/charges"));
        let d = g.inspect(&p, format!("{{\"key\":\"{k}\"}}").as_bytes());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].found_in, "body");
    }

    /// The guard runs the core's extraction: every evasion the decoy's
    /// bounds are made for is caught here too, where the layer and the proxy
    /// call it (the layer with no body, the proxy with the body's first bytes).
    #[test]
    fn every_evasion_of_the_scan_bounds_is_found() {
        let g = Guard::new(key(7), "payments");
        let k = minted("key");
        let evasions = honeytoken_core::testkit::evasions(&k);
        assert!(evasions.len() >= 12);
        for e in evasions {
            let (p, body) = e.request.into_parts();
            let d = g.inspect(&p, &body);
            assert_eq!(d.len(), 1, "{}: {d:?}", e.name);
            assert_eq!(d[0].found_in, e.found_in, "{}", e.name);
            assert_eq!(d[0].kind, TokenKind::Key, "{}", e.name);
        }
    }

    /// What the decoy records, the guard reports: a request past the bounds
    /// with no token is one suspicious request naming what was skipped; one
    /// with a token is its hit, naming the skipped parts too.
    #[test]
    fn a_request_past_the_bounds_is_reported_as_the_decoy_records_it() {
        let g = Guard::new(key(7), "payments");
        let k = minted("key");
        let padded = |auth: Option<&str>| {
            let mut b = http::Request::builder()
                .uri("/v1/charges")
                .header("cookie", format!("pad={}; session={k}", "x".repeat(80 * 1024)));
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            parts(b)
        };
        let p = padded(None);
        let found = g.examine(&p, b"");
        assert!(found.detections.is_empty());
        assert_eq!(found.over_bounds, ["cookies"]);
        let r = g.reports(&p, &found);
        assert_eq!(r.len(), 1);
        assert!(r[0].hit.is_suspicious());
        assert_eq!(r[0].hit.over_bounds, ["cookies"]);
        assert_eq!(r[0].hit.label, "suspicious request, no token: cookies");
        assert_eq!(
            r[0].hit.via,
            Via::Guard {
                service: "payments".into()
            }
        );
        let p = padded(Some(&format!("Bearer {k}")));
        let r = g.reports(&p, &g.examine(&p, b""));
        assert_eq!(r.len(), 1);
        assert!(!r[0].hit.is_suspicious());
        assert_eq!(r[0].hit.found_in, "authorization");
        assert_eq!(r[0].hit.over_bounds, ["cookies"]);
        // Within the bounds and no token: nothing.
        let p = parts(http::Request::builder().uri("/v1/charges"));
        assert!(g.reports(&p, &g.examine(&p, b"")).is_empty());
    }

    /// A head inspected on arrival and its body once in: the body adds its
    /// new tokens, and a head without any leaves the request's skipped parts.
    #[test]
    fn a_body_adds_to_its_heads_inspection() {
        let g = Guard::new(key(7), "payments");
        let k = minted("key");
        let j = minted("jwt");
        let empty = parts(http::Request::builder().uri("/"));
        let head_over = Inspection {
            detections: vec![],
            over_bounds: vec!["cookies".into()],
        };
        let body_past = g.examine(&empty, format!("{}{k}", " ".repeat(64 * 1024 + 1)).as_bytes());
        assert_eq!(body_past.over_bounds, ["body"]);
        assert!(body_past.detections.is_empty());
        let both = head_over.with_body(body_past.clone());
        assert!(both.detections.is_empty());
        assert_eq!(both.over_bounds, ["cookies", "body"]);
        // A head that carried a token: a body without a new one adds nothing.
        let head_token = g.examine(
            &parts(
                http::Request::builder()
                    .uri("/")
                    .header("authorization", format!("Bearer {k}")),
            ),
            b"",
        );
        assert!(head_token.with_body(body_past).is_empty());
        let body_new = g.examine(&empty, format!("{{\"t\":\"{j}\",\"k\":\"{k}\"}}").as_bytes());
        let added = head_token.with_body(body_new);
        assert_eq!(added.detections.len(), 1, "only the token the head did not carry");
        assert_eq!(added.detections[0].kind, TokenKind::Jwt);
    }

    #[test]
    fn ignores_other_deployments_and_ordinary_requests() {
        let g = Guard::new(key(8), "payments");
        let p = parts(
            http::Request::builder()
                .uri("/v1/charges?limit=10")
                .header("authorization", format!("Bearer {}", minted("key")))
                .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
        );
        assert!(g.inspect(&p, b"").is_empty());
    }

    #[test]
    fn hits_say_guard_and_the_service_and_take_the_trusted_proxys_address() {
        let g = Guard::new(key(7), "payments")
            .with_source(Source::TrustedHeader(HeaderName::from_static("x-forwarded-for")));
        let k = minted("key");
        let mut p = parts(
            http::Request::builder()
                .uri("/v1/charges")
                .header("authorization", format!("Bearer {k}"))
                .header("x-forwarded-for", "6.6.6.6, 203.0.113.9"),
        );
        p.extensions.insert(ClientAddr("10.0.0.2:4000".parse().unwrap()));
        let d = g.inspect(&p, b"");
        let h = g.hits(&p, &d);
        assert_eq!(h.len(), 1);
        assert_eq!(
            h[0].via,
            Via::Guard {
                service: "payments".into()
            }
        );
        assert_eq!(h[0].source_ip, "203.0.113.9", "the address the trusted proxy appended");
        assert_eq!(h[0].found_in, "authorization");
        // Without the header (or without trusting one), the peer.
        p.headers.remove("x-forwarded-for");
        assert_eq!(g.hits(&p, &d)[0].source_ip, "10.0.0.2");
        let g = Guard::new(key(7), "payments");
        p.headers.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        assert_eq!(
            g.hits(&p, &d)[0].source_ip,
            "10.0.0.2",
            "an untrusted header is ignored"
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = format!("{:?}", Guard::new(key(7), "payments"));
        assert!(!s.contains("key") || !s.contains("7, 7"), "{s}");
    }
}
