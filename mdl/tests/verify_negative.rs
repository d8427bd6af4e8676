//! Forged and broken presentations: each is refused with its own specific refusal
//! (mdl.md §4 plus the issue's list).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
mod common;

use ciborium::Value;
use common::*;
use glassgate_mdl::wallet::{
    self, DeviceAuthForm, DeviceKey, DsEku, IacaOptions, IssueForge, IssueSpec, KeyAlg,
    Presentation, SignOptions, X5ChainMode,
};
use glassgate_mdl::{ProfileViolation as V, Refusal, RequestedElements, transcript};
use time::{Duration, OffsetDateTime};

fn forged(forge: IssueForge) -> IssueSpec {
    IssueSpec {
        forge,
        ..IssueSpec::sample_mdl()
    }
}

fn refusal(fx: &Fixture, bytes: &[u8]) -> Refusal {
    fx.verify_bytes(bytes).expect_err("must be refused")
}

fn issued(fx: &Fixture, spec: &IssueSpec) -> Refusal {
    refusal(fx, &fx.presentation(spec).encode())
}

fn p256() -> Fixture {
    Fixture::new(KeyAlg::P256)
}

// ---- disclosed data ----

#[test]
fn tampered_element_value() {
    let fx = p256();
    let mut p = fx.presentation(&IssueSpec::sample_mdl());
    // Re-encode family_name with another value, keeping digestID and random.
    let items = &mut p.documents[0].name_spaces[0].1;
    let pos = items
        .iter()
        .position(|i| i.windows(11).any(|w| w == b"family_name"))
        .unwrap();
    let old = &items[pos];
    let at = old.windows(3).position(|w| w == b"Doe").unwrap();
    let mut new = old.clone();
    new[at..at + 3].copy_from_slice(b"Roe");
    items[pos] = new;
    wallet::sign_document(
        &mut p.documents[0],
        &fx.credential(&IssueSpec::sample_mdl()).device_key,
        &our_transcript(),
        SignOptions::default(),
    )
    .unwrap();
    assert!(
        matches!(refusal(&fx, &p.encode()), Refusal::DigestMismatch { element, .. } if element == "family_name")
    );
}

#[test]
fn duplicate_digest_id() {
    let fx = p256();
    assert!(matches!(
        issued(
            &fx,
            &forged(IssueForge {
                duplicate_digest_id: true,
                ..Default::default()
            })
        ),
        Refusal::DuplicateDigestId { id: 0, .. }
    ));
}

#[test]
fn duplicate_element_identifier() {
    let fx = p256();
    let mut spec = IssueSpec::sample_mdl();
    spec.elements.push((
        glassgate_mdl::MDL_NAMESPACE.into(),
        "family_name".into(),
        Value::Text("Roe".into()),
    ));
    assert!(
        matches!(issued(&fx, &spec), Refusal::DuplicateElement { element, .. } if element == "family_name")
    );
}

#[test]
fn digest_missing_from_mso() {
    let fx = p256();
    let spec = forged(IssueForge {
        omit_digest_for: Some("given_name".into()),
        ..Default::default()
    });
    assert!(matches!(
        issued(&fx, &spec),
        Refusal::DigestIdUnknown { .. }
    ));
}

#[test]
fn short_random_salt() {
    let fx = p256();
    assert!(matches!(
        issued(
            &fx,
            &forged(IssueForge {
                short_random: true,
                ..Default::default()
            })
        ),
        Refusal::RandomTooShort { .. }
    ));
}

#[test]
fn non_tag24_item() {
    let fx = p256();
    let mut p = fx.presentation(&IssueSpec::sample_mdl());
    let item = &mut p.documents[0].name_spaces[0].1[0];
    item.drain(..2); // drop the d8 18 tag header, leaving a bare bstr
    assert_eq!(
        refusal(&fx, &p.encode()),
        Refusal::NotTag24("IssuerSignedItemBytes")
    );
}

