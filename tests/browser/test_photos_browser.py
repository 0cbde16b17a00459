"""Photos on a phone, in Chromium at 360×740 under the app's real Content-Security-Policy:
every photo field — the resident's 我要反映, the worker's 登记诉求 and the
现场照片 of the case page's handle form — takes a PNG and a JPEG, from 从相册选择 and from 拍照,
shrinks it on the phone to a JPEG of at most 200 KB, and the case page shows it (decoded) to the
resident and to the grid worker; a file that is not an image is refused in Chinese with the rest
of the form kept; and a photo picked offline goes through the outbox and arrives once."""
import io
import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Request
from webapp.services import requests as svc

from .conftest import sign_in, wait_until
from .test_offline_visits import CTX, wait_for

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, **CTX}
CAMERA = "input[type=file][capture]"
ALBUM = "input[type=file]:not([capture])"
LIMIT = 200 * 1024


def noisy(width, height):
    from PIL import Image
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def make_png(path, width=1200, height=900):
    """A landscape PNG of about 3 MB (noise does not compress)."""
    noisy(width, height).save(path, "PNG", compress_level=1)
    return path


def make_camera_jpeg(path, width=2000, height=1500):
    """A camera's JPEG: stored landscape with EXIF Orientation 6 (turn 90° clockwise), so it is a
    portrait photo, as a phone held upright takes it; about 2 MB."""
    from PIL import Image
    exif = Image.Exif()
    exif[0x0112] = 6
    noisy(width, height).save(path, "JPEG", quality=92, exif=exif)
    return path


def not_an_image(path):
    path.write_text("这不是照片，只是一个改了扩展名的文本文件。\n" * 20, encoding="utf-8")
    return path


def phone(browser_or_ctx, violations):
    """A page that records every Content-Security-Policy violation Chromium reports."""
    page = browser_or_ctx.new_page()
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return page


def decoded(locator):
    return wait_until(locator.page, "img => img.complete && img.naturalWidth > 0", locator.element_handle())


def pick(page, form, which, path):
    """Pick a file through the real <input type=file> and wait until the phone has shrunk it."""
    page.set_input_files(f"{form} {which}", str(path))
    note = page.locator(f"{form} [data-photo-note]")
    expect(note).to_contain_text("照片已就绪", timeout=30000)
    shrunk = int(page.get_attribute(form, "data-photo-bytes"))
    assert 0 < shrunk <= LIMIT
    data = page.eval_on_selector(f"{form} input[name=photo]", "el => el.value")
    assert data.startswith("data:image/jpeg;base64,")
    preview = page.locator(f"{form} [data-photo-preview]")
    assert preview.is_visible() and decoded(preview)
    return data, shrunk


def stored(name):
    """The photo as the server keeps it: a JPEG of at most 200 KB, and its size in pixels."""
    from PIL import Image
    data = open(svc.photo_path(name), "rb").read()
    assert data[:3] == b"\xff\xd8\xff" and len(data) <= LIMIT
    return data, Image.open(io.BytesIO(data)).size


def fits(page, form):
    """拍照 and 从相册选择: targets of at least 48 px, inside a 320 px screen, each label on one line."""
    boxes = page.eval_on_selector_all(f"{form} .photo-pick label", """labels => labels.map(l => {
        const r = l.getBoundingClientRect(), range = document.createRange();
        range.selectNodeContents(l.firstChild);
        return {w: r.width, h: r.height, left: r.left, right: r.right, lines: range.getClientRects().length,
                text: l.textContent.trim()};
    })""")
    assert len(boxes) == 2, boxes
    for b in boxes:
        assert b["h"] >= 48 and b["w"] >= 48 and b["left"] >= 0 and b["right"] <= 320 and b["lines"] == 1, b
    return [b["text"] for b in boxes]


