//! Times as agencies write them in CSV and spreadsheet cells, read into one
//! normal form.
//!
//! Accepted: RFC 3339 (`2024-05-01T09:30:00Z`, `2024-05-01T15:30:00+06:00`),
//! and a date with or without a time of day and no zone: the date in any
//! form [`liaison_protocol::date::Date`] reads (`2024-05-01`, `01.05.2024`,
//! `1.5.2024`, `01/05/2024`), then a space (or `T`) and `H:MM` or
//! `HH:MM:SS` (`01.05.2024 9:30`, `2024-05-01 09:30:00`).
//!
//! Normal forms, used for call-record ids and written back: a time with a
//! zone is moved to UTC and written `YYYY-MM-DDTHH:MM:SSZ` (with the
//! fraction of a second if there is one); a time without a zone is written
//! `YYYY-MM-DD HH:MM:SS`, as written (no zone is guessed: an operator's
//! export is in its own local time).

use liaison_protocol::date::Date;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A time read from a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// With a zone: an instant.
    Zoned(OffsetDateTime),
    /// Without one: a wall-clock time (midnight when only a date was written).
    Local(PrimitiveDateTime),
}

impl When {
    /// Reads `s`, or `None` if it is no time in an accepted form.
    pub(crate) fn parse(s: &str) -> Option<When> {
        let s = s.trim();
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Some(When::Zoned(t));
        }
        let (date, clock) = match s.find([' ', 'T']) {
            Some(i) => (&s[..i], Some(s[i + 1..].trim())),
            None => (s, None),
        };
        let date: Date = date.parse().ok()?;
        let date = time::Date::from_calendar_date(
            i32::from(date.year()),
            time::Month::try_from(date.month()).ok()?,
            date.day(),
        )
        .ok()?;
        let clock = match clock {
            Some(c) => clock_time(c)?,
            None => Time::MIDNIGHT,
        };
        Some(When::Local(PrimitiveDateTime::new(date, clock)))
    }

    /// The normal form (see the module's documentation).
    pub(crate) fn normal(&self) -> String {
        match self {
            When::Zoned(t) => {
                let t = t.to_offset(UtcOffset::UTC);
                let frac = match t.nanosecond() {
                    0 => String::new(),
                    n => format!(".{n:09}").trim_end_matches('0').to_owned(),
                };
                format!(
                    "{}T{:02}:{:02}:{:02}{frac}Z",
                    t.date(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            }
            When::Local(t) => format!(
                "{} {:02}:{:02}:{:02}",
                t.date(),
                t.hour(),
                t.minute(),
                t.second()
            ),
        }
    }

    /// As an instant: a time without a zone is taken as UTC.
    pub(crate) fn instant(&self) -> OffsetDateTime {
        match self {
            When::Zoned(t) => *t,
            When::Local(t) => t.assume_utc(),
        }
    }
}

/// `H:MM`, `HH:MM` or `HH:MM:SS`.
fn clock_time(s: &str) -> Option<Time> {
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, max_len: usize| -> Option<u8> {
        (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m] if m.len() == 2 => (num(h, 2)?, num(m, 2)?, 0),
        [h, m, s] if m.len() == 2 && s.len() == 2 => (num(h, 2)?, num(m, 2)?, num(s, 2)?),
        _ => return None,
    };
    Time::from_hms(h, m, sec).ok()
}

/// A date of birth as an agency's spreadsheet may write it: a date, or a
/// date with a midnight time (`14.03.1985 0:00`, what a date cell in a
/// date-and-time format gives). The time is dropped when it is midnight;
/// anything else is returned as written, for the date reader to judge.
pub(crate) fn date_only(s: &str) -> &str {
    let t = s.trim();
    match t.find([' ', 'T']) {
        Some(i) if clock_time(t[i + 1..].trim()) == Some(Time::MIDNIGHT) => t[..i].trim_end(),
        _ => s,
    }
}

/// A duration in whole seconds: `185`, or `HH:MM:SS` / `H:MM:SS` (as
/// operators' exports and spreadsheet duration cells write it). `3:05` is
/// refused: minutes and seconds or hours and minutes?
pub(crate) fn seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let parts: Vec<&str> = s.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h) && m.len() == 2 && digits(m) && sec.len() == 2 && digits(sec)) {
        return None;
    }
    let (h, m, sec): (u64, u64, u64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    (m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_written_many_ways_has_one_normal_form() {
        let normal = |s: &str| When::parse(s).map(|w| w.normal());
        for s in [
            "2024-05-01 09:30:00",
            "2024-05-01 09:30",
            "2024-05-01T09:30:00",
            "01.05.2024 09:30",
            "01.05.2024 9:30",
            "1.5.2024 09:30:00",
            " 01.05.2024  09:30:00 ",
        ] {
            assert_eq!(normal(s).as_deref(), Some("2024-05-01 09:30:00"), "{s}");
        }
        for s in [
            "2024-05-01T09:30:00Z",
            "2024-05-01T15:30:00+06:00",
            "2024-05-01t09:30:00z",
        ] {
            assert_eq!(normal(s).as_deref(), Some("2024-05-01T09:30:00Z"), "{s}");
        }
        assert_eq!(
            normal("2024-05-01T09:30:00.250+00:00").as_deref(),
            Some("2024-05-01T09:30:00.25Z")
        );
        assert_eq!(normal("01.05.2024").as_deref(), Some("2024-05-01 00:00:00"));
        for bad in [
            "yesterday",
            "01.05.24 09:30",
            "31.04.2024 09:30",
            "01.05.2024 25:00",
            "01.05.2024 9:3",
            "01.05.2024 09:30:",
            "2024-05-01 09:30:60",
        ] {
            assert_eq!(normal(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_of_birth_lose_a_midnight_time() {
        assert_eq!(date_only("14.03.1985 0:00"), "14.03.1985");
        assert_eq!(date_only("14.03.1985 00:00:00"), "14.03.1985");
        assert_eq!(date_only("1985-03-14"), "1985-03-14");
        assert_eq!(date_only("14.03.1985 13:45"), "14.03.1985 13:45");
    }

    #[test]
    fn durations() {
        assert_eq!(seconds("185"), Some(185));
        assert_eq!(seconds("00:03:05"), Some(185));
        assert_eq!(seconds("1:00:00"), Some(3600));
        assert_eq!(seconds("3:05"), None);
        assert_eq!(seconds("00:61:00"), None);
        assert_eq!(seconds("-5"), None);
    }
}
