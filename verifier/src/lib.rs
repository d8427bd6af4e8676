//! Glassgate verifier: the dependency-light library an auditor trusts.
//!
//! One implementation of the transparency-log math, shared by the Glassgate
//! server and the `verifier` command-line tool:
//!
//! - [`hash`]: RFC 6962 leaf and node hashing.
//! - [`tree`]: computing roots and proofs from stored hashes (sequencer side).
//! - [`proof`]: verifying RFC 9162 inclusion and consistency proofs.
//! - [`note`]: C2SP signed notes and verifier keys (Ed25519).
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies.
//! - [`cosignature`]: C2SP tlog-cosignature `cosignature/v1`.
//! - [`tile`]: C2SP tlog-tiles paths, hash tiles and entry bundles.
//! - [`policy`]: C2SP tlog-policy files and witness quorums.
//! - [`proof_doc`]: C2SP tlog-proof@v1 offline proofs.
//! - [`entry`]: Glassgate log entries (version 1, `docs/log-entry.md`).
//! - [`monitor`]: fetch a tlog-tiles log in full and check it.
//! - [`witness`]: a C2SP tlog-witness cosigner (request handling).
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(test, allow(clippy::indexing_slicing))]

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod error;
pub mod hash;
pub mod monitor;
pub mod note;
pub mod policy;
pub mod proof;
pub mod proof_doc;
pub mod tile;
pub mod tree;
pub mod witness;

pub use error::{
    CheckpointError, CosignatureError, NoteError, PolicyError, ProofDocError, ProofError,
    TileError, TreeError,
};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

#[cfg(test)]
mod testutil;
