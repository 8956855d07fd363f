//! `liaison status`: what the node is and holds, the same JSON whether the
//! daemon serves it (with live connection state) or the CLI reads the
//! store itself (connection fields absent).

use liaison_config::Config;
use serde::{Deserialize, Serialize};

use crate::identity::{self, Identity};
use crate::net;
use crate::store::mailbox::{Mailbox, PeerCounts};
use crate::store::records::Records;
use crate::store::{self, Store};

/// The node's status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// Node name.
    pub name: String,
    /// Federation id.
    pub federation: String,
    /// The agency key card.
    pub agency_key: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// libp2p PeerId.
    pub peer_id: String,
    /// Whether this came from the running daemon.
    pub running: bool,
    /// Addresses listened on (daemon only).
    pub listen: Vec<String>,
    /// Records held.
    pub records: u64,
    /// Index entries per selector kind.
    pub selectors: std::collections::BTreeMap<String, u64>,
    /// Envelopes waiting in the outbox, all peers.
    pub outbox: u64,
    /// Each trusted peer.
    pub peers: Vec<PeerStatus>,
    /// Connection-level refusals (daemon only).
    pub network: Option<net::Status>,
    /// The audit log.
    pub audit: AuditStatus,
    /// Matching: filters served and held, hits, watchlist, alerts.
    pub matching: crate::matching::Summary,
    /// Follow-up requests waiting, reports held.
    pub exchange: crate::exchange::Summary,
}

/// The audit log at a glance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditStatus {
    /// Entries in the log.
    pub entries: u64,
    /// Size of our newest signed checkpoint.
    pub checkpoint: Option<u64>,
    /// Peers whose log forked or rewound, with fork evidence held.
    pub forks: Vec<String>,
    /// Peers exchanging envelopes with us whose log has shown us no
    /// larger checkpoint for several intervals.
    #[serde(default)]
    pub witness_stale: Vec<String>,
}

/// One trusted peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Its name.
    pub name: String,
    /// Its PeerId.
    pub peer_id: String,
    /// Its agency key's fingerprint.
    pub fingerprint: String,
    /// Configured addresses.
    pub addrs: Vec<String>,
    /// Connected now (daemon only).
    pub connected: Option<bool>,
    /// Last ping round trip in ms (daemon only, while connected).
    pub rtt_ms: Option<f64>,
    /// Envelope counters.
    pub counts: PeerCounts,
}

/// The status from the store; `net` adds the live view.
pub fn collect(
    config: &Config,
    identity: &Identity,
    store: &Store,
    net: Option<net::Status>,
    builds: Option<std::collections::BTreeMap<String, crate::matching::Build>>,
) -> Result<Status, store::Error> {
    let mut matching = crate::matching::summary(store, &config.peers)?;
    let exchange =
        crate::exchange::summary(store, config.exchange.deadline, crate::clock::system_ms())
            .map_err(|e| match e {
                crate::exchange::Error::Store(e) => e,
                other => store::Column::Exchange.corrupt(other.to_string()),
            })?;
    matching.builds = builds.unwrap_or_default();
    let counts = Records::new(store).counts()?;
    let mut by_peer = Mailbox::new(store).counts()?;
    let key = identity.agency_key();
    let peers: Vec<PeerStatus> = config
        .peers
        .iter()
        .map(|p| {
            let peer_id = identity::peer_id(&p.key).to_string();
            let link = net.as_ref().and_then(|n| n.connected.get(&peer_id));
            PeerStatus {
                name: p.name.clone(),
                addrs: p.addrs.iter().map(ToString::to_string).collect(),
                connected: net.as_ref().map(|_| link.is_some()),
                rtt_ms: link.and_then(|l| l.rtt_ms),
                counts: by_peer
                    .remove(p.key.verifying_key().as_bytes())
                    .unwrap_or_default(),
                fingerprint: p.key.fingerprint(),
                peer_id,
            }
        })
        .collect();
    Ok(Status {
        name: config.node.name.clone(),
        federation: config.node.federation.clone(),
        agency_key: key.to_string(),
        fingerprint: key.fingerprint(),
        peer_id: identity.peer_id().to_string(),
        running: net.is_some(),
        listen: net.as_ref().map(|n| n.listen.clone()).unwrap_or_default(),
        records: counts.records,
        selectors: counts
            .selectors
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), *n))
            .collect(),
        outbox: peers.iter().map(|p| p.counts.outbox).sum(),
        audit: AuditStatus {
            entries: store.log_head().0,
            checkpoint: store.checkpoints()?.last().map(|c| c.checkpoint.size),
            forks: store
                .forks()?
                .iter()
                .map(|(k, ..)| {
                    config
                        .peers
                        .iter()
                        .find(|p| p.key.verifying_key().as_bytes() == k)
                        .map_or_else(|| crate::hex::encode(&k[..8]), |p| p.name.clone())
                })
                .collect(),
            witness_stale: crate::audit::witness::stale(
                store,
                &config.peers,
                config.audit.checkpoint_interval,
                crate::clock::system_ms(),
            )?,
        },
        peers,
        network: net,
        matching,
        exchange,
    })
}

