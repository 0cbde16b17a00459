"""Meal deliveries to elderly residents (爱心配餐): who gets a meal on which days, the
routes volunteers walk, and what each stop's delivery recorded. A delivery is also a
daily safety check, so a no-answer has its own checklist and escalates."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from ..clock import utcnow
from ..extensions import db
from .records import FieldRecord

DIETS = ("soft", "minced", "low_salt", "low_sugar", "halal")
MEAL_KINDS = ("lunch", "dinner", "both")
# handed over; left at the door with the elder seen or heard; nobody answered; refused;
# away as announced; ate at the canteen (堂食)
OUTCOMES = ("delivered", "left_seen", "no_answer", "refused", "absent_notified", "dined_in")
CONFIRMS_OK = ("delivered", "dined_in")  # the elder was seen: counts as "last confirmed OK"
STEPS = ("knock_again", "call_elder", "call_contact")
STEP_RESULTS = ("no_answer", "reached_ok", "reached_problem")
WEEKDAYS = 7


class MealRecipient(db.Model):
    """A resident enrolled for meals."""
    __tablename__ = "meal_recipient"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    resident_id = sa.Column(sa.ForeignKey("resident.id"), nullable=False, unique=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
    days = sa.Column(sa.Integer, nullable=False, default=0b0011111)  # bit 0 Monday … bit 6 Sunday
    meal_kind = sa.Column(sa.String(10), nullable=False, default="lunch")
    diets = sa.Column(sa.JSON, nullable=False, default=list)
    avoid = sa.Column(sa.String(200), nullable=False, default="")  # ingredients to avoid
    notes = sa.Column(sa.String(300), nullable=False, default="")  # "hard of hearing, knock loudly"
    dine_in = sa.Column(sa.Boolean, nullable=False, default=False)  # usually eats at the canteen
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    resident = relationship("Resident")
    household = relationship("Household")
    pauses = relationship("MealPause", order_by="MealPause.start_date", cascade="all, delete-orphan")

    def serves_on(self, day):
        return bool(self.days & (1 << day.weekday()))


class MealPause(db.Model):
    """No meals from start to end (both included); delivery restarts by itself after."""
    __tablename__ = "meal_pause"
    id = sa.Column(sa.Integer, primary_key=True)
    recipient_id = sa.Column(sa.ForeignKey("meal_recipient.id", ondelete="CASCADE"), nullable=False, index=True)
    start_date = sa.Column(sa.Date, nullable=False)
    end_date = sa.Column(sa.Date, nullable=False)
    reason = sa.Column(sa.String(50), nullable=False, default="")


route_volunteer = sa.Table(
    "meal_route_volunteer", db.metadata,
    sa.Column("route_id", sa.ForeignKey("meal_route.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class MealRoute(db.Model):
    __tablename__ = "meal_route"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    name = sa.Column(sa.String(50), nullable=False)

    volunteers = relationship("User", secondary=route_volunteer, order_by="User.id")
    stops = relationship("RouteStop", order_by="RouteStop.position", cascade="all, delete-orphan")


class RouteStop(db.Model):
    __tablename__ = "meal_route_stop"
    id = sa.Column(sa.Integer, primary_key=True)
    route_id = sa.Column(sa.ForeignKey("meal_route.id", ondelete="CASCADE"), nullable=False, index=True)
    recipient_id = sa.Column(sa.ForeignKey("meal_recipient.id", ondelete="CASCADE"), nullable=False,
                             unique=True)  # one route per recipient
    position = sa.Column(sa.Integer, nullable=False)

    recipient = relationship("MealRecipient")


class Delivery(FieldRecord, db.Model):
    """One stop's outcome on one day. Append-only: a second, different outcome for the same
    stop and day is kept and flagged for staff, never overwriting the first."""
    __tablename__ = "meal_delivery"
    id = sa.Column(sa.Integer, primary_key=True)
    author_id = sa.Column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    recipient_id = sa.Column(sa.ForeignKey("meal_recipient.id"), nullable=False, index=True)
    route_id = sa.Column(sa.ForeignKey("meal_route.id"), index=True)
    day = sa.Column(sa.Date, nullable=False, index=True)
    outcome = sa.Column(sa.String(20), nullable=False)
    occurred_at = sa.Column(sa.DateTime, nullable=False)
    note = sa.Column(sa.String(500), nullable=False, default="")
    flagged = sa.Column(sa.Boolean, nullable=False, default=False)  # differs from an earlier outcome
    escalated_at = sa.Column(sa.DateTime)  # a no-answer handed to the alert ladder
    alert_id = sa.Column(sa.ForeignKey("alert.id"))

    recipient = relationship("MealRecipient")
    author = relationship("User")
    steps = relationship("DeliveryStep", primaryjoin="Delivery.uuid == foreign(DeliveryStep.delivery_uuid)",
                         order_by="DeliveryStep.occurred_at", viewonly=True)


class DeliveryStep(FieldRecord, db.Model):
    """A step of the no-answer checklist, with its time and result."""
    __tablename__ = "meal_delivery_step"
    id = sa.Column(sa.Integer, primary_key=True)
    author_id = sa.Column(sa.ForeignKey("user_account.id"), nullable=False)
    delivery_uuid = sa.Column(sa.String(36), nullable=False, index=True)
    # the stop's elder, when the phone sent it: a step whose no-answer never arrived still names them
    recipient_id = sa.Column(sa.ForeignKey("meal_recipient.id", ondelete="SET NULL"))
    step = sa.Column(sa.String(20), nullable=False)
    result = sa.Column(sa.String(20), nullable=False)
    occurred_at = sa.Column(sa.DateTime, nullable=False)
    note = sa.Column(sa.String(300), nullable=False, default="")


class RouteClosure(FieldRecord, db.Model):
    """A volunteer closed the day's route: stops without a record are then flagged."""
    __tablename__ = "meal_route_closure"
    id = sa.Column(sa.Integer, primary_key=True)
    author_id = sa.Column(sa.ForeignKey("user_account.id"), nullable=False)
    route_id = sa.Column(sa.ForeignKey("meal_route.id"), nullable=False)
    day = sa.Column(sa.Date, nullable=False)
    swept_at = sa.Column(sa.DateTime)  # the missing stops were handed to the ladder
