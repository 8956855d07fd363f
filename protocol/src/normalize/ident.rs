//! Identifiers with a fixed shape: document numbers, plates, VINs, IMEIs,
//! IBANs, domestic accounts and e-mail addresses.
//!
//! All are compared as compact upper-case strings: separators (spaces,
//! dashes, dots, slashes, `№`) removed, Unicode compatibility forms folded
//! (full-width digits), and the Cyrillic letters that look like Latin ones
//! (А В Е К М Н О Р С Т У Х) read as those Latin letters, because clerks
//! type plates and passport series on whichever keyboard layout is active.
//! Where the format has a check digit it is validated, so a mistyped digit
//! is caught at ingest rather than silently failing to match.

use iban::IbanLike as _;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::Error;

/// The Latin letter a Cyrillic look-alike stands for, if it is one.
fn latin_lookalike(c: char) -> Option<char> {
    Some(match c {
        'А' | 'а' => 'A',
        'В' | 'в' => 'B',
        'Е' | 'е' => 'E',
        'К' | 'к' => 'K',
        'М' | 'м' => 'M',
        'Н' | 'н' => 'H',
        'О' | 'о' => 'O',
        'Р' | 'р' => 'P',
        'С' | 'с' => 'C',
        'Т' | 'т' => 'T',
        'У' | 'у' => 'Y',
        'Х' | 'х' => 'X',
        'І' | 'і' => 'I',
        _ => return None,
    })
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '/' | '\\' | '_' | '№' | '#' | '\u{2010}'..='\u{2015}'
        )
}

/// Compact upper-case form: separators removed, look-alikes folded.
/// Errors name `what` when nothing but separators remain or a character is
/// neither a letter nor a digit.
fn compact(raw: &str, what: &'static str) -> Result<String, Error> {
    let mut out = String::with_capacity(raw.len());
    // Separators go first: compatibility folding would turn `№` into `No`.
    for c in raw.chars().filter(|c| !is_separator(*c)).nfkc() {
        if is_separator(c) {
            continue;
        }
        if let Some(l) = latin_lookalike(c) {
            out.push(l);
        } else if c.is_alphanumeric() {
            // Upper-casing can produce a look-alike (U+1C82, a variant
            // Cyrillic o, becomes О): fold it too, or normalising twice
            // would differ.
            out.extend(c.to_uppercase().map(|u| latin_lookalike(u).unwrap_or(u)));
        } else if is_combining_mark(c) && !out.is_empty() {
            // Kept with its letter: some upper-case forms are a letter and
            // a mark (Greek ῖ becomes Ι and U+0342), and normalising the
            // result again must give the same string.
            out.push(c);
        } else {
            return Err(Error::Identifier {
                what,
                given: raw.to_owned(),
                reason: format!("{c:?} is neither a letter, a digit nor a separator"),
            });
        }
    }
    if out.is_empty() {
        return Err(Error::Missing {
            hint: "write the identifier's letters and digits",
        });
    }
    // Upper-casing can leave a letter and marks that compose (Greek ΐ):
    // compose them, so normalising the result again changes nothing.
    if !out.is_ascii() {
        out = out.nfc().collect();
    }
    Ok(out)
}

/// A travel or identity document number (also used for registration numbers).
pub fn document(raw: &str) -> Result<String, Error> {
    compact(raw, "document number")
}

/// A vehicle registration plate.
pub fn plate(raw: &str) -> Result<String, Error> {
    compact(raw, "plate")
}

fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

/// The ISO 3779 / FMVSS 115 check character of a 17-character VIN.
fn vin_check_char(vin: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let mut sum = 0;
    for (c, w) in vin.iter().zip(WEIGHTS) {
        sum += vin_value(*c)? * w;
    }
    Some(match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    })
}

