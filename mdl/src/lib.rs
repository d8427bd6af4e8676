//! ISO/IEC 18013-5 mdoc verification for OpenID4VP 1.0 and the W3C Digital Credentials API.
//!
//! Entry point: [`verify::verify`] (the ordered pipeline of mdl.md §2.4), fed with the
//! DeviceResponse bytes, a [`trust::TrustStore`], the [`transcript::SessionTranscript`] we
//! built from our own request state, the [`claims::RequestedElements`] of our DCQL query,
//! the time, and a [`revocation::RevocationChecker`].
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cbor;
pub mod claims;
pub mod cli;
pub mod crypto;
pub mod dcql;
pub mod device_auth;
pub mod device_response;
pub mod digests;
pub mod error;
pub mod identity;
pub mod issuer_auth;
pub mod mso;
pub mod request;
pub mod response;
pub mod revocation;
pub mod transcript;
pub mod trust;
pub mod validity;
pub mod verify;
pub mod x509;

pub use claims::{DisclosedElements, MDL_DOCTYPE, MDL_NAMESPACE, RequestedElements};
pub use error::{ProfileViolation, Refusal};
pub use transcript::SessionTranscript;
pub use trust::{Anchor, TrustSource, TrustStore};
pub use verify::{VerifiedPresentation, VerifyOptions, VerifyRequest, verify};

#[cfg(feature = "test-wallet")]
pub mod wallet;

/// Re-exported: the API takes and returns `time::OffsetDateTime`.
pub use time;
