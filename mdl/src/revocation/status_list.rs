//! MSO `status.status_list` (ISO 18013-5 2nd ed. §12.3.6, IETF Token Status List, CWT
//! form): a COSE_Sign1 whose payload is CWT claims with `sub` (2) = the list URI, `exp` (4),
//! and `status_list` (65533) = `{"bits": 1|2|4|8, "lst": zlib(bytes)}`. The token signer is
//! the DS itself or a certificate issued by the same IACA.

use std::io::Read;

use time::OffsetDateTime;

use super::CredentialStatus;
use super::crl::HttpRevocation;
use crate::cbor::{self, Raw};
use crate::crypto::CoseAlg;
use crate::error::Refusal;
use crate::mso::MsoStatus;
use crate::x509::chain::ValidatedChain;

/// Largest decompressed list (bits for 128 M credentials at 1 bit).
const MAX_LIST_LEN: u64 = 16 << 20;

/// A decoded, verified status list.
#[derive(Debug, Clone)]
pub struct StatusList {
    pub bits: u8,
    pub list: Vec<u8>,
    pub expires: Option<OffsetDateTime>,
}

impl StatusList {
    /// The status value at `idx`, if in range.
    pub fn status(&self, idx: u64) -> Option<u8> {
        let bits = u64::from(self.bits);
        let bit = idx.checked_mul(bits)?;
        let byte = *self.list.get(usize::try_from(bit / 8).ok()?)?;
        let mask = ((1u16 << bits) - 1) as u8;
        Some((byte >> (bit % 8)) & mask)
    }
}

/// A fetched token, verified lazily per IACA.
#[derive(Debug)]
pub struct Cached {
    token: Vec<u8>,
    /// For eviction from the bounded cache.
    fetched_at: OffsetDateTime,
    verified: Option<(String, Result<StatusList, String>)>,
}

fn int_key<'a>(entries: &[(Raw<'a>, Raw<'a>)], key: i128) -> Option<Raw<'a>> {
    entries
        .iter()
        .find(|(k, _)| k.int() == Some(key))
        .map(|(_, v)| *v)
}

