//! `audit export`: writing a signed export of the node's audit log.
//!
//! Reads entries and tree nodes from the [`Store`], signs a fresh
//! checkpoint with the node's identity, attaches the cosignatures trusted
//! peers made as witnesses, and writes the file an auditor (or a peer's
//! auditor, with `audit verify-file --with`) checks with
//! [`super::verify_file`].

use std::io::BufWriter;
use std::path::Path;

use liaison_config::Peer;
use liaison_protocol::audit::export::{self, Header, Witnessed};
use liaison_protocol::audit::note::{self, Checkpoint};
use liaison_protocol::audit::tree::{self, cover, Hash};
use liaison_protocol::audit::Entry;
use serde::Serialize;

use crate::identity::Identity;
use crate::store::{self, Store};

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
        other => store::Column::Audit.corrupt(other.to_string()),
    }
}

/// Why an export could not be written (nothing was left at its path).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A file could not be written.
    #[error("{doing} {}: {source}", path.display())]
    Io {
        /// What was being done.
        doing: &'static str,
        /// The file or folder.
        path: std::path::PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

fn io<'a>(doing: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        doing,
        path: path.to_owned(),
        source,
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
) -> Result<Exported, ExportError> {
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
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("creating a file in", dir))?;
    let writing = io("writing the export to", out);
    let mut w = export::Writer::begin(
        BufWriter::new(tmp.as_file()),
        &header,
        &signed,
        &witnesses,
        &hashes(cover(0, first))?,
    )
    .map_err(&writing)?;
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
        return Err(writing(e));
    }
    w.finish(&hashes(cover(end, size))?, &identity.signing)
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .map_err(&writing)?;
    tmp.persist(out).map_err(|e| writing(e.error))?;
    Ok(Exported {
        first,
        end,
        size,
        witnesses: witnesses.len(),
    })
}