/// A vehicle identification number: 17 characters, no I, O or Q. The check
/// digit (position 9) is enforced where it is mandatory: North American
/// (`1`–`5`) and Chinese (`L`) manufacturers. Elsewhere position 9 is often
/// a plain serial character, so a mismatch there is not an error.
pub fn vin(raw: &str) -> Result<String, Error> {
    let bad = |reason: String| Error::Identifier {
        what: "VIN",
        given: raw.to_owned(),
        reason,
    };
    let v = compact(raw, "VIN")?;
    if v.len() != 17 || !v.is_ascii() {
        return Err(bad(format!(
            "a VIN has 17 letters and digits, this has {}",
            v.chars().count()
        )));
    }
    if let Some(c) = v.chars().find(|c| matches!(c, 'I' | 'O' | 'Q')) {
        return Err(bad(format!(
            "VINs never contain {c} (did you mean {}?)",
            if c == 'I' { '1' } else { '0' }
        )));
    }
    let bytes = v.as_bytes();
    let Some(check) = vin_check_char(bytes) else {
        return Err(bad("only letters A-Z and digits may appear".into()));
    };
    if matches!(bytes[0], b'1'..=b'5' | b'L') && bytes[8] != check {
        return Err(bad(format!(
            "check digit (9th character) is {}, the other characters give {}: a character is mistyped",
            bytes[8] as char, check as char
        )));
    }
    Ok(v)
}

/// The Luhn check digit for `digits`, as if it were appended to them.
fn luhn_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A device's IMEI as its 14 identifying digits (TAC and serial). Accepts
/// the 15-digit IMEI (Luhn check digit validated), the 16-digit IMEISV
/// (software version dropped) and the bare 14 digits, so the same handset
/// matches however it was recorded.
pub fn imei(raw: &str) -> Result<String, Error> {
    let bad = |reason: String| Error::Identifier {
        what: "IMEI",
        given: raw.to_owned(),
        reason,
    };
    let v = compact(raw, "IMEI")?;
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("an IMEI has digits only".into()));
    }
    match v.len() {
        14 | 16 => Ok(v[..14].to_owned()),
        15 => {
            let b = v.as_bytes();
            let want = luhn_digit(&b[..14]);
            let got = b[14] - b'0';
            if want == got {
                Ok(v[..14].to_owned())
            } else {
                Err(bad(format!(
                    "check digit is {got}, the first 14 digits give {want}: a digit is mistyped"
                )))
            }
        }
        n => Err(bad(format!(
            "an IMEI has 15 digits (14 without the check digit, 16 as IMEISV), this has {n}"
        ))),
    }
}

/// An IBAN in compact upper-case form, its mod-97 check and national
/// format validated.
pub fn iban(raw: &str) -> Result<String, Error> {
    let v = compact(raw, "IBAN")?;
    match v.parse::<iban::Iban>() {
        Ok(iban) => Ok(iban.electronic_str().to_owned()),
        Err(e) => Err(Error::Identifier {
            what: "IBAN",
            given: raw.to_owned(),
            reason: match e {
                iban::ParseIbanError::InvalidBaseIban {
                    source: iban::ParseBaseIbanError::InvalidChecksum,
                } => "the check digits (mod 97) do not match: a character is mistyped".to_owned(),
                iban::ParseIbanError::InvalidBban(_) => {
                    "the account part does not fit its country's IBAN format".to_owned()
                }
                iban::ParseIbanError::UnknownCountry(_) => {
                    "the first two letters are not a country that uses IBANs".to_owned()
                }
                _ => "write two letters of the country, two check digits, then the account"
                    .to_owned(),
            },
        }),
    }
}

/// A domestic account: `BANK|NUMBER`, both compact upper case.
pub fn account(bank: &str, number: &str) -> Result<String, Error> {
    Ok(format!(
        "{}|{}",
        compact(bank, "bank code")?,
        compact(number, "account number")?
    ))
}

