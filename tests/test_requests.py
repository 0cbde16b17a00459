"""Residents' requests (issue 12): intake on the one write path (photos inside the record,
exactly once), the loop with its guards, the community calendar and the deadline ladder,
lists in scope, merging and the residents' meeting."""
import base64
import os
import threading
import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Notice, Request, RequestEvent, User
from webapp.services import records, requests as svc, scope

from .conftest import PG

# the smallest JPEG and PNG headers the server recognises, padded to a size
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def b64(data):
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def cat(world, name="物业维修"):
    svc.ensure_categories(world.community)
    db.session.commit()
    return next(c for c in svc.categories(world.community.id) if c.name == name)


def submit(user, payload, rec_uuid=None):
    return records.ingest_one(user, "request", rec_uuid or str(uuid.uuid4()), payload)


def notices(user, subject_id=None):
    q = select(Notice.title).where(Notice.user_id == user.id, Notice.subject_type == "request")
    if subject_id:
        q = q.where(Notice.subject_id == subject_id)
    return db.session.scalars(q.order_by(Notice.id)).all()


def post(client, url, **form):
    return client.post(url, data=dict(form, csrf_token=client.csrf))


def fresh(req_id):
    db.session.expire_all()
    return db.session.get(Request, req_id)


# ---- intake ---------------------------------------------------------------------------------------

def test_a_residents_request_with_a_photo_is_stored_once_and_the_photo_is_on_disk(app, world):
    resident = world.users["resident1"]
    c = cat(world)
    rec = str(uuid.uuid4())
    payload = {"category_id": c.id, "text": "楼道灯坏了", "location": "3栋", "photo": b64(JPEG)}
    assert submit(resident, payload, rec)["status"] == "stored"
    assert submit(resident, payload, rec)["status"] == "stored"  # the replay
    assert db.session.scalar(select(func.count(Request.id))) == 1
    req = db.session.scalar(select(Request))
    assert req.state == "new" and req.reporter_id == resident.id
    assert req.household_id == scope.own_household_id(resident)
    with open(svc.photo_path(req.photo), "rb") as f:
        assert f.read() == JPEG
    assert len(os.listdir(svc.upload_dir())) >= 1
    # the grid's workers are told a new request waits
    assert notices(world.users["worker1"], req.id) == ["新诉求待受理"]


@pytest.mark.parametrize("payload, reason", [
    ({"text": "   "}, "请写下您要反映的事情"),
    ({"text": "x", "photo": b64(b"\xff\xd8\xff" + b"\x00" * (200 * 1024))}, "照片太大"),
    ({"text": "x", "photo": b64(b"GIF89a not a photo we take")}, "不是照片"),
    ({"text": "x", "photo": "data:image/jpeg;base64,@@@@"}, "照片文件已损坏"),
    ({"text": "x" * 1001}, "诉求内容太长"),
])
def test_bad_input_is_refused_with_a_chinese_reason_and_nothing_stored(app, world, payload, reason):
    c = cat(world)
    answer = submit(world.users["resident1"], dict(payload, category_id=c.id))
    assert answer["status"] == "rejected" and reason in answer["reason"], answer
    assert db.session.scalar(select(func.count(Request.id))) == 0


def test_a_photo_of_200_kb_fits_the_sync_path_but_not_in_another_kind(app, world, as_user):
    """The per-kind size limit: a request's record may carry a 200 KB photo; a visit's may not."""
    client = as_user("resident1")
    c = cat(world)
    photo = b64(b"\xff\xd8\xff" + b"\x01" * (200 * 1024 - 3))
    rec = {"uuid": str(uuid.uuid4()), "kind": "request", "recorded_at": "2026-01-05T02:00:00Z",
           "payload": {"category_id": c.id, "text": "门禁坏了", "photo": photo}}
    res = client.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": client.csrf})
    assert res.get_json()["results"][0]["status"] == "stored", res.get_json()
    worker = world.users["worker1"]
    visit = records.ingest_one(worker, "visit", str(uuid.uuid4()), {
        "household_id": world.grid1[0].id, "mode": "door", "occurred_at": "2026-01-05T10:00", "note": photo})
    assert visit["status"] == "rejected" and "太长" in visit["reason"]


