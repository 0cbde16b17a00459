"""Sync ingest: the one write path for records made in the field.

An online form post and an offline replay both call `ingest`. Every record
carries a client-generated UUID; the same UUID twice gives one row and the same
answer. Each record in a batch is answered on its own terms: stored, or
rejected with a reason. The batch is stored in one transaction and answered
only after it commits, so a crash loses nothing that was acknowledged and
acknowledges nothing that was not stored.

One record never fails the batch: whatever it holds (any JSON type in any
field, dates at the ends of the calendar, control characters, values too long
or too deep for a column), it is answered on its own. Values are screened before
the kind sees them (`screen`); a kind's unexpected exception becomes that
record's rejection; and if the database refuses the batch, it is stored again
record by record, each in a savepoint, so the good records beside a bad one are
stored and the bad one is rejected.

A new kind of record is a small addition: a model with the FieldRecord
columns, a RecordKind subclass that declares its contract (label, priority, the
capabilities that may create it, its multi-valued fields, what it refers to and
in whose scope), and one line in webapp/kinds.py. The list is loaded and checked
when the app starts (`install`); a misdeclared kind stops the start with a clear
error.
"""
import importlib
import json
import logging
import math
import uuid as uuidlib
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy

from .. import access
from ..extensions import db
from .. import localtime
from . import scope
from ..clock import utcnow

# name → RecordKind instance, of the running app (loaded from its list at start-up)
KINDS = LocalProxy(lambda: current_app.extensions["record_kinds"])
log = logging.getLogger(__name__)


class Rejected(ValueError):
    """A record the server will not store; `code` is for programs, the message for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class KindError(RuntimeError):
    """A record kind that does not keep the contract; raised at start-up."""


class RecordKind:
    """The contract every record kind declares. See `check` for what start-up verifies."""
    name = None  # the "kind" of a record on the wire
    model = None  # a FieldRecord model
    label = None  # lazy_gettext, for people
    priority = 0  # higher is sent first by the phone
    roles = ()  # capabilities (access.py) or roles that may create it; others: "forbidden"
    multi = ()  # form fields that carry several values (checkboxes)
    # (payload field, what it names: a name in SCOPES, or the kind's own function (user, ids) → the ids
    # in the user's scope); the field must name something in the user's scope
    refers_to = ("household_id", "household")
    example = None  # for the OpenAPI document
    max_string = None  # a longer text limit for this kind's payloads (a photo inside); default MAX_STRING

    def form_payload(self, form):
        """A form post as the same flat payload the phone sends."""
        return {k: (form.getlist(k) if k in self.multi else form.get(k))
                for k in form.keys() if k != "csrf_token"}

    def may_create(self, user):
        return user.role in self.roles

    def prepare(self, user, payloads):
        """Look up in bulk what validating a batch needs; returns a context for validate().
        By default: which of the referred objects are in the user's scope (ctx["visible"])."""
        if not self.refers_to:
            return {}
        field, target = self.refers_to
        in_scope = target if callable(target) else SCOPES[target]
        return {"visible": in_scope(user, [as_int(p.get(field)) for p in payloads])}

    def household_in_scope(self, payload, ctx):
        """The household a record is about: given, and in the user's scope (ctx["visible"]), or Rejected."""
        household_id = as_int(payload.get("household_id"))
        if household_id is None:
            raise Rejected("invalid", _("缺少住户。"))
        if household_id not in ctx["visible"]:
            raise Rejected("out_of_scope", _("这户不在您负责的网格内（可能已调整），记录未被接受。"))
        return household_id

    def check_scope(self, clean, ctx):
        """After validate(): what the record refers to is in the user's scope, whatever validate did."""
        if self.refers_to and clean.get(self.refers_to[0]) not in ctx.get("visible", ()):
            raise Rejected("out_of_scope", _("这户不在您负责的网格内（可能已调整），记录未被接受。"))

    def validate(self, user, payload, ctx):
        """Return the cleaned values or raise Rejected."""
        raise NotImplementedError

    def row(self, user, clean):
        """Column values for a new row (without uuid, recorded_at, received_at)."""
        raise NotImplementedError

    def after_store(self, user, stored):
        """Side effects once the batch is committed (alerts, pushes). `stored`: [(uuid, clean)]."""


