//! The decoy endpoint's use case: a request comes in, the honeytokens it
//! carries become hits, and the answer is the persona's, whatever happened.
//!
//! * [`handler`]: one handler from `http::Request` to `http::Response`,
//!   used unchanged by `honeytoken serve` and by the Lambda function
//! * [`persona`]: how the answer looks; [`learn`]: a persona from the operator's own API;
//!   [`installation`]: the default persona, drawn per installation; [`refusal`]: the
//!   persona's answer to a request its server refuses
//! * [`tools`]: the tool personas (kubectl, registries, npm, PyPI, git, Vault) and which one answers a request
//! * [`testmark`]: how `honeytoken test` marks a request as a test
//! * [`allowlist`]: the cached global allowlist
//! * [`cloudtrail`]: a decoy AWS key's use, from a CloudTrail event, as a hit
//! * [`last_used`]: the safety net, a decoy AWS key's last use in IAM with no hit yet
//! * [`enrich`]: geolocation and network owner of the source address
//! * `guard` (feature `guard`): the store side of the guard crate, so hits
//!   from a real API land where the decoy's do

pub mod allowlist;
pub mod attribute;
pub mod cloudtrail;
pub mod enrich;
#[cfg(feature = "guard")]
pub mod guard;
pub mod handler;
pub mod installation;
pub mod last_used;
pub mod learn;
pub mod persona;
pub mod refusal;
pub mod testmark;
pub mod tools;

pub use handler::{
    Decoy, LateWrites, LateWritesNow, ORIGIN_VERIFY_HEADER, RequestMeta, hits_answered_before_durable, hits_not_stored,
    log_unstored, unstored_line,
};
