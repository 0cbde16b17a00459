"""Sync ingest: the one write path for records made in the field.

An online form post and an offline replay both call `ingest`. Every record
carries a client-generated UUID; the same UUID twice gives one row and the same
answer. Each record in a batch is answered on its own terms: stored, or
rejected with a reason. The batch is stored in one transaction and answered
only after it commits, so a crash loses nothing that was acknowledged and
acknowledges nothing that was not stored.

A new kind of record is a small addition: a model with the FieldRecord
columns, and a RecordKind subclass (validator and row builder) registered here.
"""
import logging
import uuid as uuidlib
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from . import scope
from .clock import utcnow

KINDS = {}
log = logging.getLogger(__name__)


class Rejected(ValueError):
    """A record the server will not store; `code` is for programs, the message for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class RecordKind:
    name = None
    model = None
    priority = 0  # higher is sent first by the phone
    example = None  # for the OpenAPI document

    def validate(self, user, payload, ctx):
        """Return the cleaned values or raise Rejected."""
        raise NotImplementedError

    def row(self, user, clean):
        """Column values for a new row (without uuid, recorded_at, received_at)."""
        raise NotImplementedError

    def prepare(self, user, payloads):
        """Look up in bulk what validating a batch needs; returns a context for validate()."""
        return {}

    def after_store(self, user, stored):
        """Side effects once the batch is committed (alerts, pushes). `stored`: [(uuid, clean)]."""


def register(kind):
    KINDS[kind.name] = kind
    return kind


def _uuid(value):
    try:
        return str(uuidlib.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def parse_time(value, field):
    """ISO 8601 from the phone → naive UTC; no time more than a day in the future."""
    if not isinstance(value, str) or not value:
        raise Rejected("invalid", _("缺少时间：%(field)s", field=field))
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("invalid", _("时间格式不正确：%(field)s", field=field)) from None
    if when.tzinfo is not None:
        when = (when - when.utcoffset()).replace(tzinfo=None)
    else:
        when = when - timedelta(hours=8)  # a time without zone is Beijing time, as on the form
    if when > utcnow() + timedelta(days=1) or when.year < 2000:
        raise Rejected("invalid", _("时间不合理：%(field)s", field=field))
    return when


def visible_households(user, ids):
    """The subset of household ids the user may record for: one query for the batch
    (the user's whole scope, a few thousand small ints at most, rather than a long IN list)."""
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return set()
    return ids & set(db.session.scalars(scope.households(user).with_only_columns(scope.Household.id)))


def one_of(column, values):
    """column IN values, as one array parameter on PostgreSQL."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def _result(record_uuid, kind):
    return {"uuid": record_uuid, "kind": kind, "status": "stored"}


def _rejection(record_uuid, kind, exc):
    return {"uuid": record_uuid, "kind": kind, "status": "rejected", "code": exc.code, "reason": exc.message}


def ingest(user, records):
    """Apply a batch of {uuid, kind, recorded_at, payload}; return one answer per record, in order."""
    answers = [None] * len(records)
    by_kind = {}
    seen = set()
    for i, rec in enumerate(records):
        rec_uuid = _uuid(rec.get("uuid")) if isinstance(rec, dict) else None
        kind_name = rec.get("kind") if isinstance(rec, dict) else None
        try:
            if rec_uuid is None:
                raise Rejected("invalid", _("记录缺少有效的编号（UUID）。"))
            if kind_name not in KINDS:
                raise Rejected("invalid", _("未知的记录类型。"))
            if rec_uuid in seen:
                raise Rejected("invalid", _("同一批次中记录编号重复。"))
            if not isinstance(rec.get("payload"), dict):
                raise Rejected("invalid", _("记录内容格式不正确。"))
            recorded_at = parse_time(rec.get("recorded_at"), "recorded_at")
        except Rejected as exc:
            answers[i] = _rejection(rec_uuid or (rec.get("uuid") if isinstance(rec, dict) else None),
                                    kind_name if isinstance(kind_name, str) else None, exc)
            continue
        seen.add(rec_uuid)
        by_kind.setdefault(kind_name, []).append((i, rec_uuid, recorded_at, rec["payload"]))

    for kind_name, items in by_kind.items():
        _ingest_kind(user, KINDS[kind_name], items, answers)
    return answers


def _ingest_kind(user, kind, items, answers):
    model = kind.model
    existing = dict(db.session.execute(
        select(model.uuid, model.author_id).where(one_of(model.uuid, [u for _i, u, _t, _p in items]))).all())
    ctx = kind.prepare(user, [p for *_x, p in items])
    fresh = []
    for i, rec_uuid, recorded_at, payload in items:
        if rec_uuid in existing:
            answers[i] = _result(rec_uuid, kind.name) if existing[rec_uuid] == user.id else _conflict(rec_uuid, kind)
            continue
        try:
            clean = kind.validate(user, payload, ctx)
        except Rejected as exc:
            answers[i] = _rejection(rec_uuid, kind.name, exc)
            continue
        row = kind.row(user, clean)
        row.update(uuid=rec_uuid, recorded_at=recorded_at, received_at=utcnow())
        fresh.append((i, rec_uuid, row, clean))
    if not fresh:
        db.session.rollback()
        return
    try:
        db.session.execute(insert(model), [row for _i, _u, row, _c in fresh])
        db.session.commit()
        stored = fresh
    except IntegrityError:
        # Another request stored some of these UUIDs meanwhile: one at a time, each in a savepoint.
        db.session.rollback()
        stored = _one_by_one(user, kind, fresh, answers)
    for i, rec_uuid, _row, _clean in stored:
        answers[i] = _result(rec_uuid, kind.name)
    if stored:
        try:
            kind.after_store(user, [(rec_uuid, clean) for _i, rec_uuid, _row, clean in stored])
        except Exception:  # the records are stored and answered so; the scheduler's sweeps finish the rest
            db.session.rollback()
            log.exception("after_store of %s failed", kind.name)


def _conflict(rec_uuid, kind):
    return _rejection(rec_uuid, kind.name, Rejected("conflict", _("这个记录编号已被其他账号使用。")))


def _one_by_one(user, kind, fresh, answers):
    model = kind.model
    stored = []
    for item in fresh:
        i, rec_uuid, row, _clean = item
        try:
            with db.session.begin_nested():
                db.session.execute(insert(model).values(**row))
            stored.append(item)
        except IntegrityError:
            author = db.session.scalar(select(model.author_id).where(model.uuid == rec_uuid))
            answers[i] = _result(rec_uuid, kind.name) if author == user.id else _conflict(rec_uuid, kind)
    db.session.commit()
    return stored


def ingest_one(user, kind, record_uuid, payload, recorded_at=None):
    """The online form's way in: the same function, one record."""
    recorded_at = recorded_at or (utcnow().isoformat(timespec="seconds") + "Z")
    return ingest(user, [{"uuid": record_uuid, "kind": kind, "recorded_at": recorded_at,
                          "payload": payload}])[0]
