"""Issue 10 on the demo community (~1,800 households, 4 grids), median of 5 after a warm-up:
- the overdue list for the admin (the whole community) and for worker1 (target under 0.5 s each);
- the daily digest sweep for the community (target under 2 s);
- one page of the alert list with 2,000 alerts, filtered by grid (target under 0.2 s);
- coverage_gaps for the admin home (target under 0.05 s)."""
import statistics
import time
from datetime import datetime

from sqlalchemy import select

from bench.common import backends, fresh_app


def _median(fn, runs=5):
    from webapp.extensions import db
    fn()
    times = []
    for _ in range(runs):
        db.session.expire_all()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(backend):
    from webapp import clock
    from webapp.extensions import db
    from webapp.models import Alert, Grid, Household, Notice, User
    from webapp.services import alerts, coverage, demo, overdue
    clock.freeze(datetime(2026, 11, 23, 2, 0))
    community = demo.seed(print_fn=lambda *a: None)
    users = {u.username: u for u in db.session.scalars(select(User))}
    admin, worker = users["admin"], users["worker1"]
    households = db.session.scalars(select(Household.id).order_by(Household.id)).all()
    now = clock.utcnow()
    db.session.execute(Alert.__table__.insert(), [
        {"uuid": f"00000000-0000-4000-8000-{i:012d}", "recorded_at": now, "received_at": now,
         "household_id": households[i % len(households)], "source": ("sos", "worker", "visit")[i % 3],
         "severity": "high", "location": "", "note": "", "state": "resolved" if i % 4 else "open", "level": 2,
         "outcome": ""} for i in range(2000)])
    db.session.commit()
    grid = db.session.scalar(select(Grid).where(Grid.parent_id.is_(None)).order_by(Grid.code))
    n_admin = len(overdue.entries(admin))
    figures = [
        (f"overdue list, admin ({n_admin} elders)", _median(lambda: overdue.entries(admin)), 0.5),
        ("overdue list, worker1", _median(lambda: overdue.page(worker, 1)), 0.5),
        ("alert list page, 2,000 alerts, one grid", _median(lambda: alerts.listing(admin, grid=grid)), 0.2),
        ("coverage_gaps", _median(lambda: coverage.coverage_gaps(community)), 0.05),
    ]

    def digest():
        db.session.execute(Notice.__table__.delete().where(Notice.subject_type == "overdue"))
        db.session.commit()
        overdue.send_digests(community)
    figures.append(("daily digest sweep", _median(digest), 2.0))
    for name, seconds, target in figures:
        print(f"  {backend:10} {name:45} {seconds * 1000:8.1f} ms  (target < {target * 1000:.0f} ms)"
              f"{'' if seconds < target else '  OVER TARGET'}")
    clock.reset()


def main():
    print("issue 10: overdue list, digest, alert list, coverage gaps")
    for backend in backends():
        with fresh_app(backend):
            run(backend)


if __name__ == "__main__":
    main()
