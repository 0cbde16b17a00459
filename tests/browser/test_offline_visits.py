"""Offline visits in Chromium: saved on the phone at once, kept across restarts,
stored on the server exactly once when the network returns."""
import json
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Building, Visit

from .conftest import sign_in, wait_until

CTX = {"timezone_id": "Asia/Shanghai", "locale": "zh-CN"}


@pytest.fixture(autouse=True)
def no_visits(world):
    """Start from no visits (the demo seeds a history), so counts are this test's own."""
    db.session.execute(delete(Visit))
    db.session.commit()


def wait_for(predicate, timeout=60, step=0.25, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {message}")


def visits_by(user_id):
    return db.session.scalar(select(func.count(Visit.id)).where(Visit.author_id == user_id))


def controlled(page):
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)


def start(ctx, live, username):
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    sign_in(page, live.url, username)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    controlled(page)
    return page


def log_visit(page, note, expect="已保存在本机"):
    page.check("input[name=mode][value=door]")
    page.check("input[name=mental][value=concern]")
    page.fill("input[name=mental_note]", note)
    page.check("input[name=needs][value=meals]")
    before = int(page.get_attribute("#visit-form", "data-saved-count") or 0)
    page.click("#visit-form button[type=submit]")
    page.wait_for_selector(f"#visit-form[data-saved-count='{before + 1}']")
    assert expect in page.inner_text("#visit-form [data-saved]")


def outbox_records(page):
    return page.evaluate("Outbox.all()")


def test_prepare_offline_log_three_visits_restart_and_sync(persistent, live, world):
    worker_id = world.users["worker1"].id
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    assert page.url.endswith("/today")
    page.click("#prepare-offline")
    page.wait_for_selector("#prepare-status[data-done='1']", timeout=30000)
    assert "离线数据已准备好" in page.inner_text("#prepare-status")

    ctx.set_offline(True)
    page.reload()
    assert page.locator("#stamp").is_visible() and "页面更新于" in page.inner_text("#stamp")
    first = page.locator("#today a").first
    href = first.get_attribute("href")
    first.click()
    page.wait_for_url("**" + href)
    assert page.locator("#visit-form").count() == 1
    for n in range(3):
        log_visit(page, f"离线记录{n}")
    assert page.inner_text("#outbox-count") == "3"
    assert visits_by(worker_id) == 0
    records = outbox_records(page)
    assert len({r["uuid"] for r in records}) == 3 and all(r["user"] == worker_id for r in records)
    ctx.close()

    ctx = persistent(**CTX)  # the same profile, back online
    page = ctx.new_page()
    page.goto(live.url + "/today")
    wait_for(lambda: visits_by(worker_id) == 3, message="3 visits on the server")
    expect(page.locator("#outbox-count")).to_have_text("0", timeout=30000)
    stored = set(db.session.scalars(select(Visit.uuid)))
    assert stored == {r["uuid"] for r in records}
    notes = sorted(v.checks["mental"]["note"] for v in db.session.scalars(select(Visit)))
    assert notes == ["离线记录0", "离线记录1", "离线记录2"]
    # The phone's outbox is empty, so nothing is left to resend: the count is final.
    wait_until(page, "Outbox.all().then(list => list.length === 0)", timeout=30000)
    db.session.expire_all()
    assert visits_by(worker_id) == 3


def test_records_sync_by_themselves_after_the_server_comes_back(persistent, live, world):
    worker_id = world.users["worker1"].id
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    ctx.set_offline(True)
    log_visit(page, "服务器停机时")
    live.stop()
    # the network is back while the server is down: whatever the phone tries fails, and the record stays
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    assert page.inner_text("#outbox-count") == "1"
    live.start()
    wait_for(lambda: visits_by(worker_id) == 1, timeout=60, message="the visit after the restart")
    expect(page.locator("#outbox-count")).to_have_text("0", timeout=30000)
    assert visits_by(worker_id) == 1


