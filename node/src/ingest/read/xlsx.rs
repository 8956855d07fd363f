//! XLSX input (Excel, LibreOffice), through `calamine`: the first sheet,
//! or the one `--sheet` names, read as a CSV file's rows are (the same
//! header search, mapping, records and call records: [`super::csv_rows`]).
//!
//! Cells become the text a CSV row would hold:
//! - text as written;
//! - numbers without a fraction as whole numbers, never in exponent form:
//!   a phone number typed as a number (`996775987817`) stays
//!   `996775987817`, not `9.96775987817E+11` (a leading `0` or `+` that
//!   the spreadsheet dropped when the number was typed cannot be
//!   recovered: format such columns as text);
//! - dates as `YYYY-MM-DD`, date-times as `YYYY-MM-DD HH:MM:SS`, times
//!   of day and durations as `HH:MM:SS`: the forms Liaison reads and
//!   writes back, which a CSV's `14.03.1985` or `01.05.2024 9:30`
//!   normalise to;
//! - booleans `true`/`false`, errors as the spreadsheet shows them
//!   (`#N/A`).
//!
//! The sheet is read whole into memory (calamine has no streaming reader
//! for it); a worksheet holds at most 1,048,576 rows.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use calamine::{Data, Reader, Xlsx};

use super::csv_rows::{Source, SourceRow};

/// The sheet `name` (or the first) of the workbook at `path`, as rows.
pub(super) fn open(path: &Path, name: Option<&str>) -> io::Result<Sheet> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let file = BufReader::new(File::open(path)?);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(file)
        .map_err(|e| bad(format!("cannot read the workbook as XLSX: {e}")))?;
    let names = book.sheet_names();
    let sheet = match name {
        Some(n) => names
            .iter()
            .find(|s| s.as_str() == n)
            .cloned()
            .ok_or_else(|| {
                bad(format!(
                    "the workbook has no sheet {n:?}: its sheets are {}",
                    names
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| bad("the workbook has no sheet".into()))?,
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| bad(format!("cannot read the sheet {sheet:?}: {e}")))?;
    Ok(Sheet { range, next: 0 })
}

/// A worksheet's rows.
pub(super) struct Sheet {
    range: calamine::Range<Data>,
    next: usize,
}

impl Source for Sheet {
    fn next_row(&mut self) -> Option<SourceRow> {
        let (height, width) = self.range.get_size();
        if self.next >= height {
            return None;
        }
        let r = self.next;
        self.next += 1;
        let first_row = self.range.start().map_or(0, |(row, _)| row as u64);
        let first_col = self.range.start().map_or(0, |(_, col)| col as usize);
        let mut row = csv::StringRecord::new();
        // Cells left of the used range are empty columns of the sheet.
        for _ in 0..first_col {
            row.push_field("");
        }
        for c in 0..width {
            let text = self.range.get((r, c)).map(cell_text).unwrap_or_default();
            row.push_field(text.trim());
        }
        Some(SourceRow::Cells(first_row + r as u64 + 1, row))
    }
}

/// A cell as a CSV would hold it (see the module's documentation).
pub(super) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => b.to_string(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(d) => {
            let v = d.as_f64();
            if d.is_duration() || (0.0..1.0).contains(&v) {
                let secs = (v * 86_400.0).round() as i64;
                return format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
            }
            let (y, m, day, h, min, s, ms) = d.to_ymd_hms_milli();
            let when = time::Month::try_from(m)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(i32::from(y), m, day).ok())
                .zip(time::Time::from_hms(h, min, s).ok())
                .map(|(date, clock)| {
                    // To the nearest second: serials are fractions of a day.
                    time::PrimitiveDateTime::new(date, clock)
                        + time::Duration::seconds(i64::from(ms >= 500))
                });
            match when {
                Some(t) if t.time() == time::Time::MIDNIGHT => t.date().to_string(),
                Some(t) => format!(
                    "{} {:02}:{:02}:{:02}",
                    t.date(),
                    t.hour(),
                    t.minute(),
                    t.second()
                ),
                None => number(v),
            }
        }
    }
}

/// A number as a CSV would hold it: whole numbers in full, never in
/// exponent form.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.0}")
    } else {
        // Rust writes f64 in the shortest form that reads back, without
        // an exponent.
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    use super::*;

    #[test]
    fn cells_read_as_a_csv_holds_them() {
        assert_eq!(cell_text(&Data::Float(996_775_987_817.0)), "996775987817");
        assert_eq!(
            cell_text(&Data::Float(490_154_203_237_518.0)),
            "490154203237518"
        );
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        assert_eq!(cell_text(&Data::Int(42)), "42");
        let dt = |v, t| Data::DateTime(ExcelDateTime::new(v, t, false));
        // 14 March 1985 is Excel's day 31120.
        assert_eq!(
            cell_text(&dt(31120.0, ExcelDateTimeType::DateTime)),
            "1985-03-14"
        );
        assert_eq!(
            cell_text(&dt(45413.0 + 9.5 / 24.0, ExcelDateTimeType::DateTime)),
            "2024-05-01 09:30:00"
        );
        assert_eq!(
            cell_text(&dt(185.0 / 86_400.0, ExcelDateTimeType::TimeDelta)),
            "00:03:05"
        );
        assert_eq!(
            cell_text(&dt(9.5 / 24.0, ExcelDateTimeType::DateTime)),
            "09:30:00"
        );
    }
}
