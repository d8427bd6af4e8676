//! Calendar dates as the sources write them: NPPES `MM/DD/YYYY`, FHIR `YYYY[-MM[-DD]][Thh:mm…]`,
//! and Excel serial numbers in the deactivation report. Stored as ISO `YYYY-MM-DD` text.

use time::{Date, Month, OffsetDateTime};

/// Why a date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid date: {0:?}")]
pub struct DateError(pub String);

fn make(year: i32, month: u8, day: u8, raw: &str) -> Result<Date, DateError> {
    let month = Month::try_from(month).map_err(|_| DateError(raw.to_owned()))?;
    if !(1800..=2200).contains(&year) {
        return Err(DateError(raw.to_owned()));
    }
    Date::from_calendar_date(year, month, day).map_err(|_| DateError(raw.to_owned()))
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// NPPES `MM/DD/YYYY` (one-digit month and day accepted).
pub fn parse_us(raw: &str) -> Result<Date, DateError> {
    let bad = || DateError(raw.to_owned());
    let mut parts = raw.split('/');
    let (Some(m), Some(d), Some(y), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if m.len() > 2 || d.len() > 2 || y.len() != 4 {
        return Err(bad());
    }
    let (m, d, y) = (
        digits(m).ok_or_else(bad)?,
        digits(d).ok_or_else(bad)?,
        digits(y).ok_or_else(bad)?,
    );
    make(y as i32, m as u8, d as u8, raw)
}

/// FHIR `date` / `dateTime`: the date part only; a partial date means its first day.
pub fn parse_fhir(raw: &str) -> Result<Date, DateError> {
    let bad = || DateError(raw.to_owned());
    let date_part = raw.split('T').next().unwrap_or(raw);
    let mut parts = date_part.split('-');
    let y = parts
        .next()
        .filter(|y| y.len() == 4)
        .and_then(digits)
        .ok_or_else(bad)?;
    let m = match parts.next() {
        Some(m) if m.len() == 2 => digits(m).ok_or_else(bad)?,
        Some(_) => return Err(bad()),
        None => 1,
    };
    let d = match parts.next() {
        Some(d) if d.len() == 2 => digits(d).ok_or_else(bad)?,
        Some(_) => return Err(bad()),
        None => 1,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    make(y as i32, m as u8, d as u8, raw)
}

/// ISO `YYYY-MM-DD` as stored.
pub fn parse_iso(raw: &str) -> Result<Date, DateError> {
    if raw.len() != 10 {
        return Err(DateError(raw.to_owned()));
    }
    parse_fhir(raw)
}

/// An Excel serial day number (1900 date system: day 25569 is 1970-01-01).
pub fn from_excel_serial(serial: f64) -> Result<Date, DateError> {
    let bad = || DateError(serial.to_string());
    if !serial.is_finite() || !(1.0..=200_000.0).contains(&serial) {
        return Err(bad());
    }
    let days = serial.floor() as i64 - 25_569;
    let epoch = Date::from_calendar_date(1970, Month::January, 1).map_err(|_| bad())?;
    epoch
        .checked_add(time::Duration::days(days))
        .ok_or_else(bad)
}

/// `YYYY-MM-DD`.
pub fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Today in UTC.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_dates() {
        assert_eq!(iso(parse_us("05/23/2005").unwrap()), "2005-05-23");
        assert_eq!(iso(parse_us("5/3/2005").unwrap()), "2005-05-03");
        for bad in [
            "",
            "13/01/2020",
            "02/30/2020",
            "2020-01-01",
            "01/01/20",
            "01/01/2020/1",
            "a1/01/2020",
            "01/01/ 2020",
            "00/10/2020",
            "01/01/0001",
        ] {
            assert!(parse_us(bad).is_err(), "{bad}");
        }
        assert!(parse_us("02/29/2024").is_ok());
    }

    #[test]
    fn fhir_dates() {
        assert_eq!(iso(parse_fhir("2020-05-01").unwrap()), "2020-05-01");
        assert_eq!(
            iso(parse_fhir("2020-05-01T10:00:00Z").unwrap()),
            "2020-05-01"
        );
        assert_eq!(
            iso(parse_fhir("2020-05-01T10:00:00.000+05:00").unwrap()),
            "2020-05-01"
        );
        assert_eq!(iso(parse_fhir("2020-05").unwrap()), "2020-05-01");
        assert_eq!(iso(parse_fhir("2020").unwrap()), "2020-01-01");
        for bad in [
            "",
            "20",
            "2020-5-01",
            "2020-13-01",
            "2020-02-31",
            "x",
            "2020-01-01-01",
        ] {
            assert!(parse_fhir(bad).is_err(), "{bad}");
        }
        assert!(parse_iso("2020-05").is_err());
    }

    #[test]
    fn excel_serials() {
        assert_eq!(iso(from_excel_serial(25_569.0).unwrap()), "1970-01-01");
        assert_eq!(iso(from_excel_serial(45_658.0).unwrap()), "2025-01-01");
        assert!(from_excel_serial(f64::NAN).is_err());
        assert!(from_excel_serial(-3.0).is_err());
    }
}