def test_the_html_form_keeps_what_was_typed_when_the_file_is_not_a_photo(app, world, as_user):
    client = as_user("resident1")
    c = cat(world)
    res = client.post("/requests", data={"csrf_token": client.csrf, "uuid": str(uuid.uuid4()), "category_id": c.id,
                                         "text": "电梯又停了", "photo_file": (__import__("io").BytesIO(b"%PDF-1.4"),
                                                                          "a.pdf")},
                      content_type="multipart/form-data")
    html = res.get_data(as_text=True)
    assert res.status_code == 400 and "不是照片" in html and "电梯又停了" in html
    assert db.session.scalar(select(func.count(Request.id))) == 0


def test_the_html_form_takes_the_photo_from_whichever_of_its_two_inputs_holds_it(app, world, as_user):
    """Without scripts a photo field sends both of its inputs, 拍照 and 从相册选择, as photo_file: the
    empty one (no file chosen) is passed over."""
    import io
    client = as_user("resident1")
    c = cat(world)
    res = client.post("/requests", data={"csrf_token": client.csrf, "uuid": str(uuid.uuid4()), "category_id": c.id,
                                         "text": "路灯不亮", "photo_file": [(io.BytesIO(b""), ""),
                                                                        (io.BytesIO(JPEG), "album.jpg")]},
                      content_type="multipart/form-data")
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    req = db.session.scalar(select(Request))
    with open(svc.photo_path(req.photo), "rb") as f:
        assert f.read() == JPEG


def test_a_worker_records_one_from_a_visit_and_it_is_accepted_at_once(app, world, as_user):
    worker = world.users["worker1"]
    household = world.grid1[1]
    visit = records.ingest_one(worker, "visit", str(uuid.uuid4()), {
        "household_id": household.id, "mode": "door", "occurred_at": "2026-01-05T10:00", "needs": ["repairs"]})
    c = cat(world)
    client = as_user("worker1")
    page = client.get(f"/visits/{visit['uuid']}").get_data(as_text=True)
    assert f"/requests/new?household={household.id}&amp;visit={visit['uuid']}" in page
    form = client.get(f"/requests/new?household={household.id}&visit={visit['uuid']}").get_data(as_text=True)
    assert visit["uuid"] in form
    res = post(client, "/requests", uuid=str(uuid.uuid4()), household_id=household.id, visit_uuid=visit["uuid"],
               category_id=c.id, text="厨房水管漏水")
    assert res.status_code == 302
    req = db.session.scalar(select(Request))
    assert (req.channel, req.state, req.visit_uuid, req.household_id) == ("visit", "accepted", visit["uuid"],
                                                                          household.id)
    assert req.due_at is not None
    page = client.get(f"/visits/{visit['uuid']}").get_data(as_text=True)
    assert f'<a href="/requests/{req.id}" data-visit-request>' in page  # the visit links to it
    # another grid's household: refused, nothing stored
    answer = submit(worker, {"category_id": c.id, "text": "x", "household_id": world.grid2[0].id})
    assert answer["status"] == "rejected" and answer["code"] == "out_of_scope"


# ---- the loop ---------------------------------------------------------------------------------

