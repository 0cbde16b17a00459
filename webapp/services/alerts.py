"""Alerts (紧急求助 / 预警): raised by a worker, an urgent visit, a resident's SOS or the
system; pushed at once to the household's grid workers, escalated to the grid
leaders and then the community admins when nobody acknowledges in time.

Pending escalations live in the database (next_escalation_at), so a restart of
the web or worker process never loses one: `escalate_due` re-reads them.
"""
import uuid as uuidlib
from datetime import timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Alert, AlertEvent, Building, Grid, GridAssignment, Household, User, Visit
from . import push, records, scope
from .clock import utcnow

SOURCE_LABELS = {"worker": _l("网格员上报"), "visit": _l("走访发现紧急情况"), "sos": _l("居民一键求助"),
                 "system": _l("高风险老人走访逾期"), "meal": _l("送餐未应答")}
STATE_LABELS = {"open": _l("待响应"), "acknowledged": _l("已响应"), "resolved": _l("已处置"),
                "false_alarm": _l("误报")}
SEVERITY_LABELS = {"high": _l("紧急"), "medium": _l("关注")}
EVENT_LABELS = {"raised": _l("发起"), "notified": _l("已通知"), "escalated": _l("升级"),
                "acknowledged": _l("已响应"), "resolved": _l("已处置"), "false_alarm": _l("标记为误报")}


class AlertError(ValueError):
    pass


def ladder(community):
    return (community.setting("escalate_leader_minutes", 5), community.setting("escalate_admin_minutes", 15))


def _grid_chain(household):
    """The household's grid and every grid above it."""
    grid = db.session.get(Grid, db.session.get(Building, household.building_id).grid_id)
    chain = []
    while grid is not None:
        chain.append(grid.id)
        grid = grid.parent
    return chain


def responders(household, level):
    """Who is told at each rung: 0 the grid workers, 1 the grid leaders, 2 the community admins."""
    if level >= 2:
        community_id = household.building.grid.community_id
        return list(db.session.scalars(select(User.id).where(
            User.community_id == community_id, User.role == "admin", User.active.is_(True))))
    role = "worker" if level == 0 else "leader"
    return list(db.session.scalars(
        select(User.id).join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id.in_(_grid_chain(household)), User.role == role, User.active.is_(True))
        .distinct()))


def location_of(household):
    b = household.building
    return f"{b.address} {household.label}".strip()


def raise_alert(source, household, severity="high", raised_by=None, note="", location=None, alert_uuid=None,
                visit_uuid=None, recorded_at=None):
    """Raise one alert and start its ladder: the single call for every source."""
    now = utcnow()
    alert = Alert(uuid=alert_uuid or str(uuidlib.uuid4()), recorded_at=recorded_at or now, received_at=now,
                  household_id=household.id, author_id=raised_by.id if raised_by else None, source=source,
                  severity=severity, location=location or location_of(household), note=note or "",
                  visit_uuid=visit_uuid, level=-1, next_escalation_at=now)
    db.session.add(alert)
    db.session.flush()
    _event(alert, "raised", raised_by, str(SOURCE_LABELS[source]))
    db.session.commit()
    advance(alert.id)
    return alert


def _event(alert, kind, user=None, detail=""):
    db.session.add(AlertEvent(alert_id=alert.id, kind=kind, user_id=user.id if user else None,
                              detail=str(detail)[:500], at=utcnow()))


