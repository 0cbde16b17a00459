"""Emergency alerts with their timeline, push subscriptions, the in-app inbox, and
resident invitations."""
import sqlalchemy as sa
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import relationship

from ..extensions import db
from ..clock import utcnow
from .records import FieldRecord

ALERT_STATES = ("open", "acknowledged", "resolved", "false_alarm")
ALERT_SOURCES = ("worker", "visit", "sos", "system", "meal", "checkin")
SEVERITIES = ("high", "medium")
OPEN_SYSTEM = sa.text("source = 'system' AND state IN ('open', 'acknowledged')")
OVERDUE_DIGEST = sa.text("subject_type = 'overdue'")


class Alert(FieldRecord, db.Model):
    """紧急求助 / 预警. One more record kind on the sync path (raised offline too)."""
    __tablename__ = "alert"
    author_optional = True  # None when the system raised it
    __table_args__ = (
        # At most one open (or acknowledged) system alert per household, whichever process scans.
        sa.Index("uq_alert_open_system", "household_id", unique=True,
                 sqlite_where=OPEN_SYSTEM, postgresql_where=OPEN_SYSTEM),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
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
    author = relationship("User", foreign_keys="Alert.author_id")
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


class _SubjectIs(Comparator):
    """Notice.alert_id == 5 in a query means subject ("alert", 5)."""

    def __init__(self, subject_type):
        super().__init__(Notice.subject_id)
        self.subject_type = subject_type

    def __eq__(self, other):
        return sa.and_(Notice.subject_type == self.subject_type, Notice.subject_id == other)


class Notice(db.Model):
    """The in-app inbox: the same notices as push, for phones without it. A notice is about
    any subject (subject_type "alert" and the alert's id; later requests, check-ins), or none."""
    __tablename__ = "notice"
    __table_args__ = (
        sa.Index("ix_notice_subject", "subject_type", "subject_id"),
        # one overdue digest per user per local day (subject_id YYYYMMDD), whichever process sends it
        sa.Index("uq_notice_overdue_day", "user_id", "subject_id", unique=True,
                 sqlite_where=OVERDUE_DIGEST, postgresql_where=OVERDUE_DIGEST),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    subject_type = sa.Column(sa.String(20))
    subject_id = sa.Column(sa.Integer)
    title = sa.Column(sa.String(100), nullable=False)
    body = sa.Column(sa.String(500), nullable=False, default="")
    url = sa.Column(sa.String(200), nullable=False, default="/")
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    read_at = sa.Column(sa.DateTime)

    @hybrid_property
    def alert_id(self):
        return self.subject_id if self.subject_type == "alert" else None

    @alert_id.setter
    def alert_id(self, value):
        self.subject_type, self.subject_id = ("alert", value) if value is not None else (None, None)

    @alert_id.comparator
    def alert_id(cls):
        return _SubjectIs("alert")


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
