//! honeytoken: decoy API keys that raise an alarm the moment anyone uses them.
//!
//! The library holds all logic and knows nothing of Lambda. It is built in
//! layers whose imports only point down (`tests/layering.rs` enforces it):
//!
//! * [`domain`]: the pure core (tokens, signing key, hit, allow entries,
//!   from the `honeytoken-core` crate) and the alert it becomes;
//! * [`store`] and [`notify`]: the traits the use cases need (tokens, hits,
//!   allowlist, alert state; alert channels) and their adapters;
//! * [`decoy`], [`alerting`], [`ops`]: the use cases (answering and recording
//!   requests; deciding, throttling and delivering alerts; the operator's
//!   plant, survey, rotate, analysis and report);
//! * [`wiring`]: the only place that names concrete adapters, for the local
//!   backend, the stack backend and the Lambda functions;
//! * `http`: `serve`'s HTTP/1.1 server and the guard's reverse proxy;
//! * `cli`: the command line, through `wiring`, starting what `http` serves.

#![warn(missing_docs)]

pub mod alerting;
pub mod decoy;
pub mod domain;
pub mod error;
pub mod notify;
pub mod ops;
pub mod store;
pub mod wiring;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod http;

pub use error::{Error, ErrorKind, Result};
