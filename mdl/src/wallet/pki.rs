//! Test PKI: an IACA and document signers following ISO 18013-5 Annex B, with knobs to
//! break each profile rule, and CRLs. Test and development use only.

pub use rcgen::KeyUsagePurpose;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DnType, IsCa, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// Key algorithm of a test key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    P256,
    P384,
}

impl KeyAlg {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }

    /// aws-lc-rs fixed-length (r‖s) signing algorithm, as COSE needs.
    pub fn cose_signing(self) -> &'static aws_lc_rs::signature::EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Self::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }

    /// COSE alg value (-7 ES256, -35 ES384).
    pub fn cose_alg(self) -> i64 {
        match self {
            Self::P256 => -7,
            Self::P384 => -35,
        }
    }
}

/// Errors of the test PKI (rcgen or aws-lc failures).
#[derive(Debug, thiserror::Error)]
#[error("test PKI: {0}")]
pub struct PkiError(pub String);

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        Self(e.to_string())
    }
}

/// Options for a test IACA.
#[derive(Debug, Clone)]
pub struct IacaOptions {
    pub alg: KeyAlg,
    pub common_name: String,
    pub country: String,
    pub state: Option<String>,
    /// `None` = unconstrained (a profile violation), `Some(0)` = the profile.
    pub path_len: Option<u8>,
    pub crl_url: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IacaOptions {
    /// A conforming IACA valid from a year ago for nine years.
    pub fn new(alg: KeyAlg) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            alg,
            common_name: "Glassgate Test IACA".into(),
            country: "US".into(),
            state: Some("US-CA".into()),
            path_len: Some(0),
            crl_url: "http://127.0.0.1:9/iaca.crl".into(),
            not_before: now - Duration::days(365),
            not_after: now + Duration::days(8 * 365),
        }
    }
}

/// A test IACA with its private key.
pub struct TestIaca {
    pub alg: KeyAlg,
    pub cert_der: Vec<u8>,
    pub key: KeyPair,
    params: CertificateParams,
}

impl std::fmt::Debug for TestIaca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIaca")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Which extended key usage a test DS carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DsEku {
    /// Critical, exactly 1.0.18013.5.1.2 (the profile).
    Mdl,
    /// No EKU extension.
    None,
    /// The mDL EKU, not critical.
    NonCritical,
    /// Another purpose (dotted arcs).
    Other(Vec<u64>),
}

/// Options for a test document signer.
#[derive(Debug, Clone)]
pub struct DsOptions {
    pub alg: KeyAlg,
    pub country: String,
    pub state: Option<String>,
    pub eku: DsEku,
    pub key_usage: Vec<KeyUsagePurpose>,
    pub crl_url: Option<String>,
    /// More distribution point URIs after `crl_url` (a DS listing many).
    pub extra_crl_urls: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub serial: Vec<u8>,
}

impl DsOptions {
    /// A conforming DS valid from 30 days ago for a year.
    pub fn new(alg: KeyAlg, iaca: &IacaOptions) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            alg,
            country: iaca.country.clone(),
            state: iaca.state.clone(),
            eku: DsEku::Mdl,
            key_usage: vec![KeyUsagePurpose::DigitalSignature],
            crl_url: Some(iaca.crl_url.clone()),
            extra_crl_urls: Vec::new(),
            not_before: now - Duration::days(30),
            not_after: now + Duration::days(335),
            serial: vec![0x1d, 0x5c, 0x01],
        }
    }
}

/// A test document signer with its PKCS#8 private key.
#[derive(Debug, Clone)]
pub struct TestDs {
    pub alg: KeyAlg,
    pub cert_der: Vec<u8>,
    pub key_pkcs8: Vec<u8>,
}

fn issuer_alt_name(uri: &str) -> CustomExtension {
    // GeneralNames ::= SEQUENCE { [6] IA5String }
    let mut content = vec![0x30, (uri.len() + 2) as u8, 0x86, uri.len() as u8];
    content.extend_from_slice(uri.as_bytes());
    CustomExtension::from_oid_content(&[2, 5, 29, 18], content)
}

fn oid_der(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        body.extend_from_slice(&chunk);
    }
    let mut out = vec![0x06, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

fn eku_extension(arcs: &[u64], critical: bool) -> CustomExtension {
    let oid = oid_der(arcs);
    let mut content = vec![0x30, oid.len() as u8];
    content.extend_from_slice(&oid);
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], content);
    ext.set_criticality(critical);
    ext
}

