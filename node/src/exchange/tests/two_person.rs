//! The two-person rule (`[exchange] two_person`): a release of a listed
//! handling code waits for a second, different supervisor; one refusal
//! closes it; policy never releases it; stored requests from before the
//! rule still decode; a record changed under an approval voids it.

use super::*;
use liaison_protocol::record::Handling;

/// a and b, b needing two supervisors for `TLP:AMBER+STRICT`.
fn two_person() -> (Node, Node) {
    let (a, b, _c) = federation_x("", "", r#"two_person = ["TLP:AMBER+STRICT"]"#);
    (a, b)
}

/// Envelopes b has queued for a and not yet sent.
fn queued(b: &Node, a: &Node) -> usize {
    crate::store::mailbox::Mailbox::new(b.post.store())
        .pending(a.card.verifying_key(), 0, 1000)
        .unwrap()
        .len()
}

/// a asks b for the record behind `number`, and b files it.
fn filed_at_b(a: &Node, b: &Node, number: &str) -> String {
    let out = ask(a, hit(a, b, number));
    round(a, b);
    assert_eq!(answer(a, &out.id).answer, Answer::Filed);
    out.id
}

#[test]
fn one_supervisor_waits_the_same_one_again_is_refused_and_a_second_releases() {
    let (a, b) = two_person();
    hold(&b, "KG-S", "TLP:AMBER+STRICT", "+996775444444", "");
    let id = filed_at_b(&a, &b, "+996775444444");

    let first = owner::approve(b.exchange(), &id, &["summary".into()], "ivanov").unwrap();
    let owner::Approved::Waiting { request, codes } = first else {
        panic!("one approval released a two-person code: {first:?}");
    };
    assert_eq!(codes, [Handling::AmberStrict]);
    assert_eq!(request.decision, Decision::Pending);
    assert_eq!(queued(&b, &a), 0, "nothing is sent on one approval");
    let req = filed(&b, &id);
    assert_eq!(req.decision, Decision::Pending);
    assert_eq!(req.approvals.len(), 1);
    assert_eq!(req.approvals[0].by, "ivanov");
    assert_eq!(req.approvals[0].redacted, ["summary"]);
    assert_eq!(req.decided_by, None);

    // The same supervisor again: refused, nothing changed.
    let e = invalid(owner::approve(b.exchange(), &id, &[], " ivanov "));
    assert!(
        e.contains("already has ivanov's approval")
            && e.contains("two-person rule for TLP:AMBER+STRICT")
            && e.contains("second supervisor"),
        "{e}"
    );
    let again = filed(&b, &id);
    assert_eq!(again.approvals, req.approvals);
    assert_eq!(again.decision, Decision::Pending);
    assert_eq!(queued(&b, &a), 0);

    // A second supervisor releases, with both supervisors' redactions.
    let second = owner::approve(b.exchange(), &id, &["p1.dob".into()], "petrova").unwrap();
    let owner::Approved::Released(released) = second else {
        panic!("a second supervisor did not release: {second:?}");
    };
    assert_eq!(released.decision, Decision::Released);
    assert_eq!(released.decided_by.as_deref(), Some("ivanov+petrova"));
    assert_eq!(released.redacted, ["summary", "p1.dob"]);
    let by: Vec<&str> = released.approvals.iter().map(|x| x.by.as_str()).collect();
    assert_eq!(by, ["ivanov", "petrova"]);
    assert_eq!(queued(&b, &a), 1, "the report is queued");
    deliver(&b, &a);
    assert_eq!(answer(&a, &id).answer, Answer::Reported);
    let r = requester::report(a.exchange(), &id).unwrap();
    assert!(r.verified, "{:?}", r.problem);
    assert!(r.records[0].record.get("summary").is_none());
    assert!(r.records[0].record["entities"][0].get("dob").is_none());
    let e = invalid(owner::approve(b.exchange(), &id, &[], "sidorov"));
    assert!(
        e.contains("already answered") && e.contains("ivanov+petrova"),
        "{e}"
    );
}

#[test]
fn a_refusal_after_one_approval_closes_the_request() {
    let (a, b) = two_person();
    hold(&b, "KG-S", "TLP:AMBER+STRICT", "+996775444444", "");
    let id = filed_at_b(&a, &b, "+996775444444");
    owner::approve(b.exchange(), &id, &[], "ivanov").unwrap();
    let r = owner::refuse(b.exchange(), &id, "not within Art. 5", "petrova").unwrap();
    assert_eq!(r.decision, Decision::Refused);
    assert_eq!(r.decided_by.as_deref(), Some("petrova"));
    deliver(&b, &a);
    assert_eq!(answer(&a, &id).answer, Answer::Refused);
    let e = invalid(owner::approve(b.exchange(), &id, &[], "sidorov"));
    assert!(e.contains("already answered"), "{e}");
    assert!(requester::reports(a.exchange()).unwrap().is_empty());
}

#[test]
fn a_record_of_a_code_not_listed_is_released_by_one_supervisor() {
    let (a, b) = two_person();
    hold(&b, "KG-A", "TLP:AMBER", "+996775333333", "");
    let id = filed_at_b(&a, &b, "+996775333333");
    let r = owner::approve(b.exchange(), &id, &[], "ivanov").unwrap();
    assert!(matches!(r, owner::Approved::Released(_)), "{r:?}");
    assert_eq!(r.request().decided_by.as_deref(), Some("ivanov"));
}

#[test]
fn policy_never_releases_a_two_person_code_even_after_a_reload() {
    // The config refuses `auto` for a two-person code and caps a
    // default; settings changed under a policy that says auto are held
    // by the node itself.
    let (a, b, _c) = federation(r#"release = { default = "auto" }"#, "");
    b.exchange().set_settings(Settings {
        two_person: [Handling::Amber].into(),
        ..b.exchange().settings()
    });
    hold(&b, "KG-A", "TLP:AMBER", "+996775333333", "");
    hold(&b, "KG-G", "TLP:GREEN", "+996775222222", "");
    let held = filed_at_b(&a, &b, "+996775333333");
    assert_eq!(filed(&b, &held).decision, Decision::Pending);
    assert!(requester::reports(a.exchange()).unwrap().is_empty());
    // Auto still releases a code not listed.
    let out = ask(&a, hit(&a, &b, "+996775222222"));
    round(&a, &b);
    assert_eq!(answer(&a, &out.id).answer, Answer::Reported);

    // Through the config too: the default is capped for AMBER.
    let (a, b, _c) = federation_x(
        r#"release = { default = "auto" }"#,
        "",
        r#"two_person = ["TLP:AMBER"]"#,
    );
    hold(&b, "KG-A", "TLP:AMBER", "+996775333333", "");
    let id = filed_at_b(&a, &b, "+996775333333");
    assert_eq!(filed(&b, &id).decision, Decision::Pending);
}

#[test]
fn a_request_stored_before_the_rule_decodes_and_takes_approvals() {
    let (a, b) = two_person();
    hold(&b, "KG-S", "TLP:AMBER+STRICT", "+996775444444", "");
    let id = filed_at_b(&a, &b, "+996775444444");
    // Stored as an older node wrote it: no `approvals`.
    let mut old = serde_json::to_value(filed(&b, &id)).unwrap();
    assert!(old.as_object_mut().unwrap().remove("approvals").is_some());
    let key = hex::decode::<16>(&id).unwrap();
    let mut batch = crate::store::Batch::default();
    crate::store::exchange::INCOMING
        .put(&mut batch, &key, &old)
        .unwrap();
    b.post.store().write(batch).unwrap();
    assert!(filed(&b, &id).approvals.is_empty());
    let r = owner::approve(b.exchange(), &id, &[], "ivanov").unwrap();
    assert!(matches!(r, owner::Approved::Waiting { .. }), "{r:?}");
}

#[test]
fn a_record_corrected_under_an_approval_needs_both_supervisors_again() {
    let (a, b) = two_person();
    hold(&b, "KG-S", "TLP:AMBER+STRICT", "+996775444444", "");
    let id = filed_at_b(&a, &b, "+996775444444");
    owner::approve(b.exchange(), &id, &[], "ivanov").unwrap();
    hold(
        &b,
        "KG-S",
        "TLP:AMBER+STRICT",
        "+996775444444",
        r#","country":"KGZ""#,
    );
    owner::drain_changed(b.exchange()).unwrap();
    let req = filed(&b, &id);
    assert_eq!(req.decision, Decision::Pending);
    assert!(req.approvals.is_empty());
    let r = owner::approve(b.exchange(), &id, &[], "petrova").unwrap();
    assert!(matches!(r, owner::Approved::Waiting { .. }), "{r:?}");
    assert_eq!(queued(&b, &a), 0);
}
