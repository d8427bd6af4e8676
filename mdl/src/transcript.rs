//! SessionTranscript builders for online presentation (pure functions).
//!
//! `SessionTranscript = [null, null, Handover]` (ISO 18013-5 §9.1.5.1 with
//! DeviceEngagementBytes and EReaderKeyBytes null). The verifier always builds the
//! transcript from its own request state, never from anything the wallet sends.
//!
//! - OpenID4VP 1.0 Appendix B.2.6.1 `OpenID4VPHandover` (redirect: direct_post / direct_post.jwt)
//! - OpenID4VP 1.0 Appendix B.2.6.2 `OpenID4VPDCAPIHandover` (Digital Credentials API)
//! - ISO/IEC TS 18013-7 Annex C `dcapi` (`org-iso-mdoc` over the Digital Credentials API)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::cbor::{tag24, write_bytes, write_head, write_text};
use crate::crypto::sha256;

/// The CBOR encoding of a `SessionTranscript` array (preferred serialisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTranscript(Vec<u8>);

impl SessionTranscript {
    /// Wraps already-encoded transcript CBOR (e.g. a proximity transcript for tests).
    pub fn from_cbor(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The `SessionTranscript` array, as embedded in DeviceAuthentication.
    pub fn as_cbor(&self) -> &[u8] {
        &self.0
    }

    /// `SessionTranscriptBytes = #6.24(bstr .cbor SessionTranscript)`.
    pub fn tagged_bytes(&self) -> Vec<u8> {
        tag24(&self.0)
    }
}

fn opt_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => write_bytes(out, b),
        None => out.push(0xf6),
    }
}

fn transcript(handover_type: &str, info: &[u8]) -> SessionTranscript {
    let mut out = vec![0x83, 0xf6, 0xf6];
    out.extend_from_slice(&handover(handover_type, info));
    SessionTranscript(out)
}

fn handover(handover_type: &str, info: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    write_text(&mut out, handover_type);
    write_bytes(&mut out, &sha256(info));
    out
}

/// `OpenID4VPHandoverInfo = [clientId, nonce, jwkThumbprint / null, responseUri]`.
pub fn oid4vp_handover_info(
    client_id: &str,
    nonce: &str,
    jwk_thumbprint: Option<&[u8]>,
    response_uri: &str,
) -> Vec<u8> {
    let mut out = vec![0x84];
    write_text(&mut out, client_id);
    write_text(&mut out, nonce);
    opt_bytes(&mut out, jwk_thumbprint);
    write_text(&mut out, response_uri);
    out
}

/// `OpenID4VPHandover = ["OpenID4VPHandover", sha256(OpenID4VPHandoverInfoBytes)]`.
pub fn oid4vp_handover(
    client_id: &str,
    nonce: &str,
    jwk_thumbprint: Option<&[u8]>,
    response_uri: &str,
) -> Vec<u8> {
    handover(
        "OpenID4VPHandover",
        &oid4vp_handover_info(client_id, nonce, jwk_thumbprint, response_uri),
    )
}

/// OpenID4VP 1.0 redirect-based transcript. `client_id` includes its prefix
/// (`x509_san_dns:…`); `jwk_thumbprint` is the RFC 7638 thumbprint of our encryption key
/// for `direct_post.jwt`, `None` for `direct_post`; `response_uri` is the `response_uri`
/// (or `redirect_uri`) request parameter.
pub fn oid4vp(
    client_id: &str,
    nonce: &str,
    jwk_thumbprint: Option<&[u8]>,
    response_uri: &str,
) -> SessionTranscript {
    transcript(
        "OpenID4VPHandover",
        &oid4vp_handover_info(client_id, nonce, jwk_thumbprint, response_uri),
    )
}

/// `OpenID4VPDCAPIHandoverInfo = [origin, nonce, jwkThumbprint / null]`.
pub fn dc_api_handover_info(origin: &str, nonce: &str, jwk_thumbprint: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![0x83];
    write_text(&mut out, origin);
    write_text(&mut out, nonce);
    opt_bytes(&mut out, jwk_thumbprint);
    out
}

