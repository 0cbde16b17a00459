"""Issue 10, part 2: overdue is not an emergency. High-risk elders overdue for a visit go to an
overdue list and one digest notice per worker per local day, not one alert per household;
open system alerts left from before are closed as superseded."""
import importlib.util
import pathlib
import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, Notice, User, Visit
from webapp.services import alerts, overdue, records, scheduler

T0 = datetime(2026, 11, 22, 2, 0)  # 10:00 in Shanghai


def _visit(user, household_id, days_ago):
    when = (clock.utcnow() - timedelta(days=days_ago) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    answer = records.ingest_one(user, "visit", str(uuid.uuid4()),
                                {"household_id": household_id, "mode": "door", "occurred_at": when})
    assert answer["status"] == "stored", answer


def _digests(username):
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.subject_type == "overdue")
                              .order_by(Notice.id)).all()


def _no_visits():
    db.session.execute(delete(Visit))
    db.session.commit()


def _rows(html):
    return re.findall(r'<li><a href="/households/(\d+)"', html[html.index('id="overdue"'):])


def test_the_list_is_most_overdue_first_and_scoped(as_user, world):
    clock.freeze(T0)
    _no_visits()
    worker = world.users["worker1"]
    # every high-risk elder of grid 1 visited yesterday, but for two: one 20 days ago, one 11 days ago
    elders = [e.household.id for e in overdue.entries(worker)]
    assert world.grid1[0].id in elders
    for hid in elders:
        _visit(worker, hid, days_ago=1)
    long_ago, less = world.grid1[0].id, elders[-1]
    assert long_ago != less
    _visit(worker, long_ago, days_ago=20)
    _visit(worker, less, days_ago=11)
    db.session.execute(delete(Visit).where(Visit.household_id.in_([long_ago, less]),
                                           Visit.occurred_at > clock.utcnow() - timedelta(days=2)))
    db.session.commit()
    page = as_user("worker1").get("/overdue").get_data(as_text=True)
    assert _rows(page) == [str(long_ago), str(less)]
    assert "已逾期13天未走访" in page and "已逾期4天未走访" in page  # weekly: 20-7 and 11-7
    # worker2 (grid 2) sees neither; the admin sees both
    assert not {str(long_ago), str(less)} & set(_rows(as_user("worker2").get("/overdue").get_data(as_text=True)))
    admin_rows = _rows(as_user("admin").get("/overdue").get_data(as_text=True))
    assert str(long_ago) in admin_rows and str(less) in admin_rows
    # within the margin (3 days) is not on the list
    _visit(worker, less, days_ago=9)
    assert _rows(as_user("worker1").get("/overdue").get_data(as_text=True)) == [str(long_ago)]


def test_the_list_pages(as_user, world):
    clock.freeze(T0)
    _no_visits()
    admin = world.users["admin"]
    total = len(overdue.entries(admin))
    assert total > 4
    first, second = overdue.page(admin, 1, per_page=4), overdue.page(admin, 2, per_page=4)
    assert len(first.entries) == 4 and first.pages == -(-total // 4)
    assert not {e.household.id for e in first.entries} & {e.household.id for e in second.entries}
    assert overdue.page(admin, 999, per_page=4).page == first.pages  # past the end: the last page
    client = as_user("admin")
    assert client.get("/overdue?page=abc").status_code == 200


def test_one_digest_per_worker_per_local_day_and_no_alerts(as_user, world):
    clock.freeze(T0)
    _no_visits()
    scheduler.tick()
    [digest] = _digests("worker1")
    n = int(re.match(r"(\d+) 户高风险老人走访逾期", digest.title).group(1))
    assert n == len(_rows(as_user("worker1").get("/overdue?page=1").get_data(as_text=True))) > 0
    assert digest.url == "/overdue"
    assert db.session.scalar(select(func.count(Alert.id))) == 0  # no alert per household
    assert len(_digests("worker2")) == 1 and _digests("leader1") == [] and _digests("admin") == []
    for hours in (1, 5, 12):  # later sweeps the same local day send nothing more
        clock.freeze(T0 + timedelta(hours=hours))
        scheduler.tick()
    assert len(_digests("worker1")) == 1  # 22:00 in Shanghai: still the 22nd
    clock.freeze(T0 + timedelta(hours=14))  # 00:00 on the 23rd: night, not yet
    scheduler.tick()
    assert len(_digests("worker1")) == 1
    clock.freeze(T0 + timedelta(days=1))  # 10:00 on the 23rd
    scheduler.tick()
    assert len(_digests("worker1")) == 2
    assert db.session.scalar(select(func.count(Alert.id))) == 0


def test_no_digest_for_a_worker_away_or_with_nothing_overdue(world):
    from webapp.models import Absence
    clock.freeze(T0)
    _no_visits()
    db.session.add(Absence(user_id=world.users["worker2"].id, kind="leave", start_date=T0.date(),
                           end_date=T0.date(), note=""))
    db.session.commit()
    worker = world.users["worker1"]
    for e in overdue.entries(worker):
        _visit(worker, e.household.id, days_ago=1)
    overdue.send_digests(world.community)
    assert _digests("worker1") == [] and _digests("worker2") == []


def _migration():
    path = pathlib.Path(__file__).parent.parent / "webapp/migrations/versions/h10a_1_absence_overdue_digest.py"
    spec = importlib.util.spec_from_file_location("h10a_1", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_upgrade_closes_open_system_alerts_as_superseded(world):
    clock.freeze(T0)
    household = world.grid1[0]
    system = alerts.raise_alert("system", household, severity="medium").id
    acked = alerts.raise_alert("system", world.grid1[1], severity="medium")
    alerts.acknowledge(acked, world.users["worker1"])
    db.session.commit()
    acked = acked.id
    sos = alerts.raise_alert("sos", household).id
    assert _migration().close_open_system_alerts(db.session.connection()) == 2
    db.session.commit()
    db.session.expire_all()
    for alert_id in (system, acked):
        alert = db.session.get(Alert, alert_id)
        assert alert.state == "resolved" and alert.next_escalation_at is None and "逾期名单" in alert.outcome
        assert alert.events[-1].kind == "resolved"
    assert db.session.get(Alert, sos).state == "open"
    assert _migration().close_open_system_alerts(db.session.connection()) == 0  # once only
    # the ladder does not climb them any more
    about_them = select(func.count(Notice.id)).where(Notice.subject_type == "alert",
                                                     Notice.subject_id.in_([system, acked]))
    before = db.session.scalar(about_them)
    clock.advance(timedelta(hours=1))
    alerts.escalate_due()
    assert db.session.scalar(about_them) == before


def test_the_demos_first_start_leaves_worker1_few_unread_notices(app):
    clock.freeze(T0)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    scheduler.tick()
    clock.advance(timedelta(minutes=5))
    scheduler.tick()  # five minutes later: nothing escalates to leader1 either
    worker1 = db.session.scalar(select(User).where(User.username == "worker1"))
    leader1 = db.session.scalar(select(User).where(User.username == "leader1"))
    unread = lambda u: db.session.scalar(select(func.count(Notice.id)).where(  # noqa: E731
        Notice.user_id == u.id, Notice.read_at.is_(None)))
    assert 1 <= unread(worker1) < 10
    assert unread(leader1) < 10
    assert len(_digests("worker1")) == 1
