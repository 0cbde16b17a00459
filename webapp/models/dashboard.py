"""What the dashboards read besides the records: zero reports and each phone's last sync."""
import sqlalchemy as sa
from sqlalchemy.orm import relationship

from ..extensions import db
from .records import FieldRecord


class ZeroReport(FieldRecord, db.Model):
    """零上报: a worker states there is nothing to report in their grid on a local day.
    One per grid and day: a second one (another phone, a double tap) is answered as stored
    but never makes a second row (the kind checks; the unique constraint is the last word)."""
    __tablename__ = "zero_report"
    id = sa.Column(sa.Integer, primary_key=True)
    grid_id = sa.Column(sa.ForeignKey("grid.id"), nullable=False, index=True)
    day = sa.Column(sa.Date, nullable=False)
    note = sa.Column(sa.String(200), nullable=False, default="")

    grid = relationship("Grid")
    __table_args__ = (sa.UniqueConstraint("grid_id", "day", name="uq_zero_report_grid_day"),)


class DeviceSync(db.Model):
    """The latest sync of a user's phone, and the counts it reported: records still waiting in
    its outbox and records the server refused (stuck). One row per user, overwritten."""
    __tablename__ = "device_sync"
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    synced_at = sa.Column(sa.DateTime, nullable=False)
    pending = sa.Column(sa.Integer, nullable=False, default=0)
    rejected = sa.Column(sa.Integer, nullable=False, default=0)
