"""The community dashboard: panels, each computed in SQL for a scope (a community, or a
leader's grids) and a month, and rendered the same way (an SVG chart, its table, a CSV).

The panel contract
------------------
A panel is a function `panel(ctx) -> Panel`, listed as one "module:function" line in
webapp/dashboard_panels.py (like webapp/kinds.py for record kinds). A kind that wants a
panel (check-ins, requests, away workers) adds its function to its own service and one
line to that list; nothing else changes.

- `ctx` is a `Ctx`: `community`, `grid_ids` (the grids in scope: the admin's community or
  the leader's grids; a panel never reads outside them), `month` (its first day),
  `start`/`end` (UTC bounds of the local month, end excluded), `today` (local) and
  `last_day` (the month's last local day).
- The panel aggregates in SQL (GROUP BY; percentiles with `percentiles()`, which is
  percentile_cont on PostgreSQL and window functions on SQLite) and returns a `Panel`:
  `name` (for the URL and CSV file), `title`, `columns` (header labels), `rows` (lists of
  plain values, as in the CSV), `chart` (`Chart(label, value, unit, max)`: indexes of the
  row columns drawn as bars, or None), `figures` ({label: number}: headline figures the page
  compares with the previous month) and `formula` (how the figures were computed, in plain
  Chinese). A panel about now rather than the month (today's zero reports, current
  assignments) sets `fn.monthly = False`: it is not computed again for last month.
- Panels that share a computation keep it in `ctx.cache` (see `grid_figures`).
- The page calls every panel for the month and for the month before, shows each panel's
  figures beside last month's, its chart (server-rendered SVG), the table behind the chart
  and a CSV link.
"""
import importlib
from collections import namedtuple
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select, text, union_all

from ..extensions import db
from ..models import (Alert, Building, CareCategory, Community, Delivery, Grid, GridAssignment, Household,
                      MealRecipient, Residency, Resident, User, Visit, ZeroReport, resident_categories)
from .. import access, localtime
from .registry import HIGH_RISK_AGED_WITH

Panel = namedtuple("Panel", "name title columns rows chart figures formula")
Chart = namedtuple("Chart", "label value unit max", defaults=("", None))


class Ctx:
    def __init__(self, community, grid_ids, month, today=None):
        self.community = community
        self.grid_ids = sorted(grid_ids)
        self.month = date(month.year, month.month, 1)
        nxt = date(self.month.year + (self.month.month == 12), self.month.month % 12 + 1, 1)
        self.last_day = nxt - timedelta(days=1)
        self.days = self.last_day.day
        self.start = utc_start(self.month, community)
        self.end = utc_start(nxt, community)
        self.today = today or localtime.today(community)
        self.cache = {}  # what several panels share, computed once
        self._previous = None

    def previous(self):
        if self._previous is None:
            self._previous = Ctx(self.community, self.grid_ids, self.month - timedelta(days=1), self.today)
        return self._previous

    @property
    def ref_day(self):
        """The day 'overdue' is judged on: today in the current month, else the month's last day."""
        return min(self.today, self.last_day)


def utc_start(day, community):
    return localtime.to_utc(datetime.combine(day, time()), community)


def parse_month(value, community):
    try:
        month = datetime.strptime(value or "", "%Y-%m").date()
        if 2000 <= month.year <= 2999:
            return month
    except ValueError:
        pass
    today = localtime.today(community)
    return date(today.year, today.month, 1)


# ---- SQL helpers ---------------------------------------------------------------------------

def _dialect():
    return db.engine.dialect.name


def minutes_between(later, earlier):
    if _dialect() == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def later_of(a, b):
    """The later of two non-null timestamps, in SQL (greatest() on PostgreSQL, max(a, b) on SQLite)."""
    if _dialect() == "postgresql":
        return func.greatest(a, b)
    return func.max(a, b)


def alert_start():
    """When staff could first respond to an alert: the later of when it was raised on the phone and
    when it reached the server. An SOS pressed with no signal and synced two hours later does not
    charge whoever took it for those two hours."""
    return later_of(Alert.recorded_at, Alert.received_at)


