//! Couriers: one task per trusted peer that empties its outbox.
//!
//! A courier reads up to [`BATCH`] pending envelopes, sends them with at
//! most [`IN_FLIGHT`] awaiting receipts, and hands each receipt to
//! [`crate::post::Post::confirm`]. When the peer cannot be reached it
//! waits with exponential backoff ([`MIN_BACKOFF`] to [`MAX_BACKOFF`]),
//! cut short when the peer connects or something new is queued. An empty
//! outbox means sleeping until woken.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use liaison_config::Peer;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn, Instrument as _};

use super::Node;
use crate::identity;
use crate::post::Post;
use crate::store::mailbox::Mailbox;

const BATCH: usize = 128;
const IN_FLIGHT: usize = 16;
const MIN_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The running couriers, by peer key.
#[derive(Debug, Default)]
pub(super) struct Couriers {
    running: HashMap<[u8; 32], Running>,
}

#[derive(Debug)]
struct Running {
    peer: Peer,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Couriers {
    pub(super) fn wake(&self, key: &[u8; 32]) {
        if let Some(r) = self.running.get(key) {
            r.wake.notify_one();
        }
    }

    /// Starts couriers for new peers, stops those of removed ones, and
    /// restarts those whose entry changed.
    pub(super) fn sync(&mut self, node: &Arc<Node>, peers: &[Peer]) {
        let wanted: HashMap<[u8; 32], &Peer> = peers
            .iter()
            .map(|p| (*p.key.verifying_key().as_bytes(), p))
            .collect();
        self.running.retain(|key, r| {
            let keep = wanted
                .get(key)
                .is_some_and(|p| p.name == r.peer.name && p.addrs == r.peer.addrs);
            if !keep {
                r.cancel.cancel();
            }
            keep
        });
        for (key, peer) in wanted {
            if self.running.contains_key(&key) {
                continue;
            }
            let wake = Arc::new(Notify::new());
            let cancel = node.cancel.child_token();
            // Named explicitly: a reload runs outside the node's span.
            let span = tracing::info_span!("courier", node = %node.name, peer = %peer.name);
            let task = tokio::spawn(
                run(node.clone(), peer.clone(), wake.clone(), cancel.clone()).instrument(span),
            );
            // Deliver whatever the outbox already holds.
            wake.notify_one();
            self.running.insert(
                key,
                Running {
                    peer: peer.clone(),
                    wake,
                    cancel,
                    task,
                },
            );
        }
    }

    /// Stops every courier; the caller awaits the returned tasks (each
    /// finishes the receipt it is handling) before flushing the store.
    pub(super) fn stop(&mut self) -> Vec<tokio::task::JoinHandle<()>> {
        self.running
            .drain()
            .map(|(_, r)| {
                r.cancel.cancel();
                r.task
            })
            .collect()
    }
}

async fn run(node: Arc<Node>, peer: Peer, wake: Arc<Notify>, cancel: CancellationToken) {
    let peer_id = identity::peer_id(&peer.key);
    let key = *peer.key.verifying_key();
    let mut backoff = MIN_BACKOFF;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let store = node.post.store().clone();
        let pending =
            tokio::task::spawn_blocking(move || Mailbox::new(&store).pending(&key, 0, BATCH)).await;
        let pending = match pending {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                warn!(error = %e, "cannot read the outbox; retrying");
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(MAX_BACKOFF) => continue,
                }
            }
            Err(_) => break,
        };
        if pending.is_empty() {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = wake.notified() => continue,
            }
        }
        let results: Vec<_> = futures::stream::iter(pending)
            .map(|p| {
                let net = node.net.clone();
                async move {
                    let r = net.send(peer_id, p.envelope.clone()).await;
                    (p, r)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut failed = false;
        for (p, result) in results {
            match result {
                Ok(receipt) => {
                    let post = node.post.clone();
                    let peer = peer.clone();
                    let confirmed = tokio::task::spawn_blocking(move || {
                        post.confirm(&peer, p.seq, &p.envelope, &receipt)
                    })
                    .await;
                    match confirmed {
                        Ok(Ok(outcome)) if !Post::is_final(outcome) => failed = true,
                        Ok(Err(e)) => {
                            warn!(error = %e, "receipt not accepted; will resend");
                            failed = true;
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    debug!(error = %e, "delivery failed");
                    failed = true;
                }
            }
        }
        if failed {
            debug!(?backoff, "backing off");
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            backoff = MIN_BACKOFF;
        }
    }
}
