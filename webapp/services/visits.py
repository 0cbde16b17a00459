"""Door-to-door visits (入户走访): the record kind, who is due today, and a household's history."""
from collections import namedtuple
from datetime import date, timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import CHECKS, NEEDS, VISIT_MODES, Building, Household, User, Visit
from . import records, registry, scope
from .clock import utcnow

MODE_LABELS = {"door": _l("上门"), "phone": _l("电话"), "video": _l("视频"), "proxy": _l("他人代访")}
CHECK_LABELS = {"health": _l("健康与行动"), "mental": _l("精神状态"), "safety": _l("居家安全（燃气、电、水）"),
                "hygiene": _l("卫生"), "living": _l("生活状况与邻里关系")}
NEED_LABELS = {"meals": _l("助餐"), "repairs": _l("维修"), "medical": _l("就医"), "benefits": _l("救助申请")}
MULTI_FIELDS = ("residents_seen", "needs")
Due = namedtuple("Due", "household due overdue interval last_day")
MAX_NOTE = 2000


def form_payload(form):
    """A visit form (online post) as the same flat payload the phone sends."""
    return {k: (form.getlist(k) if k in MULTI_FIELDS else form.get(k)) for k in form.keys() if k != "csrf_token"}


def _int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(payload, key, limit=MAX_NOTE):
    value = payload.get(key) or ""
    if not isinstance(value, str):
        raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field=key))
    if len(value) > limit:
        raise records.Rejected("invalid", _("内容太长：%(field)s", field=key))
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
    priority = 10
    example = {
        "uuid": "4f0c1a3e-2d9b-4c7e-9a51-0b6f3d2e8c11", "kind": "visit", "recorded_at": "2026-11-22T02:15:00Z",
        "payload": {"household_id": 12, "mode": "door", "occurred_at": "2026-11-22T10:05",
                    "residents_seen": [31], "health": "ok", "health_note": "", "mental": "ok",
                    "safety": "concern", "safety_note": "燃气软管老化", "hygiene": "ok", "living": "ok",
                    "needs": ["repairs"], "follow_up_due": "2026-11-29", "urgent": "", "note": "已联系物业",
                    "amends": ""},
    }

    def prepare(self, user, payloads):
        ids = [_int(p.get("household_id")) for p in payloads]
        visible = records.visible_households(user, ids)
        residents = {}
        if visible and any(p.get("residents_seen") for p in payloads):
            for rid, hid in db.session.execute(
                    select(registry.Residency.resident_id, registry.Residency.household_id)
                    .where(registry.Residency.household_id.in_(visible), registry.Residency.end_date.is_(None))):
                residents.setdefault(hid, set()).add(rid)
        return {"visible": visible, "residents": residents}

    def validate(self, user, payload, ctx):
        household_id = _int(payload.get("household_id"))
        if household_id is None:
            raise records.Rejected("invalid", _("缺少住户。"))
        if household_id not in ctx["visible"]:
            raise records.Rejected("out_of_scope", _("这户不在您负责的网格内（可能已调整），记录未被接受。"))
        mode = payload.get("mode")
        if mode not in VISIT_MODES:
            raise records.Rejected("invalid", _("请选择走访方式。"))
        occurred_at = records.parse_time(payload.get("occurred_at"), _("走访时间"))
        seen = []
        for value in _list(payload, "residents_seen"):
            rid = _int(value)
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


records.register(VisitKind())


# ---- reading ---------------------------------------------------------------

def for_household(household):
    """The household's visits, newest first, each with the records that amend it.

    Built from the whole set, so the order in which records arrived never matters."""
    visits = db.session.scalars(
        select(Visit).where(Visit.household_id == household.id)
        .order_by(Visit.occurred_at.desc(), Visit.recorded_at.desc(), Visit.uuid)).all()
    amended_by = {}
    for v in visits:
        if v.amends:
            amended_by.setdefault(v.amends, []).append(v)
    for v in visits:
        v.amendments = sorted(amended_by.get(v.uuid, []), key=lambda a: (a.recorded_at, a.uuid))
    return visits


def get_visit(user, visit_uuid):
    visit = db.session.scalar(select(Visit).where(Visit.uuid == visit_uuid))
    if visit is None or not scope.can_see_household(user, visit.household_id):
        return None
    return visit