#[test]
fn element_not_requested() {
    let fx = p256();
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let p = wallet::present(&cred, None, &our_transcript()).unwrap(); // discloses all 10
    assert!(
        matches!(refusal(&fx, &p.encode()), Refusal::ElementNotRequested { element, .. } if element == "issue_date")
    );
}

#[test]
fn issuing_country_differs_from_certificate() {
    let fx = p256();
    let mut spec = IssueSpec::sample_mdl();
    spec.elements[4].2 = Value::Text("CA".into());
    assert!(matches!(
        issued(&fx, &spec),
        Refusal::IssuingCountryMismatch { .. }
    ));
}

#[test]
fn issuing_jurisdiction_differs_from_certificate() {
    let fx = p256();
    let mut spec = IssueSpec::sample_mdl();
    spec.elements[5].2 = Value::Text("US-NY".into());
    assert!(matches!(
        issued(&fx, &spec),
        Refusal::IssuingJurisdictionMismatch { .. }
    ));
}

// ---- MSO ----

#[test]
fn mso_doctype_differs_from_document() {
    let fx = p256();
    let spec = forged(IssueForge {
        mso_doc_type: Some("org.iso.23220.photoid.1".into()),
        ..Default::default()
    });
    assert!(matches!(
        issued(&fx, &spec),
        Refusal::MsoDocTypeMismatch { .. }
    ));
}

#[test]
fn document_doctype_not_requested() {
    let fx = p256();
    let mut spec = IssueSpec::sample_mdl();
    spec.doc_type = "org.iso.23220.photoid.1".into();
    assert!(matches!(
        issued(&fx, &spec),
        Refusal::DocTypeNotRequested { .. }
    ));
}

#[test]
fn mso_version() {
    let fx = p256();
    assert_eq!(
        issued(
            &fx,
            &forged(IssueForge {
                mso_version: Some("2.0".into()),
                ..Default::default()
            })
        ),
        Refusal::MsoVersion("2.0".into())
    );
}

#[test]
fn digest_algorithm_not_allowed() {
    let fx = p256();
    assert_eq!(
        issued(
            &fx,
            &forged(IssueForge {
                digest_algorithm_name: Some("MD5".into()),
                ..Default::default()
            })
        ),
        Refusal::DigestAlgorithm("MD5".into())
    );
}

#[test]
fn expired_mso() {
    let fx = p256();
    let now = OffsetDateTime::now_utc();
    let spec = IssueSpec {
        signed: now - Duration::days(20),
        valid_from: now - Duration::days(20),
        valid_until: now - Duration::days(1),
        ..IssueSpec::sample_mdl()
    };
    assert_eq!(issued(&fx, &spec), Refusal::MsoExpired);
}

#[test]
fn not_yet_valid_mso() {
    let fx = p256();
    let now = OffsetDateTime::now_utc();
    let spec = IssueSpec {
        valid_from: now + Duration::days(2),
        ..IssueSpec::sample_mdl()
    };
    assert_eq!(issued(&fx, &spec), Refusal::MsoNotYetValid);
}

#[test]
fn signed_outside_ds_validity() {
    let fx = p256();
    let now = OffsetDateTime::now_utc();
    let spec = IssueSpec {
        signed: now - Duration::days(60),
        ..IssueSpec::sample_mdl()
    };
    assert_eq!(issued(&fx, &spec), Refusal::SignedOutsideDsValidity);
}

// ---- issuer signature and certificates ----

#[test]
fn corrupted_issuer_signature() {
    let fx = p256();
    assert_eq!(
        issued(
            &fx,
            &forged(IssueForge {
                corrupt_signature: true,
                ..Default::default()
            })
        ),
        Refusal::IssuerSignatureInvalid
    );
}

#[test]
fn issuer_signature_by_another_key() {
    let fx = p256();
    let other = wallet::make_ds(
        &fx.iaca,
        &wallet::DsOptions::new(KeyAlg::P256, &fx.iaca_opts),
    )
    .unwrap();
    assert_eq!(
        issued(
            &fx,
            &forged(IssueForge {
                signing_key_override: Some(other),
                ..Default::default()
            })
        ),
        Refusal::IssuerSignatureInvalid
    );
}

