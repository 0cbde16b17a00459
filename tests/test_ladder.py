"""The timed ladder as a shared part: a subject model other than alerts climbs it
with its own columns and rungs; notices refer to that subject; open system alerts
are unique per household even when two processes scan at once."""
import threading
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, Community, Notice, Visit
from webapp.services import alerts, ladder, overdue, records, visits

T0 = datetime(2026, 11, 22, 2, 0)

Base = declarative_base()


class Errand(Base):
    """A stand-in for a later subject (a resident's request past its time limit)."""
    __tablename__ = "test_errand"
    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String(10), nullable=False, default="open")
    rung = sa.Column(sa.Integer, nullable=False)
    due_at = sa.Column(sa.DateTime)
    opened_at = sa.Column(sa.DateTime, nullable=False)


class ErrandLadder(ladder.Ladder):
    model = Errand
    subject_type = "errand"
    level_column = "rung"
    deadline_column = "due_at"

    def __init__(self, first, second):
        self.told = []
        self.rungs = (ladder.Rung("first", lambda e: [first]),
                      ladder.Rung("second", lambda e: [second], lambda e: timedelta(hours=2)))

    def climbing(self):
        return Errand.status == "open"

    def started_at(self, errand):
        return errand.opened_at

    def record(self, errand, level, rung, recipients):
        self.told.append((level, rung.label, list(recipients)))

    def message(self, errand, level, now):
        return f"errand {errand.id}", f"rung {level}", f"/errands/{errand.id}"


@pytest.fixture
def errands(app):
    Base.metadata.create_all(db.engine)
    yield
    db.session.remove()
    Base.metadata.drop_all(db.engine)


def _notices(user, subject_type, subject_id):
    db.session.expire_all()
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id, Notice.subject_type == subject_type,
                                                   Notice.subject_id == subject_id)).all()


def test_another_subject_climbs_the_same_ladder(world, errands):
    clock.freeze(T0)
    worker, leader = world.users["worker1"], world.users["leader1"]
    lad = ErrandLadder(worker.id, leader.id)
    errand = Errand(opened_at=T0, **lad.start(T0))
    db.session.add(errand)
    db.session.commit()
    eid = errand.id
    assert ladder.run_due(lad) == 1
    assert lad.told == [(0, "first", [worker.id])]
    [notice] = _notices(worker, "errand", eid)
    assert (notice.title, notice.body, notice.url) == (f"errand {eid}", "rung 0", f"/errands/{eid}")
    assert notice.alert_id is None  # not an alert's notice
    clock.advance(timedelta(hours=1, minutes=59))
    assert ladder.run_due(lad) == 0 and not _notices(leader, "errand", eid)
    clock.advance(timedelta(minutes=1))
    assert [ladder.step(lad, eid) for _ in range(3)] == [True, False, False]  # each rung once
    assert len(_notices(leader, "errand", eid)) == 1
    db.session.expire_all()
    errand = db.session.get(Errand, eid)
    assert errand.rung == 1 and errand.due_at is None  # the top: nothing further
    clock.advance(timedelta(days=1))
    assert ladder.run_due(lad) == 0


def test_a_rung_with_nobody_left_hands_over_at_once(world, errands):
    """Issue 10, in the shared part: the excluded (the raiser) taken out, an empty rung passes the
    subject on in the same step, and the next rung's deadline still counts from the start."""
    clock.freeze(T0)
    worker, leader = world.users["worker1"], world.users["leader1"]

    class RaisedByWorker(ErrandLadder):
        def excluded(self, errand):
            return {worker.id}

        def record_handover(self, errand, level, rung):
            self.told.append((level, rung.label, "handed over"))
    lad = RaisedByWorker(worker.id, leader.id)
    errand = Errand(opened_at=T0, **lad.start(T0))
    db.session.add(errand)
    db.session.commit()
    eid = errand.id
    assert ladder.run_due(lad) == 1
    assert lad.told == [(0, "first", "handed over"), (1, "second", [leader.id])]
    assert len(_notices(leader, "errand", eid)) == 1 and not _notices(worker, "errand", eid)
    errand = db.session.get(Errand, eid)
    assert errand.rung == 1 and errand.due_at is None
    assert ladder.run_due(lad) == 0


def test_a_subject_acted_on_stops_climbing(world, errands):
    clock.freeze(T0)
    lad = ErrandLadder(world.users["worker1"].id, world.users["leader1"].id)
    errand = Errand(opened_at=T0, **lad.start(T0))
    db.session.add(errand)
    db.session.commit()
    ladder.run_due(lad)
    errand = db.session.get(Errand, errand.id)
    errand.status = "done"  # acted on, but its deadline left set: the climbing condition still holds it back
    db.session.commit()
    clock.advance(timedelta(hours=3))
    assert ladder.step(lad, errand.id) is False
    assert not _notices(world.users["leader1"], "errand", errand.id)


