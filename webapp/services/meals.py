"""Meal deliveries (爱心配餐): enrolment, routes, the day's route sheets, the delivery
record kinds, and the no-answer protocol.

A delivery is also a daily safety check. 无人应答 opens a checklist on the phone (knock
again, phone the elder, phone the emergency contact); a no-answer still unresolved after
the community's delay (30 minutes by default), and every stop still without a record
when its route is closed, becomes an urgent alert to the household's grid worker on the
emergencies ladder. Each hand-over is claimed by compare-and-set in the same transaction
as its alert, so two processes never raise two.
"""
from collections import Counter, namedtuple
from types import SimpleNamespace
from datetime import date, datetime, timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import localtime
from ..clock import utcnow
from ..extensions import db
from ..models import (DIETS, MEAL_KINDS, OUTCOMES, STEPS, Building, Delivery, DeliveryStep, Household,
                      MealPause, MealRecipient, MealRoute, Resident, RouteClosure, RouteStop, User)
from ..models.meals import CONFIRMS_OK, STEP_RESULTS, route_volunteer
from .. import access
from . import records, scope

DIET_LABELS = {"soft": _l("软食"), "minced": _l("碎食"), "low_salt": _l("低盐"), "low_sugar": _l("低糖"),
               "halal": _l("清真")}
KIND_LABELS = {"lunch": _l("午餐"), "dinner": _l("晚餐"), "both": _l("午餐和晚餐")}
OUTCOME_LABELS = {"delivered": _l("已送达"), "left_seen": _l("放在门口(已确认)"), "no_answer": _l("无人应答"),
                  "refused": _l("拒收"), "absent_notified": _l("不在家(已告知)"), "dined_in": _l("已堂食")}
STEP_LABELS = {"knock_again": _l("再次敲门并等候"), "call_elder": _l("打电话给老人"),
               "call_contact": _l("打电话给紧急联系人")}
RESULT_LABELS = {"no_answer": _l("仍无回应"), "reached_ok": _l("已联系上，老人平安"),
                 "reached_problem": _l("已联系上，老人需要帮助")}
