import re
from datetime import date

from sqlalchemy import event, func, select

from webapp.extensions import db
from webapp.models import Household, Residency, Resident
from webapp.services import demo, identity, registry, scope



def test_worker_sees_own_grid_in_chinese_and_404_elsewhere(as_user, world):
    worker = as_user("worker1")
    html = worker.get(f"/grids/{world.grids[0].id}/households").get_data(as_text=True)
    assert "户" in html
    for h in world.grid1:
        assert f"/households/{h.id}\"" in html
    for h in world.grid2:
        assert f"/households/{h.id}\"" not in html
    page = worker.get(f"/households/{world.grid1[0].id}")
    assert page.status_code == 200 and "居民" in page.get_data(as_text=True)
    assert worker.get(f"/households/{world.grid2[0].id}").status_code == 404
    assert worker.get(f"/grids/{world.grids[1].id}").status_code == 404


def test_leader_sees_micro_grids_below(as_user, world):
    leader = as_user("leader1")
    micro = world.grids[0].children[0]
    assert leader.get(f"/grids/{micro.id}").status_code == 200
    assert leader.get(f"/grids/{world.grids[1].children[0].id}").status_code == 404


def test_search_never_leaks_beyond_scope(as_user, world):
    target = world.grid2[0].current_residencies[0].resident
    worker1 = as_user("worker1")
    html = worker1.get("/search", query_string={"q": target.name}).get_data(as_text=True)
    assert f"/households/{world.grid2[0].id}\"" not in html
    worker2 = as_user("worker2")
    html = worker2.get("/search", query_string={"q": target.name}).get_data(as_text=True)
    assert f"/households/{world.grid2[0].id}\"" in html


