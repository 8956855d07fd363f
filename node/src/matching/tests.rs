//! Matching between in-process nodes: real stores, real envelopes and
//! receipts, the outbox moved by hand instead of by libp2p, so each test
//! can step in between (a dishonest owner, a stranger, a clock that moves
//! on). Whole daemons are tested in `tests/matching.rs`.

use std::time::{Duration, Instant};

use liaison_protocol::envelope::{self, Outcome, Refusal};
use liaison_protocol::keys::{AgencyKey, SigningKey};
use liaison_protocol::matching::{Answer, Chunk, Evaluated, FilterInfo, Manifest};
use liaison_protocol::oprf::ServerKey;
use liaison_protocol::{Selector, SelectorKind};

use super::querier::{self, Item};
use super::*;
use crate::store::mailbox::Mailbox;
use crate::store::records::{Prepared, Records};
use crate::store::Store;
use crate::testkit::*;

fn phone(p: &str) -> Selector {
    Selector::new(SelectorKind::Phone, p)
}

/// Stores a record holding `selectors` (and queues them for the deltas,
/// as ingest does).
fn hold(n: &Node, id: &str, selectors: Vec<Selector>) {
    let json = format!("{{\"id\":\"{id}\"}}");
    let p = Prepared::with_json(id.into(), json.as_bytes(), selectors.clone(), "test", 0);
    Records::new(n.post.store()).put_batch(vec![p]).unwrap();
    owner::queue_new(n.post.store(), &selectors).unwrap();
}

fn tick(n: &Node) {
    tick_result(n).unwrap();
}

fn tick_result(n: &Node) -> Result<Vec<[u8; 32]>, Error> {
    super::tick(&n.post, &peers(n))
}

fn items(selectors: &[Selector]) -> Vec<Item> {
    selectors
        .iter()
        .enumerate()
        .map(|(slot, s)| Item {
            slot,
            selector: s.clone(),
            watch: None,
        })
        .collect()
}

/// `a` asks `b` about `selectors`; returns the finished query.
fn ask(a: &Node, b: &Node, selectors: &[Selector]) -> querier::Query {
    let peer = a.post.peer_by_key(b.card.verifying_key()).unwrap();
    let started = querier::query(&a.post, &[peer], &items(selectors), None).unwrap();
    assert!(started.skipped.is_empty(), "{:?}", started.skipped);
    deliver(a, b);
    deliver(b, a);
    querier::take(&a.post, started.id, false).expect("every answer arrived")
}

