"""The admin's desk as an admin notices it: forms come back as typed, saves are confirmed,
pickers instead of internal numbers, clear refusals, settings, the visits export, and
another community's ids refused everywhere."""
import csv
import io
import re
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import delete, func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import AuditEntry, Community, GridAssignment, Household, Resident, User, Visit
from webapp.services import accounts, alerts, demo, identity, registry

from .test_import import _row, _upload, _xlsx


@pytest.fixture
def other(world):
    """A second community with its own admin, grid, building, household, resident and worker."""
    c = registry.create_community("440105004999", "别的社区")
    g = registry.save_grid(c, "外网格")
    b = registry.save_building(g, "外1栋", "外环路1号")
    h = registry.save_household(b, "1", "101", None, [])
    r = registry.save_resident(c, h, "户主", "外居民", "F", date(1950, 1, 1), None, None, [])
    admin = accounts.create_user(c, "otheradmin", "外管理员", "admin", demo.PASSWORD, phone="13700000001")
    worker = accounts.create_user(c, "otherworker", "外网格员", "worker", demo.PASSWORD, grids=[g])
    db.session.commit()
    return type("Other", (), dict(community=c, grid=g, building=b, household=h, resident=r, admin=admin,
                                  worker=worker))


def follow(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def _input_value(html, name):
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    m = tag and re.search(r'value="([^"]*)"', tag.group(0))
    return m and m.group(1)


# ---- a refused form comes back as typed -------------------------------------

def test_refused_household_edit_keeps_what_the_admin_typed(as_user, world):
    admin = as_user("admin")
    h = world.grid1[0]
    stored_room, stored_phone = h.room, h.phone
    response = admin.post(f"/admin/households/{h.id}/edit", data={
        "csrf_token": admin.csrf, "building_id": h.building_id, "unit": "7", "room": "808",
        "phone": "12345", "contacts": "王五,女儿,13911112222", "note": "新备注"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "电话号码格式不正确" in html
    assert _input_value(html, "room") == "808" and _input_value(html, "phone") == "12345"
    assert _input_value(html, "unit") == "7"
    assert "王五,女儿,13911112222" in html and "新备注" in html
    db.session.expire_all()
    h = db.session.get(Household, h.id)
    assert (h.room, h.phone) == (stored_room, stored_phone)  # nothing half-saved


def test_refused_resident_keeps_input_and_checked_categories(as_user, world):
    admin = as_user("admin")
    h = world.grid1[0]
    cat = next(c for c in registry.categories(h.building.grid.community_id) if c.code == "alone")
    response = admin.post("/admin/residents/new", data={
        "csrf_token": admin.csrf, "household_id": h.id, "name": "钱阿姨", "sex": "F", "phone": "139",
        "birth_date": "1950-02-03", "category": [str(cat.id)], "relation": "配偶"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "电话号码格式不正确" in html
    assert _input_value(html, "name") == "钱阿姨" and _input_value(html, "birth_date") == "1950-02-03"
    assert _input_value(html, "relation") == "配偶"
    assert re.search(rf'value="{cat.id}" checked', html)
    assert re.search(rf'<option value="{h.id}" selected', html)
    assert 'value="F" selected' in html


def test_oversized_and_control_character_input_is_refused_not_a_500(as_user, world):
    admin = as_user("admin")
    h = world.grid1[0]
    for data, reason in (({"room": "1" * 21}, "房号最多20个字"), ({"room": "10\x001"}, "房号不能包含控制字符"),
                         ({"note": "x" * 501}, "备注最多500个字")):
        response = admin.post(f"/admin/households/{h.id}/edit", data={
            "csrf_token": admin.csrf, "building_id": h.building_id, "room": h.room, **data})
        assert response.status_code == 400 and reason in response.get_data(as_text=True), data
    for data, reason in (({"name": "张" * 51}, "姓名最多50个字"), ({"name": "张\x07三"}, "姓名不能包含控制字符"),
                         ({"relation": "儿" * 21}, "与户主关系最多20个字")):
        response = admin.post("/admin/residents/new", data={
            "csrf_token": admin.csrf, "household_id": h.id, "name": "张三", "sex": "M", **data})
        assert response.status_code == 400 and reason in response.get_data(as_text=True), data
    response = admin.post("/admin/buildings/new", data={"csrf_token": admin.csrf, "grid_id": world.grids[0].id,
                                                        "name": "楼", "address": "路" * 201})
    assert response.status_code == 400 and "地址最多200个字" in response.get_data(as_text=True)


# ---- confirmations ---------------------------------------------------------

def test_every_save_is_confirmed_on_the_next_page(as_user, world):
    admin = as_user("admin")
    page = follow(admin, admin.post("/admin/grids", data={"csrf_token": admin.csrf, "name": "第9网格"}))
    assert "已保存网格“第9网格”" in page
    assert "已保存网格" not in admin.get("/admin/grids").get_data(as_text=True)  # shown once
    grid = world.grids[0]
    page = follow(admin, admin.post(f"/admin/grids/{grid.id}/edit", data={"csrf_token": admin.csrf,
                                                                           "name": "第1网格（东）"}))
    assert "已保存网格“第1网格（东）”" in page
    page = follow(admin, admin.post("/admin/buildings/new", data={"csrf_token": admin.csrf, "grid_id": grid.id,
                                                                   "name": "88栋", "address": "翠城路88号"}))
    assert "已保存楼栋“88栋”" in page
    building = world.grid1[0].building
    page = follow(admin, admin.post("/admin/households/new", data={
        "csrf_token": admin.csrf, "building_id": building.id, "unit": "2", "room": "707"}))
    assert f"已保存住户 {building.name}2单元707" in page
    h = db.session.scalar(select(Household).where(Household.room == "707"))
    page = follow(admin, admin.post("/admin/residents/new", data={
        "csrf_token": admin.csrf, "household_id": h.id, "name": "孙奶奶", "sex": "F", "birth_date": "1941-04-04"}))
    assert "已保存居民孙奶奶" in page
    page = follow(admin, admin.post("/admin/users/new", data={
        "csrf_token": admin.csrf, "username": "worker77", "name": "周网格员", "role": "worker",
        "password": "long-enough-1", "grid": [str(grid.id)]}))
    assert "已保存账号“周网格员”" in page
    page = follow(admin, admin.post("/admin/settings", data={
        "csrf_token": admin.csrf, "part": "ladder", "escalate_leader_minutes": "4", "escalate_admin_minutes": "9",
        "high_risk_days": "7", "overdue_alert_margin_days": "3"}))
    assert "设置已保存" in page


def test_edits_are_audited_by_the_services(as_user, world):
    admin = as_user("admin")
    h = world.grid1[0]
    admin.post(f"/admin/households/{h.id}/edit", data={
        "csrf_token": admin.csrf, "building_id": h.building_id, "unit": h.unit, "room": h.room, "note": "改"})
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.target == f"household:{h.id}"))
    assert entry is not None and entry.user_id == world.users["admin"].id and entry.action == "edit"
    refused = admin.post(f"/admin/households/{h.id}/edit", data={
        "csrf_token": admin.csrf, "building_id": h.building_id, "room": "", "note": "x"})
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.target == f"household:{h.id}")) == 1


# ---- pickers instead of internal numbers ------------------------------------

def test_forms_pick_from_lists_and_search_not_numbers(as_user, world, other):
    admin = as_user("admin")
    for url in ("/admin/residents/new", "/admin/users/new", f"/admin/users/{world.users['worker1'].id}/edit",
                "/admin/households/new", "/admin/buildings/new"):
        html = admin.get(url).get_data(as_text=True)
        assert "编号" not in html and 'type="number"' not in html, url
    target = world.grid2[1]
    head = registry.head_of(target)
    # without JavaScript: the search is a plain GET form that fills the <select>
    html = admin.get("/admin/residents/new", query_string={"hq": head.name}).get_data(as_text=True)
    assert re.search(rf'<option value="{target.id}"[^>]*>{re.escape(target.label)} · {head.name}', html)
    # with htmx: the same search answers <option>s only
    options = admin.get("/admin/pick/households", query_string={"hq": head.name},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in options and f'value="{target.id}"' in options
    assert admin.get("/admin/pick/households", query_string={"q": "外居民"}).get_data(as_text=True).count(
        'value=""') == 1  # another community's resident: nothing found
    resident = target.current_residencies[0].resident
    options = admin.get("/admin/pick/residents", query_string={"q": resident.name}).get_data(as_text=True)
    assert f'value="{resident.id}"' in options
    assert f'value="{other.resident.id}"' not in admin.get(
        "/admin/pick/residents", query_string={"q": "外"}).get_data(as_text=True)
    assert admin.get("/admin/pick/nothing").status_code == 404
    # a resident account is tied to a resident picked from the list
    response = admin.post("/admin/users/new", data={
        "csrf_token": admin.csrf, "username": "resident77", "name": resident.name, "role": "resident",
        "password": "long-enough-1", "resident_id": str(resident.id)})
    assert response.status_code == 302
    assert db.session.scalar(select(User.resident_id).where(User.username == "resident77")) == resident.id
    refused = admin.post("/admin/users/new", data={
        "csrf_token": admin.csrf, "username": "resident78", "name": "无居民", "role": "resident",
        "password": "long-enough-1"})
    assert refused.status_code == 400 and "请选择对应的居民" in refused.get_data(as_text=True)


def test_another_communitys_ids_are_refused_in_every_field(as_user, world, other):
    admin = as_user("admin")
    c = admin.csrf
    h, b, g, r = other.household, other.building, other.grid, other.resident
    mine = world.grid1[0]
    assert admin.get(f"/admin/households/{h.id}/edit").status_code == 404
    assert admin.get(f"/admin/residents/{r.id}/edit").status_code == 404
    assert admin.get(f"/admin/buildings/{b.id}/edit").status_code == 404
    assert admin.get(f"/admin/grids/{g.id}/edit").status_code == 404
    assert admin.get(f"/admin/users/{other.admin.id}/edit").status_code == 404
    assert admin.get(f"/admin/residents/new?household={h.id}").status_code == 404
    assert admin.post("/admin/residents/new", data={"csrf_token": c, "household_id": h.id, "name": "甲",
                                                    "sex": "M"}).status_code == 404
    assert admin.post("/admin/households/new", data={"csrf_token": c, "building_id": b.id,
                                                     "room": "1"}).status_code == 404
    assert admin.post("/admin/buildings/new", data={"csrf_token": c, "grid_id": g.id,
                                                    "name": "乙"}).status_code == 404
    assert admin.post("/admin/grids", data={"csrf_token": c, "name": "丙", "parent_id": g.id}).status_code == 404
    assert admin.post("/admin/users/new", data={"csrf_token": c, "username": "r99", "name": "丁", "role": "resident",
                                                "password": "long-enough-1", "resident_id": r.id}).status_code == 404
    refused = admin.post("/admin/users/new", data={"csrf_token": c, "username": "w99", "name": "戊", "role": "worker",
                                                   "password": "long-enough-1", "grid": [str(g.id)]})
    assert refused.status_code == 400 and "本社区的网格" in refused.get_data(as_text=True)
    assert admin.get(f"/admin/visits/export.csv?grid={g.id}").status_code == 404
    # malformed ids are refused, not a 500
    for data in ({"household_id": "abc"}, {"household_id": "9" * 40}, {"household_id": ""}):
        response = admin.post("/admin/residents/new", data={"csrf_token": c, "name": "己", "sex": "M", **data})
        assert response.status_code in (400, 404), data
    assert admin.post("/admin/households/new", data={"csrf_token": c, "building_id": "x",
                                                     "room": "1"}).status_code == 400
    # and nothing of theirs changed or was added
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id)).where(User.username.in_(["r99", "w99"]))) == 0
    assert db.session.scalar(select(func.count(GridAssignment.id)).where(GridAssignment.grid_id == g.id)) == 1
    assert mine.id != h.id


