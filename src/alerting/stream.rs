//! A batch of hit-table stream records through the [`Pipeline`], following
//! the checkpoint rule of stream event sources: records are processed in
//! order, processing stops at the first failure, and that record's sequence
//! number is reported so it and everything after it is delivered again.

use super::pipeline::{Outcome, Pipeline};
use crate::domain::hit::Hit;
use crate::error::{Error, Result};

/// One stream record, already decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// Sequence number (the batch item identifier); empty when the record had none.
    pub sequence_number: String,
    /// What the record carries.
    pub body: RecordBody,
}

/// The payload of a stream record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    /// A newly stored hit.
    Hit(Box<Hit>),
    /// Not a new hit (a MODIFY or REMOVE, e.g. a TTL expiry): nothing to do.
    Skip,
    /// An INSERT whose image is not a hit: retried, then sent to the
    /// on-failure queue, so a bad record is seen and never silently dropped.
    Malformed(String),
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Records processed successfully.
    pub processed: usize,
    /// Alerts delivered.
    pub delivered: usize,
    /// Hits counted in a throttle window.
    pub suppressed: usize,
    /// Sequence number of the first record that failed (everything from it on is retried).
    pub failed_at: Option<String>,
    /// Records that failed with an error (0 or 1: processing stops at the first).
    pub failed: usize,
    /// Records left for a retry because the invocation's deadline was near.
    pub deferred: usize,
}

/// Processes `records` in order, stopping at the first failure.
///
/// Returns an error (fail the whole invocation) only when the failing record
/// has no sequence number: reporting an empty item identifier would fail the
/// batch anyway, and said plainly it is clear in the logs.
pub async fn process_batch(pipeline: &Pipeline, records: &[StreamRecord]) -> Result<BatchReport> {
    process_batch_until(pipeline, records, None).await
}

