"""Door-to-door visits (入户走访): the record kind, who is due today, and a household's history."""
from collections import namedtuple
import re
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from .. import access
from ..extensions import db
from ..models import CHECKS, NEEDS, VISIT_MODES, Building, Household, Residency, Resident, User, Visit
from . import audit, records, registry, scope, text
from .. import localtime

MODE_LABELS = {"door": _l("上门"), "phone": _l("电话"), "video": _l("视频"), "proxy": _l("他人代访")}
CHECK_LABELS = {"health": _l("健康与行动"), "mental": _l("精神状态"), "safety": _l("居家安全（燃气、电、水）"),
                "hygiene": _l("卫生"), "living": _l("生活状况与邻里关系")}
NEED_LABELS = {"meals": _l("助餐"), "repairs": _l("维修"), "medical": _l("就医"), "benefits": _l("救助申请")}
# last_ok: when someone last confirmed the household OK (check-in, visit, meal, resolved alert)
Due = namedtuple("Due", "household due overdue interval last_day last_ok", defaults=(None,))
MAX_NOTE = 2000


def form_payload(form):
    """A visit form (online post) as the same flat payload the phone sends."""
    return records.KINDS["visit"].form_payload(form)





def _text(payload, key, limit=MAX_NOTE):
    value = payload.get(key) or ""
    if not isinstance(value, str):
        raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field=key))
    if len(value) > limit:
        raise records.Rejected("invalid", _("内容太长：%(field)s", field=key))
    if text.has_control(value, multiline=True):  # a NUL or vertical tab would break the exports
        raise records.Rejected("invalid", _("%(field)s不能包含控制字符。", field=key))
    return value.strip()


def _list(payload, key):
    value = payload.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > 50:
        raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field=key))
    return value


class VisitKind(records.RecordKind):
    name = "visit"
    model = Visit
    label = _l("入户走访")
    priority = 10
    roles = (access.RECORD_VISITS,)  # not residents or volunteers
    multi = ("residents_seen", "needs")
    refers_to = ("household_id", "household")  # in the user's scope
    example = {
        "uuid": "4f0c1a3e-2d9b-4c7e-9a51-0b6f3d2e8c11", "kind": "visit", "recorded_at": "2026-11-22T02:15:00Z",
        "payload": {"household_id": 12, "mode": "door", "occurred_at": "2026-11-22T10:05",
                    "residents_seen": [31], "health": "ok", "health_note": "", "mental": "ok",
                    "safety": "concern", "safety_note": "燃气软管老化", "hygiene": "ok", "living": "ok",
                    "needs": ["repairs"], "follow_up_due": "2026-11-29", "urgent": "", "note": "已联系物业",
                    "amends": ""},
    }

    def prepare(self, user, payloads):
        ctx = super().prepare(user, payloads)
        visible = ctx["visible"]
        residents = {}
        if visible and any(p.get("residents_seen") for p in payloads):
            for rid, hid in db.session.execute(
                    select(registry.Residency.resident_id, registry.Residency.household_id)
                    .where(registry.Residency.household_id.in_(visible), registry.Residency.end_date.is_(None))):
                residents.setdefault(hid, set()).add(rid)
        return dict(ctx, residents=residents)

    def validate(self, user, payload, ctx):
        household_id = self.household_in_scope(payload, ctx)
        mode = payload.get("mode")
        if mode not in VISIT_MODES:
            raise records.Rejected("invalid", _("请选择走访方式。"))
        occurred_at = records.parse_time(payload.get("occurred_at"), _("走访时间"), user.community)
        seen = []
        for value in _list(payload, "residents_seen"):
            rid = records.as_int(value)
            if rid is None or rid not in ctx["residents"].get(household_id, set()):
                raise records.Rejected("invalid", _("见到的居民不属于这户。"))
            seen.append(rid)
        checks = {}
        for key in CHECKS:
            state = payload.get(key) or "ok"
            if state not in ("ok", "concern"):
                raise records.Rejected("invalid", _("检查项只能是正常或有问题。"))
            note = _text(payload, f"{key}_note", 500)
            checks[key] = {"ok": state == "ok", "note": note}
        needs = _list(payload, "needs")
        if any(n not in NEEDS for n in needs):
            raise records.Rejected("invalid", _("未知的需求类型。"))
        due = None
        if payload.get("follow_up_due"):
            raw = payload["follow_up_due"]
            due = registry.parse_date(raw) if isinstance(raw, str) else None
            if due is None:
                raise records.Rejected("invalid", _("跟进日期无法识别。"))
        amends = payload.get("amends") or None
        if amends is not None and records._uuid(amends) is None:
            raise records.Rejected("invalid", _("更正的记录编号无效。"))
        urgent = payload.get("urgent") in (True, "1", "on", "true")
        return {"household_id": household_id, "mode": mode, "occurred_at": occurred_at,
                "residents_seen": seen, "checks": checks, "needs": sorted(set(needs)),
                "note": _text(payload, "note"), "follow_up_due": due, "urgent": urgent,
                "amends": records._uuid(amends) if amends else None}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)

    def after_store(self, user, stored):
        from . import alerts
        alerts.from_urgent_visits(user, stored)


