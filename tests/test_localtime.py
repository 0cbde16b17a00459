"""Local time per community (zoneinfo; community setting "timezone", default from config),
and one locale list."""
import uuid
from datetime import datetime

import pytest
from sqlalchemy import delete, select

from webapp import clock, localtime
from webapp.extensions import db
from webapp.models import Visit
from webapp.services import alerts, records, visits

T0 = datetime(2026, 11, 22, 2, 0)  # 10:00 in Shanghai, 02:00 in London (no summer time in November)


def set_timezone(world, name):
    community = world.grids[0].community
    community.settings = dict(community.settings, timezone=name)
    db.session.commit()
    return community


def store_visit(user, household_id, occurred_at):
    answer = records.ingest_one(user, "visit", str(uuid.uuid4()),
                                {"household_id": household_id, "mode": "door", "occurred_at": occurred_at})
    assert answer["status"] == "stored", answer
    return db.session.scalar(select(Visit).where(Visit.uuid == answer["uuid"]))


@pytest.mark.parametrize("zone, stored", [(None, datetime(2026, 11, 21, 2, 0)),
                                          ("Europe/London", datetime(2026, 11, 21, 10, 0)),
                                          ("America/New_York", datetime(2026, 11, 21, 15, 0)),
                                          ("Not/AZone", datetime(2026, 11, 21, 2, 0)),  # invalid: the default
                                          ("../../etc/passwd", datetime(2026, 11, 21, 2, 0))])
def test_a_time_typed_without_zone_is_the_communitys_local_time(world, zone, stored):
    clock.freeze(T0)
    if zone:
        set_timezone(world, zone)
    visit = store_visit(world.users["worker1"], world.grid1[0].id, "2026-11-21T10:00")
    assert visit.occurred_at == stored
    # a time with a zone is taken as it is, wherever the community is
    assert store_visit(world.users["worker1"], world.grid1[0].id,
                       "2026-11-21T10:00+08:00").occurred_at == datetime(2026, 11, 21, 2, 0)


def test_today_is_the_communitys_today(world):
    """At 17:00 UTC it is already tomorrow in Shanghai, still today in London."""
    clock.freeze(datetime(2026, 11, 22, 17, 0))
    db.session.execute(delete(Visit))
    db.session.commit()
    worker, elder = world.users["worker1"], world.grid1[0]  # weekly visits
    store_visit(worker, elder.id, "2026-11-16T02:00:00Z")  # the 16th in both places: due on the 23rd
    due = {e.household.id: e for e in visits.today_list(worker)}
    assert elder.id in due and due[elder.id].overdue == 0  # Shanghai: the 23rd has begun
    set_timezone(world, "Europe/London")
    assert elder.id not in {e.household.id for e in visits.today_list(worker)}  # London: still the 22nd


def test_pages_show_times_in_the_communitys_zone(as_user, world):
    clock.freeze(T0)
    alerts.raise_alert("sos", world.grid1[0])
    worker = as_user("worker1")
    form = worker.get(f"/households/{world.grid1[0].id}/visits/new").get_data(as_text=True)
    assert 'value="2026-11-22T10:00"' in form
    assert "2026-11-22 10:00" in worker.get("/inbox").get_data(as_text=True)
    set_timezone(world, "Europe/London")
    form = worker.get(f"/households/{world.grid1[0].id}/visits/new").get_data(as_text=True)
    assert 'value="2026-11-22T02:00"' in form
    page = worker.get("/inbox").get_data(as_text=True)
    assert "2026-11-22 02:00" in page and "2026-11-22 10:00" not in page


def test_correcting_a_visit_shows_its_time_in_local_time(as_user, world):
    clock.freeze(T0)
    set_timezone(world, "America/New_York")
    visit = store_visit(world.users["worker1"], world.grid1[0].id, "2026-11-21T09:30")
    assert visit.occurred_at == datetime(2026, 11, 21, 14, 30)
    values = visits.form_values(visit, community=world.grids[0].community)
    assert values["occurred_at"] == "2026-11-21T09:30"  # round trip: as typed