fn hit_slots(q: &querier::Query) -> Vec<usize> {
    let mut s: Vec<usize> = q.hits.iter().map(|h| h.slot).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// a (querier) and b (owner), trusting each other; b's config for a gets
/// `b_extra` and b's `[matching]` gets `b_matching`.
fn pair(b_matching: &str, b_extra: &str) -> (Node, Node) {
    let (ka, kb) = (identity(1).agency_key(), identity(2).agency_key());
    let a = node(1, "a", "", &[("b", &kb, "")]);
    let b = node(2, "b", b_matching, &[("a", &ka, b_extra)]);
    (a, b)
}

#[test]
fn hits_are_found_and_misses_are_not() {
    let (a, b) = pair("", "");
    hold(
        &b,
        "B-1",
        vec![phone("+996775987817"), phone("+992935551234")],
    );
    tick(&b);
    assert!(deliver(&b, &a).iter().all(|o| *o == Outcome::Accepted));
    let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000000")]);
    assert!(q.problems.is_empty(), "{:?}", q.problems);
    assert_eq!(hit_slots(&q), [0]);
    // A record stored later reaches a in the next delta.
    hold(&b, "B-2", vec![phone("+996700000000")]);
    tick(&b);
    deliver(&b, &a);
    let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000000")]);
    assert_eq!(hit_slots(&q), [0, 1]);
}

#[test]
fn a_wrong_key_or_tampered_proof_is_refused_and_kept_as_evidence() {
    let (a, b) = pair("", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let peer_b = a.post.peer("b").unwrap();
    for tamper in [false, true] {
        let started = querier::query(
            &a.post,
            std::slice::from_ref(&peer_b),
            &items(&[phone("+996775987817")]),
            None,
        )
        .unwrap();
        // b reads the request but answers dishonestly: under another key
        // (whose proof is valid for that key), or with a damaged proof.
        let pending = Mailbox::new(a.post.store())
            .pending(b.card.verifying_key(), 0, 10)
            .unwrap();
        let env = envelope::Envelope::decode(&pending[0].envelope, envelope::MAX_ENVELOPE).unwrap();
        let r = b
            .post
            .receive(Some(a.card.verifying_key()), &pending[0].envelope)
            .unwrap();
        a.post
            .confirm(&peer_b, pending[0].seq, &pending[0].envelope, &r.receipt)
            .unwrap();
        let honest = Mailbox::new(b.post.store())
            .pending(a.card.verifying_key(), 0, 10)
            .unwrap();
        let (_, body) = open_body(&honest[0].envelope, a.post.identity(), &b.card);
        let mut answer = Answer::decode(&body).unwrap();
        assert_eq!(answer.request, env.header.message_id.0);
        let Ok(ev) = &mut answer.result else {
            panic!("b declined")
        };
        if tamper {
            ev.proof[5] ^= 1;
        } else {
            let other = ServerKey::from_seed(&[9; 32], b"other").unwrap();
            let (_, body) = open_body(&pending[0].envelope, b.post.identity(), &a.card);
            let request = liaison_protocol::matching::Evaluate::decode(&body).unwrap();
            let (elements, proof) = other
                .evaluate_batch(&request.elements, &mut rand::rngs::OsRng)
                .unwrap();
            *ev = Evaluated { elements, proof };
        }
        let forged = seal_to(
            &b.post.identity().signing,
            &a.card,
            context::ANSWER,
            &answer.to_bytes(),
        );
        // Take the honest answer out of b's outbox: only the forgery goes.
        Mailbox::new(b.post.store())
            .delivered(
                a.card.verifying_key(),
                honest[0].seq,
                false,
                &liaison_protocol::audit::Entry::new(liaison_protocol::audit::Kind::Receipted, 0),
            )
            .unwrap();
        let got = a
            .post
            .receive(Some(b.card.verifying_key()), &forged)
            .unwrap();
        assert_eq!(got.outcome, Outcome::Accepted);
        let q = querier::take(&a.post, started.id, false).unwrap();
        assert!(q.hits.is_empty());
        assert!(
            q.problems[0].contains("failed verification") && q.problems[0].contains("evidence"),
            "{:?}",
            q.problems
        );
    }
    let s = summary(a.post.store(), &peers(&a)).unwrap();
    assert_eq!(s.evidence, 2);
    let bad = a
        .post
        .store()
        .pipe_log()
        .into_iter()
        .filter(|e| e.kind == liaison_protocol::audit::Kind::BadProof)
        .count();
    assert_eq!(bad, 2);
}

#[test]
fn filters_from_strangers_or_signed_by_another_key_are_refused() {
    let (a, b) = pair("", "");
    let mallory = identity(3);
    let me = a.post.identity().signing.verifying_key().to_bytes();
    let key = ServerKey::from_seed(&[4; 32], b"k").unwrap();
    let filter = liaison_protocol::filter::Filter::build(&[[1; 32]], &mut rand::rngs::OsRng)
        .unwrap()
        .to_bytes();
    let manifest = |signer: &SigningKey, owner: [u8; 32]| {
        Manifest {
            federation: "liaison".into(),
            owner,
            peer: me,
            epoch: 1,
            version: 1,
            starts_ms: 0,
            ends_ms: u64::MAX,
            keys: vec![(SelectorKind::Phone, key.public_key().to_bytes())],
            filter: FilterInfo::of(1024, &filter),
        }
        .sign(signer)
    };
    let chunk = |m| {
        Chunk {
            manifest: m,
            index: 0,
            data: filter.clone(),
        }
        .to_bytes()
    };
    let seal = |signer: &SigningKey, body: &[u8]| seal_to(signer, &a.card, context::CHUNK, body);
    let m_key = mallory.signing.verifying_key().to_bytes();
    // From an agency a does not trust.
    let from_stranger = seal(&mallory.signing, &chunk(manifest(&mallory.signing, m_key)));
    let r = a.post.receive(None, &from_stranger).unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::UnknownSender));
    // From b, but the manifest is signed by someone else.
    let b_key = b.card.verifying_key().to_bytes();
    let relayed = seal(
        &b.post.identity().signing,
        &chunk(manifest(&mallory.signing, b_key)),
    );
    let r = a.post.receive(None, &relayed).unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::Malformed));
    // From b, signed by b, but its filter is not the one the manifest names.
    let mut m = manifest(&b.post.identity().signing, b_key);
    m.manifest.filter.hash[0] ^= 1;
    let m = m.manifest.sign(&b.post.identity().signing);
    let r = a
        .post
        .receive(None, &seal(&b.post.identity().signing, &chunk(m)))
        .unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::Malformed));
    let s = summary(a.post.store(), &peers(&a)).unwrap();
    assert!(s.filters.values().all(Vec::is_empty), "{s:?}");
}

