//! Matching between in-process nodes: real stores, real envelopes and
//! receipts, the outbox moved by hand instead of by libp2p, so each test
//! can step in between (a dishonest owner, a stranger, a clock that moves
//! on). Whole daemons are tested in `tests/matching.rs`.

use liaison_protocol::envelope::{self, Outcome, Refusal};
use liaison_protocol::keys::{AgencyKey, SigningKey};
use liaison_protocol::matching::{
    Answer, Chunk, Decline, Evaluated, FilterInfo, Manifest, Purpose,
};
use liaison_protocol::oprf::ServerKey;
use liaison_protocol::record::Handling;
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
    hold_as(n, id, Handling::Amber, selectors);
}

/// [`hold`] with a handling code.
fn hold_as(n: &Node, id: &str, handling: Handling, selectors: Vec<Selector>) {
    let json = format!("{{\"id\":\"{id}\",\"handling\":\"{}\"}}", handling.as_str());
    let p = Prepared::with_json(
        id.into(),
        json.as_bytes(),
        handling,
        selectors.clone(),
        "test",
        0,
    );
    // Queued for the deltas in the same write.
    Records::new(n.post.store()).put_batch(vec![p]).unwrap();
}

fn tick(n: &Node) {
    tick_result(n).unwrap();
}

fn tick_result(n: &Node) -> Result<Vec<[u8; 32]>, Error> {
    super::tick(n.matching(), &peers(n))
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
    let started = querier::query(a.matching(), &[peer], &items(selectors), None).unwrap();
    assert!(started.skipped.is_empty(), "{:?}", started.skipped);
    deliver(a, b);
    deliver(b, a);
    querier::take(a.matching(), started.id, false).expect("every answer arrived")
}

fn hit_slots(q: &querier::Query) -> Vec<usize> {
    let mut s: Vec<usize> = q.hits.iter().map(|h| h.slot).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// a (querier) and b (owner), trusting each other, on one pinned clock
/// (at [`T0`]); b's config for a gets `b_extra` and b's `[matching]` gets
/// `b_matching`.
fn pair(b_matching: &str, b_extra: &str) -> (Node, Node) {
    pair_at(T0, b_matching, b_extra)
}

/// [`pair`] with the clock pinned at `t`.
fn pair_at(t: u64, b_matching: &str, b_extra: &str) -> (Node, Node) {
    pair_on(&crate::clock::Clock::pinned(t), b_matching, b_extra)
}

/// [`pair`] on `clock`.
fn pair_on(clock: &crate::clock::Clock, b_matching: &str, b_extra: &str) -> (Node, Node) {
    let (ka, kb) = (identity(1).agency_key(), identity(2).agency_key());
    let a = node_on(clock, 1, "a", "", &[("b", &kb, "")]);
    let b = node_on(clock, 2, "b", b_matching, &[("a", &ka, b_extra)]);
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
            a.matching(),
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
            .router
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
            a.post.now_ms(),
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
            .router
            .receive(Some(b.card.verifying_key()), &forged)
            .unwrap();
        assert_eq!(got.outcome, Outcome::Accepted);
        let q = querier::take(a.matching(), started.id, false).unwrap();
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
    let seal = |signer: &SigningKey, body: &[u8]| {
        seal_to(signer, &a.card, context::CHUNK, body, a.post.now_ms())
    };
    let m_key = mallory.signing.verifying_key().to_bytes();
    // From an agency a does not trust.
    let from_stranger = seal(&mallory.signing, &chunk(manifest(&mallory.signing, m_key)));
    let r = a.router.receive(None, &from_stranger).unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::UnknownSender));
    // From b, but the manifest is signed by someone else.
    let b_key = b.card.verifying_key().to_bytes();
    let relayed = seal(
        &b.post.identity().signing,
        &chunk(manifest(&mallory.signing, b_key)),
    );
    let r = a.router.receive(None, &relayed).unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::Malformed));
    // From b, signed by b, but its filter is not the one the manifest names.
    let mut m = manifest(&b.post.identity().signing, b_key);
    m.manifest.filter.hash[0] ^= 1;
    let m = m.manifest.sign(&b.post.identity().signing);
    let r = a
        .router
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
    let epoch = b.matching().settings().epoch_at(b.post.now_ms());
    let key_a = b
        .matching()
        .key(ka.verifying_key().as_bytes(), epoch, SelectorKind::Phone)
        .unwrap();
    let key_c = b
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
    assert_eq!(b.matching().evaluated(), 0, "declined before evaluating");
    // Three fit; a fourth does not (the clock is pinned: no window can
    // roll over in between), until the window has moved past them.
    let three = [phone("+996775987817"), five[0].clone(), five[1].clone()];
    let q = ask(&a, &b, &three);
    assert!(q.problems.is_empty(), "{:?}", q.problems);
    assert_eq!(hit_slots(&q), [0]);
    let q = ask(&a, &b, &[phone("+996775987817")]);
    assert!(
        q.problems[0].contains("budget is spent"),
        "{:?}",
        q.problems
    );
    a.post.clock().advance(1_000);
    let q = ask(&a, &b, &[phone("+996775987817")]);
    assert!(
        q.problems[0].contains("budget is spent"),
        "half a window later: {:?}",
        q.problems
    );
    a.post.clock().advance(1_200);
    let q = ask(&a, &b, &[phone("+996775987817")]);
    assert!(q.problems.is_empty(), "a window later: {:?}", q.problems);
    assert_eq!(hit_slots(&q), [0]);
    assert_eq!(b.matching().evaluated(), 4);
    // The owner's log records the refusals by count and code.
    let declined = b
        .post
        .store()
        .pipe_log()
        .into_iter()
        .filter(|e| e.context == context::EVALUATE && e.code == 1)
        .count();
    assert_eq!(declined, 3);
}

