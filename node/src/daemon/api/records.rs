//! The record routes: load records (from the body, or for the CLI from
//! files on the node's disk), find, show, withdraw, and the store's
//! check and reindex. The CLI's `ingest`, `find`, `show`, `withdraw` and
//! `check` print the same output through these as when they open the
//! store themselves.
//!
//! Record writers (ingest, withdraw) take the node's records lock in
//! turn: the record counters assume one writer at a time.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::Json;
use liaison_protocol::{Selector, SelectorKind};
use serde::{Deserialize, Serialize};

use super::auth::{audited, Audited};
use super::blocking;
use super::wire::{bad_request, body_bytes, internal, not_found, ApiError, JsonBody, MAX_UPLOAD};
use crate::daemon::Node;
use crate::find;
use crate::ingest::reindex::{self, Reindex};
use crate::ingest::{self, Format, Observer, RefusedLine, Summary};
use crate::store::check::{self, Report};
use crate::store::records::Records;

/// Refused lines returned in full; past this, only counted.
pub const MAX_REFUSALS_RETURNED: usize = 1000;

/// `POST /api/v1/local/ingest`.
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// Absolute paths, read by the daemon in order.
    #[schema(value_type = Vec<String>)]
    pub files: Vec<PathBuf>,
    /// Force a format: `ndjson`, `csv`, `cdr` or `xlsx`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub format: Option<Format>,
    /// CSV text encoding, a WHATWG label (`windows-1251`, `utf-8`...);
    /// detected when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// CSV delimiter: `,`, `;`, `tab` or `|`; detected when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// XLSX worksheet by name; the first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Absolute path of a column mapping file (TOML) on the node's disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub map: Option<PathBuf>,
}

/// `POST /api/v1/records`: the body's format.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `ndjson`, `csv`, `cdr` or `xlsx` (detected when absent).
    #[param(value_type = Option<String>)]
    pub format: Option<Format>,
    /// CSV text encoding, a WHATWG label (`windows-1251`, `utf-8`...);
    /// detected when absent.
    pub encoding: Option<String>,
    /// CSV delimiter: `,`, `;`, `tab` or `|`; detected when absent.
    pub delimiter: Option<String>,
    /// XLSX worksheet by name; the first when absent.
    pub sheet: Option<String>,
    /// Absolute path of a column mapping file (TOML) on the node's disk.
    #[param(value_type = Option<String>)]
    pub map: Option<PathBuf>,
}

/// The reading options of a request, the mapping file read and checked.
fn reading(
    encoding: Option<&str>,
    delimiter: Option<&str>,
    sheet: Option<&str>,
    map: Option<&std::path::Path>,
) -> Result<ingest::read::Reading, ApiError> {
    if let Some(m) = map {
        super::absolute(m).map_err(|e| e.at("map"))?;
    }
    ingest::read::Reading::from_options(encoding, delimiter, sheet, map).map_err(bad_request)
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
    JsonBody(req): JsonBody<IngestRequest>,
) -> Result<axum::response::Response, ApiError> {
    for p in &req.files {
        super::absolute(p)?;
    }
    let reading = reading(
        req.encoding.as_deref(),
        req.delimiter.as_deref(),
        req.sheet.as_deref(),
        req.map.as_deref(),
    )?;
    let reply = ingest_files(&node, req.files, req.format, reading).await?;
    let count = reply.summary.stored + reply.summary.updated;
    Ok(audited(
        Json(reply),
        Audited {
            count,
            ..Audited::default()
        },
    ))
}

