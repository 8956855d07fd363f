//! The auditor's commands over the node's own store and over export files:
//! `audit verify`, `audit export`, `audit verify-file [--with]`, `audit
//! show`, `audit open-case`. Called by the CLI (`cli::audit`) on a stopped
//! node's store and by the daemon's API while it runs; their reports go
//! back to the auditor as text or JSON.
//!
//! - `chain`: checking the node's own log, checkpoints, cosignatures and
//!   inbox ([`verify_store`]);
//! - `export`: writing a signed export of the log ([`export_to`]);
//! - `file`: verifying export files, one alone or two peers' against each
//!   other ([`verify_file`]);
//! - `show`: entries and case openings for people ([`show()`],
//!   [`case_openings`]).

use ed25519_dalek::VerifyingKey;
use liaison_protocol::audit::Entry;
use liaison_protocol::envelope::Receipt;

mod chain;
mod export;
mod file;
mod show;

pub use chain::{verify_store, Checked};
pub use export::{export_to, ExportError, Exported};
pub use file::{verify_file, FileReport};
pub use show::{case_openings, page, show, CaseOpening, Cursor, Filter, Shown};

/// Checks the receipt a receipt entry holds: signed by the entry's peer,
/// for the envelope `sender` sent with the entry's id and hash. Used on
/// the node's own log ([`verify_store`]) and on export files
/// ([`verify_file`]).
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
