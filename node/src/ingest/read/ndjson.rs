//! NDJSON input: one JSON record a line.
//!
//! Lines are read from the opened file by [`super::open`]'s iterator, on
//! ingest's reading thread, and handed on unparsed ([`super::Body::Json`]);
//! ingest's workers parse them with [`parse_json`], which names the field
//! a refused line got wrong.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::Arc;

use liaison_protocol::record::{Grading, Handling, Record};

use super::{Body, Item, Refusal};

/// Handling markings other than TLP and the code each is handled as
/// (`[ingest.markings]`).
pub(crate) type Markings = BTreeMap<String, Handling>;

/// The value of a field as written, found without parsing: after the
/// first `key` (the name in its quotes, `"grading"`) and its colon.
fn raw_value<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = memchr::memmem::find(line, key)?;
    let rest = &line[at + key.len()..];
    let i = rest
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != b':')?;
    Some(&rest[i..])
}

/// Whether a grading as written is Europol's 4x4 (`"4x4:`, `"europol:`,
/// `"X`), which is read as the Admiralty code it maps to.
fn europol(value: &[u8]) -> bool {
    let head = &value[..value.len().min(10)];
    head.strip_prefix(b"\"")
        .is_some_and(|text| Grading::europol_code(&String::from_utf8_lossy(text)).is_some())
}

/// A line rewritten before it is read, or `None` when it needs nothing
/// (the common case, found without parsing):
/// - a `handling` that is a marking of the table (`"H1"`, `"ДСП"`) gets
///   the TLP code it maps to, and the marking as written goes in
///   `marking`; a marking the table lacks is refused;
/// - a Europol 4x4 `grading` keeps what was written in
///   `grading_as_written` (the record's grading is the Admiralty code it
///   maps to).
fn marked(line: &[u8], markings: &Markings) -> Option<Result<Vec<u8>, Refusal>> {
    let tlp = |v: &[u8]| v.len() > 5 && v[0] == b'"' && v[1..5].eq_ignore_ascii_case(b"TLP:");
    // Without a table there is no marking to look for.
    let handling = (!markings.is_empty())
        .then(|| raw_value(line, b"\"handling\""))
        .flatten()
        .filter(|v| !tlp(v));
    let grading = raw_value(line, b"\"grading\"").filter(|v| europol(v));
    if handling.is_none() && grading.is_none() {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let obj = v.as_object_mut()?;
    if let Some(g) = obj
        .get("grading")
        .and_then(|g| g.as_str())
        .map(str::to_owned)
    {
        if Grading::europol_code(&g).is_some() {
            obj.insert("grading_as_written".into(), serde_json::Value::from(g));
        }
    }
    if let (Some(text), false) = (
        obj.get("handling")
            .and_then(|h| h.as_str())
            .map(str::to_owned),
        markings.is_empty(),
    ) {
        match Handling::resolve(&text, markings) {
            Ok((_, None)) => {}
            Ok((h, Some(written))) => {
                obj.insert("handling".into(), serde_json::Value::from(h.as_str()));
                obj.insert("marking".into(), serde_json::Value::from(written));
            }
            Err(e) => return Some(Err(Refusal::new(Some("handling".into()), e.to_string()))),
        }
    }
    Some(Ok(serde_json::to_vec(&v).unwrap_or_else(|_| line.to_vec())))
}

pub(super) struct Ndjson<R> {
    reader: R,
    line: u64,
    max_line: usize,
    buf: Vec<u8>,
    /// `[ingest.markings]`: handling markings other than TLP.
    markings: Arc<Markings>,
    /// Set after a read error: nothing further can be read reliably.
    done: bool,
}

impl<R> Ndjson<R> {
    /// Reads NDJSON from `reader`, refusing lines over `max_line` bytes.
    pub(super) fn new(reader: R, max_line: usize, markings: Arc<Markings>) -> Ndjson<R> {
        Ndjson {
            reader,
            line: 0,
            max_line,
            buf: Vec::new(),
            markings,
            done: false,
        }
    }
}

impl<R: BufRead> Ndjson<R> {
    /// Reads one line into `buf` (without the newline). Returns false at
    /// end of input, and `Err(len)` for a line over the limit (skipped).
    fn next_line(&mut self) -> io::Result<Option<Result<(), usize>>> {
        self.buf.clear();
        let mut too_long = 0usize;
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if too_long == 0 && self.buf.len() + take <= self.max_line + 1 {
                self.buf.extend_from_slice(&chunk[..take]);
            } else {
                too_long = too_long.max(self.buf.len()) + take;
                self.buf.clear();
            }
            self.reader.consume(take);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some(if too_long > 0 { Err(too_long) } else { Ok(()) }))
    }
}

