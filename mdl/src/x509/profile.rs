//! ISO/IEC 18013-5 Annex B certificate profiles (B.1.2 IACA, B.1.4 Document Signer).

use time::Duration;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::CertInfo;
use crate::error::ProfileViolation as V;

/// EKU of a mDL document signer.
pub const EKU_MDL_DS: &str = "1.0.18013.5.1.2";
/// EKU of a VICAL signer.
pub const EKU_VICAL_SIGNER: &str = "1.0.18013.5.1.8";
/// Longest DS validity (Annex B.1.4).
pub const DS_MAX_VALIDITY_DAYS: i64 = 457;
/// Longest IACA validity: 20 years.
pub const IACA_MAX_VALIDITY_DAYS: i64 = 20 * 365 + 5;

const KNOWN: &[&str] = &[
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.15",         // keyUsage
    "2.5.29.17",         // subjectAltName
    "2.5.29.18",         // issuerAltName
    "2.5.29.19",         // basicConstraints
    "2.5.29.31",         // cRLDistributionPoints
    "2.5.29.32",         // certificatePolicies
    "2.5.29.35",         // authorityKeyIdentifier
    "2.5.29.37",         // extKeyUsage
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];
const FORBIDDEN: &[&str] = &[
    "2.5.29.33", // policyMappings
    "2.5.29.30", // nameConstraints
    "2.5.29.36", // policyConstraints
    "2.5.29.54", // inhibitAnyPolicy
    "2.5.29.46", // freshestCRL
];

fn extensions_allowed(cert: &X509Certificate<'_>) -> Result<(), V> {
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        if FORBIDDEN.contains(&oid.as_str()) {
            return Err(V::ForbiddenExtension(oid));
        }
        if ext.critical && !KNOWN.contains(&oid.as_str()) {
            return Err(V::UnknownCriticalExtension(oid));
        }
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(V::Malformed(format!("extension {oid}: {error}")));
        }
    }
    Ok(())
}

fn serial_ok(cert: &X509Certificate<'_>) -> Result<(), V> {
    let raw = cert.raw_serial();
    let significant = match raw {
        [0, rest @ ..] => rest,
        all => all,
    };
    if significant.len() > 20 {
        Err(V::SerialNumber)
    } else {
        Ok(())
    }
}

fn has_uri_or_email(names: &[GeneralName<'_>]) -> bool {
    names
        .iter()
        .any(|n| matches!(n, GeneralName::URI(_) | GeneralName::RFC822Name(_)))
}

struct Exts {
    key_usage: Option<(bool, x509_parser::extensions::KeyUsage)>,
    eku: Option<(bool, Vec<String>, bool)>,
    basic: Option<(bool, bool, Option<u32>)>,
    ski: bool,
    ian: bool,
}

fn collect(cert: &X509Certificate<'_>) -> Exts {
    let mut e = Exts {
        key_usage: None,
        eku: None,
        basic: None,
        ski: false,
        ian: false,
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(k) => e.key_usage = Some((ext.critical, *k)),
            ParsedExtension::ExtendedKeyUsage(k) => {
                let standard = k.any
                    || k.server_auth
                    || k.client_auth
                    || k.code_signing
                    || k.email_protection
                    || k.time_stamping
                    || k.ocsp_signing;
                let other = k.other.iter().map(|o| o.to_id_string()).collect();
                e.eku = Some((ext.critical, other, standard));
            }
            ParsedExtension::BasicConstraints(b) => {
                e.basic = Some((ext.critical, b.ca, b.path_len_constraint));
            }
            ParsedExtension::SubjectKeyIdentifier(_) => e.ski = true,
            ParsedExtension::IssuerAlternativeName(ian) => {
                e.ian = has_uri_or_email(&ian.general_names)
            }
            _ => {}
        }
    }
    e
}

fn only(
    ku: &x509_parser::extensions::KeyUsage,
    sign: bool,
    cert_sign: bool,
    crl_sign: bool,
) -> bool {
    let others = ku.non_repudiation()
        || ku.key_encipherment()
        || ku.data_encipherment()
        || ku.key_agreement()
        || ku.encipher_only()
        || ku.decipher_only();
    !others
        && ku.digital_signature() == sign
        && ku.key_cert_sign() == cert_sign
        && ku.crl_sign() == crl_sign
}

