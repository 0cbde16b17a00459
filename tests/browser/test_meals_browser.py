"""A volunteer's delivery round in Chromium at 360 px: prepared, recorded offline, the
browser closed and reopened offline from the installed icon, then synced exactly once;
the no-answer stop escalates to the household's grid worker after the configured delay."""
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, Delivery, DeliveryStep, MealRoute, Notice, User
from webapp.services import meals, scheduler

from .conftest import sign_in, wait_until
from .test_field_day import back_online, reopen_offline, start_url
from .test_offline_visits import wait_for

CTX = {"timezone_id": "Asia/Shanghai", "locale": "zh-CN"}


def tap(page, recipient_id, outcome):
    stop = page.locator(f"[data-stop='{recipient_id}']")
    stop.locator(f"button[name=outcome][value={outcome}]").click()
    expect(stop).to_have_attribute("data-done", "1", timeout=30000)


def test_a_delivery_round_offline_reaches_the_server_once(persistent, live, world):
    route = db.session.scalar(select(MealRoute))
    stops = meals.sheets([route.id], meals.local_today())[route.id]
    assert len(stops) >= 10
    ids = [s.recipient.id for s in stops[:10]]
    silent_household = stops[9].household.id
    ctx = persistent(**CTX)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    sign_in(page, live.url, "volunteer1")
    assert page.url.endswith("/meals")
    page.reload()
    wait_until(page, "navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15000)
    page.click("#prepare-offline")
    page.wait_for_selector("#prepare-status[data-done='1']", timeout=30000)

    ctx.set_offline(True)
    page.reload()
    section = page.locator(f"[data-route='{route.id}']")
    assert section.locator("[data-progress]").inner_text().startswith("0 /")
    for rid in ids[:7]:
        tap(page, rid, "delivered")
    tap(page, ids[7], "left_seen")
    tap(page, ids[8], "refused")
    tap(page, ids[9], "no_answer")
    checklist = page.locator(f"[data-stop='{ids[9]}'] [data-checklist]")
    assert checklist.is_visible()
    for name in ("knock_again", "call_elder"):
        form = checklist.locator(f"form:has(input[name=step][value={name}])")
        form.locator("button[value=no_answer]").click()
        expect(page.locator(f"[data-stop='{ids[9]}'] [data-step='{name}']")).to_have_text(re.compile(r"\S"),
                                                                                           timeout=30000)
    assert section.locator("[data-progress]").inner_text() == f"10 / {len(stops)}"
    assert len(page.evaluate("Outbox.all()")) == 12
    assert db.session.scalar(select(func.count(Delivery.id))) == 0  # nothing left the phone

    ctx.close()  # the volunteer puts the phone away; later, still offline, taps the icon
    ctx, page = reopen_offline(persistent, live, start_url(live))
    page.wait_for_selector(f"[data-route='{route.id}']")
    page.wait_for_selector(f"[data-route='{route.id}'] [data-progress]:has-text('10 / {len(stops)}')")
    assert db.session.scalar(select(func.count(Delivery.id))) == 0
    back_online(ctx, live)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_for(lambda: db.session.scalar(select(func.count(Delivery.id))) == 10
             and db.session.scalar(select(func.count(DeliveryStep.id))) == 2, message="10 deliveries and 2 steps")
    wait_until(page, "Outbox.all().then(l => l.length === 0)", timeout=30000)
    page.reload()
    assert page.locator(f"[data-route='{route.id}'] [data-progress]").inner_text() == f"10 / {len(stops)}"
    outcomes = dict(db.session.execute(select(Delivery.recipient_id, Delivery.outcome)).all())
    assert [outcomes[i] for i in ids] == ["delivered"] * 7 + ["left_seen", "refused", "no_answer"]
    no_answer = db.session.scalar(select(Delivery).where(Delivery.outcome == "no_answer"))
    assert sorted(s.step for s in no_answer.steps) == ["call_elder", "knock_again"]
    occurred = no_answer.occurred_at

    # with the controllable clock: still unresolved after the configured delay → worker1 is told
    clock.freeze(occurred + timedelta(minutes=29))
    scheduler.tick()
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.source == "meal")) == 0
    clock.freeze(occurred + timedelta(minutes=30))
    scheduler.tick()
    alert = db.session.scalar(select(Alert).where(Alert.source == "meal"))
    worker1 = db.session.scalar(select(User).where(User.username == "worker1"))
    assert alert is not None and alert.household_id == silent_household
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == worker1.id,
                                                                 Notice.alert_id == alert.id)) == 1
