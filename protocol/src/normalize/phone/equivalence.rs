//! [`read`](super::read) against the `phonenumber` crate: [`super::plan`]'s
//! validity must be `phonenumber::is_valid`'s and the E.164 form the
//! crate's E.164 formatter's, on every number, so that no selector changes.
//!
//! Three sources of numbers: every example number of the metadata (every
//! country calling code, every region, every number type) and its
//! neighbours; random national significant numbers for every code of the
//! metadata (and codes it lacks) with leading zeros, weighted to the
//! region and to the codes with quirks (`+7` shared by Russia and
//! Kazakhstan, `+1`'s many regions, `+44`, Italy's leading zeros); and
//! random phones as written, read by [`read`](super::read) and by
//! [`reference_read`], `read` as it was before the port.

use std::collections::HashMap;
use std::sync::OnceLock;

use phonenumber::metadata::{Descriptor, Metadata, DATABASE};
use phonenumber::{Mode, PhoneNumber};
use proptest::prelude::*;

use super::{historical_trunk, plan, read, uses_8_10, Phone};
use crate::normalize::Error;
use crate::Country;

/// `read` before [`plan`]: the crate's `is_valid`, twice for the chosen
/// number, and its E.164 formatter. Kept verbatim as the oracle.
fn reference_read(raw: &str, country: Option<Country>) -> Result<Phone, Error> {
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
    let number = match international {
        Some(number) => phonenumber::parse(None, format!("+{number}"))
            .map_err(|_| bad("no numbering plan reads it"))?,
        None => {
            let Some(country) = country else {
                return Err(bad("it is a national number and no country is known"));
            };
            let Ok(region) = country.alpha2().parse::<phonenumber::country::Id>() else {
                return Err(bad("the country has no phone numbering plan"));
            };
            let today = phonenumber::parse(Some(region), &digits);
            let bare = DATABASE
                .by_id(country.alpha2())
                .and_then(|m| m.national_prefix())
                .map(|p| format!("{p}{digits}"));
            let mut other = historical_trunk(country)
                .filter_map(|p| digits.strip_prefix(p).map(str::to_owned))
                .chain(bare)
                .filter_map(|d| phonenumber::parse(Some(region), d).ok());
            match today {
                Ok(n) if phonenumber::is_valid(&n) => n,
                today => other
                    .find(phonenumber::is_valid)
                    .map_or_else(|| today.map_err(|_| bad("no numbering plan reads it")), Ok)?,
            }
        }
    };
    let e164 = number.format().mode(Mode::E164).to_string();
    let len = e164.len().saturating_sub(1);
    if !(8..=15).contains(&len) {
        return Err(bad("it does not have 8 to 15 digits with its country code"));
    }
    Ok(Phone {
        e164,
        valid: phonenumber::is_valid(&number),
    })
}

/// Codes whose plans have quirks worth extra cases: the region's, `+7`
/// (Russia and Kazakhstan share it), `+1` and `+44` (many regions, told
/// apart by leading digits or plans), `+39` (national numbers with a
/// leading zero), and large plans.
const FOCUS: [u16; 16] = [
    7, 996, 992, 998, 993, 994, 995, 374, 375, 380, 86, 90, 98, 44, 1, 39,
];

/// Countries phones are read for: the region, its neighbours, the owners
/// of the focus codes and of shared codes, and ICAO's stateless codes
/// (no numbering plan).
const COUNTRIES: [&str; 40] = [
    "KGZ", "TJK", "KAZ", "UZB", "RUS", "TKM", "BLR", "ARM", "AZE", "GEO", "MDA", "UKR", "CHN",
    "TUR", "IRN", "AFG", "PAK", "IND", "MNG", "GBR", "GGY", "IMN", "JEY", "USA", "CAN", "JAM",
    "PRI", "ITA", "VAT", "SMR", "DEU", "FRA", "POL", "ISR", "ARE", "BRA", "ARG", "MEX", "XXA",
    "XXX",
];

/// Makes the oracle fast: the crate's regex cache holds a hundred
/// patterns, and sweeping every plan would have it compile each pattern
/// again and again. Its size changes no result: it only keeps compiled
/// patterns, keyed by their source, all built with the same options.
fn oracle() {
    if let Ok(mut cache) = DATABASE.cache().lock() {
        if cache.capacity() < 10_000 {
            cache.set_capacity(10_000);
        }
    }
}

