//! The pages a person sees: sign-in, enrollment, consent, passkey management, privacy
//! choices and the accounting of disclosures.

pub mod account;
pub mod consent;
pub mod disclosures;
pub mod enroll;
pub mod login;
pub mod privacy;
pub mod proofing;

/// A date for people: RFC 7231 form, UTC.
pub fn when(unix: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    httpdate::fmt_http_date(at)
}