def test_shared_phone_never_sends_one_users_records_as_anothers(persistent, live, world):
    w1, w2 = world.users["worker1"].id, world.users["worker2"].id
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    wait_until(page, "u => localStorage.getItem('linli-user') === u", str(w1), timeout=15000)
    ctx.set_offline(True)
    log_visit(page, "一号的记录")
    mine = outbox_records(page)[0]["uuid"]
    page1 = f"/households/{world.grid1[0].id}"
    stored = "(path) => caches.open('linli-pages').then(c => c.keys()).then(k => k.some(r => r.url.endsWith(path)))"
    assert page.evaluate(stored, page1)  # worker1's page is on the phone
    ctx.clear_cookies()  # worker1's session ends on this phone (expired, or logged out elsewhere)
    ctx.set_offline(False)
    sign_in(page, live.url, "worker2")
    # the server confirms another user: worker1's pages go, worker2's home is stored instead
    wait_until(page, "u => localStorage.getItem('linli-user') === u", str(w2), timeout=15000)
    assert not page.evaluate(stored, page1)
    page.goto(live.url + f"/households/{world.grid2[0].id}")
    controlled(page)
    log_visit(page, "二号的记录", expect="已提交")
    wait_for(lambda: visits_by(w2) == 1, message="worker2's visit")
    # worker2's sync has finished (their record left the outbox); worker1's was never in it.
    expect(page.locator("#outbox-count")).to_have_text("0", timeout=30000)
    wait_until(page, "Outbox.all().then(list => list.length === 1)", timeout=30000)
    db.session.expire_all()
    assert visits_by(w1) == 0
    assert db.session.scalar(select(Visit).where(Visit.uuid == mine)) is None
    left = outbox_records(page)
    assert [r["uuid"] for r in left] == [mine] and left[0]["user"] == w1
    assert page.inner_text("#outbox-count") == "0"  # worker2 sees none of worker1's records
    ctx.clear_cookies()
    sign_in(page, live.url, "worker1")
    wait_for(lambda: visits_by(w1) == 1, message="worker1's visit after signing in again")


