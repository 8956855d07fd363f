//! Column mapping files (`--map FILE.toml`): an agency's own headers read
//! as Liaison's CSV fields, like i2 Analyst's Notebook's import
//! specifications.
//!
//! ```toml
//! # What rows are: "records" (one record a row, the default) or "calls"
//! # (call detail records).
//! rows = "records"
//! # Prefixed to every record id (an agency register numbers its rows 1, 2, 3).
//! id_prefix = "KG-REG-"
//! # Columns the map does not name: "keep" (read by their own name, as
//! # without a map; the default) or "drop".
//! unmapped = "keep"
//!
//! [columns]
//! "Фамилия" = "surname"
//! "Дата рождения" = "dob"
//! "№ паспорта" = "passport_number"
//!
//! # The same value for every row whose own cell is empty or absent.
//! [constants]
//! passport_country = "KGZ"
//! handling = "TLP:AMBER"
//! ```
//!
//! Headers are compared trimmed, with runs of spaces as one, without
//! regard to case and with `ё` as `е`. Several columns may fill one field:
//! their cells are joined, in the file's column order, by `;` for the
//! fields that hold several values (`phone`, `email`, `imei`) and by a
//! space for the others (`Дата` + `Время` → `start`).
//!
//! A map is checked when it is loaded, before any file is read: a field
//! Liaison does not read is refused with the list of those it does, and
//! constants must be values the field accepts. A mapped header a file
//! lacks is refused when that file's header is read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::csv_rows;

/// What a mapped file's rows are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rows {
    /// One record a row (`record_id`, `surname`, `phone`...).
    Records,
    /// Call detail records (`caller`, `callee`, `start`...).
    Calls,
}

/// What becomes of columns the map does not name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmapped {
    /// Read by their own name, as without a map.
    #[default]
    Keep,
    /// Ignored.
    Drop,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rows: Option<Rows>,
    #[serde(default)]
    id_prefix: Option<String>,
    #[serde(default)]
    unmapped: Unmapped,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, String>,
}

/// A checked mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Records or calls.
    pub rows: Rows,
    /// Prefixed to each record id.
    pub id_prefix: Option<String>,
    /// Columns not named.
    pub unmapped: Unmapped,
    /// (header as written in the map, its comparison key, field).
    columns: Vec<(String, String, String)>,
    /// (field, value).
    pub(super) constants: Vec<(String, String)>,
}

/// The fields a call detail row is read by.
pub(super) const CALL_FIELDS: &[&str] = &["caller", "callee", "start", "duration", "cell"];

