//! Value digests (ISO 18013-5 §9.1.2.5): every disclosed `IssuerSignedItemBytes` must hash,
//! over its raw tag-24 encoding as received, to the MSO digest under its digestID.

use std::collections::{BTreeMap, BTreeSet};

use subtle::ConstantTimeEq;

use crate::cbor::{self, Raw};
use crate::error::Refusal;
use crate::mso::Mso;

/// Minimum length of the per-item random salt (ISO 18013-5 §9.1.2.5: at least 16 bytes).
pub const MIN_RANDOM_LEN: usize = 16;

/// One decoded `IssuerSignedItem`.
#[derive(Debug, Clone)]
pub struct IssuerSignedItem<'a> {
    pub digest_id: u64,
    pub random_len: usize,
    pub element_identifier: String,
    pub element_value: Raw<'a>,
    /// The whole `#6.24(bstr)` encoding as received: what the digest covers.
    pub raw: Raw<'a>,
}

/// Decodes one `IssuerSignedItemBytes`.
pub fn parse_item(raw: Raw<'_>) -> Result<IssuerSignedItem<'_>, Refusal> {
    let inner = match raw.tag() {
        Some((24, inner)) => inner,
        _ => return Err(Refusal::NotTag24("IssuerSignedItemBytes")),
    };
    // The tag-24 content must be a definite byte string borrowed from the input so that
    // the element value keeps pointing into the received bytes.
    let content = match inner.byte_string() {
        Some(std::borrow::Cow::Borrowed(b)) => b,
        _ => return Err(Refusal::NotTag24("IssuerSignedItemBytes")),
    };
    let m = cbor::decode_one(content, "IssuerSignedItem")?.map("IssuerSignedItem")?;
    let bad = |why: &str| Refusal::ItemMalformed(why.to_owned());
    let digest_id = cbor::require(&m, "digestID")?
        .uint()
        .ok_or_else(|| bad("digestID"))?;
    let random_len = cbor::require(&m, "random")?
        .byte_string()
        .ok_or_else(|| bad("random"))?
        .len();
    let element_identifier = cbor::require(&m, "elementIdentifier")?
        .text()
        .ok_or_else(|| bad("elementIdentifier"))?
        .into_owned();
    let element_value = cbor::require(&m, "elementValue")?;
    Ok(IssuerSignedItem {
        digest_id,
        random_len,
        element_identifier,
        element_value,
        raw,
    })
}

/// Checks every disclosed item against the MSO and returns them per namespace.
///
/// Refuses: namespace or digestID absent from the MSO, a digest mismatch (constant-time
/// comparison), a digestID or element identifier disclosed twice, a short random salt.
pub fn verify_items<'a>(
    name_spaces: &[(String, Vec<Raw<'a>>)],
    mso: &Mso,
) -> Result<Vec<(String, Vec<IssuerSignedItem<'a>>)>, Refusal> {
    let mut out = Vec::with_capacity(name_spaces.len());
    for (ns, raws) in name_spaces {
        let digests: &BTreeMap<u64, Vec<u8>> = mso
            .value_digests
            .get(ns)
            .ok_or_else(|| Refusal::NamespaceNotInMso(ns.clone()))?;
        let mut seen_ids = BTreeSet::new();
        let mut seen_elements = BTreeSet::new();
        let mut items = Vec::with_capacity(raws.len());
        for raw in raws {
            let item = parse_item(*raw)?;
            if !seen_ids.insert(item.digest_id) {
                return Err(Refusal::DuplicateDigestId {
                    namespace: ns.clone(),
                    id: item.digest_id,
                });
            }
            if !seen_elements.insert(item.element_identifier.clone()) {
                return Err(Refusal::DuplicateElement {
                    namespace: ns.clone(),
                    element: item.element_identifier,
                });
            }
            let expected =
                digests
                    .get(&item.digest_id)
                    .ok_or_else(|| Refusal::DigestIdUnknown {
                        namespace: ns.clone(),
                        id: item.digest_id,
                    })?;
            let actual = mso.digest_algorithm.digest(item.raw.bytes());
            let equal: bool = actual.as_ref().ct_eq(expected.as_slice()).into();
            if !equal {
                return Err(Refusal::DigestMismatch {
                    namespace: ns.clone(),
                    element: item.element_identifier,
                });
            }
            if item.random_len < MIN_RANDOM_LEN {
                return Err(Refusal::RandomTooShort {
                    namespace: ns.clone(),
                    element: item.element_identifier,
                });
            }
            items.push(item);
        }
        out.push((ns.clone(), items));
    }
    Ok(out)
}
