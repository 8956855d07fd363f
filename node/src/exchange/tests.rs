//! The follow-up between in-process nodes: real matching to find the hit,
//! real stores, envelopes and receipts, the outbox moved by hand so each
//! test can step in (a forwarded report, a tampered store, a clock moved
//! on for retention). Whole daemons are tested in `tests/exchange.rs`.

use liaison_protocol::audit::Kind;
use liaison_protocol::envelope::{Envelope, Outcome, Refusal, MAX_ENVELOPE};
use liaison_protocol::exchange::{Report, Request, Tag};
use liaison_protocol::{Selector, SelectorKind};

use super::requester::{self, Ask};
use super::*;
use crate::matching::querier::{self, Item, StoredHit};
use crate::store::keys::exchange as k;
use crate::store::records::{Prepared, Records};
use crate::testkit::*;

mod two_person;

/// a (requester), b (owner), c (a third agency), all trusting each other;
/// `b_for_a` is b's `[[peers]]` extra for a (its release policy), `a_x`
/// lines of a's `[exchange]`.
fn federation(b_for_a: &str, a_x: &str) -> (Node, Node, Node) {
    federation_x(b_for_a, a_x, "")
}

/// [`federation`] with `b_x` lines of b's `[exchange]`.
fn federation_x(b_for_a: &str, a_x: &str, b_x: &str) -> (Node, Node, Node) {
    let (ka, kb, kc) = (
        identity(1).agency_key(),
        identity(2).agency_key(),
        identity(3).agency_key(),
    );
    let a = node(
        1,
        "a",
        &format!("\n[exchange]\n{a_x}"),
        &[("b", &kb, ""), ("c", &kc, "")],
    );
    let b = node(
        2,
        "b",
        &format!("\n[exchange]\n{b_x}"),
        &[("a", &ka, b_for_a), ("c", &kc, "")],
    );
    let c = node(3, "c", "", &[("a", &ka, ""), ("b", &kb, "")]);
    (a, b, c)
}

fn phone(p: &str) -> Selector {
    Selector::new(SelectorKind::Phone, p)
}

/// b holds a record `id` with this handling and phone, a summary and a
/// person entity; `extra` is more JSON fields.
fn hold(b: &Node, id: &str, handling: &str, number: &str, extra: &str) {
    let json = format!(
        r#"{{"id":"{id}","handling":"{handling}","grading":"B2","summary":"SECRET-SUMMARY-{id}","entities":[{{"ref":"p1","type":"person","surname":"Kurbanov","dob":"1985-03-14"}},{{"ref":"t1","type":"phone","number":"{number}"}}],"links":[{{"from":"p1","to":"t1","rel":"uses"}}]{extra}}}"#
    );
    let record: liaison_protocol::record::Record = serde_json::from_str(&json).unwrap();
    let p = Prepared::with_json(
        id.into(),
        json.as_bytes(),
        record.handling,
        vec![phone(number)],
        "test",
        0,
    )
    .expiring(record.expires);
    // Queued for the deltas in the same write.
    Records::new(b.post.store()).put_batch(vec![p]).unwrap();
}

/// b publishes its filters (or deltas); a matches `number` at b: the
/// hits.
fn match_at(a: &Node, b: &Node, number: &str) -> Vec<querier::Hit> {
    crate::matching::tick(b.matching(), &peers(b)).unwrap();
    deliver(b, a);
    let peer = a.post.peer_by_key(b.card.verifying_key()).unwrap();
    let items = [Item {
        slot: 0,
        selector: phone(number),
        watch: None,
    }];
    let started = querier::query(a.matching(), &[peer], &items, None).unwrap();
    assert!(started.skipped.is_empty(), "{:?}", started.skipped);
    deliver(a, b);
    deliver(b, a);
    let q = querier::take(a.matching(), started.id, false).expect("answered");
    assert!(q.problems.is_empty(), "{:?}", q.problems);
    q.hits
}

/// b publishes its filters; a matches `number` at b and stores the hit.
fn hit(a: &Node, b: &Node, number: &str) -> u64 {
    let hits = match_at(a, b, number);
    assert!(!hits.is_empty(), "{number} is held by b");
    store_hit(a, number, SelectorKind::Phone, &hits)
}

/// Stores at a, as `match` does, one hit at b on `entity` found under
/// selectors of `kind`, with the tags of `hits`. Its id.
fn store_hit(a: &Node, entity: &str, kind: SelectorKind, hits: &[querier::Hit]) -> u64 {
    let h = StoredHit {
        id: a.matching().next_id(),
        time_ms: T0,
        peer: "b".into(),
        entity: entity.into(),
        source: "test:1".into(),
        kinds: vec![kind],
        strength: querier::strength(&[kind]),
        case: None,
        tags: hits
            .iter()
            .map(|h| (h.kind, querier::tag_hex(&h.tag), h.epoch))
            .collect(),
        matched: None,
    };
    querier::store_hits(a.matching(), std::slice::from_ref(&h)).unwrap();
    h.id
}

