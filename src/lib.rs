//! honeytoken: decoy API keys that raise an alarm the moment anyone uses them.
//!
//! The library holds all logic and knows nothing of Lambda: tokens are minted
//! and recognised in [`token`], requests become [`hit::Hit`]s in [`decoy`],
//! and stores and alert channels sit behind the traits of [`store`] and
//! [`notify`], so the same code runs in Lambda, in `honeytoken serve` and in
//! unit tests.

#![warn(missing_docs)]

pub mod alert;
pub mod allow;
pub mod analysis;
#[cfg(feature = "aws")]
pub mod aws;
pub mod decoy;
pub mod enrich;
pub mod error;
pub mod hit;
pub mod key;
pub mod notify;
pub mod persona;
pub mod plant;
pub mod report;
pub mod rotate;
pub mod sanitize;
pub mod store;
pub mod testhit;
pub mod time;
pub mod token;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod config;
#[cfg(feature = "cli")]
pub mod server;
#[cfg(feature = "cli")]
pub mod survey;

pub use error::{Error, Result};