impl Status {
    /// The text `liaison status` prints.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "node        {} (federation {})",
            self.name, self.federation
        );
        let _ = writeln!(t, "agency key  {}", self.agency_key);
        let _ = writeln!(t, "fingerprint {}", self.fingerprint);
        let _ = writeln!(t, "peer id     {}", self.peer_id);
        let _ = writeln!(
            t,
            "daemon      {}",
            if self.running {
                "running"
            } else {
                "not running (`liaison run` starts it)"
            }
        );
        for a in &self.listen {
            let _ = writeln!(t, "listening   {a}");
        }
        let _ = writeln!(t, "records     {}", self.records);
        for (kind, n) in &self.selectors {
            let _ = writeln!(t, "  {kind:<16} {n}");
        }
        let _ = writeln!(t, "outbox      {}", self.outbox);
        let _ = writeln!(
            t,
            "audit log   {} entries, last checkpoint {}",
            self.audit.entries,
            self.audit
                .checkpoint
                .map_or("none yet".into(), |s| format!("at {s}"))
        );
        for p in &self.audit.witness_stale {
            let _ = writeln!(
                t,
                "WITNESS STALE {p} exchanges envelopes with us but has shown us no newer checkpoint of its audit log for {} intervals: its log may be forked",
                crate::audit::witness::STALE_INTERVALS
            );
        }
        for f in &self.audit.forks {
            let _ = writeln!(
                t,
                "FORK        {f}'s audit log forked or was rewritten: evidence kept (`liaison audit verify`)"
            );
        }
        let m = &self.matching;
        let _ = writeln!(
            t,
            "matching    {} hits, {} watched, {} alerts",
            m.hits, m.watches, m.alerts
        );
        let x = &self.exchange;
        let _ = writeln!(
            t,
            "follow-up   {} requests from peers waiting{}, {} of ours awaiting an answer, {} reports held",
            x.pending,
            if x.overdue > 0 {
                format!(" ({} OVERDUE)", x.overdue)
            } else {
                String::new()
            },
            x.awaiting,
            x.reports
        );
        for (peer, b) in &m.builds {
            if !b.finished {
                let _ = writeln!(
                    t,
                    "  building  filter for {peer}, epoch {}: {} of {} records",
                    b.epoch, b.done, b.total
                );
            }
        }
        for (peer, epochs) in &m.filters {
            let serving = m.serving.get(peer).map_or(0, Vec::len);
            let _ = writeln!(
                t,
                "  {peer:<16} its filters held: {}; ours it has: {serving}",
                if epochs.is_empty() {
                    "none yet".to_owned()
                } else {
                    format!(
                        "epoch {}",
                        epochs
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        for (p, epoch, reason) in &m.unwatched {
            println!(
                "WATCH GAP   {p} declined renewing our watchlist for its epoch {epoch} ({reason}): new records there raise no alert until a renewal succeeds (retried each tick)"
            );
        }
        for p in &m.match_red {
            let _ = writeln!(
                t,
                "WARNING     {p} may match our TLP:RED records (match_red = true): a hit tells it such a record exists"
            );
        }
        if let Some(n) = m.evaluated {
            let _ = writeln!(t, "  evaluated {n} selectors for peers since start");
        }
        if m.evidence > 0 {
            let _ = writeln!(
                t,
                "EVIDENCE    {} evaluation answers failed their proof: kept signed in the store",
                m.evidence
            );
        }
        if self.peers.is_empty() {
            let _ = writeln!(t, "peers       none (`liaison peer add` trusts one)");
        }
        for p in &self.peers {
            let state = match (p.connected, p.rtt_ms) {
                (Some(true), Some(rtt)) => format!("connected, rtt {rtt:.1} ms"),
                (Some(true), None) => "connected".into(),
                (Some(false), _) => "not connected".into(),
                (None, _) => "-".into(),
            };
            let c = &p.counts;
            let _ = writeln!(
                t,
                "peer {:<16} {state}; sent {} delivered {} refused-by-peer {} waiting {}; received {} duplicates {} refused {}",
                p.name, c.queued, c.delivered, c.refused_by_peer, c.outbox, c.received, c.duplicates, c.refused
            );
        }
        if let Some(n) = &self.network {
            let _ = writeln!(
                t,
                "refused     {} untrusted, {} over limits, {} failed handshakes, {} dropped while busy",
                n.refused_untrusted, n.refused_limit, n.failed_handshakes, n.dropped_busy
            );
        }
        t
    }
}
