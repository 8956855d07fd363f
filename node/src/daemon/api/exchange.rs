//! Follow-up routes: `liaison request`, `requests`, `approve`, `refuse`,
//! `reports`, `report show` and `purge`.
//!
//! Requests are resources: `incoming` (peers' requests to us, for
//! supervisors) with `approval` and `refusal` sub-resources, and
//! `outgoing` (ours). A decision is made under the signed-in user's name,
//! which the two-person rule counts. A request that names something
//! missing or already decided is a 400 with the reason; nothing is
//! changed.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::audited;
use super::auth::{Audited, Principal};
use super::wire::{bad_request, internal, sortable, ApiError, JsonBody, Page, PageQuery};
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

/// `POST /api/v1/requests/outgoing`: what [`Ask`] takes.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The hit's id (`GET /api/v1/hits`).
    pub hit: u64,
    /// Case reference and legal basis; by default the hit's own case.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub case: Option<(String, String)>,
    /// A note for the owner's analyst.
    #[serde(default)]
    pub note: String,
}

fn request_id(hex: &str) -> Option<[u8; 16]> {
    crate::hex::decode::<16>(hex)
}

pub(super) async fn request(
    State(node): State<Arc<Node>>,
    JsonBody(ask): JsonBody<AskBody>,
) -> Result<Response, ApiError> {
    let ask = Ask {
        hit: ask.hit,
        case: ask.case,
        note: ask.note,
    };
    let case = ask.case.clone();
    let out = decided(&node, move |exchange| requester::request(exchange, &ask)).await?;
    let store = node.post.store().clone();
    let (reference, basis) = case.unwrap_or_else(|| (out.reference.clone(), out.basis.clone()));
    let case = super::blocking(move || store.case_commitment_if_known(&reference, &basis)).await?;
    let extra = Audited {
        case,
        request: request_id(&out.id),
        peer: crate::hex::decode::<32>(&out.peer_key),
        count: 1,
        ..Audited::default()
    };
    Ok(audited(Json(out), extra))
}

pub(super) async fn incoming(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Incoming>>, ApiError> {
    let all = decided(&node, owner::incoming).await?;
    Ok(Json(page.page(all, |r| {
        format!("{}{}", sortable(r.received_ms), r.id)
    })?))
}

pub(super) async fn outgoing(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Outgoing>>, ApiError> {
    let mut all = decided(&node, requester::outgoing).await?;
    all.sort_by_key(|o| (o.sent_ms, o.id.clone()));
    Ok(Json(page.page(all, |o| {
        format!("{}{}", sortable(o.sent_ms), o.id)
    })?))
}

/// `POST /api/v1/requests/incoming/{id}/approval`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// Fields to redact (`field`, or `record-id:field`).
    #[serde(default)]
    pub redact: Vec<String>,
}

/// The answer to an approval.
#[derive(Debug, Serialize, Deserialize)]
pub struct Approval {
    /// The request as it now stands.
    pub request: Incoming,
    /// Released now, or waiting for a second supervisor.
    pub released: bool,
    /// The handling codes whose two-person rule it waits on.
    #[serde(default)]
    pub waiting_for: Vec<String>,
}

fn decision_audit(req: &Incoming) -> Audited {
    Audited {
        request: request_id(&req.id),
        peer: crate::hex::decode::<32>(&req.peer_key),
        count: req.records.len() as u64,
        ..Audited::default()
    }
}

pub(super) async fn approve(
    State(node): State<Arc<Node>>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(a): JsonBody<Approve>,
) -> Result<Response, ApiError> {
    if !who.proven {
        two_people_need_proof(&node, &id).await?;
    }
    let approved = decided(&node, move |exchange| {
        owner::approve(exchange, &id, &a.redact, &who.name)
    })
    .await?;
    let answer = match approved {
        owner::Approved::Released(request) => Approval {
            request,
            released: true,
            waiting_for: Vec::new(),
        },
        owner::Approved::Waiting { request, codes } => Approval {
            request,
            released: false,
            waiting_for: codes.iter().map(ToString::to_string).collect(),
        },
    };
    let extra = decision_audit(&answer.request);
    Ok(audited(Json(answer), extra))
}

/// Refuses an approval on the socket's word alone (the CLI naming a user,
/// not proving it) where the two-person rule applies: anyone with the
/// service account could otherwise approve as two supervisors. Such an
/// approval needs the supervisor's own token (`LIAISON_TOKEN`) or session.
async fn two_people_need_proof(node: &Node, given: &str) -> Result<(), ApiError> {
    let given = given.to_lowercase();
    let codes = decided(node, move |exchange| {
        let two = exchange.settings().two_person;
        let codes: Vec<String> = owner::incoming(exchange)?
            .into_iter()
            .filter(|r| r.id.starts_with(&given))
            .flat_map(|r| r.handling)
            .filter(|h| two.iter().any(|t| t.to_string() == *h))
            .collect();
        Ok(codes)
    })
    .await?;
    if codes.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        format!(
            "the two-person rule for {} needs each supervisor to prove who they are: set LIAISON_TOKEN to your own API token (an admin makes it with `liaison user token NAME`), or approve from a signed-in browser",
            codes.join(", ")
        ),
    )
    .at("Authorization"))
}

/// `POST /api/v1/requests/incoming/{id}/refusal`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// Why: the requester reads it.
    pub reason: String,
}

pub(super) async fn refuse(
    State(node): State<Arc<Node>>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Refuse>,
) -> Result<Response, ApiError> {
    let refused = decided(&node, move |exchange| {
        owner::refuse(exchange, &id, &r.reason, &who.name)
    })
    .await?;
    let extra = decision_audit(&refused);
    Ok(audited(Json(refused), extra))
}

/// Requests both ways, as `liaison requests` and the demo show them
/// (gathered from the two paged lists).
#[derive(Debug, Serialize, Deserialize)]
pub struct Requests {
    /// Requests peers sent us, oldest first (empty for a user who may not
    /// decide them).
    pub incoming: Vec<Incoming>,
    /// Requests we sent, oldest first.
    pub outgoing: Vec<Outgoing>,
    /// The reminder deadline, ms.
    pub deadline_ms: u64,
}

/// Reports, as `liaison reports` and the demo show them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reports {
    /// Reports held, verified as read.
    pub reports: Vec<ReportView>,
    /// Reports deleted when their owner withdrew them.
    pub deleted: Vec<Tombstone>,
}

pub(super) async fn reports(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<ReportView>>, ApiError> {
    let all = decided(&node, requester::reports).await?;
    Ok(Json(page.page(all, |r| {
        format!("{}{}", sortable(r.received_ms), r.id)
    })?))
}

/// Reports deleted when their owner withdrew them.
pub(super) async fn deleted(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Tombstone>>, ApiError> {
    let all = decided(&node, requester::tombstones).await?;
    Ok(Json(page.page(all, |t| {
        format!("{}{}", sortable(t.deleted_ms), t.id)
    })?))
}

pub(super) async fn report(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = decided(&node, move |exchange| requester::report(exchange, &id)).await?;
    let extra = Audited {
        request: request_id(&view.id),
        count: 1,
        ..Audited::default()
    };
    Ok(audited(Json(view), extra))
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
