//! Generated presentations (test IACA + DS, P-256 and P-384) verify, including the
//! encodings the verifier must tolerate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
mod common;

use common::*;
use glassgate_mdl::wallet::{self, IssueForge, IssueSpec, KeyAlg, SignOptions, X5ChainMode};
use glassgate_mdl::{RequestedElements, TrustSource};

fn check_ok(fx: &Fixture, spec: &IssueSpec) {
    let bytes = fx.presentation(spec).encode();
    let vp = fx.verify_bytes(&bytes).unwrap();
    assert_eq!(vp.doc_type, glassgate_mdl::MDL_DOCTYPE);
    assert_eq!(vp.elements.family_name(), Some("Doe"));
    assert_eq!(vp.elements.given_name(), Some("Jane"));
    assert_eq!(vp.elements.document_number(), Some("D1234567"));
    assert_eq!(
        vp.elements.birth_date().map(|d| d.to_string()),
        Some("1990-01-15".into())
    );
    assert_eq!(vp.elements.issuing_country(), Some("US"));
    assert_eq!(vp.elements.issuing_jurisdiction(), Some("US-CA"));
    assert_eq!(
        vp.elements.names().count(),
        7,
        "the identity elements and expiry_date"
    );
    assert!(matches!(vp.issuer.trust_source, TrustSource::Static { .. }));
    assert!(!format!("{:?}", vp.elements).contains("D1234567"));
}

#[test]
fn p256_presentation_verifies() {
    check_ok(&Fixture::new(KeyAlg::P256), &IssueSpec::sample_mdl());
}

#[test]
fn p384_presentation_verifies() {
    let fx = Fixture::new(KeyAlg::P384);
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let vp = fx.verify_bytes(&bytes).unwrap();
    assert_eq!(vp.document_signer.signature_algorithm.name(), "ES384");
}

#[test]
fn tolerated_encodings_verify() {
    let fx = Fixture::new(KeyAlg::P256);
    for forge in [
        IssueForge {
            tag18: true,
            ..Default::default()
        },
        IssueForge {
            x5chain: X5ChainMode::UnprotectedArray,
            ..Default::default()
        },
        IssueForge {
            x5chain: X5ChainMode::Protected,
            ..Default::default()
        },
        IssueForge {
            non_preferred_lengths: true,
            ..Default::default()
        },
    ] {
        let spec = IssueSpec {
            forge: forge.clone(),
            ..IssueSpec::sample_mdl()
        };
        check_ok(&fx, &spec);
    }
}

#[test]
fn tagged_device_signature_verifies() {
    let fx = Fixture::new(KeyAlg::P256);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let mut p = wallet::present(
        &cred,
        Some(&RequestedElements::mdl_identity()),
        &our_transcript(),
    )
    .unwrap();
    wallet::sign_document(
        &mut p.documents[0],
        &cred.device_key,
        &our_transcript(),
        SignOptions {
            tag18: true,
            ..Default::default()
        },
    )
    .unwrap();
    fx.verify_bytes(&p.encode()).unwrap();
}

#[test]
fn subset_disclosure_verifies() {
    let fx = Fixture::new(KeyAlg::P256);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let want = RequestedElements::mdl(&["family_name", "birth_date"]);
    let p = wallet::present(&cred, Some(&want), &our_transcript()).unwrap();
    let vp = fx.verify_bytes(&p.encode()).unwrap();
    assert_eq!(vp.elements.names().count(), 2);
}

#[test]
fn dc_api_transcript_verifies() {
    let fx = Fixture::new(KeyAlg::P384);
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let t = glassgate_mdl::transcript::oid4vp_dc_api("https://glassgate.example", "abc", None);
    let p = wallet::present(&cred, Some(&RequestedElements::mdl_identity()), &t).unwrap();
    fx.verify_with(&p.encode(), &t, &RequestedElements::mdl_identity())
        .unwrap();
}