/// An e-mail address in lower case, `mailto:` removed.
pub fn email(raw: &str) -> Result<String, Error> {
    let t = raw.trim();
    let t = t.strip_prefix("mailto:").unwrap_or(t);
    let v: String = t.nfkc().flat_map(char::to_lowercase).collect();
    let bad = || Error::Identifier {
        what: "e-mail address",
        given: raw.to_owned(),
        reason: "write it as name@domain.tld".to_owned(),
    };
    let (local, domain) = v.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(v)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_fold_case_separators_and_cyrillic_lookalikes() {
        for raw in [
            "AN 1234567",
            "an1234567",
            "AN-123-45-67",
            "АN 1234567",
            "аN1234567",
            "№ AN1234567",
            "ＡＮ１２３４５６７",
        ] {
            assert_eq!(document(raw).as_deref(), Ok("AN1234567"), "{raw}");
        }
        assert_eq!(document("N 0123456").as_deref(), Ok("N0123456"));
        // Cyrillic Н looks like Latin H, not N.
        assert_eq!(document("НА 123").as_deref(), Ok("HA123"));
        assert!(document(" - ").is_err());
        assert!(document("AB*123").is_err());
    }

    #[test]
    fn plates_in_regional_layouts() {
        for raw in ["01 123 ABC", "01123ABC", "01-123-АВС", "01 123 abc"] {
            assert_eq!(plate(raw).as_deref(), Ok("01123ABC"), "{raw}");
        }
        assert_eq!(plate("123 ABA 02").as_deref(), Ok("123ABA02"));
        assert_eq!(plate("А777МР77").as_deref(), Ok("A777MP77"));
        assert_eq!(plate("Т 001 ХУ").as_deref(), Ok("T001XY"));
    }

    #[test]
    fn vins_check_digit_where_mandatory() {
        // A textbook valid North American VIN.
        assert_eq!(vin("1M8GDM9AXKP042788").as_deref(), Ok("1M8GDM9AXKP042788"));
        assert_eq!(
            vin("1m8g-dm9a-xkp0-42788").as_deref(),
            Ok("1M8GDM9AXKP042788")
        );
        assert!(
            matches!(vin("1M8GDM9A1KP042788"), Err(Error::Identifier { reason, .. }) if reason.contains("check digit"))
        );
        // European VIN: position 9 is not a check digit.
        assert_eq!(vin("WVWZZZ1JZ3W386752").as_deref(), Ok("WVWZZZ1JZ3W386752"));
        assert!(vin("WVWZZZ1JZ3W38675").is_err());
        assert!(
            matches!(vin("WVWZZZ1JZ3WO86752"), Err(Error::Identifier { reason, .. }) if reason.contains("never contain O"))
        );
    }

    #[test]
    fn imeis_luhn_and_forms() {
        assert_eq!(imei("490154203237518").as_deref(), Ok("49015420323751"));
        assert_eq!(imei("49-015420-323751-8").as_deref(), Ok("49015420323751"));
        assert_eq!(imei("49015420323751").as_deref(), Ok("49015420323751"));
        assert_eq!(imei("4901542032375101").as_deref(), Ok("49015420323751"));
        assert!(
            matches!(imei("490154203237517"), Err(Error::Identifier { reason, .. }) if reason.contains("check digit is 7"))
        );
        assert!(imei("4901542032").is_err());
        assert!(imei("49015420323751X").is_err());
    }

    #[test]
    fn ibans_mod97() {
        for raw in [
            "KZ86125KZT5004100100",
            "kz86 125k zt50 0410 0100",
            "KZ86-125K-ZT50-0410-0100",
        ] {
            assert_eq!(iban(raw).as_deref(), Ok("KZ86125KZT5004100100"), "{raw}");
        }
        assert_eq!(
            iban("DE89 3704 0044 0532 0130 00").as_deref(),
            Ok("DE89370400440532013000")
        );
        assert!(
            matches!(iban("DE89 3704 0044 0532 0130 01"), Err(Error::Identifier { reason, .. }) if reason.contains("mod 97"))
        );
        assert!(iban("hello").is_err());
    }

    #[test]
    fn accounts_and_emails() {
        assert_eq!(
            account("kicb kg 22", "1280-0000-1234").as_deref(),
            Ok("KICBKG22|128000001234")
        );
        assert_eq!(
            email(" Courier.Osh@Mail.RU ").as_deref(),
            Ok("courier.osh@mail.ru")
        );
        assert_eq!(email("mailto:a@b.kg").as_deref(), Ok("a@b.kg"));
        for bad in ["courier", "a@b", "@b.kg", "a b@c.kg", "a@b@c.kg", "a@.kg"] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }
}
