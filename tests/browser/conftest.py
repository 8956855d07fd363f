"""The console's browser suite: shared set-up and helpers.

Started by tests/console.rs, which runs real agencies and describes them in
the JSON file named by LIAISON_CONSOLE_SETUP (agencies, console URLs, users
and passwords, the sample values to look for). One Chromium (Debian's,
/usr/bin/chromium: Playwright never downloads a browser) for the session, a
fresh context per user. Screenshots go to LIAISON_SCREENSHOTS/<lang>/.

Every wait has a timeout: Playwright's own (TIMEOUT, set on every context),
LIVE for what crosses the federation, and `poll` for a page that has to be
loaded again until something shows.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    TimeoutError as PlaywrightTimeout,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Milliseconds: one page action; what crosses the federation.
TIMEOUT = 15_000
LIVE = 90_000

LANGS = ["en", "ru"]
LOCALES = {"en": "en-US", "ru": "ru-RU"}
ROLES = ["analyst", "supervisor", "auditor", "admin"]

# The pages each role's nav links to (and may open); the others answer 403.
PAGES = {
    "overview": "",
    "search": "search",
    "match": "match",
    "watchlist": "watchlist",
    "requests": "requests",
    "reports": "reports",
    "audit": "audit",
    "admin": "admin",
}
ROLE_PAGES = {
    "analyst": ["overview", "search", "match", "watchlist", "requests", "reports"],
    "supervisor": ["overview", "search", "match", "watchlist", "requests", "reports"],
    "auditor": ["overview", "audit"],
    "admin": ["overview", "admin"],
}


def _load_setup() -> dict[str, Any]:
    path = os.environ.get("LIAISON_CONSOLE_SETUP")
    if not path:
        raise pytest.UsageError(
            "LIAISON_CONSOLE_SETUP is not set: this suite is run by "
            "`cargo test --profile dev -p liaison-tests console` (tests/console.rs)"
        )
    return json.loads(Path(path).read_text(encoding="utf-8"))


SETUP = _load_setup()
SHOTS = Path(os.environ.get("LIAISON_SCREENSHOTS", "tests/browser/screenshots"))


def console(agency: str, path: str = "") -> str:
    """The absolute URL of `path` under `agency`'s /console/."""
    return SETUP["agencies"][agency]["console"] + path.lstrip("/")


def user(agency: str, role: str) -> dict[str, str]:
    return SETUP["agencies"][agency]["users"][role]


@pytest.fixture(scope="session")
def setup() -> dict[str, Any]:
    return SETUP


@pytest.fixture(scope="session")
def shared() -> dict[str, Any]:
    """What one test leaves for later ones (request ids, per language)."""
    return {}


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT * 4
        )
        yield b
        b.close()


