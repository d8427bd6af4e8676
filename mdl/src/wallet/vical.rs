//! Builds signed test VICALs (ISO 18013-5 Annex C).

use time::OffsetDateTime;

use super::issuer::sign_fixed;
use super::pki::{PkiError, TestDs};
use crate::cbor::{write_bytes, write_head, write_text};

fn tdate(out: &mut Vec<u8>, t: OffsetDateTime) {
    out.push(0xc0);
    let s = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    write_text(out, &s);
}

/// A VICAL listing `iacas`, signed by `signer` whose chain (signer first) is `x5chain`.
pub fn build(
    signer: &TestDs,
    x5chain: &[Vec<u8>],
    issue_id: u64,
    date: OffsetDateTime,
    next_update: OffsetDateTime,
    iacas: &[Vec<u8>],
) -> Result<Vec<u8>, PkiError> {
    let mut p = vec![0xa6];
    write_text(&mut p, "version");
    write_text(&mut p, "1.0");
    write_text(&mut p, "vicalProvider");
    write_text(&mut p, "Glassgate Test DTS");
    write_text(&mut p, "date");
    tdate(&mut p, date);
    write_text(&mut p, "vicalIssueID");
    write_head(&mut p, 0, issue_id);
    write_text(&mut p, "nextUpdate");
    tdate(&mut p, next_update);
    write_text(&mut p, "certificateInfos");
    write_head(&mut p, 4, iacas.len() as u64);
    for der in iacas {
        p.push(0xa2);
        write_text(&mut p, "certificate");
        write_bytes(&mut p, der);
        write_text(&mut p, "docType");
        p.push(0x81);
        write_text(&mut p, crate::claims::MDL_DOCTYPE);
    }
    let protected = [0xa1, 0x01, 0x26];
    let mut tbs = vec![0x84];
    write_text(&mut tbs, "Signature1");
    write_bytes(&mut tbs, &protected);
    write_bytes(&mut tbs, &[]);
    write_bytes(&mut tbs, &p);
    let sig = sign_fixed(signer.alg, &signer.key_pkcs8, &tbs)?;
    let mut out = vec![0x84];
    write_bytes(&mut out, &protected);
    out.extend_from_slice(&[0xa1, 0x18, 0x21]);
    write_head(&mut out, 4, x5chain.len() as u64);
    for c in x5chain {
        write_bytes(&mut out, c);
    }
    write_bytes(&mut out, &p);
    write_bytes(&mut out, &sig);
    Ok(out)
}
