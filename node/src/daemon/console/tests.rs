//! The console's templates and catalogues, without a node: every page
//! renders for every role in both languages with no missing message, and
//! what people typed is escaped. The browser tests (tests/console.rs)
//! drive the same pages on real nodes.

use super::*;
use crate::users::Role;
use serde_json::json;

fn console() -> Console {
    let catalogues = Arc::new(Catalogues::load().expect("catalogues"));
    Console {
        api: Router::new(),
        views: views::environment(catalogues.clone()).expect("templates"),
        catalogues,
        node: "kg-border".into(),
        country: Some("KGZ".into()),
    }
}

fn ctx(lang: Lang, roles: &[Role]) -> Ctx {
    Ctx {
        lang,
        cookie: Some("x".into()),
        who: Some(Who {
            name: "ivanov".into(),
            roles: roles.to_vec(),
            csrf: "c5rf".into(),
        }),
    }
}

const XSS: &str = "<script>window.__pwned=1</script><img src=x onerror=alert(1)>";

fn record() -> Value {
    json!({"id": "KG-1", "summary": XSS, "handling": "TLP:AMBER", "grading": "B2", "country": "KGZ",
        "entities": [{"ref": "p1", "type": "person", "surname": "Курбонов", "given": "Юсуф", "dob": "1985-03-14"},
                     {"ref": "t1", "type": "phone", "number": "0775 987 817"}],
        "links": [{"from": "p1", "to": "t1", "rel": "uses"}]})
}

