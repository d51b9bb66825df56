//! The safety net for decoy AWS keys: CloudTrail delivers in minutes and on
//! a best-effort basis, and an EventBridge rule sees only its own region. On
//! a schedule, IAM's record of each decoy key's last use
//! (`iam:GetAccessKeyLastUsed`: when, with which service, in which region)
//! is compared with the newest hit recorded for that key; a use newer than
//! that hit becomes a hit of its own (`found_in=aws-last-used`), written
//! through the same [`HitStore`] and flood rule as every other, so the
//! alerter alerts as for every hit.
//!
//! A use younger than the grace period is left for the next run: CloudTrail
//! may still deliver it, and it should alert once, not twice. The hit id is
//! derived from the key and the last-used date, so a second run (or a
//! retried one) never records the same use twice.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::flood::FloodRule;
use crate::domain::hit::{AwsEvent, FoundIn, Hit, caps};
use crate::domain::sanitize::escape;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenKind;
use crate::error::{Error, Result};
use crate::store::{HitQuery, HitStore, IamUsers, KeyLastUsed, TokenStore};

/// The default grace period: CloudTrail delivers most events within about
/// five minutes ("CloudTrail typically delivers events within an average of
/// about 5 minutes of an API call", CloudTrail user guide); half an hour
/// leaves its stragglers time to arrive before the safety net speaks.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30 * 60);

/// How far a hit may precede IAM's last-used date and still stand for the
/// same use: CloudTrail's `eventTime` is to the second, and the two
/// services stamp the same call independently.
pub const CLOCK_SLACK: Duration = Duration::from_secs(60);

/// What `source_ip` says of a use known only from IAM: IAM does not record
/// the caller's address.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Decoy AWS keys read from IAM.
    pub checked: usize,
    /// Uses with no hit, recorded now (hit ids).
    pub recorded: Vec<String>,
    /// Uses with no hit yet, younger than the grace period: left for CloudTrail.
    pub waiting: usize,
    /// Keys whose last use or newest hit could not be read (ids).
    pub failed: Vec<String>,
}

/// The hit id of a use known from IAM: a ULID of the use's millisecond
/// whose random part is derived from the key and the date, so every run
/// that sees this use names the same hit.
pub fn hit_id_for(key_id: &str, used: Timestamp) -> String {
    super::cloudtrail::hit_id_for(&format!("aws-last-used:{key_id}:{used}"), used)
}

/// The hit a use known from IAM stands for, before its token's record is
/// read. Pure.
pub fn hit_from_last_used(key_id: &str, used: &KeyLastUsed) -> Hit {
    Hit {
        source_ip: UNKNOWN_SOURCE.into(),
        found_in: FoundIn::AwsLastUsed,
        aws_event: Some(AwsEvent {
            // IAM names the service and region, not the call.
            name: String::new(),
            source: escape(used.service.as_bytes(), caps::AWS_FIELD),
            region: escape(used.region.as_bytes(), caps::AWS_FIELD),
            error_code: None,
        }),
        ..super::cloudtrail::blank_hit(key_id, &hit_id_for(key_id, used.at), used.at)
    }
}

/// Whether IAM's last use of a key is one no hit stands for yet: newer than
/// the newest hit (with [`CLOCK_SLACK`]), or any use when there is no hit.
pub fn uncovered(used: Timestamp, newest_hit: Option<Timestamp>) -> bool {
    match newest_hit {
        None => true,
        Some(h) => h.unix_ms() + (CLOCK_SLACK.as_millis() as i64) < used.unix_ms(),
    }
}

/// Reads every decoy AWS key's last use and records the uses no hit stands for.
pub struct SafetyNet {
    tokens: Arc<dyn TokenStore>,
    hits: Arc<dyn HitStore>,
    iam: Arc<dyn IamUsers>,
    flood: FloodRule,
    grace: Duration,
}

impl SafetyNet {
    /// Tokens from `tokens`, hits read from and written to `hits` under
    /// `flood`, last uses from `iam`; uses younger than `grace` wait.
    pub fn new(
        tokens: Arc<dyn TokenStore>,
        hits: Arc<dyn HitStore>,
        iam: Arc<dyn IamUsers>,
        flood: FloodRule,
        grace: Duration,
    ) -> Self {
        SafetyNet {
            tokens,
            hits,
            iam,
            flood,
            grace,
        }
    }

    /// One run at `now`. A key that cannot be read does not stop the
    /// others; the run fails at the end (so the scheduler retries it, and
    /// the hit ids make a retry harmless) when any did.
    pub async fn sweep(&self, now: Timestamp) -> Result<Sweep> {
        let mut out = Sweep::default();
        let keys = self.tokens.list().await?;
        for t in keys.iter().filter(|t| t.kind == TokenKind::AwsKey) {
            out.checked += 1;
            match self.check(&t.id, now).await {
                Ok(Outcome::Recorded(id)) => out.recorded.push(id),
                Ok(Outcome::Waiting) => out.waiting += 1,
                Ok(Outcome::Covered) => {}
                Err(e) => {
                    tracing::error!(event = "last_used_check_failed", token_id = %t.id, error = %e);
                    out.failed.push(t.id.clone());
                }
            }
        }
        tracing::info!(
            event = "last_used_sweep",
            checked = out.checked,
            recorded = out.recorded.len(),
            waiting = out.waiting,
            failed = out.failed.len(),
        );
        if out.failed.is_empty() {
            Ok(out)
        } else {
            Err(Error::Store(format!(
                "the last use of {} decoy AWS key(s) could not be checked: {}",
                out.failed.len(),
                out.failed.join(", ")
            )))
        }
    }