#[test]
fn x5chain_missing() {
    let fx = p256();
    assert_eq!(
        issued(
            &fx,
            &forged(IssueForge {
                x5chain: X5ChainMode::Missing,
                ..Default::default()
            })
        ),
        Refusal::MissingX5Chain
    );
}

#[test]
fn ds_without_eku() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| d.eku = DsEku::None);
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::EkuMissing)
    );
}

#[test]
fn ds_with_other_eku() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| {
        d.eku = DsEku::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 2])
    });
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::EkuWrong)
    );
}

#[test]
fn ds_with_non_critical_eku() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| {
        d.eku = DsEku::NonCritical
    });
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::EkuWrong)
    );
}

#[test]
fn ds_with_cert_sign_key_usage() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| {
        d.key_usage = vec![
            wallet::pki::KeyUsagePurpose::DigitalSignature,
            wallet::pki::KeyUsagePurpose::KeyCertSign,
        ]
    });
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::KeyUsage)
    );
}

#[test]
fn ds_validity_longer_than_457_days() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| {
        d.not_after = d.not_before + Duration::days(500)
    });
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::ValidityTooLong)
    );
}

#[test]
fn ds_country_differs_from_iaca() {
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| d.country = "CA".into());
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::DsProfile(V::CountryOrStateMismatch)
    );
}

#[test]
fn ds_expired() {
    let now = OffsetDateTime::now_utc();
    let fx = Fixture::with(IacaOptions::new(KeyAlg::P256), |d| {
        d.not_before = now - Duration::days(100);
        d.not_after = now - Duration::days(1);
    });
    let spec = IssueSpec {
        signed: now - Duration::days(50),
        valid_from: now - Duration::days(50),
        ..IssueSpec::sample_mdl()
    };
    assert_eq!(issued(&fx, &spec), Refusal::DsNotValidAt);
}

#[test]
fn iaca_without_path_len_zero() {
    let fx = Fixture::new_iaca_path_len(None);
    assert_eq!(
        issued(&fx, &IssueSpec::sample_mdl()),
        Refusal::IacaProfile(V::PathLen)
    );
}

trait PathLen {
    fn new_iaca_path_len(p: Option<u8>) -> Self;
}
impl PathLen for Fixture {
    fn new_iaca_path_len(p: Option<u8>) -> Self {
        let mut o = IacaOptions::new(KeyAlg::P256);
        o.path_len = p;
        Fixture::with(o, |_| {})
    }
}

#[test]
fn untrusted_iaca() {
    let fx = p256();
    let mut other = IacaOptions::new(KeyAlg::P256);
    other.common_name = "Someone Else's IACA".into();
    let other = Fixture::with(other, |_| {});
    // Verify fx's presentation against a store that only trusts `other`.
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    assert_eq!(
        other.verify_bytes(&bytes).unwrap_err(),
        Refusal::UntrustedIssuer
    );
}

#[test]
fn same_name_iaca_with_other_key() {
    // An impostor IACA with the trusted IACA's exact name but another key: its DS's AKI
    // does not match the trusted SKI, so no trusted anchor is found.
    let fx = p256();
    let impostor = p256();
    let bytes = impostor.presentation(&IssueSpec::sample_mdl()).encode();
    assert_eq!(refusal(&fx, &bytes), Refusal::UntrustedIssuer);
}

// ---- device authentication ----

fn wrong_transcript(t: glassgate_mdl::SessionTranscript) -> Refusal {
    let fx = p256();
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let p = wallet::present(&cred, Some(&RequestedElements::mdl_identity()), &t).unwrap();
    refusal(&fx, &p.encode())
}

#[test]
fn wrong_nonce() {
    assert_eq!(
        wrong_transcript(transcript::oid4vp(
            CLIENT_ID,
            "other-nonce",
            Some(&THUMBPRINT),
            RESPONSE_URI
        )),
        Refusal::DeviceSignatureInvalid
    );
}

