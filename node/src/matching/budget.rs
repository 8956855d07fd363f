//! Evaluation budgets: how many selectors of one kind a peer may have
//! evaluated in any window (`[matching] budget_window`, 24 h by default).
//!
//! Queries and watchlist renewals count against the same budget, per
//! peer and kind, whatever manifest (epoch) a batch names: two live
//! epochs during an overlap share it, and so do fixed windows' edges,
//! because the window slides. It is kept in [`BUCKETS`] buckets per
//! window, and a check sums every bucket that overlaps the last window,
//! so the total over any window-long span never exceeds the budget.
//! Renewals may in addition take at most `[matching] renewal_budget` of
//! it (a share, never an allowance beside it).
//!
//! The owner reserves a batch's count before evaluating it (an
//! evaluation is thousands of scalar multiplications: a peer whose
//! budget is spent must not be able to keep the cores busy) and turns the
//! reservation into a charge that commits with the envelope's receipt.

use std::collections::HashMap;

use liaison_protocol::SelectorKind;

use super::lock;
use crate::store::matching as stored;
use crate::store::{Batch, Error, Store};

/// Buckets per window.
pub(crate) const BUCKETS: u64 = 24;

/// Budget key purposes: every evaluation, and renewals alone.
const ALL: u8 = 0;
const RENEWALS: u8 = 1;

/// A request for `n` evaluations of `kind` by `peer`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    pub(crate) peer: [u8; 32],
    pub(crate) kind: SelectorKind,
    pub(crate) n: u64,
    pub(crate) renewal: bool,
}

/// The limits that apply to one ask.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The peer's budget for the kind per window.
    pub(crate) budget: u64,
    /// How much of it renewals may take.
    pub(crate) renewals: u64,
    /// The window, ms.
    pub(crate) window_ms: u64,
}

impl Limits {
    fn bucket_ms(&self) -> u64 {
        (self.window_ms / BUCKETS).max(1)
    }

    /// The buckets that overlap the window ending at `now`, oldest first.
    fn buckets(&self, now: u64) -> std::ops::RangeInclusive<u64> {
        let b = self.bucket_ms();
        now.saturating_sub(self.window_ms) / b..=now / b
    }

    /// When a charge in bucket `i` stops counting.
    fn expires(&self, i: u64) -> u64 {
        (i + 1)
            .saturating_mul(self.bucket_ms())
            .saturating_add(self.window_ms)
    }
}

/// Reservations not yet charged, per (peer, kind): all, renewals.
#[derive(Debug, Default)]
pub(crate) struct Reserved(HashMap<([u8; 32], u8), (u64, u64)>);

/// What one purpose has used over the window: per bucket, oldest first.
fn used(
    store: &Store,
    ask: &Ask,
    purpose: u8,
    limits: &Limits,
    now: u64,
) -> Result<Vec<(u64, u64)>, Error> {
    let range = limits.buckets(now);
    let counts = stored::budget_counts(store, &ask.peer, purpose, ask.kind, range.clone())?;
    Ok(range.zip(counts).collect())
}

/// When enough of `used` (plus `reserved`) has expired for `n` more to
/// fit under `limit`; if `n` alone is over it, when all of it has.
fn renews(used: &[(u64, u64)], reserved: u64, n: u64, limit: u64, limits: &Limits) -> u64 {
    let mut total: u64 = used.iter().map(|(_, c)| c).sum::<u64>() + reserved;
    let mut at = used.last().map_or(0, |(i, _)| limits.expires(*i));
    for (i, c) in used {
        if total + n <= limit {
            break;
        }
        total -= c;
        at = limits.expires(*i);
    }
    at
}

/// Checks `ask` against the stored charges and the reservations, and
/// reserves it. `Err(renews_ms)` if it does not fit: when it will (or,
/// for a batch larger than the budget, when the window is empty). Hold
/// the budgets lock around this.
pub(crate) fn reserve(
    store: &Store,
    reserved: &std::sync::Mutex<Reserved>,
    ask: Ask,
    limits: Limits,
    now: u64,
) -> Result<Result<(), u64>, Error> {
    let mut map = lock(reserved);
    let held = map
        .0
        .get(&(ask.peer, ask.kind.code()))
        .copied()
        .unwrap_or_default();
    let all = used(store, &ask, ALL, &limits, now)?;
    let total: u64 = all.iter().map(|(_, c)| c).sum::<u64>() + held.0;
    if total + ask.n > limits.budget {
        return Ok(Err(renews(&all, held.0, ask.n, limits.budget, &limits)));
    }
    if ask.renewal {
        let ren = used(store, &ask, RENEWALS, &limits, now)?;
        let total: u64 = ren.iter().map(|(_, c)| c).sum::<u64>() + held.1;
        let cap = limits.renewals.min(limits.budget);
        if total + ask.n > cap {
            return Ok(Err(renews(&ren, held.1, ask.n, cap, &limits)));
        }
    }
    let entry = map.0.entry((ask.peer, ask.kind.code())).or_default();
    entry.0 += ask.n;
    if ask.renewal {
        entry.1 += ask.n;
    }
    Ok(Ok(()))
}

