//! Requested and disclosed data elements, with typed access to the mDL namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;

/// The mDL document type.
pub const MDL_DOCTYPE: &str = "org.iso.18013.5.1.mDL";
/// The mDL namespace.
pub const MDL_NAMESPACE: &str = "org.iso.18013.5.1";

/// The elements identity proofing needs (and nothing more: no portrait, no address):
/// the names, birth date and licence number it records or commits to, and `expiry_date`,
/// because expired evidence proves no identity (NIST SP 800-63A, IAL2).
pub const IDENTITY_ELEMENTS: &[&str] = &[
    "family_name",
    "given_name",
    "birth_date",
    "document_number",
    "issuing_country",
    "issuing_jurisdiction",
    "expiry_date",
];

/// What we asked for: one docType and a set of elements per namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedElements {
    pub doc_type: String,
    pub elements: BTreeMap<String, BTreeSet<String>>,
}

impl RequestedElements {
    /// The mDL elements needed for IAL2 identity proofing.
    pub fn mdl_identity() -> Self {
        Self::mdl(IDENTITY_ELEMENTS)
    }

    /// Chosen mDL elements in the `org.iso.18013.5.1` namespace.
    pub fn mdl(elements: &[&str]) -> Self {
        let set = elements.iter().map(|e| (*e).to_owned()).collect();
        Self {
            doc_type: MDL_DOCTYPE.to_owned(),
            elements: BTreeMap::from([(MDL_NAMESPACE.to_owned(), set)]),
        }
    }

    /// Whether `namespace/element` was requested.
    pub fn contains(&self, namespace: &str, element: &str) -> bool {
        self.elements
            .get(namespace)
            .is_some_and(|s| s.contains(element))
    }
}

/// Issuer-verified elements, per namespace.
#[derive(Clone, Default, PartialEq)]
pub struct DisclosedElements {
    pub(crate) items: BTreeMap<String, BTreeMap<String, Value>>,
}

impl fmt::Debug for DisclosedElements {
    /// Debug output never shows the document number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (ns, els) in &self.items {
            for (id, v) in els {
                if id == "document_number" {
                    m.entry(&format_args!("{ns}/{id}"), &"<redacted>");
                } else {
                    m.entry(&format_args!("{ns}/{id}"), v);
                }
            }
        }
        m.finish()
    }
}

impl DisclosedElements {
    /// Inserts a value (used by the verifier).
    pub(crate) fn insert(&mut self, namespace: &str, element: String, value: Value) {
        self.items
            .entry(namespace.to_owned())
            .or_default()
            .insert(element, value);
    }

    /// Raw CBOR value of an element.
    pub fn get(&self, namespace: &str, element: &str) -> Option<&Value> {
        self.items.get(namespace)?.get(element)
    }

    /// `(namespace, element)` pairs disclosed.
    pub fn names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items
            .iter()
            .flat_map(|(ns, m)| m.keys().map(move |k| (ns.as_str(), k.as_str())))
    }

    /// A text element of the mDL namespace.
    pub fn mdl_text(&self, element: &str) -> Option<&str> {
        self.get(MDL_NAMESPACE, element)?.as_text()
    }

    pub fn family_name(&self) -> Option<&str> {
        self.mdl_text("family_name")
    }
    pub fn given_name(&self) -> Option<&str> {
        self.mdl_text("given_name")
    }
    /// The licence number. Handle with care: never store or log it in clear
    /// (see [`crate::identity::document_commitment`]).
    pub fn document_number(&self) -> Option<&str> {
        self.mdl_text("document_number")
    }
    pub fn issuing_country(&self) -> Option<&str> {
        self.mdl_text("issuing_country")
    }
    pub fn issuing_jurisdiction(&self) -> Option<&str> {
        self.mdl_text("issuing_jurisdiction")
    }
    pub fn issuing_authority(&self) -> Option<&str> {
        self.mdl_text("issuing_authority")
    }
    /// `birth_date` (full-date, `#6.1004(tstr)` or plain tstr).
    pub fn birth_date(&self) -> Option<time::Date> {
        full_date(self.get(MDL_NAMESPACE, "birth_date")?)
    }
    /// `expiry_date` of the licence (full-date, like `birth_date`).
    pub fn expiry_date(&self) -> Option<time::Date> {
        full_date(self.get(MDL_NAMESPACE, "expiry_date")?)
    }
    /// `age_over_NN`.
    pub fn age_over(&self, years: u8) -> Option<bool> {
        self.get(MDL_NAMESPACE, &format!("age_over_{years:02}"))?
            .as_bool()
    }

    /// JSON view (dates as strings, byte strings as base64url). `redact_document_number`
    /// replaces the licence number for logs.
    pub fn to_json(&self, redact_document_number: bool) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (ns, els) in &self.items {
            let mut m = serde_json::Map::new();
            for (id, v) in els {
                let j = if redact_document_number && id == "document_number" {
                    serde_json::Value::String("<redacted>".into())
                } else {
                    value_to_json(v)
                };
                m.insert(id.clone(), j);
            }
            out.insert(ns.clone(), serde_json::Value::Object(m));
        }
        serde_json::Value::Object(out)
    }
}

fn full_date(v: &Value) -> Option<time::Date> {
    let s = match v {
        Value::Tag(1004, inner) => inner.as_text()?,
        Value::Text(s) => s.as_str(),
        _ => return None,
    };
    time::Date::parse(
        s,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// Converts a CBOR value to JSON for display.
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Integer(i) => {
            let n = i128::from(*i);
            i64::try_from(n)
                .map(J::from)
                .unwrap_or_else(|_| J::String(n.to_string()))
        }
        Value::Bytes(b) => J::String(URL_SAFE_NO_PAD.encode(b)),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Text(s) => J::String(s.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::Tag(_, inner) => value_to_json(inner),
        Value::Array(a) => J::Array(a.iter().map(value_to_json).collect()),
        Value::Map(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(s) => s.clone(),
                        other => value_to_json(other).to_string(),
                    };
                    (key, value_to_json(v))
                })
                .collect(),
        ),
        _ => J::Null,
    }
}