def test_the_whole_loop_with_an_unsatisfied_rating_and_who_is_told(app, world, as_user):
    resident, worker, leader = (world.users[n] for n in ("resident1", "worker1", "leader1"))
    c = cat(world)
    submit(resident, {"category_id": c.id, "text": "楼下两辆僵尸车占了消防通道", "photo": b64(JPEG)})
    req = db.session.scalar(select(Request))
    w, lead, me = as_user("worker1"), as_user("leader1"), as_user("resident1")

    # a rating before the case is resolved: a clear error, nothing saved
    res = post(me, f"/requests/{req.id}/rate", rating=5)
    assert res.status_code == 400 and "还没有办结，暂时不能评价" in res.get_data(as_text=True)
    assert fresh(req.id).rating is None and not fresh(req.id).events

    v = fresh(req.id).version
    assert post(w, f"/requests/{req.id}/accept", version=v).status_code == 302
    v = fresh(req.id).version
    assert post(w, f"/requests/{req.id}/dispatch", version=v, assignee_id=worker.id).status_code == 302
    assert fresh(req.id).assignee_id == worker.id
    assert post(w, f"/requests/{req.id}/handle", version=fresh(req.id).version,
                note="已联系交警拖走").status_code == 302
    assert notices(leader, req.id) == ["诉求待核查"]
    assert post(lead, f"/requests/{req.id}/verify", version=fresh(req.id).version, passed=1).status_code == 302
    assert fresh(req.id).state == "verified"
    assert post(me, f"/requests/{req.id}/rate", rating=2, comment="还有一辆没拖").status_code == 302
    req = fresh(req.id)
    assert req.state == "dispatched" and req.rating == 2
    assert "居民不满意，诉求退回重办" in notices(worker, req.id)
    assert post(w, f"/requests/{req.id}/handle", version=req.version, note="第二辆也已拖走").status_code == 302
    assert post(lead, f"/requests/{req.id}/verify", version=fresh(req.id).version, passed=1).status_code == 302
    assert post(me, f"/requests/{req.id}/rate", rating=5).status_code == 302
    req = fresh(req.id)
    assert req.state == "closed" and req.rating == 5
    kinds = [e.kind for e in req.events]
    assert kinds == ["accepted", "dispatched", "handled", "told", "verified", "rated", "reopened", "handled",
                     "told", "verified", "rated", "closed"]
    assert all(e.at for e in req.events)
    assert [e.user_id for e in req.events][:5] == [worker.id, worker.id, worker.id, worker.id, leader.id]
    page = me.get(f"/requests/{req.id}").get_data(as_text=True)
    for words in ("提交诉求", "受理", "派遣", "处置", "反馈", "核查通过", "评价", "回退重办", "结案", "第二辆也已拖走"):
        assert words in page, words
    assert notices(resident, req.id) == ["您的诉求已受理", "您的诉求已派人处理", "您的诉求已处理",
                                         "请评价诉求的办理", "您的诉求已处理", "请评价诉求的办理"]
    # rated and closed: a second rating is refused
    res = post(me, f"/requests/{req.id}/rate", rating=1)
    assert res.status_code == 400 and fresh(req.id).rating == 5


def test_a_stale_form_loses_to_the_step_taken_meanwhile(app, world, as_user):
    c = cat(world)
    submit(world.users["resident1"], {"category_id": c.id, "text": "噪音"})
    req = db.session.scalar(select(Request))
    version = req.version
    w1, leader = as_user("worker1"), as_user("leader1")
    assert post(w1, f"/requests/{req.id}/accept", version=version).status_code == 302
    res = post(leader, f"/requests/{req.id}/accept", version=version)
    assert res.status_code == 400 and "刚刚已被他人处理" in res.get_data(as_text=True)
    assert [e.kind for e in fresh(req.id).events] == ["accepted"]


