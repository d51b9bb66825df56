//! From a stored hit to a delivered alert: idempotent decisions, per
//! (token, source) throttling with summaries, the DynamoDB stream's records,
//! and the in-process fan-out `serve` uses.

pub mod hitlog;
#[cfg(feature = "cli")]
pub mod local;
pub mod pipeline;
pub mod stream;
