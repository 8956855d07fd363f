//! Hostile peers and hostile hosts, one module per attack. Each test
//! runs real daemons and plays the attacker itself: a trusted peer
//! speaking libp2p with its own code, a stranger holding sockets open, a
//! local user reading files or squatting a port.
//!
//! - [`wire`]: oversized frames, garbage envelopes, too many streams.
//! - [`handshakes`]: idle sockets from one address, and from many, never
//!   keep a trusted peer out.
//! - [`dials`]: an address a peer advertises is never dialled.
//! - [`floods`]: a trusted peer sending deltas, filter chunks, requests
//!   and evaluations as fast as it can stays within stated bounds of
//!   memory and disk, and the node keeps serving others.
//! - [`local`]: the store is the service account's alone, and the CLI
//!   talks to nothing but its own daemon.

mod dials;
mod floods;
mod handshakes;
mod local;
mod wire;

/// Resident memory of process `pid`, KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Bytes of the files under `dir`.
pub(crate) fn disk_bytes(dir: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("readable folder").flatten() {
        let Ok(meta) = e.metadata() else { continue };
        n += if meta.is_dir() {
            disk_bytes(&e.path())
        } else {
            meta.len()
        };
    }
    n
}

/// The signing key in `agency`'s key folder: the attacker speaks as a
/// trusted agency (or one the node does not know).
pub(crate) fn signing_key(
    agency: &crate::federation::Agency,
) -> liaison_protocol::keys::SigningKey {
    let key_file = agency.node.dir.path().join("node/keys/agency.ed25519");
    liaison_protocol::keys::SigningKey::from_file_text(&std::fs::read_to_string(key_file).unwrap())
        .unwrap()
}

/// A swarm of the attacker's own, speaking as `signing` over TCP, Noise
/// (with the test federation's prologue) and Yamux, running what
/// `behaviour` makes. Call inside a tokio runtime.
pub(crate) fn swarm_as<B: libp2p::swarm::NetworkBehaviour>(
    signing: &liaison_protocol::keys::SigningKey,
    idle: std::time::Duration,
    behaviour: impl FnOnce(&libp2p::identity::Keypair) -> B,
) -> libp2p::Swarm<B> {
    let keypair = libp2p::identity::Keypair::ed25519_from_bytes(*signing.seed()).unwrap();
    let prologue = b"liaison/federation/v1\nliaison".to_vec();
    libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            move |k: &libp2p::identity::Keypair| {
                libp2p::noise::Config::new(k).map(|c| c.with_prologue(prologue))
            },
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(behaviour)
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build()
}

/// Dials `addr` and waits (30 s at most) for the connection: the node's
/// PeerId.
pub(crate) async fn connect<B: libp2p::swarm::NetworkBehaviour>(
    swarm: &mut libp2p::Swarm<B>,
    addr: libp2p::Multiaddr,
) -> libp2p::PeerId {
    use futures::StreamExt as _;
    use libp2p::swarm::SwarmEvent;
    swarm.dial(addr).unwrap();
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(30), swarm.select_next_some())
            .await
        {
            Ok(SwarmEvent::ConnectionEstablished { peer_id, .. }) => return peer_id,
            Ok(SwarmEvent::OutgoingConnectionError { error, .. }) => panic!("dial failed: {error}"),
            Ok(_) => {}
            Err(_) => panic!("no connection within 30 s"),
        }
    }
}
