//! Caps on inbound connections still in their handshake, per remote IP.
//!
//! The allow list can only act once Noise has told us who a peer is, so
//! before that anyone who can reach the port holds a slot while its
//! handshake lasts. One address holding idle sockets open, reopening each
//! as it is closed, once kept a trusted peer out entirely. So:
//! - each remote IP may have at most [`PER_IP`] handshakes in progress;
//! - IPs that are not a configured peer's share [`SHARED`] slots in all;
//! - a configured peer's IP (from its `addrs`) is not counted against the
//!   shared slots, so strangers filling them cannot keep it out;
//! - and the transport drops a handshake that takes longer than
//!   [`super::HANDSHAKE_TIMEOUT`].
//!
//! Nothing here knows PeerIds; `allow_block_list` refuses untrusted ones
//! once their handshake is done.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Handshakes in progress from one IP.
pub(crate) const PER_IP: usize = 4;
/// Handshakes in progress from IPs that are no configured peer's, in all.
pub(crate) const SHARED: usize = 32;

/// Why an inbound connection was refused before its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{ip}: {kind}")]
pub(crate) struct Exceeded {
    /// The remote IP.
    pub(crate) ip: IpAddr,
    /// Which cap.
    pub(crate) kind: &'static str,
}

/// The behaviour: counts only, no protocol.
#[derive(Debug, Default)]
pub(crate) struct Behaviour {
    /// IPs of the configured peers' addresses.
    reserved: HashSet<IpAddr>,
    /// Handshakes in progress: their remote IP.
    pending: HashMap<ConnectionId, IpAddr>,
    by_ip: HashMap<IpAddr, usize>,
    shared: usize,
}

/// The IP of a remote address (`/ip4/…/tcp/…`, `/ip6/…/udp/…/quic-v1`).
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl Behaviour {
    /// Sets the configured peers' addresses whose IPs are reserved.
    pub(crate) fn set_reserved<'a>(&mut self, addrs: impl IntoIterator<Item = &'a Multiaddr>) {
        self.reserved = addrs.into_iter().filter_map(ip_of).collect();
    }

    fn done(&mut self, id: ConnectionId) {
        let Some(ip) = self.pending.remove(&id) else {
            return;
        };
        if let Some(n) = self.by_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.by_ip.remove(&ip);
            }
        }
        if !self.reserved.contains(&ip) {
            self.shared = self.shared.saturating_sub(1);
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        if self.by_ip.get(&ip).copied().unwrap_or(0) >= PER_IP {
            return Err(ConnectionDenied::new(Exceeded {
                ip,
                kind: "handshakes from this address",
            }));
        }
        let reserved = self.reserved.contains(&ip);
        if !reserved && self.shared >= SHARED {
            return Err(ConnectionDenied::new(Exceeded {
                ip,
                kind: "handshakes from unconfigured addresses",
            }));
        }
        *self.by_ip.entry(ip).or_default() += 1;
        if !reserved {
            self.shared += 1;
        }
        self.pending.insert(id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.done(id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) = event {
            self.done(connection_id);
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, port: u16) -> Multiaddr {
        format!("/ip4/{ip}/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn one_address_gets_a_few_slots_and_configured_peers_are_never_crowded_out() {
        let mut b = Behaviour::default();
        b.set_reserved([&addr("10.0.0.9", 4710)]);
        let local = addr("10.0.0.1", 4710);
        let mut next = 0;
        let mut try_from = |b: &mut Behaviour, ip: &str| {
            next += 1;
            let id = ConnectionId::new_unchecked(next);
            b.handle_pending_inbound_connection(id, &local, &addr(ip, 40000 + next as u16))
                .map(|()| id)
        };
        // One address: PER_IP, then refused.
        let ids: Vec<_> = (0..PER_IP)
            .map(|_| try_from(&mut b, "192.0.2.1").unwrap())
            .collect();
        assert!(try_from(&mut b, "192.0.2.1").is_err());
        // Many addresses: the shared slots fill...
        let mut others = Vec::new();
        for i in 0..SHARED - PER_IP {
            others.push(try_from(&mut b, &format!("192.0.2.{}", 10 + i / PER_IP)).unwrap());
        }
        assert!(try_from(&mut b, "198.51.100.7").is_err());
        // ...but a configured peer's address still gets in.
        assert!(try_from(&mut b, "10.0.0.9").is_ok());
        // A failed handshake frees its slot.
        b.on_swarm_event(FromSwarm::ListenFailure(ListenFailure {
            local_addr: &local,
            send_back_addr: &addr("192.0.2.1", 1),
            error: &libp2p::swarm::ListenError::Aborted,
            connection_id: ids[0],
            peer_id: None,
        }));
        assert!(try_from(&mut b, "192.0.2.1").is_ok());
        assert!(try_from(&mut b, "192.0.2.1").is_err());
    }
}
