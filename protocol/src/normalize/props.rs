//! Property tests over all normalisers: no input panics, every output is in
//! its canonical form, and normalising a canonical form again changes
//! nothing (so selectors compare by equality whichever form came first).

use proptest::prelude::*;
use unicode_normalization::char::is_combining_mark;

use super::{ident, phone};
use crate::date::Date;
use crate::keys::AgencyKey;
use crate::Country;

fn kgz() -> Option<Country> {
    "KGZ".parse().ok()
}

/// Strings shaped like what clerks type into identifier fields. (Found
/// this way: a letter with no upper-case form, such as U+1DF25, stays as
/// it is; "case-folded" means upper-casing changes nothing more.)
fn identifier_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9 +()\\-.]{0,24}",
        "[A-Za-zАВЕКМНОРСТУХавекмнорстух0-9 \\-/№]{0,20}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn phones_are_e164_and_idempotent(raw in identifier_like()) {
        if let Ok(e) = phone::e164(&raw, kgz()) {
            prop_assert!(e.starts_with('+'));
            prop_assert!(e[1..].bytes().all(|b| b.is_ascii_digit()));
            prop_assert!((9..=16).contains(&e.len()), "{e}");
            prop_assert_eq!(phone::e164(&e, kgz()), Ok(e.clone()));
            prop_assert_eq!(phone::e164(&e, None), Ok(e));
        }
    }

    #[test]
    fn identifiers_are_compact_and_idempotent(raw in identifier_like()) {
        for f in [ident::document, ident::plate] {
            if let Ok(v) = f(&raw) {
                prop_assert!(!v.is_empty());
                prop_assert!(v.chars().all(|c| (c.is_alphanumeric() || is_combining_mark(c)) && c.to_uppercase().eq(std::iter::once(c))), "{v}");
                prop_assert_eq!(f(&v), Ok(v.clone()));
            }
        }
        if let Ok(v) = ident::imei(&raw) {
            prop_assert_eq!(v.len(), 14);
            prop_assert_eq!(ident::imei(&v), Ok(v.clone()));
        }
        if let Ok(v) = ident::iban(&raw) {
            prop_assert_eq!(ident::iban(&v), Ok(v.clone()));
        }
        if let Ok(v) = ident::vin(&raw) {
            prop_assert_eq!(ident::vin(&v), Ok(v.clone()));
        }
        if let Ok(v) = ident::email(&raw) {
            prop_assert_eq!(ident::email(&v), Ok(v.clone()));
        }
    }

    #[test]
    fn every_imei_with_its_luhn_digit_is_accepted_and_one_wrong_digit_refused(body in "[0-9]{14}", wrong in 1u8..10) {
        let digits: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        let sum: u32 = digits.iter().rev().enumerate().map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 { let x = d * 2; x / 10 + x % 10 } else { d }
        }).sum();
        let check = ((10 - sum % 10) % 10) as u8;
        prop_assert_eq!(ident::imei(&format!("{body}{check}")), Ok(body.clone()));
        let bad = (check + wrong) % 10;
        let wrong_imei = format!("{body}{bad}");
        prop_assert!(ident::imei(&wrong_imei).is_err());
    }

    #[test]
    fn dates_never_panic_and_round_trip(raw in "[0-9.\\-]{0,12}", y in 1800u16..2200, m in 1u8..13, d in 1u8..32) {
        let _ = raw.parse::<Date>();
        if let Some(date) = Date::new(y, m, d) {
            let iso = date.to_string();
            prop_assert_eq!(iso.parse::<Date>(), Ok(date));
            let ru = format!("{:02}.{:02}.{:04}", d, m, y);
            prop_assert_eq!(ru.parse::<Date>(), Ok(date));
        }
    }

    #[test]
    fn agency_keys_never_panic_on_garbage(raw in any::<String>(), body in "[A-Za-z0-9_\\-]{0,200}") {
        let _ = raw.parse::<AgencyKey>();
        let forged = format!("liaison-agency-v1:{body}");
        prop_assert!(forged.parse::<AgencyKey>().is_err());
    }
}
