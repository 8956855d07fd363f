//! The audit log's formats: entries, the Merkle tree over them,
//! checkpoints and cosignatures, case commitments, and the export an
//! auditor verifies without a node.
//!
//! The flow: the node appends an [`Entry`] for every exchange, in the same
//! RocksDB batch as the state change it records; the entries are the
//! leaves of an RFC 6962 tree ([`tree`]). At an interval the node signs a
//! [`note::Checkpoint`] (size and root); its peers check each new one
//! against the last they saw with a consistency proof and cosign it
//! ([`note::SignedCheckpoint::cosign`]), so a rewritten or forked log is
//! caught by the agencies it talks to. [`export`] writes and verifies the
//! auditor's file.

pub mod case;
pub mod entry;
pub mod export;
pub mod note;
pub mod tree;

pub use entry::{Entry, Kind, LOCAL_DENIED, LOCAL_DONE, LOCAL_FAILED, MAX_USER};

#[cfg(test)]
mod tests;
