"""Daily check-in (平安打卡) for elders who live alone, and the presses of a resident's SOS button.

An enrolment says by when (local time) the household checks in each day; a pause (hospital,
away with family) covers whole local dates. reminded_on / alerted_on are the local dates of the
last reminder and alert: set by compare-and-set, they make both at most once per elder per day.
"""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from ..extensions import db
from ..clock import utcnow
from .records import FieldRecord

CHECKIN_MODES = ("self", "phone", "visit")  # the resident pressed 我很好; a worker after a call / a visit
PAUSE_REASONS = ("hospital", "family")


class CheckinEnrolment(db.Model):
    __tablename__ = "checkin_enrolment"
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, unique=True)
    deadline_minutes = sa.Column(sa.Integer, nullable=False, default=600)  # local minutes after midnight
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    enrolled_by = sa.Column(sa.ForeignKey("user_account.id"))
    enrolled_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    reminded_on = sa.Column(sa.Date)
    alerted_on = sa.Column(sa.Date)

    household = relationship("Household")

    @property
    def deadline(self):
        return f"{self.deadline_minutes // 60:02d}:{self.deadline_minutes % 60:02d}"


class CheckinPause(db.Model):
    __tablename__ = "checkin_pause"
    __table_args__ = (sa.Index("ix_checkin_pause_household_dates", "household_id", "starts_on", "ends_on"),)
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False)
    reason = sa.Column(sa.String(10), nullable=False)
    starts_on = sa.Column(sa.Date, nullable=False)
    ends_on = sa.Column(sa.Date, nullable=False)
    created_by = sa.Column(sa.ForeignKey("user_account.id"))
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)


class Checkin(FieldRecord, db.Model):
    """我很好: pressed by the resident, or recorded by a worker on the elder's behalf.
    recorded_at (when it was pressed, on the phone) decides whether it was on time."""
    __tablename__ = "checkin"
    __table_args__ = (sa.Index("ix_checkin_household_recorded", "household_id", "recorded_at"),)
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False)
    mode = sa.Column(sa.String(10), nullable=False, default="self")
    note = sa.Column(sa.String(500), nullable=False, default="")

    author = relationship("User")


class SosPress(FieldRecord, db.Model):
    """One press of a resident's SOS button. The first press of an episode raises the alert;
    further presses while it is not closed are attached to it (alert_id) instead."""
    __tablename__ = "sos_press"
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
    alert_id = sa.Column(sa.ForeignKey("alert.id"), index=True)
    location = sa.Column(sa.String(200), nullable=False, default="")
