//! Test hits: how `honeytoken test` marks its request so the decoy records
//! it as a test, and nobody else can.
//!
//! The mark rides in a W3C `traceparent` header, which instrumented HTTP
//! clients send all the time, so it announces nothing:
//!
//! ```text
//! traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-01
//!   parent-id = unix seconds (4 bytes, big endian) || random nonce (4 bytes)
//!   trace-id  = first 16 bytes of SigningKey::mac("test-hit", parent-id || token id)
//! ```
//!
//! The decoy accepts a mark only when the MAC verifies (constant time) for
//! the token the request carried, the timestamp is within [`MAX_SKEW_SECS`]
//! of its clock, and the (timestamp, nonce) pair was not seen before: by this
//! process (a memory), and by any other process or Lambda instance sharing
//! the store ([`crate::store::MarkStore`], a conditional write). The stored
//! hit of an accepted mark does not keep the header, so no alert payload
//! carries a mark a reader could replay. Anything else (a forged, stale or replayed mark, or a real
//! client's own trace header) leaves the hit a real one.

use http::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::key::SigningKey;

/// The header that carries the mark.
pub const HEADER: &str = "traceparent";
/// MAC domain (see [`SigningKey::mac`]).
pub const DOMAIN: &str = "test-hit";
/// Largest accepted distance between the mark's timestamp and the decoy's clock.
pub const MAX_SKEW_SECS: u64 = 300;
/// Marks remembered for replay detection; when full (after expiring old
/// ones), new marks are refused, which errs towards a real alert.
pub const REPLAY_CAPACITY: usize = 4096;

const MAC_LEN: usize = 16;

fn mac(key: &SigningKey, parent: &[u8; 8], token_id: &str) -> [u8; MAC_LEN] {
    let mut data = Vec::with_capacity(8 + token_id.len());
    data.extend_from_slice(parent);
    data.extend_from_slice(token_id.as_bytes());
    let full = key.mac(DOMAIN, &data);
    full[..MAC_LEN].try_into().expect("16 bytes")
}

/// The header value marking a test of `token_id` sent at `unix_secs`.
pub fn mark(key: &SigningKey, token_id: &str, unix_secs: u64, nonce: u32) -> String {
    let mut parent = [0u8; 8];
    parent[..4].copy_from_slice(&(unix_secs as u32).to_be_bytes());
    parent[4..].copy_from_slice(&nonce.to_be_bytes());
    format!(
        "00-{}-{}-01",
        hex::encode(mac(key, &parent, token_id)),
        hex::encode(parent)
    )
}

/// What a stored test hit keeps in place of its mark: a digest that lets
/// `honeytoken test` find its own hit, and that nobody can replay.
pub fn spent(mark: &str) -> String {
    use sha2::Digest;
    format!("spent:{}", hex::encode(&sha2::Sha256::digest(mark.as_bytes())[..12]))
}

