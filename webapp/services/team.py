"""The leader's team view (today, per worker) and the fair monthly evaluation (考核) per worker.

The evaluation counts work by when it was done on the phone (recorded_at), never by when it
reached the server (received_at): a visit made on the 30th in a basement and synced on the
2nd counts for the month it was made in. An alert's response is timed from when the worker
could first see it (dashboard.alert_start: the later of recorded_at and received_at). Aggregation is SQL (per grid and per author); a
worker's figures are the sums over the grids assigned to them.
"""
from collections import namedtuple

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Alert, Building, DeviceSync, Household, User, Visit
from . import scope
from .dashboard import alert_start, household_needs, minutes_between, percentiles, required, _intervals, _pct, _round

Member = namedtuple("Member", "user grid_ids")
TeamRow = namedtuple("TeamRow", "user today_done today_total overdue open_alerts open_requests synced_at pending "
                                 "rejected")
Evaluation = namedtuple("Evaluation", "user caseload due_households due_visits done covered per100 completion "
                                      "visits on_time on_time_rate alerts ack_median "
                                      "req_handled req_on_time req_on_time_rate req_rating")


def members(ctx):
    """Active workers with a grid in the dashboard's scope, and the grids of theirs in it."""
    workers = db.session.scalars(select(User).where(User.community_id == ctx.community.id, User.role == "worker",
                                                    User.active.is_(True)).order_by(User.name, User.id)).all()
    in_scope = set(ctx.grid_ids)
    out = []
    for w in workers:
        mine = scope.grid_ids(w) & in_scope
        if mine:
            out.append(Member(w, mine))
    return out


def team_today(ctx):
    """Per worker: today's round (done / due, as their own list counts it), households overdue,
    open alerts and open requests (诉求 whose time limit still runs) in their grids, and their phone's
    last sync with the counts it reported."""
    from ..models.requests import OPEN_STATES, Request
    from . import visits
    team = members(ctx)
    open_by_grid = dict(db.session.execute(
        select(Building.grid_id, func.count(Alert.id)).join(Household, Household.id == Alert.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Building.grid_id.in_(ctx.grid_ids or [-1]), Alert.state.in_(("open", "acknowledged")))
        .group_by(Building.grid_id)).all())
    requests_by_grid = dict(db.session.execute(
        select(Request.grid_id, func.count(Request.id))
        .where(Request.community_id == ctx.community.id, Request.grid_id.in_(ctx.grid_ids or [-1]),
               Request.state.in_(OPEN_STATES))
        .group_by(Request.grid_id)).all())
    syncs = {d.user_id: d for d in db.session.scalars(select(DeviceSync).where(
        DeviceSync.user_id.in_([m.user.id for m in team] or [-1])))}
    rows = []
    for m in team:
        walk = visits.today_walk(m.user, today=ctx.today)
        overdue = sum(1 for e in walk.due + walk.done if e.overdue is None or e.overdue > 0)
        sync = syncs.get(m.user.id)
        rows.append(TeamRow(m.user, walk.progress["today_done"], walk.progress["today_total"], overdue,
                            sum(open_by_grid.get(g, 0) for g in m.grid_ids),
                            sum(requests_by_grid.get(g, 0) for g in m.grid_ids),
                            sync.synced_at if sync else None, sync.pending if sync else None,
                            sync.rejected if sync else None))
    return rows


def evaluate(ctx):
    """[Evaluation] per worker for the month of `ctx`; see FORMULAS."""
    team = members(ctx)
    if not team:
        return []
    t = Visit.recorded_at
    days_of = _intervals(ctx.community)
    need = household_needs(ctx)
    # the last visit before the month, by anyone: it decides whether a quarterly household falls due
    before = (select(Visit.household_id, func.max(t).label("last_before"))
              .where(Visit.household_id.in_(select(need.c.household_id)), Visit.amends.is_(None), t < ctx.start)
              .group_by(Visit.household_id)).subquery("before")
    hh = (select(need.c.household_id, need.c.grid_id, need.c.interval,
                 required(ctx, need.c.interval, before.c.last_before, days_of).label("r"))
          .outerjoin(before, before.c.household_id == need.c.household_id)).subquery("hh")
    per_grid = {g: (int(n), int(due_h or 0), int(due_v or 0)) for g, n, due_h, due_v in db.session.execute(
        select(hh.c.grid_id, func.count(), func.sum(case((hh.c.r > 0, 1), else_=0)), func.sum(hh.c.r))
        .group_by(hh.c.grid_id))}
    # each visit of the month with the time since the household's previous visit (anyone's)
    gaps = (select(Visit.author_id, Visit.household_id, t.label("t"), hh.c.grid_id, hh.c.interval,
                   func.lag(t).over(partition_by=Visit.household_id, order_by=t).label("prev"))
            .join(hh, hh.c.household_id == Visit.household_id)
            .where(Visit.amends.is_(None), t < ctx.end)).subquery("gaps")
    in_month = and_(gaps.c.t >= ctx.start, gaps.c.t < ctx.end)
    on_time = or_(gaps.c.prev.is_(None), minutes_between(gaps.c.t, gaps.c.prev) <= gaps.c.interval * 1440)
    by_author_household = (select(gaps.c.author_id, gaps.c.household_id, gaps.c.grid_id,
                                  func.count().label("n"), func.sum(case((on_time, 1), else_=0)).label("on_time"))
                           .where(in_month).group_by(gaps.c.author_id, gaps.c.household_id, gaps.c.grid_id)
                           ).subquery("ah")
    done_rows = db.session.execute(
        select(by_author_household.c.author_id, by_author_household.c.grid_id,
               func.sum(case((by_author_household.c.n < hh.c.r, by_author_household.c.n), else_=hh.c.r)),
               func.sum(case((and_(hh.c.r > 0, by_author_household.c.n >= hh.c.r), 1), else_=0)),
               func.sum(by_author_household.c.n), func.sum(by_author_household.c.on_time))
        .join(hh, hh.c.household_id == by_author_household.c.household_id)
        .group_by(by_author_household.c.author_id, by_author_household.c.grid_id)).all()
    done = {}
    for author, grid, capped, covered, n, ok in done_rows:
        done[(author, grid)] = (int(capped or 0), int(covered or 0), int(n or 0), int(ok or 0))
    alerts = (select(Alert.acknowledged_by.label("who"),
                     minutes_between(Alert.acknowledged_at, alert_start()).label("ack"))
              .join(Household, Household.id == Alert.household_id)
              .join(Building, Building.id == Household.building_id)
              .where(Building.grid_id.in_(ctx.grid_ids or [-1]), Alert.recorded_at >= ctx.start,
                     Alert.recorded_at < ctx.end, Alert.acknowledged_by.in_([m.user.id for m in team]))).subquery("al")
    n_alerts = dict(db.session.execute(select(alerts.c.who, func.count()).group_by(alerts.c.who)).all())
    med = percentiles(alerts, "who", "ack", (0.5,))
    reqs = _requests_handled(ctx, [m.user.id for m in team])
    out = []
    for m in team:
        caseload = sum(per_grid.get(g, (0, 0, 0))[0] for g in m.grid_ids)
        due_h = sum(per_grid.get(g, (0, 0, 0))[1] or 0 for g in m.grid_ids)
        due_v = sum(per_grid.get(g, (0, 0, 0))[2] or 0 for g in m.grid_ids)
        capped, covered, n, ok = (sum(done.get((m.user.id, g), (0, 0, 0, 0))[i] for g in m.grid_ids) for i in range(4))
        out.append(Evaluation(m.user, caseload, due_h, due_v, capped, covered,
                              round(100.0 * capped / caseload, 1) if caseload else None, _pct(capped, due_v),
                              n, ok, _pct(ok, n), n_alerts.get(m.user.id, 0),
                              _round(med.get(m.user.id, {}).get(0.5)), *reqs.get(m.user.id, (0, 0, None, None))))
    return out


