"""Meal deliveries: route sheets, the delivery record kinds on the one sync path, the
no-answer protocol on the controllable clock, and what a volunteer may see."""
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import (Alert, Delivery, DeliveryStep, Household, MealRecipient, MealRoute, Notice, Resident,
                           RouteClosure, User)
from webapp.services import accounts, demo, meals, registry

T0 = datetime(2026, 11, 23, 3, 0)  # Monday 11:00 in Beijing
MONDAY = date(2026, 11, 23)


@pytest.fixture
def route(world):
    clock.freeze(T0)
    r = db.session.scalar(select(MealRoute))  # the demo's route, volunteer1's
    assert r is not None and [v.username for v in r.volunteers] == ["volunteer1"]
    db.session.commit()
    return r


def stops_of(route, day=MONDAY):
    return meals.sheets([route.id], day)[route.id]


def sync(client, *recs):
    response = client.post("/api/sync", json={"records": list(recs)}, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def delivery(recipient_id, outcome="delivered", day="2026-11-23", at="2026-11-23T11:05", **extra):
    return {"uuid": str(uuid.uuid4()), "kind": "delivery", "recorded_at": "2026-11-23T03:05:00Z",
            "payload": dict({"recipient_id": recipient_id, "day": day, "outcome": outcome, "occurred_at": at},
                            **extra)}


def step(delivery_uuid, name, result, at="2026-11-23T11:10"):
    return {"uuid": str(uuid.uuid4()), "kind": "delivery_step", "recorded_at": "2026-11-23T03:10:00Z",
            "payload": {"delivery_uuid": delivery_uuid, "step": name, "result": result, "occurred_at": at}}


def notices(username):
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id))


# ---- route sheets ----------------------------------------------------------------------

def test_route_sheet_respects_days_pauses_and_restarts(route):
    first, second, third = [db.session.get(MealRecipient, s.recipient.id) for s in stops_of(route)[:3]]
    first.days = 0b0000001  # Mondays only
    meals.add_pause(second, MONDAY, MONDAY + timedelta(days=1), "住院")
    third.active = False
    db.session.commit()
    monday = [s.recipient.id for s in stops_of(route, MONDAY)]
    tuesday = [s.recipient.id for s in stops_of(route, MONDAY + timedelta(days=1))]
    wednesday = [s.recipient.id for s in stops_of(route, MONDAY + timedelta(days=2))]
    assert first.id in monday and first.id not in tuesday and first.id not in wednesday
    assert second.id not in monday and second.id not in tuesday
    assert second.id in wednesday  # the pause ended: delivery restarts by itself
    assert third.id not in monday + tuesday + wednesday


def test_route_keeps_the_saved_order_and_it_can_be_changed(route):
    before = [s.recipient.id for s in stops_of(route)]
    meals.move_stop(route, route.stops[2].id, -1)
    db.session.commit()
    after = [s.recipient.id for s in stops_of(route)]
    assert after == before[:1] + [before[2], before[1]] + before[3:]


def test_diet_totals_for_the_kitchen(route):
    stops = stops_of(route)[:4]
    diets = [["soft"], ["soft", "low_salt"], [], ["halal"]]
    for s, d in zip(stops, diets):
        r = db.session.get(MealRecipient, s.recipient.id)
        r.diets, r.meal_kind = d, "lunch"
    db.session.get(MealRecipient, stops[3].recipient.id).meal_kind = "both"  # lunch and dinner: two meals
    db.session.commit()
    totals = meals.diet_totals(stops_of(route)[:4])
    assert totals == {"total": 5, "soft": 2, "low_salt": 1, "regular": 1, "halal": 2}


# ---- deliveries on the sync path ---------------------------------------------------------

def test_a_delivery_syncs_exactly_once(route, as_user):
    volunteer = as_user("volunteer1")
    rid = stops_of(route)[0].recipient.id
    rec = delivery(rid)
    assert sync(volunteer, rec)[0]["status"] == "stored"
    assert sync(volunteer, rec)[0]["status"] == "stored"  # the phone resent it
    assert db.session.scalar(select(func.count(Delivery.id)).where(Delivery.uuid == rec["uuid"])) == 1
    d = db.session.scalar(select(Delivery).where(Delivery.uuid == rec["uuid"]))
    assert d.outcome == "delivered" and d.route_id == route.id and d.author.username == "volunteer1"