/// A fresh mark for now, with a random nonce.
pub fn fresh_mark(key: &SigningKey, token_id: &str) -> String {
    mark(key, token_id, now_secs(), rand::random())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Splits a `traceparent` value into (trace-id, parent-id) bytes.
fn parse(value: &[u8]) -> Option<([u8; MAC_LEN], [u8; 8])> {
    if value.len() != 55 || !value.starts_with(b"00-") || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let mut trace = [0u8; MAC_LEN];
    let mut parent = [0u8; 8];
    hex::decode_to_slice(&value[3..35], &mut trace).ok()?;
    hex::decode_to_slice(&value[36..52], &mut parent).ok()?;
    Some((trace, parent))
}

/// The user-agent product a test of a decoy AWS key carries its mark in:
/// the SDK's app name, which it sends as `app/NAME` ("AppName", AWS SDK for
/// Rust). The User-Agent is the only caller-chosen field CloudTrail records
/// (`userAgent`).
pub const USER_AGENT_PRODUCT: &str = "app/";

/// A mark as an app name: its trace and parent ids (`<32 hex>-<16 hex>`,
/// 49 characters, within the 50 the SDK recommends for an app name),
/// without the `traceparent` version and flags.
pub fn app_name(mark: &str) -> &str {
    mark.get(3..52).unwrap_or(mark)
}

/// The mark a user agent carries as its app name ([`app_name`]), back in
/// its `traceparent` form, if it carries one of the right shape (not yet
/// verified).
pub fn mark_in_user_agent(user_agent: &str) -> Option<String> {
    user_agent
        .split_ascii_whitespace()
        .take(64)
        .filter_map(|p| p.strip_prefix(USER_AGENT_PRODUCT))
        .map(|m| format!("00-{m}-01"))
        .find(|m| parse(m.as_bytes()).is_some())
}

/// Whether `mark` is a valid mark for `token_id` made within
/// [`MAX_SKEW_SECS`] of `at_secs` (the call's own time, as CloudTrail
/// recorded it). No replay memory: CloudTrail delivers an event at least
/// once, and its redelivery must be judged as the first delivery was. A
/// mark is seen only by those who read the account's CloudTrail, is bound
/// to its token and expires with the window.
pub fn verify_mark_at(key: &SigningKey, mark: &str, token_id: &str, at_secs: u64) -> bool {
    let Some((trace, parent)) = parse(mark.as_bytes()) else {
        return false;
    };
    let ts = u32::from_be_bytes(parent[..4].try_into().expect("4 bytes")) as u64;
    ts.abs_diff(at_secs) <= MAX_SKEW_SECS && crate::domain::key::ct_eq(&trace, &mac(key, &parent, token_id))
}

/// Checks test marks; one per decoy process, remembering marks it accepted.
#[derive(Debug, Default)]
pub struct Verifier {
    seen: Mutex<HashMap<[u8; 8], u64>>,
}

impl Verifier {
    /// A verifier that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `headers` carry a valid, fresh, unused mark for `token_id`.
    pub fn verify(&self, key: &SigningKey, headers: &HeaderMap, token_id: &str) -> bool {
        self.verify_at(key, headers, token_id, now_secs())
    }

    /// [`Verifier::verify`], then the conditional write of the mark's nonce in
    /// `store`, so a mark is single-use across every process sharing it. A
    /// store that cannot be asked refuses the mark: the hit stays a real one.
    pub async fn verify_shared(
        &self,
        key: &SigningKey,
        headers: &HeaderMap,
        token_id: &str,
        store: Option<&dyn crate::store::MarkStore>,
    ) -> bool {
        let now = now_secs();
        let Some(parent) = self.check_at(key, headers, token_id, now) else {
            return false;
        };
        let Some(store) = store else {
            return true;
        };
        let nonce = format!("{token_id}-{}", hex::encode(parent));
        // Kept past the skew window, after which the mark is refused anyway.
        let expires = (now + 2 * MAX_SKEW_SECS) as i64;
        match store.claim_mark(&nonce, expires).await {
            Ok(first) => first,
            Err(e) => {
                tracing::warn!(event = "test_mark_unchecked", error = %e);
                false
            }
        }
    }

    /// [`Verifier::verify`] against a given clock.
    pub fn verify_at(&self, key: &SigningKey, headers: &HeaderMap, token_id: &str, now: u64) -> bool {
        self.check_at(key, headers, token_id, now).is_some()
    }

    /// The parent id of a valid, fresh mark this process has not accepted before.
    fn check_at(&self, key: &SigningKey, headers: &HeaderMap, token_id: &str, now: u64) -> Option<[u8; 8]> {
        // A client may send several; look at a few, never at an unbounded number.
        for value in headers.get_all(HEADER).iter().take(4) {
            let Some((trace, parent)) = parse(value.as_bytes()) else {
                continue;
            };
            let ts = u32::from_be_bytes(parent[..4].try_into().expect("4 bytes")) as u64;
            if ts.abs_diff(now) > MAX_SKEW_SECS {
                continue;
            }
            if !crate::domain::key::ct_eq(&trace, &mac(key, &parent, token_id)) {
                continue;
            }
            return self.first_use(parent, ts, now).then_some(parent);
        }
        None
    }

    fn first_use(&self, parent: [u8; 8], ts: u64, now: u64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.contains_key(&parent) {
            return false;
        }
        if seen.len() >= REPLAY_CAPACITY {
            // Marks older than the skew window are refused anyway: forget them.
            seen.retain(|_, t| t.abs_diff(now) <= MAX_SKEW_SECS);
            if seen.len() >= REPLAY_CAPACITY {
                return false;
            }
        }
        seen.insert(parent, ts);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret(&[9u8; 32]).unwrap()
    }

    #[test]
    fn a_mark_rides_in_an_sdk_user_agent_and_verifies_at_the_calls_time() {
        let k = key();
        let m = mark(&k, "AKIAIOSFODNN7EXAMPLE", 1_800_000_000, 7);
        assert_eq!(app_name(&m).len(), 49);
        // As the AWS SDK for Rust sends an app name, and CloudTrail records it.
        let ua = format!(
            "aws-sdk-rust/1.3.9 ua/2.1 api/sts/1.124.0 os/linux lang/rust/1.95.0 {USER_AGENT_PRODUCT}{}",
            app_name(&m)
        );
        let found = mark_in_user_agent(&ua).unwrap();
        assert_eq!(found, m);
        assert!(verify_mark_at(&k, &found, "AKIAIOSFODNN7EXAMPLE", 1_800_000_000 + 240));
        // Redelivered, the same event is judged the same.
        assert!(verify_mark_at(&k, &found, "AKIAIOSFODNN7EXAMPLE", 1_800_000_000 + 240));
        // Another token, another key, outside the window, a forged mark: no.
        assert!(!verify_mark_at(&k, &found, "AKIAI44QH8DHBEXAMPLE", 1_800_000_000));
        let other = SigningKey::from_secret(&[8u8; 32]).unwrap();
        assert!(!verify_mark_at(&other, &found, "AKIAIOSFODNN7EXAMPLE", 1_800_000_000));
        assert!(!verify_mark_at(
            &k,
            &found,
            "AKIAIOSFODNN7EXAMPLE",
            1_800_000_000 + MAX_SKEW_SECS + 1
        ));
        let forged = format!("00-{}-{}-01", "0".repeat(32), &m[36..52]);
        assert!(!verify_mark_at(&k, &forged, "AKIAIOSFODNN7EXAMPLE", 1_800_000_000));
        // Ordinary user agents carry none.
        for ua in ["aws-cli/2.22.0 md/arch#x86_64", "TruffleHog", "app/myapp", ""] {
            assert_eq!(mark_in_user_agent(ua), None, "{ua}");
        }
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, v.parse().unwrap());
        h
    }

    #[test]
    fn mark_looks_like_a_w3c_traceparent() {
        let m = mark(&key(), "0011223344556677", 1_800_000_000, 42);
        assert_eq!(m.len(), 55);
        let parts: Vec<&str> = m.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!((parts[0], parts[3]), ("00", "01"));
        assert!(parts[1].len() == 32 && parts[2].len() == 16);
        assert!(
            m.bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[test]
    fn valid_mark_is_accepted_once() {
        let (k, v) = (key(), Verifier::new());
        let now = 1_800_000_000;
        let h = headers(&mark(&k, "0011223344556677", now, 7));
        assert!(v.verify_at(&k, &h, "0011223344556677", now + 3));
        assert!(
            !v.verify_at(&k, &h, "0011223344556677", now + 4),
            "a replay is a real hit"
        );
    }

    #[test]
    fn forged_stale_and_misbound_marks_are_refused() {
        let (k, v) = (key(), Verifier::new());
        let now = 1_800_000_000;
        let other = SigningKey::from_secret(&[8u8; 32]).unwrap();
        assert!(!v.verify_at(
            &k,
            &headers(&mark(&other, "0011223344556677", now, 1)),
            "0011223344556677",
            now
        ));
        assert!(!v.verify_at(
            &k,
            &headers(&mark(&k, "0011223344556677", now, 2)),
            "8899aabbccddeeff",
            now
        ));
        assert!(!v.verify_at(
            &k,
            &headers(&mark(&k, "0011223344556677", now - 301, 3)),
            "0011223344556677",
            now
        ));
        assert!(!v.verify_at(
            &k,
            &headers(&mark(&k, "0011223344556677", now + 301, 4)),
            "0011223344556677",
            now
        ));
        // A real client's random trace header.
        let random = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(!v.verify_at(&k, &headers(random), "0011223344556677", now));
        // One flipped bit in the MAC.
        let good = mark(&k, "0011223344556677", now, 5);
        let mut bad = good.clone().into_bytes();
        bad[3] = if bad[3] == b'0' { b'1' } else { b'0' };
        assert!(!v.verify_at(
            &k,
            &headers(std::str::from_utf8(&bad).unwrap()),
            "0011223344556677",
            now
        ));
        assert!(v.verify_at(&k, &headers(&good), "0011223344556677", now));
    }

    #[test]
    fn replay_memory_is_bounded_and_forgets_expired_marks() {
        let (k, v) = (key(), Verifier::new());
        let t0 = 1_800_000_000;
        for n in 0..REPLAY_CAPACITY as u32 {
            assert!(v.verify_at(
                &k,
                &headers(&mark(&k, "0011223344556677", t0, n)),
                "0011223344556677",
                t0
            ));
        }
        let next = headers(&mark(&k, "0011223344556677", t0, u32::MAX));
        assert!(
            !v.verify_at(&k, &next, "0011223344556677", t0),
            "full: refuse rather than forget live marks"
        );
        let later = t0 + MAX_SKEW_SECS + 10;
        assert!(v.verify_at(
            &k,
            &headers(&mark(&k, "0011223344556677", later, 1)),
            "0011223344556677",
            later
        ));
        assert_eq!(v.seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_mark_is_single_use_across_processes_sharing_the_store() {
        use crate::store::MarkStore;
        let k = key();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        // Two "processes": separate verifiers and separate connections to one database.
        let (a, b) = (
            crate::store::sqlite::SqliteStore::open(&db).unwrap(),
            crate::store::sqlite::SqliteStore::open(&db).unwrap(),
        );
        let (va, vb) = (Verifier::new(), Verifier::new());
        let h = headers(&fresh_mark(&k, "0011223344556677"));
        assert!(
            va.verify_shared(&k, &h, "0011223344556677", Some(&a as &dyn MarkStore))
                .await
        );
        assert!(
            !vb.verify_shared(&k, &h, "0011223344556677", Some(&b as &dyn MarkStore))
                .await,
            "replayed against another process"
        );
        let mem = crate::store::memory::MemoryStore::new();
        assert!(mem.claim_mark("n", i64::MAX).await.unwrap());
        assert!(!mem.claim_mark("n", i64::MAX).await.unwrap());
    }

    #[tokio::test]
    async fn decoy_flags_a_marked_request_as_a_test_and_a_forged_one_as_real() {
        use crate::decoy::{Decoy, RequestMeta};
        use crate::domain::token::{MintSpec, mint};
        use crate::store::TokenStore;
        let k = key();
        let store = std::sync::Arc::new(crate::store::memory::MemoryStore::new());
        let t = mint(
            &k,
            &MintSpec::Jwt { issuer: "i".into() },
            "l",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&t).await.unwrap();
        let decoy = Decoy::new(k.clone(), store.clone(), store.clone()).with_marks(store.clone());
        let send = |mark: String| {
            let req = http::Request::builder()
                .uri("/v1/x")
                .header("authorization", format!("Bearer {}", t.token))
                .header(HEADER, mark)
                .body(bytes::Bytes::new())
                .unwrap();
            decoy.record(req, RequestMeta::default())
        };
        let good = fresh_mark(&k, &t.id);
        let first = send(good.clone()).await;
        assert!(first[0].test);
        assert_eq!(
            first[0].headers[HEADER],
            spent(&good),
            "an accepted mark is not kept where an alert could show it"
        );
        // Another decoy process over the same store refuses it too.
        let other = Decoy::new(k.clone(), store.clone(), store.clone()).with_marks(store.clone());
        let replay = http::Request::builder()
            .uri("/v1/x")
            .header("authorization", format!("Bearer {}", t.token))
            .header(HEADER, good.clone())
            .body(bytes::Bytes::new())
            .unwrap();
        assert!(
            !other.record(replay, RequestMeta::default()).await[0].test,
            "replayed elsewhere"
        );
        assert!(!send(good).await[0].test, "replayed");
        let forged = fresh_mark(&SigningKey::from_secret(&[1u8; 32]).unwrap(), &t.id);
        let h = send(forged).await;
        assert!(!h[0].test && h[0].alerts());
        assert_eq!(
            crate::domain::alert::severity(&h[0]),
            crate::domain::alert::Severity::Critical
        );
    }
}
