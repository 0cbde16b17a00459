"""A resident's request in Chromium at 360×740 (issue 12): written offline from the installed
app with a large photo, shrunk on the phone, synced exactly once; then the whole loop in the
browser — worker1 accepts and dispatches to themselves and handles it, leader1 verifies,
resident1 rates 2 (back to handling), worker1 handles again, leader1 verifies, resident1 rates
5 and the case closes — with the resident's timeline showing every step and each step's
notice reaching the right person."""
import os
import struct
import zlib

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Notice, Request
from webapp.services import requests as svc

from .conftest import sign_in, wait_until
from .test_field_day import back_online, reopen_offline
from .test_offline_visits import CTX, start, wait_for

pytestmark = pytest.mark.browser


def big_png(path, width=1400, height=1000):
    """A noisy PNG of about 4 MB: far over the 200 KB a photo may weigh."""
    raw = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def titles(user):
    db.session.expire_all()
    return db.session.scalars(select(Notice.title).where(Notice.user_id == user.id, Notice.subject_type == "request")
                              .order_by(Notice.id)).all()


def step(page, form, button="button[type=submit]", fill=None):
    for selector, value in (fill or {}).items():
        page.fill(f"{form} {selector}", value)
    page.click(f"{form} {button}")
    page.wait_for_load_state()
    assert page.locator("#step-error").count() == 0, page.inner_text("#step-error")


def test_a_request_offline_with_a_photo_then_the_whole_loop(persistent, browser, live, world, tmp_path):
    resident, worker, leader = (world.users[n] for n in ("resident1", "worker1", "leader1"))
    svc.ensure_categories(world.community)
    db.session.commit()
    photo = big_png(tmp_path / "lane.png")
    assert photo.stat().st_size > 2_000_000

    ctx = persistent(**CTX)
    page = start(ctx, live, "resident1")
    assert page.locator("#new-request").is_visible()
    wait_until(page, "localStorage.getItem('linli-essentials') !== null", timeout=15000)
    ctx.close()

    # the browser opens again with no network: the request form is there, from the phone
    ctx, page = reopen_offline(persistent, live, "/requests/new")
    page.wait_for_selector("#request-form")
    page.check("#request-form input[name=category_id] >> nth=0")
    page.fill("#request-form textarea[name=text]", "巷子里有两辆僵尸车，占了消防通道")
    page.fill("#request-form input[name=location]", "3栋后面的巷子")
    page.set_input_files("#request-form input[type=file]", str(photo))
    page.wait_for_selector("#request-form[data-photo-bytes]", timeout=30000)
    shrunk = int(page.get_attribute("#request-form", "data-photo-bytes"))
    assert 0 < shrunk <= 200 * 1024
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#request-form[data-saved-count='1']")
    assert "已保存在本机" in page.inner_text("#request-form [data-saved]")
    assert db.session.scalar(select(func.count(Request.id))) == 0

    back_online(ctx, live)
    wait_for(lambda: db.session.scalar(select(func.count(Request.id))) == 1, message="the request")
    wait_for(lambda: page.evaluate("Outbox.all().then(l => l.length)") == 0, message="an empty outbox")
    page.goto(live.url + "/requests")
    page.reload()  # later syncs add nothing
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Request.id))) == 1
    req = db.session.scalar(select(Request))
    assert req.reporter_id == resident.id and req.state == "new" and req.location == "3栋后面的巷子"
    stored = open(svc.photo_path(req.photo), "rb").read()
    assert stored[:3] == b"\xff\xd8\xff" and len(stored) == shrunk  # the phone's JPEG, as shrunk
    assert "新诉求待受理" in titles(worker)

    # worker1: accept, dispatch to themselves, handle with a note
    wctx = browser.new_context(viewport={"width": 360, "height": 740}, **CTX)
    w = wctx.new_page()
    sign_in(w, live.url, "worker1")
    w.goto(f"{live.url}/requests/{req.id}")
    assert w.locator("#request-photo").evaluate("img => img.complete && img.naturalWidth > 0")
    step(w, "#accept-form")
    assert w.select_option("#dispatch-form select[name=assignee_id]", str(worker.id))
    step(w, "#dispatch-form")
    step(w, "#handle-form", fill={"textarea[name=note]": "已联系交警，拖走了一辆"})
    assert w.inner_text("#request-state") == "待核查"

    lctx = browser.new_context(viewport={"width": 360, "height": 740}, **CTX)
    lead = lctx.new_page()
    sign_in(lead, live.url, "leader1")
    lead.goto(f"{live.url}/requests/{req.id}")
    step(lead, "#verify-form", "button[value='1']")

    # resident1 rates 2: back to handling
    page.goto(f"{live.url}/requests/{req.id}")
    page.check("#rate-form input[name=rating][value='2']")
    step(page, "#rate-form", fill={"textarea[name=comment]": "还有一辆没拖走"})
    assert page.inner_text("#request-state") == "处理中"

    w.goto(f"{live.url}/requests/{req.id}")
    step(w, "#handle-form", fill={"textarea[name=note]": "第二辆也拖走了"})
    lead.goto(f"{live.url}/requests/{req.id}")
    step(lead, "#verify-form", "button[value='1']")
    page.goto(f"{live.url}/requests/{req.id}")
    page.check("#rate-form input[name=rating][value='5']")
    step(page, "#rate-form")
    assert page.inner_text("#request-state") == "已结案"
    assert page.locator("#rate-form").count() == 0

    steps = page.eval_on_selector_all("#timeline li", "els => els.map(e => e.dataset.step)")
    assert steps == ["submitted", "accepted", "dispatched", "handled", "told", "verified", "rated", "reopened",
                     "handled", "told", "verified", "rated", "closed"]
    timeline = page.inner_text("#timeline")
    for words in ("提交诉求", "受理", "派遣", "处置", "反馈", "核查通过", "评价 2★", "回退重办", "评价 5★", "结案",
                  "已联系交警，拖走了一辆", "第二辆也拖走了", worker.name, leader.name):
        assert words in timeline, words
    assert titles(resident) == ["您的诉求已受理", "您的诉求已派人处理", "您的诉求已处理", "请评价诉求的办理",
                                "您的诉求已处理", "请评价诉求的办理"]
    assert titles(worker) == ["新诉求待受理", "居民不满意，诉求退回重办", "居民已评价"]
    assert titles(leader) == ["诉求待核查", "居民不满意，诉求退回重办", "诉求待核查"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Request.id))) == 1
    wctx.close()
    lctx.close()