def today_list(user, today=None):
    """Households due or overdue for a visit, overdue first with how many days.

    days_overdue is None for a household never visited."""
    today = today or (utcnow() + timedelta(hours=8)).date()
    households = registry.household_list(user)
    cats = {c.code: c for c in registry.categories(user.community_id)}
    community = db.session.get(registry.Community, user.community_id)
    high_risk = community.setting("high_risk_days", 7)
    ids = [h.id for h in households]
    last, follow = {}, {}
    if ids:
        last = dict(db.session.execute(
            select(Visit.household_id, func.max(Visit.occurred_at))
            .where(Visit.household_id.in_(ids)).group_by(Visit.household_id)).all())
        # a follow-up date set by the latest visit also makes the household due
        for hid, due, when in db.session.execute(
                select(Visit.household_id, Visit.follow_up_due, Visit.occurred_at)
                .where(Visit.household_id.in_(ids), Visit.follow_up_due.is_not(None))):
            if when == last.get(hid):
                follow[hid] = due
    entries = []
    for h in households:
        intervals = [d for d in (registry.visit_interval(r.resident, cats, high_risk)
                                 for r in h.current_residencies) if d]
        last_visit = last.get(h.id)
        last_day = (last_visit + timedelta(hours=8)).date() if last_visit else None
        due = None
        if intervals:
            due = last_day + timedelta(days=min(intervals)) if last_day else date.min
        if h.id in follow and (due is None or follow[h.id] < due):
            due = follow[h.id]
        if due is None or due > today:
            continue
        overdue = None if due == date.min else (today - due).days
        entries.append(Due(h, due, overdue, min(intervals) if intervals else None, last_day))
    # never visited first, then most overdue; the riskier (shorter interval) first among equals
    entries.sort(key=lambda e: (-(e.overdue if e.overdue is not None else 10 ** 6), e.interval or 10 ** 6,
                                e.household.building_id, e.household.unit, e.household.room))
    return entries


def export_rows(community_id):
    q = (select(Visit, Household, Building)
         .join(Household, Household.id == Visit.household_id)
         .join(Building, Building.id == Household.building_id)
         .join(registry.Grid, registry.Grid.id == Building.grid_id)
         .where(registry.Grid.community_id == community_id)
         .order_by(Visit.occurred_at))
    yield ["UUID", "住户", "走访方式", "走访时间", "记录时间", "接收时间", "网格员", "见到的居民",
           *[str(CHECK_LABELS[c]) for c in CHECKS], "需求", "跟进日期", "紧急", "备注", "更正记录"]
    names = dict(db.session.execute(select(registry.Resident.id, registry.Resident.name)
                                    .where(registry.Resident.community_id == community_id)).all())
    users = dict(db.session.execute(select(User.id, User.name).where(User.community_id == community_id)).all())
    for v, h, b in db.session.execute(q):
        yield [v.uuid, f"{b.name}{h.unit}-{h.room}", str(MODE_LABELS[v.mode]), _fmt(v.occurred_at),
               _fmt(v.recorded_at), _fmt(v.received_at), users.get(v.author_id, v.author_id),
               "、".join(names.get(r, str(r)) for r in v.residents_seen),
               *[("正常" if v.checks[c]["ok"] else "有问题") + (f"：{v.checks[c]['note']}" if v.checks[c]["note"] else "")
                 for c in CHECKS],
               "、".join(str(NEED_LABELS[n]) for n in v.needs), v.follow_up_due.isoformat() if v.follow_up_due else "",
               "是" if v.urgent else "", v.note, v.amends or ""]


def form_values(visit=None, form=None):
    """What the visit form shows: a new visit, a correction of `visit`, or a refused `form` as typed."""
    if form is not None:
        return {"mode": form.get("mode") or "door", "occurred_at": form.get("occurred_at") or local_now_input(),
                "seen": {int(v) for v in form.getlist("residents_seen") if v.isdigit()},
                "checks": {k: {"ok": form.get(k) != "concern", "note": form.get(f"{k}_note", "")} for k in CHECKS},
                "needs": form.getlist("needs"), "follow_up_due": form.get("follow_up_due", ""),
                "urgent": bool(form.get("urgent")), "note": form.get("note", "")}
    if visit is not None:
        return {"mode": visit.mode, "occurred_at": (visit.occurred_at + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"),
                "seen": set(visit.residents_seen), "checks": visit.checks, "needs": visit.needs,
                "follow_up_due": visit.follow_up_due.isoformat() if visit.follow_up_due else "",
                "urgent": visit.urgent, "note": visit.note}
    return {"mode": "door", "occurred_at": local_now_input(), "seen": set(),
            "checks": {k: {"ok": True, "note": ""} for k in CHECKS}, "needs": [], "follow_up_due": "",
            "urgent": False, "note": ""}


def local_now_input():
    """Now in Beijing time, as a datetime-local input wants it."""
    return (utcnow() + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def _fmt(when):
    return (when + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") if when else ""
