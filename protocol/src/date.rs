//! Calendar dates of birth, read in the forms the region writes them and
//! always written back as ISO 8601:
//! - year first, `YYYY-MM-DD` (ISO 8601), or with `.` or `/` between the
//!   parts (`1970/09/14`, `1954.07.04`): no one writes year, day, month;
//! - day first, `DD.MM.YYYY` (GOST R 7.0.97-2016, the form of every
//!   document of the former Soviet Union), or with `/` or `-` between the
//!   parts (`15/10/1966`, `23-12-1962`), day and month of one or two
//!   digits (`5.3.1966`). The region never writes the month first, so
//!   `05/03/1966` is 5 March.
//!
//! Two-digit years are refused: `24.12.03` could be 1903 or 2003.

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
    /// Not in an accepted layout.
    #[error("date {given:?} is not written as YYYY-MM-DD or DD.MM.YYYY (`/` or `-` may stand for `.`; the year needs four digits)")]
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
        let sep = t.bytes().find(|b| matches!(b, b'-' | b'.' | b'/'));
        let parts: Vec<&str> = sep.map_or_else(Vec::new, |sep| t.split(char::from(sep)).collect());
        let fields = match parts.as_slice() {
            [y, m, d]
                if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) =>
            {
                Some((*y, *m, *d))
            }
            [d, m, y]
                if y.len() == 4 && (1..=2).contains(&m.len()) && (1..=2).contains(&d.len()) =>
            {
                Some((*y, *m, *d))
            }
            _ => None,
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
    fn the_forms_people_write_read_the_same_day() {
        let want: Date = "1966-03-05".parse().unwrap();
        for form in [
            "05.03.1966",
            "5.3.1966",
            "05/03/1966",
            "5/3/1966",
            "05-03-1966",
            "1966/03/05",
            "1966.03.05",
            "1966-3-5",
            " 05.03.1966 ",
        ] {
            assert_eq!(form.parse::<Date>(), Ok(want), "{form}");
        }
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
            "85-03-14",
            "24.12.03",
            "1985-03.14",
            "14 03 1985",
            "1985-003-14",
            "١٩٨٥-03-14",
            "abcd-ef-gh",
            "+985-03-14",
        ] {
            assert!(
                matches!(bad.parse::<Date>(), Err(DateError::Format { .. })),
                "{bad:?}"
            );
        }
    }
}