#[test]
fn one_peers_evaluations_never_hit_another_peers_filter() {
    let (ka, kc) = (identity(1).agency_key(), identity(3).agency_key());
    let b = node(2, "b", "", &[("a", &ka, ""), ("c", &kc, "")]);
    let mut held: Vec<Selector> = (0..200).map(|i| phone(&format!("+99677{i:07}"))).collect();
    let person = Selector::new(SelectorKind::PersonFull, "kurbanov|yusuf|1985-03-14");
    held.push(person.clone());
    hold(&b, "B-1", held.clone());
    tick(&b);
    let epoch = b.post.matching().settings().epoch_at(crate::post::now_ms());
    let key_a = b
        .post
        .matching()
        .key(ka.verifying_key().as_bytes(), epoch, SelectorKind::Phone)
        .unwrap();
    let key_c = b
        .post
        .matching()
        .key(kc.verifying_key().as_bytes(), epoch, SelectorKind::Phone)
        .unwrap();
    assert_ne!(key_a.public_key(), key_c.public_key());
    // The filters b built for each, as sent: a's tags are all in a's
    // filter and none in c's.
    let b_card = identity(2).agency_key();
    let filter_for = |peer: &AgencyKey| {
        let mut bytes = Vec::new();
        for p in Mailbox::new(b.post.store())
            .pending(peer.verifying_key(), 0, 100)
            .unwrap()
        {
            let who = if peer == &ka {
                identity(1)
            } else {
                identity(3)
            };
            let (context, body) = open_body(&p.envelope, &who, &b_card);
            if context == context::CHUNK {
                bytes.extend(Chunk::decode(&body).unwrap().data);
            }
        }
        liaison_protocol::filter::Filter::decode(&bytes).unwrap()
    };
    let (fa, fc) = (filter_for(&ka), filter_for(&kc));
    let tags_a: Vec<[u8; 32]> = held[..200].iter().map(|s| oprf_tag(&key_a, s)).collect();
    assert!(tags_a.iter().all(|t| fa.contains(t)));
    assert_eq!(tags_a.iter().filter(|t| fc.contains(t)).count(), 0);
    // A person key sent labelled as a phone (to spend the phone budget)
    // is evaluated under the phone key, and matches nothing.
    let person_key = b
        .post
        .matching()
        .key(
            ka.verifying_key().as_bytes(),
            epoch,
            SelectorKind::PersonFull,
        )
        .unwrap();
    assert!(fa.contains(&oprf_tag(&person_key, &person)));
    assert!(!fa.contains(&oprf_tag(&key_a, &person)));
}

/// Every entry of a store's audit log.
trait Log {
    fn pipe_log(&self) -> Vec<liaison_protocol::audit::Entry>;
}

impl Log for Store {
    fn pipe_log(&self) -> Vec<liaison_protocol::audit::Entry> {
        log_entries(self)
    }
}

fn oprf_tag(key: &ServerKey, s: &Selector) -> [u8; 32] {
    liaison_protocol::oprf::tag(&key.evaluate(&liaison_protocol::oprf::input(s)).unwrap())
}

