"""Issue 9, finding 2, as an attack: a resident posts door-to-door visits about their own
household straight to /api/sync. Nothing may be stored, the household stays due for the
worker, and an "urgent" visit raises no alert."""
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Alert, Visit
from webapp.services import scope, visits


def _visit(household_id, **extra):
    """A visit made an hour ago (Beijing time on the form, UTC on the envelope), whatever today is."""
    made = clock.utcnow() - timedelta(hours=1)
    payload = {"household_id": household_id, "mode": "door",
               "occurred_at": (made + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
               "health": "ok", "note": "一切都好"}
    payload.update(extra)
    return {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": made.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "payload": payload}


def _due_ids(user):
    return {e.household.id for e in visits.today_list(user)}


def test_resident_cannot_store_a_visit_about_their_own_household(as_user, world):
    resident_user = world.users["resident1"]
    own = scope.own_household_id(resident_user)
    worker1 = world.users["worker1"]
    # the resident's household is in worker1's grid; make it due: it has never been visited
    db.session.execute(Visit.__table__.delete().where(Visit.household_id == own))
    db.session.commit()
    assert own in _due_ids(worker1)
    before_visits = db.session.scalar(select(func.count(Visit.id)))
    before_alerts = db.session.scalar(select(func.count(Alert.id)))

    resident = as_user("resident1")
    plain, urgent = _visit(own), _visit(own, urgent="1", note="我很好，不用来了")
    response = resident.post("/api/sync", json={"records": [plain, urgent]},
                             headers={"X-CSRFToken": resident.csrf})

    assert response.status_code == 200
    answers = response.json["results"]
    assert [a["status"] for a in answers] == ["rejected", "rejected"], answers
    assert {a["code"] for a in answers} == {"forbidden"}
    assert all(a["reason"] and not a["reason"].isascii() for a in answers)  # a sentence in Chinese
    assert db.session.scalar(select(func.count(Visit.id))) == before_visits
    assert db.session.scalar(select(func.count(Visit.id)).where(Visit.uuid.in_([plain["uuid"], urgent["uuid"]]))) == 0
    assert db.session.scalar(select(func.count(Alert.id))) == before_alerts
    assert own in _due_ids(worker1)

    # the same record from the worker is stored: the refusal is about the role, not the record
    worker = as_user("worker1")
    answer = worker.post("/api/sync", json={"records": [plain]}, headers={"X-CSRFToken": worker.csrf})
    assert answer.json["results"][0]["status"] == "stored"
    assert own not in _due_ids(worker1)
