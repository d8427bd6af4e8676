//! Wire structures of ISO 18013-5 §8.3.2.1.2.2 (DeviceResponse, Document, IssuerSigned,
//! DeviceSigned), parsed as byte-preserving views over the received CBOR.

use crate::cbor::{self, Raw};
use crate::error::Refusal;

/// Largest DeviceResponse accepted (portraits are a few tens of kB).
pub const MAX_DEVICE_RESPONSE_LEN: usize = 1 << 20;

/// `DeviceResponse` (one wallet answer).
#[derive(Debug)]
pub struct DeviceResponse<'a> {
    pub version: String,
    pub documents: Vec<Document<'a>>,
    pub has_document_errors: bool,
    pub status: u64,
}

/// One `Document` (one credential).
#[derive(Debug)]
pub struct Document<'a> {
    pub doc_type: String,
    pub issuer_signed: IssuerSigned<'a>,
    pub device_signed: DeviceSigned<'a>,
    /// The document carries an `errors` map (elements the wallet could not return).
    pub has_errors: bool,
}

/// `IssuerSigned`: disclosed items per namespace plus the issuer's COSE_Sign1.
#[derive(Debug)]
pub struct IssuerSigned<'a> {
    /// Namespace → the raw `IssuerSignedItemBytes` (`#6.24(bstr)`) exactly as received.
    pub name_spaces: Vec<(String, Vec<Raw<'a>>)>,
    pub issuer_auth: Raw<'a>,
}

/// `DeviceSigned`: device name spaces (tag 24) and the device authentication.
#[derive(Debug)]
pub struct DeviceSigned<'a> {
    /// `DeviceNameSpacesBytes` (`#6.24(bstr)`) exactly as received.
    pub name_spaces_bytes: Raw<'a>,
    pub device_auth: DeviceAuth<'a>,
}

/// `DeviceAuth`: signature or MAC (only the signature is acceptable online).
#[derive(Debug)]
pub enum DeviceAuth<'a> {
    Signature(Raw<'a>),
    Mac(Raw<'a>),
}

/// Parses a DeviceResponse. Structure only: nothing is trusted yet.
pub fn parse(bytes: &[u8]) -> Result<DeviceResponse<'_>, Refusal> {
    if bytes.len() > MAX_DEVICE_RESPONSE_LEN {
        return Err(Refusal::TooLarge {
            limit: MAX_DEVICE_RESPONSE_LEN,
        });
    }
    let top = cbor::decode_one(bytes, "DeviceResponse")?.map("DeviceResponse")?;
    let version = cbor::text_field(&top, "version")?;
    let status = cbor::require(&top, "status")?
        .uint()
        .ok_or(Refusal::WrongType("status"))?;
    let has_document_errors = cbor::get(&top, "documentErrors").is_some();
    let documents = match cbor::get(&top, "documents") {
        None => Vec::new(),
        Some(docs) => docs
            .array("documents")?
            .into_iter()
            .map(parse_document)
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(DeviceResponse {
        version,
        documents,
        has_document_errors,
        status,
    })
}

fn parse_document(raw: Raw<'_>) -> Result<Document<'_>, Refusal> {
    let doc = raw.map("Document")?;
    let doc_type = cbor::text_field(&doc, "docType")?;
    let issuer_signed = parse_issuer_signed(cbor::require(&doc, "issuerSigned")?)?;
    let device_signed = parse_device_signed(cbor::require(&doc, "deviceSigned")?)?;
    Ok(Document {
        doc_type,
        issuer_signed,
        device_signed,
        has_errors: cbor::get(&doc, "errors").is_some(),
    })
}

/// Parses `IssuerSigned` (also used on its own for issuer-only vectors).
pub fn parse_issuer_signed(raw: Raw<'_>) -> Result<IssuerSigned<'_>, Refusal> {
    let is = raw.map("IssuerSigned")?;
    let issuer_auth = cbor::require(&is, "issuerAuth")?;
    let mut name_spaces = Vec::new();
    if let Some(ns) = cbor::get(&is, "nameSpaces") {
        for (k, v) in ns.map("IssuerNameSpaces")? {
            let name = k
                .text()
                .ok_or(Refusal::WrongType("namespace"))?
                .into_owned();
            let items = v.array("IssuerSignedItems")?;
            if items.is_empty() {
                return Err(Refusal::MissingField("IssuerSignedItemBytes"));
            }
            name_spaces.push((name, items));
        }
    }
    Ok(IssuerSigned {
        name_spaces,
        issuer_auth,
    })
}

fn parse_device_signed(raw: Raw<'_>) -> Result<DeviceSigned<'_>, Refusal> {
    let ds = raw.map("DeviceSigned")?;
    let name_spaces_bytes = cbor::require(&ds, "nameSpaces")?;
    name_spaces_bytes.tag24("DeviceNameSpacesBytes")?;
    let auth = cbor::require(&ds, "deviceAuth")?.map("DeviceAuth")?;
    let sig = cbor::get(&auth, "deviceSignature");
    let mac = cbor::get(&auth, "deviceMac");
    let device_auth = match (sig, mac) {
        (Some(s), None) => DeviceAuth::Signature(s),
        (None, Some(m)) => DeviceAuth::Mac(m),
        (Some(_), Some(_)) => {
            return Err(Refusal::DeviceAuthMalformed(
                "both deviceSignature and deviceMac".into(),
            ));
        }
        (None, None) => return Err(Refusal::MissingField("deviceSignature")),
    };
    Ok(DeviceSigned {
        name_spaces_bytes,
        device_auth,
    })
}
