"""Roles: each role's nav links only to the pages it may use, the others
answer 403, an auditor sees no records and an analyst cannot approve."""

import pytest

from conftest import PAGES, ROLE_PAGES, ROLES, console, csrf, sign_in


def nav_links(page) -> set[str]:
    hrefs = page.locator("nav#nav a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    return {h.split("?")[0] for h in hrefs}


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_nav_and_pages_are_what_it_may_use(setup, contexts, role):
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, role, "en")
    allowed = {f"/console/{PAGES[p]}" for p in ROLE_PAGES[role]}
    assert nav_links(page) == allowed, f"{role}'s nav links {sorted(nav_links(page))}, not {sorted(allowed)}"
    for name, path in PAGES.items():
        r = ctx.request.get(console(a, path), max_redirects=0)
        if name in ROLE_PAGES[role]:
            assert r.status == 200, f"{role}: GET /console/{path} answered {r.status}"
        else:
            assert r.status == 403, f"{role}: GET /console/{path} answered {r.status}, not 403"


def test_an_auditor_sees_no_records_search_match_or_reports(setup, contexts):
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, "auditor", "en")
    for path in ["search", "match", "reports", "records"]:
        assert page.locator(f'a[href^="/console/{path}"]').count() == 0, (
            f"the auditor's overview links to /console/{path}"
        )
    for path in ["reports", "search"]:
        r = ctx.request.get(console(a, path), max_redirects=0)
        assert r.status == 403, f"auditor: GET /console/{path} answered {r.status}"
    # The refusal is a page of the console, not a bare error.
    page.goto(console(a, "reports"))
    assert page.locator("#who").count() == 1, "the 403 page has no console header"


def test_an_analyst_has_no_approve_button_and_its_approval_is_refused(setup, contexts, shared):
    b = setup["b"]
    days = shared.get("days", {})
    assert days, "the flow (test_2_flow) left no request to approve"
    request = next(iter(days.values())).request
    ctx = contexts("en")
    page = sign_in(ctx, b, "analyst", "en")
    page.goto(console(b, "requests"))
    assert page.locator("form#approve, form#refuse").count() == 0, "the analyst's requests page can approve"
    assert page.locator("table#incoming").count() == 0, "the analyst sees incoming requests"
    detail = ctx.request.get(console(b, f"requests/{request}"), max_redirects=0)
    assert detail.status == 403, f"analyst: GET /console/requests/{request} answered {detail.status}"
    token = csrf(page)
    r = ctx.request.post(
        console(b, f"requests/{request}/approve"),
        form={"csrf": token},
        max_redirects=0,
    )
    assert r.status == 403, f"analyst: POST .../approve answered {r.status}"
    assert "role" in r.text().lower(), f"the approval was refused, but not for the role:\n{r.text()[:1500]}"
