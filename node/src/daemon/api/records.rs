//! The record commands while the daemon holds the store: the CLI's
//! `ingest`, `find`, `show`, `withdraw` and `check` call these routes and
//! print the same output as when they open the store themselves.
//!
//! | route | does |
//! |---|---|
//! | `POST /v1/ingest` | `{files, format}`: absolute paths the daemon reads |
//! | `POST /v1/find` | `{selectors, limit}`: records under any of them |
//! | `GET /v1/records/{id}` | one record as stored |
//! | `POST /v1/withdraw` | `{id}` |
//! | `GET /v1/check` | the store's consistency report, and records indexed under older rules |
//! | `POST /v1/reindex` | re-indexes those records |
//!
//! Record writers (ingest, withdraw) take the node's records lock in
//! turn: the record counters assume one writer at a time.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use liaison_protocol::Selector;
use serde::{Deserialize, Serialize};

use super::{bad_request, blocking, internal, ApiError};
use crate::daemon::Node;
use crate::find;
use crate::ingest::reindex::{self, Reindex};
use crate::ingest::{self, Format, Observer, RefusedLine, Summary};
use crate::store::check::{self, Report};
use crate::store::records::Records;

/// Refused lines returned in full; past this, only counted.
pub const MAX_REFUSALS_RETURNED: usize = 1000;

/// `POST /v1/ingest`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// Absolute paths, read by the daemon in order.
    pub files: Vec<PathBuf>,
    /// Force a format.
    #[serde(default)]
    pub format: Option<Format>,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestReply {
    /// What was stored and refused.
    pub summary: Summary,
    /// The first refused lines, `FILE:LINE: FIELD: reason`.
    pub refused: Vec<String>,
    /// The first warnings on stored lines, in the same form.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Seconds taken.
    pub seconds: f64,
}

#[derive(Default)]
struct Collect {
    refused: Vec<String>,
    warnings: Vec<String>,
}

impl Observer for Collect {
    fn refused(&mut self, line: &RefusedLine) {
        if self.refused.len() < MAX_REFUSALS_RETURNED {
            self.refused.push(line.to_string());
        }
    }
    fn warned(&mut self, line: &RefusedLine) {
        if self.warnings.len() < MAX_REFUSALS_RETURNED {
            self.warnings.push(line.to_string());
        }
    }
    fn committed(&mut self, _: &Summary, _: u64) {}
}

pub(super) async fn ingest(
    State(node): State<Arc<Node>>,
    Json(req): Json<IngestRequest>,
) -> Result<Json<IngestReply>, ApiError> {
    for p in &req.files {
        super::absolute(p)?;
    }
    let config = node.config.lock().map_err(internal)?.clone();
    let opts = ingest::Options {
        format: req.format,
        batch_size: config.ingest.batch_size.get(),
        max_line: config.ingest.max_line_bytes.get(),
        country: config.node.country,
    };
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let started = std::time::Instant::now();
    let (summary, collect) = tokio::task::spawn_blocking(move || {
        let mut collect = Collect::default();
        ingest::run(&store, &req.files, &opts, &mut collect).map(|s| (s, collect))
    })
    .await
    .map_err(internal)?
    .map_err(|e| match e {
        ingest::Error::Open { .. } => bad_request(e),
        _ => internal(e),
    })?;
    // Corrections of records a peer requested: the requesters hear now.
    node.exchange_now.notify_one();
    Ok(Json(IngestReply {
        summary,
        refused: collect.refused,
        warnings: collect.warnings,
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// `POST /v1/find`: the CLI reads the value into selectors itself (its
/// errors are about what the user typed), the daemon looks them up.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    /// Selectors to look up.
    pub selectors: Vec<Selector>,
    /// Most records.
    pub limit: usize,
}

pub(super) async fn find(
    State(node): State<Arc<Node>>,
    Json(req): Json<FindRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = node.post.store().clone();
    let v = tokio::task::spawn_blocking(move || {
        find::lookup(&Records::new(&store), &req.selectors, req.limit)
            .map(|found| find::to_json(&req.selectors, &found))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(Json(v))
}

fn no_record(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no record with id {id:?}"))
}

pub(super) async fn show(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = node.post.store().clone();
    let key = id.clone();
    let r = blocking(move || Records::new(&store).get(&key)).await?;
    r.map(|r| Json(find::record_json(&r)))
        .ok_or_else(|| no_record(&id))
}

/// `POST /v1/withdraw`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    /// Record id.
    pub id: String,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Withdrawn {
    /// The record withdrawn.
    pub id: String,
    /// Index entries removed with it.
    pub index_entries: usize,
}

pub(super) async fn withdraw(
    State(node): State<Arc<Node>>,
    Json(req): Json<WithdrawRequest>,
) -> Result<Json<Withdrawn>, ApiError> {
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let id = req.id.clone();
    let exchange = node.router.exchange().clone();
    let r = blocking(move || {
        let _deciding = exchange.deciding();
        Records::new(&store).withdraw(&id)
    })
    .await?;
    // Requesters of the record hear of it now, not at the next tick.
    node.exchange_now.notify_one();
    r.map(|r| {
        Json(Withdrawn {
            id: r.record.id.clone(),
            index_entries: r.selectors.len(),
        })
    })
    .ok_or_else(|| no_record(&req.id))
}

pub(super) async fn check(
    State(node): State<Arc<Node>>,
) -> Result<Json<(Report, Reindex)>, ApiError> {
    let country = node.config.lock().map_err(internal)?.node.country;
    // A consistent view needs no writer in the middle of a batch.
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let report = blocking(move || {
        let report = check::run(&Records::new(&store))?;
        Ok::<_, ingest::Error>((report, reindex::scan(&store, country)?))
    })
    .await?;
    Ok(Json(report))
}

/// `POST /v1/reindex`: re-indexes records stored under older rules.
pub(super) async fn reindex(State(node): State<Arc<Node>>) -> Result<Json<Reindex>, ApiError> {
    let (country, batch) = {
        let config = node.config.lock().map_err(internal)?;
        (config.node.country, config.ingest.batch_size.get())
    };
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let done = blocking(move || reindex::run(&store, country, batch)).await?;
    Ok(Json(done))
}
