//! The follow-up messages after a hit (DESIGN.md, "Matching", step 5):
//! the querier's request naming the hit's tags, the owner's status answer,
//! the released report, and the owner's notice that a released record was
//! withdrawn, corrected or expired.
//!
//! Each travels as the body of a signed, sealed envelope. The report is
//! bound to its recipient twice: by the envelope (sealed to it, its key in
//! the signed header) and by its own body, which names owner and recipient,
//! so a report passed on, re-sealed or re-addressed, names the wrong
//! parties and is refused.
//!
//! Layouts are big-endian with a version byte first; every decoder checks
//! lengths against the caps below before taking bytes, refuses trailing
//! bytes, and re-encodes to the same bytes.

use serde_json::Value;

use crate::record::{Grading, Handling};
use crate::selector::SelectorKind;
use crate::wire::{self, Reader};

/// Version byte of every layout here.
pub const VERSION: u8 = 1;
/// Tags one request may name (a person hit has up to four keys, plus the
/// phones and documents of the same entity).
pub const MAX_TAGS: usize = 32;
/// Longest case reference.
pub const MAX_REFERENCE: usize = 256;
/// Longest legal basis, note or refusal reason.
pub const MAX_TEXT: usize = 4096;
/// Records one report may carry.
pub const MAX_RECORDS: usize = 16;
/// Longest record id.
pub const MAX_ID: usize = 256;
/// Longest released record (JSON).
pub const MAX_RECORD_JSON: usize = 256 * 1024;
/// Longest name of a redacted field.
pub const MAX_FIELD: usize = 256;
/// Fields redacted from one record.
pub const MAX_REDACTED: usize = 256;
/// Longest agency name.
const MAX_NAME: usize = 64;

/// One tag of a hit, as the querier saw it in the owner's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The selector kind it was evaluated under.
    pub kind: SelectorKind,
    /// The epoch of the filter it matched.
    pub epoch: u64,
    /// The tag.
    pub tag: [u8; 32],
}

/// A querier's follow-up request for the record behind a hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Random id, chosen by the querier; every answer names it.
    pub id: [u8; 16],
    /// The hit's tags (1 to [`MAX_TAGS`]).
    pub tags: Vec<Tag>,
    /// The querier's case reference.
    pub reference: String,
    /// The legal basis of the request.
    pub basis: String,
    /// Free text for the owner's analyst.
    pub note: String,
}

/// The owner's answer to a request, short of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Filed for an analyst's decision; answered by this time at the
    /// latest, by the owner's own deadline (Unix ms).
    Filed {
        /// The owner's deadline.
        deadline_ms: u64,
    },
    /// Refused, with the owner's reason.
    Refused {
        /// Why.
        reason: String,
    },
    /// The tags name nothing the owner holds for the querier: a filter
    /// false positive, a retired epoch, a forged tag, or a record already
    /// gone. Says nothing more.
    NoSuchRecord,
    /// The record was withdrawn while the request waited.
    Withdrawn,
}

/// A [`Status`] for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The request it answers.
    pub request: [u8; 16],
    /// The answer.
    pub status: Status,
}

/// One record as released: the owner's JSON, less what was redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The owner's record id.
    pub id: String,
    /// Its handling code (also in the JSON, and checked to agree).
    pub handling: Handling,
    /// Its grading, if it has one (also in the JSON, checked to agree).
    pub grading: Option<Grading>,
    /// Fields the owner's analyst redacted.
    pub redacted: Vec<String>,
    /// The record: a JSON object.
    pub json: String,
}

/// What the owner released for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The request it answers.
    pub request: [u8; 16],
    /// The originating agency's ed25519 key.
    pub owner: [u8; 32],
    /// Its name as the owner calls itself.
    pub owner_name: String,
    /// The one agency it is released to.
    pub recipient: [u8; 32],
    /// When it was released, Unix ms.
    pub released_ms: u64,
    /// The records (1 to [`MAX_RECORDS`]).
    pub records: Vec<Released>,
}

/// Why a released record's copies are no longer current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The owner withdrew it: copies are to be marked or deleted.
    Withdrawn = 1,
    /// The owner changed it: copies are stale; ask again.
    Corrected = 2,
    /// It passed its retention period at the owner.
    Expired = 3,
}

