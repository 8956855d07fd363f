//! NDJSON input: one JSON record a line.
//!
//! Lines are read from the opened file by [`super::open`]'s iterator, on
//! ingest's reading thread, and handed on unparsed ([`super::Body::Json`]);
//! ingest's workers parse them with [`parse_json`], which names the field
//! a refused line got wrong.

use std::io::{self, BufRead};

use liaison_protocol::record::Record;

use super::{Body, Item, Refusal};

pub(super) struct Ndjson<R> {
    reader: R,
    line: u64,
    max_line: usize,
    buf: Vec<u8>,
    /// Set after a read error: nothing further can be read reliably.
    done: bool,
}

impl<R> Ndjson<R> {
    /// Reads NDJSON from `reader`, refusing lines over `max_line` bytes.
    pub(super) fn new(reader: R, max_line: usize) -> Ndjson<R> {
        Ndjson {
            reader,
            line: 0,
            max_line,
            buf: Vec::new(),
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
            return Some(Item {
                line: self.line,
                body: Body::Json(self.buf.clone()),
            });
        }
        None
    }
}

/// Parses one NDJSON line, naming the field that failed.
pub fn parse_json(line: &[u8]) -> Result<Record, Refusal> {
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
