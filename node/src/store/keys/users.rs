//! Keys of the `users` column: the node's local accounts and the hashes
//! of their API tokens.

use super::tagged;

/// Prefix of the accounts.
pub(crate) const USERS: &[u8] = b"u";

/// An account, by name.
pub(crate) fn user(name: &str) -> Vec<u8> {
    tagged(b'u', &[name.as_bytes()])
}

/// An API token's owner, by the token's SHA-256.
pub(crate) fn token(hash: &[u8; 32]) -> Vec<u8> {
    tagged(b't', &[hash])
}
