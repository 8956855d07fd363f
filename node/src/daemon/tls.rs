//! HTTPS for the API's TCP listener, so `[api] listen` may leave
//! loopback without sending the bearer token in clear.
//!
//! A connection goes: accepted by `serve`'s loop while fewer than 256
//! are open, then in its own task the TLS handshake (TLS 1.3, ALPN
//! `http/1.1`, at most 10 s, so a slow or silent client never holds up
//! accepting), then HTTP/1.1 served by the same axum router as the Unix
//! socket. The node's cancellation token stops accepting and shuts each
//! connection down gracefully.
//!
//! `acceptor` reads the configured PEM files (refusing a key that group
//! or others may read); [`self_signed`] makes a pair for
//! `liaison init --tls` and [`fingerprint`] the SHA-256 a browser shows.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn, Instrument as _};
use zeroize::Zeroizing;

/// Longest a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections open at once, handshaking or served; more wait in the
/// kernel's backlog.
const MAX_CONNECTIONS: usize = 256;
/// Longest a connection may take to send a request's headers, and so
/// longest an idle keep-alive connection holds a slot.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may finish after the node is told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1 << 20;
/// How long a self-signed certificate is valid: 825 days, the longest
/// Apple's systems accept for a TLS server certificate.
const SELF_SIGNED_DAYS: i64 = 825;