@pytest.mark.skipif(not PG, reason="two connections at once: PostgreSQL")
def test_two_dispatches_at_once_one_wins(app, world):
    c = cat(world)
    submit(world.users["resident1"], {"category_id": c.id, "text": "井盖松动"})
    req_id = db.session.scalar(select(Request.id))
    version = db.session.get(Request, req_id).version
    results, barrier = [], threading.Barrier(2)

    def one(username):
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            req = db.session.get(Request, req_id)
            barrier.wait()
            try:
                svc.dispatch(user, req, version, user.id)
                db.session.commit()
                results.append("ok")
            except svc.RequestError as exc:
                db.session.rollback()
                results.append(str(exc))

    threads = [threading.Thread(target=one, args=(n,)) for n in ("worker1", "leader1")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count("ok") == 1 and any("刚刚" in r for r in results), results
    assert [e.kind for e in fresh(req_id).events].count("dispatched") == 1


# ---- calendar and deadlines -------------------------------------------------------------------

def test_friday_five_pm_with_one_working_day_is_due_monday_five_pm(app, world):
    community = world.community
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "", "")
    # 2026-11-20 is a Friday; Asia/Shanghai is UTC+8
    friday = datetime(2026, 11, 20, 9, 0)  # 17:00 local
    due = svc.add_working(community, friday, 480)
    assert due == datetime(2026, 11, 23, 9, 0)  # Monday 17:00 local
    # a public holiday on Monday moves it to Tuesday; a make-up Saturday brings it back to Saturday
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "2026-11-23", "")
    assert svc.add_working(community, friday, 480) == datetime(2026, 11, 24, 9, 0)
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "2026-11-23", "2026-11-21")
    assert svc.add_working(community, friday, 480) == datetime(2026, 11, 21, 9, 0)
    # mid-morning: half a day later the same day
    assert svc.add_working(community, datetime(2026, 11, 24, 2, 0), 240) == datetime(2026, 11, 24, 6, 0)


def test_a_request_accepted_friday_at_five_is_due_monday_at_five(app, world, as_user):
    community = world.community
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "", "")
    c = svc.save_category(community, "楼道照明", 2, 8)
    db.session.commit()
    clock.freeze(datetime(2026, 11, 20, 8, 0))  # Friday 16:00 local
    submit(world.users["resident1"], {"category_id": c.id, "text": "楼道灯不亮"})
    req = db.session.scalar(select(Request))
    clock.freeze(datetime(2026, 11, 20, 9, 0))  # Friday 17:00 local
    w = as_user("worker1")
    assert post(w, f"/requests/{req.id}/accept", version=req.version).status_code == 302
    assert fresh(req.id).due_at == datetime(2026, 11, 23, 9, 0)


def test_deadlines_climb_the_ladder_assignee_then_leader_then_admins(app, world, as_user):
    community = world.community
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "", "")
    c = svc.save_category(community, "安全隐患测试", 1, 8)
    db.session.commit()
    worker, leader, admin = (world.users[n] for n in ("worker1", "leader1", "admin"))
    clock.freeze(datetime(2026, 11, 23, 1, 0))  # Monday 09:00 local
    answer = submit(worker, {"category_id": c.id, "text": "消防门关不上", "household_id": world.grid1[0].id})
    req = db.session.scalar(select(Request).where(Request.uuid == answer["uuid"]))
    svc.dispatch(worker, req, req.version, worker.id)
    db.session.commit()
    assert svc.escalate_due() == 0
    clock.freeze(datetime(2026, 11, 23, 7, 0))  # 15:00: three quarters of the day gone
    assert svc.escalate_due() == 1 and svc.escalate_due() == 0
    assert notices(worker, req.id)[-1] == "诉求快到期限"
    assert notices(leader, req.id) == []
    clock.freeze(datetime(2026, 11, 23, 9, 1))  # 17:01: past the limit
    assert svc.escalate_due() == 1
    assert notices(leader, req.id) == ["诉求已超期"] and notices(admin, req.id) == []
    clock.freeze(datetime(2026, 11, 24, 9, 1))  # a working day later
    assert svc.escalate_due() == 1
    assert notices(admin, req.id) == ["诉求已超期"]
    assert svc.escalate_due() == 0
    # overdue cases come first on the board
    other = submit(worker, {"category_id": c.id, "text": "新的一件", "household_id": world.grid1[1].id})
    rows, total = svc.board(leader, "open")
    assert rows[0].id == req.id and total == 2 and other["status"] == "stored"
    page = as_user("leader1").get("/requests").get_data(as_text=True)
    assert page.index("消防门关不上") < page.index("新的一件") and "超期" in page
    # handled: off the ladder
    svc.handle(worker, fresh(req.id), fresh(req.id).version, "已修好")
    db.session.commit()
    clock.freeze(datetime(2026, 11, 30, 9, 1))
    assert req.id not in [r.id for r in db.session.scalars(select(Request).where(
        Request.next_escalation_at.is_not(None)))]


