//! Glassgate log entries, version 1 (specified in `docs/log-entry.md`): the canonical JSON
//! the server appends and every monitor checks. Building and checking share this one type.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// Largest entry we produce or accept.
pub const MAX_ENTRY_LEN: usize = 4096;
/// `prev` of entry 0.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The event types of version 1.
pub const EVENT_TYPES: [&str; 13] = [
    "token.issued",
    "token.refused",
    "authorization.granted",
    "authorization.refused",
    "credential.passkey",
    "credential.mdl",
    "admin.keys",
    "admin.client",
    "admin.policy",
    "admin.account",
    "admin.claims",
    "consent.changed",
    "audit.exported",
];
/// Domain tag of the private-record commitment.
pub const COMMITMENT_TAG: &[u8] = b"glassgate-log-record/v1\n";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry is longer than {MAX_ENTRY_LEN} bytes")]
    TooLong,
    #[error("entry is not a version-1 JSON object: {0}")]
    Malformed(String),
    #[error("entry is not in canonical form")]
    NotCanonical,
    #[error("unsupported entry version {0}")]
    Version(u32),
    #[error("unknown event type {0:?}")]
    EventType(String),
    #[error("time is not rounded down to the minute")]
    TimeNotCoarse,
    #[error("member {0} is not a lowercase hex SHA-256")]
    NotAHash(&'static str),
    #[error("member {0} is empty")]
    Empty(&'static str),
}

/// One public log entry. Member order here is the canonical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub v: u32,
    #[serde(rename = "type")]
    pub event: String,
    pub time: i64,
    pub iss: String,
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The ID token issued beside the access token `jti` names, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_jti: Option<String>,
    pub commit: String,
    pub prev: String,
}

fn is_hash_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    // On every issuance's path (commitments, chain): no formatter per byte.
    fn digit(nibble: u8) -> char {
        char::from(if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        })
    }
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

/// Lowercase hex SHA-256 of a token's `jti`: how an entry names the token it records.
pub fn jti_hash(jti: &str) -> String {
    hex(&Sha256::digest(jti.as_bytes()))
}