# ---- reading ---------------------------------------------------------------

def for_household(household):
    """The household's visits, newest first, each with the records that amend it.

    Built from the whole set, so the order in which records arrived never matters."""
    visits = db.session.scalars(
        select(Visit).where(Visit.household_id == household.id).options(joinedload(Visit.author))
        .order_by(Visit.occurred_at.desc(), Visit.recorded_at.desc(), Visit.uuid)).all()
    amended_by = {}
    for v in visits:
        if v.amends:
            amended_by.setdefault(v.amends, []).append(v)
    for v in visits:
        v.amendments = sorted(amended_by.get(v.uuid, []), key=lambda a: (a.recorded_at, a.uuid))
    return visits


def opened(user, household_id, visit_uuid):
    """A page that shows a visit's notes (health notes among them) was opened: audited."""
    audit.record(user, "view_visits", "household", household_id, visit_uuid)


def get_visit(user, visit_uuid):
    visit = db.session.scalar(select(Visit).where(Visit.uuid == visit_uuid))
    if visit is None or not scope.can_see_household(user, visit.household_id):
        return None
    return visit


def _utc_start(day, community):
    """The UTC moment the community's local day begins."""
    return localtime.to_utc(datetime.combine(day, time()), community)


def _due_from(last_day, follow_due, interval):
    """The day a household is due, from its last visit and that visit's follow-up date; None if never."""
    due = None
    if interval:
        due = last_day + timedelta(days=interval) if last_day else date.min
    if follow_due and (due is None or follow_due < due):
        due = follow_due
    return due


def _day_plan(user, today):
    """Everything the day and the week need, in a constant number of aggregate queries and without
    loading a household: (interval by household id for every household in scope, {cutoff: last
    visit day before it, follow-up of that visit}, households visited since the week began and
    since today began)."""
    community = user.community
    in_scope = scope.households(user).with_only_columns(Household.id)  # built once: scope costs a query
    cats = {c.code: c for c in registry.categories(user.community_id)}
    # in the order the registry lists them, which breaks ties in the day's order as before
    interval = dict.fromkeys(db.session.scalars(
        in_scope.order_by(Building.name, Household.unit, Household.room, Household.id)), None)
    interval.update(registry.visit_intervals(in_scope, cats, community.setting("high_risk_days", 7),
                                            localtime.today(community)))
    week_start = today - timedelta(days=today.weekday())
    before = {}
    visited_week, visited_today = set(), set()
    before = {today: {}, week_start: {}}
    if interval:
        mine = Visit.household_id.in_(in_scope)
        follow_rows = db.session.execute(
            select(Visit.household_id, Visit.follow_up_due, Visit.occurred_at)
            .where(mine, Visit.follow_up_due.is_not(None))).all()
        starts = {cutoff: _utc_start(cutoff, community) for cutoff in (today, week_start)}
        when = Visit.occurred_at
        # per household, one row: the last visit before today, before the week, and the last of all
        last = {cutoff: {} for cutoff in starts}
        for hid, before_today, before_week, latest in db.session.execute(
                select(Visit.household_id, func.max(case((when < starts[today], when))),
                       func.max(case((when < starts[week_start], when))), func.max(when))
                .where(mine).group_by(Visit.household_id)):
            for cutoff, at in ((today, before_today), (week_start, before_week)):
                if at is not None:
                    last[cutoff][hid] = at
            if latest >= starts[week_start]:
                visited_week.add(hid)
                if latest >= starts[today]:
                    visited_today.add(hid)
        zone = localtime.zone(community)
        for cutoff in starts:
            # a follow-up date set by the latest visit also makes the household due
            follow = {hid: due for hid, due, at in follow_rows if at == last[cutoff].get(hid)}
            before[cutoff] = {hid: (_local_day(at, zone), follow.get(hid)) for hid, at in last[cutoff].items()}
            for hid, due in follow.items():
                before[cutoff].setdefault(hid, (None, due))
    return interval, before, week_start, visited_week, visited_today


def _local_day(when, zone):
    """localtime.to_local(when).date() with the zone looked up once (a grid has hundreds)."""
    return when.replace(tzinfo=timezone.utc).astimezone(zone).date()


