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
    /// The store could not be read or written.
    #[error("store: {0}")]
    Store(String),
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

impl Error {
    /// Wraps a store backend error.
    pub fn store(e: impl std::fmt::Display) -> Self {
        Error::Store(e.to_string())
    }
}
