//! In-process nodes for tests: real stores, real envelopes and receipts,
//! the outbox moved by hand instead of by libp2p, so a test can step in
//! between. Used by the matching and exchange tests.

use std::sync::Arc;

use liaison_config::{Config, Peer};
use liaison_protocol::envelope::{self, Draft, MessageId, Outcome};
use liaison_protocol::keys::{AgencyKey, SealingKey, SigningKey};
use rand_core_09::{OsRng, UnwrapErr};

use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::identity::Identity;
use crate::matching::Matching;
use crate::post::Post;
use crate::router::Router;
use crate::store::mailbox::Mailbox;
use crate::store::Store;

pub(crate) struct Node {
    pub(crate) post: Arc<Post>,
    pub(crate) router: Router,
    pub(crate) card: AgencyKey,
    pub(crate) _dir: tempfile::TempDir,
}

impl Node {
    pub(crate) fn matching(&self) -> &Matching {
        self.router.matching()
    }

    pub(crate) fn exchange(&self) -> &Exchange {
        self.router.exchange()
    }
}

pub(crate) fn identity(seed: u8) -> Identity {
    Identity {
        signing: SigningKey::from_seed(&[seed; 32]),
        sealing: SealingKey::from_bytes([seed ^ 0x55; 32]),
    }
}

/// Where every test node's pinned clock starts: 2026-06-15 12:00 UTC,
/// the middle of a 24 h epoch and of a 24 h budget window, so a test on
/// the defaults sees one live epoch and one window whenever it runs.
pub(crate) const T0: u64 = 1_781_524_800_000;

/// A node trusting `peers` (name, key, extra TOML for its entry);
/// `matching` is TOML under the `[matching]` header (further sections,
/// such as `[exchange]`, may follow it). Its clock is pinned at [`T0`].
pub(crate) fn node(
    seed: u8,
    name: &str,
    matching: &str,
    peers: &[(&str, &AgencyKey, &str)],
) -> Node {
    node_on(&Clock::pinned(T0), seed, name, matching, peers)
}

/// [`node`] on `clock`: nodes that share a clock move in time together.
pub(crate) fn node_on(
    clock: &Clock,
    seed: u8,
    name: &str,
    matching: &str,
    peers: &[(&str, &AgencyKey, &str)],
) -> Node {
    let id = identity(seed);
    let card = id.agency_key();
    let mut text = format!("[node]\nname = \"{name}\"\n[matching]\n{matching}\n");
    for (n, k, extra) in peers {
        text.push_str(&format!(
            "[[peers]]\nname = \"{n}\"\nkey = \"{k}\"\n{extra}\n"
        ));
    }
    let config = Config::from_text(std::path::Path::new("/tmp/liaison.toml"), &text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("data")).unwrap());
    let post = Arc::new(Post::with_clock(id, store, &config, clock.clone()));
    let router = Router::new(post.clone(), &config);
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    router
        .matching()
        .open_keys(&dir.path().join("keys"), post.now_ms())
        .unwrap();
    Node {
        post,
        router,
        card,
        _dir: dir,
    }
}

pub(crate) fn peers(n: &Node) -> Vec<Peer> {
    let mut v: Vec<Peer> = ["a", "b", "c", "d"]
        .iter()
        .filter_map(|name| n.post.peer(name).ok())
        .collect();
    v.sort_by(|x, y| x.name.cmp(&y.name));
    v
}

/// [`transfer`] between two test nodes.
pub(crate) fn deliver(from: &Node, to: &Node) -> Vec<Outcome> {
    transfer(&from.router, &to.router)
}

/// Moves everything `from` has queued for `to` across, and the receipts
/// back; returns the outcomes.
pub(crate) fn transfer(from: &Router, to: &Router) -> Vec<Outcome> {
    let (from, to) = (from.post(), to);
    let (from_key, to_key) = (
        from.identity().signing.verifying_key(),
        to.post().identity().signing.verifying_key(),
    );
    let peer = from.peer_by_key(&to_key).unwrap();
    let mut out = Vec::new();
    for p in Mailbox::new(from.store())
        .pending(&to_key, 0, 10_000)
        .unwrap()
    {
        let r = to.receive(Some(&from_key), &p.envelope).unwrap();
        from.confirm(&peer, p.seq, &p.envelope, &r.receipt).unwrap();
        out.push(r.outcome);
    }
    out
}

/// The body of `bytes` (an envelope to `to` from `from`), opened
/// whatever its time (the tests read what a node sent, not its window).
pub(crate) fn open_body(bytes: &[u8], to: &Identity, from: &AgencyKey) -> (String, Vec<u8>) {
    let env = envelope::Envelope::decode(bytes, envelope::MAX_ENVELOPE).unwrap();
    let opened = env
        .open(
            envelope::Recipient {
                federation: "liaison",
                signing: &to.signing,
                sealing: &to.sealing,
            },
            |_| Some(from),
            |_, _| false,
            envelope::Window {
                now_ms: u64::MAX / 2,
                max_age_ms: u64::MAX / 2,
                max_skew_ms: 0,
            },
        )
        .unwrap();
    (opened.header.context, opened.body)
}

/// `body` sealed by `from` to `to` under `context` at `now_ms`, as bytes.
pub(crate) fn seal_to(
    from: &SigningKey,
    to: &AgencyKey,
    context: &str,
    body: &[u8],
    now_ms: u64,
) -> Vec<u8> {
    envelope::seal(
        from,
        Draft {
            federation: "liaison",
            context,
            recipient: to,
            message_id: MessageId::random(&mut UnwrapErr(OsRng)),
            epoch: 0,
            timestamp_ms: now_ms,
            body,
        },
        &mut UnwrapErr(OsRng),
    )
    .unwrap()
    .to_bytes()
}

/// Every entry of a node's audit log, in order.
pub(crate) fn log_entries(store: &Store) -> Vec<liaison_protocol::audit::Entry> {
    let mut out = Vec::new();
    store
        .scan_log(0, |_, bytes| {
            out.push(liaison_protocol::audit::Entry::decode(bytes).unwrap());
            true
        })
        .unwrap();
    out
}

/// A person's selectors (surname, given name, date of birth), as ingest
/// makes them.
pub(crate) fn person(surname: &str, given: &str, dob: &str) -> Vec<liaison_protocol::Selector> {
    let mut out = Vec::new();
    liaison_protocol::normalize::person::selectors(
        &liaison_protocol::normalize::person::Names {
            surname: Some(surname),
            given: Some(given),
            ..Default::default()
        },
        dob.parse().expect("a valid date"),
        &mut out,
    )
    .expect("a readable name");
    out
}
