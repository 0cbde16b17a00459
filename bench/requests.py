"""Residents' requests: a leader's board of 5,000 open requests (target under 300 ms on
PostgreSQL): the board's query alone, and the whole page (GET /requests, first page of 50,
overdue first) through the app; measured after a warm-up, median of 5.

PostgreSQL: BENCH_PG_URL (this worktree: postgresql://postgres@127.0.0.1:5432/test_h12)."""
import statistics
import time
import uuid
from datetime import timedelta

from sqlalchemy import insert

from bench.common import backends, fresh_app

N = 5000
TARGET_MS = 300


def build():
    from webapp.clock import utcnow
    from webapp.extensions import db
    from webapp.models import Building, Household, Request
    from webapp.services import accounts, registry, requests as svc
    community = registry.create_community("310000998", "基准社区")
    grids = [registry.save_grid(community, f"第{g}网格") for g in (1, 2)]
    leader = accounts.create_user(community, "leader1", "王网格长", "leader", "bench-password-1", grids=grids)
    households = []
    for g in grids:
        building = Building(grid_id=g.id, name=f"{g.id}栋", address="基准路1号")
        db.session.add(building)
        db.session.flush()
        for n in range(50):
            h = Household(building_id=building.id, room=str(n), emergency_contacts=[])
            db.session.add(h)
            households.append((h, g.id))
    svc.ensure_categories(community)
    db.session.flush()
    cats = svc.categories(community.id)
    now = utcnow()
    rows = []
    for n in range(N):
        h, gid = households[n % len(households)]
        state = ("new", "accepted", "dispatched")[n % 3]
        due = now + timedelta(hours=(n % 200) - 50)  # a quarter overdue
        rows.append({"uuid": str(uuid.uuid4()), "recorded_at": now, "received_at": now - timedelta(hours=n % 300),
                     "author_id": leader.id, "community_id": community.id, "grid_id": gid, "household_id": h.id,
                     "channel": "worker", "category_id": cats[n % len(cats)].id, "text": f"第{n}件诉求：楼道灯坏了",
                     "location": "", "state": state, "version": 1, "respond_by": due,
                     "due_at": None if state == "new" else due, "level": -1, "updated_at": now,
                     "reporter_name": "", "reporter_phone": "", "outside_party": ""})
    db.session.execute(insert(Request), rows)
    db.session.commit()
    return leader.id


def measure(fn, runs=5):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    for backend in backends():
        with fresh_app(backend) as app:
            from webapp.extensions import db
            from webapp.models import User
            from webapp.services import requests as svc
            leader_id = build()
            leader = db.session.get(User, leader_id)

            def query():
                db.session.expire_all()
                rows, total = svc.board(leader, "open")
                assert total == N and len(rows) == svc.PAGE

            client = app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = page.split('name="csrf_token" value="')[1].split('"')[0]
            client.post("/login", data={"login": "leader1", "password": "bench-password-1", "csrf_token": token})

            def whole_page():
                res = client.get("/requests")
                assert res.status_code == 200 and res.get_data(as_text=True).count("data-request=") == svc.PAGE

            q, p = measure(query), measure(whole_page)
            for what, ms in (("board query", q), ("GET /requests page", p)):
                verdict = "ok" if ms < TARGET_MS else "OVER"
                print(f"requests [{backend}] leader's board of {N} open requests, {what}: {ms:.1f} ms "
                      f"(target < {TARGET_MS} ms on PostgreSQL) {verdict}")


if __name__ == "__main__":
    main()
