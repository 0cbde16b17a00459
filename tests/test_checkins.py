"""平安打卡 on the controllable clock: a missed check-in brings a reminder, then an alert, then
the leader; a paused elder raises nothing; the time it was pressed decides, not the sync; a
visit counts; staff enrol (in their grids) and check in on the elder's behalf; "last confirmed
OK" orders the worker's list."""
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, event, func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, Checkin, CheckinEnrolment, Household, Notice, User, Visit
from webapp.services import alerts, checkins, records, scheduler, scope, visits

DAY = date(2026, 11, 22)


def local(hour, minute=0, day=DAY):
    """Asia/Shanghai wall time (the demo community's) → naive UTC, as stored."""
    return datetime(day.year, day.month, day.day, hour, minute) - timedelta(hours=8)


def iso(when):
    return when.isoformat(timespec="seconds") + "Z"


def user(username):
    return db.session.scalar(select(User).where(User.username == username))


def notices(username, title=None, alert_id=None):
    q = select(func.count(Notice.id)).where(Notice.user_id == user(username).id)
    if title:
        q = q.where(Notice.title == title)
    if alert_id is not None:
        q = q.where(Notice.alert_id == alert_id)
    return db.session.scalar(q)


def checkin_alerts(household_id):
    return db.session.scalars(select(Alert).where(Alert.household_id == household_id,
                                                  Alert.source == "checkin")).all()


def elder_of(world):
    return db.session.get(Household, scope.own_household_id(world.users["resident1"]))


def enrolled(world, deadline="10:00"):
    clock.freeze(local(7))
    db.session.execute(delete(Visit))
    db.session.commit()
    household = elder_of(world)
    checkins.enrol(world.users["worker1"], household, deadline)
    db.session.commit()
    return household.id


def sweep_at(when):
    clock.freeze(when)
    return checkins.sweep()


def sync(client, records_):
    return client.post("/api/sync", json={"records": records_}, headers={"X-CSRFToken": client.csrf}).json["results"]


def checkin_record(household_id, recorded_at, mode=None):
    payload = {"household_id": household_id}
    if mode:
        payload["mode"] = mode
    return {"uuid": str(uuid.uuid4()), "kind": "checkin", "recorded_at": iso(recorded_at), "payload": payload}


def test_missed_checkin_reminder_then_alert_then_the_leader(world):
    hid = enrolled(world)
    assert sweep_at(local(9, 59)) == (0, 0)
    assert notices("resident1", "平安打卡提醒") == 0
    assert sweep_at(local(10, 0)) == (1, 0)  # the deadline: one reminder to the resident
    assert notices("resident1", "平安打卡提醒") == 1
    assert sweep_at(local(10, 29)) == (0, 0)  # not twice, and no alert within the grace period
    assert notices("resident1", "平安打卡提醒") == 1 and checkin_alerts(hid) == []
    # after the grace period (30 minutes by default): an alert to the household's worker, through the tick
    clock.freeze(local(10, 30))
    assert scheduler.tick()["checkins"] == (0, 1)
    found = checkin_alerts(hid)
    assert len(found) == 1 and found[0].state == "open" and found[0].severity == "high"
    assert notices("worker1", alert_id=found[0].id) == 1 and notices("leader1", alert_id=found[0].id) == 0
    assert sweep_at(local(11, 0)) == (0, 0) and len(checkin_alerts(hid)) == 1  # one alert a day
    # nobody acknowledges: the ladder climbs like any other alert's
    clock.freeze(local(10, 36))
    alerts.escalate_due()
    assert notices("leader1", alert_id=found[0].id) == 1
    # the next day starts afresh: again one reminder
    assert sweep_at(local(10, 1, DAY + timedelta(days=1)))[0] == 1
    assert notices("resident1", "平安打卡提醒") == 2


