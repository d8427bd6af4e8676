//! ISO/IEC 18013-5:2021 Annex D (D.4.1.2) DeviceResponse. Test data: the published hex, as
//! reproduced in openwallet-foundation/multipaz `TestVectors.kt` (Apache-2.0) and other
//! public test suites; see tests/data/README.md. The Annex D IACA is not published, so the
//! issuer signature is checked with the DS certificate from x5chain and chain validation
//! is out of scope. The vector uses deviceMac, which online verification refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use glassgate_mdl::revocation::NoRevocationCheck;
use glassgate_mdl::transcript::SessionTranscript;
use glassgate_mdl::{
    Refusal, RequestedElements, TrustStore, VerifyOptions, VerifyRequest, device_auth,
    device_response, digests, issuer_auth, mso, validity, x509,
};
use time::macros::datetime;

fn vector() -> Vec<u8> {
    let hex = include_str!("data/annex_d_device_response.hex");
    hex::decode(hex.trim()).unwrap()
}

#[test]
fn annex_d_issuer_signature_and_digests_verify_at_pinned_time() {
    let bytes = vector();
    assert_eq!(bytes.len(), 3562);
    let resp = device_response::parse(&bytes).unwrap();
    assert_eq!(resp.version, "1.0");
    assert_eq!(resp.status, 0);
    assert_eq!(resp.documents.len(), 1);
    let doc = &resp.documents[0];
    assert_eq!(doc.doc_type, "org.iso.18013.5.1.mDL");

    let ia = issuer_auth::parse(doc.issuer_signed.issuer_auth).unwrap();
    assert_eq!(ia.alg.name(), "ES256");
    assert_eq!(ia.x5chain.len(), 1);
    let cert = x509::parse(&ia.x5chain[0]).unwrap();
    let ds = x509::info(&cert).unwrap();
    assert!(ds.subject.contains("utopia ds"));
    assert_eq!(ds.country.as_deref(), Some("US"));
    issuer_auth::verify_signature(&ia, &ds.public_key).unwrap();

    let m = mso::parse(&ia.mso_bytes).unwrap();
    assert_eq!(m.version, "1.0");
    assert_eq!(m.doc_type, doc.doc_type);
    let items = digests::verify_items(&doc.issuer_signed.name_spaces, &m).unwrap();
    let names: Vec<_> = items[0]
        .1
        .iter()
        .map(|i| i.element_identifier.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "family_name",
            "issue_date",
            "expiry_date",
            "document_number",
            "portrait",
            "driving_privileges"
        ]
    );

    let now = datetime!(2020-10-02 00:00 UTC);
    validity::check(
        &m.validity,
        ds.not_before,
        ds.not_after,
        now,
        time::Duration::minutes(5),
    )
    .unwrap();
    assert_eq!(
        validity::check(
            &m.validity,
            ds.not_before,
            ds.not_after,
            datetime!(2021-10-02 00:00 UTC),
            time::Duration::minutes(5)
        ),
        Err(Refusal::MsoExpired)
    );

    // Online verification refuses its deviceMac.
    let t = SessionTranscript::from_cbor(vec![0x83, 0xf6, 0xf6, 0xf6]);
    assert_eq!(
        device_auth::verify(&doc.device_signed, &m.device_key, &t, &doc.doc_type),
        Err(Refusal::DeviceMacNotAllowed)
    );
}

#[test]
fn annex_d_tampered_item_fails_digest() {
    let mut bytes = vector();
    // "Doe" → "Doa" inside the family_name item.
    let at = bytes.windows(3).position(|w| w == b"Doe").unwrap();
    bytes[at + 2] = b'a';
    let resp = device_response::parse(&bytes).unwrap();
    let doc = &resp.documents[0];
    let ia = issuer_auth::parse(doc.issuer_signed.issuer_auth).unwrap();
    let m = mso::parse(&ia.mso_bytes).unwrap();
    assert!(matches!(
        digests::verify_items(&doc.issuer_signed.name_spaces, &m),
        Err(Refusal::DigestMismatch { .. })
    ));
}

#[test]
fn annex_d_full_pipeline_refuses_unknown_issuer() {
    let bytes = vector();
    let t = SessionTranscript::from_cbor(vec![0x83, 0xf6, 0xf6, 0xf6]);
    let requested = RequestedElements::mdl(&["family_name"]);
    let req = VerifyRequest {
        device_response: &bytes,
        transcript: &t,
        requested: &requested,
        now: datetime!(2020-10-02 00:00 UTC),
    };
    let r = glassgate_mdl::verify(
        &req,
        &TrustStore::new(),
        &NoRevocationCheck,
        &VerifyOptions::default(),
    );
    assert_eq!(r.unwrap_err(), Refusal::UntrustedIssuer);
}
