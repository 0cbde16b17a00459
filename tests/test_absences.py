"""Issue 10: workers (and leaders) marked away with dates; who may do it; bad dates refused in
Chinese with nothing saved; the admin home warns of grids with no worker, or none at work."""
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Absence
from webapp.services import coverage

T0 = datetime(2026, 11, 22, 2, 0)  # the 22nd in Shanghai


def _count():
    """Absences recorded here (the demo seeds one next week for each community's worker2)."""
    return db.session.scalar(select(func.count(Absence.id)).where(Absence.note != "年假"))


def _post(client, user_id, **form):
    data = {"csrf_token": client.csrf, "kind": "sick", "start_date": "2026-11-22", "end_date": "2026-11-24",
            "note": "发烧"}
    data.update(form)
    return client.post(f"/admin/users/{user_id}/absences", data=data)


def test_admin_records_and_deletes_an_absence(as_user, world):
    clock.freeze(T0)
    admin = as_user("admin")
    worker = world.users["worker2"]
    assert "请假登记" in admin.get(f"/admin/users/{worker.id}/edit").get_data(as_text=True)
    response = _post(admin, worker.id)
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "病假 2026-11-22 — 2026-11-24" in page and "发烧" in page
    assert coverage.is_away(worker) and not coverage.is_away(world.users["worker1"])
    absence = db.session.scalar(select(Absence).where(Absence.user_id == worker.id, Absence.kind == "sick"))
    assert admin.post(f"/admin/absences/{absence.id}/delete", data={"csrf_token": admin.csrf}).status_code == 302
    assert _count() == 0


def test_who_may_mark_whom_away(as_user, world):
    w1, w2, leader = world.users["worker1"], world.users["worker2"], world.users["leader1"]
    lead = as_user("leader1")
    assert _post(lead, w1.id).status_code == 302  # leader1's grid 1
    assert _post(lead, w2.id).status_code == 404  # grid 2: not theirs
    assert _post(lead, leader.id).status_code == 404  # leaders are marked by admins
    assert lead.get(f"/admin/users/{w2.id}/absences").status_code == 404
    names = lead.get("/admin/absences").get_data(as_text=True)
    assert w1.name in names and w2.name not in names
    mine = db.session.scalar(select(Absence.id).where(Absence.user_id == w1.id))
    worker = as_user("worker1")
    assert worker.post(f"/admin/absences/{mine}/delete", data={"csrf_token": worker.csrf}).status_code == 404
    assert _post(worker, w1.id).status_code == 404
    # another community's admin and leader: 404, nothing saved or deleted
    before = _count()
    for username in ("c2_admin", "c2_leader1"):
        other = as_user(username)
        assert _post(other, w1.id).status_code == 404
        assert other.post(f"/admin/absences/{mine}/delete", data={"csrf_token": other.csrf}).status_code == 404
    assert _count() == before == 1
    # the admin: leaders too; not residents or volunteers
    admin = as_user("admin")
    assert _post(admin, leader.id).status_code == 302
    assert _post(admin, world.users["volunteer1"].id).status_code == 404
    assert _post(admin, world.users["resident1"].id).status_code == 404


@pytest.mark.parametrize("form, message", [
    ({"start_date": "2026-11-24", "end_date": "2026-11-22"}, "结束日期不能早于开始日期"),
    ({"start_date": "2026-13-45"}, "开始日期格式不正确"),
    ({"end_date": "22/11/2026"}, "结束日期格式不正确"),
    ({"start_date": ""}, "请填写开始日期"),
    ({"kind": "holiday"}, "请选择请假类型"),
    ({"note": "病\x00假"}, "含有无效字符"),
    ({"note": "长" * 201}, "备注过长"),
    ({"start_date": "2026-01-01", "end_date": "2027-06-01"}, "不能超过一年"),
])
def test_bad_input_is_refused_in_chinese_and_saves_nothing(as_user, world, form, message):
    admin = as_user("admin")
    response = _post(admin, world.users["worker1"].id, **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert _count() == 0
    typed = form.get("start_date")
    if typed and "\x00" not in typed:
        assert f'value="{typed}"' in html  # what was typed is kept


def test_coverage_gaps_on_the_admin_home(as_user, world):
    clock.freeze(T0)
    gaps = {g.grid.name: g.reason for g in coverage.coverage_gaps(world.community)}
    assert gaps == {"第3网格": "none", "第4网格": "none"}  # grids 1 and 2 have workers
    home = as_user("admin").get("/admin/").get_data(as_text=True)
    assert 'id="coverage-gaps"' in home and "第3网格" in home and "没有网格员" in home
    # worker2, grid 2's only worker, is away today: grid 2 is uncovered too
    db.session.add(Absence(user_id=world.users["worker2"].id, kind="leave", start_date=date(2026, 11, 21),
                           end_date=date(2026, 11, 22), note=""))
    db.session.commit()
    gaps = {g.grid.name: g for g in coverage.coverage_gaps(world.community)}
    assert gaps["第2网格"].reason == "away" and gaps["第2网格"].away == [world.users["worker2"].name]
    home = as_user("admin").get("/admin/").get_data(as_text=True)
    assert "网格员均不在岗" in home and world.users["worker2"].name in home
    # worker1 away: grid 1's first micro-grid still has microworker1, its second has nobody
    db.session.add(Absence(user_id=world.users["worker1"].id, kind="sick", start_date=date(2026, 11, 22),
                           end_date=date(2026, 11, 22), note=""))
    db.session.commit()
    gaps = {g.grid.name: g.reason for g in coverage.coverage_gaps(world.community)}
    assert gaps.get(world.sibling.name) == "away" and world.micro.name not in gaps and "第1网格" not in gaps
    # the next local day, both are back
    clock.freeze(datetime(2026, 11, 22, 16, 0))  # 00:00 on the 23rd in Shanghai
    assert {g.grid.name for g in coverage.coverage_gaps(world.community)} == {"第3网格", "第4网格"}