WEEKDAY_LABELS = (_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日"))

Stop = namedtuple("Stop", "stop recipient resident household building contact_phone records")


class MealError(ValueError):
    pass


def local_today(community=None):
    """Today in the community's own time zone (a route's day)."""
    return localtime.today(community)


# ---- enrolment and pauses ------------------------------------------------------------

def enroll(admin, resident, days, meal_kind, diets, avoid="", notes="", dine_in=False, recipient=None):
    """Enrol (or update) a resident of the admin's community for meals."""
    if not days:
        raise MealError(_("请至少选择一天。"))
    if meal_kind not in MEAL_KINDS:
        raise MealError(_("请选择餐别。"))
    if any(d not in DIETS for d in diets):
        raise MealError(_("未知的饮食要求。"))
    avoid, notes = (avoid or "").strip(), (notes or "").strip()
    if len(avoid) > 200 or len(notes) > 300:
        raise MealError(_("内容太长。"))
    household_id = db.session.scalar(select(scope.Residency.household_id).where(
        scope.Residency.resident_id == resident.id, scope.Residency.end_date.is_(None)))
    if household_id is None:
        raise MealError(_("这位居民没有登记住址，无法送餐。"))
    if recipient is None:
        recipient = db.session.scalar(select(MealRecipient).where(MealRecipient.resident_id == resident.id))
    new = recipient is None
    if new:
        recipient = MealRecipient(community_id=admin.community_id, resident_id=resident.id)
    recipient.household_id = household_id
    recipient.days = sum(1 << d for d in set(days) if 0 <= d < 7)
    recipient.meal_kind, recipient.diets = meal_kind, sorted(set(diets))
    recipient.avoid, recipient.notes, recipient.dine_in, recipient.active = avoid, notes, bool(dine_in), True
    if new:
        try:
            with db.session.begin_nested():
                db.session.add(recipient)
        except IntegrityError:  # enrolled by another request meanwhile (one per resident): the same act
            existing = db.session.scalar(select(MealRecipient).where(MealRecipient.resident_id == resident.id))
            return enroll(admin, resident, days, meal_kind, diets, avoid, notes, dine_in, recipient=existing)
    db.session.flush()
    return recipient


def weekdays(recipient):
    return [d for d in range(7) if recipient.days & (1 << d)]


def add_pause(recipient, start, end, reason=""):
    if start is None or end is None or end < start:
        raise MealError(_("暂停的开始和结束日期不正确。"))
    if (end - start).days > 366:
        raise MealError(_("暂停不能超过一年。"))
    pause = MealPause(recipient_id=recipient.id, start_date=start, end_date=end, reason=(reason or "").strip()[:50])
    db.session.add(pause)
    db.session.flush()
    return pause


def paused_on(recipient_ids, day):
    """The recipients paused on `day` (pauses end by themselves: nothing to restart)."""
    if not recipient_ids:
        return set()
    return set(db.session.scalars(select(MealPause.recipient_id).where(
        MealPause.recipient_id.in_(recipient_ids), MealPause.start_date <= day, MealPause.end_date >= day)))


# ---- routes ----------------------------------------------------------------------------

def recipients(user):
    return select(MealRecipient).where(MealRecipient.community_id == user.community_id)


def routes(user):
    """The routes a user may see and record on: staff of the community's desk see all of its
    routes; anyone else (volunteers, and workers or leaders who cover a route) only the routes
    that list them, never another grid's elders."""
    q = select(MealRoute).where(MealRoute.community_id == user.community_id)
    if user.role not in access.ADMIN:
        q = q.join(route_volunteer, route_volunteer.c.route_id == MealRoute.id) \
             .where(route_volunteer.c.user_id == user.id)
    if user.role not in access.DELIVER_MEALS:
        q = q.where(MealRoute.id == -1)
    return q.order_by(MealRoute.name, MealRoute.id)


def save_route(admin, name, volunteer_ids, route=None):
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise MealError(_("请填写线路名称（50字以内）。"))
    volunteers = db.session.scalars(select(User).where(
        User.id.in_(volunteer_ids or [-1]), User.community_id == admin.community_id,
        User.role.in_(("volunteer", "worker", "leader", "admin")))).all()
    if len(volunteers) != len(set(volunteer_ids or [])):
        raise MealError(_("所选志愿者不在本社区。"))
    if route is None:
        route = MealRoute(community_id=admin.community_id)
        db.session.add(route)
    route.name, route.volunteers = name, volunteers
    db.session.flush()
    return route


def add_stop(route, recipient):
    """Add the elder at the end of the route. One route per elder (a unique key): two staff adding
    the same elder at once, the one who loses the race is told so, and nothing of theirs is saved."""
    if recipient.community_id != route.community_id:
        raise MealError(_("这位老人不在本社区。"))
    existing = db.session.scalar(select(RouteStop).where(RouteStop.recipient_id == recipient.id))
    if existing is not None:
        raise MealError(_("这位老人已经在一条送餐线路上。"))
    last = db.session.scalar(select(func.max(RouteStop.position)).where(RouteStop.route_id == route.id)) or 0
    stop = RouteStop(route_id=route.id, recipient_id=recipient.id, position=last + 1)
    try:
        with db.session.begin_nested():
            db.session.add(stop)
    except IntegrityError:  # added to a route by another request meanwhile
        raise MealError(_("这位老人已经在一条送餐线路上。")) from None
    return stop


def move_stop(route, stop_id, offset):
    """Move a stop up (-1) or down (+1) in the saved order."""
    stops = list(route.stops)
    index = next((i for i, s in enumerate(stops) if s.id == stop_id), None)
    if index is None:
        raise MealError(_("没有这个站点。"))
    target = index + offset
    if 0 <= target < len(stops):
        stops[index], stops[target] = stops[target], stops[index]
        for position, stop in enumerate(stops, start=1):
            stop.position = position
    db.session.flush()


def remove_stop(route, stop_id):
    stop = next((s for s in route.stops if s.id == stop_id), None)
    if stop is None:
        raise MealError(_("没有这个站点。"))
    route.stops.remove(stop)
    db.session.flush()


# ---- the day's sheets ----------------------------------------------------------------

def sheets(route_ids, day):
    """{route_id: [Stop…]} for `day`: active recipients served that weekday and not paused, in
    the saved order, each with the day's delivery records. Three queries of plain columns,
    whatever the number of routes (a district's kitchen prints them all at once)."""
    if not route_ids:
        return {}
    on_routes = RouteStop.route_id.in_(list(route_ids))
    rows = db.session.execute(
        select(RouteStop.id, RouteStop.route_id, RouteStop.position, MealRecipient.id, MealRecipient.meal_kind,
               MealRecipient.diets, MealRecipient.avoid, MealRecipient.notes, MealRecipient.dine_in, Resident.id,
               Resident.name, Household.id, Household.unit, Household.room, Household.emergency_contacts,
               Building.name, Building.address)
        .join(MealRecipient, MealRecipient.id == RouteStop.recipient_id)
        .join(Resident, Resident.id == MealRecipient.resident_id)
        .join(Household, Household.id == MealRecipient.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(on_routes, MealRecipient.active.is_(True), MealRecipient.days.op("&")(1 << day.weekday()) != 0)
        .order_by(RouteStop.route_id, RouteStop.position)).all()
    paused = set(db.session.scalars(
        select(MealPause.recipient_id).join(RouteStop, RouteStop.recipient_id == MealPause.recipient_id)
        .where(on_routes, MealPause.start_date <= day, MealPause.end_date >= day)))
    delivered = {}
    for d in db.session.scalars(select(Delivery).join(RouteStop, RouteStop.recipient_id == Delivery.recipient_id)
                                .where(on_routes, Delivery.day == day).order_by(Delivery.occurred_at, Delivery.id)):
        delivered.setdefault(d.recipient_id, []).append(d)
    out = {rid: [] for rid in route_ids}
    for (stop_id, route_id, position, rec_id, kind, diets, avoid, notes, dine_in, res_id, name, hh_id, unit, room,
         contacts, b_name, address) in rows:
        if rec_id in paused:
            continue
        phone = next((c.get("phone") for c in contacts or [] if isinstance(c, dict) and c.get("phone")), None)
        label = f"{b_name}{unit + '单元' if unit else ''}{room}"
        out[route_id].append(Stop(
            SimpleNamespace(id=stop_id, route_id=route_id, position=position),
            SimpleNamespace(id=rec_id, meal_kind=kind, diets=diets or [], avoid=avoid, notes=notes, dine_in=dine_in),
            SimpleNamespace(id=res_id, name=name), SimpleNamespace(id=hh_id, label=label),
            SimpleNamespace(name=b_name, address=address), phone, delivered.get(rec_id, [])))
    return out


def diet_totals(stops):
    """Meals per diet for the kitchen: {"total": n, "regular": n, "soft": n, …}."""
    totals = Counter()
    for s in stops:
        meals = 2 if s.recipient.meal_kind == "both" else 1
        totals["total"] += meals
        for diet in s.recipient.diets or ["regular"]:
            totals[diet] += meals
    return dict(totals)


def progress(stops):
    done = sum(1 for s in stops if s.records)
    return done, len(stops)


def latest_outcome(stop):
    return stop.records[-1].outcome if stop.records else None


def on_route_for(user, recipient_ids):
    """{recipient_id: route_id} for the recipients on routes the user may deliver for."""
    ids = [i for i in recipient_ids if isinstance(i, int) and not isinstance(i, bool)]
    if not ids:
        return {}
    allowed = routes(user).with_only_columns(MealRoute.id).scalar_subquery()
    return dict(db.session.execute(select(RouteStop.recipient_id, RouteStop.route_id).where(
        RouteStop.recipient_id.in_(ids), RouteStop.route_id.in_(allowed))).all())


# ---- record kinds --------------------------------------------------------------------

def _day(value, community):
    if not isinstance(value, str):
        raise records.Rejected("invalid", _("日期格式不正确。"))
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise records.Rejected("invalid", _("日期格式不正确。")) from None
    if day > local_today(community):
        raise records.Rejected("invalid", _("不能记录未来日期的送餐。"))
    if day < local_today(community) - timedelta(days=31):
        raise records.Rejected("invalid", _("日期太早，请联系社区工作人员补录。"))
    return day


def _note(payload, limit):
    value = payload.get("note") or ""
    if not isinstance(value, str) or len(value) > limit:
        raise records.Rejected("invalid", _("备注格式不正确或太长。"))
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise records.Rejected("invalid", _("备注含有无法保存的字符。"))
    return value.strip()


class DeliveryKind(records.RecordKind):
    """One stop's outcome (送餐记录)."""
    name = "delivery"
    model = Delivery
    label = _l("送餐记录")
    priority = 20
    roles = (access.DELIVER_MEALS,)
    refers_to = ("recipient_id", lambda user, ids: set(on_route_for(user, ids)))  # on the user's routes
    example = {"uuid": "0b8e2a52-6c1d-4f7e-9a3b-2d5c8e1f4a60", "kind": "delivery",
               "recorded_at": "2026-11-23T03:40:00Z",
               "payload": {"recipient_id": 7, "day": "2026-11-23", "outcome": "delivered",
                           "occurred_at": "2026-11-23T11:40", "note": ""}}

    def prepare(self, user, payloads):
        ids = [records.as_int(p.get("recipient_id")) for p in payloads]
        on_route = on_route_for(user, ids)
        earlier = {}
        if on_route:
            for rid, day, outcome in db.session.execute(select(
                    Delivery.recipient_id, Delivery.day, Delivery.outcome).where(
                    Delivery.recipient_id.in_(list(on_route)))):
                earlier.setdefault((rid, day), set()).add(outcome)
        pauses, inactive = {}, set()
        if on_route:
            for rid, start, end in db.session.execute(select(MealPause.recipient_id, MealPause.start_date,
                                                             MealPause.end_date)
                                                      .where(MealPause.recipient_id.in_(list(on_route)))):
                pauses.setdefault(rid, []).append((start, end))
            inactive = set(db.session.scalars(select(MealRecipient.id).where(
                MealRecipient.id.in_(list(on_route)), MealRecipient.active.is_(False))))
        return {"on_route": on_route, "earlier": earlier, "visible": set(on_route), "pauses": pauses,
                "inactive": inactive}

    def validate(self, user, payload, ctx):
        recipient_id = records.as_int(payload.get("recipient_id"))
        if recipient_id is None:
            raise records.Rejected("invalid", _("缺少送餐对象。"))
        if recipient_id not in ctx["on_route"]:
            raise records.Rejected("out_of_scope", _("这位老人不在您的送餐线路上，记录未被接受。"))
        day = _day(payload.get("day"), user.community)
        outcome = payload.get("outcome")
        if outcome not in OUTCOMES:
            raise records.Rejected("invalid", _("请选择送餐结果。"))
        occurred_at = records.parse_time(payload.get("occurred_at"), _("送餐时间"), user.community)
        if localtime.to_local(occurred_at, user.community).date() != day:
            raise records.Rejected("invalid", _("送餐时间不在所记录的日期内。"))
        if recipient_id in ctx["inactive"] or any(start <= day <= end for start, end in ctx["pauses"].get(recipient_id, ())):
            # an elder in hospital is not missing: no record, so no no-answer alarm about them
            raise records.Rejected("invalid", _("这位老人这天暂停送餐（或已停止送餐），记录未被接受。"))
        before = ctx["earlier"].get((recipient_id, day), set())
        flagged = bool(before - {outcome})
        ctx["earlier"].setdefault((recipient_id, day), set()).add(outcome)
        return {"recipient_id": recipient_id, "route_id": ctx["on_route"][recipient_id], "day": day,
                "outcome": outcome, "occurred_at": occurred_at, "note": _note(payload, 500), "flagged": flagged}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)


class DeliveryStepKind(records.RecordKind):
    """A step of the no-answer checklist (无人应答处置)."""
    name = "delivery_step"
    model = DeliveryStep
    label = _l("无人应答处置步骤")
    priority = 19
    roles = (access.DELIVER_MEALS,)
    refers_to = ("delivery_uuid", lambda user, uuids: set())  # a delivery on the user's routes: see prepare
    example = {"uuid": "5d1f0c7a-8e2b-4b3c-9d4e-6f7a8b9c0d1e", "kind": "delivery_step",
               "recorded_at": "2026-11-23T03:45:00Z",
               "payload": {"delivery_uuid": "0b8e2a52-6c1d-4f7e-9a3b-2d5c8e1f4a60", "recipient_id": 7,
                           "step": "call_elder",
                           "result": "no_answer", "occurred_at": "2026-11-23T11:45", "note": ""}}

    def prepare(self, user, payloads):
        uuids = {records._uuid(p.get("delivery_uuid")) for p in payloads} - {None}
        found = {}
        if uuids:
            for d_uuid, rid in db.session.execute(select(Delivery.uuid, Delivery.recipient_id)
                                                  .where(Delivery.uuid.in_(uuids))):
                found[d_uuid] = rid
        stops = [records.as_int(p.get("recipient_id")) for p in payloads]
        on_route = on_route_for(user, list(found.values()) + stops)
        mine = {u for u, rid in found.items() if rid in on_route}
        return {"deliveries": mine, "visible": mine | (uuids - set(found)), "found": set(found),
                "on_route": on_route}

    def validate(self, user, payload, ctx):
        d_uuid = records._uuid(payload.get("delivery_uuid"))
        if d_uuid is None:
            raise records.Rejected("invalid", _("缺少对应的送餐记录。"))
        if d_uuid in ctx["found"] and d_uuid not in ctx["deliveries"]:
            raise records.Rejected("out_of_scope", _("这位老人不在您的送餐线路上，记录未被接受。"))
        if payload.get("step") not in STEPS:
            raise records.Rejected("invalid", _("未知的处置步骤。"))
        if payload.get("result") not in STEP_RESULTS:
            raise records.Rejected("invalid", _("请选择这一步的结果。"))
        recipient_id = records.as_int(payload.get("recipient_id"))
        if recipient_id is None and payload.get("recipient_id") not in (None, ""):
            raise records.Rejected("invalid", _("送餐对象编号无效。"))
        occurred_at = records.parse_time(payload.get("occurred_at"), _("时间"), user.community)
        if d_uuid not in ctx["deliveries"] and occurred_at > utcnow() - STEP_WAIT:
            # the delivery may still wait in the same outbox: the phone sends it first (priority)
            raise records.Rejected("retry", _("对应的送餐记录还没有到达服务器，稍后会自动重试。"))
        # past STEP_WAIT without its delivery: kept all the same (see waited_out), never asked for again
        return {"delivery_uuid": d_uuid, "step": payload["step"], "result": payload["result"],
                "occurred_at": occurred_at, "note": _note(payload, 300),
                "recipient_id": recipient_id if recipient_id in ctx["on_route"] else None}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)

    def after_store(self, user, stored):
        for _uuid, clean in stored:
            if clean["result"] == "reached_problem":
                escalate_delivery(clean["delivery_uuid"], _("送餐时联系上老人，老人需要帮助"))
        waited_out(user, stored)


