"""Every registered route, requested with every method it accepts, as every role: the access
rule holds, objects of another community or another grid answer 404, and a route added
without a rule makes this test fail.

The intent is stated ONCE here, as capability → roles, and each endpoint is mapped to a
capability. It is written from what each role is for (shared/domain.md), not copied from
the decorators; the decorators and access.py are checked against it.

Every request carries a valid CSRF token (form field and header), so a refusal comes from
the access rule and not from a missing token.
"""
import uuid

import pytest
from flask import url_for
from sqlalchemy import select

from webapp import access
from webapp.access import access_of
from webapp.extensions import db
from webapp.models import Alert, ImportJob
from webapp.services import alerts, importer, push, records, scope

from .conftest import csrf_from, small_demo

PUBLIC = "public"
ALL = {"admin", "leader", "worker", "volunteer", "resident"}
STAFF = {"admin", "leader", "worker"}

# capability → the roles meant to have it
INTENT = {
    PUBLIC: PUBLIC,
    "ANY_USER": ALL,  # one's own session, settings, inbox, the sync endpoint
    "ADMIN": {"admin"},  # the community's desk: registry edits, users, imports, exports
    "VIEW_REGISTRY": STAFF,  # grids, buildings, households, residents, search
    "VISIT_ROUNDS": {"leader", "worker"},  # the daily list of who is due; admins have no round
    "RECORD_VISITS": STAFF,  # door-to-door visits; never residents or volunteers
    "RAISE_ALERTS": STAFF,  # raise an alert about a household in scope
    "HANDLE_ALERTS": STAFF,  # see, acknowledge, resolve
    "SOS": {"resident"},  # a resident's own page and SOS button
    "INVITE_RESIDENTS": STAFF,  # invite a household's residents to the app
    "WORK_OFFLINE": STAFF | {"volunteer"},  # 准备离线 and the layout shell: people in the field
    "DELIVER_MEALS": STAFF | {"volunteer"},  # record deliveries on one's meal routes (volunteers: their own)
    "MEAL_ROUNDS": {"volunteer"},  # the volunteer's daily round is their home
    "FOLLOW_OVERDUE": STAFF,  # the overdue list of high-risk elders (their grids; admins: the community)
    "MANAGE_ABSENCES": {"admin", "leader"},  # mark workers away: admins anyone, leaders their grids' workers
    "CHECK_IN": STAFF | {"resident"},  # 我很好: a resident for their own household, staff on an elder's behalf
    "ENROL_CHECKIN": STAFF,  # enrol an elder in 平安打卡, deadlines and pauses: staff only, in their grids
    "REQUESTS": STAFF | {"resident"},  # residents' requests: a resident's own, staff their grids'; never volunteers
    "HANDLE_REQUESTS": STAFF,  # accept, dispatch, handle
    "VERIFY_REQUESTS": {"admin", "leader"},  # verify, close, merge, residents' meetings
    # dashboard, team view, evaluation, monthly report: admins (community) and leaders (their grids);
    # workers are judged by it and have their own round, volunteers and residents have no part in it
    "VIEW_DASHBOARD": {"admin", "leader"},
    "ZERO_REPORT": {"leader", "worker"},  # 零上报 for the grids one is assigned to
}

