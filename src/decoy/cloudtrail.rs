//! Decoy AWS access keys: an EventBridge event carrying a CloudTrail record
//! of a call made with one ("AWS API Call via CloudTrail") becomes a hit,
//! written through the same [`HitStore`] and flood rule as the decoy
//! endpoint's, so the stream alerter does the rest.
//!
//! The event is AWS's, but half its fields are the caller's (`userAgent`,
//! request parameters) and any of them may be missing: every field is
//! escaped and capped, and an event missing fields is still recorded with
//! what it has, never refused. The shape is CloudTrail's record contents
//! ("CloudTrail record contents for management, data, and network activity
//! events", CloudTrail user guide) inside EventBridge's envelope
//! (`detail`).
//!
//! AWS's own exposure notice arrives the same way: when AWS finds an access
//! key in public it attaches its `AWSCompromisedKeyQuarantine…` managed
//! policy to the key's user, a call AWS makes, whose event names the user
//! but not the key. [`Recorder::handle`] records it against every decoy
//! token of that user (`found_in=aws-exposure-notice`) and ignores it for
//! any other user.
//!
//! EventBridge delivers at least once. The hit id is derived from
//! CloudTrail's `eventID` (a ULID whose time is the call's and whose random
//! part is a hash of the id), so a redelivered event writes the same item
//! again: one hit, and the alerter alerts once per hit id. A redelivery of
//! a call counted in a flood's counter counts it again (the count is at
//! least the calls made).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::domain::flood::FloodRule;
use crate::domain::hit::{AwsEvent, FoundIn, Hit, Via, caps};
use crate::domain::sanitize::escape;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenKind;
use crate::error::Result;
use crate::store::{HitStore, Kept, TokenStore};

/// What `detail-type` says of a CloudTrail API call event.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// What `detail-type` says of an EventBridge schedule's event.
pub const SCHEDULED_DETAIL_TYPE: &str = "Scheduled Event";

/// Whether `event` is the safety net's schedule firing (an EventBridge
/// scheduled event: `source` `aws.events`, `detail-type` "Scheduled
/// Event"), rather than a CloudTrail record. Only the rules the template
/// names may invoke the function, and a CloudTrail rule's events always
/// have their own detail type, so the two cannot be mistaken.
pub fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some(SCHEDULED_DETAIL_TYPE)
}

/// The token id of a hit whose event names no access key.
pub const UNKNOWN_KEY: &str = "unknown-aws-key";

/// The name every version of AWS's quarantine policy starts with
/// (`AWSCompromisedKeyQuarantine`, `…V2`, `…V3`: AWS managed policy
/// reference), under `arn:PARTITION:iam::aws:policy/`.
pub const QUARANTINE_POLICY: &str = "AWSCompromisedKeyQuarantine";

/// IAM user names are at most 64 characters (IAM API reference,
/// CreateUser): a longer one in an event is no user of ours.
const MAX_USER_NAME: usize = 64;