/// Gives a reservation back: the batch was not evaluated, or its charge
/// is about to be written by [`charge`].
pub(crate) fn release(reserved: &std::sync::Mutex<Reserved>, ask: Ask) {
    let mut map = lock(reserved);
    if let Some(e) = map.0.get_mut(&(ask.peer, ask.kind.code())) {
        e.0 = e.0.saturating_sub(ask.n);
        if ask.renewal {
            e.1 = e.1.saturating_sub(ask.n);
        }
        if *e == (0, 0) {
            map.0.remove(&(ask.peer, ask.kind.code()));
        }
    }
}

/// Puts the charge for `ask` at `now` into `batch` (and drops the
/// buckets that no longer count). Hold the budgets lock from here until
/// `batch` commits.
pub(crate) fn charge(
    store: &Store,
    batch: &mut Batch,
    ask: Ask,
    limits: Limits,
    now: u64,
) -> Result<(), Error> {
    let purposes: &[u8] = if ask.renewal {
        &[ALL, RENEWALS]
    } else {
        &[ALL]
    };
    let first = *limits.buckets(now).start();
    for &purpose in purposes {
        stored::delete_budget_before(store, batch, &ask.peer, purpose, ask.kind, first)?;
        let bucket = now / limits.bucket_ms();
        let before = stored::budget_count(store, &ask.peer, purpose, ask.kind, bucket)?;
        stored::put_budget_count(batch, &ask.peer, purpose, ask.kind, bucket, before + ask.n);
    }
    Ok(())
}

/// Evaluations charged to `peer` for `kind` over the window ending at
/// `now`.
#[cfg(test)]
fn spent(
    store: &Store,
    peer: &[u8; 32],
    kind: SelectorKind,
    window_ms: u64,
    now: u64,
) -> Result<u64, Error> {
    let ask = Ask {
        peer: *peer,
        kind,
        n: 0,
        renewal: false,
    };
    let limits = Limits {
        budget: 0,
        renewals: 0,
        window_ms,
    };
    Ok(used(store, &ask, ALL, &limits, now)?
        .iter()
        .map(|(_, c)| c)
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            budget: 10,
            renewals: 4,
            window_ms: 24_000,
        }
    }

    fn ask(n: u64, renewal: bool) -> Ask {
        Ask {
            peer: [1; 32],
            kind: SelectorKind::Phone,
            n,
            renewal,
        }
    }

    fn take(
        store: &Store,
        reserved: &std::sync::Mutex<Reserved>,
        a: Ask,
        now: u64,
    ) -> Result<(), u64> {
        let r = reserve(store, reserved, a, limits(), now).unwrap();
        if r.is_ok() {
            let mut b = Batch::default();
            release(reserved, a);
            charge(store, &mut b, a, limits(), now).unwrap();
            store.write(b).unwrap();
        }
        r
    }

    #[test]
    fn no_window_long_span_ever_holds_more_than_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let reserved = std::sync::Mutex::new(Reserved::default());
        // One evaluation at a time, as fast as allowed, over five windows
        // starting at an odd moment: every success is recorded.
        let mut granted = Vec::new();
        let mut t = 1_000_123u64;
        while t < 1_000_123 + 5 * 24_000 {
            if take(&store, &reserved, ask(1, false), t).is_ok() {
                granted.push(t);
            }
            t += 97;
        }
        assert!(granted.len() >= 40, "{}", granted.len());
        for (i, &start) in granted.iter().enumerate() {
            let within = granted[i..]
                .iter()
                .take_while(|&&g| g < start + 24_000)
                .count();
            assert!(
                within <= 10,
                "{within} evaluations in the window from {start}"
            );
        }
    }

    #[test]
    fn renewals_spend_the_same_budget_and_at_most_their_share() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let reserved = std::sync::Mutex::new(Reserved::default());
        let now = 5_000_000;
        assert!(
            take(&store, &reserved, ask(5, true), now).is_err(),
            "over the renewal share"
        );
        assert!(take(&store, &reserved, ask(4, true), now).is_ok());
        assert!(take(&store, &reserved, ask(1, true), now).is_err());
        assert!(take(&store, &reserved, ask(6, false), now).is_ok());
        assert_eq!(
            spent(&store, &[1; 32], SelectorKind::Phone, 24_000, now).unwrap(),
            10
        );
        // 4 renewals + 6 queries: the budget of 10 is spent.
        let renews = take(&store, &reserved, ask(1, false), now).unwrap_err();
        assert!(renews > now && renews <= now + 24_000 + 1_000, "{renews}");
        assert!(take(&store, &reserved, ask(1, false), renews).is_ok());
        assert_eq!(
            spent(&store, &[1; 32], SelectorKind::Phone, 24_000, renews).unwrap(),
            1,
            "the old charges no longer count, and are gone"
        );
    }

    #[test]
    fn a_reservation_counts_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let reserved = std::sync::Mutex::new(Reserved::default());
        let now = 7_000_000;
        assert!(reserve(&store, &reserved, ask(8, false), limits(), now)
            .unwrap()
            .is_ok());
        assert!(reserve(&store, &reserved, ask(3, false), limits(), now)
            .unwrap()
            .is_err());
        release(&reserved, ask(8, false));
        assert!(reserve(&store, &reserved, ask(3, false), limits(), now)
            .unwrap()
            .is_ok());
        // A batch larger than the budget never fits: it is told when the
        // window is empty.
        let r = reserve(&store, &reserved, ask(11, false), limits(), now).unwrap();
        assert!(r.is_err());
    }
}
