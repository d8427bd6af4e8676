//! Test holder: selects disclosed items, signs DeviceAuthentication over a transcript, and
//! encodes the DeviceResponse. Every part is public so tests can forge variants.

use super::issuer::{Credential, DeviceKey};
use super::pki::PkiError;
use crate::cbor::{tag24, write_bytes, write_head, write_text};
use crate::claims::RequestedElements;
use crate::transcript::{SessionTranscript, device_authentication_bytes};

/// Device authentication as sent.
#[derive(Debug, Clone)]
pub enum DeviceAuthForm {
    /// Encoded COSE_Sign1.
    Signature(Vec<u8>),
    /// Encoded COSE_Mac0.
    Mac(Vec<u8>),
}

/// One document of a presentation.
#[derive(Debug, Clone)]
pub struct PresentedDocument {
    pub doc_type: String,
    /// Namespace → IssuerSignedItemBytes.
    pub name_spaces: Vec<(String, Vec<Vec<u8>>)>,
    pub issuer_auth: Vec<u8>,
    /// The `DeviceNameSpaces` map CBOR (inside tag 24); `a0` normally.
    pub device_name_spaces: Vec<u8>,
    pub device_auth: DeviceAuthForm,
}

/// A DeviceResponse under construction.
#[derive(Debug, Clone)]
pub struct Presentation {
    pub version: String,
    pub documents: Vec<PresentedDocument>,
    pub document_errors: bool,
    pub status: u64,
}

/// Options for signing DeviceAuthentication.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignOptions {
    /// Wrap the COSE_Sign1 in tag 18.
    pub tag18: bool,
    /// Put DeviceAuthenticationBytes in the payload instead of nil.
    pub attached_payload: bool,
}

/// Builds a presentation disclosing the `requested` elements the credential holds
/// (or all of them when `requested` is `None`) and signs it over `transcript`.
pub fn present(
    cred: &Credential,
    requested: Option<&RequestedElements>,
    transcript: &SessionTranscript,
) -> Result<Presentation, PkiError> {
    let name_spaces = cred
        .name_spaces
        .iter()
        .map(|(ns, items)| {
            let chosen = items
                .iter()
                .filter(|(id, _)| requested.is_none_or(|r| r.contains(ns, id)))
                .map(|(_, b)| b.clone())
                .collect::<Vec<_>>();
            (ns.clone(), chosen)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    let mut doc = PresentedDocument {
        doc_type: cred.doc_type.clone(),
        name_spaces,
        issuer_auth: cred.issuer_auth.clone(),
        device_name_spaces: vec![0xa0],
        device_auth: DeviceAuthForm::Signature(Vec::new()),
    };
    sign_document(
        &mut doc,
        &cred.device_key,
        transcript,
        SignOptions::default(),
    )?;
    Ok(Presentation {
        version: "1.0".into(),
        documents: vec![doc],
        document_errors: false,
        status: 0,
    })
}

/// (Re-)signs a document's DeviceAuthentication with `key` over `transcript`.
pub fn sign_document(
    doc: &mut PresentedDocument,
    key: &DeviceKey,
    transcript: &SessionTranscript,
    opts: SignOptions,
) -> Result<(), PkiError> {
    let dns_bytes = tag24(&doc.device_name_spaces);
    let payload = device_authentication_bytes(transcript, &doc.doc_type, &dns_bytes);
    let protected: &[u8] = match key.alg {
        super::pki::KeyAlg::P256 => &[0xa1, 0x01, 0x26],
        super::pki::KeyAlg::P384 => &[0xa1, 0x01, 0x38, 0x22],
    };
    let mut tbs = vec![0x84];
    write_text(&mut tbs, "Signature1");
    write_bytes(&mut tbs, protected);
    write_bytes(&mut tbs, &[]);
    write_bytes(&mut tbs, &payload);
    let sig = key.sign(&tbs)?;
    let mut out = Vec::new();
    if opts.tag18 {
        out.push(0xd2);
    }
    out.push(0x84);
    write_bytes(&mut out, protected);
    out.push(0xa0);
    if opts.attached_payload {
        write_bytes(&mut out, &payload);
    } else {
        out.push(0xf6);
    }
    write_bytes(&mut out, &sig);
    doc.device_auth = DeviceAuthForm::Signature(out);
    Ok(())
}

/// A syntactically valid COSE_Mac0 (HMAC 256/256) with a dummy tag, as proximity wallets send.
pub fn dummy_device_mac() -> Vec<u8> {
    let mut out = vec![0x84, 0x43, 0xa1, 0x01, 0x05, 0xa0, 0xf6];
    write_bytes(&mut out, &[0u8; 32]);
    out
}

impl PresentedDocument {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(0xa3);
        write_text(out, "docType");
        write_text(out, &self.doc_type);
        write_text(out, "issuerSigned");
        out.push(0xa2);
        write_text(out, "nameSpaces");
        write_head(out, 5, self.name_spaces.len() as u64);
        for (ns, items) in &self.name_spaces {
            write_text(out, ns);
            write_head(out, 4, items.len() as u64);
            for item in items {
                out.extend_from_slice(item);
            }
        }
        write_text(out, "issuerAuth");
        out.extend_from_slice(&self.issuer_auth);
        write_text(out, "deviceSigned");
        out.push(0xa2);
        write_text(out, "nameSpaces");
        out.extend_from_slice(&tag24(&self.device_name_spaces));
        write_text(out, "deviceAuth");
        out.push(0xa1);
        match &self.device_auth {
            DeviceAuthForm::Signature(s) => {
                write_text(out, "deviceSignature");
                out.extend_from_slice(s);
            }
            DeviceAuthForm::Mac(m) => {
                write_text(out, "deviceMac");
                out.extend_from_slice(m);
            }
        }
    }
}

impl Presentation {
    /// The DeviceResponse CBOR.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let fields = if self.document_errors { 4 } else { 3 };
        write_head(&mut out, 5, fields);
        write_text(&mut out, "version");
        write_text(&mut out, &self.version);
        write_text(&mut out, "documents");
        write_head(&mut out, 4, self.documents.len() as u64);
        for d in &self.documents {
            d.encode(&mut out);
        }
        if self.document_errors {
            write_text(&mut out, "documentErrors");
            out.push(0x81);
            out.push(0xa1);
            write_text(&mut out, crate::claims::MDL_DOCTYPE);
            out.push(0x0a);
        }
        write_text(&mut out, "status");
        write_head(&mut out, 0, self.status);
        out
    }
}