class RouteClosureKind(records.RecordKind):
    """The volunteer closes the day's route (收车): stops without a record are then flagged."""
    name = "route_closure"
    model = RouteClosure
    label = _l("送餐收车")
    priority = 18
    roles = (access.DELIVER_MEALS,)
    refers_to = ("route_id", lambda user, ids: set(db.session.scalars(
        routes(user).with_only_columns(MealRoute.id))) & set(ids))
    example = {"uuid": "7c2e4f1a-3b5d-4e6f-8a9b-0c1d2e3f4a5b", "kind": "route_closure",
               "recorded_at": "2026-11-23T05:00:00Z", "payload": {"route_id": 3, "day": "2026-11-23"}}

    def prepare(self, user, payloads):
        mine = set(db.session.scalars(routes(user).with_only_columns(MealRoute.id)))
        return {"routes": mine, "visible": mine}

    def validate(self, user, payload, ctx):
        route_id = records.as_int(payload.get("route_id"))
        if route_id is None or route_id not in ctx["routes"]:
            raise records.Rejected("out_of_scope", _("这不是您的送餐线路。"))
        day = _day(payload.get("day"), user.community)
        if day < local_today(user.community) - timedelta(days=1):
            raise records.Rejected("invalid", _("只能为今天或昨天的线路收车。"))
        return {"route_id": route_id, "day": day}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)


