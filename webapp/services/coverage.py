"""Who is at work: absences (请假/病假) of workers and leaders, and the grids nobody covers.

An absence runs from start_date to end_date, both included, in the community's local dates
(localtime.today). Away people are not told of alerts (services/alerts.py); a grid whose
workers are all away, or that has none, is a coverage gap: the admin home warns of it, and
a dashboard may reuse `coverage_gaps`.
"""
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from .. import localtime
from ..extensions import db
from ..models import Absence, Grid, GridAssignment, User
from ..models.user import ABSENCE_KINDS
from . import scope

KIND_LABELS = {"leave": _l("请假"), "sick": _l("病假"), "other": _l("其他")}
ABSENT_ROLES = ("worker", "leader")
MAX_DAYS = 366


class CoverageError(ValueError):
    pass


def away_ids(community, day=None):
    """Ids of the community's users away on this local day (today by default)."""
    day = day or localtime.today(community)
    return set(db.session.scalars(
        select(Absence.user_id).join(User, User.id == Absence.user_id)
        .where(User.community_id == community.id, Absence.start_date <= day, Absence.end_date >= day)))


def may_manage(actor, user):
    """Admins: their community's workers and leaders. Leaders: the workers of their grids."""
    if user is None or user.community_id != actor.community_id or user.role not in ABSENT_ROLES:
        return False
    if actor.role == "admin":
        return True
    if actor.role == "leader" and user.role == "worker":
        mine = scope.grid_ids(actor)
        return any(a.grid_id in mine for a in user.assignments)
    return False


def manageable(actor):
    """The users whose absences this actor may record, by name."""
    users = db.session.scalars(select(User).where(
        User.community_id == actor.community_id, User.role.in_(ABSENT_ROLES), User.active.is_(True))
        .order_by(User.role, User.name)).all()
    return [u for u in users if may_manage(actor, u)]


def absences_of(user, limit=30):
    return db.session.scalars(select(Absence).where(Absence.user_id == user.id)
                              .order_by(Absence.start_date.desc()).limit(limit)).all()


def _day(text, label):
    text = (text or "").strip()
    if not text:
        raise CoverageError(_("请填写%(what)s。", what=label))
    try:
        return date.fromisoformat(text[:10]) if len(text) == 10 else date.fromisoformat(text)
    except ValueError:
        raise CoverageError(_("%(what)s格式不正确，请用 年-月-日，例如 2026-11-23。", what=label)) from None


def save_absence(actor, user, kind, start_text, end_text, note=""):
    """Record an absence (validated before anything is stored). Flushes."""
    if kind not in ABSENCE_KINDS:
        raise CoverageError(_("请选择请假类型。"))
    start, end = _day(start_text, _("开始日期")), _day(end_text, _("结束日期"))
    if end < start:
        raise CoverageError(_("结束日期不能早于开始日期。"))
    if (end - start).days >= MAX_DAYS:
        raise CoverageError(_("一次请假不能超过一年。"))
    note = (note or "").strip()
    if len(note) > 200 or any(ord(c) < 32 for c in note):
        raise CoverageError(_("备注过长或含有无效字符。"))
    absence = Absence(user_id=user.id, kind=kind, start_date=start, end_date=end, note=note,
                      created_by=actor.id)
    db.session.add(absence)
    db.session.flush()
    return absence


def delete_absence(absence):
    db.session.delete(absence)
    db.session.flush()


def is_away(user, day=None):
    day = day or localtime.today(user.community)
    return db.session.scalar(select(Absence.id).where(
        Absence.user_id == user.id, Absence.start_date <= day, Absence.end_date >= day).limit(1)) is not None


@dataclass
class Gap:
    grid: Grid
    reason: str                                  # "none": no worker; "away": every worker away
    away: list = field(default_factory=list)     # the away workers' names

    @property
    def label(self):
        return _("没有网格员") if self.reason == "none" else _("网格员均不在岗：%(names)s", names="、".join(self.away))


def coverage_gaps(community, day=None):
    """Grids that no worker covers on this local day (today by default): with no worker assigned
    to the grid or to a grid above it, or whose only workers are all away. The topmost such
    grid is named, not each micro-grid below it, unless some grid below has a worker of its own."""
    day = day or localtime.today(community)
    grids = db.session.scalars(select(Grid).where(Grid.community_id == community.id).order_by(Grid.code)).all()
    assigned = {}
    for grid_id, user_id, name in db.session.execute(
            select(GridAssignment.grid_id, User.id, User.name).join(User, User.id == GridAssignment.user_id)
            .where(User.community_id == community.id, User.role == "worker", User.active.is_(True))):
        assigned.setdefault(grid_id, []).append((user_id, name))
    away = away_ids(community, day)
    children = {}
    for g in grids:
        children.setdefault(g.parent_id, []).append(g)

    def present(grid):
        return [u for u in assigned.get(grid.id, ()) if u[0] not in away]

    def below_has_worker(grid):
        return any(assigned.get(c.id) or below_has_worker(c) for c in children.get(grid.id, ()))

    gaps = []

    def walk(grid, workers_above, present_above):
        workers = workers_above + assigned.get(grid.id, [])
        here = present_above or bool(present(grid))
        if not here:
            if below_has_worker(grid):
                for child in children.get(grid.id, ()):
                    walk(child, workers, False)
                return
            if workers:
                gaps.append(Gap(grid, "away", sorted({name for _uid, name in workers})))
            else:
                gaps.append(Gap(grid, "none"))
            return
        for child in children.get(grid.id, ()):
            walk(child, workers, True)

    for top in children.get(None, ()):
        walk(top, [], False)
    return gaps


def dashboard_panel(ctx):
    """Grids in scope whose only workers are all away today (coverage_gaps, reason "away"); grids with
    no worker at all are the "没有网格员的网格" panel's."""
    from sqlalchemy import func
    from ..models import Building, Household
    from .dashboard import Chart, Panel
    gaps = [g for g in coverage_gaps(ctx.community, ctx.today) if g.reason == "away" and g.grid.id in ctx.grid_ids]
    counts = dict(db.session.execute(
        select(Building.grid_id, func.count(Household.id)).join(Household, Household.building_id == Building.id)
        .where(Building.grid_id.in_([g.grid.id for g in gaps] or [-1])).group_by(Building.grid_id)).all())
    out = [[g.grid.code, g.grid.name, "、".join(g.away), counts.get(g.grid.id, 0)] for g in gaps]
    return Panel("away", _("今天网格员均不在岗的网格"), [_("网格编码"), _("网格"), _("不在岗的网格员"), _("户数")],
                 out, Chart(1, 3, ""), {_("网格数"): len(out)},
                 _("%(day)s：分配到该网格（或其上级网格）的网格员今天都请假或不在岗，没有人顶班。",
                   day=ctx.today.isoformat()))


dashboard_panel.monthly = False
