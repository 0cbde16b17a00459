"""Alerts: raised four ways through one call, the escalation ladder on a controllable
clock, the timeline, and residents' SOS on the same sync path."""
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Alert, Invitation, Notice, User, Visit
from webapp import clock
from webapp.services import alerts, residents, scheduler

T0 = datetime(2026, 11, 22, 2, 0)


def notices_for(username, alert=None):
    user = db.session.scalar(select(User).where(User.username == username))
    q = select(func.count(Notice.id)).where(Notice.user_id == user.id)
    if alert is not None:
        q = q.where(Notice.alert_id == alert)
    return db.session.scalar(q)


def test_acknowledged_in_time_stops_the_ladder(world):
    clock.freeze(T0)
    alert = alerts.raise_alert("worker", world.grid1[0], raised_by=world.users["worker1"])
    # issue 10: the raiser is not told; the other worker on this micro-grid is
    assert notices_for("microworker1") == 1 and notices_for("worker1") == 0 and notices_for("worker2") == 0
    clock.advance(timedelta(minutes=4))
    assert alerts.escalate_due() == 0
    alerts.acknowledge(alert, world.users["worker1"])
    db.session.commit()  # the test is the unit of work a request would be
    clock.advance(timedelta(minutes=30))
    assert alerts.escalate_due() == 0
    assert notices_for("leader1") == 0 and notices_for("admin") == 0
    kinds = [e.kind for e in db.session.get(Alert, alert.id).events]
    assert kinds == ["raised", "notified", "acknowledged"]


def test_no_acknowledgement_reaches_the_leader_then_the_admins(world):
    clock.freeze(T0)
    alert = alerts.raise_alert("sos", world.grid1[0]).id
    clock.advance(timedelta(minutes=4, seconds=59))
    scheduler.tick()
    assert notices_for("leader1", alert) == 0
    clock.advance(timedelta(seconds=1))  # 5 minutes
    scheduler.tick()
    assert notices_for("leader1", alert) == 1 and notices_for("admin", alert) == 0
    clock.advance(timedelta(minutes=9, seconds=59))
    scheduler.tick()
    assert notices_for("admin", alert) == 0
    clock.advance(timedelta(seconds=1))  # 15 minutes
    scheduler.tick()
    assert notices_for("admin", alert) == 1
    clock.advance(timedelta(hours=1))
    scheduler.tick()  # nothing further, nothing twice
    assert (notices_for("leader1", alert), notices_for("admin", alert)) == (1, 1)
    alert = db.session.get(Alert, alert)
    assert alert.level == 2 and alert.next_escalation_at is None
    assert [e.kind for e in alert.events] == ["raised", "notified", "escalated", "escalated"]


def test_ladder_is_set_per_community(world, as_user):
    clock.freeze(T0)
    admin = as_user("admin")
    saved = admin.post("/admin/settings", data={
        "csrf_token": admin.csrf, "part": "ladder", "escalate_leader_minutes": "2", "escalate_admin_minutes": "3",
        "high_risk_days": "7", "overdue_alert_margin_days": "3"})
    assert saved.status_code == 302
    db.session.expire_all()
    alerts.raise_alert("sos", world.grid1[0])
    clock.advance(timedelta(minutes=2))
    alerts.escalate_due()
    assert notices_for("leader1") == 1
    clock.advance(timedelta(minutes=1))
    alerts.escalate_due()
    assert notices_for("admin") == 1


def test_worker_pages_acknowledge_and_resolve_with_timeline(as_user, world):
    worker = as_user("worker1")
    h = world.grid1[0]
    response = worker.post(f"/households/{h.id}/alerts", data={"csrf_token": worker.csrf, "note": "老人摔倒",
                                                               "uuid": str(uuid.uuid4())})
    assert response.status_code == 302
    url = response.headers["Location"]
    page = worker.get(url).get_data(as_text=True)
    assert "待响应" in page and "网格员上报" in page and "老人摔倒" in page
    assert worker.post(url + "/ack", data={"csrf_token": worker.csrf}).status_code == 302
    again = worker.post(url + "/ack", data={"csrf_token": worker.csrf})
    assert again.status_code == 409 and "已经有人响应" in again.get_data(as_text=True)
    empty = worker.post(url + "/resolve", data={"csrf_token": worker.csrf, "outcome": " "})
    assert empty.status_code == 400 and "请填写处置结果" in empty.get_data(as_text=True)
    worker.post(url + "/resolve", data={"csrf_token": worker.csrf, "outcome": "已送医，家属陪同"})
    page = worker.get(url).get_data(as_text=True)
    assert "已处置" in page and "已送医" in page
    timeline = page[page.index('id="timeline"'):]
    assert timeline.index("发起") < timeline.index("已通知") < timeline.index("已响应") < timeline.index("已处置")
    assert as_user("worker2").get(url).status_code == 404


def test_urgent_visit_raises_one_alert(as_user, world):
    worker = as_user("worker1")
    rec = {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
           "payload": {"household_id": world.grid1[0].id, "mode": "door", "occurred_at": "2026-11-20T10:00",
                       "urgent": "1", "note": "独居老人发烧"}}
    for _ in range(2):  # replayed: still one visit, one alert
        worker.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": worker.csrf})
    found = db.session.scalars(select(Alert).where(Alert.visit_uuid == rec["uuid"])).all()
    assert len(found) == 1 and found[0].source == "visit" and found[0].note == "独居老人发烧"


