//! What is pure: the core crate's tokens, signing key, hit record and
//! allowlist entries, and the alert a hit becomes. Nothing here does I/O or
//! imports another layer of the library.

pub use honeytoken_core::{allow, flood, hit, key, sanitize, time, token};

pub mod alert;

use std::sync::Arc;

/// Called with each stored hit (the local server raises alerts from here;
/// on AWS the DynamoDB stream does that instead).
pub type HitListener = Arc<dyn Fn(&hit::Hit) + Send + Sync>;
