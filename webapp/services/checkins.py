"""Daily check-in (平安打卡): enrolment, the 我很好 record kind, the daily sweep, and
"last confirmed OK" for every elder.

- A check-in counts for the local day of its recorded_at (when it was pressed on the phone),
  never of its sync: pressed offline at 09:50, synced at 10:40, it was on time. It counts for that
  day only (a recorded_at ahead of the server is capped at its receive time by records.ingest).
- A visit to the household that day counts as the day's check-in.
- The sweep, per community and in a constant number of statements: at the deadline, elders
  without a check-in today get one reminder; after the grace period, one alert (raise_alert,
  source "checkin") that climbs the ladder like any other. A paused elder raises nothing.
  reminded_on / alerted_on are set by compare-and-set, so at most one of each per elder per day,
  whichever processes sweep at once.
"""
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import access, localtime
from ..extensions import db
from ..models import (Alert, Building, CheckinEnrolment, CheckinPause, Checkin, CHECKIN_MODES, Community, Grid,
                      Household, Notice, PAUSE_REASONS, Residency, User, Visit)
from . import audit, push, records
from ..clock import utcnow

MODE_LABELS = {"self": _l("本人打卡"), "phone": _l("电话确认平安"), "visit": _l("上门确认平安")}
PAUSE_LABELS = {"hospital": _l("住院"), "family": _l("随家人外出")}
DEFAULT_GRACE = 30
LATEST_DEADLINE = 22 * 60  # deadline + grace stays within the day


class CheckinError(ValueError):
    pass


# ---- enrolment (staff, in their grids: the route looks the household up in the user's scope) ----

def parse_deadline(raw):
    """'10:00' → 600 (local minutes after midnight), or CheckinError."""
    raw = (raw or "").strip()
    try:
        hours, minutes = raw.split(":")
        value = int(hours) * 60 + int(minutes)
        if not (raw.isascii() and 0 <= int(minutes) < 60):
            raise ValueError(raw)
    except ValueError:
        raise CheckinError(_("请按“时:分”填写每日打卡截止时间，例如 10:00。")) from None
    if not 5 * 60 <= value <= LATEST_DEADLINE:
        raise CheckinError(_("每日打卡截止时间应在 05:00 到 22:00 之间。"))
    return value


def enrolment(household_id):
    return db.session.scalar(select(CheckinEnrolment).where(CheckinEnrolment.household_id == household_id))


def enrol(actor, household, deadline):
    """Enrol (or re-enrol, or change the deadline of) the household's elder. The same act twice at
    once (two staff, a double tap) updates the one enrolment the first of them created."""
    minutes = parse_deadline(deadline)
    row = enrolment(household.id)
    if row is None:
        row = CheckinEnrolment(household_id=household.id, deadline_minutes=minutes, enrolled_by=actor.id)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # enrolled by another request meanwhile: update that enrolment
            row = enrolment(household.id)
    row.deadline_minutes, row.active, row.enrolled_by, row.enrolled_at = minutes, True, actor.id, utcnow()
    # enrolled after today's deadline: the elder never had a chance today, so today counts as handled
    local = localtime.to_local(utcnow(), household.building.grid.community)
    if local.hour * 60 + local.minute >= minutes:
        row.reminded_on = max(row.reminded_on or local.date(), local.date())
        row.alerted_on = max(row.alerted_on or local.date(), local.date())
    db.session.flush()
    audit.record(actor, "checkin_enrol", "household", household.id, row.deadline)
    return row


def stop(actor, household):
    row = enrolment(household.id)
    if row is not None:
        row.active = False
        db.session.flush()
        audit.record(actor, "checkin_stop", "household", household.id)
    return row


def _date(raw, field):
    from .registry import parse_date
    value = parse_date(raw) if isinstance(raw, str) and raw.strip() else None
    if value is None:
        raise CheckinError(_("请填写%(field)s。", field=field))
    return value


def add_pause(actor, household, reason, starts_on, ends_on):
    if reason not in PAUSE_REASONS:
        raise CheckinError(_("请选择暂停原因。"))
    start, end = _date(starts_on, _("开始日期")), _date(ends_on, _("结束日期"))
    if end < start:
        raise CheckinError(_("结束日期不能早于开始日期。"))
    if (end - start).days > 366:
        raise CheckinError(_("暂停最长一年。"))
    pause = CheckinPause(household_id=household.id, reason=reason, starts_on=start, ends_on=end,
                         created_by=actor.id)
    db.session.add(pause)
    db.session.flush()
    audit.record(actor, "checkin_pause", "household", household.id, f"{reason} {start}..{end}")
    return pause


