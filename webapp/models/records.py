"""Records made in the field. Each carries a client-generated UUID and is append-only:
a correction is a new record that amends an earlier one."""
import sqlalchemy as sa
from sqlalchemy.orm import declared_attr, relationship

from ..extensions import db
from ..clock import utcnow

VISIT_MODES = ("door", "phone", "video", "proxy")
CHECKS = ("health", "mental", "safety", "hygiene", "living")
NEEDS = ("meals", "repairs", "medical", "benefits")


class FieldRecord:
    """Columns every field record kind shares. Set `author_optional = True` on a kind whose
    rows may have no author (alerts the system raises)."""
    author_optional = False
    uuid = sa.Column(sa.String(36), unique=True, nullable=False)
    recorded_at = sa.Column(sa.DateTime, nullable=False)  # when it was saved on the phone
    received_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    @declared_attr
    def author_id(cls):
        """Who made the record: the same UUID from another author is a conflict, not a repeat."""
        return sa.Column(sa.ForeignKey("user_account.id"), nullable=cls.author_optional, index=True)


class Visit(FieldRecord, db.Model):
    """入户走访."""
    __tablename__ = "visit"
    id = sa.Column(sa.Integer, primary_key=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
    mode = sa.Column(sa.String(10), nullable=False)
    occurred_at = sa.Column(sa.DateTime, nullable=False, index=True)
    residents_seen = sa.Column(sa.JSON, nullable=False, default=list)
    # {"health": {"ok": true, "note": ""}, ...} for the five checks
    checks = sa.Column(sa.JSON, nullable=False, default=dict)
    needs = sa.Column(sa.JSON, nullable=False, default=list)
    note = sa.Column(sa.Text, nullable=False, default="")
    follow_up_due = sa.Column(sa.Date)
    urgent = sa.Column(sa.Boolean, nullable=False, default=False)
    amends = sa.Column(sa.String(36), index=True)  # uuid of the visit this one corrects

    # The dashboards' and the roll-up's read: visits of a period, by household, corrections left out
    # (an index-only scan rather than the visit rows themselves).
    __table_args__ = (sa.Index("ix_visit_occurred_household", "occurred_at", "household_id",
                               postgresql_where=sa.text("amends IS NULL"), sqlite_where=sa.text("amends IS NULL")),)

    household = relationship("Household")
    author = relationship("User")

    @property
    def concerns(self):
        return [k for k in CHECKS if not (self.checks or {}).get(k, {}).get("ok", True)]