fn ask(a: &Node, hit: u64) -> Outgoing {
    requester::request(
        a.exchange(),
        &Ask {
            hit,
            case: Some(("KZ-2026-118".into(), "Art. 5 of the agreement".into())),
            note: "courier in transit".into(),
        },
    )
    .unwrap()
}

fn answer(a: &Node, id: &str) -> Outgoing {
    requester::outgoing(a.exchange())
        .unwrap()
        .into_iter()
        .find(|o| o.id == id)
        .unwrap()
}

fn filed(b: &Node, id: &str) -> Incoming {
    owner::incoming(b.exchange())
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap()
}

/// Sends a's request to b and b's answer back.
fn round(a: &Node, b: &Node) {
    assert!(deliver(a, b).iter().all(|o| *o == Outcome::Accepted));
    assert!(deliver(b, a).iter().all(|o| *o == Outcome::Accepted));
}

fn invalid<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(e) if e.is_refusal() => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn automatic_release_reaches_the_requester_verified_bound_and_apart() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-1", "TLP:AMBER", "+996775987817", "");
    let out = ask(&a, hit(&a, &b, "+996775987817"));
    round(&a, &b);
    let got = answer(&a, &out.id);
    assert_eq!(got.answer, Answer::Reported);
    let reports = requester::reports(a.exchange()).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert!(r.verified, "{:?}", r.problem);
    assert_eq!((r.originator.as_str(), r.peer.as_str()), ("b", "b"));
    assert_eq!(r.records[0].id, "KG-1");
    assert_eq!(r.records[0].handling, "TLP:AMBER");
    assert_eq!(r.records[0].grading.as_deref(), Some("B2"));
    assert_eq!(r.records[0].record["summary"], "SECRET-SUMMARY-KG-1");
    let inc = filed(&b, &out.id);
    assert_eq!(inc.decision, Decision::Released);
    assert_eq!(inc.decided_by.as_deref(), Some("policy"));
    assert_eq!(
        (inc.reference.as_str(), inc.basis.as_str()),
        ("KZ-2026-118", "Art. 5 of the agreement")
    );
    // Kept apart: not a record of a's, so not indexed, not matchable,
    // not requestable by a third agency.
    assert_eq!(Records::new(a.post.store()).counts().unwrap().records, 0);
    assert!(Records::new(a.post.store()).get("KG-1").unwrap().is_none());
    // The exchange is in both logs under each side's case commitment.
    let sent = log_entries(b.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Sent && e.context == context::REPORT)
        .count();
    assert_eq!(sent, 1);
}

#[test]
fn tlp_red_is_no_hit_and_even_opted_in_never_leaves_when_the_policy_says_auto() {
    // By default a RED record puts nothing in a peer's filter or deltas:
    // its phone is no hit, before or after the record arrives.
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-RED", "TLP:RED", "+996775000111", "");
    hold(&b, "KG-GREEN", "TLP:GREEN", "+996775000999", "");
    hit(&a, &b, "+996775000999");
    assert!(
        match_at(&a, &b, "+996775000111").is_empty(),
        "not in the filter"
    );
    hold(&b, "KG-RED-2", "TLP:RED", "+996775000222", "");
    assert!(
        match_at(&a, &b, "+996775000222").is_empty(),
        "not in a delta"
    );
    // Whatever a asks, b has nothing of them to resolve a request to.
    let pk = a.card.verifying_key().to_bytes();
    let mut served = 0;
    b.post
        .store()
        .scan_prefix(crate::store::Column::Tags, &pk, |_, _| {
            served += 1;
            true
        })
        .unwrap();
    assert_eq!(served, 1, "only the GREEN record's phone was served");
    // With the agreement's opt-in it is a hit; the follow-up is refused.
    let (a, b, _c) = federation(
        r#"release = { default = "auto" }
match_red = true"#,
        "",
    );
    hold(&b, "KG-RED", "TLP:RED", "+996775000111", "");
    let out = ask(&a, hit(&a, &b, "+996775000111"));
    round(&a, &b);
    let got = answer(&a, &out.id);
    assert_eq!(got.answer, Answer::Refused);
    assert!(got.reason.unwrap().contains("policy"));
    assert!(requester::reports(a.exchange()).unwrap().is_empty());
    let inc = filed(&b, &out.id);
    assert_eq!(inc.decision, Decision::Refused);
    assert_eq!(inc.withheld, vec!["KG-RED".to_owned()]);
    // Nor by hand.
    let e = invalid(owner::approve(b.exchange(), &out.id, &[], "ivanov"));
    assert!(e.contains("already answered"), "{e}");
    // b sent a no report at all, only the refusal.
    let sent: Vec<String> = log_entries(b.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Sent && e.context.starts_with("liaison/exchange/"))
        .map(|e| e.context)
        .collect();
    assert_eq!(sent, vec![context::REPLY.to_owned()]);
}

