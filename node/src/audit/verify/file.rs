//! `audit verify-file [--with]`: verifying export files.
//!
//! Reads one export file, as written by [`super::export_to`] on this node
//! or a peer's, and checks it whole; with a peer's export of the same
//! exchanges, checks message by message, in both directions, that the
//! two sides record the same sends, receipts and receptions. Needs no
//! store: the result, [`FileReport`], goes straight to the auditor.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use liaison_protocol::audit::export::{self, Header};
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::{MessageId, Receipt};
use serde::Serialize;

use super::receipt_ok;

/// One side's record of its exchanges, from an export.
#[derive(Debug, Default)]
struct Side {
    /// Set only if the whole file verified.
    header: Option<Header>,
    /// The signed tree size the file proves its entries against.
    size: u64,
    /// Entries that record an exchange, by index.
    exchanges: HashMap<u64, Entry>,
}

/// What verifying an export file (and a peer's) found.
#[derive(Debug, Default, Serialize)]
pub struct FileReport {
    /// Agency, name and federation the file claims, once verified.
    pub agency: Option<String>,
    /// The same for the peer's export (with `--with`).
    pub peer_agency: Option<String>,
    /// Entries `[first, end)` of a tree of `size`.
    pub range: Option<(u64, u64, u64)>,
    /// Witnesses whose cosignatures verified, with the size they saw.
    pub witnesses: Vec<(String, u64)>,
    /// Exchanges both sides record identically.
    pub matched: u64,
    /// Exchanges that could not be checked (the other side's record lies
    /// outside its export), with why.
    pub unchecked: Vec<String>,
    /// Everything that failed: non-empty means the files are not what
    /// they claim, or the two sides disagree.
    pub problems: Vec<String>,
}

fn read_side(
    path: &Path,
    expect: Option<&VerifyingKey>,
    report: &mut FileReport,
    label: &str,
) -> Side {
    let mut side = Side::default();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(format!("{}: {e}", path.display()));
            return side;
        }
    };
    let mut exchanges = HashMap::new();
    let r = export::verify(BufReader::new(file), expect, |i, e| {
        if matches!(
            e.kind,
            Kind::Sent | Kind::Receipted | Kind::Received | Kind::Refused
        ) {
            exchanges.insert(i, e.clone());
        }
    });
    let mut receipts_bad = Vec::new();
    if let Some(v) = &r.verified {
        let sender = v.header.agency.verifying_key();
        for (i, e) in &exchanges {
            if e.kind == Kind::Receipted {
                if let Err(p) = receipt_ok(e, sender) {
                    receipts_bad.push(format!(
                        "{label} {}: entry {i}, field `receipt`: {p}",
                        path.display()
                    ));
                }
            }
        }
        let who = format!(
            "{} ({}), federation {}",
            v.header.name,
            v.header.agency.fingerprint(),
            v.header.federation
        );
        if label != "export" {
            report.peer_agency = Some(who);
        } else {
            report.agency = Some(who);
            report.range = Some((v.header.first, v.header.end, v.checkpoint.checkpoint.size));
            report.witnesses = v
                .witnesses
                .iter()
                .map(|(k, s)| (k.fingerprint(), *s))
                .collect();
        }
        side.header = Some(v.header.clone());
        side.size = v.checkpoint.checkpoint.size;
    }
    report.problems.extend(
        r.problems
            .iter()
            .map(|p| format!("{label} {}: {p}", path.display())),
    );
    let clean = r.problems.is_empty() && receipts_bad.is_empty();
    report.problems.extend(receipts_bad);
    if clean {
        side.exchanges = exchanges;
    } else {
        // Nothing from a file that did not verify is compared.
        side.header = None;
    }
    side
}