def test_refused_deliveries_keep_a_reason(route, as_user, world):
    volunteer = as_user("volunteer1")
    rid = stops_of(route)[0].recipient.id
    outsider = db.session.scalar(select(Resident).where(Resident.id.not_in(
        select(MealRecipient.resident_id))).limit(1))
    elsewhere = meals.enroll(world.users["admin"], outsider, [0, 1, 2, 3, 4, 5, 6], "lunch", [])
    db.session.commit()
    answers = sync(volunteer,
                   delivery(elsewhere.id),  # not on the volunteer's route
                   delivery(rid, day="2026-11-24", at="2026-11-24T11:00"),  # tomorrow
                   delivery(rid, outcome="lost"),
                   delivery(None))
    assert [a["status"] for a in answers] == ["rejected"] * 4
    assert answers[0]["code"] == "out_of_scope" and "线路" in answers[0]["reason"]
    assert "未来" in answers[1]["reason"]
    assert db.session.scalar(select(func.count(Delivery.id))) == 0


def test_a_second_different_outcome_is_kept_and_flagged(route, as_user):
    volunteer = as_user("volunteer1")
    rid = stops_of(route)[0].recipient.id
    first, second = delivery(rid, "delivered"), delivery(rid, "refused", at="2026-11-23T11:20")
    assert sync(volunteer, first)[0]["status"] == "stored"
    assert sync(volunteer, second)[0]["status"] == "stored"
    rows = db.session.scalars(select(Delivery).where(Delivery.recipient_id == rid).order_by(Delivery.id)).all()
    assert [(d.outcome, d.flagged) for d in rows] == [("delivered", False), ("refused", True)]
    page = as_user("admin").get("/meals/routes").get_data(as_text=True)
    assert "1 / " in page


def test_other_roles_and_communities_cannot_record(route, as_user, world):
    rid = stops_of(route)[0].recipient.id
    resident = as_user("resident1")
    answer = sync(resident, delivery(rid))[0]
    assert answer["status"] == "rejected" and answer["code"] in ("forbidden", "out_of_scope")
    other = registry.create_community("310999001", "别的社区")
    accounts.create_user(other, "vol_other", "外社区志愿者", "volunteer", demo.PASSWORD)
    db.session.commit()
    outsider = as_user("vol_other")
    assert sync(outsider, delivery(rid))[0]["code"] == "out_of_scope"
    assert outsider.get("/meals").status_code == 200 and "翠城1号线" not in outsider.get("/meals").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Delivery.id))) == 0


# ---- the no-answer protocol ----------------------------------------------------------

def test_an_unresolved_no_answer_reaches_the_grid_worker_after_the_delay(route, as_user):
    volunteer = as_user("volunteer1")
    s = stops_of(route)[0]
    rec = delivery(s.recipient.id, "no_answer", at="2026-11-23T11:00")
    sync(volunteer, rec, step(rec["uuid"], "knock_again", "no_answer"), step(rec["uuid"], "call_elder", "no_answer"))
    assert db.session.scalar(select(func.count(DeliveryStep.id))) == 2
    before = notices("worker1")
    clock.advance(timedelta(minutes=29))
    assert meals.sweep_no_answers() == 0 and db.session.scalar(select(func.count(Alert.id))) == 0
    clock.advance(timedelta(minutes=1))
    assert meals.sweep_no_answers() == 1
    alert = db.session.scalar(select(Alert))
    assert alert.source == "meal" and alert.household_id == s.household.id and alert.severity == "high"
    assert notices("worker1") == before + 1
    assert meals.sweep_no_answers() == 0 and db.session.scalar(select(func.count(Alert.id))) == 1


