"""平安打卡: the check-in sweep over 10,000 enrolled elders (target under 1 s on PostgreSQL).

Three moments of one day, each on a fresh copy of the day's state, median of 3:
- 09:00, before the deadline: nothing is due (the sweep only looks);
- 10:05, 99% checked in (or visited): 100 reminders (one notice each to the resident);
- 10:31, after the grace period: 100 alerts raised, each telling the grid worker (the ladder's first rung).
Run: BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/test_h10b .venv/bin/python -m bench.checkin [--pg]
(it recreates that database's schema: drop the schema afterwards before running the tests on it)."""
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, insert, select, update

from bench.common import backends, fresh_app

N = 10_000
MISSED = 100  # 1%
DAY = date(2026, 11, 23)


def utc(hour, minute=0):
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute) - timedelta(hours=8)  # Asia/Shanghai


def build():
    from webapp.extensions import db
    from webapp.models import (Building, Checkin, CheckinEnrolment, Household, Resident, Residency, User)
    from webapp.services import accounts, registry
    community = registry.create_community("310000998", "打卡基准社区")
    grid = registry.save_grid(community, "第1网格")
    worker = accounts.create_user(community, "worker1", "王网格", "worker", "bench-password-1", grids=[grid],
                                  password_hash="bench")
    buildings = db.session.scalars(insert(Building).returning(Building.id, sort_by_parameter_order=True), [
        {"grid_id": grid.id, "name": f"{b + 1}栋", "address": f"基准路{b + 1}号"} for b in range(100)]).all()
    households = db.session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True), [
        {"building_id": buildings[n // 100], "unit": "1", "room": str(n % 100 + 101), "emergency_contacts": [],
         "note": ""} for n in range(N)]).all()
    residents = db.session.scalars(insert(Resident).returning(Resident.id, sort_by_parameter_order=True), [
        {"community_id": community.id, "name": f"老人{n}", "sex": "F", "birth_date": date(1938, 1, 1)}
        for n in range(N)]).all()
    db.session.execute(insert(Residency), [{"resident_id": r, "household_id": h, "start_date": date(2000, 1, 1),
                                            "relation": "户主"} for r, h in zip(residents, households)])
    db.session.execute(insert(User), [
        {"community_id": community.id, "username": f"r{r}", "name": f"老人{r}", "role": "resident",
         "password_hash": "bench", "resident_id": r, "active": True} for r in residents])
    db.session.execute(insert(CheckinEnrolment), [
        {"household_id": h, "deadline_minutes": 600, "active": True, "enrolled_by": worker.id,
         "enrolled_at": utc(0)} for h in households])
    # yesterday everyone checked in; today all but MISSED of them, before the deadline
    rows = []
    for i, h in enumerate(households):
        rows.append({"uuid": str(uuid.uuid4()), "household_id": h, "mode": "self", "note": "", "author_id": worker.id,
                     "recorded_at": utc(8) - timedelta(days=1), "received_at": utc(8) - timedelta(days=1)})
        if i >= MISSED:
            rows.append({"uuid": str(uuid.uuid4()), "household_id": h, "mode": "self", "note": "",
                         "author_id": worker.id, "recorded_at": utc(8, i % 60), "received_at": utc(9)})
    db.session.execute(insert(Checkin), rows)
    db.session.commit()


def reset():
    """Back to the morning: nothing reminded or alerted today."""
    from webapp.extensions import db
    from webapp.models import Alert, AlertEvent, CheckinEnrolment, Notice
    db.session.execute(update(CheckinEnrolment).values(reminded_on=None, alerted_on=None))
    db.session.execute(delete(Notice))
    db.session.execute(delete(AlertEvent))
    db.session.execute(delete(Alert))
    db.session.commit()


def _one_by_one(source, households, severity="high", note=""):
    from webapp.services import alerts
    return [alerts.raise_alert(source, h, severity=severity, note=note) for h in households]


def timed(when, before=None, alone=False):
    """Median of 3 sweeps at `when`; alone: each alert raised by its own raise_alert (for comparison)."""
    from webapp import clock
    from webapp.extensions import db
    from webapp.services import alerts, checkins
    many = alerts.raise_many
    if alone:
        alerts.raise_many = _one_by_one
    try:
        return _timed(when, before)
    finally:
        alerts.raise_many = many


def _timed(when, before=None):
    from webapp import clock
    from webapp.extensions import db
    from webapp.services import checkins
    times, result = [], None
    for _ in range(3):
        reset()
        if before is not None:  # the earlier moment's work, not measured
            clock.freeze(before)
            checkins.sweep()
        clock.freeze(when)
        db.session.expire_all()
        t = time.perf_counter()
        result = checkins.sweep()
        times.append(time.perf_counter() - t)
    clock.reset()
    return statistics.median(times), result


def main():
    only_pg = "--pg" in sys.argv
    for backend in backends():
        if only_pg and backend != "postgresql":
            continue
        with fresh_app(backend, DEFAULT_TIMEZONE="Asia/Shanghai"):
            build()
            for label, when, before, target in (
                    ("09:00, nothing due", utc(9), None, 1.0),
                    (f"10:05, {MISSED} reminders", utc(10, 5), None, 1.0),
                    (f"10:31, {MISSED} alerts", utc(10, 31), utc(10, 5), 1.0)):
                seconds, (reminded, alerted) = timed(when, before)
                verdict = "OK" if seconds < target else "OVER TARGET"
                if alerted:  # alerts.raise_many: one transaction, first rungs climbed together
                    verdict += f" ({seconds * 1000 / alerted:.0f} ms per alert raised)"
                print(f"  {backend}: check-in sweep over {N:,} enrolled elders at {label}: {seconds * 1000:.0f} ms "
                      f"(reminded {reminded}, alerted {alerted}; target < {target:.0f} s on PostgreSQL) {verdict}")
                if alerted:  # the same moment with each alert raised on its own, as before, in this run
                    one_by_one, _result = timed(when, before, alone=True)
                    print(f"  {backend}:   the same with one alerts.raise_alert per elder: {one_by_one * 1000:.0f} ms "
                          f"({one_by_one / seconds:.1f}x the sweep's)")


if __name__ == "__main__":
    main()