/// Each page with data shaped as the API answers it.
fn pages() -> Vec<(&'static str, &'static str, Value)> {
    let status = json!({"name": "kg-border", "fingerprint": "ab:cd", "peer_id": "12D3", "records": 1234567, "outbox": 3,
        "peers": [{"name": "tj-drug-control", "fingerprint": "01:02", "connected": true, "rtt_ms": 1.25, "addrs": ["/ip4/127.0.0.1/tcp/1"]}],
        "audit": {"entries": 21, "checkpoint": 20, "forks": ["kz-customs"], "witness_stale": ["tj-drug-control"]},
        "matching": {"alerts": 2, "evidence": 1}, "exchange": {"pending": 2, "overdue": 1}});
    let incoming = json!({"id": "00ff", "peer": "tj-drug-control", "reference": XSS, "basis": "Art. 5", "note": "n",
        "received_ms": 1_796_300_000_000u64, "records": ["KG-1"], "handling": ["TLP:AMBER"], "decision": "pending",
        "approvals": [{"by": "petrova", "at_ms": 1_796_300_100_000u64, "redacted": ["KG-1:summary"]}], "weak": true,
        "withheld": [], "reminded": true, "redacted": []});
    let report = json!({"id": "00ff", "peer": "tj-drug-control", "originator": "tj-drug-control", "received_ms": 1_796_300_000_000u64,
        "released_ms": 1_796_300_000_000u64, "reference": "C-1", "basis": "Art. 5", "verified": true, "problem": null,
        "envelope": "abcd", "records": [{"id": "TJ-1", "handling": "TLP:GREEN", "grading": "A1", "redacted": ["p1.dob"],
        "change": "corrected", "changed_ms": 1_796_300_000_000u64, "record": record()}]});
    vec![
        (
            "signin.html",
            "signin",
            json!({"error": "signin-failed", "name": XSS}),
        ),
        (
            "overview.html",
            "nav-overview",
            json!({"status": status, "alerts": [{"time_ms": 1_796_300_000_000u64, "peer": "tj", "kind": "phone", "label": XSS}]}),
        ),
        (
            "search.html",
            "nav-search",
            json!({"form": {"value": XSS}, "found": {"records": [{"record": record(), "matched_kinds": "phone, person_full", "matched": [{"kind": "phone", "version": 1, "value": "+996775987817"}, {"kind": "person_full", "version": 1, "value": "x"}, {"kind": "phone", "version": 1, "value": "y"}]}]}}),
        ),
        (
            "record.html",
            "nav-search",
            json!({"record": {"record": record(), "source": "a.ndjson:1", "ingested_at": 1}}),
        ),
        (
            "match.html",
            "nav-match",
            json!({"form": {"case": "C-1", "basis": "Art. 5"}, "rows": 5, "peers": [{"name": "tj"}],
            "reply": {"id": 7, "complete": false, "seconds": 1.5, "asked": [["tj", 2]], "skipped": [XSS], "problems": [], "bad": [], "warnings": [],
            "results": [{"source": "q.csv:2", "entity": "p1", "label": XSS, "hits": [{"peer": "tj", "kinds": ["person_fuzzy"], "strength": "weak: names one letter apart", "hit": 3}]},
                        {"source": "q.csv:3", "entity": "t1", "label": "+996", "hits": []}]}}),
        ),
        (
            "match.html",
            "nav-match",
            json!({"form": {}, "rows": 5, "peers": [], "stored": {"id": 7, "hits": [{"id": 3, "peer": "tj", "entity": XSS, "source": "s", "kinds": ["phone"]}]}}),
        ),
        (
            "watchlist.html",
            "nav-watchlist",
            json!({"rows": 5, "watchlist": [{"id": 1, "label": XSS, "source": "w.csv:2", "added_ms": 1_796_300_000_000u64, "weak": true, "selectors": [{"kind": "phone", "version": 1, "value": "+996"}, {"kind": "phone", "version": 1, "value": "+997"}]}], "alerts": [], "added": {"added": [[1, "x"]], "bad": [XSS]}}),
        ),
        (
            "requests.html",
            "nav-requests",
            json!({"incoming": [incoming], "outgoing": [{"id": "00ee", "peer": "tj", "entity": XSS, "reference": "C", "sent_ms": 1, "answer": "reported", "reason": null}], "now": 1_796_300_200_000u64}),
        ),
        (
            "request.html",
            "nav-requests",
            json!({"request": incoming, "now": 1_796_307_200_000u64, "records": [{"id": "KG-1", "stored": {"record": record()}, "picks": [{"value": "KG-1:summary", "field": "summary", "entity": null}, {"value": "KG-1:p1", "field": null, "entity": "p1", "kind": "person"}, {"value": "KG-1:p1.dob", "field": "dob", "entity": "p1"}]}, {"id": "KG-2", "gone": true}]}),
        ),
        (
            "reports.html",
            "nav-reports",
            json!({"reports": [report.clone()], "deleted": [{"id": "00aa", "peer": "tj", "deleted_ms": 1_796_300_000_000u64, "records": ["TJ-1"], "envelope": "ab"}]}),
        ),
        ("report.html", "nav-reports", json!({"report": report})),
        (
            "chart.html",
            "nav-chart",
            json!({"graph": "/console/chart/graph.json?report=00ff"}),
        ),
        (
            "audit.html",
            "nav-audit",
            json!({"form": {"user": XSS}, "status": status, "verified": {"ok": true, "entries": 21},
            "next": "3", "entries": [{"index": 3, "time": "2026-12-03T14:25:00Z", "kind": "local", "user": "ivanov", "context": XSS, "message": "00ff", "case": true, "code": 0, "detail": "done"}]}),
        ),
        (
            "admin.html",
            "nav-admin",
            json!({"status": status, "users": [{"name": "ivanov", "roles": ["admin"], "disabled": false}, {"name": "petrova", "roles": ["supervisor"], "disabled": true}], "reloaded": {"peers": 1}}),
        ),
        (
            "error.html",
            "error",
            json!({"status": 403, "title": "error-forbidden", "detail": XSS}),
        ),
    ]
}