impl Change {
    /// The change with this code.
    pub fn from_u8(code: u8) -> Option<Change> {
        match code {
            1 => Some(Change::Withdrawn),
            2 => Some(Change::Corrected),
            3 => Some(Change::Expired),
            _ => None,
        }
    }

    /// The word `reports` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Withdrawn => "withdrawn",
            Change::Corrected => "corrected",
            Change::Expired => "expired",
        }
    }
}

/// The owner's notice that a record it released has changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The request the record was released for.
    pub request: [u8; 16],
    /// The owner's record id.
    pub record: String,
    /// What happened.
    pub change: Change,
    /// When, Unix ms.
    pub time_ms: u64,
}

fn malformed(field: &'static str, problem: &'static str) -> wire::Error {
    wire::Error::Malformed { field, problem }
}

fn version(r: &mut Reader<'_>) -> Result<(), wire::Error> {
    if r.u8("version")? != VERSION {
        return Err(malformed("version", "unsupported exchange message version"));
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn str<'a>(r: &mut Reader<'a>, max: usize, field: &'static str) -> Result<&'a str, wire::Error> {
    std::str::from_utf8(r.bytes32(max, field)?).map_err(|_| malformed(field, "not UTF-8"))
}

fn count(
    r: &mut Reader<'_>,
    min: usize,
    max: usize,
    field: &'static str,
) -> Result<usize, wire::Error> {
    let n = r.u32(field)? as usize;
    if n > max {
        return Err(wire::Error::TooLarge {
            field,
            len: n as u64,
            max: max as u64,
        });
    }
    if n < min {
        return Err(malformed(field, "too few items"));
    }
    Ok(n)
}

impl Request {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 41 * self.tags.len() + self.note.len());
        out.push(VERSION);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&(self.tags.len() as u32).to_be_bytes());
        for t in &self.tags {
            out.push(t.kind.code());
            out.extend_from_slice(&t.epoch.to_be_bytes());
            out.extend_from_slice(&t.tag);
        }
        put_str(&mut out, &self.reference);
        put_str(&mut out, &self.basis);
        put_str(&mut out, &self.note);
        out
    }

    /// Reads one: 1 to [`MAX_TAGS`] tags of known kinds, a non-empty
    /// case reference and basis.
    pub fn decode(bytes: &[u8]) -> Result<Request, wire::Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let id = r.array("id")?;
        let n = count(&mut r, 1, MAX_TAGS, "tags")?;
        let mut tags = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = SelectorKind::from_code(r.u8("kind")?)
                .ok_or(malformed("kind", "unknown selector kind"))?;
            tags.push(Tag {
                kind,
                epoch: r.u64("epoch")?,
                tag: r.array("tag")?,
            });
        }
        let reference = str(&mut r, MAX_REFERENCE, "reference")?.to_owned();
        let basis = str(&mut r, MAX_TEXT, "basis")?.to_owned();
        let note = str(&mut r, MAX_TEXT, "note")?.to_owned();
        if reference.trim().is_empty() || basis.trim().is_empty() {
            return Err(malformed(
                "reference",
                "a request names its case and legal basis",
            ));
        }
        r.finish()?;
        Ok(Request {
            id,
            tags,
            reference,
            basis,
            note,
        })
    }
}

impl Reply {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.push(VERSION);
        out.extend_from_slice(&self.request);
        match &self.status {
            Status::Filed { deadline_ms } => {
                out.push(1);
                out.extend_from_slice(&deadline_ms.to_be_bytes());
            }
            Status::Refused { reason } => {
                out.push(2);
                put_str(&mut out, reason);
            }
            Status::NoSuchRecord => out.push(3),
            Status::Withdrawn => out.push(4),
        }
        out
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<Reply, wire::Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let request = r.array("request")?;
        let status = match r.u8("status")? {
            1 => Status::Filed {
                deadline_ms: r.u64("deadline")?,
            },
            2 => Status::Refused {
                reason: str(&mut r, MAX_TEXT, "reason")?.to_owned(),
            },
            3 => Status::NoSuchRecord,
            4 => Status::Withdrawn,
            _ => return Err(malformed("status", "unknown status")),
        };
        r.finish()?;
        Ok(Reply { request, status })
    }
}

