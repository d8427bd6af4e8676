//! UDAP client authentication: a registered member signs its client assertion with the
//! private key of its certificate and sends the chain in `x5c`. The chain must end at a
//! community anchor now (not only at registration), and the leaf's URI must be the one the
//! client was registered under. The assertion may carry the `hl7-b2b` authorization
//! extension, the B2B source of the purpose of use.

use serde_json::Value;

use super::{client_id_for, x509};
use crate::app::AppState;
use crate::clock;
use crate::jose::{Jws, PublicKey};

/// The key that must have signed a member's assertion: its certificate's, after the chain
/// is validated against the community's anchors.
pub fn member_key(state: &AppState, jws: &Jws, client_id: &str) -> Result<PublicKey, String> {
    let udap = state
        .udap
        .as_ref()
        .ok_or("UDAP is not enabled on this server")?;
    let chain = x509::x5c_of(&jws.header).map_err(|e| format!("client assertion: {e}"))?;
    let leaf = x509::validate(&chain, udap.anchors(), clock::now())
        .map_err(|e| format!("client assertion: {e}"))?;
    if !leaf.uris.iter().any(|u| client_id_for(u) == client_id) {
        return Err(
            "the assertion's certificate is not the one this client registered with".into(),
        );
    }
    Ok(leaf.key)
}

/// The `hl7-b2b` extension object of an assertion (`extensions["hl7-b2b"]`), if any.
pub fn hl7_b2b(jws: &Jws) -> Option<Value> {
    jws.claims.get("extensions")?.get("hl7-b2b").cloned()
}