def test_import_token_of_another_community_is_404(as_user, world, other):
    mine = as_user("admin")
    response = _upload(mine, _xlsx([_row("1栋", "950", "导入甲")]))
    token = response.headers["Location"].rsplit("/", 1)[-1]
    theirs = as_user("otheradmin")
    assert theirs.get(f"/admin/import/{token}").status_code == 404
    assert theirs.post(f"/admin/import/{token}/commit", data={"csrf_token": theirs.csrf}).status_code == 404
    assert theirs.get(f"/admin/import/{token}/progress").status_code == 404


# ---- users ------------------------------------------------------------------

def test_editing_a_user_to_a_phone_in_use_is_a_clear_error(as_user, world):
    admin = as_user("admin")
    worker, leader = world.users["worker1"], world.users["leader1"]
    leader.phone = "13812345678"
    db.session.commit()
    response = admin.post(f"/admin/users/{worker.id}/edit", data={
        "csrf_token": admin.csrf, "name": "改名的人", "role": "worker", "phone": "13812345678", "active": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "手机号已被其他账号使用" in html
    assert _input_value(html, "name") == "改名的人" and _input_value(html, "phone") == "13812345678"
    db.session.expire_all()
    assert db.session.get(User, worker.id).name != "改名的人"
    # keeping one's own phone is fine
    ok = admin.post(f"/admin/users/{leader.id}/edit", data={
        "csrf_token": admin.csrf, "name": leader.name, "role": "leader", "phone": "13812345678", "active": "1"})
    assert ok.status_code == 302
    dup = admin.post("/admin/users/new", data={"csrf_token": admin.csrf, "username": "worker1", "name": "重名",
                                               "role": "worker", "password": "long-enough-1"})
    assert dup.status_code == 400 and "用户名已存在" in dup.get_data(as_text=True)


def test_a_phone_taken_between_check_and_save_is_still_a_clear_error(as_user, world, monkeypatch):
    """Two admins saving the same phone at once: the loser's check passed, the database refuses."""
    from webapp.services import admin as admin_service
    monkeypatch.setattr(admin_service, "_phone_taken", lambda phone, user: False)
    admin = as_user("admin")
    worker, leader = world.users["worker1"], world.users["leader1"]
    leader.phone = "13812345679"
    db.session.commit()
    response = admin.post(f"/admin/users/{worker.id}/edit", data={
        "csrf_token": admin.csrf, "name": "并发改名", "role": "worker", "phone": "13812345679", "active": "1"})
    assert response.status_code == 400 and "已被其他账号使用" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, worker.id).name != "并发改名"


def test_phone_of_another_communitys_user_is_refused_too(as_user, world, other):
    admin = as_user("admin")
    worker = world.users["worker1"]
    response = admin.post(f"/admin/users/{worker.id}/edit", data={
        "csrf_token": admin.csrf, "name": worker.name, "role": "worker", "phone": other.admin.phone, "active": "1"})
    assert response.status_code == 400 and "手机号已被其他账号使用" in response.get_data(as_text=True)


# ---- dates ------------------------------------------------------------------

def test_birth_dates_in_the_future_or_over_120_years_are_refused(as_user, world):
    clock.freeze(datetime(2026, 11, 23, 4, 0))
    admin = as_user("admin")
    h = world.grid1[0]
    before = db.session.scalar(select(func.count(Resident.id)))
    for birth, reason in (("2026-11-24", "出生日期不能晚于今天"), ("1905-11-23", "年龄超过120岁")):
        response = admin.post("/admin/residents/new", data={"csrf_token": admin.csrf, "household_id": h.id,
                                                            "name": "测试", "sex": "M", "birth_date": birth})
        assert response.status_code == 400 and reason in response.get_data(as_text=True), birth
    # an ID number implying a birth in the future is refused the same way
    future_id = identity.make_id("440105", date(2027, 1, 1), 11)
    response = admin.post("/admin/residents/new", data={"csrf_token": admin.csrf, "household_id": h.id,
                                                        "name": "测试", "sex": "M", "id_number": future_id})
    assert response.status_code == 400 and "出生日期不能晚于今天" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Resident.id))) == before
    for birth in ("2026-11-23", "1905-11-24"):  # today, and 120 until tomorrow
        ok = admin.post("/admin/residents/new", data={"csrf_token": admin.csrf, "household_id": h.id,
                                                      "name": f"边界{birth}", "sex": "M", "birth_date": birth})
        assert ok.status_code == 302, birth