def percentiles(subq, key, value, ps=(0.5, 0.9)):
    """{key: {p: value}} over a subquery's `value` column grouped by its `key` column; NULL values
    are left out. Linear interpolation between the closest ranks (percentile_cont), in SQL."""
    k, v = subq.c[key], subq.c[value]
    if _dialect() == "postgresql":
        cols = [func.percentile_cont(p).within_group(v.asc()) for p in ps]
        rows = db.session.execute(select(k, *cols).where(v.is_not(None)).group_by(k)).all()
    else:
        ranked = select(k.label("k"), v.label("v"),
                        (func.row_number().over(partition_by=k, order_by=v) - 1).label("i"),
                        func.count().over(partition_by=k).label("n")).where(v.is_not(None)).subquery()
        cols = []
        for p in ps:
            pos = (ranked.c.n - 1) * p
            lo = cast(pos, Integer)  # positions are >= 0: a cast is floor
            frac = pos - lo
            cols.append(func.sum(case((ranked.c.i == lo, ranked.c.v * (1 - frac)),
                                      (ranked.c.i == lo + 1, ranked.c.v * frac), else_=0)))
        rows = db.session.execute(select(ranked.c.k, *cols).group_by(ranked.c.k)).all()
    return {row[0]: dict(zip(ps, (float(x) if x is not None else None for x in row[1:]))) for row in rows}


def _cutoff_case(interval_col, before, days_of, community):
    """UTC start of (before - interval days) for each distinct interval, as a CASE: portable
    date arithmetic on a per-row interval (there are a handful of intervals)."""
    whens = [(interval_col == d, literal(utc_start(before - timedelta(days=d), community))) for d in days_of]
    return case(*whens, else_=literal(utc_start(before, community)))


def _intervals(community):
    days = set(db.session.scalars(select(CareCategory.interval_days).where(
        CareCategory.community_id == community.id)))
    days.add(community.setting("high_risk_days", 7))
    return sorted(days)


def memberships(ctx, on_day=None, everywhere=False):
    """(household_id, grid_id, category_id, interval) for every current resident's care category in
    scope (everywhere: in every community, for the roll-up), the derived 高龄 (80+ on `on_day`)
    included, and 80+ living alone / empty-nest / left-behind at the high-risk interval (as the
    daily round counts them)."""
    on_day = on_day or ctx.last_day
    base = (select(Residency.household_id, Building.grid_id, Resident.id.label("rid"))
            .join(Resident, Resident.id == Residency.resident_id)
            .join(Household, Household.id == Residency.household_id)
            .join(Building, Building.id == Household.building_id)
            .where(Residency.end_date.is_(None)))
    if not everywhere:
        base = base.where(Building.grid_id.in_(ctx.grid_ids or [-1]))
    # the scope's residents are walked once (a CTE named three times is computed once)
    b = base.add_columns(Resident.birth_date.label("born"), Resident.community_id.label("cid")).cte("base")
    explicit = (select(b.c.household_id, b.c.grid_id, b.c.rid, CareCategory.id.label("category_id"),
                       CareCategory.interval_days.label("interval"))
                .join(resident_categories, resident_categories.c.resident_id == b.c.rid)
                .join(CareCategory, CareCategory.id == resident_categories.c.category_id)
                .where(CareCategory.derived.is_(False)))
    if not everywhere:  # from the community's few categories (indexed), not every resident's category
        explicit = explicit.where(CareCategory.community_id == ctx.community.id)
    aged_born = date(on_day.year - 80, on_day.month, min(on_day.day, 28) if on_day.month == 2 else on_day.day)
    aged_of_community = and_(CareCategory.community_id == b.c.cid, CareCategory.code == "aged")
    aged = (select(b.c.household_id, b.c.grid_id, b.c.rid, CareCategory.id.label("category_id"),
                   CareCategory.interval_days.label("interval"))
            .join(CareCategory, aged_of_community).where(b.c.born <= aged_born))
    risky = select(resident_categories.c.resident_id).join(
        CareCategory, CareCategory.id == resident_categories.c.category_id).where(
        CareCategory.code.in_(HIGH_RISK_AGED_WITH)).correlate(None)
    high_aged = (select(b.c.household_id, b.c.grid_id, b.c.rid, CareCategory.id.label("category_id"),
                        literal(ctx.community.setting("high_risk_days", 7)).label("interval"))
                 .join(CareCategory, aged_of_community)
                 .where(b.c.born <= aged_born, b.c.rid.in_(risky)))
    return union_all(explicit, aged, high_aged).subquery("m")


