//! The network: one task owns the libp2p Swarm.
//!
//! The rest of the node holds a [`Handle`] (a bounded command channel);
//! request-like commands carry a `oneshot` for the answer. Inbound
//! envelopes leave on a bounded [`Event`] channel; the node answers each
//! with [`Handle::respond`]. The loop is one biased `select!`: shutdown
//! first, then commands, then swarm events.
//!
//! Transport: TCP + Noise (its prologue bound to the federation id, so a
//! node of another federation fails the handshake) + Yamux, and QUIC.
//! Only configured peers may connect (`behaviour::Behaviour::allow`);
//! everyone else is refused and counted.
//!
//! Flow of one envelope: the courier calls [`Handle::send`] → the task
//! sends it as a request-response request → the peer's task emits
//! [`Event::Envelope`] → the peer's node opens it and calls
//! [`Handle::respond`] with a signed receipt → our task completes the
//! courier's `oneshot` with the receipt bytes.

mod behaviour;
mod codec;
mod handshakes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt as _;
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{allow_block_list, connection_limits, identify, noise, ping, tcp, yamux};
use libp2p::{Multiaddr, PeerId, Swarm};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use behaviour::{Behaviour, BehaviourEvent};

/// Capacity of the command channel.
const COMMANDS: usize = 256;
/// Capacity of the event channel. Small on purpose: each inbound envelope
/// may be 1 MiB, and a full channel makes the sender retry later instead
/// of this node buffering for it.
const EVENTS: usize = 16;
/// Envelope requests in flight per connection, each direction.
const STREAMS_PER_PEER: usize = 32;
/// Yamux streams per connection (request-response and the small protocols).
const YAMUX_STREAMS: usize = 64;
/// Time for a peer to read an envelope, open it and return its receipt.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections to one peer (one each way when both dial at once).
const CONNECTIONS_PER_PEER: u32 = 2;
/// Longest a connection may take from TCP accept (or dial) to an
/// authenticated, multiplexed connection: idle half-open handshakes are
/// how a stranger could hold our slots ([`handshakes`] caps them too).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the network runs, from config.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The agency's ed25519 secret seed (the libp2p identity).
    pub keypair: libp2p::identity::Keypair,
    /// The federation id, bound into every Noise handshake.
    pub federation: String,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Close connections idle this long.
    pub idle_timeout: Duration,
    /// Established connections in all.
    pub max_connections: u32,
    /// The trusted peers and where to reach them.
    pub peers: Vec<PeerEntry>,
    /// The node's name, for log spans.
    pub node_name: String,
}

/// A trusted peer as the network sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// Its PeerId (from its agency key).
    pub id: PeerId,
    /// Its configured addresses.
    pub addrs: Vec<Multiaddr>,
}

/// Why an envelope was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The peer could not be reached or the request failed on the way.
    #[error("{0}")]
    Failed(String),
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
}

/// What the network tells the node.
#[derive(Debug)]
pub enum Event {
    /// A trusted peer connected (its first connection).
    Connected(PeerId),
    /// An envelope from a trusted peer; answer with [`Handle::respond`].
    Envelope {
        /// The transport-authenticated sender.
        peer: PeerId,
        /// The request to answer.
        id: InboundRequestId,
        /// The envelope's bytes (under the size cap).
        bytes: Vec<u8>,
    },
}

/// A connection-level snapshot for `liaison status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// Addresses the node is listening on.
    pub listen: Vec<String>,
    /// Per connected peer: connections and last ping round trip.
    pub connected: BTreeMap<String, PeerLink>,
    /// Inbound connections refused because the peer is not trusted.
    pub refused_untrusted: u64,
    /// Inbound connections refused by a connection limit.
    pub refused_limit: u64,
    /// Inbound handshakes that failed (another federation, garbage).
    pub failed_handshakes: u64,
    /// Inbound envelopes dropped because the node was busy (the sender
    /// retries them).
    pub dropped_busy: u64,
}

/// One connected peer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PeerLink {
    /// Open connections.
    pub connections: u32,
    /// Last ping round trip, milliseconds.
    pub rtt_ms: Option<f64>,
}

#[derive(Debug)]
enum Command {
    Send {
        peer: PeerId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SendError>>,
    },
    Respond {
        id: InboundRequestId,
        bytes: Vec<u8>,
    },
    SetPeers(Vec<PeerEntry>),
    Status(oneshot::Sender<Status>),
}

/// The node's handle on the network task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

