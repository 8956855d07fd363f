//! The auditor's commands over the node's own store and over export files:
//! `audit verify`, `audit export`, `audit verify-file [--with]`, `audit
//! show`, `audit open-case`.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use liaison_config::Peer;
use liaison_protocol::audit::export::{self, Header, Witnessed};
use liaison_protocol::audit::note::{self, Checkpoint, SignedCheckpoint};
use liaison_protocol::audit::tree::{self, cover, Frontier, Hash};
use liaison_protocol::audit::{case, Entry, Kind};
use liaison_protocol::envelope::{MessageId, Receipt};
use serde::Serialize;

use crate::identity::Identity;
use crate::store::mailbox::Mailbox;
use crate::store::{self, Store};

/// What `audit verify` found.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct Checked {
    /// Entries read and hashed.
    pub entries: u64,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// Witness cosignatures checked.
    pub cosignatures: usize,
    /// Peers' receipts in the log checked.
    pub receipts: u64,
    /// Inbox entries matched to the log.
    pub inbox: u64,
    /// Fork evidence held against peers.
    pub forks: usize,
    /// Everything that did not check out. Empty means all is well.
    pub problems: Vec<String>,
}

fn receipt_ok(entry: &Entry, sender: &VerifyingKey) -> Result<(), String> {
    let (Some(peer), Some(id), Some(hash), Some(bytes)) = (
        entry.peer,
        entry.message_id,
        entry.hash,
        entry.receipt.as_ref(),
    ) else {
        return Err("a receipt entry lacks its peer, id, hash or receipt".into());
    };
    let receiver = VerifyingKey::from_bytes(&peer).map_err(|_| "peer is not a key".to_string())?;
    Receipt::decode(bytes)
        .map_err(|e| e.to_string())?
        .verify(&receiver, sender, &id, &hash)
        .map_err(|e| e.to_string())
}

/// Receipts checked per parallel step.
const RECEIPT_CHUNK: usize = 8192;

/// Checks the receipts in `entries` (signed by each entry's peer, for an
/// envelope `sender` sent), split across the machine's cores. Returns the
/// problems, in log order.
fn check_receipts(entries: &[(u64, Entry)], sender: &VerifyingKey) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(i, e)| {
                            receipt_ok(e, sender)
                                .err()
                                .map(|p| format!("entry {i}: receipt: {p}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec!["a receipt check panicked".into()])
            })
            .collect()
    })
}

