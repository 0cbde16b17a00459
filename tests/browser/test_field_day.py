"""Offline as people use it (issue 8), in Chromium at 360×740 with a persistent profile:
a worker's day in the field, a resident's SOS from the installed icon, a record the server
cannot process, and a header that fits small screens."""
import json
import threading
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Alert, Visit
from webapp.services import records

from .conftest import wait_until
from .test_offline_visits import CTX, controlled, start, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def nothing_recorded(world):
    db.session.execute(delete(Visit))
    db.session.execute(delete(Alert))
    db.session.commit()


def count(model, user_id):
    return db.session.scalar(select(func.count(model.id)).where(model.author_id == user_id))


def badge(page):
    return page.inner_text("#outbox-count")


def wait_badge(page, n, timeout=30000):
    expect(page.locator("#outbox-count")).to_have_text(str(n), timeout=timeout)


def assert_layout(page, where):
    """Inside the normal layout: the bottom bar is there, and the page is not the browser's error."""
    assert not page.url.startswith("chrome-error"), where
    assert page.locator("nav.tabs a").count() >= 3, where
    assert page.locator("main h1").count() >= 1, where


def start_url(live):
    return live.app.test_client().get("/manifest.webmanifest").get_json()["start_url"]


def reopen_offline(persistent, live, path):
    """The browser starts again with no network and opens `path` (the installed icon's start_url).
    Chromium's offline emulation does not always reach a service worker that a fresh browser
    starts, so the server is down too: nothing can come from the network."""
    live.stop()
    ctx = persistent(**CTX)
    ctx.set_offline(True)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto(live.url + path)
    return ctx, page


def back_online(ctx, live):
    live.start()
    ctx.set_offline(False)


def prepare(page):
    page.click("#prepare-offline")
    page.wait_for_selector("#prepare-status[data-done='1']", timeout=60000)
    return page.inner_text("#prepare-status")


def save_visit(page, note, double=False):
    before = int(page.get_attribute("#visit-form", "data-saved-count") or 0)
    page.check("input[name=mode][value=door]")
    page.fill("#visit-form textarea[name=note]", note)
    button = "#visit-form button[type=submit]"
    if double:
        page.dblclick(button)
    else:
        page.click(button)
    page.wait_for_selector(f"#visit-form[data-saved-count='{before + 1}']")
    return page.inner_text("#visit-form [data-saved]")


def test_a_day_in_the_field(persistent, live, world):
    worker = world.users["worker1"]
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    assert page.url.endswith("/today")
    today = page.locator("#today a").count()
    assert today >= 5
    status = prepare(page)
    assert "离线数据已准备好" in status and f"共{len(world.grid1)}户" in status

    ctx.set_offline(True)
    # every link of the header, the bottom bar and its 更多 page, then Back and reload: nothing is lost
    links = page.eval_on_selector_all("header a:not([hidden]), nav.tabs a",
                                      "els => els.filter(e => e.offsetParent !== null).map(e => e.getAttribute('href'))")
    assert {"/", "/today", "/alerts", "/requests", "/search", "/more"} <= set(links)
    walk = [("/settings" if href == "/today" else "/today", href) for href in links]
    walk += [("/more", href) for href in ("/grids", "/overdue", "/zero", "/inbox", "/settings")]
    for base, href in walk:
        page.goto(live.url + base)
        page.click(f"nav.tabs a[href='{href}'], header a[href='{href}'], ul.more a[href='{href}']")
        page.wait_for_load_state()
        assert_layout(page, href)
        if href in ("/overdue", "/zero", "/inbox"):  # never stored: said so
            assert page.locator("[data-offline-notice]").is_visible(), href
        if href == "/alerts":  # never stored: said so, with a way back
            assert page.locator("[data-offline-notice]").is_visible()
            page.click("[data-offline-notice] [data-back]")
            page.wait_for_url("**/today")
            assert page.locator("#today a").count() > 0
            page.go_forward()
            assert page.locator("[data-offline-notice]").is_visible()
        page.reload()
        assert_layout(page, href + " reloaded")
        page.go_back()
        assert page.url.endswith(base), href
        assert_layout(page, href + " back")
        page.goto(live.url + "/today")
        page.reload()
        assert page.locator("#today a").count() > 0, href

    # five households, three visits (one by double-tapping save), one alert, then the outbox
    hrefs = page.eval_on_selector_all("#today a", "els => els.slice(0, 5).map(e => e.getAttribute('href'))")
    assert len(hrefs) == 5
    for n, href in enumerate(hrefs):
        page.goto(live.url + "/today")
        page.click(f"#today a[href='{href}']")
        page.wait_for_url("**" + href)
        assert_layout(page, href)
        assert page.locator("#visit-form").count() == 1
        if n < 3:
            assert "已保存在本机" in save_visit(page, f"离线走访{n}", double=(n == 1))
            assert page.locator("#visits li[data-pending]").count() == 1  # the history shows it, waiting
        elif n == 3:
            page.click("details.raise summary")
            page.fill("#raise-form textarea[name=note]", "老人摔倒")
            page.click("#raise-form button[type=submit]")
            page.wait_for_selector("#raise-form [data-saved]:not([hidden])")
    assert badge(page) == "4"
    page.click("#outbox-badge")
    page.wait_for_url("**/outbox")
    assert_layout(page, "/outbox")
    expect(page.locator("#outbox-waiting li")).to_have_count(4, timeout=30000)
    uuids = {r["uuid"] for r in page.evaluate("Outbox.all()")}
    assert len(uuids) == 4
    ctx.close()

    # the browser is closed; reopened offline at the manifest's start_url
    path = start_url(live)
    ctx, page = reopen_offline(persistent, live, path)
    assert page.locator("#today a").count() == today
    wait_badge(page, 4)
    page.click("#outbox-badge")
    expect(page.locator("#outbox-waiting li")).to_have_count(4, timeout=30000)
    assert count(Visit, worker.id) == 0 and count(Alert, worker.id) == 0

    back_online(ctx, live)
    wait_badge(page, 0, timeout=60000)
    wait_for(lambda: count(Visit, worker.id) == 3 and count(Alert, worker.id) == 1, message="4 records")
    stored = set(db.session.scalars(select(Visit.uuid))) | set(db.session.scalars(select(Alert.uuid)))
    assert stored == uuids
    notes = sorted(v.note for v in db.session.scalars(select(Visit)))
    assert notes == ["离线走访0", "离线走访1", "离线走访2"]


