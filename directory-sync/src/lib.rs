//! CMS National Provider Directory and NPPES ingestion, and the active-clinician check.
//!
//! - [`ActiveClinicians::check`]: the token-time predicate (cached, swap-aware).
//! - [`store::open`], [`store::open_from_env`], [`store::from_sqlite_pool`],
//!   [`store::from_pg_pool`]: the same store as the idp.
//! - [`npd::ingest`], [`nppes::ingest_full`], [`nppes::ingest_weekly`],
//!   [`deactivations::ingest`], [`nucc::ingest`]: streaming ingests that build a release
//!   beside the current one, validate it and swap it in.
//! - `fixtures` (feature `fixtures`): generators of every input in its real format.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod active;
pub mod cli;
pub mod context;
pub mod date;
pub mod deactivations;
pub mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod npd;
pub mod npi;
pub mod nppes;
pub mod nucc;
pub mod pipeline;
pub mod predicate;
pub mod progress;
pub mod release;
pub mod report;
pub mod source;
pub mod store;
pub mod validate;

pub use active::{ActiveClinicians, Answer, NPD_FHIR_BASE};
pub use context::SyncContext;
pub use error::{DirectoryError, Result};
pub use npi::Npi;
pub use predicate::Reason;
pub use report::{Dataset, Limits, Summary};
pub use store::Store;