/// Every country calling code the crate's metadata has.
fn codes() -> &'static [u16] {
    static CODES: OnceLock<Vec<u16>> = OnceLock::new();
    CODES.get_or_init(|| {
        (0..=999)
            .filter(|code| DATABASE.region(code).is_some())
            .collect()
    })
}

/// What numbers of one code are made from: the example numbers of its
/// plans, and the lengths its numbers may have.
struct Samples {
    examples: Vec<String>,
    lengths: Vec<usize>,
}

/// [`Samples`] of `code` (of any code: one the metadata lacks has none).
fn samples(code: u16) -> &'static Samples {
    static SAMPLES: OnceLock<HashMap<u16, Samples>> = OnceLock::new();
    static NONE: Samples = Samples {
        examples: Vec::new(),
        lengths: Vec::new(),
    };
    SAMPLES
        .get_or_init(|| {
            codes()
                .iter()
                .map(|&code| {
                    let metas = DATABASE.by_code(&code).unwrap_or_default();
                    let examples = metas
                        .iter()
                        .flat_map(|meta| descriptors(meta).into_iter().filter_map(|d| d.example()))
                        .map(str::to_owned)
                        .collect();
                    let lengths = metas
                        .iter()
                        .flat_map(|meta| meta.descriptors().general().possible_length())
                        .map(|&len| usize::from(len))
                        .collect();
                    (code, Samples { examples, lengths })
                })
                .collect()
        })
        .get(&code)
        .unwrap_or(&NONE)
}

/// `len` random decimal digits.
fn digits(len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, len)
        .prop_map(|d| d.into_iter().map(|d| char::from(b'0' + d)).collect())
}

/// Every descriptor of a plan, the types validity ignores included.
fn descriptors(meta: &Metadata) -> Vec<&Descriptor> {
    let d = meta.descriptors();
    let mut all = vec![d.general()];
    all.extend(
        [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.emergency(),
            d.voicemail(),
            d.short_code(),
            d.standard_rate(),
            d.carrier(),
            d.no_international(),
        ]
        .into_iter()
        .flatten(),
    );
    all
}

/// A number with exactly this code and national number (the crate's
/// fields are private; its serde form is not), whether or not the parser
/// would ever return it.
fn number(code: u16, national: &str) -> Option<PhoneNumber> {
    let zeros = national.bytes().take_while(|&b| b == b'0').count();
    let rest = &national[zeros..];
    let value: u64 = if rest.is_empty() {
        0
    } else {
        rest.parse().ok()?
    };
    if zeros > 255 || value >= 1 << 56 {
        return None;
    }
    let packed = ((zeros as u64) << 56) | value;
    serde_json::from_str(&format!(
        r#"{{"code":{{"value":{code},"source":"plus"}},"national":{{"value":{packed}}},"extension":null,"carrier":null}}"#
    ))
    .ok()
}

/// Checks one number: validity as the crate's, and (where the crate can
/// format it: a code of its metadata) the E.164 form as the crate's.
fn check(n: &PhoneNumber) -> Result<(), TestCaseError> {
    let crate_valid = phonenumber::is_valid(n);
    let national = n.national().to_string();
    prop_assert_eq!(
        plan::is_valid(n.code().value(), &national),
        crate_valid,
        "validity of +{} {}",
        n.code().value(),
        national
    );
    let ours = Phone::of(n);
    prop_assert_eq!(ours.valid, crate_valid);
    if DATABASE.by_code(&n.code().value()).is_some() {
        prop_assert_eq!(ours.e164, n.format().mode(Mode::E164).to_string());
    }
    Ok(())
}

/// The example number, and its neighbours: each digit replaced by four
/// others, one digit less, one more, leading zeros.
fn neighbours(example: &str) -> Vec<String> {
    let mut all = vec![
        example.to_owned(),
        format!("0{example}"),
        format!("00{example}"),
    ];
    for (at, digit) in example.bytes().enumerate() {
        for step in [1, 3, 5, 8] {
            let other = char::from(b'0' + (digit.wrapping_sub(b'0').wrapping_add(step)) % 10);
            let mut s = example.to_owned();
            s.replace_range(at..=at, &other.to_string());
            all.push(s);
        }
    }
    if let Some((last, _)) = example.char_indices().last() {
        all.push(example[..last].to_owned());
    }
    for d in '0'..='9' {
        all.push(format!("{example}{d}"));
    }
    all
}

