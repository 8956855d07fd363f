//! Normalisation: from an entity as an agency wrote it to the selectors that
//! matching compares.
//!
//! Each entity kind has its own module; [`entity_selectors`] dispatches.
//! The rules (DESIGN.md, "Records and selectors"):
//! - [`phone`]: E.164 from international, `00`, spaced and national
//!   trunk-prefixed forms, reading national numbers by the record's country
//!   (else the node's);
//! - [`ident`]: document numbers, plates, VINs (ISO 3779 check digit where
//!   mandatory), IMEIs (Luhn), IBANs (mod 97), accounts and e-mail:
//!   case-folded, separators removed, Cyrillic look-alike letters folded;
//! - [`org`]: organisation names, legal forms folded, any script;
//! - [`person`]: several keys per person, each with the date of birth, from
//!   names folded to one Latin form whatever the script and
//!   transliteration ([`translit`]), plus phonetic and one-typo keys
//!   ([`phonetic`]).
//!
//! Every function here is pure and deterministic: the same input and
//! [`crate::selector::NORMALIZER_VERSION`] give the same selectors on every
//! node.

pub mod ident;
pub mod org;
pub mod person;
pub mod phone;
pub mod phonetic;
pub mod translit;

#[cfg(test)]
mod props;

use crate::date::{Date, DateError};
use crate::record::Entity;
use crate::{Country, Selector, SelectorKind, UnknownCountry};

/// Why an identifier could not be normalised. Each message says what was
/// wrong and how to write it instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required field is missing or blank.
    #[error("is empty or missing: {hint}")]
    Missing {
        /// How to fill it in.
        hint: &'static str,
    },
    /// No rule reads this phone number.
    #[error("phone number {given:?} cannot be read ({reason}): write it as +CC NUMBER or 00CC NUMBER, or set the record's `country` for a national number")]
    Phone {
        /// What was given.
        given: String,
        /// What went wrong.
        reason: &'static str,
    },
    /// An identifier that has a fixed format does not fit it.
    #[error("{what} {given:?} is not valid: {reason}")]
    Identifier {
        /// `VIN`, `IMEI`, `IBAN`, ...
        what: &'static str,
        /// What was given.
        given: String,
        /// What went wrong and how to fix it.
        reason: String,
    },
    /// A date that does not parse or does not exist.
    #[error(transparent)]
    Date(#[from] DateError),
    /// A country code that is not ISO 3166-1 alpha-3.
    #[error(transparent)]
    Country(#[from] UnknownCountry),
    /// A person's name that yields no usable name part.
    #[error("name {given:?} cannot be read: {reason}")]
    Name {
        /// What was given.
        given: String,
        /// What went wrong and how to fix it.
        reason: &'static str,
    },
}

/// An [`Error`] with the entity field it concerns (`number`, `dob`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct FieldError {
    /// The entity field, as named in NDJSON.
    pub field: &'static str,
    /// What is wrong with it.
    pub error: Error,
}

trait InField<T> {
    fn field(self, field: &'static str) -> Result<T, FieldError>;
}

impl<T, E: Into<Error>> InField<T> for Result<T, E> {
    fn field(self, field: &'static str) -> Result<T, FieldError> {
        self.map_err(|e| FieldError {
            field,
            error: e.into(),
        })
    }
}

/// Something read and kept, but most likely miswritten: ingest stores the
/// record and says so on its line, so that a selector no peer will ever
/// share is not kept silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// A phone number that no numbering plan of its country, today's or an
    /// earlier one, holds (see [`phone`]).
    #[error("phone number {given:?} is not a valid number under its country's numbering plan, today's or an earlier one; kept as {e164}, which a peer holding the number as issued will not share: check the digits and the record's `country`, or write it as +CC NUMBER")]
    InvalidPhone {
        /// What was given.
        given: String,
        /// How it was kept.
        e164: String,
    },
}

/// A [`Warning`] with the entity field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {warning}")]
pub struct FieldWarning {
    /// The entity field, as named in NDJSON.
    pub field: &'static str,
    /// What is doubtful about it.
    pub warning: Warning,
}

/// What normalisation needs to know beyond the entity itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    /// The country whose national formats apply: the record's `country`,
    /// else the node's.
    pub country: Option<Country>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// For a person entity hit only on one-letter keys: which part of its name,
/// as written, the matched keys varied (`matched`: the values of our own
/// selectors that hit). See [`person::differing_part`]; `None` for other
/// entities.
pub fn differing_part(entity: &Entity, matched: &[&str]) -> Option<person::NamePart> {
    let Entity::Person(p) = entity else {
        return None;
    };
    let dob = present(&p.dob)?.parse().ok()?;
    let names = person_names(p);
    person::differing_part(&names, dob, matched)
}

/// A person entity's name parts, blank ones left out.
fn person_names(p: &crate::record::Person) -> person::Names<'_> {
    person::Names {
        surname: present(&p.surname),
        given: present(&p.given),
        patronymic: present(&p.patronymic),
        full_name: present(&p.full_name),
    }
}

/// The selectors of one entity, appended to `out`. On error nothing is
/// appended. An entity may legitimately yield no selector (a person without
/// a date of birth, say): it is stored but cannot be matched.
pub fn entity_selectors(
    entity: &Entity,
    ctx: &Context,
    out: &mut Vec<Selector>,
) -> Result<(), FieldError> {
    entity_selectors_noting(entity, ctx, out, &mut Vec::new())
}

