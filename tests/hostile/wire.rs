//! A trusted peer that misbehaves on the wire, speaking libp2p itself:
//! frames that claim 4 GiB, garbage envelopes, and a flood of streams at
//! once. The node cuts each off within its caps, refuses and counts what it
//! can read, stays small in memory, and keeps serving its other peer.

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, StreamExt as _};
use liaison_protocol::envelope::{Outcome, Receipt, Refusal};
use liaison_protocol::keys::AgencyKey;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol};

use super::{connect, rss_kib, signing_key, swarm_as};
use crate::federation::{federation, Agency};

/// What the hostile peer writes on a stream.
#[derive(Debug, Clone, Copy)]
enum Abuse {
    /// A length prefix of 4 GiB, then bytes for as long as the node reads.
    Oversized,
    /// A well-framed 200-byte envelope of garbage.
    Garbage,
}

#[derive(Debug, Clone, Copy, Default)]
struct Hostile;

#[async_trait]
impl request_response::Codec for Hostile {
    type Protocol = StreamProtocol;
    type Request = Abuse;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<Abuse> {
        Err(io::ErrorKind::Unsupported.into())
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let mut buf = Vec::new();
        io.take(u64::from(u32::from_be_bytes(len)).min(4096))
            .read_to_end(&mut buf)
            .await?;
        Ok(buf)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        abuse: Abuse,
    ) -> io::Result<()> {
        match abuse {
            Abuse::Oversized => {
                io.write_all(&u32::MAX.to_be_bytes()).await?;
                let chunk = vec![0xAB; 64 * 1024];
                // "Endless": 64 MiB, far past the cap, unless cut off first.
                for _ in 0..1024 {
                    io.write_all(&chunk).await?;
                }
            }
            Abuse::Garbage => {
                io.write_all(&200u32.to_be_bytes()).await?;
                io.write_all(&[1u8; 200]).await?;
            }
        }
        io.close().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Sends `abuses` to `addr` as the agency whose key files are in
/// `mallory`; returns (receipts, failed streams).
fn attack(mallory: &Agency, addr: Multiaddr, abuses: Vec<Abuse>) -> (Vec<Receipt>, usize) {
    let signing = signing_key(mallory);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut swarm = swarm_as(&signing, Duration::from_secs(10), |_| {
            request_response::Behaviour::with_codec(
                Hostile,
                [(
                    StreamProtocol::new("/liaison/envelope/1"),
                    ProtocolSupport::Outbound,
                )],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            )
        });
        let peer = connect(&mut swarm, addr).await;
        let n = abuses.len();
        for a in abuses {
            swarm.behaviour_mut().send_request(&peer, a);
        }
        let (mut receipts, mut failed) = (Vec::new(), 0);
        while receipts.len() + failed < n {
            let event = tokio::time::timeout(Duration::from_secs(60), swarm.select_next_some())
                .await
                .expect("every request ends within 60 s");
            match event {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { response, .. },
                    ..
                }) => receipts.push(Receipt::decode(&response).expect("a receipt")),
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => {
                    failed += 1
                }
                _ => {}
            }
        }
        (receipts, failed)
    })
}

#[test]
fn a_hostile_trusted_peer_is_cut_off_and_the_node_keeps_serving() {
    let fed = federation(&["kg-border", "tj-drug"]);
    let a = &fed[0];
    let mallory = Agency::new("mallory");
    a.trust("mallory", &mallory.key(), None);
    let addr: Multiaddr = a.status()["listen"][0].as_str().unwrap().parse().unwrap();
    let before = rss_kib(a.pid());

    // 200 garbage envelopes, then 40 frames claiming 4 GiB each, each
    // wave all at once (more streams than the node allows per
    // connection). In one wave, whether any garbage was answered before
    // the oversized frames cut the connection was a race.
    let (receipts, garbage_failed) = attack(&mallory, addr.clone(), vec![Abuse::Garbage; 200]);
    let (oversized_answered, oversized_failed) = attack(&mallory, addr, vec![Abuse::Oversized; 40]);
    let failed = garbage_failed + oversized_failed;
    assert!(
        oversized_answered.is_empty(),
        "an oversized frame was answered"
    );

    // Oversized frames never get an answer; garbage gets signed refusals
    // (or is dropped when the node is busy, and would be retried).
    assert!(failed >= 40, "{failed} failed, {} answered", receipts.len());
    assert!(!receipts.is_empty(), "no garbage envelope was answered");
    let a_key: AgencyKey = a.key().parse().unwrap();
    for r in &receipts {
        assert_eq!(r.outcome, Outcome::Refused(Refusal::Malformed));
        assert_eq!(&r.receiver, a_key.verifying_key(), "signed by the node");
    }
    let counted = a.count("mallory", "refused");
    assert_eq!(
        counted,
        receipts.len() as u64,
        "refusals counted against mallory"
    );

    // Memory stayed bounded: far less than what was claimed (160 GiB) or
    // sent (2.5 GiB if it had all been read).
    let after = rss_kib(a.pid());
    eprintln!(
        "hostile peer: {failed} streams cut off, {} refused with receipts; node RSS {before} → {after} KiB",
        receipts.len()
    );
    assert!(
        after < before + 200 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );

    // And the node still serves its real peer.
    let run = fed[1].node.run(&["ping", "kg-border", "--count", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
}