/// [`process_batch`], taking no new record once `stop_at` has passed: the
/// rest are reported as failures (retried from there, nothing is sent twice),
/// so the invocation returns before its timeout however slow a channel is.
/// `stop_at` is the function's deadline minus the longest one record can take.
pub async fn process_batch_until(
    pipeline: &Pipeline,
    records: &[StreamRecord],
    stop_at: Option<tokio::time::Instant>,
) -> Result<BatchReport> {
    let mut report = BatchReport::default();
    // Records decided already, folded into an earlier record's state write.
    let mut folded = vec![false; records.len()];
    let hits: Vec<Option<&Hit>> = records
        .iter()
        .map(|r| match &r.body {
            RecordBody::Hit(h) => Some(h.as_ref()),
            _ => None,
        })
        .collect();
    for (i, r) in records.iter().enumerate() {
        if folded[i] {
            report.processed += 1;
            report.suppressed += 1;
            continue;
        }
        if stop_at.is_some_and(|s| tokio::time::Instant::now() >= s) && !r.sequence_number.is_empty() {
            report.deferred = records.len() - i;
            tracing::warn!(
                sequence_number = %r.sequence_number,
                deferred = report.deferred,
                "near the invocation deadline; the rest of the batch will be retried"
            );
            report.failed_at = Some(r.sequence_number.clone());
            return Ok(report);
        }
        let res = match &r.body {
            RecordBody::Skip => Ok(None),
            RecordBody::Hit(h) => match pipeline.fold(&hits, i, &mut folded).await {
                Ok(Some(o)) => Ok(Some(o)),
                Ok(None) => pipeline.process(h).await.map(Some),
                Err(e) => Err(e),
            },
            RecordBody::Malformed(why) => Err(Error::Invalid(format!("stream record is not a hit: {why}"))),
        };
        match res {
            Ok(o) => {
                report.processed += 1;
                match o {
                    Some(Outcome::Alerted { delivered } | Outcome::Duplicate { delivered }) => {
                        report.delivered += delivered
                    }
                    Some(Outcome::Suppressed) => report.suppressed += 1,
                    Some(Outcome::NotAlerting) | None => {}
                }
            }
            Err(e) => {
                if r.sequence_number.is_empty() {
                    return Err(Error::Invalid(format!(
                        "a stream record without a sequence number failed: {e}"
                    )));
                }
                tracing::error!(sequence_number = %r.sequence_number, error = %e, "stream record failed; it and the rest of the batch will be retried");
                report.failed_at = Some(r.sequence_number.clone());
                report.failed = 1;
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// Decodes one record of the hits table's stream from its parts (what any
/// reader of the stream gets, whichever runtime delivers it): an INSERT
/// carries a new hit; any other event (a MODIFY, or the REMOVE of a TTL
/// expiry) and a flood counter item are skipped; an INSERT whose image is not a hit is kept as
/// [`RecordBody::Malformed`], naming `event_id`, so it is retried and seen.
#[cfg(feature = "aws")]
pub fn decode_record(
    event_name: &str,
    event_id: &str,
    sequence_number: Option<String>,
    new_image: serde_dynamo::Item,
) -> StreamRecord {
    // A flood's counter item is no hit (the template's event filter keeps
    // it out; this keeps it out wherever that filter is not).
    let counter = new_image.contains_key("flood_n");
    let body = if event_name != "INSERT" || counter {
        RecordBody::Skip
    } else {
        match serde_dynamo::from_item::<_, Hit>(new_image) {
            Ok(h) => RecordBody::Hit(Box::new(h)),
            Err(e) => RecordBody::Malformed(format!("event {event_id}: {e}")),
        }
    };
    StreamRecord {
        sequence_number: sequence_number.unwrap_or_default(),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::pipeline::Channel;
    use crate::notify::recorder::Recorder;
    use crate::store::memory::MemoryAlertState;
    use honeytoken_core::testkit::hit_at;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    fn rec(seq: &str, h: Hit) -> StreamRecord {
        StreamRecord {
            sequence_number: seq.into(),
            body: RecordBody::Hit(Box::new(h)),
        }
    }

    #[tokio::test]
    async fn stops_at_first_failure_and_reports_it() {
        let sns = Arc::new(Recorder {
            name: "sns",
            ..Default::default()
        });
        let p = Pipeline::new(
            Arc::new(MemoryAlertState::new()),
            vec![Channel {
                notifier: sns.clone(),
                required: true,
            }],
        );
        let batch = vec![
            rec("100", hit_at("a", "203.0.113.1", 0, 0)),
            StreamRecord {
                sequence_number: "101".into(),
                body: RecordBody::Skip,
            },
            rec("102", hit_at("b", "203.0.113.1", 1, 1)),
            rec("103", hit_at("c", "203.0.113.1", 2, 2)),
        ];
        let rep = process_batch(&p, &batch[..2]).await.unwrap();
        assert_eq!((rep.processed, rep.delivered, rep.failed_at), (2, 1, None));
        sns.failing.store(true, Ordering::SeqCst);
        let rep = process_batch(&p, &batch).await.unwrap();
        assert_eq!(rep.failed_at.as_deref(), Some("102"));
        assert_eq!(rep.processed, 2);
        sns.failing.store(false, Ordering::SeqCst);
        // The service redelivers from the checkpoint: 102 and 103.
        let rep = process_batch(&p, &batch[2..]).await.unwrap();
        assert_eq!((rep.processed, rep.delivered, rep.failed_at), (2, 2, None));
        let ids: Vec<String> = sns.taken().iter().map(|a| a.hit.token_id.clone()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    /// Repeats of a pair within one batch are decided in one state write,
    /// interleaved with other pairs; a redelivered batch alerts and counts nothing twice.
    #[tokio::test]
    async fn repeats_of_a_pair_in_a_batch_are_one_state_write() {
        use crate::store::AlertState;
        let state = Arc::new(crate::store::memory::CountingAlertState::default());
        let sns = Arc::new(Recorder {
            name: "sns",
            ..Default::default()
        });
        let p = Pipeline::new(
            state.clone(),
            vec![Channel {
                notifier: sns.clone(),
                required: true,
            }],
        );
        // 60 hits of one pair, every third record another pair's.
        let mut batch = Vec::new();
        let mut n = 0u32;
        for i in 0..90u32 {
            let h = if i % 3 == 2 {
                hit_at("b", &format!("198.51.100.{}", i % 9), i.into(), 1000 + i)
            } else {
                n += 1;
                hit_at("a", "203.0.113.1", i.into(), i)
            };
            batch.push(rec(&format!("{}", 100 + i), h));
        }
        assert_eq!(n, 60);
        let rep = process_batch(&p, &batch).await.unwrap();
        assert_eq!(rep.processed, 90);
        assert_eq!(rep.failed_at, None);
        // Pair "a": one write for its 60 hits (the alert and 59 counted);
        // the 30 "b" records are 3 pairs (sources .2, .5, .8), folded alike.
        let pairs_b: std::collections::BTreeSet<String> = batch
            .iter()
            .filter_map(|r| match &r.body {
                RecordBody::Hit(h) if h.token_id == "b" => Some(h.source_ip.clone()),
                _ => None,
            })
            .collect();
        let writes = state.commits.load(Ordering::SeqCst);
        assert_eq!(writes, 1 + pairs_b.len(), "one state write per pair in the batch");
        let w = state
            .window(&crate::store::PairKey {
                token_id: "a".into(),
                source_ip: "203.0.113.1".into(),
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.suppressed, 59, "every repeat counted exactly once");
        let alerts = sns.taken().len();
        assert_eq!(alerts, 1 + pairs_b.len());
        // The same batch again (a retry): nothing sent or counted twice.
        let rep = process_batch(&p, &batch).await.unwrap();
        assert_eq!((rep.processed, rep.delivered), (90, 0));
        assert_eq!(sns.taken().len(), alerts);
        let again = state.window(&w.pair).await.unwrap().unwrap();
        assert_eq!(again.suppressed, 59);
    }

    #[tokio::test]
    async fn malformed_is_reported_and_missing_sequence_fails_the_batch() {
        let p = Pipeline::new(Arc::new(MemoryAlertState::new()), vec![]);
        let bad = StreamRecord {
            sequence_number: "7".into(),
            body: RecordBody::Malformed("x".into()),
        };
        assert_eq!(process_batch(&p, &[bad]).await.unwrap().failed_at.as_deref(), Some("7"));
        let bad = StreamRecord {
            sequence_number: String::new(),
            body: RecordBody::Malformed("x".into()),
        };
        assert!(process_batch(&p, &[bad]).await.is_err());
    }

    #[cfg(feature = "aws")]
    #[test]
    fn only_inserts_of_hits_are_decoded() {
        let h = hit_at("a", "203.0.113.1", 0, 0);
        let image: serde_dynamo::Item = serde_dynamo::to_item(&h).unwrap();
        assert_eq!(
            decode_record("INSERT", "1", Some("11".into()), image.clone()),
            rec("11", h)
        );
        let removed = decode_record("REMOVE", "2", Some("12".into()), image);
        assert_eq!(
            (removed.sequence_number.as_str(), removed.body),
            ("12", RecordBody::Skip)
        );
        let not_a_hit: serde_dynamo::Item = serde_dynamo::to_item(serde_json::json!({"x": "y"})).unwrap();
        let bad = decode_record("INSERT", "3", None, not_a_hit);
        assert_eq!(bad.sequence_number, "");
        assert!(
            matches!(&bad.body, RecordBody::Malformed(why) if why.starts_with("event 3: ")),
            "{bad:?}"
        );
        let counter: serde_dynamo::Item = serde_dynamo::to_item(serde_json::json!({
            "token_id": "a", "hit_id": "flood-a-0-203.0.113.1#n", "flood_n": 1
        }))
        .unwrap();
        assert_eq!(
            decode_record("INSERT", "4", Some("14".into()), counter).body,
            RecordBody::Skip,
            "a flood counter is not a hit"
        );
    }
}
