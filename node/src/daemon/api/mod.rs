//! The daemon's local HTTP API (JSON, bearer token).
//!
//! Served on the Unix socket `DATA_DIR/api.sock` (mode 0600, in a data
//! folder of mode 0700: only the service account reaches it), which is
//! what the CLI (`cli::client`) uses: a socket file is bound to the
//! running daemon, so after a crash nobody else can take its place the
//! way another process could take a TCP port named in a stale file.
//! `[api] listen` adds a loopback TCP listener for the agency's own tools
//! (its address in `DATA_DIR/api.addr`). The token is 32 random bytes
//! (hex) in `DATA_DIR/api.token`, mode 0600, made anew at each start.
//!
//! | route | does |
//! |---|---|
//! | `GET /v1/status` | [`crate::status::Status`] with live connections |
//! | `POST /v1/reload` | re-reads the config's peers (after `peer add/remove`) |
//! | `POST /v1/ping` | `{peer, count, queue, size}`: signed round trips, or pings queued in the outbox |
//!
//! | `POST /v1/bundle/export` | `{peer, out}`: the peer's outbox to a file |
//! | `POST /v1/bundle/import` | `{file, receipts_out}`: envelopes or receipts from a file |
//!
//! and the record routes of [`records`], the audit routes of [`audit`] and
//! the matching routes of [`matching`]. Paths are absolute: the daemon
//! does not know the caller's folder.

pub mod audit;
pub mod exchange;
pub mod matching;
pub mod records;

use std::fs;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use liaison_config::Config;
use liaison_protocol::envelope::{self, Outcome, Receipt};
use rand_core_09::{OsRng, TryRngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing::{info, Instrument as _};

use super::Node;
use crate::post::context;
use crate::{bundle, status};

/// Largest request body the API reads.
const MAX_BODY: usize = 64 * 1024;
/// How long one ping waits for its receipt.
const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Most pings per request.
const MAX_PINGS: u32 = 10_000;
/// Most payload bytes queued by one request (all sealed in memory first).
const MAX_QUEUED_BYTES: usize = 64 << 20;

/// Where the daemon writes its TCP API address, if it has one.
pub fn addr_file(data_dir: &Path) -> PathBuf {
    data_dir.join("api.addr")
}

/// The daemon's API socket.
pub fn socket_file(data_dir: &Path) -> PathBuf {
    data_dir.join("api.sock")
}

/// The running API server.
#[derive(Debug)]
pub(super) struct Api {
    /// The Unix socket.
    pub(super) socket: PathBuf,
    /// The loopback TCP address, if configured.
    pub(super) addr: Option<SocketAddr>,
    pub(super) tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// An API error: a status and a message for the CLI to print.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, e.to_string())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Runs store work `f` on a blocking thread; its error (or the thread's)
/// is an internal error.
async fn blocking<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

/// Makes a fresh token for this run: 32 random bytes in hex, written to a
/// temporary file (mode 0600), synced, then renamed over `api.token`. A
/// new token each start means one read from a stale `api.addr` (a port
/// someone else took after a crash) is worth nothing afterwards.
fn fresh_token(data_dir: &Path) -> Result<String, StartError> {
    let path = super::token_file(data_dir);
    let tmp = data_dir.join("api.token.tmp");
    let _ = fs::remove_file(&tmp);
    let mut bytes = [0u8; 32];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        StartError::io(
            "draw the API token from the OS for",
            &path,
            std::io::Error::other(e),
        )
    })?;
    let token = crate::hex::encode(&bytes);
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        writeln!(f, "{token}")?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| StartError::io("write the API token", &path, e))?;
    Ok(token)
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
#[error("local API: cannot {what} {at}: {source}")]
pub struct StartError {
    /// What was being done.
    what: &'static str,
    /// The file or address it was done to.
    at: String,
    /// The system's error.
    source: std::io::Error,
}

impl StartError {
    fn io(what: &'static str, path: &Path, source: std::io::Error) -> StartError {
        StartError::at(what, path.display(), source)
    }