/// Checks that `b` records what `a` says it sent to `b` and got receipts
/// for, and that `a` sent what `b` says it received from `a`.
fn cross(a: &Side, b: &Side, report: &mut FileReport) {
    let (Some(ha), Some(hb)) = (&a.header, &b.header) else {
        return;
    };
    let (ka, kb) = (
        ha.agency.verifying_key().to_bytes(),
        hb.agency.verifying_key().to_bytes(),
    );
    let b_by_id: HashMap<MessageId, (u64, &Entry)> = b
        .exchanges
        .iter()
        .filter(|(_, e)| matches!(e.kind, Kind::Received | Kind::Refused) && e.peer == Some(ka))
        .filter_map(|(i, e)| e.message_id.map(|m| (m, (*i, e))))
        .collect();
    let a_sent: HashMap<MessageId, &Entry> = a
        .exchanges
        .values()
        .filter(|e| e.kind == Kind::Sent && e.peer == Some(kb))
        .filter_map(|e| e.message_id.map(|m| (m, e)))
        .collect();
    let mut receipted = std::collections::HashSet::new();
    for (i, e) in &a.exchanges {
        if e.kind != Kind::Receipted || e.peer != Some(kb) {
            continue;
        }
        let (Some(id), Some(hash)) = (e.message_id, e.hash) else {
            continue;
        };
        receipted.insert(id);
        let Some(r) = e.receipt.as_ref().and_then(|r| Receipt::decode(r).ok()) else {
            continue;
        };
        let at = r.log_index;
        if !(hb.first..hb.end).contains(&at) {
            report.unchecked.push(format!(
                "{}'s receipt for message {id} (their entry {i}) names {}'s entry {at}, outside {}'s export",
                ha.name, hb.name, hb.name
            ));
            continue;
        }
        let same_outcome = |be: &Entry| match r.outcome {
            liaison_protocol::envelope::Outcome::Refused(reason) => {
                be.kind == Kind::Refused && be.code == reason as u16
            }
            _ => be.kind == Kind::Received,
        };
        match b.exchanges.get(&at) {
            Some(be)
                if be.peer == Some(ka)
                    && be.message_id == Some(id)
                    && be.hash == Some(hash)
                    && same_outcome(be) =>
            {
                report.matched += 1
            }
            _ => report.problems.push(format!(
                "message {id}: {}'s entry {i} holds {}'s signed receipt naming {}'s entry {at}, but that entry does not record it",
                ha.name, hb.name, hb.name
            )),
        }
    }
    for (id, e) in &a_sent {
        if receipted.contains(id) {
            continue;
        }
        match b_by_id.get(id) {
            Some((_, be)) if be.hash == e.hash => report.matched += 1,
            Some((at, _)) => report.problems.push(format!(
                "message {id}: {} sent other bytes than {} records receiving (their entry {at})",
                ha.name, hb.name
            )),
            None => report.unchecked.push(format!(
                "message {id} sent by {}: no receipt in its export and not in {}'s",
                ha.name, hb.name
            )),
        }
    }
    for (id, (at, be)) in &b_by_id {
        match a_sent.get(id) {
            Some(e) if e.hash == be.hash => {}
            Some(_) => {} // reported above
            // Only an export of A's whole log, made after B received the
            // message, must hold its sending.
            None if ha.first == 0
                && ha.end == a.size
                && ha.exported_at_ms >= be.time_ms
                && be.kind == Kind::Received =>
            {
                report.problems.push(format!(
                "message {id}: {} records receiving it from {} (entry {at}), but {}'s log has no such send",
                    hb.name, ha.name, ha.name
                ))
            }
            None => report.unchecked.push(format!(
                "message {id} received by {} (entry {at}): {}'s export does not cover its sending",
                hb.name, ha.name
            )),
        }
    }
}

/// Verifies an export file, and with `with`, the peer's export of the same
/// exchanges against it, message by message, in both directions.
pub fn verify_file(
    path: &Path,
    expect: Option<&VerifyingKey>,
    with: Option<&Path>,
    with_key: Option<&VerifyingKey>,
) -> FileReport {
    let mut report = FileReport::default();
    let a = read_side(path, expect, &mut report, "export");
    if let Some(with) = with {
        let b = read_side(with, with_key, &mut report, "peer export");
        if let (Some(ha), Some(hb)) = (&a.header, &b.header) {
            if ha.federation != hb.federation {
                report.problems.push(format!(
                    "the exports are of different federations ({} and {})",
                    ha.federation, hb.federation
                ));
            }
        }
        cross(&a, &b, &mut report);
        cross(&b, &a, &mut report);
        if a.header.is_some()
            && b.header.is_some()
            && report.matched == 0
            && report.unchecked.is_empty()
        {
            report.problems.push(
                "the two exports record no exchange with each other: is --with the right agency's export?"
                    .into(),
            );
        }
    }
    report
}