/// Every example number of the metadata and its neighbours, as numbers of
/// their code, as parsed after `+code`, and as parsed as national numbers
/// of their region (with and without its trunk prefix).
#[test]
fn every_example_number_and_its_neighbours_agree_with_the_crate() {
    oracle();
    let mut checked = 0usize;
    let mut valid = 0usize;
    for &code in codes() {
        let Some(metas) = DATABASE.by_code(&code) else {
            continue;
        };
        for meta in metas {
            let region = meta.id().parse::<phonenumber::country::Id>().ok();
            for desc in descriptors(meta) {
                let Some(example) = desc.example() else {
                    continue;
                };
                for national in neighbours(example) {
                    let mut numbers: Vec<PhoneNumber> = Vec::new();
                    numbers.extend(number(code, &national));
                    numbers.extend(phonenumber::parse(None, format!("+{code}{national}")).ok());
                    if let Some(region) = region {
                        numbers.extend(phonenumber::parse(Some(region), &national).ok());
                        if let Some(prefix) = meta.national_prefix() {
                            numbers.extend(
                                phonenumber::parse(Some(region), format!("{prefix}{national}"))
                                    .ok(),
                            );
                        }
                    }
                    for n in &numbers {
                        if let Err(e) = check(n) {
                            panic!("{e}");
                        }
                        checked += 1;
                        valid += usize::from(phonenumber::is_valid(n));
                    }
                }
            }
        }
    }
    eprintln!("example numbers and neighbours: {checked} checked, {valid} valid");
    assert!(checked > 100_000 && valid > 50_000, "{checked} {valid}");
}

/// Every region of a shared code resolves both ways the crate looks it up
/// (where it does not, the crate would panic and the port says invalid).
#[test]
fn every_region_of_a_shared_code_is_found() {
    for &code in codes() {
        let Some(regions) = DATABASE.region(&code) else {
            continue;
        };
        if regions.len() < 2 {
            continue;
        }
        for region in regions {
            assert!(DATABASE.by_id(region).is_some(), "{region}");
            let id: phonenumber::country::Id = region.parse().expect(region);
            assert!(DATABASE.by_id(id.as_ref()).is_some(), "{region}");
        }
    }
    // Codes beyond three digits: none.
    assert!((1000..=u16::MAX).all(|code| DATABASE.region(&code).is_none()));
}

/// A national significant number for `code`: an example number of one of
/// its plans with a random tail (often valid), or random digits of a
/// possible length (mostly not), with up to two leading zeros.
fn national_for(code: u16) -> impl Strategy<Value = (u16, String)> {
    let samples = samples(code);
    let examples = if samples.examples.is_empty() {
        vec!["12345678"]
    } else {
        samples.examples.iter().map(String::as_str).collect()
    };
    let lengths: Vec<usize> = samples.lengths.iter().copied().chain([4, 9, 17]).collect();
    // The example's first `keep` digits, then random ones to its length
    // (now and then one more or one less).
    let from_example = (
        prop::sample::select(examples),
        any::<prop::sample::Index>(),
        digits(18),
        prop_oneof![8 => Just(0usize), 1 => Just(1), 1 => Just(2)],
    )
        .prop_map(|(example, keep, random, other_length)| {
            let len = match other_length {
                1 => example.len() + 1,
                2 => example.len().saturating_sub(1),
                _ => example.len(),
            };
            let keep = keep.index(len + 1).min(example.len());
            let fill = len.saturating_sub(keep).min(random.len());
            format!("{}{}", &example[..keep], &random[..fill])
        });
    let random = (prop::sample::select(lengths), digits(17))
        .prop_map(|(len, digits)| digits[..len.min(17)].to_owned());
    (
        prop_oneof![3 => from_example, 1 => random],
        prop_oneof![12 => Just(""), 1 => Just("0"), 1 => Just("00")],
    )
        .prop_map(move |(national, zeros)| (code, format!("{zeros}{national}")))
}

/// Any code of the metadata, a focus code, or any code at all.
fn any_code() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => prop::sample::select(codes()),
        3 => prop::sample::select(FOCUS.to_vec()),
        1 => 0u16..1000,
    ]
}