def test_the_delay_is_set_per_community(route, as_user, world):
    community = world.users["admin"].community
    community.settings = dict(community.settings, meal_no_answer_minutes=10)
    db.session.commit()
    rec = delivery(stops_of(route)[0].recipient.id, "no_answer", at="2026-11-23T11:00")
    sync(as_user("volunteer1"), rec)
    clock.advance(timedelta(minutes=10))
    assert meals.sweep_no_answers() == 1


def test_a_no_answer_resolved_on_the_phone_raises_nothing(route, as_user):
    volunteer = as_user("volunteer1")
    first, second = stops_of(route)[:2]
    a = delivery(first.recipient.id, "no_answer")
    b = delivery(second.recipient.id, "no_answer")
    sync(volunteer, a, b, step(a["uuid"], "call_elder", "reached_ok"),
         delivery(second.recipient.id, "delivered", at="2026-11-23T11:25"))
    clock.advance(timedelta(hours=2))
    assert meals.sweep_no_answers() == 0 and db.session.scalar(select(func.count(Alert.id))) == 0


def test_an_elder_who_needs_help_raises_an_alert_at_once(route, as_user):
    volunteer = as_user("volunteer1")
    rec = delivery(stops_of(route)[0].recipient.id, "no_answer")
    sync(volunteer, rec, step(rec["uuid"], "call_contact", "reached_problem"))
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.source == "meal")) == 1


def test_stops_without_a_record_when_the_route_closes_are_flagged(route, as_user):
    volunteer = as_user("volunteer1")
    stops = stops_of(route)
    sync(volunteer, *[delivery(s.recipient.id) for s in stops[:-1]])
    sync(volunteer, {"uuid": str(uuid.uuid4()), "kind": "route_closure", "recorded_at": "2026-11-23T05:00:00Z",
                     "payload": {"route_id": route.id, "day": "2026-11-23"}})
    assert meals.sweep_closed_routes() == 1
    alert = db.session.scalar(select(Alert))
    assert alert.household_id == stops[-1].household.id and stops[-1].resident.name in alert.note
    assert meals.sweep_closed_routes() == 0
    assert db.session.scalar(select(RouteClosure.swept_at)) is not None


def test_handed_over_counts_as_last_confirmed_ok_and_no_answer_does_not(route, as_user):
    volunteer = as_user("volunteer1")
    a, b = stops_of(route)[:2]
    sync(volunteer, delivery(a.recipient.id, "delivered"), delivery(b.recipient.id, "no_answer"))
    ok = meals.last_confirmed_ok([a.household.id, b.household.id])
    assert a.household.id in ok and b.household.id not in ok


# ---- what the volunteer sees ---------------------------------------------------------

def test_the_volunteer_sees_only_what_a_delivery_needs(route, as_user, world):
    s = stops_of(route)[0]
    household = db.session.get(Household, s.household.id)
    household.note = "糖尿病，需胰岛素"  # a health note on the household
    household.emergency_contacts = [{"name": "女儿", "relation": "女儿", "phone": "13800138000"}]
    db.session.get(MealRecipient, s.recipient.id).notes = "耳背，请用力敲门"
    db.session.commit()
    volunteer = as_user("volunteer1")
    page = volunteer.get("/meals").get_data(as_text=True)
    assert s.resident.name in page and "耳背，请用力敲门" in page and "13800138000" in page
    assert "糖尿病" not in page
    assert not any(r.id_number and r.id_number in page for r in db.session.scalars(select(Resident)))
    for url in ("/meals/recipients", f"/meals/routes/{route.id}", "/meals/report", "/meals/export.csv",
                f"/households/{s.household.id}"):
        assert volunteer.get(url).status_code == 404, url