def end_pause(actor, household, pause_id):
    pause = db.session.scalar(select(CheckinPause).where(CheckinPause.id == pause_id,
                                                         CheckinPause.household_id == household.id))
    if pause is None:
        return None
    today = localtime.today(household.building.grid.community)
    pause.ends_on = min(pause.ends_on, today - timedelta(days=1))
    if pause.ends_on < pause.starts_on:
        db.session.delete(pause)
    db.session.flush()
    audit.record(actor, "checkin_resume", "household", household.id)
    return pause


def pauses(household_id, today):
    """Pauses that are not over yet, earliest first."""
    return db.session.scalars(select(CheckinPause).where(
        CheckinPause.household_id == household_id, CheckinPause.ends_on >= today)
        .order_by(CheckinPause.starts_on)).all()


def _day_start(day, community):
    return localtime.to_utc(datetime.combine(day, time()), community)


def status(household):
    """What the household page and the resident's home show about today's check-in."""
    community = household.building.grid.community
    today = localtime.today(community)
    row = enrolment(household.id)
    last = db.session.scalar(select(Checkin).where(Checkin.household_id == household.id)
                             .order_by(Checkin.recorded_at.desc()).limit(1))
    start, end = _day_start(today, community), _day_start(today + timedelta(days=1), community)
    done_today = db.session.scalar(select(Checkin.id).where(
        Checkin.household_id == household.id, Checkin.recorded_at >= start, Checkin.recorded_at < end).limit(1)) \
        is not None or db.session.scalar(select(Visit.id).where(
            Visit.household_id == household.id, Visit.occurred_at >= start, Visit.occurred_at < end).limit(1)) is not None
    current = pauses(household.id, today)
    return {"enrolment": row if row is not None and row.active else None, "last": last,
            "done_today": done_today, "pauses": current,
            "paused_today": any(p.starts_on <= today for p in current),
            "grace": community.setting("checkin_grace_minutes", DEFAULT_GRACE)}


# ---- the record kind: 我很好, through the outbox ----

class CheckinKind(records.RecordKind):
    name = "checkin"
    model = Checkin
    label = _l("平安打卡")
    priority = 50  # after an SOS, before visits
    roles = (access.CHECK_IN,)  # a resident: their own household (scope); staff: in their grids
    refers_to = ("household_id", "household")
    example = {"uuid": "0d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "kind": "checkin", "recorded_at": "2026-11-22T01:30:00Z",
               "payload": {"household_id": 12, "mode": "self", "note": ""}}

    def validate(self, user, payload, ctx):
        household_id = self.household_in_scope(payload, ctx)
        mode = payload.get("mode") or ("self" if user.role == "resident" else "phone")
        allowed = ("self",) if user.role == "resident" else ("phone", "visit")
        if mode not in allowed or mode not in CHECKIN_MODES:
            raise records.Rejected("invalid", _("打卡方式不正确。"))
        note = payload.get("note") or ""
        if not isinstance(note, str) or len(note) > 500:
            raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field="note"))
        return {"household_id": household_id, "mode": mode, "note": note.strip()}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)

    def after_store(self, user, stored):
        stand_down(user, {clean["household_id"] for _uuid, clean in stored})


def stand_down(user, household_ids):
    """A check-in that arrives after its missed-check-in alert (the phone had no signal): the elder
    is fine, so the open alert is closed and everyone it told hears so. A durable side effect of a
    stored check-in: committed here, pushes after the commit. The elder is not recorded as the one
    who responded (alerts.stand_down), and two late check-ins at once close it and tell once."""
    from . import alerts
    db.session.commit()  # the compare-and-set is the transaction's first statement (SQLite's write lock)
    found = alerts.stand_down(user, household_ids, "checkin", _("老人已平安打卡，未打卡提醒自动解除。"))
    told_all = []
    for alert in found:
        told = sorted(set(db.session.scalars(select(Notice.user_id).where(
            Notice.subject_type == "alert", Notice.subject_id == alert.id))) - {user.id})
        title, body, url = _("已平安打卡"), _("老人已报平安，未打卡提醒已解除，无需上门。"), f"/alerts/{alert.id}"
        push.add_notices(told, title, body, url, subject=("alert", alert.id))
        told_all.append((told, title, body, url, alert.id))
    db.session.commit()
    if found:
        for told, title, body, url, alert_id in told_all:
            push.send_later(told, title, body, url, subject=("alert", alert_id), urgent=False)


# ---- the sweep ----