#[test]
fn hits_survive_epoch_rotation_and_old_keys_are_destroyed() {
    let (a, b) = pair("epoch = \"2s\"\noverlap = \"1s\"", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    let mut epochs = std::collections::BTreeSet::new();
    // Half an epoch a step, over five epochs: the clock is moved, not
    // waited for.
    for _ in 0..20 {
        // a's own schedule forgets manifests of epochs long over.
        tick(&a);
        tick(&b);
        deliver(&b, &a);
        let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000001")]);
        assert!(q.problems.is_empty(), "{q:?}");
        assert_eq!(hit_slots(&q), [0], "{q:?}");
        epochs.extend(q.hits.iter().map(|h| h.epoch));
        a.post.clock().advance(500);
    }
    assert!(epochs.len() >= 4, "hits in epochs {epochs:?}");
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
        b.matching().key(&pk, first, SelectorKind::Phone).is_none(),
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
        a.matching(),
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
        false,
    )
    .unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    // The one b already holds is an alert at once: one, though both its
    // selectors are held.
    let alerts = querier::alerts(a.matching()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].how, "already held");
    // A new record at b: the next delta raises the other.
    hold(&b, "B-2", vec![phone("+996700111222")]);
    tick(&b);
    deliver(&b, &a);
    let alerts = querier::alerts(a.matching()).unwrap();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[1].label, "phone +996 700 111 222");
    assert_eq!(alerts[1].how, "new record");
    assert_eq!(alerts[1].peer, "b");
    // Nothing else in b's deltas alerts.
    hold(&b, "B-3", vec![phone("+996700999999")]);
    tick(&b);
    deliver(&b, &a);
    assert_eq!(querier::alerts(a.matching()).unwrap().len(), 2);
}

#[test]
fn a_declined_watchlist_renewal_is_a_gap_status_shows() {
    let (a, b) = pair("", "budget = { phone = 1 }");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let peer_b = a.post.peer("b").unwrap();
    querier::watch_add(
        a.matching(),
        std::slice::from_ref(&peer_b),
        vec![(
            "two phones".into(),
            "w.csv:2".into(),
            vec![phone("+996775987817"), phone("+996555123456")],
        )],
        false,
    )
    .unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    // Two phones against a budget of one: declined, so b's record of the
    // watched phone raises nothing, and status must say why.
    assert!(querier::alerts(a.matching()).unwrap().is_empty());
    let gaps = super::summary(a.post.store(), std::slice::from_ref(&peer_b))
        .unwrap()
        .unwatched;
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let (name, epoch, reason) = &gaps[0];
    assert_eq!(name, "b");
    assert!(reason.contains("budget"), "{reason}");
    // Once that epoch is over and forgotten, so is its gap.
    a.post.clock().advance(4 * 86_400_000);
    tick(&a);
    let gaps = super::summary(a.post.store(), &[peer_b]).unwrap().unwatched;
    assert!(gaps.iter().all(|(_, e, _)| e != epoch), "{gaps:?}");
}

