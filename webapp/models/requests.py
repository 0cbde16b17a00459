"""Residents' requests (诉求): a case followed to the end through an append-only timeline.

A request is a field record (client UUID, one write path). Its steps after intake are
RequestEvents, never edits of the past: 受理 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价,
and 回退 when the resident is not satisfied. `state` and `version` on the request are the
current position, moved by compare-and-set so two people acting at once never both win."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from ..clock import utcnow
from ..extensions import db
from .records import FieldRecord

# new 待受理 → accepted 已受理 → dispatched 处置中 → handled 待核查 → verified 待评价 → closed 已结案;
# merged: folded into another case; meeting: waiting for a residents' meeting (议事)
STATES = ("new", "accepted", "dispatched", "meeting", "handled", "verified", "closed", "merged")
OPEN_STATES = ("new", "accepted", "dispatched", "meeting")  # the time limit runs
CHANNELS = ("app", "worker", "visit", "phone", "walkin")
EVENTS = ("submitted", "accepted", "dispatched", "handled", "told", "verified", "returned", "closed", "rated",
          "reopened", "merged", "meeting", "meeting_held")
UNSATISFIED = 2  # a rating of 1 or 2 sends the case back to handling (回退)


class RequestCategory(db.Model):
    """A community's category with its time limits, in working minutes (the community calendar)."""
    __tablename__ = "request_category"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    name = sa.Column(sa.String(30), nullable=False)
    response_minutes = sa.Column(sa.Integer, nullable=False, default=240)  # accepted within
    limit_minutes = sa.Column(sa.Integer, nullable=False, default=3 * 480)  # handled within
    position = sa.Column(sa.Integer, nullable=False, default=0)
    active = sa.Column(sa.Boolean, nullable=False, default=True)

    __table_args__ = (sa.UniqueConstraint("community_id", "name", name="uq_request_category_name"),)


class Request(FieldRecord, db.Model):
    __tablename__ = "resident_request"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False)
    grid_id = sa.Column(sa.ForeignKey("grid.id"), nullable=False, index=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), index=True)
    reporter_id = sa.Column(sa.ForeignKey("user_account.id"), index=True)  # a resident's own account
    reporter_name = sa.Column(sa.String(50), nullable=False, default="")  # phone calls, walk-ins
    reporter_phone = sa.Column(sa.String(20), nullable=False, default="")
    channel = sa.Column(sa.String(10), nullable=False)
    category_id = sa.Column(sa.ForeignKey("request_category.id"), nullable=False)
    text = sa.Column(sa.String(1000), nullable=False)
    location = sa.Column(sa.String(200), nullable=False, default="")
    photo = sa.Column(sa.String(80))  # file name under UPLOAD_FOLDER/requests, never the bytes
    visit_uuid = sa.Column(sa.String(36), index=True)  # found on this visit (需求发现)
    state = sa.Column(sa.String(12), nullable=False, default="new")
    version = sa.Column(sa.Integer, nullable=False, default=1)
    assignee_id = sa.Column(sa.ForeignKey("user_account.id"), index=True)
    outside_party = sa.Column(sa.String(100), nullable=False, default="")  # 物业公司, 12345…
    respond_by = sa.Column(sa.DateTime)  # to be accepted by
    due_at = sa.Column(sa.DateTime)  # to be handled by (working hours of the community)
    rating = sa.Column(sa.Integer)
    merged_into_id = sa.Column(sa.ForeignKey("resident_request.id"), index=True)
    level = sa.Column(sa.Integer, nullable=False, default=-1)  # the deadline ladder
    next_escalation_at = sa.Column(sa.DateTime)
    updated_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    category = relationship("RequestCategory")
    household = relationship("Household")
    reporter = relationship("User", foreign_keys=[reporter_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    author = relationship("User", foreign_keys="Request.author_id")
    grid = relationship("Grid")
    events = relationship("RequestEvent", order_by="RequestEvent.id", back_populates="request")

    __table_args__ = (sa.Index("ix_resident_request_board", "community_id", "state", "due_at"),)

    @property
    def is_open(self):
        return self.state in OPEN_STATES


class RequestEvent(db.Model):
    """One step of a case's timeline: who, when, what. Append-only."""
    __tablename__ = "request_event"
    id = sa.Column(sa.Integer, primary_key=True)
    request_id = sa.Column(sa.ForeignKey("resident_request.id"), nullable=False, index=True)
    kind = sa.Column(sa.String(15), nullable=False)
    user_id = sa.Column(sa.ForeignKey("user_account.id"))
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    note = sa.Column(sa.String(1000), nullable=False, default="")
    photo = sa.Column(sa.String(80))
    # dispatch: {"assignee_id", "outside"}; rating: {"rating"}; meeting: {"date", "participants", "resolution"}
    detail = sa.Column(sa.JSON, nullable=False, default=dict)

    request = relationship("Request", back_populates="events")
    user = relationship("User")