def _missing(community, today, due_minutes, marked_column):
    """Enrolment ids of the community's active, unpaused elders whose deadline (+ grace) has passed
    with no check-in or visit today and who were not yet marked today."""
    day_start, day_end = _day_start(today, community), _day_start(today + timedelta(days=1), community)
    e = CheckinEnrolment
    return (select(e.id)
            .join(Household, Household.id == e.household_id)
            .join(Building, Building.id == Household.building_id)
            .join(Grid, Grid.id == Building.grid_id)
            .where(Grid.community_id == community.id, e.active.is_(True), e.deadline_minutes <= due_minutes,
                   or_(marked_column.is_(None), marked_column < today),
                   ~exists().where(Checkin.household_id == e.household_id, Checkin.recorded_at >= day_start,
                                   Checkin.recorded_at < day_end),
                   ~exists().where(Visit.household_id == e.household_id, Visit.occurred_at >= day_start,
                                   Visit.occurred_at < day_end),
                   ~exists().where(CheckinPause.household_id == e.household_id, CheckinPause.starts_on <= today,
                                   CheckinPause.ends_on >= today)))


def _mark(community, today, due_minutes, column):
    """Compare-and-set: mark today on those found missing; returns the household ids this call marked."""
    e = CheckinEnrolment
    ids = _missing(community, today, due_minutes, column).scalar_subquery()
    return list(db.session.scalars(
        update(e).where(e.id.in_(ids), or_(column.is_(None), column < today))
        .values({column.key: today}).returning(e.household_id)
        .execution_options(synchronize_session=False)))


def sweep(now=None):
    """Reminders and alerts for missed check-ins in every community. Returns (reminded, alerted)."""
    from . import alerts
    reminded = alerted = 0
    communities = db.session.scalars(select(Community).where(Community.id.in_(
        select(Grid.community_id).join(Building, Building.grid_id == Grid.id)
        .join(Household, Household.building_id == Building.id)
        .join(CheckinEnrolment, CheckinEnrolment.household_id == Household.id)
        .where(CheckinEnrolment.active.is_(True)))).order_by(Community.id)).all()
    for community in communities:
        local = localtime.to_local(now or utcnow(), community)
        today, minutes = local.date(), local.hour * 60 + local.minute
        grace = community.setting("checkin_grace_minutes", DEFAULT_GRACE)
        households = _mark(community, today, minutes, CheckinEnrolment.reminded_on)
        if households:
            residents = list(db.session.scalars(
                select(User.id).join(Residency, (Residency.resident_id == User.resident_id)
                                     & Residency.end_date.is_(None))
                .where(Residency.household_id.in_(households), User.role == "resident", User.active.is_(True))))
            title, body = _("平安打卡提醒"), _("今天还没有打卡，请点“我很好”报个平安。")
            push.add_notices(residents, title, body, "/me")
            db.session.commit()
            push.send_later(residents, title, body, "/me", urgent=False)
            reminded += len(households)
        else:
            db.session.commit()
        # the alerts: the compare-and-set and every alert it calls for commit together
        missed = _mark(community, today, minutes - grace, CheckinEnrolment.alerted_on)
        if missed:
            households = db.session.scalars(select(Household).where(records.one_of(Household.id, missed))
                                            .options(selectinload(Household.building))
                                            .order_by(Household.id)).all()
            alerts.raise_many("checkin", households, severity="high",
                              note=_("今天截止时间前未平安打卡，提醒后仍无回应。"))
            alerted += len(households)
        db.session.commit()
    return reminded, alerted


# ---- last confirmed OK ----

def last_confirmed_ok(household_ids):
    """{household_id: the latest moment someone confirmed the household was OK}: a check-in, a
    visit, a meal handed over (meals.confirmed_ok) or a resolved alert. One statement for the whole
    list (the latest of each source, then the latest of those), never one per household."""
    from sqlalchemy import union_all
    from . import meals
    ids = list(household_ids)
    if not ids:
        return {}
    sources = union_all(
        select(Checkin.household_id, func.max(Checkin.recorded_at))
        .where(records.one_of(Checkin.household_id, ids)).group_by(Checkin.household_id),
        select(Visit.household_id, func.max(Visit.occurred_at))
        .where(records.one_of(Visit.household_id, ids)).group_by(Visit.household_id),
        select(Alert.household_id, func.max(Alert.resolved_at))
        .where(records.one_of(Alert.household_id, ids), Alert.state == "resolved").group_by(Alert.household_id),
        meals.confirmed_ok(ids)).subquery()
    hid, when = sources.c
    return {h: at for h, at in db.session.execute(select(hid, func.max(when)).group_by(hid)) if at is not None}


# ---- the dashboard panel (webapp/dashboard_panels.py) ----

