//! What two Liaison implementations must agree on, and nothing that does I/O.
//!
//! - [`record`]: the agency's intelligence records and their entities, as
//!   read from NDJSON or CSV and stored by the node.
//! - [`normalize`]: turns each entity into [`selector::Selector`]s, the
//!   canonical strings that matching works on, whatever script, spelling or
//!   format the agency wrote the identifier in.
//! - [`keys`]: the agency's signing and sealing keys and the public
//!   "agency key" that peers exchange.
//!
//! No tokio, libp2p or RocksDB may enter this crate's dependency tree.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod country;
pub mod date;
pub mod keys;
pub mod normalize;
pub mod record;
pub mod selector;

pub use country::{Country, UnknownCountry};
pub use selector::{Selector, SelectorKind};
