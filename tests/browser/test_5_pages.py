"""Every page each role can open, in English and Russian: axe-core finds no
serious or critical violation, no message key is missing, and a
screenshot is kept (LIAISON_SCREENSHOTS/<lang>/<role>-<page>.png).

These contexts bypass the pages' CSP (to inject axe-core); the flows run
with it enforced."""

import pytest

from conftest import (
    LANGS,
    LIVE,
    PAGES,
    ROLE_PAGES,
    ROLES,
    axe,
    console,
    no_untranslated,
    shot,
    sign_in,
)


def check(page, lang, name):
    no_untranslated(page)
    shot(page, lang, name)
    axe(page)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_a_role_is_accessible_and_translated(setup, contexts, shared, lang, role):
    a = setup["a"]
    ctx = contexts(lang, axe=True)
    page = sign_in(ctx, a, role, lang)
    for name in ROLE_PAGES[role]:
        r = page.goto(console(a, PAGES[name]))
        assert r is not None and r.status == 200, f"{role}: /console/{PAGES[name]} answered {r and r.status}"
        check(page, lang, f"{role}-{name}")
    # A page the role may not open: the refusal is a console page too.
    refused = next(p for p in PAGES if p not in ROLE_PAGES[role])
    r = page.goto(console(a, PAGES[refused]))
    assert r is not None and r.status == 403, f"{role}: /console/{PAGES[refused]} answered {r and r.status}"
    check(page, lang, f"{role}-refused")

    if role == "analyst":
        s = setup["search"]
        for what, fields in [
            ("phone", {"value": s["phone"]}),
            ("person", {"value": s["name"], "dob": s["dob"]}),
        ]:
            page.goto(console(a, "search"))
            form = page.locator("form#search")
            for k, v in fields.items():
                form.locator(f"input[name={k}]").fill(v)
            form.locator("input[name=case]").fill(f"KZ-A11Y-{lang}")
            form.locator("input[name=basis]").fill(setup["match"]["basis"])
            with page.expect_navigation():
                form.locator("[type=submit]").click()
            page.locator("table#results").wait_for()
            assert s["record"] in page.locator("table#results").inner_text(), (
                f"searching {fields} at {a} did not find {s['record']}"
            )
            check(page, lang, f"{role}-search-results-{what}")
        # The record found, and its link chart.
        with page.expect_navigation():
            page.locator('table#results a[href^="/console/records/"]').first.click()
        check(page, lang, f"{role}-record")
        page.goto(console(a, f"chart?record={s['record']}"))
        page.locator('#chart[data-ready="1"]').wait_for(state="attached")
        check(page, lang, f"{role}-chart-record")

        page.goto(console(a, "match"))
        form = page.locator("form#match")
        form.locator("input[type=file][name=file]").set_input_files(setup["match"]["file"])
        form.locator("input[name=case]").fill(f"KZ-A11Y-{lang}")
        form.locator("input[name=basis]").fill(setup["match"]["basis"])
        with page.expect_navigation(timeout=LIVE):
            form.locator("[type=submit]").click()
        page.locator("table#results").wait_for()
        check(page, lang, f"{role}-match-results")
        # The match again by its address, and its link chart.
        chart = page.locator('a[href^="/console/chart?match="]').first.get_attribute("href") or ""
        match = chart.split("match=", 1)[-1]
        assert match, "the match's results do not link its chart"
        r = page.goto(console(a, f"matches/{match}"))
        assert r is not None and r.status == 200, f"/console/matches/{match} answered {r and r.status}"
        page.locator("table#results").wait_for()
        check(page, lang, f"{role}-match-stored")
        page.goto(console(a, f"chart?match={match}"))
        page.locator('#chart[data-ready="1"]').wait_for(state="attached")
        check(page, lang, f"{role}-chart-match")

        day = shared.get("days", {}).get(lang)
        assert day and day.reported, "the flow (test_2_flow) left no report"
        page.goto(console(a, f"reports/{day.request}"))
        page.locator("#verification").wait_for()
        check(page, lang, f"{role}-report-detail")
        page.goto(console(a, f"chart?report={day.request}"))
        page.locator('#chart[data-ready="1"]').wait_for(state="attached")
        check(page, lang, f"{role}-chart")


@pytest.mark.parametrize("lang", LANGS)
def test_the_owners_request_pages_are_accessible_and_translated(setup, contexts, shared, lang):
    b = setup["b"]
    day = shared.get("days", {}).get(lang)
    assert day and day.request, "the flow (test_2_flow) left no request"
    ctx = contexts(lang, axe=True)
    page = sign_in(ctx, b, "supervisor", lang)
    page.goto(console(b, "requests"))
    page.locator(f'table#incoming tr[data-id="{day.request}"]').wait_for()
    check(page, lang, "owner-supervisor-requests")
    page.goto(console(b, f"requests/{day.request}"))
    check(page, lang, "owner-supervisor-request-detail")