INT_MAX = 2 ** 31 - 1  # ids are 32-bit in the database: a larger number names nothing


def as_int(value):
    """An id from a record's JSON or a form: an int or a string of digits within the database's
    range, else None (never a bool, a float or a number the database would refuse)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 10):
            return None
        value = int(value)
    if isinstance(value, int) and -INT_MAX <= value <= INT_MAX:
        return value
    return None


# ---- the list of kinds, loaded and checked at start-up ----

def load(paths):
    """Import each "module:Class" of the list, check its contract, and return {name: instance}."""
    kinds = {}
    for path in paths:
        module_name, _sep, class_name = str(path).partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise KindError(f"record kind {path!r} cannot be imported: {exc}") from exc
        kind = cls() if isinstance(cls, type) else cls
        check(kind, path)
        if kind.name in kinds:
            raise KindError(f"record kind {path!r}: the name {kind.name!r} is declared twice")
        kinds[kind.name] = kind
    return kinds


def check(kind, path=None):
    """Raise KindError unless the kind declares everything the contract asks for."""
    where = f"record kind {path or type(kind).__name__!r}"

    def fail(what):
        raise KindError(f"{where}: {what}")

    if not isinstance(kind, RecordKind):
        fail("is not a RecordKind")
    if not isinstance(kind.name, str) or not kind.name.isidentifier():
        fail("needs a name (an identifier)")
    model = kind.model
    if model is None or not hasattr(model, "__table__"):
        fail("needs a model (a table)")
    missing = [c for c in ("uuid", "author_id", "recorded_at", "received_at") if c not in model.__table__.c]
    if missing:
        fail(f"its model lacks the FieldRecord columns {missing}")
    if not kind.label or not str(kind.label).strip():
        fail("needs a label (lazy_gettext)")
    if not isinstance(kind.priority, int) or isinstance(kind.priority, bool):
        fail("needs an integer priority")
    try:
        kind.roles = access.roles_of(*kind.roles)
    except ValueError as exc:
        fail(str(exc))
    if not kind.roles:
        fail("declares no role that may create it")
    if isinstance(kind.multi, str) or not all(isinstance(f, str) and f.isidentifier() for f in kind.multi):
        fail("multi must be a list of field names")
    kind.multi = tuple(kind.multi)
    if kind.refers_to is not None:
        if len(kind.refers_to) != 2 or not (callable(kind.refers_to[1]) or kind.refers_to[1] in SCOPES):
            fail(f"refers_to must be (field, one of {sorted(SCOPES)} or a scope function) or None")
    if not isinstance(kind.example, dict) or kind.example.get("kind") != kind.name \
            or not isinstance(kind.example.get("payload"), dict):
        fail("needs an example record of its own kind (for /api/openapi.json)")
    for method in ("validate", "row"):
        if getattr(type(kind), method) is getattr(RecordKind, method):
            fail(f"does not implement {method}()")
    return kind


def install(app):
    """Load the app's list of kinds (config RECORD_KINDS, else webapp/kinds.py) at start-up."""
    from .. import kinds
    app.extensions["record_kinds"] = load(app.config.get("RECORD_KINDS") or kinds.KINDS)
    app.jinja_env.globals["record_kind"] = lambda name: KINDS[name]


