//! Dial steering: a trusted peer advertises (through identify) an address
//! that is not its own, a canary; when the node next dials that peer it
//! must use only the addresses in its config, never the canary. (libp2p
//! keeps advertised addresses by default and its request-response dials
//! use them; the node sets that cache to nothing.)

use std::net::TcpListener;
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, ping, Multiaddr};
use tokio::sync::mpsc;

use crate::federation::Agency;

#[derive(NetworkBehaviour)]
struct Liar {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// What the lying peer's swarm saw.
#[derive(Debug)]
enum Seen {
    Listening(Multiaddr),
    Connected,
    Closed,
    Told,
}

/// What the test tells the lying peer.
#[derive(Debug)]
enum Order {
    Stop,
}

#[test]
fn an_address_a_peer_advertises_is_never_dialled() {
    let mut kg = Agency::new("kg-border");
    // kg-border closes an idle connection after a second: the connection
    // on which mallory lied ends on kg-border's side, once its identify
    // exchange is long processed (hanging up from mallory's side could
    // race kg-border's reading of it).
    kg.node.set_config("idle_timeout", "\"1s\"");
    kg.start();
    let mallory = Agency::new("mallory");
    let canary = TcpListener::bind("127.0.0.3:0").expect("a loopback port for the canary");
    canary.set_nonblocking(true).unwrap();
    let canary_addr: Multiaddr =
        format!("/ip4/127.0.0.3/tcp/{}", canary.local_addr().unwrap().port())
            .parse()
            .unwrap();

    let signing = super::signing_key(&mallory);
    let (seen_tx, seen) = std::sync::mpsc::sync_channel(1024);
    let (order_tx, mut orders) = mpsc::channel::<Order>(4);
    let advertised = canary_addr.clone();
    let liar = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut swarm = super::swarm_as(&signing, Duration::from_secs(60), |k| Liar {
                identify: identify::Behaviour::new(identify::Config::new(
                    "/liaison/1".into(),
                    k.public(),
                )),
                ping: ping::Behaviour::default(),
            });
            swarm
                .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                .unwrap();
            // What identify tells every peer: "you can also reach me here".
            swarm.add_external_address(advertised);
            loop {
                tokio::select! {
                    order = orders.recv() => match order {
                        Some(Order::Stop) | None => break,
                    },
                    event = swarm.select_next_some() => {
                        let seen = match event {
                            SwarmEvent::NewListenAddr { address, .. } => Seen::Listening(address),
                            SwarmEvent::ConnectionEstablished { .. } => Seen::Connected,
                            SwarmEvent::ConnectionClosed { num_established: 0, .. } => Seen::Closed,
                            SwarmEvent::Behaviour(LiarEvent::Identify(identify::Event::Sent { .. })) => Seen::Told,
                            _ => continue,
                        };
                        let _ = seen_tx.try_send(seen);
                    }
                }
            }
        });
    });
    let next = || {
        seen.recv_timeout(Duration::from_secs(60))
            .expect("the liar sees something within 60 s")
    };
    let Seen::Listening(liar_addr) = next() else {
        panic!("the liar's first event is its listen address")
    };

    // kg-border trusts mallory at its real address and dials it; mallory
    // tells it the canary is another address of its own.
    kg.trust("mallory", &mallory.key(), Some(&liar_addr.to_string()));
    while !matches!(next(), Seen::Told) {}
    // The connection idles out; kg-border then has something for mallory
    // and dials again, with whatever addresses it knows for it.
    while !matches!(next(), Seen::Closed) {}
    let queued = kg.node.run(&["ping", "mallory", "--queue", "--count", "1"]);
    assert_eq!(queued.code, 0, "{queued:?}");
    // Dials to every address go out together, so by the time the one to
    // mallory's real address has finished its handshake, a dial to the
    // canary would be in its listener's queue.
    while !matches!(next(), Seen::Connected) {}
    order_tx.blocking_send(Order::Stop).unwrap();
    liar.join().unwrap();
    match canary.accept() {
        Ok((_, from)) => panic!("kg-border dialled the advertised canary address (from {from})"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
}
