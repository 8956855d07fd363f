//! Matching routes: `liaison match`, `hits`, `watch` and `alerts`.
//!
//! Matches and watchlist entries come in the body (`content`: the file's
//! text, NDJSON, CSV or call records), or for the CLI from a file on the
//! node's disk (`/api/v1/local/...`). Hits, the watchlist and alerts are
//! listed in pages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use liaison_protocol::SelectorKind;
use serde::{Deserialize, Serialize};

use super::auth::audited;
use super::auth::Audited;
use super::blocking;
use super::wire::{
    bad_request, internal, not_found, sortable, ApiError, JsonBody, Page, PageQuery, MAX_UPLOAD,
};
use crate::daemon::Node;
use crate::matching::input::{self, Wanted};
use crate::matching::querier::{self, Alert, StoredHit, Watch};
use crate::matching::Matching;

/// `POST /api/v1/local/match`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    /// Absolute path of the file to match.
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// Only this peer (else every peer).
    #[serde(default)]
    pub peer: Option<String>,
    /// The analyst's case reference and legal basis.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub case: Option<(String, String)>,
}

/// `POST /api/v1/matches`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchUpload {
    /// The entities, as a file would hold them (NDJSON, CSV or call
    /// records).
    pub content: String,
    /// Only this peer (else every peer).
    #[serde(default)]
    pub peer: Option<String>,
    /// The case reference and legal basis the match is made under.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
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

/// A match's answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct MatchReply {
    /// The match's id: `GET /api/v1/matches/{id}` gives its hits again.
    #[serde(default)]
    pub id: u64,
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
    JsonBody(req): JsonBody<MatchRequest>,
) -> Result<Response, ApiError> {
    super::absolute(&req.file)?;
    let shown = req.file.display().to_string();
    match_file(&node, req.file, shown, req.peer, req.case).await
}

pub(super) async fn upload_match(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<MatchUpload, MAX_UPLOAD>,
) -> Result<Response, ApiError> {
    let file = upload_content(&node, req.content).await?;
    let path = file.path().to_owned();
    let r = match_file(&node, path, "body".into(), req.peer, req.case).await;
    drop(file);
    r
}

/// `content` in a private temporary file in the data folder.
async fn upload_content(node: &Node, content: String) -> Result<tempfile::NamedTempFile, ApiError> {
    if content.trim().is_empty() {
        return Err(bad_request("content is empty: give the entities").at("content"));
    }
    super::upload_file(node, content.into_bytes()).await
}

async fn match_file(
    node: &Arc<Node>,
    file: PathBuf,
    shown_as: String,
    peer: Option<String>,
    case: Option<(String, String)>,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let config = node.config.lock().map_err(internal)?.clone();
    let peers: Vec<_> = match &peer {
        None => config.peers.clone(),
        Some(name) => vec![node
            .post
            .peer(name)
            .map_err(|e| bad_request(e).at("peer"))?],
    };
    let matching = node.router.matching().clone();
    let (country, max_line) = (config.node.country, config.ingest.max_line_bytes.get());
    let path = file.clone();
    let mut read = tokio::task::spawn_blocking(move || input::read_file(&path, country, max_line))
        .await
        .map_err(internal)?
        .map_err(|e| bad_request(format!("{shown_as}: {e}")))?;
    super::unname(
        read.bad.iter_mut().chain(read.warnings.iter_mut()),
        &file,
        &shown_as,
    );
    // Stored hits keep their source: never a temporary file's path.
    super::unname(
        read.wanted.iter_mut().map(|w| &mut w.source),
        &file,
        &shown_as,
    );
    let wanted = read.wanted;
    let read_at = started.elapsed();
    let case = match &case {
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
    let sent_at = started.elapsed();
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
    let answered_at = started.elapsed();
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
    let match_id = matching.next_id();
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
                matched: Some(match_id),
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
    let entities = wanted.len() as u64;
    // Where an interactive match's time goes (`scripts/bench-api` reads
    // it): reading the input, blinding and queueing the requests, waiting
    // for every answer (courier, the peers' evaluations, proofs checked),
    // storing the hits. The audit entry is written after this.
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    tracing::debug!(
        entities,
        read_ms = ms(read_at),
        query_ms = ms(sent_at - read_at),
        answers_ms = ms(answered_at - sent_at),
        hits_ms = ms(started.elapsed() - answered_at),
        "match timed"
    );
    let reply = Json(MatchReply {
        id: match_id,
        results,
        bad: read.bad,
        warnings: read.warnings,
        asked,
        skipped,
        problems,
        complete,
        seconds: started.elapsed().as_secs_f64(),
    });
    Ok(audited(
        reply,
        Audited {
            case,
            count: entities,
            ..Audited::default()
        },
    ))
}

/// Runs `f` on matching on a blocking thread; its errors are internal.
async fn on_matching<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&Matching) -> Result<T, crate::matching::Error> + Send + 'static,
) -> Result<T, ApiError> {
    let matching = node.router.matching().clone();
    blocking(move || f(&matching)).await
}