def household_needs(ctx, everywhere=False):
    """Per household in scope with a care category: its grid and interval (the shortest)."""
    m = memberships(ctx, everywhere=everywhere)
    return (select(m.c.household_id, func.min(m.c.grid_id).label("grid_id"), func.min(m.c.interval).label("interval"))
            .group_by(m.c.household_id).subquery("need"))


def visit_counts(ctx, time_col=None, author_id=None):
    """Per household in scope: visits in the month, the last visit before the month and before the
    end of the reference day. Corrections (amends) are not visits of their own."""
    t = time_col if time_col is not None else Visit.occurred_at
    ref_end = utc_start(ctx.ref_day + timedelta(days=1), ctx.community)
    q = (select(Visit.household_id,
                func.sum(case((and_(t >= ctx.start, t < ctx.end) if author_id is None else
                               and_(t >= ctx.start, t < ctx.end, Visit.author_id == author_id), 1), else_=0))
                .label("n"),
                func.max(case((t < ctx.start, t))).label("last_before"),
                func.max(case((t < ref_end, t))).label("last_ref"))
         .join(Household, Household.id == Visit.household_id)
         .join(Building, Building.id == Household.building_id)
         .where(Building.grid_id.in_(ctx.grid_ids or [-1]), Visit.amends.is_(None), t < ctx.end,
                t >= lookback(ctx))
         .group_by(Visit.household_id))
    return q.subquery("vc")


def lookback(ctx, days_of=None):
    """How far back visits matter: a visit older than the longest interval before the reference
    day leaves a household due and overdue exactly as no visit would, so older ones are not read."""
    return utc_start(ctx.ref_day - timedelta(days=max(days_of or _intervals(ctx.community))), ctx.community)


