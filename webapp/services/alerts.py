"""Alerts (紧急求助 / 预警): raised by a worker, an urgent visit, a resident's SOS (or, before
issue 10, the system for overdue visits: now an overdue list, services/overdue.py); pushed
at once to the household's grid workers, escalated to the grid leaders and then the
community admins when nobody acknowledges in time.

Someone other than the raiser is always told: the raiser and people away (请假) are never
recipients, and a rung with nobody left on it hands over to the next rung at once.

The ladder is the shared timed ladder (services/ladder.py): AlertLadder declares
its rungs. Pending escalations live in the database (next_escalation_at), so a
restart of the web or worker process never loses one: `escalate_due` re-reads them.
"""
import uuid as uuidlib
from datetime import timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import access
from ..extensions import db
from ..models import Alert, AlertEvent, Building, Grid, GridAssignment, Household, User, Visit
from . import coverage, ladder as ladder_mod, records, scope
from .. import localtime
from ..clock import utcnow

SOURCE_LABELS = {"worker": _l("网格员上报"), "visit": _l("走访发现紧急情况"), "sos": _l("居民一键求助"),
                 "system": _l("高风险老人走访逾期"), "meal": _l("送餐未应答"),
                 "checkin": _l("平安打卡未回应")}
STATE_LABELS = {"open": _l("待响应"), "acknowledged": _l("已响应"), "resolved": _l("已处置"),
                "false_alarm": _l("误报")}
SEVERITY_LABELS = {"high": _l("紧急"), "medium": _l("关注")}
EVENT_LABELS = {"raised": _l("发起"), "notified": _l("已通知"), "escalated": _l("升级"),
                "acknowledged": _l("已响应"), "resolved": _l("已处置"), "false_alarm": _l("标记为误报"),
                "handed_over": _l("转交"), "unreached": _l("无人可通知"), "pressed": _l("再次按下求助"),
                "stood_down": _l("老人已报平安，自动解除")}
PER_PAGE = 30


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
    """Who is told at each rung: 0 the grid workers, 1 the grid leaders, 2 the community admins;
    people away today (请假/病假) left out. At the last rung, admins who are all away are
    told all the same: the ladder never ends without a person told."""
    community = household.building.grid.community
    away = coverage.away_ids(community, localtime.today(community))
    if level >= 2:
        admins = list(db.session.scalars(select(User.id).where(
            User.community_id == community.id, User.role == "admin", User.active.is_(True)).order_by(User.id)))
        return [u for u in admins if u not in away] or admins
    role = "worker" if level == 0 else "leader"
    return [u for u in db.session.scalars(
        select(User.id).join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id.in_(_grid_chain(household)), User.role == role, User.active.is_(True))
        .distinct()) if u not in away]


def location_of(household):
    b = household.building
    return f"{b.address} {household.label}".strip()


def _new_alert(source, household, now, severity="high", raised_by=None, note="", location=None,
               alert_uuid=None, visit_uuid=None, recorded_at=None):
    return Alert(uuid=alert_uuid or str(uuidlib.uuid4()), recorded_at=recorded_at or now, received_at=now,
                 household_id=household.id, author_id=raised_by.id if raised_by else None, source=source,
                 severity=severity, location=location or location_of(household), note=note or "",
                 visit_uuid=visit_uuid, **LADDER.start(now))


def _store_raised(alerts, source, raised_by=None):
    """The alerts and their "raised" events, committed (with whatever the caller has marked)
    before anyone is told."""
    db.session.add_all(alerts)
    db.session.flush()
    label = str(SOURCE_LABELS[source])
    for alert in alerts:
        _event(alert, "raised", raised_by, label)
    db.session.commit()


def raise_alert(source, household, severity="high", raised_by=None, note="", location=None, alert_uuid=None,
                visit_uuid=None, recorded_at=None):
    """Raise one alert and start its ladder: the single call for every source.
    A durable boundary: the alert is committed, then its first rung is climbed (and committed)."""
    alert = _new_alert(source, household, utcnow(), severity, raised_by, note, location, alert_uuid,
                       visit_uuid, recorded_at)
    _store_raised([alert], source, raised_by)
    advance(alert.id)
    return alert


