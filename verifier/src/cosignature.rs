//! C2SP tlog-cosignature `cosignature/v1` (<https://c2sp.org/tlog-cosignature>):
//! signature type 0x04, `u64 timestamp || Ed25519 signature` over
//! `"cosignature/v1\ntime <t>\n" || checkpoint body`.

use crate::error::{CosignatureError, NoteError};
use crate::note::{Signature, SignatureType, VerifierKey, key_id, valid_key_name};
use ed25519_dalek::Signature as EdSignature;

/// Largest timestamp allowed by the spec (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a cosigner signs for `body` (a checkpoint note text) at `timestamp`.
pub fn cosigned_message(timestamp: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// Verifies a cosignature (the note signature bytes after the key ID) over
/// the checkpoint `body`; returns the cosigner's timestamp.
pub fn verify(key: &VerifierKey, body: &str, signature: &[u8]) -> Result<u64, CosignatureError> {
    if key.signature_type() != SignatureType::CosignatureV1 {
        return Err(CosignatureError::WrongKeyType);
    }
    let (ts, sig) = signature
        .split_first_chunk::<8>()
        .ok_or(CosignatureError::BadLength)?;
    let sig = EdSignature::from_slice(sig).map_err(|_| CosignatureError::BadLength)?;
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::BadTimestamp);
    }
    key.verifying_key()
        .verify_strict(&cosigned_message(timestamp, body), &sig)
        .map_err(|_| CosignatureError::Invalid)?;
    Ok(timestamp)
}

/// Produces a `cosignature/v1` note signature over the checkpoint `body`
/// with the cosigner key `name`/`public_key`, via the caller's `sign` closure.
pub fn cosign(
    body: &str,
    name: &str,
    public_key: &[u8; 32],
    timestamp: u64,
    sign: impl Fn(&[u8]) -> [u8; 64],
) -> Result<Signature, NoteError> {
    if !valid_key_name(name) {
        return Err(NoteError::BadKeyName);
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(NoteError::BadVerifierKey("timestamp exceeds 2^63-1"));
    }
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&sign(&cosigned_message(timestamp, body)));
    Ok(Signature {
        name: name.to_owned(),
        key_id: key_id(name, SignatureType::CosignatureV1.byte(), public_key),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Note, sign_note, verify_note};
    use ed25519_dalek::{Signer, SigningKey};

    const BODY: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn message_matches_spec_example() {
        // The example message of C2SP/C2SP tlog-cosignature.md (CC BY 4.0).
        assert_eq!(
            cosigned_message(1679315147, BODY),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn spec_example_cosignature_line_parses() {
        // The witness line of the tlog-cosignature.md example (key unpublished,
        // so parse-only): the timestamp is its first 8 signature bytes.
        let note = format!(
            "{BODY}\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
        );
        let n = Note::parse(note.as_bytes()).unwrap();
        let sig = &n.signatures()[0].signature;
        assert_eq!(sig.len(), 72);
        assert_eq!(u64::from_be_bytes(sig[..8].try_into().unwrap()), 1679315147);
    }

    #[test]
    fn cosign_then_verify() {
        let log = SigningKey::from_bytes(&[1; 32]);
        let wit = SigningKey::from_bytes(&[2; 32]);
        let wpk = wit.verifying_key().to_bytes();
        let mut note = sign_note(
            BODY,
            "example.com/behind-the-sofa",
            &log.verifying_key().to_bytes(),
            |m| log.sign(m).to_bytes(),
        )
        .unwrap();
        let line = cosign(BODY, "w.example/1", &wpk, 1700000000, |m| {
            wit.sign(m).to_bytes()
        })
        .unwrap();
        note.push_signature(line.clone()).unwrap();
        let wkey = VerifierKey::new("w.example/1", SignatureType::CosignatureV1, &wpk).unwrap();
        assert_eq!(verify(&wkey, BODY, &line.signature), Ok(1700000000));
        let v = verify_note(
            &Note::parse(note.to_text().as_bytes()).unwrap(),
            std::slice::from_ref(&wkey),
        )
        .unwrap();
        assert_eq!(v[0].timestamp, Some(1700000000));

        // Negative cases.
        let other = BODY.replace("20852163", "20852164");
        assert_eq!(
            verify(&wkey, &other, &line.signature),
            Err(CosignatureError::Invalid)
        );
        assert_eq!(
            verify(&wkey, BODY, &line.signature[..71]),
            Err(CosignatureError::BadLength)
        );
        let mut bumped = line.signature.clone();
        bumped[7] ^= 1;
        assert_eq!(verify(&wkey, BODY, &bumped), Err(CosignatureError::Invalid));
        let mut huge = line.signature.clone();
        huge[0] = 0x80;
        assert_eq!(
            verify(&wkey, BODY, &huge),
            Err(CosignatureError::BadTimestamp)
        );
        let plain = VerifierKey::new("w.example/1", SignatureType::Ed25519, &wpk).unwrap();
        assert_eq!(
            verify(&plain, BODY, &line.signature),
            Err(CosignatureError::WrongKeyType)
        );
    }
}
