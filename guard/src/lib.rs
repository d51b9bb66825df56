//! A guard for the real API: find this deployment's honeytokens in a
//! production service's own traffic and report each use as a hit, without
//! ever changing, delaying or revealing anything to the client.
//!
//! An attacker who finds `ACME_SECRET_KEY=acme_live_…` in a leaked `.env`
//! tries it against the real API first. The guard runs the decoy's own
//! extraction and recognition (pure CPU, no I/O) on every request:
//!
//! * [`Guard::inspect`]: the honeytokens a request carries ([`Detection`]s);
//! * [`GuardLayer`] / [`GuardService`]: a `tower` layer around any service
//!   (axum, hyper, tonic) that passes requests and answers through unchanged
//!   and hands each detection, as a [`Hit`](honeytoken_core::hit::Hit) with
//!   `via: guard`, to
//! * [`Reporter`]: a bounded background queue in front of a [`HitSink`]
//!   (the honeytoken library's stores implement it), one slot per pending
//!   (token, source, flood bucket), so a flood of one pair never crowds
//!   out another pair's first hit. A full queue counts, logs and reports
//!   what it drops per pair; the request never waits.
//!
//! The guard holds the deployment's signing key: whoever holds it can mint
//! tokens the deployment recognises. Treat it as a secret of the service.

#![warn(missing_docs)]

mod inspect;
mod layer;
mod reporter;

pub use inspect::{ClientAddr, Detection, Guard, Inspection, PeerFn, Source};
pub use layer::{GuardBody, GuardFuture, GuardLayer, GuardService};
pub use reporter::{
    BoxFuture, Counted, DEFAULT_CAPACITY, DEFAULT_SINK_TIMEOUT, HitSink, MAX_COUNTED_SAMPLES, MAX_DROP_PAIRS, Report,
    Reporter, ReporterStats, SinkError,
};

/// The core crate the guard is built on (keys, tokens, hits).
pub use honeytoken_core as core;
