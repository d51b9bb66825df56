//! The pure core of honeytoken: what a token is and how it is recognised.
//!
//! Everything here is CPU only (no I/O, no async runtime), so the decoy, the
//! local server, the alerter and the guard that runs inside a production API
//! share one definition of a token, one extraction of candidates from a
//! request, one recognition by HMAC tag, and one hit record.
//!
//! * [`token`]: kinds, minting, `--like`, extraction and recognition
//! * [`key`]: the deployment's signing key
//! * [`hit`]: the record of one request that carried a honeytoken
//! * [`allow`]: allowlist entries and address matching
//! * [`scanner`]: known secret scanners, by the user agent of their verification call
//! * [`flood`]: how many hits of a pair are kept whole, and the counter for the rest
//! * [`sanitize`], [`time`]: escaping hostile bytes, RFC 3339 at the edges

#![warn(missing_docs)]

pub mod allow;
pub mod error;
pub mod flood;
pub mod hit;
pub mod key;
pub mod sanitize;
pub mod scanner;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;
pub mod token;

pub use error::{Error, Result};