def raise_many(source, households, severity="high", note=""):
    """Raise one system alert per household (no raiser), all in one transaction with whatever the
    caller has marked, then climb their first rungs together (ladder.step_many): for sweeps that
    find many at once. The same durable rules as raise_alert: the alerts are committed before
    anyone is told, and a crash in between leaves them due at once for the next tick."""
    now = utcnow()
    made = [_new_alert(source, h, now, severity, note=note) for h in households]
    _store_raised(made, source)
    ladder_mod.step_many(LADDER, [a.id for a in made])
    return made


def _event(alert, kind, user=None, detail=""):
    db.session.add(AlertEvent(alert_id=alert.id, kind=kind, user_id=user.id if user else None,
                              detail=str(detail)[:500], at=utcnow()))


class AlertLadder(ladder_mod.Ladder):
    """Level -1 → 0 tells the grid workers, 0 → 1 the grid leaders, 1 → 2 the community admins.

    An alert is stored at level -1 and due at once, so the first rung is on the same
    durable path as the others: if the process dies before telling anyone, the next
    tick does it."""
    model = Alert
    subject_type = "alert"
    level_column = "level"
    deadline_column = "next_escalation_at"
    rungs = (
        ladder_mod.Rung(_l("网格员"), lambda alert: responders(alert.household, 0)),
        ladder_mod.Rung(_l("网格长"), lambda alert: responders(alert.household, 1),
                        lambda alert: timedelta(minutes=ladder(_community(alert))[0])),
        ladder_mod.Rung(_l("社区管理员"), lambda alert: responders(alert.household, 2),
                        lambda alert: timedelta(minutes=ladder(_community(alert))[1])),
    )

    def climbing(self):
        return Alert.state == "open"

    def started_at(self, alert):
        return alert.received_at

    def excluded(self, alert):
        return {alert.author_id} if alert.author_id else set()

    def load_options(self):
        return (selectinload(Alert.household).selectinload(Household.building).selectinload(Building.grid),)

    def audience(self, alert, level):
        """responders(household, level) depends only on the household's grid (its chain of grids
        and their community), and at the admins' rung on the community alone."""
        building = alert.household.building
        return ("community", building.grid.community_id) if level >= 2 else ("grid", building.grid_id, level)

    def record(self, alert, level, rung, recipients):
        _event(alert, "notified" if level == 0 else "escalated", None,
               _("%(who)s %(n)s人", who=rung.label, n=len(recipients)))

    def record_handover(self, alert, level, rung):
        _event(alert, "handed_over", None, _("%(who)s：无人可通知（发起人与请假人员除外），立即转交上一级", who=rung.label))

    def record_nobody(self, alert, level, rung):
        _event(alert, "unreached", None, _("%(who)s也无人可通知：请立即安排人员处理", who=rung.label))

    def message(self, alert, level, now):
        title = _("紧急求助") if alert.severity == "high" else _("预警")
        body = f"{alert.location} · {SOURCE_LABELS[alert.source]}"
        if level and now - alert.received_at < self.rungs[level].after(alert):
            body = _("下级无人可通知，直接通知您：") + body
        elif level:
            body = _("%(minutes)s分钟无人响应，已升级：",
                     minutes=int((now - alert.received_at).total_seconds() // 60)) + body
        return title, body, f"/alerts/{alert.id}"


def _community(alert):
    return alert.household.building.grid.community


LADDER = AlertLadder()


def advance(alert_id, now=None):
    """Climb one rung if it is due (the shared ladder step: commits by itself, once per rung)."""
    return ladder_mod.step(LADDER, alert_id, now)


def escalate_due(now=None):
    """Climb every open alert whose time has come. Idempotent; safe in several processes at once."""
    return ladder_mod.run_due(LADDER, now, stepper=lambda alert_id, when: advance(alert_id, when))


def acknowledge(alert, user):
    if alert.state != "open":
        raise AlertError(_("这条求助已经有人响应了。"))
    alert.state, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", user.id, utcnow()
    LADDER.stop(alert)
    _event(alert, "acknowledged", user)
    db.session.flush()


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
    LADDER.stop(alert)
    _event(alert, alert.state, user, outcome)
    db.session.flush()


def stand_down(user, household_ids, source, outcome):
    """Close the households' unclosed alerts of a source because the person is fine (a late
    check-in): nobody from the community responded, so no acknowledger is stamped (an alert
    someone did acknowledge keeps its responder) and no resolver either; the event is its own
    ("stood_down", by the elder). One UPDATE ... RETURNING as a compare-and-set on the state: of two
    stand-downs at once, each alert is closed by one of them only. Returns the alerts this call closed."""
    outcome = str(outcome)[:2000]
    ids = list(db.session.scalars(
        update(Alert).where(Alert.household_id.in_(list(household_ids)), Alert.source == source,
                            Alert.state.in_(("open", "acknowledged")))
        .values(state="resolved", resolved_at=utcnow(), outcome=outcome, next_escalation_at=None)
        .returning(Alert.id).execution_options(synchronize_session=False)))
    closed = db.session.scalars(select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)).all() if ids else []
    for alert in closed:
        db.session.refresh(alert)
        _event(alert, "stood_down", user, outcome)
    db.session.flush()
    return closed


def visible(user):
    """Alerts of the households in the user's scope (residents: their own)."""
    ids = scope.households(user).with_only_columns(Household.id).scalar_subquery()
    return select(Alert).where(Alert.household_id.in_(ids))


def get(user, alert_id):
    return db.session.scalar(visible(user).where(Alert.id == alert_id))


def listing(user, state=None, source=None, grid=None, page=1, per_page=PER_PAGE):
    """One page of the alerts the user sees, narrowed by state, source and grid (with the
    grids below it): open alerts first, the urgent ones first among them, then the newest.
    Returns (alerts, total)."""
    q = visible(user)
    if state in STATE_LABELS:
        q = q.where(Alert.state == state)
    if source in SOURCE_LABELS:
        q = q.where(Alert.source == source)
    if grid is not None:
        ids = scope.subtree(user.community_id, grid.id)
        q = q.where(Alert.household_id.in_(select(Household.id).join(Building).where(Building.grid_id.in_(ids))))
    total = db.session.scalar(q.with_only_columns(func.count(Alert.id)).order_by(None))
    open_ = Alert.state == "open"
    rows = db.session.scalars(q.order_by(
        open_.desc(), case((open_ & (Alert.severity == "high"), 0), else_=1), Alert.received_at.desc(),
        Alert.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return rows, total


# ---- the record kind: alerts raised on a phone go through the same outbox and sync ----

class AlertKind(records.RecordKind):
    name = "alert"
    model = Alert
    label = _l("紧急求助")
    priority = 100  # sent before anything else
    roles = (access.RAISE_ALERTS, access.SOS)  # staff about a household; a resident: SOS for their own
    multi = ()
    refers_to = ("household_id", "household")  # a resident's scope is their own household
    example = {"uuid": "9b2d7c4a-1e3f-4a5b-8c6d-7e8f9a0b1c2d", "kind": "alert", "recorded_at": "2026-11-22T02:16:00Z",
               "payload": {"household_id": 12, "source": "sos", "severity": "high", "note": "",
                           "location": "31.2304,121.4737"}}

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
        if user.role == "resident" and db.session.scalar(select(Alert.id).where(  # presses: the "sos" kind
                Alert.household_id == household_id, Alert.source == "sos",
                Alert.state.in_(("open", "acknowledged")))):
            raise records.Rejected("conflict", _("您的求助已发出，正在处理中。"))
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
                    location=" ".join(x for x in (location_of(household), clean["location"]) if x)[:200])

    def after_store(self, user, stored):
        for alert_uuid, _clean in stored:
            alert = db.session.scalar(select(Alert).where(Alert.uuid == alert_uuid))
            _event(alert, "raised", user, str(SOURCE_LABELS[alert.source]))
            db.session.commit()
            advance(alert.id)  # tell the workers now; a tick would, if this process died first


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