def test_import_refuses_future_and_too_old_birth_dates(as_user, world):
    clock.freeze(datetime(2026, 11, 23, 4, 0))
    admin = as_user("admin")
    rows = [_row("1栋", "951", "未来人", birth="2030-01-01"), _row("1栋", "952", "老寿星", birth="1905-11-23"),
            _row("1栋", "953", "正常人", birth="1950-01-01")]
    response = _upload(admin, _xlsx(rows))
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "2行有错误" in html
    assert re.search(r"<td>2</td><td>未来人</td><td>出生日期不能晚于今天</td>", html)
    assert re.search(r"<td>3</td><td>老寿星</td><td>年龄超过120岁", html)
    assert "正常人" not in html


# ---- settings ---------------------------------------------------------------

def test_admin_edits_escalation_minutes_on_the_settings_page(as_user, world, other):
    admin = as_user("admin")
    community = world.users["admin"].community
    form = {"csrf_token": admin.csrf, "part": "ladder", "escalate_leader_minutes": "3",
            "escalate_admin_minutes": "10", "high_risk_days": "5", "overdue_alert_margin_days": "2"}
    html = admin.get("/admin/settings").get_data(as_text=True)
    assert _input_value(html, "escalate_leader_minutes") == "5"
    assert admin.post("/admin/settings", data=form).status_code == 302
    db.session.expire_all()
    assert alerts.ladder(db.session.get(Community, community.id)) == (3, 10)
    assert db.session.get(Community, community.id).setting("high_risk_days") == 5
    assert alerts.ladder(db.session.get(Community, other.community.id)) == (5, 15)  # theirs untouched
    for bad, reason in (({"escalate_leader_minutes": "0"}, "之间的整数"),
                        ({"escalate_leader_minutes": "abc"}, "之间的整数"),
                        ({"escalate_admin_minutes": "3"}, "应晚于上报网格长"),
                        ({"high_risk_days": "-1"}, "之间的整数"),
                        ({"escalate_admin_minutes": "9" * 30}, "之间的整数")):
        response = admin.post("/admin/settings", data={**form, "escalate_leader_minutes": "4", **bad})
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and reason in html, bad
        key, value = next(iter(bad.items()))
        assert _input_value(html, key) == value  # as typed
    db.session.expire_all()
    assert alerts.ladder(db.session.get(Community, community.id)) == (3, 10)
    assert as_user("worker1").get("/admin/settings").status_code == 404