    async fn check(&self, key_id: &str, now: Timestamp) -> Result<Outcome> {
        let Some(used) = self.iam.access_key_last_used(key_id).await? else {
            return Ok(Outcome::Covered);
        };
        let newest = self
            .hits
            .query(&HitQuery {
                token_id: Some(key_id.to_string()),
                limit: Some(1),
                ..HitQuery::default()
            })
            .await?
            .last()
            .map(|h| h.received_at);
        if !uncovered(used.at, newest) {
            return Ok(Outcome::Covered);
        }
        if used.at.unix_ms() + (self.grace.as_millis() as i64) > now.unix_ms() {
            return Ok(Outcome::Waiting);
        }
        let mut hit = hit_from_last_used(key_id, &used);
        super::attribute::attribute(self.tokens.as_ref(), &[], &mut hit, None).await;
        let kept = self.hits.record(&hit, &self.flood).await?;
        tracing::info!(
            event = "aws_key_last_used_hit",
            token_id = %hit.token_id,
            hit_id = %hit.hit_id,
            used_at = %used.at,
            service = %used.service,
            region = %used.region,
            kept = ?kept,
        );
        Ok(Outcome::Recorded(hit.hit_id))
    }
}

enum Outcome {
    Covered,
    Waiting,
    Recorded(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{TokenRecord, TokenState};
    use crate::store::AccessKey;
    use crate::store::memory::MemoryStore;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// IAM as far as the safety net reads it: each key's last use, set by
    /// the test (moto's GetAccessKeyLastUsed cannot be given a date).
    #[derive(Default)]
    struct StubIam {
        last: Mutex<HashMap<String, KeyLastUsed>>,
        fail: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl IamUsers for StubIam {
        async fn create_user(&self, _: &str, _: &str) -> Result<()> {
            unreachable!("the safety net creates no user")
        }
        async fn add_to_group(&self, _: &str, _: &str) -> Result<()> {
            unreachable!("the safety net changes no group")
        }
        async fn create_access_key(&self, _: &str) -> Result<AccessKey> {
            unreachable!("the safety net creates no key")
        }
        async fn delete_user(&self, _: &str) -> Result<()> {
            unreachable!("the safety net deletes no user")
        }
        async fn access_key_last_used(&self, key_id: &str) -> Result<Option<KeyLastUsed>> {
            if self.fail.lock().unwrap().iter().any(|k| k == key_id) {
                return Err(Error::Store("IAM GetAccessKeyLastUsed: throttled".into()));
            }
            Ok(self.last.lock().unwrap().get(key_id).cloned())
        }
    }

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const OTHER: &str = "AKIAI44QH8DHBEXAMPLE";

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn record(id: &str, kind: TokenKind) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            token: id.into(),
            kind,
            label: "deploy bot".into(),
            location: "github.com/acme/infra/.env".into(),
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

    struct Rig {
        mem: Arc<MemoryStore>,
        iam: Arc<StubIam>,
        net: SafetyNet,
    }

    async fn rig() -> Rig {
        let mem = Arc::new(MemoryStore::default());
        mem.create(&record(KEY, TokenKind::AwsKey)).await.unwrap();
        let iam = Arc::new(StubIam::default());
        let net = SafetyNet::new(
            mem.clone(),
            mem.clone(),
            iam.clone(),
            FloodRule::default(),
            DEFAULT_GRACE,
        );
        Rig { mem, iam, net }
    }

    fn used(r: &Rig, key: &str, at: &str) {
        r.iam.last.lock().unwrap().insert(
            key.into(),
            KeyLastUsed {
                at: ts(at),
                service: "s3".into(),
                region: "ap-southeast-2".into(),
            },
        );
    }

    async fn hits(r: &Rig) -> Vec<Hit> {
        r.mem.query(&HitQuery::default()).await.unwrap()
    }

    /// A CloudTrail hit of `KEY` at `at`, as the cloudtrail function writes it.
    async fn cloudtrail_hit(r: &Rig, at: &str) {
        let mut h = Hit::sample(KEY, "203.0.113.7", at);
        h.found_in = FoundIn::AwsApi;
        r.mem.put(&h).await.unwrap();
    }

    #[tokio::test]
    async fn a_use_cloudtrail_delivered_records_nothing_more() {
        let r = rig().await;
        cloudtrail_hit(&r, "2026-12-04T20:09:12.000Z").await;
        used(&r, KEY, "2026-12-04T20:09:12.000Z");
        let s = r.net.sweep(ts("2026-12-04T22:00:00.000Z")).await.unwrap();
        assert_eq!((s.checked, s.recorded.len(), s.waiting), (1, 0, 0));
        assert_eq!(hits(&r).await.len(), 1);
    }

    #[tokio::test]
    async fn a_use_cloudtrail_missed_is_one_hit_after_the_grace_period() {
        let r = rig().await;
        // An older use CloudTrail delivered, then one it did not.
        cloudtrail_hit(&r, "2026-12-04T18:00:00.000Z").await;
        used(&r, KEY, "2026-12-04T20:09:12.000Z");
        // Within the grace period: CloudTrail may still deliver it.
        let s = r.net.sweep(ts("2026-12-04T20:30:00.000Z")).await.unwrap();
        assert_eq!((s.recorded.len(), s.waiting), (0, 1));
        assert_eq!(hits(&r).await.len(), 1);
        // Past it: one hit, with IAM's service and region, attributed.
        let s = r.net.sweep(ts("2026-12-04T20:40:00.000Z")).await.unwrap();
        assert_eq!(s.recorded.len(), 1);
        let all = hits(&r).await;
        assert_eq!(all.len(), 2);
        let h = all.iter().find(|h| h.found_in == FoundIn::AwsLastUsed).unwrap();
        assert_eq!(h.hit_id, s.recorded[0]);
        assert_eq!(h.received_at, ts("2026-12-04T20:09:12.000Z"));
        assert_eq!(h.label, "deploy bot");
        assert_eq!(h.token_state, Some(TokenState::Active));
        assert!(h.alerts());
        assert_eq!(h.source_ip, UNKNOWN_SOURCE);
        let e = h.aws_event.as_ref().unwrap();
        assert_eq!((e.source.as_str(), e.region.as_str()), ("s3", "ap-southeast-2"));
        // The next run adds nothing: that use now has its hit, whose id is
        // the one every run derives for it.
        let again = r.net.sweep(ts("2026-12-04T21:40:00.000Z")).await.unwrap();
        assert!(again.recorded.is_empty());
        assert_eq!(hit_id_for(KEY, ts("2026-12-04T20:09:12.000Z")), h.hit_id);
        assert_eq!(hits(&r).await.len(), 2);
    }

    #[tokio::test]
    async fn a_key_never_used_records_nothing() {
        let r = rig().await;
        let s = r.net.sweep(ts("2026-12-04T22:00:00.000Z")).await.unwrap();
        assert_eq!((s.checked, s.recorded.len(), s.waiting), (1, 0, 0));
        assert!(hits(&r).await.is_empty());
    }

    #[tokio::test]
    async fn a_use_with_no_hit_at_all_is_recorded_and_other_kinds_are_not_read() {
        let r = rig().await;
        r.mem.create(&record("00112233aabbccdd", TokenKind::Key)).await.unwrap();
        used(&r, KEY, "2026-12-04T20:09:12.000Z");
        let s = r.net.sweep(ts("2026-12-05T20:09:12.000Z")).await.unwrap();
        assert_eq!((s.checked, s.recorded.len()), (1, 1));
    }

    #[tokio::test]
    async fn a_hit_a_moment_before_iams_date_stands_for_the_same_use() {
        assert!(!uncovered(
            ts("2026-12-04T20:09:40.000Z"),
            Some(ts("2026-12-04T20:09:12.000Z"))
        ));
        assert!(uncovered(
            ts("2026-12-04T20:15:00.000Z"),
            Some(ts("2026-12-04T20:09:12.000Z"))
        ));
        assert!(uncovered(ts("2026-12-04T20:15:00.000Z"), None));
        assert!(!uncovered(
            ts("2026-12-04T20:00:00.000Z"),
            Some(ts("2026-12-04T20:09:12.000Z"))
        ));
    }

    #[tokio::test]
    async fn a_key_iam_cannot_answer_for_does_not_stop_the_others() {
        let r = rig().await;
        r.mem.create(&record(OTHER, TokenKind::AwsKey)).await.unwrap();
        used(&r, OTHER, "2026-12-04T20:09:12.000Z");
        r.iam.fail.lock().unwrap().push(KEY.into());
        let err = r.net.sweep(ts("2026-12-05T00:00:00.000Z")).await.unwrap_err();
        assert!(err.to_string().contains(KEY), "{err}");
        let all = hits(&r).await;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].token_id, OTHER);
    }

    #[tokio::test]
    async fn a_disabled_token_is_recorded_without_paging() {
        let r = rig().await;
        crate::store::set_state(r.mem.as_ref(), KEY, TokenState::Disabled)
            .await
            .unwrap();
        used(&r, KEY, "2026-12-04T20:09:12.000Z");
        r.net.sweep(ts("2026-12-05T00:00:00.000Z")).await.unwrap();
        let all = hits(&r).await;
        assert_eq!(all.len(), 1);
        assert!(!all[0].alerts());
    }
}
