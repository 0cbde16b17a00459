"""Playwright for Python driving Debian's Chromium (playwright install cannot download here)."""
import shutil

import pytest

from ..livesrv import LiveServer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_path():
    path = shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is missing: `make test` installs it with apt-get")
    return path


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


class _Browser:
    """The launched browser; new contexts let the tests' own probes (wait_for_function with a string
    predicate needs eval) past the app's CSP. test_csp_browser.py asks for the policy in force
    (bypass_csp=False) and checks every page of every role under it."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **kwargs):
        kwargs.setdefault("bypass_csp", True)
        return self._browser.new_context(**kwargs)

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
    yield _Browser(browser)
    browser.close()


@pytest.fixture
def persistent(playwright_instance, tmp_path):
    """open_profile() → a persistent context on one profile folder; call again after closing to reopen it."""
    profile = tmp_path / "profile"
    opened = []

    def open_profile(**kwargs):
        kwargs.setdefault("viewport", {"width": 360, "height": 740})
        kwargs.setdefault("bypass_csp", True)  # the tests' probes need eval; see _Browser
        ctx = playwright_instance.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path(), args=ARGS, headless=True, **kwargs)
        opened.append(ctx)
        return ctx

    yield open_profile
    for ctx in opened:
        try:
            ctx.close()
        except Exception:
            pass


@pytest.fixture
def live(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


def sign_in(page, base, username, password="linli-demo"):
    page.goto(base + "/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
