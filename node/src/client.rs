//! The CLI's client for the running daemon's local API.
//!
//! [`Client::find`] looks for `DATA_DIR/api.addr`; if the file is there
//! and something accepts connections at that address, the daemon is
//! running and commands go through it (RocksDB allows one process). A
//! stale file (the daemon was killed) counts as not running.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::daemon;

/// Time to wait for the daemon's answer (pings wait up to 10 s each).
const TIMEOUT: Duration = Duration::from_secs(600);

/// A connection to the running daemon.
#[derive(Debug)]
pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    /// The running daemon of the node whose store is `data_dir`, if any.
    pub fn find(data_dir: &Path) -> Result<Option<Client>> {
        let addr_path = daemon::api::addr_file(data_dir);
        let text = match std::fs::read_to_string(&addr_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", addr_path.display())),
        };
        let addr: SocketAddr = text
            .trim()
            .parse()
            .with_context(|| format!("{} does not hold host:port", addr_path.display()))?;
        if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
            return Ok(None);
        }
        let token_path = daemon::token_file(data_dir);
        let token = std::fs::read_to_string(&token_path)
            .with_context(|| format!("reading the API token {}", token_path.display()))?
            .trim()
            .to_owned();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Some(Client {
            base: format!("http://{addr}"),
            token,
            agent,
        }))
    }

    fn answer<T: DeserializeOwned>(
        path: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T> {
        let mut response = response.with_context(|| format!("calling the daemon's {path}"))?;
        let status = response.status();
        let body: serde_json::Value = response
            .body_mut()
            .read_json()
            .with_context(|| format!("reading the daemon's answer to {path}"))?;
        if !status.is_success() {
            let message = body["error"].as_str().unwrap_or("no message").to_owned();
            return Err(anyhow!("the daemon refused {path}: {message} ({status})"));
        }
        Ok(serde_json::from_value(body)?)
    }

    /// `GET path`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call();
        Self::answer(path, r)
    }

    /// `POST path` with a JSON body.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .send_json(body);
        Self::answer(path, r)
    }
}
