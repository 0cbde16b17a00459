"""零上报: a worker states that there is nothing to report in their grid today.

A record kind on the sync path (saved in the outbox first). One per grid and local day:
the same UUID again is the same record (ingest); another UUID for a grid and day already
reported is refused with a clear reason, never a second row (the unique constraint decides
between two phones at once)."""
from datetime import timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from .. import access, localtime
from ..extensions import db
from ..models import ZeroReport
from . import records, registry, scope

MAX_LATE_DAYS = 7  # a phone offline for a week still reports the day it meant


def grids_in_scope(user, ids):
    ids = {i for i in ids if isinstance(i, int)}
    return ids & scope.grid_ids(user) if ids else set()


class ZeroReportKind(records.RecordKind):
    name = "zero_report"
    model = ZeroReport
    label = _l("零上报")
    priority = 5
    roles = (access.ZERO_REPORT,)
    refers_to = ("grid_id", grids_in_scope)
    example = {"uuid": "6a2d0c9e-1f3b-4a5c-8d7e-2b9f4c1a0e33", "kind": "zero_report",
               "recorded_at": "2026-11-23T09:30:00Z", "payload": {"grid_id": 3, "day": "2026-11-23", "note": ""}}

    def prepare(self, user, payloads):
        ctx = super().prepare(user, payloads)
        ctx["taken"] = set(db.session.execute(
            select(ZeroReport.grid_id, ZeroReport.day).where(ZeroReport.grid_id.in_(ctx["visible"] or {-1}))).all())
        return ctx

    def validate(self, user, payload, ctx):
        grid_id = records.as_int(payload.get("grid_id"))
        if grid_id is None:
            raise records.Rejected("invalid", _("请选择网格。"))
        if grid_id not in ctx["visible"]:
            raise records.Rejected("out_of_scope", _("这个网格不在您负责的范围内，记录未被接受。"))
        raw = payload.get("day")
        day = registry.parse_date(raw) if isinstance(raw, str) and len(raw) <= 10 else None
        today = localtime.today(user.community)
        if day is None or not today - timedelta(days=MAX_LATE_DAYS) <= day <= today:
            raise records.Rejected("invalid", _("零上报的日期不正确（只能是最近7天内）。"))
        note = payload.get("note") or ""
        if not isinstance(note, str) or len(note) > 200:
            raise records.Rejected("invalid", _("备注太长（最多200字）。"))
        if (grid_id, day) in ctx["taken"]:
            raise records.Rejected("conflict", _("这个网格当天已经零上报过了，不用重复提交。"))
        ctx["taken"].add((grid_id, day))
        return {"grid_id": grid_id, "day": day, "note": note.strip()}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)


def todays(user):
    """[(grid, zero report today or None)] for the user's assigned grids."""
    today = localtime.today(user.community)
    grids = scope.top_grids(user)
    reports = {z.grid_id: z for z in db.session.scalars(select(ZeroReport).where(
        ZeroReport.grid_id.in_([g.id for g in grids] or [-1]), ZeroReport.day == today))}
    return today, [(g, reports.get(g.id)) for g in grids]
