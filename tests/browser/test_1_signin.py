"""Signing in and out, and the language: from the browser's Accept-Language
and from the language form."""

import pytest

from conftest import (
    LANGS,
    axe,
    console,
    html_lang,
    no_page_errors,
    no_untranslated,
    shot,
    sign_in,
    user,
)


@pytest.mark.parametrize("lang", LANGS)
def test_signed_out_the_console_sends_to_the_sign_in_page(setup, contexts, lang):
    a = setup["a"]
    ctx = contexts(lang, axe=True)
    page = ctx.new_page()
    page.goto(console(a))
    assert page.url == console(a, "signin"), f"/console/ signed out went to {page.url}"
    page.locator("form#signin").wait_for()
    assert html_lang(page).startswith(lang), f"the sign-in page is in {html_lang(page)!r}"
    no_untranslated(page)
    shot(page, lang, "signin")
    axe(page)
    # Every page but the sign-in page sends there too.
    for path in ["search", "match", "requests", "reports", "audit", "admin"]:
        page.goto(console(a, path))
        assert page.url == console(a, "signin"), f"{path} signed out went to {page.url}"


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_password_is_refused_and_the_right_one_signs_in_and_out(setup, contexts, lang):
    a = setup["a"]
    ctx = contexts(lang)
    page = ctx.new_page()
    page.goto(console(a, "signin"))
    u = user(a, "analyst")
    form = page.locator("form#signin")
    form.locator("input[name=name]").fill(u["name"])
    form.locator("input[name=password]").fill("not the password at all")
    form.locator("[type=submit]").click()
    page.locator("form#signin").wait_for()
    assert page.locator("#who").count() == 0, "a wrong password signed in"
    no_untranslated(page)
    shot(page, lang, "signin-refused")

    page = sign_in(ctx, a, "analyst", lang, fresh=True)
    assert page.locator("#roles").inner_text().strip(), "#roles is empty"
    no_untranslated(page)
    signout = page.locator("form#signout")
    assert signout.locator("input[name=csrf]").count() == 1, "form#signout has no csrf field"
    with page.expect_navigation():
        signout.locator("[type=submit]").click()
    page.goto(console(a))
    assert page.url == console(a, "signin"), "signed out, /console/ still opens"
    no_page_errors(ctx)


def test_the_language_form_sets_the_users_language_over_the_browsers(setup, contexts):
    """The choice is the user's (kept by the node): it holds on the next
    page, and in a new browser whose Accept-Language says otherwise. A user
    of its own, so that no other test's pages change language."""
    a = setup["a"]
    ctx = contexts("en")
    page = sign_in(ctx, a, "linguist", "en", fresh=True)
    english = page.locator("nav#nav").inner_text()
    for lang in ["ru", "en"]:
        form = page.locator("form#language")
        assert form.locator("input[name=csrf]").count() == 1, "form#language has no csrf field"
        form.locator("select[name=lang]").select_option(lang)
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        assert html_lang(page).startswith(lang), f"after choosing {lang}: {html_lang(page)!r}"
        no_untranslated(page)
        page.goto(console(a, "search"))
        assert html_lang(page).startswith(lang), f"search after choosing {lang}: {html_lang(page)!r}"
        nav = page.locator("nav#nav").inner_text()
        if lang == "ru":
            assert nav != english, "the nav reads the same in Russian as in English"
            # A new browser speaking English signs in to Russian pages.
            other = contexts("en")
            again = other.new_page()
            again.goto(console(a, "signin"))
            u = user(a, "linguist")
            again.locator("form#signin input[name=name]").fill(u["name"])
            again.locator("form#signin input[name=password]").fill(u["password"])
            with again.expect_navigation():
                again.locator("form#signin [type=submit]").click()
            assert html_lang(again).startswith("ru"), (
                f"the user's Russian did not follow it to a new browser: {html_lang(again)!r}"
            )
        else:
            assert nav == english, "back in English, the nav differs"
    no_page_errors(ctx)
