//! Payer claim records as the operator imports them (`glassgate admin import-claims FILE`):
//! CSV with the header `payer,claim_id,patient,encounter,claim_date`, one claim per row,
//! `claim_date` as `YYYY-MM-DD` (UTC). Any defect refuses the whole file, naming its line;
//! nothing is written then.

use std::collections::HashSet;

use glassgate_mdl::time::{Date, Month, PrimitiveDateTime, Time};

use crate::store::claims::StoredClaim;

/// The header the file must start with, in this order.
pub const HEADER: [&str; 5] = ["payer", "claim_id", "patient", "encounter", "claim_date"];

/// Longest identifier accepted in any column.
const MAX_ID: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the header must be {}", HEADER.join(","))]
    Header,
    #[error("line {line}: {reason}")]
    Row { line: u64, reason: String },
    #[error("the file has no claims")]
    Empty,
}

fn row_error(line: u64, reason: impl Into<String>) -> ClaimsError {
    ClaimsError::Row {
        line,
        reason: reason.into(),
    }
}

/// `YYYY-MM-DD` as Unix seconds at midnight UTC.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(
        PrimitiveDateTime::new(date, Time::MIDNIGHT)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn identifier(line: u64, column: &str, value: &str) -> Result<String, ClaimsError> {
    if value.is_empty() || value.len() > MAX_ID || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(row_error(
            line,
            format!("{column} must be 1 to {MAX_ID} visible ASCII characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Parses a claims file; a claim id appears once per payer.
pub fn parse(bytes: &[u8]) -> Result<Vec<StoredClaim>, ClaimsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader.headers().map_err(|_| ClaimsError::Header)?;
    if header.iter().ne(HEADER.iter().copied()) {
        return Err(ClaimsError::Header);
    }
    let mut seen = HashSet::new();
    let mut claims = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            row_error(line, format!("not a CSV row of {} fields", HEADER.len()))
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize| record.get(i).unwrap_or_default();
        let claim = StoredClaim {
            payer: identifier(line, "payer", field(0))?,
            claim_id: identifier(line, "claim_id", field(1))?,
            patient: identifier(line, "patient", field(2))?,
            encounter: identifier(line, "encounter", field(3))?,
            claim_date: parse_date(field(4))
                .ok_or_else(|| row_error(line, "claim_date must be a date YYYY-MM-DD"))?,
        };
        if !seen.insert((claim.payer.clone(), claim.claim_id.clone())) {
            return Err(row_error(line, "this payer's claim_id appears twice"));
        }
        claims.push(claim);
    }
    if claims.is_empty() {
        return Err(ClaimsError::Empty);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const GOOD: &str = "payer,claim_id,patient,encounter,claim_date\n\
        org-payer,c-1,pat-9,enc-1,2026-11-01\n\
        org-payer,c-2,pat-9,enc-2,2026-08-01\n";

    #[test]
    fn reads_claims() {
        let claims = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(claims.len(), 2);
        assert_eq!(claims[0].payer, "org-payer");
        assert_eq!(claims[0].encounter, "enc-1");
        assert_eq!(claims[0].claim_date, 1_793_491_200); // 2026-11-01T00:00:00Z
    }

    #[test]
    fn refuses_the_whole_file_naming_the_line() {
        let cases = [
            ("payer,claim_id,patient,encounter\n", ClaimsError::Header),
            (
                "claim_id,payer,patient,encounter,claim_date\n",
                ClaimsError::Header,
            ),
            (
                "payer,claim_id,patient,encounter,claim_date\n",
                ClaimsError::Empty,
            ),
            ("", ClaimsError::Header),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text.as_bytes()), Err(want), "{text:?}");
        }
        let header = "payer,claim_id,patient,encounter,claim_date\n";
        for (row, line) in [
            ("org,c,p,e,2026-13-01", 2),
            ("org,c,p,e,2026-02-30", 2),
            ("org,c,p,e,26-02-01", 2),
            ("org,c,p,e,yesterday", 2),
            ("org,c,p,e", 2),
            ("org,c,p,e,2026-01-01,extra", 2),
            (",c,p,e,2026-01-01", 2),
            ("org,c d,p,e,2026-01-01", 2),
            ("org,c,p,e,2026-01-01\norg,c,p,e2,2026-01-02", 3),
        ] {
            match parse(format!("{header}{row}\n").as_bytes()) {
                Err(ClaimsError::Row { line: got, .. }) => assert_eq!(got, line, "{row}"),
                other => panic!("{row}: {other:?}"),
            }
        }
        assert!(parse(&[0xff, 0xfe, 0x00]).is_err());
    }
}