#[test]
fn a_weak_person_hit_alerts_only_a_watch_that_asked_for_weak_hits() {
    let held = crate::testkit::person("Asanov", "Bakyt", "1990-05-01");
    let watched = crate::testkit::person("Asanov", "Bakyr", "1990-05-01");
    // The two share one-letter keys and nothing stronger.
    let shared: Vec<_> = watched.iter().filter(|s| held.contains(s)).collect();
    assert!(!shared.is_empty());
    assert!(
        shared.iter().all(|s| s.kind == SelectorKind::PersonFuzzy),
        "{shared:?}"
    );

    let (a, b) = pair("", "");
    hold(&b, "B-1", held);
    tick(&b);
    deliver(&b, &a);
    let peer_b = a.post.peer("b").unwrap();
    let entry = |label: &str| vec![(label.to_owned(), "w.csv:2".to_owned(), watched.clone())];
    querier::watch_add(
        a.matching(),
        std::slice::from_ref(&peer_b),
        entry("plain"),
        false,
    )
    .unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    assert!(querier::alerts(a.matching()).unwrap().is_empty());
    let list = querier::watches(a.matching()).unwrap();
    assert!(!list[0].weak);
    assert!(list[0]
        .selectors
        .iter()
        .all(|s| s.kind != SelectorKind::PersonFuzzy));

    querier::watch_add(a.matching(), &[peer_b], entry("weak too"), true).unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    let alerts = querier::alerts(a.matching()).unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].label, "weak too");
    assert_eq!(alerts[0].kind, SelectorKind::PersonFuzzy);
}

/// b's answers to a in b's outbox, moved out (a never sees them).
fn answers_to(b: &Node, a: &Node) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mailbox = Mailbox::new(b.post.store());
    for p in mailbox.pending(a.card.verifying_key(), 0, 100_000).unwrap() {
        out.push(open_body(&p.envelope, a.post.identity(), &b.card));
        mailbox
            .delivered(
                a.card.verifying_key(),
                p.seq,
                false,
                &liaison_protocol::audit::Entry::new(liaison_protocol::audit::Kind::Receipted, 0),
            )
            .unwrap();
    }
    out
}

/// a sends b `body` as `context` with its own code, not the querier's.
fn send_raw(a: &Node, b: &Node, context: &str, body: &[u8]) -> Outcome {
    let bytes = seal_to(
        &a.post.identity().signing,
        &b.card,
        context,
        body,
        a.post.now_ms(),
    );
    b.router
        .receive(Some(a.card.verifying_key()), &bytes)
        .unwrap()
        .outcome
}

/// `n` blinded phones (valid group elements), as a querier would send.
fn blinded(n: usize) -> Vec<liaison_protocol::oprf::Element> {
    (0..n)
        .map(|i| {
            liaison_protocol::oprf::blind(
                format!("v1|phone|+99670{i:07}").as_bytes(),
                &mut rand::rngs::OsRng,
            )
            .unwrap()
            .1
        })
        .collect()
}

/// An evaluation request for `n` blinded phones under `m`.
fn evaluate_body(
    m: &liaison_protocol::matching::SignedManifest,
    purpose: Purpose,
    n: usize,
) -> Vec<u8> {
    liaison_protocol::matching::Evaluate {
        manifest: m.hash(),
        purpose,
        case: None,
        kind: SelectorKind::Phone,
        elements: blinded(n),
    }
    .to_bytes()
}

/// The answers among `(context, body)`.
fn answers(sent: &[(String, Vec<u8>)]) -> Vec<Answer> {
    sent.iter()
        .filter(|(c, _)| c == context::ANSWER)
        .map(|(_, b)| Answer::decode(b).unwrap())
        .collect()
}

