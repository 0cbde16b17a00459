"""POST /api/sync: one idempotent write path, each record answered on its own terms."""
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Visit
from webapp import clock
from webapp.services import records


@pytest.fixture(autouse=True)
def no_seeded_visits(world):
    """Start these tests from no visits at all (the demo seeds a history)."""
    db.session.execute(delete(Visit))
    db.session.commit()


def visit(household_id, **extra):
    payload = {"household_id": household_id, "mode": "door", "occurred_at": "2026-11-20T10:00",
               "health": "ok", "mental": "concern", "mental_note": "情绪低落", "needs": ["meals"]}
    payload.update(extra)
    return {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
            "payload": payload}


def sync(client, recs, **kw):
    return client.post("/api/sync", json={"records": recs}, headers={"X-CSRFToken": client.csrf}, **kw)


def count():
    return db.session.scalar(select(func.count(Visit.id)))


def test_same_uuid_twice_gives_one_visit_and_the_same_answer(as_user, world):
    worker = as_user("worker1")
    rec = visit(world.grid1[0].id)
    first = sync(worker, [rec])
    second = sync(worker, [rec])
    assert first.status_code == second.status_code == 200
    assert first.json == second.json
    assert first.json["results"][0]["status"] == "stored"
    assert count() == 1


def test_each_record_answered_on_its_own_terms(as_user, world):
    worker = as_user("worker1")
    good, other_grid, unknown, bad_mode = (visit(world.grid1[0].id), visit(world.grid2[0].id),
                                           visit(999999), visit(world.grid1[1].id, mode="telepathy"))
    answers = sync(worker, [good, other_grid, unknown, bad_mode]).json["results"]
    assert [a["status"] for a in answers] == ["stored", "rejected", "rejected", "rejected"]
    assert answers[1]["code"] == "out_of_scope" and "不在您负责的网格" in answers[1]["reason"]
    assert answers[2]["code"] == "out_of_scope"
    assert answers[3]["code"] == "invalid" and "走访方式" in answers[3]["reason"]
    assert count() == 1


def test_online_form_and_sync_share_one_path(as_user, world):
    worker = as_user("worker1")
    h = world.grid1[0]
    rid = str(uuid.uuid4())
    form = {"csrf_token": worker.csrf, "uuid": rid, "mode": "phone", "occurred_at": "2026-11-21T09:30",
            "health": "ok", "safety": "concern", "safety_note": "燃气软管老化", "needs": ["repairs"],
            "residents_seen": [str(h.current_residencies[0].resident_id)]}
    assert worker.post(f"/households/{h.id}/visits", data=form).status_code == 302
    assert worker.post(f"/households/{h.id}/visits", data=form).status_code == 302  # double submit
    replay = {"uuid": rid, "kind": "visit", "recorded_at": "2026-11-21T01:31:00Z",
              "payload": {k: v for k, v in form.items() if k not in ("csrf_token", "uuid")} | {"household_id": h.id}}
    assert sync(worker, [replay]).json["results"][0]["status"] == "stored"
    assert count() == 1
    v = db.session.scalar(select(Visit))
    assert v.mode == "phone" and v.checks["safety"] == {"ok": False, "note": "燃气软管老化"}
    assert v.occurred_at.hour == 1 and v.occurred_at.minute == 30  # 09:30 Beijing = 01:30 UTC
    page = worker.get(f"/households/{h.id}").get_data(as_text=True)
    assert "居家安全" in page and "电话" in page