def test_visit_intervals_on_the_settings_page(as_user, world):
    admin = as_user("admin")
    cats = registry.categories(world.users["admin"].community_id)
    form = {"csrf_token": admin.csrf, "part": "categories",
            **{f"days_{c.id}": str(c.interval_days) for c in cats}, **{f"level_{c.id}": c.level for c in cats}}
    form[f"days_{cats[0].id}"] = "10"
    page = follow(admin, admin.post("/admin/settings", data=form))
    assert "设置已保存" in page and f'name="days_{cats[0].id}" value="10"' in page
    bad = admin.post("/admin/settings", data={**form, f"days_{cats[1].id}": "400"})
    assert bad.status_code == 400 and f"{cats[1].name}：走访周期应为1到366天" in bad.get_data(as_text=True)
    assert f'name="days_{cats[1].id}" value="400"' in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(cats[1]), cats[1].id).interval_days == cats[1].interval_days


# ---- visits export --------------------------------------------------------

def _sync_visit(client, household_id, occurred):
    rec = {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
           "payload": {"household_id": household_id, "mode": "door", "occurred_at": occurred, "health": "ok",
                       "note": "看望"}}
    answer = client.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": client.csrf})
    assert answer.json["results"][0]["status"] == "stored", answer.json
    return rec["uuid"]