impl Released {
    fn encode_into(&self, out: &mut Vec<u8>) {
        put_str(out, &self.id);
        put_str(out, self.handling.as_str());
        put_str(
            out,
            &self.grading.map(|g| g.to_string()).unwrap_or_default(),
        );
        out.extend_from_slice(&(self.redacted.len() as u32).to_be_bytes());
        for f in &self.redacted {
            put_str(out, f);
        }
        put_str(out, &self.json);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Released, wire::Error> {
        let id = str(r, MAX_ID, "record id")?.to_owned();
        let handling = str(r, 32, "handling")?;
        // Canonical spelling only, so the bytes re-encode the same.
        let handling = Handling::ALL
            .into_iter()
            .find(|h| h.as_str() == handling)
            .ok_or(malformed("handling", "not a TLP 2.0 code"))?;
        let grading = match str(r, 2, "grading")? {
            "" => None,
            g => Some(
                g.parse::<Grading>()
                    .ok()
                    .filter(|p| p.to_string() == g)
                    .ok_or(malformed("grading", "not an Admiralty code"))?,
            ),
        };
        let n = count(r, 0, MAX_REDACTED, "redacted")?;
        let mut redacted = Vec::with_capacity(n);
        for _ in 0..n {
            redacted.push(str(r, MAX_FIELD, "redacted")?.to_owned());
        }
        let json = str(r, MAX_RECORD_JSON, "record")?.to_owned();
        let value: Value =
            serde_json::from_str(&json).map_err(|_| malformed("record", "not JSON"))?;
        let obj = value
            .as_object()
            .ok_or(malformed("record", "not a JSON object"))?;
        if obj.get("id").and_then(Value::as_str) != Some(id.as_str()) {
            return Err(malformed("record", "its id differs from the report's"));
        }
        let said = obj.get("handling").and_then(Value::as_str);
        if said.and_then(|h| h.parse::<Handling>().ok()) != Some(handling) {
            return Err(malformed(
                "record",
                "its handling differs from the report's",
            ));
        }
        let said = obj.get("grading").and_then(Value::as_str);
        if said.and_then(|g| g.parse::<Grading>().ok()) != grading {
            return Err(malformed("record", "its grading differs from the report's"));
        }
        Ok(Released {
            id,
            handling,
            grading,
            redacted,
            json,
        })
    }

    /// The record as a JSON value (checked at decode to be an object).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }
}

impl Report {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            128 + self
                .records
                .iter()
                .map(|r| r.json.len() + 64)
                .sum::<usize>(),
        );
        out.push(VERSION);
        out.extend_from_slice(&self.request);
        out.extend_from_slice(&self.owner);
        put_str(&mut out, &self.owner_name);
        out.extend_from_slice(&self.recipient);
        out.extend_from_slice(&self.released_ms.to_be_bytes());
        out.extend_from_slice(&(self.records.len() as u32).to_be_bytes());
        for r in &self.records {
            r.encode_into(&mut out);
        }
        out
    }

    /// Reads one: 1 to [`MAX_RECORDS`] records, each a JSON object whose
    /// id, handling and grading agree with the report's.
    pub fn decode(bytes: &[u8]) -> Result<Report, wire::Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let request = r.array("request")?;
        let owner = r.array("owner")?;
        let owner_name = str(&mut r, MAX_NAME, "owner name")?.to_owned();
        let recipient = r.array("recipient")?;
        let released_ms = r.u64("released")?;
        let n = count(&mut r, 1, MAX_RECORDS, "records")?;
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            records.push(Released::decode(&mut r)?);
        }
        r.finish()?;
        Ok(Report {
            request,
            owner,
            owner_name,
            recipient,
            released_ms,
            records,
        })
    }
}