/// Polls `f` until it returns `Some`, for at most `limit`.
fn within<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_budget_refuses_with_its_renewal_time_and_then_renews() {
    let (a, b) = pair("budget_window = \"2s\"", "budget = { phone = 3 }");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let five: Vec<Selector> = (0..5).map(|i| phone(&format!("+99670000000{i}"))).collect();
    // Five phones at once: over the budget of three, nothing evaluated.
    let q = ask(&a, &b, &five);
    assert!(q.hits.is_empty());
    assert!(
        q.problems[0].contains("declined")
            && q.problems[0].contains("phone budget is spent")
            && q.problems[0].contains("renews at"),
        "{:?}",
        q.problems
    );
    // Three fit; a fourth does not, until the window renews.
    let three = [phone("+996775987817"), five[0].clone(), five[1].clone()];
    let window = || crate::post::now_ms() / 2000;
    let w0 = window();
    let q = ask(&a, &b, &three);
    assert!(q.problems.is_empty(), "{:?}", q.problems);
    assert_eq!(hit_slots(&q), [0]);
    let q = ask(&a, &b, &[phone("+996775987817")]);
    if window() == w0 {
        assert!(
            q.problems[0].contains("budget is spent"),
            "{:?}",
            q.problems
        );
    }
    let q = within(Duration::from_secs(10), || {
        let q = ask(&a, &b, &[phone("+996775987817")]);
        q.problems.is_empty().then_some(q)
    });
    assert_eq!(hit_slots(&q), [0]);
    // The owner's log records the refusals by count and code.
    let declined = b
        .post
        .store()
        .pipe_log()
        .into_iter()
        .filter(|e| e.context == context::EVALUATE && e.code == 1)
        .count();
    assert!(declined >= 1);
}

#[test]
fn hits_survive_epoch_rotation_and_old_keys_are_destroyed() {
    let (a, b) = pair("epoch = \"2s\"\noverlap = \"1s\"", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    let mut epochs = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while epochs.len() < 3 {
        assert!(Instant::now() < deadline, "saw only epochs {epochs:?}");
        tick(&b);
        deliver(&b, &a);
        let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000001")]);
        // An answer may be declined if its epoch ended between the request
        // and the answer; otherwise the hit is there, the miss is not.
        if q.problems.is_empty() {
            assert_eq!(hit_slots(&q), [0], "{q:?}");
            epochs.extend(q.hits.iter().map(|h| h.epoch));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let destroyed = b
        .post
        .store()
        .pipe_log()
        .into_iter()
        .filter(|e| e.kind == liaison_protocol::audit::Kind::KeyDestroyed)
        .count();
    assert!(destroyed >= 1);
    let first = *epochs.first().unwrap();
    let pk = a.card.verifying_key().to_bytes();
    assert!(
        b.post
            .matching()
            .key(&pk, first, SelectorKind::Phone)
            .is_none(),
        "the key of epoch {first} still exists"
    );
}

#[test]
fn a_watched_selector_raises_an_alert_when_the_owner_stores_it() {
    let (a, b) = pair("", "");
    hold(
        &b,
        "B-1",
        vec![phone("+996775987817"), phone("+996555123456")],
    );
    tick(&b);
    deliver(&b, &a);
    let peer_b = a.post.peer("b").unwrap();
    querier::watch_add(
        &a.post,
        &[peer_b],
        vec![
            (
                "phone +996 700 111 222".into(),
                "w.csv:2".into(),
                vec![phone("+996700111222")],
            ),
            (
                "person with two phones b holds".into(),
                "w.csv:3".into(),
                vec![phone("+996775987817"), phone("+996555123456")],
            ),
        ],
    )
    .unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    // The one b already holds is an alert at once: one, though both its
    // selectors are held.
    let alerts = querier::alerts(&a.post).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].how, "already held");
    // A new record at b: the next delta raises the other.
    hold(&b, "B-2", vec![phone("+996700111222")]);
    tick(&b);
    deliver(&b, &a);
    let alerts = querier::alerts(&a.post).unwrap();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[1].label, "phone +996 700 111 222");
    assert_eq!(alerts[1].how, "new record");
    assert_eq!(alerts[1].peer, "b");
    // Nothing else in b's deltas alerts.
    hold(&b, "B-3", vec![phone("+996700999999")]);
    tick(&b);
    deliver(&b, &a);
    assert_eq!(querier::alerts(&a.post).unwrap().len(), 2);
}