def test_a_volunteer_does_not_see_other_routes(route, as_user, world):
    admin = world.users["admin"]
    other = accounts.create_user(admin.community, "volunteer9", "别的志愿者", "volunteer", demo.PASSWORD)
    second = meals.save_route(admin, "2号线", [other.id])
    outsider = db.session.scalar(select(Resident).where(Resident.id.not_in(select(MealRecipient.resident_id)))
                                 .limit(1))
    meals.add_stop(second, meals.enroll(admin, outsider, list(range(7)), "lunch", []))
    db.session.commit()
    mine = as_user("volunteer1").get("/meals").get_data(as_text=True)
    assert "2号线" not in mine and outsider.name not in mine
    theirs = as_user("volunteer9").get("/meals").get_data(as_text=True)
    assert "2号线" in theirs and "翠城1号线" not in theirs


def test_plain_html_delivery_and_monthly_sheet(route, as_user):
    volunteer = as_user("volunteer1")
    s = stops_of(route)[0]
    r = volunteer.post("/meals/deliveries", data={"csrf_token": volunteer.csrf, "uuid": str(uuid.uuid4()),
                                                  "recipient_id": s.recipient.id, "day": "2026-11-23",
                                                  "occurred_at": "2026-11-23T11:42", "outcome": "delivered"})
    assert r.status_code == 302
    assert "已提交" in volunteer.get(r.headers["Location"]).get_data(as_text=True)
    sheet = as_user("admin").get("/meals/export.csv?month=2026-11").get_data(as_text=True)
    line = next(line for line in sheet.splitlines() if s.resident.name in line)
    assert "2026-11-23" in line and "11:42" in line and "刘志愿" in line and "已送达" in line
    printed = as_user("admin").get(f"/meals/routes/{route.id}/print?day=2026-11-23").get_data(as_text=True)
    assert s.resident.name in printed and "☐" in printed


def test_staff_of_another_community_get_404(route, as_user):
    other = registry.create_community("310999002", "别的社区")
    accounts.create_user(other, "admin_other", "外社区管理员", "admin", demo.PASSWORD)
    db.session.commit()
    outsider = as_user("admin_other")
    rid = stops_of(route)[0].recipient.id
    for url in (f"/meals/routes/{route.id}", f"/meals/routes/{route.id}/print", f"/meals/recipients/{rid}"):
        assert outsider.get(url).status_code == 404, url
    assert "翠城1号线" not in outsider.get("/meals/routes").get_data(as_text=True)


def test_openapi_examples_of_the_meal_kinds_are_accepted(route, as_user):
    doc = as_user("volunteer1").get("/api/openapi.json").get_json()
    examples = doc["paths"]["/api/sync"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    volunteer = as_user("volunteer1")
    d = examples["delivery"]["value"]["records"][0]
    d["payload"]["recipient_id"] = stops_of(route)[0].recipient.id
    s = examples["delivery_step"]["value"]["records"][0]
    c = examples["route_closure"]["value"]["records"][0]
    c["payload"]["route_id"] = route.id
    assert [a["status"] for a in sync(volunteer, d, s, c)] == ["stored"] * 3


def test_the_scheduler_runs_the_meal_sweeps(route, as_user):
    from webapp.services import scheduler
    rec = delivery(stops_of(route)[0].recipient.id, "no_answer", at="2026-11-23T11:00")
    sync(as_user("volunteer1"), rec)
    clock.advance(timedelta(minutes=31))
    scheduler.tick()
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.source == "meal")) == 1


def test_a_worker_of_another_grid_cannot_see_or_record_on_a_route(route, as_user):
    """Found by review: workers and leaders saw every route of the community and could close it."""
    worker2 = as_user("worker2")  # grid 2; the demo route serves grid 1's elders
    page = worker2.get("/meals").get_data(as_text=True)
    assert route.name not in page
    rid = stops_of(route)[0].recipient.id
    answers = sync(worker2, delivery(rid, "no_answer"),
                   {"uuid": str(uuid.uuid4()), "kind": "route_closure", "recorded_at": "2026-11-23T05:00:00Z",
                    "payload": {"route_id": route.id, "day": "2026-11-23"}})
    assert [a["code"] for a in answers] == ["out_of_scope", "out_of_scope"]