#[test]
fn manual_requests_wait_then_are_approved_with_redactions_or_refused_with_a_reason() {
    let (a, b, _c) = federation("", "");
    hold(&b, "KG-2", "TLP:GREEN", "+996775222222", "");
    hold(&b, "KG-3", "TLP:AMBER", "+996775333333", "");
    let first = ask(&a, hit(&a, &b, "+996775222222"));
    round(&a, &b);
    let got = answer(&a, &first.id);
    assert_eq!(got.answer, Answer::Filed);
    assert!(got.deadline_ms.unwrap() > T0 + 47 * 3600 * 1000);
    assert_eq!(filed(&b, &first.id).decision, Decision::Pending);

    // Bad input: nothing changes.
    let e = invalid(owner::approve(
        b.exchange(),
        &first.id,
        &["p1.passport".into()],
        "ivanov",
    ));
    assert!(e.contains("p1.passport") && e.contains("REF.FIELD"), "{e}");
    let e = invalid(owner::approve(
        b.exchange(),
        &first.id,
        &["handling".into()],
        "ivanov",
    ));
    assert!(e.contains("handling"), "{e}");
    let e = invalid(owner::approve(b.exchange(), "zz", &[], "ivanov"));
    assert!(e.contains("6 hex digits"), "{e}");
    let e = invalid(owner::approve(b.exchange(), "abcdef", &[], "ivanov"));
    assert!(e.contains("no request"), "{e}");
    for nobody in [" ", "policy", "owner"] {
        let e = invalid(owner::approve(b.exchange(), &first.id, &[], nobody));
        assert!(e.contains("account name"), "{e}");
        let e = invalid(owner::refuse(b.exchange(), &first.id, "no", nobody));
        assert!(e.contains("account name"), "{e}");
    }
    assert_eq!(filed(&b, &first.id).decision, Decision::Pending);

    owner::approve(
        b.exchange(),
        &first.id[..8],
        &["summary".into(), "p1.dob".into()],
        "ivanov",
    )
    .unwrap();
    deliver(&b, &a);
    let r = requester::report(a.exchange(), &first.id[..6]).unwrap();
    assert!(r.verified);
    let rec = &r.records[0];
    assert_eq!(
        rec.redacted,
        vec!["summary".to_owned(), "p1.dob".to_owned()]
    );
    assert!(rec.record.get("summary").is_none());
    assert!(rec.record["entities"][0].get("dob").is_none());
    assert_eq!(rec.record["entities"][0]["surname"], "Kurbanov");
    let e = invalid(owner::approve(b.exchange(), &first.id, &[], "ivanov"));
    assert!(
        e.contains("already answered") && e.contains("by ivanov"),
        "{e}"
    );

    let second = ask(&a, hit(&a, &b, "+996775333333"));
    round(&a, &b);
    let e = invalid(owner::refuse(b.exchange(), &second.id, "  ", "ivanov"));
    assert!(e.contains("reason"), "{e}");
    owner::refuse(
        b.exchange(),
        &second.id,
        "not within Art. 5: ask through the prosecutor",
        "petrova",
    )
    .unwrap();
    assert_eq!(filed(&b, &second.id).decided_by.as_deref(), Some("petrova"));
    deliver(&b, &a);
    let got = answer(&a, &second.id);
    assert_eq!(got.answer, Answer::Refused);
    assert_eq!(
        got.reason.as_deref(),
        Some("not within Art. 5: ask through the prosecutor")
    );
    let e = invalid(requester::report(a.exchange(), &second.id));
    assert!(e.contains("no report"), "{e}");

    // A request for the same hit again, or for a hit that does not exist.
    let e = invalid(requester::request(
        a.exchange(),
        &Ask {
            hit: first.hit,
            ..Ask::default()
        },
    ));
    assert!(e.contains("already followed up"), "{e}");
    let e = invalid(requester::request(
        a.exchange(),
        &Ask {
            hit: 7,
            ..Ask::default()
        },
    ));
    assert!(e.contains("no hit 7"), "{e}");
}

#[test]
fn amber_strict_is_never_automatic_and_reminders_follow_the_deadline() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-S", "TLP:AMBER+STRICT", "+996775444444", "");
    let out = ask(&a, hit(&a, &b, "+996775444444"));
    round(&a, &b);
    assert_eq!(answer(&a, &out.id).answer, Answer::Filed);
    assert_eq!(filed(&b, &out.id).decision, Decision::Pending);
    assert_eq!(owner::remind(b.exchange(), T0).unwrap(), 0);
    let later = T0 + 49 * 3600 * 1000;
    assert_eq!(owner::remind(b.exchange(), later).unwrap(), 1);
    assert!(filed(&b, &out.id).reminded);
    assert_eq!(owner::remind(b.exchange(), later).unwrap(), 0, "once");
}