/// Verifies a status list token for `uri` under the chain's IACA, returning the list.
pub fn verify_token(
    token: &[u8],
    uri: &str,
    certificate: Option<&[u8]>,
    chain: &ValidatedChain,
    now: OffsetDateTime,
) -> Result<StatusList, String> {
    let raw = cbor::decode_one(token, "status list token").map_err(|e| e.to_string())?;
    let sign1 = crate::issuer_auth::parse_sign1(raw, Refusal::IssuerAuthMalformed)
        .map_err(|e| e.to_string())?;
    let alg = sign1
        .protected
        .header
        .alg
        .as_ref()
        .ok_or("no alg")
        .map_err(str::to_owned)
        .and_then(|a| CoseAlg::from_cose(a).map_err(|e| e.to_string()))?;
    let signer_der = match certificate {
        Some(c) => c.to_vec(),
        None => crate::issuer_auth::x5chain(&sign1)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .ok_or("no signer certificate")?,
    };
    let signer = crate::x509::parse(&signer_der)?;
    let signer_key = crate::x509::public_key(&signer)?;
    if signer_der != chain.ds.der && !crate::x509::signed_by(&signer, &chain.anchor.info.public_key)
    {
        return Err("status list signer is not issued by the IACA".into());
    }
    let v = signer.validity();
    if now < v.not_before.to_datetime() || now > v.not_after.to_datetime() {
        return Err("status list signer not valid now".into());
    }
    crate::crypto::verify_cose(
        alg,
        &signer_key,
        &sign1.tbs_data(b""),
        &sign1.signature,
        Refusal::AlgorithmKeyMismatch,
        Refusal::IssuerSignatureInvalid,
    )
    .map_err(|e| e.to_string())?;

    let payload = sign1.payload.as_deref().ok_or("no payload")?;
    let claims = cbor::decode_one(payload, "CWT claims")
        .and_then(|r| r.map("CWT claims"))
        .map_err(|e| e.to_string())?;
    let sub = int_key(&claims, 2).and_then(|s| s.text()).ok_or("no sub")?;
    if *sub != *uri {
        return Err("status list sub does not match the MSO uri".into());
    }
    let expires = match int_key(&claims, 4).and_then(|e| e.int()) {
        Some(exp) => {
            let t =
                OffsetDateTime::from_unix_timestamp(i64::try_from(exp).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            if t < now {
                return Err("status list expired".into());
            }
            Some(t)
        }
        None => None,
    };
    let sl = int_key(&claims, 65533)
        .ok_or("no status_list claim")?
        .map("status_list")
        .map_err(|e| e.to_string())?;
    let bits = cbor::get(&sl, "bits")
        .and_then(|b| b.uint())
        .ok_or("no bits")?;
    let bits = match bits {
        1 | 2 | 4 | 8 => bits as u8,
        _ => return Err("bits must be 1, 2, 4 or 8".into()),
    };
    let lst = cbor::get(&sl, "lst")
        .and_then(|l| l.byte_string())
        .ok_or("no lst")?;
    let mut list = Vec::new();
    flate2::read::ZlibDecoder::new(lst.as_ref())
        .take(MAX_LIST_LEN + 1)
        .read_to_end(&mut list)
        .map_err(|e| format!("lst: {e}"))?;
    if list.len() as u64 > MAX_LIST_LEN {
        return Err("status list too large".into());
    }
    Ok(StatusList {
        bits,
        list,
        expires,
    })
}

impl HttpRevocation {
    /// Fetches (or refreshes) the status list token at `uri`, which must come from a signed
    /// MSO.
    pub(crate) async fn prefetch_status_list(&self, uri: &str) -> Result<(), String> {
        let token = self.get(uri).await?;
        let mut lists = match self.status_lists.write() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        super::fetch::insert_bounded(
            &mut lists,
            uri.to_owned(),
            Cached {
                token,
                fetched_at: OffsetDateTime::now_utc(),
                verified: None,
            },
            |c| c.fetched_at,
        );
        Ok(())
    }
}

/// Looks the credential up in the cached status list.
pub fn credential_status(
    rev: &HttpRevocation,
    status: &MsoStatus,
    chain: &ValidatedChain,
    now: OffsetDateTime,
) -> CredentialStatus {
    let (idx, uri, certificate) = match status {
        MsoStatus::StatusList {
            idx,
            uri,
            certificate,
        } => (*idx, uri, certificate.as_deref()),
        MsoStatus::IdentifierList { .. } => {
            return CredentialStatus::Unknown("identifier lists are not supported".into());
        }
    };
    let Ok(mut lists) = rev.status_lists.write() else {
        return CredentialStatus::Unknown("status list cache poisoned".into());
    };
    let Some(entry) = lists.get_mut(uri) else {
        return CredentialStatus::Unknown("status list not fetched".into());
    };
    let fp = &chain.anchor.info.fingerprint;
    let fresh = matches!(&entry.verified, Some((f, _)) if f == fp);
    if !fresh {
        entry.verified = Some((
            fp.clone(),
            verify_token(&entry.token, uri, certificate, chain, now),
        ));
    }
    match &entry.verified {
        Some((_, Ok(list))) => match list.status(idx) {
            Some(0) => CredentialStatus::Valid,
            Some(v) => CredentialStatus::Invalid(v),
            None => CredentialStatus::Unknown("index out of range".into()),
        },
        Some((_, Err(e))) => CredentialStatus::Unknown(format!("status list rejected: {e}")),
        None => CredentialStatus::Unknown("status list not verified".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::StatusList;

    #[test]
    fn reads_bits() {
        // draft-ietf-oauth-status-list example: 1-bit list b9 a3 (indexes 0..16)
        let l = StatusList {
            bits: 1,
            list: vec![0xb9, 0xa3],
            expires: None,
        };
        let got: Vec<u8> = (0..16).map(|i| l.status(i).unwrap()).collect();
        assert_eq!(got, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        let l2 = StatusList {
            bits: 2,
            list: vec![0b1110_0100],
            expires: None,
        };
        assert_eq!(
            (0..4).map(|i| l2.status(i).unwrap()).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(l.status(16), None);
    }
}
