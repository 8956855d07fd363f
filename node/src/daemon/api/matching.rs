//! Matching routes: `liaison match`, `hits`, `watch` and `alerts`.
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/match` | `{file, peer, case}`: hit/no-hit for every entity in the file |
//! | `GET /v1/hits` | stored hits |
//! | `POST /v1/watch/add` | `{file}`: every entity in it becomes a watchlist entry |
//! | `GET /v1/watch` | the watchlist |
//! | `POST /v1/watch/remove` | `{id}` |
//! | `GET /v1/alerts` | alerts raised by the watchlist |

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use liaison_protocol::SelectorKind;
use serde::{Deserialize, Serialize};

use super::{bad_request, blocking, internal, ApiError};
use crate::daemon::Node;
use crate::matching::input::{self, Wanted};
use crate::matching::querier::{self, Alert, StoredHit, Watch};
use crate::matching::Matching;

/// `POST /v1/match`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// Absolute path of the file to match.
    pub file: PathBuf,
    /// Only this peer (else every peer).
    #[serde(default)]
    pub peer: Option<String>,
    /// The analyst's case reference and legal basis.
    #[serde(default)]
    pub case: Option<(String, String)>,
}

/// One entity's result.
#[derive(Debug, Serialize, Deserialize)]
pub struct EntityResult {
    /// `FILE:LINE`.
    pub source: String,
    /// Record id / entity ref.
    pub entity: String,
    /// As written.
    pub label: String,
    /// The peers that hold it.
    pub hits: Vec<PeerHit>,
}

/// One peer's hit on an entity.
#[derive(Debug, Serialize, Deserialize)]
pub struct PeerHit {
    /// The peer.
    pub peer: String,
    /// The selector kinds that matched.
    pub kinds: Vec<SelectorKind>,
    /// For persons, how strong.
    pub strength: Option<String>,
    /// The stored hit's id (`liaison hits`).
    pub hit: u64,
}

/// `POST /v1/match`'s answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct MatchReply {
    /// Per entity, in file order.
    pub results: Vec<EntityResult>,
    /// Lines or entities that could not be read.
    pub bad: Vec<String>,
    /// Entities looked for but most likely miswritten.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Peers asked, with the number of selectors sent.
    pub asked: Vec<(String, usize)>,
    /// Peers not asked, and why.
    pub skipped: Vec<String>,
    /// Answers that were refused or failed, per peer.
    pub problems: Vec<String>,
    /// Whether every answer arrived in time.
    pub complete: bool,
    /// Seconds taken.
    pub seconds: f64,
}

pub(super) async fn run_match(
    State(node): State<Arc<Node>>,
    Json(req): Json<MatchRequest>,
) -> Result<Json<MatchReply>, ApiError> {
    super::absolute(&req.file)?;
    let started = std::time::Instant::now();
    let config = node.config.lock().map_err(internal)?.clone();
    let peers: Vec<_> = match &req.peer {
        None => config.peers.clone(),
        Some(name) => vec![node.post.peer(name).map_err(bad_request)?],
    };
    let matching = node.router.matching().clone();
    let (country, max_line) = (config.node.country, config.ingest.max_line_bytes.get());
    let file = req.file.clone();
    let read = tokio::task::spawn_blocking(move || input::read_file(&file, country, max_line))
        .await
        .map_err(internal)?
        .map_err(|e| bad_request(format!("{}: {e}", req.file.display())))?;
    let wanted = read.wanted;
    let case = match &req.case {
        None => None,
        Some((reference, basis)) => {
            let (matching, r, b) = (matching.clone(), reference.clone(), basis.clone());
            Some(blocking(move || matching.post().store().case_commitment(&r, &b)).await?)
        }
    };
    let items = querier::items(wanted.iter().map(|w| (w.selectors.as_slice(), None)));
    // Subscribed before the query goes out, so no answer is missed.
    let mut changed = matching.subscribe();
    let p = matching.clone();
    let querier::Started { id, asked, skipped } =
        blocking(move || querier::query(&p, &peers, &items, case)).await?;
    let deadline = tokio::time::Instant::now() + matching.settings().answer_timeout;
    let mut complete = true;
    let query = loop {
        if let Some(q) = querier::take(&matching, id, false) {
            break q;
        }
        let waited = tokio::time::timeout_at(deadline, changed.changed()).await;
        if !matches!(waited, Ok(Ok(()))) {
            complete = false;
            break querier::take(&matching, id, true).unwrap_or_default();
        }
    };
    let mut problems = query.problems.clone();
    if !complete {
        problems.push(format!(
            "{} request(s) unanswered after {} s: their peers' results are missing (is the peer connected? see `liaison status`)",
            query.outstanding,
            matching.settings().answer_timeout.as_secs()
        ));
    }
    let names: BTreeMap<[u8; 32], String> = config
        .peers
        .iter()
        .map(|p| (p.key.verifying_key().to_bytes(), p.name.clone()))
        .collect();
    let now = matching.post().now_ms();
    let mut stored = Vec::new();
    let mut results: Vec<EntityResult> = wanted
        .iter()
        .map(|w: &Wanted| EntityResult {
            source: w.source.clone(),
            entity: w.entity.clone(),
            label: w.label.clone(),
            hits: Vec::new(),
        })
        .collect();
    let by_slot = querier::by_slot(&query.hits);
    for (slot, hits) in by_slot {
        let mut per_peer: BTreeMap<[u8; 32], Vec<&querier::Hit>> = BTreeMap::new();
        for h in hits {
            per_peer.entry(h.owner).or_default().push(h);
        }
        for (owner, hs) in per_peer {
            let mut kinds: Vec<SelectorKind> = hs.iter().map(|h| h.kind).collect();
            kinds.sort_unstable();
            kinds.dedup();
            let peer = names.get(&owner).cloned().unwrap_or_else(|| "?".into());
            let differed = if kinds == [SelectorKind::PersonFuzzy] {
                let values: Vec<&str> = hs.iter().map(|h| h.value.as_str()).collect();
                liaison_protocol::normalize::differing_part(&wanted[slot].written, &values)
            } else {
                None
            };
            let hit = StoredHit {
                id: matching.next_id(),
                time_ms: now,
                peer: peer.clone(),
                entity: format!("{} ({})", wanted[slot].label, wanted[slot].entity),
                source: wanted[slot].source.clone(),
                strength: querier::strength_of(&kinds, differed),
                kinds: kinds.clone(),
                case: case.map(|c| crate::hex::encode(&c)),
                tags: hs
                    .iter()
                    .map(|h| (h.kind, querier::tag_hex(&h.tag), h.epoch))
                    .collect(),
            };
            results[slot].hits.push(PeerHit {
                peer,
                kinds,
                strength: hit.strength.clone(),
                hit: hit.id,
            });
            stored.push(hit);
        }
    }
    let p = matching.clone();
    blocking(move || querier::store_hits(&p, &stored)).await?;
    Ok(Json(MatchReply {
        results,
        bad: read.bad,
        warnings: read.warnings,
        asked,
        skipped,
        problems,
        complete,
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// Runs `f` on matching on a blocking thread; its errors are internal.
async fn on_matching<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&Matching) -> Result<T, crate::matching::Error> + Send + 'static,
) -> Result<T, ApiError> {
    let matching = node.router.matching().clone();
    blocking(move || f(&matching)).await
}

pub(super) async fn hits(State(node): State<Arc<Node>>) -> Result<Json<Vec<StoredHit>>, ApiError> {
    Ok(Json(on_matching(&node, querier::hits).await?))
}

/// `POST /v1/watch/add`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchAdd {
    /// Absolute path of the file.
    pub file: PathBuf,
    /// Alert on weak person hits too (one-letter name keys).
    #[serde(default)]
    pub weak: bool,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct WatchAdded {
    /// New entries: id and label.
    pub added: Vec<(u64, String)>,
    /// Lines or entities that could not be read.
    pub bad: Vec<String>,
    /// Entities watched but most likely miswritten.
    #[serde(default)]
    pub warnings: Vec<String>,
}

pub(super) async fn watch_add(
    State(node): State<Arc<Node>>,
    Json(req): Json<WatchAdd>,
) -> Result<Json<WatchAdded>, ApiError> {
    super::absolute(&req.file)?;
    let config = node.config.lock().map_err(internal)?.clone();
    let matching = node.router.matching().clone();
    let file = req.file.clone();
    let added = tokio::task::spawn_blocking(move || {
        let read = input::read_file(
            &file,
            config.node.country,
            config.ingest.max_line_bytes.get(),
        )
        .map_err(|e| bad_request(format!("{}: {e}", file.display())))?;
        let entries: Vec<_> = read
            .wanted
            .iter()
            .map(|w| (w.label.clone(), w.source.clone(), w.selectors.clone()))
            .collect();
        let labels: Vec<String> = read.wanted.iter().map(|w| w.label.clone()).collect();
        let ids =
            querier::watch_add(&matching, &config.peers, entries, req.weak).map_err(internal)?;
        Ok::<_, ApiError>(WatchAdded {
            added: ids.into_iter().zip(labels).collect(),
            bad: read.bad,
            warnings: read.warnings,
        })
    })
    .await
    .map_err(internal)??;
    Ok(Json(added))
}

pub(super) async fn watch_list(
    State(node): State<Arc<Node>>,
) -> Result<Json<Vec<Watch>>, ApiError> {
    Ok(Json(on_matching(&node, querier::watches).await?))
}

/// `POST /v1/watch/remove`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRemove {
    /// The entry's id.
    pub id: u64,
}

pub(super) async fn watch_remove(
    State(node): State<Arc<Node>>,
    Json(req): Json<WatchRemove>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let removed = on_matching(&node, move |m| querier::watch_remove(m, req.id)).await?;
    if !removed {
        return Err(bad_request(format!(
            "no watchlist entry {}: see `liaison watch list`",
            req.id
        )));
    }
    Ok(Json(serde_json::json!({ "removed": req.id })))
}

pub(super) async fn alerts(State(node): State<Arc<Node>>) -> Result<Json<Vec<Alert>>, ApiError> {
    Ok(Json(on_matching(&node, querier::alerts).await?))
}