/// Why the API's TLS could not be set up or its files made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: cannot read the API's TLS {what}: {source}", path.display())]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file that is not PEM of the kind expected.
    #[error("{}: no usable PEM {what} in it ({reason}): {fix}", path.display())]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
        /// What the file should hold.
        fix: &'static str,
    },
    /// The key file may be read by group or others.
    #[error(
        "{}: the API's TLS key may be read by other accounts (mode {mode:04o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    KeyReadable {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The certificate and key do not make a usable pair.
    #[error(
        "{} and {}: cannot serve TLS with them ({reason}): give api.tls_key the private key of api.tls_cert's first certificate (ECDSA P-256/P-384, Ed25519 or RSA)",
        cert.display(),
        key.display()
    )]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// A name for a self-signed certificate that is neither a DNS name
    /// nor an IP address.
    #[error("{name:?} is not a host name or IP address for the API's certificate: give names like \"liaison.agency.example\" or \"192.0.2.10\"")]
    BadName {
        /// The name given.
        name: String,
    },
    /// The certificate could not be made.
    #[error("cannot make the API's self-signed certificate: {0}")]
    Generate(#[source] rcgen::Error),
    /// A file could not be written (or already exists).
    #[error("{}: cannot write the API's TLS {what}: {source}{}", path.display(), if source.kind() == std::io::ErrorKind::AlreadyExists { " (it is not overwritten: move it away first)" } else { "" })]
    Write {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Reads at most [`MAX_PEM_BYTES`] of an open file.
fn read_capped(
    file: fs::File,
    what: &'static str,
    path: &Path,
) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_PEM_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| TlsError::Read {
            what,
            path: path.to_owned(),
            source,
        })?;
    Ok(bytes)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |source| TlsError::Read {
        what: "certificate",
        path: path.to_owned(),
        source,
    };
    let bytes = read_capped(fs::File::open(path).map_err(read)?, "certificate", path)?;
    let bad = |reason: String| TlsError::Pem {
        what: "certificate",
        path: path.to_owned(),
        reason,
        fix: "give api.tls_cert a file of -----BEGIN CERTIFICATE----- blocks, the server's first",
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("none found".into()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let file = fs::File::open(path).map_err(|source| TlsError::Read {
        what: "key",
        path: path.to_owned(),
        source,
    })?;
    // The mode of the file opened, not of whatever the path names a
    // moment later.
    let mode = file
        .metadata()
        .map_err(|source| TlsError::Read {
            what: "key",
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(TlsError::KeyReadable {
            path: path.to_owned(),
            mode,
        });
    }
    let bytes = read_capped(file, "key", path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        what: "private key",
        path: path.to_owned(),
        reason: e.to_string(),
        fix: "give api.tls_key a file with one -----BEGIN PRIVATE KEY----- (or RSA or EC PRIVATE KEY) block",
    })
}

/// The TLS side of the API's TCP listener: the chain in `cert` (PEM,
/// leaf first) with the key in `key` (PEM, mode 0600 or stricter), TLS 1.3
/// only, ALPN `http/1.1`. Errors name the file and the fix.
pub(super) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates(cert)?;
    let private = private_key(key)?;
    let unusable = |e: rustls::Error| TlsError::Unusable {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(unusable)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(unusable)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The SHA-256 of a certificate's DER bytes, upper-case hex in pairs
/// joined by colons, as browsers show it.
fn der_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA-256 fingerprint (`AB:CD:…`, as browsers show it) of the first
/// certificate in the PEM file `cert`.
pub fn fingerprint(cert: &Path) -> Result<String, TlsError> {
    let chain = certificates(cert)?;
    Ok(der_fingerprint(chain[0].as_ref()))
}

/// Makes a self-signed certificate for the API and its key, ECDSA P-256,
/// valid from an hour ago for 825 days, for `names` (host names or IP
/// addresses) and `localhost` and `127.0.0.1`: writes
/// [`liaison_config::TLS_CERT_FILE`] (mode 0644, less the umask) and
/// [`liaison_config::TLS_KEY_FILE`] (mode 0600) into `dir`, neither of
/// which may exist yet. Returns the certificate's [`fingerprint`].
pub fn self_signed(dir: &Path, names: &[String]) -> Result<String, TlsError> {
    let mut sans: Vec<String> = Vec::with_capacity(names.len() + 2);
    for name in names
        .iter()
        .map(|n| n.trim().to_owned())
        .chain(["localhost".into(), "127.0.0.1".into()])
    {
        ServerName::try_from(name.as_str())
            .map_err(|_| TlsError::BadName { name: name.clone() })?;
        if !sans.contains(&name) {
            sans.push(name);
        }
    }
    let mut params = rcgen::CertificateParams::new(sans).map_err(TlsError::Generate)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Liaison API");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().map_err(TlsError::Generate)?;
    let cert = params.self_signed(&key).map_err(TlsError::Generate)?;
    let key_pem = Zeroizing::new(key.serialize_pem());

    let cert_path = dir.join(liaison_config::TLS_CERT_FILE);
    let key_path = dir.join(liaison_config::TLS_KEY_FILE);
    // Both files created before either is written, so an existing one
    // fails the call with nothing overwritten and nothing half made.
    let cert_file = create(&cert_path, 0o644, "certificate")?;
    let key_file = match create(&key_path, 0o600, "key") {
        Ok(f) => f,
        Err(e) => {
            let _ = fs::remove_file(&cert_path);
            return Err(e);
        }
    };
    let written = write_synced(key_file, key_pem.as_bytes(), &key_path, "key")
        .and_then(|()| write_synced(cert_file, cert.pem().as_bytes(), &cert_path, "certificate"));
    if let Err(e) = written {
        let _ = fs::remove_file(&cert_path);
        let _ = fs::remove_file(&key_path);
        return Err(e);
    }
    Ok(der_fingerprint(cert.der()))
}

fn create(path: &Path, mode: u32, what: &'static str) -> Result<fs::File, TlsError> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| TlsError::Write {
            what,
            path: path.to_owned(),
            source,
        })
}

fn write_synced(
    mut file: fs::File,
    bytes: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<(), TlsError> {
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| TlsError::Write {
            what,
            path: path.to_owned(),
            source,
        })
}

/// Serves `app` over TLS on `listener` until `cancel`: the accept loop
/// in its own task, each connection in a task of its own.
pub(super) fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(accept_loop(listener, acceptor, app, cancel).in_current_span())
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let (tcp, peer) = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    pause_after(e, &cancel).await;
                    continue;
                }
            },
        };
        let (acceptor, app, cancel) = (acceptor.clone(), app.clone(), cancel.clone());
        connections.spawn(
            async move {
                connection(tcp, peer, acceptor, app, cancel).await;
                drop(slot);
            }
            .in_current_span(),
        );
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// After a failed accept: at once for an error of that one connection;
/// a second for others (out of file descriptors), as `axum::serve` does,
/// rather than spinning.
async fn pause_after(e: std::io::Error, cancel: &CancellationToken) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    warn!(error = %e, "API (TLS): accepting a connection failed");
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: axum::Router,
    cancel: CancellationToken,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let stream = tokio::select! {
        biased;
        () = cancel.cancelled() => return,
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                debug!(%peer, error = %e, "API (TLS): handshake failed");
                return;
            }
            Err(_) => {
                debug!(%peer, "API (TLS): handshake timed out");
                return;
            }
        },
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(conn);
    let served = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await {
                Ok(served) => served,
                Err(_) => {
                    debug!(%peer, "API (TLS): connection cut at shutdown");
                    return;
                }
            }
        }
        served = conn.as_mut() => served,
    };
    if let Err(e) = served {
        debug!(%peer, error = %e, "API (TLS): connection ended with an error");
    }
}

#[cfg(test)]
mod tests;