def dashboard_panel(ctx):
    """平安打卡 per grid for the month, in one statement over (elder, day) pairs: the days due (enrolled
    before that day's deadline, not paused; today and later are not over yet), those checked in by the
    deadline (a check-in's recorded_at, or a visit, as the sweep counts them, corrections of a visit left out:
    never the sync time), those
    with no check-in or visit at all that day, and the missed-check-in alerts raised in the month.
    Enrolments that were stopped are left out (a stop keeps no date)."""
    from .dashboard import Chart, Panel, _grid_names, _pct
    e = CheckinEnrolment
    in_scope = Building.grid_id.in_(ctx.grid_ids or [-1])
    enrolled = (select(e.id, e.household_id, e.deadline_minutes, e.enrolled_at, Building.grid_id)
                .join(Household, Household.id == e.household_id)
                .join(Building, Building.id == Household.building_id)
                .where(in_scope, e.active.is_(True), e.enrolled_at < ctx.end)).subquery("en")
    deadlines = sorted(set(db.session.scalars(select(enrolled.c.deadline_minutes).distinct())))
    last = min(ctx.last_day, ctx.today - timedelta(days=1))
    # one row per (day, deadline): the day's UTC bounds and its deadline, computed here with the zone
    # rules (a handful of deadlines × at most 31 days), so the SQL needs no date arithmetic
    days = []
    day = ctx.month
    while day <= last:
        lo, hi = _day_start(day, ctx.community), _day_start(day + timedelta(days=1), ctx.community)
        for minutes in deadlines:
            days.append(select(literal(day).label("day"), literal(minutes).label("minutes"), literal(lo).label("lo"),
                               literal(lo + timedelta(minutes=minutes)).label("due"), literal(hi).label("hi")))
        day += timedelta(days=1)
    per_grid = {}
    if days:
        d = (union_all(*days) if len(days) > 1 else days[0]).subquery("d")

        def done(until):
            return or_(exists().where(Checkin.household_id == enrolled.c.household_id, Checkin.recorded_at >= d.c.lo,
                                      Checkin.recorded_at < until),
                       exists().where(Visit.household_id == enrolled.c.household_id, Visit.amends.is_(None),
                                      Visit.occurred_at >= d.c.lo, Visit.occurred_at < until))
        pairs = (select(enrolled.c.grid_id, case((done(d.c.due), 1), else_=0).label("on_time"),
                        case((done(d.c.hi), 0), else_=1).label("missed"))
                 .join(d, d.c.minutes == enrolled.c.deadline_minutes)
                 .where(enrolled.c.enrolled_at < d.c.due,
                        ~exists().where(CheckinPause.household_id == enrolled.c.household_id,
                                        CheckinPause.starts_on <= d.c.day, CheckinPause.ends_on >= d.c.day))
                 ).subquery("pairs")
        per_grid = {g: (int(n), int(ok or 0), int(missed or 0)) for g, n, ok, missed in db.session.execute(
            select(pairs.c.grid_id, func.count(), func.sum(pairs.c.on_time), func.sum(pairs.c.missed))
            .group_by(pairs.c.grid_id))}
    elders = dict(db.session.execute(select(enrolled.c.grid_id, func.count()).group_by(enrolled.c.grid_id)).all())
    alerts = dict(db.session.execute(
        select(Building.grid_id, func.count(Alert.id)).join(Household, Household.id == Alert.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(in_scope, Alert.source == "checkin", Alert.recorded_at >= ctx.start, Alert.recorded_at < ctx.end)
        .group_by(Building.grid_id)).all())
    names = _grid_names(ctx)
    out = []
    for g in sorted(set(elders) | set(per_grid) | set(alerts), key=lambda g: names[g][0]):
        due, ok, missed = per_grid.get(g, (0, 0, 0))
        out.append([names[g][0], names[g][1], elders.get(g, 0), due, ok, missed, _pct(ok, due), alerts.get(g, 0)])
    due, ok = sum(r[3] for r in out), sum(r[4] for r in out)
    return Panel("checkins", _("平安打卡（按网格）"),
                 [_("网格编码"), _("网格"), _("打卡老人"), _("应打卡天数"), _("按时打卡天数"), _("漏打卡天数"),
                  _("按时率%"), _("未打卡提醒")],
                 out, Chart(1, 6, "%", 100),
                 {_("按时率%"): _pct(ok, due), _("漏打卡天数"): sum(r[5] for r in out),
                  _("未打卡提醒"): sum(r[7] for r in out)},
                 _("应打卡天数：每位参加打卡的老人，从登记后的第一个截止时间起、到昨天为止（本月内）的每一天，"
                   "住院或随家人外出暂停的日子不算。按时：当天截止时间前按了“我很好”（按手机上按下的时间，不按同步时间），"
                   "或当天截止前有人上门走访（更正记录不算走访）。漏打卡：当天既没有打卡也没有走访。按时率＝按时打卡天数÷应打卡天数×100。"
                   "未打卡提醒：本月发出的未打卡求助条数。已停止打卡的老人不计。"))
