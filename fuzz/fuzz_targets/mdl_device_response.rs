//! Fuzzes DeviceResponse parsing and every verification step that needs no trust anchor
//! (COSE, MSO, digests, device signature), plus the full pipeline with an empty store and
//! the CLI input decoder. Must never panic.
#![no_main]

use glassgate_mdl::revocation::NoRevocationCheck;
use glassgate_mdl::{
    RequestedElements, TrustStore, VerifyOptions, VerifyRequest, device_auth, device_response,
    digests, issuer_auth, mso, transcript,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = transcript::oid4vp("x509_san_dns:fuzz.example", "nonce", None, "https://fuzz.example/r");
    let requested = RequestedElements::mdl_identity();
    let req = VerifyRequest {
        device_response: data,
        transcript: &t,
        requested: &requested,
        now: glassgate_mdl::time::OffsetDateTime::UNIX_EPOCH,
    };
    let _ = glassgate_mdl::verify(&req, &TrustStore::new(), &NoRevocationCheck, &VerifyOptions::default());

    if let Ok(resp) = device_response::parse(data) {
        for doc in &resp.documents {
            let Ok(ia) = issuer_auth::parse(doc.issuer_signed.issuer_auth) else { continue };
            if let Some(der) = ia.x5chain.first() {
                if let Ok(cert) = glassgate_mdl::x509::parse(der) {
                    let _ = glassgate_mdl::x509::info(&cert);
                }
            }
            let Ok(m) = mso::parse(&ia.mso_bytes) else { continue };
            let _ = digests::verify_items(&doc.issuer_signed.name_spaces, &m);
            let _ = device_auth::verify(&doc.device_signed, &m.device_key, &t, &doc.doc_type);
        }
    }
    let _ = glassgate_mdl::cli::read_device_response(data);
});