def test_closing_a_route_twice_flags_each_missing_stop_once(route, as_user):
    volunteer = as_user("volunteer1")
    stops = stops_of(route)
    sync(volunteer, *[delivery(s.recipient.id) for s in stops[:-2]])
    for _ in range(3):  # a double (triple) tap, each with its own uuid
        r = volunteer.post("/meals/closures", data={"csrf_token": volunteer.csrf, "route_id": route.id,
                                                   "day": "2026-11-23"})
        assert r.status_code == 302
    meals.sweep_closed_routes()
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.source == "meal")) == 2
    old = volunteer.post("/meals/closures", data={"csrf_token": volunteer.csrf, "route_id": route.id,
                                                 "day": "2026-11-10"})
    assert old.status_code == 400 and "今天或昨天" in old.get_data(as_text=True)


def test_odd_numbers_in_staff_forms_are_refused_not_a_500(route, as_user):
    admin = as_user("admin")
    for path, data in (("/meals/routes", {"name": "x", "volunteers": "²"}),
                       (f"/meals/routes/{route.id}", {"name": "x", "volunteers": "99999999999999999999"}),
                       (f"/meals/routes/{route.id}", {"action": "add", "recipient_id": "99999999999999999999"}),
                       ("/meals/recipients", {"resident_id": "99999999999999999999", "days": "²", "meal_kind": "lunch"})):
        r = admin.post(path, data=dict(data, csrf_token=admin.csrf))
        assert r.status_code < 500, (path, data, r.status_code)
    assert admin.get("/meals/report?month=9999-12").status_code == 200
    assert admin.get("/meals/export.csv?month=9999-12").status_code == 200


def test_no_record_for_a_paused_elder_or_another_day(route, as_user, world):
    """Found by review: a no-answer for an elder in hospital, or dated a month back, would alarm the office."""
    volunteer = as_user("volunteer1")
    first, second = stops_of(route)[:2]
    meals.add_pause(db.session.get(MealRecipient, first.recipient.id), MONDAY, MONDAY + timedelta(days=7), "住院")
    db.session.commit()
    answers = sync(volunteer, delivery(first.recipient.id, "no_answer"),
                   delivery(second.recipient.id, "no_answer", day="2026-11-20"))  # at 11:05 on the 23rd
    assert [a["status"] for a in answers] == ["rejected", "rejected"]
    assert "暂停" in answers[0]["reason"] and "日期" in answers[1]["reason"]
    clock.advance(timedelta(hours=1))
    assert meals.sweep_no_answers() == 0


def test_the_same_elder_added_to_two_routes_at_once(route, as_user, world):
    """Two staff (or two tabs) add the same elder to a route at the same moment: one wins, the
    other is told in Chinese that the elder is already on a route; never a server error, and the
    elder is on exactly one route."""
    from tests.races import at_once
    from webapp.models import RouteStop
    admin = world.users["admin"]
    second = meals.save_route(admin, "2号线", [world.users["volunteer1"].id])
    outsider = db.session.scalar(select(Resident).where(Resident.id.not_in(select(MealRecipient.resident_id)))
                                 .limit(1))
    rid = meals.enroll(admin, outsider, list(range(7)), "lunch", []).id
    route_ids = (route.id, second.id)
    db.session.commit()
    clients = [as_user("admin"), as_user("admin")]

    def add(i):
        return lambda: clients[i].post(f"/meals/routes/{route_ids[i]}", data={
            "csrf_token": clients[i].csrf, "action": "add", "recipient_id": rid})
    answers = at_once([add(0), add(1)], "meal_route_stop")
    assert sorted(getattr(a, "status_code", 500) for a in answers) == [302, 400], answers
    refused = next(a for a in answers if a.status_code == 400).get_data(as_text=True)
    assert "这位老人已经在一条送餐线路上" in refused
    db.session.expire_all()
    assert db.session.scalar(select(func.count(RouteStop.id)).where(RouteStop.recipient_id == rid)) == 1