    fn at(what: &'static str, at: impl std::fmt::Display, source: std::io::Error) -> StartError {
        StartError {
            what,
            at: at.to_string(),
            source,
        }
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    // Constant time in the contents: the token is a secret. An empty
    // expected token never matches (it would mean no authentication).
    !b.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(expected): State<Arc<String>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(given.as_bytes(), expected.as_bytes()) {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (it is in DATA_DIR/api.token)".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// Binds the API and serves it until the node's token is cancelled, over
/// `tls` on the TCP listener if given. Call with the store open: that is
/// what makes a socket file left by a crashed daemon safe to replace.
pub(super) async fn start(
    node: Arc<Node>,
    listen: Option<SocketAddr>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    data_dir: &Path,
) -> Result<Api, StartError> {
    let token = Arc::new(fresh_token(data_dir)?);
    let socket = socket_file(data_dir);
    match fs::remove_file(&socket) {
        Ok(()) => {
            info!(path = %socket.display(), "removed the API socket of a daemon that did not stop cleanly")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StartError::io("remove the old API socket", &socket, e)),
    }
    let unix = tokio::net::UnixListener::bind(&socket)
        .map_err(|e| StartError::io("bind the API socket", &socket, e))?;
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o600))
        .map_err(|e| StartError::io("make private the API socket", &socket, e))?;
    let _ = fs::remove_file(addr_file(data_dir));
    let tcp = match listen {
        None => None,
        Some(listen) => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| StartError::at("listen on", format!("{listen} (api.listen)"), e))?;
            let addr = listener
                .local_addr()
                .map_err(|e| StartError::at("read the address bound for", listen, e))?;
            let tmp = data_dir.join("api.addr.tmp");
            fs::write(&tmp, format!("{addr}\n"))
                .and_then(|()| fs::rename(&tmp, addr_file(data_dir)))
                .map_err(|e| StartError::io("write", &addr_file(data_dir), e))?;
            Some((listener, addr))
        }
    };
    let app = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/reload", post(reload))
        .route("/v1/ping", post(ping))
        .route("/v1/ingest", post(records::ingest))
        .route("/v1/find", post(records::find))
        .route("/v1/records/{id}", get(records::show))
        .route("/v1/withdraw", post(records::withdraw))
        .route("/v1/check", get(records::check))
        .route("/v1/reindex", post(records::reindex))
        .route("/v1/bundle/export", post(bundle_export))
        .route("/v1/bundle/import", post(bundle_import))
        .route("/v1/audit/verify", get(audit::verify_log))
        .route("/v1/audit/export", post(audit::export))
        .route("/v1/audit/show", post(audit::show))
        .route("/v1/match", post(matching::run_match))
        .route("/v1/hits", get(matching::hits))
        .route("/v1/watch", get(matching::watch_list))
        .route("/v1/watch/add", post(matching::watch_add))
        .route("/v1/watch/remove", post(matching::watch_remove))
        .route("/v1/alerts", get(matching::alerts))
        .route("/v1/request", post(exchange::request))
        .route("/v1/requests", get(exchange::requests))
        .route("/v1/approve", post(exchange::approve))
        .route("/v1/refuse", post(exchange::refuse))
        .route("/v1/reports", get(exchange::reports))
        .route("/v1/reports/{id}", get(exchange::report))
        .route("/v1/purge", post(exchange::purge))
        .layer(middleware::from_fn_with_state(token, auth))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(node.clone());
    let cancel = node.cancel.clone();
    let mut tasks = Vec::new();
    let addr = tcp.as_ref().map(|(_, a)| *a);
    if let Some((listener, _)) = tcp {
        let (app, cancel) = (app.clone(), cancel.clone());
        tasks.push(match tls {
            Some(acceptor) => super::tls::serve(listener, acceptor, app, cancel),
            None => tokio::spawn(
                async move {
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(cancel.cancelled_owned())
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "API server (TCP) failed");
                    }
                }
                .in_current_span(),
            ),
        });
    }
    tasks.push(tokio::spawn(
        async move {
            let served = axum::serve(unix, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "API server (socket) failed");
            }
        }
        .in_current_span(),
    ));
    Ok(Api {
        socket,
        addr,
        tasks,
    })
}

