"""A safer SOS: presses while the alert is open add to it (how many, when) instead of raising
new ones; a flood makes one alert and its notices; the resident sees who was told and who
responded."""
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, AlertEvent, Notice, SosPress, User
from webapp.services import alerts, scope

T0 = datetime(2026, 11, 22, 2, 0)


def press(household_id, when=None):
    return {"uuid": str(uuid.uuid4()), "kind": "sos", "recorded_at": (when or clock.utcnow()).isoformat() + "Z",
            "payload": {"household_id": household_id}}


def sync(client, recs):
    return client.post("/api/sync", json={"records": recs}, headers={"X-CSRFToken": client.csrf}).json["results"]


def count(model, *where):
    return db.session.scalar(select(func.count(model.id)).where(*where))


def test_three_presses_make_one_alert_with_three_presses(world, as_user):
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    for i in range(3):
        assert sync(resident, [press(hid)])[0]["status"] == "stored"
        clock.advance(timedelta(seconds=20))
    found = db.session.scalars(select(Alert)).all()
    assert len(found) == 1 and found[0].source == "sos" and found[0].author_id == world.users["resident1"].id
    alert = found[0]
    assert count(SosPress, SosPress.alert_id == alert.id) == 3
    kinds = [e.kind for e in alert.events]
    assert kinds == ["raised", "notified", "pressed", "pressed"]
    assert "第3次" in alert.events[-1].detail and "10:00:40" in alert.events[-1].detail  # local time of the press
    workers = alerts.responders(alert.household, 0)
    assert world.users["worker1"].id in workers
    assert count(Notice, Notice.alert_id == alert.id) == len(workers)  # each grid worker, once
    page = as_user("worker1").get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "再次按下求助" in page and "第2次" in page and "第3次" in page
    # once it is closed, a new press is a new emergency
    alerts.resolve(alert, world.users["worker1"], "已上门")
    db.session.commit()
    sync(resident, [press(hid)])
    assert count(Alert) == 2


def test_a_flood_of_presses_makes_one_alert_and_its_notices(world, as_user):
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    one_batch = [press(hid) for _ in range(15)]
    assert {a["status"] for a in sync(resident, one_batch)} == {"stored"}
    for _ in range(15):  # and one by one, as fast as a test client goes
        assert sync(resident, [press(hid)])[0]["status"] == "stored"
    assert count(Alert) == 1
    alert_id = db.session.scalar(select(Alert.id))
    assert count(SosPress, SosPress.alert_id == alert_id) == 30  # every press counted
    workers = alerts.responders(db.session.get(Alert, alert_id).household, 0)
    assert count(Notice) == len(workers) <= 2  # the ladder's first rung only: each grid worker once
    # the rate limit: only the first few presses reach the timeline
    assert count(AlertEvent, AlertEvent.kind == "pressed") <= 5
    latest = db.session.scalar(select(AlertEvent).where(AlertEvent.kind == "pressed").order_by(AlertEvent.id.desc()))
    assert latest.detail.startswith("第30次")  # the timeline still says how many
    # a replayed press is still one press
    again = one_batch[0]
    assert sync(resident, [again])[0]["status"] == "stored"
    assert count(SosPress) == 30


def test_the_resident_sees_who_was_told_and_who_responded(world, as_user):
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    assert 'id="sos-told"' not in resident.get("/me/sos-status").get_data(as_text=True)
    page = resident.post("/sos", data={"csrf_token": resident.csrf, "confirm": "1"}).get_data(as_text=True)
    worker = world.users["worker1"]
    assert f"已通知 {worker.name}" in page and 'hx-get="/me/sos-status"' in page
    alert = db.session.scalar(select(Alert))
    assert alert.household_id == hid
    alerts.acknowledge(alert, worker)
    db.session.commit()
    status = resident.get("/me/sos-status").get_data(as_text=True)
    assert f"{worker.name} 已响应，正在联系您" in status and 'hx-get' in status  # still polling until resolved
    assert f"{worker.name} 已响应" in resident.get("/me").get_data(as_text=True)  # and on reload
    alerts.resolve(alert, worker, "已上门")
    db.session.commit()
    status = resident.get("/me/sos-status").get_data(as_text=True)
    assert "已处置" in status and "hx-get" not in status  # closed: no more polling