#[test]
fn a_tag_that_names_nothing_is_answered_no_such_record_and_nothing_is_filed() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    let real = hit(&a, &b, "+996775987817");
    // A filter false positive: a tag b never served, in a live epoch.
    let mut fake = querier::hits(a.matching()).unwrap()[0].clone();
    assert_eq!(fake.id, real);
    fake.id += 1;
    fake.tags[0].1 = "ab".repeat(32);
    querier::store_hits(a.matching(), &[fake.clone()]).unwrap();
    let out = ask(&a, fake.id);
    round(&a, &b);
    assert_eq!(answer(&a, &out.id).answer, Answer::NoSuchRecord);
    assert!(owner::incoming(b.exchange()).unwrap().is_empty());
    // The real tag, labelled with another kind, names nothing either.
    let peer = a.post.peer("b").unwrap();
    let mut tag = [0u8; 32];
    tag.copy_from_slice(
        &hex::decode::<32>(&querier::hits(a.matching()).unwrap()[0].tags[0].1).unwrap(),
    );
    let epoch = querier::hits(a.matching()).unwrap()[0].tags[0].2;
    let forged = Request {
        id: [5; 16],
        tags: vec![Tag {
            kind: SelectorKind::Imei,
            epoch,
            tag,
        }],
        reference: "X".into(),
        basis: "Y".into(),
        note: String::new(),
    };
    a.post
        .queue(&peer, context::REQUEST, &[forged.to_bytes()], None)
        .unwrap();
    deliver(&a, &b);
    assert!(owner::incoming(b.exchange()).unwrap().is_empty());
    let codes: Vec<u16> = log_entries(b.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Received && e.context == context::REQUEST)
        .map(|e| e.code)
        .collect();
    assert_eq!(codes, vec![code::NO_SUCH_RECORD, code::NO_SUCH_RECORD]);
}

#[test]
fn a_report_readdressed_or_passed_on_to_a_third_agency_fails_verification() {
    let (a, b, c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    let out = ask(&a, hit(&a, &b, "+996775987817"));
    round(&a, &b);
    let id = hex::decode::<16>(&out.id).unwrap();
    let stored = a
        .post
        .store()
        .get(crate::store::Column::Exchange, &k::report(&id))
        .unwrap()
        .unwrap();
    let env_bytes = stored[8..].to_vec();

    // 1. b's envelope with its recipient changed to c: b's signature fails.
    let mut moved = Envelope::decode(&env_bytes, MAX_ENVELOPE).unwrap();
    moved.header.recipient = *c.card.verifying_key();
    let r = c
        .router
        .receive(Some(a.card.verifying_key()), &moved.to_bytes())
        .unwrap();
    assert_eq!(r.outcome, Outcome::Refused(Refusal::BadSignature));

    // 2. a opens it and seals the report to c as its own: c holds a
    // request of its own to a under the same id, and still refuses it,
    // because the report names b as owner and a as recipient.
    let (_, body) = open_body(&env_bytes, a.post.identity(), &b.card);
    let report = Report::decode(&body).unwrap();
    let mut c_asked = answer(&a, &out.id);
    c_asked.peer = "a".into();
    c_asked.peer_key = hex::encode(a.card.verifying_key().as_bytes());
    c_asked.answer = Answer::Sent;
    let mut batch = crate::store::Batch::default();
    batch
        .put_json(
            crate::store::Column::Exchange,
            k::outgoing(&report.request),
            &c_asked,
        )
        .unwrap();
    c.post.store().write(batch).unwrap();
    let forwarded = seal_to(
        &a.post.identity().signing,
        &c.card,
        context::REPORT,
        &body,
        c.post.now_ms(),
    );
    let r = c
        .router
        .receive(Some(a.card.verifying_key()), &forwarded)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Accepted);
    assert!(requester::reports(c.exchange()).unwrap().is_empty());
    let last = log_entries(c.post.store()).pop().unwrap();
    assert_eq!(
        (last.context.as_str(), last.code),
        (context::REPORT, code::NOT_BOUND)
    );

    // 3. a's stored copy altered: shown as failing, content withheld.
    let mut tampered = stored.clone();
    let at = tampered.len() - 100;
    tampered[at] ^= 1;
    let mut batch = crate::store::Batch::default();
    batch.put(crate::store::Column::Exchange, k::report(&id), tampered);
    a.post.store().write(batch).unwrap();
    let v = requester::report(a.exchange(), &out.id).unwrap();
    assert!(!v.verified && v.records.is_empty(), "{v:?}");
    assert!(v.problem.unwrap().contains("does not verify"));
}

#[test]
fn correction_and_withdrawal_reach_the_copy_and_the_waiting_request() {
    let (a, b, _c) = federation(
        r#"release = { "TLP:GREEN" = "auto" }"#,
        r#"on_withdrawal = "delete""#,
    );
    hold(&b, "KG-G", "TLP:GREEN", "+996775555555", "");
    hold(&b, "KG-A", "TLP:AMBER", "+996775666666", "");
    let released = ask(&a, hit(&a, &b, "+996775555555"));
    round(&a, &b);
    let waiting = ask(&a, hit(&a, &b, "+996775666666"));
    round(&a, &b);
    assert_eq!(answer(&a, &released.id).answer, Answer::Reported);
    assert_eq!(answer(&a, &waiting.id).answer, Answer::Filed);

    // Corrected (ingested again): a's copy is marked, not deleted.
    hold(
        &b,
        "KG-G",
        "TLP:GREEN",
        "+996775555555",
        r#","country":"KGZ""#,
    );
    assert_eq!(owner::drain_changed(b.exchange()).unwrap(), 1);
    deliver(&b, &a);
    let v = requester::report(a.exchange(), &released.id).unwrap();
    assert_eq!(v.records[0].change.as_deref(), Some("corrected"));

    // Withdrawn: the copy is deleted by a's policy (a tombstone stays),
    // and the waiting request is answered "withdrawn".
    Records::new(b.post.store()).withdraw("KG-G").unwrap();
    Records::new(b.post.store()).withdraw("KG-A").unwrap();
    assert_eq!(owner::drain_changed(b.exchange()).unwrap(), 2);
    assert_eq!(
        owner::drain_changed(b.exchange()).unwrap(),
        0,
        "drained once"
    );
    deliver(&b, &a);
    assert!(requester::reports(a.exchange()).unwrap().is_empty());
    let e = invalid(requester::report(a.exchange(), &released.id));
    assert!(e.contains("deleted") && e.contains("withdrew"), "{e}");
    assert_eq!(requester::tombstones(a.exchange()).unwrap().len(), 1);
    assert_eq!(answer(&a, &waiting.id).answer, Answer::Withdrawn);
    assert_eq!(filed(&b, &waiting.id).decision, Decision::Withdrawn);
    let e = invalid(owner::approve(b.exchange(), &waiting.id, &[], "ivanov"));
    assert!(e.contains("already answered"), "{e}");
}