/// How headers are compared.
pub(super) fn header_key(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace('ё', "е")
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the mapping file: {e}", path.display()))?;
        Mapping::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a mapping file's text.
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        let calls = |f: &str| matches!(f, "caller" | "callee");
        let rows = file.rows.unwrap_or(
            if file
                .columns
                .values()
                .chain(file.constants.keys())
                .any(|f| calls(f))
            {
                Rows::Calls
            } else {
                Rows::Records
            },
        );
        let known = |f: &str| match rows {
            Rows::Calls => CALL_FIELDS.contains(&f),
            Rows::Records => csv_rows::is_field(f),
        };
        let list = || match rows {
            Rows::Calls => CALL_FIELDS.join(", "),
            Rows::Records => csv_rows::field_list(),
        };
        let what = match rows {
            Rows::Calls => "a call detail row",
            Rows::Records => "a record row",
        };
        let mut columns = Vec::new();
        let mut keys = BTreeMap::new();
        for (header, field) in &file.columns {
            let field = field.trim().to_ascii_lowercase();
            if !known(&field) {
                return Err(format!(
                    "[columns] {header:?} = {field:?}: `{field}` is not a field of {what}; the fields are: {}",
                    list()
                ));
            }
            let key = header_key(header);
            if key.is_empty() {
                return Err("[columns]: a header is empty".into());
            }
            if let Some(other) = keys.insert(key.clone(), header.clone()) {
                return Err(format!(
                    "[columns]: {other:?} and {header:?} are the same header (compared without case and extra spaces)"
                ));
            }
            columns.push((header.clone(), key, field));
        }
        if columns.is_empty() {
            return Err("[columns] is empty: map at least one header to a field".into());
        }
        let mut constants = Vec::new();
        for (field, value) in &file.constants {
            let field = field.trim().to_ascii_lowercase();
            if !known(&field) {
                return Err(format!(
                    "[constants] {field}: `{field}` is not a field of {what}; the fields are: {}",
                    list()
                ));
            }
            constants.push((field, value.trim().to_owned()));
        }
        if rows == Rows::Records {
            // Each constant must be a value its field accepts: found now,
            // not once a row.
            for (field, value) in &constants {
                // A document's country or type needs its number beside it.
                let number = field
                    .strip_suffix("_country")
                    .or_else(|| field.strip_suffix("_type"))
                    .filter(|d| csv_rows::DOC_TYPES.contains(d))
                    .map(|doc| format!("{doc}_number"));
                let mut cells = vec![(field.as_str(), value.as_str())];
                if !matches!(field.as_str(), "id" | "record_id") {
                    cells.push(("record_id", "x"));
                }
                if let Some(number) = &number {
                    cells.push((number.as_str(), "1"));
                }
                csv_rows::csv_record(&cells)
                    .map_err(|e| format!("[constants] {field} = {value:?}: {}", e.reason))?;
            }
        }
        if rows == Rows::Calls && file.id_prefix.is_some() {
            return Err("id_prefix: call records' ids are derived from the call; remove it".into());
        }
        Ok(Mapping {
            rows,
            id_prefix: file.id_prefix,
            unmapped: file.unmapped,
            columns,
            constants,
        })
    }

    /// The field a file's column fills, by its header: `Err` names the
    /// mapped headers `headers` lacks.
    pub(super) fn resolve_headers(
        &self,
        headers: &[String],
    ) -> Result<Vec<Option<String>>, String> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let missing: Vec<&str> = self
            .columns
            .iter()
            .filter(|(_, key, _)| !keys.contains(key))
            .map(|(h, _, _)| h.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the mapping names {} the file's header lacks: {}; the header has: {}",
                if missing.len() == 1 {
                    "a column"
                } else {
                    "columns"
                },
                missing
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                headers
                    .iter()
                    .map(|h| format!("{:?}", h.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(headers
            .iter()
            .zip(&keys)
            .map(
                |(h, key)| match self.columns.iter().find(|(_, k, _)| k == key) {
                    Some((_, _, field)) => Some(field.clone()),
                    None => match self.unmapped {
                        Unmapped::Keep => Some(csv_rows::column_name(h)),
                        Unmapped::Drop => None,
                    },
                },
            )
            .collect())
    }
}

impl csv_rows::ColumnMap for Mapping {
    fn resolve(&self, headers: &[String]) -> Result<Vec<Option<String>>, String> {
        self.resolve_headers(headers)
    }

    fn calls(&self) -> bool {
        self.rows == Rows::Calls
    }

    fn constants(&self) -> &[(String, String)] {
        &self.constants
    }

    fn id_prefix(&self) -> Option<&str> {
        self.id_prefix.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_before_anything_is_read() {
        let e = Mapping::parse("[columns]\n\"Госномер\" = \"plat\"\n").unwrap_err();
        assert!(e.contains("`plat` is not a field of a record row"), "{e}");
        assert!(
            e.contains("plate, plate_country, vehicle_country, vin"),
            "the list: {e}"
        );
        let e = Mapping::parse("[columns]\n\"Абонент А\" = \"caller\"\n\"Абонент Б\" = \"callee\"\n\"Дата\" = \"date\"\n").unwrap_err();
        assert!(e.contains("not a field of a call detail row; the fields are: caller, callee, start, duration, cell"), "{e}");
        let e = Mapping::parse(
            "[columns]\n\"Фамилия\" = \"surname\"\n[constants]\nhandling = \"TLP:BLUE\"\n",
        )
        .unwrap_err();
        assert!(e.starts_with("[constants] handling = \"TLP:BLUE\""), "{e}");
        let e = Mapping::parse("[columns]\n\"Фамилия\" = \"surname\"\n[constants]\npassport_country = \"Kyrgyzstan\"\n");
        assert!(e.is_ok(), "document countries are kept as written: {e:?}");
        let e = Mapping::parse("[columns]\n\"Фамилия\" = \"surname\"\n\" фамилия \" = \"given\"\n")
            .unwrap_err();
        assert!(e.contains("the same header"), "{e}");
        let e = Mapping::parse("colums = 1\n").unwrap_err();
        assert!(e.contains("unknown field `colums`"), "{e}");
    }

    #[test]
    fn headers_resolve_without_regard_to_case_spaces_and_yo() {
        let m = Mapping::parse(
            "[columns]\n\"Фамилия\" = \"surname\"\n\"Дата  рождения\" = \"dob\"\n\"Отчёт\" = \"summary\"\n",
        )
        .unwrap();
        assert_eq!(m.rows, Rows::Records);
        let headers: Vec<String> = [
            "\u{feff}ФАМИЛИЯ",
            " дата рождения",
            "Отчет",
            "Phone",
            "Примечание",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            m.resolve_headers(&headers).unwrap(),
            vec![
                Some("surname".into()),
                Some("dob".into()),
                Some("summary".into()),
                Some("phone".into()),
                Some("Примечание".into())
            ]
        );
        let e = m.resolve_headers(&headers[..2]).unwrap_err();
        assert!(e.contains("lacks: \"Отчёт\""), "{e}");
    }
}
