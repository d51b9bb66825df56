//! DynamoDB stores (being written; see issue 3).

use crate::cli::{Context, Global};
use crate::error::{Error, Result};

/// Opens the stack's stores for the CLI.
pub async fn cli_context(_g: &Global) -> Result<Context> {
    Err(Error::Config("the aws backend is not available yet".into()))
}