def test_every_photo_field_takes_a_png_and_a_jpeg_under_the_policy(browser, live, world, tmp_path):
    resident, worker = world.users["resident1"], world.users["worker1"]
    svc.ensure_categories(world.community)
    db.session.commit()
    png, jpeg, text = (make_png(tmp_path / "lane.png"), make_camera_jpeg(tmp_path / "camera.jpg"),
                       not_an_image(tmp_path / "notes.png"))
    assert png.stat().st_size > LIMIT and jpeg.stat().st_size > LIMIT
    violations = []

    # resident1: 我要反映 — a text file named .png is refused, the form is kept; then a PNG from the album
    rctx = browser.new_context(**PHONE)
    r = phone(rctx, violations)
    sign_in(r, live.url, "resident1")
    r.goto(live.url + "/requests/new")
    r.check("#request-form input[name=category_id] >> nth=0")
    r.fill("#request-form textarea[name=text]", "楼道里堆满了纸箱，挡住了路")
    r.fill("#request-form input[name=location]", "5栋2单元楼道")
    r.set_input_files(f"#request-form {ALBUM}", str(text))
    note = r.locator("#request-form [data-photo-note]")
    expect(note).to_have_text("所选文件不是照片，请重新选择。", timeout=30000)
    assert "error" in note.get_attribute("class")
    assert r.eval_on_selector(f"#request-form {ALBUM}", "el => el.files.length") == 0
    assert r.eval_on_selector("#request-form input[name=photo]", "el => el.value") == ""
    assert r.input_value("#request-form textarea[name=text]") == "楼道里堆满了纸箱，挡住了路"
    assert r.input_value("#request-form input[name=location]") == "5栋2单元楼道"
    assert r.is_checked("#request-form input[name=category_id] >> nth=0")

    _, shrunk = pick(r, "#request-form", ALBUM, png)
    r.click("#request-form button[type=submit]")
    expect(r.locator("#request-form")).to_have_attribute("data-saved-count", "1", timeout=30000)
    wait_for(lambda: db.session.scalar(select(func.count(Request.id))) == 1, message="the request")
    req = db.session.scalar(select(Request))
    assert req.reporter_id == resident.id and req.text == "楼道里堆满了纸箱，挡住了路"
    data, (width, height) = stored(req.photo)
    assert len(data) == shrunk and width > height  # the phone's shrunk copy of the landscape PNG
    r.goto(f"{live.url}/requests/{req.id}")
    assert decoded(r.locator("#request-photo"))

    # a browser without createImageBitmap decodes through FileReader's data: URL, also allowed
    octx = browser.new_context(**PHONE)
    octx.add_init_script("delete window.createImageBitmap;")
    o = phone(octx, violations)
    sign_in(o, live.url, "resident1")
    o.goto(live.url + "/requests/new")
    assert o.evaluate("typeof window.createImageBitmap") == "undefined"
    pick(o, "#request-form", CAMERA, jpeg)
    assert o.locator("#request-form [data-photo-preview]").evaluate("i => i.naturalHeight > i.naturalWidth")
    o.set_input_files(f"#request-form {ALBUM}", str(text))
    expect(o.locator("#request-form [data-photo-note]")).to_have_text("所选文件不是照片，请重新选择。")
    assert o.eval_on_selector("#request-form input[name=photo]", "el => el.value") == ""
    octx.close()

    # worker1 (the grid's worker) sees it too
    wctx = browser.new_context(**PHONE)
    w = phone(wctx, violations)
    sign_in(w, live.url, "worker1")
    w.goto(f"{live.url}/requests/{req.id}")
    assert decoded(w.locator("#request-photo"))
    assert w.locator("#request-photo").evaluate("img => img.naturalWidth") == width

    # the 现场照片 of the handle form, from the camera: the phone turns it upright as it shrinks it
    svc.dispatch(worker, req, req.version, worker.id)
    db.session.commit()
    w.reload()
    w.fill("#handle-form textarea[name=note]", "纸箱已清走")
    _, shrunk = pick(w, "#handle-form", CAMERA, jpeg)
    w.click("#handle-form button[type=submit]")
    expect(w.locator("#request-state")).to_have_text("待核查")
    handled = w.locator("#timeline img.photo")
    assert handled.count() == 1 and decoded(handled)
    db.session.expire_all()
    event = next(e for e in db.session.get(Request, req.id).events if e.photo)
    data, (width, height) = stored(event.photo)
    assert len(data) == shrunk and height > width
    r.reload()  # the resident sees the handling photo
    assert "纸箱已清走" in r.inner_text("#timeline")
    assert decoded(r.locator("#timeline img.photo"))

    # worker1's 登记诉求: a PNG from the album, then a photo from the camera replaces it
    w.goto(live.url + "/requests/new")
    w.check("#request-form input[name=category_id] >> nth=1")
    w.fill("#request-form textarea[name=text]", "路灯不亮")
    first, _ = pick(w, "#request-form", ALBUM, png)
    second, shrunk = pick(w, "#request-form", CAMERA, jpeg)
    assert second != first
    assert w.eval_on_selector(f"#request-form {ALBUM}", "el => el.files.length") == 0
    w.click("#request-form button[type=submit]")
    expect(w.locator("#request-form")).to_have_attribute("data-saved-count", "1", timeout=30000)
    wait_for(lambda: db.session.scalar(select(func.count(Request.id))) == 2, message="the worker's request")
    mine = db.session.scalar(select(Request).where(Request.author_id == worker.id))
    data, (width, height) = stored(mine.photo)
    assert len(data) == shrunk and height > width  # the camera's photo, not the album's
    w.goto(f"{live.url}/requests/{mine.id}")
    assert decoded(w.locator("#request-photo"))

    # both buttons fit a 320 px screen, in Chinese and in English
    w.set_viewport_size({"width": 320, "height": 640})
    w.goto(live.url + "/requests/new")
    assert fits(w, "#request-form") == ["拍照", "从相册选择"]
    w.goto(live.url + "/requests/new?lang=en")
    assert fits(w, "#request-form") == ["Take a photo", "Choose from album"]

    assert violations == []
    rctx.close()
    wctx.close()