#[test]
fn wrong_client_id() {
    assert_eq!(
        wrong_transcript(transcript::oid4vp(
            "x509_san_dns:evil.example",
            NONCE,
            Some(&THUMBPRINT),
            RESPONSE_URI
        )),
        Refusal::DeviceSignatureInvalid
    );
}

#[test]
fn wrong_response_uri() {
    assert_eq!(
        wrong_transcript(transcript::oid4vp(
            CLIENT_ID,
            NONCE,
            Some(&THUMBPRINT),
            "https://evil.example/r"
        )),
        Refusal::DeviceSignatureInvalid
    );
}

#[test]
fn missing_thumbprint() {
    assert_eq!(
        wrong_transcript(transcript::oid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI)),
        Refusal::DeviceSignatureInvalid
    );
}

#[test]
fn wrong_handover_type() {
    assert_eq!(
        wrong_transcript(transcript::oid4vp_dc_api(
            "https://glassgate.example",
            NONCE,
            Some(&THUMBPRINT)
        )),
        Refusal::DeviceSignatureInvalid
    );
}

#[test]
fn swapped_device_key() {
    let fx = p256();
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let mut p = wallet::present(
        &cred,
        Some(&RequestedElements::mdl_identity()),
        &our_transcript(),
    )
    .unwrap();
    let thief = DeviceKey::generate(KeyAlg::P256).unwrap();
    wallet::sign_document(
        &mut p.documents[0],
        &thief,
        &our_transcript(),
        SignOptions::default(),
    )
    .unwrap();
    assert_eq!(refusal(&fx, &p.encode()), Refusal::DeviceSignatureInvalid);
}

#[test]
fn device_key_of_other_curve() {
    let fx = p256();
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let mut p = wallet::present(
        &cred,
        Some(&RequestedElements::mdl_identity()),
        &our_transcript(),
    )
    .unwrap();
    let p384 = DeviceKey::generate(KeyAlg::P384).unwrap();
    wallet::sign_document(
        &mut p.documents[0],
        &p384,
        &our_transcript(),
        SignOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        refusal(&fx, &p.encode()),
        Refusal::DeviceKeyUnsupported(_)
    ));
}

#[test]
fn device_mac_refused_online() {
    let fx = p256();
    let mut p = fx.presentation(&IssueSpec::sample_mdl());
    p.documents[0].device_auth = DeviceAuthForm::Mac(wallet::holder::dummy_device_mac());
    assert_eq!(refusal(&fx, &p.encode()), Refusal::DeviceMacNotAllowed);
}

#[test]
fn device_signed_elements_refused() {
    let fx = p256();
    let cred = fx.credential(&IssueSpec::sample_mdl());
    let mut p = wallet::present(
        &cred,
        Some(&RequestedElements::mdl_identity()),
        &our_transcript(),
    )
    .unwrap();
    // {"org.iso.18013.5.1": {"family_name": "Roe"}}
    let mut dns = vec![0xa1];
    glassgate_mdl::cbor::write_text(&mut dns, "org.iso.18013.5.1");
    dns.push(0xa1);
    glassgate_mdl::cbor::write_text(&mut dns, "family_name");
    glassgate_mdl::cbor::write_text(&mut dns, "Roe");
    p.documents[0].device_name_spaces = dns;
    wallet::sign_document(
        &mut p.documents[0],
        &cred.device_key,
        &our_transcript(),
        SignOptions::default(),
    )
    .unwrap();
    assert_eq!(refusal(&fx, &p.encode()), Refusal::DeviceSignedElements);
}

#[test]
fn attached_device_payload_refused() {
    let fx = p256();
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
            attached_payload: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        refusal(&fx, &p.encode()),
        Refusal::DeviceAuthMalformed(_)
    ));
}

// ---- DeviceResponse framing and CBOR ----

fn framing(f: impl FnOnce(&mut Presentation)) -> Refusal {
    let fx = p256();
    let mut p = fx.presentation(&IssueSpec::sample_mdl());
    f(&mut p);
    refusal(&fx, &p.encode())
}

