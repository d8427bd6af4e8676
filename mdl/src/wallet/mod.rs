//! Test wallet (feature `test-wallet`): a test IACA and document signers, an mDL issuer,
//! and a holder that answers OpenID4VP requests. Never for production use.

pub mod holder;
pub mod issuer;
pub mod oid4vp;
pub mod pki;
pub mod status_list;
pub mod vical;

pub use holder::{
    DeviceAuthForm, Presentation, PresentedDocument, SignOptions, present, sign_document,
};
pub use issuer::{
    Credential, DeviceKey, IssueForge, IssueSpec, X5ChainMode, issue, sample_mdl_elements,
};
pub use pki::{
    DsEku, DsOptions, IacaOptions, KeyAlg, TestDs, TestIaca, make_crl, make_ds, make_iaca,
};