/// A string field of `v` at `path`, escaped and capped at `cap` bytes;
/// empty when missing or not a string.
fn field(v: &Value, path: &[&str], cap: usize) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    cur.as_str().map(|s| escape(s.as_bytes(), cap)).unwrap_or_default()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The hit id for an event: a ULID of the call's millisecond whose random
/// part is the first 80 bits of SHA-256 over `event_id`, so the same event
/// always gets the same id and ids still sort by time.
pub fn hit_id_for(event_id: &str, at: Timestamp) -> String {
    let ms = u64::try_from(at.time().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let digest = Sha256::digest(event_id.as_bytes());
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    ulid::Ulid::from_parts(ms, u128::from_be_bytes(random)).to_string()
}

/// The hit an event stands for, before its token's record is read (label,
/// location, state and orphan are filled by [`Recorder::record`]). Pure: no
/// I/O, never fails. `now` is the time used when the event carries none.
pub fn hit_from_event(event: &Value, now: Timestamp) -> Hit {
    let detail = event.get("detail").unwrap_or(&Value::Null);
    let at = [field(detail, &["eventTime"], 64), field(event, &["time"], 64)]
        .iter()
        .find_map(|t| Timestamp::parse(t))
        .unwrap_or(now);
    let token_id = non_empty(field(detail, &["userIdentity", "accessKeyId"], caps::AWS_FIELD))
        .unwrap_or_else(|| UNKNOWN_KEY.to_string());
    // CloudTrail's eventID, else EventBridge's own event id; with neither,
    // the whole event stands for itself (the same bytes redelivered are the
    // same hit).
    let event_id = non_empty(field(detail, &["eventID"], caps::AWS_FIELD))
        .or_else(|| non_empty(field(event, &["id"], caps::AWS_FIELD)))
        .unwrap_or_else(|| event.to_string());
    let mut hit = blank_hit(&token_id, &hit_id_for(&event_id, at), at);
    // An address, or a service name (`AWS Internal`, `ec2.amazonaws.com`)
    // when a service made the call on the caller's behalf: kept as given.
    hit.source_ip = field(detail, &["sourceIPAddress"], caps::SOURCE_IP);
    hit.user_agent = field(detail, &["userAgent"], caps::USER_AGENT);
    // A secret scanner verifying the key: labelled, recorded and alerted
    // like any other call.
    hit.scanner = crate::domain::scanner::scanner_for(&hit.user_agent).map(str::to_string);
    hit.found_in = FoundIn::AwsApi;
    hit.request_id = non_empty(field(detail, &["requestID"], caps::AWS_FIELD));
    hit.aws_event = Some(AwsEvent {
        name: field(detail, &["eventName"], caps::AWS_FIELD),
        source: field(detail, &["eventSource"], caps::AWS_FIELD),
        region: non_empty(field(detail, &["awsRegion"], caps::AWS_FIELD))
            .unwrap_or_else(|| field(event, &["region"], caps::AWS_FIELD)),
        error_code: non_empty(field(detail, &["errorCode"], caps::AWS_FIELD)),
    });
    hit
}

/// Whether `arn` is one of AWS's quarantine policies, in any partition.
fn is_quarantine_policy(arn: &str) -> bool {
    arn.strip_prefix("arn:")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(_partition, rest)| rest.strip_prefix("iam::aws:policy/"))
        .is_some_and(|name| name.starts_with(QUARANTINE_POLICY))
}

/// The user an exposure notice names: the event is AWS attaching its
/// quarantine policy to a user (`AttachUserPolicy` on `iam.amazonaws.com`,
/// a `policyArn` of [`QUARANTINE_POLICY`], no `errorCode`). A failed call
/// is not AWS's (a decoy user may try the same call: the deny-all group
/// refuses it, and it is that user's `aws-api` hit). `None` for any other
/// event. The name is the event's raw string, only compared, never stored.
pub fn exposure_notice_user(event: &Value) -> Option<&str> {
    let detail = event.get("detail")?;
    fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
        v.get(k).and_then(Value::as_str)
    }
    if s(detail, "eventSource") != Some("iam.amazonaws.com")
        || s(detail, "eventName") != Some("AttachUserPolicy")
        || detail.get("errorCode").is_some_and(|e| !e.is_null())
    {
        return None;
    }
    let params = detail.get("requestParameters")?;
    if !s(params, "policyArn").is_some_and(is_quarantine_policy) {
        return None;
    }
    s(params, "userName").filter(|u| !u.is_empty() && u.len() <= MAX_USER_NAME)
}

/// The hit an exposure notice stands for, for the decoy key `key_id` of
/// the user it names: the call as [`hit_from_event`] reads it, with its
/// own hit id per key (the same event for the same key is the same hit).
pub fn exposure_hit(event: &Value, key_id: &str, now: Timestamp) -> Hit {
    let mut hit = hit_from_event(event, now);
    hit.hit_id = hit_id_for(&format!("{}/{key_id}", hit.hit_id), hit.received_at);
    hit.token_id = escape(key_id.as_bytes(), caps::AWS_FIELD);
    hit.found_in = FoundIn::AwsExposureNotice;
    hit
}

/// Turns CloudTrail events of decoy AWS keys into stored hits.
pub struct Recorder {
    tokens: Arc<dyn TokenStore>,
    hits: Arc<dyn HitStore>,
    flood: FloodRule,
    test_key: Option<crate::domain::key::SigningKey>,
}

impl Recorder {
    /// Reads tokens (by access key id) from `tokens` and writes hits to
    /// `hits` under `flood`.
    pub fn new(tokens: Arc<dyn TokenStore>, hits: Arc<dyn HitStore>, flood: FloodRule) -> Self {
        Recorder {
            tokens,
            hits,
            flood,
            test_key: None,
        }
    }