async fn status(State(node): State<Arc<Node>>) -> Result<Json<status::Status>, ApiError> {
    let net = node.net.status().await.map_err(internal)?;
    let config = node.config.lock().map_err(internal)?.clone();
    let post = node.post.clone();
    let builds = node.router.matching().builds();
    let mut s = tokio::task::spawn_blocking(move || {
        status::collect(
            &config,
            post.identity(),
            post.store(),
            Some(net),
            Some(builds),
        )
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    s.matching.evaluated = Some(node.router.matching().evaluated());
    Ok(Json(s))
}

#[derive(Debug, Serialize)]
struct Reloaded {
    peers: Vec<String>,
}

async fn reload(State(node): State<Arc<Node>>) -> Result<Json<Reloaded>, ApiError> {
    let path = node.config.lock().map_err(internal)?.path.clone();
    let config = tokio::task::spawn_blocking(move || Config::load(&path))
        .await
        .map_err(internal)?
        .map_err(bad_request)?;
    let peers = config.peers.iter().map(|p| p.name.clone()).collect();
    node.apply_peers(config).await.map_err(internal)?;
    info!(?peers, "config reloaded");
    Ok(Json(Reloaded { peers }))
}

/// `POST /v1/ping`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingRequest {
    peer: String,
    #[serde(default = "one")]
    count: u32,
    /// Queue the pings in the outbox instead of waiting for each.
    #[serde(default)]
    queue: bool,
    /// Bytes of random payload in each ping.
    #[serde(default)]
    size: usize,
    /// The analyst's case reference and legal basis: the audit log records
    /// a salted commitment to them with each ping.
    #[serde(default)]
    case: Option<(String, String)>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Serialize, Default)]
struct PingReply {
    /// Round trips of answered pings, ms.
    rtt_ms: Vec<f64>,
    /// Pings that got no valid receipt, with why.
    failed: Vec<String>,
    /// Outbox sequence numbers of queued pings.
    queued: Vec<u64>,
}

async fn ping(
    State(node): State<Arc<Node>>,
    Json(req): Json<PingRequest>,
) -> Result<Json<PingReply>, ApiError> {
    if req.count == 0 || req.count > MAX_PINGS {
        return Err(bad_request(format!("count must be 1 to {MAX_PINGS}")));
    }
    if req.size > envelope::MAX_BODY {
        return Err(bad_request(format!(
            "size must be at most {} bytes (one envelope)",
            envelope::MAX_BODY
        )));
    }
    if req.queue && (req.count as usize).saturating_mul(req.size) > MAX_QUEUED_BYTES {
        return Err(bad_request(format!(
            "count × size is over {} MiB for one request: queue in several",
            MAX_QUEUED_BYTES >> 20
        )));
    }
    let mut payload = vec![0u8; req.size];
    OsRng.try_fill_bytes(&mut payload).map_err(internal)?;
    let peer = node.post.peer(&req.peer).map_err(bad_request)?;
    let mut reply = PingReply::default();
    let case = match req.case {
        None => None,
        Some((reference, basis)) => {
            let store = node.post.store().clone();
            Some(
                tokio::task::spawn_blocking(move || store.case_commitment(&reference, &basis))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?,
            )
        }
    };
    if req.queue {
        let post = node.post.clone();
        let p = peer.clone();
        let bodies = vec![payload.clone(); req.count as usize];
        reply.queued =
            tokio::task::spawn_blocking(move || post.queue(&p, context::PING, &bodies, case))
                .await
                .map_err(internal)?
                .map_err(internal)?;
        node.wake(peer.key.verifying_key().as_bytes());
        return Ok(Json(reply));
    }
    let peer_id = crate::identity::peer_id(&peer.key);
    let me = node.post.identity().signing.verifying_key();
    for _ in 0..req.count {
        if node.cancel.is_cancelled() {
            reply.failed.push("the daemon is shutting down".into());
            break;
        }
        let env = node
            .post
            .seal(&peer.key, context::PING, &payload)
            .map_err(internal)?;
        let bytes = env.to_bytes();
        let hash: [u8; 32] = Sha256::digest(&bytes).into();
        let sent = node.post.sent_entry(&peer, &env, &bytes, case);
        let post = node.post.clone();
        tokio::task::spawn_blocking(move || post.log(&[sent], true))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        let started = Instant::now();
        let answer = tokio::time::timeout(PING_TIMEOUT, node.net.send(peer_id, bytes)).await;
        let elapsed = started.elapsed();
        let receipt = match answer {
            Err(_) => Err(format!("no answer in {} s", PING_TIMEOUT.as_secs())),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(r)) => Receipt::decode(&r)
                .and_then(|r| {
                    r.verify(peer.key.verifying_key(), &me, &env.header.message_id, &hash)
                        .map(|()| r)
                })
                .map_err(|e| e.to_string()),
        };
        if let Ok(r) = &receipt {
            let entry = node.post.receipt_entry(&peer, &env, hash, r);
            let post = node.post.clone();
            tokio::task::spawn_blocking(move || post.log(&[entry], false))
                .await
                .map_err(internal)?
                .map_err(internal)?;
        }
        match receipt {
            Ok(r) if r.outcome == Outcome::Accepted => {
                reply.rtt_ms.push(elapsed.as_secs_f64() * 1000.0)
            }
            Ok(r) => reply.failed.push(format!("{:?}", r.outcome)),
            Err(e) => reply.failed.push(e),
        }
    }
    Ok(Json(reply))
}