/// Stores records from the body (a file as it is): the body goes to a
/// private temporary file in the data folder, read like any file.
pub(super) async fn upload(
    State(node): State<Arc<Node>>,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Result<axum::response::Response, ApiError> {
    let reading = reading(
        q.encoding.as_deref(),
        q.delimiter.as_deref(),
        q.sheet.as_deref(),
        q.map.as_deref(),
    )?;
    let bytes = body_bytes(request, &(), MAX_UPLOAD).await?;
    if bytes.is_empty() {
        return Err(bad_request("the body is empty: send the file's content").at("body"));
    }
    let file = super::upload_file(&node, bytes.into()).await?;
    let path = file.path().to_owned();
    let mut reply = ingest_files(&node, vec![path.clone()], q.format, reading).await?;
    super::unname(
        reply.refused.iter_mut().chain(reply.warnings.iter_mut()),
        &path,
        "body",
    );
    drop(file);
    let count = reply.summary.stored + reply.summary.updated;
    Ok(audited(
        Json(reply),
        Audited {
            count,
            ..Audited::default()
        },
    ))
}

async fn ingest_files(
    node: &Arc<Node>,
    files: Vec<PathBuf>,
    format: Option<Format>,
    mut reading: ingest::read::Reading,
) -> Result<IngestReply, ApiError> {
    let config = node.config.lock().map_err(internal)?.clone();
    reading.markings = Arc::new(config.ingest.markings.clone());
    let opts = ingest::Options {
        format,
        batch_size: config.ingest.batch_size.get(),
        max_line: config.ingest.max_line_bytes.get(),
        country: config.node.country,
    };
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let started = std::time::Instant::now();
    let (summary, collect) = tokio::task::spawn_blocking(move || {
        let mut collect = Collect::default();
        ingest::run_with(&store, &files, &opts, &reading, &mut collect).map(|s| (s, collect))
    })
    .await
    .map_err(internal)?
    .map_err(|e| match e {
        ingest::Error::Open { .. } => bad_request(e),
        // The batches written stay; the rest can be sent again after the
        // restart (a record stored already comes back unchanged).
        ingest::Error::Store(crate::store::Error::Stopping) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the node is stopping: the records committed so far are stored; send the files again once it is back",
        ),
        _ => internal(e),
    })?;
    // Corrections of records a peer requested: the requesters hear now.
    node.exchange_now.notify_one();
    Ok(IngestReply {
        summary,
        refused: collect.refused,
        warnings: collect.warnings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `POST /api/v1/searches`: selectors the CLI read itself (its errors
/// are about what the user typed), or a value for the node to read.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    /// Selectors to look up.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub selectors: Vec<Selector>,
    /// Or: an identifier written in any form.
    #[serde(default)]
    pub value: Option<String>,
    /// Read `value` only as this kind.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub kind: Option<SelectorKind>,
    /// Date of birth (YYYY-MM-DD or DD.MM.YYYY): `value` is a person's name.
    #[serde(default)]
    pub dob: Option<String>,
    /// Most records (1 to 1000).
    pub limit: usize,
    /// The case reference and legal basis the look-up is made for: the
    /// audit entry carries their salted commitment.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub case: Option<(String, String)>,
}

pub(super) async fn find(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<FindRequest>,
) -> Result<axum::response::Response, ApiError> {
    if !(1..=1000).contains(&req.limit) {
        return Err(bad_request("limit must be 1 to 1000").at("limit"));
    }
    let mut selectors = req.selectors;
    if let Some(value) = &req.value {
        let dob = req
            .dob
            .as_deref()
            .map(str::parse::<liaison_protocol::date::Date>)
            .transpose()
            .map_err(|e| bad_request(format!("dob: {e}")).at("dob"))?;
        let country = node.config.lock().map_err(internal)?.node.country;
        let read = find::query_selectors(value, req.kind, dob, country).map_err(|e| {
            bad_request(format!(
                "the value does not read as an identifier: {}",
                e.error
            ))
            .at("value")
        })?;
        selectors.extend(read);
    }
    if selectors.is_empty() {
        return Err(bad_request(
            "nothing to look up: give selectors, or a value (with kind, or dob for a person)",
        )
        .at("value"));
    }
    let store = node.post.store().clone();
    let limit = req.limit;
    let v = blocking(move || {
        find::lookup(&Records::new(&store), &selectors, limit)
            .map(|found| find::to_json(&selectors, &found))
    })
    .await?;
    let count = v["records"].as_array().map_or(0, |r| r.len() as u64);
    let case = match req.case {
        None => None,
        Some((reference, basis)) => {
            let store = node.post.store().clone();
            Some(blocking(move || store.case_commitment(&reference, &basis)).await?)
        }
    };
    Ok(audited(
        Json(v),
        Audited {
            count,
            case,
            ..Audited::default()
        },
    ))
}

fn no_record(id: &str) -> ApiError {
    not_found(format!("no record with id {id:?}")).at("id")
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
    Path(given): Path<String>,
) -> Result<Json<Withdrawn>, ApiError> {
    let _writer = node.records_writer.lock().await;
    let store = node.post.store().clone();
    let id = given.clone();
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
    .ok_or_else(|| no_record(&given))
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

/// `POST /api/v1/store/reindex`: re-indexes records stored under older rules.
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