/// As [`entity_selectors`], and appends to `warnings` what was read but is
/// most likely miswritten (nothing on error).
pub fn entity_selectors_noting(
    entity: &Entity,
    ctx: &Context,
    out: &mut Vec<Selector>,
    warnings: &mut Vec<FieldWarning>,
) -> Result<(), FieldError> {
    let (start, noted) = (out.len(), warnings.len());
    let result = push_selectors(entity, ctx, out, warnings);
    if result.is_err() {
        out.truncate(start);
        warnings.truncate(noted);
    }
    result
}

fn push_selectors(
    entity: &Entity,
    ctx: &Context,
    out: &mut Vec<Selector>,
    warnings: &mut Vec<FieldWarning>,
) -> Result<(), FieldError> {
    match entity {
        Entity::Phone(p) => {
            let read = phone::read(&p.number, ctx.country).field("number")?;
            if !read.valid {
                warnings.push(FieldWarning {
                    field: "number",
                    warning: Warning::InvalidPhone {
                        given: p.number.clone(),
                        e164: read.e164.clone(),
                    },
                });
            }
            out.push(Selector::new(SelectorKind::Phone, read.e164));
        }
        Entity::Document(d) => {
            if let Some(c) = present(&d.country) {
                c.parse::<Country>().field("country")?;
            }
            out.push(Selector::new(
                SelectorKind::Document,
                ident::document(&d.number).field("number")?,
            ));
        }
        Entity::Vehicle(v) => {
            let (plate, vin) = (present(&v.plate), present(&v.vin));
            if plate.is_none() && vin.is_none() {
                return Err(FieldError {
                    field: "plate",
                    error: Error::Missing {
                        hint: "a vehicle needs a `plate`, a `vin` or both",
                    },
                });
            }
            if let Some(c) = present(&v.country) {
                c.parse::<Country>().field("country")?;
            }
            if let Some(plate) = plate {
                out.push(Selector::new(
                    SelectorKind::Plate,
                    ident::plate(plate).field("plate")?,
                ));
            }
            if let Some(vin) = vin {
                out.push(Selector::new(
                    SelectorKind::Vin,
                    ident::vin(vin).field("vin")?,
                ));
            }
        }
        Entity::Device(d) => {
            out.push(Selector::new(
                SelectorKind::Imei,
                ident::imei(&d.imei).field("imei")?,
            ));
        }
        Entity::Email(e) => {
            out.push(Selector::new(
                SelectorKind::Email,
                ident::email(&e.address).field("address")?,
            ));
        }
        Entity::Account(a) => match (present(&a.iban), present(&a.bank), present(&a.number)) {
            (Some(iban), _, _) => {
                out.push(Selector::new(
                    SelectorKind::Iban,
                    ident::iban(iban).field("iban")?,
                ));
            }
            (None, Some(bank), Some(number)) => {
                out.push(Selector::new(
                    SelectorKind::Account,
                    ident::account(bank, number).field("number")?,
                ));
            }
            _ => {
                return Err(FieldError {
                    field: "iban",
                    error: Error::Missing {
                        hint: "an account needs an `iban`, or a `bank` and a `number`",
                    },
                })
            }
        },
        Entity::Organization(o) => {
            let (name, reg) = (present(&o.name), present(&o.reg_number));
            if name.is_none() && reg.is_none() {
                return Err(FieldError {
                    field: "name",
                    error: Error::Missing {
                        hint: "an organization needs a `name`, a `reg_number` or both",
                    },
                });
            }
            let country = present(&o.country)
                .map(str::parse::<Country>)
                .transpose()
                .field("country")?;
            if let Some(name) = name {
                for value in org::names(name).field("name")? {
                    out.push(Selector::new(SelectorKind::Organization, value));
                }
            }
            if let Some(reg) = reg {
                let country = country.or(ctx.country).ok_or(Error::Missing {
                    hint: "a `reg_number` needs the organization's `country` (or the record's)",
                });
                let country = country.field("country")?;
                out.push(Selector::new(
                    SelectorKind::Registration,
                    format!(
                        "{}|{}",
                        country.alpha3(),
                        ident::document(reg).field("reg_number")?
                    ),
                ));
            }
        }
        Entity::Person(p) => {
            if let Some(c) = present(&p.nationality) {
                c.parse::<Country>().field("nationality")?;
            }
            let names = person_names(p);
            if names.is_empty() {
                return Err(FieldError {
                    field: "surname",
                    error: Error::Missing {
                        hint: "a person needs `surname` and `given`, or a `full_name`",
                    },
                });
            }
            let dob = present(&p.dob)
                .map(str::parse::<Date>)
                .transpose()
                .field("dob")?;
            let field = if names.full_name.is_some() && names.surname.is_none() {
                "full_name"
            } else {
                "surname"
            };
            match dob {
                Some(dob) => person::selectors(&names, dob, out).field(field)?,
                // Without a date of birth no person key is made (DESIGN.md):
                // still check that the name can be read at all.
                None => person::check(&names).field(field)?,
            }
        }
    }
    Ok(())
}
