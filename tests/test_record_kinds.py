"""The record-kind contract, with a throwaway kind that lives only in this file.

The kind has its own table (created here, dropped after), its own RecordKind, and joins the
app the way a real kind does: one more line in the list the app loads at start-up
(webapp/kinds.py's KINDS + this module's path). No shared file is edited for it.
"""
import uuid

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase

from webapp import access, create_app, kinds
from webapp.extensions import db
from webapp.models.records import FieldRecord
from webapp.services import records, scope


class _Base(DeclarativeBase):
    """Not the app's metadata: the suite's clean-up never sees this table."""


class Note(FieldRecord, _Base):
    __tablename__ = "throwaway_note"
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False)
    text = sa.Column(sa.Text, nullable=False)
    tags = sa.Column(sa.JSON, nullable=False, default=list)


class NoteKind(records.RecordKind):
    name = "note"
    model = Note
    label = _l("紧急求助")  # any catalogued label will do for a test kind
    priority = 7
    roles = (access.VISIT_ROUNDS,)  # leaders and workers; not admins, volunteers or residents
    multi = ("tags",)
    refers_to = ("household_id", "household")
    example = {"uuid": "0d3f1c2b-5a6e-4f70-8b9c-1d2e3f405162", "kind": "note",
               "recorded_at": "2026-11-22T02:15:00Z", "payload": {"household_id": 12, "text": "楼道灯坏了",
                                                                  "tags": ["repairs"]}}

    def validate(self, user, payload, ctx):
        household_id = records.as_int(payload.get("household_id"))
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 200:
            raise records.Rejected("invalid", "请填写内容。")
        tags = payload.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise records.Rejected("invalid", "标签格式不正确。")
        return {"household_id": household_id, "text": text.strip(), "tags": tags}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)


THIS = f"{__name__}:NoteKind"


@pytest.fixture
def note_kind(app, monkeypatch):
    """The throwaway kind's table, and the app's kinds loaded from the list plus one line."""
    for name in ("user_account", "household"):
        if name not in _Base.metadata.tables:
            db.metadata.tables[name].to_metadata(_Base.metadata)
    Note.__table__.create(db.engine, checkfirst=True)
    monkeypatch.setitem(app.extensions, "record_kinds", records.load([*kinds.KINDS, THIS]))
    yield records.KINDS["note"]
    db.session.remove()
    Note.__table__.drop(db.engine)


def _note(household_id, **extra):
    payload = {"household_id": household_id, "text": "楼道灯坏了", "tags": ["repairs", "safety"]}
    payload.update(extra)
    return {"uuid": str(uuid.uuid4()), "kind": "note", "recorded_at": "2026-11-20T02:00:00Z", "payload": payload}


