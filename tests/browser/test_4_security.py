"""CSRF and XSS: a state change without the form's token is refused, and
markup in a record or a case reference is shown as text, never run."""

import pytest

from conftest import LANGS, console, csrf, no_page_errors, shot, sign_in


@pytest.mark.parametrize(
    "role, path, form, multipart",
    [
        ("analyst", "watchlist", {"kind": "phone", "value": "+992 92 777 4455"}, True),
        ("analyst", "search", {"value": "+996 775 987 817", "case": "KZ-CSRF-1", "basis": "test"}, False),
        ("analyst", "signout", {}, False),
        ("analyst", "language", {"lang": "ru"}, False),
        ("admin", "admin/users", {"name": "mallory", "role": "admin", "password": "a long enough passphrase"}, False),
        ("admin", "admin/reload", {}, False),
    ],
)
def test_a_post_without_the_csrf_field_is_refused(setup, contexts, role, path, form, multipart):
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, role, "en")
    for fields in [form, {**form, "csrf": "0" * 64}]:
        body = {"multipart": fields} if multipart else {"form": fields}
        r = ctx.request.post(console(a, path), max_redirects=0, **body)
        assert r.status == 403, f"POST /console/{path} with {sorted(fields)} answered {r.status}"
        assert "csrf" in r.text().lower(), f"POST /console/{path} was refused, but not for its token:\n{r.text()[:1500]}"
    # Still signed in: the refused sign-out changed nothing.
    page.goto(console(a))
    assert page.url == console(a), f"after the refused POSTs /console/ went to {page.url}"
    assert csrf(page)


def test_a_match_upload_without_the_csrf_field_is_refused(setup, contexts):
    a = setup["a"]
    m = setup["match"]
    ctx = contexts("en")
    sign_in(ctx, a, "analyst", "en")
    with open(m["file"], "rb") as f:
        body = f.read()
    r = ctx.request.post(
        console(a, "match"),
        multipart={
            "file": {"name": "query.csv", "mimeType": "text/csv", "buffer": body},
            "case": "KZ-CSRF-2",
            "basis": m["basis"],
        },
        max_redirects=0,
    )
    assert r.status == 403, f"POST /console/match without csrf answered {r.status}"


@pytest.mark.parametrize("lang", LANGS)
def test_markup_in_a_record_and_a_case_reference_is_shown_as_text(setup, contexts, lang):
    x = setup["xss"]
    ctx = contexts(lang)
    page = sign_in(ctx, x["agency"], "analyst", lang)
    page.goto(console(x["agency"], "search"))
    form = page.locator("form#search")
    form.locator("input[name=value]").fill(x["value"])
    form.locator("input[name=case]").fill('KZ-<script>window.__pwned=4</script><b id="pwned">x</b>')
    form.locator("input[name=basis]").fill("<img src=x onerror=\"window.__pwned=5\">")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    results = page.locator("table#results")
    results.wait_for()
    text = page.locator("body").inner_text()
    assert x["record"] in text, f"the search did not find {x['record']}:\n{text[:2000]}"
    assert x["text"] in text, f"the record's summary is not shown as text:\n{text[:2000]}"
    assert page.evaluate("() => typeof window.__pwned") == "undefined", "a record's script ran"
    assert page.locator("img[src=x], #pwned").count() == 0, "markup from the record became elements"
    shot(page, lang, "search-xss")
    no_page_errors(ctx)
