//! The CLI's client for the running daemon's local API.
//!
//! [`Client::find`] connects to the Unix socket `DATA_DIR/api.sock`. The
//! socket lives in the data folder (mode 0700) and is itself mode 0600,
//! so only the service account reaches it, and only the running daemon
//! can be listening on it: a daemon killed with `kill -9` leaves a file
//! that refuses connections, which counts as not running. (A TCP port
//! named in a file could be taken by anyone after a crash, and would be
//! sent case references and legal bases.) Every request also carries the
//! bearer token from `DATA_DIR/api.token`.

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

/// A connection to the running daemon.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    token: String,
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
        let token_path = daemon::token_file(data_dir);
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading the API token {}", token_path.display()))?
            .trim()
            .to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the client's runtime")?;
        Ok(Some(Client {
            socket,
            token,
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
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
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
            let message = body["error"].as_str().unwrap_or("no message").to_owned();
            return Err(anyhow!("the daemon refused {path}: {message} ({status})"));
        }
        Ok(serde_json::from_value::<T>(body)?)
    }

    /// `GET path`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::answer(path, self.call(Method::GET, path, Vec::new())?)
    }

    /// `POST path` with a JSON body.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let body = serde_json::to_vec(body)?;
        Self::answer(path, self.call(Method::POST, path, body)?)
    }
}
