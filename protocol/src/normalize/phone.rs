//! Phone numbers to E.164.
//!
//! Accepted: international (`+996 775 987 817`), `00`-prefixed
//! (`00996775987817`), the ex-Soviet `8 10` international prefix, spaced,
//! dotted, dashed and bracketed forms, and national numbers with their trunk
//! prefix (`0775 987 817` in Kyrgyzstan, `8 701 123 45 67` in Kazakhstan),
//! read by the record's country or else the node's. Number plans come from
//! the `phonenumber` crate (Google libphonenumber metadata).
//!
//! **Old dialling plans.** Records span decades, and the plans of the
//! region changed: under the Soviet unified numbering plan every republic
//! dialled long distance with the trunk prefix `8` (and abroad with `8 10`).
//! Russia, Kazakhstan, Belarus and Turkmenistan keep it; Kyrgyzstan moved to
//! `0`; Tajikistan and Uzbekistan dropped the trunk prefix (Uzbekistan with
//! its nine-digit plan, order No. 490 of the State Committee for
//! Communications of 26 December 2013). Today's plans are those notified to
//! the ITU (ITU-T E.164 national numbering plans) as libphonenumber's
//! metadata carries them: no `nationalPrefix` for TJ and UZ, `0` for KG.
//! That metadata therefore reads the `8` of `8 918 104804` in a Tajik
//! record as part of the number.
//! A national number is read under today's plan and under each earlier
//! trunk prefix of its country ([`HISTORICAL_TRUNK`]), then as a bare
//! national significant number written without any trunk prefix, and the
//! first reading that is a valid number of the country wins, today's
//! first.
//!
//! A number that is valid under no reading is still accepted when its
//! digits parse and the result is 8–15 digits long (an operator's new range
//! must not make an agency's record unreadable), but [`read`] says so
//! ([`Phone::valid`] is false) so that ingest can warn: such a selector is
//! one no peer holding the number correctly will ever share.
//!
//! **Cost.** Each reading's validity is checked once, by `plan`: a port
//! of the crate's check that matches with regular expressions of its own
//! thread rather than through the crate's one mutex-guarded regex cache,
//! which serialised ingest's workers. The E.164 form is written directly
//! (`+`, country calling code, national significant number) as the crate's
//! E.164 formatter writes it, without the formatter's search for a display
//! format that E.164 does not use. Parsing is still the crate's.

use std::fmt::Write as _;

use phonenumber::{country, PhoneNumber};

use super::Error;
use crate::Country;

#[cfg(test)]
mod equivalence;
mod plan;

/// Trunk prefixes a country's national numbers were once written with and
/// that today's metadata does not know: the Soviet `8` in the ex-Soviet
/// republics that replaced or dropped it. Countries that keep `8` today
/// (Russia, Kazakhstan, Belarus, Turkmenistan) need no entry.
pub const HISTORICAL_TRUNK: [(&str, &str); 8] = [
    ("ARM", "8"),
    ("AZE", "8"),
    ("GEO", "8"),
    ("KGZ", "8"),
    ("MDA", "8"),
    ("TJK", "8"),
    ("UKR", "8"),
    ("UZB", "8"),
];

/// A phone number as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// The E.164 form, `+996775987817`.
    pub e164: String,
    /// Whether it is a valid number of its country under the numbering
    /// plan (today's, or for a national number an earlier one).
    pub valid: bool,
}

/// The E.164 form (`+996775987817`) of a phone number as written.
pub fn e164(raw: &str, country: Option<Country>) -> Result<String, Error> {
    read(raw, country).map(|p| p.e164)
}

