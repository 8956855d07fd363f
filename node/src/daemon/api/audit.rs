//! The auditor's routes while the daemon holds the store: entries in
//! pages with filters, verification, and (on the socket) an export to a
//! file.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::absolute;
use super::wire::{bad_request, internal, ApiError, JsonBody, Page, PageQuery};
use crate::audit::verify::{self, Checked, Exported, Shown};
use crate::daemon::Node;

/// `GET /api/v1/audit/verification`.
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

/// `POST /api/v1/local/audit/export`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Absolute path of the file to write.
    #[schema(value_type = String)]
    pub out: PathBuf,
    /// Entries from this time on (Unix ms).
    pub from_ms: Option<u64>,
    /// Entries up to this time (Unix ms).
    pub to_ms: Option<u64>,
}

pub(super) async fn export(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<ExportRequest>,
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

/// `GET /api/v1/audit/entries`.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// Only entries with this peer (its name).
    pub peer: Option<String>,
    /// Only entries made under this case reference (any legal basis).
    pub case: Option<String>,
    /// Only entries made for this local user.
    pub user: Option<String>,
    /// Only entries from this time on (Unix ms).
    pub from_ms: Option<u64>,
    /// Only entries before this time (Unix ms).
    pub to_ms: Option<u64>,
    /// `oldest` (default: oldest first, from `cursor` on) or `newest` (the
    /// newest before `cursor`, in log order).
    pub order: Option<String>,
    /// Most entries (1 to 1000; default 100).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

pub(super) async fn entries(
    State(node): State<Arc<Node>>,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<Page<Shown>>, ApiError> {
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let at = match &q.cursor {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| {
            bad_request("not a cursor this API gave: pass the `next` of the previous page")
                .at("cursor")
        })?),
    };
    let newest = match q.order.as_deref() {
        None | Some("oldest") => false,
        Some("newest") => true,
        Some(_) => return Err(bad_request("order is `oldest` or `newest`").at("order")),
    };
    let peers = node.config.lock().map_err(internal)?.peers.clone();
    let peer = match &q.peer {
        None => None,
        Some(n) => Some(node.post.peer(n).map_err(|e| bad_request(e).at("peer"))?),
    };
    let post = node.post.clone();
    let (items, more) = super::blocking(move || {
        let filter = verify::Filter {
            peer: peer.as_ref(),
            case: q.case.as_deref(),
            user: q.user.as_deref(),
            from_ms: q.from_ms,
            to_ms: q.to_ms,
        };
        let cursor = if newest {
            verify::Cursor::Newest { before: at }
        } else {
            verify::Cursor::Oldest { after: at }
        };
        verify::page(post.store(), &peers, &filter, cursor, limit)
    })
    .await?;
    let next = if !more {
        None
    } else if newest {
        items.first().map(|e| e.index.to_string())
    } else {
        items.last().map(|e| e.index.to_string())
    };
    Ok(Json(Page { items, next }))
}
