//! One refusal enum: every way a presentation can fail verification has its own variant,
//! a stable machine code (`Refusal::code`) and a human message (`Display`).

use std::fmt;

/// A violation of the ISO 18013-5 Annex B certificate profile (IACA or Document Signer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileViolation {
    /// basicConstraints missing, not critical, CA flag wrong, or pathLen not 0.
    BasicConstraints(&'static str),
    /// pathLenConstraint of an IACA is not exactly 0.
    PathLen,
    /// keyUsage missing, not critical, or not the exact set the profile requires.
    KeyUsage,
    /// extendedKeyUsage missing (DS: must be critical and exactly 1.0.18013.5.1.2).
    EkuMissing,
    /// extendedKeyUsage present but not critical or not exactly the profile's purpose.
    EkuWrong,
    /// SubjectKeyIdentifier missing.
    SubjectKeyIdentifierMissing,
    /// AuthorityKeyIdentifier missing or not equal to the issuer's SKI.
    AuthorityKeyIdentifier,
    /// issuerAltName missing.
    IssuerAltNameMissing,
    /// cRLDistributionPoints missing (or without a URI).
    CrlDistributionPointsMissing,
    /// Subject country (C) missing or not a 2-letter code.
    CountryMissing,
    /// DS subject C / ST differs from the IACA's.
    CountryOrStateMismatch,
    /// Validity period longer than the profile allows (DS 457 days, IACA 20 years).
    ValidityTooLong,
    /// DS validity not inside the IACA's.
    ValidityOutsideIssuer,
    /// Serial number longer than 20 octets.
    SerialNumber,
    /// An extension the profile forbids (policyMappings, nameConstraints, …).
    ForbiddenExtension(String),
    /// An unknown extension marked critical.
    UnknownCriticalExtension(String),
    /// Not self-signed / self-signature invalid (IACA).
    NotSelfSigned,
    /// Key or signature algorithm outside the profile.
    Algorithm(String),
    /// The certificate could not be parsed.
    Malformed(String),
}

impl ProfileViolation {
    /// Stable short code for this violation.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BasicConstraints(_) => "basic_constraints",
            Self::PathLen => "path_len",
            Self::KeyUsage => "key_usage",
            Self::EkuMissing => "eku_missing",
            Self::EkuWrong => "eku_wrong",
            Self::SubjectKeyIdentifierMissing => "ski_missing",
            Self::AuthorityKeyIdentifier => "aki",
            Self::IssuerAltNameMissing => "issuer_alt_name_missing",
            Self::CrlDistributionPointsMissing => "crl_dp_missing",
            Self::CountryMissing => "country_missing",
            Self::CountryOrStateMismatch => "country_state_mismatch",
            Self::ValidityTooLong => "validity_too_long",
            Self::ValidityOutsideIssuer => "validity_outside_issuer",
            Self::SerialNumber => "serial_number",
            Self::ForbiddenExtension(_) => "forbidden_extension",
            Self::UnknownCriticalExtension(_) => "unknown_critical_extension",
            Self::NotSelfSigned => "not_self_signed",
            Self::Algorithm(_) => "algorithm",
            Self::Malformed(_) => "malformed",
        }
    }
}

impl fmt::Display for ProfileViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BasicConstraints(why) => write!(f, "basicConstraints: {why}"),
            Self::PathLen => f.write_str("basicConstraints pathLenConstraint must be 0"),
            Self::KeyUsage => {
                f.write_str("keyUsage missing, not critical or not the profile's set")
            }
            Self::EkuMissing => f.write_str("extendedKeyUsage missing"),
            Self::EkuWrong => {
                f.write_str("extendedKeyUsage not critical or not exactly the profile's purpose")
            }
            Self::SubjectKeyIdentifierMissing => f.write_str("subjectKeyIdentifier missing"),
            Self::AuthorityKeyIdentifier => {
                f.write_str("authorityKeyIdentifier missing or not the issuer's key identifier")
            }
            Self::IssuerAltNameMissing => f.write_str("issuerAltName missing"),
            Self::CrlDistributionPointsMissing => {
                f.write_str("cRLDistributionPoints (URI) missing")
            }
            Self::CountryMissing => {
                f.write_str("subject countryName missing or not ISO 3166-1 alpha-2")
            }
            Self::CountryOrStateMismatch => {
                f.write_str("document signer C/ST differ from the IACA's")
            }
            Self::ValidityTooLong => f.write_str("validity period longer than the profile allows"),
            Self::ValidityOutsideIssuer => f.write_str("validity not inside the issuer's validity"),
            Self::SerialNumber => f.write_str("serial number longer than 20 octets"),
            Self::ForbiddenExtension(oid) => write!(f, "forbidden extension {oid}"),
            Self::UnknownCriticalExtension(oid) => write!(f, "unknown critical extension {oid}"),
            Self::NotSelfSigned => f.write_str("IACA is not validly self-signed"),
            Self::Algorithm(a) => write!(f, "algorithm outside the profile: {a}"),
            Self::Malformed(why) => write!(f, "certificate malformed: {why}"),
        }
    }
}