def test_a_paused_elder_raises_nothing(world, as_user):
    hid = enrolled(world)
    worker = as_user("worker1")
    response = worker.post(f"/households/{hid}/checkin/pauses", data={
        "csrf_token": worker.csrf, "reason": "hospital", "starts_on": "2026-11-22", "ends_on": "2026-11-23"})
    assert response.status_code == 302
    assert sweep_at(local(12)) == (0, 0)
    assert sweep_at(local(12, 0, DAY + timedelta(days=1))) == (0, 0)
    assert notices("resident1", "平安打卡提醒") == 0 and checkin_alerts(hid) == []
    # the day after the pause, the rule applies again
    assert sweep_at(local(12, 0, DAY + timedelta(days=2))) == (1, 1)


def test_pressed_offline_before_the_deadline_synced_after_it_counts_as_on_time(world, as_user):
    hid = enrolled(world)
    resident = as_user("resident1")
    clock.freeze(local(10, 40))  # back online 40 minutes after the deadline
    pressed = checkin_record(hid, local(9, 50))
    yesterday = checkin_record(hid, local(9, 50, DAY - timedelta(days=1)))
    assert [a["status"] for a in sync(resident, [pressed, yesterday])] == ["stored", "stored"]
    assert sync(resident, [pressed])[0]["status"] == "stored"  # replayed: still one row
    assert db.session.scalar(select(func.count(Checkin.id)).where(Checkin.uuid == pressed["uuid"])) == 1
    assert sweep_at(local(10, 41)) == (0, 0)
    assert notices("resident1", "平安打卡提醒") == 0 and checkin_alerts(hid) == []
    stored = db.session.scalar(select(Checkin).where(Checkin.uuid == pressed["uuid"]))
    assert stored.recorded_at == local(9, 50) and stored.mode == "self"
    assert "今天已打卡" in resident.get("/me").get_data(as_text=True)


def test_a_check_in_of_yesterday_synced_today_does_not_count(world, as_user):
    hid = enrolled(world)
    resident = as_user("resident1")
    clock.freeze(local(9))
    sync(resident, [checkin_record(hid, local(21, 0, DAY - timedelta(days=1)))])
    assert sweep_at(local(10, 31)) == (1, 1)


def test_a_visit_counts_as_the_days_check_in(world, as_user):
    hid = enrolled(world)
    clock.freeze(local(8, 30))
    assert records.ingest_one(world.users["worker1"], "visit", str(uuid.uuid4()),
                              {"household_id": hid, "mode": "door", "occurred_at": "2026-11-22T08:15"}
                              )["status"] == "stored"
    assert sweep_at(local(11)) == (0, 0)
    assert checkin_alerts(hid) == []
    assert "今天已打卡" in as_user("worker1").get(f"/households/{hid}").get_data(as_text=True)


def test_a_worker_checks_in_on_the_elders_behalf(world, as_user):
    hid = enrolled(world)
    worker = as_user("worker1")
    clock.freeze(local(9, 30))
    page = worker.get(f"/households/{hid}").get_data(as_text=True)
    assert 'data-outbox="checkin"' in page and "今天未打卡" in page
    response = worker.post(f"/households/{hid}/checkin", data={"csrf_token": worker.csrf, "mode": "phone"})
    assert response.status_code == 302
    row = db.session.scalar(select(Checkin).where(Checkin.household_id == hid))
    assert row.author_id == world.users["worker1"].id and row.mode == "phone"
    assert sweep_at(local(11)) == (0, 0)
    page = worker.get(f"/households/{hid}").get_data(as_text=True)
    assert "今天已打卡" in page and "电话确认平安" in page