def test_the_same_elder_enrolled_twice_at_once(route, as_user, world):
    """A double tap (or two staff) on 登记送餐 for the same elder: the same act twice, both see it
    done, never a server error, and the elder has one enrolment."""
    from tests.races import at_once
    outsider = db.session.scalar(select(Resident).where(Resident.id.not_in(select(MealRecipient.resident_id)))
                                 .limit(1))
    clients = [as_user("admin"), as_user("admin")]

    def enrol(i):
        return lambda: clients[i].post("/meals/recipients", data={
            "csrf_token": clients[i].csrf, "resident_id": outsider.id, "days": ["0", "2"], "meal_kind": "lunch"})
    answers = at_once([enrol(0), enrol(1)], "meal_recipient")
    assert [getattr(a, "status_code", 500) for a in answers] == [302, 302], answers
    db.session.expire_all()
    [recipient] = db.session.scalars(select(MealRecipient).where(MealRecipient.resident_id == outsider.id)).all()
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert meals.weekdays(recipient) == [0, 2] and recipient.active


def test_a_step_whose_delivery_never_arrives_is_not_retried_for_ever(route, as_user, world):
    """The phone sent the checklist steps of a no-answer, but the no-answer itself never reached
    the server (deleted on the phone, say). The server asks the phone to try again only for a while:
    then the steps are kept, the staff see them on the routes page, and the elder nobody reached
    becomes an urgent alert to the household's grid worker; sending them again changes nothing."""
    volunteer = as_user("volunteer1")
    s = stops_of(route)[0]
    lost = str(uuid.uuid4())
    steps = [step(lost, "knock_again", "no_answer"), step(lost, "call_elder", "no_answer")]
    for rec in steps:
        rec["payload"]["recipient_id"] = s.recipient.id  # the stop the checklist belongs to
    assert [a["code"] for a in sync(volunteer, *steps)] == ["retry", "retry"]
    clock.advance(timedelta(minutes=90))
    assert [a["code"] for a in sync(volunteer, *steps)] == ["retry", "retry"]
    clock.advance(timedelta(hours=3))
    before = notices("worker1")
    assert [a["status"] for a in sync(volunteer, *steps)] == ["stored", "stored"]
    alerts = db.session.scalars(select(Alert).where(Alert.source == "meal")).all()
    assert [a.household_id for a in alerts] == [s.household.id]
    assert notices("worker1") == before + 1
    assert [a["status"] for a in sync(volunteer, *steps)] == ["stored", "stored"]
    assert db.session.scalar(select(func.count(Alert.id))) == 1
    page = as_user("admin").get("/meals/routes").get_data(as_text=True)
    assert "送餐记录始终没有到达服务器" in page
    row = page[page.index("送餐记录始终没有到达服务器"):]
    assert s.resident.name in row and "刘志愿" in row and "打电话给老人" in row and "仍无回应" in row


def test_a_late_step_of_an_elder_reached_raises_nothing_but_is_shown(route, as_user):
    volunteer = as_user("volunteer1")
    rec = step(str(uuid.uuid4()), "call_elder", "reached_ok")  # an API client that sends no recipient
    assert sync(volunteer, rec)[0]["code"] == "retry"
    clock.advance(timedelta(hours=5))
    assert sync(volunteer, rec)[0]["status"] == "stored"
    assert db.session.scalar(select(func.count(Alert.id))) == 0
    page = as_user("admin").get("/meals/routes").get_data(as_text=True)
    row = page[page.index("送餐记录始终没有到达服务器"):]
    assert "刘志愿" in row and "已联系上，老人平安" in row


def test_a_step_of_a_delivery_on_someone_elses_route_is_refused_not_retried(route, as_user, world):
    volunteer = as_user("volunteer1")
    s = stops_of(route)[0]
    rec = delivery(s.recipient.id, "no_answer")
    sync(volunteer, rec)
    admin = world.users["admin"]
    meals.remove_stop(route, s.stop.id)
    meals.add_stop(meals.save_route(admin, "2号线", [world.users["worker1"].id]),
                   db.session.get(MealRecipient, s.recipient.id))
    db.session.commit()
    answer = sync(volunteer, step(rec["uuid"], "call_elder", "no_answer"))[0]
    assert answer["status"] == "rejected" and answer["code"] == "out_of_scope"
