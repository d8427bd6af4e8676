//! Builds IETF Token Status List tokens (CWT form) for tests.

use std::io::Write;

use time::OffsetDateTime;

use super::issuer::sign_fixed;
use super::pki::{KeyAlg, PkiError, TestDs};
use crate::cbor::{write_bytes, write_head, write_text};

/// A status list token for `uri` with `statuses` (one value per index), signed by `signer`
/// (normally the DS) and carrying its certificate in x5chain.
pub fn token(
    signer: &TestDs,
    uri: &str,
    bits: u8,
    statuses: &[u8],
    exp: OffsetDateTime,
) -> Result<Vec<u8>, PkiError> {
    let per_byte = 8 / usize::from(bits);
    let mut list = vec![0u8; statuses.len().div_ceil(per_byte)];
    for (i, s) in statuses.iter().enumerate() {
        list[i / per_byte] |= s << ((i % per_byte) * usize::from(bits));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&list).map_err(|e| PkiError(e.to_string()))?;
    let lst = z.finish().map_err(|e| PkiError(e.to_string()))?;

    let mut claims = vec![0xa4, 0x02];
    write_text(&mut claims, uri);
    claims.push(0x06);
    write_head(
        &mut claims,
        0,
        OffsetDateTime::now_utc().unix_timestamp().max(0) as u64,
    );
    claims.push(0x04);
    write_head(&mut claims, 0, exp.unix_timestamp().max(0) as u64);
    claims.extend_from_slice(&[0x19, 0xff, 0xfd, 0xa2]); // 65533: {
    write_text(&mut claims, "bits");
    write_head(&mut claims, 0, u64::from(bits));
    write_text(&mut claims, "lst");
    write_bytes(&mut claims, &lst);

    let protected: &[u8] = match signer.alg {
        KeyAlg::P256 => &[0xa1, 0x01, 0x26],
        KeyAlg::P384 => &[0xa1, 0x01, 0x38, 0x22],
    };
    let mut tbs = vec![0x84];
    write_text(&mut tbs, "Signature1");
    write_bytes(&mut tbs, protected);
    write_bytes(&mut tbs, &[]);
    write_bytes(&mut tbs, &claims);
    let sig = sign_fixed(signer.alg, &signer.key_pkcs8, &tbs)?;
    let mut out = vec![0x84];
    write_bytes(&mut out, protected);
    out.extend_from_slice(&[0xa1, 0x18, 0x21]);
    write_bytes(&mut out, &signer.cert_der);
    write_bytes(&mut out, &claims);
    write_bytes(&mut out, &sig);
    Ok(out)
}

/// The MSO `status` map pointing at `uri`, index `idx`.
pub fn mso_status(uri: &str, idx: u64) -> Vec<u8> {
    let mut out = vec![0xa1];
    write_text(&mut out, "status_list");
    out.push(0xa2);
    write_text(&mut out, "idx");
    write_head(&mut out, 0, idx);
    write_text(&mut out, "uri");
    write_text(&mut out, uri);
    out
}
