//! The libp2p behaviours the node runs, and nothing else: no gossipsub,
//! Kademlia, mDNS or relay (a federation of known agencies needs none of
//! them, and unbounded memory in them was behind libp2p's past denials of
//! service).

use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, identify, ping, request_response};

use super::codec::Codec;
use super::handshakes;

/// Everything the Swarm runs.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Caps on inbound handshakes per remote IP, with configured peers'
    /// IPs kept out of the shared pool (first: it counts every handshake
    /// the others may refuse).
    pub(crate) handshakes: handshakes::Behaviour,
    /// Only the PeerIds of configured peers may hold a connection: any
    /// other is closed as soon as its Noise handshake reveals who it is.
    pub(crate) allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// Caps on established connections, in all and per peer.
    pub(crate) limits: connection_limits::Behaviour,
    /// Tells peers our protocol version and listen addresses. What a peer
    /// tells us is not kept (cache size 0): addresses to dial come only
    /// from config, so a peer cannot steer our dials anywhere.
    pub(crate) identify: identify::Behaviour,
    /// Liveness and round-trip time, shown in `liaison status`.
    pub(crate) ping: ping::Behaviour,
    /// Envelopes out, signed receipts back.
    pub(crate) envelopes: request_response::Behaviour<Codec>,
}
