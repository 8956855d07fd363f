//! The Liaison node: an agency's own store of intelligence records, and
//! (in later parts) the daemon that matches them with trusted peers.
//!
//! - [`cli`]: the `liaison` command line; the only place that prints,
//!   uses `anyhow` and chooses exit codes.
//! - [`clock`]: the time, from the system or pinned by a test.
//! - [`identity`]: the agency's key files.
//! - [`store`]: RocksDB, one column family per kind of data, behind a
//!   narrow API; [`store::records`] is the typed layer.
//! - [`ingest`]: NDJSON, CSV and call detail records into the store.
//! - [`find`]: local look-ups by any identifier in any written form.
//! - [`cli::demo`]: `liaison demo`, the demo federation of `config/examples/`.
//! - [`post`]: envelopes in and out over the store (outbox, inbox,
//!   receipts), whatever carries them.
//! - [`net`]: one task owns the libp2p Swarm; a handle talks to it.
//! - [`daemon`]: `liaison run`: the network, couriers, inbound envelopes
//!   and the local HTTP API ([`daemon::api`]); [`client`] is the CLI's
//!   side of that API.
//! - [`bundle`]: the same envelopes and receipts on removable media.
//! - [`peers`]: `liaison peer add|remove` edit the config file.
//! - [`status`]: `liaison status`, from the daemon or the store.
//! - [`synth`]: synthetic records in the region's spellings, shared by the
//!   tests and benchmarks.

pub mod audit;
pub mod bundle;
pub mod cli;
pub mod client;
pub mod clock;
pub mod daemon;
pub mod exchange;
pub mod find;
pub mod hex;
pub mod identity;
pub mod ingest;
pub mod matching;
pub mod net;
pub mod peers;
pub mod post;
pub mod router;
pub mod status;
pub mod store;
pub mod synth;
#[cfg(test)]
mod testkit;