def test_form_errors_are_in_chinese_and_write_nothing(as_user, world):
    worker = as_user("worker1")
    h = world.grid1[0]
    response = worker.post(f"/households/{h.id}/visits", data={
        "csrf_token": worker.csrf, "uuid": str(uuid.uuid4()), "mode": "phone", "occurred_at": "昨天",
        "safety": "concern", "safety_note": "燃气味道", "needs": ["medical"], "note": "需要再来"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "时间格式不正确" in html
    assert count() == 0
    # nothing typed is lost: the form comes back as it was sent
    assert 'value="phone" checked' in html and "燃气味道" in html and "需要再来" in html
    assert 'value="medical" checked' in html and 'name="safety" value="concern" checked' in html


def test_another_users_uuid_is_a_conflict(as_user, world):
    rec = visit(world.grid1[0].id)
    assert sync(as_user("worker1"), [rec]).json["results"][0]["status"] == "stored"
    leader = as_user("leader1")
    answer = sync(leader, [rec]).json["results"][0]
    assert answer["status"] == "rejected" and answer["code"] == "conflict"
    assert count() == 1


def test_amendments_do_not_depend_on_arrival_order(as_user, world):
    worker = as_user("worker1")
    h = world.grid1[0].id
    original = visit(h, note="第一次")
    fix1 = visit(h, note="更正一", amends=original["uuid"])
    fix1["recorded_at"] = "2026-11-20T03:00:00Z"
    fix2 = visit(h, note="更正二", amends=original["uuid"])
    fix2["recorded_at"] = "2026-11-20T04:00:00Z"
    sync(worker, [fix2])
    sync(worker, [original, fix1])  # corrections first, original last
    from webapp.models import Household
    from webapp.services import visits
    shown = visits.for_household(db.session.get(Household, h))
    by_uuid = {v.uuid: v for v in shown}
    assert [a.note for a in by_uuid[original["uuid"]].amendments] == ["更正一", "更正二"]
    page = worker.get(f"/visits/{original['uuid']}").get_data(as_text=True)
    assert page.count("已被更正") == 2


def test_whole_request_errors_are_clear_json(app, as_user, world):
    worker = as_user("worker1")
    bad = worker.post("/api/sync", data="{not json", content_type="application/json",
                      headers={"X-CSRFToken": worker.csrf})
    assert bad.status_code == 400 and bad.json["error"] == "malformed"
    big = sync(worker, [visit(world.grid1[0].id) for _ in range(app.config["SYNC_MAX_BATCH"] + 1)])
    assert big.status_code == 413 and "最多" in big.json["message"]
    no_csrf = worker.post("/api/sync", json={"records": [visit(world.grid1[0].id)]})
    assert no_csrf.status_code == 400 and no_csrf.json["error"] == "csrf"
    anonymous = app.test_client().post("/api/sync", json={"records": [visit(world.grid1[0].id)]})
    assert anonymous.status_code == 400 and anonymous.json["error"] == "csrf"  # no session, so no token
    assert count() == 0


def test_expired_session_answers_401_and_keeps_nothing(app, as_user, world):
    """The phone still holds its cookie and a valid CSRF token, but the session was ended
    (signed out on another device): 401, so the phone asks to sign in; nothing stored."""
    phone = as_user("worker1")
    desktop = as_user("worker1")
    desktop.post("/logout", data={"csrf_token": desktop.csrf})  # ends worker1's sessions everywhere
    response = sync(phone, [visit(world.grid1[0].id)])
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.json["error"] == "unauthenticated" and response.json["message"]
    assert count() == 0
    assert phone.get("/api/session").status_code == 401


def test_session_endpoint_gives_user_and_token(as_user, world):
    worker = as_user("worker1")
    data = worker.get("/api/session").json
    assert data["user"] == world.users["worker1"].id and data["csrf_token"]
    assert worker.application.test_client().get("/api/session").status_code == 401


def test_household_moved_out_of_grid_is_refused_then_accepted_back(as_user, world):
    """The phone keeps a refused record until the worker decides; resending later can succeed."""
    from webapp.models import Building, Household
    worker = as_user("worker1")
    h = db.session.get(Household, world.grid1[0].id)
    building = db.session.get(Building, h.building_id)
    home = building.grid_id
    building.grid_id = world.grids[1].children[0].id
    db.session.commit()
    rec = visit(h.id)
    assert sync(worker, [rec]).json["results"][0]["code"] == "out_of_scope"
    building.grid_id = home
    db.session.commit()
    assert sync(worker, [rec]).json["results"][0]["status"] == "stored"


def test_crash_before_commit_acknowledges_nothing(as_user, world, monkeypatch):
    worker = as_user("worker1")
    recs = [visit(world.grid1[0].id) for _ in range(5)]

    def boom():
        raise RuntimeError("power cut")
    monkeypatch.setattr(db.session, "commit", boom)
    try:
        response = sync(worker, recs)
        assert response.status_code == 500
    except RuntimeError:
        pass
    monkeypatch.undo()
    db.session.rollback()
    assert count() == 0
    answers = sync(worker, recs).json["results"]
    assert all(a["status"] == "stored" for a in answers) and count() == 5


def test_time_far_in_future_is_refused(as_user, world):
    worker = as_user("worker1")
    future = (clock.utcnow() + timedelta(days=3)).isoformat() + "Z"
    answer = sync(worker, [visit(world.grid1[0].id, occurred_at=future)]).json["results"][0]
    assert answer["status"] == "rejected" and "时间不合理" in answer["reason"]


def test_a_recorded_at_ahead_of_the_server_is_stored_as_the_receive_time(as_user, world):
    """A phone whose clock runs hours fast: the record is stored, stamped no later than it arrived."""
    worker = as_user("worker1")
    rec = visit(world.grid1[0].id)
    rec["recorded_at"] = (clock.utcnow() + timedelta(hours=20)).isoformat() + "Z"
    assert sync(worker, [rec]).json["results"][0]["status"] == "stored"
    row = db.session.scalar(select(Visit).where(Visit.uuid == rec["uuid"]))
    assert row.recorded_at == row.received_at <= clock.utcnow()


def test_openapi_documents_every_kind_with_an_example(client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    body = doc["paths"]["/api/sync"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == set(records.KINDS)
    for name, example in body["examples"].items():
        assert example["value"]["records"][0]["kind"] == name


def test_openapi_examples_are_accepted(as_user, world):
    """Each kind's documented example, aimed at a household in scope, is stored (by a resident, about
    their own household, for the kinds residents make)."""
    from webapp.services import scope
    worker, resident = as_user("worker1"), as_user("resident1")
    for kind in records.KINDS.values():
        if "household_id" not in kind.example["payload"]:
            continue  # meal kinds: tests/test_meals.py
        rec = json.loads(json.dumps(kind.example))
        by_resident = "resident" in kind.roles
        rec["payload"]["household_id"] = scope.own_household_id(world.users["resident1"]) if by_resident \
            else world.grid1[0].id
        rec["payload"].pop("residents_seen", None)
        rec["payload"]["occurred_at"] = "2026-11-20T10:00"
        rec["recorded_at"] = "2026-11-20T02:00:00Z"
        answer = sync(resident if by_resident else worker, [rec]).json["results"][0]
        assert answer["status"] == "stored", answer


def test_visits_export(as_user, world):
    worker = as_user("worker1")
    recs = [visit(world.grid1[0].id), visit(world.grid1[1].id)]
    sync(worker, recs)
    admin = as_user("admin")
    csv_text = admin.get("/admin/visits/export.csv").get_data(as_text=True)
    for r in recs:
        assert r["uuid"] in csv_text
    assert csv_text.count("\n") == 3
    xlsx = admin.get("/admin/visits/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert worker.get("/admin/visits/export.csv").status_code == 404


def test_concurrent_duplicate_is_answered_on_its_own_terms(as_user, world, monkeypatch):
    """Another request stored a UUID between this batch's check and its insert: the batch falls back
    to one insert at a time, answers the duplicate as stored, and stores the rest."""
    worker = as_user("worker1")
    raced, fresh = visit(world.grid1[0].id), visit(world.grid1[1].id)
    theirs = visit(world.grid1[2].id)
    assert sync(worker, [raced]).json["results"][0]["status"] == "stored"
    assert sync(as_user("leader1"), [theirs]).json["results"][0]["status"] == "stored"
    never = lambda column, values: column.in_([])  # noqa: E731  (the check sees nothing: the race)
    monkeypatch.setattr(records, "one_of", never)
    answers = sync(worker, [raced, fresh, theirs]).json["results"]
    monkeypatch.undo()
    assert [a["status"] for a in answers] == ["stored", "stored", "rejected"]
    assert answers[2]["code"] == "conflict"
    assert count() == 3