/// Checks the node's whole log: every entry decodes and hashes into the
/// stored tree, every receipt in it verifies, every checkpoint is signed
/// by us and matches the tree at its size, each is consistent with the
/// one before, every cosignature verifies under a trusted peer's key, and
/// every inbox entry's receipt names a log entry that records it.
pub fn verify_store(
    store: &Store,
    identity: &Identity,
    federation: &str,
    peers: &[Peer],
) -> Result<Checked, store::Error> {
    let me = identity.signing.verifying_key();
    let origin = note::origin(federation, &me);
    let mut out = Checked::default();
    // A snapshot: the daemon may append while this runs, so everything is
    // checked as of this size, and later entries, checkpoints and inbox
    // entries are left for the next run. (The head only moves once an
    // append is written, so every entry below it is in the store.)
    let (size, root) = store.log_head();
    let checkpoints: Vec<SignedCheckpoint> = store
        .checkpoints()?
        .into_iter()
        .filter(|c| c.checkpoint.size <= size)
        .collect();
    let sizes: HashMap<u64, Hash> = checkpoints
        .iter()
        .map(|c| (c.checkpoint.size, c.checkpoint.root))
        .collect();
    let mut frontier = Frontier::default();
    let mut roots = HashMap::new();
    if sizes.contains_key(&0) {
        roots.insert(0, frontier.root());
    }
    let mut expected = 0;
    let mut received = HashMap::new();
    // Receipts are checked in chunks across every core: the signatures are
    // most of the work, and each stands alone.
    let mut pending: Vec<(u64, Entry)> = Vec::with_capacity(RECEIPT_CHUNK);
    let flush = |pending: &mut Vec<(u64, Entry)>, out: &mut Checked| {
        out.receipts += pending.len() as u64;
        out.problems.extend(check_receipts(pending, &me));
        pending.clear();
    };
    store.scan_log(0, |index, bytes| {
        if index >= size {
            return false;
        }
        if index != expected {
            out.problems
                .push(format!("entry {expected} is missing (next is {index})"));
        }
        expected = index + 1;
        out.entries += 1;
        match Entry::decode(bytes) {
            Ok(e) => {
                if matches!(e.kind, Kind::Received | Kind::Refused) {
                    received.insert(index, (e.peer, e.message_id, e.hash));
                }
                if e.kind == Kind::Receipted {
                    pending.push((index, e));
                    if pending.len() == RECEIPT_CHUNK {
                        flush(&mut pending, &mut out);
                    }
                }
            }
            Err(e) => out.problems.push(format!("entry {index}: {e}")),
        }
        frontier.push(tree::leaf_hash(bytes));
        if sizes.contains_key(&frontier.size()) {
            roots.insert(frontier.size(), frontier.root());
        }
        true
    })?;
    flush(&mut pending, &mut out);
    if frontier.size() != size || frontier.root() != root {
        out.problems.push(format!(
            "the entries hash to a tree of size {} that is not the stored tree (size {size})",
            frontier.size()
        ));
    }
    match tree::root(store, size) {
        Ok(r) if r == root => {}
        Ok(_) => out
            .problems
            .push("the stored tree nodes do not give the tree's root".into()),
        Err(e) => out.problems.push(format!("stored tree nodes: {e}")),
    }
    let names: HashMap<String, &Peer> = peers
        .iter()
        .map(|p| (note::origin(federation, p.key.verifying_key()), p))
        .collect();
    let mut previous: Option<&SignedCheckpoint> = None;
    for c in &checkpoints {
        out.checkpoints += 1;
        let cp = &c.checkpoint;
        if cp.origin != origin {
            out.problems.push(format!(
                "checkpoint {}: origin {} is not ours",
                cp.size, cp.origin
            ));
        }
        if let Err(e) = c.verify_log(&me) {
            out.problems.push(format!("checkpoint {}: {e}", cp.size));
        }
        if roots.get(&cp.size) != Some(&cp.root) {
            out.problems.push(format!(
                "checkpoint {}: its root is not the root of the log's first {} entries",
                cp.size, cp.size
            ));
        }
        if let Some(p) = previous {
            let proof = tree::consistency_proof(store, p.checkpoint.size, cp.size);
            let ok = proof.is_ok_and(|proof| {
                tree::verify_consistency(
                    p.checkpoint.size,
                    &p.checkpoint.root,
                    cp.size,
                    &cp.root,
                    &proof,
                )
                .is_ok()
            });
            if !ok {
                out.problems.push(format!(
                    "checkpoint {} is not consistent with checkpoint {}",
                    cp.size, p.checkpoint.size
                ));
            }
        }
        previous = Some(c);
        for s in c.signatures.iter().filter(|s| s.name != cp.origin) {
            out.cosignatures += 1;
            match names.get(&s.name) {
                None => out.problems.push(format!(
                    "checkpoint {}: cosigned by {}, which is not a trusted peer now",
                    cp.size, s.name
                )),
                Some(p) => {
                    if let Err(e) = c.verify_cosignature(&s.name, p.key.verifying_key()) {
                        out.problems
                            .push(format!("checkpoint {}: {}: {e}", cp.size, p.name));
                    }
                }
            }
        }
    }
    Mailbox::new(store).scan_inbox(|sender, id, seen| {
        out.inbox += 1;
        let Ok(seen) = seen else {
            out.problems
                .push(format!("inbox entry {id}: does not decode"));
            return;
        };
        let Ok(r) = Receipt::decode(&seen.receipt) else {
            out.problems
                .push(format!("inbox entry {id}: its receipt does not decode"));
            return;
        };
        if r.log_index >= size {
            out.inbox -= 1; // applied after the snapshot: next run
            return;
        }
        match received.get(&r.log_index) {
            Some((Some(p), Some(m), Some(h))) if *p == sender && *m == id && *h == seen.hash => {}
            _ => out.problems.push(format!(
                "inbox entry {id}: its receipt names log entry {}, which does not record it",
                r.log_index
            )),
        }
    })?;
    out.forks = store.forks()?.len();
    Ok(out)
}