def _households(ids):
    """The households of `ids` with what a list row shows (building, current residents' names):
    three statements, however many; no categories."""
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Household).where(records.one_of(Household.id, ids))
        .options(joinedload(Household.building),
                 selectinload(Household.residencies).joinedload(Residency.resident).lazyload(Resident.categories)))
    return {h.id: h for h in rows}


def _silence_key(high_risk):
    def key(entry):
        # high-risk elders first; among them, and then among the others, the longest silent first
        # (never confirmed OK first, then the oldest "last confirmed OK"); the shorter interval first
        risky = entry.interval is not None and entry.interval <= high_risk
        return (not risky, entry.last_ok or datetime.min, entry.interval or 10 ** 6,
                registry.natural_key(entry.household.label))
    return key


def today_list(user, today=None, keep=None):
    """Households due or overdue for a visit and not yet visited today: the elders silent
    longest first (never visited, then the oldest last visit), with days overdue
    (None for a household never visited).

    keep(interval, overdue) → bool narrows the list before any household is loaded (the overdue list)."""
    return today_walk(user, today=today, keep=keep).due


def today_walk(user, building_id=None, today=None, keep=None):
    """The day shaped like a walk: due households grouped by building, unit and floor in
    natural order (101 before 1001), those visited today apart, and the progress of the day
    and of the week (Monday to Sunday) over all the user's households.

    building_id narrows the lists, never the progress. Who is due is worked out from aggregates;
    only the households listed are loaded."""
    today = today or localtime.today(user.community)
    interval, before, week_start, visited_week, visited_today = _day_plan(user, today)
    week_end = week_start + timedelta(days=6)
    due, done, today_ids, week_ids = [], [], set(), set()
    week_open = set()
    for hid, days in interval.items():
        last_day, follow = before[today].get(hid, (None, None))
        due_day = _due_from(last_day, follow, days)
        if due_day is not None and due_day <= today:
            today_ids.add(hid)
            overdue = None if due_day == date.min else (today - due_day).days
            if keep is None or keep(days, overdue):
                entry = Due(hid, due_day, overdue, days, last_day)
                (done if hid in visited_today else due).append(entry)
        week_last, week_follow = before[week_start].get(hid, (None, None))
        week_due = _due_from(week_last, week_follow, days)
        if hid in today_ids or (week_due is not None and week_due <= week_end):
            week_ids.add(hid)
            if hid not in visited_week:
                week_open.add(hid)
    homes = _households([e.household for e in due + done])
    due = [e._replace(household=homes[e.household]) for e in due]
    done = [e._replace(household=homes[e.household]) for e in done]
    from . import checkins
    last_ok = checkins.last_confirmed_ok([e.household.id for e in due])  # the whole list at once
    due = [e._replace(last_ok=last_ok.get(e.household.id)) for e in due]
    due.sort(key=_silence_key(user.community.setting("high_risk_days", 7)))
    progress = {"today_done": len(today_ids & visited_today), "today_total": len(today_ids),
                "week_done": len(week_ids & visited_week), "week_total": len(week_ids)}
    buildings = {}
    for column, entries in ((1, due), (2, done)):
        for e in entries:
            b = e.household.building
            buildings.setdefault(b.id, [b, 0, 0])[column] += 1
    building_options = sorted(buildings.values(), key=lambda row: registry.natural_key(row[0].name))
    if building_id is not None:
        due = [e for e in due if e.household.building_id == building_id]
        done = [e for e in done if e.household.building_id == building_id]
    return Walk(due=due, groups=walk_groups(due), done=sorted(done, key=_walk_key), progress=progress,
                buildings=building_options, building_id=building_id,
                open_today=sorted(h for h in today_ids if h not in visited_today),
                open_week=sorted(week_open), today=today, week_start=week_start)


Walk = namedtuple("Walk", "due groups done progress buildings building_id open_today open_week today week_start")

_DIGITS = re.compile(r"\d+")


def floor_of(room):
    """The floor a room is on: 101 → 1, 1001 → 10, 5 → None (no floor in the number)."""
    m = _DIGITS.search(room or "")
    return int(m.group()[:-2]) if m and len(m.group()) >= 3 else None


def _walk_key(entry):
    h = entry.household
    return (registry.natural_key(h.building.name), registry.natural_key(h.unit), floor_of(h.room) or 0,
            registry.natural_key(h.room))


def walk_groups(entries):
    """[(building, [((unit, floor), [entry...]), ...]), ...] in the order one walks them."""
    groups = []
    for entry in sorted(entries, key=_walk_key):
        h = entry.household
        if not groups or groups[-1][0].id != h.building_id:
            groups.append((h.building, []))
        stairs = groups[-1][1]
        key = (h.unit, floor_of(h.room))
        if not stairs or stairs[-1][0] != key:
            stairs.append((key, []))
        stairs[-1][1].append(entry)
    return groups


