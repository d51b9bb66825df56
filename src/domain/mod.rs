//! What is pure: the core crate's tokens, signing key, hit record and
//! allowlist entries, and the alert a hit becomes. Nothing here does I/O or
//! imports another layer of the library.

pub use honeytoken_core::{allow, flood, hit, key, sanitize, scanner, time, token};

pub mod alert;

use std::sync::Arc;

/// Where a hit stands when its alert is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// In the store.
    Yes,
    /// Durable in the spool file; written into the store when it can take it.
    Spooled,
    /// The write is still running past the answer's deadline.
    Pending,
    /// Neither stored nor spooled: only the log line holds it.
    Failed,
}

impl Stored {
    /// What the alert says when the hit is not (yet) in the store.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Stored::Yes => None,
            Stored::Spooled => Some("spooled"),
            Stored::Pending => Some("write-pending"),
            Stored::Failed => Some("not-stored-see-log"),
        }
    }
}

/// Called with each hit and where it stands (the local server raises alerts
/// from here, whatever the store did; on AWS the DynamoDB stream does that
/// instead).
pub type HitListener = Arc<dyn Fn(&hit::Hit, Stored) + Send + Sync>;