/// `OpenID4VPDCAPIHandover = ["OpenID4VPDCAPIHandover", sha256(…InfoBytes)]`.
pub fn dc_api_handover(origin: &str, nonce: &str, jwk_thumbprint: Option<&[u8]>) -> Vec<u8> {
    handover(
        "OpenID4VPDCAPIHandover",
        &dc_api_handover_info(origin, nonce, jwk_thumbprint),
    )
}

/// OpenID4VP 1.0 over the Digital Credentials API. `origin` without the `origin:` prefix;
/// thumbprint only for `dc_api.jwt`.
pub fn oid4vp_dc_api(
    origin: &str,
    nonce: &str,
    jwk_thumbprint: Option<&[u8]>,
) -> SessionTranscript {
    transcript(
        "OpenID4VPDCAPIHandover",
        &dc_api_handover_info(origin, nonce, jwk_thumbprint),
    )
}

/// ISO 18013-7 Annex C `EncryptionInfo = ["dcapi", {"nonce": bstr, "recipientPublicKey": COSE_Key}]`,
/// returned base64url-encoded (`Base64EncryptionInfo`). `recipient_cose_key` is the
/// encoded COSE_Key of the verifier's HPKE key.
pub fn iso_dc_api_encryption_info(nonce: &[u8], recipient_cose_key: &[u8]) -> String {
    let mut out = vec![0x82];
    write_text(&mut out, "dcapi");
    out.push(0xa2);
    write_text(&mut out, "nonce");
    write_bytes(&mut out, nonce);
    write_text(&mut out, "recipientPublicKey");
    out.extend_from_slice(recipient_cose_key);
    URL_SAFE_NO_PAD.encode(out)
}

/// ISO 18013-7 Annex C: `["dcapi", sha256(cbor([Base64EncryptionInfo, origin]))]`.
pub fn iso_dc_api(base64_encryption_info: &str, origin: &str) -> SessionTranscript {
    let mut info = vec![0x82];
    write_text(&mut info, base64_encryption_info);
    write_text(&mut info, origin);
    transcript("dcapi", &info)
}

/// RFC 7638 SHA-256 thumbprint of an EC public JWK (`crv`, `kty`, `x`, `y` only).
pub fn ec_jwk_thumbprint(crv: &str, x_b64: &str, y_b64: &str) -> [u8; 32] {
    // Lexicographic member order, no whitespace (RFC 7638 §3.2).
    let canonical = format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x_b64}","y":"{y_b64}"}}"#);
    sha256(canonical.as_bytes())
}

/// Thumbprint of a JWK given as JSON (EC keys only).
pub fn jwk_thumbprint(jwk: &serde_json::Value) -> Option<[u8; 32]> {
    if jwk.get("kty")?.as_str()? != "EC" {
        return None;
    }
    Some(ec_jwk_thumbprint(
        jwk.get("crv")?.as_str()?,
        jwk.get("x")?.as_str()?,
        jwk.get("y")?.as_str()?,
    ))
}

/// `DeviceAuthenticationBytes = #6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript,
/// DocType, DeviceNameSpacesBytes])`; `device_name_spaces_bytes` is the tag-24 item as received.
pub fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    device_name_spaces_bytes: &[u8],
) -> Vec<u8> {
    let mut da = Vec::with_capacity(64 + transcript.0.len() + device_name_spaces_bytes.len());
    write_head(&mut da, 4, 4);
    write_text(&mut da, "DeviceAuthentication");
    da.extend_from_slice(&transcript.0);
    write_text(&mut da, doc_type);
    da.extend_from_slice(device_name_spaces_bytes);
    tag24(&da)
}

#[cfg(test)]
mod tests {
    //! Golden vectors: OpenID4VP 1.0 (openid/OpenID4VP, `1.0/openid-4-verifiable-presentations-1_0.md`,
    //! Appendix B.2.6.1 and B.2.6.2, non-normative examples), copied as test data.
    use super::*;

