//! A stranger on the network holds TCP connections to the node's port
//! and never speaks, reopening each one as the node closes it. Before the
//! allow list can act (it needs the Noise handshake to know who is
//! calling), those sockets hold handshake slots; 40 of them from one
//! address once kept a trusted agency out entirely. Now each address gets
//! a few slots, configured peers' addresses are never crowded out, and an
//! idle handshake is dropped after a few seconds: a trusted agency that
//! connects in the middle of the attack gets through, and the node's
//! memory stays flat.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::rss_kib;
use crate::federation::{federation, wait_for, Agency};

/// Idle sockets held open against `target` until stopped.
struct Attack {
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Attack {
    /// `per_source` sockets from each of `sources` (loopback addresses).
    fn start(target: SocketAddr, sources: Vec<IpAddr>, per_source: usize) -> Attack {
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicU64::new(0));
        let (s, o) = (stop.clone(), opened.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for src in sources {
                    for _ in 0..per_source {
                        tasks.push(tokio::spawn(hold(src, target, s.clone(), o.clone())));
                    }
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
        let attack = Attack {
            stop,
            opened,
            thread: Some(thread),
        };
        let n = attack.opened.clone();
        let want = per_source as u64;
        wait_for("the attacker's sockets to be open", || {
            let got = n.load(Ordering::Relaxed);
            (got >= want).then_some(()).ok_or(got.to_string())
        });
        attack
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One socket from `src`, held idle; reopened whenever the node closes it.
async fn hold(src: IpAddr, target: SocketAddr, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
            return;
        };
        if socket.bind(SocketAddr::new(src, 0)).is_err() {
            return;
        }
        let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), socket.connect(target)).await
        else {
            // Refused (or the backlog is full): at once again, as an
            // attacker would, but not in a tight loop.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        // Say nothing; read until the node closes it.
        let mut buf = [0u8; 256];
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(100), stream.readable()).await {
                Err(_) => continue,
                Ok(Err(_)) => break,
                Ok(Ok(())) => match stream.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => break,
                },
            }
        }
    }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// `c` (dropping its connection to kg-border first, if it has one)
/// connects to kg-border (a new handshake, in the middle of the attack),
/// then pings it.
fn reconnect_and_ping(c: &Agency, kg_key: &str, kg_addr: &str) {
    if c.status()["peers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "kg-border")
    {
        let gone = c.node.run(&["peer", "remove", "kg-border"]);
        assert_eq!(gone.code, 0, "{gone:?}");
    }
    c.trust("kg-border", kg_key, Some(kg_addr));
    let ping = c.node.run(&["ping", "kg-border", "--count", "3"]);
    assert_eq!(ping.code, 0, "a trusted agency was kept out: {ping:?}");
    assert!(!ping.stdout.contains("failed"), "{ping:?}");
}

#[test]
fn idle_sockets_from_strangers_never_keep_a_trusted_agency_out() {
    let fed = federation(&["kg-border", "tj-drug"]);
    let kg = &fed[0];
    let kg_addr = kg.status()["listen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.contains("/tcp/"))
        .unwrap()
        .to_owned();
    let port: u16 = kg_addr.rsplit('/').next().unwrap().parse().unwrap();
    let target = SocketAddr::new(loopback(1), port);
    // kz-customs: trusted by kg-border, connecting only once the attack runs.
    let mut c = Agency::new("kz-customs");
    c.start();
    let kg_key = kg.key();
    kg.trust("kz-customs", &c.key(), None);
    let before = rss_kib(kg.pid());

    // 40 idle sockets from one address, reopened as they close.
    {
        let _attack = Attack::start(target, vec![loopback(2)], 40);
        reconnect_and_ping(&c, &kg_key, &kg_addr);
    }
    // 200 from one address.
    {
        let _attack = Attack::start(target, vec![loopback(2)], 200);
        reconnect_and_ping(&c, &kg_key, &kg_addr);
    }
    // 200 from 40 addresses: more than the slots strangers share; the
    // configured peers' address (127.0.0.1) is not among them.
    {
        let _attack = Attack::start(target, (2..42).map(loopback).collect(), 5);
        reconnect_and_ping(&c, &kg_key, &kg_addr);
    }
    let after = rss_kib(kg.pid());
    let refused = kg.status()["network"]["refused_limit"].as_u64().unwrap();
    eprintln!("handshake flood: kg-border refused {refused} connections over limits; RSS {before} → {after} KiB");
    assert!(
        refused > 0,
        "the caps were never reached: the attack did not attack"
    );
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // tj-drug, connected all along, still exchanges envelopes.
    let ping = fed[1].node.run(&["ping", "kg-border", "--count", "2"]);
    assert_eq!(ping.code, 0, "{ping:?}");
    c.stop();
}
