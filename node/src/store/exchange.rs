//! The follow-up's column, typed: requests in and out, reports, marks
//! and tombstones, each a JSON value (or an envelope) under its key.
//!
//! In: values from [`crate::exchange`], written in its batches
//! ([`super::Batch::put_json`]). Out: the same values read back, a value
//! that no longer decodes reported as the store's corruption.

use super::keys::exchange as k;
use super::{Column, Error, Store};

/// Reads one JSON value; a damaged one is the store's corruption.
pub(crate) fn load<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &[u8],
) -> Result<Option<T>, Error> {
    match store.get(Column::Exchange, key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                column: Column::Exchange.name(),
                what: format!("a request does not decode: {e}"),
            }),
    }
}

/// Every JSON value under a prefix, in key order.
pub(crate) fn load_all<T: serde::de::DeserializeOwned>(
    store: &Store,
    prefix: &[u8],
) -> Result<Vec<T>, Error> {
    store.json_values(Column::Exchange, prefix)
}

/// The ids under a one-byte prefix of the exchange column.
pub(crate) fn ids_under(store: &Store, prefix: &[u8]) -> Result<Vec<[u8; 16]>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Exchange, prefix, |key, _| {
        if let Some(id) = k::id_of(key) {
            out.push(id);
        }
        true
    })?;
    Ok(out)
}