# endpoint → capability. A new route must be added here with its rule.
ENDPOINTS = {
    "main.home": "ANY_USER",
    "main.more": "ANY_USER",  # 更多: the links the bottom bar has no room for
    "main.healthz": PUBLIC,
    "offline.service_worker": PUBLIC,
    "offline.manifest": PUBLIC,
    "offline.offline": PUBLIC,
    "offline.i18n_script": PUBLIC,
    "offline.outbox": PUBLIC,
    "offline.shell": "ANY_USER",  # the layout every signed-in user's stored pages go into
    "offline.offline_manifest": "ANY_USER",  # the pages each role stores (a resident: the SOS page)
    "offline.versions": "VIEW_REGISTRY",  # households stored as fragments: staff of the registry
    "offline.bundle": "VIEW_REGISTRY",
    "main.set_lang": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": "ANY_USER",
    "auth.settings": "ANY_USER",
    "auth.password": "ANY_USER",
    "registry.grids": "VIEW_REGISTRY",
    "registry.grid": "VIEW_REGISTRY",
    "registry.grid_households": "VIEW_REGISTRY",
    "registry.building": "VIEW_REGISTRY",
    "registry.household": "VIEW_REGISTRY",
    "registry.search": "VIEW_REGISTRY",
    "registry.household_print": "VIEW_REGISTRY",
    "registry.grid_print": "VIEW_REGISTRY",
    "admin.index": "ADMIN",
    "admin.grids": "ADMIN",
    "admin.grid_edit": "ADMIN",
    "admin.building_new": "ADMIN",
    "admin.building_edit": "ADMIN",
    "admin.household_new": "ADMIN",
    "admin.household_edit": "ADMIN",
    "admin.resident_new": "ADMIN",
    "admin.resident_edit": "ADMIN",
    "admin.users": "ADMIN",
    "admin.user_new": "ADMIN",
    "admin.user_edit": "ADMIN",
    "admin.categories": "ADMIN",
    "admin.import_upload": "ADMIN",
    "admin.import_preview": "ADMIN",
    "admin.import_commit": "ADMIN",
    "admin.import_progress": "ADMIN",
    "admin.export": "ADMIN",
    "admin.settings": "ADMIN",
    "admin.pick": "ADMIN",
    "admin.user_unlock": "ADMIN",
    "admin.user_reset_code": "ADMIN",
    "admin.audit_trail": "ADMIN",
    "admin.audit_export": "ADMIN",
    "visits.today": "VISIT_ROUNDS",
    "visits.today_print": "VISIT_ROUNDS",
    "visits.new": "RECORD_VISITS",
    "visits.create": "RECORD_VISITS",
    "visits.show": "RECORD_VISITS",
    "visits.export": "ADMIN",
    "api.session_info": "ANY_USER",
    "api.sync": "ANY_USER",  # each record kind then declares who may create it (test_record_kinds)
    "api.openapi": PUBLIC,
    "api.push_key": "ANY_USER",
    "api.push_subscribe": "ANY_USER",
    "api.push_unsubscribe": "ANY_USER",
    "alerts.index": "HANDLE_ALERTS",
    "alerts.show": "HANDLE_ALERTS",
    "alerts.acknowledge": "HANDLE_ALERTS",
    "alerts.resolve": "HANDLE_ALERTS",
    "alerts.raise_for_household": "RAISE_ALERTS",
    "alerts.inbox": "ANY_USER",
    "alerts.inbox_read_all": "ANY_USER",
    "alerts.open_notice": "ANY_USER",  # one's own notices only: others' answer 404
    "resident.home": "SOS",
    "resident.sos": "SOS",
    "resident.sos_status": "SOS",  # who was told, who responded: one's own SOS
    "resident.checkin": "SOS",  # 我很好 without JavaScript: one's own household
    "checkins.enrol": "ENROL_CHECKIN",
    "checkins.stop": "ENROL_CHECKIN",
    "checkins.pause": "ENROL_CHECKIN",
    "checkins.end_pause": "ENROL_CHECKIN",
    "checkins.on_behalf": "ENROL_CHECKIN",
    "resident.viewers": "SOS",  # who opened my record (谁看过我的信息)
    "resident.invite": "INVITE_RESIDENTS",
    "resident.join": PUBLIC,
    "meals.home": "DELIVER_MEALS",
    "meals.deliver": "DELIVER_MEALS",
    "meals.step": "DELIVER_MEALS",
    "meals.close_route": "DELIVER_MEALS",
    "meals.recipients": "ADMIN",
    "meals.recipient": "ADMIN",
    "meals.routes": "ADMIN",
    "meals.route": "ADMIN",
    "meals.print_sheet": "ADMIN",
    "meals.report": "ADMIN",
    "meals.export": "ADMIN",
    "visits.overdue_list": "FOLLOW_OVERDUE",
    "admin.absences": "MANAGE_ABSENCES",
    "admin.user_absences": "MANAGE_ABSENCES",  # a leader: only the workers of their grids (others 404)
    "admin.absence_delete": "MANAGE_ABSENCES",
    "requests.index": "REQUESTS",
    "requests.new": "REQUESTS",
    "requests.create": "REQUESTS",
    "requests.show": "REQUESTS",
    "requests.photo": "REQUESTS",  # a photo of a case in scope only
    "requests.accept": "HANDLE_REQUESTS",
    "requests.dispatch": "HANDLE_REQUESTS",
    "requests.handle": "HANDLE_REQUESTS",
    "requests.verify": "VERIFY_REQUESTS",
    "requests.close": "VERIFY_REQUESTS",
    "requests.merge": "VERIFY_REQUESTS",
    "requests.meeting": "VERIFY_REQUESTS",
    "requests.rate": "SOS",  # the reporter's own rating
    "requests.settings": "ADMIN",
    "dashboard.index": "VIEW_DASHBOARD",
    "dashboard.panel_csv": "VIEW_DASHBOARD",
    "dashboard.team_view": "VIEW_DASHBOARD",
    "dashboard.evaluation": "VIEW_DASHBOARD",
    "dashboard.report": "VIEW_DASHBOARD",  # per grid: another grid's or community's id answers 404
    "dashboard.report_download": "VIEW_DASHBOARD",
    "dashboard.zero": "ZERO_REPORT",
}