/// The hits one match found.
pub(super) async fn match_hits(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<StoredHit>>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| bad_request("a match's id is a number, as its answer gave it").at("id"))?;
    let found: Vec<StoredHit> = on_matching(&node, querier::hits)
        .await?
        .into_iter()
        .filter(|h| h.matched == Some(id))
        .collect();
    Ok(Json(page.page(found, |h| sortable(h.id))?))
}

pub(super) async fn hits(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<StoredHit>>, ApiError> {
    let all = on_matching(&node, querier::hits).await?;
    Ok(Json(page.page(all, |h| sortable(h.id))?))
}

/// `POST /api/v1/local/watchlist`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchAdd {
    /// Absolute path of the file.
    #[schema(value_type = String)]
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

/// `POST /api/v1/watchlist`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchUpload {
    /// The entities, as a file would hold them.
    pub content: String,
    /// Alert on weak person hits too (one-letter name keys).
    #[serde(default)]
    pub weak: bool,
}

pub(super) async fn watch_upload(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<WatchUpload, MAX_UPLOAD>,
) -> Result<Response, ApiError> {
    let file = upload_content(&node, req.content).await?;
    let path = file.path().to_owned();
    let mut r = watch_file(&node, path.clone(), req.weak).await?;
    super::unname(r.bad.iter_mut().chain(r.warnings.iter_mut()), &path, "body");
    drop(file);
    let count = r.added.len() as u64;
    Ok(audited(
        Json(r),
        Audited {
            count,
            ..Audited::default()
        },
    ))
}

pub(super) async fn watch_add(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<WatchAdd>,
) -> Result<Response, ApiError> {
    super::absolute(&req.file)?;
    let r = watch_file(&node, req.file, req.weak).await?;
    let count = r.added.len() as u64;
    Ok(audited(
        Json(r),
        Audited {
            count,
            ..Audited::default()
        },
    ))
}

async fn watch_file(node: &Node, file: PathBuf, weak: bool) -> Result<WatchAdded, ApiError> {
    let config = node.config.lock().map_err(internal)?.clone();
    let matching = node.router.matching().clone();
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
        let ids = querier::watch_add(&matching, &config.peers, entries, weak).map_err(internal)?;
        Ok::<_, ApiError>(WatchAdded {
            added: ids.into_iter().zip(labels).collect(),
            bad: read.bad,
            warnings: read.warnings,
        })
    })
    .await
    .map_err(internal)??;
    Ok(added)
}

pub(super) async fn watch_list(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Watch>>, ApiError> {
    let all = on_matching(&node, querier::watches).await?;
    Ok(Json(page.page(all, |w| sortable(w.id))?))
}

pub(super) async fn watch_remove(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| bad_request("a watchlist entry's id is a number").at("id"))?;
    let removed = on_matching(&node, move |m| querier::watch_remove(m, id)).await?;
    if !removed {
        return Err(
            not_found(format!("no watchlist entry {id}: see `liaison watch list`")).at("id"),
        );
    }
    Ok(Json(serde_json::json!({ "removed": id })))
}

pub(super) async fn alerts(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Alert>>, ApiError> {
    let all = on_matching(&node, querier::alerts).await?;
    Ok(Json(page.page(all, |a| sortable(a.id))?))
}