/// The mDL DS EKU arcs.
pub const MDL_DS_EKU: &[u64] = &[1, 0, 18013, 5, 1, 2];

fn dn(cn: &str, country: &str, state: &Option<String>) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::CountryName, country);
    if let Some(st) = state {
        dn.push(DnType::StateOrProvinceName, st.as_str());
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// Generates a self-signed test IACA.
pub fn make_iaca(o: &IacaOptions) -> Result<TestIaca, PkiError> {
    let key = KeyPair::generate_for(o.alg.rcgen())?;
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(&o.common_name, &o.country, &o.state);
    p.not_before = o.not_before;
    p.not_after = o.not_after;
    p.serial_number = Some(SerialNumber::from_slice(&[0x4a, 0x01, 0x02, 0x03]));
    p.is_ca = IsCa::Ca(match o.path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![o.crl_url.clone()],
    }];
    p.custom_extensions = vec![issuer_alt_name("https://dmv.example.test")];
    p.key_identifier_method = KeyIdMethod::Sha256;
    let cert = p.self_signed(&key)?;
    Ok(TestIaca {
        alg: o.alg,
        cert_der: cert.der().to_vec(),
        key,
        params: p,
    })
}

/// Generates a document signer issued by `iaca`.
pub fn make_ds(iaca: &TestIaca, o: &DsOptions) -> Result<TestDs, PkiError> {
    let key = KeyPair::generate_for(o.alg.rcgen())?;
    let mut p = CertificateParams::default();
    p.distinguished_name = dn("Glassgate Test Document Signer", &o.country, &o.state);
    p.not_before = o.not_before;
    p.not_after = o.not_after;
    p.serial_number = Some(SerialNumber::from_slice(&o.serial));
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = o.key_usage.clone();
    p.use_authority_key_identifier_extension = true;
    if let Some(url) = &o.crl_url {
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: std::iter::once(url.clone())
                .chain(o.extra_crl_urls.iter().cloned())
                .collect(),
        }];
    }
    p.custom_extensions = vec![issuer_alt_name("https://dmv.example.test")];
    match &o.eku {
        DsEku::Mdl => p.custom_extensions.push(eku_extension(MDL_DS_EKU, true)),
        DsEku::NonCritical => p.custom_extensions.push(eku_extension(MDL_DS_EKU, false)),
        DsEku::Other(arcs) => p.custom_extensions.push(eku_extension(arcs, true)),
        DsEku::None => {}
    }
    let issuer = Issuer::from_params(&iaca.params, &iaca.key);
    let cert = p.signed_by(&key, &issuer)?;
    Ok(TestDs {
        alg: o.alg,
        cert_der: cert.der().to_vec(),
        key_pkcs8: key.serialize_der(),
    })
}

/// A leaf with an arbitrary EKU issued by `iaca` (e.g. a VICAL signer, 1.0.18013.5.1.8).
pub fn make_leaf_with_eku(
    iaca: &TestIaca,
    alg: KeyAlg,
    cn: &str,
    eku: &[u64],
) -> Result<TestDs, PkiError> {
    let key = KeyPair::generate_for(alg.rcgen())?;
    let now = OffsetDateTime::now_utc();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn, "US", &None);
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(300);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    p.custom_extensions = vec![eku_extension(eku, true)];
    let issuer = Issuer::from_params(&iaca.params, &iaca.key);
    let cert = p.signed_by(&key, &issuer)?;
    Ok(TestDs {
        alg,
        cert_der: cert.der().to_vec(),
        key_pkcs8: key.serialize_der(),
    })
}

/// A CRL from `iaca` revoking `serials`.
pub fn make_crl(
    iaca: &TestIaca,
    serials: &[Vec<u8>],
    next_update: OffsetDateTime,
) -> Result<Vec<u8>, PkiError> {
    let now = OffsetDateTime::now_utc();
    let p = CertificateRevocationListParams {
        this_update: now - Duration::minutes(1),
        next_update,
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(s),
                revocation_time: now - Duration::minutes(2),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let issuer = Issuer::from_params(&iaca.params, &iaca.key);
    Ok(p.signed_by(&issuer)?.der().to_vec())
}

/// PEM of a DER certificate.
pub fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