class Watched:
    """A context's page errors and CSP refusals, gathered as they happen."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: uncaught {e}"))

        def on_console(msg: Any) -> None:
            if msg.type == "error" and "Content Security Policy" in msg.text:
                self.errors.append(f"{page.url}: {msg.text}")

        page.on("console", on_console)


def new_context(browser: Browser, lang: str, *, axe: bool = False) -> BrowserContext:
    """A fresh context speaking `lang` (locale and Accept-Language).

    `axe=True` bypasses the pages' CSP so that axe-core can be injected:
    only for contexts that run `axe`, never for the flows.
    """
    ctx = browser.new_context(
        locale=LOCALES[lang],
        extra_http_headers={"Accept-Language": f"{LOCALES[lang]},{lang};q=0.9"},
        bypass_csp=axe,
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(TIMEOUT)
    ctx.set_default_navigation_timeout(TIMEOUT)
    watched = Watched()
    ctx.on("page", watched.attach)
    ctx.watched = watched  # type: ignore[attr-defined]
    return ctx


@pytest.fixture
def contexts(browser: Browser):
    """Makes contexts (`contexts(lang, axe=...)`) and closes them after the test."""
    made: list[BrowserContext] = []

    def make(lang: str, *, axe: bool = False) -> BrowserContext:
        ctx = new_context(browser, lang, axe=axe)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def no_page_errors(ctx: BrowserContext) -> None:
    """No uncaught script error and no CSP refusal on any page of `ctx`."""
    errors = ctx.watched.errors  # type: ignore[attr-defined]
    assert not errors, "script errors or CSP refusals:\n" + "\n".join(errors)


def html_lang(page: Page) -> str:
    return page.evaluate("() => document.documentElement.lang || ''")


# The session cookies of each (agency, user) signed in so far. The node
# takes at most 10 sign-ins a minute for one name, so later contexts of the
# same user start from the cookies of its first sign-in through the form.
_SESSIONS: dict[tuple[str, str], list[Any]] = {}


def sign_in(
    ctx: BrowserContext, agency: str, who: str | dict[str, str], lang: str, *, fresh: bool = False
) -> Page:
    """Signs `who` (a role at `agency`, or {name, password}) in, in the
    fresh context `ctx`; returns the overview page, checked to be in `lang`.

    The first time for a user (or with `fresh`) through form#signin; then
    with that sign-in's session cookie (see _SESSIONS).
    """
    u = user(agency, who) if isinstance(who, str) else who
    key = (agency, u["name"])
    page = ctx.new_page()
    if key in _SESSIONS and not fresh:
        ctx.add_cookies(_SESSIONS[key])
        page.goto(console(agency))
    else:
        page.goto(console(agency, "signin"))
        form = page.locator("form#signin")
        form.locator("input[name=name]").fill(u["name"])
        form.locator("input[name=password]").fill(u["password"])
        with page.expect_navigation():
            form.locator("[type=submit]").click()
    assert page.url == console(agency), (
        f"signing in {u['name']} at {agency} landed on {page.url}:\n"
        + page.locator("main").inner_text()
    )
    who_text = page.locator("#who").inner_text()
    assert u["name"] in who_text, f"#who shows {who_text!r}, not {u['name']}"
    assert html_lang(page).startswith(lang), (
        f"{page.url} is in {html_lang(page)!r}, not {lang} (Accept-Language {LOCALES[lang]})"
    )
    if key not in _SESSIONS and not fresh:
        _SESSIONS[key] = [c for c in ctx.cookies() if c["name"] != "liaison_lang"]
    return page


def csrf(page: Page) -> str:
    """The CSRF token the page's forms carry."""
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token, f"{page.url} has no CSRF token in its forms"
    return token


def shot(page: Page, lang: str, name: str) -> Path:
    """A full-page screenshot at LIAISON_SCREENSHOTS/<lang>/<name>.png."""
    path = SHOTS / lang / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def axe(page: Page) -> None:
    """axe-core on the page: no violation of impact serious or critical.

    The page's context must have been made with `axe=True` (bypass_csp):
    the console's CSP rightly refuses an injected script.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=SETUP["axe"])
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ['violations'] });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
                nodes: v.nodes.map(n => ({
                    target: n.target.join(' '),
                    html: n.html.slice(0, 200),
                    why: n.failureSummary || '',
                })),
            }));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    if bad:
        lines = [f"axe: {len(bad)} serious or critical violation(s) on {page.url}"]
        for v in bad:
            lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['url']})")
            for n in v["nodes"][:8]:
                lines.append(f"    at {n['target']}: {n['html']}")
                for why in n["why"].splitlines()[:4]:
                    lines.append(f"      {why}")
            if len(v["nodes"]) > 8:
                lines.append(f"    ... and {len(v['nodes']) - 8} more")
        pytest.fail("\n".join(lines), pytrace=False)


UNTRANSLATED = re.compile(r"\?\?[\w.:-]+\?\?")


def no_untranslated(page: Page) -> None:
    """No missing message key: the server renders one as `??key??`."""
    text = page.locator("body").inner_text()
    keys = sorted(set(UNTRANSLATED.findall(page.content())))
    lines = [line.strip() for line in text.splitlines() if "??" in line]
    if keys or lines:
        pytest.fail(
            f"{page.url} ({html_lang(page)}) shows untranslated keys {keys}:\n" + "\n".join(lines[:10]),
            pytrace=False,
        )


def poll(page: Page, url: str, locator: Callable[[Page], Locator], timeout: int = LIVE) -> Locator:
    """Loads `url` again until `locator(page)` shows, for at most `timeout` ms."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        page.goto(url)
        loc = locator(page)
        try:
            loc.first.wait_for(state="visible", timeout=2_000)
            return loc
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"nothing matched on {url} within {timeout} ms; page text:\n"
                    + page.locator("body").inner_text()[:2000]
                ) from None