def test_a_photo_picked_offline_arrives_once_with_the_request(persistent, live, world, tmp_path):
    resident = world.users["resident1"]
    svc.ensure_categories(world.community)
    db.session.commit()
    jpeg = make_camera_jpeg(tmp_path / "camera.jpg")
    violations = []
    ctx = persistent(**PHONE)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, live.url, "resident1")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=30000)
    wait_until(page, "localStorage.getItem('linli-essentials') !== null", timeout=30000)

    ctx.set_offline(True)
    page.goto(live.url + "/requests/new")
    page.check("#request-form input[name=category_id] >> nth=0")
    page.fill("#request-form textarea[name=text]", "小区门口的井盖松了")
    _, shrunk = pick(page, "#request-form", CAMERA, jpeg)
    page.click("#request-form button[type=submit]")
    expect(page.locator("#request-form")).to_have_attribute("data-saved-count", "1", timeout=30000)
    assert "已保存在本机" in page.inner_text("#request-form [data-saved]")
    assert page.evaluate("Outbox.all().then(l => l.length)") == 1
    assert db.session.scalar(select(func.count(Request.id))) == 0

    ctx.set_offline(False)
    wait_for(lambda: db.session.scalar(select(func.count(Request.id))) == 1, message="the request")
    wait_until(page, "Outbox.all().then(l => l.length === 0)", timeout=30000)
    page.goto(f"{live.url}/requests")
    page.reload()  # later syncs add nothing
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Request.id))) == 1
    req = db.session.scalar(select(Request))
    assert req.reporter_id == resident.id and req.text == "小区门口的井盖松了"
    data, (width, height) = stored(req.photo)
    assert len(data) == shrunk and height > width
    page.goto(f"{live.url}/requests/{req.id}")
    assert decoded(page.locator("#request-photo"))
    assert violations == []
