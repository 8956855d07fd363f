//! The Liaison node: an agency's own store of intelligence records, the
//! daemon that matches them with trusted peers, and the command line.
//!
//! # The house, top floor down
//!
//! Each module imports only modules below it; nothing below imports
//! anything above it.
//!
//! - `main` and [`cli`]: the `liaison` command line, the only place that
//!   prints, uses `anyhow` and chooses exit codes; [`cli::demo`] runs the
//!   demo federation of `config/examples/`; [`cli::client`] is its side
//!   of the daemon's API and [`cli::peers`] edits the config's peers.
//! - [`daemon`]: `liaison run`: the network task, the couriers that empty
//!   each peer's outbox, the inbound workers, the schedules (matching,
//!   follow-up, checkpoints, housekeeping) and the local HTTP API
//!   ([`daemon::api`]). [`bundle`] carries the same envelopes on removable
//!   media; [`status`] reports.
//! - [`router`]: which domain applies which message. It owns the domains
//!   and is the envelope layer's [`post::Apply`].
//! - The domains: [`matching`] (hit/no-hit: the owner's filters, deltas
//!   and evaluations, the querier's queries, hits, watchlist and alerts),
//!   [`exchange`] (the follow-up: requests, release policy, reports,
//!   notices, retention; it follows up matching's hits) and
//!   [`audit::witness`] (checkpoints and cosignatures); [`audit::verify`]
//!   serves auditors.
//! - [`ingest`] and [`find`]: files into records, and local look-ups.
//! - [`post`]: the envelope layer: seal, outbox, receipts ([`post::outbox`]);
//!   open, check, replay, refuse, accept ([`post::inbox`]). It names no
//!   message type but its own ping.
//! - [`net`]: one task owns the libp2p Swarm; a handle talks to it.
//! - [`store`]: RocksDB, one column family per kind of data, one module
//!   for their keys (`store::keys`), a typed layer over it per domain
//!   ([`store::records`], [`store::mailbox`], [`store::matching`],
//!   [`store::exchange`], [`store::audit`]): the domains name no column
//!   and no key.
//! - At the bottom, importing nothing of the node: [`clock`] (the time,
//!   from the system or pinned by a test), [`hex`], [`files`] (file
//!   errors, folders only the service may read), [`identity`] (the key files), [`synth`] (synthetic records for tests and benchmarks), and
//!   the `liaison-protocol` and `liaison-config` crates.
//!
//! # A message's way through
//!
//! Out: an analyst's `liaison match` reaches [`daemon::api`], which calls
//! [`matching::querier`]; it blinds the selectors and hands the body to
//! [`post::Post::queue`], which seals it and commits it to the outbox
//! with its `sent` audit entry; the peer's courier sends it through
//! [`net`] and hands the signed receipt to [`post::Post::confirm`], which
//! takes it out of the outbox.
//!
//! In: [`net`] delivers the envelope bytes to the daemon's inbound
//! workers, which call [`router::Router::receive`]; the inbox
//! ([`post::Post::receive`]) decodes, opens and checks it (recipient,
//! sender, signature, time window, replay) and asks the router what it
//! does; the router decodes the body, takes the domain's lock and calls
//! the handler (here matching's owner evaluating blinded selectors), which returns its
//! effects and reply ([`post::Handled`]); the inbox commits them with the
//! inbox entry and the `received` audit entry in one atomic write, queues
//! the reply through the outbox, and returns the signed receipt that
//! [`net`] sends back.

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod audit;
pub mod bundle;
pub mod cli;
pub mod clock;
pub mod daemon;
pub mod exchange;
pub mod files;
pub mod find;
pub mod formats;
pub mod hex;
pub mod identity;
pub mod ingest;
#[cfg(test)]
mod layers;
pub mod matching;
pub mod net;
pub mod post;
pub mod router;
pub mod status;
pub mod store;
pub mod synth;
#[cfg(test)]
mod testkit;
pub mod users;