    /// Recognises `honeytoken test`'s calls: a user agent carrying a test
    /// mark ([`super::testmark::mark_in_user_agent`]) that verifies under
    /// `key` for the key used, at the call's time, makes the hit a test
    /// (`test: true`, which never pages), its mark kept spent.
    pub fn with_test_key(mut self, key: crate::domain::key::SigningKey) -> Self {
        self.test_key = Some(key);
        self
    }

    /// Records one event the rules delivered: AWS's exposure notice as a
    /// hit for each decoy key of the user it names (none when the user is
    /// not a decoy's), any other event as [`Recorder::record`] does. An
    /// error only when the tokens could not be read or a hit could not be
    /// stored, so the caller can have the event delivered again.
    pub async fn handle(&self, event: &Value) -> Result<Vec<(Hit, Kept)>> {
        match exposure_notice_user(event) {
            Some(user) => self.record_exposure(event, user).await,
            None => Ok(vec![self.record(event).await?]),
        }
    }

    async fn record_exposure(&self, event: &Value, user: &str) -> Result<Vec<(Hit, Kept)>> {
        // The event carries the user's name, not its key: read the tokens
        // (a few thousand at most: IAM's 5,000 users per account).
        let keys: Vec<String> = self
            .tokens
            .list()
            .await?
            .into_iter()
            .filter(|t| t.kind == TokenKind::AwsKey && t.aws_user.as_deref() == Some(user))
            .map(|t| t.id)
            .collect();
        let user = escape(user.as_bytes(), MAX_USER_NAME);
        // Which version AWS attached: in the log for the responder (the hit
        // carries the call, not its parameters).
        let policy = field(event, &["detail", "requestParameters", "policyArn"], caps::AWS_FIELD);
        if keys.is_empty() {
            tracing::info!(event = "aws_exposure_notice_ignored", user = %user, policy = %policy, reason = "not a decoy key's user");
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let mut hit = exposure_hit(event, &key, Timestamp::now());
            super::attribute::attribute(self.tokens.as_ref(), &[], &mut hit, None).await;
            let kept = self.hits.record(&hit, &self.flood).await?;
            tracing::info!(
                event = "aws_exposure_notice",
                token_id = %hit.token_id,
                hit_id = %hit.hit_id,
                user = %user,
                policy = %policy,
                kept = ?kept,
            );
            out.push((hit, kept));
        }
        Ok(out)
    }

    /// Records one event: the hit, attributed to its token's record (an
    /// access key with no record is an orphan, recorded all the same), kept
    /// under the flood rule. An error only when the hit could not be stored,
    /// so the caller can have the event delivered again.
    pub async fn record(&self, event: &Value) -> Result<(Hit, Kept)> {
        let mut hit = hit_from_event(event, Timestamp::now());
        if let Some(key) = &self.test_key {
            mark_test(key, &mut hit);
        }
        super::attribute::attribute(self.tokens.as_ref(), &[], &mut hit, None).await;
        let kept = self.hits.record(&hit, &self.flood).await?;
        tracing::info!(
            event = "aws_key_hit",
            token_id = %hit.token_id,
            hit_id = %hit.hit_id,
            orphan = hit.orphan,
            call = %hit.aws_event.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            kept = ?kept,
        );
        Ok((hit, kept))
    }
}

/// Makes `hit` a test when its user agent carries a mark that verifies for
/// its key at its time; the mark is replaced by its spent form, so no stored
/// hit or alert carries a mark, and `honeytoken test` still finds its hit.
pub fn mark_test(key: &crate::domain::key::SigningKey, hit: &mut Hit) {
    use super::testmark;
    let Some(mark) = testmark::mark_in_user_agent(&hit.user_agent) else {
        return;
    };
    let at = u64::try_from(hit.received_at.unix_ms() / 1000).unwrap_or(0);
    if testmark::verify_mark_at(key, &mark, &hit.token_id, at) {
        hit.test = true;
        hit.user_agent = hit
            .user_agent
            .replace(testmark::app_name(&mark), &testmark::spent(&mark));
    }
}