#[test]
fn two_documents() {
    assert_eq!(
        framing(|p| p.documents.push(p.documents[0].clone())),
        Refusal::MultipleDocuments(2)
    );
}

#[test]
fn no_document() {
    assert_eq!(framing(|p| p.documents.clear()), Refusal::NoDocument);
}

#[test]
fn status_not_ok() {
    assert_eq!(framing(|p| p.status = 10), Refusal::ResponseStatus(10));
}

#[test]
fn document_errors_present() {
    assert_eq!(
        framing(|p| p.document_errors = true),
        Refusal::DocumentErrors
    );
}

#[test]
fn unsupported_response_version() {
    assert_eq!(
        framing(|p| p.version = "2.0".into()),
        Refusal::ResponseVersion("2.0".into())
    );
}

#[test]
fn truncated_cbor() {
    let fx = p256();
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(refusal(&fx, &bytes[..cut]), Refusal::CborTruncated(_)),
            "cut at {cut}"
        );
    }
}

#[test]
fn trailing_bytes() {
    let fx = p256();
    let mut bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    bytes.push(0x00);
    assert_eq!(
        refusal(&fx, &bytes),
        Refusal::CborTrailingBytes("DeviceResponse")
    );
}

#[test]
fn duplicate_top_level_key() {
    let fx = p256();
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    // Append a second "status" entry and bump the map count from 3 to 4.
    let mut forged = bytes.clone();
    forged[0] = 0xa4;
    forged.extend_from_slice(&[0x66, b's', b't', b'a', b't', b'u', b's', 0x00]);
    assert_eq!(
        refusal(&fx, &forged),
        Refusal::CborDuplicateKey("DeviceResponse")
    );
}

#[test]
fn oversized_input() {
    let fx = p256();
    let big = vec![0u8; (1 << 20) + 1];
    assert!(matches!(refusal(&fx, &big), Refusal::TooLarge { .. }));
}

#[test]
fn every_refusal_has_a_distinct_code() {
    let samples = [
        Refusal::DigestMismatch {
            namespace: String::new(),
            element: String::new(),
        },
        Refusal::DeviceSignatureInvalid,
        Refusal::DsProfile(V::EkuMissing),
        Refusal::DsProfile(V::EkuWrong),
        Refusal::IacaProfile(V::PathLen),
        Refusal::MultipleDocuments(2),
    ];
    let codes: std::collections::BTreeSet<_> = samples.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), samples.len());
}

#[test]
fn cached_document_signer_is_still_checked_for_time() {
    use glassgate_mdl::revocation::NoRevocationCheck;
    let fx = p256();
    let bytes = fx.presentation(&IssueSpec::sample_mdl()).encode();
    let t = our_transcript();
    let r = RequestedElements::mdl_identity();
    let at = |now| {
        let req = glassgate_mdl::VerifyRequest {
            device_response: &bytes,
            transcript: &t,
            requested: &r,
            now,
        };
        glassgate_mdl::verify(
            &req,
            &fx.trust,
            &NoRevocationCheck,
            &glassgate_mdl::VerifyOptions::default(),
        )
    };
    let now = OffsetDateTime::now_utc();
    at(now).unwrap();
    at(now).unwrap(); // served from the chain cache
    assert_eq!(
        at(now + Duration::days(400)).unwrap_err(),
        Refusal::DsNotValidAt
    );
    // A different docType request does not reuse the cached chain's answer.
    let mut other = RequestedElements::mdl_identity();
    other.doc_type = "org.iso.23220.photoid.1".into();
    let req = glassgate_mdl::VerifyRequest {
        device_response: &bytes,
        transcript: &t,
        requested: &other,
        now,
    };
    assert!(matches!(
        glassgate_mdl::verify(
            &req,
            &fx.trust,
            &NoRevocationCheck,
            &glassgate_mdl::VerifyOptions::default()
        ),
        Err(Refusal::DocTypeNotRequested { .. })
    ));
}