/// Reads a phone number as written: its E.164 form and whether the
/// numbering plan knows it (see the module documentation).
pub fn read(raw: &str, country: Option<Country>) -> Result<Phone, Error> {
    let bad = |reason: &'static str| Error::Phone {
        given: raw.to_owned(),
        reason,
    };
    let mut digits = String::with_capacity(raw.len());
    let mut plus = false;
    for (i, c) in raw.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' => {}
            _ => {
                return Err(bad(
                    "it contains characters other than digits, spaces, dashes, dots and brackets",
                ))
            }
        }
    }
    if digits.is_empty() {
        return Err(bad("it has no digits"));
    }
    let international = if plus {
        Some(digits.as_str())
    } else {
        digits
            .strip_prefix("00")
            .or_else(|| digits.strip_prefix("810").filter(|_| uses_8_10(country)))
    };
    let phone = match international {
        Some(number) => Phone::of(
            &phonenumber::parse(None, format!("+{number}"))
                .map_err(|_| bad("no numbering plan reads it"))?,
        ),
        None => {
            let Some(country) = country else {
                return Err(bad("it is a national number and no country is known"));
            };
            let Ok(region) = country.alpha2().parse::<country::Id>() else {
                return Err(bad("the country has no phone numbering plan"));
            };
            let today = phonenumber::parse(Some(region), &digits).map(|n| Phone::of(&n));
            // Earlier trunk prefixes, then the number as a bare national
            // significant number behind today's trunk prefix: `778 956
            // 3515` in Kazakhstan, whose leading 7 alone is otherwise
            // taken for the country code.
            let bare = phonenumber::metadata::DATABASE
                .by_id(country.alpha2())
                .and_then(|m| m.national_prefix())
                .map(|p| format!("{p}{digits}"));
            let mut other = historical_trunk(country)
                .filter_map(|p| digits.strip_prefix(p).map(str::to_owned))
                .chain(bare)
                .filter_map(|d| phonenumber::parse(Some(region), d).ok())
                .map(|n| Phone::of(&n));
            match today {
                Ok(phone) if phone.valid => phone,
                today => other
                    .find(|phone| phone.valid)
                    .map_or_else(|| today.map_err(|_| bad("no numbering plan reads it")), Ok)?,
            }
        }
    };
    let len = phone.e164.len().saturating_sub(1);
    if !(8..=15).contains(&len) {
        return Err(bad("it does not have 8 to 15 digits with its country code"));
    }
    Ok(phone)
}

impl Phone {
    /// A number as the crate parsed it: its E.164 form as the crate's
    /// formatter writes it (`+`, the country calling code, then the
    /// national number with its leading zeros, e.g. Italy's
    /// `+390236618300`; the formatter fails only for a code with no
    /// metadata, which the parser never returns), and its validity.
    fn of(number: &PhoneNumber) -> Phone {
        let code = number.code().value();
        // `+`, at most five digits of code, at most 17 of national number
        // (the parser's limit): no reallocation.
        let mut e164 = String::with_capacity(24);
        // Writing to a String cannot fail.
        let _ = write!(e164, "+{code}");
        let national_from = e164.len();
        let _ = write!(e164, "{}", number.national());
        let valid = e164
            .get(national_from..)
            .is_some_and(|national| plan::is_valid(code, national));
        Phone { e164, valid }
    }
}

/// The earlier trunk prefixes of `country`.
fn historical_trunk(country: Country) -> impl Iterator<Item = &'static str> {
    HISTORICAL_TRUNK
        .iter()
        .filter(move |(c, _)| *c == country.alpha3())
        .map(|(_, p)| *p)
}