def test_online_save_says_submitted_and_the_history_shows_it(persistent, live, world):
    household = world.grid1[0]
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{household.id}")
    controlled(page)
    first_uuid = page.input_value("#visit-form input[name=uuid]")
    assert first_uuid and first_uuid != page.input_value("#raise-form input[name=uuid]")
    assert "已提交" in save_visit(page, "在线走访", double=True)
    expect(page.locator("#visits a[href^='/visits/']")).to_have_count(1, timeout=30000)
    assert page.get_attribute("#visits a", "href") == f"/visits/{first_uuid}"
    assert db.session.scalar(select(func.count(Visit.id))) == 1
    assert page.input_value("#visit-form input[name=uuid]") != first_uuid  # the next intent


def test_resident_opens_the_installed_icon_offline(persistent, live, world):
    resident = world.users["resident1"]
    worker = world.users["worker1"]
    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    assert page.url.endswith("/me")
    wait_until(page, "localStorage.getItem('linli-essentials') !== null", timeout=15000)
    ctx.close()

    path = start_url(live)
    ctx, page = reopen_offline(persistent, live, path)
    assert page.locator("#sos").is_visible()
    assert page.get_attribute("#call-120", "href") == "tel:120" and page.locator("#call-120").is_visible()
    assert page.get_attribute("#call-worker", "href") == f"tel:{worker.phone}"
    assert page.locator("#call-worker").is_visible()
    assert page.get_attribute("#sms-worker", "href").startswith(f"sms:{worker.phone}")
    assert "您的住址" in page.inner_text("main")
    # 通知 was never stored: a notice in the layout, and the SOS page is still there afterwards
    page.click("nav.tabs a[href='/inbox']")
    page.wait_for_load_state()
    page.wait_for_selector("[data-offline-notice]")
    assert_layout(page, "/inbox")
    page.click("[data-offline-notice] [data-back]")
    page.wait_for_selector("#sos")
    page.reload()
    page.click("#sos")
    page.click("#sos-yes")  # a tap, then the confirmation
    page.wait_for_selector("#sos-form [data-saved]:not([hidden])")
    assert "没有网络" in page.inner_text("#sos-form [data-saved]")
    assert db.session.scalar(select(func.count(Alert.id))) == 0
    back_online(ctx, live)
    expect(page.locator("#sos-form [data-saved]")).to_contain_text("求助已发出", timeout=30000)
    wait_for(lambda: db.session.scalar(select(func.count(Alert.id))) == 1, message="the alert")
    page.reload()  # later syncs add nothing
    page.wait_for_selector("#sos")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Alert.id))) == 1
    assert db.session.scalar(select(Alert.author_id)) == resident.id


