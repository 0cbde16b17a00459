"""Issue 19: one bottom bar per role, at most five tabs on one line; what does not fit is on 更多.

The tabs each role is meant to have are written out here, from what the role does (shared/domain.md):
the field roles keep their day's work first, and the 更多 page holds the rest."""
import re

import pytest

TABS = {
    "worker1": [("/today", "今日"), ("/alerts", "求助"), ("/requests", "诉求"), ("/search", "搜索"), ("/more", "更多")],
    "leader1": [("/today", "今日"), ("/alerts", "求助"), ("/requests", "诉求"), ("/dashboard", "统计"),
                ("/more", "更多")],
    "admin": [("/admin/", "管理"), ("/alerts", "求助"), ("/requests", "诉求"), ("/dashboard", "统计"),
              ("/more", "更多")],
    "resident1": [("/me", "首页"), ("/inbox", "通知"), ("/settings", "设置")],  # their requests: from /me
    "volunteer1": [("/meals", "送餐"), ("/inbox", "通知"), ("/settings", "设置")],
}
MORE = {
    "worker1": [("/grids", "网格"), ("/overdue", "逾期未访"), ("/zero", "零上报"), ("/inbox", "通知"),
                ("/settings", "设置")],
    "leader1": [("/search", "搜索"), ("/grids", "网格"), ("/overdue", "逾期未访"), ("/zero", "零上报"),
                ("/admin/absences", "请假"), ("/inbox", "通知"), ("/settings", "设置")],
    "admin": [("/search", "搜索"), ("/grids", "网格"), ("/meals/routes", "送餐路线"), ("/overdue", "逾期未访"),
              ("/admin/absences", "请假"), ("/inbox", "通知"), ("/settings", "设置")],
    # their bar holds every page: 更多, reached only by its URL, lists the same, never nothing
    "resident1": TABS["resident1"],
    "volunteer1": TABS["volunteer1"],
}


def tabs_of(html):
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)


def current_tab(html):
    nav = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)


def more_links(html):
    block = re.search(r'<ul class="list rows more">(.*?)</ul>', html, re.S).group(1)
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)


@pytest.mark.parametrize("username", sorted(TABS))
def test_each_role_has_one_bar_of_at_most_five_tabs(as_user, world, username):
    client = as_user(username)
    html = client.get("/settings").get_data(as_text=True)
    assert tabs_of(html) == TABS[username]
    assert html.count('<nav class="tabs"') == 1
    more = client.get("/more")
    assert more.status_code == 200
    assert more_links(more.get_data(as_text=True)) == MORE[username]


def test_every_more_link_opens_for_its_role(as_user, world):
    for username, links in MORE.items():
        client = as_user(username)
        for href, label in links:
            assert client.get(href).status_code == 200, (username, href, label)


def test_the_current_tab_is_marked(as_user, world):
    worker = as_user("worker1")
    assert current_tab(worker.get("/today").get_data(as_text=True)) == ["/today"]
    assert current_tab(worker.get("/alerts").get_data(as_text=True)) == ["/alerts"]
    # a page of the 更多 list: 更多 is where it lives
    assert current_tab(worker.get("/grids").get_data(as_text=True)) == ["/more"]
    assert current_tab(worker.get("/more").get_data(as_text=True)) == ["/more"]
    # a page under a tab's own URL
    household = world.grid1[0].id
    assert current_tab(worker.get(f"/households/{household}").get_data(as_text=True)) == []
    admin = as_user("admin")
    assert current_tab(admin.get("/admin/users").get_data(as_text=True)) == ["/admin/"]
    assert current_tab(admin.get("/meals/routes").get_data(as_text=True)) == ["/more"]


def test_the_bar_speaks_english(as_user, world):
    from webapp.extensions import db
    world.users["worker1"].locale = "en"
    db.session.commit()
    worker = as_user("worker1")
    html = worker.get("/today").get_data(as_text=True)
    assert [label for _, label in tabs_of(html)] == ["Today", "Alerts", "Cases", "Search", "More"]
    assert [label for _, label in more_links(worker.get("/more").get_data(as_text=True))] == [
        "Grids", "Overdue visits", "Zero report", "Notices", "Settings"]


def test_the_more_page_is_stored_for_offline_use_where_there_is_one(as_user, world):
    assert "/more" in as_user("worker1").get("/offline/manifest.json").get_json()["pages"]
    assert "/more" not in as_user("volunteer1").get("/offline/manifest.json").get_json()["pages"]
    assert "/more" not in as_user("resident1").get("/offline/manifest.json").get_json()["pages"]


def test_the_unread_count_reads_in_english(as_user, world):
    from webapp.extensions import db
    from webapp.models import Notice
    from webapp.services import push
    worker = world.users["worker1"]
    worker.locale = "en"
    db.session.query(Notice).filter_by(user_id=worker.id).delete()
    db.session.commit()
    client = as_user("worker1")
    assert 'id="inbox-badge"' not in client.get("/today").get_data(as_text=True)
    push.add_notices([worker.id], "测试", "", "/")
    db.session.commit()
    assert '<a class="badge" id="inbox-badge" href="/inbox">1 new notice</a>' in client.get("/today").get_data(as_text=True)
    push.add_notices([worker.id], "测试", "", "/")
    db.session.commit()
    assert '<a class="badge" id="inbox-badge" href="/inbox">2 new notices</a>' in client.get("/today").get_data(as_text=True)


def test_the_residents_sos_button_says_help_in_english(as_user, world):
    """求助 is 'Alerts' on the staff's tab, and 'Help' on the resident's button and bar."""
    from webapp.extensions import db
    world.users["resident1"].locale = "en"
    db.session.commit()
    html = as_user("resident1").get("/me").get_data(as_text=True)
    assert '<a class="sos-bar" id="sos-bar" href="/me#sos">Help</a>' in html
    assert re.search(r'<button type="submit" class="sos" id="sos" data-sos-ask>Help</button>', html)
