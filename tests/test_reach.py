"""Issue 10, part 1: someone other than the raiser is always told. The raiser is never a
recipient, nor are people away (请假); a rung with nobody left on it hands over to the next
rung at once; the ladder never ends without a person told, or says so loudly."""
import logging
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Absence, Alert, Notice, User
from webapp.services import accounts, alerts, demo, records

T0 = datetime(2026, 11, 22, 2, 0)  # 10:00 in Shanghai, 22 November
TODAY = date(2026, 11, 22)


def told(username, alert_id):
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                 Notice.alert_id == alert_id))


def timeline(alert_id):
    db.session.expire_all()
    return [(e.kind, e.detail) for e in db.session.get(Alert, alert_id).events]


def away(user, start=TODAY, end=TODAY, kind="sick"):
    db.session.add(Absence(user_id=user.id, kind=kind, start_date=start, end_date=end, note=""))
    db.session.commit()


def test_only_workers_own_alert_reaches_the_leader_at_once(world):
    """worker1 is the only worker of grid 1's second micro-grid: her own alert goes to leader1 now."""
    clock.freeze(T0)
    household = world.sibling_households[0]
    alert_id = alerts.raise_alert("worker", household, raised_by=world.users["worker1"], note="老人摔倒").id
    assert told("leader1", alert_id) == 1
    assert told("worker1", alert_id) == 0 and told("admin", alert_id) == 0
    events = timeline(alert_id)
    assert [k for k, _d in events] == ["raised", "handed_over", "escalated"]
    assert events[2][1] == "网格长 1人"  # the raiser is not counted
    notice = db.session.scalar(select(Notice).where(Notice.alert_id == alert_id))
    assert "直接通知" in notice.body
    # the admins' rung still falls due 15 minutes after the alert, not 15 after the handover
    clock.advance(timedelta(minutes=14, seconds=59))
    alerts.escalate_due()
    assert told("admin", alert_id) == 0
    clock.advance(timedelta(seconds=1))
    alerts.escalate_due()
    assert told("admin", alert_id) == 1


def test_the_timeline_page_shows_the_handover_and_no_self_count(as_user, world):
    clock.freeze(T0)
    household = world.sibling_households[0]
    worker = as_user("worker1")
    response = worker.post(f"/households/{household.id}/alerts", data={"csrf_token": worker.csrf, "note": "x",
                                                                       "uuid": str(uuid.uuid4())})
    page = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert "网格员 1人" not in page and "网格长 1人" in page and "转交" in page


def test_another_worker_of_the_grid_is_told_not_the_raiser(world):
    clock.freeze(T0)
    household = world.micro_households[0]  # worker1 (whole grid 1) and microworker1 (this micro-grid)
    alert_id = alerts.raise_alert("worker", household, raised_by=world.users["microworker1"]).id
    assert told("worker1", alert_id) == 1 and told("microworker1", alert_id) == 0
    assert told("leader1", alert_id) == 0
    assert timeline(alert_id)[-1] == ("notified", "网格员 1人")


def test_grid_with_no_worker_reaches_its_leader_at_once(world):
    clock.freeze(T0)
    grid3 = world.grids[2]
    accounts.create_user(world.community, "leader3", "周网格长", "leader", demo.PASSWORD, grids=[grid3],
                         password_hash=demo._demo_hash())
    db.session.commit()
    household = world.households_in(grid3)[0]
    alert_id = alerts.raise_alert("sos", household).id
    assert told("leader3", alert_id) == 1 and told("admin", alert_id) == 0
    assert [k for k, _d in timeline(alert_id)] == ["raised", "handed_over", "escalated"]


def test_grid_with_no_worker_and_no_leader_reaches_the_admins_at_once(world):
    clock.freeze(T0)
    household = world.households_in(world.grids[3])[0]
    alert_id = alerts.raise_alert("sos", household).id
    assert told("admin", alert_id) == 1
    assert [k for k, _d in timeline(alert_id)] == ["raised", "handed_over", "handed_over", "escalated"]
    assert db.session.get(Alert, alert_id).next_escalation_at is None  # the top: told, nothing further


def test_an_away_worker_is_skipped(world):
    clock.freeze(T0)
    away(world.users["worker1"])
    alert_id = alerts.raise_alert("sos", world.sibling_households[0]).id
    assert told("worker1", alert_id) == 0 and told("leader1", alert_id) == 1
    # away on other days only: told as usual
    db.session.execute(Absence.__table__.update().values(start_date=date(2026, 11, 23), end_date=date(2026, 11, 25)))
    db.session.commit()
    second = alerts.raise_alert("sos", world.sibling_households[1]).id
    assert told("worker1", second) == 1 and told("leader1", second) == 0


def test_away_is_by_the_communitys_local_date(world):
    """An absence ending on the 22nd is over at 00:00 on the 23rd in Shanghai (16:00 UTC on the 22nd)."""
    clock.freeze(datetime(2026, 11, 22, 16, 1))
    away(world.users["worker1"], start=date(2026, 11, 20), end=date(2026, 11, 22))
    alert_id = alerts.raise_alert("sos", world.sibling_households[0]).id
    assert told("worker1", alert_id) == 1


def test_an_urgent_visit_by_the_only_worker_reaches_the_leader_at_once(as_user, world):
    clock.freeze(T0)
    worker = as_user("worker1")
    household = world.sibling_households[0]
    rec = {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-22T01:50:00Z",
           "payload": {"household_id": household.id, "mode": "door", "occurred_at": "2026-11-22T09:50",
                       "urgent": "1", "note": "独居老人发烧"}}
    answer = worker.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": worker.csrf}).json
    assert answer["results"][0]["status"] == "stored"
    alert = db.session.scalar(select(Alert).where(Alert.visit_uuid == rec["uuid"]))
    assert told("leader1", alert.id) == 1 and told("worker1", alert.id) == 0


def test_nobody_at_all_is_said_loudly_and_the_alert_stays_open(world, caplog):
    clock.freeze(T0)
    for name in ("admin",):
        world.users[name].active = False
    db.session.commit()
    household = world.households_in(world.grids[3])[0]
    with caplog.at_level(logging.ERROR):
        alert_id = alerts.raise_alert("sos", household).id
    assert any("nobody to tell" in r.getMessage() for r in caplog.records)
    events = timeline(alert_id)
    assert events[-1][0] == "unreached" and "无人可通知" in events[-1][1]
    alert = db.session.get(Alert, alert_id)
    assert alert.state == "open"
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.alert_id == alert_id)) == 0


def test_admins_all_away_are_still_told_at_the_last_rung(world):
    clock.freeze(T0)
    away(world.users["admin"], kind="leave")
    household = world.households_in(world.grids[3])[0]
    alert_id = alerts.raise_alert("sos", household).id
    assert told("admin", alert_id) == 1


def test_a_leaders_own_alert_skips_the_leader(world):
    clock.freeze(T0)
    away(world.users["worker1"])
    household = world.sibling_households[0]
    alert_id = records.ingest_one(world.users["leader1"], "alert", str(uuid.uuid4()),
                                  {"household_id": household.id, "source": "worker"})
    alert = db.session.scalar(select(Alert).where(Alert.uuid == alert_id["uuid"]))
    assert told("leader1", alert.id) == 0 and told("admin", alert.id) == 1