# ---- lists, scope, photos ----------------------------------------------------------------------

def test_lists_in_scope(app, world, as_user):
    c = cat(world)
    submit(world.users["resident1"], {"category_id": c.id, "text": "居民一的诉求", "photo": b64(PNG)})
    submit(world.users["worker2"], {"category_id": c.id, "text": "二网格的诉求", "household_id": world.grid2[0].id})
    mine = db.session.scalar(select(Request).where(Request.text == "居民一的诉求"))
    theirs = db.session.scalar(select(Request).where(Request.text == "二网格的诉求"))
    resident_page = as_user("resident1").get("/requests").get_data(as_text=True)
    assert "居民一的诉求" in resident_page and "二网格的诉求" not in resident_page
    w1 = as_user("worker1").get("/requests").get_data(as_text=True)
    assert "居民一的诉求" in w1 and "二网格的诉求" not in w1
    admin = as_user("admin").get("/requests").get_data(as_text=True)
    assert "居民一的诉求" in admin and "二网格的诉求" in admin
    assert as_user("volunteer1").get("/requests").status_code == 404
    photo = f"/requests/{mine.id}/photos/{mine.photo}"
    assert as_user("resident1").get(photo).data == PNG
    assert as_user("worker1").get(photo).status_code == 200
    for who in ("worker2", "c2_admin", "c2_worker1", "volunteer1"):
        assert as_user(who).get(photo).status_code == 404, who
    # the photo under another case's id, and a name that is not the case's, answer 404
    assert as_user("admin").get(f"/requests/{theirs.id}/photos/{mine.photo}").status_code == 404
    assert as_user("resident1").get(f"/requests/{mine.id}/photos/..%2F..%2Fsecret").status_code == 404
    assert as_user("c2_admin").get(f"/requests/{mine.id}").status_code == 404
    # the board's filters and a fragment for htmx
    leader = as_user("admin")
    res = leader.get(f"/requests?state=all&grid={theirs.grid_id}", headers={"HX-Request": "true"})
    body = res.get_data(as_text=True)
    assert "二网格的诉求" in body and "居民一的诉求" not in body and "<html" not in body
    assert "HX-Request" in res.headers["Vary"]


def test_the_board_is_paged(app, world, as_user):
    c = cat(world)
    worker = world.users["worker1"]
    batch = [{"uuid": str(uuid.uuid4()), "kind": "request", "recorded_at": "2026-01-05T02:00:00Z",
              "payload": {"category_id": c.id, "text": f"第{n}件", "household_id": world.grid1[0].id}}
             for n in range(svc.PAGE + 5)]
    assert all(a["status"] == "stored" for a in records.ingest(worker, batch))
    page1 = as_user("leader1").get("/requests").get_data(as_text=True)
    assert f"共{svc.PAGE + 5}件" in page1 and page1.count("data-request=") == svc.PAGE and "id=\"next-page\"" in page1
    page2 = as_user("leader1").get("/requests?page=2").get_data(as_text=True)
    assert page2.count("data-request=") == 5


# ---- merging and the residents' meeting ----------------------------------------------------------

