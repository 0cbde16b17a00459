"""Every registered route, requested as every role: the scope rule holds, and a
route added without an access rule makes this test fail."""
import uuid

import pytest

from webapp.access import access_of

from .conftest import small_demo

ALL = {"admin", "leader", "worker", "volunteer", "resident"}
REGISTRY = {"admin", "leader", "worker"}
FIELD = {"admin", "leader", "worker", "volunteer"}
ADMIN = {"admin"}
PUBLIC = "public"

# endpoint → who may use it. A new route must be added here with its rule.
EXPECTED = {
    "main.home": ALL,
    "main.healthz": PUBLIC,
    "main.service_worker": PUBLIC,
    "main.manifest": PUBLIC,
    "main.offline": PUBLIC,
    "main.i18n_script": PUBLIC,
    "main.set_lang": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": ALL,
    "auth.settings": ALL,
    "registry.grids": REGISTRY,
    "registry.grid": REGISTRY,
    "registry.grid_households": REGISTRY,
    "registry.building": REGISTRY,
    "registry.household": REGISTRY,
    "registry.search": REGISTRY,
    "admin.index": ADMIN,
    "admin.grids": ADMIN,
    "admin.grid_edit": ADMIN,
    "admin.building_new": ADMIN,
    "admin.building_edit": ADMIN,
    "admin.household_new": ADMIN,
    "admin.household_edit": ADMIN,
    "admin.resident_new": ADMIN,
    "admin.resident_edit": ADMIN,
    "admin.users": ADMIN,
    "admin.user_new": ADMIN,
    "admin.user_edit": ADMIN,
    "admin.categories": ADMIN,
    "admin.import_upload": ADMIN,
    "admin.import_preview": ADMIN,
    "admin.import_commit": ADMIN,
    "admin.import_progress": ADMIN,
    "admin.export": ADMIN,
    "visits.today": {"leader", "worker"},
    "visits.new": REGISTRY,
    "visits.create": REGISTRY,
    "visits.show": REGISTRY,
    "visits.outbox": PUBLIC,
    "visits.offline_manifest": FIELD,
    "visits.shell": FIELD,
    "visits.export": ADMIN,
    "api.session_info": ALL,
    "api.sync": ALL,
    "api.openapi": PUBLIC,
    "api.push_key": ALL,
    "api.push_subscribe": ALL,
    "api.push_unsubscribe": ALL,
    "alerts.index": REGISTRY,
    "alerts.show": REGISTRY,
    "alerts.acknowledge": REGISTRY,
    "alerts.resolve": REGISTRY,
    "alerts.raise_for_household": REGISTRY,
    "alerts.inbox": ALL,
    "resident.home": {"resident"},
    "resident.sos": {"resident"},
    "resident.invite": REGISTRY,
    "resident.join": PUBLIC,
}


def endpoints(app):
    return sorted({r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"})


def test_every_route_has_a_declared_rule(app):
    missing = [e for e in endpoints(app) if e not in EXPECTED]
    assert not missing, f"routes without an access rule in the matrix: {missing}"
    undeclared = [e for e in endpoints(app) if access_of(app, e) is None]
    assert not undeclared, f"views without an @allow/@public declaration: {undeclared}"
    for e in endpoints(app):
        declared = access_of(app, e)
        expected = EXPECTED[e]
        assert (declared == PUBLIC) == (expected == PUBLIC), e
        if expected != PUBLIC:
            assert set(declared) == expected, e


def _url_for(app, endpoint, values):
    from flask import url_for
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {a: values[a] for a in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **args), rule.methods


def _sample_values(world, app, scope_user):
    """Values for URL parameters that are inside scope_user's scope."""
    from webapp.extensions import db
    from webapp.models import ImportJob
    from webapp.services import alerts, importer, records
    h = world.grid1[0]
    resident = h.current_residencies[0].resident
    job = db.session.query(ImportJob).first()
    if job is None:
        job = importer.preview(world.users["admin"].community, world.users["admin"], "x.csv",
                               "楼栋,房号,姓名,性别\n1栋,999,测试,男\n".encode())
    visit = records.ingest_one(world.users["worker1"], "visit", str(uuid.uuid4()),
                               {"household_id": h.id, "mode": "door", "occurred_at": "2026-01-05T10:00"})
    alert = alerts.raise_alert("worker", h, raised_by=world.users["worker1"])
    return {
        "alert_id": alert.id,
        "household_id": h.id, "grid_id": world.grids[0].id, "building_id": h.building_id,
        "resident_id": resident.id, "user_id": world.users["worker1"].id, "token": job.token,
        "fmt": "csv", "code": "zh_Hans", "visit_uuid": visit["uuid"], "lang": "zh_Hans",
    }


ROLE_USER = {"admin": "admin", "leader": "leader1", "worker": "worker1", "volunteer": "volunteer1",
             "resident": "resident1"}


@pytest.mark.parametrize("role", sorted(ALL) + ["anonymous"])
def test_matrix(app, as_user, role):
    world = small_demo()
    client = app.test_client() if role == "anonymous" else as_user(ROLE_USER[role])
    values = _sample_values(world, app, role)
    failures = []
    for endpoint in endpoints(app):
        if endpoint in ("auth.logout",):
            continue  # checked in test_auth; it would end this client's session
        url, methods = _url_for(app, endpoint, values)
        method = "GET" if "GET" in methods else "POST"
        data = {"csrf_token": getattr(client, "csrf", "")} if method == "POST" else None
        headers = {"X-CSRFToken": getattr(client, "csrf", "")}
        response = client.open(url, method=method, data=data, headers=headers)
        expected = EXPECTED[endpoint]
        status = response.status_code
        if status >= 500:
            failures.append(f"{endpoint} {url} → {status}")
        elif expected == PUBLIC:
            continue
        elif role == "anonymous":
            # a POST without a session fails its CSRF check (400) before reaching the login gate
            denied = status == 401 or (method == "POST" and status == 400)
            if not (denied or (status == 302 and "/login" in response.headers["Location"])):
                failures.append(f"{endpoint} as anonymous → {status}")
        elif role in expected:
            if status in (401, 403, 404):
                failures.append(f"{endpoint} {url} as {role} → {status}, expected access")
        elif status != 404:
            failures.append(f"{endpoint} {url} as {role} → {status}, expected 404")
    assert not failures, "\n".join(failures)


def test_objects_out_of_scope_answer_404(app, as_user):
    """A worker or leader of grid 1 gets 404 for every object URL of grid 2."""
    world = small_demo()
    h2 = world.grid2[0]
    from webapp.services import records
    from webapp.services import alerts
    visit = records.ingest_one(world.users["worker2"], "visit", str(uuid.uuid4()),
                               {"household_id": h2.id, "mode": "door", "occurred_at": "2026-01-05T10:00"})
    alert = alerts.raise_alert("worker", h2, raised_by=world.users["worker2"])
    other = {"alert_id": alert.id,"household_id": h2.id, "grid_id": world.grids[1].id, "building_id": h2.building_id,
             "resident_id": h2.current_residencies[0].resident.id, "visit_uuid": visit["uuid"]}
    for username in ("worker1", "leader1"):
        client = as_user(username)
        for endpoint in endpoints(app):
            rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
            if not rule.arguments or not rule.arguments <= set(other) or "GET" not in rule.methods:
                continue
            if username not in ("worker1", "leader1") or EXPECTED[endpoint] in (PUBLIC, ADMIN):
                continue
            url, _m = _url_for(app, endpoint, other)
            assert client.get(url).status_code == 404, (username, url)