def _uuid(value):
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(uuidlib.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


# ---- screening what came off the wire ---------------------------------------------

MAX_DEPTH = 8  # a payload is a flat form: {field: value or [values]}; anything deeper is not ours
MAX_STRING = 20_000  # characters; each kind has its own, smaller, limits per field
MAX_ITEMS = 1_000  # elements in one list or object
MAX_INT = 2 ** 63 - 1  # what a BIGINT holds; ids are checked against the user's scope anyway
_HUGE = float("inf")  # what an integer too long to read becomes (Python refuses > 4300 digits)
_KEEP = {"\n", "\t"}


def loads(data):
    """JSON from the wire; raises ValueError for anything that is not readable JSON.

    Integers too long to read become infinity, which `screen` refuses for the record
    that holds it, rather than the whole batch failing to parse."""
    try:
        return json.loads(data, parse_int=lambda text: int(text) if len(text) <= 40 else _HUGE)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValueError(str(exc)) from None


def _screen_text(value, limit=MAX_STRING):
    value = value.replace("\r\n", "\n").replace("\r", "\n")  # a form's textarea sends CRLF
    if len(value) > limit:
        raise Rejected("invalid", _("记录中的内容太长。"))
    for ch in value:
        if ch < " " or "\x7f" <= ch <= "\x9f" or "\ud800" <= ch <= "\udfff":
            if ch not in _KEEP:
                raise Rejected("invalid", _("记录中含有无法保存的字符（控制字符），请删除后重试。"))
    return value


def screen(value, depth=0, limit=MAX_STRING):
    """A cleaned copy of a record's payload, or Rejected: only JSON a column can hold.

    Text: CRLF becomes LF, and control characters other than newline and tab are refused
    (PostgreSQL cannot store NUL; the others are never typed by people), as are lone
    surrogates; integers beyond 64 bits, NaN and infinity, and nesting deeper than a
    form are refused too."""
    if depth > MAX_DEPTH:
        raise Rejected("invalid", _("记录内容的层级太深。"))
    if isinstance(value, str):
        return _screen_text(value, limit)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and -INT_MAX <= value <= INT_MAX:
        if abs(value) > MAX_INT:
            raise Rejected("invalid", _("记录中的数值超出范围。"))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected("invalid", _("记录中的数值超出范围。"))
        return value
    if isinstance(value, (list, dict)) and len(value) > MAX_ITEMS:
        raise Rejected("invalid", _("记录中的内容太长。"))
    if isinstance(value, list):
        return [screen(v, depth + 1, limit) for v in value]
    if isinstance(value, dict):
        return {_screen_text(str(k)): screen(v, depth + 1, limit) for k, v in value.items()}
    raise Rejected("invalid", _("记录内容格式不正确。"))


def parse_time(value, field, community=None):
    """ISO 8601 from the phone → naive UTC; a time without zone is the community's local time,
    as typed on the form. No time more than a day in the future, none before 2000. (A record's
    recorded_at a little ahead, a phone's clock running fast, is stored capped at its receive time.)"""
    if not isinstance(value, str) or not value:
        raise Rejected("invalid", _("缺少时间：%(field)s", field=field))
    try:
        if len(value) > 40:
            raise ValueError(value[:40])
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected("invalid", _("时间格式不正确：%(field)s", field=field)) from None
    if not 2000 <= when.year <= 2999:  # refused before any conversion: no overflow at year 1 or 9999
        raise Rejected("invalid", _("时间不合理：%(field)s", field=field))
    when = localtime.to_utc(when, community)
    if when > utcnow() + timedelta(days=1):
        raise Rejected("invalid", _("时间不合理：%(field)s", field=field))
    return when


def visible_households(user, ids):
    """The subset of household ids the user may record for: one query for the batch
    (the user's whole scope, a few thousand small ints at most, rather than a long IN list)."""
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return set()
    return ids & set(db.session.scalars(scope.households(user).with_only_columns(scope.Household.id)))


# what a record may refer to → the ids of those in the user's scope
SCOPES = {"household": visible_households}


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
    """`uuid` and `kind` are always strings: the normalised UUID and the known kind, or ""
    when the record carried none that is valid (answers come in the order of the records)."""
    return {"uuid": record_uuid or "", "kind": kind or "", "status": "rejected", "code": exc.code,
            "reason": exc.message}


def _unprocessable():
    return Rejected("invalid", _("服务器无法保存这条记录，请检查内容后重新填写。"))


def ingest(user, records):
    """Apply a batch of {uuid, kind, recorded_at, payload}; return one answer per record, in order."""
    answers = [None] * len(records)
    by_kind = {}
    seen = set()
    for i, rec in enumerate(records):
        rec_uuid = _uuid(rec.get("uuid")) if isinstance(rec, dict) else None
        kind_name = rec.get("kind") if isinstance(rec, dict) else None
        kind_name = kind_name if isinstance(kind_name, str) and kind_name in KINDS else None
        try:
            if rec_uuid is None:
                raise Rejected("invalid", _("记录缺少有效的编号（UUID）。"))
            if kind_name is None:
                raise Rejected("invalid", _("未知的记录类型。"))
            if not KINDS[kind_name].may_create(user):
                raise Rejected("forbidden", _("您的账号不能提交这类记录（%(kind)s）。", kind=KINDS[kind_name].label))
            if rec_uuid in seen:
                raise Rejected("invalid", _("同一批次中记录编号重复。"))
            if not isinstance(rec.get("payload"), dict):
                raise Rejected("invalid", _("记录内容格式不正确。"))
            payload = screen(rec["payload"], limit=KINDS[kind_name].max_string or MAX_STRING)
            recorded_at = parse_time(rec.get("recorded_at"), "recorded_at", user.community)
        except Rejected as exc:
            answers[i] = _rejection(rec_uuid, kind_name, exc)
            continue
        seen.add(rec_uuid)
        by_kind.setdefault(kind_name, []).append((i, rec_uuid, recorded_at, payload))

    for kind_name, items in by_kind.items():
        _ingest_kind(user, KINDS[kind_name], items, answers)
    return answers


def _ingest_kind(user, kind, items, answers):
    model = kind.model
    existing = dict(db.session.execute(
        select(model.uuid, model.author_id).where(one_of(model.uuid, [u for _i, u, _t, _p in items]))).all())
    try:
        ctx = kind.prepare(user, [p for *_x, p in items])
    except Exception:  # a value the bulk look-up could not take: look up record by record
        db.session.rollback()
        log.exception("prepare of %s failed for a batch", kind.name)
        ctx = None
    fresh = []
    for i, rec_uuid, recorded_at, payload in items:
        if rec_uuid in existing:
            answers[i] = _result(rec_uuid, kind.name) if existing[rec_uuid] == user.id else _conflict(rec_uuid, kind)
            continue
        try:
            checked = ctx if ctx is not None else kind.prepare(user, [payload])
            clean = kind.validate(user, payload, checked)
            kind.check_scope(clean, checked)
            row = kind.row(user, clean)
        except Rejected as exc:
            answers[i] = _rejection(rec_uuid, kind.name, exc)
            continue
        except Exception:  # a fault of the kind's code on odd input: this record only
            db.session.rollback()  # nothing of this kind is written yet; a failed query must not poison the rest
            log.exception("%s record %s could not be validated", kind.name, rec_uuid)
            answers[i] = _rejection(rec_uuid, kind.name, _unprocessable())
            continue
        now = utcnow()
        # a phone's clock running fast: a record cannot have been made after the server received it
        row.update(uuid=rec_uuid, recorded_at=min(recorded_at, now), received_at=now)
        fresh.append((i, rec_uuid, row, clean))
    if not fresh:
        db.session.rollback()
        return
    try:
        db.session.execute(insert(model), [row for _i, _u, row, _c in fresh])
        db.session.commit()
        stored = fresh
    except SQLAlchemyError:
        # Another request stored some of these UUIDs meanwhile, or the database refused a value:
        # one at a time, each in a savepoint.
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
        except SQLAlchemyError as exc:
            author = db.session.scalar(select(model.author_id).where(model.uuid == rec_uuid))
            if author is not None:  # the same UUID, stored by a concurrent request
                answers[i] = _result(rec_uuid, kind.name) if author == user.id else _conflict(rec_uuid, kind)
            else:
                log.warning("%s record %s refused by the database: %s", kind.name, rec_uuid,
                            str(getattr(exc, "orig", exc))[:300])
                answers[i] = _rejection(rec_uuid, kind.name, _unprocessable())
    db.session.commit()
    return stored


def ingest_one(user, kind, record_uuid, payload, recorded_at=None):
    """The online form's way in: the same function, one record."""
    recorded_at = recorded_at or (utcnow().isoformat(timespec="seconds") + "Z")
    return ingest(user, [{"uuid": record_uuid, "kind": kind, "recorded_at": recorded_at,
                          "payload": payload}])[0]
