//! The node's clock: Unix milliseconds from the system, or a clock a test
//! sets and moves by hand.
//!
//! Epochs, budget windows, replay windows and deadlines all read the time;
//! a test that depends on where "now" falls (two live epochs between 23:50
//! and 00:10 UTC, a budget window rolling over mid-test) pins it here
//! instead of racing the wall clock. Nothing here imports the rest of the
//! node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, Unix milliseconds, from the system clock.
pub fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A clock: the system's, or a pinned one that only moves when told.
/// Clones share the same pinned time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    pinned: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock stopped at `ms` (Unix milliseconds) until set or advanced.
    pub fn pinned(ms: u64) -> Clock {
        Clock {
            pinned: Some(Arc::new(AtomicU64::new(ms))),
        }
    }

    /// Now, Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        match &self.pinned {
            Some(t) => t.load(Ordering::SeqCst),
            None => system_ms(),
        }
    }

    /// Moves a pinned clock forward by `ms` (a system clock is not moved).
    pub fn advance(&self, ms: u64) {
        if let Some(t) = &self.pinned {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }

    /// Sets a pinned clock to `ms` (a system clock is not moved).
    pub fn set(&self, ms: u64) {
        if let Some(t) = &self.pinned {
            t.store(ms, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_moves_only_when_told_and_clones_share_it() {
        let c = Clock::pinned(1_000);
        let d = c.clone();
        assert_eq!(c.now_ms(), 1_000);
        c.advance(500);
        assert_eq!(d.now_ms(), 1_500);
        d.set(7);
        assert_eq!(c.now_ms(), 7);
        let s = Clock::system();
        s.set(7);
        assert!(s.now_ms() > 1_600_000_000_000);
    }
}