def export_rows(community_id, start=None, end=None, grid_ids=None):
    """Visits of a community as rows for a spreadsheet: human columns first, the UUID last.

    start/end: the community's local dates, both included; grid_ids: only visits to households in
    these grids."""
    community = db.session.get(registry.Community, community_id)
    q = (select(Visit, Household, Building, registry.Grid)
         .join(Household, Household.id == Visit.household_id)
         .join(Building, Building.id == Household.building_id)
         .join(registry.Grid, registry.Grid.id == Building.grid_id)
         .where(registry.Grid.community_id == community_id)
         .order_by(Visit.occurred_at))
    if start is not None:
        q = q.where(Visit.occurred_at >= localtime.to_utc(datetime.combine(start, time()), community))
    if end is not None:
        q = q.where(Visit.occurred_at < localtime.to_utc(datetime.combine(end + timedelta(days=1), time()), community))
    if grid_ids is not None:
        q = q.where(Building.grid_id.in_(grid_ids or {-1}))
    yield ["走访日期", "时间", "网格", "地址", "住户", "网格员", "走访方式", "见到的居民",
           *[str(CHECK_LABELS[c]) for c in CHECKS], "需求", "跟进日期", "紧急", "备注",
           "记录时间", "接收时间", "更正记录", "UUID"]
    names = dict(db.session.execute(select(registry.Resident.id, registry.Resident.name)
                                    .where(registry.Resident.community_id == community_id)).all())
    users = dict(db.session.execute(select(User.id, User.name).where(User.community_id == community_id)).all())
    for v, h, b, g in db.session.execute(q):
        local = localtime.to_local(v.occurred_at, community)
        yield [local.strftime("%Y-%m-%d"), local.strftime("%H:%M"), g.name, b.address or "", h.label,
               users.get(v.author_id, v.author_id), str(MODE_LABELS[v.mode]),
               "、".join(names.get(r, str(r)) for r in v.residents_seen),
               *[("正常" if v.checks[c]["ok"] else "有问题") + (f"：{v.checks[c]['note']}" if v.checks[c]["note"] else "")
                 for c in CHECKS],
               "、".join(str(NEED_LABELS[n]) for n in v.needs), v.follow_up_due.isoformat() if v.follow_up_due else "",
               "是" if v.urgent else "", v.note, _fmt(v.recorded_at, community), _fmt(v.received_at, community),
               v.amends or "", v.uuid]


def export(actor, start=None, end=None, grid=None, fmt="csv"):
    """The audited visits export of the actor's community, optionally one grid and its micro-grids."""
    grid_ids = scope._descendants(actor.community_id, [grid.id]) if grid is not None else None
    audit.record(actor, "export", "visits", None,
                 f"{fmt} {start or ''}..{end or ''} grid={grid.code if grid is not None else 'all'}")
    return export_rows(actor.community_id, start, end, grid_ids)


def form_values(visit=None, form=None, community=None):
    """What the visit form shows: a new visit, a correction of `visit`, or a refused `form` as typed.
    Times are the community's local time."""
    if form is not None:
        return {"mode": form.get("mode") or "door",
                "occurred_at": form.get("occurred_at") or local_now_input(community),
                "seen": {int(v) for v in form.getlist("residents_seen") if v.isascii() and v.isdigit()},
                "checks": {k: {"ok": form.get(k) != "concern", "note": form.get(f"{k}_note", "")} for k in CHECKS},
                "needs": form.getlist("needs"), "follow_up_due": form.get("follow_up_due", ""),
                "urgent": bool(form.get("urgent")), "note": form.get("note", "")}
    if visit is not None:
        return {"mode": visit.mode,
                "occurred_at": localtime.to_local(visit.occurred_at, community).strftime("%Y-%m-%dT%H:%M"),
                "seen": set(visit.residents_seen), "checks": visit.checks, "needs": visit.needs,
                "follow_up_due": visit.follow_up_due.isoformat() if visit.follow_up_due else "",
                "urgent": visit.urgent, "note": visit.note}
    return {"mode": "door", "occurred_at": local_now_input(community), "seen": set(),
            "checks": {k: {"ok": True, "note": ""} for k in CHECKS}, "needs": [], "follow_up_due": "",
            "urgent": False, "note": ""}


def local_now_input(community=None):
    """Now in the community's local time, as a datetime-local input wants it."""
    return localtime.now(community).strftime("%Y-%m-%dT%H:%M")


def _fmt(when, community):
    return localtime.to_local(when, community).strftime("%Y-%m-%d %H:%M") if when else ""
