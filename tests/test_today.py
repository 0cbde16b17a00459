"""Today's visits: due or overdue by care category and last visit; overdue first."""
import re
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import CareCategory, Household, Visit
from webapp import clock
from webapp.services import records, visits


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
    # high-risk elders first; within each group the longest silent (never confirmed OK, then the
    # oldest "last confirmed OK": check-in, visit, meal, resolved alert)
    entries = visits.today_list(worker)
    key = [(not (e.interval is not None and e.interval <= 7), e.last_ok or datetime.min) for e in entries]
    assert key == sorted(key) and entries[0].interval <= 7
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
    assert admin.post("/admin/settings", data={
        "csrf_token": admin.csrf, "part": "ladder", "escalate_leader_minutes": "5", "escalate_admin_minutes": "15",
        "high_risk_days": "14", "overdue_alert_margin_days": "3"}).status_code == 302
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


def test_today_page_in_english_fills_each_row(as_user, world):
    """The row words are translated once per page and filled per row: each row its own numbers."""
    clock.freeze(datetime(2026, 11, 22, 4, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker = world.users["worker1"]
    _visit(worker, world.grid1[0].id, days_ago=12)
    _visit(worker, world.grid1[1].id, days_ago=40)
    html = as_user("worker1").get("/today?lang=en").get_data(as_text=True)
    rows = {m[0]: m[1] for m in re.findall(r'data-household="(\d+)".*?<small>(.*?)</small>', html, re.S)}
    first, second = rows[str(world.grid1[0].id)], rows[str(world.grid1[1].id)]
    assert "5 days overdue" in first and "every 7 days" in first and "last: 2026-11-10" in first, first
    assert "overdue" in second and "2026-10-13" in second and "5 days" not in second, second
    assert "never visited" in html.lower() and "逾期" not in html and "%(n)s" not in html


def test_interval_is_the_neediest_current_residents(app, world):
    """A household is due as often as its neediest current resident: 80+ and empty-nest means the
    community's high-risk interval; once that elder moves out, the others' interval."""
    from webapp.models import Building, Community
    from webapp.services import registry
    clock.freeze(datetime(2026, 11, 22, 4, 0))
    db.session.execute(delete(Visit))
    community = db.session.get(Community, world.community.id)
    community.settings = dict(community.settings, high_risk_days=5)
    cats = {c.code: c.id for c in db.session.scalars(select(CareCategory).where(CareCategory.community_id == community.id))}
    building = db.session.get(Building, world.grid1[0].building_id)
    h = registry.save_household(building, "3", "909", None, [])
    elder = registry.save_resident(community, h, "户主", "钱老", "M", date(1940, 3, 1), None, None,
                                   [cats["empty_nest"]])
    registry.save_resident(community, h, "子女", "钱小", "F", date(1990, 3, 1), None, None, [cats["dibao"]])
    db.session.commit()
    worker = world.users["worker1"]
    _visit(worker, h.id, days_ago=6)
    db.session.commit()
    entry = {e.household.id: e for e in visits.today_list(worker)}[h.id]
    assert entry.interval == 5 and entry.overdue == 1
    other = registry.save_household(building, "3", "910", None, [])
    registry.move_resident(elder, other, "户主")
    db.session.commit()
    assert h.id not in {e.household.id for e in visits.today_list(worker)}  # dibao: every 90 days
    db.session.execute(delete(Visit))
    _visit(worker, h.id, days_ago=95)
    db.session.commit()
    assert {e.household.id: e for e in visits.today_list(worker)}[h.id].interval == 90
