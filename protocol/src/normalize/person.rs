//! Placeholder: being written.
use super::Error;
use crate::date::Date;
use crate::Selector;

/// A person's name as written, each part optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    /// Family name.
    pub surname: Option<&'a str>,
    /// Given name.
    pub given: Option<&'a str>,
    /// Patronymic.
    pub patronymic: Option<&'a str>,
    /// The whole name, parts in any order.
    pub full_name: Option<&'a str>,
}

impl Names<'_> {
    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        self.surname.is_none() && self.given.is_none() && self.patronymic.is_none() && self.full_name.is_none()
    }
}

/// Appends the person keys.
pub fn selectors(_names: &Names<'_>, _dob: Date, _out: &mut Vec<Selector>) -> Result<(), Error> {
    Ok(())
}

/// Checks that the name can be read.
pub fn check(_names: &Names<'_>) -> Result<(), Error> {
    Ok(())
}
