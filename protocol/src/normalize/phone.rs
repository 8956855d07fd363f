//! Phone numbers to E.164.
//!
//! Accepted: international (`+996 775 987 817`), `00`-prefixed
//! (`00996775987817`), the ex-Soviet `8 10` international prefix, spaced,
//! dotted, dashed and bracketed forms, and national numbers with their trunk
//! prefix (`0775 987 817` in Kyrgyzstan, `8 701 123 45 67` in Kazakhstan),
//! read by the record's country or else the node's. Number plans come from
//! the `phonenumber` crate (Google libphonenumber metadata).
//!
//! A number is accepted when its digits parse under the plan and the result
//! is 8–15 digits long. It is deliberately not required to fall in a range
//! the metadata knows as assigned: an operator's new range must not make an
//! agency's record unreadable.

use phonenumber::country;
use phonenumber::Mode;

use super::Error;
use crate::Country;

/// The E.164 form (`+996775987817`) of a phone number as written.
pub fn e164(raw: &str, country: Option<Country>) -> Result<String, Error> {
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
    let parsed = match international {
        Some(number) => phonenumber::parse(None, format!("+{number}")),
        None => {
            let Some(country) = country else {
                return Err(bad("it is a national number and no country is known"));
            };
            let Ok(region) = country.alpha2().parse::<country::Id>() else {
                return Err(bad("the country has no phone numbering plan"));
            };
            phonenumber::parse(Some(region), &digits)
        }
    };
    let number = parsed.map_err(|_| bad("no numbering plan reads it"))?;
    let e164 = number.format().mode(Mode::E164).to_string();
    let len = e164.len().saturating_sub(1);
    if !(8..=15).contains(&len) {
        return Err(bad("it does not have 8 to 15 digits with its country code"));
    }
    Ok(e164)
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
