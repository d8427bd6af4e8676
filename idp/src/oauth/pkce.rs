//! PKCE (RFC 7636), S256 only: `plain` would let a stolen code be redeemed.

use crate::error::{OAuthError, OAuthResult};
use crate::jose::b64;

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Validate the challenge half at the authorization request.
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> OAuthResult<String> {
    let challenge = challenge.ok_or_else(|| {
        OAuthError::invalid_request("code_challenge is required (PKCE with S256)")
    })?;
    match method {
        Some("S256") => {}
        Some("plain") | None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256; plain is not accepted",
            ));
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "unsupported code_challenge_method",
            ));
        }
    }
    // A S256 challenge is base64url of 32 bytes: exactly 43 characters.
    if challenge.len() != 43 || !challenge.chars().all(is_unreserved) {
        return Err(OAuthError::invalid_request(
            "code_challenge is not a S256 value",
        ));
    }
    Ok(challenge.to_owned())
}

/// Check the verifier half at the token request.
pub fn verify(verifier: Option<&str>, challenge: &str) -> OAuthResult<()> {
    let verifier =
        verifier.ok_or_else(|| OAuthError::invalid_grant("code_verifier is required"))?;
    if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(is_unreserved) {
        return Err(OAuthError::invalid_grant("code_verifier is malformed"));
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if !super::same_secret(&b64(digest.as_ref()), challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn accepts_the_rfc_7636_example() {
        assert_eq!(
            check_challenge(Some(CHALLENGE), Some("S256")).unwrap(),
            CHALLENGE
        );
        verify(Some(VERIFIER), CHALLENGE).unwrap();
    }

    #[test]
    fn refuses_plain_missing_and_wrong() {
        assert!(check_challenge(Some(CHALLENGE), Some("plain")).is_err());
        assert!(check_challenge(Some(CHALLENGE), None).is_err());
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(check_challenge(Some("short"), Some("S256")).is_err());
        assert!(verify(None, CHALLENGE).is_err());
        assert!(verify(Some(&VERIFIER.replace('d', "e")), CHALLENGE).is_err());
        assert!(verify(Some("tooshort"), CHALLENGE).is_err());
    }
}
