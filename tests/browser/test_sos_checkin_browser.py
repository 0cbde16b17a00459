"""In Chromium at 360 px: SOS asks before it sends (a tap, then 确认求助 or 取消), three presses
make one alert with three presses, the resident sees 已通知 … then … 已响应 once worker1
acknowledges; 我很好 pressed offline reaches the server exactly once."""
import time

import pytest
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Alert, AlertEvent, Checkin, SosPress

from .conftest import sign_in, wait_until
from .test_offline_visits import CTX, start, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def nothing_raised(world):
    db.session.execute(delete(Alert))
    db.session.commit()


def count(model, *where):
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)).where(*where))


def confirm_sos(page, n):
    """One press: tap 求助, then 确认求助; wait until the page says it was sent and the server has n presses."""
    page.click("#sos")
    page.wait_for_selector("#sos-yes", state="visible")
    page.click("#sos-yes")
    wait_for(lambda: count(SosPress) == n, timeout=30, message=f"press {n}")
    page.wait_for_selector("#sos:not([hidden])")


def test_sos_confirm_cancel_three_presses_and_responded(persistent, browser, live, world):
    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    # a tap only asks: large buttons, a clear 取消, nothing sent
    page.click("#sos")
    page.wait_for_selector("#sos-confirm:not([hidden])")
    assert not page.locator("#sos").is_visible()
    for sel in ("#sos-yes", "#sos-cancel"):
        box = page.locator(sel).bounding_box()
        assert box["height"] >= 60 and box["width"] >= 300, (sel, box)
    page.click("#sos-cancel")
    page.wait_for_selector("#sos-confirm", state="hidden")
    assert page.locator("#sos").is_visible()
    # three confirmed presses: one alert, three presses on it (the cancel sent nothing)
    for n in (1, 2, 3):
        confirm_sos(page, n)
    assert count(Alert) == 1
    alert_id = db.session.scalar(select(Alert.id))
    assert count(SosPress, SosPress.alert_id == alert_id) == 3
    assert count(AlertEvent, AlertEvent.kind == "pressed") == 2
    worker = world.users["worker1"]
    page.wait_for_selector("#sos-told", timeout=15000)
    assert f"已通知 {worker.name}" in page.inner_text("#sos-told")
    assert "共按下 3 次" in page.inner_text("#sos-status")

    other = browser.new_context(viewport={"width": 360, "height": 740}, **CTX)
    wp = other.new_page()
    sign_in(wp, live.url, "worker1")
    wp.goto(f"{live.url}/alerts/{alert_id}")
    timeline = wp.inner_text("#timeline")
    assert timeline.count("再次按下求助") == 2 and "第3次" in timeline
    wp.click("text=我来处理（响应）")
    assert "已响应" in wp.inner_text("#alert-state")
    other.close()
    # the resident's page polls: the answer shows without reloading
    page.wait_for_selector("#sos-responded", timeout=15000)
    assert f"{worker.name} 已响应，正在联系您" in page.inner_text("#sos-responded")
    # the bar's 求助 on another page leads back here, asking at once
    page.goto(live.url + "/settings")
    assert page.locator("#logout-yes").is_hidden()  # logout asks first
    page.click("#sos-bar")
    page.wait_for_selector("#sos-confirm:not([hidden])")
    box = page.locator("#sos-bar").bounding_box()
    assert box["height"] >= 48


def test_checkin_pressed_offline_reaches_the_server_once(persistent, live, world):
    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    button = page.locator("#checkin-ok")
    box = button.bounding_box()
    assert box["height"] >= 60
    assert page.eval_on_selector("#checkin-ok", "e => parseFloat(getComputedStyle(e).fontSize)") >= 18
    wait_until(page, "localStorage.getItem('linli-essentials') !== null", timeout=15000)
    ctx.set_offline(True)
    pressed_at = time.time()
    page.click("#checkin-ok")
    page.wait_for_selector("#checkin-form [data-saved]:not([hidden])")
    assert count(Checkin) == 0
    ctx.set_offline(False)
    wait_for(lambda: count(Checkin) == 1, timeout=60, message="the check-in")
    wait_until(page, "Outbox.all().then(list => list.length === 0)", timeout=15000)
    page.reload()
    page.wait_for_selector("#checkin-ok")
    assert count(Checkin) == 1
    row = db.session.scalar(select(Checkin))
    assert row.author_id == world.users["resident1"].id and row.mode == "self"
    # the time it was pressed, not when it arrived
    from calendar import timegm
    assert abs(timegm(row.recorded_at.timetuple()) - pressed_at) < 5
    assert "今天已打卡" in page.inner_text("#checkin-state")
