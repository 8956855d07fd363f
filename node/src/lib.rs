//! The Liaison node: an agency's own store of intelligence records, and
//! (in later parts) the daemon that matches them with trusted peers.
//!
//! - [`cli`]: the `liaison` command line; the only place that prints,
//!   uses `anyhow` and chooses exit codes.
//! - [`identity`]: the agency's key files.
//! - [`store`]: RocksDB, one column family per kind of data, behind a
//!   narrow API; [`store::records`] is the typed layer.
//! - [`ingest`]: NDJSON, CSV and call detail records into the store.
//! - [`find`]: local look-ups by any identifier in any written form.
//! - [`demo`]: the demo federation of `config/examples/`.
//! - [`synth`]: synthetic records in the region's spellings, shared by the
//!   tests and benchmarks.

pub mod cli;
pub mod demo;
pub mod find;
pub mod identity;
pub mod ingest;
pub mod store;
pub mod synth;
