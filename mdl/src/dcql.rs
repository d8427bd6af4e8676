//! DCQL query (OpenID4VP 1.0 §6) for an `mso_mdoc` credential.

use serde_json::{Value, json};

use crate::claims::RequestedElements;

/// The credential query id we use (the key of the answer in `vp_token`).
pub const CREDENTIAL_QUERY_ID: &str = "mdl";

/// A DCQL query asking for exactly `requested`, none of it to be retained.
pub fn query(requested: &RequestedElements) -> Value {
    let claims: Vec<Value> = requested
        .elements
        .iter()
        .flat_map(|(ns, els)| {
            els.iter()
                .map(move |el| json!({ "path": [ns, el], "intent_to_retain": false }))
        })
        .collect();
    json!({
        "credentials": [{
            "id": CREDENTIAL_QUERY_ID,
            "format": "mso_mdoc",
            "meta": { "doctype_value": requested.doc_type },
            "claims": claims,
        }]
    })
}

/// Reads a DCQL query back into requested elements (the test wallet uses this).
pub fn requested_from_query(query: &Value) -> Option<RequestedElements> {
    let cred = query.get("credentials")?.as_array()?.first()?;
    let doc_type = cred.get("meta")?.get("doctype_value")?.as_str()?.to_owned();
    let mut elements =
        std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for claim in cred.get("claims")?.as_array()? {
        let path = claim.get("path")?.as_array()?;
        let (ns, el) = (path.first()?.as_str()?, path.get(1)?.as_str()?);
        elements
            .entry(ns.to_owned())
            .or_default()
            .insert(el.to_owned());
    }
    Some(RequestedElements { doc_type, elements })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_query_round_trips() {
        let r = RequestedElements::mdl_identity();
        let q = query(&r);
        assert_eq!(q["credentials"][0]["format"], "mso_mdoc");
        assert_eq!(
            q["credentials"][0]["meta"]["doctype_value"],
            "org.iso.18013.5.1.mDL"
        );
        let claims = q["credentials"][0]["claims"].as_array().unwrap();
        assert_eq!(claims.len(), 7);
        assert!(
            claims
                .iter()
                .any(|c| c["path"] == json!(["org.iso.18013.5.1", "expiry_date"]))
        );
        assert!(claims.iter().all(|c| c["intent_to_retain"] == false));
        assert!(!q.to_string().contains("portrait"));
        assert_eq!(requested_from_query(&q), Some(r));
    }
}