/// A phone as an agency might write it, and the country it is read for
/// (mostly the number's own): international (`+`, `00`, `8 10`) or
/// national (bare, with a trunk prefix `0`, `8` or other), from an
/// example number of a plan or random digits, with separators, now and
/// then a character `read` refuses.
fn written() -> impl Strategy<Value = (String, Option<Country>)> {
    let country = prop::option::weighted(0.9, prop::sample::select(COUNTRIES.to_vec()))
        .prop_map(|c| c.map(|c| c.parse::<Country>().expect("a listed country")));
    country.prop_flat_map(|country| {
        let own = country
            .and_then(|c| DATABASE.by_id(c.alpha2()))
            .map(Metadata::country_code);
        let code = match own {
            Some(own) => prop_oneof![3 => Just(own), 1 => any_code()].boxed(),
            None => any_code().boxed(),
        };
        (
            code.prop_flat_map(national_for),
            prop::sample::select(vec![
                "+", "+", "00", "8 10 ", "810", "+ ", "", "", "", "", "0", "8", "8 ", "80", "08",
                "7",
            ]),
            any::<bool>(),
            prop::collection::vec(
                prop::sample::select(vec![' ', '-', '.', '(', ')', '/', '\u{a0}', '\u{2013}']),
                0..=4,
            ),
            prop_oneof![40 => Just(""), 1 => Just("x"), 1 => Just("+"), 1 => Just("#")],
            any::<prop::sample::Index>(),
        )
            .prop_map(
                move |((code, national), prefix, with_code, seps, odd, at)| {
                    let body = if with_code {
                        format!("{code}{national}")
                    } else {
                        national
                    };
                    let mut s = format!("{prefix}{body}");
                    // Separators and the odd character somewhere after the
                    // first character.
                    for c in seps.into_iter().chain(odd.chars()) {
                        let mut at = at.index(s.len().max(1)).max(1).min(s.len());
                        while !s.is_char_boundary(at) {
                            at -= 1;
                        }
                        s.insert(at, c);
                    }
                    (s, country)
                },
            )
    })
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 20,000 each here; `PROPTEST_CASES=...` for more.
        cases: cases(20_000),
        // Keep no regression files in the source tree; a failure prints
        // its minimal case.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random national significant numbers, as numbers of their code and
    /// as the parser reads them after `+code`.
    #[test]
    fn random_numbers_agree_with_the_crate((code, national) in any_code().prop_flat_map(national_for)) {
        oracle();
        if let Some(n) = number(code, &national) {
            check(&n)?;
        }
        if let Ok(n) = phonenumber::parse(None, format!("+{code}{national}")) {
            check(&n)?;
        }
    }

    /// Phones as written, read for a country of the region, a country
    /// with a quirk, or none: the same result, errors included, as `read`
    /// before the port.
    #[test]
    fn read_agrees_with_read_before_the_port((raw, country) in written()) {
        oracle();
        prop_assert_eq!(read(&raw, country), reference_read(&raw, country), "{:?} in {:?}", raw, country);
    }
}

/// The golden forms of `super::tests`, through the oracle: the port
/// changes none of them.
#[test]
fn the_golden_forms_read_as_before() {
    oracle();
    let cases = [
        ("+996 (775) 98-78-17", "KGZ"),
        ("0775.987.817", "KGZ"),
        ("8 701 123 45 67", "KAZ"),
        ("8 10 996 775 987 817", "KAZ"),
        ("93 555 1234", "TJK"),
        ("+992 93 555 1234", "UZB"),
        ("90 123 45 67", "UZB"),
        ("8 (916) 123-45-67", "RUS"),
        ("8 918 104804", "TJK"),
        ("8935 187766", "UZB"),
        ("8 312 123 456", "KGZ"),
        ("88 123 45 67", "UZB"),
        ("778 956 3515", "KAZ"),
        ("916 123 45 67", "RUS"),
        ("8 111 111 1111", "TJK"),
        ("+996 111 111 111", "KGZ"),
        ("+39 02 3661 8300", "ITA"),
        ("02 3661 8300", "ITA"),
        ("+44 7912 345678", "GBR"),
        ("+1 650 253 0000", "USA"),
        ("call me", "KGZ"),
        ("", "KGZ"),
        ("+1", "KGZ"),
        ("+99 6775987817999999", "KGZ"),
        ("12+34", "KGZ"),
    ];
    for (raw, country) in cases {
        for country in [country.parse().ok(), None] {
            assert_eq!(
                read(raw, country),
                reference_read(raw, country),
                "{raw} in {country:?}"
            );
        }
    }
}
