//! `GET /api/v1/events`: server-sent events for what a console shows
//! live: new hits, alerts, incoming requests, requests past their
//! deadline (`overdue`), forks of a peer's log, and peers connecting or
//! dropping. Each is sent only to a user whose roles may read it (hits to
//! `match`, alerts to `watch`, requests to `decide`).
//!
//! The stream looks at the store every [`EVERY`] and sends what is new
//! since its last look (the first look only sets where it starts): no
//! domain has to know who listens, and a slow browser costs one read a
//! tick. At most [`MAX_STREAMS`] at once.

use std::collections::{BTreeSet, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use axum::Extension;
use futures::Stream;

use super::auth::{Auth, Principal};
use super::wire::ApiError;
use crate::daemon::Node;
use crate::exchange::Decision;
use crate::matching::querier;
use crate::users::Right;

/// How often a stream looks for news.
pub(super) const EVERY: Duration = Duration::from_secs(2);
/// Streams open at once.
pub(super) const MAX_STREAMS: usize = 64;

/// What one look saw.
#[derive(Debug, Default)]
struct Seen {
    hits: BTreeSet<u64>,
    alerts: BTreeSet<u64>,
    requests: BTreeSet<String>,
    overdue: BTreeSet<String>,
    forks: usize,
    connected: BTreeSet<String>,
}

async fn look(node: &Node, who: &Principal) -> Seen {
    let mut seen = Seen::default();
    let matching = node.router.matching().clone();
    let exchange = node.router.exchange().clone();
    let (hits, alerts, decide) = (
        who.may(Right::Match),
        who.may(Right::Watch),
        who.may(Right::Decide),
    );
    let now = node.post.now_ms();
    let read = tokio::task::spawn_blocking(move || {
        let mut s = Seen::default();
        if hits {
            s.hits = querier::hits(&matching)
                .unwrap_or_default()
                .iter()
                .map(|h| h.id)
                .collect();
        }
        if alerts {
            s.alerts = querier::alerts(&matching)
                .unwrap_or_default()
                .iter()
                .map(|a| a.id)
                .collect();
        }
        if decide {
            let deadline = exchange.settings().deadline_ms;
            for r in crate::exchange::owner::incoming(&exchange).unwrap_or_default() {
                if r.decision == Decision::Pending && r.received_ms + deadline <= now {
                    s.overdue.insert(r.id.clone());
                }
                s.requests.insert(r.id);
            }
        }
        s.forks = exchange
            .post()
            .store()
            .forks()
            .map(|f| f.len())
            .unwrap_or(0);
        s
    })
    .await;
    if let Ok(s) = read {
        seen = s;
    }
    if let Ok(net) = node.net.status().await {
        seen.connected = net.connected.keys().cloned().collect();
    }
    seen
}

fn news(old: &Seen, new: &Seen) -> Vec<Event> {
    let mut out = Vec::new();
    let mut push = |kind: &str, data: serde_json::Value| {
        out.push(Event::default().event(kind).data(data.to_string()));
    };
    for id in new.hits.difference(&old.hits) {
        push("hit", serde_json::json!({ "hit": id }));
    }
    for id in new.alerts.difference(&old.alerts) {
        push("alert", serde_json::json!({ "alert": id }));
    }
    for id in new.requests.difference(&old.requests) {
        push("request", serde_json::json!({ "request": id }));
    }
    for id in new.overdue.difference(&old.overdue) {
        push("overdue", serde_json::json!({ "request": id }));
    }
    if new.forks > old.forks {
        push("fork", serde_json::json!({ "forks": new.forks }));
    }
    let (was, is): (HashSet<_>, HashSet<_>) = (
        old.connected.iter().collect(),
        new.connected.iter().collect(),
    );
    for p in is.difference(&was) {
        push("peer", serde_json::json!({ "peer": p, "connected": true }));
    }
    for p in was.difference(&is) {
        push("peer", serde_json::json!({ "peer": p, "connected": false }));
    }
    out
}

pub(super) async fn stream(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    let Ok(permit) = auth.streams.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_STREAMS} event streams are open on this node: close one"),
        ));
    };
    let first = look(&node, &who).await;
    let state = (node, auth, who, first, Vec::<Event>::new(), permit);
    let events = futures::stream::unfold(
        state,
        |(node, auth, who, mut seen, mut queue, permit)| async move {
            loop {
                if let Some(e) = queue.pop() {
                    return Some((
                        Ok::<_, Infallible>(e),
                        (node, auth, who, seen, queue, permit),
                    ));
                }
                tokio::select! {
                    () = node.cancel.cancelled() => return None,
                    () = tokio::time::sleep(EVERY) => {}
                }
                if !still_allowed(&node, &auth, &who).await {
                    // Signed out, expired, disabled: the stream ends too.
                    return None;
                }
                let now = look(&node, &who).await;
                queue = news(&seen, &now);
                queue.reverse();
                seen = now;
            }
        },
    );
    Ok(sse(events))
}

/// Whether `who` may still read the stream: its session open, its
/// account there and enabled (a node without accounts: its operator).
async fn still_allowed(node: &Node, auth: &Auth, who: &Principal) -> bool {
    if let Some(key) = &who.session {
        if !auth.sessions.is_open(key, node.post.now_ms()) {
            return false;
        }
    }
    let store = node.post.store().clone();
    let name = who.name.clone();
    tokio::task::spawn_blocking(move || {
        Ok::<_, crate::users::Error>(match crate::users::get(&store, &name)? {
            Some(u) => !u.disabled,
            None => !crate::users::any(&store)?,
        })
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or(false)
}

fn sse(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> Response {
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_new_is_sent() {
        let old = Seen {
            hits: [1, 2].into(),
            connected: ["kz".to_owned()].into(),
            ..Seen::default()
        };
        let new = Seen {
            hits: [1, 2, 3].into(),
            alerts: [7].into(),
            forks: 1,
            connected: ["tj".to_owned()].into(),
            ..Seen::default()
        };
        assert_eq!(news(&old, &new).len(), 1 + 1 + 1 + 2);
        assert!(news(&new, &new).is_empty());
    }
}