def _sync(client, recs):
    response = client.post("/api/sync", json={"records": recs}, headers={"X-CSRFToken": client.csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def _notes(**where):
    return db.session.scalar(select(func.count(Note.id)).filter_by(**where))


def test_throwaway_kind_syncs_exactly_once(as_user, world, note_kind):
    worker = as_user("worker1")
    rec = _note(world.grid1[0].id)
    first, again = _sync(worker, [rec]), _sync(worker, [rec])
    assert first == again and first[0]["status"] == "stored", first
    # the same UUID in capitals is the same record
    shouted = dict(rec, uuid=rec["uuid"].upper())
    assert _sync(worker, [shouted])[0]["status"] == "stored"
    assert _notes() == 1
    stored = db.session.scalar(select(Note))
    assert (stored.uuid, stored.author_id, stored.tags) == (rec["uuid"], world.users["worker1"].id,
                                                            ["repairs", "safety"])
    # another author re-using the UUID is a conflict, not a second row
    assert _sync(as_user("leader1"), [rec])[0]["code"] == "conflict"
    assert _notes() == 1


def test_throwaway_kind_keeps_to_its_scope(as_user, world, note_kind):
    worker = as_user("worker1")
    answers = _sync(worker, [_note(world.grid2[0].id), _note(world.other.grid1[0].id)])
    assert [a["code"] for a in answers] == ["out_of_scope", "out_of_scope"]
    assert _notes() == 0


@pytest.mark.parametrize("username", ["admin", "volunteer1", "resident1"])
def test_throwaway_kind_refused_for_a_role_that_may_not_create_it(as_user, world, note_kind, username):
    """Refused per record for the role, even about a household the user may see (the resident: their own)."""
    user = world.users[username]
    own = scope.own_household_id(user) if user.role == "resident" else world.grid1[0].id
    client = as_user(username)
    note, visit_or_alert = _note(own), {
        "uuid": str(uuid.uuid4()), "kind": "alert", "recorded_at": "2026-11-20T02:00:00Z",
        "payload": {"household_id": own, "source": "sos" if user.role == "resident" else "worker"}}
    answers = _sync(client, [note, visit_or_alert])
    assert answers[0]["status"] == "rejected" and answers[0]["code"] == "forbidden", answers
    assert answers[0]["reason"] and not answers[0]["reason"].isascii()
    # per record: the other record of the batch is answered on its own terms
    if username == "volunteer1":
        assert answers[1]["code"] == "forbidden"
    else:
        assert answers[1]["status"] == "stored", answers[1]
    assert _notes() == 0


def test_throwaway_kind_in_openapi(client, note_kind):
    doc = client.get("/api/openapi.json").json
    body = doc["paths"]["/api/sync"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["note"]["value"]["records"] == [NoteKind.example]
    assert set(doc["components"]["schemas"]["Record"]["properties"]["kind"]["enum"]) == {
        "visit", "alert", "sos", "checkin", "delivery", "delivery_step", "route_closure", "request", "zero_report",
        "note"}
    assert "forbidden" in doc["components"]["schemas"]["Answer"]["properties"]["code"]["enum"]


def test_outbox_form_attributes_come_from_the_kind(app, note_kind, as_user, world):
    with app.test_request_context():
        html = render_template_string('{% from "_outbox.html" import outbox_attrs %}<form {{ outbox_attrs("note", 5) }}>')
    assert html == '<form data-outbox="note" data-priority="7" data-multi="tags" data-household="5">'
    page = as_user("worker1").get(f"/households/{world.grid1[0].id}").get_data(as_text=True)
    assert f'data-outbox="visit" data-priority="10" data-multi="residents_seen needs" data-household="{world.grid1[0].id}"' in page
    assert 'data-outbox="alert" data-priority="100" data-household' in page


def test_without_the_line_the_kind_is_unknown(as_user, world, app):
    """Not in the list: not registered (no import side effect registers it)."""
    assert "note" not in records.KINDS
    answer = _sync(as_user("worker1"), [_note(world.grid1[0].id)])[0]
    assert answer["code"] == "invalid"


# ---- a misdeclared kind stops the start ------------------------------------------------

class NoRoles(NoteKind):
    roles = ()


class NoLabel(NoteKind):
    label = None


class MultiAsString(NoteKind):
    multi = "tags"


class UnknownCapability(NoteKind):
    roles = ("SUPERUSER",)


class NoAuthor(NoteKind):
    model = Note  # replaced below by a table without author_id


class _Bare(_Base):
    __tablename__ = "throwaway_bare"
    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36))


NoAuthor.model = _Bare


class NoValidate(records.RecordKind):
    name, model, label, roles, example = "bare", Note, _l("紧急求助"), ("worker",), dict(NoteKind.example, kind="bare")


class WrongExample(NoteKind):
    example = dict(NoteKind.example, kind="visit")


class BadScope(NoteKind):
    refers_to = ("household_id", "planet")


@pytest.mark.parametrize("cls, message", [
    ("NoRoles", "no role"), ("NoLabel", "label"), ("MultiAsString", "multi"), ("UnknownCapability", "SUPERUSER"),
    ("NoAuthor", "author_id"), ("NoValidate", "validate"), ("WrongExample", "example"), ("BadScope", "refers_to"),
    ("NoSuchKind", "cannot be imported"),
])
def test_a_misdeclared_kind_fails_the_start_with_a_clear_error(instance_dir, cls, message):
    with pytest.raises(records.KindError, match=message) as failure:
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "RECORD_KINDS": [*kinds.KINDS, f"{__name__}:{cls}"]}, instance_path=instance_dir)
    assert cls in str(failure.value)


def test_the_same_name_twice_fails_the_start(instance_dir):
    with pytest.raises(records.KindError, match="declared twice"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "RECORD_KINDS": [*kinds.KINDS, THIS, THIS]}, instance_path=instance_dir)
