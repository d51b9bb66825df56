//! The core's errors: only what pure code can get wrong, phrased for the
//! person who has to fix it. The library folds them into its own error.

/// Core result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What minting, parsing or loading a key can get wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad input (a flag, a token shape, an address); the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A bad signing key or similar configuration.
    #[error("{0}")]
    Config(String),
}