#[test]
fn purge_removes_what_is_due_and_nothing_else() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    let now = T0;
    let iso = |ms: u64| {
        time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    hold(
        &b,
        "KG-SOON",
        "TLP:GREEN",
        "+996775700001",
        &format!(r#","expires":"{}""#, iso(now + 3_600_000)),
    );
    hold(
        &b,
        "KG-LATER",
        "TLP:GREEN",
        "+996775700002",
        &format!(r#","expires":"{}""#, iso(now + 30 * 86_400_000)),
    );
    hold(&b, "KG-KEEP", "TLP:GREEN", "+996775700003", "");
    // Re-ingested with a later expiry: only the new one counts.
    hold(
        &b,
        "KG-MOVED",
        "TLP:GREEN",
        "+996775700004",
        &format!(r#","expires":"{}""#, iso(now + 3_600_000)),
    );
    hold(
        &b,
        "KG-MOVED",
        "TLP:GREEN",
        "+996775700004",
        &format!(r#","expires":"{}""#, iso(now + 60 * 86_400_000)),
    );
    let out = ask(&a, hit(&a, &b, "+996775700003"));
    round(&a, &b);

    // In two hours: one record is due at b; at a, nothing (hits last 90
    // days, reports and answered requests a year).
    let two_hours = now + 2 * 3_600_000;
    assert_eq!(
        retention::purge(b.exchange(), two_hours).unwrap(),
        retention::Purged {
            records: 1,
            ..Default::default()
        }
    );
    let held = Records::new(b.post.store());
    assert!(held.get("KG-SOON").unwrap().is_none());
    for id in ["KG-LATER", "KG-KEEP", "KG-MOVED"] {
        assert!(held.get(id).unwrap().is_some(), "{id}");
    }
    assert_eq!(
        retention::purge(a.exchange(), two_hours).unwrap(),
        retention::Purged::default()
    );

    // In 100 days: a's hit goes, its report and request stay; at b the
    // second record is due, the others not.
    let days = |n: u64| now + n * 86_400_000;
    let p = retention::purge(a.exchange(), days(100)).unwrap();
    assert_eq!((p.hits, p.reports, p.requests), (1, 0, 0));
    assert_eq!(requester::reports(a.exchange()).unwrap().len(), 1);
    assert_eq!(retention::purge(b.exchange(), days(40)).unwrap().records, 1);
    assert!(held.get("KG-MOVED").unwrap().is_some());
    assert!(held.get("KG-KEEP").unwrap().is_some());

    // In 400 days: the report, then its request with it; b's answered request.
    let p = retention::purge(a.exchange(), days(400)).unwrap();
    assert_eq!((p.reports, p.requests), (1, 1));
    assert!(requester::outgoing(a.exchange()).unwrap().is_empty());
    let p = retention::purge(b.exchange(), days(400)).unwrap();
    assert_eq!((p.records, p.requests), (1, 1));
    assert!(held.get("KG-KEEP").unwrap().is_some());
    assert!(filed_none(&b, &out.id));

    // Each purge is one audit entry naming what and how many.
    let purged: Vec<(String, u64)> = log_entries(a.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Purged)
        .map(|e| (e.context, e.count))
        .collect();
    assert_eq!(
        purged,
        vec![
            ("hits".into(), 1),
            ("reports".into(), 1),
            ("requests".into(), 1)
        ]
    );
}

fn filed_none(b: &Node, id: &str) -> bool {
    owner::incoming(b.exchange())
        .unwrap()
        .iter()
        .all(|r| r.id != id)
}

/// Envelopes `from` has queued for `to`, taken out of its outbox without
/// being delivered (what a crash before sending loses is the reverse:
/// this is how the tests reorder or drop them).
fn take_outbox(from: &Node, to: &Node) -> Vec<Vec<u8>> {
    let key = to.card.verifying_key();
    let pending = crate::store::mailbox::Mailbox::new(from.post.store())
        .pending(key, 0, 1000)
        .unwrap();
    let mut b = crate::store::Batch::default();
    for p in &pending {
        b.delete(
            crate::store::Column::Outbox,
            crate::store::keys::outbox(key, p.seq),
        );
    }
    from.post.store().write(b).unwrap();
    pending.into_iter().map(|p| p.envelope).collect()
}

#[test]
fn a_withdrawal_notice_that_overtakes_its_report_still_marks_the_copy() {
    overtaken("");
}

#[test]
fn a_withdrawal_notice_that_overtakes_its_report_deletes_it_on_arrival_by_policy() {
    overtaken(r#"on_withdrawal = "delete""#);
}

/// The owner releases a record, withdraws it, and the notice reaches a
/// (with `a_x` as its `[exchange]`) before the report.
fn overtaken(a_x: &str) {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, a_x);
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    let out = ask(&a, hit(&a, &b, "+996775987817"));
    assert!(deliver(&a, &b).iter().all(|o| *o == Outcome::Accepted));
    Records::new(b.post.store()).withdraw("KG-1").unwrap();
    assert_eq!(owner::drain_changed(b.exchange()).unwrap(), 1);
    // The report and its notice, delivered notice first.
    let envs = take_outbox(&b, &a);
    assert_eq!(envs.len(), 2);
    for e in envs.iter().rev() {
        let r = a.router.receive(Some(b.card.verifying_key()), e).unwrap();
        assert_eq!(r.outcome, Outcome::Accepted);
    }
    if a_x.is_empty() {
        let v = requester::report(a.exchange(), &out.id).unwrap();
        assert!(v.verified);
        assert_eq!(v.records[0].change.as_deref(), Some("withdrawn"));
    } else {
        let e = invalid(requester::report(a.exchange(), &out.id));
        assert!(e.contains("deleted"), "{e}");
        assert_eq!(
            requester::tombstones(a.exchange()).unwrap()[0].records,
            vec!["KG-1"]
        );
        assert_eq!(answer(&a, &out.id).answer, Answer::Reported);
    }
}

#[test]
fn an_answer_decided_in_receive_but_never_queued_is_sent_by_the_schedule() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    let out = ask(&a, hit(&a, &b, "+996775987817"));
    // b applies the request's effects and then stops, as in a crash
    // between the receipt's commit and the reply's.
    let env = take_outbox(&a, &b).pop().unwrap();
    let (_, body) = open_body(&env, b.post.identity(), &a.card);
    let peer = b.post.peer("a").unwrap();
    let req = liaison_protocol::exchange::Request::decode(&body).expect("the request decodes");
    let held = b.exchange().deciding();
    let crate::post::Applied::Handled(handled) =
        owner::on_request(b.exchange(), &peer, req, &held).unwrap()
    else {
        panic!("the request is applied");
    };
    let crate::post::Handled {
        effects, guards, ..
    } = handled;
    b.post.store().write(effects).unwrap();
    drop(guards);
    drop(held);
    let req = filed(&b, &out.id);
    assert_eq!((req.decision, req.owed), (Decision::Released, true));
    assert_eq!(owner::resend_owed(b.exchange()).unwrap(), 1);
    assert_eq!(owner::resend_owed(b.exchange()).unwrap(), 0, "once");
    assert!(!filed(&b, &out.id).owed);
    deliver(&b, &a);
    assert_eq!(answer(&a, &out.id).answer, Answer::Reported);
    assert!(requester::report(a.exchange(), &out.id).unwrap().verified);
}

#[test]
fn a_peer_may_keep_only_so_many_requests_waiting() {
    let (a, b, _c) = federation("", "");
    hold(&b, "KG-1", "TLP:AMBER", "+996775987817", "");
    let real = ask(&a, hit(&a, &b, "+996775987817"));
    round(&a, &b);
    let hit = querier::hits(a.matching()).unwrap().pop().unwrap();
    let (kind, tag, epoch) = hit.tags[0].clone();
    let peer = a.post.peer("b").unwrap();
    let bodies: Vec<Vec<u8>> = (1..=owner::MAX_WAITING as u64)
        .map(|i| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&i.to_be_bytes());
            Request {
                id,
                tags: vec![Tag {
                    kind,
                    epoch,
                    tag: hex::decode::<32>(&tag).unwrap(),
                }],
                reference: "KZ-1".into(),
                basis: "Art. 5".into(),
                note: String::new(),
            }
            .to_bytes()
        })
        .collect();
    a.post
        .queue(&peer, context::REQUEST, &bodies, None)
        .unwrap();
    deliver(&a, &b);
    let waiting = owner::incoming(b.exchange()).unwrap();
    assert_eq!(waiting.len(), owner::MAX_WAITING);
    assert!(waiting.iter().any(|r| r.id == real.id));
    let codes = log_entries(b.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Received && e.code == code::TOO_MANY)
        .count();
    assert_eq!(codes, 1);
}

#[test]
fn a_record_too_large_to_release_waits_for_a_redaction_and_an_untrusted_requester_is_refused_locally(
) {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    let big = format!(r#","notes":"{}""#, "x".repeat(300 * 1024));
    hold(&b, "KG-BIG", "TLP:GREEN", "+996775987817", &big);
    let out = ask(&a, hit(&a, &b, "+996775987817"));
    round(&a, &b);
    assert_eq!(answer(&a, &out.id).answer, Answer::Filed);
    let e = invalid(owner::approve(b.exchange(), &out.id, &[], "ivanov"));
    assert!(e.contains("redact"), "{e}");
    owner::approve(b.exchange(), &out.id, &["notes".into()], "ivanov").unwrap();
    deliver(&b, &a);
    let v = requester::report(a.exchange(), &out.id).unwrap();
    assert!(v.verified && v.records[0].record.get("notes").is_none());

    // A second request, then a is no longer trusted: the request can
    // still be closed, without a reply to send.
    hold(&b, "KG-2", "TLP:AMBER+STRICT", "+996775000222", "");
    let second = ask(&a, hit(&a, &b, "+996775000222"));
    round(&a, &b);
    b.post.set_peers(&[b.post.peer("c").unwrap()]);
    let e = invalid(owner::approve(b.exchange(), &second.id, &[], "ivanov"));
    assert!(e.contains("no longer a trusted peer"), "{e}");
    let r = owner::refuse(b.exchange(), &second.id, "agreement ended", "ivanov").unwrap();
    assert_eq!(r.decision, Decision::Refused);
}

#[test]
fn the_same_record_ingested_again_is_not_a_correction() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    ask(&a, hit(&a, &b, "+996775987817"));
    round(&a, &b);
    hold(&b, "KG-1", "TLP:GREEN", "+996775987817", "");
    assert_eq!(owner::drain_changed(b.exchange()).unwrap(), 0);
    hold(
        &b,
        "KG-1",
        "TLP:GREEN",
        "+996775987817",
        r#","country":"KGZ""#,
    );
    assert_eq!(owner::drain_changed(b.exchange()).unwrap(), 1);
}

/// a's request under `reference`, naming a tag b never served, straight to
/// b; b's answer.
fn raw_request(a: &Node, b: &Node, reference: &str) -> liaison_protocol::exchange::Status {
    let req = Request {
        id: rand::random(),
        tags: vec![Tag {
            kind: SelectorKind::Phone,
            epoch: T0 / 86_400_000,
            tag: rand::random(),
        }],
        reference: reference.into(),
        basis: "Art. 5".into(),
        note: String::new(),
    };
    let bytes = seal_to(
        &a.post.identity().signing,
        &b.card,
        context::REQUEST,
        &req.to_bytes(),
        b.post.now_ms(),
    );
    let r = b
        .router
        .receive(Some(a.card.verifying_key()), &bytes)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Accepted);
    let reply = take_outbox(b, a)
        .into_iter()
        .map(|e| open_body(&e, a.post.identity(), &b.card))
        .find(|(c, _)| c == context::REPLY)
        .expect("a reply");
    let reply = liaison_protocol::exchange::Reply::decode(&reply.1).unwrap();
    assert_eq!(reply.request, req.id);
    reply.status
}