/// Why a presentation was refused. Each variant is one distinct failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // ---- input / CBOR well-formedness ----
    #[error("input larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("CBOR truncated ({0})")]
    CborTruncated(&'static str),
    #[error("trailing bytes after the CBOR item ({0})")]
    CborTrailingBytes(&'static str),
    #[error("CBOR malformed: {0}")]
    CborMalformed(String),
    #[error("CBOR nested too deeply")]
    CborTooDeep,
    #[error("duplicate CBOR map key in {0}")]
    CborDuplicateKey(&'static str),
    #[error("required field missing: {0}")]
    MissingField(&'static str),
    #[error("field has the wrong CBOR type: {0}")]
    WrongType(&'static str),
    #[error("{0} is not a tag-24 embedded CBOR item")]
    NotTag24(&'static str),

    // ---- DeviceResponse level ----
    #[error("unsupported DeviceResponse version {0:?}")]
    ResponseVersion(String),
    #[error("DeviceResponse status is {0}, not 0 (OK)")]
    ResponseStatus(u64),
    #[error("DeviceResponse carries documentErrors")]
    DocumentErrors,
    #[error("DeviceResponse contains no document")]
    NoDocument,
    #[error("DeviceResponse contains {0} documents; exactly one is allowed")]
    MultipleDocuments(usize),
    #[error("document type {got:?} was not requested (expected {expected:?})")]
    DocTypeNotRequested { got: String, expected: String },

    // ---- issuer authentication ----
    #[error("issuerAuth is not a valid COSE_Sign1: {0}")]
    IssuerAuthMalformed(String),
    #[error("issuerAuth has no x5chain")]
    MissingX5Chain,
    #[error("document signer certificate cannot be parsed: {0}")]
    DsCertMalformed(String),
    #[error("document signer is not issued by any trusted IACA")]
    UntrustedIssuer,
    #[error("document signer certificate signature does not verify with the IACA key")]
    ChainSignatureInvalid,
    #[error("trusted IACA violates the ISO 18013-5 Annex B profile: {0}")]
    IacaProfile(ProfileViolation),
    #[error("document signer violates the ISO 18013-5 Annex B profile: {0}")]
    DsProfile(ProfileViolation),
    #[error("IACA certificate not valid at the verification time")]
    IacaNotValidAt,
    #[error("document signer certificate not valid at the verification time")]
    DsNotValidAt,
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("COSE algorithm does not match the key's curve")]
    AlgorithmKeyMismatch,
    #[error("issuerAuth signature does not verify with the document signer key")]
    IssuerSignatureInvalid,

    // ---- MSO ----
    #[error("mobile security object malformed: {0}")]
    MsoMalformed(String),
    #[error("unsupported MSO version {0:?}")]
    MsoVersion(String),
    #[error("digest algorithm {0:?} not allowed")]
    DigestAlgorithm(String),
    #[error("MSO docType {mso:?} differs from the document's {document:?}")]
    MsoDocTypeMismatch { mso: String, document: String },

    // ---- disclosed items ----
    #[error("IssuerSignedItem malformed: {0}")]
    ItemMalformed(String),
    #[error("namespace {0:?} has no digests in the MSO")]
    NamespaceNotInMso(String),
    #[error("digestID {id} of {namespace:?} is not in the MSO")]
    DigestIdUnknown { namespace: String, id: u64 },
    #[error("digest of {namespace}/{element} does not match the MSO")]
    DigestMismatch { namespace: String, element: String },
    #[error("digestID {id} of {namespace:?} disclosed twice")]
    DuplicateDigestId { namespace: String, id: u64 },
    #[error("element {namespace}/{element} disclosed twice")]
    DuplicateElement { namespace: String, element: String },
    #[error("random salt of {namespace}/{element} shorter than 16 bytes")]
    RandomTooShort { namespace: String, element: String },

    // ---- validity ----
    #[error("validityInfo inconsistent: {0}")]
    ValidityInconsistent(&'static str),
    #[error("MSO signed outside the document signer certificate's validity")]
    SignedOutsideDsValidity,
    #[error("MSO not yet valid (validFrom in the future)")]
    MsoNotYetValid,
    #[error("MSO expired (validUntil in the past)")]
    MsoExpired,

    // ---- mDL data rules ----
    #[error("issuing_country {element:?} differs from the document signer's C {certificate:?}")]
    IssuingCountryMismatch {
        element: String,
        certificate: String,
    },
    #[error(
        "issuing_jurisdiction {element:?} differs from the document signer's ST {certificate:?}"
    )]
    IssuingJurisdictionMismatch {
        element: String,
        certificate: String,
    },

    // ---- device authentication ----
    #[error("deviceMac is not accepted in online presentations")]
    DeviceMacNotAllowed,
    #[error("deviceAuth malformed: {0}")]
    DeviceAuthMalformed(String),
    #[error("device key unsupported or malformed: {0}")]
    DeviceKeyUnsupported(String),
    #[error("device signature does not verify over our session transcript")]
    DeviceSignatureInvalid,
    #[error("device-signed elements are not accepted")]
    DeviceSignedElements,

    // ---- binding to the request ----
    #[error("element {namespace}/{element} was not requested")]
    ElementNotRequested { namespace: String, element: String },

    // ---- revocation ----
    #[error("document signer certificate is revoked (CRL)")]
    DsRevoked,
    #[error("credential is revoked or suspended (status list value {0})")]
    CredentialRevoked(u8),
    #[error("revocation status unavailable: {0}")]
    RevocationUnavailable(String),
}

impl Refusal {
    /// Stable machine code, e.g. for logs, metrics and API errors. Never changes once published.
    pub fn code(&self) -> String {
        let c = match self {
            Self::TooLarge { .. } => "too_large",
            Self::CborTruncated(_) => "cbor_truncated",
            Self::CborTrailingBytes(_) => "cbor_trailing_bytes",
            Self::CborMalformed(_) => "cbor_malformed",
            Self::CborTooDeep => "cbor_too_deep",
            Self::CborDuplicateKey(_) => "cbor_duplicate_key",
            Self::MissingField(_) => "missing_field",
            Self::WrongType(_) => "wrong_type",
            Self::NotTag24(_) => "not_tag24",
            Self::ResponseVersion(_) => "response_version",
            Self::ResponseStatus(_) => "response_status",
            Self::DocumentErrors => "document_errors",
            Self::NoDocument => "no_document",
            Self::MultipleDocuments(_) => "multiple_documents",
            Self::DocTypeNotRequested { .. } => "doctype_not_requested",
            Self::IssuerAuthMalformed(_) => "issuer_auth_malformed",
            Self::MissingX5Chain => "x5chain_missing",
            Self::DsCertMalformed(_) => "ds_cert_malformed",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::ChainSignatureInvalid => "chain_signature_invalid",
            Self::IacaProfile(v) => return format!("iaca_profile.{}", v.code()),
            Self::DsProfile(v) => return format!("ds_profile.{}", v.code()),
            Self::IacaNotValidAt => "iaca_not_valid_at",
            Self::DsNotValidAt => "ds_not_valid_at",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::AlgorithmKeyMismatch => "algorithm_key_mismatch",
            Self::IssuerSignatureInvalid => "issuer_signature_invalid",
            Self::MsoMalformed(_) => "mso_malformed",
            Self::MsoVersion(_) => "mso_version",
            Self::DigestAlgorithm(_) => "digest_algorithm",
            Self::MsoDocTypeMismatch { .. } => "mso_doctype_mismatch",
            Self::ItemMalformed(_) => "item_malformed",
            Self::NamespaceNotInMso(_) => "namespace_not_in_mso",
            Self::DigestIdUnknown { .. } => "digest_id_unknown",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::DuplicateDigestId { .. } => "duplicate_digest_id",
            Self::DuplicateElement { .. } => "duplicate_element",
            Self::RandomTooShort { .. } => "random_too_short",
            Self::ValidityInconsistent(_) => "validity_inconsistent",
            Self::SignedOutsideDsValidity => "signed_outside_ds_validity",
            Self::MsoNotYetValid => "mso_not_yet_valid",
            Self::MsoExpired => "mso_expired",
            Self::IssuingCountryMismatch { .. } => "issuing_country_mismatch",
            Self::IssuingJurisdictionMismatch { .. } => "issuing_jurisdiction_mismatch",
            Self::DeviceMacNotAllowed => "device_mac_not_allowed",
            Self::DeviceAuthMalformed(_) => "device_auth_malformed",
            Self::DeviceKeyUnsupported(_) => "device_key_unsupported",
            Self::DeviceSignatureInvalid => "device_signature_invalid",
            Self::DeviceSignedElements => "device_signed_elements",
            Self::ElementNotRequested { .. } => "element_not_requested",
            Self::DsRevoked => "ds_revoked",
            Self::CredentialRevoked(_) => "credential_revoked",
            Self::RevocationUnavailable(_) => "revocation_unavailable",
        };
        c.to_owned()
    }
}
