//! Selectors: the canonical, versioned strings that matching works on.
//!
//! A [`Selector`] is produced by [`crate::normalize`] from one entity of a
//! record. Two agencies that write the same phone, passport or person
//! differently get byte-identical selectors, so everything downstream
//! (the node's index, OPRF tags) compares selectors by equality only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Version of the normalisation rules: selectors of different versions
/// never compare equal. Bump it when a rule changes what a canonical value
/// means or how it is written (two versions could then give one value to
/// different identifiers, or different values to one): every node must
/// then upgrade and re-index together. A rule that only reads more inputs
/// correctly (an old dialling plan, another transliteration) keeps the
/// version: a store catches up with `liaison reindex` (`liaison check`
/// says when), and a node not yet upgraded still meets the others on every
/// selector the rule did not touch.
pub const NORMALIZER_VERSION: u8 = 1;

/// What a selector identifies. The wire and storage code is [`Self::code`];
/// it must never be reused for a different kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SelectorKind {
    /// A phone number in E.164 form: `+996775987817`.
    Phone,
    /// A travel or identity document number, case-folded, separators removed.
    Document,
    /// A vehicle registration plate.
    Plate,
    /// A vehicle identification number (ISO 3779, 17 characters).
    Vin,
    /// A mobile device's IMEI as its 14 identifying digits (TAC + serial).
    Imei,
    /// An international bank account number, compact upper case.
    Iban,
    /// A domestic bank account: `BANK|NUMBER`.
    Account,
    /// An e-mail address, lower case.
    Email,
    /// An organisation's name with its legal form removed, folded to Latin.
    Organization,
    /// An organisation's registration number: `COUNTRY|NUMBER`.
    Registration,
    /// Person: every name part (surname, given name, patronymic) and the date
    /// of birth. The strongest person key.
    PersonFull,
    /// Person: surname and given name in either order, and the date of birth.
    PersonName,
    /// Person: phonetic codes of surname and given name, and the date of birth.
    PersonPhonetic,
    /// Person: the phonetic code with one symbol deleted, and the date of
    /// birth; two spellings one typo apart share one of these.
    PersonFuzzy,
}

impl SelectorKind {
    /// Every kind, in code order.
    pub const ALL: [SelectorKind; 14] = [
        SelectorKind::Phone,
        SelectorKind::Document,
        SelectorKind::Plate,
        SelectorKind::Vin,
        SelectorKind::Imei,
        SelectorKind::Iban,
        SelectorKind::Account,
        SelectorKind::Email,
        SelectorKind::Organization,
        SelectorKind::Registration,
        SelectorKind::PersonFull,
        SelectorKind::PersonName,
        SelectorKind::PersonPhonetic,
        SelectorKind::PersonFuzzy,
    ];

    /// The name used in config files, CLI flags and OPRF inputs.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectorKind::Phone => "phone",
            SelectorKind::Document => "document",
            SelectorKind::Plate => "plate",
            SelectorKind::Vin => "vin",
            SelectorKind::Imei => "imei",
            SelectorKind::Iban => "iban",
            SelectorKind::Account => "account",
            SelectorKind::Email => "email",
            SelectorKind::Organization => "organization",
            SelectorKind::Registration => "registration",
            SelectorKind::PersonFull => "person_full",
            SelectorKind::PersonName => "person_name",
            SelectorKind::PersonPhonetic => "person_phonetic",
            SelectorKind::PersonFuzzy => "person_fuzzy",
        }
    }

    /// Stable one-byte code for storage keys and wire formats.
    pub fn code(self) -> u8 {
        match self {
            SelectorKind::Phone => 1,
            SelectorKind::Document => 2,
            SelectorKind::Plate => 3,
            SelectorKind::Vin => 4,
            SelectorKind::Imei => 5,
            SelectorKind::Iban => 6,
            SelectorKind::Account => 7,
            SelectorKind::Email => 8,
            SelectorKind::Organization => 9,
            SelectorKind::Registration => 10,
            SelectorKind::PersonFull => 11,
            SelectorKind::PersonName => 12,
            SelectorKind::PersonPhonetic => 13,
            SelectorKind::PersonFuzzy => 14,
        }
    }

    /// The kind with this [`Self::code`], if any.
    pub fn from_code(code: u8) -> Option<SelectorKind> {
        SelectorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether this is one of the person keys (which always include a date
    /// of birth).
    pub fn is_person(self) -> bool {
        matches!(
            self,
            SelectorKind::PersonFull
                | SelectorKind::PersonName
                | SelectorKind::PersonPhonetic
                | SelectorKind::PersonFuzzy
        )
    }
}

impl fmt::Display for SelectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A selector kind name that is not one of [`SelectorKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown selector kind {given:?}; expected one of: {}", SelectorKind::ALL.map(|k| k.as_str()).join(", "))]
pub struct UnknownKind {
    /// What was given.
    pub given: String,
}

impl FromStr for SelectorKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SelectorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind {
                given: s.to_owned(),
            })
    }
}

/// One canonical identifier: its kind, the normaliser version that made it,
/// and the canonical value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Selector {
    /// What the value identifies.
    pub kind: SelectorKind,
    /// The [`NORMALIZER_VERSION`] that produced it.
    pub version: u8,
    /// The canonical value. Never empty, never contains `|` except as the
    /// separator the kind's format defines, never contains NUL.
    pub value: String,
}

impl Selector {
    /// A selector of the current normaliser version.
    pub fn new(kind: SelectorKind, value: impl Into<String>) -> Selector {
        Selector {
            kind,
            version: NORMALIZER_VERSION,
            value: value.into(),
        }
    }

    /// The domain-separated input that OPRF evaluation and hashing take:
    /// `v1|phone|+996775987817`.
    pub fn domain_input(&self) -> String {
        format!("v{}|{}|{}", self.version, self.kind.as_str(), self.value)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for kind in SelectorKind::ALL {
            assert_eq!(SelectorKind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.as_str().parse::<SelectorKind>(), Ok(kind));
        }
        assert_eq!(SelectorKind::from_code(0), None);
        assert!("telephone".parse::<SelectorKind>().is_err());
    }

    #[test]
    fn domain_input_is_versioned() {
        let s = Selector::new(SelectorKind::Phone, "+996775987817");
        assert_eq!(s.domain_input(), "v1|phone|+996775987817");
        assert_eq!(s.to_string(), "phone:+996775987817");
    }
}