def advance(alert_id, now=None):
    """Climb one rung if it is due: level -1 → 0 tells the grid workers, 0 → 1 the grid leaders,
    1 → 2 the community admins.

    An alert is stored at level -1 and due at once, so the first rung is on the same
    durable path as the others: if the process dies before telling anyone, the next
    tick does it. The climb is a compare-and-set on (level, state) in the same
    transaction as the inbox notices, so each rung happens once, whichever process
    gets there first. Pushes go out after the commit."""
    now = now or utcnow()
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.state != "open" or alert.next_escalation_at is None or alert.next_escalation_at > now:
        db.session.rollback()
        return False
    leader_after, admin_after = ladder(alert.household.building.grid.community)
    old = alert.level
    new = old + 1
    following = {0: alert.received_at + timedelta(minutes=leader_after),
                 1: alert.received_at + timedelta(minutes=admin_after)}.get(new)
    claimed = db.session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.level == old, Alert.state == "open")
        .values(level=new, next_escalation_at=following).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    users = responders(alert.household, new)
    who = (_("网格员"), _("网格长"), _("社区管理员"))[min(new, 2)]
    _event(alert, "notified" if new == 0 else "escalated", None, _("%(who)s %(n)s人", who=who, n=len(users)))
    title = _("紧急求助") if alert.severity == "high" else _("预警")
    body = f"{alert.location} · {SOURCE_LABELS[alert.source]}"
    if new:
        body = _("%(minutes)s分钟无人响应，已升级：", minutes=int((now - alert.received_at).total_seconds() // 60)) + body
    url = f"/alerts/{alert.id}"
    push.add_notices(users, title, body, url, alert_id=alert.id)
    db.session.commit()
    push.send_later(users, title, body, url, alert_id=alert.id)
    return True


def escalate_due(now=None):
    """Climb every open alert whose time has come. Idempotent; safe in several processes at once."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Alert.id).where(Alert.state == "open", Alert.next_escalation_at.is_not(None),
                               Alert.next_escalation_at <= now).order_by(Alert.next_escalation_at)).all()
    db.session.rollback()
    return sum(1 for alert_id in due if advance(alert_id, now))


def acknowledge(alert, user):
    if alert.state != "open":
        raise AlertError(_("这条求助已经有人响应了。"))
    alert.state, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", user.id, utcnow()
    alert.next_escalation_at = None
    _event(alert, "acknowledged", user)
    db.session.commit()


def resolve(alert, user, outcome, false_alarm=False):
    outcome = (outcome or "").strip()
    if alert.state in ("resolved", "false_alarm"):
        raise AlertError(_("这条求助已经结束。"))
    if not outcome:
        raise AlertError(_("请填写处置结果。"))
    if alert.state == "open":
        alert.acknowledged_by, alert.acknowledged_at = user.id, utcnow()
        _event(alert, "acknowledged", user)
    alert.state = "false_alarm" if false_alarm else "resolved"
    alert.resolved_by, alert.resolved_at, alert.outcome = user.id, utcnow(), outcome[:2000]
    alert.next_escalation_at = None
    _event(alert, alert.state, user, outcome)
    db.session.commit()


def visible(user):
    """Alerts of the households in the user's scope (residents: their own)."""
    ids = scope.households(user).with_only_columns(Household.id).scalar_subquery()
    return select(Alert).where(Alert.household_id.in_(ids))


def get(user, alert_id):
    return db.session.scalar(visible(user).where(Alert.id == alert_id))


def listing(user, limit=100):
    return db.session.scalars(visible(user).order_by(
        (Alert.state == "open").desc(), Alert.received_at.desc()).limit(limit)).all()


def overdue_scan(community, today=None):
    """System alerts for high-risk elders overdue for a visit beyond the community's margin."""
    from . import visits
    margin = community.setting("overdue_alert_margin_days", 3)
    high_risk = community.setting("high_risk_days", 7)
    admin = db.session.scalar(select(User).where(User.community_id == community.id, User.role == "admin"))
    if admin is None:
        return 0
    open_system = set(db.session.scalars(select(Alert.household_id).where(
        Alert.source == "system", Alert.state.in_(("open", "acknowledged")))))
    raised = 0
    for entry in visits.today_list(admin, today=today):
        if entry.interval is None or entry.interval > high_risk or entry.overdue is None:
            continue
        if entry.overdue > margin and entry.household.id not in open_system:
            raise_alert("system", entry.household, severity="medium",
                        note=_("已逾期%(n)s天未走访", n=entry.overdue))
            raised += 1
    return raised


# ---- the record kind: alerts raised on a phone go through the same outbox and sync ----

class AlertKind(records.RecordKind):
    name = "alert"
    model = Alert
    priority = 100  # sent before anything else
    example = {"uuid": "9b2d7c4a-1e3f-4a5b-8c6d-7e8f9a0b1c2d", "kind": "alert", "recorded_at": "2026-11-22T02:16:00Z",
               "payload": {"household_id": 12, "source": "sos", "severity": "high", "note": "",
                           "location": "31.2304,121.4737"}}

    def prepare(self, user, payloads):
        ids = [p.get("household_id") for p in payloads]
        return {"visible": records.visible_households(user, ids)}  # a resident: their own household

    def validate(self, user, payload, ctx):
        household_id = payload.get("household_id")
        if not isinstance(household_id, int) or isinstance(household_id, bool):
            raise records.Rejected("invalid", _("缺少住户。"))
        if household_id not in ctx["visible"]:
            raise records.Rejected("out_of_scope", _("这户不在您负责的网格内（可能已调整），记录未被接受。"))
        source = payload.get("source") or ("sos" if user.role == "resident" else "worker")
        allowed = ("sos",) if user.role == "resident" else ("worker", "sos")
        if source not in allowed:
            raise records.Rejected("invalid", _("求助来源不正确。"))
        severity = payload.get("severity") or "high"
        if severity not in ("high", "medium"):
            raise records.Rejected("invalid", _("紧急程度不正确。"))
        note, location = payload.get("note") or "", payload.get("location") or ""
        if not isinstance(note, str) or not isinstance(location, str) or len(note) > 2000 or len(location) > 200:
            raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field="note/location"))
        return {"household_id": household_id, "source": source, "severity": severity, "note": note.strip(),
                "location": location.strip()}

    def row(self, user, clean):
        household = db.session.get(Household, clean["household_id"])
        return dict(clean, author_id=user.id, state="open", level=-1, next_escalation_at=utcnow(),
                    location=" ".join(x for x in (location_of(household), clean["location"]) if x))

    def after_store(self, user, stored):
        for alert_uuid, _clean in stored:
            alert = db.session.scalar(select(Alert).where(Alert.uuid == alert_uuid))
            _event(alert, "raised", user, str(SOURCE_LABELS[alert.source]))
            db.session.commit()
            advance(alert.id)  # tell the workers now; a tick would, if this process died first