def _requests_handled(ctx, user_ids):
    """{user_id: (handled, on time, on-time %, average rating)}: the requests in scope whose 处置 that
    stood (requests.final_handlings) this user did in the month, by when it was done."""
    from ..models import Request
    from .requests import final_handlings
    fh = final_handlings()
    rows = db.session.execute(
        select(fh.c.user_id, func.count(), func.sum(case((fh.c.at <= Request.due_at, 1), else_=0)),
               func.avg(Request.rating))
        .join(Request, Request.id == fh.c.request_id)
        .where(Request.community_id == ctx.community.id, Request.grid_id.in_(ctx.grid_ids or [-1]),
               fh.c.user_id.in_(user_ids or [-1]), fh.c.at >= ctx.start, fh.c.at < ctx.end)
        .group_by(fh.c.user_id)).all()
    return {uid: (int(n), int(ok or 0), _pct(ok or 0, n), _round(float(r)) if r is not None else None)
            for uid, n, ok, r in rows}


def formulas():
    return {
        "caseload": _("负责户数：分配给他的网格（含下属微网格）里，有关爱类别的户数。"),
        "due": _("本月应访次数：每户按其最短走访周期计算（周访：本月天数÷7取整；月访：1次；季访：到月底超过周期未访才算1次），各户相加。"),
        "done": _("完成次数：他本人本月做的走访，每户最多算到应访次数为止（多访不加分），更正记录不算。"),
        "completion": _("完成率＝完成次数÷应访次数×100。"),
        "per100": _("每百户完成＝完成次数÷负责户数×100：负责户数不同的人可以比较。"),
        "on_time": _("按时率＝按时的走访÷他本月的走访×100；按时：距这户上一次走访（任何人做的）不超过走访周期，第一次走访算按时。"),
        "ack": _("求助响应中位数：他本月接手的求助，从求助到达服务器（手机上发起时间若更晚则从发起）到他确认接手的分钟数，"
                 "排在正中的值：居民晚同步不算在他头上。"),
        "requests": _("诉求按时办结：本月由他处置、且没有被核查退回或因居民不满意回退的诉求件数；按时＝处置时间不晚于"
                      "该件保存的办理时限（按社区工作时间算）。诉求按时率＝按时件数÷处置件数×100。"),
        "rating": _("诉求满意度：这些诉求的居民评分（1-5）的平均值，没有评分的不计。"),
        "time": _("所有时间都按手机上记下工作的时间（recorded_at）计算，不按同步到服务器的时间：晚同步不扣分"
                 "（求助响应见上，从求助到达服务器起算）。"),
    }


def record_device(user, device, now):
    """Store when the user's phone last synced and what it reported with the sync: records still
    waiting in its outbox and records the server refused (stuck). Counts that are not small
    non-negative integers are ignored (the time is still kept): the records are what matter.
    Two syncs at once: the later write wins, neither fails."""
    counts = {}
    if isinstance(device, dict):
        for key in ("pending", "rejected"):
            value = device.get(key)
            if not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= 1_000_000:
                counts[key] = value
    values = dict(synced_at=now, **counts)
    if db.session.execute(update(DeviceSync).where(DeviceSync.user_id == user.id).values(**values)
                          .execution_options(synchronize_session=False)).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(DeviceSync).values(user_id=user.id, **{"pending": 0, "rejected": 0, **values}))
    except IntegrityError:  # a concurrent first sync of the same user stored its row first
        pass
