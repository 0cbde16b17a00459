"""The offline blueprint as a client sees it: one version for everything the phone caches,
the pages each role stores, household versions and bundles, one audit entry per 准备离线."""
import json
import re
import shutil
import tomllib
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from webapp import clock
from webapp.blueprints.offline import routes as offline_routes
from webapp.extensions import db
from webapp.models import AuditEntry

ROOT = Path(__file__).resolve().parent.parent


def _json(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return json.loads(response.get_data(as_text=True))


# ---- one version covers templates, translations, static files and the worker

def _copy_package(tmp_path):
    pkg = tmp_path / "webapp"
    for top in offline_routes.VERSIONED:
        shutil.copytree(ROOT / "webapp" / top, pkg / top)
    worker = pkg / "service-worker.js"
    shutil.copy(offline_routes.WORKER, worker)
    return pkg, worker


def test_version_changes_with_a_template_a_translation_or_the_worker(tmp_path, monkeypatch):
    pkg, worker = _copy_package(tmp_path)
    monkeypatch.setattr(offline_routes, "PACKAGE", str(pkg))
    monkeypatch.setattr(offline_routes, "WORKER", str(worker))
    seen = {offline_routes.compute_version()}
    assert offline_routes.compute_version() in seen  # stable while nothing changes
    for path in (pkg / "templates/registry/_household.html",
                 pkg / "translations/en/LC_MESSAGES/messages.po",
                 pkg / "static/css/app.css",
                 worker):
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n")
        version = offline_routes.compute_version()
        assert version not in seen, path
        seen.add(version)


def test_service_worker_is_inside_the_package_and_carries_the_version(client):
    assert Path(offline_routes.WORKER).resolve().is_relative_to(ROOT / "webapp")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["webapp"]
    relative = Path(offline_routes.WORKER).resolve().relative_to(ROOT / "webapp").as_posix()
    assert relative in data or any(Path(relative).match(g) for g in data)
    script = client.get("/service-worker.js").get_data(as_text=True)
    version = re.search(r'var VERSION = "([0-9a-f]{12})"', script)
    assert version, script[:200]
    page = client.get("/login").get_data(as_text=True)
    assert f'data-version="{version.group(1)}"' in page


# ---- pages per role

def test_each_role_stores_its_own_home_and_pages(as_user, world):
    worker = _json(as_user("worker1").get("/offline/manifest.json"))
    assert worker["home"] == "/today" and worker["pages"][0] == "/today"
    assert {"/today", "/grids", "/search", "/settings"} <= set(worker["pages"])
    assert worker["households"] == "/offline/versions.json"
    resident = _json(as_user("resident1").get("/offline/manifest.json"))
    assert resident["home"] == "/me" and "/me" in resident["pages"]
    assert resident["households"] is None and "/today" not in resident["pages"]
    volunteer = _json(as_user("volunteer1").get("/offline/manifest.json"))
    assert volunteer["home"] == "/meals" and "/meals" in volunteer["pages"] and volunteer["households"] is None
    assert as_user("resident1").get("/offline/versions.json").status_code == 404
    assert as_user("volunteer1").get("/offline/bundle?ids=1").status_code == 404


def test_resident_home_has_the_phone_numbers_it_needs_offline(as_user, world):
    page = as_user("resident1").get("/me").get_data(as_text=True)
    worker = world.users["worker1"]
    assert f'href="tel:{worker.phone}"' in page and 'href="tel:120"' in page and f'sms:{worker.phone}' in page
    assert 'id="sos"' in page


def test_offline_notice_and_outbox_come_as_fragments_for_the_stored_layout(as_user, world):
    client = as_user("worker1")
    notice = client.get("/offline", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in notice and "data-back" in notice and 'href="/"' in notice
    outbox = client.get("/outbox", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in outbox and "data-outbox-page" in outbox
    shell = client.get("/shell").get_data(as_text=True)
    assert "<!--linli-main-->" in shell and 'class="tabs"' in shell and 'href="/today"' in shell
    resident_shell = as_user("resident1").get("/shell").get_data(as_text=True)
    assert 'href="/inbox"' in resident_shell and 'href="/"' in resident_shell


# ---- household versions and bundles

def _versions(client, **headers):
    return client.get("/offline/versions.json", headers=headers)


def test_versions_304_when_nothing_changed_and_one_changes_after_a_visit(as_user, world):
    client = as_user("worker1")
    first = _versions(client)
    data = _json(first)["households"]
    mine = {f"/households/{h.id}" for h in world.grid1}
    assert set(data) == mine  # all of worker1's households, none of grid 2
    etag = first.headers["ETag"]
    assert _versions(client, **{"If-None-Match": etag}).status_code == 304
    clock.advance(timedelta(minutes=61))  # nothing changed but the time: still nothing to download
    assert _versions(client, **{"If-None-Match": etag}).status_code == 304
    target = world.grid1[3]
    answer = client.post("/api/sync", json={"records": [{
        "uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T08:00:00Z",
        "payload": {"household_id": target.id, "mode": "door", "occurred_at": "2026-11-20T16:00"}}]},
        headers={"X-CSRFToken": client.csrf})
    assert _json(answer)["results"][0]["status"] == "stored"
    again = _versions(client, **{"If-None-Match": etag})
    assert again.status_code == 200
    changed = {u for u, v in _json(again)["households"].items() if data[u] != v}
    assert changed == {f"/households/{target.id}"}


def test_bundle_holds_only_households_in_scope_without_tokens(as_user, world):
    client = as_user("worker1")
    own, other = world.grid1[:3], world.grid2[:2]
    ids = ",".join(str(h.id) for h in [*own, *other])
    fragments = _json(client.get(f"/offline/bundle?ids={ids}"))["fragments"]
    assert set(fragments) == {f"/households/{h.id}" for h in own}
    versions = _json(_versions(client))["households"]
    for url, entry in fragments.items():
        assert entry["v"] == versions[url]
        html = entry["html"]
        assert "<html" not in html and 'id="visit-form"' in html
        assert 'name="uuid" value=""' in html  # the phone fixes the UUID when the form opens
        assert re.search(r'name="csrf_token" value=""', html)
    h = own[0]
    assert h.label in fragments[f"/households/{h.id}"]["html"]


def test_bundle_refuses_malformed_and_oversized_requests(as_user, world):
    client = as_user("worker1")
    for query in ("", "ids=", "ids=1,x", "ids=1%00", "ids=" + ",".join(str(i) for i in range(1, 300))):
        assert client.get(f"/offline/bundle?{query}").status_code == 400, query


def test_prepare_offline_writes_one_audit_entry_not_one_per_household(as_user, world):
    client = as_user("worker1")
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    versions = _json(_versions(client))["households"]
    ids = ",".join(u.rsplit("/", 1)[1] for u in versions)
    _json(client.get(f"/offline/bundle?ids={ids}"))
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id).offset(before)).all()
    assert [(e.action, e.detail) for e in entries] == [("prepare_offline", str(len(world.grid1)))]
    assert len(world.grid1) > 1


def test_a_household_version_changes_with_what_its_page_shows(as_user, world):
    from webapp.models import Resident
    client = as_user("worker1")
    before = _json(_versions(client))["households"]
    target = world.grid1[2]
    person = target.current_residencies[0].resident
    person.name = person.name + "改"
    other = world.grid1[4]
    other.note = "门铃坏了"
    db.session.commit()
    after = _json(_versions(client))["households"]
    assert {u for u in before if before[u] != after[u]} == {f"/households/{target.id}", f"/households/{other.id}"}
    html = _json(client.get(f"/offline/bundle?ids={target.id}"))["fragments"][f"/households/{target.id}"]["html"]
    assert person.name in html
    assert db.session.get(Resident, person.id).name == person.name
