"""Playwright for Python driving Debian's Chromium (playwright install cannot download here).

Every context runs under the app's real Content-Security-Policy (script-src 'self', no eval):
wait for page state with Playwright's locators and `expect`, or with wait_until() for a
condition on the page's JavaScript state, never with page.wait_for_function()."""
import shutil
import time

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


@pytest.fixture(scope="session")
def browser(playwright_instance):
    """The launched Chromium. Its contexts get the app's real Content-Security-Policy, as users'
    browsers do (see the module's docstring for how tests wait under it)."""
    browser = playwright_instance.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def persistent(playwright_instance, tmp_path):
    """open_profile() → a persistent context on one profile folder; call again after closing to reopen it.
    Like `browser`'s contexts, it runs under the app's real Content-Security-Policy."""
    profile = tmp_path / "profile"
    opened = []

    def open_profile(**kwargs):
        kwargs.setdefault("viewport", {"width": 360, "height": 740})
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


def wait_until(page, expression, arg=None, timeout=15000):
    """Poll page.evaluate(expression, arg) every 50 ms until it is truthy; return that value.

    For conditions on the page's JavaScript state (Outbox.all(), localStorage, the service
    worker's controller…). page.evaluate goes through the DevTools protocol, which the page's
    CSP does not govern; page.wait_for_function would compile the predicate with `new Function`
    inside the page, which the CSP forbids. `timeout` is in milliseconds, as in Playwright.
    A poll that meets a page being replaced (a navigation, a reload) counts as "not yet"."""
    from playwright.sync_api import Error
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = page.evaluate(expression, arg)
        except Error as e:
            if "Execution context was destroyed" not in e.message:
                raise
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} ms waiting for {expression!r} (arg={arg!r})")
        time.sleep(0.05)
