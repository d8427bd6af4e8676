//! Certificates: owned facts extracted with x509-parser, the Annex B profile and the
//! DS → IACA chain check.

pub mod chain;
pub mod profile;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::crypto::{CertSigAlg, Curve, PublicKey};

/// Owned, pre-extracted facts about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub serial: Vec<u8>,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    pub public_key: PublicKey,
    pub crl_urls: Vec<String>,
    /// SHA-256 of the DER, hex (a stable identifier for logs and the trust-source record).
    pub fingerprint: String,
}

/// Parses a DER certificate (no trailing bytes).
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("trailing bytes after the certificate".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The subject public key as curve + raw point.
pub fn public_key(cert: &X509Certificate<'_>) -> Result<PublicKey, String> {
    let spki = cert.public_key();
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let bytes = spki.subject_public_key.data.to_vec();
    let curve = match key_oid.as_str() {
        "1.2.840.10045.2.1" => {
            let param = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .ok_or("EC key without a named curve")?;
            match param.as_str() {
                "1.2.840.10045.3.1.7" => Curve::P256,
                "1.3.132.0.34" => Curve::P384,
                "1.3.132.0.35" => Curve::P521,
                other => return Err(format!("unsupported curve {other}")),
            }
        }
        "1.3.101.112" => Curve::Ed25519,
        other => return Err(format!("unsupported key algorithm {other}")),
    };
    Ok(PublicKey { curve, bytes })
}

/// Signature algorithm of a certificate.
pub fn signature_alg(cert: &X509Certificate<'_>) -> Result<CertSigAlg, String> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    CertSigAlg::from_oid(&oid).ok_or_else(|| format!("unsupported signature algorithm {oid}"))
}

fn first_attr<'a, 'b: 'a>(
    mut it: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'b>>,
) -> Option<String> {
    it.next().and_then(|a| a.as_str().ok()).map(str::to_owned)
}

/// URIs of the cRLDistributionPoints extension.
pub fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(dps) = ext.parsed_extension() {
            for dp in &dps.points {
                if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point {
                    for n in names {
                        if let GeneralName::URI(u) = n {
                            out.push((*u).to_owned());
                        }
                    }
                }
            }
        }
    }
    out
}

/// Extracts owned facts from a parsed certificate.
pub fn info(cert: &X509Certificate<'_>) -> Result<CertInfo, String> {
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            _ => {}
        }
    }
    let der = cert.as_raw().to_vec();
    Ok(CertInfo {
        fingerprint: hex::encode(crate::crypto::sha256(&der)),
        der,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        subject_der: cert.subject().as_raw().to_vec(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        country: first_attr(cert.subject().iter_country()),
        state: first_attr(cert.subject().iter_state_or_province()),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        serial: cert.raw_serial().to_vec(),
        ski,
        aki,
        public_key: public_key(cert)?,
        crl_urls: crl_urls(cert),
    })
}

/// Verifies that `cert` is signed by `issuer_key`.
pub fn signed_by(cert: &X509Certificate<'_>, issuer_key: &PublicKey) -> bool {
    match signature_alg(cert) {
        Ok(alg) => crate::crypto::verify_x509(
            alg,
            issuer_key,
            cert.tbs_certificate.as_ref(),
            &cert.signature_value.data,
        ),
        Err(_) => false,
    }
}

/// Splits a PEM bundle into DER certificates (ignores other block types).
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for p in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let p = p.map_err(|e| e.to_string())?;
        if p.label == "CERTIFICATE" {
            out.push(p.contents);
        }
    }
    Ok(out)
}
