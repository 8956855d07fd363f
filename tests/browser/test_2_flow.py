"""An analyst's day across two agencies, in English and in Russian:

a) at A the analyst uploads a case file on /console/match (a person B holds
   in another script) with a case reference and legal basis, sees the hit
   at B and requests the record;
b) at B a supervisor, whose /console/requests was open before, sees the
   request arrive without reloading, opens it, redacts one field, approves;
c) at A the report arrives, verified, without the redacted field;
d) its link chart: the person, in B's colour, and the PNG export.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import pytest
from playwright.sync_api import BrowserContext, Page

from conftest import (
    LANGS,
    LIVE,
    console,
    new_context,
    no_page_errors,
    no_untranslated,
    poll,
    shot,
    sign_in,
)


@dataclass
class Day:
    lang: str
    a: str
    b: str
    analyst: Page
    supervisor: Page
    contexts: list[BrowserContext]
    before: list[str] = field(default_factory=list)
    request: str = ""
    redacted: str = ""
    approved: bool = False
    reported: bool = False


@pytest.fixture(scope="module", params=LANGS)
def day(request, browser, setup, shared):
    lang = request.param
    a, b = setup["a"], setup["b"]
    ctx_a = new_context(browser, lang)
    ctx_b = new_context(browser, lang)
    d = Day(
        lang=lang,
        a=a,
        b=b,
        analyst=sign_in(ctx_a, a, "analyst", lang),
        supervisor=sign_in(ctx_b, b, "supervisor", lang),
        contexts=[ctx_a, ctx_b],
    )
    shared.setdefault("days", {})[lang] = d
    yield d
    for ctx in d.contexts:
        ctx.close()


def incoming_ids(page: Page) -> list[str]:
    return page.locator("table#incoming tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )


def request_form_for(rows, peer: str):
    """The form.request-hit, in one of `rows`, that belongs to `peer`'s
    hit: the one whose nearest container holding no other such form names
    the peer."""
    for i in range(rows.count()):
        row = rows.nth(i)
        index = row.evaluate(
            """(row, peer) => {
                const forms = [...row.querySelectorAll('form.request-hit')];
                return forms.findIndex(f => {
                    let el = f;
                    while (el !== row && el.parentElement
                           && el.parentElement.querySelectorAll('form.request-hit').length === 1) {
                        el = el.parentElement;
                    }
                    return el.textContent.includes(peer);
                });
            }""",
            peer,
        )
        if index >= 0:
            return row.locator("form.request-hit").nth(index)
    pytest.fail(f"no form.request-hit for {peer} in:\n" + "\n".join(rows.all_inner_texts()))


def test_a_match_finds_the_person_at_b_across_scripts_and_requests_the_record(day, setup):
    m = setup["match"]
    # B's supervisor has the requests page open before anything is asked.
    sup = day.supervisor
    sup.goto(console(day.b, "requests"))
    sup.locator("table#incoming").wait_for()
    day.before = incoming_ids(sup)
    sup.evaluate("() => { window.__sameDocument = true; }")
    # The page listens to the event stream before anything is asked
    # (app.js marks <body data-live="open">), so no event can be missed.
    sup.wait_for_function("() => document.body.dataset.live === 'open'")

    page = day.analyst
    page.goto(console(day.a, "match"))
    form = page.locator("form#match")
    assert form.locator("input[name=csrf]").count() == 1, "form#match has no csrf field"
    form.locator("input[type=file][name=file]").set_input_files(m["file"])
    form.locator("input[name=case]").fill(f"{m['case']}-{day.lang}")
    form.locator("input[name=basis]").fill(m["basis"])
    shot(page, day.lang, "match")
    with page.expect_navigation(timeout=LIVE):
        form.locator("[type=submit]").click()
    results = page.locator("table#results")
    results.wait_for()
    rows = results.locator("tr.entity", has_text=m["entity"])
    assert rows.count() >= 1, f"no row for {m['entity']}:\n{results.inner_text()}"
    peers = " ".join(rows.locator("td.peers").all_inner_texts())
    assert day.b in peers, f"{m['entity']}'s hits name {peers!r}, not {day.b}"
    no_untranslated(page)
    shot(page, day.lang, "match-results")
    # The hits go to i2 as a chart: UTF-16 with a byte order mark, the
    # hit's agency in it.
    with page.expect_download() as anx:
        page.locator("a.export-anx").first.click()
    chart = open(anx.value.path(), "rb").read()
    assert chart[:2] == b"\xff\xfe", f"not UTF-16 LE with a BOM: {chart[:8]!r}"
    text = chart.decode("utf-16")
    assert "<Chart" in text and day.b in text, text[:400]
    with page.expect_navigation():
        request_form_for(rows, day.b).locator("[type=submit]").click()
    no_untranslated(page)
    shot(page, day.lang, "requested")
    no_page_errors(page.context)


def test_b_the_request_arrives_live_and_the_supervisor_approves_with_a_redaction(day, setup):
    sup = day.supervisor
    sup.wait_for_function(
        """before => [...document.querySelectorAll('table#incoming tr[data-id]')]
            .some(r => !before.includes(r.dataset.id))""",
        arg=day.before,
        timeout=LIVE,
    )
    assert sup.evaluate("() => window.__sameDocument === true"), (
        "the request appeared only after the page was loaded again"
    )
    new = [i for i in incoming_ids(sup) if i not in day.before]
    assert len(new) == 1, f"new incoming requests: {new}"
    day.request = new[0]
    shot(sup, day.lang, "requests-live")
    with sup.expect_navigation():
        sup.locator(f'table#incoming tr[data-id="{day.request}"] a[href="/console/requests/{day.request}"]').click()
    approve = sup.locator("form#approve")
    approve.wait_for()
    assert approve.locator("input[name=csrf]").count() == 1, "form#approve has no csrf field"
    assert sup.locator("form#refuse textarea[name=reason]").count() == 1, "no form#refuse with a reason"
    boxes = approve.locator("input[name=redact]")
    assert boxes.count() > 0, "form#approve offers no field to redact"
    want = setup["match"]["redact"]
    # A checkbox's value is the field's name, or RECORD:FIELD when the
    # request names several records.
    offered = boxes.evaluate_all("bs => bs.map(b => b.value)")
    index = next(
        (i for i, v in enumerate(offered) if v == want or v == f"{setup['match']['record']}:{want}"),
        None,
    )
    if index is None:
        pytest.fail(f"no redact checkbox for {want!r}; offered: {offered}")
    boxes.nth(index).check()
    day.redacted = want
    no_untranslated(sup)
    shot(sup, day.lang, "request-detail")
    with sup.expect_navigation():
        approve.locator("[type=submit]").click()
    no_untranslated(sup)
    shot(sup, day.lang, "request-approved")
    errors = sup.locator("main .error").all_inner_texts()
    assert not errors, f"approving answered {sup.url}:\n{sup.locator('main').inner_text()}"
    sup.goto(console(day.b, f"requests/{day.request}"))
    assert sup.locator("form#approve").count() == 0, "the request still waits after approval"
    day.approved = True
    no_page_errors(sup.context)


def test_c_the_report_arrives_verified_without_the_redacted_field(day, setup):
    m = setup["match"]
    assert day.approved, "test_b approved no request"
    page = day.analyst
    link = f'a[href="/console/reports/{day.request}"]'
    poll(page, console(day.a, "reports"), lambda p: p.locator(f"table#reports {link}"))
    no_untranslated(page)
    shot(page, day.lang, "reports")
    with page.expect_navigation():
        page.locator(f"table#reports {link}").first.click()
    verification = page.locator("#verification")
    verification.wait_for()
    assert verification.locator(".ok").count() >= 1, f"#verification: {verification.inner_html()}"
    assert verification.locator(".failed").count() == 0, f"#verification: {verification.inner_html()}"
    records = page.locator("dl.record")
    assert records.count() >= 1, "no dl.record in the report"
    fields = [t.strip() for t in records.locator("dt").all_inner_texts()]
    joined = "\n".join(records.all_inner_texts())
    main = page.locator("main").inner_text()
    assert m["record"] in main, f"the report does not name {m['record']}:\n{main}"
    assert m["person"] in joined, f"the record does not show {m['person']}:\n{joined}"
    assert day.redacted not in [f.lower() for f in fields], (
        f"the redacted field {day.redacted!r} is among the record's fields {fields}"
    )
    assert m["summary"] not in main, f"the redacted {day.redacted} is shown:\n{main}"
    day.reported = True
    no_untranslated(page)
    shot(page, day.lang, "report-detail")
    # The report as a STIX bundle: the owner's identity, no redacted text.
    with page.expect_download() as stix:
        page.locator("a#export-stix").click()
    bundle = json.load(open(stix.value.path(), encoding="utf-8"))
    assert bundle["type"] == "bundle", bundle.get("type")
    assert any(o.get("type") == "identity" and o.get("name") == day.b for o in bundle["objects"]), (
        [o.get("name") for o in bundle["objects"] if o.get("type") == "identity"]
    )
    assert m["summary"] not in json.dumps(bundle, ensure_ascii=False), "the redacted summary is in the bundle"
    no_page_errors(page.context)


def chart_elements(page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = page.evaluate("() => window.liaisonChart.nodes().map(n => n.data())")
    edges = page.evaluate("() => window.liaisonChart.edges().map(e => e.data())")
    return nodes, edges


def test_d_the_link_chart_shows_the_person_in_bs_colour_and_exports_a_png(day, setup):
    m = setup["match"]
    assert day.reported, "test_c found no report"
    page = day.analyst
    with page.expect_navigation():
        page.locator("#chart-link").click()
    chart = page.locator('#chart[data-ready="1"]')
    chart.wait_for(state="attached")
    nodes, edges = chart_elements(page)
    by_id = {n.get("id"): n for n in nodes}
    for e in edges:
        assert e.get("source") in by_id and e.get("target") in by_id, f"an edge to nowhere: {e}"
    # The agencies' colours, as the server gave them to the chart.
    graph = page.request.get(urljoin(page.url, page.locator("#chart").get_attribute("data-graph") or ""))
    assert graph.ok, f"the chart's graph.json answered {graph.status}"
    colours = {k: v.lower() for k, v in graph.json().get("agencies", {}).items()}
    assert day.b in colours, f"graph.json gives no colour for {day.b}: {colours}"
    if day.a in colours:
        assert colours[day.a] != colours[day.b], f"{day.a} and {day.b} share a colour: {colours}"

    def colour(n):
        return str(n.get("colour", "")).lower()

    def linked(n):
        return [
            by_id[e["target"] if e["source"] == n["id"] else e["source"]]
            for e in edges
            if n["id"] in (e.get("source"), e.get("target"))
        ]

    # The report's record, in B's colour...
    records = [n for n in nodes if n.get("kind") == "record" and m["record"] in n.get("label", "")]
    assert records, f"no node for {m['record']} among {nodes}"
    record = records[0]
    assert record.get("agency") == day.b and colour(record) == colours[day.b], (
        f"{m['record']} is not drawn as {day.b}'s ({colours[day.b]}): {record}"
    )
    # ...linked to the person it names, and to what only B holds, in B's
    # colour (the vehicle). A holds the same person (in Latin): the chart
    # draws one node for both, linked to A's own record too.
    people = [n for n in linked(record) if n.get("kind") == "person"]
    assert people, f"{m['record']} links no person: {linked(record)}"
    person = people[0]
    theirs = [n for n in linked(record) if n.get("agency") == day.b and n.get("kind") != "record"]
    assert theirs, f"nothing linked to {m['record']} is {day.b}'s alone: {linked(record)}"
    assert all(colour(n) == colours[day.b] for n in theirs), (
        f"{day.b}'s entities are not in its colour {colours[day.b]}: {theirs}"
    )
    if person.get("agency") == day.b:
        assert colour(person) == colours[day.b], f"the person is not in {day.b}'s colour: {person}"
    else:
        ours = [n for n in linked(person) if n.get("kind") == "record" and n.get("agency") == person.get("agency")]
        assert ours, f"the person is drawn as {person.get('agency')}'s, but no record of it links there: {person}"
    no_untranslated(page)
    shot(page, day.lang, "chart")
    status = page.locator("#chart-status").inner_text()
    with page.expect_download() as png:
        page.locator("#export-png").click()
    with open(png.value.path(), "rb") as f:
        data = f.read(16)
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"the export is not a PNG: {data!r}"
    with page.expect_download() as svg:
        page.locator("#export-svg").click()
    with open(svg.value.path(), "rb") as f:
        text = f.read(4096).decode("utf-8", "replace")
    assert "<svg" in text, f"the SVG export is not SVG: {text[:200]!r}"
    # The status line counts what is drawn; in Russian the legend and the
    # links' names are Russian too.
    assert str(len(nodes)) in status, f"#chart-status does not count the {len(nodes)} nodes: {status!r}"
    if day.lang == "ru":
        english = {w for n in nodes for w in re.findall(r"[A-Za-z]{3,}", n.get("agency", ""))}
        legend = page.locator("#chart-legend").inner_text()
        words = set(re.findall(r"[A-Za-z]{3,}", legend)) - english
        assert not words, f"the legend is not all Russian: {sorted(words)} in {legend!r}"
        relations = {e.get("label", "").split(" ")[0] for e in edges}
        left = relations & {"record", "uses", "holds", "drives", "call", "owns"}
        assert not left, f"links named in English on the Russian chart: {sorted(left)}"
    no_page_errors(page.context)
