//! The operator's use cases beyond answering requests: decoy AWS keys
//! (`aws_keys`), planting a token in a file, surveying a tree for places to plant, rotating, and analysing and
//! reporting hits.

pub mod analysis;
pub mod aws_keys;
pub mod credfile;
pub mod plant;
#[cfg(feature = "cli")]
pub mod report;
pub mod rotate;
#[cfg(feature = "cli")]
pub mod survey;
#[cfg(feature = "cli")]
pub mod survey_credfiles;