# who each record kind is meant for (the sync path's own rule)
KIND_INTENT = {"visit": INTENT["RECORD_VISITS"], "alert": INTENT["RAISE_ALERTS"] | INTENT["SOS"],
               "delivery": INTENT["DELIVER_MEALS"], "delivery_step": INTENT["DELIVER_MEALS"],
               "route_closure": INTENT["DELIVER_MEALS"], "sos": INTENT["SOS"], "checkin": INTENT["CHECK_IN"],
               "request": INTENT["REQUESTS"], "zero_report": INTENT["ZERO_REPORT"]}

ROLE_USER = {"admin": "admin", "leader": "leader1", "worker": "worker1", "volunteer": "volunteer1",
             "resident": "resident1"}
# URL arguments that name an object (the rest are formats and languages)
OBJECT_ARGS = {"alert_id", "household_id", "grid_id", "building_id", "resident_id", "user_id", "token",
               "visit_uuid", "route_id", "recipient_id", "notice_id", "absence_id", "pause_id", "request_id", "name"}
SKIP_METHODS = {"HEAD", "OPTIONS"}
# forms that name an object in a field (posted with it: the object is part of the request)
FORM_OBJECTS = {
    "admin.building_new": {"grid_id": "grid_id"}, "admin.building_edit": {"grid_id": "grid_id"},
    "admin.household_new": {"building_id": "building_id"}, "admin.household_edit": {"building_id": "building_id"},
    "admin.resident_new": {"household_id": "household_id"}, "admin.resident_edit": {"household_id": "household_id"},
}


def expected(endpoint):
    return INTENT[ENDPOINTS[endpoint]]


def endpoints(app):
    """Every endpoint; logout last, as it ends the session."""
    names = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    return sorted(names, key=lambda e: (e == "auth.logout", e))


def rules(app, endpoint):
    return [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]


def test_every_route_has_a_rule_and_keeps_it(app):
    missing = [e for e in endpoints(app) if e not in ENDPOINTS]
    assert not missing, f"routes without an access rule in the matrix: {missing}"
    undeclared = [e for e in endpoints(app) if access_of(app, e) is None]
    assert not undeclared, f"views without an @allow/@public declaration: {undeclared}"
    wrong = []
    for e in endpoints(app):
        declared, meant = access_of(app, e), expected(e)
        if (declared == PUBLIC) != (meant == PUBLIC) or (meant != PUBLIC and set(declared) != meant):
            wrong.append(f"{e}: declared {declared}, meant {meant}")
    assert not wrong, "\n".join(wrong)


def test_capabilities_in_access_py_match_the_intent():
    """Templates (`can()`), home routing and record kinds use access.py's capabilities."""
    for name, roles in INTENT.items():
        if name != PUBLIC:
            assert set(access.CAPABILITIES[name]) == roles, name
    for role in ALL:
        home = access.HOME.get(role)
        assert home is None or role in expected(home), (role, home)


def test_record_kinds_are_meant_for_the_intended_roles(app):
    assert {name: set(kind.roles) for name, kind in records.KINDS.items()} == KIND_INTENT


# ---- requests --------------------------------------------------------------------------