def test_enrolment_is_staff_only_in_their_grids_and_checks_its_input(world, as_user):
    hid = enrolled(world)
    worker = as_user("worker1")
    for bad in ("25:00", "abc", "10:61", "", "03:00", "１０:００"):
        response = worker.post(f"/households/{hid}/checkin/enrol", data={"csrf_token": worker.csrf, "deadline": bad},
                               follow_redirects=True)
        assert "截止时间" in response.get_data(as_text=True), bad
    assert db.session.scalar(select(CheckinEnrolment.deadline_minutes)) == 600  # unchanged
    bad_pause = worker.post(f"/households/{hid}/checkin/pauses", follow_redirects=True, data={
        "csrf_token": worker.csrf, "reason": "family", "starts_on": "2026-11-25", "ends_on": "2026-11-24"})
    assert "结束日期不能早于开始日期" in bad_pause.get_data(as_text=True)
    # another grid's worker, the other community's staff and the resident: 404, nothing changes
    other_grid = world.grid2[0].id
    assert worker.post(f"/households/{other_grid}/checkin/enrol",
                       data={"csrf_token": worker.csrf, "deadline": "09:00"}).status_code == 404
    for username in ("resident1", "volunteer1", "c2_worker1", "c2_admin"):
        client = as_user(username)
        assert client.post(f"/households/{hid}/checkin/enrol",
                           data={"csrf_token": client.csrf, "deadline": "09:00"}).status_code == 404, username
    assert db.session.scalar(select(func.count(CheckinEnrolment.id))) == 1
    ok = worker.post(f"/households/{hid}/checkin/enrol", data={"csrf_token": worker.csrf, "deadline": "08:30"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(CheckinEnrolment.deadline_minutes)) == 510


def test_check_in_is_the_residents_own_household_only(world, as_user):
    hid = enrolled(world)
    clock.freeze(local(9))
    resident = as_user("resident1")
    other = world.grid1[0].id if world.grid1[0].id != hid else world.grid1[1].id
    answers = sync(resident, [checkin_record(other, local(9)), checkin_record(world.other.grid1[0].id, local(9)),
                              checkin_record(hid, local(9), mode="phone")])
    assert [a["code"] for a in answers] == ["out_of_scope", "out_of_scope", "invalid"]
    assert sync(as_user("volunteer1"), [checkin_record(hid, local(9))])[0]["code"] == "forbidden"
    assert sync(as_user("worker2"), [checkin_record(hid, local(9))])[0]["code"] == "out_of_scope"
    assert db.session.scalar(select(func.count(Checkin.id))) == 0
    # the plain HTML button: one's own household, always
    page = resident.post("/checkin", data={"csrf_token": resident.csrf}).get_data(as_text=True)
    assert "已报平安" in page
    assert db.session.scalar(select(Checkin.household_id)) == hid


def test_grace_period_is_a_community_setting(world, as_user):
    hid = enrolled(world)
    admin = as_user("admin")
    response = admin.post("/admin/settings", data={
        "csrf_token": admin.csrf, "part": "ladder", "escalate_leader_minutes": "5", "escalate_admin_minutes": "15",
        "high_risk_days": "7", "overdue_alert_margin_days": "3", "checkin_grace_minutes": "60"})
    assert response.status_code in (200, 302)
    assert sweep_at(local(10, 45)) == (1, 0)
    assert sweep_at(local(11, 0)) == (0, 1)
    assert len(checkin_alerts(hid)) == 1


def test_last_confirmed_ok_on_the_household_page_and_the_worker_list(world, as_user):
    clock.freeze(local(12))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker = world.users["worker1"]
    entries = visits.today_list(worker)
    risky = [e.household.id for e in entries if e.interval is not None and e.interval <= 7]
    assert len(risky) >= 2
    first, second = risky[0], risky[1]
    # the first one checks in: it is no longer the silent one, the other comes first now
    records.ingest_one(worker, "checkin", str(uuid.uuid4()), {"household_id": first, "mode": "phone"})
    order = [e.household.id for e in visits.today_list(worker)]
    assert order.index(second) < order.index(first)
    # a resolved alert is a confirmation too; a false alarm is not
    clock.freeze(local(13))
    alert = alerts.raise_alert("worker", db.session.get(Household, second), raised_by=worker)
    alerts.resolve(alert, worker, "已上门，老人安好")
    db.session.commit()
    latest = checkins.last_confirmed_ok([first, second])
    assert latest == {first: local(12), second: local(13)}
    page = as_user("worker1").get(f"/households/{second}").get_data(as_text=True)
    assert "最近确认平安" in page and "2026-11-22 13:00" in page
    # one query per source for a whole list, however long (no N+1)
    ids = [h.id for h in world.grid1 + world.grid2]
    statements = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        checkins.last_confirmed_ok(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(statements) <= 4


def test_the_demo_enrols_resident1_and_some_elders(world, as_user):
    from webapp.models import CheckinPause
    from webapp.services import demo
    clock.freeze(local(9))
    demo.seed_checkins(world.community)
    demo.seed_checkins(world.community)  # idempotent
    hid = scope.own_household_id(world.users["resident1"])
    enrolled_ids = set(db.session.scalars(select(CheckinEnrolment.household_id)))
    assert hid in enrolled_ids and len(enrolled_ids) >= 2
    assert db.session.scalar(select(func.count(CheckinPause.id))) == 1
    assert "请在每天 10:00 前点“我很好”报平安" in as_user("resident1").get("/me").get_data(as_text=True)


def test_a_check_in_that_arrives_after_the_alert_stands_it_down_and_tells_who_was_told(world, as_user):
    """The phone was in a drawer with no signal: 我很好 pressed at 09:50 reaches the server at 10:45,
    after the missed check-in alert went to the worker. The elder is fine: the alert is closed and
    the worker hears so, instead of rushing over."""
    hid = enrolled(world)
    sweep_at(local(10, 0))
    sweep_at(local(10, 31))
    [alert] = checkin_alerts(hid)
    assert notices("worker1", alert_id=alert.id) == 1
    resident = as_user("resident1")
    clock.freeze(local(10, 45))
    assert sync(resident, [checkin_record(hid, local(9, 50))])[0]["status"] == "stored"
    db.session.expire_all()
    [alert] = checkin_alerts(hid)
    assert alert.state == "resolved" and "打卡" in alert.outcome
    assert notices("worker1", alert_id=alert.id) == 2  # the alert, then the all-clear
    clock.freeze(local(10, 50))
    alerts.escalate_due()  # no rung climbs any more: the leader is not told
    assert notices("leader1", alert_id=alert.id) == 0
    # a second check-in the same day changes nothing more
    assert sync(resident, [checkin_record(hid, local(10, 46))])[0]["status"] == "stored"
    assert notices("worker1", alert_id=alert.id) == 2


def test_an_elder_enrolled_after_todays_deadline_is_first_expected_tomorrow(world):
    """Enrolled at 15:00 with a 10:00 deadline: the elder never had a chance today, so no reminder
    and no alert to the worker today; tomorrow the deadline holds."""
    clock.freeze(local(15))
    db.session.execute(delete(Visit))
    db.session.commit()
    household = elder_of(world)
    checkins.enrol(world.users["worker1"], household, "10:00")
    db.session.commit()
    assert sweep_at(local(15, 1)) == (0, 0)
    assert sweep_at(local(16, 0)) == (0, 0)
    assert notices("resident1", "平安打卡提醒") == 0 and checkin_alerts(household.id) == []
    assert sweep_at(local(10, 0, DAY + timedelta(days=1))) == (1, 0)
    assert sweep_at(local(10, 30, DAY + timedelta(days=1))) == (0, 1)


def test_two_late_check_ins_at_once_close_the_alert_once_and_tell_once(app, world, as_user):
    """The elder's two phones (or a retried sync) deliver 我很好 at the same moment after the alert:
    the alert is closed once, by nobody from the community, and the worker hears the all-clear once."""
    import threading
    hid = enrolled(world)
    sweep_at(local(10, 0))
    sweep_at(local(10, 31))
    [alert] = checkin_alerts(hid)
    clock.freeze(local(10, 45))
    resident_id = world.users["resident1"].id
    start, answers = threading.Barrier(3), []

    def check_in():
        with app.app_context():
            me = db.session.get(User, resident_id)
            start.wait()
            answers.append(records.ingest(me, [checkin_record(hid, local(10, 44))])[0]["status"])
            db.session.remove()

    threads = [threading.Thread(target=check_in) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.session.expire_all()
    assert answers == ["stored"] * 3
    [alert] = checkin_alerts(hid)
    assert alert.state == "resolved" and alert.acknowledged_by is None and alert.resolved_by is None
    assert [e.kind for e in alert.events].count("stood_down") == 1
    assert notices("worker1", alert_id=alert.id) == 2  # the alert, then one all-clear
    page = as_user("worker1").get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "老人已报平安，自动解除" in page


def test_two_staff_enrol_the_same_elder_at_once(world, as_user):
    """Two staff (or a double tap) enrol the same elder at the same moment: the same act twice, so
    both see it done, never a server error; the elder has one enrolment, with one of the deadlines."""
    from tests.races import at_once
    clock.freeze(local(7))
    enrolled_ids = set(db.session.scalars(select(CheckinEnrolment.household_id)))
    hid = next(h.id for h in world.grid1 if h.id not in enrolled_ids)
    clients = [as_user("worker1"), as_user("leader1")]

    def enrol(i, deadline):
        return lambda: clients[i].post(f"/households/{hid}/checkin/enrol",
                                       data={"csrf_token": clients[i].csrf, "deadline": deadline})
    answers = at_once([enrol(0, "08:00"), enrol(1, "09:00")], "checkin_enrolment")
    assert [getattr(a, "status_code", 500) for a in answers] == [302, 302], answers
    db.session.expire_all()
    [row] = db.session.scalars(select(CheckinEnrolment).where(CheckinEnrolment.household_id == hid)).all()
    assert row.active and row.deadline in ("08:00", "09:00")
    page = clients[0].get(f"/households/{hid}").get_data(as_text=True)
    assert f"每天 {row.deadline} 前打卡" in page


def test_one_sweep_alerting_many_elders_tells_each_grids_own_people_once(world):
    """The sweep raises its alerts together (one transaction, recipients looked up once per grid):
    each elder's alert still tells only the workers of that elder's own grid (a micro-grid's
    worker for theirs, never for a sibling's), a grid with no worker goes to its leader at once,
    and nobody in the other community hears of any of it."""
    from webapp.models import GridAssignment
    clock.freeze(local(7))
    db.session.execute(delete(Visit))
    db.session.execute(delete(Checkin))
    # grid 2 loses its workers and gets leader1 as its leader: its elders' alerts go straight to her
    grid2_ids = [world.grids[1].id] + [g.id for g in world.grids[1].children]
    db.session.execute(delete(GridAssignment).where(
        GridAssignment.grid_id.in_(grid2_ids),
        GridAssignment.user_id.in_(select(User.id).where(User.role == "worker"))))
    db.session.add(GridAssignment(user_id=world.users["leader1"].id, grid_id=world.grids[1].id))
    db.session.commit()
    micro_home, sibling_home = world.micro_households[0], world.sibling_households[0]
    grid2_homes = world.grid2[:3]
    other_home = world.other.grid1[0]
    homes = [micro_home, sibling_home, *grid2_homes, other_home]
    for home in homes[:-1]:
        checkins.enrol(world.users["worker1"], home, "10:00")
    checkins.enrol(world.users["c2_worker1"], other_home, "10:00")
    db.session.commit()

    assert sweep_at(local(10, 30)) == (len(homes), len(homes))
    told = {}
    for home in homes:
        found = checkin_alerts(home.id)
        assert len(found) == 1, home.id
        told[home.id] = {db.session.get(User, uid).username for uid in db.session.scalars(
            select(Notice.user_id).where(Notice.alert_id == found[0].id))}
        assert sum(1 for _ in db.session.scalars(select(Notice.id).where(Notice.alert_id == found[0].id))) \
            == len(told[home.id]), "someone was told twice"
    assert "microworker1" in told[micro_home.id] and "worker1" in told[micro_home.id]
    assert "microworker1" not in told[sibling_home.id] and "worker1" in told[sibling_home.id]
    for home in grid2_homes:
        assert told[home.id] == {"leader1"}, told[home.id]
    assert told[other_home.id] and all(name.startswith("c2_") for name in told[other_home.id])
    assert not any(name.startswith("c2_") for home in homes[:-1] for name in told[home.id])
    # the same sweep again raises nothing more
    assert sweep_at(local(10, 45)) == (0, 0)
    assert all(len(checkin_alerts(home.id)) == 1 for home in homes)