def test_two_residents_requests_merged_both_hear_back(app, world, as_user):
    c = cat(world)
    resident = world.users["resident1"]
    household = next(h for h in world.grid1 if h.id == scope.own_household_id(resident))
    other_home = next(h for h in world.grid1 if h.id != household.id and h.current_residencies)
    from webapp.services import accounts, demo
    second = accounts.create_user(world.community, "resident2", "李四", "resident", demo.PASSWORD,
                                  resident=other_home.current_residencies[0].resident,
                                  password_hash=demo._demo_hash())
    db.session.commit()
    submit(resident, {"category_id": c.id, "text": "3栋电梯坏了"})
    submit(second, {"category_id": c.id, "text": "电梯不动了"})
    first, dup = db.session.scalars(select(Request).order_by(Request.id)).all()
    # residents see only their own: not a neighbour's request, until it is merged into theirs
    assert as_user("resident2").get(f"/requests/{first.id}").status_code == 404
    assert as_user("resident1").get(f"/requests/{dup.id}").status_code == 404
    lead = as_user("leader1")
    assert str(dup.id) in lead.get(f"/requests/{first.id}").get_data(as_text=True)  # offered as a duplicate
    assert post(lead, f"/requests/{first.id}/merge", others=dup.id).status_code == 302
    assert fresh(dup.id).state == "merged" and fresh(dup.id).merged_into_id == first.id
    assert "您的诉求已与同类诉求合并办理" in notices(second)
    # the case goes on; both reporters are told, both see the feedback
    w = as_user("worker1")
    post(w, f"/requests/{first.id}/dispatch", version=fresh(first.id).version, assignee_id=world.users["worker1"].id)
    assert post(w, f"/requests/{first.id}/handle", version=fresh(first.id).version,
                note="电梯公司已修复").status_code == 302
    for user in (resident, second):
        assert "您的诉求已处理" in notices(user), user.username
    # each is linked to the request they can open: their own
    link = db.session.scalar(select(Notice.url).where(Notice.user_id == second.id, Notice.title == "您的诉求已处理"))
    assert link == f"/requests/{dup.id}" and as_user("resident2").get(link).status_code == 200
    page = as_user("resident2").get(f"/requests/{dup.id}").get_data(as_text=True)
    assert "电梯公司已修复" in page and "合并办理" in page
    post(lead, f"/requests/{first.id}/verify", version=fresh(first.id).version, passed=1)
    assert post(as_user("resident2"), f"/requests/{dup.id}/rate", rating=4).status_code == 302
    assert fresh(first.id).state == "closed"
    # a worker cannot merge; another grid's request cannot be merged in
    assert post(w, f"/requests/{first.id}/merge", others=dup.id).status_code == 404


def test_a_residents_meeting_then_back_to_handling(app, world, as_user):
    c = cat(world, "邻里纠纷")
    worker = world.users["worker1"]
    submit(worker, {"category_id": c.id, "text": "出租屋纠纷", "household_id": world.grid1[0].id})
    req = db.session.scalar(select(Request))
    lead = as_user("leader1")
    assert post(lead, f"/requests/{req.id}/meeting", version=req.version, note="需要业主协商").status_code == 302
    assert fresh(req.id).state == "meeting" and fresh(req.id).next_escalation_at is None
    res = post(lead, f"/requests/{req.id}/meeting", version=fresh(req.id).version, held=1, date="2026-11-20",
               participants="", resolution="")
    assert res.status_code == 400 and "参加议事的各方" in res.get_data(as_text=True)
    assert post(lead, f"/requests/{req.id}/meeting", version=fresh(req.id).version, held=1, date="2026-11-20",
                participants="物业公司、居委会、派出所", resolution="房东限期整改").status_code == 302
    req = fresh(req.id)
    assert req.state == "dispatched" and req.next_escalation_at is not None
    held = db.session.scalar(select(RequestEvent).where(RequestEvent.kind == "meeting_held"))
    assert held.detail["participants"] == "物业公司、居委会、派出所" and held.note == "房东限期整改"


def test_a_handling_photo_is_kept_and_shown_to_the_resident_and_a_bad_file_loses_nothing(app, world, as_user):
    import io
    c = cat(world)
    submit(world.users["resident1"], {"category_id": c.id, "text": "垃圾没人清"})
    req = db.session.scalar(select(Request))
    w = as_user("worker1")
    post(w, f"/requests/{req.id}/dispatch", version=req.version, assignee_id=world.users["worker1"].id)
    version = fresh(req.id).version
    res = w.post(f"/requests/{req.id}/handle", data={
        "csrf_token": w.csrf, "version": version, "note": "已清运",
        "photo_file": (io.BytesIO(b"MZ\x90\x00 an executable"), "photo.jpg")}, content_type="multipart/form-data")
    assert res.status_code == 400 and "不是照片" in res.get_data(as_text=True)
    assert fresh(req.id).state == "dispatched" and not [e for e in fresh(req.id).events if e.kind == "handled"]
    res = w.post(f"/requests/{req.id}/handle", data={
        "csrf_token": w.csrf, "version": version, "note": "已清运",
        "photo_file": (io.BytesIO(PNG), "after.png")}, content_type="multipart/form-data")
    assert res.status_code == 302
    handled = next(e for e in fresh(req.id).events if e.kind == "handled")
    page = as_user("resident1").get(f"/requests/{req.id}").get_data(as_text=True)
    url = f"/requests/{req.id}/photos/{handled.photo}"
    assert url in page
    assert as_user("resident1").get(url).data == PNG
    assert as_user("worker2").get(url).status_code == 404


