//! The selector index's rules and counters.
//!
//! Which selectors of a record get an entry in the `selectors` column
//! ([`is_indexed`]), the sorted form every stored selector list is kept in,
//! the difference between a record's old and new selectors (what
//! [`super::Records::put_batch`] and withdrawal add and remove), and the
//! counter deltas those changes make to the `meta` column, written in the
//! same batch so the counts read by [`super::Records::counts`] stay exact.

use liaison_protocol::{Selector, SelectorKind};

use super::keys::Meta;
use super::{Batch, Column, Error, Store};

/// Whether a selector gets an entry in the local index. `person_fuzzy` keys
/// (up to 24 a person, one per deleted symbol) are kept with the record for
/// matching with peers but not indexed locally: they would triple the
/// index's size and halve ingest speed, and a local look-up already
/// tolerates spelling variants through the phonetic key.
pub fn is_indexed(selector: &Selector) -> bool {
    selector.kind != SelectorKind::PersonFuzzy
}

/// Sorts and deduplicates selectors: every stored list is in this form, so
/// replacing a record is a merge of two sorted lists.
pub(super) fn canonical(mut selectors: Vec<Selector>) -> Vec<Selector> {
    if !selectors.is_sorted() {
        selectors.sort_unstable();
    }
    selectors.dedup();
    selectors
}

/// Calls `change(s, false)` for each indexed selector only in `old` and
/// `change(s, true)` for each only in `new`; both lists sorted and
/// deduplicated.
pub(super) fn diff<'s>(
    old: &'s [Selector],
    new: &'s [Selector],
    mut change: impl FnMut(&'s Selector, bool),
) {
    let mut old = old.iter().filter(|s| is_indexed(s)).peekable();
    let mut new = new.iter().filter(|s| is_indexed(s)).peekable();
    loop {
        match (old.peek(), new.peek()) {
            (Some(a), Some(b)) => match a.cmp(b) {
                std::cmp::Ordering::Less => change(old.next().expect("peeked"), false),
                std::cmp::Ordering::Greater => change(new.next().expect("peeked"), true),
                std::cmp::Ordering::Equal => {
                    old.next();
                    new.next();
                }
            },
            (Some(_), None) => change(old.next().expect("peeked"), false),
            (None, Some(_)) => change(new.next().expect("peeked"), true),
            (None, None) => return,
        }
    }
}

/// Counter deltas accumulated over one batch.
pub(super) struct Deltas {
    pub(super) records: i64,
    /// Indexed by [`SelectorKind::code`].
    selectors: [i64; 256],
}

impl Default for Deltas {
    fn default() -> Self {
        Deltas {
            records: 0,
            selectors: [0; 256],
        }
    }
}

impl Deltas {
    pub(super) fn add(&mut self, kind: SelectorKind, delta: i64) {
        self.selectors[kind.code() as usize] += delta;
    }

    pub(super) fn apply(self, store: &Store, batch: &mut Batch) -> Result<(), Error> {
        let mut put = |meta: Meta, delta: i64| -> Result<(), Error> {
            if delta == 0 {
                return Ok(());
            }
            let key = meta.key();
            let now = read_u64(store.get(Column::Meta, &key)?.as_deref());
            batch.put(
                Column::Meta,
                key,
                now.saturating_add_signed(delta).to_be_bytes().to_vec(),
            );
            Ok(())
        };
        put(Meta::RecordCount, self.records)?;
        for kind in SelectorKind::ALL {
            put(
                Meta::SelectorCount(kind),
                self.selectors[kind.code() as usize],
            )?;
        }
        Ok(())
    }
}

pub(super) fn read_u64(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}
