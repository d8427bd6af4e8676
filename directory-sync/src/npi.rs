//! National Provider Identifier: ten digits, the last a Luhn check digit computed as if the
//! ISO issuer prefix `80840` stood in front (CMS, "NPI check digit"). Equivalently: Luhn over
//! the first nine digits, plus the constant 24 for the prefix.

use std::fmt;

/// A syntactically valid NPI (10 digits, starts with 1 or 2, correct check digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Npi(u64);

/// Why a string is not an NPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NpiError {
    #[error("not 10 digits")]
    Shape,
    #[error("does not start with 1 or 2")]
    Prefix,
    #[error("check digit does not match")]
    CheckDigit,
}

/// The Luhn contribution of the `80840` prefix (8·2→1+6, 0, 8·2→1+6, 4, 0 = 24).
const PREFIX_SUM: u32 = 24;

/// The check digit for the first nine digits of an NPI.
pub fn check_digit(first_nine: [u8; 9]) -> u8 {
    let mut sum = PREFIX_SUM;
    for (i, d) in first_nine.iter().enumerate() {
        let d = u32::from(*d);
        // Digits are doubled from the rightmost of the nine leftwards: positions 0, 2, 4, 6, 8.
        if i % 2 == 0 {
            let twice = d * 2;
            sum += twice / 10 + twice % 10;
        } else {
            sum += d;
        }
    }
    ((10 - sum % 10) % 10) as u8
}

impl Npi {
    /// Parse and validate ten ASCII digits (surrounding whitespace is not accepted).
    pub fn parse(s: &str) -> Result<Self, NpiError> {
        Self::parse_bytes(s.as_bytes())
    }

    pub fn parse_bytes(b: &[u8]) -> Result<Self, NpiError> {
        if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
            return Err(NpiError::Shape);
        }
        if b[0] != b'1' && b[0] != b'2' {
            return Err(NpiError::Prefix);
        }
        let mut nine = [0u8; 9];
        for (slot, c) in nine.iter_mut().zip(b) {
            *slot = c - b'0';
        }
        if check_digit(nine) != b[9] - b'0' {
            return Err(NpiError::CheckDigit);
        }
        let value = b.iter().fold(0u64, |acc, c| acc * 10 + u64::from(c - b'0'));
        Ok(Npi(value))
    }

    /// From a stored number; validated like a string.
    pub fn from_u64(n: u64) -> Result<Self, NpiError> {
        Self::parse(&n.to_string())
    }

    /// The NPI whose first nine digits are `base` (100000000..=299999999), with its check digit.
    pub fn with_check_digit(base: u32) -> Option<Self> {
        if !(100_000_000..=299_999_999).contains(&base) {
            return None;
        }
        let mut nine = [0u8; 9];
        let mut rest = base;
        for slot in nine.iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        Some(Npi(u64::from(base) * 10 + u64::from(check_digit(nine))))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The first nine digits: identify a valid NPI (the tenth is derived).
    pub fn base(self) -> u32 {
        (self.0 / 10) as u32
    }
}

impl fmt::Display for Npi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A set of valid NPIs in 25 MB whatever the input size: one bit per nine-digit base.
/// Used to report duplicate NPIs while streaming.
pub struct NpiSet {
    bits: Vec<u64>,
}

const BASE_MIN: u32 = 100_000_000;
const BASE_SPAN: usize = 200_000_000;

impl Default for NpiSet {
    fn default() -> Self {
        Self::new()
    }
}

impl NpiSet {
    pub fn new() -> Self {
        Self {
            bits: vec![0; BASE_SPAN / 64 + 1],
        }
    }

    /// Adds `npi`; `false` when it was already present.
    pub fn insert(&mut self, npi: Npi) -> bool {
        let i = (npi.base() - BASE_MIN) as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        match self.bits.get_mut(word) {
            Some(w) => {
                let fresh = *w & bit == 0;
                *w |= bit;
                fresh
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cms_example_is_valid() {
        // The CMS worked example: 123456789 → check digit 3.
        assert_eq!(Npi::parse("1234567893").unwrap().get(), 1_234_567_893);
        assert_eq!(
            Npi::with_check_digit(123_456_789).unwrap().get(),
            1_234_567_893
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(Npi::parse("1234567890"), Err(NpiError::CheckDigit));
        assert_eq!(Npi::parse("123456789"), Err(NpiError::Shape));
        assert_eq!(Npi::parse("12345678931"), Err(NpiError::Shape));
        assert_eq!(Npi::parse("12345a7893"), Err(NpiError::Shape));
        assert_eq!(Npi::parse(" 234567893"), Err(NpiError::Shape));
        assert_eq!(Npi::parse("3234567893"), Err(NpiError::Prefix));
        assert_eq!(Npi::parse(""), Err(NpiError::Shape));
        assert_eq!(Npi::parse("１２３４５６７８９３"), Err(NpiError::Shape));
    }

    #[test]
    fn every_generated_npi_parses() {
        for base in (100_000_000..300_000_000).step_by(9_999_991) {
            let npi = Npi::with_check_digit(base).unwrap();
            assert_eq!(Npi::parse(&npi.to_string()).unwrap(), npi);
            assert_eq!(npi.base(), base);
        }
        assert!(Npi::with_check_digit(99_999_999).is_none());
        assert!(Npi::with_check_digit(300_000_000).is_none());
    }

    #[test]
    fn set_reports_duplicates() {
        let mut set = NpiSet::new();
        let a = Npi::parse("1234567893").unwrap();
        assert!(set.insert(a));
        assert!(!set.insert(a));
        assert!(set.insert(Npi::with_check_digit(299_999_999).unwrap()));
        assert!(set.insert(Npi::with_check_digit(100_000_000).unwrap()));
    }
}