/// The case salts b holds.
fn salts(b: &Node) -> usize {
    let mut n = 0;
    b.post
        .store()
        .scan_prefix(
            crate::store::Column::Audit,
            &[crate::store::keys::audit::CASE],
            |_, _| {
                n += 1;
                true
            },
        )
        .unwrap();
    n
}

#[test]
fn a_peers_requests_and_new_cases_are_capped_per_day() {
    use liaison_protocol::exchange::Status;
    let (a, b, _c) = federation_x("", "", "requests_per_day = 4\ncases_per_day = 2");
    // Two new cases a day: the third request under a new case is refused,
    // and stores no salt.
    assert_eq!(raw_request(&a, &b, "CASE-1"), Status::NoSuchRecord);
    assert_eq!(raw_request(&a, &b, "CASE-2"), Status::NoSuchRecord);
    let Status::Refused { reason } = raw_request(&a, &b, "CASE-3") else {
        panic!("a third new case in a day")
    };
    assert!(reason.contains("new case references"), "{reason}");
    assert_eq!(salts(&b), 2);
    // Four requests a day: the one above counted, so one more under a
    // known case, then refused.
    assert_eq!(raw_request(&a, &b, "CASE-1"), Status::NoSuchRecord);
    let Status::Refused { reason } = raw_request(&a, &b, "CASE-1") else {
        panic!("a fifth request in a day")
    };
    assert!(reason.contains("send more after"), "{reason}");
    // Logged under their codes.
    let codes: Vec<u16> = log_entries(b.post.store())
        .into_iter()
        .filter(|e| e.kind == Kind::Received && e.context == context::REQUEST)
        .map(|e| e.code)
        .collect();
    assert_eq!(
        codes,
        [
            code::NO_SUCH_RECORD,
            code::NO_SUCH_RECORD,
            code::CASES,
            code::NO_SUCH_RECORD,
            code::RATE
        ]
    );
    // A new day, new allowances.
    b.post.clock().advance(86_400_000);
    assert_eq!(raw_request(&a, &b, "CASE-4"), Status::NoSuchRecord);
    assert_eq!(salts(&b), 3);
}