def test_search_htmx_returns_a_fragment(as_user, world):
    worker = as_user("worker1")
    room = world.grid1[0].room
    response = worker.get("/search", query_string={"q": room}, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and f"/households/{world.grid1[0].id}" in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_resident_sees_only_own_household(app, as_user, world):
    resident = as_user("resident1")
    assert resident.get(f"/households/{world.grid1[0].id}").status_code == 404
    with app.app_context():
        user = world.users["resident1"]
        assert db.session.scalars(scope.households(user)).all() == [
            db.session.get(Household, scope.own_household_id(user))]


def test_volunteer_sees_nothing_of_the_registry(as_user, world):
    volunteer = as_user("volunteer1")
    assert volunteer.get("/grids").status_code == 404
    assert volunteer.get("/search?q=王").status_code == 404


def test_ids_masked_except_for_admin(as_user, world):
    resident = next(r.resident for h in world.grid1 for r in h.current_residencies if r.resident.id_number)
    h = resident.current_residency.household_id
    worker_html = as_user("worker1").get(f"/households/{h}").get_data(as_text=True)
    assert resident.id_number not in worker_html and resident.id_number[-4:] in worker_html
    admin_html = as_user("admin").get(f"/households/{h}").get_data(as_text=True)
    assert resident.id_number in admin_html
    if resident.phone:
        assert resident.phone not in as_user("worker1").get(f"/grids/{world.grids[0].id}/households").get_data(as_text=True)


def test_admin_creates_household_and_resident_with_checks(as_user, world, app):
    admin = as_user("admin")
    building = world.grid1[0].building_id
    bad = admin.post("/admin/households/new", data={"csrf_token": admin.csrf, "building_id": building,
                                                    "room": "999", "phone": "12345"})
    assert bad.status_code == 400 and "电话号码格式不正确" in bad.get_data(as_text=True)
    ok = admin.post("/admin/households/new", data={"csrf_token": admin.csrf, "building_id": building,
                                                   "unit": "1", "room": "999", "phone": "13800001111",
                                                   "contacts": "李四,儿子,13900002222"})
    assert ok.status_code == 302
    hid = int(re.search(r"/households/(\d+)", ok.headers["Location"]).group(1))
    bad_id = admin.post("/admin/residents/new", data={"csrf_token": admin.csrf, "household_id": hid,
                                                      "name": "赵大爷", "sex": "M", "id_number": "110105194912310021"})
    assert bad_id.status_code == 400 and "身份证号校验不通过" in bad_id.get_data(as_text=True)
    before = db.session.scalar(select(func.count(Resident.id)))
    born_1940 = identity.make_id("110105", date(1940, 3, 1), 11)
    good = admin.post("/admin/residents/new", data={"csrf_token": admin.csrf, "household_id": hid,
                                                    "name": "赵大爷", "sex": "M", "id_number": born_1940,
                                                    "relation": "户主"})
    assert good.status_code == 302
    assert db.session.scalar(select(func.count(Resident.id))) == before + 1
    page = admin.get(f"/households/{hid}").get_data(as_text=True)
    assert "赵大爷" in page and "高龄" in page  # born 1940: 80+ is derived from the birth date


def test_moving_keeps_history(app, world):
    resident = world.grid1[0].current_residencies[0].resident
    target = world.grid2[0]
    registry.move_resident(resident, target, "户主")
    db.session.commit()
    links = db.session.scalars(select(Residency).where(Residency.resident_id == resident.id)
                               .order_by(Residency.id)).all()
    assert len(links) == 2 and links[0].end_date is not None and links[1].end_date is None
    assert links[1].household_id == target.id


def test_household_list_query_count_is_constant(app, as_user):
    """500 households render with the same number of SQL statements as 50."""
    demo.seed(households_per_building=50, buildings_per_grid=10, print_fn=lambda *a: None)
    worker = as_user("worker1")
    grid = db.session.scalars(select(scope.Grid).where(scope.Grid.parent_id.is_(None)).order_by(scope.Grid.code)).first()
    micro = grid.children[0]
    counts = {}
    for label, gid in (("whole", grid.id), ("micro", micro.id)):
        statements = []

        def count(*_args, **_kw):
            statements.append(1)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = worker.get(f"/grids/{gid}/households")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        counts[label] = (len(statements), response.get_data(as_text=True).count('href="/households/'))
    assert counts["whole"][1] == 500 and counts["micro"][1] < 500
    assert counts["whole"][0] == counts["micro"][0], counts
    assert counts["whole"][0] <= 12, counts


def test_household_answers_a_fragment_to_htmx(as_user, world):
    worker = as_user("worker1")
    h = world.grid1[0]
    full = worker.get(f"/households/{h.id}")
    fragment = worker.get(f"/households/{h.id}", headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert 'id="visit-form"' in fragment.get_data(as_text=True)
    for response in (full, fragment):
        assert "HX-Request" in response.headers["Vary"]
    restore = worker.get(f"/households/{h.id}", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)  # htmx restoring history gets the whole page
    shell = worker.get("/shell").get_data(as_text=True)
    assert "<!--linli-main-->" in shell and 'data-user="' in shell


def test_admin_assignments_change_what_a_worker_sees(as_user, world):
    admin = as_user("admin")
    g2 = world.grids[1]
    response = admin.post("/admin/users/new", data={
        "csrf_token": admin.csrf, "username": "worker9", "name": "新网格员", "role": "worker",
        "password": "short"})
    assert response.status_code == 400 and "密码至少10位" in response.get_data(as_text=True)
    response = admin.post("/admin/users/new", data={
        "csrf_token": admin.csrf, "username": "worker9", "name": "新网格员", "role": "worker",
        "password": "long-enough-1", "grid": [str(world.grids[0].id)]})
    assert response.status_code == 302
    from webapp.models import User
    user = db.session.scalar(select(User).where(User.username == "worker9"))
    from .conftest import login
    client = admin.application.test_client()
    login(client, "worker9", "long-enough-1")
    assert client.get(f"/households/{world.grid2[0].id}").status_code == 404
    response = admin.post(f"/admin/users/{user.id}/edit", data={
        "csrf_token": admin.csrf, "name": "新网格员", "role": "worker", "active": "1", "grid": [str(g2.id)]})
    assert response.status_code == 302
    assert client.get(f"/households/{world.grid2[0].id}").status_code == 200
    assert client.get(f"/households/{world.grid1[0].id}").status_code == 404


def test_admin_creates_grids_and_buildings_with_codes(as_user, world):
    admin = as_user("admin")
    admin.post("/admin/grids", data={"csrf_token": admin.csrf, "name": "第5网格"})
    from webapp.models import Building, Grid
    grid = db.session.scalar(select(Grid).where(Grid.name == "第5网格"))
    assert grid.code == world.grids[0].community.code + "005"
    admin.post("/admin/grids", data={"csrf_token": admin.csrf, "name": "第5网格-1微网格", "parent_id": grid.id})
    micro = db.session.scalar(select(Grid).where(Grid.name == "第5网格-1微网格"))
    assert micro.code == grid.code + "01" and micro.parent_id == grid.id
    ok = admin.post("/admin/buildings/new", data={"csrf_token": admin.csrf, "grid_id": micro.id, "name": "99栋",
                                                  "address": "翠城路99号"})
    assert ok.status_code == 302
    dup = admin.post("/admin/buildings/new", data={"csrf_token": admin.csrf, "grid_id": micro.id, "name": "99栋"})
    assert dup.status_code == 400 and "同名楼栋" in dup.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Building.id)).where(Building.name == "99栋")) == 1
