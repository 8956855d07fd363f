//! A trusted peer that sends valid, signed messages as fast as it can,
//! one kind at a time for a bounded time: deltas past the images we keep
//! per (owner, epoch), filter chunks of a huge filter, follow-up requests
//! each under a new case, and evaluation requests. Every kind is capped,
//! counted and refused with a signed reason; the node's memory and disk
//! stay within the bounds stated below, and its other peer is served
//! throughout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, StreamExt as _};
use liaison_protocol::envelope::{self, Draft, MessageId, Outcome, Receipt};
use liaison_protocol::keys::{AgencyKey, SigningKey};
use liaison_protocol::matching::{self, Chunk, Delta, Evaluate, FilterInfo, Manifest, Purpose};
use liaison_protocol::SelectorKind;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol};
use rand_core_09::{OsRng, TryRngCore as _, UnwrapErr};

use super::{connect, disk_bytes, rss_kib, signing_key, swarm_as};
use crate::federation::{federation, Agency};

/// Sends envelopes as requests and reads receipts.
#[derive(Debug, Clone, Copy, Default)]
struct Frames;

#[async_trait]
impl request_response::Codec for Frames {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<u8>> {
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
        req: Vec<u8>,
    ) -> std::io::Result<()> {
        io.write_all(&(req.len() as u32).to_be_bytes()).await?;
        io.write_all(&req).await?;
        io.close().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Vec<u8>,
    ) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// The hostile agency's keys and the victim's card and address.
struct Mallory {
    signing: SigningKey,
    kg: AgencyKey,
    addr: Multiaddr,
}

impl Mallory {
    fn seal(&self, context: &str, body: &[u8]) -> Vec<u8> {
        envelope::seal(
            &self.signing,
            Draft {
                federation: "liaison",
                context,
                recipient: &self.kg,
                message_id: MessageId::random(&mut UnwrapErr(OsRng)),
                epoch: 0,
                timestamp_ms: now_ms(),
                body,
            },
            &mut UnwrapErr(OsRng),
        )
        .unwrap()
        .to_bytes()
    }

    /// A manifest of mallory's for kg-border, for the epoch in force.
    fn manifest(&self, chunks: u32, version: u64) -> matching::SignedManifest {
        let day = 86_400_000;
        let epoch = now_ms() / day;
        let len = (chunks as usize - 1) * matching::CHUNK_BYTES + 1;
        let mut filter = FilterInfo::of(1 << 24, &[]);
        filter.len = len as u32;
        filter.chunks = chunks;
        Manifest {
            federation: "liaison".into(),
            owner: self.signing.verifying_key().to_bytes(),
            peer: self.kg.verifying_key().to_bytes(),
            epoch,
            version,
            starts_ms: epoch * day,
            ends_ms: (epoch + 1) * day,
            keys: vec![(SelectorKind::Phone, [0xE2; 32])],
            filter,
        }
        .sign(&self.signing)
    }

    /// Sends what `next` makes, 32 at a time, for `how_long`; the
    /// receipts' outcomes by name, and requests that failed.
    fn flood(
        &self,
        how_long: Duration,
        mut next: impl FnMut() -> Vec<u8>,
    ) -> (BTreeMap<String, u64>, u64) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut swarm = swarm_as(&self.signing, Duration::from_secs(10), |_| {
                request_response::Behaviour::with_codec(
                    Frames,
                    [(
                        StreamProtocol::new("/liaison/envelope/1"),
                        ProtocolSupport::Outbound,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(60)),
                )
            });
            let peer = connect(&mut swarm, self.addr.clone()).await;
            let until = Instant::now() + how_long;
            let (mut in_flight, mut outcomes, mut failed) = (0, BTreeMap::new(), 0u64);
            loop {
                while in_flight < 32 && Instant::now() < until {
                    swarm.behaviour_mut().send_request(&peer, next());
                    in_flight += 1;
                }
                if in_flight == 0 {
                    break;
                }
                let event = tokio::time::timeout(Duration::from_secs(60), swarm.select_next_some())
                    .await
                    .expect("every request ends within 60 s");
                match event {
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message: request_response::Message::Response { response, .. },
                        ..
                    }) => {
                        in_flight -= 1;
                        let r = Receipt::decode(&response).expect("a receipt");
                        let name = match r.outcome {
                            Outcome::Refused(reason) => reason.as_str().to_owned(),
                            other => format!("{other:?}").to_lowercase(),
                        };
                        *outcomes.entry(name).or_insert(0) += 1;
                    }
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => {
                        in_flight -= 1;
                        failed += 1;
                    }
                    _ => {}
                }
            }
            (outcomes, failed)
        })
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    OsRng.try_fill_bytes(&mut b).unwrap();
    b
}