    const JWK_X: &str = "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0";
    const JWK_Y: &str = "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc";
    const NONCE: &str = "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA";

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    #[test]
    fn thumbprint_matches_spec_example() {
        let tp = ec_jwk_thumbprint("P-256", JWK_X, JWK_Y);
        assert_eq!(
            hex::encode(tp),
            "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047"
        );
        let jwk = serde_json::json!({"kty":"EC","crv":"P-256","x":JWK_X,"y":JWK_Y,"use":"enc","alg":"ECDH-ES","kid":"1"});
        assert_eq!(jwk_thumbprint(&jwk), Some(tp));
    }

    #[test]
    fn oid4vp_redirect_golden() {
        let tp = ec_jwk_thumbprint("P-256", JWK_X, JWK_Y);
        let info = oid4vp_handover_info(
            "x509_san_dns:example.com",
            NONCE,
            Some(&tp),
            "https://example.com/response",
        );
        assert_eq!(
            info,
            h(
                "847818783530395f73616e5f646e733a6578616d706c652e636f6d782b6578633767
            426b786a7831726463397564527276654b7653734a4971383061766c58654c486847
            7771744158204283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6
            bd669047781c68747470733a2f2f6578616d706c652e636f6d2f726573706f6e7365"
            )
        );
        let ho = oid4vp_handover(
            "x509_san_dns:example.com",
            NONCE,
            Some(&tp),
            "https://example.com/response",
        );
        assert_eq!(
            ho,
            h(
                "82714f70656e494434565048616e646f7665725820048bc053c00442af9b8eed494c
            efdd9d95240d254b046b11b68013722aad38ac"
            )
        );
        let st = oid4vp(
            "x509_san_dns:example.com",
            NONCE,
            Some(&tp),
            "https://example.com/response",
        );
        assert_eq!(
            st.as_cbor(),
            h(
                "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e
            ed494cefdd9d95240d254b046b11b68013722aad38ac"
            )
        );
    }

    #[test]
    fn oid4vp_dc_api_golden() {
        let tp = ec_jwk_thumbprint("P-256", JWK_X, JWK_Y);
        let info = dc_api_handover_info("https://example.com", NONCE, Some(&tp));
        assert_eq!(
            info,
            h(
                "837368747470733a2f2f6578616d706c652e636f6d782b6578633767426b786a7831
            726463397564527276654b7653734a4971383061766c58654c486847777174415820
            4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047"
            )
        );
        assert_eq!(
            dc_api_handover("https://example.com", NONCE, Some(&tp)),
            h(
                "82764f70656e4944345650444341504948616e646f7665725820fbece366f4212f97
            62c74cfdbf83b8c69e371d5d68cea09cb4c48ca6daab761a"
            )
        );
        let st = oid4vp_dc_api("https://example.com", NONCE, Some(&tp));
        assert_eq!(
            st.as_cbor(),
            h(
                "83f6f682764f70656e4944345650444341504948616e646f7665725820fbece366f4
            212f9762c74cfdbf83b8c69e371d5d68cea09cb4c48ca6daab761a"
            )
        );
    }

    #[test]
    fn null_thumbprint_keeps_arity() {
        let info = dc_api_handover_info("https://a.example", "n", None);
        assert_eq!(info[0], 0x83);
        assert_eq!(*info.last().unwrap(), 0xf6);
        let info = oid4vp_handover_info("redirect_uri:https://a", "n", None, "https://a/r");
        assert_eq!(info[0], 0x84);
    }

    #[test]
    fn iso_dc_api_shape() {
        let st = iso_dc_api("abc", "https://example.com");
        assert_eq!(&st.as_cbor()[..5], &[0x83, 0xf6, 0xf6, 0x82, 0x65]);
        assert_eq!(&st.as_cbor()[5..10], b"dcapi");
        let ei = iso_dc_api_encryption_info(&[1, 2, 3], &[0xa0]);
        let raw = URL_SAFE_NO_PAD.decode(ei).unwrap();
        assert!(crate::cbor::decode_one(&raw, "t").is_ok());
    }
}
