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
//! - [`envelope`]: every message between nodes, sealed to its recipient
//!   (HPKE) and signed by its sender (ed25519), and the signed receipts
//!   that answer them.
//!
//! - [`filter`]: the binary fuse tag filters an owner serves a peer.
//! - [`oprf`]: the verifiable OPRF (RFC 9497) that hit/no-hit matching
//!   is built on.
//! - [`audit`]: the tamper-evident log of every exchange: entries, the
//!   Merkle tree, signed checkpoints, witness cosignatures and the export
//!   an auditor verifies.
//!
//! No tokio, libp2p or RocksDB may enter this crate's dependency tree.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

/// Serialises a type as its `Display` string and deserialises it with its
/// `FromStr`, so a value's text form is the same in JSON, TOML and the CLI.
#[macro_export]
#[doc(hidden)]
macro_rules! serde_as_str {
    ($t:ty) => {
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub mod audit;
mod country;
pub mod date;
pub mod envelope;
pub mod exchange;
pub mod filter;
pub mod keys;
pub mod matching;
pub mod normalize;
pub mod oprf;
pub mod record;
pub mod selector;
pub mod wire;

pub use country::{Country, UnknownCountry};
pub use selector::{Selector, SelectorKind};