def _objects(world, household, author, admin):
    """URL values naming objects around `household`: its grid, building, a resident, a visit
    and an alert on it, an import job and a user of its community."""
    visit = records.ingest_one(author, "visit", str(uuid.uuid4()),
                               {"household_id": household.id, "mode": "door", "occurred_at": "2026-01-05T10:00"})
    assert visit["status"] == "stored", visit
    alert = alerts.raise_alert("worker", household, raised_by=author)
    job = importer.preview(admin.community, admin, "x.csv", "楼栋,房号,姓名,性别\n1栋,999,测试,男\n".encode())
    push.add_notices([author.id], "测试", "", "/", subject=("alert", alert.id))
    from datetime import date
    from webapp.models import Absence
    absence = Absence(user_id=author.id, kind="leave", start_date=date(2030, 1, 1), end_date=date(2030, 1, 2),
                      note="")
    db.session.add(absence)
    from webapp.services import checkins
    pause = checkins.add_pause(author, household, "hospital", "2026-01-05", "2026-01-09")
    db.session.commit()
    grid = household.building.grid
    return {"alert_id": alert.id, "notice_id": _notice_of(author.id), "household_id": household.id, "grid_id": grid.id,
            "building_id": household.building_id, "resident_id": household.current_residencies[0].resident.id,
            "user_id": author.id, "absence_id": absence.id, "token": job.token, "pause_id": pause.id,
            "visit_uuid": visit["uuid"],
            "fmt": "csv", "panel_name": "coverage_grid", "code": "zh_Hans", "lang": "zh_Hans", "kind": "households", **_meal_objects(household),
            **_request_objects(author, household)}


def _request_objects(author, household):
    """A request about the household, recorded by its grid's worker, with a photo."""
    from webapp.models import Request
    from webapp.services import requests
    requests.ensure_categories(household.building.grid.community)
    db.session.commit()
    category = requests.categories(household.building.grid.community_id)[0]
    photo = "data:image/png;base64," + __import__("base64").b64encode(b"\x89PNG\r\n\x1a\n" + b"m" * 64).decode()
    answer = records.ingest_one(author, "request", str(uuid.uuid4()), {
        "category_id": category.id, "text": "楼道灯坏了", "household_id": household.id, "photo": photo})
    assert answer["status"] == "stored", answer
    req = db.session.scalar(select(Request).where(Request.uuid == answer["uuid"]))
    return {"request_id": req.id, "name": req.photo}


def _notice_of(user_id):
    from webapp.models import Notice
    return db.session.scalar(select(Notice.id).where(Notice.user_id == user_id).order_by(Notice.id.desc()))


def _meal_objects(household):
    """The meal route of the household's community (the demo seeds one) and a recipient on it."""
    from webapp.models import MealRoute
    route = db.session.scalar(select(MealRoute).where(
        MealRoute.community_id == household.building.grid.community_id))
    return {"route_id": route.id, "recipient_id": route.stops[0].recipient_id}


def _url(app, rule, values):
    with app.test_request_context():
        return url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})


def _csrf_refusal(response):
    if response.status_code != 400:  # (a photo's body is not text)
        return False
    body = response.get_data(as_text=True)
    return "安全令牌已失效" in body or "页面已过期" in body


def _send(client, method, url, form=None):
    token = client.csrf
    return client.open(url, method=method, headers={"X-CSRFToken": token},
                       data=dict(form or {}, csrf_token=token) if method != "GET" else None)


def _anonymous(app):
    client = app.test_client()
    client.csrf = csrf_from(client.get("/login").get_data(as_text=True))  # a valid token for this session
    return client


def _requests(app, values, only_objects=False):
    """(endpoint, method, url, form) for every method of every route; only_objects: those that name
    an object, in the URL or in a form field."""
    for endpoint in endpoints(app):
        for rule in rules(app, endpoint):
            for method in sorted(rule.methods - SKIP_METHODS):
                form = {field: values[key] for field, key in FORM_OBJECTS.get(endpoint, {}).items()} \
                    if method != "GET" else {}
                if only_objects and not (rule.arguments & OBJECT_ARGS or form):
                    continue
                yield endpoint, method, _url(app, rule, values), form


