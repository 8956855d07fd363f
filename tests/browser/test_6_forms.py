"""The other forms, used as a person would: the watchlist, the auditor's
verification and export, and the admin's peers, users and reload."""

import re

from conftest import console, no_page_errors, no_untranslated, shot, sign_in


def test_an_analyst_watches_a_number_with_the_form(setup, contexts):
    w = setup["watch"]
    ctx = contexts("en")
    page = sign_in(ctx, w["agency"], "analyst", "en")
    page.goto(console(w["agency"], "watchlist"))
    before = page.locator("table#watchlist tbody tr").count()
    form = page.locator("form#watch")
    form.locator("select[name=kind]").first.select_option("phone")
    form.locator("input[name=value]").first.fill(w["value"])
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    errors = page.locator("main .error").all_inner_texts()
    assert not errors, f"watching {w['value']} was refused: {errors}"
    page.goto(console(w["agency"], "watchlist"))
    rows = page.locator("table#watchlist tbody tr")
    assert rows.count() == before + 1 or "7774455" in re.sub(r"\D", "", rows.last.inner_text()), (
        f"the watchlist does not show {w['value']}:\n{page.locator('table#watchlist').inner_text()}"
    )
    page.locator("table#alerts").wait_for()
    no_untranslated(page)
    shot(page, "en", "watchlist-added")
    no_page_errors(ctx)


def test_an_auditor_verifies_and_exports_the_log(setup, contexts):
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, "auditor", "en")
    page.goto(console(a, "audit"))
    assert page.locator("table#entries tbody tr").count() > 0, "the audit page lists no entry"
    # A long log comes a page at a time, newest first: the older page
    # starts below the first page's last index.
    first = [int(i) for i in page.locator("table#entries tbody tr td:nth-child(1)").all_inner_texts()]
    if page.locator("form#audit-older").count():
        with page.expect_navigation():
            page.locator("form#audit-older [type=submit]").click()
        older = [int(i) for i in page.locator("table#entries tbody tr td:nth-child(1)").all_inner_texts()]
        assert older and max(older) < min(first), f"older page {older[:3]}... after {first[-3:]}"
        page.goto(console(a, "audit"))
    page.locator("form#audit-filter input[name=user]").fill(user_name(setup, a, "analyst"))
    with page.expect_navigation():
        page.locator("form#audit-filter [type=submit]").click()
    users = page.locator("table#entries tbody tr td:nth-child(4)").all_inner_texts()
    assert users and all(u == user_name(setup, a, "analyst") for u in users), (
        f"filtered by user, the entries name {sorted(set(users))}"
    )
    with page.expect_navigation():
        page.locator("form#verify [type=submit]").click()
    verified = page.locator("#verified")
    verified.wait_for()
    assert "unverified" not in (verified.get_attribute("class") or ""), verified.inner_text()
    shot(page, "en", "audit-verified")
    with page.expect_download() as d:
        page.locator("a#audit-export").click()
    with open(d.value.path(), "rb") as f:
        head = f.read(4096)
    assert head.strip(), "the audit export is empty"
    no_page_errors(ctx)


def user_name(setup, agency, role):
    return setup["agencies"][agency]["users"][role]["name"]


def test_an_admin_sees_the_peers_fingerprints_and_adds_a_user(setup, contexts):
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, "admin", "en")
    page.goto(console(a, "admin"))
    peers = page.locator("table#peers").inner_text()
    for name in [setup["b"], setup["c"]]:
        assert name in peers, f"table#peers does not list {name}:\n{peers}"
    users = page.locator("table#users").inner_text()
    assert user_name(setup, a, "analyst") in users, f"table#users:\n{users}"

    form = page.locator("form#add-user")
    form.locator("input[name=name]").fill("zhanova")
    form.locator('input[name=role][value="analyst"]').check()
    form.locator("input[name=password]").fill("zhanova console passphrase 2026")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    errors = page.locator("main .error").all_inner_texts()
    assert not errors, f"adding a user was refused: {errors}"
    page.goto(console(a, "admin"))
    assert "zhanova" in page.locator("table#users").inner_text(), "the new user is not listed"
    # The new user signs in with the password the admin gave.
    other = contexts("en")
    sign_in(other, a, {"name": "zhanova", "password": "zhanova console passphrase 2026"}, "en")

    with page.expect_navigation():
        page.locator("form#reload [type=submit]").click()
    assert not page.locator("main .error").all_inner_texts(), page.locator("main").inner_text()
    no_untranslated(page)
    shot(page, "en", "admin-reloaded")
    # Each peer's key fingerprint, to compare by phone.
    prints = page.locator("table#peers tbody tr td:nth-child(2)").all_inner_texts()
    assert len(prints) == 2 and all(len(p.strip()) >= 16 for p in prints), (
        f"table#peers shows no fingerprints: {prints}"
    )
    no_page_errors(ctx)