/// What an export wrote.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Exported {
    /// First entry index written.
    pub first: u64,
    /// One past the last.
    pub end: u64,
    /// The signed tree size the export proves them against.
    pub size: u64,
    /// Witnesses whose cosignatures it carries.
    pub witnesses: usize,
}

fn proof_error(e: tree::ProofError<store::Error>) -> store::Error {
    match e {
        tree::ProofError::Source(e) => e,
        other => store::Error::Corrupt {
            column: "audit.v1",
            what: other.to_string(),
        },
    }
}

/// Writes a signed export of the entries made in `[from_ms, to_ms]` (all
/// when not given) to `out`, atomically (a temp file renamed).
#[allow(clippy::too_many_arguments)]
pub fn export_to(
    store: &Store,
    identity: &Identity,
    name: &str,
    federation: &str,
    peers: &[Peer],
    out: &Path,
    from_ms: Option<u64>,
    to_ms: Option<u64>,
) -> Result<Exported, anyhow::Error> {
    use anyhow::Context as _;
    let me = identity.signing.verifying_key();
    let origin = note::origin(federation, &me);
    // A fresh checkpoint of everything so far; the export proves its
    // entries against it.
    let signed = store.checkpoint(|size, root| {
        Checkpoint {
            origin: origin.clone(),
            size,
            root,
        }
        .sign(&identity.signing)
    })?;
    let size = signed.checkpoint.size;
    // The whole log needs no search; a time range is found by one scan
    // (entry times follow the log only roughly, so no binary search).
    let (first, end) = if from_ms.is_none() && to_ms.is_none() {
        (0, size)
    } else {
        let (mut first, mut end) = (None, 0);
        store.scan_log(0, |i, bytes| {
            if i >= size {
                return false;
            }
            let t = Entry::decode(bytes).map_or(0, |e| e.time_ms);
            let inside = from_ms.is_none_or(|f| t >= f) && to_ms.is_none_or(|x| t <= x);
            if inside {
                first.get_or_insert(i);
                end = i + 1;
            }
            true
        })?;
        (first.unwrap_or(end), end)
    };
    let mut witnesses = Vec::new();
    let checkpoints = store.checkpoints()?;
    for p in peers {
        let wname = note::origin(federation, p.key.verifying_key());
        if let Some(c) = checkpoints.iter().rev().find(|c| {
            c.checkpoint.size <= size && c.verify_cosignature(&wname, p.key.verifying_key()).is_ok()
        }) {
            let mut c = c.clone();
            c.signatures
                .retain(|s| s.name == c.checkpoint.origin || s.name == wname);
            let proof =
                tree::consistency_proof(store, c.checkpoint.size, size).map_err(proof_error)?;
            witnesses.push(Witnessed {
                witness: p.key.clone(),
                checkpoint: c,
                proof,
            });
        }
    }
    let hashes = |c: Vec<(u8, u64)>| -> Result<Vec<Hash>, store::Error> {
        c.into_iter()
            .map(|(l, i)| tree::Subtrees::subtree(store, l, i))
            .collect()
    };
    let header = Header {
        agency: identity.agency_key(),
        name: name.to_owned(),
        federation: federation.to_owned(),
        exported_at_ms: crate::clock::system_ms(),
        first,
        end,
    };
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let mut w = export::Writer::begin(
        BufWriter::new(tmp.as_file()),
        &header,
        &signed,
        &witnesses,
        &hashes(cover(0, first))?,
    )?;
    let mut failed = None;
    store.scan_log(first, |i, bytes| {
        if i >= end {
            return false;
        }
        if let Err(e) = w.entry(bytes) {
            failed = Some(e);
        }
        failed.is_none()
    })?;
    if let Some(e) = failed {
        return Err(e).context("writing the export");
    }
    w.finish(&hashes(cover(end, size))?, &identity.signing)?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    tmp.persist(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Exported {
        first,
        end,
        size,
        witnesses: witnesses.len(),
    })
}

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

