"""The dashboard in Chromium at 360 px and 1280 px, as admin and as leader1: every panel with
rows has its SVG chart and the table behind it, the page does not scroll sideways, and
leader1 sees only their own grids (grid 1 and its micro-grids)."""
import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Grid, User
from webapp.services import scope

from .conftest import sign_in

CTX = {"timezone_id": "Asia/Shanghai", "locale": "zh-CN"}


@pytest.mark.parametrize("width", [360, 1280])
def test_dashboard_charts_have_tables_and_leader_sees_own_grids(browser, live, world, width):
    leader = db.session.scalar(select(User).where(User.username == "leader1"))
    own = {g.name for g in db.session.scalars(select(Grid).where(Grid.id.in_(scope.grid_ids(leader))))}
    everyone = {g.name for g in db.session.scalars(select(Grid).where(Grid.community_id == world.community.id))}
    others = everyone - own
    assert own and others
    for username in ("admin", "leader1"):
        ctx = browser.new_context(viewport={"width": width, "height": 800}, **CTX)
        page = ctx.new_page()
        sign_in(page, live.url, username)
        page.goto(live.url + "/dashboard")
        panels = page.locator("section[data-panel]")
        assert panels.count() == 10  # the panels of dashboard_panels.PANELS
        checked = 0
        for i in range(panels.count()):
            p = panels.nth(i)
            rows = p.locator("table.data tbody tr th[scope=row]").count()
            assert p.locator("table.data caption").count() == 1  # a table for each panel
            if rows and p.get_attribute("data-panel") != "silent":
                # the chart is drawn, one bar per table row, and hidden from screen readers (the table says it)
                svg = p.locator("svg.chart")
                assert svg.count() == 1 and svg.get_attribute("aria-hidden") == "true"
                assert svg.locator("rect.bar").count() == rows
                assert svg.bounding_box()["width"] <= width
                checked += 1
            assert p.locator("a[href$='.csv?month=']").count() + p.locator("a[download]").count() >= 1
        assert checked >= 4, username
        # no sideways scrolling of the page itself (wide tables scroll inside their own box)
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        grid_rows = page.locator("#panel-coverage_grid tbody th[scope=row]").all_inner_texts()
        shown = set(page.locator("#panel-coverage_grid tbody td:nth-child(2)").all_inner_texts())
        assert grid_rows
        if username == "leader1":
            assert shown <= own and not (shown & others), shown
            text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
            assert not any(name in text for name in others if name not in " ".join(own))
        else:
            assert shown & others, shown  # the admin's community: other grids too
        # the CSV behind a panel is served
        href = page.locator("#panel-coverage_grid a[download]").get_attribute("href")
        r = page.request.get(live.url + href)
        assert r.status == 200 and "网格编码" in r.text()
        ctx.close()
