//! mdoc authentication (ISO 18013-5 §9.1.3): the device signature over
//! DeviceAuthenticationBytes built from the verifier's own SessionTranscript.

use crate::crypto::{self, CoseAlg, PublicKey};
use crate::device_response::{DeviceAuth, DeviceSigned};
use crate::error::Refusal;
use crate::issuer_auth::parse_sign1;
use crate::transcript::{SessionTranscript, device_authentication_bytes};

/// Verifies `deviceSigned` for an online presentation.
///
/// Refuses `deviceMac` (no reader key exists online), any device-signed element (we do not
/// accept data the issuer did not sign), an attached payload, and a signature that does not
/// verify with the MSO device key over `transcript`.
pub fn verify(
    device_signed: &DeviceSigned<'_>,
    device_key: &PublicKey,
    transcript: &SessionTranscript,
    doc_type: &str,
) -> Result<(), Refusal> {
    let sig_raw = match &device_signed.device_auth {
        DeviceAuth::Mac(_) => return Err(Refusal::DeviceMacNotAllowed),
        DeviceAuth::Signature(s) => *s,
    };
    let ns = device_signed
        .name_spaces_bytes
        .tag24("DeviceNameSpacesBytes")?;
    let ns_map = crate::cbor::decode_one(&ns, "DeviceNameSpaces")?.map("DeviceNameSpaces")?;
    if !ns_map.is_empty() {
        return Err(Refusal::DeviceSignedElements);
    }

    let sign1 = parse_sign1(sig_raw, Refusal::DeviceAuthMalformed)?;
    if sign1.payload.is_some() {
        return Err(Refusal::DeviceAuthMalformed(
            "payload must be detached (nil)".into(),
        ));
    }
    let alg = sign1
        .protected
        .header
        .alg
        .as_ref()
        .ok_or_else(|| Refusal::DeviceAuthMalformed("no alg in the protected header".into()))
        .and_then(CoseAlg::from_cose)?;
    let payload = device_authentication_bytes(
        transcript,
        doc_type,
        device_signed.name_spaces_bytes.bytes(),
    );
    let tbs = sign1.tbs_detached_data(&payload, b"");
    crypto::verify_cose(
        alg,
        device_key,
        &tbs,
        &sign1.signature,
        Refusal::DeviceKeyUnsupported("COSE alg does not fit the device key curve".into()),
        Refusal::DeviceSignatureInvalid,
    )
}