def test_two_processes_racing_for_the_same_rung_climb_it_once(app, world, errands):
    """Both read the errand as due before either claims the rung: the compare-and-set lets one through."""
    clock.freeze(T0)
    worker = world.users["worker1"]

    class Racing(ErrandLadder):
        both_read = threading.Barrier(2, timeout=20)

        def rungs_for(self, subject):
            self.both_read.wait()
            return super().rungs_for(subject)
    lad = Racing(worker.id, world.users["leader1"].id)
    errand = Errand(opened_at=T0, **lad.start(T0))
    db.session.add(errand)
    db.session.commit()
    eid, results = errand.id, {}

    def climb(key):
        with app.app_context():
            try:
                results[key] = ladder.step(lad, eid)
            except Exception as exc:
                results[key] = exc
    threads = [threading.Thread(target=climb, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == [False, True], results
    assert len(_notices(worker, "errand", eid)) == 1 and len(lad.told) == 1


def test_alert_notices_name_their_subject(world):
    clock.freeze(T0)
    alert = alerts.raise_alert("sos", world.grid1[0])
    [notice] = _notices(world.users["worker1"], "alert", alert.id)
    assert notice.alert_id == alert.id
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.alert_id == alert.id)) >= 1
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.alert_id == alert.id + 1)) == 0


# ---- one open system alert per household ----

def _overdue_elder(world):
    """grid1[0]: weekly visits, last one 11 days ago: 4 days overdue, beyond the 3-day margin."""
    db.session.execute(delete(Visit))
    db.session.commit()
    elder = world.grid1[0]
    when = (T0 - timedelta(days=11) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    assert records.ingest_one(world.users["worker1"], "visit", str(uuid.uuid4()),
                              {"household_id": elder.id, "mode": "door", "occurred_at": when})["status"] == "stored"
    db.session.commit()
    return elder.id


def _open_system(household_id):
    db.session.expire_all()
    return db.session.scalar(select(func.count(Alert.id)).where(
        Alert.household_id == household_id, Alert.source == "system", Alert.state.in_(("open", "acknowledged"))))


def test_two_concurrent_digest_sweeps_send_one_digest_per_worker(app, world, monkeypatch):
    """Issue 10: overdue elders give a daily digest, not system alerts. Two sweeps racing (both
    read "no digest yet today" before either sends) still send one digest per worker."""
    clock.freeze(T0)  # 10:00 in Shanghai
    _overdue_elder(world)
    community_id = world.grids[0].community_id
    both_read = threading.Barrier(2, timeout=20)
    original = overdue.entries

    def entries_then_wait(*args, **kwargs):
        found = original(*args, **kwargs)
        both_read.wait()
        return found
    monkeypatch.setattr(overdue, "entries", entries_then_wait)
    results = {}

    def sweep(key):
        with app.app_context():
            try:
                results[key] = overdue.send_digests(db.session.get(Community, community_id))
            except Exception as exc:
                results[key] = exc
    threads = [threading.Thread(target=sweep, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(n, int) for n in results.values()), results
    db.session.expire_all()
    digests = db.session.execute(select(Notice.user_id, func.count(Notice.id)).where(Notice.subject_type == "overdue")
                                 .group_by(Notice.user_id)).all()
    assert digests and all(n == 1 for _uid, n in digests), digests
    assert sum(results.values()) == len(digests)
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.source == "system")) == 0


def test_the_database_refuses_a_second_open_system_alert(world):
    clock.freeze(T0)
    household = world.grid1[0]
    first = alerts.raise_alert("system", household, severity="medium")
    with pytest.raises(IntegrityError):
        alerts.raise_alert("system", household, severity="medium")
    db.session.rollback()
    first = db.session.get(Alert, first.id)
    alerts.acknowledge(first, world.users["worker1"])
    db.session.commit()
    with pytest.raises(IntegrityError):  # acknowledged is still open work
        alerts.raise_alert("system", household, severity="medium")
    db.session.rollback()
    alerts.raise_alert("sos", household)  # other sources are not limited
    alerts.resolve(db.session.get(Alert, first.id), world.users["worker1"], "visited")
    db.session.commit()
    alerts.raise_alert("system", household, severity="medium")  # after resolving, a new one may be raised
    assert _open_system(household.id) == 1