def test_alert_record_kind_on_the_sync_path(as_user, world):
    resident = as_user("resident1")
    own = world.users["resident1"]
    from webapp.services import scope
    own_household = scope.own_household_id(own)
    mine = {"uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": "2026-11-20T02:00:00Z",
            "payload": {"household_id": own_household, "source": "sos"}}
    other = {"uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": "2026-11-20T02:00:00Z",
             "payload": {"household_id": world.grid2[0].id, "source": "sos"}}
    forged = {"uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": "2026-11-20T02:00:00Z",
              "payload": {"household_id": own_household, "source": "system"}}
    answers = resident.post("/api/sync", json={"records": [mine, other, forged]},
                            headers={"X-CSRFToken": resident.csrf}).json["results"]
    assert [a["status"] for a in answers] == ["stored", "rejected", "rejected"]
    alert = db.session.scalar(select(Alert).where(Alert.uuid == mine["uuid"]))
    assert alert.source == "sos" and alert.author_id == own.id and alert.state == "open"
    assert [e.kind for e in alert.events] == ["raised", "notified"]
    assert notices_for("worker1") == 1
    page = resident.get("/me").get_data(as_text=True)
    assert "待响应" in page


def test_resident_joins_with_a_one_time_invitation(app, as_user, world):
    worker = as_user("worker1")
    h = world.grid1[1]
    member = h.current_residencies[0].resident
    response = worker.post(f"/households/{h.id}/invite", data={"csrf_token": worker.csrf, "resident_id": member.id})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<svg" in html
    code = db.session.scalar(select(Invitation.code).where(Invitation.resident_id == member.id))
    assert code in html
    newcomer = app.test_client()
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', newcomer.get(f"/join?code={code}")
                                    .get_data(as_text=True)).group(1)
    bad = newcomer.post("/join", data={"csrf_token": token, "code": "00000000", "password": "secret1"})
    assert bad.status_code == 400 and "邀请码无效或已过期" in bad.get_data(as_text=True)
    ok = newcomer.post("/join", data={"csrf_token": token, "code": code, "password": "secret1"})
    assert ok.status_code == 302 and ok.headers["Location"].startswith("/me")
    me = newcomer.get("/me").get_data(as_text=True)
    assert "求助" in me and 'class="elder"' in me  # large text and high contrast for residents
    again = app.test_client()
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', again.get("/join").get_data(as_text=True)).group(1)
    reused = again.post("/join", data={"csrf_token": token, "code": code, "password": "secret2"})
    assert reused.status_code == 400  # one time only


def test_invitations_expire(world):
    clock.freeze(T0)
    member = world.grid1[1].current_residencies[0].resident
    invitation = residents.invite(world.users["worker1"], member)
    clock.advance(timedelta(hours=73))
    try:
        residents.join(invitation.code, None, "secret1")
        raise AssertionError("expired code accepted")
    except residents.accounts.AccountError as exc:
        assert "过期" in str(exc)


def test_plain_html_sos(as_user, world):
    """Without JavaScript the first tap asks on a page of its own; only the confirmation sends."""
    resident = as_user("resident1")
    asked = resident.post("/sos", data={"csrf_token": resident.csrf}).get_data(as_text=True)
    assert "确定要发出紧急求助吗" in asked and 'id="sos-cancel"' in asked and 'href="/me"' in asked
    assert db.session.scalar(select(func.count(Alert.id))) == 0
    response = resident.post("/sos", data={"csrf_token": resident.csrf, "confirm": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "求助已发出" in html and 'href="tel:120"' in html
    assert db.session.scalar(select(func.count(Alert.id))) == 1


def test_alert_stored_but_not_yet_told_is_told_by_the_next_tick(world, monkeypatch):
    """The process dies between storing the alert and telling the workers: nothing is lost."""
    clock.freeze(T0)
    monkeypatch.setattr(alerts, "advance", lambda *a, **k: False)  # the crash
    alert_id = alerts.raise_alert("sos", world.grid1[0]).id
    monkeypatch.undo()
    assert notices_for("worker1", alert_id) == 0
    assert alerts.escalate_due() == 1  # the next tick, in whatever process
    assert notices_for("worker1", alert_id) == 1
    clock.advance(timedelta(minutes=5))
    alerts.escalate_due()
    assert notices_for("leader1", alert_id) == 1  # and the ladder goes on from there


def test_each_rung_is_climbed_once(world):
    clock.freeze(T0)
    alert_id = alerts.raise_alert("sos", world.grid1[0]).id
    assert alerts.advance(alert_id) is False  # not due yet
    clock.advance(timedelta(minutes=5))
    results = [alerts.advance(alert_id) for _ in range(3)]  # three schedulers racing
    assert results == [True, False, False]
    assert notices_for("leader1", alert_id) == 1


def test_urgent_visit_whose_alert_failed_is_raised_by_the_sweep(as_user, world, monkeypatch):
    worker = as_user("worker1")
    rec = {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
           "payload": {"household_id": world.grid1[0].id, "mode": "door", "occurred_at": "2026-11-20T10:00",
                       "urgent": "1"}}

    def down(*_a, **_k):
        raise RuntimeError("push queue unreachable")
    monkeypatch.setattr(alerts, "raise_alert", down)
    answer = worker.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": worker.csrf}).json
    assert answer["results"][0]["status"] == "stored"  # the visit is stored and answered so
    monkeypatch.undo()
    assert db.session.scalar(select(Alert).where(Alert.visit_uuid == rec["uuid"])) is None
    scheduler.tick()
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.visit_uuid == rec["uuid"])) == 1
    scheduler.tick()
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.visit_uuid == rec["uuid"])) == 1