def _csv(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_visits_export_filtered_with_human_columns_first(as_user, world):
    clock.freeze(datetime(2026, 11, 23, 4, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    w1, w2 = as_user("worker1"), as_user("worker2")
    h1, h1b, h2 = world.grid1[0], world.grid1[1], world.grid2[0]
    early = _sync_visit(w1, h1.id, "2026-11-01T07:30")     # local time
    late_night = _sync_visit(w1, h1b.id, "2026-11-10T23:30")  # 10th local, 15:30 UTC
    other_grid = _sync_visit(w2, h2.id, "2026-11-10T09:00")
    admin = as_user("admin")
    rows = _csv(admin.get("/admin/visits/export.csv"))
    header = rows[0]
    assert header[:7] == ["走访日期", "时间", "网格", "地址", "住户", "网格员", "走访方式"]
    assert header[-1] == "UUID" and "UUID" not in header[:-1]
    by_uuid = {r[-1]: r for r in rows[1:]}
    assert set(by_uuid) == {early, late_night, other_grid}
    row = by_uuid[late_night]
    assert row[0] == "2026-11-10" and row[1] == "23:30"
    assert row[4] == h1b.label and row[3] == h1b.building.address
    assert row[5] == world.users["worker1"].name and row[6] == "上门"
    assert row[2] in {g.name for g in [world.grids[0], *world.grids[0].children]}
    only_10th = _csv(admin.get("/admin/visits/export.csv?from=2026-11-10&to=2026-11-10"))
    assert {r[-1] for r in only_10th[1:]} == {late_night, other_grid}
    grid1 = _csv(admin.get(f"/admin/visits/export.csv?grid={world.grids[0].id}"))
    assert {r[-1] for r in grid1[1:]} == {early, late_night}
    both = _csv(admin.get(f"/admin/visits/export.csv?grid={world.grids[1].id}&from=2026-11-02"))
    assert {r[-1] for r in both[1:]} == {other_grid}
    xlsx = admin.get(f"/admin/visits/export.xlsx?grid={world.grids[0].id}")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    for query, reason in (("from=去年", "日期无法识别"), ("from=2026-11-10&to=2026-11-01", "开始日期不能晚于结束日期")):
        response = admin.get(f"/admin/visits/export.csv?{query}")
        assert response.status_code == 400 and reason in response.get_data(as_text=True)
    assert admin.get("/admin/visits/export.pdf").status_code == 404
    assert w1.get("/admin/visits/export.csv").status_code == 404
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.target == "visits")).all()
    assert audit and any(f"grid={world.grids[0].code}" in a.detail for a in audit)


def test_admin_routes_never_commit():
    import inspect
    from webapp.blueprints.admin import routes
    from webapp.blueprints.visits import routes as visit_routes
    for module in (routes, visit_routes):
        source = inspect.getsource(module)
        assert not re.search(r"\.(commit|rollback)\(|audit\.record", source)


def _overview_counts(client):
    """The figures on the admin overview, by their label: {"网格": 3, "住户": 40, ...}."""
    html = client.get("/admin/").get_data(as_text=True)
    return {label: int(n) for n, label in re.findall(r"<li><b>(\d+)</b>([^<]+)</li>", html)}


def _grow_by_one_of_each(community, username):
    """One more grid, building, household, resident and account in the community."""
    g = registry.save_grid(community, f"{username}的网格")
    b = registry.save_building(g, f"{username}楼", "新路1号")
    h = registry.save_household(b, "1", "101", None, [])
    registry.save_resident(community, h, "户主", "新居民", "F", date(1950, 3, 3), None, None, [])
    accounts.create_user(community, username, "新网格员", "worker", demo.PASSWORD, grids=[g])
    db.session.commit()


def test_overview_counts_only_the_admins_own_community(as_user, world, other):
    """Issue 7, fault 9: a count over residents (or grids, buildings, households, accounts) without
    the community filter shows another community's people in the overview."""
    admin = as_user("admin")
    before = _overview_counts(admin)
    assert set(before) >= {"网格", "楼栋", "住户", "居民", "账号"}, before
    # another community grows: this admin's figures stay as they were
    _grow_by_one_of_each(other.community, "otherworker2")
    assert _overview_counts(admin) == before
    # this community grows by one of each: each figure moves by one
    _grow_by_one_of_each(world.community, "newworker")
    assert _overview_counts(admin) == {k: v + 1 for k, v in before.items()}
