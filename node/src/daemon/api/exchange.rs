//! Follow-up routes: `liaison request`, `requests`, `approve`, `refuse`,
//! `reports`, `report show` and `purge`.
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/request` | `{hit, case, note}`: a follow-up request to the hit's owner |
//! | `GET /v1/requests` | requests received and sent |
//! | `POST /v1/approve` | `{request, redact}`: release a waiting request's records |
//! | `POST /v1/refuse` | `{request, reason}` |
//! | `GET /v1/reports` | reports received, each verified as it is read |
//! | `GET /v1/reports/{id}` | one report (id or a prefix of 6+ hex digits) |
//! | `POST /v1/purge` | purge what is past its retention now |
//!
//! A request that names something missing or already decided is a 400
//! with the reason; nothing is changed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{bad_request, internal, ApiError};
use crate::daemon::Node;
use crate::exchange::requester::{self, Ask, ReportView, Tombstone};
use crate::exchange::retention::{self, Purged};
use crate::exchange::{owner, Error, Exchange, Incoming, Outgoing};

/// Runs `f` on the follow-up on a blocking thread: a refusal
/// ([`Error::is_refusal`]) is the caller's bad request, anything else an
/// internal error.
async fn decided<T: Send + 'static>(
    node: &Node,
    f: impl FnOnce(&Exchange) -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    let exchange = node.router.exchange().clone();
    match tokio::task::spawn_blocking(move || f(&exchange))
        .await
        .map_err(internal)?
    {
        Ok(t) => Ok(t),
        Err(e) if e.is_refusal() => Err(bad_request(e)),
        Err(e) => Err(internal(e)),
    }
}

pub(super) async fn request(
    State(node): State<Arc<Node>>,
    Json(ask): Json<Ask>,
) -> Result<Json<Outgoing>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| requester::request(exchange, &ask)).await?,
    ))
}

/// `GET /v1/requests`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Requests {
    /// Requests peers sent us, oldest first.
    pub incoming: Vec<Incoming>,
    /// Requests we sent, oldest first.
    pub outgoing: Vec<Outgoing>,
    /// The reminder deadline, ms.
    pub deadline_ms: u64,
}

pub(super) async fn requests(State(node): State<Arc<Node>>) -> Result<Json<Requests>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| {
            Ok(Requests {
                incoming: owner::incoming(exchange)?,
                outgoing: requester::outgoing(exchange)?,
                deadline_ms: exchange.settings().deadline_ms,
            })
        })
        .await?,
    ))
}

/// `POST /v1/approve`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The request id (or 6+ leading hex digits).
    pub request: String,
    /// Fields to redact.
    #[serde(default)]
    pub redact: Vec<String>,
}

pub(super) async fn approve(
    State(node): State<Arc<Node>>,
    Json(a): Json<Approve>,
) -> Result<Json<Incoming>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| {
            owner::approve(exchange, &a.request, &a.redact, "local")
                .map(owner::Approved::into_request)
        })
        .await?,
    ))
}

/// `POST /v1/refuse`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// The request id (or 6+ leading hex digits).
    pub request: String,
    /// Why: the requester reads it.
    pub reason: String,
}

pub(super) async fn refuse(
    State(node): State<Arc<Node>>,
    Json(r): Json<Refuse>,
) -> Result<Json<Incoming>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| {
            owner::refuse(exchange, &r.request, &r.reason, "local")
        })
        .await?,
    ))
}

/// `GET /v1/reports`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reports {
    /// Reports held, verified as read.
    pub reports: Vec<ReportView>,
    /// Reports deleted when their owner withdrew them.
    pub deleted: Vec<Tombstone>,
}

pub(super) async fn reports(State(node): State<Arc<Node>>) -> Result<Json<Reports>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| {
            Ok(Reports {
                reports: requester::reports(exchange)?,
                deleted: requester::tombstones(exchange)?,
            })
        })
        .await?,
    ))
}

pub(super) async fn report(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(
        decided(&node, move |exchange| requester::report(exchange, &id)).await?,
    ))
}

pub(super) async fn purge(State(node): State<Arc<Node>>) -> Result<Json<Purged>, ApiError> {
    let _writer = node.records_writer.lock().await;
    let purged = decided(&node, move |exchange| {
        retention::purge(exchange, exchange.post().now_ms())
    })
    .await?;
    node.exchange_now.notify_one();
    Ok(Json(purged))
}
