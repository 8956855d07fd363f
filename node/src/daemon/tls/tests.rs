use std::time::Instant;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;

use super::*;

/// Longest any wait in these tests.
const WAIT: Duration = Duration::from_secs(20);

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A client trusting only the certificate in `cert`, offering `alpn`.
fn connector(cert: &Path, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in certificates(cert).unwrap() {
        roots.add(c).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `GET path` over HTTP/1.1 on `io`: the status and the body, or why
/// there is no answer.
async fn get<T>(io: T, path: &str) -> Result<(u16, String), hyper::Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    driver.abort();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `GET path` over TLS to `addr` as `localhost`.
async fn get_tls(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    path: &str,
) -> (u16, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    get(tls, path).await.unwrap()
}

/// Why `acceptor` refuses the pair.
fn refused(cert: &Path, key: &Path) -> TlsError {
    match acceptor(cert, key) {
        Ok(_) => panic!("{} and {} were accepted", cert.display(), key.display()),
        Err(e) => e,
    }
}

#[test]
fn self_signed_writes_a_private_key_and_a_pair_the_acceptor_takes() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["liaison.agency.example".to_owned(), "192.0.2.10".to_owned()];
    let fp = self_signed(dir.path(), &names).unwrap();
    let cert = dir.path().join(liaison_config::TLS_CERT_FILE);
    let key = dir.path().join(liaison_config::TLS_KEY_FILE);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&cert) & 0o600, 0o600);
    assert_eq!(fingerprint(&cert).unwrap(), fp);
    // 32 bytes: 64 upper-case hex digits in pairs, 31 colons.
    assert_eq!(fp.len(), 95, "{fp}");
    assert!(fp.split(':').all(|b| b.len() == 2
        && b.bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())));
    acceptor(&cert, &key).unwrap();
    let text = fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");

    // Nothing is overwritten: the first pair stays as it was.
    let again = self_signed(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        again.contains(&cert.display().to_string()) && again.contains("move it away"),
        "{again}"
    );
    assert_eq!(fingerprint(&cert).unwrap(), fp);
    assert_eq!(fs::read_to_string(&key).unwrap(), text);

    // A name that is neither a host name nor an address.
    let other = tempfile::tempdir().unwrap();
    let e = self_signed(other.path(), &["my host".to_owned()]).unwrap_err();
    assert!(matches!(e, TlsError::BadName { .. }), "{e}");
    assert_eq!(fs::read_dir(other.path()).unwrap().count(), 0);
}

#[test]
fn acceptor_refuses_a_readable_key_and_bad_files_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), &[]).unwrap();
    let cert = dir.path().join(liaison_config::TLS_CERT_FILE);
    let key = dir.path().join(liaison_config::TLS_KEY_FILE);

    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let e = refused(&cert, &key).to_string();
    assert!(
        e.contains(&format!("chmod 600 {}", key.display())) && e.contains("0640"),
        "{e}"
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
    acceptor(&cert, &key).unwrap();

    // The certificate where the key should be, and the other way round.
    let e = refused(&key, &key).to_string();
    assert!(
        e.contains(&key.display().to_string()) && e.contains("BEGIN CERTIFICATE"),
        "{e}"
    );
    let copy = dir.path().join("cert-as-key.pem");
    fs::copy(&cert, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
    let e = refused(&cert, &copy).to_string();
    assert!(
        e.contains(&copy.display().to_string()) && e.contains("BEGIN PRIVATE KEY"),
        "{e}"
    );

    // Another pair's key: a key that does not fit the certificate.
    let other = tempfile::tempdir().unwrap();
    self_signed(other.path(), &[]).unwrap();
    let other_key = other.path().join(liaison_config::TLS_KEY_FILE);
    let e = refused(&cert, &other_key);
    assert!(matches!(e, TlsError::Unusable { .. }), "{e}");
    assert!(e.to_string().contains("private key of api.tls_cert"), "{e}");

    let missing = dir.path().join("none.pem");
    let e = refused(&missing, &key).to_string();
    assert!(e.contains(&missing.display().to_string()), "{e}");
}

#[tokio::test]
async fn serves_https_while_a_silent_client_handshakes_and_stops_on_cancel() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), &[]).unwrap();
    let cert = dir.path().join(liaison_config::TLS_CERT_FILE);
    let key = dir.path().join(liaison_config::TLS_KEY_FILE);
    let app = axum::Router::new().route("/v1/status", axum::routing::get(|| async { "up" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let task = serve(
        listener,
        acceptor(&cert, &key).unwrap(),
        app,
        cancel.clone(),
    );

    // A client that connects and says nothing holds its own task only.
    let _silent = TcpStream::connect(addr).await.unwrap();
    // Offering what browsers offer.
    let client = connector(&cert, &[b"h2", b"http/1.1"]);
    let started = Instant::now();
    // Sooner than the silent client's handshake times out: its handshake
    // must not hold up ours.
    let answer = tokio::time::timeout(HANDSHAKE_TIMEOUT / 2, get_tls(&client, addr, "/v1/status"))
        .await
        .expect("an answer while the silent client waits");
    let took = started.elapsed();
    assert_eq!(answer, (200, "up".to_owned()));
    eprintln!("TLS 1.3 connect, handshake and GET on loopback: {took:?}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = TcpStream::connect(addr).await.unwrap();
    let refused = tokio::time::timeout(WAIT, get(plain, "/v1/status"))
        .await
        .expect("the server ends a connection that is not TLS");
    assert!(refused.is_err(), "plain HTTP was answered: {refused:?}");

    // A client asking for HTTP/2 only is refused in the handshake.
    let h2 = connector(&cert, &[b"h2"]);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let refused = tokio::time::timeout(
        WAIT,
        h2.connect(ServerName::try_from("localhost").unwrap(), tcp),
    )
    .await
    .expect("the handshake ends");
    assert!(refused.is_err(), "h2 only was accepted");

    cancel.cancel();
    tokio::time::timeout(WAIT, task)
        .await
        .expect("the server stops once cancelled, the silent client too")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