/// SHA-256 of an entry's bytes: what the next entry's `prev` holds.
pub fn entry_digest(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// `SHA-256(tag || salt || record)`: the commitment to a private record.
pub fn commitment(salt: &[u8; 32], record: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(COMMITMENT_TAG);
    h.update(salt);
    h.update(record);
    h.finalize().into()
}

impl LogEntry {
    /// Whether this entry records the token whose `jti` is given (an access token, or the ID
    /// token issued with it).
    pub fn records_jti(&self, jti: &str) -> bool {
        let hash = jti_hash(jti);
        [&self.jti, &self.id_jti]
            .into_iter()
            .any(|recorded| recorded.as_deref() == Some(hash.as_str()))
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let bytes = serde_json::to_vec(self).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLong);
        }
        Ok(bytes)
    }

    /// Parse and check an entry: canonical, known version and type, coarse time, well-formed hashes.
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLong);
        }
        let entry: LogEntry =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
        entry.check()?;
        if entry.encode()? != bytes {
            return Err(EntryError::NotCanonical);
        }
        Ok(entry)
    }

    /// The rules a well-formed entry obeys (also applied before appending).
    pub fn check(&self) -> Result<(), EntryError> {
        if self.v != 1 {
            return Err(EntryError::Version(self.v));
        }
        if !EVENT_TYPES.contains(&self.event.as_str()) {
            return Err(EntryError::EventType(self.event.clone()));
        }
        if self.time.rem_euclid(60) != 0 {
            return Err(EntryError::TimeNotCoarse);
        }
        for (name, value) in [("iss", &self.iss), ("client", &self.client)] {
            if value.is_empty() {
                return Err(EntryError::Empty(name));
            }
        }
        for (name, value) in [
            ("commit", Some(&self.commit)),
            ("prev", Some(&self.prev)),
            ("subject", self.subject.as_ref()),
            ("jti", self.jti.as_ref()),
            ("id_jti", self.id_jti.as_ref()),
        ] {
            if value.is_some_and(|v| !is_hash_hex(v)) {
                return Err(EntryError::NotAHash(name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xf0, 0xff]), "000fa5f0ff");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
    }

    fn sample() -> LogEntry {
        LogEntry {
            v: 1,
            event: "token.issued".into(),
            time: 1_795_000_020,
            iss: "https://login.example.org".into(),
            client: "ehr".into(),
            org: None,
            npi: None,
            purpose: None,
            acr: Some("phr".into()),
            amr: Some(vec!["hwk".into()]),
            ial: None,
            decision: None,
            refusal: None,
            subject: Some("a".repeat(64)),
            jti: Some("b".repeat(64)),
            id_jti: None,
            commit: "c".repeat(64),
            prev: GENESIS_PREV.into(),
        }
    }

    #[test]
    fn round_trips_canonically() {
        let bytes = sample().encode().unwrap();
        assert!(bytes.starts_with(br#"{"v":1,"type":"token.issued","time":1795000020,"#));
        assert_eq!(LogEntry::parse(&bytes).unwrap(), sample());
    }

    #[test]
    fn refuses_non_canonical_and_malformed_entries() {
        let good = String::from_utf8(sample().encode().unwrap()).unwrap();
        let spaced = good.replacen(",", ", ", 1);
        assert_eq!(
            LogEntry::parse(spaced.as_bytes()).unwrap_err(),
            EntryError::NotCanonical
        );
        let reordered = good.replacen(
            r#"{"v":1,"type":"token.issued""#,
            r#"{"type":"token.issued","v":1"#,
            1,
        );
        assert_eq!(
            LogEntry::parse(reordered.as_bytes()).unwrap_err(),
            EntryError::NotCanonical
        );
        let with_null = good.replacen(r#""acr""#, r#""org":null,"acr""#, 1);
        assert_eq!(
            LogEntry::parse(with_null.as_bytes()).unwrap_err(),
            EntryError::NotCanonical
        );
        let unknown = good.replacen(r#""acr""#, r#""name":"Jane","acr""#, 1);
        assert!(matches!(
            LogEntry::parse(unknown.as_bytes()),
            Err(EntryError::Malformed(_))
        ));
        let coarse = good.replacen("1795000020", "1795000021", 1);
        assert_eq!(
            LogEntry::parse(coarse.as_bytes()).unwrap_err(),
            EntryError::TimeNotCoarse
        );
        let event = good.replacen("token.issued", "token.stolen", 1);
        assert!(matches!(
            LogEntry::parse(event.as_bytes()),
            Err(EntryError::EventType(_))
        ));
        let hash = good.replacen(&"c".repeat(64), &"C".repeat(64), 1);
        assert_eq!(
            LogEntry::parse(hash.as_bytes()).unwrap_err(),
            EntryError::NotAHash("commit")
        );
        assert_eq!(
            LogEntry::parse(&vec![b' '; MAX_ENTRY_LEN + 1]).unwrap_err(),
            EntryError::TooLong
        );
        assert!(matches!(
            LogEntry::parse(b"[]"),
            Err(EntryError::Malformed(_))
        ));
    }

    #[test]
    fn an_entry_records_its_access_and_id_token_jtis() {
        let mut entry = sample();
        entry.jti = Some(jti_hash("access-1"));
        entry.id_jti = Some(jti_hash("id-1"));
        let bytes = entry.encode().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(&format!(
            r#""jti":"{}","id_jti":"{}","commit""#,
            jti_hash("access-1"),
            jti_hash("id-1")
        )));
        let parsed = LogEntry::parse(&bytes).unwrap();
        assert!(parsed.records_jti("access-1"));
        assert!(parsed.records_jti("id-1"));
        assert!(!parsed.records_jti("access-2"));
        let swapped = text.replacen(r#""id_jti""#, r#""idjti""#, 1);
        assert!(matches!(
            LogEntry::parse(swapped.as_bytes()),
            Err(EntryError::Malformed(_))
        ));
        let upper = text.replacen(&jti_hash("id-1"), &jti_hash("id-1").to_uppercase(), 1);
        assert_eq!(
            LogEntry::parse(upper.as_bytes()).unwrap_err(),
            EntryError::NotAHash("id_jti")
        );
        let before_jti = text
            .replacen(&format!(r#","id_jti":"{}""#, jti_hash("id-1")), "", 1)
            .replacen(
                r#","jti":"#,
                &format!(r#","id_jti":"{}","jti":"#, jti_hash("id-1")),
                1,
            );
        assert_eq!(
            LogEntry::parse(before_jti.as_bytes()).unwrap_err(),
            EntryError::NotCanonical
        );
    }

    #[test]
    fn commitments_bind_salt_and_record() {
        let a = commitment(&[1; 32], b"{}");
        assert_ne!(a, commitment(&[2; 32], b"{}"));
        assert_ne!(a, commitment(&[1; 32], b"{ }"));
    }
}
