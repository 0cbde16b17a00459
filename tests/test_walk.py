"""Today's list shaped like a walk: grouped by building, unit and floor in natural order,
the longest-silent elders first, 已走访 kept apart, progress of the day and of the week."""
import re
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Building, CareCategory, Community, Visit
from webapp.services import records, registry, visits

WEDNESDAY = datetime(2026, 11, 25, 4, 0)  # 12:00 in Beijing, Wednesday


def _visit(user, household_id, days_ago=0, hours_ago=0):
    when = (clock.utcnow() - timedelta(days=days_ago, hours=hours_ago) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    answer = records.ingest_one(user, "visit", str(uuid.uuid4()),
                                {"household_id": household_id, "mode": "door", "occurred_at": when})
    assert answer["status"] == "stored", answer
    db.session.commit()


def _elder_alone(building, unit, room, name="独居老人"):
    """A household with one resident living alone (weekly visits)."""
    community = db.session.get(Community, building.grid.community_id)
    alone = db.session.scalar(select(CareCategory).where(CareCategory.community_id == community.id,
                                                         CareCategory.code == "alone"))
    h = registry.save_household(building, unit, room, None, [])
    registry.save_resident(community, h, "户主", name, "F", date(1950, 1, 1), None, None, [alone.id])
    db.session.commit()
    return h


def _monthly(building, unit, room, name, code="empty_nest"):
    """A household of one resident in a care category that is not high risk (monthly by default)."""
    community = db.session.get(Community, building.grid.community_id)
    cat = db.session.scalar(select(CareCategory).where(CareCategory.community_id == community.id,
                                                       CareCategory.code == code))
    h = registry.save_household(building, unit, room, None, [])
    registry.save_resident(community, h, "户主", name, "M", date(1960, 1, 1), None, None, [cat.id])
    db.session.commit()
    return h


def _start(world):
    clock.freeze(WEDNESDAY)
    db.session.execute(delete(Visit))
    db.session.commit()
    return world.users["worker1"]


def _building(world, name):
    return db.session.scalar(select(Building).where(Building.name == name))


def test_grouped_by_building_unit_floor_in_natural_order(world):
    worker = _start(world)
    first = _building(world, "1栋")
    for room in ("1001", "201", "1002"):  # 101 is there already (an elder alone)
        _elder_alone(first, "1", room)
    tenth = registry.save_building(first.grid, "10栋", "翠城路99号")
    _elder_alone(tenth, "1", "101")
    walk = visits.today_walk(worker)
    names = [b.name for b, _stairs in walk.groups]
    assert names.index("2栋") < names.index("10栋") and names[0] == "1栋"
    stairs = dict(walk.groups[0][1])
    assert [e.household.room for e in stairs[("1", 10)]] == ["1001", "1002"]
    rooms = [e.household.room for (unit, _f), entries in walk.groups[0][1] if unit == "1" for e in entries]
    assert rooms.index("101") < rooms.index("201") < rooms.index("1001")
    # floors follow one another within a unit
    floors = [f for (unit, f), _e in walk.groups[0][1] if unit == "1"]
    assert floors == sorted(floors)


def test_silent_longest_first_not_most_overdue(world):
    """Among households of the same risk, the one silent longest comes first, not the most overdue;
    high-risk elders (weekly) come before the others (issue 10: "the high-risk elder silent the
    longest comes first")."""
    worker = _start(world)
    b = _building(world, "1栋")
    monthly = _monthly(b, "1", "902", "吴二")                  # monthly, 50 days ago: 20 days overdue, silent 50
    quarterly = _monthly(b, "1", "904", "钱四", code="dibao")  # quarterly, 95 days ago: 5 days overdue, silent 95
    for h in world.grid1:  # everyone else visited yesterday: not due
        _visit(worker, h.id, days_ago=1)
    _visit(worker, monthly.id, days_ago=50)
    _visit(worker, quarterly.id, days_ago=95)
    assert [e.household.id for e in visits.today_list(worker)] == [quarterly.id, monthly.id]
    weekly = _elder_alone(b, "1", "901", "周一")               # weekly, 30 days ago: silent less, but high risk
    _visit(worker, weekly.id, days_ago=30)
    assert [e.household.id for e in visits.today_list(worker)] == [weekly.id, quarterly.id, monthly.id]
    never = _elder_alone(b, "2", "903", "郑三")
    assert [e.household.id for e in visits.today_list(worker)][0] == never.id


def test_visited_today_moves_to_done_and_counts(world, as_user):
    worker = _start(world)
    before = visits.today_walk(worker)
    target = before.due[0].household
    assert before.progress["today_done"] == 0 and not before.done
    _visit(worker, target.id, hours_ago=1)
    after = visits.today_walk(worker)
    assert target.id in [e.household.id for e in after.done]
    assert target.id not in [e.household.id for e in after.due]
    assert after.progress["today_done"] == 1
    assert after.progress["today_total"] == before.progress["today_total"]
    html = as_user("worker1").get("/today").get_data(as_text=True)
    done_part = html[html.index('id="done"'):]
    assert f"/households/{target.id}\"" in done_part and "已走访" in html
    assert re.search(r'data-count="today">1</b> / %d' % before.progress["today_total"], html)


def test_week_progress_counts_visits_since_monday(world):
    worker = _start(world)
    start = visits.today_walk(worker).progress
    target = world.grid1[0]
    _visit(worker, target.id, days_ago=2)  # Monday
    now = visits.today_walk(worker).progress
    assert now["week_done"] == start["week_done"] + 1 and now["week_total"] == start["week_total"]
    assert now["today_done"] == 0
    _visit(worker, world.grid1[1].id, days_ago=3)  # last Sunday: not this week
    assert visits.today_walk(worker).progress["week_done"] == now["week_done"]


def test_building_filter_narrows_the_list_not_the_progress(world, as_user):
    worker = _start(world)
    whole = visits.today_walk(worker)
    second = _building(world, "2栋")
    only = visits.today_walk(worker, building_id=second.id)
    assert only.due and {e.household.building_id for e in only.due} == {second.id}
    assert only.progress == whole.progress
    client = as_user("worker1")
    html = client.get(f"/today?building={second.id}").get_data(as_text=True)
    walk = html[html.index('id="today"'):]
    assert "2栋" in walk and '<h3>1栋' not in walk
    other = world.grid2[0].building_id  # another grid's building: nothing of it
    html = client.get(f"/today?building={other}").get_data(as_text=True)
    assert "今天没有到期的走访" in html
    assert client.get("/today?building=abc").status_code == 200
    assert client.get("/today?building=99999999999999999999").status_code == 200


def test_progress_lists_households_the_phone_may_hold(world, as_user):
    """The page tells its script which households are still open today and this week."""
    worker = _start(world)
    walk = visits.today_walk(worker)
    html = as_user("worker1").get("/today").get_data(as_text=True)
    open_today = re.search(r'data-open-today="([^"]*)"', html).group(1).split()
    assert sorted(map(int, open_today)) == sorted(e.household.id for e in walk.due)
    assert 'data-today="2026-11-25"' in html and 'data-week-start="2026-11-23"' in html
    _visit(worker, walk.due[0].household.id)
    html = as_user("worker1").get("/today").get_data(as_text=True)
    assert str(walk.due[0].household.id) not in re.search(r'data-open-today="([^"]*)"', html).group(1).split()


def test_print_views_stay_in_scope(world, as_user):
    _start(world)
    client = as_user("worker1")
    assert client.get(f"/households/{world.grid2[0].id}/print").status_code == 404
    assert client.get(f"/grids/{world.grids[1].id}/print").status_code == 404
    mine = client.get(f"/households/{world.grid1[0].id}/print").get_data(as_text=True)
    assert "住户信息表" in mine and world.grid1[0].label in mine and "print.css" in mine
    walk = visits.today_walk(world.users["worker1"])
    today = client.get("/today/print").get_data(as_text=True)
    assert all(f"<td>{e.household.room}</td>" in today for e in walk.due)
    grid = client.get(f"/grids/{world.grids[0].id}/print").get_data(as_text=True)
    assert all(h.label in grid for h in world.grid1)