impl Handle {
    /// Sends an envelope to `peer` and waits for the response bytes (the
    /// receipt, still to be verified by the caller).
    pub async fn send(&self, peer: PeerId, bytes: Vec<u8>) -> Result<Vec<u8>, SendError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Send { peer, bytes, reply })
            .await
            .map_err(|_| SendError::Stopped)?;
        rx.await.map_err(|_| SendError::Stopped)?
    }

    /// Answers an inbound envelope.
    pub async fn respond(&self, id: InboundRequestId, bytes: Vec<u8>) {
        // If the task has stopped, the peer's request fails and it retries.
        let _ = self.commands.send(Command::Respond { id, bytes }).await;
    }

    /// Replaces the set of trusted peers: new ones are allowed and dialled,
    /// removed ones are disconnected.
    pub async fn set_peers(&self, peers: Vec<PeerEntry>) -> Result<(), SendError> {
        self.commands
            .send(Command::SetPeers(peers))
            .await
            .map_err(|_| SendError::Stopped)
    }

    /// The connection-level status.
    pub async fn status(&self) -> Result<Status, SendError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Status(reply))
            .await
            .map_err(|_| SendError::Stopped)?;
        rx.await.map_err(|_| SendError::Stopped)
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The transport could not be built.
    #[error("building the libp2p transport: {0}")]
    Transport(String),
    /// A listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {reason} (change [network] listen, or stop whatever holds it)"
    )]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// The Noise prologue: both sides must agree on it or the handshake fails.
fn prologue(federation: &str) -> Vec<u8> {
    [b"liaison/federation/v1\n".as_slice(), federation.as_bytes()].concat()
}

fn build_swarm(s: &Settings) -> Result<Swarm<Behaviour>, StartError> {
    let prologue = prologue(&s.federation);
    let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for p in &s.peers {
        allow.allow_peer(p.id);
    }
    // Pending inbound connections are capped per IP by `handshakes`.
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(s.max_connections))
        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER));
    let mut handshakes = handshakes::Behaviour::default();
    handshakes.set_reserved(s.peers.iter().flat_map(|p| &p.addrs));
    let rr_config = request_response::Config::default()
        .with_request_timeout(REQUEST_TIMEOUT)
        .with_max_concurrent_streams(STREAMS_PER_PEER);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(s.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            move |key: &libp2p::identity::Keypair| {
                noise::Config::new(key).map(|c| c.with_prologue(prologue))
            },
            || {
                let mut c = yamux::Config::default();
                #[allow(deprecated)]
                c.set_max_num_streams(YAMUX_STREAMS);
                c
            },
        )
        .map_err(|e| StartError::Transport(e.to_string()))?
        .with_quic()
        .with_behaviour(|key| Behaviour {
            handshakes,
            allow,
            limits: connection_limits::Behaviour::new(limits),
            identify: identify::Behaviour::new(
                identify::Config::new("/liaison/1".into(), key.public())
                    .with_agent_version(format!("liaison/{}", env!("CARGO_PKG_VERSION")))
                    .with_cache_size(0),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
            envelopes: request_response::Behaviour::with_codec(
                codec::Codec,
                [(codec::PROTOCOL, request_response::ProtocolSupport::Full)],
                rr_config,
            ),
        })
        .map_err(|e| StartError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(s.idle_timeout))
        .with_connection_timeout(HANDSHAKE_TIMEOUT)
        .build();
    Ok(swarm)
}

/// Starts the network task: binds the listen addresses (so errors come
/// back here) and dials every peer once.
pub fn spawn(
    settings: Settings,
    cancel: CancellationToken,
) -> Result<(Handle, mpsc::Receiver<Event>, tokio::task::JoinHandle<()>), StartError> {
    let mut swarm = build_swarm(&settings)?;
    for addr in &settings.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| StartError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
    }
    let (commands, command_rx) = mpsc::channel(COMMANDS);
    let (events, event_rx) = mpsc::channel(EVENTS);
    let span = tracing::info_span!("net", node = %settings.node_name);
    let mut task = Task {
        swarm,
        commands: command_rx,
        events,
        peers: HashMap::new(),
        pending_out: HashMap::new(),
        pending_in: HashMap::new(),
        status: Status::default(),
        listen: Vec::new(),
        last_refusal_log: None,
        unlogged_refusals: 0,
    };
    task.set_peers(settings.peers);
    let handle = tokio::spawn(tracing::Instrument::instrument(task.run(cancel), span));
    Ok((Handle { commands }, event_rx, handle))
}

struct Task {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    peers: HashMap<PeerId, Vec<Multiaddr>>,
    pending_out: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, SendError>>>,
    pending_in: HashMap<InboundRequestId, ResponseChannel<Vec<u8>>>,
    status: Status,
    listen: Vec<Multiaddr>,
    last_refusal_log: Option<std::time::Instant>,
    unlogged_refusals: u64,
}

