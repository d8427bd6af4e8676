//! What a passkey sign-in asserts, in the vocabularies relying parties read:
//! `acr` from OpenID Connect EAP ACR Values 1.0 and `amr` from RFC 8176.

/// Phishing-resistant authentication (EAP ACR `phr`). `phrh` (hardware-protected, attested
/// key) is never claimed: without attestation the server cannot know the key is in hardware.
pub const AAL2_ACR: &str = "phr";

/// `acr` and `amr` for one verified assertion.
///
/// A backup-eligible (syncable) credential is a software key (`swk`), a device-bound one a
/// hardware key (`hwk`); user verification makes it multi-factor (`mfa`): something held and
/// a PIN or biometric on the device. Which of PIN or biometric is not reliably reported, so
/// neither `pin` nor `fpt`/`face` is claimed.
pub fn assurance(backup_eligible: bool, user_verified: bool) -> (Option<String>, Vec<String>) {
    let key = if backup_eligible { "swk" } else { "hwk" };
    let mut amr = vec![key.to_owned(), "user".to_owned()];
    if user_verified {
        amr.push("mfa".to_owned());
        (Some(AAL2_ACR.to_owned()), amr)
    } else {
        (None, amr)
    }
}

/// Whether a session with `acr` satisfies a request's `acr_values` (any one of them).
pub fn acr_satisfies(acr: Option<&str>, acr_values: &[String]) -> bool {
    acr_values.is_empty() || acr.is_some_and(|acr| acr_values.iter().any(|v| v == acr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synced_passkey_is_software_key_with_mfa() {
        let (acr, amr) = assurance(true, true);
        assert_eq!(acr.as_deref(), Some("phr"));
        assert_eq!(amr, ["swk", "user", "mfa"]);
    }

    #[test]
    fn device_bound_passkey_is_hardware_key() {
        assert_eq!(assurance(false, true).1, ["hwk", "user", "mfa"]);
    }

    #[test]
    fn without_user_verification_no_aal2() {
        assert_eq!(assurance(false, false).0, None);
    }

    #[test]
    fn acr_values_any_of() {
        assert!(acr_satisfies(Some("phr"), &[]));
        assert!(acr_satisfies(Some("phr"), &["phrh".into(), "phr".into()]));
        assert!(!acr_satisfies(Some("phr"), &["phrh".into()]));
        assert!(!acr_satisfies(None, &["phr".into()]));
    }
}