fn body(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let bytes = rt
        .block_on(axum::body::to_bytes(r.into_body(), usize::MAX))
        .expect("body");
    (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

#[test]
fn every_page_renders_for_every_role_in_both_languages_with_every_message() {
    let c = console();
    let role_sets: [&[Role]; 5] = [
        &[Role::Analyst],
        &[Role::Supervisor],
        &[Role::Auditor],
        &[Role::Admin],
        &Role::ALL,
    ];
    for lang in Lang::ALL {
        for roles in role_sets {
            for (template, page, data) in pages() {
                let (status, html) = body(c.render(&ctx(lang, roles), template, page, data));
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "{template} {roles:?} {lang:?}: {html}"
                );
                assert!(
                    !html.contains("??"),
                    "{template} in {lang:?} misses a message: {}",
                    html.lines()
                        .filter(|l| l.contains("??"))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                assert!(
                    !html.contains("<script>window"),
                    "{template} let a script through"
                );
                assert!(
                    !html.contains("<img src=x"),
                    "{template} let markup through"
                );
                assert!(
                    !html.contains("style=\""),
                    "{template} has an inline style (CSP)"
                );
                assert!(
                    !html.contains("<script>"),
                    "{template} has an inline script (CSP)"
                );
                assert!(html.contains(&format!("<html lang=\"{}\">", lang.tag())));
            }
        }
    }
}

#[test]
fn the_navigation_and_buttons_follow_the_roles() {
    let c = console();
    let page = |roles: &[Role], template: &str| {
        let data = pages()
            .into_iter()
            .find(|p| p.0 == template)
            .expect("page")
            .2;
        // minijinja writes `/` as `&#x2f;` in attributes; browsers read both.
        body(c.render(&ctx(Lang::En, roles), template, "nav-requests", data))
            .1
            .replace("&#x2f;", "/")
    };
    let auditor = page(&[Role::Auditor], "overview.html");
    for hidden in [
        "/console/search\"",
        "/console/match\"",
        "/console/reports\"",
        "/console/requests\"",
        "/console/admin\"",
    ] {
        assert!(!auditor.contains(hidden), "an auditor sees {hidden}");
    }
    assert!(auditor.contains("/console/audit\""));
    let analyst = page(&[Role::Analyst], "requests.html");
    assert!(
        !analyst.contains("id=\"incoming\""),
        "an analyst sees incoming requests"
    );
    let supervisor = page(&[Role::Supervisor], "requests.html");
    assert!(supervisor.contains("id=\"incoming\""));
    let analyst_match = page(&[Role::Analyst], "match.html");
    assert!(analyst_match.contains("class=\"request-hit"));
    let admin = page(&[Role::Admin], "admin.html");
    assert!(admin.contains("id=\"reload\""));
}

#[test]
fn every_message_a_template_names_is_in_both_catalogues() {
    let c = console();
    let mut named = std::collections::BTreeSet::new();
    for (name, source) in views::TEMPLATES {
        let mut rest = *source;
        while let Some(i) = rest.find("t(\"") {
            rest = &rest[i + 3..];
            let end = rest.find('"').unwrap_or(0);
            let key = &rest[..end];
            // `t("kind-" ~ k)`: a family, checked by the render test.
            if !key.ends_with('-') {
                named.insert((key.to_owned(), *name));
            }
        }
    }
    assert!(named.len() > 100, "{} messages named", named.len());
    for (key, template) in &named {
        for lang in Lang::ALL {
            assert!(
                c.catalogues.has(lang, key),
                "{template} names {key}, missing in {}.ftl",
                lang.tag()
            );
        }
    }
    for family in [
        "decision-pending",
        "decision-released",
        "decision-refused",
        "decision-withdrawn",
        "answer-sent",
        "answer-filed",
        "answer-refused",
        "answer-no_such_record",
        "answer-withdrawn",
        "answer-reported",
        "change-withdrawn",
        "change-corrected",
        "change-expired",
        "role-analyst",
        "role-supervisor",
        "role-auditor",
        "role-admin",
        "kind-phone",
        "kind-document",
        "kind-plate",
        "kind-vin",
        "kind-imei",
        "kind-iban",
        "kind-account",
        "kind-email",
        "kind-organization",
        "kind-registration",
        "kind-person_full",
        "kind-person_name",
        "kind-person_phonetic",
        "kind-person_fuzzy",
        "strength-strong",
        "strength-good",
        "strength-fair",
        "strength-weak",
    ] {
        for lang in Lang::ALL {
            assert!(
                c.catalogues.has(lang, family),
                "{family} missing in {}.ftl",
                lang.tag()
            );
        }
    }
}

#[test]
fn forms_from_another_site_are_refused_before_anything_runs() {
    let app = router(Router::new(), "kg-border", None).expect("router");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let post = |headers: &[(&str, &str)]| {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/console/signin")
            .header(header::HOST, "127.0.0.1:4711")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Body::from("name=a&password=b")).expect("request");
        rt.block_on(app.clone().oneshot(req))
            .expect("answer")
            .status()
    };
    assert_eq!(
        post(&[("origin", "https://evil.example")]),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&[("sec-fetch-site", "cross-site")]),
        StatusCode::FORBIDDEN
    );
    // Its own origin passes on to sign-in (which the empty API refuses).
    assert_ne!(
        post(&[
            ("origin", "http://127.0.0.1:4711"),
            ("sec-fetch-site", "same-origin")
        ]),
        StatusCode::FORBIDDEN
    );
    assert_ne!(post(&[]), StatusCode::FORBIDDEN);
}