#[test]
fn a_hit_on_fuzzy_keys_alone_resolves_to_its_records_without_a_scan() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    let fuzzy = |v: &str| Selector::new(SelectorKind::PersonFuzzy, v);
    // One record in the filter, one arriving in a delta; each held only
    // by its fuzzy key (the local index leaves those out).
    let put_as = |id: &str, handling: liaison_protocol::record::Handling, s: Selector| {
        let json = format!(r#"{{"id":"{id}","handling":"{}"}}"#, handling.as_str());
        let p = Prepared::with_json(
            id.into(),
            json.as_bytes(),
            handling,
            vec![s.clone()],
            "test",
            0,
        );
        Records::new(b.post.store()).put_batch(vec![p]).unwrap();
    };
    let put = |id: &str, s: Selector| put_as(id, liaison_protocol::record::Handling::Green, s);
    put("KG-F1", fuzzy("krbanov|yusuf|1985-03-14"));
    // A RED record under the same key, never served to a: a request
    // resolves to what was served, not to whatever holds the key.
    put_as(
        "KG-FRED",
        liaison_protocol::record::Handling::Red,
        fuzzy("krbanov|yusuf|1985-03-14"),
    );
    let found = |selector: Selector| -> Vec<String> {
        crate::matching::tick(b.matching(), &peers(&b)).unwrap();
        deliver(&b, &a);
        let peer = a.post.peer_by_key(b.card.verifying_key()).unwrap();
        let items = [Item {
            slot: 0,
            selector,
            watch: None,
        }];
        let started = querier::query(a.matching(), &[peer], &items, None).unwrap();
        deliver(&a, &b);
        deliver(&b, &a);
        let q = querier::take(a.matching(), started.id, false).unwrap();
        let tags: Vec<Tag> = q
            .hits
            .iter()
            .map(|h| Tag {
                kind: h.kind,
                epoch: h.epoch,
                tag: h.tag,
            })
            .collect();
        let peer = b.post.peer_by_key(a.card.verifying_key()).unwrap();
        owner::resolve(b.exchange(), &peer, &tags).unwrap()
    };
    assert_eq!(found(fuzzy("krbanov|yusuf|1985-03-14")), ["KG-F1"]);
    put("KG-F2", fuzzy("kurbnov|yusuf|1985-03-14"));
    assert_eq!(found(fuzzy("kurbnov|yusuf|1985-03-14")), ["KG-F2"]);
    // A second record under a fuzzy key already served joins it.
    put("KG-F3", fuzzy("krbanov|yusuf|1985-03-14"));
    assert_eq!(found(fuzzy("krbanov|yusuf|1985-03-14")), ["KG-F1", "KG-F3"]);
}