/// Fails unless kg-border stayed within `rss_mib` more memory and
/// `disk_mib` more disk than at `start`, and still serves tj-drug.
fn within_bounds(
    what: &str,
    kg: &Agency,
    tj: &Agency,
    start: (u64, u64),
    rss_mib: u64,
    disk_mib: u64,
) {
    let data = kg.node.dir.path().join("node/data");
    let (rss, disk) = (rss_kib(kg.pid()), disk_bytes(&data));
    eprintln!(
        "{what}: kg-border RSS {} → {} MiB, store {} → {} MiB",
        start.0 / 1024,
        rss / 1024,
        start.1 >> 20,
        disk >> 20
    );
    assert!(
        rss < start.0 + rss_mib * 1024,
        "{what}: RSS grew from {} to {rss} KiB",
        start.0
    );
    assert!(
        disk < start.1 + (disk_mib << 20),
        "{what}: the store grew from {} to {disk} bytes",
        start.1
    );
    let ping = tj.node.run(&["ping", "kg-border", "--count", "2"]);
    assert_eq!(
        ping.code, 0,
        "{what}: kg-border stopped serving tj-drug: {ping:?}"
    );
}

#[test]
fn a_trusted_peer_flooding_each_kind_of_message_is_capped_and_others_are_served() {
    let fed = federation(&["kg-border", "tj-drug"]);
    let (kg, tj) = (&fed[0], &fed[1]);
    let mallory = Agency::new("mallory");
    kg.trust("mallory", &mallory.key(), None);
    let m = Mallory {
        signing: signing_key(&mallory),
        kg: kg.key().parse().unwrap(),
        addr: kg.status()["listen"][0].as_str().unwrap().parse().unwrap(),
    };
    let data = kg.node.dir.path().join("node/data");
    let start = || (rss_kib(kg.pid()), disk_bytes(&data));

    // Deltas: 16,384 images each, past the 262,144 kept per (owner,
    // epoch). Bound: that many images, about 20 MiB of keys.
    let before = start();
    let manifest = m.manifest(1, 1);
    let mut seq = 0;
    let (outcomes, _) = m.flood(Duration::from_secs(4), || {
        seq += 1;
        let images = (0..matching::MAX_DELTA_TAGS).map(|_| random32()).collect();
        let body = Delta {
            manifest: manifest.clone(),
            seq,
            images,
        }
        .to_bytes();
        m.seal("liaison/match/delta/v2", &body)
    });
    eprintln!("delta flood: {outcomes:?}");
    let kept = outcomes.get("accepted").copied().unwrap_or(0);
    assert!(
        kept <= matching::MAX_EPOCH_DELTA_TAGS / matching::MAX_DELTA_TAGS as u64,
        "{outcomes:?}"
    );
    assert!(
        outcomes.get("over-limit").copied().unwrap_or(0) > 0,
        "the cap was not reached: {outcomes:?}"
    );
    within_bounds("delta flood", kg, tj, before, 200, 80);

    // Filter chunks of a 128-chunk filter, new versions as it goes.
    // Bound: one filter per epoch held, at most 96 MiB.
    let before = start();
    let mut n = 0u32;
    let (outcomes, _) = m.flood(Duration::from_secs(3), || {
        n += 1;
        let chunk = Chunk {
            manifest: m.manifest(matching::MAX_CHUNKS, 2 + u64::from(n / 100)),
            index: n % (matching::MAX_CHUNKS - 1),
            data: vec![0xC5; matching::CHUNK_BYTES],
        };
        m.seal("liaison/match/filter/v1", &chunk.to_bytes())
    });
    eprintln!("chunk flood: {outcomes:?}");
    within_bounds("chunk flood", kg, tj, before, 200, 200);

    // Follow-up requests, each under a new case. Bound: the day's 500
    // requests and 100 new cases, a few hundred bytes each.
    let before = start();
    let mut i = 0;
    let (outcomes, _) = m.flood(Duration::from_secs(4), || {
        i += 1;
        let req = liaison_protocol::exchange::Request {
            id: random32()[..16].try_into().unwrap(),
            tags: vec![liaison_protocol::exchange::Tag {
                kind: SelectorKind::Phone,
                epoch: now_ms() / 86_400_000,
                tag: random32(),
            }],
            reference: format!("FLOOD-{i}"),
            basis: "none".into(),
            note: String::new(),
        };
        m.seal("liaison/exchange/request/v1", &req.to_bytes())
    });
    eprintln!("request flood: {outcomes:?}");
    let salts = kg.node.run(&[
        "audit", "show", "--peer", "mallory", "--json", "--limit", "100000",
    ]);
    assert_eq!(salts.code, 0, "{salts:?}");
    let entries = salts.json();
    let with_case = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"] == "liaison/exchange/request/v1" && e["case"] == true)
        .count();
    assert!(
        with_case <= 100,
        "{with_case} new cases stored for one peer in a day"
    );
    within_bounds("request flood", kg, tj, before, 200, 20);

    // Evaluations of 4,096 elements under a manifest kg-border never
    // made: declined before any work.
    let before = start();
    let body = Evaluate {
        manifest: random32(),
        purpose: Purpose::Renewal,
        case: None,
        kind: SelectorKind::Phone,
        elements: vec![[0xE2; 32]; liaison_protocol::oprf::MAX_BATCH],
    }
    .to_bytes();
    let (outcomes, _) = m.flood(Duration::from_secs(3), || {
        m.seal("liaison/match/evaluate/v1", &body)
    });
    eprintln!("evaluation flood: {outcomes:?}");
    within_bounds("evaluation flood", kg, tj, before, 200, 20);
    let evaluated = kg.status()["matching"]["evaluated"].as_u64();
    assert_eq!(evaluated, Some(0), "kg-border evaluated for mallory");
}
