//! The API's TCP listener over TLS: a node made with `init --tls` and
//! `[api] listen` set serves HTTPS with the certificate whose fingerprint
//! init printed, answers `/api/v1/status` (401 without a token, 200 with
//! it), gives plain HTTP no HTTP answer, and refuses to start with a key
//! others may read.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpStream;

use crate::common::{binary, liaison_in, wait_with_timeout, COMMAND_TIMEOUT};

/// Longest wait for the daemon to start or for one request.
const WAIT: Duration = Duration::from_secs(60);

/// A daemon killed if the test fails before stopping it.
struct Daemon(Option<Child>);

impl Daemon {
    /// `liaison run`; its address once it prints that it is running.
    fn start(config: &Path) -> (Daemon, String) {
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("LIAISON_CONFIG")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("liaison run starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let daemon = Daemon(Some(child));
        let line = rx
            .recv_timeout(WAIT)
            .expect("the daemon says it is running");
        (daemon, line)
    }

    /// SIGTERM, and a clean exit within the command timeout.
    fn stop(mut self) {
        let child = self.0.take().expect("running");
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let out = wait_with_timeout(child, COMMAND_TIMEOUT);
        assert!(
            out.status.success(),
            "the daemon exited with {}",
            out.status
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A client trusting only the certificate in `cert`, offering what
/// browsers offer.
fn connector(cert: &Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `GET path` on `io`, with the bearer `token` if given: the status and
/// body, or why there was no HTTP answer.
async fn get<T>(io: T, path: &str, token: Option<&str>) -> Result<(u16, String), hyper::Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let driver = tokio::spawn(connection);
    let mut request = hyper::Request::get(path).header(hyper::header::HOST, "localhost");
    if let Some(token) = token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    driver.abort();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `GET path` over TLS, as `localhost`: the status, the body and the
/// SHA-256 fingerprint of the certificate the server presented.
async fn get_tls(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("a TLS handshake trusting init's certificate");
    let session = tls.get_ref().1;
    assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    let served = Sha256::digest(session.peer_certificates().unwrap()[0].as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let (status, body) = get(tls, path, token).await.expect("an HTTP answer");
    (status, body, served)
}

#[tokio::test]
async fn init_tls_serves_the_api_over_https_only() {
    let dir = tempfile::tempdir().unwrap();
    let init = liaison_in(
        dir.path(),
        &[
            "init",
            "--dir",
            "node",
            "--name",
            "kg-border",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--tls",
            "--tls-name",
            "liaison.kg.example",
        ],
    );
    assert_eq!(init.code, 0, "{init:?}");
    let printed = init
        .stdout
        .lines()
        .skip_while(|l| !l.contains("SHA-256 fingerprint"))
        .nth(1)
        .expect("init prints the certificate's fingerprint")
        .trim()
        .to_owned();
    let node = dir.path().join("node");
    let (cert, key): (PathBuf, PathBuf) = (node.join("api-cert.pem"), node.join("api-key.pem"));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let config = node.join("liaison.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("tls_cert = \"api-cert.pem\""), "{text}");
    std::fs::write(
        &config,
        text.replace("listen = \"\"", "listen = \"127.0.0.1:0\""),
    )
    .unwrap();

    let (daemon, line) = Daemon::start(&config);
    let addr = std::fs::read_to_string(node.join("data/api.addr")).unwrap();
    let addr: SocketAddr = addr.trim().parse().unwrap();
    assert!(line.contains(&format!("https://{addr}")), "{line}");
    let config_s = config.to_str().unwrap();
    let made = liaison_in(
        dir.path(),
        &[
            "--config",
            config_s,
            "user",
            "token",
            crate::common::OPERATOR,
        ],
    );
    assert_eq!(made.code, 0, "{made:?}");
    let token = made.stdout.trim().to_owned();

    let client = connector(&cert);
    let (status, _, served) =
        tokio::time::timeout(WAIT, get_tls(&client, addr, "/api/v1/status", None))
            .await
            .expect("an answer in time");
    assert_eq!(status, 401);
    assert_eq!(
        served, printed,
        "the certificate served is the one init printed"
    );
    let (status, body, _) = tokio::time::timeout(
        WAIT,
        get_tls(&client, addr, "/api/v1/status", Some(token.trim())),
    )
    .await
    .expect("an answer in time");
    assert_eq!(status, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["name"], "kg-border");

    // Plain HTTP on the same port: no HTTP answer, just a TLS alert.
    let plain = TcpStream::connect(addr).await.unwrap();
    let refused = tokio::time::timeout(WAIT, get(plain, "/api/v1/status", Some(token.trim())))
        .await
        .expect("the daemon ends a connection that is not TLS");
    assert!(refused.is_err(), "plain HTTP was answered: {refused:?}");
    daemon.stop();

    // A key others may read stops the daemon at start, naming the fix.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = config.to_str().unwrap();
    let run = liaison_in(dir.path(), &["--config", config, "run"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains(&format!("chmod 600 {}", key.display())),
        "{run:?}"
    );
}