#[test]
fn a_request_after_a_weak_hit_waits_for_an_analyst_even_under_auto() {
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    // b holds Asanov Bakyt; a asks after Asanov Bakyr, born the same day:
    // the two share one-letter keys and nothing stronger.
    let held = person("Asanov", "Bakyt", "1990-05-01");
    let json = r#"{"id":"KG-7","entities":[{"type":"person","surname":"Asanov","given":"Bakyt","dob":"1990-05-01"}]}"#;
    let p = Prepared::with_json(
        "KG-7".into(),
        json.as_bytes(),
        liaison_protocol::record::Handling::Amber,
        held.clone(),
        "test",
        0,
    );
    Records::new(b.post.store()).put_batch(vec![p]).unwrap();
    crate::matching::tick(b.matching(), &peers(&b)).unwrap();
    deliver(&b, &a);
    let peer = a.post.peer_by_key(b.card.verifying_key()).unwrap();
    let items: Vec<Item> = person("Asanov", "Bakyr", "1990-05-01")
        .into_iter()
        .map(|selector| Item {
            slot: 0,
            selector,
            watch: None,
        })
        .collect();
    let started = querier::query(a.matching(), &[peer], &items, None).unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    let q = querier::take(a.matching(), started.id, false).expect("answered");
    assert!(!q.hits.is_empty(), "{:?}", q.problems);
    assert!(q.hits.iter().all(|h| h.kind == SelectorKind::PersonFuzzy));
    let weak_hit = store_hit(&a, "Asanov Bakyr", SelectorKind::PersonFuzzy, &q.hits);
    let out = ask(&a, weak_hit);
    round(&a, &b);
    let inc = filed(&b, &out.id);
    assert!(inc.weak);
    assert_eq!(inc.records, ["KG-7"]);
    assert_eq!(inc.decision, Decision::Pending, "not released by policy");
    assert!(requester::reports(a.exchange()).unwrap().is_empty());

    // Naming a strong tag of another record beside them changes nothing:
    // the person is still reached only through one-letter keys.
    hold(&b, "KG-8", "TLP:AMBER", "+996775987817", "");
    let mut hits = match_at(&a, &b, "+996775987817");
    hits.extend(q.hits.iter().cloned());
    let both = store_hit(&a, "+996775987817", SelectorKind::Phone, &hits);
    let out = ask(&a, both);
    round(&a, &b);
    let inc = filed(&b, &out.id);
    assert!(inc.weak);
    assert_eq!(inc.records, ["KG-7", "KG-8"]);
    assert_eq!(inc.decision, Decision::Pending);
    assert!(requester::reports(a.exchange()).unwrap().is_empty());
}
