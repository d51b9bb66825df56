//! The only place that names concrete adapters: it assembles stores and
//! channels for the local backend (SQLite under the data directory), the
//! stack backend (DynamoDB, SNS and Secrets Manager named by a deployed
//! stack) and the Lambda functions (their environment), so every use case
//! above it sees only traits.

#[cfg(feature = "aws")]
pub mod alerter;
#[cfg(feature = "cli")]
pub mod local;
#[cfg(feature = "aws")]
pub mod secrets;
#[cfg(feature = "aws")]
pub mod stack;

use std::path::PathBuf;
use std::sync::Arc;

use crate::domain::key::SigningKey;
use crate::store::{AllowStore, HitStore, TokenStore};

/// Stores and key a command works on, whichever backend holds them.
pub struct Context {
    /// Tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Hits.
    pub hits: Arc<dyn HitStore>,
    /// Signing key.
    pub key: SigningKey,
    /// Local data directory (local backend only).
    pub data_dir: Option<PathBuf>,
    /// Global allowlist.
    pub allow: Arc<dyn AllowStore>,
}

/// Which deployed stack's stores to open: explicit table names and secret
/// win, anything missing comes from the outputs of `stack`.
#[derive(Debug, Clone, Default)]
pub struct StackSelect {
    /// CloudFormation stack name.
    pub stack: Option<String>,
    /// Tokens table.
    pub tokens_table: Option<String>,
    /// Hits table.
    pub hits_table: Option<String>,
    /// Secrets Manager secret holding the signing key.
    pub secret_arn: Option<String>,
}
