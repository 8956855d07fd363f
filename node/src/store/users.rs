//! The `users` column, typed: the node's local accounts (a JSON value per
//! name) and, for each API token, the account it belongs to (keyed by
//! the token's SHA-256: the token itself is never stored).
//!
//! In: values from [`crate::users`] (generic here: the store does not know
//! the account type), written in the caller's [`Batch`]. Out: the same
//! values read back, one that no longer decodes reported as the store's
//! corruption.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::users as k;
use super::{Batch, Column, Error, Store};

/// The account named `name`.
pub(crate) fn get<T: DeserializeOwned>(store: &Store, name: &str) -> Result<Option<T>, Error> {
    store
        .get(Column::Users, &k::user(name))?
        .map(|v| {
            serde_json::from_slice(&v)
                .map_err(|e| Column::Users.corrupt(format!("account {name:?}: {e}")))
        })
        .transpose()
}

/// Every account, by name.
pub(crate) fn all<T: DeserializeOwned>(store: &Store) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut bad = None;
    store.scan_prefix(Column::Users, k::USERS, |key, v| {
        match serde_json::from_slice(v) {
            Ok(x) => out.push(x),
            Err(e) => {
                bad = Some(format!(
                    "account {:?}: {e}",
                    String::from_utf8_lossy(&key[1..])
                ));
                return false;
            }
        }
        true
    })?;
    match bad {
        Some(what) => Err(Column::Users.corrupt(what)),
        None => Ok(out),
    }
}

/// Whether the node has any account.
pub(crate) fn any(store: &Store) -> Result<bool, Error> {
    let mut found = false;
    store.scan_prefix(Column::Users, k::USERS, |_, _| {
        found = true;
        false
    })?;
    Ok(found)
}

/// Puts the account `name`.
pub(crate) fn put<T: Serialize>(batch: &mut Batch, name: &str, user: &T) -> Result<(), Error> {
    batch.put_json(Column::Users, k::user(name), user)
}

/// The account an API token with SHA-256 `hash` belongs to.
pub(crate) fn token_owner(store: &Store, hash: &[u8; 32]) -> Result<Option<String>, Error> {
    store
        .get(Column::Users, &k::token(hash))?
        .map(|v| {
            String::from_utf8(v).map_err(|_| Column::Users.corrupt("a token's owner is not UTF-8"))
        })
        .transpose()
}

/// Records that the token with SHA-256 `hash` belongs to `name`.
pub(crate) fn put_token(batch: &mut Batch, hash: &[u8; 32], name: &str) {
    batch.put(Column::Users, k::token(hash), name.as_bytes().to_vec());
}

/// Forgets the token with SHA-256 `hash`.
pub(crate) fn delete_token(batch: &mut Batch, hash: &[u8; 32]) {
    batch.delete(Column::Users, k::token(hash));
}