impl Notice {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.record.len());
        out.push(VERSION);
        out.extend_from_slice(&self.request);
        put_str(&mut out, &self.record);
        out.push(self.change as u8);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<Notice, wire::Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let request = r.array("request")?;
        let record = str(&mut r, MAX_ID, "record id")?.to_owned();
        let change =
            Change::from_u8(r.u8("change")?).ok_or(malformed("change", "unknown change"))?;
        let time_ms = r.u64("time")?;
        r.finish()?;
        Ok(Notice {
            request,
            record,
            change,
            time_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn report() -> Report {
        Report {
            request: [7; 16],
            owner: [1; 32],
            owner_name: "kg-border".into(),
            recipient: [2; 32],
            released_ms: 1_790_000_000_000,
            records: vec![Released {
                id: "KG-2017-0042".into(),
                handling: Handling::Amber,
                grading: Some("B2".parse().unwrap()),
                redacted: vec!["summary".into()],
                json:
                    r#"{"id":"KG-2017-0042","handling":"TLP:AMBER","grading":"B2","entities":[]}"#
                        .into(),
            }],
        }
    }

    fn request() -> Request {
        Request {
            id: [9; 16],
            tags: vec![Tag {
                kind: SelectorKind::Phone,
                epoch: 20_000,
                tag: [3; 32],
            }],
            reference: "KZ-2026-118".into(),
            basis: "Art. 12 bilateral agreement".into(),
            note: "urgent: courier in transit".into(),
        }
    }

    #[test]
    fn every_message_round_trips() {
        let r = request();
        assert_eq!(Request::decode(&r.to_bytes()).unwrap(), r);
        let rep = report();
        assert_eq!(Report::decode(&rep.to_bytes()).unwrap(), rep);
        for status in [
            Status::Filed { deadline_ms: 5 },
            Status::Refused {
                reason: "not within the agreement".into(),
            },
            Status::NoSuchRecord,
            Status::Withdrawn,
        ] {
            let reply = Reply {
                request: [4; 16],
                status,
            };
            assert_eq!(Reply::decode(&reply.to_bytes()).unwrap(), reply);
        }
        for change in [Change::Withdrawn, Change::Corrected, Change::Expired] {
            let n = Notice {
                request: [4; 16],
                record: "KG-1".into(),
                change,
                time_ms: 9,
            };
            assert_eq!(Notice::decode(&n.to_bytes()).unwrap(), n);
        }
    }

    #[test]
    fn a_record_that_disagrees_with_its_report_is_refused() {
        for (json, field) in [
            (
                r#"{"id":"OTHER","handling":"TLP:AMBER","grading":"B2"}"#,
                "id",
            ),
            (
                r#"{"id":"KG-2017-0042","handling":"TLP:GREEN","grading":"B2"}"#,
                "handling",
            ),
            (r#"{"id":"KG-2017-0042","handling":"TLP:AMBER"}"#, "grading"),
            (r#"["KG-2017-0042"]"#, "object"),
        ] {
            let mut rep = report();
            rep.records[0].json = json.into();
            let e = Report::decode(&rep.to_bytes()).unwrap_err();
            assert!(
                e.to_string().contains(field) || e.to_string().contains("record"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_request_without_case_or_tags_is_refused() {
        let mut r = request();
        r.reference = " ".into();
        assert!(Request::decode(&r.to_bytes()).is_err());
        let mut r = request();
        r.tags.clear();
        assert!(Request::decode(&r.to_bytes()).is_err());
        let mut r = request();
        r.tags = vec![r.tags[0]; MAX_TAGS + 1];
        assert!(matches!(
            Request::decode(&r.to_bytes()),
            Err(wire::Error::TooLarge { field: "tags", .. })
        ));
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..600), which in 0u8..4) {
            match which {
                0 => if let Ok(m) = Request::decode(&bytes) { prop_assert_eq!(m.to_bytes(), bytes) },
                1 => if let Ok(m) = Reply::decode(&bytes) { prop_assert_eq!(m.to_bytes(), bytes) },
                2 => if let Ok(m) = Report::decode(&bytes) { prop_assert_eq!(m.to_bytes(), bytes) },
                _ => if let Ok(m) = Notice::decode(&bytes) { prop_assert_eq!(m.to_bytes(), bytes) },
            }
        }

        #[test]
        fn every_truncation_of_a_report_is_refused(cut in 0usize..200) {
            let bytes = report().to_bytes();
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(Report::decode(&bytes[..cut]).is_err());
        }
    }
}
