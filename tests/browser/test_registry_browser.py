import re

from .conftest import sign_in


def test_worker_logs_in_and_opens_a_household(browser, live, world):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    page.goto(live.url + "/grids")
    assert page.locator("h1").inner_text() == "我的网格"
    page.click("text=第1网格")
    page.click("text=全部住户")
    links = page.locator("#households a")
    assert links.count() == len(world.grid1)
    first = world.grid1[0]
    page.click(f"a[href='/households/{first.id}']")
    assert re.search(rf"/households/{first.id}$", page.url)
    assert page.locator("h2", has_text="居民").count() == 1
    assert page.locator("h1").inner_text() == first.building.name + "1单元" + first.room
    # touch targets: every link in the list is at least 48 px tall
    page.go_back()
    box = page.locator("#households a").first.bounding_box()
    assert box["height"] >= 48
    # no horizontal scrolling on a 360 px screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    response = page.goto(live.url + f"/households/{world.grid2[0].id}")
    assert response.status == 404
    assert "没有找到" in page.content()
    context.close()


def test_search_as_you_type_with_htmx(browser, live, world):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    page.goto(live.url + "/search")
    target = world.grid1[1].current_residencies[0].resident
    page.evaluate("window.__samePage = true")
    page.fill("input[name=q]", target.name)
    page.wait_for_selector(f"#results a[href='/households/{world.grid1[1].id}']", timeout=5000)
    assert page.evaluate("window.__samePage === true")  # swapped in place by htmx, no reload
    assert "q=" in page.url  # and the URL can be shared or reloaded as a plain page
    assert page.locator("#results a").count() >= 1
    assert all(h.startswith("/households/") for h in page.eval_on_selector_all("#results a", "els => els.map(e => e.getAttribute('href'))"))
    context.close()