fn country_ok(c: &Option<String>) -> bool {
    matches!(c, Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

fn check_algorithms(cert: &X509Certificate<'_>) -> Result<(), V> {
    super::public_key(cert).map_err(V::Algorithm)?;
    super::signature_alg(cert).map_err(V::Algorithm)?;
    Ok(())
}

/// Checks an IACA (trust anchor) against Annex B.1.2.
pub fn check_iaca(cert: &X509Certificate<'_>, info: &CertInfo) -> Result<(), V> {
    check_algorithms(cert)?;
    if info.subject_der != info.issuer_der || !super::signed_by(cert, &info.public_key) {
        return Err(V::NotSelfSigned);
    }
    let e = collect(cert);
    match e.basic {
        Some((true, true, Some(0))) => {}
        Some((true, true, _)) => return Err(V::PathLen),
        Some((false, _, _)) => return Err(V::BasicConstraints("not critical")),
        Some((_, false, _)) => return Err(V::BasicConstraints("CA flag not set")),
        None => return Err(V::BasicConstraints("missing")),
    }
    match &e.key_usage {
        Some((true, ku)) if only(ku, false, true, true) => {}
        _ => return Err(V::KeyUsage),
    }
    if !e.ski {
        return Err(V::SubjectKeyIdentifierMissing);
    }
    if !e.ian {
        return Err(V::IssuerAltNameMissing);
    }
    if info.crl_urls.is_empty() {
        return Err(V::CrlDistributionPointsMissing);
    }
    if !country_ok(&info.country) {
        return Err(V::CountryMissing);
    }
    if info.not_after - info.not_before > Duration::days(IACA_MAX_VALIDITY_DAYS) {
        return Err(V::ValidityTooLong);
    }
    serial_ok(cert)?;
    extensions_allowed(cert)
}

/// Checks a document signer against Annex B.1.4, relative to its IACA.
pub fn check_ds(cert: &X509Certificate<'_>, info: &CertInfo, iaca: &CertInfo) -> Result<(), V> {
    check_algorithms(cert)?;
    let e = collect(cert);
    if let Some((_, true, _)) = e.basic {
        return Err(V::BasicConstraints("document signer must not be a CA"));
    }
    match &e.key_usage {
        Some((true, ku)) if only(ku, true, false, false) => {}
        _ => return Err(V::KeyUsage),
    }
    match &e.eku {
        None => return Err(V::EkuMissing),
        Some((true, other, false)) if other.len() == 1 && other[0] == EKU_MDL_DS => {}
        Some(_) => return Err(V::EkuWrong),
    }
    if !e.ski {
        return Err(V::SubjectKeyIdentifierMissing);
    }
    match (&info.aki, &iaca.ski) {
        (Some(aki), Some(ski)) if aki == ski => {}
        (Some(_), None) => {}
        _ => return Err(V::AuthorityKeyIdentifier),
    }
    if !e.ian {
        return Err(V::IssuerAltNameMissing);
    }
    if info.crl_urls.is_empty() {
        return Err(V::CrlDistributionPointsMissing);
    }
    if !country_ok(&info.country) {
        return Err(V::CountryMissing);
    }
    if info.country != iaca.country || (iaca.state.is_some() && info.state != iaca.state) {
        return Err(V::CountryOrStateMismatch);
    }
    if info.not_after - info.not_before > Duration::days(DS_MAX_VALIDITY_DAYS) {
        return Err(V::ValidityTooLong);
    }
    if info.not_before < iaca.not_before || info.not_after > iaca.not_after {
        return Err(V::ValidityOutsideIssuer);
    }
    serial_ok(cert)?;
    extensions_allowed(cert)
}

/// EKU list (dotted OIDs) of a certificate and whether the extension is critical.
pub fn eku(cert: &X509Certificate<'_>) -> Option<(bool, Vec<String>)> {
    collect(cert).eku.map(|(c, o, _)| (c, o))
}
