//! The daemon's HTTP API (`/api/v1`, JSON, RFC 9457 problems).
//!
//! Served on the Unix socket `DATA_DIR/api.sock` (mode 0600, in a data
//! folder of mode 0700: only the service account reaches it), which is
//! what the CLI (`cli::client`) uses, naming its user in a header; and,
//! with `[api] listen`, on TCP (loopback plain HTTP, or any address over
//! TLS) for browsers and the agency's tools, who sign in as users
//! (`auth`). A socket file is bound to the running daemon, so after a
//! crash nobody else can take its place the way another process could
//! take a TCP port named in a stale file.
//!
//! - `routes`: the one route table, the router and the OpenAPI document
//!   built from it;
//! - `auth`: principals, sessions, each route's right and audit entry;
//! - `wire`: problems, JSON bodies, pages;
//! - the handlers: this file (status, peers, reload, pings, bundles),
//!   [`records`], [`matching`], [`exchange`], [`audit`], `people` (users
//!   and sessions) and `events` (the event stream).

pub mod audit;
pub mod auth;
mod events;
pub mod exchange;
pub mod matching;
pub mod people;
pub mod records;
pub mod routes;
pub mod wire;

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::Response;
use axum::Json;
use liaison_config::Config;
use liaison_protocol::envelope::{self, Outcome, Receipt};
use rand_core_09::{OsRng, TryRngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing::{info, Instrument as _};

use super::Node;
use crate::post::context;
use crate::{bundle, status};
pub use routes::{openapi, openapi_text};
use wire::{bad_request, internal, ApiError, JsonBody, Page, PageQuery};

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

/// Binds the API and serves it until the node's token is cancelled, over
/// `tls` on the TCP listener if given. Call with the store open: that is
/// what makes a socket file left by a crashed daemon safe to replace.
pub(super) async fn start<E: std::error::Error + Send + Sync + 'static>(
    node: Arc<Node>,
    listen: Option<SocketAddr>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    data_dir: &Path,
    tcp_app: Option<impl FnOnce(axum::Router) -> Result<axum::Router, E>>,
) -> Result<Api, StartError> {
    let _ = fs::remove_file(super::token_file(data_dir));
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
    let auth = Arc::new(auth::Auth {
        node: node.clone(),
        sessions: auth::Sessions::new(),
        streams: Arc::new(tokio::sync::Semaphore::new(events::MAX_STREAMS)),
    });
    let app = routes::router(&auth)
        .fallback(|| async {
            wire::not_found("no such route: the API's routes are listed at /api/openapi.json")
        })
        .layer(middleware::from_fn_with_state(
            auth.clone(),
            auth::authenticate,
        ))
        .layer(axum::Extension(auth))
        .layer(middleware::map_response(problems))
        .layer(middleware::map_response(secure_headers))
        .layer(axum::extract::DefaultBodyLimit::max(wire::MAX_UPLOAD))
        .with_state(node.clone());
    let socket_app = app.clone().layer(axum::Extension(auth::Via::Socket));
    // What the TCP listener serves: the API, or the caller's wrapping of
    // it (the console beside it).
    let app = match tcp_app {
        Some(wrap) => wrap(app).map_err(|e| {
            StartError::at("build the console", "console", std::io::Error::other(e))
        })?,
        None => app,
    };
    let cancel = node.cancel.clone();
    let mut tasks = Vec::new();
    let addr = tcp.as_ref().map(|(_, a)| *a);
    if let Some((listener, _)) = tcp {
        let (app, cancel) = (app.clone(), cancel.clone());
        tasks.push(match tls {
            Some(acceptor) => super::tls::serve(
                listener,
                acceptor,
                app.layer(middleware::map_response(strict_transport)),
                cancel,
            ),
            None => tokio::spawn(
                async move {
                    let app = app.layer(middleware::from_fn(loopback_host));
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
            let served = axum::serve(unix, socket_app)
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PingRequest {
    /// The peer's name.
    peer: String,
    /// How many (1 to 10,000).
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
    #[schema(value_type = Option<Vec<String>>)]
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
    JsonBody(req): JsonBody<PingRequest>,
) -> Result<Response, ApiError> {
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
        let extra = ping_audit(case, &peer, req.count);
        return Ok(auth::audited(Json(reply), extra));
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
    let extra = ping_audit(case, &peer, req.count);
    Ok(auth::audited(Json(reply), extra))
}

/// What a ping's local entry carries: its case, its peer, how many.
fn ping_audit(case: Option<[u8; 32]>, peer: &liaison_config::Peer, count: u32) -> auth::Audited {
    auth::Audited {
        case,
        peer: Some(*peer.key.verifying_key().as_bytes()),
        count: u64::from(count),
        ..auth::Audited::default()
    }
}

/// `POST /api/v1/local/bundles/export`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Peer name.
    pub peer: String,
    /// Absolute path of the new file.
    #[schema(value_type = String)]
    pub out: PathBuf,
}

/// Its answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Exported {
    /// Envelopes written.
    pub envelopes: u32,
}

/// `bytes` in a private temporary file in the data folder, to be read
/// like any file; it is removed when dropped.
async fn upload_file(node: &Node, bytes: Vec<u8>) -> Result<tempfile::NamedTempFile, ApiError> {
    let dir = node.config.lock().map_err(internal)?.node.data_dir.clone();
    blocking(move || {
        use std::io::Write as _;
        let mut f = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(&dir)?;
        f.write_all(&bytes)?;
        Ok::<_, std::io::Error>(f)
    })
    .await
}

/// Messages that name an upload's temporary `path` name `as_` instead:
/// the caller sent a body, not a file on the node's disk.
fn unname<'a>(lines: impl IntoIterator<Item = &'a mut String>, path: &Path, as_: &str) {
    let p = path.display().to_string();
    for l in lines {
        *l = l.replace(&p, as_);
    }
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
    JsonBody(req): JsonBody<ExportRequest>,
) -> Result<Json<Exported>, ApiError> {
    absolute(&req.out)?;
    let post = node.post.clone();
    let envelopes = tokio::task::spawn_blocking(move || bundle::export(&post, &req.peer, &req.out))
        .await
        .map_err(internal)?
        .map_err(bundle_error)?;
    Ok(Json(Exported { envelopes }))
}

/// `POST /api/v1/local/bundles/import`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Absolute path of the bundle.
    #[schema(value_type = String)]
    pub file: PathBuf,
    /// Absolute path for the receipts of imported envelopes.
    #[schema(value_type = String)]
    pub receipts_out: PathBuf,
}

async fn bundle_import(
    State(node): State<Arc<Node>>,
    JsonBody(req): JsonBody<ImportRequest>,
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

/// An error answered by axum itself (a path or query that does not
/// parse, a method the route does not take) as a problem document like
/// every other: its text is the detail, and the parameter it names, if
/// any, the field.
async fn problems(r: Response) -> Response {
    use axum::response::IntoResponse as _;
    let status = r.status();
    let problem = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || problem {
        return r;
    }
    let (_, body) = r.into_parts();
    let text = axum::body::to_bytes(body, wire::MAX_BODY)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    // "Failed to deserialize query string: limit: invalid digit ..."
    let field = detail
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_once(": "))
        .map(|(f, _)| f.to_owned())
        .filter(|f| !f.contains(' '));
    let mut e = ApiError::new(status, detail);
    if let Some(f) = field {
        e = e.at(f);
    }
    e.into_response()
}

/// On plain HTTP (loopback only) a request must name a loopback host: a
/// web page elsewhere that points its own name at 127.0.0.1 (DNS
/// rebinding) sends that name, and is refused before anything runs.
async fn loopback_host(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::response::IntoResponse as _;
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return next.run(request).await;
    }
    ApiError::new(
        axum::http::StatusCode::MISDIRECTED_REQUEST,
        "this listener serves localhost only: use http://127.0.0.1:PORT, or set [api] tls_cert and tls_key to serve a host name over HTTPS",
    )
    .at("Host")
    .into_response()
}

/// Over HTTPS: browsers keep to HTTPS for this host for a year.
async fn strict_transport(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    r
}

/// Headers on every answer: nothing cached, no sniffing, no framing.
async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    protect(h, "default-src 'none'; frame-ancestors 'none'");
    r
}

/// The headers every answer of the node's HTTP listeners carries, the
/// API's and the console's: content policy `csp`, no framing, no
/// sniffing, no referrer.
pub(super) fn protect(h: &mut axum::http::HeaderMap, csp: &'static str) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// A trusted agency, as `GET /api/v1/peers` lists it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PeerView {
    /// Its name.
    pub name: String,
    /// Its agency key (hex), to compare with what the agency says.
    pub key: String,
    /// The addresses it is dialled at.
    pub addrs: Vec<String>,
    /// Whether it is connected now.
    pub connected: bool,
}

async fn peers(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PeerView>>, ApiError> {
    let net = node.net.status().await.map_err(internal)?;
    let peers = node.config.lock().map_err(internal)?.peers.clone();
    let views = peers
        .iter()
        .map(|p| PeerView {
            name: p.name.clone(),
            key: crate::hex::encode(p.key.verifying_key().as_bytes()),
            addrs: p.addrs.iter().map(|a| a.to_string()).collect(),
            connected: net.connected.contains_key(&p.name),
        })
        .collect();
    Ok(Json(page.page(views, |p: &PeerView| p.name.clone())?))
}