/// A hit with only its identity and time set, every request field empty:
/// CloudTrail's record is not an HTTP request.
pub(crate) fn blank_hit(token_id: &str, hit_id: &str, at: Timestamp) -> Hit {
    Hit {
        token_id: token_id.into(),
        hit_id: hit_id.into(),
        received_at: at,
        source_ip: String::new(),
        user_agent: String::new(),
        method: String::new(),
        path: String::new(),
        query: String::new(),
        headers: Default::default(),
        found_in: FoundIn::AwsApi,
        tampered: false,
        tampered_claims: vec![],
        orphan: false,
        test: false,
        ignored: false,
        geo: None,
        asn: None,
        token_state: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{TokenKind, TokenRecord, TokenState};
    use crate::store::HitQuery;
    use crate::store::memory::MemoryStore;
    use serde_json::json;

    /// An EventBridge event in the documented shape: a decoy user's
    /// `GetCallerIdentity` from `ip`, denied.
    pub(crate) fn event(key: &str, event_id: &str, ip: &str) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": DETAIL_TYPE,
            "source": "aws.sts",
            "account": "111122223333",
            "time": "2026-12-04T20:10:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": {
                "eventVersion": "1.08",
                "userIdentity": {
                    "type": "IAMUser",
                    "principalId": "AIDAEXAMPLE",
                    "arn": "arn:aws:iam::111122223333:user/svc/ci-deploy",
                    "accountId": "111122223333",
                    "accessKeyId": key,
                    "userName": "ci-deploy"
                },
                "eventTime": "2026-12-04T20:09:12Z",
                "eventSource": "sts.amazonaws.com",
                "eventName": "GetCallerIdentity",
                "awsRegion": "eu-west-1",
                "sourceIPAddress": ip,
                "userAgent": "aws-cli/2.22.0 md/arch#x86_64",
                "errorCode": "AccessDenied",
                "errorMessage": "User is not authorized",
                "requestParameters": null,
                "responseElements": null,
                "requestID": "1f0c7d43-2b0e-4a8e-9d9f-6c1a2d3e4f50",
                "eventID": event_id,
                "readOnly": true,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "111122223333",
                "eventCategory": "Management"
            }
        })
    }

    fn record(key: &str) -> TokenRecord {
        TokenRecord {
            id: key.into(),
            token: key.into(),
            kind: TokenKind::AwsKey,
            label: "deploy bot".into(),
            location: "github.com/acme/infra/.github/workflows/deploy.yml".into(),
            memo: String::new(),
            created_at: "2026-12-01T00:00:00.000Z".into(),
            state: TokenState::Active,
            shape: None,
            issuer: None,
            jwt_shape: None,
            placements: vec![],
            replaces: None,
            replaced_by: None,
            allow: vec![],
            aws_user: Some("ci-deploy".into()),
            file: None,
        }
    }

    async fn recorder() -> (Arc<MemoryStore>, Recorder) {
        let mem = Arc::new(MemoryStore::default());
        mem.create(&record("AKIAIOSFODNN7EXAMPLE")).await.unwrap();
        let r = Recorder::new(mem.clone(), mem.clone(), FloodRule::default());
        (mem, r)
    }

    async fn all(mem: &MemoryStore) -> Vec<Hit> {
        mem.query(&HitQuery::default()).await.unwrap()
    }

    #[tokio::test]
    async fn an_event_becomes_one_hit_with_the_call() {
        let (mem, r) = recorder().await;
        r.record(&event("AKIAIOSFODNN7EXAMPLE", "e-1", "203.0.113.7"))
            .await
            .unwrap();
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(h.token_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.source_ip, "203.0.113.7");
        assert_eq!(h.user_agent, "aws-cli/2.22.0 md/arch#x86_64");
        assert_eq!(h.found_in, FoundIn::AwsApi);
        assert_eq!(h.received_at.to_string(), "2026-12-04T20:09:12.000Z");
        assert_eq!(h.label, "deploy bot");
        assert_eq!(h.token_state, Some(TokenState::Active));
        assert!(!h.orphan);
        assert_eq!(
            h.aws_event.as_ref().unwrap().to_string(),
            "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied"
        );
        assert_eq!(h.request_id.as_deref(), Some("1f0c7d43-2b0e-4a8e-9d9f-6c1a2d3e4f50"));
    }

    #[tokio::test]
    async fn a_scanner_verification_is_labelled_and_kept() {
        let (mem, r) = recorder().await;
        let mut ev = event("AKIAIOSFODNN7EXAMPLE", "e-5", "198.51.100.4");
        // As TruffleHog's AWS detector sends it (its own user agent in
        // place of the SDK's), and as CloudTrail records it.
        ev["detail"]["userAgent"] = json!("TruffleHog");
        r.record(&ev).await.unwrap();
        r.record(&event("AKIAIOSFODNN7EXAMPLE", "e-6", "198.51.100.4"))
            .await
            .unwrap();
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 2);
        let scanned: Vec<_> = hits.iter().filter(|h| h.scanner.is_some()).collect();
        assert_eq!(scanned.len(), 1);
        assert_eq!(scanned[0].scanner.as_deref(), Some("TruffleHog"));
        assert!(scanned[0].alerts());
    }

    #[tokio::test]
    async fn a_test_call_is_a_test_hit_once_however_often_delivered() {
        use crate::decoy::testmark;
        let key = crate::domain::key::SigningKey::from_secret(&[5u8; 32]).unwrap();
        let (mem, r) = recorder().await;
        let r = r.with_test_key(key.clone());
        let at = Timestamp::parse("2026-12-04T20:09:12.000Z").unwrap();
        let mark = testmark::mark(&key, "AKIAIOSFODNN7EXAMPLE", (at.unix_ms() / 1000) as u64 - 2, 42);
        let mut ev = event("AKIAIOSFODNN7EXAMPLE", "e-7", "203.0.113.7");
        ev["detail"]["userAgent"] = json!(format!(
            "aws-sdk-rust/1.3.9 ua/2.1 api/sts/1.124.0 os/linux lang/rust/1.95.0 app/{}",
            testmark::app_name(&mark)
        ));
        for _ in 0..2 {
            r.record(&ev).await.unwrap();
        }
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 1);
        assert!(hits[0].test);
        assert!(
            hits[0].user_agent.contains(&testmark::spent(&mark)),
            "{}",
            hits[0].user_agent
        );
        assert!(!hits[0].user_agent.contains(testmark::app_name(&mark)));
        // Under another signing key, the same call is a real hit.
        let (mem2, plain) = recorder().await;
        let plain = plain.with_test_key(crate::domain::key::SigningKey::from_secret(&[6u8; 32]).unwrap());
        plain.record(&ev).await.unwrap();
        assert!(!all(&mem2).await[0].test);
    }

    #[tokio::test]
    async fn a_redelivered_event_is_one_hit() {
        let (mem, r) = recorder().await;
        let ev = event("AKIAIOSFODNN7EXAMPLE", "e-1", "203.0.113.7");
        let (a, _) = r.record(&ev).await.unwrap();
        let (b, _) = r.record(&ev).await.unwrap();
        assert_eq!(a.hit_id, b.hit_id);
        assert_eq!(all(&mem).await.len(), 1);
        // Another call (another eventID) is another hit.
        r.record(&event("AKIAIOSFODNN7EXAMPLE", "e-2", "203.0.113.7"))
            .await
            .unwrap();
        assert_eq!(all(&mem).await.len(), 2);
    }

    #[tokio::test]
    async fn an_unknown_key_under_the_path_is_recorded_as_an_orphan() {
        let (mem, r) = recorder().await;
        r.record(&event("AKIAUNKNOWNKEY000000", "e-9", "203.0.113.7"))
            .await
            .unwrap();
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 1);
        assert!(hits[0].orphan);
        assert_eq!(hits[0].token_id, "AKIAUNKNOWNKEY000000");
        assert_eq!(hits[0].token_state, None);
    }

    #[tokio::test]
    async fn a_service_name_as_source_is_kept() {
        let (mem, r) = recorder().await;
        r.record(&event("AKIAIOSFODNN7EXAMPLE", "e-3", "AWS Internal"))
            .await
            .unwrap();
        let h = &all(&mem).await[0];
        assert_eq!(h.source_ip, "AWS Internal");
        assert_eq!(h.source_addr(), None);
    }

    #[tokio::test]
    async fn an_event_missing_fields_is_recorded() {
        let (mem, r) = recorder().await;
        for ev in [
            json!({}),
            json!({"detail": {"eventName": 7}}),
            json!([1, 2]),
            Value::Null,
        ] {
            r.record(&ev).await.unwrap();
        }
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 4);
        for h in &hits {
            assert_eq!(h.token_id, UNKNOWN_KEY);
            assert!(h.orphan);
            assert_eq!(h.found_in, FoundIn::AwsApi);
            assert_eq!(h.aws_event.as_ref().unwrap().name, "");
        }
    }

    #[test]
    fn a_schedule_is_told_from_a_cloudtrail_record() {
        // EventBridge's scheduled event, as documented ("Creating a rule
        // that runs on a schedule", EventBridge user guide).
        let scheduled = json!({
            "version": "0",
            "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-12-04T21:00:00Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:events:eu-west-1:123456789012:rule/LastUsedCheck"],
            "detail": {}
        });
        assert!(is_schedule(&scheduled));
        assert!(!is_schedule(&event("AKIAIOSFODNN7EXAMPLE", "e-1", "203.0.113.7")));
        let mut forged = event("AKIAIOSFODNN7EXAMPLE", "e-1", "203.0.113.7");
        forged["source"] = json!("aws.events");
        assert!(!is_schedule(&forged));
        assert!(!is_schedule(&json!({})));
    }

    #[test]
    fn attacker_bytes_are_escaped_and_capped() {
        let mut ev = event("AKIAIOSFODNN7EXAMPLE", "e-4", "203.0.113.7");
        ev["detail"]["userAgent"] = json!(format!("\u{1b}[2J{}", "a".repeat(10_000)));
        ev["detail"]["errorCode"] = json!("x".repeat(1000));
        let h = hit_from_event(&ev, Timestamp::now());
        assert!(h.user_agent.starts_with("\\u{1b}[2J"), "{}", h.user_agent);
        assert!(h.user_agent.len() < caps::USER_AGENT + 32, "{}", h.user_agent.len());
        assert!(h.aws_event.unwrap().error_code.unwrap().len() < caps::AWS_FIELD + 32);
    }

    #[test]
    fn the_documented_event_shape_reads_field_by_field() {
        let ev: Value = serde_json::from_str(include_str!("../../tests/fixtures/cloudtrail_event.json")).unwrap();
        let h = hit_from_event(&ev, Timestamp::now());
        assert_eq!(h.token_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.source_ip, "203.0.113.7");
        assert_eq!(h.user_agent, "aws-cli/2.22.0 Python/3.12.6");
        assert_eq!(h.received_at.to_string(), "2026-12-04T20:09:12.000Z");
        assert_eq!(
            h.aws_event,
            Some(AwsEvent {
                name: "GetCallerIdentity".into(),
                source: "sts.amazonaws.com".into(),
                region: "us-east-1".into(),
                error_code: Some("AccessDenied".into()),
            })
        );
        assert_eq!(
            h.hit_id,
            hit_id_for("0b4d1c8e-7f0a-4b59-b5a3-2f8f3c6d9e10", h.received_at)
        );
    }

    /// AWS attaching `policy` to `user`, as CloudTrail records it in
    /// us-east-1 (AWS, not the user, is the caller).
    pub(crate) fn quarantine(user: &str, policy: &str, event_id: &str) -> Value {
        json!({
            "version": "0",
            "id": "0d5c1b2a-4e6f-4a3b-9c8d-7e6f5a4b3c2d",
            "detail-type": DETAIL_TYPE,
            "source": "aws.iam",
            "account": "111122223333",
            "time": "2026-12-04T21:00:05Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": {"type": "AWSService", "invokedBy": "AWS Internal"},
                "eventTime": "2026-12-04T21:00:00Z",
                "eventSource": "iam.amazonaws.com",
                "eventName": "AttachUserPolicy",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "AWS Internal",
                "userAgent": "AWS Internal",
                "requestParameters": {"userName": user, "policyArn": policy},
                "responseElements": null,
                "requestID": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                "eventID": event_id,
                "readOnly": false,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "111122223333",
                "eventCategory": "Management"
            }
        })
    }

    const V3: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";

    #[test]
    fn an_exposure_notice_is_told_from_other_attachments() {
        for policy in [
            V3,
            "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2",
            "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine",
            "arn:aws-cn:iam::aws:policy/AWSCompromisedKeyQuarantineV2",
        ] {
            assert_eq!(
                exposure_notice_user(&quarantine("ci-deploy", policy, "q")),
                Some("ci-deploy"),
                "{policy}"
            );
        }
        for policy in [
            "arn:aws:iam::aws:policy/AdministratorAccess",
            // A customer policy named like AWS's is not AWS's notice.
            "arn:aws:iam::111122223333:policy/AWSCompromisedKeyQuarantineV3",
            "AWSCompromisedKeyQuarantineV3",
        ] {
            assert_eq!(
                exposure_notice_user(&quarantine("ci-deploy", policy, "q")),
                None,
                "{policy}"
            );
        }
        let mut ev = quarantine("ci-deploy", V3, "q");
        ev["detail"]["eventName"] = json!("AttachRolePolicy");
        assert_eq!(exposure_notice_user(&ev), None);
        // A failed attach is someone's attempt (a decoy user's is denied), not AWS's notice.
        let mut ev = quarantine("ci-deploy", V3, "q");
        ev["detail"]["errorCode"] = json!("AccessDenied");
        assert_eq!(exposure_notice_user(&ev), None);
        // No user, or a name IAM would never have made.
        assert_eq!(exposure_notice_user(&quarantine("", V3, "q")), None);
        assert_eq!(exposure_notice_user(&quarantine(&"u".repeat(65), V3, "q")), None);
        assert_eq!(
            exposure_notice_user(&event("AKIAIOSFODNN7EXAMPLE", "e", "203.0.113.7")),
            None
        );
        assert_eq!(exposure_notice_user(&Value::Null), None);
    }

    #[test]
    fn an_exposure_notice_maps_to_a_hit_per_key() {
        let ev = quarantine("ci-deploy", V3, "q-1");
        let h = exposure_hit(&ev, "AKIAIOSFODNN7EXAMPLE", Timestamp::now());
        assert_eq!(h.token_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.found_in, FoundIn::AwsExposureNotice);
        assert_eq!(h.source_ip, "AWS Internal");
        assert_eq!(h.received_at.to_string(), "2026-12-04T21:00:00.000Z");
        assert_eq!(
            h.aws_event.as_ref().unwrap().to_string(),
            "AttachUserPolicy on iam.amazonaws.com in us-east-1"
        );
        // Stable per (event, key), distinct per key.
        assert_eq!(
            h.hit_id,
            exposure_hit(&ev, "AKIAIOSFODNN7EXAMPLE", Timestamp::now()).hit_id
        );
        assert_ne!(
            h.hit_id,
            exposure_hit(&ev, "AKIAOTHERKEY00000000", Timestamp::now()).hit_id
        );
        assert_ne!(h.hit_id, hit_from_event(&ev, Timestamp::now()).hit_id);
    }

    #[tokio::test]
    async fn an_exposure_notice_alerts_for_the_decoy_user_named_and_no_other() {
        let (mem, r) = recorder().await;
        // Another token, of another user, stays untouched.
        let mut other = record("AKIAOTHERKEY00000000");
        other.aws_user = Some("build-runner".into());
        mem.create(&other).await.unwrap();

        let kept = r.handle(&quarantine("ci-deploy", V3, "q-1")).await.unwrap();
        assert_eq!(kept.len(), 1);
        let hits = all(&mem).await;
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(h.token_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.found_in, FoundIn::AwsExposureNotice);
        assert_eq!(h.label, "deploy bot");
        assert!(!h.orphan);
        // Redelivered: the same hit.
        r.handle(&quarantine("ci-deploy", V3, "q-1")).await.unwrap();
        assert_eq!(all(&mem).await.len(), 1);

        // A user that is no decoy's: nothing recorded.
        assert!(r.handle(&quarantine("alice", V3, "q-2")).await.unwrap().is_empty());
        assert_eq!(all(&mem).await.len(), 1);

        // Any other event still goes the ordinary way.
        let kept = r
            .handle(&event("AKIAIOSFODNN7EXAMPLE", "e-1", "203.0.113.7"))
            .await
            .unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0.found_in, FoundIn::AwsApi);
        assert_eq!(all(&mem).await.len(), 2);
    }

    #[test]
    fn hit_ids_are_stable_ulids_of_the_call_time() {
        let at = Timestamp::parse("2026-12-04T20:09:12.000Z").unwrap();
        let a = hit_id_for("e-1", at);
        assert_eq!(a, hit_id_for("e-1", at));
        assert_ne!(a, hit_id_for("e-2", at));
        let u: ulid::Ulid = a.parse().unwrap();
        assert_eq!(u.timestamp_ms() as i128, at.time().unix_timestamp_nanos() / 1_000_000);
    }
}
