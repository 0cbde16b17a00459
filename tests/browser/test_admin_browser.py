"""The admin's desk on a 360 px phone: a resident is added by picking the household from a search."""
import re

from playwright.sync_api import expect

from .conftest import sign_in


def test_admin_adds_a_resident_by_picking_the_household(browser, live, world):
    target = world.grid2[1]
    head = target.current_residencies[0].resident
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "admin")
    page.goto(live.url + "/admin/")
    page.click("text=添加居民")
    assert page.locator("h1").inner_text() == "添加居民"
    assert "编号" not in page.content()
    page.evaluate("window.__samePage = true")
    page.fill("input[name=hq]", head.name)
    before = page.locator("#household-select option").count()
    # the list narrows to the households matching the name, as the admin types
    options = page.locator("#household-select option")
    expect(options.filter(has_not_text=head.name)).to_have_count(0, timeout=5000)
    assert page.evaluate("window.__samePage === true")  # swapped in by htmx, no reload
    assert 1 <= options.count() < before
    assert page.locator(f"#household-select option[value='{target.id}']").count() == 1
    page.select_option("#household-select", str(target.id))
    page.fill("input[name=name]", "吴爷爷")
    page.select_option("select[name=sex]", "M")
    page.fill("input[name=birth_date]", "2099-05-01")
    page.click("#resident-form button[type=submit]")
    page.wait_for_selector("#form-error")
    assert "出生日期不能晚于今天" in page.locator("#form-error").inner_text()
    # the admin's input is still there, household included
    assert page.input_value("input[name=name]") == "吴爷爷"
    assert page.input_value("#household-select") == str(target.id)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.locator("#resident-form button[type=submit]").bounding_box()
    assert box["height"] >= 48
    page.fill("input[name=birth_date]", "1938-05-01")
    page.click("#resident-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/households/{target.id}$"))
    assert "已保存居民吴爷爷" in page.locator(".flash").inner_text()
    assert "吴爷爷" in page.content()
    context.close()
