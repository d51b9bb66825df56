//! One error type for the library; each variant says what the user can do.

/// Library result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, phrased for the person who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user (a flag, a token shape); the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// Missing or bad configuration (signing key, data directory, stack).
    #[error("{0}")]
    Config(String),
    /// The named token does not exist.
    #[error("no token with id {0}; `honeytoken list` shows the ids")]
    NotFound(String),
    /// A token with this id exists already.
    #[error("a token with id {0} exists already")]
    Conflict(String),
    /// The store could not be read or written (a message of our own).
    #[error("store: {0}")]
    Store(String),
    /// A backend (DynamoDB, SQLite, SNS, Secrets Manager, ...) failed; the
    /// cause is kept as the source, and `kind` says what a caller can do.
    #[error("{backend}: {detail}{hint}")]
    Backend {
        /// Which backend (`DynamoDB`, `SQLite`, ...).
        backend: &'static str,
        /// What kind of failure: retry a throttle, report a missing table, ...
        kind: ErrorKind,
        /// The cause as the backend describes it, with its context.
        detail: String,
        /// What the person running the command can do about it (may be empty).
        hint: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An alert channel failed.
    #[error("notify via {channel}: {message}")]
    Notify {
        /// Channel name (terminal, webhook, sns, slack, pagerduty).
        channel: String,
        /// What went wrong.
        message: String,
    },
    /// Filesystem error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<honeytoken_core::Error> for Error {
    fn from(e: honeytoken_core::Error) -> Self {
        match e {
            honeytoken_core::Error::Invalid(m) => Error::Invalid(m),
            honeytoken_core::Error::Config(m) => Error::Config(m),
        }
    }
}

/// What kind of failure a backend reported, for callers that react to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Throttled or busy: retry with backoff.
    Throttled,
    /// The table, secret or topic does not exist.
    NotFound,
    /// A condition failed: someone else wrote first.
    Conflict,
    /// Credentials or permissions are missing.
    Denied,
    /// Anything else.
    Other,
}

impl Error {
    /// Wraps a store backend error, keeping it as the source.
    pub fn store(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::backend("store", ErrorKind::Other, e.to_string(), "", e)
    }

    /// A backend failure of `kind`, described by `detail`, caused by `source`.
    pub fn backend(
        backend: &'static str,
        kind: ErrorKind,
        detail: String,
        hint: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Backend {
            backend,
            kind,
            detail,
            hint,
            source: Box::new(source),
        }
    }

    /// The kind of failure: `NotFound` and `Conflict` for those variants,
    /// a backend's own kind, `Other` for the rest.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Backend { kind, .. } => *kind,
            _ => ErrorKind::Other,
        }
    }

    /// Whether retrying later (with backoff) may succeed.
    pub fn is_throttling(&self) -> bool {
        self.kind() == ErrorKind::Throttled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_backend_error_keeps_its_cause_kind_and_hint() {
        let cause = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow down");
        let e = Error::backend(
            "DynamoDB",
            ErrorKind::Throttled,
            "PutItem: slow down".into(),
            "; retry",
            cause,
        );
        assert!(e.is_throttling());
        assert_eq!(e.to_string(), "DynamoDB: PutItem: slow down; retry");
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("slow down"));
        assert_eq!(Error::NotFound("x".into()).kind(), ErrorKind::NotFound);
        assert!(!Error::Store("x".into()).is_throttling());
    }
}