/// One entry, for people.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Shown {
    /// Log index.
    pub index: u64,
    /// RFC 3339 time.
    pub time: String,
    /// What happened.
    pub kind: String,
    /// The peer's name (or key fingerprint if not trusted now).
    pub peer: Option<String>,
    /// The message type.
    pub context: String,
    /// Message id.
    pub message: Option<String>,
    /// Items counted.
    pub count: u64,
    /// A refusal or fork code.
    pub code: u16,
    /// The code in words, where it has a meaning beyond the kind (an
    /// evaluation's claimed purpose and outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether it was made under a case (commitment present).
    pub case: bool,
}

/// Entries for `audit show`: all, or those with `peer` and/or made under
/// case reference `case` (any legal basis). At most `limit`, newest last.
pub fn show(
    store: &Store,
    peers: &[Peer],
    peer: Option<&Peer>,
    case: Option<&str>,
    limit: usize,
) -> Result<Vec<Shown>, store::Error> {
    let cases = case
        .map(|r| case_openings(store, r))
        .transpose()?
        .map(|o| o.into_iter().map(|(_, _, c)| c).collect::<Vec<_>>());
    let names: HashMap<[u8; 32], &str> = peers
        .iter()
        .map(|p| (p.key.verifying_key().to_bytes(), p.name.as_str()))
        .collect();
    let mut out = std::collections::VecDeque::new();
    store.scan_log(0, |index, bytes| {
        let Ok(e) = Entry::decode(bytes) else {
            return true;
        };
        if peer.is_some_and(|p| e.peer != Some(p.key.verifying_key().to_bytes())) {
            return true;
        }
        if cases
            .as_ref()
            .is_some_and(|c| !e.case.is_some_and(|x| c.contains(&x)))
        {
            return true;
        }
        let time =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.time_ms) * 1_000_000)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
        let detail = (e.kind == Kind::Received && e.context.starts_with("liaison/match/evaluate/"))
            .then(|| liaison_protocol::matching::describe_evaluation_code(e.code));
        out.push_back(Shown {
            index,
            time,
            kind: e.kind.to_string(),
            peer: e.peer.map(|p| {
                names.get(&p).map_or_else(
                    || p[..8].iter().map(|b| format!("{b:02x}")).collect(),
                    |n| (*n).to_owned(),
                )
            }),
            context: e.context,
            message: e.message_id.map(|m| m.to_string()),
            count: e.count,
            code: e.code,
            detail,
            case: e.case.is_some(),
        });
        if out.len() > limit {
            out.pop_front();
        }
        true
    })?;
    Ok(out.into())
}

/// A case's legal basis, salt and commitment.
pub type CaseOpening = (String, [u8; 32], [u8; 32]);

/// The commitments stored for case `reference` (one per legal basis),
/// with their salts, for `audit open-case`.
pub fn case_openings(store: &Store, reference: &str) -> Result<Vec<CaseOpening>, store::Error> {
    Ok(store
        .case_salts(reference)?
        .into_iter()
        .map(|(basis, salt)| {
            let c = case::commitment(&salt, reference, &basis);
            (basis, salt, c)
        })
        .collect())
}
