"""Issue 9, finding 11: every page of every role works under the Content-Security-Policy.

An init script listens for `securitypolicyviolation` events on every page (and Chromium's
console reports are collected too); the test walks each role's pages from its home page,
one page per route shape, plus an htmx swap, the offline page, the resident's SOS page and
the invitation page with its QR code."""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error

from .conftest import sign_in, wait_until

pytestmark = pytest.mark.browser

LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""

SKIP = re.compile(r"(\.csv|\.xlsx|/logout|/export|/static/|/i18n/|\.js$|\.webmanifest$|^tel:|^sms:|^mailto:)")


def _shape(path):
    return re.sub(r"\d+", "N", path)


def _context(browser, violations):
    # every context gets the policy; said here too, since this test is about it
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", bypass_csp=False)
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.on("console", lambda m: violations.append("console: " + m.text)
            if "Content Security Policy" in m.text else None)
    return context, page


def _collect(page, violations, where):
    found = page.evaluate("window.__csp || []")
    violations.extend(f"{where}: {v}" for v in found)


def _crawl(page, base, start, violations, limit=40):
    seen_shapes, queue, visited = set(), [start], 0
    while queue and visited < limit:
        path = queue.pop(0)
        if _shape(path) in seen_shapes:
            continue
        seen_shapes.add(_shape(path))
        response = page.goto(base + path)
        page.wait_for_load_state("load")
        visited += 1
        assert response.status < 500, path
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        _collect(page, violations, path)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            parts = urlsplit(href)
            if parts.netloc or not href.startswith("/") or SKIP.search(href):
                continue
            target = parts.path + (("?" + parts.query) if parts.query else "")
            if _shape(target) not in seen_shapes:
                queue.append(target)
    return seen_shapes


@pytest.mark.parametrize("username", ["admin", "leader1", "worker1", "volunteer1", "resident1"])
def test_f11_every_page_of_every_role_works_under_the_policy(browser, live, world, username):
    violations = []
    context, page = _context(browser, violations)
    sign_in(page, live.url, username)
    shapes = _crawl(page, live.url, "/", violations)
    for extra in ("/settings", "/offline", "/inbox"):
        page.goto(live.url + extra)
        _collect(page, violations, extra)
    if username in ("admin", "leader1", "worker1"):
        # an htmx swap: the search box
        page.goto(live.url + "/search")
        page.fill("input[name=q]", "1")
        page.wait_for_selector("#results a", timeout=5000)
        _collect(page, violations, "search swap")
        # the invitation page with its QR code
        household = (world.grid1 if username != "admin" else world.grid1)[0]
        page.goto(live.url + f"/households/{household.id}/invite")
        if page.locator("select[name=resident_id], input[name=resident_id]").count():
            page.locator("form button[type=submit]").first.click()
            page.wait_for_load_state("load")
            _collect(page, violations, "invite")
    if username == "resident1":
        page.goto(live.url + "/me")
        assert page.locator("#sos").is_visible()
        _collect(page, violations, "/me")
        page.goto(live.url + "/me/viewers")
        _collect(page, violations, "/me/viewers")
    assert len(shapes) >= 3
    assert violations == []
    context.close()


def test_f11_anonymous_pages_and_offline_page_work_under_the_policy(browser, live, world):
    violations = []
    context, page = _context(browser, violations)
    for path in ("/login", "/join", "/offline", "/login?lang=en"):
        page.goto(live.url + path)
        _collect(page, violations, path)
    assert violations == []
    # the listener itself works: an inline style attribute set through HTML is reported
    page.goto(live.url + "/login")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')")
    wait_until(page, "window.__csp.filter(v => v.startsWith('style-src')).length", timeout=5000)
    context.close()


def test_the_suites_own_browsers_enforce_the_policy(browser, persistent, live):
    """Issue 19: the browser tests drive the product users get. A context opened with the fixtures'
    defaults (a new context, a persistent profile) refuses what the policy forbids: an inline
    script (which would run as it is added) does not run, and eval (what page.wait_for_function
    would need) throws."""
    for context in (browser.new_context(), persistent()):
        page = context.new_page()
        page.goto(live.url + "/login")
        page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 2';
                                 document.body.append(s); }""")
        assert page.evaluate("window.__ran === undefined")
        with pytest.raises(Error) as refused:  # polling compiles the string predicate inside the page
            page.wait_for_function("window.__linli_probe === 1", timeout=5000)  # false: it must poll
        assert "unsafe-eval" in refused.value.message or "EvalError" in refused.value.message, refused.value.message
        context.close()