records.register(AlertKind())


def from_urgent_visits(user, stored):
    """An urgent visit raises an alert (once per visit)."""
    for visit_uuid, clean in stored:
        if clean.get("urgent"):
            _alert_for_visit(visit_uuid, clean["household_id"], user, clean.get("note", ""))


def _alert_for_visit(visit_uuid, household_id, user, note):
    if db.session.scalar(select(Alert.id).where(Alert.visit_uuid == visit_uuid)):
        return
    try:
        raise_alert("visit", db.session.get(Household, household_id), raised_by=user, note=note,
                    visit_uuid=visit_uuid)
    except IntegrityError:  # raised meanwhile by another process (visit_uuid is unique)
        db.session.rollback()


def sweep_urgent_visits(days=7):
    """Urgent visits of the last days that have no alert yet (the process died in between)."""
    since = utcnow() - timedelta(days=days)
    missing = db.session.execute(
        select(Visit.uuid, Visit.household_id, Visit.author_id, Visit.note)
        .outerjoin(Alert, Alert.visit_uuid == Visit.uuid)
        .where(Visit.urgent.is_(True), Visit.received_at >= since, Alert.id.is_(None))).all()
    for visit_uuid, household_id, author_id, note in missing:
        _alert_for_visit(visit_uuid, household_id, db.session.get(User, author_id), note)
    return len(missing)
