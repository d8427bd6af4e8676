//! Private records: what a public entry commits to, kept encrypted beside the log.
//!
//! Each record gets its own random data key (AES-256-GCM), wrapped under the log's record
//! master key with the entry's commitment as associated data. Handing one unwrapped data key
//! to a patient or an auditor opens that entry and no other.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::fill;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("cryptography failed")]
    Crypto,
    #[error("sealed record is malformed")]
    Malformed,
    #[error("sealed record does not open with this key and commitment")]
    Unopenable,
}

/// An opened record: the salt and the record bytes the commitment is computed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedRecord {
    pub salt: [u8; 32],
    pub record: Vec<u8>,
}

pub struct RecordSealer {
    master: LessSafeKey,
}

fn key(bytes: &[u8]) -> Result<LessSafeKey, RecordError> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| RecordError::Crypto)?,
    ))
}

fn seal_with(key: &LessSafeKey, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, RecordError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill(&mut nonce).map_err(|_| RecordError::Crypto)?;
    let mut buffer = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buffer,
    )
    .map_err(|_| RecordError::Crypto)?;
    let mut out = nonce.to_vec();
    out.extend(buffer);
    Ok(out)
}

fn open_with(
    key: &LessSafeKey,
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RecordError> {
    let (nonce, ciphertext) = sealed
        .split_at_checked(NONCE_LEN)
        .ok_or(RecordError::Malformed)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| RecordError::Malformed)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| RecordError::Unopenable)?;
    Ok(Zeroizing::new(plain.to_vec()))
}

impl RecordSealer {
    pub fn new(master_secret: &[u8; 32]) -> Result<Self, RecordError> {
        Ok(Self {
            master: key(master_secret)?,
        })
    }

    /// Seal `salt || record`; `commit` (hex) binds the wrapped key to its entry.
    pub fn seal(
        &self,
        salt: &[u8; 32],
        record: &[u8],
        commit: &str,
    ) -> Result<Vec<u8>, RecordError> {
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        fill(data_key.as_mut()).map_err(|_| RecordError::Crypto)?;
        let wrapped = seal_with(&self.master, data_key.as_ref(), commit.as_bytes())?;
        let mut plaintext = Zeroizing::new(salt.to_vec());
        plaintext.extend_from_slice(record);
        let body = seal_with(&key(data_key.as_ref())?, &plaintext, commit.as_bytes())?;
        let mut out = Vec::with_capacity(1 + wrapped.len() + body.len());
        out.push(VERSION);
        out.extend(wrapped);
        out.extend(body);
        Ok(out)
    }

    /// The data key of one sealed record (what an authorised reader is given).
    pub fn data_key(&self, sealed: &[u8], commit: &str) -> Result<Zeroizing<Vec<u8>>, RecordError> {
        let (wrapped, _) = parts(sealed)?;
        open_with(&self.master, wrapped, commit.as_bytes())
    }

    pub fn open(&self, sealed: &[u8], commit: &str) -> Result<OpenedRecord, RecordError> {
        open_with_data_key(&self.data_key(sealed, commit)?, sealed, commit)
    }
}

fn parts(sealed: &[u8]) -> Result<(&[u8], &[u8]), RecordError> {
    match sealed.split_first() {
        Some((&VERSION, rest)) => rest
            .split_at_checked(WRAPPED_LEN)
            .ok_or(RecordError::Malformed),
        _ => Err(RecordError::Malformed),
    }
}

/// Open a sealed record with its data key alone.
pub fn open_with_data_key(
    data_key: &[u8],
    sealed: &[u8],
    commit: &str,
) -> Result<OpenedRecord, RecordError> {
    let (_, body) = parts(sealed)?;
    let plain = open_with(&key(data_key)?, body, commit.as_bytes())?;
    let (salt, record) = plain.split_at_checked(32).ok_or(RecordError::Malformed)?;
    let salt = <[u8; 32]>::try_from(salt).map_err(|_| RecordError::Malformed)?;
    Ok(OpenedRecord {
        salt,
        record: record.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_one_record_per_key() {
        let sealer = RecordSealer::new(&[7; 32]).unwrap();
        let sealed = sealer
            .seal(&[1; 32], b"{\"scope\":\"openid\"}", "c0ffee")
            .unwrap();
        let opened = sealer.open(&sealed, "c0ffee").unwrap();
        assert_eq!(
            opened,
            OpenedRecord {
                salt: [1; 32],
                record: b"{\"scope\":\"openid\"}".to_vec()
            }
        );
        let key = sealer.data_key(&sealed, "c0ffee").unwrap();
        assert_eq!(open_with_data_key(&key, &sealed, "c0ffee").unwrap(), opened);
        let other = sealer.seal(&[2; 32], b"other", "beef").unwrap();
        assert_eq!(
            open_with_data_key(&key, &other, "beef").unwrap_err(),
            RecordError::Unopenable
        );
    }

    #[test]
    fn refuses_wrong_commitment_wrong_master_and_tampering() {
        let sealer = RecordSealer::new(&[7; 32]).unwrap();
        let sealed = sealer.seal(&[1; 32], b"record", "c0ffee").unwrap();
        assert_eq!(
            sealer.open(&sealed, "c0ffef").unwrap_err(),
            RecordError::Unopenable
        );
        assert_eq!(
            RecordSealer::new(&[8; 32])
                .unwrap()
                .open(&sealed, "c0ffee")
                .unwrap_err(),
            RecordError::Unopenable
        );
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            sealer.open(&tampered, "c0ffee").unwrap_err(),
            RecordError::Unopenable
        );
        assert_eq!(
            sealer.open(&sealed[..10], "c0ffee").unwrap_err(),
            RecordError::Malformed
        );
        assert_eq!(
            sealer.open(&[], "c0ffee").unwrap_err(),
            RecordError::Malformed
        );
    }
}