def required(ctx, interval, last_before, days_of=None):
    """Visits a household needs in the month: one per interval (weekly: days // 7, so 4; monthly:
    1); an interval longer than the month (quarterly) asks for one visit only when the household
    falls due before the month ends (never visited, or last visited more than an interval before)."""
    days_of = days_of or _intervals(ctx.community)
    falls_due = or_(last_before.is_(None),
                    last_before < _cutoff_case(interval, ctx.last_day + timedelta(days=1), days_of, ctx.community))
    per_interval = [(interval == d, literal(1 if d * 2 > ctx.days else ctx.days // d)) for d in days_of if d <= ctx.days]
    return case(*per_interval, (interval <= ctx.days, literal(1)), else_=case((falls_due, 1), else_=0))


def household_rows(ctx, time_col=None):
    """One SQL statement: per household in scope with a care category, (household_id, grid_id,
    interval, required r, visits n in the month, overdue on the reference day)."""
    need = household_needs(ctx)
    vc = visit_counts(ctx, time_col)
    days_of = _intervals(ctx.community)
    r = required(ctx, need.c.interval, vc.c.last_before)
    n = func.coalesce(vc.c.n, 0)
    overdue = or_(vc.c.last_ref.is_(None),
                  vc.c.last_ref < _cutoff_case(need.c.interval, ctx.ref_day, days_of, ctx.community))
    return (select(need.c.household_id, need.c.grid_id, need.c.interval, r.label("r"), n.label("n"),
                   case((overdue, 1), else_=0).label("overdue"))
            .outerjoin(vc, vc.c.household_id == need.c.household_id)).subquery("hh")


def _grid_names(ctx):
    return {gid: (code, name) for gid, code, name in db.session.execute(
        select(Grid.id, Grid.code, Grid.name).where(Grid.id.in_(ctx.grid_ids or [-1])))}


def _pct(part, whole):
    part, whole = float(part or 0), float(whole or 0)
    return round(100.0 * part / whole, 1) if whole else None


# ---- panels ----------------------------------------------------------------------------------

def _now_only(fn):
    fn.monthly = False
    return fn


def coverage_by_category(ctx):
    m = memberships(ctx)
    pairs = select(m.c.household_id, m.c.category_id, func.min(m.c.interval).label("interval")) \
        .group_by(m.c.household_id, m.c.category_id).subquery("pairs")
    vc = visit_counts(ctx)
    r = required(ctx, pairs.c.interval, vc.c.last_before)
    n = func.coalesce(vc.c.n, 0)
    per = (select(pairs.c.category_id, r.label("r"), n.label("n"))
           .outerjoin(vc, vc.c.household_id == pairs.c.household_id)).subquery("per")
    rows = db.session.execute(
        select(CareCategory.name, CareCategory.level, CareCategory.interval_days, func.count(),
               func.sum(case((per.c.r > 0, 1), else_=0)),
               func.sum(case((and_(per.c.r > 0, per.c.n >= per.c.r), 1), else_=0)))
        .join(per, per.c.category_id == CareCategory.id)
        .group_by(CareCategory.id, CareCategory.name, CareCategory.level, CareCategory.interval_days)
        .order_by(CareCategory.interval_days, CareCategory.name)).all()
    levels = {"high": _("高风险"), "key": _("重点"), "general": _("一般")}
    out = [[name, str(levels.get(level, level)), interval, households, due, covered, _pct(covered, due)]
           for name, level, interval, households, due, covered in rows]
    due, covered = sum(r[4] or 0 for r in out), sum(r[5] or 0 for r in out)
    return Panel("coverage_category", _("本月走访覆盖（按关爱类别）"),
                 [_("类别"), _("风险等级"), _("走访周期（天）"), _("户数"), _("本月应访户数"), _("按期走访户数"), _("覆盖率%")],
                 out, Chart(0, 6, "%", 100), {_("覆盖率%"): _pct(covered, due)},
                 _("应访：周期不超过一个月的，本月应访次数＝本月天数÷周期（取整，月度为1次）；周期长于一个月（如季度）的，"
                   "到月底会超过周期未访才算本月应访。按期走访：本月走访次数（更正记录不算）达到应访次数。"
                   "覆盖率＝按期走访户数÷应访户数×100。一户有多个类别时在每个类别各算一次。"))


def grid_figures(ctx):
    """Per grid: (grid_id, care households, due, covered, overdue), one statement, kept on the ctx
    for the panels that share it."""
    if "grid_figures" not in ctx.cache:
        hh = household_rows(ctx)
        ctx.cache["grid_figures"] = db.session.execute(
            select(hh.c.grid_id, func.count(), func.sum(case((hh.c.r > 0, 1), else_=0)),
                   func.sum(case((and_(hh.c.r > 0, hh.c.n >= hh.c.r), 1), else_=0)), func.sum(hh.c.overdue))
            .group_by(hh.c.grid_id)).all()
    return ctx.cache["grid_figures"]


def coverage_by_grid(ctx):
    rows = grid_figures(ctx)
    names = _grid_names(ctx)
    out = sorted([[names[g][0], names[g][1], total, due or 0, covered or 0, _pct(covered or 0, due or 0), overdue or 0]
                  for g, total, due, covered, overdue in rows])
    due, covered = sum(r[3] for r in out), sum(r[4] for r in out)
    return Panel("coverage_grid", _("本月走访覆盖（按网格）"),
                 [_("网格编码"), _("网格"), _("关爱户数"), _("本月应访户数"), _("按期走访户数"), _("覆盖率%"), _("逾期户数")],
                 out, Chart(1, 5, "%", 100), {_("覆盖率%"): _pct(covered, due)},
                 _("每户取其成员各类别中最短的走访周期。应访与按期走访的算法同上；覆盖率＝按期走访户数÷应访户数×100。"))


def overdue_by_grid(ctx):
    names = _grid_names(ctx)
    out = sorted([[names[g][0], names[g][1], int(overdue or 0), total] for g, total, _d, _c, overdue in grid_figures(ctx)])
    return Panel("overdue", _("逾期未访户数（按网格）"), [_("网格编码"), _("网格"), _("逾期户数"), _("关爱户数")],
                 out, Chart(1, 2, ""), {_("逾期户数"): sum(r[2] for r in out)},
                 _("逾期：到%(day)s为止，最近一次走访距今已超过该户的走访周期（从未走访也算逾期）。",
                   day=ctx.ref_day.isoformat()))


def alerts_by_source(ctx):
    base = (select(Alert.source.label("source"),
                   minutes_between(Alert.acknowledged_at, alert_start()).label("ack"),
                   minutes_between(Alert.resolved_at, alert_start()).label("res"))
            .join(Household, Household.id == Alert.household_id)
            .join(Building, Building.id == Household.building_id)
            .where(Building.grid_id.in_(ctx.grid_ids or [-1]), Alert.recorded_at >= ctx.start,
                   Alert.recorded_at < ctx.end)).subquery("a")
    counts = {s: (n, acked, resolved) for s, n, acked, resolved in db.session.execute(
        select(base.c.source, func.count(), func.count(base.c.ack), func.count(base.c.res)).group_by(base.c.source))}
    ack, res = percentiles(base, "source", "ack"), percentiles(base, "source", "res")
    from .alerts import SOURCE_LABELS
    out = []
    for source in sorted(counts):
        n, acked, resolved = counts[source]
        a, r = ack.get(source, {}), res.get(source, {})
        out.append([str(SOURCE_LABELS.get(source, source)), n, acked, _round(a.get(0.5)), _round(a.get(0.9)),
                    resolved, _round(r.get(0.5)), _round(r.get(0.9))])
    all_ack = percentiles(select(literal("all").label("k"), base.c.ack).subquery(), "k", "ack").get("all", {})
    return Panel("alerts", _("求助与预警（按来源）"),
                 [_("来源"), _("条数"), _("已响应"), _("响应中位数（分钟）"), _("响应P90（分钟）"), _("已处理完"),
                  _("处理完中位数（分钟）"), _("处理完P90（分钟）")],
                 out, Chart(0, 3, _("分钟")),
                 {_("求助条数"): sum(r[1] for r in out), _("响应中位数（分钟）"): _round(all_ack.get(0.5))},
                 _("按发起时间（手机上记下的时间）计入本月。响应时间＝首次确认（接手）时间－起算时间；处理完时间＝办结"
                   "（含误报）时间－起算时间；起算时间取发起时间和到达服务器时间中较晚的一个（居民手机晚同步的时间不算在响应里）。"
                   "中位数：排在正中的那个值；P90：90%的求助在这个时间内得到响应（相邻两个值之间按比例取值）。"))


def _round(x):
    return round(x, 1) if x is not None else None


def meals_panel(ctx):
    from .meals import OUTCOME_LABELS
    q = (select(Delivery.outcome, func.count(), func.count(Delivery.escalated_at))
         .join(MealRecipient, MealRecipient.id == Delivery.recipient_id)
         .join(Household, Household.id == MealRecipient.household_id)
         .join(Building, Building.id == Household.building_id)
         .where(Building.grid_id.in_(ctx.grid_ids or [-1]), Delivery.day >= ctx.month, Delivery.day <= ctx.last_day)
         .group_by(Delivery.outcome))
    counts = {o: (n, esc) for o, n, esc in db.session.execute(q)}
    out = [[str(label), counts.get(o, (0, 0))[0], counts.get(o, (0, 0))[1]] for o, label in OUTCOME_LABELS.items()]
    missed = counts.get("no_answer", (0, 0))[0]
    return Panel("meals", _("助餐送达"), [_("结果"), _("次数"), _("升级为求助")], out, Chart(0, 1, ""),
                 {_("送餐记录"): sum(r[1] for r in out), _("无人应答（漏餐）"): missed,
                  _("升级为求助"): sum(r[2] for r in out)},
                 _("按送餐日期计入本月。漏餐＝结果为“无人应答”的记录；升级为求助＝无人应答后交给求助流程的次数。"))


@_now_only
def grids_without_worker(ctx):
    staffed = select(GridAssignment.grid_id).join(User, User.id == GridAssignment.user_id).where(
        User.role == "worker", User.active.is_(True))
    hh = (select(func.count(Household.id)).join(Building, Building.id == Household.building_id)
          .where(Building.grid_id == Grid.id).scalar_subquery())
    rows = db.session.execute(select(Grid.code, Grid.name, hh).where(
        Grid.id.in_(ctx.grid_ids or [-1]), Grid.id.not_in(staffed)).order_by(Grid.code)).all()
    out = [list(r) for r in rows]
    return Panel("unstaffed", _("没有网格员的网格"), [_("网格编码"), _("网格"), _("户数")], out, Chart(1, 2, ""),
                 {_("网格数"): len(out)}, _("没有任何在职网格员分配到的网格（按当前分配）。"))


@_now_only
def silent_grids_today(ctx):
    """Grids with neither a record (visit, alert raised by staff) nor a zero report today. Only what
    staff did counts: a resident's SOS or check-in is not the grid's report for the day. A grid's
    zero report covers its micro-grids."""
    day = ctx.today
    lo, hi = utc_start(day, ctx.community), utc_start(day + timedelta(days=1), ctx.community)
    visited = (select(Building.grid_id).join(Household, Household.building_id == Building.id)
               .join(Visit, Visit.household_id == Household.id)
               .where(Visit.occurred_at >= lo, Visit.occurred_at < hi, Building.grid_id.in_(ctx.grid_ids or [-1])))
    alerted = (select(Building.grid_id).join(Household, Household.building_id == Building.id)
               .join(Alert, Alert.household_id == Household.id)
               .join(User, User.id == Alert.author_id)
               .where(Alert.recorded_at >= lo, Alert.recorded_at < hi, User.role.in_(access.RAISE_ALERTS),
                      Building.grid_id.in_(ctx.grid_ids or [-1])))
    # a zero report is made for a worker's top grid (zero_reports.todays): it covers its micro-grids
    from .scope import _descendants
    zero = _descendants(ctx.community.id, db.session.scalars(
        select(ZeroReport.grid_id).join(Grid, Grid.id == ZeroReport.grid_id)
        .where(ZeroReport.day == day, Grid.community_id == ctx.community.id)).all())
    rows = db.session.execute(select(Grid.code, Grid.name).where(
        Grid.id.in_(ctx.grid_ids or [-1]), Grid.id.not_in(visited), Grid.id.not_in(alerted),
        Grid.id.not_in(zero or {-1})).order_by(Grid.code)).all()
    out = [list(r) for r in rows]
    return Panel("silent", _("今天既无记录也无零上报的网格"), [_("网格编码"), _("网格")], out, None,
                 {_("网格数"): len(out)},
                 _("%(day)s：网格内没有走访、没有网格员发起的求助，也没有零上报（上级网格的零上报也算）。", day=day.isoformat()))


# ---- the list of panels ------------------------------------------------------------------

def load(paths):
    panels = []
    for path in paths:
        module_name, _sep, fn = path.partition(":")
        panels.append(getattr(importlib.import_module(module_name), fn))
    return panels


def panels():
    from .. import dashboard_panels
    return load(dashboard_panels.PANELS)


def compute(ctx, compare=True):
    """[(panel, previous month's figures)] for every panel in the list."""
    out = []
    for fn in panels():
        current = fn(ctx)
        # a panel about now (today, current assignments) has no "last month" to compare with
        prev = fn(ctx.previous()).figures if compare and getattr(fn, "monthly", True) else {}
        out.append((current, prev))
    return out


def one(ctx, name):
    for fn in panels():
        p = fn(ctx)
        if p.name == name:
            return p
    return None


def ctx_for(user, month, grid=None):
    """The dashboard's scope: an admin's community, a leader's grids; or one grid (and micro-grids)
    already checked to be in scope."""
    from . import scope
    ids = scope.grid_ids(user)
    if grid is not None:
        ids = scope._descendants(user.community_id, [grid.id]) & ids
    return Ctx(user.community, ids, month)


# ---- the district roll-up ----------------------------------------------------------------------

def district_rollup(month):
    """Every community's headline figures for a month, in a few statements over all communities:
    the model has no district level, so the roll-up is all communities (as the CLI and bench use it).
    [(code, name, care households, due, covered, overdue, alerts, ack median minutes)]."""
    communities = db.session.scalars(select(Community).order_by(Community.code)).all()
    if not communities:
        return []
    first = communities[0]
    if _dialect() == "postgresql":
        # An analytic statement over the whole district: its rough row estimates would have the JIT
        # spend most of a second compiling, and the default work_mem spills its hashes to disk.
        db.session.execute(text("SET LOCAL jit = off"))
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))
    # the month's bounds in the first community's zone: communities of one district share a zone
    ctx = Ctx(first, [], month)
    days_of = sorted(set(db.session.scalars(select(CareCategory.interval_days).distinct())) | {7})
    need = household_needs(ctx, everywhere=True)
    vc = (select(Visit.household_id,
                 func.sum(case((Visit.occurred_at >= ctx.start, 1), else_=0)).label("n"),
                 func.max(case((Visit.occurred_at < ctx.start, Visit.occurred_at))).label("last_before"),
                 func.max(Visit.occurred_at).label("last_ref"))
          .where(Visit.amends.is_(None), Visit.occurred_at < ctx.end, Visit.occurred_at >= lookback(ctx, days_of))
          .group_by(Visit.household_id)).subquery("vc")
    r = required(ctx, need.c.interval, vc.c.last_before, days_of)
    overdue = or_(vc.c.last_ref.is_(None),
                  vc.c.last_ref < _cutoff_case(need.c.interval, ctx.ref_day, days_of, first))
    hh = (select(Grid.community_id, r.label("r"), func.coalesce(vc.c.n, 0).label("n"),
                 case((overdue, 1), else_=0).label("overdue"))
          .select_from(need).join(Grid, Grid.id == need.c.grid_id)
          .outerjoin(vc, vc.c.household_id == need.c.household_id)).subquery("hh")
    figures = {cid: rest for cid, *rest in db.session.execute(
        select(hh.c.community_id, func.count(), func.sum(case((hh.c.r > 0, 1), else_=0)),
               func.sum(case((and_(hh.c.r > 0, hh.c.n >= hh.c.r), 1), else_=0)), func.sum(hh.c.overdue))
        .group_by(hh.c.community_id))}
    a = (select(Grid.community_id.label("cid"), minutes_between(Alert.acknowledged_at, alert_start()).label("ack"))
         .join(Household, Household.id == Alert.household_id).join(Building, Building.id == Household.building_id)
         .join(Grid, Grid.id == Building.grid_id)
         .where(Alert.recorded_at >= ctx.start, Alert.recorded_at < ctx.end)).subquery("a")
    n_alerts = dict(db.session.execute(select(a.c.cid, func.count()).group_by(a.c.cid)).all())
    med = percentiles(a, "cid", "ack", (0.5,))
    out = []
    for c in communities:
        total, due, covered, over = figures.get(c.id, (0, 0, 0, 0))
        out.append([c.code, c.name, total, due or 0, covered or 0, _pct(covered or 0, due or 0), over or 0,
                    n_alerts.get(c.id, 0), _round(med.get(c.id, {}).get(0.5))])
    return out


ROLLUP_COLUMNS = ("社区编码", "社区", "关爱户数", "本月应访户数", "按期走访户数", "覆盖率%", "逾期户数", "求助条数",
                  "响应中位数（分钟）")


# ---- SVG -----------------------------------------------------------------------------------

def svg_bars(panel):
    """A horizontal bar chart of a panel's rows, as inline SVG (no script, scales to the width).
    The table behind it carries the same figures for screen readers: the SVG is aria-hidden."""
    chart = panel.chart
    if chart is None or not panel.rows:
        return Markup("")
    values = [(str(r[chart.label]), r[chart.value] or 0) for r in panel.rows]
    top = chart.max or max((v for _l, v in values), default=0) or 1
    row_h, label_w, width = 28, 120, 360
    bar_w = width - label_w - 60
    parts = [f'<svg class="chart" viewBox="0 0 {width} {row_h * len(values) + 8}" role="img" aria-hidden="true" '
             f'focusable="false" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">']
    for i, (label, value) in enumerate(values):
        y = 4 + i * row_h
        w = max(0.0, min(1.0, float(value) / top)) * bar_w
        short = label if len(label) <= 8 else label[:7] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end" font-size="13">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" class="bar"></rect>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 18}" font-size="13">{escape(_fmt(value))}{escape(chart.unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value):
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
