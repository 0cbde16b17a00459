"""Ingest never fails a batch because of one record: every value a column cannot
hold, every type, range, length and character, is answered for that record alone
(rejected with a reason, or stored), never with a 500; the good records beside it
are stored. Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""
import json
import uuid

import pytest
from sqlalchemy import select

from webapp import access
from webapp.extensions import db
from webapp.models import Alert, Visit
from webapp.services import records

from .conftest import small_demo

VISIT_TEXT = ["note", "health_note", "mental_note", "safety_note", "hygiene_note", "living_note"]
VISIT_FIELDS = ["household_id", "mode", "occurred_at", "residents_seen", "health", "mental", "safety",
                "hygiene", "living", "needs", "follow_up_due", "urgent", "amends"] + VISIT_TEXT
ALERT_FIELDS = ["household_id", "source", "severity", "note", "location"]
ODD_VALUES = [[], ["door"], [[1]], {}, {"a": 1}, 0, -1, 3.5, 1e308, True, False, None, "", "x", 10**30,
              -10**30, 2**63, "9" * 40, "\x00", "\ud800"]
DATES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00", "0001-01-01",
         "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59.999999", "9999-12-31",
         "2026-11-20T10:00:00+14:00", "2026-11-20T10:00:00-12:00", "2026-11-20T10:00:00+23:59",
         "10000-01-01T00:00", "2026-13-01T00:00", "2026-11-20T10:00:00+25:00"]
CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "a\x00b", "\x85"]


@pytest.fixture
def field(app, as_user):
    world = small_demo()
    return world, as_user("worker1")


def visit(hid, **changes):
    payload = {"household_id": hid, "mode": "door", "occurred_at": "2026-11-20T10:00"}
    payload.update(changes)
    return {"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z", "payload": payload}


def alert(hid, **changes):
    payload = {"household_id": hid, "source": "worker", "severity": "high", "note": "", "location": ""}
    payload.update(changes)
    return {"uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": "2026-11-20T02:00:00Z", "payload": payload}


def send(client, batch):
    """Post a batch between two good visits; return the poison records' answers after checking the
    whole batch was answered record by record and the good neighbours were stored."""
    hid = send.hid
    good = [visit(hid), visit(hid, note="邻居")]
    body = json.dumps({"records": [good[0], *batch, good[1]]})  # ensure_ascii: lone surrogates travel as \\ud800
    response = client.post("/api/sync", data=body, content_type="application/json",
                           headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:800])
    answers = response.json["results"]
    assert len(answers) == len(batch) + 2
    for a in answers:
        assert isinstance(a["uuid"], str) and isinstance(a["kind"], str), a
        assert a["status"] in ("stored", "rejected"), a
        if a["status"] == "rejected":
            assert a["code"] in ("invalid", "out_of_scope", "conflict") and a["reason"].strip(), a
    assert [answers[0]["status"], answers[-1]["status"]] == ["stored", "stored"], answers
    db.session.expire_all()
    stored = set(db.session.scalars(select(Visit.uuid).where(Visit.uuid.in_([g["uuid"] for g in good]))))
    assert stored == {g["uuid"] for g in good}
    return answers[1:-1]


def check_stored(answers, sent, model):
    """What was answered stored is there, what was rejected is not."""
    db.session.expire_all()
    for a, rec in zip(answers, sent):
        exists = db.session.scalar(select(model.id).where(model.uuid == rec["uuid"].lower()))
        assert (exists is not None) == (a["status"] == "stored"), (a, rec)


@pytest.fixture
def worker(field):
    world, client = field
    send.hid = world.grid1[0].id
    client.world = world
    return client


@pytest.mark.parametrize("kind", [["visit"], {"visit": 1}, 1, 1.5, True, None, "", "visit\x00", "x" * 5000])
def test_kind_of_any_type_is_one_rejection(worker, kind):
    rec = visit(send.hid)
    rec["kind"] = kind
    [answer] = send(worker, [rec])
    assert answer["status"] == "rejected" and answer["code"] == "invalid"
    assert answer["uuid"] == rec["uuid"]


@pytest.mark.parametrize("value", [["x"], {"a": 1}, 12, None, "", "not-a-uuid", "x" * 5000, "\x00", 10**40])
def test_uuid_of_any_type_is_one_rejection_answered_with_a_string(worker, value):
    rec = visit(send.hid)
    rec["uuid"] = value
    [answer] = send(worker, [rec])
    assert answer["status"] == "rejected" and answer["uuid"] == ""


@pytest.mark.parametrize("value", DATES)
@pytest.mark.parametrize("where", ["recorded_at", "occurred_at", "follow_up_due", "alert"])
def test_dates_at_the_ends_of_the_calendar_and_with_offsets(worker, value, where):
    if where == "recorded_at":
        rec = visit(send.hid)
        rec["recorded_at"] = value
    elif where == "alert":
        rec = alert(send.hid)
        rec["recorded_at"] = value
    else:
        rec = visit(send.hid, **{where: value})
    [answer] = send(worker, [rec])
    check_stored([answer], [rec], Alert if where == "alert" else Visit)
    if where != "follow_up_due" and (value.startswith(("0001", "9999", "10000")) or "-13-" in value
                                     or "+25" in value):
        assert answer["status"] == "rejected", (where, value, answer)


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize("kind,key", [("visit", k) for k in VISIT_TEXT] + [("alert", "note"), ("alert", "location")])
def test_control_characters_in_text_are_refused(worker, kind, key, char):
    rec = (visit if kind == "visit" else alert)(send.hid, **{key: "上门" + char + "了解情况"})
    [answer] = send(worker, [rec])
    assert answer["status"] == "rejected" and answer["code"] == "invalid", answer
    check_stored([answer], [rec], Visit if kind == "visit" else Alert)


def test_newlines_and_tabs_are_kept(worker):
    rec = visit(send.hid, note="第一行\n第二行\t缩进", health_note="a\r\nb")
    [answer] = send(worker, [rec])
    assert answer["status"] == "stored", answer
    row = db.session.scalar(select(Visit).where(Visit.uuid == rec["uuid"]))
    assert row.note == "第一行\n第二行\t缩进"
    assert row.checks["health"]["note"] in ("a\nb", "a\r\nb")


def test_lone_surrogates_and_nul_in_keys_are_refused(worker):
    recs = [visit(send.hid, note="\ud800"), visit(send.hid, **{"x\x00": "1"}), alert(send.hid, location="\udfff")]
    answers = send(worker, recs)
    assert [a["status"] for a in answers] == ["rejected"] * 3


@pytest.mark.parametrize("kind,key", [("visit", k) for k in VISIT_FIELDS] + [("alert", k) for k in ALERT_FIELDS])
def test_over_long_values_in_every_field(worker, kind, key):
    model = Visit if kind == "visit" else Alert
    sent = [(visit if kind == "visit" else alert)(send.hid, **{key: v})
            for v in ("字" * 100_000, "1" * 5000, ["1"] * 10_000, "a" * 201, "a" * 501, "a" * 2001)]
    answers = send(worker, sent)
    check_stored(answers, sent, model)
    assert answers[0]["status"] == answers[2]["status"] == "rejected", (key, answers)


def test_longest_accepted_alert_location_fits_the_column(worker):
    """The stored location is the household's address plus the phone's 200 characters."""
    rec = alert(send.hid, location="经纬度" * 66 + "xx")
    [answer] = send(worker, [rec])
    check_stored([answer], [rec], Alert)
    if answer["status"] == "stored":
        row = db.session.scalar(select(Alert).where(Alert.uuid == rec["uuid"]))
        assert len(row.location) <= 200


@pytest.mark.parametrize("kind,key", [("visit", k) for k in VISIT_FIELDS] + [("alert", k) for k in ALERT_FIELDS])
def test_unexpected_types_in_every_payload_field(worker, kind, key):
    model = Visit if kind == "visit" else Alert
    sent = [(visit if kind == "visit" else alert)(send.hid, **{key: v}) for v in ODD_VALUES]
    answers = send(worker, sent)
    check_stored(answers, sent, model)


@pytest.mark.parametrize("value", [10**30, -10**30, 2**63, 2**31, -(2**31) - 1])
def test_huge_integers_for_ids(worker, value):
    recs = [visit(value), alert(value), visit(send.hid, residents_seen=[value]), visit(send.hid, amends=value)]
    recs[0]["uuid"] = recs[0]["uuid"]
    answers = send(worker, recs)
    assert [a["status"] for a in answers] == ["rejected"] * 4, answers


def test_integer_too_long_to_parse_is_one_rejection(worker):
    """Python refuses to read integers of more than 4300 digits; the record holding one is refused alone."""
    hid = send.hid
    good = visit(hid)
    rec = visit(hid)
    body = json.dumps({"records": [good, rec]}).replace(f'"household_id": {hid}', '"household_id": ' + "9" * 5000, 2)
    body = body.replace('"household_id": ' + "9" * 5000, f'"household_id": {hid}', 1)
    response = worker.post("/api/sync", data=body, content_type="application/json",
                           headers={"X-CSRFToken": worker.csrf})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert [a["status"] for a in response.json["results"]] == ["stored", "rejected"]


def test_deeply_nested_json_in_a_payload_is_one_rejection(worker):
    deep = []
    for _ in range(200):
        deep = [deep]
    recs = [visit(send.hid, note=deep), visit(send.hid, extra={"a": deep}), visit(send.hid, needs=deep)]
    answers = send(worker, recs)
    assert [a["status"] for a in answers] == ["rejected"] * 3


def test_json_too_deep_to_parse_is_a_clear_400_not_a_500(worker):
    body = '{"records": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    response = worker.post("/api/sync", data=body, content_type="application/json",
                           headers={"X-CSRFToken": worker.csrf})
    assert response.status_code == 400 and response.json["error"] == "malformed"


@pytest.mark.parametrize("value", [[], [1], "x", 1, None, True, {"payload": 1}])
def test_records_and_payloads_of_any_type(worker, value):
    rec = visit(send.hid)
    rec["payload"] = value
    answers = send(worker, [value, rec])
    assert [a["status"] for a in answers] == ["rejected", "rejected"]


class RawVisit(records.RecordKind):
    """Stores what it is given without checking, so the database itself refuses a row."""
    name = "raw_visit_test"
    model = Visit
    label = "raw visit (test)"
    roles = (access.RECORD_VISITS,)
    refers_to = None  # deliberately unchecked: the database must refuse what slips through
    example = {"uuid": "00000000-0000-4000-8000-000000000000", "kind": "raw_visit_test", "payload": {}}

    def validate(self, user, payload, ctx):
        return payload

    def row(self, user, clean):
        return dict(household_id=clean["household_id"], author_id=user.id, mode=clean["mode"],
                    occurred_at=records.parse_time("2026-11-20T10:00", "t"), residents_seen=[], checks={},
                    needs=[], note="", urgent=False)


def test_a_database_error_in_one_record_falls_back_to_record_by_record(worker, monkeypatch):
    monkeypatch.setitem(records.KINDS, RawVisit.name, records.check(RawVisit()))
    hid = send.hid

    def raw(**payload):
        return {"uuid": str(uuid.uuid4()), "kind": RawVisit.name, "recorded_at": "2026-11-20T02:00:00Z",
                "payload": {"household_id": hid, "mode": "door", **payload}}

    bad = [raw(mode=None), raw(household_id=10**6)]  # NOT NULL, foreign key
    if db.engine.dialect.name == "postgresql":
        bad += [raw(mode="x" * 50), raw(household_id=2**40)]  # too long for varchar(10), out of integer range
    batch = [raw(), *bad, raw(mode="phone")]
    answers = send(worker, batch)
    assert [a["status"] for a in answers] == ["stored"] + ["rejected"] * len(bad) + ["stored"], answers
    assert all(a["code"] == "invalid" and a["reason"] for a in answers[1:-1])
    check_stored(answers, batch, Visit)


@pytest.mark.parametrize("value", ["9" * 20, 10**20, "2147483648", 2**31])
def test_ids_beyond_the_database_range_in_every_kind_are_one_rejection(field, app, as_user, value):
    """Every kind's example record with each of its ids replaced by a number the database cannot
    hold: the record is refused alone, in Chinese, by a user allowed to send that kind."""
    world, _worker = field
    kinds = app.extensions["record_kinds"]
    clients = {}
    tried = set()
    for name in kinds:
        kind = kinds[name]
        author = next((u for u in ("worker1", "volunteer1", "resident1", "admin")
                       if kind.may_create(world.users[u])), None)
        if author is None:
            continue
        client = clients.get(author) or clients.setdefault(author, as_user(author))
        for key in [k for k in kind.example["payload"] if k.endswith("_id")]:
            rec = json.loads(json.dumps(kind.example))
            rec["uuid"] = str(uuid.uuid4())
            rec["payload"][key] = value
            response = client.post("/api/sync", json={"records": [rec]}, headers={"X-CSRFToken": client.csrf})
            assert response.status_code == 200, (name, key, response.get_data(as_text=True)[:300])
            answer = response.json["results"][0]
            assert answer["status"] == "rejected" and answer["reason"].strip(), (name, key, answer)
            tried.add((name, key))
    assert {name for name, _key in tried} >= {"visit", "alert", "sos", "checkin", "delivery",
                                              "route_closure", "request", "zero_report"}, tried
