#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Glassgate signing keys: generation, encryption at rest under a KEK, rotation planning, the
//! JWKS view, and the transparency-log key. All crypto goes through aws-lc-rs.

mod algorithm;
mod error;
mod jwk;
mod kek;
mod kek_source;
mod keyring;
mod logkey;
mod record;
mod rotation;
mod signer;

pub use algorithm::{Algorithm, KeyPurpose, KeyStatus};
pub use error::KeyError;
pub use jwk::jwk_thumbprint;
pub use kek::Kek;
pub use kek_source::{KekSource, load_kek};
pub use keyring::KeyRing;
pub use logkey::{LogKey, note_key_id};
pub use record::KeyRecord;
pub use rotation::{KeyChange, RotationPolicy, plan_rotation};
pub use signer::{Signer, SoftwareSigner};