def test_a_record_the_server_cannot_process_does_not_hold_back_the_others(persistent, live, world, monkeypatch,
                                                                         tmp_path):
    """Before per-record errors on the server: a batch holding the marker answers 500."""
    real = records.ingest

    def breaks_on_marker(user, batch):
        if any("POISON" in json.dumps(r, ensure_ascii=False) for r in batch):
            raise RuntimeError("the server cannot process this record")
        return real(user, batch)
    monkeypatch.setattr(records, "ingest", breaks_on_marker)

    worker = world.users["worker1"]
    ctx = persistent(accept_downloads=True, **CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    controlled(page)
    ctx.set_offline(True)
    for note in ("好记录1", "POISON", "好记录2", "好记录3"):
        save_visit(page, note)
    assert badge(page) == "4"
    # as on a busy phone where storing the signed-in layout had not finished: the outbox page opened
    # offline is the app shell's own copy, which does not say whose it is (this once stalled retries)
    page.evaluate("caches.open('linli-pages').then(c => Promise.all([c.delete('/shell'), c.delete('/outbox')]))")
    page.goto(live.url + "/outbox")
    assert page.get_attribute("body", "data-user") in (None, "")
    ctx.set_offline(False)
    wait_for(lambda: count(Visit, worker.id) == 3, message="the 3 good visits")
    row = page.locator("#outbox-waiting li[data-troubled]")
    # failed alone again and again, retried by itself (1 s, 2 s, 4 s…): offered for download and deletion
    row.wait_for(timeout=60000)
    assert "服务器处理这条记录时出错" in row.inner_text()
    assert page.locator("#outbox-waiting li").count() == 1
    with page.expect_download() as info:
        row.locator("[data-save-one]").click()
    path = tmp_path / "one.json"
    info.value.save_as(path)
    saved = json.loads(path.read_text(encoding="utf-8"))["records"]
    assert [r["payload"]["note"] for r in saved] == ["POISON"]
    page.once("dialog", lambda d: d.dismiss())  # the confirmation: no → kept
    row.locator("[data-drop]").click()
    assert page.locator("#outbox-waiting li").count() == 1
    page.once("dialog", lambda d: d.accept())
    row.locator("[data-drop]").click()
    expect(page.locator("#outbox-waiting li")).to_have_count(0, timeout=30000)
    assert page.evaluate("Outbox.all().then(l => l.length)") == 0
    assert sorted(v.note for v in db.session.scalars(select(Visit))) == ["好记录1", "好记录2", "好记录3"]


def test_a_sync_request_that_never_answers_does_not_stall_the_outbox(persistent, live, world, monkeypatch):
    """A dead connection: the first sync request never gets its answer. The outbox gives it up,
    tries again and the visit is stored; when the lost request lands after all, nothing doubles."""
    release, finished, calls = threading.Event(), threading.Event(), []
    real = records.ingest

    def first_one_hangs(user, batch):
        calls.append(len(batch))
        if len(calls) > 1:
            return real(user, batch)
        try:
            release.wait(90)
            return real(user, batch)
        finally:
            finished.set()
    monkeypatch.setattr(records, "ingest", first_one_hangs)

    worker = world.users["worker1"]
    ctx = persistent(**CTX)
    ctx.add_init_script("self.LINLI_FETCH_TIMEOUT_MS = 3000")  # the page gives up after 3 s, not 60
    page = start(ctx, live, "worker1")
    # the service worker's own sync (Background Sync) may be the first to send: it gives up after
    # 3 s too (else it holds the outbox for its 60 s, and the page waits for it)
    for worker_script in ctx.service_workers:
        worker_script.evaluate("self.LINLI_FETCH_TIMEOUT_MS = 3000")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    save_visit(page, "第一次请求没有回音")
    try:
        wait_for(lambda: count(Visit, worker.id) == 1, timeout=30, message="the visit, sent again")
        wait_badge(page, 0)
        assert not finished.is_set(), "the lost request was still hanging while the visit was stored"
    finally:
        release.set()
    assert finished.wait(30)
    db.session.expire_all()
    assert count(Visit, worker.id) == 1
    assert [v.note for v in db.session.scalars(select(Visit))] == ["第一次请求没有回音"]


def luminance(rgb):
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def rgb(css):
    parts = css[css.index("(") + 1:css.index(")")].split(",")
    return tuple(int(float(p)) for p in parts[:3])


@pytest.mark.parametrize("width", [360, 320])
def test_header_fits_and_the_badge_is_readable(browser, live, world, width):
    from webapp.services import alerts
    alerts.raise_alert("worker", world.grid1[0], raised_by=world.users["leader1"])  # an unread notice
    ctx = browser.new_context(viewport={"width": width, "height": 740}, **CTX)
    page = ctx.new_page()
    from .conftest import sign_in
    sign_in(page, live.url, "worker1")
    page.evaluate("(u) => Outbox.add('visit', u, {household_id: 1}, 10)", world.users["worker1"].id)
    page.reload()
    page.wait_for_selector("#outbox-badge:not([hidden])")
    assert page.locator("#inbox-badge").is_visible()
    fg = rgb(page.eval_on_selector("#outbox-count", "e => getComputedStyle(e).color"))
    # the background as seen: the first ancestor (or itself) that paints one
    bg = rgb(page.eval_on_selector("#outbox-count", """e => {
        for (; e; e = e.parentElement) {
            const c = getComputedStyle(e).backgroundColor;
            if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0)')) return c;
        }
        return 'rgb(255, 255, 255)';
    }"""))
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    assert (hi + 0.05) / (lo + 0.05) >= 4.5, (fg, bg)
    # one line: each item of the header is one line high, and nothing overflows the screen
    for sel in (".brand", "#outbox-badge", "#inbox-badge"):
        lines = page.eval_on_selector(sel, "e => e.getClientRects().length")
        height = page.eval_on_selector(sel, "e => e.getBoundingClientRect().height")
        line = page.eval_on_selector(sel, "e => parseFloat(getComputedStyle(e).lineHeight) || 30")
        assert lines == 1 and height < 2 * line + 14, (sel, width, height)
        right = page.eval_on_selector(sel, "e => e.getBoundingClientRect().right")
        assert right <= width, (sel, right)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ctx.close()