def test_helper_round_trips_across_summer_time():
    london = type("C", (), {"setting": lambda self, key, default=None: "Europe/London"})()
    summer = datetime(2026, 7, 1, 12, 0)  # BST, UTC+1
    assert localtime.to_utc(summer, london) == datetime(2026, 7, 1, 11, 0)
    assert localtime.to_local(datetime(2026, 7, 1, 11, 0), london) == summer
    assert localtime.to_local(None, london) is None


# ---- one locale list ----

def test_one_locale_list_drives_switcher_script_and_selection(app, as_user, client, world, monkeypatch):
    monkeypatch.setitem(app.config["LANGUAGES"], "fr", ("Français", "fr"))
    worker = as_user("worker1")
    settings = worker.get("/settings").get_data(as_text=True)
    for code in ("zh_Hans", "en", "fr"):
        assert f'value="{code}"' in settings
    assert client.get("/i18n/fr.js").status_code == 200
    assert "Français" in client.get("/login").get_data(as_text=True)
    worker.post("/lang/fr", data={"csrf_token": worker.csrf})
    page = worker.get("/settings").get_data(as_text=True)
    assert '<html lang="fr">' in page and 'src="/i18n/fr.js"' in page
    monkeypatch.undo()
    # a language not in the list is refused everywhere
    assert client.get("/i18n/fr.js").status_code == 404
    worker.post("/settings", data={"csrf_token": worker.csrf, "lang": "xx"})
    page = worker.get("/settings").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page  # fr is gone from the list: back to the default
    assert client.get("/login?lang=xx").get_data(as_text=True).count('lang="zh-CN"') == 1


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59",
                                   "9999-12-31T23:59-12:00", "1999-12-31T23:00Z", "2026-11-24T10:00"])
def test_times_out_of_range_are_refused_not_crashed(world, value):
    clock.freeze(T0)
    answer = records.ingest_one(world.users["worker1"], "visit", str(uuid.uuid4()),
                                {"household_id": world.grid1[0].id, "mode": "door", "occurred_at": value})
    assert answer["status"] == "rejected" and "时间不合理" in answer["reason"], answer


def test_notice_alert_id_reads_and_writes_the_subject(world):
    from webapp.models import Notice
    n = Notice(user_id=world.users["worker1"].id, title="t", alert_id=7)
    assert (n.subject_type, n.subject_id, n.alert_id) == ("alert", 7, 7)
    n.subject_type = "request"
    assert n.alert_id is None


def test_an_elder_turns_80_on_the_communitys_date_not_londons(as_user, world):
    """04:00 on 2 March in Shanghai is still 1 March in UTC. An elder born on 2 March 1946 is 80
    that morning: the household page says so and, as 高龄 (aged), the household is on the worker's
    list to visit. Counted on the UTC date, she was 79 until 08:00 and not due."""
    from datetime import date
    from webapp.services import registry
    db.session.execute(delete(Visit))
    community = world.grids[0].community
    building = world.grid1[0].building
    home = registry.save_household(building, "9", "901", None, [])
    registry.save_resident(community, home, "户主", "寿星", "F", date(1946, 3, 2), None, None, [])
    db.session.commit()
    clock.freeze(datetime(2026, 3, 1, 20, 0))  # 2026-03-02 04:00 in Shanghai
    page = as_user("worker1").get(f"/households/{home.id}").get_data(as_text=True)
    assert "80岁" in page and "79岁" not in page
    assert home.id in {entry.household.id for entry in visits.today_list(world.users["worker1"])}
    clock.freeze(datetime(2026, 3, 1, 15, 0))  # 2026-03-01 23:00 in Shanghai: the day before
    page = as_user("worker1").get(f"/households/{home.id}").get_data(as_text=True)
    assert "79岁" in page
    assert home.id not in {entry.household.id for entry in visits.today_list(world.users["worker1"])}
