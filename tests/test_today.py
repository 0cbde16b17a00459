"""Today's visits: due or overdue by care category and last visit; overdue first."""
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import CareCategory, Household, Visit
from webapp.services import clock, records, visits


def _visit(user, household_id, days_ago, follow_up=None):
    when = (clock.utcnow() - timedelta(days=days_ago) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    payload = {"household_id": household_id, "mode": "door", "occurred_at": when}
    if follow_up:
        payload["follow_up_due"] = follow_up.isoformat()
    answer = records.ingest_one(user, "visit", str(uuid.uuid4()), payload)
    assert answer["status"] == "stored", answer


def test_due_and_overdue_by_category(app, world):
    clock.freeze(datetime(2026, 11, 22, 4, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker = world.users["worker1"]
    entries = visits.today_list(worker)
    by_id = {e.household.id: e for e in entries}
    # the first household of each building is an elder (80+) living alone: high risk, weekly
    elder = world.grid1[0]
    assert by_id[elder.id].overdue is None and by_id[elder.id].interval == 7
    _visit(worker, elder.id, days_ago=10)
    entries = visits.today_list(worker)
    by_id = {e.household.id: e for e in entries}
    assert by_id[elder.id].overdue == 3  # weekly, last seen 10 days ago
    _visit(worker, elder.id, days_ago=2)
    assert elder.id not in {e.household.id for e in visits.today_list(worker)}
    # a follow-up date set by the latest visit makes it due again
    _visit(worker, elder.id, days_ago=1, follow_up=(clock.utcnow() + timedelta(hours=8)).date())
    entry = {e.household.id: e for e in visits.today_list(worker)}[elder.id]
    assert entry.overdue == 0
    # never visited come first, then by days overdue
    order = [e.overdue for e in visits.today_list(worker)]
    key = [10**6 if o is None else o for o in order]
    assert key == sorted(key, reverse=True)
    # only the worker's own grid
    assert all(e.household.id in {h.id for h in world.grid1} for e in visits.today_list(worker))


def test_interval_is_editable_per_community(app, as_user, world):
    clock.freeze(datetime(2026, 11, 22, 4, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker = world.users["worker1"]
    elder = world.grid1[0]
    _visit(worker, elder.id, days_ago=10)
    assert elder.id in {e.household.id for e in visits.today_list(worker)}
    admin = as_user("admin")
    cats = db.session.scalars(select(CareCategory).order_by(CareCategory.id)).all()
    form = {"csrf_token": admin.csrf}
    for c in cats:
        form[f"level_{c.id}"] = c.level
        form[f"days_{c.id}"] = 14 if c.code in ("alone", "aged") else c.interval_days
    community = db.session.get(type(world.grids[0].community), world.grids[0].community_id)
    community.settings = dict(community.settings, high_risk_days=14)
    db.session.commit()
    assert admin.post("/admin/categories", data=form).status_code == 302
    db.session.expire_all()
    assert elder.id not in {e.household.id for e in visits.today_list(worker)}
    bad = admin.post("/admin/categories", data={**form, f"days_{cats[0].id}": 0})
    assert bad.status_code == 400 and "走访周期" in bad.get_data(as_text=True)


def test_today_page_shows_overdue_days(as_user, world):
    clock.freeze(datetime(2026, 11, 22, 4, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker = world.users["worker1"]
    _visit(worker, world.grid1[0].id, days_ago=12)
    html = as_user("worker1").get("/today").get_data(as_text=True)
    assert "逾期5天" in html and "从未走访" in html and "准备离线" in html
    assert html.index("从未走访") < html.index("逾期5天")
    db.session.get(Household, world.grid1[0].id)
