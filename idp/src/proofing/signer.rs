//! The key and certificate chain that sign our OpenID4VP request objects (`x509_san_dns`).

use std::path::Path;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::pem::Pem;
use zeroize::Zeroizing;

use crate::app::StartError;

pub(super) struct RequestSigner {
    /// The issuer's host, which the leaf certificate names as a DNS SAN.
    pub dns_name: String,
    /// Leaf first.
    pub chain: Vec<Vec<u8>>,
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

fn invalid(text: String) -> StartError {
    StartError::Config(format!("mdl.request_certificate: {text}"))
}

fn pem_blocks(path: &Path, label: &str) -> Result<Vec<Vec<u8>>, StartError> {
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let mut blocks = Vec::new();
    for pem in Pem::iter_from_buffer(&bytes) {
        let pem = pem.map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        if pem.label == label {
            blocks.push(pem.contents);
        }
    }
    Ok(blocks)
}

impl RequestSigner {
    /// Loads and checks the pair: a P-256 key matching the leaf, whose DNS SAN is the issuer host.
    pub fn load(certificate: &Path, key: &Path, issuer: &str) -> Result<Self, StartError> {
        let host = url::Url::parse(issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| invalid("the issuer has no host".into()))?;
        let chain = pem_blocks(certificate, "CERTIFICATE")?;
        let leaf = chain
            .first()
            .ok_or_else(|| invalid("no CERTIFICATE block".into()))?;
        let key_pkcs8 = Zeroizing::new(
            pem_blocks(key, "PRIVATE KEY")?
                .into_iter()
                .next()
                .ok_or_else(|| invalid("mdl.request_key has no PKCS#8 PRIVATE KEY block".into()))?,
        );
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_pkcs8)
            .map_err(|e| invalid(format!("mdl.request_key is not a P-256 key: {e}")))?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| invalid(format!("not a certificate: {e}")))?;
        if cert.public_key().subject_public_key.data.as_ref() != pair.public_key().as_ref() {
            return Err(invalid(
                "mdl.request_key does not match the certificate".into(),
            ));
        }
        let names_host =
            cert.extensions()
                .iter()
                .any(|e| match e.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => san.general_names.iter().any(
                        |n| matches!(n, GeneralName::DNSName(d) if d.eq_ignore_ascii_case(&host)),
                    ),
                    _ => false,
                });
        if !names_host {
            return Err(invalid(format!("the certificate has no DNS SAN {host}")));
        }
        Ok(Self {
            dns_name: host,
            chain,
            key_pkcs8,
        })
    }
}