#[test]
fn a_querier_that_evaluated_nothing_cannot_request_what_the_deltas_carry() {
    use liaison_protocol::exchange::{Reply, Request, Status, Tag, MAX_TAGS};
    let (a, b) = pair("", r#"release = { default = "auto" }"#);
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    // New records reach a as a delta.
    let new: Vec<Selector> = (0..20)
        .map(|i| phone(&format!("+9967001112{i:02}")))
        .collect();
    hold(&b, "B-2", new.clone());
    tick(&b);
    let mut images = Vec::new();
    for p in Mailbox::new(b.post.store())
        .pending(a.card.verifying_key(), 0, 100)
        .unwrap()
    {
        let (ctx, body) = open_body(&p.envelope, a.post.identity(), &b.card);
        if ctx == context::DELTA {
            images.extend(
                liaison_protocol::matching::Delta::decode(&body)
                    .unwrap()
                    .images,
            );
        }
    }
    assert_eq!(images.len(), 32, "20 new tags padded to 32");
    deliver(&b, &a);
    // a, spending no budget, asks for the record behind every value the
    // deltas carried, and for a tag it made up.
    let epoch = b.matching().settings().epoch_at(b.post.now_ms());
    let mut forged = vec![[0x42u8; 32]];
    forged.extend(images.iter().copied());
    for tags in forged.chunks(MAX_TAGS) {
        let req = Request {
            id: rand::random(),
            tags: tags
                .iter()
                .map(|t| Tag {
                    kind: SelectorKind::Phone,
                    epoch,
                    tag: *t,
                })
                .collect(),
            reference: "KG-CASE".into(),
            basis: "Art. 1".into(),
            note: String::new(),
        };
        assert_eq!(
            send_raw(&a, &b, crate::exchange::context::REQUEST, &req.to_bytes()),
            Outcome::Accepted
        );
    }
    // Every answer is the one a made-up tag gets; nothing is filed or
    // released; a has no budget spent and b's log shows no evaluation.
    let sent = answers_to(&b, &a);
    assert_eq!(sent.len(), forged.chunks(MAX_TAGS).count());
    for (ctx, body) in &sent {
        assert_eq!(ctx, crate::exchange::context::REPLY);
        assert_eq!(Reply::decode(body).unwrap().status, Status::NoSuchRecord);
    }
    assert!(crate::exchange::owner::incoming(b.exchange())
        .unwrap()
        .is_empty());
    let mut budget_keys = 0;
    b.post
        .store()
        .scan_prefix(crate::store::Column::Matching, b"b", |_, _| {
            budget_keys += 1;
            true
        })
        .unwrap();
    assert_eq!(budget_keys, 0, "a spent no budget");
    assert!(!b
        .post
        .store()
        .pipe_log()
        .iter()
        .any(|e| e.context == context::EVALUATE));
    // What the deltas are for still works: a's own evaluation of a new
    // phone finds it through the delta's image.
    let q = ask(&a, &b, &[new[3].clone(), phone("+996700000000")]);
    assert_eq!(hit_slots(&q), [0]);
}

#[test]
fn renewals_spend_the_peers_own_budget_in_any_window_whatever_epoch_they_name() {
    // 23:55 UTC: with the default ten-minute overlap, two epochs are live.
    let day = 86_400_000;
    let start = (T0 / day + 1) * day - 5 * 60_000;
    let (a, b) = pair_at(start, "", "budget = { phone = 1 }");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let owner = b.card.verifying_key().to_bytes();
    let manifests = querier::usable(a.matching(), &owner, a.post.now_ms()).unwrap();
    assert_eq!(manifests.len(), 2, "two live epochs in the overlap");
    // 2,000 blinded phones labelled as a watchlist renewal: declined,
    // signed (in b's envelope), with the time the budget renews; nothing
    // evaluated.
    let ask_raw = |m: &liaison_protocol::matching::SignedManifest, purpose, n| {
        let body = evaluate_body(m, purpose, n);
        assert_eq!(
            send_raw(&a, &b, context::EVALUATE, &body),
            Outcome::Accepted
        );
        answers(&answers_to(&b, &a)).pop().expect("an answer")
    };
    let answer = ask_raw(&manifests[0], Purpose::Renewal, 2000);
    match answer.result {
        Err(Decline::Budget { kind, renews_ms }) => {
            assert_eq!(kind, SelectorKind::Phone);
            assert!(renews_ms > start, "{renews_ms}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.matching().evaluated(), 0);
    // One phone at a time under every live manifest, as renewal and as
    // query, every quarter of an hour for two days across the boundary.
    let mut granted = Vec::new();
    for _ in 0..(2 * 24 * 4) {
        tick(&b);
        deliver(&b, &a);
        let now = a.post.now_ms();
        for m in querier::usable(a.matching(), &owner, now).unwrap() {
            for purpose in [Purpose::Renewal, Purpose::Query] {
                if ask_raw(&m, purpose, 1).result.is_ok() {
                    granted.push(now);
                }
            }
        }
        a.post.clock().advance(15 * 60_000);
    }
    assert!(granted.len() >= 2, "the budget renews: {granted:?}");
    for (i, &t) in granted.iter().enumerate() {
        let within = granted[i..].iter().take_while(|&&g| g < t + day).count();
        assert!(
            within <= 1,
            "{within} evaluations within 24 h from {t}: {granted:?}"
        );
    }
    // The owner's log says which purpose each request claimed.
    let renewals = b
        .post
        .store()
        .pipe_log()
        .into_iter()
        .filter(|e| {
            e.context == context::EVALUATE
                && e.kind == liaison_protocol::audit::Kind::Received
                && e.code & liaison_protocol::matching::RENEWAL_CODE != 0
        })
        .count();
    assert!(renewals > 1, "{renewals}");
}

#[test]
fn a_peer_over_its_budget_costs_no_evaluation_while_another_is_served() {
    let clock = crate::clock::Clock::pinned(T0);
    let (ka, kb, kc) = (
        identity(1).agency_key(),
        identity(2).agency_key(),
        identity(3).agency_key(),
    );
    let b = node_on(
        &clock,
        2,
        "b",
        "",
        &[("a", &ka, "budget = { default = 0 }"), ("c", &kc, "")],
    );
    let a = node_on(&clock, 1, "a", "", &[("b", &kb, "")]);
    let c = node_on(&clock, 3, "c", "", &[("b", &kb, "")]);
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    deliver(&b, &c);
    let m = querier::usable(
        a.matching(),
        &kb.verifying_key().to_bytes(),
        a.post.now_ms(),
    )
    .unwrap()
    .remove(0);
    let body = evaluate_body(&m, Purpose::Query, liaison_protocol::oprf::MAX_BATCH);
    let flood: Vec<Vec<u8>> = (0..20)
        .map(|_| {
            seal_to(
                &a.post.identity().signing,
                &b.card,
                context::EVALUATE,
                &body,
                a.post.now_ms(),
            )
        })
        .collect();
    // Twenty batches of 4,096 from a, and c's match, at the same time.
    let (flood_time, match_time) = std::thread::scope(|s| {
        let flooding = s.spawn(|| {
            let started = std::time::Instant::now();
            for env in &flood {
                let r = b.router.receive(Some(ka.verifying_key()), env).unwrap();
                assert_eq!(r.outcome, Outcome::Accepted);
            }
            started.elapsed()
        });
        let started = std::time::Instant::now();
        let q = ask(&c, &b, &[phone("+996775987817"), phone("+996700000001")]);
        let took = started.elapsed();
        assert!(q.problems.is_empty(), "{:?}", q.problems);
        assert_eq!(hit_slots(&q), [0]);
        (flooding.join().unwrap(), took)
    });
    eprintln!("20 x 4096 declined in {flood_time:?}; c's match meanwhile took {match_time:?}");
    assert_eq!(b.matching().evaluated(), 2, "only c's two selectors");
    let declined = answers(&answers_to(&b, &a));
    assert_eq!(declined.len(), 20);
    assert!(declined
        .iter()
        .all(|d| matches!(d.result, Err(Decline::Budget { .. }))));
}

#[test]
fn delta_images_stop_at_the_cap_on_both_sides() {
    let (a, b) = pair("", "");
    a.matching().set_delta_cap(64);
    b.matching().set_delta_cap(64);
    hold(&b, "B-0", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let phones = |from: usize| -> Vec<Selector> {
        (from..from + 40)
            .map(|i| phone(&format!("+9967005{i:05}")))
            .collect()
    };
    // The owner sends 40 new tags (48 with padding), then only the 16 that
    // fit of the next 40, then none.
    hold(&b, "B-1", phones(0));
    tick(&b);
    hold(&b, "B-2", phones(100));
    tick(&b);
    hold(&b, "B-3", phones(200));
    tick(&b);
    let mut sent = 0;
    for (ctx, body) in answers_to(&b, &a) {
        if ctx == context::DELTA {
            sent += liaison_protocol::matching::Delta::decode(&body)
                .unwrap()
                .images
                .len();
        }
    }
    assert_eq!(sent, 64);
    // The querier keeps 64; a delta of one more is refused over the
    // limit, and the same images again are no growth.
    let epoch = b.matching().settings().epoch_at(b.post.now_ms());
    let m = owner::manifest(b.matching(), &a.card.verifying_key().to_bytes(), epoch)
        .unwrap()
        .unwrap();
    let delta = |images: Vec<[u8; 32]>| {
        liaison_protocol::matching::Delta {
            manifest: m.clone(),
            seq: 99,
            images,
        }
        .to_bytes()
    };
    let images: Vec<[u8; 32]> = (0..64u8).map(|i| [i; 32]).collect();
    assert_eq!(
        send_raw(&b, &a, context::DELTA, &delta(images.clone())),
        Outcome::Accepted
    );
    assert_eq!(
        send_raw(&b, &a, context::DELTA, &delta(vec![[0xFF; 32]])),
        Outcome::Refused(Refusal::OverLimit)
    );
    assert_eq!(
        send_raw(&b, &a, context::DELTA, &delta(images[..16].to_vec())),
        Outcome::Accepted
    );
}

#[test]
fn a_filter_in_chunks_is_assembled_once_whatever_their_order() {
    let (a, b) = pair("", "");
    // A filter of 400,000 tags: three chunks.
    let tags: Vec<[u8; 32]> = (0..400_000u32)
        .map(|i| {
            let mut t = [0u8; 32];
            t[..4].copy_from_slice(&i.to_be_bytes());
            t
        })
        .collect();
    let filter = liaison_protocol::filter::Filter::build(&tags, &mut rand::rngs::OsRng).unwrap();
    let bytes = filter.to_bytes();
    let info = FilterInfo::of(filter.bucket(), &bytes);
    assert!(info.chunks >= 3, "{}", info.chunks);
    let last = info.chunks - 1;
    let epoch = b.matching().settings().epoch_at(b.post.now_ms());
    let settings = *b.matching().settings();
    let m = Manifest {
        federation: "liaison".into(),
        owner: b.card.verifying_key().to_bytes(),
        peer: a.card.verifying_key().to_bytes(),
        epoch,
        version: 1,
        starts_ms: settings.starts(epoch),
        ends_ms: settings.starts(epoch + 1),
        keys: vec![(SelectorKind::Phone, [0xE2; 32])],
        filter: info,
    }
    .sign(&b.post.identity().signing);
    let chunk = |i: u32| {
        Chunk {
            manifest: m.clone(),
            index: i,
            data: FilterInfo::chunk(&bytes, i).to_vec(),
        }
        .to_bytes()
    };
    let whole = || summary(a.post.store(), &peers(&a)).unwrap().filters["b"].contains(&epoch);
    // The last, the first, the last again, then the rest but one.
    let order: Vec<u32> = [last, 0, last].into_iter().chain(1..last - 1).collect();
    for i in order {
        // Before the last chunk, an arrival reads the small set of chunks
        // held, never the chunks themselves (which made a filter of many
        // chunks cost its square).
        let before = a.post.store().read_bytes();
        assert_eq!(
            send_raw(&b, &a, context::CHUNK, &chunk(i)),
            Outcome::Accepted
        );
        let read = a.post.store().read_bytes() - before;
        assert!(read < 64 * 1024, "chunk {i}: read {read} bytes");
        assert!(!whole());
    }
    assert_eq!(
        send_raw(&b, &a, context::CHUNK, &chunk(last - 1)),
        Outcome::Accepted
    );
    assert!(whole());
    // Held as one filter: no chunk and no set of chunks is left.
    let mut left = 0;
    a.post
        .store()
        .scan_prefix(crate::store::Column::Matching, b"C", |_, _| {
            left += 1;
            true
        })
        .unwrap();
    a.post
        .store()
        .scan_prefix(crate::store::Column::Matching, b"S", |_, _| {
            left += 1;
            true
        })
        .unwrap();
    assert_eq!(left, 0);
    // A chunk resent after that changes nothing.
    assert_eq!(
        send_raw(&b, &a, context::CHUNK, &chunk(0)),
        Outcome::Accepted
    );
    assert!(whole());
}

#[test]
fn a_peer_that_takes_none_of_our_answers_cannot_pile_them_up() {
    let (a, b) = pair("", "budget = { default = 0 }");
    b.post.set_max_owed(3);
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let m = querier::usable(
        a.matching(),
        &b.card.verifying_key().to_bytes(),
        a.post.now_ms(),
    )
    .unwrap()
    .remove(0);
    let body = evaluate_body(&m, Purpose::Query, 1);
    // Each declined evaluation queues an answer a never collects.
    let outcomes: Vec<Outcome> = (0..5)
        .map(|_| send_raw(&a, &b, context::EVALUATE, &body))
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Accepted,
            Outcome::Accepted,
            Outcome::Accepted,
            Outcome::Refused(Refusal::OverLimit),
            Outcome::Refused(Refusal::OverLimit)
        ]
    );
    assert_eq!(
        Mailbox::new(b.post.store())
            .outbox_len(a.card.verifying_key())
            .unwrap(),
        3
    );
    // Once a takes them, it is answered again.
    deliver(&b, &a);
    assert_eq!(
        send_raw(&a, &b, context::EVALUATE, &body),
        Outcome::Accepted
    );
}

#[test]
fn a_build_told_to_stop_writes_no_manifest_and_the_next_build_drops_stale_tags() {
    use crate::store::matching as stored;
    let (a, b) = pair("", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    let a_pk = a.card.verifying_key().to_bytes();
    let epoch = b.matching().settings().live_epochs(b.post.now_ms())[0];
    // What a build stopped halfway leaves: tags and no manifest, here
    // one for a selector no record holds any more.
    let gone = phone("+996700000000");
    let stale = [7u8; 32];
    let mut batch = crate::store::Batch::default();
    stored::put_tag(&mut batch, &a_pk, epoch, &stale, &gone, &[]);
    b.post.store().write(batch).unwrap();

    let other = node(3, "b", "", &[("a", &a.card, "")]);
    hold(&other, "B-1", vec![phone("+996775987817")]);
    other.post.store().request_stop();
    assert!(
        matches!(
            tick_result(&other),
            Err(Error::Store(crate::store::Error::Stopping))
        ),
        "a stopping store stops the build"
    );
    assert!(owner::manifest(other.matching(), &a_pk, epoch)
        .unwrap()
        .is_none());

    tick(&b);
    deliver(&b, &a);
    assert!(owner::manifest(b.matching(), &a_pk, epoch)
        .unwrap()
        .is_some());
    assert_eq!(
        stored::served_tag(b.post.store(), &a_pk, epoch, &stale).unwrap(),
        None,
        "the interrupted build's tag of a selector no record holds is gone"
    );
    assert!(
        stored::built_through(b.post.store(), &a_pk, epoch)
            .unwrap()
            .is_some(),
        "the build marks the queue it had seen, so the deltas skip B-1"
    );
    let q = ask(&a, &b, &[phone("+996775987817"), gone]);
    assert_eq!(hit_slots(&q), [0]);
}

#[test]
fn a_record_withdrawn_before_the_delta_is_not_sent() {
    let (a, b) = pair("", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    // Queued for the delta, then withdrawn before the owner drains it.
    hold(&b, "B-2", vec![phone("+996700000000")]);
    hold(&b, "B-3", vec![phone("+996700000001")]);
    Records::new(b.post.store())
        .withdraw("B-2")
        .unwrap()
        .expect("B-2 was stored");
    tick(&b);
    deliver(&b, &a);
    let q = ask(
        &a,
        &b,
        &[
            phone("+996775987817"),
            phone("+996700000000"),
            phone("+996700000001"),
        ],
    );
    assert_eq!(
        hit_slots(&q),
        [0, 2],
        "the withdrawn record's phone is not in the delta"
    );
}

#[test]
fn a_build_in_many_runs_serves_what_a_build_in_one_run_serves() {
    use crate::store::{keys::matching as k, Column};
    let (a, b) = pair("", "");
    let fuzzy = |v: &str| Selector::new(SelectorKind::PersonFuzzy, v);
    // Fuzzy keys shared by records that runs of two selectors put in
    // different runs: each run adds its records to what the last wrote.
    for i in 0..20 {
        hold(
            &b,
            &format!("B-{i:02}"),
            vec![
                phone(&format!("+9967700000{i:02}")),
                fuzzy("ivanov|1980"),
                fuzzy(&format!("petrov|{}", i % 3)),
            ],
        );
    }
    let peer = b.post.peer_by_key(a.card.verifying_key()).unwrap();
    let epoch = b.matching().settings().live_epochs(b.post.now_ms())[0];
    let a_pk = a.card.verifying_key().to_bytes();
    let served = || {
        let mut all = Vec::new();
        b.post
            .store()
            .scan_prefix(Column::Tags, &k::tags_prefix(&a_pk, epoch), |key, v| {
                all.push((key.to_vec(), v.to_vec()));
                true
            })
            .unwrap();
        all
    };
    owner::build_in_runs(b.matching(), &peer, epoch, 2).unwrap();
    let in_runs = served();
    // Its filter holds them all.
    deliver(&b, &a);
    let q = ask(&a, &b, &[phone("+996770000000"), phone("+996770000019")]);
    assert_eq!(hit_slots(&q), [0, 1]);
    owner::build_in_runs(b.matching(), &peer, epoch, 1 << 20).unwrap();
    assert_eq!(served(), in_runs, "the same tags, naming the same records");
    assert_eq!(in_runs.len(), 20 + 1 + 3);
    let ivanov = crate::store::matching::served_tag(
        b.post.store(),
        &a_pk,
        epoch,
        &oprf_tag(
            &b.matching()
                .key(&a_pk, epoch, SelectorKind::PersonFuzzy)
                .unwrap(),
            &fuzzy("ivanov|1980"),
        ),
    )
    .unwrap()
    .expect("served");
    let first: Vec<String> = (0..16).map(|i| format!("B-{i:02}")).collect();
    assert_eq!(ivanov.1, first, "the first records, as many as a tag names");
}

#[test]
fn a_rebuilt_filter_replaces_the_one_held_decoded() {
    use crate::store::matching as stored;
    let clock = crate::clock::Clock::pinned(T0);
    let (a, b) = pair_on(&clock, "", "");
    hold(&b, "B-1", vec![phone("+996775987817")]);
    tick(&b);
    deliver(&b, &a);
    let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000000")]);
    assert_eq!(hit_slots(&q), [0]);
    assert_eq!(a.matching().filters().decoded.len(), 1, "held decoded");
    // The owner builds the epoch again (a newer version), now holding a
    // second number that only the new filter carries (the build marks
    // it, so no delta does).
    let a_pk = a.card.verifying_key().to_bytes();
    let epoch = b.matching().settings().live_epochs(b.post.now_ms())[0];
    let mut batch = crate::store::Batch::default();
    stored::delete_manifest(&mut batch, &a_pk, epoch);
    b.post.store().write(batch).unwrap();
    hold(&b, "B-2", vec![phone("+996700000000")]);
    clock.advance(1000);
    tick(&b);
    deliver(&b, &a);
    let q = ask(&a, &b, &[phone("+996775987817"), phone("+996700000000")]);
    assert_eq!(hit_slots(&q), [0, 1], "answered from the new filter");
}
