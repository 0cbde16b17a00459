"""Emergency alerts with their timeline, push subscriptions, the in-app inbox, and
resident invitations."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from ..extensions import db
from ..services.clock import utcnow
from .records import FieldRecord

ALERT_STATES = ("open", "acknowledged", "resolved", "false_alarm")
ALERT_SOURCES = ("worker", "visit", "sos", "system", "meal")
SEVERITIES = ("high", "medium")


class Alert(FieldRecord, db.Model):
    """紧急求助 / 预警. One more record kind on the sync path (raised offline too)."""
    __tablename__ = "alert"
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
    author_id = sa.Column(sa.ForeignKey("user_account.id"), index=True)  # None when the system raised it
    source = sa.Column(sa.String(10), nullable=False)
    severity = sa.Column(sa.String(10), nullable=False, default="high")
    location = sa.Column(sa.String(200), nullable=False, default="")
    note = sa.Column(sa.Text, nullable=False, default="")
    state = sa.Column(sa.String(12), nullable=False, default="open", index=True)
    level = sa.Column(sa.Integer, nullable=False, default=0)  # 0 workers, 1 leaders, 2 admins
    next_escalation_at = sa.Column(sa.DateTime, index=True)  # pending escalation, re-read after restarts
    acknowledged_by = sa.Column(sa.ForeignKey("user_account.id"))
    acknowledged_at = sa.Column(sa.DateTime)
    resolved_by = sa.Column(sa.ForeignKey("user_account.id"))
    resolved_at = sa.Column(sa.DateTime)
    outcome = sa.Column(sa.Text, nullable=False, default="")
    visit_uuid = sa.Column(sa.String(36), unique=True)  # the urgent visit that raised it

    household = relationship("Household")
    author = relationship("User", foreign_keys=[author_id])
    events = relationship("AlertEvent", order_by="AlertEvent.id", back_populates="alert")


class AlertEvent(db.Model):
    __tablename__ = "alert_event"
    id = sa.Column(sa.Integer, primary_key=True)
    alert_id = sa.Column(sa.ForeignKey("alert.id"), nullable=False, index=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    kind = sa.Column(sa.String(20), nullable=False)  # raised, notified, escalated, acknowledged, resolved, false_alarm
    user_id = sa.Column(sa.ForeignKey("user_account.id"))
    detail = sa.Column(sa.String(500), nullable=False, default="")

    alert = relationship("Alert", back_populates="events")
    user = relationship("User")


class PushSubscription(db.Model):
    __tablename__ = "push_subscription"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    endpoint = sa.Column(sa.String(1000), nullable=False, unique=True)
    p256dh = sa.Column(sa.String(200), nullable=False)
    auth = sa.Column(sa.String(100), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    last_success_at = sa.Column(sa.DateTime)


class Notice(db.Model):
    """The in-app inbox: the same notices as push, for phones without it."""
    __tablename__ = "notice"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    alert_id = sa.Column(sa.ForeignKey("alert.id"), index=True)
    title = sa.Column(sa.String(100), nullable=False)
    body = sa.Column(sa.String(500), nullable=False, default="")
    url = sa.Column(sa.String(200), nullable=False, default="/")
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    read_at = sa.Column(sa.DateTime)


class Invitation(db.Model):
    """A one-time, expiring code with which a resident joins."""
    __tablename__ = "invitation"
    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(12), nullable=False, unique=True)
    resident_id = sa.Column(sa.ForeignKey("resident.id"), nullable=False)
    created_by = sa.Column(sa.ForeignKey("user_account.id"), nullable=False)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(sa.DateTime, nullable=False)
    used_at = sa.Column(sa.DateTime)

    resident = relationship("Resident")