# ---- the no-answer protocol ----------------------------------------------------------

def _raise_for(household_id, note):
    from . import alerts
    return alerts.raise_alert("meal", db.session.get(Household, household_id), severity="high", note=note)


def escalate_delivery(delivery_uuid, note):
    """Hand one delivery to the alert ladder, once: the claim and the alert commit together."""
    delivery = db.session.scalar(select(Delivery).where(Delivery.uuid == delivery_uuid))
    if delivery is None:
        return None
    claimed = db.session.execute(update(Delivery).where(Delivery.id == delivery.id,
                                                        Delivery.escalated_at.is_(None))
                                 .values(escalated_at=utcnow()).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return None
    recipient = db.session.get(MealRecipient, delivery.recipient_id)
    alert = _raise_for(recipient.household_id, note)  # commits the claim with the alert
    db.session.execute(update(Delivery).where(Delivery.id == delivery.id).values(alert_id=alert.id))
    db.session.commit()
    return alert


STEP_WAIT = timedelta(hours=2)  # how long a checklist step waits for its no-answer to arrive


def waited_out(user, stored):
    """Checklist steps stored without their no-answer, which never reached the server (deleted on
    the phone, refused, sent from a phone that is gone): the no-answer sweep never saw that elder, so
    unless a step reached them, an urgent alert to the household's grid worker (the stop is known when
    the phone sent it, as the route page's forms do), else a notice to the community's admins. Once per
    lost delivery: the batch holding its first stored step raises. The staff see these steps on the
    routes page (unmatched_steps)."""
    groups = {}
    for step_uuid, clean in stored:
        groups.setdefault(clean["delivery_uuid"], []).append((step_uuid, clean))
    for d_uuid, group in groups.items():
        if db.session.scalar(select(Delivery.id).where(Delivery.uuid == d_uuid)) is not None:
            continue
        steps = db.session.execute(select(DeliveryStep.id, DeliveryStep.uuid, DeliveryStep.result)
                                   .where(DeliveryStep.delivery_uuid == d_uuid)).all()
        mine = {u for u, _clean in group}
        if min(steps)[1] not in mine or any(result == "reached_ok" for _id, _u, result in steps):
            continue  # raised with an earlier batch, or the elder was reached
        if any(result == "reached_problem" for _id, _u, result in steps):
            note = _("送餐时联系上老人，老人需要帮助（对应的送餐记录没有到达服务器，送餐人：%(name)s）", name=user.name)
        else:
            note = _("送餐无人应答，对应的送餐记录始终没有到达服务器，老人尚未确认平安（送餐人：%(name)s）", name=user.name)
        recipient_id = next((c["recipient_id"] for _u, c in group if c["recipient_id"]), None)
        if recipient_id is not None:
            _raise_for(db.session.get(MealRecipient, recipient_id).household_id, note)
        else:
            from . import push
            admins = list(db.session.scalars(select(User.id).where(
                User.community_id == user.community_id, User.role == "admin", User.active.is_(True))))
            push.add_notices(admins, _("送餐处置记录无法对应送餐记录"), note, "/meals/routes")
            db.session.commit()
            push.send_later(admins, _("送餐处置记录无法对应送餐记录"), note, "/meals/routes")


def unmatched_steps(user, days=7):
    """The community's checklist steps of the last days whose no-answer never arrived, newest first:
    (step, the volunteer's name, the elder's name or None)."""
    since = utcnow() - timedelta(days=days)
    return db.session.execute(
        select(DeliveryStep, User.name, Resident.name).join(User, User.id == DeliveryStep.author_id)
        .outerjoin(MealRecipient, MealRecipient.id == DeliveryStep.recipient_id)
        .outerjoin(Resident, Resident.id == MealRecipient.resident_id)
        .where(User.community_id == user.community_id, DeliveryStep.occurred_at >= since,
               ~select(Delivery.id).where(Delivery.uuid == DeliveryStep.delivery_uuid).exists())
        .order_by(DeliveryStep.occurred_at.desc(), DeliveryStep.id.desc())).all()


def _resolved(delivery):
    """A no-answer is resolved when a later record that day saw the elder, or a checklist step
    reached them."""
    later = db.session.scalar(select(func.count(Delivery.id)).where(
        Delivery.recipient_id == delivery.recipient_id, Delivery.day == delivery.day,
        Delivery.outcome != "no_answer", Delivery.occurred_at >= delivery.occurred_at))
    reached = db.session.scalar(select(func.count(DeliveryStep.id)).where(
        DeliveryStep.delivery_uuid == delivery.uuid, DeliveryStep.result == "reached_ok"))
    return bool(later or reached)


def sweep_no_answers(now=None):
    """Urgent alerts for no-answers still unresolved after the community's delay. Durable:
    each hand-over commits on its own (see escalate_delivery)."""
    from ..models import Community
    now = now or utcnow()
    pending = db.session.execute(
        select(Delivery, MealRecipient.community_id)
        .join(MealRecipient, MealRecipient.id == Delivery.recipient_id)
        .where(Delivery.outcome == "no_answer", Delivery.escalated_at.is_(None),
               Delivery.occurred_at >= now - timedelta(days=2))).all()
    raised = 0
    delays = {}
    for delivery, community_id in pending:
        if community_id not in delays:
            delays[community_id] = db.session.get(Community, community_id).setting("meal_no_answer_minutes", 30)
        if delivery.occurred_at + timedelta(minutes=delays[community_id]) > now or _resolved(delivery):
            continue
        if escalate_delivery(delivery.uuid, _("送餐无人应答，%(n)s分钟内未能确认老人平安", n=delays[community_id])):
            raised += 1
    db.session.rollback()
    return raised


def sweep_closed_routes(now=None):
    """Stops still without a record when their route was closed: flagged like a missed delivery."""
    raised = 0
    for closure in db.session.scalars(select(RouteClosure).where(RouteClosure.swept_at.is_(None))
                                      .order_by(RouteClosure.id)).all():
        claimed = db.session.execute(update(RouteClosure).where(RouteClosure.id == closure.id,
                                                                RouteClosure.swept_at.is_(None))
                                     .values(swept_at=utcnow()).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        done_before = db.session.scalar(select(func.count(RouteClosure.id)).where(
            RouteClosure.route_id == closure.route_id, RouteClosure.day == closure.day,
            RouteClosure.id != closure.id, RouteClosure.swept_at.is_not(None)))
        if done_before:  # the same route and day closed again (a double tap): flagged once
            db.session.commit()
            continue
        missing = [s for s in sheets([closure.route_id], closure.day)[closure.route_id] if not s.records]
        for stop in missing:
            note = _("%(day)s 线路收车时仍无送餐记录（%(name)s）", day=closure.day.isoformat(), name=stop.resident.name) \
                if not stop.recipient.dine_in else \
                _("%(day)s 堂食老人未到（%(name)s）", day=closure.day.isoformat(), name=stop.resident.name)
            _raise_for(stop.household.id, note)  # commits the claim with the first alert
            raised += 1
        db.session.commit()
    return raised


def confirmed_ok(household_ids):
    """A select of (household_id, latest time a meal was handed over or eaten at the canteen), for
    checkins.last_confirmed_ok to join with the other sources in one statement."""
    from .records import one_of
    return (select(MealRecipient.household_id, func.max(Delivery.occurred_at))
            .join(Delivery, Delivery.recipient_id == MealRecipient.id)
            .where(one_of(MealRecipient.household_id, household_ids), Delivery.outcome.in_(CONFIRMS_OK))
            .group_by(MealRecipient.household_id))


def last_confirmed_ok(household_ids):
    """{household_id: latest time a meal was handed over or eaten at the canteen}."""
    if not household_ids:
        return {}
    return dict(db.session.execute(confirmed_ok(list(household_ids))).all())


# ---- reports ---------------------------------------------------------------------------

def month_bounds(month):
    start = date(month.year, month.month, 1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def report(user, month):
    """Per day, per recipient and per volunteer: deliveries, missed and refused."""
    start, end = month_bounds(month)
    rows = db.session.execute(
        select(Delivery.day, Delivery.outcome, Delivery.author_id, Delivery.recipient_id)
        .join(MealRecipient, MealRecipient.id == Delivery.recipient_id)
        .where(MealRecipient.community_id == user.community_id, Delivery.day >= start, Delivery.day < end)).all()
    by_day, by_volunteer, by_recipient = {}, {}, {}
    for day, outcome, author, recipient in rows:
        for table, key in ((by_day, day), (by_volunteer, author), (by_recipient, recipient)):
            table.setdefault(key, Counter())[outcome] += 1
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(list(by_volunteer) or [-1]))).all())
    people = dict(db.session.execute(select(MealRecipient.id, Resident.name).join(Resident)
                                     .where(MealRecipient.id.in_(list(by_recipient) or [-1]))).all())
    escalations = db.session.scalar(
        select(func.count(Delivery.id)).join(MealRecipient, MealRecipient.id == Delivery.recipient_id)
        .where(MealRecipient.community_id == user.community_id, Delivery.day >= start, Delivery.day < end,
               Delivery.escalated_at.is_not(None)))
    return {"by_day": sorted(by_day.items()), "by_volunteer": sorted(
        ((names.get(k, k), v) for k, v in by_volunteer.items()), key=lambda x: str(x[0])),
        "by_recipient": sorted(((people.get(k, k), v) for k, v in by_recipient.items()), key=lambda x: str(x[0])),
        "escalations": escalations}