/// `POST /v1/bundle/export`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Peer name.
    pub peer: String,
    /// Absolute path of the new file.
    pub out: PathBuf,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Exported {
    /// Envelopes written.
    pub envelopes: u32,
}

fn absolute(p: &Path) -> Result<(), ApiError> {
    if p.is_absolute() {
        Ok(())
    } else {
        Err(bad_request(format!(
            "{} is not an absolute path: the daemon does not know the caller's folder",
            p.display()
        )))
    }
}

fn bundle_error(e: bundle::Error) -> ApiError {
    match e {
        bundle::Error::Io(_)
        | bundle::Error::Format { .. }
        | bundle::Error::Post(crate::post::Error::UnknownPeer(_)) => bad_request(e),
        _ => internal(e),
    }
}

async fn bundle_export(
    State(node): State<Arc<Node>>,
    Json(req): Json<ExportRequest>,
) -> Result<Json<Exported>, ApiError> {
    absolute(&req.out)?;
    let post = node.post.clone();
    let envelopes = tokio::task::spawn_blocking(move || bundle::export(&post, &req.peer, &req.out))
        .await
        .map_err(internal)?
        .map_err(bundle_error)?;
    Ok(Json(Exported { envelopes }))
}

/// `POST /v1/bundle/import`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Absolute path of the bundle.
    pub file: PathBuf,
    /// Absolute path for the receipts of imported envelopes.
    pub receipts_out: PathBuf,
}

async fn bundle_import(
    State(node): State<Arc<Node>>,
    Json(req): Json<ImportRequest>,
) -> Result<Json<bundle::Imported>, ApiError> {
    absolute(&req.file)?;
    absolute(&req.receipts_out)?;
    let router = node.router.clone();
    let done =
        tokio::task::spawn_blocking(move || bundle::import(&router, &req.file, &req.receipts_out))
            .await
            .map_err(internal)?
            .map_err(bundle_error)?;
    if done.accepted > 0 {
        // Receipts may have emptied outbox entries; envelopes may be new
        // for the couriers' peers: either way a wake is cheap.
        let keys: Vec<[u8; 32]> = node
            .config
            .lock()
            .map_err(internal)?
            .peers
            .iter()
            .map(|p| *p.key.verifying_key().as_bytes())
            .collect();
        for k in keys {
            node.wake(&k);
        }
    }
    Ok(Json(done))
}