impl<R: BufRead> Iterator for Ndjson<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            let status = match self.next_line() {
                Ok(None) => return None,
                Ok(Some(s)) => s,
                Err(e) => {
                    self.done = true;
                    return Some(Item {
                        line: self.line + 1,
                        body: Body::Refused(Refusal::new(
                            None,
                            format!("read error, the rest of the file is not read: {e}"),
                        )),
                    });
                }
            };
            self.line += 1;
            if let Err(len) = status {
                return Some(Item {
                    line: self.line,
                    body: Body::Refused(Refusal::new(
                        None,
                        format!(
                            "line is {len} bytes, over the {} byte limit (ingest.max_line_bytes): split the record or raise the limit",
                            self.max_line
                        ),
                    )),
                });
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let body = match marked(&self.buf, &self.markings) {
                None => Body::Json(self.buf.clone()),
                Some(Ok(rewritten)) => Body::Json(rewritten),
                Some(Err(refusal)) => Body::Refused(refusal),
            };
            return Some(Item {
                line: self.line,
                body,
            });
        }
        None
    }
}

/// Parses one NDJSON line, naming the field that failed.
///
/// Nearly every line parses: those go through `serde_json` alone, and only
/// a line that fails is read again with `serde_path_to_error` to name its
/// field (tracking the path on every line cost a third of the parse).
pub fn parse_json(line: &[u8]) -> Result<Record, Refusal> {
    if let Ok(record) = serde_json::from_slice::<Record>(line) {
        return Ok(record);
    }
    let de = &mut serde_json::Deserializer::from_slice(line);
    serde_path_to_error::deserialize::<_, Record>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut reason = inner.to_string();
        // serde_json appends "at line 1 column N"; the line is ours to report.
        if let Some(cut) = reason.find(" at line 1 column ") {
            let column = &reason[cut + " at line 1 column ".len()..];
            reason = format!("{} (column {column})", &reason[..cut]);
        }
        if inner.is_syntax() || inner.is_eof() {
            reason = format!("not valid JSON: {reason}; each line must hold one whole JSON record");
        }
        Refusal::new((path != ".").then_some(path), reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_tlp_and_admiralty_codes_are_left_alone_and_others_rewritten() {
        let table: Markings = [("ДСП".to_owned(), Handling::AmberStrict)]
            .into_iter()
            .collect();
        let plain =
            br#"{"id":"a","handling":"TLP:GREEN","grading":"B2","summary":"\"handling\":\"x\""}"#;
        assert!(marked(plain, &table).is_none());
        assert!(marked(
            r#"{"id":"a","handling":"дсп"}"#.as_bytes(),
            &Markings::new()
        )
        .is_none());
        let out = marked(
            r#"{"id":"a","handling" : "дсп","grading":"X4"}"#.as_bytes(),
            &table,
        )
        .expect("rewritten")
        .expect("mapped");
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["handling"], "TLP:AMBER+STRICT");
        assert_eq!(v["marking"], "дсп");
        assert_eq!(v["grading_as_written"], "X4");
        let refused = marked(br#"{"id":"a","handling":"H9"}"#, &table).expect("looked at");
        assert_eq!(
            refused.expect_err("unknown").field.as_deref(),
            Some("handling")
        );
        let g = marked(br#"{"id":"a","grading":"4x4:A1"}"#, &Markings::new()).expect("grading");
        let v: serde_json::Value = serde_json::from_slice(&g.expect("ok")).expect("json");
        assert_eq!(v["grading_as_written"], "4x4:A1");
    }
}