def test_sos_presses_only_for_ones_own_household(world, as_user):
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    other = next(h.id for h in world.grid1 if h.id != hid)
    answers = sync(resident, [press(other), press(world.other.grid1[0].id)])
    assert [a["code"] for a in answers] == ["out_of_scope", "out_of_scope"]
    assert sync(as_user("worker1"), [press(hid)])[0]["code"] == "forbidden"
    assert count(Alert) == 0 and count(SosPress) == 0
    # the older "alert" kind from a resident does not open a second alert beside an open one
    sync(resident, [press(hid)])
    old = {"uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": T0.isoformat() + "Z",
           "payload": {"household_id": hid, "source": "sos"}}
    assert sync(resident, [old])[0]["code"] == "conflict"
    assert count(Alert) == 1


def test_every_resident_page_has_sos_and_logout_asks_first(world, as_user):
    resident = as_user("resident1")
    for path in ("/me", "/inbox", "/settings", "/me/viewers"):
        assert 'id="sos-bar" href="/me#sos"' in resident.get(path).get_data(as_text=True), path
    settings = resident.get("/settings").get_data(as_text=True)
    assert '<details class="confirm-out" id="logout">' in settings and "确定要退出登录吗" in settings
    assert 'id="sos-bar"' not in as_user("worker1").get("/settings").get_data(as_text=True)


def test_presses_at_the_same_moment_make_one_alert(app, world):
    """Two phones of one household (or a retried request) press at once: still one alert."""
    import threading
    from webapp.services import records
    clock.freeze(T0)
    resident_id = world.users["resident1"].id
    hid = scope.own_household_id(world.users["resident1"])
    start, answers = threading.Barrier(4), []

    def press_once():
        with app.app_context():
            me = db.session.get(User, resident_id)
            start.wait()
            answers.append(records.ingest(me, [press(hid)])[0]["status"])
            db.session.remove()

    threads = [threading.Thread(target=press_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.session.expire_all()
    assert answers == ["stored"] * 4
    assert count(Alert) == 1 and count(SosPress, SosPress.alert_id.is_not(None)) == 4


def test_a_press_after_the_acknowledgement_tells_the_responder(world, as_user):
    """The ladder stops at the acknowledgement: a press on the acknowledged alert reaches the person
    who acknowledged it (a notice), and is filed on the same alert."""
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    sync(resident, [press(hid)])
    alert = db.session.scalar(select(Alert))
    worker = world.users["worker1"]
    alerts.acknowledge(alert, worker)
    db.session.commit()
    before = count(Notice, Notice.user_id == worker.id, Notice.alert_id == alert.id)
    clock.advance(timedelta(minutes=30))
    assert sync(resident, [press(hid)])[0]["status"] == "stored"
    assert count(Alert) == 1 and count(SosPress, SosPress.alert_id == alert.id) == 2
    titles = db.session.scalars(select(Notice.title).where(Notice.user_id == worker.id,
                                                           Notice.alert_id == alert.id)).all()
    assert len(titles) == before + 1 and "居民再次按下求助" in titles


def test_a_press_hours_after_the_acknowledgement_is_a_new_alert(world, as_user):
    """Acknowledged at 10:05 and never closed: a press at 13:00 the same day is a new emergency,
    with its own ladder; the resident's screen no longer says the old responder is coming."""
    clock.freeze(T0)
    resident = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])
    sync(resident, [press(hid)])
    first = db.session.scalar(select(Alert))
    worker = world.users["worker1"]
    clock.advance(timedelta(minutes=5))
    alerts.acknowledge(first, worker)
    db.session.commit()
    clock.advance(timedelta(hours=2, minutes=55))
    assert sync(resident, [press(hid)])[0]["status"] == "stored"
    found = db.session.scalars(select(Alert).order_by(Alert.id)).all()
    assert len(found) == 2 and found[1].state == "open"
    assert count(SosPress, SosPress.alert_id == first.id) == 1
    assert count(Notice, Notice.alert_id == found[1].id, Notice.user_id == worker.id) == 1  # the ladder's first rung
    assert "已响应，正在联系您" not in resident.get("/me/sos-status").get_data(as_text=True)
