//! `validityInfo` checks (ISO 18013-5 §9.1.2.4, §9.3.1 step 6).

use time::{Duration, OffsetDateTime};

use crate::error::Refusal;
use crate::mso::ValidityInfo;

/// Checks the MSO validity against the document signer's validity and `now`.
///
/// - `validFrom` ≥ `signed` and `validUntil` > `validFrom` (with `skew` tolerance);
/// - `signed` inside the DS certificate validity;
/// - `validFrom - skew` ≤ `now` ≤ `validUntil + skew`.
pub fn check(
    v: &ValidityInfo,
    ds_not_before: OffsetDateTime,
    ds_not_after: OffsetDateTime,
    now: OffsetDateTime,
    skew: Duration,
) -> Result<(), Refusal> {
    if v.valid_until <= v.valid_from {
        return Err(Refusal::ValidityInconsistent(
            "validUntil not after validFrom",
        ));
    }
    if v.valid_from + skew < v.signed {
        return Err(Refusal::ValidityInconsistent("validFrom before signed"));
    }
    if v.signed < ds_not_before || v.signed > ds_not_after {
        return Err(Refusal::SignedOutsideDsValidity);
    }
    if now + skew < v.valid_from {
        return Err(Refusal::MsoNotYetValid);
    }
    if now - skew > v.valid_until {
        return Err(Refusal::MsoExpired);
    }
    Ok(())
}
