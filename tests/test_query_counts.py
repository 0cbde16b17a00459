"""The grid worker's hottest pages cost a number of SQL statements that does not grow with the
grid: today's list of a grid of 100 households costs what the list of a grid of 10 costs, and a
household of five with visits by several people costs what a household of one costs."""
import re
import uuid
from datetime import datetime

from sqlalchemy import event, func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Community, Household, Residency, User
from webapp.services import demo, records

from .conftest import login

NOW = datetime(2026, 11, 23, 2, 0)  # 10:00 in Beijing


def _statements(client, url):
    """(response, SQL statements it cost)."""
    seen = []

    def count(_conn, _cursor, statement, *_a):
        seen.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, url
    return response, seen


def _grids(app):
    """Two demo communities of one grid: 10 households (small_) and 100 households (big_)."""
    clock.freeze(NOW)
    demo.seed(households_per_building=1, buildings_per_grid=10, grid_count=1, code="440105077077",
              name="小社区", prefix="small_", print_fn=lambda *a: None)
    demo.seed(households_per_building=10, buildings_per_grid=10, grid_count=1, code="440105088088",
              name="大社区", prefix="big_", print_fn=lambda *a: None)
    db.session.commit()
    clients = {}
    for size in ("small", "big"):
        client = app.test_client()
        login(client, f"{size}_worker1")
        clients[size] = client
    return clients


def test_today_costs_the_same_for_10_and_100_households(app):
    clients = _grids(app)
    found = {}
    for size, client in clients.items():
        client.get("/today")  # first request of the session (user loader, locale)
        loaded = []

        def on_load(target, _context):
            loaded.append(str(target.id))
        event.listen(Household, "load", on_load)
        try:
            response, statements = _statements(client, "/today")
        finally:
            event.remove(Household, "load", on_load)
        listed = set(re.findall(r'data-household="(\d+)"', response.get_data(as_text=True)))
        found[size] = (len(statements), len(listed))
        # only the households the page lists are loaded as objects, each once
        assert sorted(loaded) == sorted(listed)
    assert found["big"][1] > 3 * found["small"][1] > 0, found  # the lists really differ in length
    assert found["big"][0] == found["small"][0], found
    assert found["big"][0] <= 14, found


def _add_visits(user, household_id, n):
    for k in range(n):
        answer = records.ingest_one(user, "visit", str(uuid.uuid4()), {
            "household_id": household_id, "mode": "door", "occurred_at": f"2026-11-{10 + k:02d}T09:00",
            "safety": "concern", "safety_note": "燃气软管老化"})
        assert answer["status"] == "stored", answer


def test_household_page_costs_the_same_for_one_resident_and_five(app):
    clients = _grids(app)
    users = {u.username: u for u in db.session.scalars(select(User))}
    communities = {c.code: c.id for c in db.session.scalars(select(Community))}
    sizes = dict(db.session.execute(
        select(Residency.household_id, func.count(Residency.id)).where(Residency.end_date.is_(None))
        .group_by(Residency.household_id)).all())

    def pick(code, biggest):
        ids = [h.id for h in db.session.scalars(select(Household)) if h.building.grid.community_id == communities[code]]
        return max(ids, key=lambda hid: (sizes.get(hid, 0) * (1 if biggest else -1), hid))

    one = pick("440105077077", biggest=False)
    many = pick("440105088088", biggest=True)
    assert sizes[one] == 1 and sizes[many] >= 4
    _add_visits(users["big_worker1"], many, 3)  # visits by three people: the page names each author
    _add_visits(users["big_leader1"], many, 3)
    _add_visits(users["big_admin"], many, 2)
    db.session.commit()
    db.session.expire_all()
    counts = {}
    for label, size, hid in (("one", "small", one), ("many", "big", many)):
        clients[size].get(f"/households/{hid}")  # first request of the session
        db.session.expire_all()
        response, statements = _statements(clients[size], f"/households/{hid}")
        page = response.get_data(as_text=True)
        counts[label] = len(statements)
        assert page.count('class="card"') == sizes[hid]  # every resident is on the page
    assert "陈书记" in page and "李网格长" in page and "王小红" in page  # the authors of the visits
    assert counts["one"] == counts["many"], counts
    assert counts["many"] <= 19, counts
