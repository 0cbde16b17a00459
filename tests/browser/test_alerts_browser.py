"""In Chromium: a push delivered to the service worker shows a notification and
clicking it opens the alert; a resident's SOS offline offers tel:/sms: at once and
reaches the worker exactly once; the manifest is installable."""
import json
import time

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Alert
from webapp.services import alerts

from .conftest import sign_in, wait_until
from .test_offline_visits import CTX, start


def test_push_shows_a_notification_and_click_opens_the_alert(persistent, live, world):
    ctx = persistent(**CTX)
    ctx.grant_permissions(["notifications"], origin=live.url)
    page = start(ctx, live, "worker1")
    alert = alerts.raise_alert("sos", world.grid1[0])
    cdp = ctx.new_cdp_session(page)
    versions = []
    cdp.on("ServiceWorker.workerVersionUpdated", lambda e: versions.extend(e["versions"]))
    cdp.send("ServiceWorker.enable")  # reports the existing registration's versions
    deadline = time.monotonic() + 10
    while not any(v.get("status") == "activated" for v in versions) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    registration = next((v["registrationId"] for v in versions if v.get("status") == "activated"), None)
    assert registration, "no service worker registration"
    payload = {"title": "紧急求助", "body": world.grid1[0].label, "url": f"/alerts/{alert.id}",
               "tag": f"alert-{alert.id}"}
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": live.url, "registrationId": registration,
                                                  "data": json.dumps(payload, ensure_ascii=False)})
    shown, deadline = [], time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        shown = page.evaluate("navigator.serviceWorker.ready.then(r => r.getNotifications())"
                              ".then(list => list.map(n => ({title: n.title, body: n.body, data: n.data})))")
    assert shown == [{"title": "紧急求助", "body": world.grid1[0].label, "data": {"url": f"/alerts/{alert.id}"}}]
    # the user taps it: the service worker's notificationclick handler opens the alert
    worker = ctx.service_workers[0]
    worker.evaluate("""() => self.registration.getNotifications().then(list => {
        self.dispatchEvent(new NotificationEvent('notificationclick', {notification: list[0]}));
    })""")
    page.wait_for_url(f"**/alerts/{alert.id}", timeout=10000)
    assert "待响应" in page.inner_text("#alert-state")


def test_resident_sos_offline_then_worker_sees_it_once(persistent, browser, live, world):
    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    assert page.url.endswith("/me")
    assert "elder" in page.get_attribute("body", "class")
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 22  # large text for elderly residents
    ctx.set_offline(True)
    page.click("#sos")
    page.click("#sos-yes")  # a tap, then the confirmation
    page.wait_for_selector("#sos-fallback:not([hidden])", timeout=5000)
    # the panel shows as soon as the phone is offline; the press itself is in once the page says so
    # (the SMS text then carries the time of the press)
    page.wait_for_selector("#sos-form [data-saved]:has-text('没有网络')", timeout=5000)
    assert page.get_attribute("#call-120", "href") == "tel:120"
    worker = world.users["worker1"]
    assert page.get_attribute("#call-worker", "href") == f"tel:{worker.phone}"
    sms = page.get_attribute("#sms-worker", "href")
    assert sms.startswith(f"sms:{worker.phone}?body=")
    from urllib.parse import unquote
    body = unquote(sms.split("body=", 1)[1])
    resident = world.users["resident1"]
    assert resident.name in body and "紧急求助" in body and ":" in body  # name, address and time
    assert "没有网络" in page.inner_text("#sos-form [data-saved]")
    assert db.session.scalar(select(func.count(Alert.id))) == 0
    ctx.set_offline(False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db.session.expire_all()
        if db.session.scalar(select(func.count(Alert.id))) == 1:
            break
        time.sleep(0.25)
    page.wait_for_selector("#sos-form [data-saved]:has-text('求助已发出')", timeout=15000)
    wait_until(page, "Outbox.all().then(list => list.length === 0)", timeout=15000)  # nothing left to resend
    db.session.expire_all()
    found = db.session.scalars(select(Alert)).all()
    assert len(found) == 1 and found[0].source == "sos"

    other = browser.new_context(viewport={"width": 360, "height": 740}, **CTX)
    wp = other.new_page()
    sign_in(wp, live.url, "worker1")
    wp.goto(live.url + "/alerts")
    assert wp.locator("#alerts li").count() == 1
    wp.click("#alerts a")
    timeline = wp.inner_text("#timeline")
    assert "发起" in timeline and "居民一键求助" in timeline and "已通知" in timeline
    wp.click("text=我来处理（响应）")
    assert "已响应" in wp.inner_text("#alert-state")
    other.close()


def test_manifest_is_installable(persistent, live, world):
    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["name"] == "邻里" and manifest["lang"] == "zh-CN" and manifest["display"] == "standalone"
    assert {"maskable"} <= {i["purpose"] for i in manifest["icons"]}
    cdp = ctx.new_cdp_session(page)
    errors = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        if not errors:
            break
        time.sleep(0.5)
    assert errors == []
