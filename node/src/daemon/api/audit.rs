//! `/v1/audit/*`: the auditor's commands while the daemon holds the store.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{absolute, bad_request, internal, ApiError};
use crate::audit::verify::{self, Checked, Exported, Shown};
use crate::daemon::Node;

/// `GET /v1/audit/verify`.
pub(super) async fn verify_log(State(node): State<Arc<Node>>) -> Result<Json<Checked>, ApiError> {
    let (federation, peers) = {
        let c = node.config.lock().map_err(internal)?;
        (c.node.federation.clone(), c.peers.clone())
    };
    let post = node.post.clone();
    let checked = tokio::task::spawn_blocking(move || {
        verify::verify_store(post.store(), post.identity(), &federation, &peers)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(checked))
}

/// `POST /v1/audit/export`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Absolute path of the file to write.
    pub out: PathBuf,
    /// Entries from this time on (Unix ms).
    pub from_ms: Option<u64>,
    /// Entries up to this time (Unix ms).
    pub to_ms: Option<u64>,
}

pub(super) async fn export(
    State(node): State<Arc<Node>>,
    Json(req): Json<ExportRequest>,
) -> Result<Json<Exported>, ApiError> {
    absolute(&req.out)?;
    let (name, federation, peers) = {
        let c = node.config.lock().map_err(internal)?;
        (
            c.node.name.clone(),
            c.node.federation.clone(),
            c.peers.clone(),
        )
    };
    let post = node.post.clone();
    let done = tokio::task::spawn_blocking(move || {
        verify::export_to(
            post.store(),
            post.identity(),
            &name,
            &federation,
            &peers,
            &req.out,
            req.from_ms,
            req.to_ms,
        )
    })
    .await
    .map_err(internal)?
    .map_err(|e| bad_request(format!("{e:#}")))?;
    Ok(Json(done))
}

/// `POST /v1/audit/show`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    /// Only entries with this peer.
    pub peer: Option<String>,
    /// Only entries made under this case reference.
    pub case: Option<String>,
    /// At most this many (the newest).
    pub limit: usize,
}

pub(super) async fn show(
    State(node): State<Arc<Node>>,
    Json(req): Json<ShowRequest>,
) -> Result<Json<Vec<Shown>>, ApiError> {
    let peers = node.config.lock().map_err(internal)?.peers.clone();
    let peer = match &req.peer {
        None => None,
        Some(n) => Some(node.post.peer(n).map_err(bad_request)?),
    };
    let post = node.post.clone();
    let shown = tokio::task::spawn_blocking(move || {
        verify::show(
            post.store(),
            &peers,
            peer.as_ref(),
            req.case.as_deref(),
            req.limit,
        )
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(shown))
}
