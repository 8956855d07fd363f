//! Calendar dates of birth, read as `YYYY-MM-DD` or `DD.MM.YYYY` and always
//! written back as ISO 8601.

use std::fmt;
use std::str::FromStr;

/// A validated calendar date (proleptic Gregorian, years 1800–2200).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not in either accepted layout.
    #[error("date {given:?} is not written as YYYY-MM-DD or DD.MM.YYYY")]
    Format {
        /// What was given.
        given: String,
    },
    /// Well-formed but no such day exists (or outside 1800–2200).
    #[error("date {given:?} does not exist: check the day and month (YYYY-MM-DD or DD.MM.YYYY)")]
    Impossible {
        /// What was given.
        given: String,
    },
}

impl Date {
    /// A date from its parts, if it exists.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1800..=2200).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        (day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let b = t.as_bytes();
        let fields = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
            Some((&t[0..4], &t[5..7], &t[8..10]))
        } else if b.len() == 10 && b[2] == b'.' && b[5] == b'.' {
            Some((&t[6..10], &t[3..5], &t[0..2]))
        } else {
            None
        };
        let (y, m, d) = fields
            .and_then(|(y, m, d)| Some((digits(y)?, digits(m)?, digits(d)?)))
            .ok_or_else(|| DateError::Format {
                given: s.to_owned(),
            })?;
        let small = |v: u16| u8::try_from(v).ok();
        small(m)
            .zip(small(d))
            .and_then(|(m, d)| Date::new(y, m, d))
            .ok_or_else(|| DateError::Impossible {
                given: s.to_owned(),
            })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_read_the_same_day() {
        let iso: Date = "1985-03-14".parse().unwrap();
        let ru: Date = "14.03.1985".parse().unwrap();
        assert_eq!(iso, ru);
        assert_eq!(ru.to_string(), "1985-03-14");
    }

    #[test]
    fn impossible_and_malformed_dates() {
        assert!(matches!(
            "1985-02-30".parse::<Date>(),
            Err(DateError::Impossible { .. })
        ));
        assert!(matches!(
            "31.04.1990".parse::<Date>(),
            Err(DateError::Impossible { .. })
        ));
        assert!(matches!(
            "1985-13-01".parse::<Date>(),
            Err(DateError::Impossible { .. })
        ));
        assert!("2000-02-29".parse::<Date>().is_ok());
        assert!(matches!(
            "1900-02-29".parse::<Date>(),
            Err(DateError::Impossible { .. })
        ));
        for bad in [
            "",
            "1985/03/14",
            "14-03-1985",
            "85-03-14",
            "1985-3-14",
            "١٩٨٥-03-14",
            "abcd-ef-gh",
        ] {
            assert!(
                matches!(bad.parse::<Date>(), Err(DateError::Format { .. })),
                "{bad:?}"
            );
        }
    }
}