@pytest.mark.parametrize("role", sorted(ALL) + ["anonymous"])
def test_matrix(app, as_user, role):
    """Community 1's objects, in scope of the grid-1 worker and leader (resident1's own household)."""
    world = small_demo()
    own = scope.own_household_id(world.users["resident1"])
    household = next(h for h in world.grid1 if h.id == own)
    values = _objects(world, household, world.users["worker1"], world.users["admin"])
    if role != "anonymous":  # a notice of the requesting user's own
        me = world.users[ROLE_USER[role]]
        push.add_notices([me.id], "测试", "", "/", subject=("alert", values["alert_id"]))
        db.session.commit()
        values["notice_id"] = _notice_of(me.id)
    client = _anonymous(app) if role == "anonymous" else as_user(ROLE_USER[role])
    failures, checked = [], 0
    for endpoint, method, url, form in _requests(app, values):
        response = _send(client, method, url, form)
        status, meant = response.status_code, expected(endpoint)
        checked += 1
        where = f"{method} {url} ({endpoint}) as {role} → {status}"
        if status >= 500:
            failures.append(where)
        elif _csrf_refusal(response):
            failures.append(where + ": refused for its CSRF token, the rule was not tested")
        elif meant == PUBLIC:
            continue
        elif role == "anonymous":
            to_login = status == 302 and "/login" in response.headers["Location"]
            if not (to_login or (status == 401 and url.startswith("/api/"))):
                failures.append(where + ", expected the login page")
        elif role in meant:
            if status in (401, 403, 404):
                failures.append(where + ", expected access")
        elif status != 404:
            failures.append(where + ", expected 404")
    assert checked > len(ENDPOINTS)  # every method of every route, not one per endpoint
    assert not failures, "\n".join(failures)


def _all_404(app, client, values, who):
    failures, checked = [], 0
    for endpoint, method, url, form in _requests(app, values, only_objects=True):
        response = _send(client, method, url, form)
        checked += 1
        if response.status_code != 404 or _csrf_refusal(response):
            failures.append(f"{method} {url} ({endpoint}) as {who} → {response.status_code}, expected 404")
    assert checked >= 20
    return failures


def test_another_communitys_objects_answer_404(app, as_user):
    """Community 2's admin, leader and worker ask for community 1's objects by id: every one is 404,
    whatever the method, and nothing changes."""
    world = small_demo()
    h = world.grid1[0]
    values = _objects(world, h, world.users["worker1"], world.users["admin"])
    failures = []
    for username in ("c2_admin", "c2_leader1", "c2_worker1"):
        client = as_user(username)
        # a control: the same client reaches its own community's household
        theirs = world.other.grid1[0].id
        assert client.get(f"/households/{theirs}").status_code == 200, username
        failures += _all_404(app, client, values, username)
    assert not failures, "\n".join(failures)
    alert = db.session.get(Alert, values["alert_id"])
    db.session.refresh(alert)
    assert alert.state == "open" and alert.acknowledged_by is None
    job = db.session.query(ImportJob).filter_by(token=values["token"]).one()
    assert job.status != "done"


def test_objects_of_another_grid_answer_404(app, as_user):
    """A worker or leader of grid 1 gets 404 for every object URL of grid 2, whatever the method."""
    world = small_demo()
    values = _objects(world, world.grid2[0], world.users["worker2"], world.users["admin"])
    failures = []
    for username in ("worker1", "leader1"):
        failures += _all_404(app, as_user(username), values, username)
    assert not failures, "\n".join(failures)


def test_micro_grid_worker_sees_only_their_micro_grid(app, as_user):
    world = small_demo()
    worker = world.users["microworker1"]
    client = as_user("microworker1")
    mine, sibling = world.micro_households[0], world.sibling_households[0]
    assert mine.building.grid_id == world.micro.id and sibling.building.grid_id == world.sibling.id
    # a control: their own micro-grid's household, and its grid page, are open to them
    assert client.get(f"/households/{mine.id}").status_code == 200
    assert client.get(f"/grids/{world.micro.id}").status_code == 200
    values = _objects(world, sibling, world.users["worker1"], world.users["admin"])
    failures = _all_404(app, client, values, "microworker1")
    assert not failures, "\n".join(failures)
    due = client.get("/today").get_data(as_text=True)
    assert f"/households/{sibling.id}\"" not in due
    assert {h.id for h in db.session.scalars(scope.households(worker))} == {h.id for h in world.micro_households}
