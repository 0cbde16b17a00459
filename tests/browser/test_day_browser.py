"""At 360 px: today's list as a walk with progress that counts a visit waiting on the phone;
search like a person; A4 print views checked in Chromium's PDF."""
import io
import re
import unicodedata
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import Building, CareCategory, Community, Visit
from webapp.services import registry

from .conftest import sign_in
from .test_offline_visits import CTX, log_visit, start

A4 = (595.28, 841.89)  # points


@pytest.fixture(autouse=True)
def no_visits(world):
    db.session.execute(delete(Visit))
    db.session.commit()


def _first_building():
    return db.session.scalar(select(Building).where(Building.name == "1栋"))


def _add(building, unit, room, name, codes=("alone",)):
    community = db.session.get(Community, building.grid.community_id)
    cats = db.session.scalars(select(CareCategory.id).where(CareCategory.community_id == community.id,
                                                            CareCategory.code.in_(codes))).all()
    h = registry.save_household(building, unit, room, None, [])
    registry.save_resident(community, h, "户主", name, "F", date(1944, 5, 5), None, None, cats)
    db.session.commit()
    return h


def _progress(page):
    text = " ".join(page.inner_text("#progress").split())
    m = re.search(r"今日已走访 (\d+) / (\d+) · 本周 (\d+) / (\d+)", text)
    assert m, text
    return tuple(int(x) for x in m.groups()), text


def test_today_walk_in_natural_order_and_an_offline_visit_counts_as_waiting(persistent, live, world):
    b = _first_building()
    high = _add(b, "1", "1001", "钱十")
    _add(b, "1", "201", "孙二")
    ctx = persistent(**CTX)
    page = start(ctx, live, "worker1")
    assert page.url.endswith("/today")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    buildings = page.eval_on_selector_all("#today section.building h3", "els => els.map(e => e.firstChild.textContent.trim())")
    assert buildings == ["1栋", "2栋"]
    first = page.locator("#today section.building").first
    rooms = first.locator("[data-room]").all_inner_texts()
    assert [r for r in rooms if r in ("101", "201", "1001")] == ["101", "201", "1001"]
    assert "1单元" in first.inner_text() and "10层" in first.inner_text()
    (done, total, week_done, week_total), _text = _progress(page)
    assert done == 0 and total >= 3 and week_total >= total
    assert page.locator("#progress [data-waiting]").is_hidden()

    page.click("#prepare-offline")
    page.wait_for_selector("#prepare-status[data-done='1']", timeout=30000)
    ctx.set_offline(True)
    page.goto(live.url + f"/households/{high.id}")
    log_visit(page, "离线走访")
    page.goto(live.url + "/today")  # from the phone's store: the network is off
    page.wait_for_selector("#progress[data-waiting='1']", timeout=10000)
    (done, total2, week_done2, _wt), text = _progress(page)
    assert (done, total2, week_done2) == (1, total, week_done + 1)
    assert re.search(r"其中 1 户已存本机，待同步", text), text
    row = page.locator(f"#today li[data-household='{high.id}']")
    assert "waiting" in row.get_attribute("class") and "待同步" in row.inner_text()
    other = page.locator("#today li[data-household]:not(.waiting)").first
    assert "待同步" not in other.inner_text()
    assert db.session.scalar(select(Visit.id)) is None  # the server has nothing yet


def test_building_filter_swaps_the_list(browser, live, world):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    page.goto(live.url + "/today")
    second = db.session.scalar(select(Building).where(Building.name == "2栋"))
    page.evaluate("window.__samePage = true")
    page.select_option("#building-filter select", str(second.id))
    expect(page.locator("#today section.building")).to_have_count(1, timeout=30000)
    assert page.inner_text("#today section.building h3").startswith("2栋")
    assert page.evaluate("window.__samePage === true") and f"building={second.id}" in page.url
    context.close()


def test_search_by_dashed_label_street_address_and_initials(browser, live, world):
    b = _first_building()
    target = next(h for h in world.grid1 if h.building_id == b.id and h.unit == "1" and h.room == "101")
    zhang = _add(b, "2", "1502", "张三", codes=())
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    page.goto(live.url + "/search")
    for term, household in (("1-1-101", target), (b.address, target), ("zs", zhang)):
        page.fill("input[name=q]", term)
        page.wait_for_selector(f"#results a[href='/households/{household.id}']", timeout=5000)
        if term == "1-1-101":
            assert page.locator("#results a").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def _pdf_of(page, url):
    from pypdf import PdfReader
    response = page.goto(url)
    assert response.status == 200
    page.emulate_media(media="print")
    reader = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=False)))
    for p in reader.pages:
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2, (w, h)
    # the CJK font maps some characters to radicals (⼾ for 户, ⺠ for 民): fold them back
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))
    return reader, text.replace("戶", "户").replace("⺠", "民")


def test_print_views_are_a4_with_the_expected_text(browser, live, world):
    b = _first_building()
    h = _add(b, "1", "1701", "欧阳秀英")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    reader, text = _pdf_of(page, live.url + f"/households/{h.id}/print")
    assert "住户信息表" in text and "欧阳秀英" in text and "独居老人" in text and "1701" in text
    assert "返回" not in text  # the screen-only line stays off the paper
    grid = world.grids[0]
    reader, text = _pdf_of(page, live.url + f"/grids/{grid.id}/print")
    assert len(reader.pages) >= 1 and "住户名单" in text and "欧阳秀英" in text and "独居老人" in text
    compact = re.sub(r"\s", "", text)
    assert compact.index("1栋1单元101") < compact.index("1栋1单元1701")
    reader, text = _pdf_of(page, live.url + "/today/print")
    assert "今日走访" in text and "今日已走访" in text and "1701" in text and "欧阳秀英" in text
    assert page.goto(live.url + f"/households/{world.grid2[0].id}/print").status == 404
    assert page.goto(live.url + f"/grids/{world.grids[1].id}/print").status == 404
    context.close()
