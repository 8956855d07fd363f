//! The CLI's client for the running daemon's local API.
//!
//! [`Client::find`] connects to the Unix socket `DATA_DIR/api.sock`. The
//! socket lives in the data folder (mode 0700) and is itself mode 0600,
//! so only the service account reaches it, and only the running daemon
//! can be listening on it: a daemon killed with `kill -9` leaves a file
//! that refuses connections, which counts as not running. (A TCP port
//! named in a file could be taken by anyone after a crash, and would be
//! sent case references and legal bases.) Every request names the user
//! the CLI acts as ([`acting_as`]: `--as`, `LIAISON_USER`, or the OS
//! account's name), whose roles the daemon applies and under whose name
//! it logs the action.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{header, Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::daemon;

/// Time to wait for the daemon's answer (pings wait up to 10 s each).
const TIMEOUT: Duration = Duration::from_secs(600);

/// The user this process acts as, once set.
static ACTING_AS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the user the CLI acts as (once, at start; later calls are no-ops).
pub fn set_acting_as(name: &str) {
    let _ = ACTING_AS.set(name.to_owned());
}

/// The user the CLI acts as: the one set, else the OS account's name
/// (`USER` or `LOGNAME`, lower-cased) if it can be a user name, else
/// `operator`.
pub fn acting_as() -> String {
    ACTING_AS.get().cloned().unwrap_or_else(os_account)
}

/// The OS account's login name as the environment gives it.
pub fn os_login() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
}

/// The OS account's name as a user name (`operator` if it cannot be one).
pub fn os_account() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.to_lowercase())
        .find(|n| liaison_protocol::audit::Entry::valid_user(n))
        .unwrap_or_else(|| "operator".to_owned())
}

/// A connection to the running daemon.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    user: String,
    /// The user's own API token (`LIAISON_TOKEN`), which proves who it is
    /// where the socket's word is not enough (the two-person rule).
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// The running daemon of the node whose store is `data_dir`, if any.
    pub fn find(data_dir: &Path) -> Result<Option<Client>> {
        let socket = daemon::api::socket_file(data_dir);
        match std::os::unix::net::UnixStream::connect(&socket) {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None)
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "connecting to the daemon's socket {} (run the CLI as the account the daemon runs as)",
                        socket.display()
                    )
                })
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the client's runtime")?;
        Ok(Some(Client {
            socket,
            user: acting_as(),
            token: std::env::var("LIAISON_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
            runtime,
        }))
    }

    /// One request on a fresh connection; the status and the JSON body.
    fn call(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(hyper::StatusCode, serde_json::Value)> {
        self.runtime.block_on(async {
            let stream = tokio::net::UnixStream::connect(&self.socket)
                .await
                .with_context(|| format!("connecting to {}", self.socket.display()))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .context("talking to the daemon")?;
            let driver = tokio::spawn(connection);
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "liaison")
                .header(daemon::api::auth::USER_HEADER, &self.user)
                .header(
                    header::AUTHORIZATION,
                    self.token
                        .as_deref()
                        .map_or(String::new(), |t| format!("Bearer {t}")),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .context("building the request")?;
            let response = tokio::time::timeout(TIMEOUT, sender.send_request(request))
                .await
                .map_err(|_| anyhow!("the daemon did not answer {path} within {TIMEOUT:?}"))?
                .with_context(|| format!("calling the daemon's {path}"))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .with_context(|| format!("reading the daemon's answer to {path}"))?
                .to_bytes();
            driver.abort();
            let value = serde_json::from_slice(&bytes)
                .with_context(|| format!("the daemon's answer to {path} is not JSON"))?;
            Ok((status, value))
        })
    }

    fn answer<T: DeserializeOwned>(
        path: &str,
        (status, body): (hyper::StatusCode, serde_json::Value),
    ) -> Result<T> {
        if !status.is_success() {
            let message = body["detail"].as_str().unwrap_or("no message").to_owned();
            let field = body["field"]
                .as_str()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default();
            return Err(anyhow!(
                "the daemon refused {path}: {message}{field} ({status})"
            ));
        }
        Ok(serde_json::from_value::<T>(body)?)
    }

    /// `GET path`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::answer(path, self.call(Method::GET, path, Vec::new())?)
    }

    /// Whether the acting user's roles grant `right`.
    pub fn may(&self, right: crate::users::Right) -> Result<bool> {
        let me: daemon::api::people::Session = self.get("/api/v1/session")?;
        Ok(me.roles.iter().any(|r| r.grants(right)))
    }

    /// Requests both ways: incoming only if the user may decide them.
    pub fn requests(&self, deadline_ms: u64) -> Result<daemon::api::exchange::Requests> {
        let incoming = if self.may(crate::users::Right::Decide)? {
            self.get_all("/api/v1/requests/incoming")?
        } else {
            Vec::new()
        };
        Ok(daemon::api::exchange::Requests {
            incoming,
            outgoing: self.get_all("/api/v1/requests/outgoing")?,
            deadline_ms,
        })
    }

    /// Reports held and deleted.
    pub fn reports(&self) -> Result<daemon::api::exchange::Reports> {
        Ok(daemon::api::exchange::Reports {
            reports: self.get_all("/api/v1/reports")?,
            deleted: self.get_all("/api/v1/reports/deleted")?,
        })
    }

    /// `DELETE path`.
    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::answer(path, self.call(Method::DELETE, path, Vec::new())?)
    }

    /// Every item of the paged list at `path`, page by page.
    pub fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                None => format!("{path}{sep}limit={}", daemon::api::wire::MAX_PAGE),
                Some(c) => format!(
                    "{path}{sep}limit={}&cursor={c}",
                    daemon::api::wire::MAX_PAGE
                ),
            };
            let page: daemon::api::wire::Page<T> = self.get(&url)?;
            out.extend(page.items);
            match page.next {
                Some(n) => cursor = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// `POST path` with a JSON body.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let body = serde_json::to_vec(body)?;
        Self::answer(path, self.call(Method::POST, path, body)?)
    }
}

pub use crate::daemon::api::wire::url_segment;