impl Task {
    async fn run(mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
            }
        }
        debug!("network task stopped");
    }

    fn set_peers(&mut self, peers: Vec<PeerEntry>) {
        let new: HashSet<PeerId> = peers.iter().map(|p| p.id).collect();
        let removed: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|id| !new.contains(id))
            .copied()
            .collect();
        let addrs: Vec<Multiaddr> = peers.iter().flat_map(|p| p.addrs.clone()).collect();
        self.swarm.behaviour_mut().handshakes.set_reserved(&addrs);
        for id in removed {
            self.swarm.behaviour_mut().allow.disallow_peer(id);
            let _ = self.swarm.disconnect_peer_id(id);
            self.peers.remove(&id);
            info!(peer = %id, "peer removed");
        }
        for p in peers {
            self.swarm.behaviour_mut().allow.allow_peer(p.id);
            for a in &p.addrs {
                self.swarm.add_peer_address(p.id, a.clone());
            }
            let changed = self.peers.get(&p.id) != Some(&p.addrs);
            if changed && !p.addrs.is_empty() && !self.swarm.is_connected(&p.id) {
                let opts = DialOpts::peer_id(p.id).addresses(p.addrs.clone()).build();
                if let Err(e) = self.swarm.dial(opts) {
                    debug!(peer = %p.id, error = %e, "dial not started");
                }
            }
            self.peers.insert(p.id, p.addrs);
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Send { peer, bytes, reply } => {
                if !self.peers.contains_key(&peer) {
                    let _ = reply.send(Err(SendError::Failed("not a trusted peer".into())));
                    return;
                }
                if !self.swarm.is_connected(&peer) {
                    // libp2p forgets an address after a failed dial; a
                    // federation peer's configured address stays its
                    // address, so give it again before each new dial.
                    for a in self.peers.get(&peer).into_iter().flatten() {
                        self.swarm.add_peer_address(peer, a.clone());
                    }
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .envelopes
                    .send_request(&peer, bytes);
                self.pending_out.insert(id, reply);
            }
            Command::Respond { id, bytes } => {
                if let Some(channel) = self.pending_in.remove(&id) {
                    // Fails only if the peer has gone: it will retry.
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .envelopes
                        .send_response(channel, bytes);
                }
            }
            Command::SetPeers(peers) => self.set_peers(peers),
            Command::Status(reply) => {
                let mut s = self.status.clone();
                s.listen = self.listen.iter().map(ToString::to_string).collect();
                for id in self.swarm.connected_peers() {
                    s.connected.entry(id.to_string()).or_default();
                }
                let _ = reply.send(s);
            }
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen.retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                let link = self
                    .status
                    .connected
                    .entry(peer_id.to_string())
                    .or_default();
                link.connections = num_established.get();
                if num_established.get() == 1 {
                    info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                    // Full channel: the courier's own retry timer covers it.
                    let _ = self.events.try_send(Event::Connected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                if num_established == 0 {
                    self.status.connected.remove(&peer_id.to_string());
                    info!(peer = %peer_id, cause = ?cause.map(|c| c.to_string()), "disconnected");
                } else if let Some(link) = self.status.connected.get_mut(&peer_id.to_string()) {
                    link.connections = num_established;
                }
            }
            SwarmEvent::IncomingConnectionError {
                error,
                send_back_addr,
                ..
            } => {
                let what = match &error {
                    ListenError::Denied { cause } => {
                        if cause
                            .downcast_ref::<allow_block_list::NotAllowed>()
                            .is_some()
                        {
                            self.status.refused_untrusted += 1;
                            "refused a connection from an untrusted peer"
                        } else {
                            self.status.refused_limit += 1;
                            "refused a connection: limit reached"
                        }
                    }
                    _ => {
                        self.status.failed_handshakes += 1;
                        "inbound handshake failed"
                    }
                };
                // A flood of these must not become a flood of log lines:
                // one warning a second at most, with the count since.
                let now = std::time::Instant::now();
                if self
                    .last_refusal_log
                    .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
                {
                    warn!(from = %send_back_addr, error = %error, also = self.unlogged_refusals, "{what}");
                    self.last_refusal_log = Some(now);
                    self.unlogged_refusals = 0;
                } else {
                    self.unlogged_refusals += 1;
                    debug!(from = %send_back_addr, error = %error, "{what}");
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, error = %error, "dial failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, result, .. })) => {
                if let (Ok(rtt), Some(link)) =
                    (result, self.status.connected.get_mut(&peer.to_string()))
                {
                    link.rtt_ms = Some(rtt.as_secs_f64() * 1000.0);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Envelopes(event)) => self.envelope_event(event),
            _ => {}
        }
    }

    fn envelope_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request_id,
                    request,
                    channel,
                } => {
                    // The allow list means only trusted peers get here.
                    let event = Event::Envelope {
                        peer,
                        id: request_id,
                        bytes: request,
                    };
                    if self.events.try_send(event).is_ok() {
                        self.pending_in.insert(request_id, channel);
                    } else {
                        // Busy: drop the channel; the sender sees the
                        // stream fail and retries later. Memory stays bounded.
                        self.status.dropped_busy += 1;
                        warn!(%peer, "busy: dropped an inbound envelope");
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending_out.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                debug!(%peer, %error, "envelope not delivered");
                if let Some(reply) = self.pending_out.remove(&request_id) {
                    let _ = reply.send(Err(SendError::Failed(error.to_string())));
                }
            }
            request_response::Event::InboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                debug!(%peer, %error, "inbound envelope failed");
                self.pending_in.remove(&request_id);
            }
            request_response::Event::ResponseSent { request_id, .. } => {
                self.pending_in.remove(&request_id);
            }
        }
    }
}