def monthly_sheet_rows(user, month):
    """The provincial standard's record: who delivered, to whom, the date and the time."""
    start, end = month_bounds(month)
    community = user.community
    q = (select(Delivery, Resident.name, User.name, MealRoute.name)
         .join(MealRecipient, MealRecipient.id == Delivery.recipient_id)
         .join(Resident, Resident.id == MealRecipient.resident_id)
         .join(User, User.id == Delivery.author_id)
         .outerjoin(MealRoute, MealRoute.id == Delivery.route_id)
         .where(MealRecipient.community_id == user.community_id, Delivery.day >= start, Delivery.day < end)
         .order_by(Resident.name, Delivery.day, Delivery.occurred_at))
    yield [_("老人"), _("日期"), _("时间"), _("结果"), _("送餐人"), _("线路"), _("备注"), _("存疑")]
    for d, elder, volunteer, route in db.session.execute(q):
        local = localtime.to_local(d.occurred_at, community)
        yield [elder, d.day.isoformat(), local.strftime("%H:%M"), str(OUTCOME_LABELS[d.outcome]), volunteer,
               route or "", d.note, _("是") if d.flagged else ""]


def parse_month(value, community=None):
    try:
        month = datetime.strptime(value or "", "%Y-%m").date()
        if not 2000 <= month.year <= 2999:
            raise ValueError(value)
        return month
    except ValueError:
        today = local_today(community)
        return date(today.year, today.month, 1)