def test_a_worker_records_a_request_from_a_household_page_offline(persistent, live, world):
    from .test_field_day import prepare
    worker = world.users["worker1"]
    svc.ensure_categories(world.community)
    db.session.commit()
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    assert "离线数据已准备好" in prepare(page)
    ctx.set_offline(True)
    href = page.eval_on_selector("#today a", "a => a.getAttribute('href')")
    household_id = int(href.rstrip("/").split("/")[-1])
    page.goto(live.url + href)
    page.click("#household-request")
    page.wait_for_selector("#request-form [data-household-label]:not([hidden])")
    assert page.locator("#request-form select[name=grid_id]").is_hidden()
    page.check("#request-form input[name=category_id] >> nth=1")
    page.check("#request-form input[name=channel][value=worker]")
    page.fill("#request-form textarea[name=text]", "老人反映楼上漏水")
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#request-form[data-saved-count='1']")
    assert "已保存在本机" in page.inner_text("#request-form [data-saved]")
    page.go_back()
    page.wait_for_url("**" + href)
    ctx.set_offline(False)
    wait_for(lambda: db.session.scalar(select(func.count(Request.id))) == 1, message="the request")
    req = db.session.scalar(select(Request))
    assert (req.household_id, req.author_id, req.state, req.channel) == (household_id, worker.id, "accepted", "worker")
    page.reload()
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Request.id))) == 1


def test_a_worker_handles_a_case_with_a_photo_straight_from_the_camera(browser, live, world, tmp_path):
    """The handling photo is shrunk on the phone like the resident's (a 4 MB camera photo is not refused),
    and the note typed on site reaches the resident with it."""
    import uuid
    from webapp.services import records
    worker = world.users["worker1"]
    svc.ensure_categories(world.community)
    db.session.commit()
    cat = svc.categories(world.community.id)[1]
    assert records.ingest_one(world.users["resident1"], "request", str(uuid.uuid4()),
                              {"category_id": cat.id, "text": "楼道灯坏了"})["status"] == "stored"
    req = db.session.scalar(select(Request))
    svc.dispatch(worker, req, req.version, worker.id)
    db.session.commit()
    photo = big_png(tmp_path / "lamp.png")
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, **CTX)
    w = ctx.new_page()
    sign_in(w, live.url, "worker1")
    w.goto(f"{live.url}/requests/{req.id}")
    w.fill("#handle-form textarea[name=note]", "已更换灯泡")
    w.set_input_files("#handle-form input[type=file]", str(photo))
    w.wait_for_selector("#handle-form[data-photo-bytes]", timeout=30000)
    assert 0 < int(w.get_attribute("#handle-form", "data-photo-bytes")) <= 200 * 1024
    step(w, "#handle-form")
    assert w.inner_text("#request-state") == "待核查"
    assert "已更换灯泡" in w.inner_text("#timeline")
    img = w.locator("#timeline img.photo")
    assert img.count() == 1 and img.evaluate("img => img.complete && img.naturalWidth > 0")
    ctx.close()
