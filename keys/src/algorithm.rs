//! Closed enums for algorithm, purpose and status, with the exact strings the idp stores in SQL
//! and publishes in JOSE headers.

use serde::{Deserialize, Serialize};

/// JOSE signature algorithms Glassgate signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA P-256 / SHA-256; the default.
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 / SHA-256; OIDC mandatory-to-implement and UDAP.
    #[serde(rename = "RS256")]
    Rs256,
    /// Ed25519; also used for transparency-log notes.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// Every supported algorithm, in JWKS publication order.
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa];

    /// The JOSE `alg` value.
    pub fn jose_name(&self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` value (case-sensitive, as JOSE requires).
    pub fn from_jose_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.jose_name() == name)
    }
}

/// What a key is for; token keys rotate on the OIDC cadence, log keys have their own ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurpose {
    TokenSigning,
    LogSigning,
}

impl KeyPurpose {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyPurpose::TokenSigning => "token_signing",
            KeyPurpose::LogSigning => "log_signing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [KeyPurpose::TokenSigning, KeyPurpose::LogSigning]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// Lifecycle state: next -> current -> retired -> removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Published so relying parties cache it, not yet signing.
    Next,
    /// The one key that signs.
    Current,
    /// No longer signs, still published so outstanding tokens verify.
    Retired,
    /// Unpublished; kept only for audit.
    Removed,
}

impl KeyStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeyStatus::Next => "next",
            KeyStatus::Current => "current",
            KeyStatus::Retired => "retired",
            KeyStatus::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            KeyStatus::Next,
            KeyStatus::Current,
            KeyStatus::Retired,
            KeyStatus::Removed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_jose_name(alg.jose_name()), Some(alg));
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.jose_name()));
        }
        assert_eq!(Algorithm::from_jose_name("es256"), None);
        for p in [KeyPurpose::TokenSigning, KeyPurpose::LogSigning] {
            assert_eq!(KeyPurpose::parse(p.as_str()), Some(p));
            assert_eq!(
                serde_json::to_string(&p).unwrap(),
                format!("\"{}\"", p.as_str())
            );
        }
        for s in [
            KeyStatus::Next,
            KeyStatus::Current,
            KeyStatus::Retired,
            KeyStatus::Removed,
        ] {
            assert_eq!(KeyStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(KeyStatus::parse("Current"), None);
    }
}