def search_residents(user, q, limit=20):
    """Residents of the community to enrol, by name (a picker, never an internal number)."""
    q = (q or "").strip()
    if not q:
        return []
    return db.session.scalars(scope.residents(user).where(or_(Resident.name.contains(q)))
                              .order_by(Resident.name).limit(limit)).all()


def seed_demo(community, volunteer, grid, today, count=12):
    """The demo's meal programme: the oldest residents of one grid on one route, every day."""
    from ..models import Grid
    grid_ids = [grid.id] + list(db.session.scalars(select(Grid.id).where(Grid.parent_id == grid.id)))
    elders = db.session.execute(
        select(Resident, scope.Residency.household_id)
        .join(scope.Residency, (scope.Residency.resident_id == Resident.id) & scope.Residency.end_date.is_(None))
        .join(Household, Household.id == scope.Residency.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Building.grid_id.in_(grid_ids), Resident.birth_date.is_not(None))
        .order_by(Resident.birth_date, Resident.id).limit(count)).all()
    route = MealRoute(community_id=community.id, name=f"{community.name[:2]}1号线", volunteers=[volunteer])
    db.session.add(route)
    db.session.flush()
    variety = (["soft"], [], ["low_salt"], ["low_sugar", "low_salt"], ["minced"], [], ["halal"], [])
    for position, (resident, household_id) in enumerate(elders, start=1):
        recipient = MealRecipient(community_id=community.id, resident_id=resident.id, household_id=household_id,
                                  days=0b1111111, meal_kind="lunch", diets=variety[position % len(variety)],
                                  notes="耳背，请用力敲门" if position % 5 == 0 else "")
        db.session.add(recipient)
        db.session.flush()
        db.session.add(RouteStop(route_id=route.id, recipient_id=recipient.id, position=position))
    db.session.flush()
    return route