def test_the_community_sets_its_calendar_and_categories(app, world, as_user):
    admin = as_user("admin")
    assert admin.get("/requests/settings").status_code == 200
    res = post(admin, "/requests/settings", what="calendar", opens="08:30", closes="17:30", weekdays=["0", "1", "2"],
               holidays="2026-10-01\n2026-10-0x", make_up_days="")
    assert res.status_code == 400 and "日期格式不正确：2026-10-0x" in res.get_data(as_text=True)
    assert post(admin, "/requests/settings", what="calendar", opens="08:30", closes="17:30",
                weekdays=["0", "1", "2"], holidays="2026-10-01", make_up_days="2026-10-10").status_code == 302
    db.session.expire_all()
    opens, closes, weekdays, holidays, extra = svc.calendar(world.community)
    assert (opens.hour, opens.minute, closes.hour, weekdays) == (8, 30, 17, {0, 1, 2})
    assert [str(d) for d in holidays] == ["2026-10-01"] and [str(d) for d in extra] == ["2026-10-10"]
    c = cat(world, "政策咨询")
    res = post(admin, "/requests/settings", category_id=c.id, name="政策咨询", response_hours="abc", limit_hours="8")
    assert res.status_code == 400 and "工作小时数" in res.get_data(as_text=True)
    assert post(admin, "/requests/settings", category_id=c.id, name="政策咨询", response_hours="0.5",
                limit_hours="16").status_code == 302
    db.session.expire_all()
    assert (db.session.get(type(c), c.id).response_minutes, db.session.get(type(c), c.id).limit_minutes) == (30, 960)
    # another community's category: 404, unchanged
    theirs = svc.save_category(world.other.community, "其他社区类别", 1, 8)
    db.session.commit()
    assert post(admin, "/requests/settings", category_id=theirs.id, name="改名", response_hours="1",
                limit_hours="8").status_code == 404
    db.session.expire_all()
    assert db.session.get(type(c), theirs.id).name == "其他社区类别"


def test_a_request_nobody_accepts_reminds_the_grid_workers_then_the_leader(app, world):
    community = world.community
    svc.save_calendar(community, ("09:00", "17:00"), [0, 1, 2, 3, 4], "", "")
    c = svc.save_category(community, "响应测试", 4, 16)
    db.session.commit()
    clock.freeze(datetime(2026, 11, 23, 1, 0))  # Monday 09:00 local
    submit(world.users["resident1"], {"category_id": c.id, "text": "没人理"})
    req = db.session.scalar(select(Request))
    assert req.respond_by == datetime(2026, 11, 23, 5, 0)  # 13:00 local: four working hours
    clock.freeze(datetime(2026, 11, 23, 4, 0))  # 12:00: three of the four hours gone
    assert svc.escalate_due() == 1
    assert notices(world.users["worker1"], req.id) == ["新诉求待受理", "诉求快到期限"]
    clock.freeze(datetime(2026, 11, 23, 5, 1))
    assert svc.escalate_due() == 1
    assert notices(world.users["leader1"], req.id) == ["诉求已超期"]
    # accepted: the handling limit starts, the ladder starts again from the bottom
    svc.accept(world.users["worker1"], fresh(req.id), None)
    db.session.commit()
    req = fresh(req.id)
    assert req.level == -1 and req.due_at == datetime(2026, 11, 25, 5, 1)  # two working days: Wednesday 13:01