def test_refused_records_are_kept_listed_and_downloadable(persistent, live, world, tmp_path):
    worker_id = world.users["worker1"].id
    household = world.grid1[0]
    ctx = persistent(accept_downloads=True, **CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{household.id}")
    ctx.set_offline(True)
    log_visit(page, "搬走之前")
    building = db.session.get(Building, household.building_id)
    home = building.grid_id
    building.grid_id = world.grids[1].children[0].id  # the household moves to another worker
    db.session.commit()
    ctx.set_offline(False)
    page.goto(live.url + "/outbox")
    page.wait_for_selector("#outbox-stuck li", timeout=30000)
    assert "不在您负责的网格" in page.inner_text("#outbox-stuck")
    assert page.inner_text("#outbox-count") == "1"  # still counted: kept until the worker decides
    with page.expect_download() as info:
        page.click("#outbox-download")
    path = tmp_path / "stuck.json"
    info.value.save_as(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["records"][0]["state"] == "stuck" and data["records"][0]["payload"]["household_id"] == household.id
    building.grid_id = home
    db.session.commit()
    page.click("#outbox-stuck [data-retry]")
    wait_for(lambda: visits_by(worker_id) == 1, message="the resent visit")
    expect(page.locator("#outbox-count")).to_have_text("0", timeout=30000)


def test_records_waiting_more_than_three_days_are_warned_about(persistent, live, world):
    ctx = persistent(**CTX)
    ctx.add_init_script("""if (navigator.storage && navigator.storage.persist) {
        const real = navigator.storage.persist.bind(navigator.storage);
        window.__persistAsked = 0;
        navigator.storage.persist = () => { window.__persistAsked += 1; return real(); };
    }""")
    page = start(ctx, live, "worker1")
    assert not page.locator("#old-warning").is_visible()
    ctx.set_offline(True)
    page.evaluate("""(user) => Outbox.add('visit', user, {household_id: 1}, 10).then(rec => {
        rec.recorded_at = new Date(Date.now() - 4 * 86400e3).toISOString();
        return Outbox.update(rec);
    })""", world.users["worker1"].id)
    page.reload()
    warning = page.locator("#old-warning")
    warning.wait_for(state="visible")
    assert "超过3天未同步" in warning.inner_text()
    # Saving a record asks the browser to keep the phone's storage (not evicted under pressure).
    ctx.set_offline(False)
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    assert page.evaluate("window.__persistAsked") == 0
    log_visit(page, "在线", expect="已提交")  # online now: submitted, not only saved here
    wait_until(page, "window.__persistAsked > 0", timeout=10000)


def left_to_the_service_worker(persistent, live, world, note):
    """worker1 logs a visit offline and leaves Linli (about:blank): only the service worker can
    send it now. → (context, page)"""
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    controlled(page)
    ctx.set_offline(True)
    log_visit(page, note)
    page.goto("about:blank")
    return ctx, page


def test_background_sync_sends_with_no_page_open(persistent, live, world):
    """Back online, the browser's `sync` event lets the service worker send the outbox by itself."""
    worker_id = world.users["worker1"].id
    ctx, _page = left_to_the_service_worker(persistent, live, world, "后台同步")
    assert visits_by(worker_id) == 0
    ctx.set_offline(False)
    wait_for(lambda: visits_by(worker_id) == 1, timeout=60, message="the visit sent by the service worker")


def test_a_sync_that_finds_no_network_keeps_trying_until_it_returns(persistent, live, world):
    """The phone says it is online but nothing gets through (a flapping signal in a stairwell): the
    browser's `sync` finds no network, and the service worker keeps trying within that event. The
    records go within seconds of the network's return, with no page open, not at the browser's own
    retry five minutes later."""
    worker_id = world.users["worker1"].id
    ctx, page = left_to_the_service_worker(persistent, live, world, "信号时有时无")
    tried = []

    def no_network(route):
        tried.append(route.request.url)
        route.abort("internetdisconnected")

    ctx.route("**/api/**", no_network)
    ctx.set_offline(False)  # the browser fires `sync`; its first try finds nothing
    deadline = time.monotonic() + 30
    while not tried and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert tried, "the service worker never tried to send"
    assert visits_by(worker_id) == 0
    ctx.unroute("**/api/**")
    wait_for(lambda: visits_by(worker_id) == 1, timeout=60, message="the visit, sent by the same sync event")


def test_a_sync_that_finds_a_page_sending_waits_for_it(persistent, live, world):
    """The browser fires `sync` while a page holds the outbox (it sends one at a time), and the
    worker closes that page before it is done: the service worker's sync still sends the record.
    (CI caught this: the sync said "busy", ended as done, and the visit waited for the next page.)"""
    worker_id = world.users["worker1"].id
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    controlled(page)
    worker = ctx.service_workers[0]
    worker.evaluate("""() => {  // what each of the service worker's sends comes to
        const send = self.Outbox.sync;
        self.__tries = [];
        self.Outbox.sync = () => send().then(r => (self.__tries.push(r.busy ? 'busy' : 'done'), r),
                                              e => { self.__tries.push('failed'); throw e; });
    }""")
    page.evaluate("navigator.locks.request('linli-sync', () => new Promise(r => { window.__release = r; })) && 1")
    ctx.set_offline(True)
    log_visit(page, "页面正在发送")
    ctx.set_offline(False)  # the browser fires `sync` while the page holds the outbox
    deadline = time.monotonic() + 30
    while "busy" not in worker.evaluate("self.__tries") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert "busy" in worker.evaluate("self.__tries"), "the service worker's sync never met the busy outbox"
    assert visits_by(worker_id) == 0
    page.goto("about:blank")  # the page goes, and its hold on the outbox with it
    wait_for(lambda: visits_by(worker_id) == 1, timeout=60, message="the visit, sent by the same sync event")


def test_a_batch_the_server_answers_400_stays_on_the_phone(persistent, live, world):
    """A 400 for the whole batch (a proxy, a broken deploy) never costs a record: it stays and goes
    once the server takes it."""
    worker_id = world.users["worker1"].id
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + f"/households/{world.grid1[0].id}")
    refused = []

    def answer_400(route):
        refused.append(route.request.url)
        route.fulfill(status=400, content_type="application/json",
                      body='{"error": "malformed", "message": "bad request"}')

    ctx.route("**/api/sync", answer_400)
    ctx.set_offline(True)
    log_visit(page, "四百")
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.monotonic() + 30
    while not refused and time.monotonic() < deadline:  # the phone tried and was refused
        page.wait_for_timeout(200)
    assert refused, "the phone never tried to send"
    assert len(page.evaluate("Outbox.all()")) == 1 and visits_by(worker_id) == 0
    ctx.unroute("**/api/sync")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: visits_by(worker_id) == 1, timeout=60, message="the visit once the server takes it")


def test_pages_composed_offline_carry_the_security_headers(persistent, live, world):
    """A household page the service worker puts together offline keeps the server's CSP and
    friends (it is built from the stored layout, which carries them)."""
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    page.goto(live.url + "/today")
    page.click("#prepare-offline")
    page.wait_for_selector("#prepare-status[data-done='1']", timeout=60000)
    online = page.goto(live.url + "/search").headers
    ctx.set_offline(True)
    household = world.grid1[0]
    response = page.goto(live.url + f"/households/{household.id}")
    assert household.label in page.inner_text("main")  # composed from the stored fragment
    headers = response.headers
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"):
        assert headers.get(name) and headers.get(name) == online.get(name), name
