"""A resident's SOS button: each press is a record (kind "sos", through the outbox like any
other); the first press of an episode raises the alert, and further presses while that alert is
not closed are attached to it (how many, and when: its timeline) instead of raising new ones.

Presses of one household are serialised on the household's row (PostgreSQL), so two presses at
once still make one alert. A rate limit on top (config SOS_LIMITS, per resident): beyond it a
press is still stored and counted, so the phone's outbox is answered and nothing is "stuck", but
it adds no line to the timeline: the latest "pressed" line is updated to the new count and time. Only the ladder notifies, so a flood of presses makes one
alert and its notices, never one per press.

Once someone acknowledged the alert the ladder has stopped, so a press that adds a line tells
whoever acknowledged it (a notice and a push): a press is never filed where nobody hears it.
A stale alert does not take presses: one raised on an earlier local day than the press, or
acknowledged more than STALE_AFTER_ACK before it (the responder has long come and gone and forgot
to close it). Such a press is a new emergency: a new alert and its ladder, from the grid workers up.
Two hours: longer than a visit after an acknowledgement takes, short enough that a fresh press is
never left to one person who may be off duty by then.
"""
from datetime import timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, select, update

from .. import access, localtime
from ..extensions import db
from ..models import Alert, AlertEvent, Household, Notice, SosPress, User
from . import alerts, push, records, throttle

UNCLOSED = ("open", "acknowledged")
STALE_AFTER_ACK = timedelta(hours=2)


class SosKind(records.RecordKind):
    name = "sos"
    model = SosPress
    label = _l("一键求助")
    priority = 100  # sent before anything else
    roles = (access.SOS,)
    refers_to = ("household_id", "household")  # a resident's scope is their own household
    example = {"uuid": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "kind": "sos", "recorded_at": "2026-11-22T02:16:00Z",
               "payload": {"household_id": 12, "location": ""}}

    def validate(self, user, payload, ctx):
        household_id = self.household_in_scope(payload, ctx)
        location = payload.get("location") or ""
        if not isinstance(location, str) or len(location) > 200:
            raise records.Rejected("invalid", _("字段格式不正确：%(field)s", field="location"))
        return {"household_id": household_id, "location": location.strip()}

    def row(self, user, clean):
        return dict(clean, author_id=user.id)

    def after_store(self, user, stored):
        for press_uuid, _clean in stored:
            attach(user, press_uuid)


def open_alert(household_id):
    return db.session.scalar(select(Alert).where(
        Alert.household_id == household_id, Alert.source == "sos", Alert.state.in_(UNCLOSED))
        .order_by(Alert.id.desc()).limit(1))


def attach(user, press_uuid):
    """The press joins the household's unclosed SOS alert, or raises one. Commits."""
    # One household's presses one at a time. On SQLite a write as the transaction's first statement
    # waits for the database's write lock (a read first would race); on PostgreSQL the household's
    # row lock serialises them.
    db.session.commit()
    db.session.execute(update(SosPress).where(SosPress.uuid == press_uuid).values(location=SosPress.location))
    press = db.session.scalar(select(SosPress).where(SosPress.uuid == press_uuid))
    if press is None or press.alert_id is not None:
        db.session.commit()
        return None
    db.session.execute(select(Household.id).where(Household.id == press.household_id).with_for_update())
    alert = open_alert(press.household_id)
    if alert is not None and stale(alert, press.recorded_at):
        alert = None  # left as it is for its responder to close; this press is a new emergency
    if alert is None:
        household = db.session.get(Household, press.household_id)
        location = " ".join(x for x in (alerts.location_of(household), press.location) if x)[:200]
        alert = alerts.raise_alert("sos", household, raised_by=user, location=location, alert_uuid=press.uuid,
                                   recorded_at=press.recorded_at)
        press = db.session.scalar(select(SosPress).where(SosPress.uuid == press_uuid))
        press.alert_id = alert.id
        db.session.commit()
        return alert
    press.alert_id = alert.id
    db.session.flush()
    count = db.session.scalar(select(func.count(SosPress.id)).where(SosPress.alert_id == alert.id))
    community = alert.household.building.grid.community
    detail = _("第%(n)s次按下求助（%(at)s）", n=count,
               at=localtime.to_local(press.recorded_at, community).strftime("%H:%M:%S"))
    latest = None
    if throttle.hit("SOS_LIMITS", user.id):  # over the limit: the latest line keeps the count, no new line
        latest = db.session.scalar(select(AlertEvent).where(AlertEvent.alert_id == alert.id,
                                                            AlertEvent.kind == "pressed")
                                   .order_by(AlertEvent.id.desc()).limit(1))
    told = []
    if latest is not None:
        latest.detail = detail
    else:
        alerts._event(alert, "pressed", user, detail)
        if alert.state == "acknowledged" and alert.acknowledged_by:  # the ladder has stopped: tell the responder
            told = [alert.acknowledged_by]
            title, body, url = _("居民再次按下求助"), f"{alert.location} · {detail}", f"/alerts/{alert.id}"
            push.add_notices(told, title, body, url, subject=("alert", alert.id))
    db.session.commit()
    if told:
        push.send_later(told, title, body, url, subject=("alert", alert.id))
    return alert


def stale(alert, pressed_at):
    """True when a press at pressed_at should not join the alert (see the module docstring)."""
    community = alert.household.building.grid.community
    if localtime.to_local(pressed_at, community).date() > localtime.to_local(alert.recorded_at, community).date():
        return True
    return (alert.state == "acknowledged" and alert.acknowledged_at is not None
            and pressed_at - alert.acknowledged_at > STALE_AFTER_ACK)


def presses(alert_id):
    """How many times the SOS button was pressed for this alert, and when (stored times, oldest first)."""
    return list(db.session.scalars(select(SosPress.recorded_at).where(SosPress.alert_id == alert_id)
                                   .order_by(SosPress.recorded_at)))


def status(user, household_id):
    """What the resident sees after pressing: their latest SOS alert, who was told, who responded."""
    if household_id is None:
        return None
    alert = db.session.scalar(select(Alert).where(Alert.household_id == household_id, Alert.source == "sos")
                              .order_by(Alert.id.desc()).limit(1))
    if alert is None:
        return None
    told = list(db.session.scalars(
        select(User.name).join(Notice, Notice.user_id == User.id)
        .where(Notice.subject_type == "alert", Notice.subject_id == alert.id, User.role != "resident")
        .group_by(User.id, User.name).order_by(func.min(Notice.id))))
    responder = db.session.get(User, alert.acknowledged_by) if alert.acknowledged_by else None
    return {"alert": alert, "told": told, "responder": responder, "presses": len(presses(alert.id)) or 1,
            "open": alert.state in UNCLOSED}