/// Whether the country's people commonly dial abroad with `8 10` (the
/// Soviet-era international prefix, still in use in Russia and Kazakhstan
/// and written so in older records across the region).
fn uses_8_10(country: Option<Country>) -> bool {
    matches!(
        country.as_ref().map(Country::alpha3),
        Some("RUS" | "KAZ" | "KGZ" | "TJK" | "UZB" | "TKM" | "BLR")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<Country> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn golden_forms_of_one_kyrgyz_mobile() {
        for raw in [
            "+996775987817",
            "+996 775 987 817",
            "+996 (775) 98-78-17",
            "00996775987817",
            "00 996 775 987 817",
            "0775 987 817",
            "0775-987-817",
            "(0775) 987 817",
            "0775.987.817",
        ] {
            assert_eq!(e164(raw, c("KGZ")).as_deref(), Ok("+996775987817"), "{raw}");
        }
        // International forms do not need the country at all.
        assert_eq!(e164("00996775987817", None).as_deref(), Ok("+996775987817"));
        assert_eq!(
            e164("+996 775 987 817", c("TJK")).as_deref(),
            Ok("+996775987817")
        );
    }

    #[test]
    fn golden_forms_across_the_region() {
        let cases = [
            // Kazakhstan: trunk prefix 8, and the 8-10 international prefix.
            ("8 701 123 45 67", "KAZ", "+77011234567"),
            ("+7 (701) 123-45-67", "KAZ", "+77011234567"),
            ("8 10 996 775 987 817", "KAZ", "+996775987817"),
            // Tajikistan: nine national digits, no trunk prefix in use.
            ("93 555 1234", "TJK", "+992935551234"),
            ("+992 93 555 1234", "UZB", "+992935551234"),
            // Uzbekistan: "8" trunk dialling of old, and the plain 9-digit form.
            ("90 123 45 67", "UZB", "+998901234567"),
            ("00998901234567", "UZB", "+998901234567"),
            // Russia.
            ("8 (916) 123-45-67", "RUS", "+79161234567"),
        ];
        for (raw, country, want) in cases {
            assert_eq!(
                e164(raw, c(country)).as_deref(),
                Ok(want),
                "{raw} in {country}"
            );
        }
    }

    #[test]
    fn the_soviet_trunk_prefix_is_read_where_the_plan_has_dropped_it() {
        // Written so in older Tajik, Uzbek and Kyrgyz records: `8` then
        // the national number; today's metadata alone reads the 8 as a
        // digit of a ten-digit number no operator ever issued.
        let cases = [
            ("8 918 104804", "TJK", "+992918104804"),
            ("8502 232098", "TJK", "+992502232098"),
            ("8-93-555-12-34", "TJK", "+992935551234"),
            ("8935 187766", "UZB", "+998935187766"),
            ("8 (90) 123-45-67", "UZB", "+998901234567"),
            ("8 775 987 817", "KGZ", "+996775987817"),
            ("8 312 123 456", "KGZ", "+996312123456"),
        ];
        for (raw, country, want) in cases {
            let got = read(raw, c(country));
            assert_eq!(
                got,
                Ok(Phone {
                    e164: want.into(),
                    valid: true
                }),
                "{raw} in {country}"
            );
        }
        // Today's reading comes first where it is valid: a nine-digit
        // Uzbek number in the 88 range keeps its 8.
        assert_eq!(
            e164("88 123 45 67", c("UZB")).as_deref(),
            Ok("+998881234567")
        );
        // A bare national number, without the trunk prefix: in
        // Kazakhstan the leading 7 is not the country code.
        assert_eq!(
            e164("778 956 3515", c("KAZ")).as_deref(),
            Ok("+77789563515")
        );
        assert_eq!(
            e164("916 123 45 67", c("RUS")).as_deref(),
            Ok("+79161234567")
        );
        // Countries that keep 8 as today's trunk prefix read it as before.
        assert_eq!(
            e164("8 701 123 45 67", c("KAZ")).as_deref(),
            Ok("+77011234567")
        );
    }

    #[test]
    fn a_number_valid_under_no_plan_is_kept_and_said_to_be_so() {
        // Ten digits in Tajikistan whichever way it is read: no operator
        // range holds it with or without the 8.
        let got = read("8 111 111 1111", c("TJK")).unwrap();
        assert!(!got.valid, "{got:?}");
        assert_eq!(got.e164, "+99281111111111");
        // International forms are checked too.
        assert!(!read("+996 111 111 111", None).unwrap().valid);
        assert!(read("+996 775 987 817", None).unwrap().valid);
    }

    #[test]
    fn unreadable_numbers_are_refused_with_a_reason() {
        assert!(
            matches!(e164("0775 987 817", None), Err(Error::Phone { reason, .. }) if reason.contains("no country"))
        );
        assert!(matches!(
            e164("call me", c("KGZ")),
            Err(Error::Phone { .. })
        ));
        assert!(matches!(e164("", c("KGZ")), Err(Error::Phone { .. })));
        assert!(matches!(e164("+1", None), Err(Error::Phone { .. })));
        assert!(matches!(
            e164("+99 6775987817999999", None),
            Err(Error::Phone { .. })
        ));
        assert!(matches!(e164("12+34", c("KGZ")), Err(Error::Phone { .. })));
    }
}
